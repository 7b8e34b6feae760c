"""A fake Rocket.Chat server: the visitor side of the Livechat REST API.

It answers under ``/api/v1/`` as a real server does (reference
``livechat-apis.md`` §2, checked against the server's source), error bodies
in their four real shapes included, and plays the agents' side for tests:
:meth:`FakeRocketChat.take`, :meth:`FakeRocketChat.agent_says` and
:meth:`FakeRocketChat.close_by_agent` change the room and POST the webhook
Rocket.Chat would send.

Routes: ``POST livechat/visitor``, ``GET livechat/visitor/:token``,
``GET livechat/room``, ``POST livechat/message``, ``GET livechat/message/:_id``,
``GET livechat/messages.history/:rid``, ``POST livechat/offline.message``,
``POST livechat/room.close``, ``POST livechat/visitor/department.transfer``
(7.x and later) and ``POST livechat/room.transfer`` (before 8.0).
"""

from __future__ import annotations

import copy
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from noderuntime.testing.fakes.server import Answer, FakeServer, Request, post_webhook

API = "/api/v1/livechat"

#: Meteor's ``Random.id()`` alphabet: ids look like the real ones.
_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"

#: The rate limits a real server applies outside TEST_MODE: rule -> (calls, seconds), per client IP.
RATE_LIMITS: dict[str, tuple[int, float]] = {"visitor": (5, 60.0), "room": (5, 60.0), "offline": (1, 5.0)}

#: Message_MaxAllowedSize's default.
MAX_MESSAGE_LENGTH = 5000

