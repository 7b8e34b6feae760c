"""A fake Support Board server: the Web API at ``POST /include/api.php``.

It answers as a real 3.7.9/3.8 server does (reference ``livechat-apis.md``
§1 and §3, checked against the server's source): the gate checks in their
real order and statuses (or HTTP 200 for everything with
``legacy_status=True``), the three body envelopes, ``text/html`` answers,
optionally a PHP notice printed ahead of the JSON, and the quirks a client
trips on (``send-message`` to a missing conversation answers
``{"success":true,"response":true}``, ``get-user-by`` answers ``""``,
``update-conversation-status`` 5 empties the trash, ``agents-online`` is not
whitelisted...).

It also plays the agents' side for tests and demos: :meth:`add_agent`,
:meth:`agent_replies` and :meth:`close_by_agent` change the data and POST the
webhooks Support Board sends (once, no retry, the answer ignored).
:meth:`stall` and :meth:`break_function` target one API function with a fault
(the shared :class:`~noderuntime.testing.fakes.server.Fault` targets the one
path every call shares).
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import socket
import threading
import time
from typing import Any

from noderuntime.testing.fakes.server import Answer, FakeServer, Request, post_webhook

PATH = "/include/api.php"

#: The whitelist of api.php: function -> required arguments (only the functions the fake implements).
FUNCTIONS: dict[str, list[str]] = {
    "add-user": [],
    "get-user": ["user_id"],
    "get-user-by": ["by", "value"],
    "get-bot-id": [],
    "get-agents-ids": [],
    "get-online-users": [],
    "is-online": ["user_id"],
    "new-conversation": ["user_id"],
    "get-conversation": ["conversation_id"],
    "get-conversations": [],
    "get-user-conversations": ["user_id"],
    "get-new-messages": ["user_id", "conversation_id", "datetime"],
    "send-message": ["user_id", "conversation_id"],
    "update-conversation-status": ["conversation_id", "status_code"],
    "update-conversation-agent": ["conversation_id", "agent_id"],
    "update-conversation-department": ["conversation_id", "department"],
}

USER_TYPES = ("visitor", "user", "lead", "agent", "admin", "bot")
PROFILE_IMAGE = "https://example.com/media/user.svg"

#: What ``display_errors`` prints ahead of the JSON on a misconfigured PHP install.
PHP_NOTICE = (
    "<br />\n<b>Notice</b>:  Undefined index: HTTP_REFERER in "
    "<b>/var/www/html/supportboard/include/functions.php</b> on line <b>2411</b><br />\n"
)

_GATE_MESSAGES = {
    "missing-function-name": "Function name is required. Get it from the docs.",
    "token-not-found": "Admin token is required. Get it from Users > Your admin user profile box.",
    "invalid-token": "Use a token of an administrator.",
}


class _ValidationError(Exception):
    """``SBValidationError``: ``{"success":false,"response":code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _HardError(Exception):
    """``SBError`` and DB errors: ``{"status":"error","response":code,"message":...}``."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def _isset(post: dict[str, Any], name: str) -> bool:
    return name in post and post[name] is not None


def _text(value: Any) -> str:
    """A form value as PHP string-casts it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _flag(value: Any) -> bool:
    """``sb_post`` maps "true"/"false" to booleans."""
    return value is True or _text(value).lower() in ("true", "1")


def _numeric(value: Any) -> int | None:
    """``is_numeric`` for ids: an int, or None."""
    text = _text(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def _decoded(value: Any) -> Any:
    """Array arguments arrive as JSON strings and are ``json_decode``d only then."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _stored_json(value: Any) -> str:
    """How an array argument lands in a TEXT column."""
    if value is None or value == "":
        return ""
    return value if isinstance(value, str) else json.dumps(value)


class FakeSupportBoard(FakeServer):
    """Support Board's Web API on 127.0.0.1.

    ``admin_token`` is the admin's API token; ``legacy_status`` makes it answer
    HTTP 200 for everything, as servers before 3.7.9 do; ``php_notice`` prints
    a PHP notice before every JSON body. Users 1 (the admin) and 2 (the bot)
    exist from the start.
    """

    def __init__(
        self, admin_token: str = "admin-token", *, legacy_status: bool = False, php_notice: bool = False
    ) -> None:
        super().__init__()
        self.admin_token = admin_token
        self.legacy_status = legacy_status
        self.php_notice = php_notice
        self._users: dict[int, dict[str, Any]] = {}
        self._conversations: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[str, Any]] = {}
        self._next = {"user": 1, "conversation": 1, "message": 1}
        self.webhook_url: str | None = None
        self.webhook_key = ""
        self.webhook_allowed: set[str] | None = None
        #: (function, data, status) of every webhook POSTed; status 0 when unreachable.
        self.webhooks_sent: list[tuple[str, Any, int]] = []
        #: The notifications agents got (update-conversation-agent/-department with a ``message``).
        self.notifications: list[dict[str, Any]] = []
        self._local = threading.local()
        self._stalls: list[tuple[str, float]] = []
        self._breaks: list[tuple[str, Answer]] = []
        self.admin_id = self._add_user(first_name="Admin", user_type="admin", token=admin_token)
        self.bot_id = self._add_user(first_name="Bot", user_type="bot")
        self.route("POST", re.escape(PATH), self._api)

    # Controls for tests and demos ---------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The full URL of include/api.php."""
        return self.url + PATH

    def add_agent(self, name: str, *, online: bool = True, department: str | None = None) -> int:
        """A new agent (their id)."""
        with self.lock:
            return self._add_user(first_name=name, user_type="agent", online=online, department=department)

    def set_online(self, user_id: int, online: bool) -> None:
        """Mark a user (an agent) online or offline."""
        with self.lock:
            self._users[user_id]["online"] = online

    def set_webhook(self, url: str | None, key: str, allowed: list[str] | None = None) -> None:
        """Settings > Miscellaneous > Webhooks: ``webhooks-url``, ``webhooks-key``, ``webhooks-allowed``."""
        with self.lock:
            self.webhook_url = url
            self.webhook_key = key
            self.webhook_allowed = set(allowed) if allowed is not None else None

    def agent_replies(self, conversation_id: int | str, text: str, agent_id: int | None = None) -> int | None:
        """An agent answers in the admin area: the message is stored, the conversation goes to
        status 1 and the ``message-sent`` webhook is POSTed. Its HTTP status (0 when unreachable),
        or None when it was not sent (no URL, or not in ``webhooks-allowed``)."""
        with self.lock:
            self._local.pending = []
            conversation = self._conversations[int(conversation_id)]
            if agent_id is None:
                agents = [u["id"] for u in self._users.values() if u["user_type"] == "agent"]
                agent_id = agents[0] if agents else self.admin_id
            self._send(agent_id, conversation, text, status=None, attachments="", payload="")
            pending = self._local.pending
        return self._deliver(pending, "message-sent")

    def close_by_agent(self, conversation_id: int | str) -> int | None:
        """An agent archives the conversation (status 3): ``conversation-status-updated`` is POSTed.
        Its HTTP status (0 when unreachable), or None when it was not sent."""
        with self.lock:
            self._local.pending = []
            self._set_status(self._conversations[int(conversation_id)], 3, always_notify=True)
            pending = self._local.pending
        return self._deliver(pending, "conversation-status-updated")

    def stall(self, function: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``function`` do their work, then wait ``seconds`` before
        answering: a client with a shorter timeout gives up although the call took effect."""
        with self.lock:
            self._stalls.extend([(function, seconds)] * times)

    def break_function(self, function: str, body: Any, *, status: int = 200, times: int = 1) -> None:
        """The next ``times`` calls of ``function`` answer ``body`` (a value encoded as the server
        encodes JSON, or a raw string) without doing their work."""
        text = body if isinstance(body, str) else self._encode(body)
        with self.lock:
            self._breaks.extend([(function, Answer(status, text=text))] * times)

    def stop(self) -> None:
        """Stop listening, without waiting out ``serve_forever``'s half-second poll."""
        if self._server is not None:
            threading.Thread(target=self._wake, args=(self.port,), daemon=True).start()
        super().stop()

    @staticmethod
    def _wake(port: int) -> None:
        # A connection makes the server's select() return, so it sees the shutdown request now.
        time.sleep(0.01)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
        except OSError:
            pass  # closed already

    # Read helpers ---------------------------------------------------------------------------

    @property
    def users(self) -> list[dict[str, Any]]:
        """Every user (internal records: int ids, ``extra`` as slug -> [value, label])."""
        with self.lock:
            return copy.deepcopy(list(self._users.values()))

    @property
    def conversations(self) -> list[dict[str, Any]]:
        """Every conversation (internal records: int ids and status codes)."""
        with self.lock:
            return copy.deepcopy(list(self._conversations.values()))

    def messages(self, conversation_id: int | str) -> list[dict[str, Any]]:
        """The messages of a conversation, oldest first (``payload`` as stored: a JSON string or "")."""
        with self.lock:
            wanted = int(conversation_id)
            return copy.deepcopy([m for m in self._messages.values() if m["conversation_id"] == wanted])

    def calls(self, function: str | None = None) -> list[dict[str, Any]]:
        """The arguments of every API call received (of one function when given), in order."""
        posts = [self._post(request) for request in self.seen("POST", re.escape(PATH))]
        return [post for post in posts if function is None or post.get("function") == function]

    # HTTP -----------------------------------------------------------------------------------

    def _dispatch(self, request: Request) -> Answer:
        # The route runs under the lock; webhooks go out after it is released (the receiver may
        # call this server back), before the answer, as PHP sends them during the request.
        self._local.pending = []
        function = _text(self._post(request).get("function")) if request.path == PATH else ""
        broken = self._take(self._breaks, function)
        answer = broken if broken is not None else super()._dispatch(request)
        pending, self._local.pending = self._local.pending, []
        self._deliver(pending)
        stall = self._take(self._stalls, function)
        if stall:
            time.sleep(stall)
        return answer

    def _take(self, queue: list[tuple[str, Any]], function: str) -> Any:
        with self.lock:
            for index, (name, value) in enumerate(queue):
                if name == function:
                    del queue[index]
                    return value
        return None

    @staticmethod
    def _post(request: Request) -> dict[str, Any]:
        """``$_POST``: the form, with a JSON body merged in (2024+ servers)."""
        post: dict[str, Any] = {}
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            post.update(request.form())
        data = request.json()
        if isinstance(data, dict):
            post.update(data)
        return post

    def _api(self, request: Request, _match: re.Match[str]) -> Answer:
        post = self._post(request)
        function = _text(post.get("function"))
        if not function:
            return self._gate_error(400, "missing-function-name", function)
        if function not in FUNCTIONS:
            return self._gate_error(
                404, "function-not-found", function, f"Function {function} not found. Check the function name."
            )
        if not _text(post.get("token")):
            return self._gate_error(401, "token-not-found", function)
        user = next((u for u in self._users.values() if u["token"] == _text(post.get("token"))), None)
        if user is None or user["user_type"] != "admin":
            message = "Use an admin user token." if self.legacy_status else _GATE_MESSAGES["invalid-token"]
            return self._gate_error(401, "invalid-token", function, message)
        for name in FUNCTIONS[function]:
            if not _isset(post, name):
                return self._gate_error(400, "missing-argument", function, f"Missing argument: {name}")
        handler = getattr(self, "_fn_" + function.replace("-", "_"))
        try:
            return self._answer(200, {"success": True, "response": handler(post)})
        except _ValidationError as error:
            return self._answer(200, {"success": False, "response": error.code})
        except _HardError as error:
            return self._answer(200, self._hard(error.code, error.message))

    def _gate_error(self, status: int, code: str, function: str, message: str | None = None) -> Answer:
        message = message or _GATE_MESSAGES[code]
        if self.legacy_status and code == "missing-argument":
            message = f"Support Board [{function}][{code}]: {message}"
        return self._answer(200 if self.legacy_status else status, self._hard(code, message))

    @staticmethod
    def _hard(code: str, message: str) -> dict[str, Any]:
        body = {"status": "error", "response": code}
        if message:
            body["message"] = message
        return body

    def _answer(self, status: int, body: Any) -> Answer:
        return Answer(status, text=self._encode(body), headers={"Content-Type": "text/html; charset=UTF-8"})

    def _encode(self, body: Any) -> str:
        # PHP's json_encode escapes slashes; the notice is what display_errors prints first.
        text = json.dumps(body).replace("/", "\\/")
        return PHP_NOTICE + text if self.php_notice else text

    # Webhooks ---------------------------------------------------------------------------------

    def _webhook(self, function: str, data: Any) -> None:
        """Queue a webhook for after the lock is released (see :meth:`_dispatch`)."""
        if self.webhook_url and (self.webhook_allowed is None or function in self.webhook_allowed):
            payload = {"function": function, "key": self.webhook_key, "data": data, "sender-url": ""}
            self._local.pending.append((self.webhook_url, payload))

    def _deliver(self, pending: list[tuple[str, dict[str, Any]]], wanted: str = "") -> int | None:
        """POST each webhook once; the status the ``wanted`` one got (0 when unreachable), if sent."""
        got = None
        for url, payload in pending:
            status = post_webhook(url, payload, timeout=5.0)
            with self.lock:
                self.webhooks_sent.append((payload["function"], payload["data"], status))
            if payload["function"] == wanted and got is None:
                got = status
        return got

    # Storage ------------------------------------------------------------------------------------

    def _new_id(self, table: str) -> int:
        value = self._next[table]
        self._next[table] = value + 1
        return value

    def _add_user(
        self,
        *,
        first_name: str,
        user_type: str,
        last_name: str = "",
        email: str | None = None,
        extra: dict[str, list[str]] | None = None,
        token: str | None = None,
        online: bool = False,
        department: str | None = None,
    ) -> int:
        user_id = self._new_id("user")
        now = _now()
        self._users[user_id] = {
            "id": user_id,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "profile_image": PROFILE_IMAGE,
            "user_type": user_type,
            "creation_time": now,
            "last_activity": now,
            "department": department,
            "token": token or secrets.token_hex(20),
            "password": "",
            "extra": dict(extra or {}),
            "online": online,
        }
        return user_id

    def _user_row(self, user: dict[str, Any], *, password: bool = True) -> dict[str, Any]:
        """A ``sb_users`` row as MySQL gives it: strings."""
        row = {
            "id": str(user["id"]),
            "first_name": user["first_name"],
            "last_name": user["last_name"],
            "email": user["email"],
            "profile_image": user["profile_image"],
            "user_type": user["user_type"],
            "creation_time": user["creation_time"],
            "last_activity": user["last_activity"],
            "department": user["department"],
            "token": user["token"],
        }
        if password:
            row["password"] = user["password"]
        return row

    def _details(self, conversation: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(conversation["user_id"], {})
        return {
            "user_id": str(conversation["user_id"]),
            "first_name": user.get("first_name", ""),
            "last_name": user.get("last_name", ""),
            "profile_image": user.get("profile_image", ""),
            "user_type": user.get("user_type", ""),
            "id": str(conversation["id"]),
            "title": conversation["title"],
            "creation_time": conversation["creation_time"],
            "status_code": str(conversation["status_code"]),
            "department": conversation["department"],
            "agent_id": None if conversation["agent_id"] is None else str(conversation["agent_id"]),
            "source": conversation["source"],
            "extra": conversation["extra"],
            "extra_2": conversation["extra_2"],
            "extra_3": conversation["extra_3"],
            "tags": [],
            "busy": False,
        }

    def _message_row(self, message: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(message["user_id"], {})
        return {
            "id": str(message["id"]),
            "user_id": str(message["user_id"]),
            "message": message["message"],
            "creation_time": message["creation_time"],
            "status_code": str(message["status_code"]),
            "attachments": message["attachments"],
            "payload": message["payload"],
            "conversation_id": str(message["conversation_id"]),
            "first_name": user.get("first_name", ""),
            "last_name": user.get("last_name", ""),
            "profile_image": user.get("profile_image", ""),
            "user_type": user.get("user_type", ""),
        }

    def _conversation_object(self, conversation: dict[str, Any]) -> dict[str, Any]:
        messages = [m for m in self._messages.values() if m["conversation_id"] == conversation["id"]]
        return {"messages": [self._message_row(m) for m in messages], "details": self._details(conversation)}

    def _summary_rows(self, conversations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """SELECT_CONVERSATIONS: one row per conversation with its last message that has text or
        attachments; a conversation without such a message is not listed at all."""
        rows = []
        for conversation in conversations:
            shown = [
                m
                for m in self._messages.values()
                if m["conversation_id"] == conversation["id"] and (m["message"] or m["attachments"])
            ]
            if not shown:
                continue
            last = shown[-1]
            user = self._users.get(last["user_id"], {})
            rows.append(
                {
                    "message": last["message"],
                    "message_id": str(last["id"]),
                    "attachments": last["attachments"],
                    "payload": last["payload"],
                    "message_status_code": str(last["status_code"]),
                    "last_update_time": last["creation_time"],
                    "message_user_id": str(last["user_id"]),
                    "message_first_name": user.get("first_name", ""),
                    "message_last_name": user.get("last_name", ""),
                    "message_profile_image": user.get("profile_image", ""),
                    "message_user_type": user.get("user_type", ""),
                    "conversation_id": str(conversation["id"]),
                    "conversation_user_id": str(conversation["user_id"]),
                    "conversation_status_code": str(conversation["status_code"]),
                    "conversation_creation_time": conversation["creation_time"],
                    "department": conversation["department"],
                    "agent_id": None if conversation["agent_id"] is None else str(conversation["agent_id"]),
                    "title": conversation["title"],
                    "source": conversation["source"],
                    "extra": conversation["extra"],
                    "tags": None,
                    "_order": last["id"],
                }
            )
        rows.sort(key=lambda row: row["_order"], reverse=True)
        for row in rows:
            del row["_order"]
        return rows

    def _set_status(self, conversation: dict[str, Any], status: int, *, always_notify: bool = False) -> None:
        changed = conversation["status_code"] != status
        conversation["status_code"] = status
        if changed or always_notify:
            self._webhook(
                "conversation-status-updated", {"conversation_id": str(conversation["id"]), "status_code": str(status)}
            )

    def _event(self, conversation_id: int, event: str) -> None:
        """``sb_update_conversation_event``: an empty message from the active user (the admin)."""
        message_id = self._new_id("message")
        self._messages[message_id] = {
            "id": message_id,
            "user_id": self.admin_id,
            "message": "",
            "creation_time": _now(),
            "status_code": 0,
            "attachments": "",
            "payload": json.dumps({"event": event}),
            "conversation_id": conversation_id,
        }

    def _send(
        self,
        sender_id: int,
        conversation: dict[str, Any],
        text: str,
        *,
        status: int | str | None,
        attachments: str,
        payload: str,
    ) -> dict[str, Any]:
        sender = self._users[sender_id]
        text = re.sub(r"\n{3,}", "\n\n", text.replace("\r", "").replace("\t", ""))
        message_id = self._new_id("message")
        self._messages[message_id] = {
            "id": message_id,
            "user_id": sender_id,
            "message": text,
            "creation_time": _now(),
            "status_code": 0,
            "attachments": attachments,
            "payload": payload,
            "conversation_id": conversation["id"],
        }
        before = conversation["status_code"]
        if status != "skip":
            if status is None:
                status = 1 if sender["user_type"] in ("agent", "admin") else 2
            conversation["status_code"] = int(status)
        self._webhook(
            "message-sent",
            {
                "user_id": str(sender_id),
                "message_id": message_id,
                "message": text,
                "attachments": _decoded(attachments) or [],
                "conversation_user_id": str(conversation["user_id"]),
                "conversation_id": str(conversation["id"]),
                "conversation_status_code": str(conversation["status_code"]),
                "conversation_source": conversation["source"] or "",
            },
        )
        if conversation["status_code"] != before:
            self._webhook(
                "conversation-status-updated",
                {"conversation_id": str(conversation["id"]), "status_code": str(conversation["status_code"])},
            )
        return {"id": message_id, "text": text}

    # Functions ----------------------------------------------------------------------------------

    def _fn_add_user(self, post: dict[str, Any]) -> int:
        user_type = _text(post.get("user_type"))
        email = _text(post.get("email")).strip() or None
        if user_type and user_type not in USER_TYPES:
            raise _ValidationError("invalid-user-type")
        if email and any((u["email"] or "").lower() == email.lower() for u in self._users.values()):
            raise _ValidationError("duplicate-email")
        extra: dict[str, list[str]] = {}
        raw_extra = _decoded(post.get("extra"))
        if isinstance(raw_extra, dict):
            for slug, value in raw_extra.items():
                pair = value if isinstance(value, list) and value else [value, slug]
                extra[str(slug)] = [_text(pair[0]), _text(pair[1]) if len(pair) > 1 else str(slug)]
        phone = extra.get("phone", [""])[0]
        if phone and any(u["extra"].get("phone", [None])[0] == phone for u in self._users.values()):
            raise _ValidationError("duplicate-phone")
        first_name = _text(post.get("first_name"))
        last_name = _text(post.get("last_name"))
        if not first_name:
            first_name, last_name = "User", f"#{secrets.randbelow(90000) + 10000}"
        return self._add_user(
            first_name=first_name,
            last_name=last_name,
            email=email,
            user_type=user_type or ("user" if email else "visitor"),
            extra=extra,
            department=_text(post.get("department")) or None,
        )

    def _fn_get_user(self, post: dict[str, Any]) -> Any:
        user = self._users.get(_numeric(post["user_id"]) or 0)
        if user is None:
            return False
        row = self._user_row(user)
        if _flag(post.get("extra")):
            row["details"] = [{"slug": s, "name": v[1], "value": v[0]} for s, v in user["extra"].items()]
        return row

    def _fn_get_user_by(self, post: dict[str, Any]) -> Any:
        by, value = _text(post["by"]), _text(post["value"])
        if not value:
            return False
        if by in ("email", "first_name", "last_name"):  # MySQL's default collation ignores case
            found = [u for u in self._users.values() if (u[by] or "").lower() == value.lower()]
        else:
            wanted = {value}
            if by == "phone":
                if value.startswith("+"):
                    wanted.add("00" + value[1:])
                elif value.startswith("00"):
                    wanted.add("+" + value[2:])
            found = [u for u in self._users.values() if u["extra"].get(by, [None])[0] in wanted]
        return self._user_row(found[0], password=False) if found else ""

    def _fn_get_bot_id(self, post: dict[str, Any]) -> str:
        return str(self.bot_id)  # read from MySQL: a string

    def _fn_get_agents_ids(self, post: dict[str, Any]) -> list[int]:
        types = ("agent", "admin") if not _isset(post, "admins") or _flag(post["admins"]) else ("agent",)
        return [u["id"] for u in self._users.values() if u["user_type"] in types]

    def _fn_get_online_users(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        agents_only = _flag(post.get("agents"))
        return [
            self._user_row(u, password=False)
            for u in self._users.values()
            if u["online"] and (not agents_only or u["user_type"] in ("agent", "admin"))
        ]

    def _fn_is_online(self, post: dict[str, Any]) -> bool:
        user = self._users.get(_numeric(post["user_id"]) or 0)
        return bool(user and user["online"])

    def _fn_new_conversation(self, post: dict[str, Any]) -> dict[str, Any]:
        user_id = _numeric(post["user_id"])
        if user_id is None or user_id not in self._users:
            raise _ValidationError("user-not-found")
        status = _text(post.get("status_code"))
        department, agent_id = _numeric(post.get("department")), _numeric(post.get("agent_id"))
        conversation_id = self._new_id("conversation")
        conversation = {
            "id": conversation_id,
            "user_id": user_id,
            "title": _text(post.get("title")),
            "status_code": int(status) if status in ("0", "1", "2", "3", "4") else 2,
            "creation_time": _now(),
            "department": str(department) if department is not None and department >= 0 else None,
            "agent_id": agent_id if agent_id is not None and agent_id > 0 else None,
            "source": _text(post.get("source")) or None,
            "extra": _text(post.get("extra")) or None,
            "extra_2": _text(post.get("extra_2")) or None,
            "extra_3": _text(post.get("extra_3")) or None,
        }
        self._conversations[conversation_id] = conversation
        created = self._conversation_object(conversation)
        self._webhook("new-conversation-created", created)
        return created

    def _fn_get_conversation(self, post: dict[str, Any]) -> Any:
        conversation = self._conversations.get(_numeric(post["conversation_id"]) or 0)
        return self._conversation_object(conversation) if conversation else False

    def _fn_get_conversations(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        # The admin inbox: archived and trashed conversations only with status_code 3 or 4.
        wanted = _numeric(post.get("status_code"))
        chosen = [
            c
            for c in self._conversations.values()
            if (c["status_code"] == wanted if wanted is not None else c["status_code"] not in (3, 4))
        ]
        rows = self._summary_rows(chosen)
        rows.sort(key=lambda row: row["conversation_status_code"] != "2")
        return rows[:100]

    def _fn_get_user_conversations(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        user_id, excluded = _numeric(post["user_id"]), _numeric(post.get("exclude_id"))
        return self._summary_rows(
            [c for c in self._conversations.values() if c["user_id"] == user_id and c["id"] != excluded]
        )

    def _fn_get_new_messages(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        user_id, conversation_id = _numeric(post["user_id"]), _numeric(post["conversation_id"])
        if user_id is None or conversation_id is None:
            raise _HardError("db-error", "You have an error in your SQL syntax")
        conversation = self._conversations.get(conversation_id)
        if conversation is None or conversation["user_id"] != user_id:
            return []
        since, last_id = _text(post["datetime"]), _numeric(post.get("last_id"))
        return [
            self._message_row(m)
            for m in self._messages.values()
            if m["conversation_id"] == conversation_id
            and m["creation_time"] > since
            and (last_id is None or m["id"] > last_id)
        ]

    def _fn_send_message(self, post: dict[str, Any]) -> Any:
        sender_id = _numeric(post["user_id"])
        if sender_id is None:
            raise _HardError("active-user-not-found")
        if sender_id in (0, -1):
            sender_id = self.admin_id  # the active user: the token's admin
        conversation = self._conversations.get(_numeric(post["conversation_id"]) or 0)
        if conversation is None:
            return True  # `return trigger_error(...)`: PHP's trigger_error returns true
        if sender_id not in self._users:
            raise _HardError("db-error", "Cannot add or update a child row: a foreign key constraint fails")
        code = _text(post.get("conversation_status_code"))
        status: int | str | None = code if code in ("skip", "0", "1", "2", "3", "4") else None
        sent = self._send(
            sender_id,
            conversation,
            _text(post.get("message")),
            status=status,
            attachments=_stored_json(post.get("attachments")),
            payload=_stored_json(post.get("payload")),
        )
        return {
            "id": sent["id"],
            "queue": False,
            "human_takeover_active": False,
            "notifications": [],
            "message": sent["text"],
        }

    def _fn_update_conversation_status(self, post: dict[str, Any]) -> bool:
        code = _text(post["status_code"])
        if code not in ("0", "1", "2", "3", "4", "5"):
            raise _ValidationError("invalid-status-code")
        conversation_id = _numeric(post["conversation_id"])
        if conversation_id is None:
            return False
        status = int(code)
        if status == 5:  # an admin token empties the trash
            for trashed in [c["id"] for c in self._conversations.values() if c["status_code"] == 4]:
                del self._conversations[trashed]
                for message_id in [m["id"] for m in self._messages.values() if m["conversation_id"] == trashed]:
                    del self._messages[message_id]
            self._webhook("conversation-status-updated", {"conversation_id": str(conversation_id), "status_code": "5"})
            return True
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            self._webhook("conversation-status-updated", {"conversation_id": str(conversation_id), "status_code": code})
        else:
            self._set_status(conversation, status, always_notify=True)
        return True

    def _fn_update_conversation_agent(self, post: dict[str, Any]) -> bool:
        raw = _text(post["agent_id"])
        conversation = self._conversations.get(_numeric(post["conversation_id"]) or 0)
        agent_id = None
        if raw not in ("", "0"):  # PHP's empty(): "false" is not empty, and is not an agent either
            agent_id = _numeric(raw)
            agent = self._users.get(agent_id if agent_id is not None else 0)
            if agent is None or agent["user_type"] not in ("agent", "admin"):
                raise _HardError("not-an-agent")
        if conversation is None:
            return True  # an UPDATE that matches no row still succeeds
        conversation["agent_id"] = agent_id
        if _text(post.get("message")) and agent_id is not None:
            self.notifications.append(
                {"to": agent_id, "message": _text(post["message"]), "conversation_id": conversation["id"]}
            )
        if agent_id is not None:
            self._event(conversation["id"], f"conversation-agent-update-{agent_id}")
        self._set_status(conversation, 2)
        return True

    def _fn_update_conversation_department(self, post: dict[str, Any]) -> bool:
        department = _text(post["department"])
        conversation = self._conversations.get(_numeric(post["conversation_id"]) or 0)
        if conversation is None:
            return True
        empty = department in ("", "0", "-1", "false")
        conversation["department"] = None if empty else department
        if _text(post.get("message")):
            to = "agents" if empty else f"department-{department}"
            self.notifications.append(
                {"to": to, "message": _text(post["message"]), "conversation_id": conversation["id"]}
            )
        self._event(conversation["id"], f"conversation-department-update-{department}")
        return True
