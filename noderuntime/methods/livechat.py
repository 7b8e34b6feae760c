"""Live-chat methods: hand a member to human agents, follow the request, end it,
and send messages across.

A request goes to the outlet channel the app pairs with the member's channel
(or the ``targets`` given). The outlet is called from the durable outbox
after the script: these methods never wait on it. See
:mod:`noderuntime.livechat` for the whole path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bson import ObjectId

from noderuntime.engine import history
from noderuntime.engine.sender import RecordingSender, check_response
from noderuntime.errors import NotFound, ParamError, PermissionDenied
from noderuntime.livechat import assignments, desk
from noderuntime.livechat.outbox import Outbox
from noderuntime.methods import method
from noderuntime.methods.params import param
from noderuntime.methods.scope import app_of, cut, read_limit, shaped, updated
from noderuntime.store.guard import check_document, check_filter, check_path
from noderuntime.store.ids import for_script, match_id
from noderuntime.store.schema import ASSIGNMENTS, CHANNELS, GROUPS, MEMBERS

if TYPE_CHECKING:
    from noderuntime.runtime import Run

#: Newest first: "the current assignment" is the latest one.
NEWEST_FIRST = [("createdAt", -1), ("_id", -1)]


def _settings(run: Run) -> Any:
    return run.runtime.config.livechat


def _stored_member(run: Run, member: dict[str, Any] | str, method_name: str) -> dict[str, Any]:
    """The stored member a ``member`` parameter (an object with ``_id``, or an id) names, in this app."""
    member_id = member.get("_id") if isinstance(member, dict) else member
    if not isinstance(member_id, str) or not member_id:
        raise ParamError(f"{method_name}: member must be a member object with its _id")
    stored = run.store.find_one(MEMBERS, {"_id": match_id(member_id), "app": match_id(app_of(run))})
    if stored is None:
        raise NotFound(f"{method_name}: no member {member_id} in this app")
    return stored


@method(
    member=param(dict, required=True),
    assignmentDetails=param(dict, default={}),
    label=param(str),
    history=param(bool, default=False),
    targets=param(list, check=assignments.check_targets),
    meta=param(dict),
    createGroup=param(dict),
    setLiveChatAgenda=param(bool, default=True),
)
def createAssignment(
    run: Run,
    *,
    member: dict[str, Any],
    assignmentDetails: dict[str, Any],
    label: str | None,
    history: bool,
    targets: list[dict[str, Any]] | None,
    meta: dict[str, Any] | None,
    createGroup: dict[str, Any] | None,
    setLiveChatAgenda: bool,
) -> dict[str, Any]:
    """Request live chat for the member: an assignment to the outlet the
    app pairs with the member's channel (``label`` picks the broadcast
    groups; ``targets`` override). The member's ``botMeta.liveChat`` is true
    from now on. Returns ``{member, assignmentId}`` and ``groupId`` with ``createGroup``."""
    stored = _stored_member(run, member, "createAssignment")
    check_document(assignmentDetails, "assignmentDetails")
    if meta is not None:
        check_document(meta, "meta")
    if createGroup is not None:
        external = createGroup.get("externalId")
        if external is not None and not isinstance(external, str):
            raise ParamError("createAssignment: createGroup.externalId must be a string")
    assignment, group, saved = desk.start(
        run.store,
        run.now_ms(),
        _settings(run),
        member=stored,
        label=label,
        targets=targets,
        details=assignmentDetails,
        meta=meta,
        history_wanted=history,
        create_group=createGroup,
        set_agenda=setLiveChatAgenda,
    )
    result = {"member": shaped(saved), "assignmentId": str(assignment["_id"])}
    if group is not None:
        result["groupId"] = str(group["_id"])
    return result


@method(
    assignmentId=param(str, required=True),
    liveChat=param(bool, default=True),
    targets=param(list, required=True, check=assignments.check_targets),
)
def addNewTargetsToAssignment(
    run: Run, *, assignmentId: str, liveChat: bool, targets: list[dict[str, Any]]
) -> dict[str, Any]:
    """Add targets to an assignment's record. Custom, Rocket.Chat and Support
    Board outlets take one conversation, so nothing more is sent. Returns
    ``{member, assignmentId}``."""
    app = app_of(run)
    found = assignments.required(run.store, app, assignmentId, "addNewTargetsToAssignment")
    for target in targets:
        if run.store.find_one(CHANNELS, {"_id": match_id(target["channel"]), "app": match_id(app)}) is None:
            raise NotFound(f"addNewTargetsToAssignment: target channel {target['channel']} does not exist in this app")
    run.store.update(
        ASSIGNMENTS,
        {"_id": found["_id"]},
        {"$push": {"targets": {"$each": targets}}, "$set": {"updatedAt": run.now_ms()}, "$inc": {"_version": 1}},
    )
    if not liveChat:
        run.warn("addNewTargetsToAssignment: liveChat false only matters for ticketing outlets (Slack, Teams)")
    member = run.store.find_one(MEMBERS, {"_id": found["member"]})
    return {"member": shaped(member), "assignmentId": assignmentId}


@method(assignmentId=param(str, required=True))
def getAssignment(run: Run, *, assignmentId: str) -> dict[str, Any] | None:
    """The assignment with this id, or null."""
    return assignments.for_author(assignments.find(run.store, app_of(run), assignmentId))


@method(channelId=param(str, required=True))
def getAssignmentByOutlet(run: Run, *, channelId: str) -> dict[str, Any] | None:
    """The live chat in progress on this outlet channel (the latest), or null."""
    query = {"app": match_id(app_of(run)), "outlet": match_id(channelId), "active": True}
    found = run.store.find(ASSIGNMENTS, query, sort=NEWEST_FIRST, limit=1)
    return assignments.for_author(found[0]) if found else None


@method(whatsappGroupId=param(str, required=True))
def getAssignmentByWhatsappGroupId(run: Run, *, whatsappGroupId: str) -> dict[str, Any] | None:
    """The assignment saved with this WhatsApp group id (updateAssignmentGroup), or null."""
    query = {"app": match_id(app_of(run)), "whatsappGroupId": whatsappGroupId}
    found = run.store.find(ASSIGNMENTS, query, sort=NEWEST_FIRST, limit=1)
    return assignments.for_author(found[0]) if found else None


def _listed(run: Run, method_name: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    limit = read_limit(run, None)
    found = run.store.find(ASSIGNMENTS, {"app": match_id(app_of(run)), **query}, sort=NEWEST_FIRST, limit=limit + 1)
    return [assignments.for_author(a) for a in cut(run, method_name, found, limit, None)]  # type: ignore[misc]


@method(memberId=param(str, required=True))
def getAssignmentsByMemberId(run: Run, *, memberId: str) -> list[dict[str, Any]]:
    """The member's assignments, newest first."""
    return _listed(run, "getAssignmentsByMemberId", {"member": match_id(memberId)})