#: The agent who answers when a test names none.
DEFAULT_AGENT: dict[str, str] = {"_id": "agent-1", "username": "alice", "name": "Alice Agent"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Ajv-style schemas: field -> JSON type. Only what the fake's routes need.
_Schema = tuple[dict[str, str], dict[str, str], bool]  # (required, optional, additional properties allowed)
_MESSAGE_SCHEMA: _Schema = (
    {"token": "string", "rid": "string", "msg": "string"},
    {"_id": "string", "agent": "object"},
    False,
)
_AGENT_SCHEMA: _Schema = ({"agentId": "string", "username": "string"}, {}, False)
_VISITOR_SCHEMA: _Schema = ({"visitor": "object"}, {}, True)
_VISITOR_FIELDS: _Schema = (
    {"token": "string"},
    {
        "name": "string",
        "email": "string",
        "department": "string",
        "phone": "string",
        "username": "string",
        "id": "string",
        "connectionData": "object",
        "customFields": "array",
    },
    True,
)
_TOKEN_RID_SCHEMA: _Schema = ({"token": "string", "rid": "string"}, {}, True)
_OFFLINE_SCHEMA: _Schema = (
    {"name": "string", "email": "string", "message": "string"},
    {"department": "string", "host": "string"},
    False,
)
_TRANSFER_SCHEMA: _Schema = ({"token": "string", "rid": "string", "department": "string"}, {}, False)
_HISTORY_KEYS = frozenset({"token", "ls", "end", "limit", "count", "offset", "sort", "searchText"})
_ROOM_KEYS = frozenset({"token", "rid", "agentId"})


def random_id() -> str:
    """A 17-character id like Meteor's ``Random.id()``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_date(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Error bodies, in the shapes of reference §2.1 ---------------------------------------------------


def thrown(error: str, status: int = 400) -> Answer:
    """``throw new Error('x')`` / ``API.v1.failure('x')``."""
    return Answer(status, {"success": False, "error": error})


def meteor_error(error_type: str, reason: str | None = None) -> Answer:
    """``throw new Meteor.Error('x', reason?)``."""
    error = f"{reason} [{error_type}]" if reason else f"[{error_type}]"
    return Answer(400, {"success": False, "error": error, "errorType": error_type})


def invalid_params(errors: list[str]) -> Answer:
    """Legacy ``validateParams`` (Ajv, all errors joined, code suffix)."""
    return Answer(
        400, {"success": False, "error": "\n ".join(errors) + " [invalid-params]", "errorType": "invalid-params"}
    )


def typed_invalid_params(errors: list[str]) -> Answer:
    """A typed route's body schema failure: no code suffix."""
    return Answer(400, {"success": False, "errorType": "invalid-params", "error": "\n ".join(errors)})


def match_error(text: str) -> Answer:
    """``check()`` / Match."""
    return Answer(400, {"success": False, "error": f"Match error: {text}"})


def schema_errors(value: Any, schema: _Schema) -> list[str]:
    """Ajv's messages for ``value`` against ``schema`` (allErrors, coerceTypes)."""
    required, optional, additional = schema
    if not isinstance(value, dict):
        return ["must be object"]
    errors = [f"must have required property '{name}'" for name in required if name not in value]
    known = {**required, **optional}
    if not additional and any(name not in known for name in value):
        errors.append("must NOT have additional properties")
    for name, kind in known.items():
        if name in value and not _has_type(value[name], kind):
            errors.append(f"must be {kind}")
    return errors


def _has_type(value: Any, kind: str) -> bool:
    if kind == "string":
        # coerceTypes: a number or a boolean passes as a string.
        return isinstance(value, str | int | float)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True


def _text(value: Any) -> str:
    """A coerced string field (``1`` -> ``"1"``, ``True`` -> ``"true"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


class FakeRocketChat(FakeServer):
    """A Rocket.Chat server's visitor-side Livechat API on 127.0.0.1.

    Settings a test can change at any time: ``agents_online``,
    ``accept_without_agents`` (``Livechat_accept_chats_with_no_agents``),
    ``visitors_can_close`` (``Omnichannel_allow_visitors_to_close_conversation``),
    ``departments`` (ids/names that exist; None: every one does),
    ``rate_limits`` and ``rate_limit_rules``, ``webhook_visitor_messages``
    (also POST the visitor's own messages to the webhook, as
    ``Livechat_webhook_on_visitor_message`` does).

    ``version`` is the server's major version: 7 (default) has both
    transfer routes, 8 and later only ``visitor/department.transfer``,
    6 and earlier only ``room.transfer``.
    """

    def __init__(
        self,
        *,
        agents_online: bool = True,
        accept_without_agents: bool = False,
        departments: Iterable[str] | None = None,
        rate_limits: bool = False,
        version: int = 7,
    ) -> None:
        super().__init__()
        self.agents_online = agents_online
        self.accept_without_agents = accept_without_agents
        self.departments: set[str] | None = set(departments) if departments is not None else None
        self.rate_limits = rate_limits
        self.rate_limit_rules: dict[str, tuple[int, float]] = dict(RATE_LIMITS)
        self.visitors_can_close = True
        self.webhook_visitor_messages = False
        self.version = version
        self.webhook_url: str | None = None
        self.webhook_token: str | None = None
        #: (event type, HTTP status) of every webhook POST, in order; 0 when unreachable.
        self.webhooks_sent: list[tuple[str, int]] = []
        self.offline_messages: list[dict[str, Any]] = []
        self._visitors: dict[str, dict[str, Any]] = {}  # by _id
        self._rooms: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, dict[str, Any]] = {}  # by _id, in insertion order: the unique index
        self._agents: dict[str, dict[str, str]] = {DEFAULT_AGENT["_id"]: dict(DEFAULT_AGENT)}
        self._guest_number = 0
        self._last_ts = datetime.now(UTC)
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._register_routes()

    def _register_routes(self) -> None:
        self.route("POST", rf"{API}/visitor", self._limited("visitor", self._register_visitor))
        self.route("GET", rf"{API}/visitor/(?P<token>[^/]+)", self._get_visitor)
        self.route("GET", rf"{API}/room", self._limited("room", self._get_room))
        self.route("POST", rf"{API}/message", self._send_message)
        self.route("GET", rf"{API}/message/(?P<id>[^/]+)", self._get_message)
        self.route("GET", rf"{API}/messages\.history/(?P<rid>[^/]+)", self._history)
        self.route("POST", rf"{API}/offline\.message", self._limited("offline", self._offline_message))
        self.route("POST", rf"{API}/room\.close", self._close_room)
        if self.version >= 7:
            self.route("POST", rf"{API}/visitor/department\.transfer", self._department_transfer)
        if self.version < 8:
            self.route("POST", rf"{API}/room\.transfer", self._room_transfer)

    # Controls and read helpers ----------------------------------------------------------------

    def start(self) -> FakeRocketChat:
        """Listen on 127.0.0.1 (the same port again after :meth:`down`)."""
        super().start()
        return self

    def set_webhook(self, url: str | None, token: str | None = None) -> None:
        """``Livechat_webhookUrl`` and ``Livechat_secret_token`` (sent as ``X-RocketChat-Livechat-Token``)."""
        self.webhook_url = url
        self.webhook_token = token

    @property
    def visitors(self) -> dict[str, dict[str, Any]]:
        """The visitors, by token (copies)."""
        with self.lock:
            return {v["token"]: copy.deepcopy(v) for v in self._visitors.values()}

    @property
    def rooms(self) -> dict[str, dict[str, Any]]:
        """The rooms, by ``_id`` (copies)."""
        with self.lock:
            return copy.deepcopy(self._rooms)

    def messages(self, rid: str, *, system: bool = False) -> list[dict[str, Any]]:
        """The room's messages, oldest first (copies); system messages (``t``) only when ``system``."""
        with self.lock:
            return [copy.deepcopy(m) for m in self._messages.values() if m["rid"] == rid and (system or "t" not in m)]

    def take(self, rid: str, agent: Mapping[str, str] | None = None) -> int:
        """An agent takes the room: ``servedBy`` is set and ``LivechatSessionTaken`` is POSTed.
        Returns the webhook's HTTP status (0: unreachable or no webhook)."""
        with self.lock:
            room = self._open_room(rid)
            served = self._agent(agent)
            room["servedBy"] = {"_id": served["_id"], "username": served["username"], "ts": _iso(self._now())}
            room["waitingResponse"] = True
            self._insert_system(room, "uj", served["username"], served)
            payload = self._payload("LivechatSessionTaken", room, messages=None)
        return self._deliver(payload)

    def agent_says(self, rid: str, text: str, agent: Mapping[str, str] | None = None) -> int:
        """The room's agent (or ``agent``, or the default one) writes ``text``; the ``Message``
        webhook is POSTed. Returns the webhook's HTTP status (0: unreachable or no webhook)."""
        with self.lock:
            room = self._open_room(rid)
            served = room.get("servedBy")
            author = self._agent(agent if agent is not None else (self._agents.get(served["_id"]) if served else None))
            message = self._insert(room, {"msg": text, "u": dict(author)})
            payload = self._payload("Message", room, messages=[message])
        return self._deliver(payload)

    def close_by_agent(self, rid: str, agent: Mapping[str, str] | None = None, comment: str = "") -> int:
        """An agent closes the room; ``LivechatSession`` is POSTed with ``closedAt``/``closedBy``/``closer``.
        Returns the webhook's HTTP status (0: unreachable or no webhook)."""
        with self.lock:
            room = self._open_room(rid)
            served = room.get("servedBy")
            closer = self._agent(agent if agent is not None else (self._agents.get(served["_id"]) if served else None))
            self._close(room, "user", closer, comment)
            payload = self._close_payload(room)
        return self._deliver(payload)

    # Routes: visitors -------------------------------------------------------------------------

    def _register_visitor(self, request: Request, _found: re.Match[str]) -> Answer:
        body = self._body(request)
        errors = schema_errors(body, _VISITOR_SCHEMA) or schema_errors(body["visitor"], _VISITOR_FIELDS)
        if errors:
            return invalid_params(errors)
        fields = body["visitor"]
        token = _text(fields["token"]).strip()
        if not token:
            return thrown("error-invalid-token")
        email = _text(fields["email"]).strip().lower() if fields.get("email") else None
        phone = _text(fields["phone"]) if fields.get("phone") else None
        by_token = self._visitor_by_token(token)
        update: dict[str, Any] = {"status": "online"}
        if fields.get("name"):
            update["name"] = _text(fields["name"])
        if phone:
            update["phone"] = [{"phoneNumber": phone}]
        if email:
            update["visitorEmails"] = [{"address": email}]
        department = _text(fields["department"]) if fields.get("department") else None
        if department and (by_token is None or by_token.get("department") != department):
            if not self._department_exists(department):
                return thrown("error-invalid-department")
            update["department"] = department
        # The real upsert: token first, then phone (keeps ITS token), then email (takes the new token).
        visitor = by_token
        update["token"] = token
        if visitor is None and phone and (visitor := self._visitor_by_phone(phone)) is not None:
            update["token"] = visitor["token"]
        elif visitor is None and email:
            visitor = self._visitor_by_email(email)
        if visitor is None:
            self._guest_number += 1
            visitor = {
                "_id": _text(fields["id"]) if fields.get("id") else random_id(),
                "username": _text(fields["username"]) if fields.get("username") else f"guest-{self._guest_number}",
                "ts": _iso(self._now()),
            }
            self._visitors[visitor["_id"]] = visitor
        visitor.update(update)
        visitor["_updatedAt"] = _iso(self._now())
        return Answer(200, {"visitor": copy.deepcopy(visitor), "success": True})

    def _get_visitor(self, _request: Request, found: re.Match[str]) -> Answer:
        visitor = self._visitor_by_token(found["token"])
        if visitor is None:
            return meteor_error("invalid-token")
        return Answer(200, {"visitor": copy.deepcopy(visitor), "success": True})

    # Routes: rooms ----------------------------------------------------------------------------

    def _get_room(self, request: Request, _found: re.Match[str]) -> Answer:
        query = request.query
        if "token" not in query:
            return match_error("Missing key 'token'")
        unknown = sorted(set(query) - _ROOM_KEYS)
        if unknown:
            return match_error(f"Unknown key in field {unknown[0]}")
        visitor = self._visitor_by_token(query["token"])
        if visitor is None:
            return thrown("invalid-token")
        rid = query.get("rid")
        if rid:
            room = self._rooms.get(rid)
            if room is None or not room["open"] or room["v"]["token"] != visitor["token"]:
                return thrown("invalid-room")
            return Answer(200, {"room": copy.deepcopy(room), "newRoom": False, "success": True})
        for room in self._rooms.values():
            if room["open"] and room["v"]["token"] == visitor["token"]:
                return Answer(200, {"room": copy.deepcopy(room), "newRoom": False, "success": True})
        if not self.agents_online and not self.accept_without_agents:
            return meteor_error("no-agent-online", "Sorry, no online agents")
        room = self._create_room(visitor)
        return Answer(200, {"room": copy.deepcopy(room), "newRoom": True, "success": True})

    def _create_room(self, visitor: dict[str, Any]) -> dict[str, Any]:
        now = _iso(self._now())
        room: dict[str, Any] = {
            "_id": random_id(),
            "t": "l",
            "fname": visitor.get("name") or visitor["username"],
            "open": True,
            "v": {
                "_id": visitor["_id"],
                "username": visitor["username"],
                "token": visitor["token"],
                "status": visitor.get("status", "online"),
            },
            "source": {"type": "api"},
            "ts": now,
            "msgs": 0,
            "_updatedAt": now,
        }
        if visitor.get("department"):
            room["departmentId"] = visitor["department"]
        self._rooms[room["_id"]] = room
        self._insert_system(room, "livechat-started", "", self._visitor_user(visitor))
        return room

    def _close_room(self, request: Request, _found: re.Match[str]) -> Answer:
        body = self._body(request)
        errors = schema_errors(body, _TOKEN_RID_SCHEMA)
        if errors:
            return invalid_params(errors)
        if not self.visitors_can_close:
            return thrown("error-not-allowed-to-close-conversation")
        owned = self._room_for(_text(body["token"]), _text(body["rid"]), closed="room-closed")
        if isinstance(owned, Answer):
            return owned
        visitor, room = owned
        self._close(room, "visitor", self._visitor_user(visitor), "Closed by visitor")
        self._deliver_later(self._close_payload(room))
        return Answer(200, {"rid": room["_id"], "comment": "Closed by visitor", "success": True})

    def _department_transfer(self, request: Request, _found: re.Match[str]) -> Answer:
        body = self._body(request)
        errors = schema_errors(body, _TRANSFER_SCHEMA)
        if errors:
            return typed_invalid_params(errors)
        visitor = self._visitor_by_token(_text(body["token"]))
        if visitor is None:
            return thrown("invalid-token")
        # The real route looks the room up by id alone (not by the visitor's token).
        room = self._rooms.get(_text(body["rid"]))
        if room is None:
            return thrown("error-invalid-room")
        if not room["open"]:
            return thrown("This_conversation_is_already_closed")
        if not self._transfer(room, visitor, _text(body["department"])):
            return thrown("error-transfering-chat")
        return Answer(200, {"success": True})

    def _room_transfer(self, request: Request, _found: re.Match[str]) -> Answer:
        body = self._body(request)
        for name in ("rid", "token", "department"):
            if name not in body:
                return match_error(f"Missing key '{name}'")
        owned = self._room_for(_text(body["token"]), _text(body["rid"]), closed="invalid-room")
        if isinstance(owned, Answer):
            return owned
        visitor, room = owned
        if not self._transfer(room, visitor, _text(body["department"])):
            return Answer(400, {"success": False})
        return Answer(200, {"room": copy.deepcopy(room), "success": True})

    def _transfer(self, room: dict[str, Any], visitor: dict[str, Any], department: str) -> bool:
        if not self._department_exists(department):
            return False
        room["departmentId"] = department
        # Forwarded to a department, the chat goes back to its queue until one of its agents takes it.
        room.pop("servedBy", None)
        visitor["department"] = department
        self._insert_system(room, "livechat_transfer_history", "", self._visitor_user(visitor))
        return True

    # Routes: messages -------------------------------------------------------------------------

    def _send_message(self, request: Request, _found: re.Match[str]) -> Answer:
        body = self._body(request)
        errors = schema_errors(body, _MESSAGE_SCHEMA)
        if not errors and "agent" in body:
            errors = schema_errors(body["agent"], _AGENT_SCHEMA)
        if errors:
            return invalid_params(errors)
        owned = self._room_for(_text(body["token"]), _text(body["rid"]), closed="room-closed")
        if isinstance(owned, Answer):
            return owned
        visitor, room = owned
        text = _text(body["msg"])
        if len(text) > MAX_MESSAGE_LENGTH:
            return thrown("message-length-exceeds-character-limit")
        message_id = _text(body["_id"]) if body.get("_id") else random_id()
        if message_id in self._messages:
            # What MongoDB's unique _id index answers, passed through by the API's error handler.
            return thrown(
                "E11000 duplicate key error collection: meteor.rocketchat_message index: _id_ "
                f'dup key: {{ _id: "{message_id}" }}'
            )
        message = self._insert(
            room,
            {
                "_id": message_id,
                "msg": text,
                "token": visitor["token"],
                "alias": visitor.get("name") or visitor["username"],
                "u": self._visitor_user(visitor),
            },
        )
        if self.webhook_visitor_messages:
            self._deliver_later(self._payload("Message", room, messages=[message]))
        return Answer(200, {"message": copy.deepcopy(message), "success": True})

    def _get_message(self, request: Request, found: re.Match[str]) -> Answer:
        errors = schema_errors(request.query, _TOKEN_RID_SCHEMA)
        if errors:
            return invalid_params(errors)
        owned = self._room_for(request.query["token"], request.query["rid"])
        if isinstance(owned, Answer):
            return owned
        _visitor, room = owned
        message = self._messages.get(found["id"])
        if message is None or message["rid"] != room["_id"]:
            return thrown("invalid-message")
        return Answer(200, {"message": copy.deepcopy(message), "success": True})

    def _history(self, request: Request, found: re.Match[str]) -> Answer:
        query = request.query
        unknown = sorted(set(query) - _HISTORY_KEYS)
        if unknown:
            return invalid_params(["must NOT have additional properties"])
        token = query.get("token")
        if not token:
            return thrown("error-token-param-not-provided")
        owned = self._room_for(token, found["rid"])
        if isinstance(owned, Answer):
            return owned
        _visitor, room = owned
        older = _parse_date(query["ls"]) if query.get("ls") else None
        newer = _parse_date(query["end"]) if query.get("end") else None
        try:
            limit = int(query.get("limit") or 20)
            offset = int(query.get("offset") or 0)
        except ValueError:
            return invalid_params(["must be number"])
        search = (query.get("searchText") or "").lower()
        chosen = []
        for message in reversed(list(self._messages.values())):
            if message["rid"] != room["_id"]:
                continue
            moment = _parse_date(message["ts"])
            if older is not None and moment is not None and moment >= older:
                continue
            if newer is not None and moment is not None and moment <= newer:
                continue
            if search and search not in message.get("msg", "").lower():
                continue
            chosen.append(copy.deepcopy(message))
        return Answer(200, {"messages": chosen[offset : offset + limit], "success": True})

    def _offline_message(self, request: Request, _found: re.Match[str]) -> Answer:
        body = self._body(request)
        errors = schema_errors(body, _OFFLINE_SCHEMA)
        if errors:
            return typed_invalid_params(errors)
        email = _text(body["email"]).strip()
        department = _text(body["department"]) if body.get("department") else None
        if not _EMAIL.match(email) or (department and not self._department_exists(department)):
            return thrown("Error sending livechat offline message")
        sent = {"name": _text(body["name"]), "email": email, "message": _text(body["message"])}
        if department:
            sent["department"] = department
        self.offline_messages.append(sent)
        self._deliver_later(
            {
                "type": "LivechatOfflineMessage",
                "sentAt": _iso(self._now()),
                "visitor": {"name": sent["name"], "email": email},
                "message": sent["message"],
            }
        )
        return Answer(200, {"message": "Livechat offline message sent", "success": True})

    # Rate limits --------------------------------------------------------------------------------

    def _limited(self, rule: str, handler: Callable[[Request, re.Match[str]], Answer]) -> Callable[..., Answer]:
        """``handler`` behind the rule's per-IP limit, with the ``X-RateLimit-*`` headers."""

        def limited(request: Request, found: re.Match[str]) -> Answer:
            if not self.rate_limits:
                return handler(request, found)
            allowed, seconds = self.rate_limit_rules[rule]
            # Behind a proxy the real server counts X-Forwarded-For's client; here every client is 127.0.0.1.
            ip = (request.headers.get("x-forwarded-for") or "127.0.0.1").split(",")[0].strip()
            now = time.time()
            start, count = self._windows.get((rule, ip), (now, 0))
            if now - start >= seconds:
                start, count = now, 0
            count += 1
            self._windows[(rule, ip)] = (start, count)
            reset = start + seconds
            headers = {
                "X-RateLimit-Limit": str(allowed),
                "X-RateLimit-Remaining": str(max(allowed - count, 0)),
                "X-RateLimit-Reset": str(int(reset * 1000)),
            }
            if count > allowed:
                wait = math.ceil(reset - now)
                error = (
                    f"Error, too many requests. Please slow down. You must wait {wait} seconds before "
                    "trying this endpoint again. [error-too-many-requests]"
                )
                return Answer(429, {"success": False, "error": error}, headers)
            answer = handler(request, found)
            answer.headers.update(headers)
            return answer

        return limited

    # Webhooks -----------------------------------------------------------------------------------

    def _payload(self, kind: str, room: dict[str, Any], *, messages: list[dict[str, Any]] | None) -> dict[str, Any]:
        """``sendToCRM``'s body: ``getLivechatRoomGuestInfo`` plus the type and the messages."""
        visitor = self._visitors.get(room["v"]["_id"], {})
        guest: dict[str, Any] = {
            "_id": visitor.get("_id"),
            "token": visitor.get("token"),
            "name": visitor.get("name"),
            "username": visitor.get("username"),
            "department": visitor.get("department"),
            "ip": visitor.get("ip"),
            "os": None,
            "browser": None,
            "customFields": visitor.get("livechatData", {}),
        }
        if visitor.get("visitorEmails"):
            guest["email"] = copy.deepcopy(visitor["visitorEmails"])
        if visitor.get("phone"):
            guest["phone"] = copy.deepcopy(visitor["phone"])
        payload: dict[str, Any] = {
            "type": kind,
            "_id": room["_id"],
            "label": room["fname"],
            "topic": room.get("topic"),
            "createdAt": room["ts"],
            "lastMessageAt": room.get("lm"),
            "tags": room.get("tags"),
            "customFields": room.get("livechatData", {}),
            "visitor": guest,
        }
        served = room.get("servedBy")
        if served:
            agent = self._agents.get(served["_id"], {"_id": served["_id"], "username": served["username"]})
            payload["agent"] = {"_id": agent["_id"], "username": agent["username"], "name": agent.get("name")}
            payload["servedBy"] = copy.deepcopy(served)
        if room.get("departmentId"):
            payload["departmentId"] = room["departmentId"]
        if messages is not None:
            payload["messages"] = [self._crm_message(m, visitor.get("username")) for m in messages]
        return payload

    def _close_payload(self, room: dict[str, Any]) -> dict[str, Any]:
        every = [m for m in self._messages.values() if m["rid"] == room["_id"]]
        payload = self._payload("LivechatSession", room, messages=every)
        payload.update({"closedAt": room["closedAt"], "closedBy": room["closedBy"], "closer": room["closer"]})
        return payload

    @staticmethod
    def _crm_message(message: dict[str, Any], visitor_username: str | None) -> dict[str, Any]:
        out = {
            "_id": message["_id"],
            "username": message["u"]["username"],
            "msg": message.get("msg", ""),
            "ts": message["ts"],
            "rid": message["rid"],
            "_updatedAt": message["_updatedAt"],
            "u": copy.deepcopy(message["u"]),
        }
        if "t" in message:
            out["t"] = message["t"]
        if message["u"]["username"] != visitor_username:
            out["agentId"] = message["u"]["_id"]
        return out

    def _deliver(self, payload: dict[str, Any]) -> int:
        """POST the webhook now (outside the lock: the receiver may call this server back)."""
        url = self.webhook_url
        if not url:
            return 0
        headers = {"X-RocketChat-Livechat-Token": self.webhook_token} if self.webhook_token else {}
        status = post_webhook(url, payload, headers, timeout=5.0)
        with self.lock:
            self.webhooks_sent.append((payload["type"], status))
        return status

    def _deliver_later(self, payload: dict[str, Any]) -> None:
        """POST the webhook from a thread, as the real server does after answering the request."""
        if self.webhook_url:
            threading.Thread(target=self._deliver, args=(payload,), daemon=True).start()

    # Storage ------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        """Now, strictly after the previous timestamp, so history cursors (``ls``) are exact."""
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # Mongo dates hold milliseconds
        self._last_ts = max(now, self._last_ts + timedelta(milliseconds=1))
        return self._last_ts

    def _insert(self, room: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        now = _iso(self._now())
        message = {"_id": random_id(), "rid": room["_id"], "ts": now, "_updatedAt": now, **fields}
        self._messages[message["_id"]] = message
        room["msgs"] = room.get("msgs", 0) + 1
        room["lm"] = now
        room["_updatedAt"] = now
        return message

    def _insert_system(self, room: dict[str, Any], kind: str, text: str, user: dict[str, str]) -> None:
        now = _iso(self._now())
        message = {"_id": random_id(), "rid": room["_id"], "t": kind, "msg": text, "groupable": False}
        message.update({"ts": now, "_updatedAt": now, "u": dict(user)})
        self._messages[message["_id"]] = message

    def _close(self, room: dict[str, Any], closer: str, by: dict[str, str], comment: str) -> None:
        now = _iso(self._now())
        room.update(
            {
                "open": False,
                "closedAt": now,
                "closer": closer,
                "closedBy": {"_id": by["_id"], "username": by["username"]},
                "_updatedAt": now,
            }
        )
        self._insert_system(room, "livechat-close", comment, by)

    def _body(self, request: Request) -> Any:
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return request.form()
        body = request.json()
        return body if body is not None else {}

    def _visitor_by_token(self, token: str) -> dict[str, Any] | None:
        return next((v for v in self._visitors.values() if v["token"] == token), None)

    def _visitor_by_phone(self, phone: str) -> dict[str, Any] | None:
        return next(
            (v for v in self._visitors.values() if any(p["phoneNumber"] == phone for p in v.get("phone", []))), None
        )

    def _visitor_by_email(self, email: str) -> dict[str, Any] | None:
        return next(
            (v for v in self._visitors.values() if any(e["address"] == email for e in v.get("visitorEmails", []))),
            None,
        )

    def _room_for(
        self, token: str, rid: str, *, closed: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]] | Answer:
        """The visitor with ``token`` and their room ``rid``, or the error the
        server answers: ``invalid-token``, ``invalid-room``, and ``closed`` (the
        route's own error) for a closed room when given."""
        visitor = self._visitor_by_token(token)
        if visitor is None:
            return thrown("invalid-token")
        room = self._visitor_room(rid, visitor)
        if room is None:
            return thrown("invalid-room")
        if closed is not None and not room["open"]:
            return thrown(closed)
        return visitor, room

    def _visitor_room(self, rid: str, visitor: dict[str, Any]) -> dict[str, Any] | None:
        """``findRoom(token, rid)``: the room, open or closed, if it is this visitor's."""
        room = self._rooms.get(rid)
        return room if room is not None and room["v"]["token"] == visitor["token"] else None

    def _open_room(self, rid: str) -> dict[str, Any]:
        room = self._rooms.get(rid)
        if room is None or not room["open"]:
            raise ValueError(f"no open room {rid!r}")
        return room

    def _department_exists(self, department: str) -> bool:
        return self.departments is None or department in self.departments

    def _agent(self, agent: Mapping[str, str] | None) -> dict[str, str]:
        chosen = dict(agent) if agent is not None else dict(DEFAULT_AGENT)
        chosen.setdefault("_id", f"agent-{chosen.get('username', 'x')}")
        chosen.setdefault("username", chosen["_id"])
        chosen.setdefault("name", chosen["username"])
        self._agents[chosen["_id"]] = chosen
        return chosen

    @staticmethod
    def _visitor_user(visitor: dict[str, Any]) -> dict[str, str]:
        return {
            "_id": visitor["_id"],
            "username": visitor["username"],
            "name": visitor.get("name") or visitor["username"],
        }
