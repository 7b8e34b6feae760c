"""Agenda methods: run a node for a member later, or on a CRON pattern.

The scheduler (``noderuntime agenda``) runs what these methods store; see
:mod:`noderuntime.engine.agenda`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from noderuntime.engine.agenda.agendas import for_author, soonest
from noderuntime.engine.agenda.schedule import app_timezone, check_pattern, check_time, is_known_zone, next_run
from noderuntime.engine.trees import TreeError, load_tree
from noderuntime.errors import NotFound, ParamError, QuotaExceeded
from noderuntime.methods import method
from noderuntime.methods.params import param
from noderuntime.methods.scope import app_of, scoped
from noderuntime.store.guard import check_document
from noderuntime.store.ids import match_id
from noderuntime.store.schema import AGENDAS, MEMBERS

if TYPE_CHECKING:
    from noderuntime.runtime import Run

#: The most agendas one updateAgenda changes.
MAX_UPDATED = 1000
#: The most pending agendas one member may have.
MAX_PENDING = 100

_SCHEDULE = {
    "treeId": param(str),
    "nodeCompositeId": param(str),
    "nextRunAt": param(int),
    "pattern": param(str),
    "runUntil": param(int),
    "priority": param(int),
    "meta": param(dict),
    "replace": param(bool, default=False),
    "tag": param(str),
}


def _member(run: Run, member_id: str) -> dict[str, Any]:
    stored = run.store.find_one(MEMBERS, scoped(run, {"_id": member_id}))
    if stored is None:
        raise NotFound(f"no member {member_id} in this app")
    return stored


def _check_node(run: Run, tree_id: str, node_id: str) -> None:
    try:
        load_tree(run.store, app_of(run), tree_id).node(node_id)
    except TreeError as error:
        raise NotFound(str(error)) from None


def _check_times(nextRunAt: int | None, runUntil: int | None) -> None:
    for name, value in (("nextRunAt", nextRunAt), ("runUntil", runUntil)):
        problem = None if value is None else check_time(value, name)
        if problem:
            raise ParamError(problem)


def _schedule(
    run: Run, nextRunAt: int | None, pattern: str | None, runUntil: int | None, timezone: str
) -> dict[str, Any]:
    """``nextRunAt``/``pattern``/``runUntil`` checked; the first run worked
    out. A time in the past means now: it runs at once, in turn with the
    agendas already due (an old time would put it ahead of them); planned
    from an agenda's own run, no sooner than ``MIN_RERUN_MS`` from now."""
    _check_times(nextRunAt, runUntil)
    if nextRunAt is None and pattern is None:
        raise ParamError("give nextRunAt (epoch ms) or pattern (CRON)")
    if pattern is None:
        if runUntil is not None:
            raise ParamError("'runUntil' goes with 'pattern'; a one-time agenda runs once at nextRunAt")
        return {"nextRunAt": max(nextRunAt, soonest(run.now_ms()))}
    problem = check_pattern(pattern)
    if problem:
        raise ParamError(problem)
    if not is_known_zone(timezone):
        run.warn(f"the app's time zone {timezone!r} is not a known zone; the pattern runs in UTC")
    if runUntil is None:
        raise ParamError("'runUntil' is required with 'pattern' (epoch ms of the last run)")
    try:
        earliest = soonest(run.now_ms())
        first = max(nextRunAt, earliest) if nextRunAt is not None else next_run(pattern, earliest, timezone)
    except ValueError as error:
        raise ParamError(str(error)) from None
    if first > runUntil:
        raise ParamError(f"'runUntil' ({runUntil}) is before the first run ({first}): the agenda would never run")
    return {"nextRunAt": first, "pattern": pattern, "runUntil": runUntil, "timezone": timezone}


def _tag(replace: bool, tag: str | None) -> None:
    if replace and not tag:
        raise ParamError("'tag' is required when 'replace' is true (the agendas with that tag are replaced)")
    if tag is not None and not tag.strip():
        raise ParamError("'tag' must not be empty")


@method(memberId=param(str), member=param(dict), **_SCHEDULE)
def newAgenda(
    run: Run,
    *,
    memberId: str | None,
    member: dict[str, Any] | None,
    treeId: str | None,
    nodeCompositeId: str | None,
    nextRunAt: int | None,
    pattern: str | None,
    runUntil: int | None,
    priority: int | None,
    meta: dict[str, Any] | None,
    replace: bool,
    tag: str | None,
) -> dict[str, Any]:
    """Plan a run of ``treeId``/``nodeCompositeId`` for a member, at
    ``nextRunAt`` or on ``pattern`` until ``runUntil``. With ``replace``, the
    member's agendas with the same ``tag`` are removed first. Returns the
    agenda created."""
    given = member.get("_id") if member is not None else None
    if member is not None and not isinstance(given, str):
        raise ParamError("member._id must be the member's id (a string)")
    if memberId is not None and given is not None and memberId != given:
        raise ParamError("memberId and member._id name different members")
    member_id = memberId or given
    if member_id is None:
        raise ParamError("give memberId (or member)")
    if treeId is None or nodeCompositeId is None:
        raise ParamError("'treeId' and 'nodeCompositeId' are required: the node the agenda runs")
    _tag(replace, tag)
    stored = _member(run, member_id)
    _check_node(run, treeId, nodeCompositeId)
    app = app_of(run)
    schedule = _schedule(run, nextRunAt, pattern, runUntil, app_timezone(run.store, app))
    meta = check_document(meta if meta is not None else {}, "meta")
    if replace:
        run.store.delete(AGENDAS, _of_member(run, stored, tag))
    pending = run.store.count(AGENDAS, _of_member(run, stored, None), limit=MAX_PENDING + 1)
    if pending >= MAX_PENDING:
        raise QuotaExceeded(
            f"member {member_id} has {MAX_PENDING} pending agendas, the most one member may have "
            "(replace them by tag, or delete some with deleteMemberAgenda)"
        )
    now = run.now_ms()
    agenda = {
        "app": stored["app"],
        "channel": stored.get("channel"),
        "member": stored["_id"],
        "tree": treeId,
        "nodeCompositeId": nodeCompositeId,
        **schedule,
        "priority": priority or 0,
        "meta": meta,
        "tag": tag,
        "completed": False,
        "runCount": 0,
        "failCount": 0,
        "createdAt": now,
        "updatedAt": now,
    }
    agenda["_id"] = run.store.insert_one(AGENDAS, agenda)
    return for_author(agenda) or {}


