"""The agents' side of each fake live-chat system, behind one interface, so a
test or ``noderuntime chat`` can play the agent whichever outlet a member was
handed to: start the fake, connect it to the runtime's webhook, then answer,
take and end conversations, and read what agents see."""

from __future__ import annotations

from typing import Any, Protocol

from noderuntime.testing.fakes.custom import FakeCustomLiveChat
from noderuntime.testing.fakes.rocketchat import FakeRocketChat
from noderuntime.testing.fakes.server import FakeServer
from noderuntime.testing.fakes.supportboard import FakeSupportBoard

SECRET = "demo-secret"


class AgentDesk(Protocol):
    """One fake system, seen from the agents' chairs."""

    kind: str

    @property
    def url(self) -> str:
        """Where the fake listens."""
        ...

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, for an allow list."""
        ...

    def start(self) -> None:
        """Start the fake server."""
        ...

    def stop(self) -> None:
        """Stop it."""
        ...

    def connect(self, webhook_url: str) -> dict[str, Any]:
        """Send webhooks to ``webhook_url``; the outlet channel ``info`` that reaches this fake."""
        ...

    def say(self, state: dict[str, Any], assignment_id: str, text: str) -> int:
        """An agent writes ``text`` in the assignment's conversation; the webhook's HTTP status."""
        ...

    def take(self, state: dict[str, Any], assignment_id: str) -> int:
        """An agent takes the conversation (0 when the system has no such event)."""
        ...

    def end(self, state: dict[str, Any], assignment_id: str) -> int:
        """An agent ends the conversation."""
        ...

    def lines(self, state: dict[str, Any], assignment_id: str) -> list[str]:
        """What agents read in the conversation, in order."""
        ...


class _Desk:
    """What every desk does with its fake server (``self.fake``)."""

    fake: FakeServer

    @property
    def url(self) -> str:
        """Where the fake listens."""
        return self.fake.url

    @property
    def address(self) -> str:
        """``127.0.0.1:<port>``, for an allow list."""
        return f"127.0.0.1:{self.fake.port}"

    def start(self) -> None:
        """Start the fake server."""
        self.fake.start()

    def stop(self) -> None:
        """Stop it."""
        self.fake.stop()


class CustomDesk(_Desk):
    """The app's own desk (:class:`FakeCustomLiveChat`)."""

    kind = "custom"

    def __init__(self) -> None:
        self.fake = FakeCustomLiveChat(SECRET)

    def connect(self, webhook_url: str) -> dict[str, Any]:
        self.fake.webhook_url = webhook_url
        return {"liveChatApiUrl": self.fake.api_url, "secret": SECRET}

    def say(self, state: dict[str, Any], assignment_id: str, text: str) -> int:
        return self.fake.agent_says(assignment_id, text)

    def take(self, state: dict[str, Any], assignment_id: str) -> int:
        return self.fake.take(assignment_id)

    def end(self, state: dict[str, Any], assignment_id: str) -> int:
        return self.fake.end(assignment_id)

    def lines(self, state: dict[str, Any], assignment_id: str) -> list[str]:
        conversation = self.fake.conversations.get(assignment_id)
        if conversation is None:
            return []
        details = conversation.request.get("assignmentDetails") or {}
        opening = [details["summary"]] if isinstance(details.get("summary"), str) else []
        return opening + [text for _author, text in conversation.lines]


class RocketChatDesk(_Desk):
    """Rocket.Chat Livechat (:class:`FakeRocketChat`); the member is its visitor."""

    kind = "rocketchat"
    token = "rc-webhook-token"

    def __init__(self) -> None:
        self.fake = FakeRocketChat()

    def connect(self, webhook_url: str) -> dict[str, Any]:
        self.fake.set_webhook(webhook_url, self.token)
        return {"serverUrl": self.fake.url, "webhookToken": self.token}

    def say(self, state: dict[str, Any], assignment_id: str, text: str) -> int:
        return self.fake.agent_says(state["rid"], text)

    def take(self, state: dict[str, Any], assignment_id: str) -> int:
        return self.fake.take(state["rid"])

    def end(self, state: dict[str, Any], assignment_id: str) -> int:
        return self.fake.close_by_agent(state["rid"])

    def lines(self, state: dict[str, Any], assignment_id: str) -> list[str]:
        return [m["msg"] for m in self.fake.messages(state["rid"])] if "rid" in state else []


class SupportBoardDesk(_Desk):
    """Support Board (:class:`FakeSupportBoard`), with one agent, Alice."""

    kind = "supportboard"
    key = "sb-webhook-key"

    def __init__(self) -> None:
        self.fake = FakeSupportBoard("admin-token")
        self.agent = self.fake.add_agent("Alice")

    def connect(self, webhook_url: str) -> dict[str, Any]:
        self.fake.set_webhook(webhook_url, self.key)
        return {"apiUrl": self.fake.api_url, "token": "admin-token", "webhookKey": self.key}

    def say(self, state: dict[str, Any], assignment_id: str, text: str) -> int:
        return self.fake.agent_replies(state["conversationId"], text, self.agent) or 0

    def take(self, state: dict[str, Any], assignment_id: str) -> int:
        return 0  # Support Board sends no event when an agent opens a conversation

    def end(self, state: dict[str, Any], assignment_id: str) -> int:
        return self.fake.close_by_agent(state["conversationId"]) or 0

    def lines(self, state: dict[str, Any], assignment_id: str) -> list[str]:
        if "conversationId" not in state:
            return []
        return [m["message"] for m in self.fake.messages(state["conversationId"]) if m.get("message")]


DESKS: dict[str, type[AgentDesk]] = {
    "custom": CustomDesk,
    "rocketchat": RocketChatDesk,
    "supportboard": SupportBoardDesk,
}  # type: ignore[dict-item]


def desk_for(kind: str) -> AgentDesk:
    """A fresh fake system of ``kind`` (``custom``, ``rocketchat``, ``supportboard``)."""
    if kind not in DESKS:
        raise ValueError(f"no fake live-chat system {kind!r} (there are {', '.join(DESKS)})")
    return DESKS[kind]()
