"""The live-chat desk: hands members to agents and carries what they say.

Two halves:

- store-only steps that scripts' methods take inside a run: :func:`start` a
  live chat (the assignment, its group, the ``open`` call queued, the
  member's ``botMeta.liveChat``, the timeout agenda) and :func:`end` one;
- :class:`LiveChat`, the host side that talks to outlets: it makes the queued
  calls (:meth:`LiveChat.deliver_due`), relays a member's message while the
  live chat lasts (:meth:`LiveChat.relay_from_member`, called by the engine),
  takes outlets' webhooks (:meth:`LiveChat.receive_webhook`), hands agents'
  messages to members (:meth:`LiveChat.handle_inbox`) and ends chats nobody
  answered or that went quiet (:meth:`LiveChat.timeout`).
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import TYPE_CHECKING, Any

from bson import ObjectId

from noderuntime.config import LiveChatSettings
from noderuntime.engine import history
from noderuntime.engine.agenda.worker import TIMEOUT_AGENDA
from noderuntime.engine.sender import Sender, check_response
from noderuntime.engine.trees import Redirect
from noderuntime.errors import MethodError, ParamError, StoreError
from noderuntime.livechat import assignments
from noderuntime.livechat.outbox import Outbox
from noderuntime.livechat.outlets import OutletFactory, default_outlets
from noderuntime.livechat.outlets.base import (
    Conversation,
    Inbound,
    Line,
    Outlet,
    OutletError,
    Unavailable,
    WebhookRefused,
    channel_settings,
)
from noderuntime.store import Store
from noderuntime.store.ids import for_script, match_id
from noderuntime.store.schema import AGENDAS, ASSIGNMENTS, CHANNELS, GROUPS, INBOX, MEMBERS

if TYPE_CHECKING:
    from noderuntime.engine.executor import Engine

log = logging.getLogger("noderuntime.livechat")


def send_to_member(
    store: Store, sender: Sender, member: dict[str, Any], response: dict[str, Any], now: int, author: str
) -> dict[str, Any]:
    """Send ``response`` to the stored ``member`` on their channel, and keep it
    in their history as said by ``author``. Returns the NodeSendResult."""
    channel = store.find_one(CHANNELS, {"_id": match_id(member.get("channel"))})
    result = sender.send(for_script(member), None if channel is None else for_script(channel), [response], now)
    history.record(store, now, member, author, [item["messageEvent"] for item in result.get("result") or []])
    return result


def timeouts(settings: LiveChatSettings, outlet: dict[str, Any]) -> tuple[int, int]:
    """``(unanswered_ms, idle_ms)`` for an outlet channel: its
    ``liveChat.unansweredMinutes``/``idleMinutes``, else the settings'."""
    own = channel_settings(outlet, "liveChat")

    def minutes(name: str, default: float) -> int:
        value = own.get(name)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return int((value if ok else default) * 60_000)

    return minutes("unansweredMinutes", settings.unanswered_minutes), minutes("idleMinutes", settings.idle_minutes)