@method(meta=param(dict, required=True))
def getAssignmentsByMeta(run: Run, *, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Assignments whose ``meta`` matches: each key is a condition on
    ``meta.<key>`` (a value, or MongoDB query operators). Newest first."""
    if not meta:
        raise ParamError("getAssignmentsByMeta: meta must name at least one field")
    for key in meta:
        check_path(f"meta.{key}", "getAssignmentsByMeta: meta")
    query = check_filter({f"meta.{key}": value for key, value in meta.items()}, "meta")
    return _listed(run, "getAssignmentsByMeta", query)


@method(assignmentId=param(str, required=True))
def getAssignmentsByParentAssignmentId(run: Run, *, assignmentId: str) -> list[dict[str, Any]]:
    """The assignments made by reassigning this one, newest first."""
    return _listed(run, "getAssignmentsByParentAssignmentId", {"parentAssignment": match_id(assignmentId)})


@method(
    channel=param(dict),
    groupName=param(str),
    label=param(str),
    liveChat=param(bool, default=True),
    inletGroup=param(bool, default=False),
    meta=param(dict),
    messageEvent=param(dict),
    previousAssignment=param(dict, required=True),
    relayMessage=param(str),
    summary=param(str),
    takenMessage=param(str),
    targets=param(list, check=assignments.check_targets),
)
def reassignAssignment(
    run: Run,
    *,
    channel: dict[str, Any] | None,
    groupName: str | None,
    label: str | None,
    liveChat: bool,
    inletGroup: bool,
    meta: dict[str, Any] | None,
    messageEvent: dict[str, Any] | None,
    previousAssignment: dict[str, Any],
    relayMessage: str | None,
    summary: str | None,
    takenMessage: str | None,
    targets: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """Hand the member of ``previousAssignment`` to other agents (``label`` or
    ``targets``). On the same outlet channel the conversation continues and
    is transferred (a Rocket.Chat department, a Support Board department or
    agent); on another one the previous conversation is closed and a new one
    opened. Returns ``{member, assignmentId}`` of the new assignment, whose
    ``parentAssignment`` is the previous one."""
    app = app_of(run)
    previous_id = previousAssignment.get("_id")
    if not isinstance(previous_id, str):
        raise ParamError("reassignAssignment: previousAssignment must be an assignment object with its _id")
    previous = assignments.required(run.store, app, previous_id, "reassignAssignment")
    if not previous.get("active"):
        raise ParamError(f"reassignAssignment: assignment {previous_id} has ended; use createAssignment")
    if inletGroup:
        run.warn("reassignAssignment: inletGroup only applies to WhatsApp and Teams inlet groups")
    member = run.store.find_one(MEMBERS, {"_id": previous["member"]})
    if member is None:
        raise NotFound(f"reassignAssignment: the member of assignment {previous_id} no longer exists")
    details = dict(previous.get("assignmentDetails") or {})
    for key, value in (("summary", summary), ("groupName", groupName), ("takenMessage", takenMessage)):
        if value is not None:
            details[key] = value
    if relayMessage is not None:
        details["relayMessage"] = {**(details.get("relayMessage") or {}), "text": relayMessage}
    merged_meta = {**(previous.get("meta") or {}), **(meta or {})}
    check_document(merged_meta, "meta")
    assignment, _group, saved = desk.reassign(
        run.store,
        run.now_ms(),
        _settings(run),
        previous=previous,
        member=member,
        label=label,
        targets=targets,
        details=details,
        meta=merged_meta,
    )
    return {"member": shaped(saved), "assignmentId": str(assignment["_id"])}


@method(memberId=param(str, required=True))
def removePendingAssignmentByMemberId(run: Run, *, memberId: str) -> dict[str, Any]:
    """Withdraw the member's request if no agent has taken it yet (the outlet
    conversation is closed and ``liveChat`` is false again). A request already
    taken is left alone. Returns ``{clientMutationId}``."""
    app = app_of(run)
    pending = run.store.find_one(
        ASSIGNMENTS, {"app": match_id(app), "member": match_id(memberId), "active": True, "status": "pending"}
    )
    if pending is not None:
        desk.end(run.store, run.now_ms(), _settings(run), pending, "bot")
    return {"clientMutationId": memberId, "removed": 1 if pending is not None else 0}


@method(assignmentId=param(str, required=True), group=param(dict), whatsappGroupId=param(str))
def updateAssignmentGroup(
    run: Run, *, assignmentId: str, group: dict[str, Any] | None, whatsappGroupId: str | None
) -> dict[str, Any]:
    """Save the assignment's group information (``groupInfo``) and WhatsApp group id."""
    if group is None and whatsappGroupId is None:
        raise ParamError("updateAssignmentGroup: give group or whatsappGroupId")
    sets: dict[str, Any] = {}
    if group is not None:
        sets["groupInfo"] = check_document(group, "group")
    if whatsappGroupId is not None:
        sets["whatsappGroupId"] = whatsappGroupId
    return _update_assignment(run, assignmentId, sets, "updateAssignmentGroup")


