"""A live-chat world: an app whose webchat inlet is paired with three outlet
channels (custom, Rocket.Chat, Support Board), a member, a bot whose "agent"
node hands the member over, a movable clock, a recording sender, the desk
and, when a test asks, the webhook server and the fake outlet systems."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId

from noderuntime.api import Server, create_app
from noderuntime.config import Config
from noderuntime.engine import ChainResult, Engine, RecordingSender
from noderuntime.livechat.desk import LiveChat
from noderuntime.runtime import Runtime
from noderuntime.store import Store
from noderuntime.store.schema import ASSIGNMENTS, MEMBERS, OUTBOX
from noderuntime.testing.fakes.custom import FakeCustomLiveChat

APP = "a12345678901234567890123"
OTHER_APP = "b12345678901234567890123"
INLET = "c12345678901234567890123"
CUSTOM = "c22345678901234567890123"
ROCKET = "c32345678901234567890123"
BOARD = "c42345678901234567890123"
#: A custom outlet of another app.
FOREIGN = "c92345678901234567890123"
TREE = "7e0000000000000000000001"
MEMBER = "5f7443000000000000000001"
START = 1_700_000_000_000
SECRET = "s3cret"

#: The bot: "agent" hands the member to live chat, "welcome" answers anything else,
#: "back" is run when a live chat ends without the bot asking.
NODES = {
    "agent___________": {
        "name": "Agent",
        "head": True,
        "global": True,
        "priority": 1,
        "trigger": {"type": "keyword", "keywords": ["agent"]},
        "preAction": (
            "result = this.createAssignment(member=this.member, assignmentDetails={'summary': 'Wants a human'},"
            " history=True, createGroup={})\n"
            "return {'member': result.member}"
        ),
        "responses": [{"type": "TEXT", "text": "Connecting you to an agent"}],
    },
    "welcome_________": {
        "name": "Welcome",
        "head": True,
        "global": True,
        "priority": 5,
        "trigger": {"type": "any"},
        "responses": [{"type": "TEXT", "text": "Hello from the bot"}],
    },
    "back____________": {
        "name": "Back",
        "responses": [{"type": "TEXT", "text": "The bot is back"}],
        "preAction": "print('ended:', this.agendaMeta.liveChat.reason)",
    },
}


def seed() -> dict[str, list[dict[str, Any]]]:
    """The app, its channels, the member and the tree, as stored."""
    return {
        "apps": [
            {"_id": ObjectId(APP), "name": "Shop", "pairingChannels": [{"inlet": INLET, "outlets": [CUSTOM]}]},
            {"_id": ObjectId(OTHER_APP), "name": "Other"},
        ],
        "channels": [
            {
                "_id": ObjectId(INLET),
                "app": APP,
                "name": "Webchat",
                "type": "webchat",
                "trees": [TREE],
                "liveChat": {"onEnd": {"tree": TREE, "nodeCompositeId": "back____________"}},
            },
            {
                "_id": ObjectId(CUSTOM),
                "app": APP,
                "name": "Our desk",
                "type": "custom",
                "broadcastGroups": [{"label": "default", "type": "team", "id": "support"}],
                "info": {"liveChatApiUrl": "http://127.0.0.1:9/unset", "secret": SECRET},
            },
            {
                "_id": ObjectId(ROCKET),
                "app": APP,
                "name": "Rocket.Chat",
                "type": "rocketchat",
                "broadcastGroups": [{"label": "default", "type": "department", "id": "SALES"}],
                "info": {"serverUrl": "http://127.0.0.1:9", "webhookToken": "rc-token"},
            },
            {
                "_id": ObjectId(BOARD),
                "app": APP,
                "name": "Support Board",
                "type": "supportboard",
                "broadcastGroups": [{"label": "default", "type": "department", "id": "2"}],
                "info": {
                    "apiUrl": "http://127.0.0.1:9/include/api.php",
                    "token": "admin-token",
                    "webhookKey": "sb-key",
                },
            },
            {
                "_id": ObjectId(FOREIGN),
                "app": OTHER_APP,
                "name": "Their desk",
                "type": "custom",
                "info": {"liveChatApiUrl": "http://127.0.0.1:9/unset", "secret": SECRET},
            },
        ],
        "members": [
            {
                "_id": ObjectId(MEMBER),
                "app": APP,
                "channel": INLET,
                "externalId": "u-1",
                "firstName": "John",
                "lastName": "Doe",
                "botMeta": {"liveChat": False, "subscribe": True, "tempData": {}},
                "meta": {},
                "tags": [],
                "createdAt": START,
                "updatedAt": START,
            }
        ],
        "trees": [{"_id": ObjectId(TREE), "app": APP, "name": "Shop bot", "nodes": NODES}],
    }


def text(value: str, message_id: str | None = None) -> dict[str, Any]:
    """A TEXT message from the member."""
    event = {"type": "TEXT", "data": {"text": value}, "from": "u-1", "timestamp": START}
    if message_id is not None:
        event["messageId"] = message_id
    return event


class Clock:
    """A clock tests move by hand (epoch ms)."""

    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, minutes: float = 0, seconds: float = 0) -> None:
        self.now += int(minutes * 60_000 + seconds * 1000)


class World:
    """Everything a live-chat test touches."""

    def __init__(self, runtime: Runtime, clock: Clock) -> None:
        self.runtime = runtime
        self.clock = clock
        self.store: Store = runtime.store
        self.sender = RecordingSender()
        self.engine = Engine(runtime, sender=self.sender)
        self.desk = LiveChat(self.engine)
        self.server: Server | None = None

    # Setting up --------------------------------------------------------------------------

    def pair(self, *outlets: str) -> None:
        """Pair the inlet with these outlets (replacing the pairing)."""
        self.store.update(
            "apps", {"_id": ObjectId(APP)}, {"$set": {"pairingChannels": [{"inlet": INLET, "outlets": list(outlets)}]}}
        )

    def configure(self, channel: str, **fields: Any) -> None:
        """Set fields of a channel (``info``, ``liveChat``, ``broadcastGroups``...)."""
        self.store.update("channels", {"_id": ObjectId(channel)}, {"$set": fields})

    def serve(self) -> Server:
        """Start the webhook server (once)."""
        if self.server is None:
            self.server = Server(create_app(self.desk)).start()
        return self.server

    def webhook_url(self, channel: str) -> str:
        return f"{self.serve().url}/livechat/{channel}/webhook"

    def custom_desk(self, fake: FakeCustomLiveChat) -> FakeCustomLiveChat:
        """Point the custom outlet at ``fake`` and ``fake`` at our webhook."""
        self.configure(CUSTOM, info={"liveChatApiUrl": fake.api_url, "secret": SECRET})
        fake.webhook_url = self.webhook_url(CUSTOM)
        return fake

    # Acting -------------------------------------------------------------------------------

    def say(self, value: str, message_id: str | None = None) -> ChainResult:
        """The member says ``value``; then the desk makes every call due."""
        result = self.engine.receive(INLET, text(value, message_id))
        self.desk.flush()
        return result

    # Looking ------------------------------------------------------------------------------

    def member(self) -> dict[str, Any]:
        return self.store.find_one(MEMBERS, {"_id": ObjectId(MEMBER)})  # type: ignore[return-value]

    def in_live_chat(self) -> bool:
        return bool((self.member().get("botMeta") or {}).get("liveChat"))

    def assignment(self) -> dict[str, Any] | None:
        found = self.store.find(ASSIGNMENTS, {}, sort=[("createdAt", -1), ("_id", -1)], limit=1)
        return found[0] if found else None

    def outbox(self) -> list[dict[str, Any]]:
        return self.store.find(OUTBOX, {}, sort=[("createdAt", 1), ("seq", 1)])

    def texts(self) -> list[Any]:
        """The text of every message the member was sent, in order."""
        return [sent.response.get("text") for sent in self.sender.sent]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(clock: Clock) -> Iterator[World]:
    config = Config(workers=1, mode="inprocess", fetch_allow_hosts=("127.0.0.1",))
    with Runtime(config, store=Store.embedded_store(seed()), clock=clock) as runtime:
        made = World(runtime, clock)
        yield made
        if made.server is not None:
            made.server.stop()


@pytest.fixture
def custom() -> Iterator[FakeCustomLiveChat]:
    """The fake custom live-chat desk (not yet connected: ``world.custom_desk(custom)``)."""
    with FakeCustomLiveChat(SECRET) as fake:
        yield fake  # type: ignore[misc]
