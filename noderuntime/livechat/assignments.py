"""Assignments and groups: the documents of a live chat.

An **assignment** is one request to hand a member to human agents::

    {_id, _version, app, member, inlet, outlet, outletType, label, target, targets,
     assignmentDetails, relayMessage, history, meta, group, groupInfo, inletGroupInfo,
     isZendesk, status ("pending" | "assigned" | "ended"), active, assignee, assignedAt,
     expiry, lastActivityAt, endedAt, endReason, parentAssignment, outletState, outboxSeq,
     createdAt, updatedAt, etag}

``inlet`` is the member's channel; ``outlet`` the channel agents answer on,
found through the app's ``pairingChannels`` and the outlet's
``broadcastGroups`` (or the request's own ``targets``). ``active`` is set
while the live chat lasts: a unique index makes it one per member.

A **group** links the member, the inlet, the outlet and the assignment to the
conversation in the outlet (its ``externalId``)::

    {_id, _version, app, member, inlet, outlet, assignment, name, type, externalId,
     admin, adminExternalId, botId, inletGroupExternalId, meta, valid, active,
     createdAt, updatedAt}
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from noderuntime.errors import MethodError, NotFound, ParamError, StoreError
from noderuntime.store import Store
from noderuntime.store.guard import check_document
from noderuntime.store.ids import for_script, match_id
from noderuntime.store.schema import APPS, ASSIGNMENTS, CHANNELS, GROUPS, MEMBERS

#: Outlet types this runtime hands members to: the request goes straight to
#: the channel (no ticket), and other targets are ignored.
OUTLET_TYPES = ("custom", "rocketchat", "supportboard")
#: The broadcast group label used when a request names none.
DEFAULT_LABEL = "default"
#: Fields of an assignment that belong to the runtime; scripts never see them
#: (``outletState`` holds credentials such as a Rocket.Chat visitor token).
INTERNAL = ("outletState", "outboxSeq", "active")
#: Fields of a group that a script's ``updateGroup`` cannot change.
GROUP_FIXED = ("_id", "app", "member", "inlet", "outlet", "assignment", "createdAt")


@dataclass(frozen=True)
class Target:
    """Where a request goes: the outlet channel and the broadcast group picked."""

    channel: dict[str, Any]
    group: dict[str, Any] | None
    #: The targets as recorded on the assignment ({channel, broadcastGroups, label}).
    targets: list[dict[str, Any]]


def for_author(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """An assignment or group as scripts see it (ids as strings, no internals)."""
    if document is None:
        return None
    return for_script({key: value for key, value in document.items() if key not in INTERNAL})


# Finding the outlet ----------------------------------------------------------------


def check_targets(targets: Any) -> str | None:
    """The problem with a ``targets`` parameter, or None."""
    if not targets:
        return "must list at least one target"
    for index, target in enumerate(targets):
        if not isinstance(target, dict) or not isinstance(target.get("channel"), str):
            return f"[{index}] must be an object with a channel id (string)"
        groups = target.get("broadcastGroups")
        if groups is not None and (
            not isinstance(groups, list)
            or not all(isinstance(g, dict) and isinstance(g.get("type"), str) for g in groups)
        ):
            return f"[{index}].broadcastGroups must be a list of objects with a type"
        if target.get("label") is not None and not isinstance(target.get("label"), str):
            return f"[{index}].label must be a string"
        try:
            check_document(target, f"[{index}]")
        except MethodError as error:
            return error.message
    return None


def resolve_target(
    store: Store, app: str, inlet: Any, label: str | None, targets: list[dict[str, Any]] | None
) -> Target:
    """The outlet a request from ``inlet`` goes to.

    ``targets`` override the pairing; otherwise the app's ``pairingChannels``
    name the inlet's outlets and each outlet's ``broadcastGroups`` with the
    label (``"default"`` when none is given) decide. An outlet without
    broadcast groups takes the default label. The first target whose type this
    runtime serves wins (custom, Rocket.Chat and Support Board take the request
    directly: other targets are ignored, as on the original platform).
    """
    label = label or DEFAULT_LABEL
    candidates: list[tuple[dict[str, Any], list[dict[str, Any]], str]] = []
    if targets:
        for target in targets:
            channel = _channel(store, app, target["channel"])
            if channel is None:
                raise NotFound(f"target channel {target['channel']} does not exist in this app")
            wanted = target.get("label") or label
            groups = target.get("broadcastGroups")
            if groups is None:
                groups = _groups_labelled(channel, wanted)
            candidates.append((channel, list(groups or []), wanted))
    else:
        for outlet in _paired_outlets(store, app, inlet):
            channel = _channel(store, app, outlet)
            if channel is None:
                continue  # a pairing left behind by a deleted channel
            groups = _groups_labelled(channel, label)
            if groups is None:
                continue
            candidates.append((channel, groups, label))
        if not candidates:
            raise NotFound(
                f"no outlet channel is paired with inlet {for_script(inlet)} with broadcast groups labelled "
                f"{label!r}: add the pairing to the app's pairingChannels, or give targets"
            )
    recorded = [
        {"channel": str(for_script(c["_id"])), "broadcastGroups": for_script(g), "label": lab}
        for c, g, lab in candidates
    ]
    for channel, groups, _label in candidates:
        if channel.get("type") in OUTLET_TYPES:
            return Target(channel, groups[0] if groups else None, recorded)
    kinds = ", ".join(sorted({str(c.get("type")) for c, _g, _l in candidates}))
    raise ParamError(
        f"no target is a live-chat outlet this runtime serves (targets are {kinds}; served: {', '.join(OUTLET_TYPES)})"
    )


def _channel(store: Store, app: str, channel_id: Any) -> dict[str, Any] | None:
    return store.find_one(CHANNELS, {"_id": match_id(channel_id), "app": match_id(app)})


def _paired_outlets(store: Store, app: str, inlet: Any) -> list[Any]:
    """The outlets the app pairs with ``inlet``: ``pairingChannels`` entries
    ``{inlet, outlet}`` or ``{inlet, outlets: [...]}``, in order."""
    document = store.find_one(APPS, {"_id": match_id(app)}) or {}
    found: list[Any] = []
    inlet_id = str(for_script(inlet))
    for pairing in document.get("pairingChannels") or []:
        if not isinstance(pairing, dict) or str(for_script(pairing.get("inlet"))) != inlet_id:
            continue
        outlets = pairing.get("outlets") if isinstance(pairing.get("outlets"), list) else [pairing.get("outlet")]
        found.extend(o for o in outlets if o is not None and o not in found)
    return found


def _groups_labelled(channel: dict[str, Any], label: str) -> list[dict[str, Any]] | None:
    """The channel's broadcast groups with ``label``; ``[]`` for a channel
    without groups asked for the default label; None when it has none."""
    groups = [g for g in channel.get("broadcastGroups") or [] if isinstance(g, dict)]
    if not groups:
        return [] if label == DEFAULT_LABEL else None
    labelled = [g for g in groups if (g.get("label") or DEFAULT_LABEL) == label]
    return labelled or None


# Creating and ending ----------------------------------------------------------------


def create(
    store: Store,
    now: int,
    *,
    app: str,
    member: dict[str, Any],
    target: Target,
    label: str | None,
    details: dict[str, Any],
    meta: dict[str, Any] | None,
    history: bool,
    create_group: dict[str, Any] | None,
    expiry: int,
    parent: Any = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Store a new active assignment (and its group, with ``create_group``).
    A member already in a live chat is refused."""
    assignment_id = ObjectId()
    group_id = ObjectId() if create_group is not None else None
    channel = target.channel
    assignment = {
        "_id": assignment_id,
        "_version": 1,
        "app": member["app"],
        "member": member["_id"],
        "inlet": member.get("channel"),
        "outlet": channel["_id"],
        "outletType": channel.get("type"),
        "label": label or DEFAULT_LABEL,
        "target": target.group,
        "targets": target.targets,
        "assignmentDetails": details,
        "relayMessage": details.get("relayMessage") if isinstance(details.get("relayMessage"), dict) else {},
        "history": history,
        "meta": meta or {},
        "group": group_id,
        "groupInfo": {},
        "inletGroupInfo": {},
        "isZendesk": channel.get("type") == "zendesk",
        "status": "pending",
        "active": True,
        "assignee": None,
        "assignedAt": None,
        "expiry": expiry,
        "lastActivityAt": now,
        "parentAssignment": parent,
        "outletState": {},
        "outboxSeq": 0,
        "createdAt": now,
        "updatedAt": now,
        "etag": uuid.uuid4().hex,
    }
    try:
        store.insert_one(ASSIGNMENTS, assignment)
    except StoreError:
        current = active_for(store, app, member["_id"])
        where = f" (assignment {for_script(current['_id'])})" if current else ""
        raise ParamError(
            f"member {for_script(member['_id'])} is already in a live chat{where}: end it first, or reassign it"
        ) from None
    group = None
    if group_id is not None:
        group = {
            "_id": group_id,
            "_version": 1,
            "app": member["app"],
            "member": member["_id"],
            "inlet": member.get("channel"),
            "outlet": channel["_id"],
            "assignment": assignment_id,
            "name": details.get("groupName") if isinstance(details.get("groupName"), str) else None,
            "type": channel.get("type"),
            "externalId": (create_group or {}).get("externalId"),
            "admin": None,
            "adminExternalId": None,
            "botId": channel.get("botId"),
            "inletGroupExternalId": None,
            "meta": {},
            "valid": True,
            "active": True,
            "createdAt": now,
            "updatedAt": now,
        }
        store.insert_one(GROUPS, group)
    return assignment, group


