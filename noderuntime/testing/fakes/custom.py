"""A fake custom live-chat system: the app's own agent desk, as the custom
outlet expects it (see :mod:`noderuntime.livechat.outlets.custom`).

It checks each request's ``X-Stella-Signature``, keeps one conversation per
assignment, ignores a call it has seen (same ``Idempotency-Key``), answers
``open`` with the conversation's ``externalId``, and sends agents' messages
and the end of a chat back to the runtime's webhook, signed.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from noderuntime.livechat.outlets.custom import SIGNATURE_HEADER, sign, signature_ok
from noderuntime.testing.fakes.server import Answer, FakeServer, Request

PATH = "/api/livechat"


@dataclass
class FakeConversation:
    """One conversation as the fake desk holds it."""

    external_id: str
    assignment_id: str
    request: dict[str, Any]
    #: ``(author, text)`` in order: "member", "bot" or "agent".
    lines: list[tuple[str, str]] = field(default_factory=list)
    closed: bool = False
    target: Any = None


class FakeCustomLiveChat(FakeServer):
    """The desk at ``url + PATH``; ``secret`` is the channel secret both sides share."""

    def __init__(self, secret: str = "s3cret") -> None:
        super().__init__()
        self.secret = secret
        self.conversations: dict[str, FakeConversation] = {}
        self.seen_keys: set[str] = set()
        self.webhook_url: str | None = None
        self._ids = itertools.count(1)
        self.route("POST", PATH, self._call)

    @property
    def api_url(self) -> str:
        """The Live Chat API URL to put in the outlet channel's ``info.liveChatApiUrl``."""
        return self.url + PATH

    def _call(self, request: Request, _match: Any) -> Answer:
        if not signature_ok(self.secret, request.body, request.headers.get(SIGNATURE_HEADER.lower())):
            return Answer(401, {"error": "bad signature"})
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("assignmentId"), str):
            return Answer(400, {"error": "assignmentId is required"})
        key = request.headers.get("idempotency-key") or body.get("id")
        assignment = body["assignmentId"]
        conversation = self.conversations.get(assignment)
        if conversation is None and body.get("externalId"):  # a reassigned chat carries the conversation on
            conversation = next((c for c in self.conversations.values() if c.external_id == body["externalId"]), None)
        if key in self.seen_keys:
            return Answer(200, {"externalId": conversation.external_id if conversation else None, "repeated": True})
        event = body.get("event")
        if event == "open":
            conversation = FakeConversation(f"conv-{next(self._ids)}", assignment, body, target=body.get("target"))
            self.conversations[assignment] = conversation
        elif conversation is None:
            return Answer(404, {"error": f"no conversation for assignment {assignment}"})
        elif conversation.closed:
            return Answer(409, {"error": "the conversation is closed"})
        elif event == "message":
            conversation.lines.append((body.get("author") or "member", body.get("text") or ""))
        elif event == "close":
            conversation.closed = True
        elif event == "transfer":
            conversation.target = body.get("target")
        else:
            return Answer(400, {"error": f"unknown event {event!r}"})
        self.seen_keys.add(str(key))
        return Answer(200, {"externalId": conversation.external_id})

    # What agents do ------------------------------------------------------------------------

    def _send(self, payload: dict[str, Any], signature: str | None = None) -> int:
        if self.webhook_url is None:
            raise RuntimeError("set webhook_url first: the runtime's /livechat/<channel>/webhook")
        raw = json.dumps(payload).encode("utf-8")
        headers = {SIGNATURE_HEADER: signature if signature is not None else sign(self.secret, raw)}
        return _post_raw(self.webhook_url, raw, headers)

    def agent_says(
        self, assignment_id: str, text: str, *, event_id: str | None = None, signature: str | None = None
    ) -> int:
        """An agent answers; the webhook's HTTP status."""
        conversation = self.conversations[assignment_id]
        conversation.lines.append(("agent", text))
        payload = {
            "id": event_id or uuid.uuid4().hex,
            "assignmentId": assignment_id,
            "sendToInlet": text,
            "agent": {"id": "agent-1", "name": "Alice"},
        }
        return self._send(payload, signature)

    def take(self, assignment_id: str) -> int:
        """An agent takes the chat."""
        payload = {
            "id": uuid.uuid4().hex,
            "assignmentId": assignment_id,
            "event": "taken",
            "agent": {"id": "agent-1", "name": "Alice"},
        }
        return self._send(payload)

    def end(self, assignment_id: str) -> int:
        """The agent ends the chat."""
        self.conversations[assignment_id].closed = True
        return self._send({"id": uuid.uuid4().hex, "assignmentId": assignment_id, "event": "end"})


def _post_raw(url: str, raw: bytes, headers: dict[str, str]) -> int:
    """POST exactly ``raw`` (a signature covers these bytes); the status, 0 when unreachable."""
    try:
        return requests.post(
            url, data=raw, headers={"Content-Type": "application/json", **headers}, timeout=10
        ).status_code
    except requests.RequestException:
        return 0
