"""The ``agendas`` collection: what an agenda document holds and the writes
the scheduler makes to it.

An agenda runs one node for one member at ``nextRunAt`` (epoch ms), once, or
on each occurrence of a CRON ``pattern`` until ``runUntil``::

    {_id, app, channel, member, tree, nodeCompositeId, nextRunAt, priority,
     meta, tag, completed, pattern?, runUntil?, timezone?,
     lockedUntil?, lockedBy?, lockToken?,           # while a worker runs it
     lastRunAt?, lastFinishedAt?, runCount, failCount, lastError?, failed?, skipped?,
     createdAt, updatedAt}

A worker claims a due agenda by setting a lock that expires; every later
write is conditioned on the lock's token, so a worker whose lock has expired
(and whose job another worker took) changes nothing.
"""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

from noderuntime.engine.agenda.schedule import next_run
from noderuntime.store import Store
from noderuntime.store.ids import for_script
from noderuntime.store.schema import AGENDAS

#: The order agendas are claimed in: the earliest first, then the smaller priority.
CLAIM_ORDER = [("nextRunAt", 1), ("priority", 1)]
#: The soonest an agenda planned or moved by an agenda run may run: a node
#: that plans itself (or another) "now" cannot make the scheduler spin.
MIN_RERUN_MS = 10_000
#: Whether the current thread is running an agenda's node (set by the worker).
IN_AGENDA_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar("in_agenda_run", default=False)


def soonest(now_ms: int) -> int:
    """The earliest time an agenda planned now may run: now, or
    ``MIN_RERUN_MS`` later when an agenda run plans it."""
    return now_ms + MIN_RERUN_MS if IN_AGENDA_RUN.get() else now_ms


#: Fields that belong to the scheduler; a script never sees them.
INTERNAL = ("lockedUntil", "lockedBy", "lockToken")


def due(now_ms: int) -> dict[str, Any]:
    """The filter of agendas a worker may claim at ``now_ms``: unfinished,
    due, and not locked (or locked by a lock that has expired)."""
    return {
        "completed": False,
        "nextRunAt": {"$lte": now_ms},
        "$or": [{"lockedUntil": None}, {"lockedUntil": {"$lte": now_ms}}],
    }


def for_author(agenda: dict[str, Any] | None) -> dict[str, Any] | None:
    """An agenda as scripts see it (ids as strings, no lock fields)."""
    if agenda is None:
        return None
    return for_script({key: value for key, value in agenda.items() if key not in INTERNAL})


def claim(store: Store, now_ms: int, worker: str, lock_ms: int, agenda_id: Any = None) -> dict[str, Any] | None:
    """Atomically lock the first due agenda (or the one with ``agenda_id``,
    if it is still due) for ``worker``. Returns it with its ``lockToken``."""
    query = due(now_ms) if agenda_id is None else {"_id": agenda_id, **due(now_ms)}
    lock = {
        "lockedUntil": now_ms + lock_ms,
        "lockedBy": worker,
        "lockToken": uuid.uuid4().hex,
        "lastRunAt": now_ms,
    }
    return store.find_one_and_update(AGENDAS, query, {"$set": lock}, sort=CLAIM_ORDER, return_new=True)


def due_ids(store: Store, now_ms: int, limit: int) -> list[Any]:
    """Ids of up to ``limit`` agendas due at ``now_ms``, in claim order."""
    return [agenda["_id"] for agenda in store.find(AGENDAS, due(now_ms), sort=CLAIM_ORDER, limit=limit)]


def next_due(store: Store, now_ms: int) -> int | None:
    """When a worker may next find something to claim (epoch ms): the
    earliest unlocked agenda's time, or the earliest lock's expiry; None when
    nothing is pending."""
    free = {"completed": False, "$or": [{"lockedUntil": None}, {"lockedUntil": {"$lte": now_ms}}]}
    found = store.find(AGENDAS, free, sort=CLAIM_ORDER, limit=1)
    held = store.find(AGENDAS, {"completed": False, "lockedUntil": {"$gt": now_ms}}, sort=[("lockedUntil", 1)], limit=1)
    times = [int(found[0]["nextRunAt"])] if found else []
    times += [int(held[0]["lockedUntil"])] if held else []
    return min(times) if times else None


