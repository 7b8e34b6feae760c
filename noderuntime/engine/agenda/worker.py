"""The agenda scheduler's worker: claims due agendas and runs their nodes.

Any number of workers, in any number of processes, may share one database:
an agenda is claimed with an atomic findAndModify that sets a lock, so one
occurrence runs once; a worker that dies mid-job leaves a lock that expires
after ``AgendaSettings.lock_ms``, and the job runs again elsewhere.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from noderuntime.config import AgendaSettings
from noderuntime.engine.agenda import agendas
from noderuntime.engine.executor import ChainResult, Engine
from noderuntime.engine.trees import Redirect
from noderuntime.store.ids import for_script, match_id
from noderuntime.store.schema import MEMBERS

#: The agenda kind that ends an unanswered or quiet live chat (see noderuntime.livechat.desk).
TIMEOUT_AGENDA = "liveChatTimeout"

log = logging.getLogger("noderuntime.agenda")

#: Errors that running again cannot fix: the agenda is given up at once. Only
#: the engine's own (the agenda's node or member is gone): the same kinds
#: raised inside a script (an error with a ``step``) are retried like any
#: script error.
PERMANENT = ("TreeError", "NotFound")


@dataclass
class JobReport:
    """One agenda a worker handled."""

    agenda: str
    member: str
    node: str
    outcome: str
    #: How late the run started, against the agenda's ``nextRunAt`` (ms).
    late_ms: int
    #: How long the node chain took (ms).
    ms: float
    error: dict[str, Any] | None = None
    #: The node chain's result, when the node ran.
    chain: ChainResult | None = None


@dataclass
class AgendaWorker:
    """Claims due agendas and runs them through ``engine``.

    ``on_job`` is told about every agenda handled (the CLI prints it).
    :meth:`run_due` handles what is due now and returns; :meth:`run_forever`
    keeps going until :meth:`stop`.
    """

    engine: Engine
    settings: AgendaSettings = field(default_factory=AgendaSettings)
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    on_job: Callable[[JobReport], None] | None = None

    def __post_init__(self) -> None:
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Finish the current job, then stop."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping.is_set()

    def run_due(self) -> int:
        """Claim and run agendas due now, a batch at a time, until none is
        due (or the worker is stopping). Returns how many ran."""
        handled = 0
        seen: set[Any] = set()  # once per pass: agendas that come due again wait for the next one
        while not self.stopping:
            store, now = self.engine.store, self.engine.now_ms()
            batch = [i for i in agendas.due_ids(store, now, self.settings.batch) if i not in seen]
            if not batch:
                return handled
            seen.update(batch)
            for agenda_id in batch:
                if self.stopping:
                    break
                claimed = agendas.claim(store, self.engine.now_ms(), self.name, self.settings.lock_ms, agenda_id)
                if claimed is not None:  # else another worker took it first
                    self.process(claimed)
                    handled += 1
        return handled

    def run_forever(self) -> None:
        """Run due agendas; between them sleep until the next is due (at
        most ``poll_ms``). Returns after :meth:`stop`."""
        while not self.stopping:
            try:
                if self.run_due():
                    continue
                upcoming = agendas.next_due(self.engine.store, self.engine.now_ms())
            except Exception:  # a database outage must not end the worker
                log.exception("agenda worker %s: cannot read agendas", self.name)
                upcoming = None
            wait_ms = self.settings.poll_ms
            if upcoming is not None:
                wait_ms = min(wait_ms, max(upcoming - self.engine.now_ms(), 0))
            self._stopping.wait(max(wait_ms, 5) / 1000)

    def process(self, agenda: dict[str, Any]) -> JobReport:
        """Run one claimed agenda's node for its member and record the outcome."""
        started = time.perf_counter()
        now = self.engine.now_ms()
        app, member_id = str(for_script(agenda["app"])), str(for_script(agenda["member"]))
        result: ChainResult | None = None
        try:
            outcome, error, result = self._run(agenda, app, member_id)
        except Exception as exc:  # a host failure: retried like a script error
            log.exception("agenda %s failed inside the host", agenda["_id"])
            error = {"type": "InternalError", "message": f"the run failed inside the host: {type(exc).__name__}"}
            outcome = self._failed(agenda, error, permanent=False)
        report = JobReport(
            agenda=str(for_script(agenda["_id"])),
            member=member_id,
            node=agenda.get("kind") or f"{for_script(agenda['tree'])}/{agenda['nodeCompositeId']}",
            outcome=outcome,
            late_ms=max(now - int(agenda["nextRunAt"]), 0),
            ms=round((time.perf_counter() - started) * 1000, 3),
            error=error,
            chain=result,
        )
        if self.on_job is not None:
            self.on_job(report)
        return report

    def _run(
        self, agenda: dict[str, Any], app: str, member_id: str
    ) -> tuple[str, dict[str, Any] | None, ChainResult | None]:
        """``(outcome, error, chain result)`` of one claimed agenda."""
        store = self.engine.store
        if agenda.get("kind") == TIMEOUT_AGENDA:
            return self._live_chat_timeout(agenda), None, None
        member = store.find_one(MEMBERS, {"_id": match_id(member_id), "app": match_id(app)})
        if member is None:
            error = {"type": "NotFound", "message": f"member {member_id} no longer exists"}
            return self._failed(agenda, error, permanent=True), error, None
        bot_meta = member.get("botMeta")
        if isinstance(bot_meta, dict) and bot_meta.get("subscribe") is False:
            return agendas.skipped(store, agenda, self.engine.now_ms(), "unsubscribed"), None, None
        # The job must end before its lock does, or another worker would run it again.
        engine = self.engine.within(time.monotonic() + self.settings.lock_ms * 0.9 / 1000)
        target = Redirect(str(for_script(agenda["tree"])), agenda["nodeCompositeId"])
        running = agendas.IN_AGENDA_RUN.set(True)
        try:
            result = engine.run_node(app, member_id, target, agenda_meta=for_script(agenda.get("meta")))
        finally:
            agendas.IN_AGENDA_RUN.reset(running)
        if result.error is None:
            return agendas.succeeded(store, agenda, self.engine.now_ms()), None, result
        # A missing tree, node or member (found by the engine, not a script's own NotFound) cannot be fixed by retrying.
        permanent = result.error.get("type") in PERMANENT and "step" not in result.error
        return self._failed(agenda, result.error, permanent=permanent), result.error, result

    def _live_chat_timeout(self, agenda: dict[str, Any]) -> str:
        """End a live chat nobody answered or that went quiet, or look again later."""
        from noderuntime.livechat.desk import LiveChat  # live chat is built on the engine

        again = LiveChat(self.engine).timeout(agenda)
        now = self.engine.now_ms()
        if again is None:
            return agendas.succeeded(self.engine.store, agenda, now)
        return agendas.postponed(self.engine.store, agenda, now, again)

    def _failed(self, agenda: dict[str, Any], error: dict[str, Any], *, permanent: bool) -> str:
        kept = {key: error[key] for key in ("type", "message", "tree", "node", "step", "line") if key in error}
        return agendas.failed(
            self.engine.store,
            agenda,
            self.engine.now_ms(),
            kept,
            retry_ms=self.settings.retry_ms,
            max_attempts=self.settings.max_attempts,
            permanent=permanent,
        )
