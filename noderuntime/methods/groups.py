"""Group methods: read and change the groups that link a member's live chat
to its conversation in the outlet (see :mod:`noderuntime.livechat.assignments`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from noderuntime.errors import NotFound, ParamError, PermissionDenied
from noderuntime.livechat import assignments, desk
from noderuntime.methods import method
from noderuntime.methods.params import param
from noderuntime.methods.scope import app_of, updated
from noderuntime.store.guard import check_document, check_field_name
from noderuntime.store.ids import for_script, match_id
from noderuntime.store.schema import ASSIGNMENTS, GROUPS, MEMBERS

if TYPE_CHECKING:
    from noderuntime.runtime import Run

#: Active groups first, then the newest.
CURRENT_FIRST = [("active", -1), ("createdAt", -1), ("_id", -1)]


def _one(run: Run, query: dict[str, Any]) -> dict[str, Any] | None:
    found = run.store.find(GROUPS, {"app": match_id(app_of(run)), **query}, sort=CURRENT_FIRST, limit=1)
    return assignments.for_author(found[0]) if found else None


@method(groupId=param(str, required=True))
def getGroup(run: Run, *, groupId: str) -> dict[str, Any] | None:
    """The group with this id, or null."""
    return assignments.for_author(assignments.find(run.store, app_of(run), groupId, GROUPS))


@method(
    adminExternalId=param(str, required=True),
    groupId=param(str, required=True),
    channelId=param(str, required=True),
    type=param(str),
)
def getGroupByExternalId(
    run: Run, *, adminExternalId: str, groupId: str, channelId: str, type: str | None
) -> dict[str, Any] | None:
    """The group of the outlet channel whose conversation id is ``groupId``
    and whose agent is ``adminExternalId`` (and of ``type``, if given), or null."""
    query: dict[str, Any] = {"externalId": groupId, "adminExternalId": adminExternalId, "outlet": match_id(channelId)}
    if type is not None:
        query["type"] = type
    return _one(run, query)


@method(groupExternalId=param(str, required=True))
def getGroupByGroupExternalId(run: Run, *, groupExternalId: str) -> dict[str, Any] | None:
    """The group whose conversation id in the outlet is ``groupExternalId`` (the current one first), or null."""
    return _one(run, {"externalId": groupExternalId})


@method(inletGroupExternalId=param(str, required=True), inlet=param(str, required=True))
def getGroupByInletGroup(run: Run, *, inletGroupExternalId: str, inlet: str) -> dict[str, Any] | None:
    """The group of an inlet group (a WhatsApp or Teams group on the inlet channel), or null."""
    return _one(run, {"inletGroupExternalId": inletGroupExternalId, "inlet": match_id(inlet)})


@method(inlet=param(str, required=True), memberId=param(str, required=True))
def getGroupByMemberId(run: Run, *, inlet: str, memberId: str) -> dict[str, Any] | None:
    """The member's group on the inlet channel (the active one first), or null."""
    return _one(run, {"member": match_id(memberId), "inlet": match_id(inlet)})


@method(group=param(dict, required=True))
def updateGroup(run: Run, *, group: dict[str, Any]) -> dict[str, Any]:
    """Save the fields of ``group`` (matched by its ``_id``). The ids linking it
    (member, inlet, outlet, assignment, app) cannot change."""
    group_id = group.get("_id")
    if not isinstance(group_id, str):
        raise ParamError("updateGroup: group._id must be the group's id (a string)")
    stored = assignments.required(run.store, app_of(run), group_id, "updateGroup", GROUPS)
    sets: dict[str, Any] = {}
    for name, value in group.items():
        check_field_name(name, "group")
        if name in assignments.INTERNAL:
            raise PermissionDenied(
                f"updateGroup: {name} belongs to the runtime (end or inactivate the live chat instead)"
            )
        if name in assignments.GROUP_FIXED:
            if name != "_id" and for_script(stored.get(name)) != value:
                raise PermissionDenied(f"updateGroup: cannot change {name}")
            continue
        if name not in ("updatedAt", "_version"):
            sets[name] = value
    if not sets:
        raise ParamError("updateGroup: group has no fields to save besides its ids")
    check_document(sets, "group")
    return _save(run, stored, sets)


@method(groupId=param(str, required=True), meta=param(dict, required=True))
def updateGroupMeta(run: Run, *, groupId: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Merge ``meta`` into the group's meta (key by key)."""
    stored = assignments.required(run.store, app_of(run), groupId, "updateGroupMeta", GROUPS)
    check_document(meta, "meta")
    return _save(run, stored, {f"meta.{key}": value for key, value in meta.items()})


def _save(run: Run, stored: dict[str, Any], sets: dict[str, Any]) -> dict[str, Any]:
    saved, modified = assignments.save_fields(run.store, GROUPS, stored, sets, run.now_ms())
    return updated([str(for_script(stored["_id"]))], [assignments.for_author(saved)], modified)


@method(groupId=param(str, required=True))
def inactivateGroup(run: Run, *, groupId: str) -> dict[str, Any]:
    """Inactivate a live-chat group, which ends its live chat (the outlet
    conversation is closed, ``liveChat`` false again). Returns the updated group."""
    stored = assignments.required(run.store, app_of(run), groupId, "inactivateGroup", GROUPS)
    now = run.now_ms()
    assignment = run.store.find_one(ASSIGNMENTS, {"_id": stored.get("assignment"), "active": True})
    if assignment is not None:
        desk.end(run.store, now, run.runtime.config.livechat, assignment, "bot")
    if assignment is None:  # else ending the live chat inactivated it
        run.store.update(
            GROUPS,
            {"_id": stored["_id"]},
            {"$set": {"active": False, "valid": False, "updatedAt": now}, "$inc": {"_version": 1}},
        )
    return assignments.for_author(run.store.find_one(GROUPS, {"_id": stored["_id"]}))  # type: ignore[return-value]


@method(channel=param(dict, required=True), messageEvent=param(dict, required=True))
def saveGroupIdToMember(run: Run, *, channel: dict[str, Any], messageEvent: dict[str, Any]) -> dict[str, Any]:
    """Save, on the member who sent ``messageEvent`` on ``channel``, the id of
    the group the message came from (its ``groupId``: the inlet group or the
    outlet conversation). Returns ``{clientMutationId}``."""
    app = app_of(run)
    channel_id = channel.get("_id")
    if not isinstance(channel_id, str):
        raise ParamError("saveGroupIdToMember: channel must be a channel object with its _id")
    sender, group_ref = messageEvent.get("from"), messageEvent.get("groupId")
    if not isinstance(sender, str) or not isinstance(group_ref, str):
        raise ParamError("saveGroupIdToMember: messageEvent needs from (the member) and groupId (the group)")
    member = run.store.find_one(MEMBERS, {"app": match_id(app), "channel": match_id(channel_id), "externalId": sender})
    if member is None:
        raise NotFound(f"saveGroupIdToMember: no member {sender} on channel {channel_id}")
    found = run.store.find(
        GROUPS,
        {"app": match_id(app), "$or": [{"inletGroupExternalId": group_ref}, {"externalId": group_ref}]},
        sort=CURRENT_FIRST,
        limit=1,
    )
    if not found:
        raise NotFound(f"saveGroupIdToMember: no group {group_ref} in this app")
    run.store.update(MEMBERS, {"_id": member["_id"]}, {"$set": {"group": found[0]["_id"], "updatedAt": run.now_ms()}})
    return {"clientMutationId": str(for_script(member["_id"]))}
