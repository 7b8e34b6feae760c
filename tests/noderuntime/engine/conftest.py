"""A small bot world for the engine tests: an embedded store with channels, a
member and trees written by each test, an in-process runtime with a frozen
clock, and a sender and a ``this.mark(step=...)`` method that record, in one
list, the order in which scripts ran and responses were sent."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import Config
from noderuntime.engine import ChainResult, Engine, RecordingSender, Redirect
from noderuntime.methods.params import param
from noderuntime.runtime import Runtime
from noderuntime.store import Store
from tests.noderuntime.conftest import FROZEN_NOW

APP = "a12345678901234567890123"
OTHER_APP = "b12345678901234567890123"
#: The channel the member talks on (stored with an ObjectId, as the platform makes them).
CHANNEL = "c12345678901234567890123"
#: Another channel of the same app.
OTHER_CHANNEL = "c22345678901234567890123"
#: A channel of another app.
FOREIGN_CHANNEL = "c92345678901234567890123"
TREE = "7e0000000000000000000001"
TREE2 = "7e0000000000000000000002"
#: A tree of another app.
FOREIGN_TREE = "7e0000000000000000000009"
#: The member (stored with an ObjectId; its channel stored as a string, as seeded by hand).
MEMBER = "5f7443000000000000000001"
#: A member of another app.
FOREIGN_MEMBER = "5f7443000000000000000009"
CREATED = 1_577_808_000_000


def nid(name: str) -> str:
    """A 16-character composite id that reads as ``name``: ``nid("a") == "a_______________"``."""
    return f"{name:_<16}"


def member_doc() -> dict[str, Any]:
    """The member, as stored."""
    return {
        "_id": ObjectId(MEMBER),
        "app": APP,
        "channel": CHANNEL,
        "externalId": "u-1",
        "firstName": "John",
        "botMeta": {"liveChat": False, "subscribe": True, "tempData": {}},
        "meta": {"visits": 1},
        "tags": ["vip"],
        "platform": "custom",
        "createdAt": CREATED,
        "updatedAt": CREATED,
    }


def seed() -> dict[str, list[dict[str, Any]]]:
    return {
        "channels": [
            {"_id": ObjectId(CHANNEL), "app": APP, "name": "Webchat", "type": "custom", "trees": [TREE]},
            {"_id": ObjectId(OTHER_CHANNEL), "app": APP, "name": "Other", "trees": [TREE]},
            {"_id": ObjectId(FOREIGN_CHANNEL), "app": OTHER_APP, "name": "Theirs", "trees": [FOREIGN_TREE]},
        ],
        "members": [
            member_doc(),
            {
                "_id": ObjectId(FOREIGN_MEMBER),
                "app": OTHER_APP,
                "channel": FOREIGN_CHANNEL,
                "externalId": "u-1",
                "botMeta": {"tempData": {}},
                "meta": {},
                "createdAt": CREATED,
                "updatedAt": CREATED,
            },
        ],
    }


def text(value: str) -> dict[str, Any]:
    """A TEXT message event from the member."""
    return {"type": "TEXT", "data": {"text": value}, "from": "u-1", "timestamp": FROZEN_NOW}


def payload(value: Any) -> dict[str, Any]:
    """A PAYLOAD message event from the member (``value`` a string or ``{payload, value}``)."""
    return {"type": "PAYLOAD", "data": {"payload": value}, "from": "u-1", "timestamp": FROZEN_NOW}


def mark(step: str) -> str:
    """A script line recording ``step`` in the world's order of events."""
    return f"this.mark(step={step!r})"


class OrderedSender(RecordingSender):
    """A recording sender that also notes each response in the order of events."""

    def __init__(self, marks: list[str]) -> None:
        super().__init__()
        self.marks = marks

    def send(
        self, member: dict[str, Any], channel: dict[str, Any] | None, responses: list[dict[str, Any]], now_ms: int
    ) -> dict[str, Any]:
        self.marks.extend(f"send:{response.get('text')}" for response in responses)
        return super().send(member, channel, responses, now_ms)


