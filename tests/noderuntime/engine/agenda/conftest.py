"""A bot world for the agenda scheduler tests: an embedded store with an app
(in Hong Kong time), a channel, members and a tree; an in-process runtime on
a VIRTUAL clock the test moves by hand; agendas planned the way authors plan
them (``this.newAgenda`` in a script); workers built on that runtime."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import AgendaSettings, Config
from noderuntime.engine import Engine, RecordingSender
from noderuntime.engine.agenda import AgendaWorker, JobReport
from noderuntime.engine.agenda.agendas import AGENDAS
from noderuntime.runtime import Runtime
from noderuntime.store import Store

APP = "a12345678901234567890123"
CHANNEL = "c12345678901234567890123"
TREE = "7e00000000000000000000a1"
#: Subscribed; stored with an ObjectId id, as the platform makes members.
ALICE = "5f7443000000000000000001"
#: Subscribed; stored with a string id, and its channel as a string (seeded by hand).
CAROL = "5f7443000000000000000003"
#: Unsubscribed (``botMeta.subscribe == False``).
BOB = "5f7443000000000000000002"
#: 2023-11-14T22:00:00Z (06:00 in Hong Kong): a whole hour, so CRON occurrences fall on round offsets.
T0 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000
MINUTE = 60_000
HOUR = 3_600_000

#: Runs the pre-action, the responses and the post-action in order, writing
#: down what each saw; the response tells what ran before it.
REMIND = "REMIND0000000001"
#: One TEXT response naming the agenda by its meta (``n``).
PING = "PING000000000001"
#: Its pre-action raises on line 2.
BOOM = "BOOM000000000001"
#: Its pre-action reads a data source that does not exist (an uncaught NotFound).
MISSING_SOURCE = "NOSOURCE00000001"
#: Pushes its own agenda (tag "nag") one hour later with updateAgenda.
SNOOZE = "SNOOZE0000000001"

REMIND_PRE = """\
temp = this.member.botMeta.tempData
temp.steps = (temp.steps or []) + ["pre"]
temp.preMeta = this.agendaMeta
return {"member": this.member}
"""
REMIND_RESPONSE = """\
return {"type": "TEXT", "text": "after " + ",".join(this.member.botMeta.tempData.steps or []) + " for " + this.agendaMeta.what}
"""
REMIND_POST = """\
temp = this.member.botMeta.tempData
temp.steps = (temp.steps or []) + ["post"]
temp.postMeta = this.agendaMeta
temp.runs = (temp.runs or 0) + 1
return {"member": this.member}
"""
BOOM_PRE = """\
this.member.botMeta.tempData.touched = True
raise ValueError("kaboom")
"""
SNOOZE_PRE = """\
this.updateAgenda({"memberId": this.member._id, "tag": "nag", "nextRunAt": this.moment().add(1, "hours").valueOf()})
"""


def tree_doc() -> dict[str, Any]:
    return {
        "_id": ObjectId(TREE),
        "app": APP,
        "name": "Reminders",
        "nodes": {
            REMIND: {
                "name": "Remind",
                "preAction": REMIND_PRE,
                "responses": [{"script": REMIND_RESPONSE}],
                "postAction": REMIND_POST,
            },
            PING: {
                "name": "Ping",
                "responses": [{"script": 'return {"type": "TEXT", "text": str(this.agendaMeta.n)}'}],
            },
            BOOM: {"name": "Boom", "preAction": BOOM_PRE, "responses": [{"type": "TEXT", "text": "never"}]},
            MISSING_SOURCE: {
                "name": "No source",
                "preAction": 'this.fetchDataFromDataSource(collectionName="gone")',
                "responses": [{"type": "TEXT", "text": "never"}],
            },
            SNOOZE: {"name": "Snooze", "preAction": SNOOZE_PRE, "responses": [{"type": "TEXT", "text": "snoozed"}]},
        },
    }


def member_doc(member_id: Any, external_id: str, *, subscribe: bool = True) -> dict[str, Any]:
    """A member as the platform stores it (its channel an ObjectId, like the channel's own id)."""
    return {
        "_id": member_id,
        "app": APP,
        "channel": ObjectId(CHANNEL),
        "externalId": external_id,
        "botMeta": {"subscribe": subscribe, "liveChat": False, "tempData": {}},
        "meta": {},
        "createdAt": T0,
        "updatedAt": T0,
    }


def seed() -> dict[str, list[dict[str, Any]]]:
    return {
        "apps": [{"_id": APP, "timezone": "Asia/Hong_Kong"}],
        "channels": [{"_id": ObjectId(CHANNEL), "app": APP, "name": "Webchat", "type": "custom", "trees": [TREE]}],
        "members": [
            member_doc(ObjectId(ALICE), "alice"),
            member_doc(ObjectId(BOB), "bob", subscribe=False),
            # Seeded by hand: string ids, its channel's too.
            {**member_doc(CAROL, "carol"), "channel": CHANNEL},
        ],
        "trees": [tree_doc()],
    }


class Scheduler:
    """One test's world: a runtime on a virtual clock, its store, workers."""

    def __init__(self, runtime: Runtime, clock: list[int]) -> None:
        self.runtime = runtime
        self.clock = clock
        self.store: Store = runtime.store
        self.sender = RecordingSender()
        self.reports: list[JobReport] = []

    @property
    def now(self) -> int:
        return self.clock[0]

    def at(self, when: int) -> None:
        """Move the virtual clock to ``when`` (epoch ms)."""
        self.clock[0] = when

    def plan(self, member: str = ALICE, node: str = REMIND, **params: Any) -> str:
        """``this.newAgenda(...)`` from a script; returns the agenda's id."""
        source = f"return this.newAgenda({ {'memberId': member, 'treeId': TREE, 'nodeCompositeId': node, **params}!r})"
        result = self.runtime.run(source, {"app": APP})
        assert result.ok, result.error
        return result.value["_id"]

    def worker(self, name: str = "A", sender: RecordingSender | None = None, **settings: Any) -> AgendaWorker:
        """A worker on this world's runtime; every job it handles lands in ``reports``."""
        engine = Engine(self.runtime, sender=sender if sender is not None else self.sender)
        return AgendaWorker(engine, AgendaSettings(**settings), name=name, on_job=self.reports.append)

    def agenda(self, agenda_id: str) -> dict[str, Any]:
        """The agenda exactly as stored."""
        found = self.store.find_one(AGENDAS, {"_id": ObjectId(agenda_id)})
        assert found is not None, f"no agenda {agenda_id}"
        return found

    def member(self, member_id: str = ALICE) -> dict[str, Any]:
        found = self.store.find_one("members", {"_id": {"$in": [ObjectId(member_id), member_id]}})
        assert found is not None
        return found

    def texts(self, sender: RecordingSender | None = None) -> list[str]:
        return [sent.response.get("text") for sent in (sender or self.sender).sent]


@pytest.fixture
def sched() -> Iterator[Scheduler]:
    """A fresh world with the virtual clock at T0."""
    clock = [T0]
    store = Store.embedded_store(seed())
    with Runtime(Config(workers=1, mode="inprocess"), store=store, clock=lambda: clock[0]) as runtime:
        yield Scheduler(runtime, clock)
