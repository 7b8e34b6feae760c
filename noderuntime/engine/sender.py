"""Sending a node's responses to the member.

The engine hands every node's responses to a :class:`Sender`, which returns
the documented ``NodeSendResult``::

    {"ok": 1, "member": "<member id>",
     "result": [{"result": {...platform reply...}, "messageEvent": {...}, "chatId": "..."}]}

Real platforms plug in here; :class:`RecordingSender` keeps what it was given
(for tests, ``noderuntime chat`` and embedders without a platform yet).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import bson
import bson.errors

from noderuntime.errors import ParamError

#: The most characters a TEXT response may carry (the platforms' limit).
MAX_TEXT = 2000
#: The most one response object may weigh, encoded (a carousel with its images is a few KiB).
MAX_RESPONSE_BYTES = 64 * 1024


class Sender(Protocol):
    """Delivers responses to a member on a channel."""

    def send(
        self, member: dict[str, Any], channel: dict[str, Any] | None, responses: list[dict[str, Any]], now_ms: int
    ) -> dict[str, Any]:
        """Send ``responses`` in order; return the NodeSendResult."""
        ...


def check_response(response: Any, where: str) -> dict[str, Any]:
    """A response object a platform can send, or a :class:`ParamError` naming what is wrong."""
    if not isinstance(response, dict):
        raise ParamError(f"{where}: a response must be an object with a type, got {type(response).__name__}")
    kind = response.get("type")
    if not isinstance(kind, str) or not kind:
        raise ParamError(f"{where}: a response needs a type (TEXT, IMAGE, QUICK_REPLIES, ...)")
    try:
        size = len(bson.encode(response))
    except (bson.errors.BSONError, TypeError, OverflowError) as error:
        raise ParamError(f"{where}: a response must be plain data ({error})") from None
    if size > MAX_RESPONSE_BYTES:
        limit = MAX_RESPONSE_BYTES // 1024
        raise ParamError(f"{where}: a response is at most {limit} KiB, this one is {size // 1024} KiB")
    if kind == "TEXT":
        text = response.get("text")
        if not isinstance(text, str):
            raise ParamError(f"{where}: a TEXT response needs text (a string)")
        if len(text) > MAX_TEXT:
            raise ParamError(f"{where}: text is {len(text)} characters; the most a TEXT response carries is {MAX_TEXT}")
    return response


def message_event(
    member: dict[str, Any], channel: dict[str, Any] | None, response: dict[str, Any], now_ms: int
) -> dict[str, Any]:
    """The outgoing message event of a sent response, in the documented shape."""
    data = {key: value for key, value in response.items() if key != "type"}
    data["transform"] = ""
    sender_id = (channel or {}).get("botId") or (channel or {}).get("_id") or ""
    return {
        "from": sender_id,
        "to": member.get("externalId") or member.get("_id"),
        "data": data,
        "type": response["type"],
        "timestamp": now_ms,
        "messageId": f"m_{uuid.uuid4().hex}",
    }


@dataclass
class Sent:
    """One response the recording sender was given."""

    member: str
    channel: str | None
    response: dict[str, Any]
    messageEvent: dict[str, Any]


class RecordingSender:
    """Sends nothing; records every response and answers as a platform would."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def send(
        self, member: dict[str, Any], channel: dict[str, Any] | None, responses: list[dict[str, Any]], now_ms: int
    ) -> dict[str, Any]:
        """Record ``responses`` and return their NodeSendResult."""
        results = []
        for response in responses:
            event = message_event(member, channel, response, now_ms)
            with self._lock:
                self.sent.append(Sent(str(member.get("_id")), (channel or {}).get("_id"), response, event))
            results.append(
                {
                    "result": {"recipient_id": event["to"], "message_id": event["messageId"]},
                    "messageEvent": event,
                    "chatId": f"ch{uuid.uuid4().hex[:22]}",
                }
            )
        return {"ok": 1, "member": str(member.get("_id")), "result": results}