class World:
    """The runtime, its store, the sender and the order of events of one test."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.store: Store = runtime.store
        self.marks: list[str] = []
        self.sender = OrderedSender(self.marks)

        def record(run: Any, *, step: str) -> None:
            self.marks.append(step)

        runtime.methods.add("mark", record, step=param(str, required=True))

    # Building the world -----------------------------------------------------------

    def tree(
        self, nodes: dict[str, dict[str, Any]], tree_id: str = TREE, *, app: str = APP, name: str = "Demo"
    ) -> None:
        """Store a tree (replacing one with the same id)."""
        self.store.delete("trees", {"_id": ObjectId(tree_id)})
        self.store.insert_one("trees", {"_id": ObjectId(tree_id), "app": app, "name": name, "nodes": nodes})

    def channel(self, channel_id: str = CHANNEL, **fields: Any) -> None:
        """Set fields of a channel (``trees``, ``globalNodes``...)."""
        self.store.update("channels", {"_id": ObjectId(channel_id)}, {"$set": fields})

    def place(self, node: str | None, tree: str = TREE) -> None:
        """Put the member at ``tree``/``node`` (``None``: no position)."""
        if node is None:
            update = {"$unset": {"botMeta.tree": "", "botMeta.nodeCompositeId": ""}}
        else:
            update = {"$set": {"botMeta.tree": tree, "botMeta.nodeCompositeId": node}}
        self.store.update("members", {"_id": ObjectId(MEMBER)}, update)

    def set_member(self, **fields: Any) -> None:
        self.store.update("members", {"_id": ObjectId(MEMBER)}, {"$set": fields})

    # Running -------------------------------------------------------------------------

    def engine(self, **kwargs: Any) -> Engine:
        return Engine(self.runtime, sender=self.sender, **kwargs)

    def receive(self, event: dict[str, Any], channel: str = CHANNEL, **kwargs: Any) -> ChainResult:
        """``event`` from the member (by external id, as a platform would deliver it)."""
        engine_args = {key: kwargs.pop(key) for key in ("rng", "max_redirects") if key in kwargs}
        return self.engine(**engine_args).receive(channel, event, **kwargs)

    def run_node(self, node: str, tree: str = TREE, *, member: str = MEMBER, **kwargs: Any) -> ChainResult:
        """Run ``tree``/``node`` for the member (as a redirect or an agenda would)."""
        options = {
            key: kwargs.pop(key) for key in ("run_pre_action", "send_response", "run_post_action") if key in kwargs
        }
        return self.engine().run_node(APP, member, Redirect(tree, node, **options), **kwargs)

    # Looking -------------------------------------------------------------------------

    def stored(self, member_id: str = MEMBER) -> dict[str, Any] | None:
        """The member exactly as stored."""
        return self.store.find_one("members", {"_id": ObjectId(member_id)})

    def texts(self) -> list[Any]:
        """The text of every response sent, in order."""
        return [sent.response.get("text") for sent in self.sender.sent]

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the stored member, to compare after a run."""
        return copy.deepcopy(self.stored())


def make_runtime(config: Config | None = None) -> Runtime:
    return Runtime(
        config or Config(workers=1, mode="inprocess"), store=Store.embedded_store(seed()), clock=lambda: FROZEN_NOW
    )


@pytest.fixture
def world() -> Iterator[World]:
    """A fresh in-process world."""
    with make_runtime() as runtime:
        yield World(runtime)


@pytest.fixture
def make_world() -> Iterator[Callable[..., World]]:
    """``make_world(config)``: a fresh world on a runtime with that config."""
    runtimes: list[Runtime] = []

    def make(config: Config) -> World:
        runtime = make_runtime(config)
        runtimes.append(runtime)
        return World(runtime)

    yield make
    for runtime in runtimes:
        runtime.close()
