"""The custom outlet: the app's own live-chat system, reached by signed webhooks.

Outbound, every call is a ``POST`` of JSON to the outlet channel's
``info.liveChatApiUrl``, signed like every webhook of the original platform:
``X-Stella-Signature`` is the base64 HMAC-SHA256 of the raw body keyed with
the channel's ``info.secret``. ``Idempotency-Key`` carries the call's key,
the same on every retry (so does the body's ``id``)::

    {"event": "open", "id", "assignmentId", "groupId", "channel", "assignmentDetails" (as given),
     "member", "meta", "target", "history"?}     -> may answer {"externalId": "..."}
    {"event": "message", "id", "assignmentId", "groupId", "author" ("member" | "bot"), "text", "message"}
    {"event": "close", "id", "assignmentId", "groupId"}
    {"event": "transfer", "id", "assignmentId", "groupId", "target"}

Any 2xx is success; 408, 429 and 5xx are retried; other statuses are final.

Inbound, the system POSTs to ``/livechat/<channel id>/webhook`` with the same
signature over its raw body. An event names the assignment
(``assignmentId``, or the ``externalId`` it answered to ``open``) and carries
an ``id`` (the same when it delivers again)::

    {"id", "assignmentId", "sendToInlet": "text" | response | [responses], "agent"?}
    {"id", "assignmentId", "event": "taken", "agent": {"id", "name"}}
    {"id", "assignmentId", "event": "end"}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from noderuntime.livechat.outlets.base import (
    CALL_TIMEOUT,
    Conversation,
    Fetch,
    Inbound,
    Line,
    OutletError,
    Reply,
    WebhookRefused,
    call,
    channel_settings,
    header,
    retry_after,
    secret_matches,
    webhook_json,
)

SIGNATURE_HEADER = "X-Stella-Signature"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Stella-Signature`` of ``body``: base64 of its HMAC-SHA256 keyed with ``secret``."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def signature_ok(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` is ``body``'s, compared in constant time."""
    return secret_matches(signature, sign(secret, body))


class CustomOutlet:
    """The app's own live-chat system (channel type ``custom``)."""

    kind = "custom"

    def __init__(self, http: Fetch, *, timeout: float = CALL_TIMEOUT) -> None:
        self.http = http
        self.timeout = timeout

    def check_channel(self, channel: dict[str, Any]) -> list[str]:
        """Problems with a custom outlet channel's ``info``."""
        info = channel_settings(channel)
        problems = []
        url = info.get("liveChatApiUrl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.append("info.liveChatApiUrl must be the http(s) URL of the live-chat API")
        if not isinstance(info.get("secret"), str) or not info.get("secret"):
            problems.append("info.secret must be the channel secret that signs requests")
        return problems

    # Outbound ---------------------------------------------------------------------------

    def open(self, conversation: Conversation, key: str) -> None:
        """POST the request; keep the ``externalId`` the system answers with."""
        body: dict[str, Any] = {
            **self._about(conversation, "open", key),
            "channel": str(conversation.channel.get("_id")),
            "assignmentDetails": conversation.details,
            "member": conversation.member,
            "meta": conversation.meta,
            "target": conversation.target,
        }
        if conversation.history is not None:
            body["history"] = conversation.history
        answer = self._post(conversation, body, key)
        data = answer.json()
        external = data.get("externalId") if isinstance(data, dict) else None
        if isinstance(external, str | int) and not isinstance(external, bool):
            conversation.remember(externalId=str(external))

    def relay(self, conversation: Conversation, line: Line) -> None:
        """POST one line."""
        body = {
            **self._about(conversation, "message", line.key),
            "author": line.author,
            "text": line.text,
            "message": line.response,
        }
        self._post(conversation, body, line.key)

    def close(self, conversation: Conversation, key: str) -> None:
        """POST the end of the chat."""
        self._post(conversation, self._about(conversation, "close", key), key)

    def transfer(self, conversation: Conversation, target: dict[str, Any], key: str) -> None:
        """POST a new target for the chat."""
        self._post(conversation, {**self._about(conversation, "transfer", key), "target": target}, key)

    @staticmethod
    def _about(conversation: Conversation, event: str, key: str) -> dict[str, Any]:
        return {
            "event": event,
            "id": key,
            "assignmentId": conversation.assignment_id,
            "groupId": conversation.group_id,
            "externalId": conversation.state.get("externalId"),
        }

    def _post(self, conversation: Conversation, body: dict[str, Any], key: str) -> Reply:
        problems = self.check_channel(conversation.channel)
        if problems:
            raise OutletError(f"custom outlet {conversation.channel.get('_id')}: {'; '.join(problems)}", retry=False)
        info = conversation.info
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(info["secret"], raw),
            "Idempotency-Key": key,
        }
        reply = call(self.http, "POST", info["liveChatApiUrl"], headers=headers, body=raw, timeout=self.timeout)
        if 200 <= reply.status < 300:
            return reply
        where = f"custom live-chat API answered {reply.status} to {body['event']}"
        if reply.status == 429:
            raise OutletError(where, retry=True, retry_after=retry_after(reply))
        detail = reply.text.strip()[:200]
        raise OutletError(f"{where}: {detail}" if detail else where, retry=reply.status == 408 or reply.status >= 500)

    # Inbound ----------------------------------------------------------------------------

    def inbound(self, channel: dict[str, Any], headers: Mapping[str, str], body: bytes) -> list[Inbound]:
        """The events of one signed request from the system."""
        info = channel_settings(channel)
        secret = info.get("secret")
        if not isinstance(secret, str) or not secret:
            raise WebhookRefused(403, "this channel has no secret to check signatures with")
        signature = header(headers, SIGNATURE_HEADER)
        if not signature_ok(secret, body, signature):
            raise WebhookRefused(401, f"{SIGNATURE_HEADER} is {'wrong' if signature else 'missing'}")
        payload = webhook_json(body)
        ref = _ref(payload)
        event_id = payload.get("id")
        if not isinstance(event_id, str | int) or isinstance(event_id, bool) or event_id == "":
            event_id = hashlib.sha256(body).hexdigest()
        agent = payload.get("agent") if isinstance(payload.get("agent"), dict) else None
        kind = payload.get("event")
        if kind in ("end", "close", "closed"):
            return [Inbound("closed", ref, f"custom:{event_id}:end")]
        if kind == "taken":
            return [Inbound("taken", ref, f"custom:{event_id}:taken", agent=agent)]
        if "sendToInlet" not in payload:
            raise WebhookRefused(400, "an event needs sendToInlet (a message) or event: taken | end")
        messages = payload["sendToInlet"]
        messages = messages if isinstance(messages, list) else [messages]
        events = []
        for index, message in enumerate(messages):
            key = f"custom:{event_id}:{index}"
            if isinstance(message, str):
                events.append(Inbound("message", ref, key, text=message, agent=agent))
            elif isinstance(message, dict):
                events.append(Inbound("message", ref, key, text=message.get("text"), response=message, agent=agent))
            else:
                raise WebhookRefused(400, f"sendToInlet[{index}] must be a text or a response object")
        return events


def _ref(payload: dict[str, Any]) -> dict[str, Any]:
    """How an event names its assignment."""
    if isinstance(payload.get("assignmentId"), str) and payload["assignmentId"]:
        return {"_id": payload["assignmentId"]}
    if isinstance(payload.get("externalId"), str | int) and not isinstance(payload.get("externalId"), bool):
        return {"outletState.externalId": str(payload["externalId"])}
    raise WebhookRefused(400, "an event must name its assignmentId (or the externalId answered to open)")