def active_for(store: Store, app: str, member_id: Any) -> dict[str, Any] | None:
    """The member's live chat in progress, if any."""
    return store.find_one(ASSIGNMENTS, {"app": match_id(app), "member": match_id(member_id), "active": True})


def finish(store: Store, now: int, assignment_id: Any, reason: str) -> dict[str, Any] | None:
    """Mark the assignment ended (once: None when it already was), clear the
    member's ``liveChat`` and inactivate its group. Returns the assignment as it is now."""
    ended = store.find_one_and_update(
        ASSIGNMENTS,
        {"_id": assignment_id, "active": True},
        {
            "$set": {"status": "ended", "endedAt": now, "endReason": reason, "updatedAt": now},
            "$unset": {"active": ""},
            "$inc": {"_version": 1},
        },
        return_new=True,
    )
    if ended is None:
        return None
    store.update(
        MEMBERS,
        {"_id": ended["member"], "app": ended["app"]},
        {"$set": {"botMeta.liveChat": False, "updatedAt": now}, "$unset": {"group": ""}},
    )
    if ended.get("group") is not None:
        store.update(
            GROUPS,
            {"_id": ended["group"]},
            {"$set": {"active": False, "valid": False, "updatedAt": now}, "$inc": {"_version": 1}},
        )
    return ended


def find(store: Store, app: str, document_id: Any, collection: str = ASSIGNMENTS) -> dict[str, Any] | None:
    """The app's assignment (or group, with ``collection=GROUPS``) with this id."""
    return store.find_one(collection, {"_id": match_id(document_id), "app": match_id(app)})


def required(store: Store, app: str, document_id: Any, method: str, collection: str = ASSIGNMENTS) -> dict[str, Any]:
    """The app's assignment (or group) with this id, or NotFound naming the method."""
    found = find(store, app, document_id, collection)
    if found is None:
        what = "group" if collection == GROUPS else "assignment"
        raise NotFound(f"{method}: no {what} {document_id} in this app")
    return found


def save_fields(
    store: Store, collection: str, document: dict[str, Any], sets: dict[str, Any], now: int
) -> tuple[dict[str, Any] | None, int]:
    """``$set`` fields of a stored assignment or group (a new ``_version``);
    ``(the document as saved, how many were modified)``."""
    outcome = store.update(
        collection, {"_id": document["_id"]}, {"$set": {**sets, "updatedAt": now}, "$inc": {"_version": 1}}
    )
    return store.find_one(collection, {"_id": document["_id"]}), outcome.modified