@method(assignmentId=param(str, required=True), meta=param(dict, required=True))
def updateAssignmentMeta(run: Run, *, assignmentId: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Merge ``meta`` into the assignment's meta (key by key)."""
    check_document(meta, "meta")
    return _update_assignment(
        run, assignmentId, {f"meta.{key}": value for key, value in meta.items()}, "updateAssignmentMeta"
    )


def _update_assignment(run: Run, assignment_id: str, sets: dict[str, Any], method_name: str) -> dict[str, Any]:
    found = assignments.required(run.store, app_of(run), assignment_id, method_name)
    saved, modified = assignments.save_fields(run.store, ASSIGNMENTS, found, sets, run.now_ms())
    return updated([assignment_id], [assignments.for_author(saved)], modified)


# Ending ------------------------------------------------------------------------------------


@method(channel=param(dict, required=True), messageEvent=param(dict))
def endLiveChat(run: Run, *, channel: dict[str, Any], messageEvent: dict[str, Any] | None) -> dict[str, Any]:
    """End the live chat a message belongs to: on an outlet channel, the
    conversation of the run's group (``this.group``) or of the group whose
    ``externalId`` the event names; on an inlet channel, the chat of the member
    who sent ``messageEvent``. Returns ``{member, assignmentId, groupId}``."""
    found, side = _assignment_of_message(run, channel, messageEvent, "endLiveChat")
    ended = desk.end(run.store, run.now_ms(), _settings(run), found, "agent" if side == "outlet" else "member")
    return _ended(run, ended or found)


@method(channel=param(dict, required=True), member=param(dict, required=True), options=param(dict))
def inletEndLiveChat(
    run: Run, *, channel: dict[str, Any], member: dict[str, Any], options: dict[str, Any] | None
) -> dict[str, Any] | None:
    """End the member's live chat from the inlet: the outlet conversation is
    closed and ``liveChat`` is false again. Returns the updated group (the
    assignment when the chat had no group); null when there was no live chat."""
    _own_channel(run, channel, "inletEndLiveChat")
    stored = _stored_member(run, member, "inletEndLiveChat")
    if options and options.get("recallRelayMessage"):
        run.warn("inletEndLiveChat: recallRelayMessage only applies to Slack and Teams tickets")
    found = assignments.active_for(run.store, app_of(run), stored["_id"])
    if found is None:
        return None
    ended = desk.end(run.store, run.now_ms(), _settings(run), found, "member") or found
    if ended.get("group") is not None:
        return assignments.for_author(run.store.find_one(GROUPS, {"_id": ended["group"]}))
    return assignments.for_author(run.store.find_one(ASSIGNMENTS, {"_id": ended["_id"]}))


def _ended(run: Run, ended: dict[str, Any]) -> dict[str, Any]:
    member = run.store.find_one(MEMBERS, {"_id": ended["member"]})
    group = ended.get("group")
    return {
        "member": shaped(member),
        "assignmentId": str(ended["_id"]),
        "groupId": None if group is None else str(group),
    }


def _own_channel(run: Run, channel: dict[str, Any], method_name: str) -> dict[str, Any]:
    """The stored channel a ``channel`` parameter names, in this app."""
    channel_id = channel.get("_id")
    if not isinstance(channel_id, str):
        raise ParamError(f"{method_name}: channel must be a channel object with its _id")
    stored = run.store.find_one(CHANNELS, {"_id": match_id(channel_id)})
    if stored is None:
        raise NotFound(f"{method_name}: no channel {channel_id}")
    if str(for_script(stored.get("app"))) != app_of(run):
        raise PermissionDenied(f"{method_name}: channel {channel_id} belongs to another app")
    return stored


def _assignment_of_message(
    run: Run, channel: dict[str, Any], event: dict[str, Any] | None, method_name: str
) -> tuple[dict[str, Any], str]:
    """The live chat a message on ``channel`` belongs to, and the side
    (``"outlet"`` or ``"inlet"``) the channel is on."""
    app = app_of(run)
    stored = _own_channel(run, channel, method_name)
    event = event or run.context.get("messageEvent") or {}
    base = {"app": match_id(app), "active": True}
    group = run.context.get("group")
    if isinstance(group, dict) and isinstance(group.get("assignment"), str):
        found = run.store.find_one(ASSIGNMENTS, {**base, "_id": match_id(group["assignment"])})
        if found is not None:
            return found, "outlet"
    names = [event.get(key) for key in ("groupId", "to", "from") if isinstance(event.get(key), str)]
    if names:
        groups = run.store.find(
            GROUPS,
            {"app": match_id(app), "outlet": stored["_id"], "externalId": {"$in": names}},
            sort=NEWEST_FIRST,
            limit=1,
        )
        if groups:
            found = run.store.find_one(ASSIGNMENTS, {**base, "_id": groups[0]["assignment"]})
            if found is not None:
                return found, "outlet"
        sender = event.get("from")
        member = run.store.find_one(
            MEMBERS, {"app": match_id(app), "channel": match_id(stored["_id"]), "externalId": sender}
        )
        if member is not None:
            found = assignments.active_for(run.store, app, member["_id"])
            if found is not None:
                return found, "inlet"
    raise NotFound(f"{method_name}: no live chat in progress for this message on channel {channel.get('_id')}")


# Sending across ---------------------------------------------------------------------------


def _send(run: Run, member: dict[str, Any], response: dict[str, Any], method_name: str) -> dict[str, Any]:
    """Send ``response`` to the member on their own channel; ``{result, messageEvent}``."""
    check_response(response, method_name)
    sender = run.engine.sender if run.engine is not None else RecordingSender()
    sent = desk.send_to_member(run.store, sender, member, response, run.now_ms(), "bot")
    (item,) = sent.get("result") or [{}]
    return {"result": item.get("result"), "messageEvent": item.get("messageEvent")}


@method(channel=param(dict, required=True), messageEvent=param(dict), response=param(dict, required=True))
def sendMessageToInlet(
    run: Run, *, channel: dict[str, Any], messageEvent: dict[str, Any] | None, response: dict[str, Any]
) -> dict[str, Any]:
    """Send ``response`` to the member in the inlet channel: the member of the
    live chat the message belongs to (see endLiveChat). Returns ``{result, messageEvent}``."""
    found, _side = _assignment_of_message(run, channel, messageEvent, "sendMessageToInlet")
    member = run.store.find_one(MEMBERS, {"_id": found["member"]})
    if member is None:
        raise NotFound("sendMessageToInlet: the member of this live chat no longer exists")
    return _send(run, member, response, "sendMessageToInlet")


def _group_param(run: Run, group: dict[str, Any] | None, group_id: str | None, method_name: str) -> dict[str, Any]:
    wanted = group_id if group_id is not None else (group or {}).get("_id")
    if not isinstance(wanted, str):
        raise ParamError(f"{method_name}: give groupId or a group object with its _id")
    return assignments.required(run.store, app_of(run), wanted, method_name, GROUPS)


@method(group=param(dict), groupId=param(str), response=param(dict, required=True))
def sendMessageToInletGroup(
    run: Run, *, group: dict[str, Any] | None, groupId: str | None, response: dict[str, Any]
) -> dict[str, Any]:
    """Send ``response`` to the inlet side of a group: its member. Returns ``{result, messageEvent}``."""
    found = _group_param(run, group, groupId, "sendMessageToInletGroup")
    member = run.store.find_one(MEMBERS, {"_id": found["member"]})
    if member is None:
        raise NotFound("sendMessageToInletGroup: the group's member no longer exists")
    return _send(run, member, response, "sendMessageToInletGroup")


@method(group=param(dict), groupId=param(str), response=param(dict, required=True), responseUrl=param(str))
def sendMessageToOutletGroup(
    run: Run, *, group: dict[str, Any] | None, groupId: str | None, response: dict[str, Any], responseUrl: str | None
) -> dict[str, Any]:
    """Post ``response`` into the group's outlet conversation as the bot (from
    the outbox, after the script). Returns ``{result: {queued, key}, messageEvent}``."""
    found = _group_param(run, group, groupId, "sendMessageToOutletGroup")
    check_response(response, "sendMessageToOutletGroup")
    if responseUrl is not None:
        run.warn("sendMessageToOutletGroup: responseUrl only applies to Slack")
    assignment = run.store.find_one(ASSIGNMENTS, {"_id": found["assignment"], "active": True})
    if assignment is None:
        raise NotFound(f"sendMessageToOutletGroup: the live chat of group {for_script(found['_id'])} has ended")
    now = run.now_ms()
    key = f"{assignment['_id']}:bot:{ObjectId()}"
    line = {
        "author": "bot",
        "text": history.text_of({"type": response["type"], "data": response}),
        "response": response,
    }
    queued = Outbox(run.store, _settings(run)).put(now, assignment, "relay", key, line=line)
    event = {"type": response["type"], "data": response, "to": found.get("externalId"), "timestamp": now}
    return {"result": {"queued": queued, "key": key}, "messageEvent": event}
