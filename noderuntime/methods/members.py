"""Member methods: read and change the calling app's members.

A member's ``_id``, ``app``, ``channel`` and ``createdAt`` never change: a
patch that touches them is refused and a replacement keeps them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from noderuntime.errors import NotFound, ParamError, PermissionDenied
from noderuntime.methods import method
from noderuntime.methods.params import param
from noderuntime.methods.scope import FIND_AND_MODIFY_PARAMS, app_of, find_and_modify_options, scoped, shaped, updated
from noderuntime.store.guard import check_field_name, check_sort
from noderuntime.store.schema import MEMBERS
from noderuntime.store.updates import Change, build_change, stamp_replacement, stamp_update

if TYPE_CHECKING:
    from noderuntime.runtime import Run

#: Fields of a member no script may change.
PROTECTED = ("_id", "app", "channel", "createdAt")
#: "The first match" of a filter: the oldest member (ids break ties).
OLDEST_FIRST = [("createdAt", 1), ("_id", 1)]
#: Fields the store maintains; a script's value for them is ignored.
MAINTAINED = ("updatedAt",)


def _by_id(run: Run, member_id: str) -> dict[str, Any]:
    return scoped(run, {"_id": member_id})


def _find_and_change(
    run: Run,
    query: dict[str, Any],
    change: Change,
    *,
    sort: list[tuple[str, int]] | None,
    return_new: bool,
    projection: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The one way a member is changed: atomically, by operators or a
    replacement that keeps the protected fields."""
    now = run.now_ms()
    if change.replacement:
        return run.store.find_one_and_replace(
            MEMBERS,
            query,
            lambda current: stamp_replacement(change.document, current, now, kept=PROTECTED[1:]),
            sort=sort,
            return_new=return_new,
            projection=projection,
        )
    return run.store.find_one_and_update(
        MEMBERS, query, stamp_update(change.document, now), sort=sort, return_new=return_new, projection=projection
    )


@method(memberId=param(str, required=True))
def getMember(run: Run, *, memberId: str) -> dict[str, Any] | None:
    """The member with this id in the calling app, or null."""
    return shaped(run.store.find_one(MEMBERS, _by_id(run, memberId)))


@method(member=param(dict, required=True))
def updateMember(run: Run, *, member: dict[str, Any]) -> dict[str, Any]:
    """Save the fields of ``member`` (matched by its ``_id``) with ``$set``.
    Returns ``{_docsIds: {updated: [id]}, _docs: member, modified}``."""
    member_id = member.get("_id")
    if not isinstance(member_id, str):
        raise ParamError("updateMember: member._id must be the member's id (a string)")
    stored = run.store.find_one(MEMBERS, _by_id(run, member_id))
    if stored is None:
        raise NotFound(f"updateMember: no member {member_id} in this app")
    fields = {}
    for name, value in member.items():
        check_field_name(name, "member")  # saved field by field: an operator here is not an update
        if name in PROTECTED:
            if name != "_id" and shaped(stored.get(name)) != value:
                raise PermissionDenied(f"updateMember cannot change {name}")
            continue
        if name not in MAINTAINED:
            fields[name] = value
    if not fields:
        raise ParamError("updateMember: member has no fields to save besides its ids")
    change = build_change(fields, with_modifier=False, protected=PROTECTED, where="member")
    outcome = run.store.update(MEMBERS, {"_id": stored["_id"]}, stamp_update(change.document, run.now_ms()))
    saved = run.store.find_one(MEMBERS, {"_id": stored["_id"]})
    return updated([member_id], shaped(saved), outcome.modified)


@method(
    channel=param(dict),
    memberId=param(str),
    filter=param(dict),
    patch=param(dict, required=True),
    withModifier=param(bool, default=False),
)
def patchMembers(
    run: Run,
    *,
    channel: dict[str, Any] | None,
    memberId: str | None,
    filter: dict[str, Any] | None,
    patch: dict[str, Any],
    withModifier: bool,
) -> dict[str, Any]:
    """Patch one member: the one with ``memberId``, or the first (oldest)
    match of ``filter``; ``channel`` narrows to that channel. Returns
    ``{result: member}`` after the change (``result: null`` when none
    matched)."""
    if memberId is None and filter is None:
        raise ParamError("patchMembers: give memberId or filter")
    channel_id = None
    if channel is not None:
        channel_id = channel.get("_id")
        if not isinstance(channel_id, str):
            raise ParamError("patchMembers: channel._id must be the channel's id (a string)")
        if channel.get("app") not in (None, app_of(run)):
            raise PermissionDenied("patchMembers: the channel belongs to another app")
    query = dict(filter or {})
    if memberId is not None:
        query = {"$and": [{"_id": memberId}, query]} if query else {"_id": memberId}
    change = build_change(patch, withModifier, PROTECTED)
    found = _find_and_change(run, scoped(run, query, channel=channel_id), change, sort=OLDEST_FIRST, return_new=True)
    return {"result": shaped(found)}


@method(**FIND_AND_MODIFY_PARAMS)
def findAndModifyMember(
    run: Run,
    *,
    filter: dict[str, Any],
    patch: dict[str, Any],
    withModifier: bool,
    sortBy: dict[str, Any] | None,
    option: dict[str, Any] | None,
) -> dict[str, Any]:
    """Atomically find the first matching member and change it. Returns
    ``{ok: 1, member}``: before the change, or after it with ``option.new``;
    ``member: null`` when none matched."""
    return_new, _upsert, projection = find_and_modify_options(option, allow_upsert=False)
    change = build_change(patch, withModifier, PROTECTED)
    found = _find_and_change(
        run, scoped(run, filter), change, sort=check_sort(sortBy), return_new=return_new, projection=projection
    )
    return {"ok": 1, "member": shaped(found)}


@method(memberId=param(str, required=True), referFrom=param(str, required=True))
def checkAndSaveMemberReferFrom(run: Run, *, memberId: str, referFrom: str) -> dict[str, Any]:
    """Record the channel that referred the member, once: the first referral
    is kept. Returns the member."""
    query = scoped(run, {"_id": memberId, "referFrom": {"$exists": False}})
    saved = run.store.find_one_and_update(
        MEMBERS, query, stamp_update({"$set": {"referFrom": referFrom}}, run.now_ms()), return_new=True
    )
    if saved is None:
        saved = run.store.find_one(MEMBERS, _by_id(run, memberId))
    if saved is None:
        raise NotFound(f"checkAndSaveMemberReferFrom: no member {memberId} in this app")
    return shaped(saved)