def start(
    store: Store,
    now: int,
    settings: LiveChatSettings,
    *,
    member: dict[str, Any],
    label: str | None,
    targets: list[dict[str, Any]] | None,
    details: dict[str, Any],
    meta: dict[str, Any] | None,
    history_wanted: bool,
    create_group: dict[str, Any] | None,
    set_agenda: bool,
    parent: Any = None,
    resolved: assignments.Target | None = None,
    carry: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
    """Start a live chat for the stored ``member``: ``(assignment, group, member)``.

    The outlet is called later, from the outbox: nothing here waits on it.
    With ``carry`` (a previous assignment on the same outlet channel) the
    conversation goes on: its outlet state is kept and a ``transfer`` to the
    new target is queued instead of an ``open``."""
    app = str(for_script(member["app"]))
    target = resolved or assignments.resolve_target(store, app, member.get("channel"), label, targets)
    unanswered, _idle = timeouts(settings, target.channel)
    assignment, group = assignments.create(
        store,
        now,
        app=app,
        member=member,
        target=target,
        label=label,
        details=details,
        meta=meta,
        history=history_wanted,
        create_group=create_group,
        expiry=now + unanswered,
        parent=parent,
    )
    if carry is not None:
        state = dict(carry.get("outletState") or {})
        store.update(ASSIGNMENTS, {"_id": assignment["_id"]}, {"$set": {"outletState": state}})
        key = f"{assignment['_id']}:transfer"
        Outbox(store, settings).put(now, assignment, "transfer", key, target=target.group or {})
    else:
        Outbox(store, settings).put(now, assignment, "open", f"{assignment['_id']}:open", target=target.group)
    sets: dict[str, Any] = {"botMeta.liveChat": True, "updatedAt": now}
    if group is not None:
        sets["group"] = group["_id"]
    store.update(MEMBERS, {"_id": member["_id"], "app": member["app"]}, {"$set": sets})
    if set_agenda:
        store.insert_one(
            AGENDAS,
            {
                "_id": ObjectId(),
                "kind": TIMEOUT_AGENDA,
                "app": member["app"],
                "channel": member.get("channel"),
                "member": member["_id"],
                "assignment": assignment["_id"],
                "tree": None,
                "nodeCompositeId": None,
                "tag": "liveChat",
                "nextRunAt": now + unanswered,
                "priority": 0,
                "meta": {"assignmentId": str(assignment["_id"])},
                "completed": False,
                "runCount": 0,
                "failCount": 0,
                "createdAt": now,
                "updatedAt": now,
            },
        )
    saved = store.find_one(MEMBERS, {"_id": member["_id"], "app": member["app"]}) or member
    return assignment, group, saved


def end(
    store: Store,
    now: int,
    settings: LiveChatSettings,
    assignment: dict[str, Any],
    reason: str,
    *,
    close_outlet: bool = True,
) -> dict[str, Any] | None:
    """End a live chat: the member's ``liveChat`` is false again, the group
    inactive, the timeout agenda gone, and (unless the agents' side ended it)
    a ``close`` queued for the outlet after every line still waiting.
    Returns the ended assignment; None when it had already ended."""
    ended = assignments.finish(store, now, assignment["_id"], reason)
    if ended is None:
        return None
    # The timeout agenda ending the chat is left to its worker, which completes it.
    store.delete(
        AGENDAS,
        {"kind": TIMEOUT_AGENDA, "assignment": ended["_id"], "completed": False, "lockToken": {"$exists": False}},
    )
    if close_outlet:
        Outbox(store, settings).put(now, ended, "close", f"{ended['_id']}:close")
    return ended


def reassign(
    store: Store,
    now: int,
    settings: LiveChatSettings,
    *,
    previous: dict[str, Any],
    member: dict[str, Any],
    label: str | None,
    targets: list[dict[str, Any]] | None,
    details: dict[str, Any],
    meta: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
    """Move a live chat to other agents: ``(assignment, group, member)`` of the
    new assignment, whose ``parentAssignment`` is ``previous``. On the same
    outlet channel the conversation is transferred; on another the previous
    one is closed and a new one opened."""
    app = str(for_script(previous["app"]))
    target = assignments.resolve_target(store, app, member.get("channel"), label, targets)
    same = str(for_script(target.channel["_id"])) == str(for_script(previous["outlet"]))
    timed = store.count(AGENDAS, {"kind": TIMEOUT_AGENDA, "assignment": previous["_id"], "completed": False}) > 0
    ended = end(store, now, settings, previous, "reassigned", close_outlet=not same)
    if ended is None:
        raise ParamError(f"assignment {for_script(previous['_id'])} has ended meanwhile")
    current = store.find_one(MEMBERS, {"_id": member["_id"]}) or member
    return start(
        store,
        now,
        settings,
        member=current,
        label=label,
        targets=targets,
        details=details,
        meta=meta,
        history_wanted=bool(previous.get("history")) and not same,
        create_group=_carried_group(store, previous, same),
        set_agenda=timed,
        parent=previous["_id"],
        resolved=target,
        carry=previous if same else None,
    )


def _carried_group(store: Store, previous: dict[str, Any], same: bool) -> dict[str, Any] | None:
    """The new group of a reassigned chat: none without a previous one; on the
    same outlet, the same conversation (its ``externalId``)."""
    if previous.get("group") is None:
        return None
    if not same:
        return {}
    group = store.find_one(GROUPS, {"_id": previous["group"]}) or {}
    return {"externalId": group.get("externalId")}


class LiveChat:
    """The host side of live chat, working through an engine (its database,
    HTTP client, clock and sender).

    ``outlets`` maps channel types to outlet classes (the shipped three by
    default); an embedder may add its own.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        outlets: Mapping[str, OutletFactory] | None = None,
        settings: LiveChatSettings | None = None,
        name: str | None = None,
        listener: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.engine = engine
        #: Told what happened, for a console: ``("agent", {member, response})``,
        #: ``("taken", {assignmentId, agent})`` and ``("ended", {assignmentId, reason, chain})``.
        self.listener = listener
        self.settings = settings or engine.runtime.config.livechat
        self.factories = dict(outlets) if outlets is not None else default_outlets()
        self.name = name or f"livechat-{uuid.uuid4().hex[:8]}"
        self._outlets: dict[str, Outlet] = {}
        self._lock = threading.Lock()
        #: Called when an outlet call ends (the background worker looks again).
        self.on_call_done: Callable[[], None] | None = None
        #: Calls in flight, by outlet channel; and their futures (done ones drop out).
        self._in_flight: dict[str, int] = {}
        self._running: weakref.WeakSet[futures.Future[None]] = weakref.WeakSet()

    @property
    def store(self) -> Store:
        """The engine's database."""
        return self.engine.store

    @property
    def outbox(self) -> Outbox:
        """The outbox in the engine's database."""
        return Outbox(self.store, self.settings)

    def now_ms(self) -> int:
        """The engine's clock."""
        return self.engine.now_ms()

    def outlet(self, channel: dict[str, Any]) -> Outlet:
        """The outlet serving a channel's type (one instance per type)."""
        kind = channel.get("type")
        if kind not in self.factories:
            raise OutletError(
                f"channel {for_script(channel.get('_id'))} is not a live-chat outlet (type {kind!r})", retry=False
            )
        with self._lock:
            return self._outlet_of(kind)

    def _outlet_of(self, kind: str) -> Outlet:
        if kind not in self._outlets:
            # The runtime's client, under its egress policy: a test's fetch stubs are for scripts.
            self._outlets[kind] = self.factories[kind](self.engine.runtime.http)
        return self._outlets[kind]

    # Member -> agent ------------------------------------------------------------------

    def relay_from_member(self, app: str, member: dict[str, Any], event: dict[str, Any]) -> dict[str, Any] | None:
        """Queue a message of a member in live chat for the agent. None when
        the member has no live chat after all (the flag is cleared, and the
        bot answers as usual)."""
        now = self.now_ms()
        assignment = assignments.active_for(self.store, app, member["_id"])
        if assignment is None:
            self.store.update(
                MEMBERS, {"_id": member["_id"], "app": match_id(app)}, {"$set": {"botMeta.liveChat": False}}
            )
            return None
        message_id = event.get("messageId") or event.get("id") or uuid.uuid4().hex
        key = f"{assignment['_id']}:in:{message_id}"
        line = {"author": "member", "text": history.text_of(event), "response": _response_of(event)}
        queued = self.outbox.put(now, assignment, "relay", key, line=line)
        self.store.update(ASSIGNMENTS, {"_id": assignment["_id"]}, {"$set": {"lastActivityAt": now}})
        return {
            "assignmentId": str(assignment["_id"]),
            "outlet": str(for_script(assignment["outlet"])),
            "queued": queued,
        }

    # Making the queued calls ---------------------------------------------------------------

    def deliver_due(self, limit: int = 100, *, wait: bool = True) -> int:
        """Start the outlet calls due now, side by side: a slow outlet holds at
        most ``calls_per_outlet`` of them, so it cannot hold up other apps'.
        With ``wait``, return when they are done. Returns how many started."""
        started = 0
        for due in self.outbox.due(self.now_ms(), limit):
            outlet = str(due["outlet"])
            with self._lock:
                if self._in_flight.get(outlet, 0) >= self.settings.calls_per_outlet:
                    continue
                item = self.outbox.claim(self.now_ms(), due["_id"], self.name)
                if item is None:
                    continue
                self._in_flight[outlet] = self._in_flight.get(outlet, 0) + 1
            self._running.add(_outlet_calls().submit(self._deliver_one, item, outlet))
            started += 1
        if wait:
            futures.wait(list(self._running))
        return started

    def _deliver_one(self, item: dict[str, Any], outlet: str) -> None:
        try:
            self.deliver(item)
        finally:
            with self._lock:
                self._in_flight[outlet] -= 1
            if self.on_call_done is not None:
                self.on_call_done()

    def deliver(self, item: dict[str, Any]) -> str:
        """Make one claimed call: ``"sent"``, ``"retry"``, ``"failed"`` or ``"unavailable"``."""
        outbox, now = self.outbox, self.now_ms()
        assignment = self.store.find_one(ASSIGNMENTS, {"_id": item["assignment"]})
        channel = self.store.find_one(CHANNELS, {"_id": item["outlet"]})
        member = None if assignment is None else self.store.find_one(MEMBERS, {"_id": assignment["member"]})
        if assignment is None or channel is None or member is None:
            gone = "assignment" if assignment is None else "outlet channel" if channel is None else "member"
            outbox.failed(item, now, f"the {gone} no longer exists")
            return "failed"
        conversation = self._conversation(assignment, channel, member, with_history=item["op"] == "open")
        try:
            outlet = self.outlet(channel)
            if item["op"] == "open":
                outlet.open(conversation, item["key"])
            elif item["op"] == "relay":
                line = item.get("line") or {}
                outlet.relay(
                    conversation,
                    Line(item["key"], line.get("author", "member"), line.get("text", ""), line.get("response")),
                )
            elif item["op"] == "close":
                outlet.close(conversation, item["key"])
            else:
                outlet.transfer(conversation, item.get("target") or {}, item["key"])
        except Unavailable as error:
            outbox.failed(item, now, error.message)
            self._open_failed(assignment, "unavailable", error.message)
            return "unavailable"
        except OutletError as error:
            outcome = outbox.retry(item, now, error.message, error.retry_after) if error.retry else "failed"
            if outcome == "failed":
                if not error.retry:
                    outbox.failed(item, now, error.message)
                if item["op"] == "open":
                    self._open_failed(assignment, "failed", error.message)
            log.warning(
                "outlet %s %s for assignment %s: %s (%s)",
                channel.get("type"),
                item["op"],
                assignment["_id"],
                error.message,
                outcome,
            )
            return outcome
        except Exception as error:  # a bug in an outlet must not lose the line: it is retried
            log.exception("outlet %s %s failed", channel.get("type"), item["op"])
            return outbox.retry(item, now, f"{type(error).__name__} inside the outlet")
        outbox.sent(item, now)
        if item["op"] == "open":
            self._opened(assignment, conversation)
        return "sent"

    def _conversation(
        self, assignment: dict[str, Any], channel: dict[str, Any], member: dict[str, Any], *, with_history: bool
    ) -> Conversation:
        def save(values: dict[str, Any]) -> None:
            sets = {f"outletState.{name}": value for name, value in values.items()}
            self.store.update(ASSIGNMENTS, {"_id": assignment["_id"]}, {"$set": sets})

        lines = None
        if with_history and assignment.get("history"):
            lines = history.recent(self.store, assignment["app"], assignment["member"], self.settings.history_messages)
        return Conversation(
            assignment_id=str(assignment["_id"]),
            app=str(for_script(assignment["app"])),
            channel=for_script(channel),
            member=for_script(member),
            details=dict(assignment.get("assignmentDetails") or {}),
            meta=dict(assignment.get("meta") or {}),
            target=assignment.get("target"),
            group_id=None if assignment.get("group") is None else str(assignment["group"]),
            history=lines,
            state=dict(assignment.get("outletState") or {}),
            save=save,
        )

    def _opened(self, assignment: dict[str, Any], conversation: Conversation) -> None:
        """The conversation is open: the group learns its outlet id."""
        state = conversation.state
        external = state.get("externalId") or state.get("rid") or state.get("conversationId")
        if assignment.get("group") is not None and external is not None:
            self.store.update(
                GROUPS,
                {"_id": assignment["group"], "externalId": None},
                {"$set": {"externalId": str(external), "updatedAt": self.now_ms()}},
            )

    def _open_failed(self, assignment: dict[str, Any], reason: str, why: str) -> None:
        """The conversation could not be opened: the live chat ends, the lines
        waiting for it are kept as dropped, and the bot takes the member back."""
        now = self.now_ms()
        ended = end(self.store, now, self.settings, assignment, reason, close_outlet=False)
        self.outbox.drop(assignment["_id"], now, f"the conversation could not be opened: {why}")
        if ended is not None:
            self.after_end(ended, reason)

    # Agent -> member -------------------------------------------------------------------

    def receive_webhook(self, channel_id: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Take one webhook request from an outlet: ``(status, JSON answer)``.

        The events are stored before the answer (so none is lost, and one the
        outlet delivers again is stored once); :meth:`handle_inbox` acts on them."""
        channel = self.store.find_one(CHANNELS, {"_id": match_id(channel_id)})
        if channel is None or channel.get("type") not in self.factories:
            return 404, {"error": f"no live-chat outlet channel {channel_id}"}
        try:
            events = self.outlet(channel).inbound(for_script(channel), headers, body)
        except WebhookRefused as refused:
            log.warning("webhook for channel %s refused: %s", channel_id, refused.message)
            return refused.status, {"error": refused.message}
        stored = 0
        for event in events:
            stored += self._store_event(channel, event)
        return 200, {"received": len(events), "new": stored}

    def _store_event(self, channel: dict[str, Any], event: Inbound) -> int:
        document = {
            "_id": f"{channel['_id']}:{event.key}",
            "app": channel.get("app"),
            "outlet": channel["_id"],
            "kind": event.kind,
            "ref": event.ref,
            "text": event.text,
            "response": event.response,
            "agent": event.agent,
            "status": "pending",
            "attempts": 0,
            "lockedUntil": None,
            "receivedAt": self.now_ms(),
        }
        try:
            self.store.insert_one(INBOX, document)
        except StoreError:
            return 0  # delivered again by the outlet: handled once
        return 1

    def handle_inbox(self, limit: int = 100) -> int:
        """Act on the stored webhook events (agents' messages, taken, closed). Returns how many."""
        handled = 0
        for _ in range(limit):
            now = self.now_ms()
            event = self.store.find_one_and_update(
                INBOX,
                {"status": "pending", "$or": [{"lockedUntil": None}, {"lockedUntil": {"$lte": now}}]},
                {"$set": {"lockedUntil": now + self.settings.lock_ms}},
                sort=[("receivedAt", 1)],
                return_new=True,
            )
            if event is None:
                break
            self._handle_event(event)
            handled += 1
        return handled

    def _handle_event(self, event: dict[str, Any]) -> None:
        now = self.now_ms()
        try:
            status, note = self._act(event, now)
        except Exception as error:  # the member's platform failed: try again, then keep it as failed
            log.exception("live chat event %s failed", event["_id"])
            attempts = int(event.get("attempts") or 0) + 1
            status = "failed" if attempts >= self.settings.max_attempts else "pending"
            wait = min(self.settings.retry_ms * 2 ** (attempts - 1), self.settings.max_retry_ms)
            self.store.update(
                INBOX,
                {"_id": event["_id"]},
                {
                    "$set": {
                        "status": status,
                        "attempts": attempts,
                        "error": f"{type(error).__name__}: {error}",
                        "lockedUntil": now + wait,
                    }
                },
            )
            return
        self.store.update(
            INBOX,
            {"_id": event["_id"]},
            {"$set": {"status": status, "note": note, "handledAt": now, "lockedUntil": None}},
        )

    def _act(self, event: dict[str, Any], now: int) -> tuple[str, str | None]:
        """Do what one event says: ``(status, note)``."""
        query = {"app": match_id(event["app"]), "outlet": match_id(event["outlet"])}
        for name, value in (event.get("ref") or {}).items():
            query[name] = match_id(value) if name == "_id" else value
        assignment = self.store.find_one(ASSIGNMENTS, query, sort=[("createdAt", -1)])
        if assignment is None:
            return "ignored", "no assignment matches"
        assignment = self._current(assignment)
        if not assignment.get("active"):
            return "ignored", "the live chat has ended"
        if event["kind"] == "closed":
            ended = end(self.store, now, self.settings, assignment, "agent", close_outlet=False)
            if ended is not None:
                self.after_end(ended, "agent")
            return "done", None
        agent = event.get("agent") or {}
        taken = {"lastActivityAt": now, "updatedAt": now}
        if assignment.get("status") == "pending":
            taken.update(
                {"status": "assigned", "assignedAt": now, "assignee": agent.get("id") or agent.get("username")}
            )
        self.store.update(ASSIGNMENTS, {"_id": assignment["_id"]}, {"$set": taken})
        if assignment.get("group") is not None and agent:
            self.store.update(
                GROUPS,
                {"_id": assignment["group"], "adminExternalId": None},
                {"$set": {"adminExternalId": agent.get("id"), "admin": agent.get("username") or agent.get("name")}},
            )
        if event["kind"] != "message":
            self._tell("taken", {"assignmentId": str(assignment["_id"]), "agent": agent})
            return "done", None
        member = self.store.find_one(MEMBERS, {"_id": assignment["member"], "app": assignment["app"]})
        if member is None:
            return "ignored", "the member no longer exists"
        response = event.get("response") or {"type": "TEXT", "text": event.get("text") or ""}
        try:
            check_response(response, "agent message")
        except MethodError as error:
            return "failed", error.message
        send_to_member(self.store, self.engine.sender, member, response, self.now_ms(), "agent")
        self._tell("agent", {"member": str(member["_id"]), "response": response, "agent": agent})
        return "done", None

    def _current(self, assignment: dict[str, Any]) -> dict[str, Any]:
        """The assignment a conversation belongs to now: a reassignment on the
        same outlet carries it on, so the outlet may still name the old one."""
        for _ in range(self.engine.max_redirects + 10):
            if assignment.get("active"):
                return assignment
            child = self.store.find_one(
                ASSIGNMENTS, {"parentAssignment": assignment["_id"], "outlet": assignment["outlet"]}
            )
            if child is None:
                return assignment
            assignment = child
        return assignment

    # Ends ------------------------------------------------------------------------------

    def timeout(self, agenda: dict[str, Any]) -> int | None:
        """The timeout agenda's run: end the live chat if nobody answered in
        time or it went quiet, else the time to look again (epoch ms)."""
        assignment = self.store.find_one(ASSIGNMENTS, {"_id": agenda.get("assignment")})
        if assignment is None or not assignment.get("active"):
            return None
        channel = self.store.find_one(CHANNELS, {"_id": assignment["outlet"]}) or {}
        unanswered, idle = timeouts(self.settings, channel)
        if assignment.get("status") == "pending":
            deadline, reason = int(assignment["createdAt"]) + unanswered, "unanswered"
        else:
            deadline, reason = int(assignment.get("lastActivityAt") or assignment["createdAt"]) + idle, "idle"
        now = self.now_ms()
        if now < deadline:
            return deadline
        ended = end(self.store, now, self.settings, assignment, reason)
        if ended is not None:
            self.after_end(ended, reason)
        return None

    def after_end(self, ended: dict[str, Any], reason: str) -> None:
        """A live chat ended without the bot asking: run the inlet channel's
        ``liveChat.onEnd`` node for the member, with
        ``this.agendaMeta.liveChat = {assignmentId, reason}``."""
        inlet = self.store.find_one(CHANNELS, {"_id": match_id(ended.get("inlet"))}) or {}
        node = channel_settings(inlet, "liveChat").get("onEnd")
        told = {"assignmentId": str(ended["_id"]), "reason": reason, "chain": None}
        if not isinstance(node, dict) or not node.get("tree") or not node.get("nodeCompositeId"):
            self._tell("ended", told)
            return
        meta = {"liveChat": {"assignmentId": str(ended["_id"]), "reason": reason}}
        result = self.engine.run_node(
            str(for_script(ended["app"])),
            str(for_script(ended["member"])),
            Redirect(str(node["tree"]), str(node["nodeCompositeId"])),
            agenda_meta=meta,
        )
        if not result.ok:
            log.warning("liveChat.onEnd node for assignment %s failed: %s", ended["_id"], result.error)
        self._tell("ended", {**told, "chain": result})

    def _tell(self, what: str, details: dict[str, Any]) -> None:
        if self.listener is not None:
            try:
                self.listener(what, details)
            except Exception:  # a console's failure must not undo the work
                log.exception("live-chat listener failed")

    # Everything due ---------------------------------------------------------------------

    def flush(self, rounds: int = 20) -> int:
        """Make every call due and act on every event waiting, until there is
        nothing left to do now. Returns how many were handled."""
        total = 0
        for _ in range(rounds):
            done = self.deliver_due() + self.handle_inbox()
            total += done
            if not done:
                break
        return total

    def work(self) -> int:
        """One pass for a background worker: start the calls due (without
        waiting on them) and act on the events waiting. Returns how many."""
        return self.deliver_due(wait=False) + self.handle_inbox()

    def next_due(self) -> int | None:
        """When a call not in flight will next be due (epoch ms), if any."""
        return self.outbox.next_due(self.now_ms())


_CALLS: futures.ThreadPoolExecutor | None = None
_CALLS_LOCK = threading.Lock()
#: Outlet calls in flight at once in this process, over every desk.
OUTLET_THREADS = 16


def _outlet_calls() -> futures.ThreadPoolExecutor:
    """The process's threads for outlet calls (made on first use)."""
    global _CALLS
    with _CALLS_LOCK:
        if _CALLS is None:
            _CALLS = futures.ThreadPoolExecutor(max_workers=OUTLET_THREADS, thread_name_prefix="outlet-call")
        return _CALLS


def _response_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The message a member sent, as a response object an outlet may pass on."""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    kind = event.get("type")
    return {"type": kind, **data} if isinstance(kind, str) else None
