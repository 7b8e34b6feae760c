"""The Support Board outlet: agents answer in Support Board's admin area.

Every call is a form ``POST`` of ``token`` (an admin's), ``function`` and the
arguments to the channel's ``info.apiUrl`` (the full URL of
``include/api.php``). Answers are judged by their body, never by the HTTP
status or the content type alone (reference ``livechat-apis.md`` §3):
``{"success":true,"response":X}`` is success, ``{"success":false,...}`` a
validation failure, ``{"status":"error",...}`` a hard error, whether they come
with HTTP 200 (older servers, and errors raised inside a function) or 4xx,
with or without a PHP notice printed ahead.

The hand-off (§3.4): the member becomes a Support Board user marked with the
``noderuntime-member`` detail (found again on a retry), the conversation is
created in status 1 so agents are not alerted while the summary and history
go in as the bot (``conversation_status_code=skip``), then it goes to the
department and/or agent of the target (or ``info``) and ends in status 2,
"waiting for an agent". Status 5 (empty the trash) is never sent.

What the outlet keeps in ``outletState``: ``userId``, ``botId``,
``conversationId`` (a string), ``conversationAfter`` (the highest conversation
id listed before ``new-conversation``: a retry finds the conversation a timed
out call created among the ids above it, by the ``extra`` that holds the
open's key), ``handedOff`` and ``pendingLine`` (the line being sent: its retry
checks the conversation for the line's payload key first).

Inbound, Support Board POSTs its webhooks as JSON with the settings' key in
the body: an agent's ``message-sent`` becomes a message, a
``conversation-status-updated`` to 3 (archived) or 4 (trash) closes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

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
    describe,
    retry_after,
    secret_matches,
    webhook_json,
)

#: The user detail that marks the Support Board user standing for a member.
MEMBER_SLUG = "noderuntime-member"
#: Status codes: 1 waiting for the user (agents are not alerted), 2 waiting for an agent, 3 archived.
WAITING_FOR_USER, WAITING_FOR_AGENT, ARCHIVED = 1, 2, 3
#: How long the agents' ids are trusted, and the least age before a miss refreshes them.
AGENTS_TTL, AGENTS_MIN_AGE = 60.0, 5.0
#: How many conversation ids above ``conversationAfter`` a retry looks at, and how many
#: missing ids in a row mean there are no more.
PROBE_LIMIT, PROBE_GAP = 50, 5


class Refused(OutletError):
    """Support Board answered with an error envelope: ``code`` is its ``response``."""

    def __init__(self, function: str, code: str, detail: str = "", *, retry: bool = False) -> None:
        text = f"Support Board {function}: {code}" + (f" ({detail})" if detail else "")
        super().__init__(text, retry=retry)
        self.function = function
        self.code = code


def unwrap(function: str, reply: Reply) -> Any:
    """The ``response`` of a Support Board answer, or the :class:`OutletError` it means."""
    envelope = _envelope(reply.text)
    if reply.status >= 500 or reply.status == 429:
        code = f" ({envelope.get('response')})" if envelope else ""
        wait = retry_after(reply) if reply.status == 429 else None
        raise OutletError(f"Support Board {function}: HTTP {reply.status}{code}", retry=True, retry_after=wait)
    if envelope is None:
        snippet = " ".join(reply.text.split())[:120]
        # A 4xx page that is not Support Board's (a wrong apiUrl) will not get better by waiting.
        retry = not 400 <= reply.status < 500 or reply.status == 408
        raise OutletError(
            f"Support Board {function}: HTTP {reply.status}, the answer is not JSON: {snippet!r}", retry=retry
        )
    if envelope.get("success") is True:
        return envelope.get("response")
    if "success" in envelope:
        raise Refused(function, str(envelope.get("response")))
    if envelope.get("status") == "error":
        code = str(envelope.get("response"))
        raise Refused(function, code, str(envelope.get("message") or ""), retry=code == "db-error")
    raise OutletError(f"Support Board {function}: unexpected answer {str(envelope)[:120]}", retry=False)


def _envelope(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` that is an envelope: PHP notices and warnings may come
    first, and may hold braces themselves."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, _end = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict) and ("success" in value or "status" in value):
            return value
        start = text.find("{", start + 1)
    return None


def _form(value: Any) -> str:
    """A form value as Support Board reads it: arrays as JSON strings, booleans as words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _payload_key(payload: Any) -> str | None:
    if isinstance(payload, str) and payload:
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    return payload.get("noderuntime") if isinstance(payload, dict) else None