@method(memberId=param(str, required=True), **_SCHEDULE)
def updateAgenda(
    run: Run,
    *,
    memberId: str,
    treeId: str | None,
    nodeCompositeId: str | None,
    nextRunAt: int | None,
    pattern: str | None,
    runUntil: int | None,
    priority: int | None,
    meta: dict[str, Any] | None,
    replace: bool,
    tag: str | None,
) -> dict[str, Any]:
    """Change the member's pending agendas (those with ``tag``, or all of
    them). Only the fields given change; with ``replace``, the schedule,
    priority and meta are replaced whole (left out means none). Returns
    ``{_docsIds: {updated: [ids]}, _docs: [agendas], modified}``."""
    _tag(False, tag)
    stored = _member(run, memberId)
    selected = run.store.find(AGENDAS, _of_member(run, stored, tag), limit=MAX_UPDATED)
    sets: dict[str, Any] = {}
    unsets: dict[str, Any] = {}
    if replace or pattern is not None:
        schedule = _schedule(run, nextRunAt, pattern, runUntil, app_timezone(run.store, app_of(run)))
        sets.update(schedule, failCount=0)
        unsets.update({name: "" for name in ("pattern", "runUntil", "timezone") if name not in schedule})
    else:
        # Without a new pattern, a repeating agenda keeps it: nextRunAt moves
        # its next run only, runUntil its end.
        _check_times(nextRunAt, runUntil)
        if nextRunAt is not None:
            sets.update(nextRunAt=max(nextRunAt, soonest(run.now_ms())), failCount=0)
        if runUntil is not None:
            sets["runUntil"] = runUntil
    if priority is not None or replace:
        sets["priority"] = priority or 0
    if meta is not None or replace:
        sets["meta"] = check_document(meta if meta is not None else {}, "meta")
    if treeId is not None:
        sets["tree"] = treeId
    if nodeCompositeId is not None:
        sets["nodeCompositeId"] = nodeCompositeId
    if not sets:
        raise ParamError(
            "nothing to update: give nextRunAt, pattern, runUntil, priority, meta, treeId or nodeCompositeId"
        )
    updated, docs, modified = [], [], 0
    for agenda in selected:
        if treeId is not None or nodeCompositeId is not None:
            _check_node(run, treeId or str(agenda["tree"]), nodeCompositeId or agenda["nodeCompositeId"])
        if (
            "runUntil" in sets
            and "pattern" not in sets
            and agenda.get("pattern")
            and sets["runUntil"] < agenda["nextRunAt"]
        ):
            raise ParamError(f"'runUntil' ({sets['runUntil']}) is before the agenda's next run ({agenda['nextRunAt']})")
    now = run.now_ms()
    for agenda in selected:
        update: dict[str, Any] = {"$set": {**sets, "updatedAt": now}}
        if unsets:
            update["$unset"] = unsets
        outcome = run.store.update(AGENDAS, {"_id": agenda["_id"], "completed": False}, update)
        if outcome.matched:
            updated.append(str(agenda["_id"]))
            modified += outcome.modified
            docs.append(for_author(run.store.find_one(AGENDAS, {"_id": agenda["_id"]})))
    return {"_docsIds": {"updated": updated}, "_docs": docs, "modified": modified}


@method(memberId=param(str, required=True), tag=param(str))
def deleteMemberAgenda(run: Run, *, memberId: str, tag: str | None) -> dict[str, Any]:
    """Delete the member's agendas with ``tag`` (or all the member's
    agendas). Returns ``{clientMutationId, deleted}``."""
    _tag(False, tag)
    query = scoped(
        run, {"member": match_id(memberId), **AUTHORS_AGENDAS, **({"tag": tag} if tag is not None else {})}
    )
    deleted = run.store.delete(AGENDAS, query)
    return {"clientMutationId": uuid.uuid4().hex, "deleted": deleted}


#: Agendas a script planned (the runtime's own, such as a live chat's timeout, have a ``kind``).
AUTHORS_AGENDAS = {"kind": {"$exists": False}}


def _of_member(run: Run, member: dict[str, Any], tag: str | None) -> dict[str, Any]:
    """The member's pending agendas (with ``tag``, if given)."""
    query: dict[str, Any] = {"member": match_id(member["_id"]), "completed": False, **AUTHORS_AGENDAS}
    if tag is not None:
        query["tag"] = tag
    return scoped(run, query)
