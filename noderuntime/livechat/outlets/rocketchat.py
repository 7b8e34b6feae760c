"""The Rocket.Chat Livechat outlet: the bot hands a member to Rocket.Chat's agents.

Pattern A of the reference (``livechat-apis.md`` §2.4): the bot is a proxy
for the member, who becomes a Livechat *visitor*. The visitor endpoints need
no user credentials (the visitor token is the credential), so the channel
only needs the server's URL, plus the webhook secret to accept agents'
messages::

    channel["info"] = {
        "serverUrl": "https://chat.example.com",   # /api/v1/... is appended
        "webhookToken": "...",                      # Livechat_secret_token
        "department": "SALES",                      # optional default department
        "offlineEmail": "desk@example.com",         # optional: for offline messages
    }

What a conversation keeps in its ``outletState``: ``visitorToken`` and
``visitorId`` (as the server returned them: registering can hand back an
existing visitor with its own token), ``rid`` (the room), and ``department``
after a transfer. Messages carry an ``_id`` derived from the outbox key, so
a retry of a post that timed out after the server stored it is recognised
(the server answers with a duplicate key error) instead of posted twice.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from noderuntime.livechat.outlets.base import (
    CALL_TIMEOUT,
    Conversation,
    Fetch,
    Inbound,
    Line,
    OutletError,
    Reply,
    Unavailable,
    WebhookRefused,
    call,
    channel_settings,
    describe,
    header,
    retry_after,
    secret_matches,
    webhook_json,
)

#: Message_MaxAllowedSize's default: longer text is posted in parts.
MAX_MESSAGE_LENGTH = 5000
#: The most history lines the opening message carries (the newest ones).
MAX_HISTORY_LINES = 50
#: The header Rocket.Chat sends its ``Livechat_secret_token`` in.
TOKEN_HEADER = "x-rocketchat-livechat-token"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RocketChatOutlet:
    """Rocket.Chat Livechat, with the bot posting as the member's visitor."""

    kind = "rocketchat"

    def __init__(self, http: Fetch, *, timeout: float = CALL_TIMEOUT) -> None:
        self.http = http
        self.timeout = timeout

    # Settings ---------------------------------------------------------------------------------

    def check_channel(self, channel: dict[str, Any]) -> list[str]:
        """Problems with the channel's ``info`` (empty when usable)."""
        info = channel.get("info")
        if not isinstance(info, dict):
            return ["info must be an object with serverUrl and webhookToken"]
        problems = []
        url = info.get("serverUrl")
        if not isinstance(url, str) or not url.strip():
            problems.append(
                "info.serverUrl is required: the Rocket.Chat server's address, e.g. https://chat.example.com"
            )
        elif _base_url(url) is None:
            problems.append(f"info.serverUrl must be an http(s) address, not {url[:100]!r}")
        token = info.get("webhookToken")
        if not isinstance(token, str) or not token:
            problems.append(
                "info.webhookToken is required: the secret token of Omnichannel → Webhooks "
                "(Livechat_secret_token); without it agents' replies cannot be accepted"
            )
        department = info.get("department")
        if department is not None and (not isinstance(department, str) or not department.strip()):
            problems.append("info.department must be a department id or name")
        email = info.get("offlineEmail")
        if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
            problems.append("info.offlineEmail must be an email address")
        return problems

    # The outbox's calls ------------------------------------------------------------------------

    def open(self, conversation: Conversation, key: str) -> None:
        """Register the member as a visitor, open a room and post the context.

        State learnt on the way is saved at once, and a retry reuses it: the
        visitor and room endpoints are rate-limited per IP, and every member
        behind this bot shares that IP. With no agent online, the request is
        left as an offline message and :class:`Unavailable` is raised.
        """
        token = conversation.state.get("visitorToken") or self._register(conversation)
        rid = conversation.state.get("rid") or self._open_room(conversation, token)
        text = self._opening_text(conversation)
        if text:
            self._post(conversation, token, rid, key, text)

    def relay(self, conversation: Conversation, line: Line) -> None:
        """Post ``line`` into the room; the bot's lines say ``Bot:`` so agents tell them apart."""
        token, rid = self._room_of(conversation, "relay")
        text = describe(line.response, line.text)
        if not text.strip():
            return
        self._post(conversation, token, rid, line.key, f"Bot: {text}" if line.author == "bot" else text)

    def close(self, conversation: Conversation, key: str) -> None:
        """Close the room as the visitor; a room closed already is fine."""
        token, rid = conversation.state.get("visitorToken"), conversation.state.get("rid")
        if not token or not rid:
            return  # never opened: nothing to close
        endpoint = "POST livechat/room.close"
        reply, payload = self._api(conversation, endpoint, body={"token": token, "rid": rid})
        if reply.status == 200 or _error_has(payload, "room-closed"):
            return
        if _error_has(payload, "error-not-allowed-to-close-conversation"):
            raise OutletError(
                f"Rocket.Chat {endpoint}: visitors may not close chats on this server "
                "(Omnichannel_allow_visitors_to_close_conversation is off)",
                retry=False,
            )
        raise _refused(endpoint, reply, payload)

    def transfer(self, conversation: Conversation, target: dict[str, Any], key: str) -> None:
        """Move the chat to the department ``target`` names (``{"type": "department", "id": ...}``)."""
        if not isinstance(target, dict) or target.get("type") != "department" or not target.get("id"):
            raise OutletError(
                f"Rocket.Chat transfers a visitor's chat to a department only, not {target!r}", retry=False
            )
        token, rid = self._room_of(conversation, "transfer")
        department = str(target["id"])
        body = {"token": token, "rid": rid, "department": department}
        endpoint = "POST livechat/visitor/department.transfer"
        reply, payload = self._api(conversation, endpoint, body=body)
        if reply.status == 404:
            # Servers before 7.0 only have the route 7.0 deprecated.
            endpoint = "POST livechat/room.transfer"
            reply, payload = self._api(conversation, endpoint, body=body)
        if reply.status != 200:
            raise _refused(endpoint, reply, payload)
        conversation.remember(department=department)

    # Webhooks ----------------------------------------------------------------------------------

    def inbound(self, channel: dict[str, Any], headers: Mapping[str, str], body: bytes) -> list[Inbound]:
        """The events of one Rocket.Chat webhook POST: agents' messages, the chat taken, the chat closed.

        Only messages with an ``agentId`` are agents': the visitor's (the
        bot's own posts) are ignored, so they never echo back. Keys are the
        message id or the room's event, so a webhook Rocket.Chat retries
        (it does on anything but 200) is handled once.
        """
        info = channel_settings(channel)
        secret = info.get("webhookToken")
        if not isinstance(secret, str) or not secret:
            raise WebhookRefused(403, "this Rocket.Chat channel has no webhookToken: set info.webhookToken")
        given = header(headers, TOKEN_HEADER)
        if given is None:
            raise WebhookRefused(401, "missing X-RocketChat-Livechat-Token header")
        if not secret_matches(given, secret):
            raise WebhookRefused(401, "wrong X-RocketChat-Livechat-Token")
        payload = webhook_json(body)
        kind = payload.get("type")
        if kind not in ("Message", "LivechatSessionTaken", "LivechatSession"):
            return []
        rid = payload.get("_id")
        if not isinstance(rid, str) or not rid:
            raise WebhookRefused(400, f"{kind} webhook without the room id (_id)")
        ref = {"outletState.rid": rid}
        if kind == "Message":
            return self._agent_messages(payload, ref, _base_url(info.get("serverUrl")))
        if kind == "LivechatSessionTaken":
            served = payload.get("servedBy") if isinstance(payload.get("servedBy"), dict) else {}
            agent = _agent_of(payload, served.get("_id"), served.get("username"))
            # The take's moment tells a second take (after a transfer) from a redelivery.
            key = f"rocketchat:taken:{rid}:{agent['id'] if agent else ''}:{served.get('ts') or ''}"
            return [Inbound(kind="taken", ref=ref, key=key, agent=agent)]
        closed_by = payload.get("closedBy") if isinstance(payload.get("closedBy"), dict) else {}
        agent = (
            _agent_of(payload, closed_by.get("_id"), closed_by.get("username"))
            if payload.get("closer") == "user"
            else None
        )
        return [Inbound(kind="closed", ref=ref, key=f"rocketchat:closed:{rid}", agent=agent)]

    @staticmethod
    def _agent_messages(payload: dict[str, Any], ref: dict[str, Any], base: str | None) -> list[Inbound]:
        events = []
        for message in payload.get("messages") or []:
            if not isinstance(message, dict) or not message.get("agentId") or message.get("t"):
                continue  # the visitor's own (the bot's) messages, and system messages
            message_id = message.get("_id")
            text = message.get("msg") or _attachments_text(message, base)
            if not isinstance(message_id, str) or not isinstance(text, str) or not text:
                continue
            user = message.get("u") if isinstance(message.get("u"), dict) else {}
            agent = _agent_of(payload, message["agentId"], message.get("username") or user.get("username"))
            if agent is not None and user.get("name"):
                agent["name"] = user["name"]
            events.append(Inbound(kind="message", ref=ref, key=f"rocketchat:{message_id}", text=text, agent=agent))
        return events

    # Steps of open ---------------------------------------------------------------------------------

    def _register(self, conversation: Conversation) -> str:
        """``POST livechat/visitor``: the token to use is the one in the answer."""
        member = conversation.member
        visitor: dict[str, Any] = {"token": _visitor_token(conversation)}
        name = _member_name(member)
        if name:
            visitor["name"] = name
        for field in ("email", "phone"):
            value = _member_field(member, field)
            if value:
                visitor[field] = value
        department = self._department(conversation)
        if department:
            visitor["department"] = department
        endpoint = "POST livechat/visitor"
        reply, payload = self._api(conversation, endpoint, body={"visitor": visitor})
        registered = payload.get("visitor") if reply.status == 200 else None
        if not isinstance(registered, dict) or not isinstance(registered.get("token"), str):
            raise _refused(endpoint, reply, payload)
        # Upsert: a visitor with the same phone comes back with ITS token, which is the one that works.
        token = registered["token"]
        conversation.remember(visitorToken=token, visitorId=registered.get("_id"))
        return token

    def _open_room(self, conversation: Conversation, token: str) -> str:
        """``GET livechat/room``: the visitor's open room, or a new one."""
        query = {"token": token}
        target = conversation.target or {}
        if target.get("type") == "agent" and target.get("id"):
            query["agentId"] = str(target["id"])
        endpoint = "GET livechat/room"
        reply, payload = self._api(conversation, endpoint, query=query)
        room = payload.get("room") if reply.status == 200 else None
        if isinstance(room, dict) and isinstance(room.get("_id"), str):
            conversation.remember(rid=room["_id"])
            return room["_id"]
        if _error_has(payload, "no-agent-online"):
            self._leave_offline_message(conversation)
        raise _refused(endpoint, reply, payload)

    def _leave_offline_message(self, conversation: Conversation) -> None:
        """No agent online: leave the request where agents will find it, then end with :class:`Unavailable`."""
        email = _member_field(conversation.member, "email") or conversation.info.get("offlineEmail")
        if not email:
            raise Unavailable(
                "no agent online, and no email to leave an offline message with "
                "(the member has none and info.offlineEmail is not set)"
            )
        lines = [self._opening_text(conversation) or "The member asked to talk to an agent."]
        phone = _member_field(conversation.member, "phone")
        if phone:
            lines.append(f"Phone: {phone}")
        body: dict[str, Any] = {
            "name": _member_name(conversation.member) or "Visitor",
            "email": email,
            "message": "\n\n".join(lines),
        }
        department = self._department(conversation)
        if department:
            body["department"] = department
        endpoint = "POST livechat/offline.message"
        reply, payload = self._api(conversation, endpoint, body=body)
        if reply.status != 200:
            raise Unavailable(f"no agent online, and the offline message was refused: {_error_text(payload, reply)}")
        raise Unavailable(f"no agent online: the request was left as an offline message for {email}")

    def _opening_text(self, conversation: Conversation) -> str:
        """What agents read first: the summary, the relay message, the conversation so far."""
        parts = []
        summary = conversation.details.get("summary")
        if isinstance(summary, str) and summary.strip():
            parts.append(summary.strip())
        relay = conversation.details.get("relayMessage")
        relay = relay.get(self.kind) if isinstance(relay, dict) else None
        said = describe(relay) if isinstance(relay, dict) else relay if isinstance(relay, str) else ""
        if said.strip():
            parts.append(said.strip())
        history = conversation.history if isinstance(conversation.history, list) else []
        lines = []
        for entry in history:
            if isinstance(entry, dict):
                text = describe(
                    entry.get("response"), entry.get("text") if isinstance(entry.get("text"), str) else None
                )
                if text:
                    lines.append(f"{_author(entry.get('author'), conversation.member)}: {text}")
        if lines:
            skipped = len(lines) - MAX_HISTORY_LINES
            shown = lines[-MAX_HISTORY_LINES:]
            header = "Conversation so far" + (
                f" (the last {MAX_HISTORY_LINES} of {len(lines)} lines)" if skipped > 0 else ""
            )
            parts.append(header + ":\n" + "\n".join(shown))
        return "\n\n".join(parts)

    def _department(self, conversation: Conversation) -> str | None:
        target = conversation.target or {}
        if target.get("type") == "department" and target.get("id"):
            return str(target["id"])
        department = conversation.info.get("department")
        return department if isinstance(department, str) and department else None

    # Posting ---------------------------------------------------------------------------------------

    def _post(self, conversation: Conversation, token: str, rid: str, key: str, text: str) -> None:
        """``POST livechat/message`` with ids derived from ``key``: a retry posts nothing twice."""
        endpoint = "POST livechat/message"
        for index in range(0, len(text), MAX_MESSAGE_LENGTH):
            part_key = key if index == 0 else f"{key}#{index // MAX_MESSAGE_LENGTH}"
            body = {"token": token, "rid": rid, "msg": text[index : index + MAX_MESSAGE_LENGTH]}
            body["_id"] = _message_id(token, part_key)
            reply, payload = self._api(conversation, endpoint, body=body)
            if reply.status == 200:
                continue
            if _error_has(payload, "E11000") or _error_has(payload, "duplicate key"):
                continue  # an earlier try that timed out did post it
            if _error_has(payload, "room-closed") or _error_has(payload, "invalid-room"):
                raise OutletError(
                    f"Rocket.Chat room {rid} is gone (closed or not this visitor's): {_error_text(payload, reply)}",
                    retry=False,
                )
            raise _refused(endpoint, reply, payload)

    def _room_of(self, conversation: Conversation, step: str) -> tuple[str, str]:
        token, rid = conversation.state.get("visitorToken"), conversation.state.get("rid")
        if not isinstance(token, str) or not isinstance(rid, str) or not token or not rid:
            raise OutletError(f"Rocket.Chat {step}: no room yet (open has not succeeded)", retry=False)
        return token, rid

    # HTTP --------------------------------------------------------------------------------------------

    def _api(
        self,
        conversation: Conversation,
        endpoint: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[Reply, dict[str, Any]]:
        """One call to ``endpoint`` (``"POST livechat/visitor"``): the reply and its JSON object.

        Raises the retryable errors here (429, 5xx, timeouts, refused
        connections); what a 4xx means is the caller's to judge.
        """
        base = _base_url(conversation.info.get("serverUrl"))
        if base is None:
            raise OutletError("Rocket.Chat channel: info.serverUrl is missing or not an http(s) address", retry=False)
        method, path = endpoint.split(" ", 1)
        url = f"{base}/api/v1/{path}" + (f"?{urlencode(query)}" if query else "")
        reply = call(self.http, method, url, headers={"Accept": "application/json"}, body=body, timeout=self.timeout)
        payload = reply.json()
        payload = payload if isinstance(payload, dict) else {}
        if reply.status == 429:
            raise OutletError(
                f"Rocket.Chat {endpoint}: rate limited: {_error_text(payload, reply)}",
                retry=True,
                retry_after=retry_after(reply),
            )
        if reply.status >= 500 or reply.status == 408:
            raise OutletError(f"Rocket.Chat {endpoint}: HTTP {reply.status}: {_error_text(payload, reply)}", retry=True)
        return reply, payload


# Helpers ----------------------------------------------------------------------------------------------


def _base_url(value: Any) -> str | None:
    """The server's base URL (an ``/api/v1`` pasted along is dropped), or None when unusable."""
    if not isinstance(value, str):
        return None
    base = value.strip().rstrip("/")
    if base.endswith("/api/v1"):
        base = base[: -len("/api/v1")]
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return base


def _error_text(payload: dict[str, Any], reply: Reply) -> str:
    """The server's error, whichever of its four shapes it came in."""
    pieces = [payload.get(name) for name in ("error", "errorType", "message")]
    text = " ".join(str(piece) for piece in pieces if isinstance(piece, str) and piece)
    return text or f"HTTP {reply.status} {reply.text[:200]!r}"


def _error_has(payload: dict[str, Any], code: str) -> bool:
    """Whether the error names ``code``: bare, in brackets, as errorType or in a sentence."""
    return any(
        isinstance(payload.get(name), str) and code in payload[name] for name in ("error", "errorType", "message")
    )


def _refused(endpoint: str, reply: Reply, payload: dict[str, Any]) -> OutletError:
    """A 4xx (or an unusable 200): trying again will not help."""
    return OutletError(
        f"Rocket.Chat {endpoint} refused (HTTP {reply.status}): {_error_text(payload, reply)}", retry=False
    )


def _visitor_token(conversation: Conversation) -> str:
    """A token stable per member, so the member is one visitor across hand-offs.

    The token is the visitor's only credential on the visitor endpoints
    (it reads the chat's history), so it is keyed with the webhook secret
    rather than a bare hash anyone knowing the member id could compute.
    """
    member_id = conversation.member.get("_id") or conversation.member.get("id") or conversation.assignment_id
    secret = conversation.info.get("webhookToken")
    key = secret.encode("utf-8") if isinstance(secret, str) else b"noderuntime"
    digest = hmac.new(key, f"{conversation.app}:{member_id}".encode(), hashlib.sha256).hexdigest()
    return f"nr-{digest[:40]}"


def _message_id(token: str, key: str) -> str:
    """The message ``_id`` for an outbox key: the same on every retry, distinct per visitor."""
    return hashlib.sha256(f"{token}\n{key}".encode()).hexdigest()[:24]


def _member_field(member: dict[str, Any], field: str) -> str | None:
    profile = member.get("profile") if isinstance(member.get("profile"), dict) else {}
    value = member.get(field) or profile.get(field)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _member_name(member: dict[str, Any]) -> str:
    return " ".join(part for part in (_member_field(member, "firstName"), _member_field(member, "lastName")) if part)


def _author(author: Any, member: dict[str, Any]) -> str:
    if author == "bot":
        return "Bot"
    if author == "member":
        return _member_name(member) or "Visitor"
    return str(author).capitalize() if author else "Unknown"


def _agent_of(payload: dict[str, Any], agent_id: Any, username: Any) -> dict[str, Any] | None:
    """The agent's id, username and name, completed from the payload's ``agent`` when it is them."""
    known = payload.get("agent") if isinstance(payload.get("agent"), dict) else {}
    agent_id = agent_id or known.get("_id")
    if not agent_id:
        return None
    same = known.get("_id") == agent_id
    username = username or (known.get("username") if same else None)
    name = (known.get("name") if same else None) or username
    return {"id": agent_id, "username": username, "name": name}


def _attachments_text(message: dict[str, Any], base: str | None) -> str:
    """An agent's upload, described (``[FILE] https://...``): its links are server-relative."""
    described = []
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        link = attachment.get("title_link") or attachment.get("image_url") or attachment.get("audio_url") or ""
        kind = "IMAGE" if attachment.get("image_url") else "AUDIO" if attachment.get("audio_url") else "FILE"
        if isinstance(link, str) and link and base:
            link = urljoin(base + "/", link.lstrip("/"))
        title = attachment.get("title") or attachment.get("description") or ""
        described.append(" ".join(str(piece) for piece in (f"[{kind}]", title, link) if piece))
    return "\n".join(described)