def _release(store: Store, agenda: dict[str, Any], now_ms: int, changes: dict[str, Any]) -> str:
    """Apply ``changes`` and drop the lock, if this worker still holds it.

    Returns ``"done"``; ``"moved"`` when the agenda was moved while it ran
    (updateAgenda, from its own node no sooner than ``MIN_RERUN_MS`` ahead):
    the new time stands; ``"deleted"`` when it is gone; or ``"lost"`` when
    another worker holds it now."""
    held = {"_id": agenda["_id"], "lockToken": agenda["lockToken"]}
    stamp = {"lastFinishedAt": now_ms, "updatedAt": now_ms}
    unlock = {name: "" for name in INTERNAL}
    unmoved = {**held, "nextRunAt": agenda["nextRunAt"]}
    if store.update(AGENDAS, unmoved, {"$set": {**changes, **stamp}, "$unset": unlock}).matched:
        return "done"
    current = store.find_one(AGENDAS, {"_id": agenda["_id"]})
    if current is None:
        return "deleted"  # by the run itself (newAgenda replace, deleteMemberAgenda) or meanwhile
    if current.get("lockToken") != agenda["lockToken"]:
        return "lost"
    kept = {key: changes[key] for key in ("runCount", "lastError") if key in changes}
    moved = store.update(AGENDAS, held, {"$set": {**kept, **stamp}, "$unset": unlock})
    return "moved" if moved.matched else "lost"


def succeeded(store: Store, agenda: dict[str, Any], now_ms: int) -> str:
    """After a good run: the next occurrence of a pattern before
    ``runUntil``, or completed. Returns ``"rescheduled"`` or ``"completed"``
    (``"lost"`` when the lock is no longer this worker's: nothing was written)."""
    runs = int(agenda.get("runCount") or 0) + 1
    following = _following(agenda, now_ms)
    if following is not None:
        return _outcome(
            _release(store, agenda, now_ms, {"nextRunAt": following, "failCount": 0, "runCount": runs}), "rescheduled"
        )
    return _outcome(_release(store, agenda, now_ms, {"completed": True, "failCount": 0, "runCount": runs}), "completed")


def postponed(store: Store, agenda: dict[str, Any], now_ms: int, next_run_at: int) -> str:
    """After a run that found it too early: run again at ``next_run_at``.
    Returns ``"rescheduled"`` (``"lost"``, ``"moved"`` or ``"deleted"`` as for any release)."""
    return _outcome(_release(store, agenda, now_ms, {"nextRunAt": next_run_at}), "rescheduled")


def failed(
    store: Store,
    agenda: dict[str, Any],
    now_ms: int,
    error: dict[str, Any],
    *,
    retry_ms: int,
    max_attempts: int,
    permanent: bool = False,
) -> str:
    """After a failed run: retry with backoff (``retry_ms``, doubling), or,
    after ``max_attempts`` runs (or at once when ``permanent``), give up
    this occurrence. Returns ``"retry"``, ``"rescheduled"`` or ``"failed"``
    (``"lost"`` when the lock is no longer this worker's: nothing was written)."""
    fails = int(agenda.get("failCount") or 0) + 1
    record = {"lastError": {**error, "at": now_ms}, "runCount": int(agenda.get("runCount") or 0) + 1}
    if not permanent and fails < max_attempts:
        wait = retry_ms * 2 ** (fails - 1)
        return _outcome(
            _release(store, agenda, now_ms, {**record, "failCount": fails, "nextRunAt": now_ms + wait}), "retry"
        )
    following = None if permanent else _following(agenda, now_ms)
    if following is not None:
        return _outcome(
            _release(store, agenda, now_ms, {**record, "failCount": 0, "nextRunAt": following}), "rescheduled"
        )
    changes = {**record, "failCount": fails, "completed": True, "failed": True}
    return _outcome(_release(store, agenda, now_ms, changes), "failed")


def skipped(store: Store, agenda: dict[str, Any], now_ms: int, reason: str) -> str:
    """Complete an agenda without running it (an unsubscribed member).
    Returns ``"skipped"`` (``"lost"`` when the lock is no longer this worker's)."""
    return _outcome(_release(store, agenda, now_ms, {"completed": True, "skipped": reason}), "skipped")


def _outcome(released: str, outcome: str) -> str:
    """``outcome`` when the write landed as planned; else ``"moved"`` (the
    run moved its own agenda), ``"deleted"`` (the agenda is gone) or
    ``"lost"`` (the lock had expired and another worker took the job)."""
    return outcome if released == "done" else released


def _following(agenda: dict[str, Any], now_ms: int) -> int | None:
    """A pattern's next occurrence after this one (and after now: missed
    occurrences are not run one by one), if it is not past ``runUntil``."""
    pattern = agenda.get("pattern")
    if not pattern:
        return None
    after = max(int(agenda["nextRunAt"]), now_ms)
    try:
        following = next_run(pattern, after, agenda.get("timezone"))
    except ValueError:
        return None
    run_until = agenda.get("runUntil")
    return following if run_until is None or following <= int(run_until) else None
