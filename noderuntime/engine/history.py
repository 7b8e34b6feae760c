"""The conversation history: every message a member sent and was sent.

The engine records each message it receives and each response it sends; live
chat records what members and agents say to each other. A live-chat request
made with ``history: true`` shows the agent the latest lines::

    {_id, app, member, channel, direction ("in" | "out"), author ("member" | "bot" | "agent"),
     type, text, event, createdAt}
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from noderuntime.store import Store
from noderuntime.store.ids import match_id
from noderuntime.store.schema import MESSAGES


def text_of(event: dict[str, Any] | None) -> str:
    """What a message event says, as one line of text."""
    if not isinstance(event, dict):
        return ""
    data = event.get("data") if isinstance(event.get("data"), dict) else event
    for key in ("text", "title", "caption"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    payload = data.get("payload")
    if isinstance(payload, dict):
        payload = payload.get("value") or payload.get("payload")
    if isinstance(payload, str) and payload:
        return payload
    url = data.get("url")
    kind = event.get("type") or "MESSAGE"
    return f"[{kind}] {url}" if isinstance(url, str) else f"[{kind}]"


def record(
    store: Store,
    now: int,
    member: dict[str, Any],
    author: str,
    events: list[dict[str, Any]],
) -> None:
    """Add ``events`` said by ``author`` (``member``, ``bot`` or ``agent``) to the member's history."""
    for event in events:
        store.insert_one(
            MESSAGES,
            {
                "_id": ObjectId(),
                "app": member.get("app"),
                "member": member.get("_id"),
                "channel": member.get("channel"),
                "direction": "in" if author == "member" else "out",
                "author": author,
                "type": event.get("type"),
                "text": text_of(event),
                "event": event,
                "createdAt": now,
            },
        )


def recent(store: Store, app: Any, member_id: Any, limit: int) -> list[dict[str, Any]]:
    """The member's last ``limit`` lines, oldest first: ``{author, text, at}``."""
    found = store.find(
        MESSAGES,
        {"app": match_id(app), "member": match_id(member_id)},
        sort=[("createdAt", -1), ("_id", -1)],
        limit=limit,
    )
    return [{"author": m.get("author"), "text": m.get("text") or "", "at": m.get("createdAt")} for m in reversed(found)]