def _name(member: dict[str, Any]) -> str:
    parts = [member.get("firstName"), member.get("lastName")]
    return " ".join(p for p in parts if isinstance(p, str) and p) or "Customer"


class SupportBoardOutlet:
    """Support Board (channel type ``supportboard``)."""

    kind = "supportboard"

    def __init__(
        self, http: Fetch, *, timeout: float = CALL_TIMEOUT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.http = http
        self.timeout = timeout
        self.clock = clock
        self._agents: dict[str, tuple[float, frozenset[str]]] = {}
        self._agents_lock = threading.Lock()

    # Settings -----------------------------------------------------------------------------------

    def check_channel(self, channel: dict[str, Any]) -> list[str]:
        """Problems with a Support Board outlet channel's ``info``."""
        info = channel.get("info")
        if not isinstance(info, dict):
            return ["info must be an object with apiUrl, token and webhookKey"]
        problems = self._outbound_problems(info)
        if not isinstance(info.get("webhookKey"), str) or not info.get("webhookKey"):
            problems.append("info.webhookKey must be the key of Support Board's webhooks (agents' replies use them)")
        return problems

    @staticmethod
    def _outbound_problems(info: dict[str, Any]) -> list[str]:
        problems = []
        url = info.get("apiUrl")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            problems.append("info.apiUrl must be the http(s) URL of Support Board's include/api.php")
        if not isinstance(info.get("token"), str) or not info.get("token"):
            problems.append("info.token must be the API token of a Support Board admin")
        for name in ("department", "agentId"):
            value = info.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, str | int) or value == ""):
                problems.append(f"info.{name} must be an id (a string or a number) when given")
        return problems

    def _info(self, conversation: Conversation) -> dict[str, Any]:
        info = conversation.info
        problems = self._outbound_problems(info)
        if problems:
            raise OutletError("Support Board channel: " + "; ".join(problems), retry=False)
        return info

    # The outlet -----------------------------------------------------------------------------------

    def open(self, conversation: Conversation, key: str) -> None:
        """Create the customer and the conversation, post the summary and history as the bot,
        and hand the conversation to the agents."""
        info = self._info(conversation)
        state = conversation.state
        user_id = state.get("userId") or self._customer(info, conversation)
        bot_id = state.get("botId") or self._bot(info, conversation)
        conversation_id, fresh = self._conversation(info, conversation, str(user_id), key)
        # A conversation this call did not create may hold some of the lines and the hand-off already.
        existing = None if fresh else self._get(info, conversation_id)
        done = {_payload_key(m.get("payload")) for m in existing["messages"]} if existing else set()
        for index, text in enumerate(self._intro(conversation)):
            line_key = f"{key}#{index}"
            if line_key not in done:
                self._send(info, str(bot_id), conversation_id, text, line_key, skip=True)
        if not state.get("handedOff"):
            details = existing["details"] if existing else None
            self._hand_off(info, conversation, conversation_id, conversation.target, details)
            conversation.remember(handedOff=True)

    def relay(self, conversation: Conversation, line: Line) -> None:
        """Post ``line`` as the customer or the bot (once, also when retried after a timeout)."""
        info = self._info(conversation)
        state = conversation.state
        conversation_id = state.get("conversationId")
        if not conversation_id:
            raise OutletError("Support Board: no conversation to relay to (open did not finish)", retry=False)
        if line.author == "member":
            sender = state.get("userId")
            # Once agents have it, the customer's lines leave the status out: 2 shows them waiting.
            skip = not state.get("handedOff")
        elif line.author == "bot":
            sender, skip = state.get("botId"), True
        else:
            raise OutletError(f"Support Board: unknown line author {line.author!r}", retry=False)
        if not sender:
            raise OutletError(f"Support Board: no {line.author} user for conversation {conversation_id}", retry=False)
        if state.get("pendingLine") == line.key:
            sent = self._get(info, str(conversation_id))
            if any(_payload_key(m.get("payload")) == line.key for m in sent["messages"]):
                return
        else:
            conversation.remember(pendingLine=line.key)
        text = line.text or describe(line.response)
        self._send(info, str(sender), str(conversation_id), text, line.key, skip=skip)

    def close(self, conversation: Conversation, key: str) -> None:
        """Archive the conversation (status 3); archiving it again is harmless."""
        info = self._info(conversation)
        conversation_id = conversation.state.get("conversationId")
        if not conversation_id:
            return  # open never created one: nothing to end
        self._update_status(info, str(conversation_id), ARCHIVED)

    def transfer(self, conversation: Conversation, target: dict[str, Any], key: str) -> None:
        """Give the conversation to another department or agent."""
        info = self._info(conversation)
        conversation_id = conversation.state.get("conversationId")
        if not conversation_id:
            raise OutletError("Support Board: no conversation to transfer (open did not finish)", retry=False)
        self._hand_off(info, conversation, str(conversation_id), target)

    # The steps of open ------------------------------------------------------------------------------

    def _customer(self, info: dict[str, Any], conversation: Conversation) -> str:
        """The member's Support Board user: found by its mark, or created (once)."""
        member = conversation.member
        member_id = str(member.get("_id") or "")
        found = self._api(info, "get-user-by", by=MEMBER_SLUG, value=member_id) if member_id else ""
        if isinstance(found, dict) and found.get("id"):
            user_id = str(found["id"])
        else:
            email = member.get("email") if isinstance(member.get("email"), str) and member.get("email") else None
            phone = member.get("phone") if isinstance(member.get("phone"), str) and member.get("phone") else None
            extra: dict[str, list[str]] = {}
            if member_id:
                extra[MEMBER_SLUG] = [member_id, "Noderuntime member"]
            if phone:
                extra["phone"] = [phone, "Phone"]
            args: dict[str, Any] = {"user_type": "user" if email else "lead", "extra": extra}
            if isinstance(member.get("firstName"), str) and member["firstName"]:
                args["first_name"] = member["firstName"]
                args["last_name"] = member.get("lastName") if isinstance(member.get("lastName"), str) else ""
            if email:
                args["email"] = email
            try:
                user_id = str(self._api(info, "add-user", **args))
            except Refused as error:
                # Someone with that email or phone is known already (a widget visitor, say): that is the member.
                by, value = {"duplicate-email": ("email", email), "duplicate-phone": ("phone", phone)}.get(
                    error.code, (None, None)
                )
                if by is None:
                    raise
                found = self._api(info, "get-user-by", by=by, value=value)
                if not isinstance(found, dict) or not found.get("id"):
                    raise OutletError(
                        f"Support Board add-user: {error.code}, but get-user-by finds nobody", retry=True
                    ) from None
                user_id = str(found["id"])
        conversation.remember(userId=user_id)
        return user_id

    def _bot(self, info: dict[str, Any], conversation: Conversation) -> str:
        bot_id = self._api(info, "get-bot-id")
        if bot_id in (None, "", False):
            raise OutletError("Support Board get-bot-id: no bot id", retry=True)
        conversation.remember(botId=str(bot_id))
        return str(bot_id)

    def _conversation(
        self, info: dict[str, Any], conversation: Conversation, user_id: str, key: str
    ) -> tuple[str, bool]:
        """The conversation's id, and whether this call created it."""
        state = conversation.state
        if state.get("conversationId"):
            return str(state["conversationId"]), False
        after = state.get("conversationAfter")
        if after is not None:
            # A previous try sent new-conversation: it may have created one (empty, so unlisted).
            found = self._probe(info, user_id, key, int(after))
            if found:
                conversation.remember(conversationId=found)
                return found, False
        else:
            after = self._highest_conversation(info)
            conversation.remember(conversationAfter=after)
        member = conversation.member
        title = conversation.details.get("groupName") if isinstance(conversation.details.get("groupName"), str) else ""
        created = self._api(
            info,
            "new-conversation",
            user_id=user_id,
            status_code=WAITING_FOR_USER,
            title=title or f"{_name(member)} (live chat)",
            extra=key,
        )
        details = created.get("details") if isinstance(created, dict) else None
        if not isinstance(details, dict) or not details.get("id"):
            raise OutletError(
                f"Support Board new-conversation: no conversation id in {str(created)[:120]}", retry=False
            )
        conversation_id = str(details["id"])
        conversation.remember(conversationId=conversation_id)
        return conversation_id, True

    def _highest_conversation(self, info: dict[str, Any]) -> int:
        """A conversation id every conversation created from now on is above (0 when none is listed)."""
        rows = self._api(info, "get-conversations")
        ids = (
            [str(r.get("conversation_id") or r.get("id") or "") for r in rows if isinstance(r, dict)]
            if isinstance(rows, list)
            else []
        )
        return max((int(i) for i in ids if i.isdigit()), default=0)

    def _probe(self, info: dict[str, Any], user_id: str, key: str, after: int) -> str | None:
        """The conversation of ``user_id`` created for ``key`` among the ids above ``after``."""
        gap = 0
        for candidate in range(after + 1, after + 1 + PROBE_LIMIT):
            found = self._api(info, "get-conversation", conversation_id=candidate)
            details = found.get("details") if isinstance(found, dict) else None
            if not isinstance(details, dict):
                gap += 1
                if gap >= PROBE_GAP:
                    return None
                continue
            gap = 0
            if str(details.get("user_id")) == user_id and details.get("extra") == key:
                return str(candidate)
        return None

    def _intro(self, conversation: Conversation) -> list[str]:
        """What agents read first: the summary, the relay message, the conversation so far."""
        details = conversation.details
        texts = []
        if isinstance(details.get("summary"), str) and details["summary"]:
            texts.append(details["summary"])
        relay = details.get("relayMessage")
        relay = relay.get("supportboard") if isinstance(relay, dict) else None
        if isinstance(relay, str) and relay:
            texts.append(relay)
        elif isinstance(relay, dict) and describe(relay):
            texts.append(describe(relay))
        name = _name(conversation.member)
        for entry in conversation.history or []:
            if not isinstance(entry, dict):
                continue
            text = entry.get("text") if isinstance(entry.get("text"), str) else describe(entry.get("response"))
            if text:
                texts.append(f"{name if entry.get('author') == 'member' else 'Bot'}: {text}")
        return texts

    # Routing --------------------------------------------------------------------------------------

    @staticmethod
    def _route(info: dict[str, Any], target: dict[str, Any] | None) -> tuple[str | None, str | None]:
        """(department, agent) of a broadcast-group target, or of the channel's settings."""
        if target:
            kind, ident = target.get("type"), target.get("id")
            if kind not in ("department", "agent") or ident in (None, ""):
                raise OutletError(
                    f"Support Board: cannot hand off to target {target!r} (department or agent)", retry=False
                )
            return (str(ident), None) if kind == "department" else (None, str(ident))
        department, agent = info.get("department"), info.get("agentId")
        return (
            str(department) if department not in (None, "") else None,
            str(agent) if agent not in (None, "") else None,
        )

    def _hand_off(
        self,
        info: dict[str, Any],
        conversation: Conversation,
        conversation_id: str,
        target: dict[str, Any] | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Department and/or agent, ending in status 2. ``details`` (of a conversation a timed
        out try worked on) skip what is done already, so agents are not notified twice."""
        department, agent = self._route(info, target)
        details = details if isinstance(details, dict) else {}
        waiting = str(details.get("status_code")) == str(WAITING_FOR_AGENT)
        summary = conversation.details.get("summary")
        reason = summary if isinstance(summary, str) and summary else f"{_name(conversation.member)} asks for an agent"
        if department is not None and str(details.get("department")) != department:
            self._api(
                info,
                "update-conversation-department",
                conversation_id=conversation_id,
                department=department,
                message=reason,
            )
        if agent is not None:
            if not (waiting and str(details.get("agent_id")) == agent):
                # Also sets status 2.
                self._api(
                    info, "update-conversation-agent", conversation_id=conversation_id, agent_id=agent, message=reason
                )
        elif not waiting:
            self._update_status(info, conversation_id, WAITING_FOR_AGENT)

    # Calls ------------------------------------------------------------------------------------------

    def _api(self, info: dict[str, Any], function: str, **args: Any) -> Any:
        form = {"token": info["token"], "function": function, **{k: _form(v) for k, v in args.items() if v is not None}}
        reply = call(
            self.http,
            "POST",
            info["apiUrl"],
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body=urlencode(form),
            timeout=self.timeout,
        )
        return unwrap(function, reply)

    def _get(self, info: dict[str, Any], conversation_id: str) -> dict[str, Any]:
        found = self._api(info, "get-conversation", conversation_id=conversation_id)
        if not isinstance(found, dict) or not isinstance(found.get("messages"), list):
            raise OutletError(f"Support Board: conversation {conversation_id} does not exist", retry=False)
        return found

    def _send(
        self, info: dict[str, Any], sender: str, conversation_id: str, text: str, key: str, *, skip: bool
    ) -> None:
        args: dict[str, Any] = {
            "user_id": sender,
            "conversation_id": conversation_id,
            "message": text,
            "payload": {"noderuntime": key},
        }
        if skip:
            args["conversation_status_code"] = "skip"
        sent = self._api(info, "send-message", **args)
        if not isinstance(sent, dict) or sent.get("id", sent.get("message-id")) is None:
            # `true`: the server's trigger_error() for a conversation that does not exist.
            raise OutletError(
                f"Support Board send-message: conversation {conversation_id} does not exist"
                f" (the answer was {json.dumps(sent)[:60]})",
                retry=False,
            )

    def _update_status(self, info: dict[str, Any], conversation_id: str, status: int) -> None:
        if status not in (0, 1, 2, 3, 4):  # 5 deletes every trashed conversation
            raise ValueError(f"refusing conversation status {status}")
        done = self._api(info, "update-conversation-status", conversation_id=conversation_id, status_code=status)
        if done is not True:
            raise OutletError(
                f"Support Board update-conversation-status: {conversation_id} refused ({done!r})", retry=False
            )

    # Webhooks ------------------------------------------------------------------------------------------

    def inbound(self, channel: dict[str, Any], headers: Mapping[str, str], body: bytes) -> list[Inbound]:
        """An agent's message or the conversation closed, from one Support Board webhook."""
        info = channel_settings(channel)
        expected = info.get("webhookKey")
        if not isinstance(expected, str) or not expected:
            raise WebhookRefused(403, "this Support Board channel has no webhookKey")
        payload = webhook_json(body)
        given = payload.get("key")
        if not secret_matches(given, expected):
            raise WebhookRefused(401, "wrong or missing webhook key")
        data = payload.get("data")
        if not isinstance(data, dict):
            return []
        function = payload.get("function")
        if function == "message-sent":
            return self._agent_message(info, data)
        if function == "conversation-status-updated":
            status, conversation_id = str(data.get("status_code")), data.get("conversation_id")
            if status in ("3", "4") and conversation_id not in (None, ""):
                ref = {"outletState.conversationId": str(conversation_id)}
                return [Inbound(kind="closed", ref=ref, key=f"supportboard:{conversation_id}:status:{status}")]
        return []

    def _agent_message(self, info: dict[str, Any], data: dict[str, Any]) -> list[Inbound]:
        user_id, conversation_id, message_id = data.get("user_id"), data.get("conversation_id"), data.get("message_id")
        if user_id in (None, "") or conversation_id in (None, "") or message_id in (None, ""):
            return []
        user_id = str(user_id)
        if user_id == str(data.get("conversation_user_id")):
            return []  # the customer: a line we relayed
        if user_id not in self._agent_ids(info, user_id):
            return []  # the bot (or anyone who is not an agent or admin)
        text = data.get("message") if isinstance(data.get("message"), str) else ""
        links = self._attachment_links(data.get("attachments"))
        text = "\n".join([t for t in [text, *links] if t])
        if not text:
            return []
        return [
            Inbound(
                kind="message",
                ref={"outletState.conversationId": str(conversation_id)},
                key=f"supportboard:{message_id}",
                text=text,
                agent={"id": user_id},
            )
        ]

    @staticmethod
    def _attachment_links(attachments: Any) -> list[str]:
        if isinstance(attachments, str) and attachments:
            try:
                attachments = json.loads(attachments)
            except ValueError:
                return []
        if not isinstance(attachments, list):
            return []
        return [str(a[1]) for a in attachments if isinstance(a, list) and len(a) > 1 and a[1]]

    def _agent_ids(self, info: dict[str, Any], wanted: str) -> frozenset[str]:
        """The agents' and admins' ids, cached a while; a miss refreshes an older list (a new agent)."""
        url = str(info.get("apiUrl"))
        now = self.clock()
        with self._agents_lock:
            cached = self._agents.get(url)
        if cached is not None:
            fetched, ids = cached
            age = now - fetched
            if age < AGENTS_TTL and (wanted in ids or age < AGENTS_MIN_AGE):
                return ids
        try:
            if self._outbound_problems(info):
                raise OutletError(
                    "Support Board channel: apiUrl and token are needed to tell agents apart", retry=False
                )
            answer = self._api(info, "get-agents-ids")
        except OutletError as error:
            if cached is not None:
                return cached[1]  # a stale list beats dropping the agent's message
            raise WebhookRefused(503, f"cannot tell agents apart: {error.message}") from None
        ids = frozenset(str(i) for i in answer) if isinstance(answer, list) else frozenset()
        with self._agents_lock:
            self._agents[url] = (now, ids)
        return ids
