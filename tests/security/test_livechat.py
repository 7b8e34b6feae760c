"""Attacks on live chat: scripts of one app reaching another app's
assignments, groups, members and outlet channels; scripts writing what the
database must not receive; forged, replayed, oversized and malformed outlet
webhooks (custom, Rocket.Chat, Support Board); members in live chat trying to
make the bot run; outlet URLs aimed at private addresses; floods of calls.

Every attack runs on the live-chat test world (``tests/noderuntime/livechat``):
our app ``APP`` with its webchat inlet and three outlets, and another tenant
``OTHER_APP`` whose assignments, groups and member are seeded here. An attack
must be refused with a named error or have no effect on the other app's data.
"""

from __future__ import annotations

import base64
import copy
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from bson import ObjectId

from noderuntime.config import Config, Limits
from noderuntime.engine.agenda.worker import TIMEOUT_AGENDA
from noderuntime.livechat.desk import LiveChat
from noderuntime.livechat.outbox import Outbox
from noderuntime.livechat.outlets import default_outlets
from noderuntime.livechat.outlets.custom import SIGNATURE_HEADER, CustomOutlet, sign
from noderuntime.runtime import RunResult, Runtime
from noderuntime.store import Store
from noderuntime.store.ids import for_script
from noderuntime.store.schema import AGENDAS, ASSIGNMENTS, CHANNELS, GROUPS, INBOX, MEMBERS, OUTBOX
from noderuntime.testing.fakes.custom import FakeCustomLiveChat
from noderuntime.testing.fakes.server import Answer, FakeServer
from tests.noderuntime.livechat import conftest as livechat
from tests.noderuntime.livechat.conftest import (
    APP,
    BOARD,
    CUSTOM,
    FOREIGN,
    INLET,
    MEMBER,
    OTHER_APP,
    ROCKET,
    SECRET,
    Clock,
    World,
    seed,
)

#: The live-chat world's fixtures, used here as they are.
world = livechat.world
clock = livechat.clock
custom = livechat.custom

# The other tenant ---------------------------------------------------------------------------

THEIR_INLET = "c9e000000000000000000001"
THEIR_MEMBER = "5f9e00000000000000000001"
#: Their assignments and groups: one stored with an ObjectId id, one seeded by hand with a string id.
THEIR_ASSIGNMENT = "ab9e00000000000000000001"
THEIR_STRING_ASSIGNMENT = "ab9e00000000000000000002"
THEIR_GROUP = "9a9e00000000000000000001"
THEIR_STRING_GROUP = "9a9e00000000000000000002"
THEIR_CONVERSATION = "conv-theirs"
THEIR_SECRET = "their-own-secret"

BOTH_ASSIGNMENTS = pytest.mark.parametrize("theirs", [THEIR_ASSIGNMENT, THEIR_STRING_ASSIGNMENT])
BOTH_GROUPS = pytest.mark.parametrize("theirs", [THEIR_GROUP, THEIR_STRING_GROUP])
OTHER_COLLECTIONS = (ASSIGNMENTS, GROUPS, MEMBERS, OUTBOX, INBOX, AGENDAS)


def _their_assignment(assignment_id: Any, group_id: Any, external: str) -> dict[str, Any]:
    return {
        "_id": assignment_id,
        "_version": 1,
        "app": ObjectId(OTHER_APP),
        "member": ObjectId(THEIR_MEMBER),
        "inlet": THEIR_INLET,
        "outlet": ObjectId(FOREIGN),
        "outletType": "custom",
        "label": "default",
        "target": None,
        "targets": [],
        "assignmentDetails": {"summary": "theirs"},
        "meta": {"secret": "theirs", "order": 7},
        "group": group_id,
        "status": "pending",
        "active": True if assignment_id == ObjectId(THEIR_ASSIGNMENT) else None,
        "whatsappGroupId": "wa-theirs",
        "parentAssignment": None,
        "outletState": {"externalId": external, "token": "their-credential"},
        "outboxSeq": 0,
        "createdAt": 1,
        "updatedAt": 1,
    }


def _their_group(group_id: Any, assignment_id: Any, external: str) -> dict[str, Any]:
    return {
        "_id": group_id,
        "_version": 1,
        "app": ObjectId(OTHER_APP),
        "member": ObjectId(THEIR_MEMBER),
        "inlet": THEIR_INLET,
        "outlet": ObjectId(FOREIGN),
        "assignment": assignment_id,
        "name": "theirs",
        "type": "custom",
        "externalId": external,
        "admin": "their-agent",
        "adminExternalId": "agent-9",
        "inletGroupExternalId": "inlet-theirs",
        "meta": {"secret": "theirs"},
        "valid": True,
        "active": True,
        "createdAt": 1,
        "updatedAt": 1,
    }


def add_other_tenant(store: Store) -> None:
    """The other app's inlet, member (in live chat), assignments and groups."""
    store.insert_one(CHANNELS, {"_id": ObjectId(THEIR_INLET), "app": OTHER_APP, "type": "webchat", "name": "Theirs"})
    store.insert_one(
        MEMBERS,
        {
            "_id": ObjectId(THEIR_MEMBER),
            "app": OTHER_APP,
            "channel": THEIR_INLET,
            # The same external id as our member, on their channel: a different person.
            "externalId": "u-1",
            "botMeta": {"liveChat": True, "subscribe": True, "tempData": {}},
            "meta": {"secret": "theirs"},
            "group": ObjectId(THEIR_GROUP),
            "createdAt": 1,
            "updatedAt": 1,
        },
    )
    first = _their_assignment(ObjectId(THEIR_ASSIGNMENT), ObjectId(THEIR_GROUP), THEIR_CONVERSATION)
    second = _their_assignment(THEIR_STRING_ASSIGNMENT, THEIR_STRING_GROUP, "conv-theirs-2")
    second.pop("active")
    # Each names the other as its parent (getAssignmentsByParentAssignmentId).
    first["parentAssignment"] = THEIR_STRING_ASSIGNMENT
    second["parentAssignment"] = ObjectId(THEIR_ASSIGNMENT)
    store.insert_one(ASSIGNMENTS, first)
    store.insert_one(ASSIGNMENTS, second)
    store.insert_one(GROUPS, _their_group(ObjectId(THEIR_GROUP), ObjectId(THEIR_ASSIGNMENT), THEIR_CONVERSATION))
    store.insert_one(GROUPS, _their_group(THEIR_STRING_GROUP, THEIR_STRING_ASSIGNMENT, "conv-theirs-2"))
    store.insert_one(
        AGENDAS,
        {
            "_id": ObjectId(),
            "kind": TIMEOUT_AGENDA,
            "app": ObjectId(OTHER_APP),
            "member": ObjectId(THEIR_MEMBER),
            "assignment": ObjectId(THEIR_ASSIGNMENT),
            "tag": "liveChat",
            "nextRunAt": 10**13,
            "completed": False,
        },
    )


def theirs(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Everything of the other app (and every document naming its ids), as stored."""
    found: dict[str, list[dict[str, Any]]] = {}
    for collection in OTHER_COLLECTIONS:
        documents = store.find(collection, {}, limit=0)
        found[collection] = sorted(
            (copy.deepcopy(d) for d in documents if _is_theirs(d)), key=lambda d: str(d.get("_id"))
        )
    return found


def _is_theirs(document: dict[str, Any]) -> bool:
    text = repr(document)
    return any(
        marker in text
        for marker in (OTHER_APP, THEIR_MEMBER, THEIR_ASSIGNMENT, THEIR_STRING_ASSIGNMENT, FOREIGN, THEIR_GROUP)
    )


@pytest.fixture
def tenants(world: World) -> Iterator[World]:
    """The world with the other tenant's live chat in it; checks it is untouched after the test."""
    add_other_tenant(world.store)
    before = theirs(world.store)
    yield world
    assert theirs(world.store) == before, "the other app's live-chat data changed"
    sent_to = {str(sent.member) for sent in world.sender.sent}
    assert THEIR_MEMBER not in sent_to, "a message reached the other app's member"


# Running scripts -----------------------------------------------------------------------------


def act(world: World, source: str, limits: Limits | None = None, **context: Any) -> RunResult:
    """Run a script of our app for our member, as a node's action would."""
    full = {"app": APP, "member": for_script(world.member()), **context}
    result = world.runtime.run(source, full, engine=world.engine, limits=limits)
    after = world.runtime.run("return {'alive': True}", {"app": APP})
    assert after.ok and after.value == {"alive": True}, f"runtime unhealthy after the attempt: {after.error}"
    return result


def refused(result: RunResult, *kinds: str, fragment: str | None = None) -> None:
    assert not result.ok, f"attempt succeeded with {result.value!r}"
    assert result.error["type"] in kinds, result.error
    if fragment is not None:
        assert fragment in result.error["message"], result.error


def start_chat(world: World, **fields: Any) -> str:
    """Our member in live chat on the custom outlet (its URL unreachable): the assignment id."""
    result = act(world, "return this.createAssignment(member=this.member, createGroup={})")
    assert result.ok, result.error
    if fields:
        world.store.update(ASSIGNMENTS, {"_id": ObjectId(result.value["assignmentId"])}, {"$set": fields})
    return result.value["assignmentId"]


def group_of(world: World, assignment_id: str) -> str:
    found = world.store.find_one(ASSIGNMENTS, {"_id": ObjectId(assignment_id)})
    assert found is not None
    return str(found["group"])


# Cross-tenant: assignments ------------------------------------------------------------------


@BOTH_ASSIGNMENTS
def test_get_assignment_of_another_app_is_null(tenants: World, theirs: str) -> None:
    result = act(tenants, f"return this.getAssignment(assignmentId='{theirs}')")
    assert result.ok and result.value is None, result


@BOTH_ASSIGNMENTS
def test_update_assignment_meta_of_another_app_is_refused(tenants: World, theirs: str) -> None:
    result = act(tenants, f"return this.updateAssignmentMeta(assignmentId='{theirs}', meta={{'secret': 'pwned'}})")
    refused(result, "NotFound")


@BOTH_ASSIGNMENTS
def test_update_assignment_group_of_another_app_is_refused(tenants: World, theirs: str) -> None:
    result = act(tenants, f"return this.updateAssignmentGroup(assignmentId='{theirs}', whatsappGroupId='pwned')")
    refused(result, "NotFound")


@BOTH_ASSIGNMENTS
def test_add_targets_to_assignment_of_another_app_is_refused(tenants: World, theirs: str) -> None:
    source = f"return this.addNewTargetsToAssignment(assignmentId='{theirs}', targets=[{{'channel': '{CUSTOM}'}}])"
    refused(act(tenants, source), "NotFound")


def test_add_targets_naming_another_apps_outlet_is_refused(tenants: World) -> None:
    ours = start_chat(tenants)
    source = f"return this.addNewTargetsToAssignment(assignmentId='{ours}', targets=[{{'channel': '{FOREIGN}'}}])"
    refused(act(tenants, source), "NotFound")
    stored = tenants.store.find_one(ASSIGNMENTS, {"_id": ObjectId(ours)})
    assert FOREIGN not in repr(stored["targets"])


@BOTH_ASSIGNMENTS
def test_reassign_assignment_of_another_app_is_refused(tenants: World, theirs: str) -> None:
    result = act(tenants, f"return this.reassignAssignment(previousAssignment={{'_id': '{theirs}'}})")
    refused(result, "NotFound")


def test_reassign_to_another_apps_outlet_is_refused_and_keeps_the_chat(tenants: World) -> None:
    ours = start_chat(tenants)
    source = (
        f"return this.reassignAssignment(previousAssignment={{'_id': '{ours}'}}, targets=[{{'channel': '{FOREIGN}'}}])"
    )
    refused(act(tenants, source), "NotFound")
    stored = tenants.store.find_one(ASSIGNMENTS, {"_id": ObjectId(ours)})
    assert stored["active"] is True and stored["status"] == "pending"
    assert tenants.in_live_chat()


def test_get_assignment_by_another_apps_outlet_is_null(tenants: World) -> None:
    result = act(tenants, f"return this.getAssignmentByOutlet(channelId='{FOREIGN}')")
    assert result.ok and result.value is None, result


def test_get_assignments_of_another_apps_member_is_empty(tenants: World) -> None:
    result = act(tenants, f"return this.getAssignmentsByMemberId(memberId='{THEIR_MEMBER}')")
    assert result.ok and result.value == [], result


@BOTH_ASSIGNMENTS
def test_get_assignments_by_another_apps_parent_is_empty(tenants: World, theirs: str) -> None:
    result = act(tenants, f"return this.getAssignmentsByParentAssignmentId(assignmentId='{theirs}')")
    assert result.ok and result.value == [], result


def test_get_assignment_by_another_apps_whatsapp_group_is_null(tenants: World) -> None:
    result = act(tenants, "return this.getAssignmentByWhatsappGroupId(whatsappGroupId='wa-theirs')")
    assert result.ok and result.value is None, result


@pytest.mark.parametrize(
    "meta",
    [
        "{'secret': 'theirs'}",
        "{'secret': {'$exists': True}}",
        "{'order': {'$gte': 0}}",
        "{'secret': {'$regex': '.*'}}",
        "{'secret': {'$ne': 'x'}}",
    ],
)
def test_get_assignments_by_meta_stays_in_the_app(tenants: World, meta: str) -> None:
    result = act(tenants, f"return this.getAssignmentsByMeta(meta={meta})")
    assert result.ok and result.value == [], result


@pytest.mark.parametrize(
    ("meta", "kind"),
    [
        ("{'x': {'$where': 'sleep(1000)'}}", "PermissionDenied"),
        ("{'x': {'$function': {'body': 'f', 'args': [], 'lang': 'js'}}}", "PermissionDenied"),
        ("{'x': {'$expr': {'$function': {'body': 'f', 'args': [], 'lang': 'js'}}}}", "PermissionDenied"),
        ("{'x': {'$in': [1], '$where': '1'}}", "PermissionDenied"),
        ("{'x': {'$elemMatch': {'$where': '1'}}}", "PermissionDenied"),
        ("{'x': {'$lookup': {'from': 'channels'}}}", "PermissionDenied"),
        ("{'x': {'$regex': '(a+)+\\\\1'}}", "ParamError"),
        ("{'x': {'$in': list(range(5000))}}", "ParamError"),
    ],
)
def test_get_assignments_by_meta_refuses_server_code_and_heavy_operators(tenants: World, meta: str, kind: str) -> None:
    refused(act(tenants, f"return this.getAssignmentsByMeta(meta={meta})"), kind)


def test_get_assignments_by_meta_cannot_widen_the_app_scope(tenants: World) -> None:
    """Keys are conditions on meta.<key>: '$or' or 'app' keys cannot lift the app condition."""
    start_chat(tenants)
    for meta in (f"{{'$or': [{{'app': '{OTHER_APP}'}}]}}", f"{{'app': '{OTHER_APP}'}}", "{'': {'$exists': False}}"):
        result = act(tenants, f"return this.getAssignmentsByMeta(meta={meta})")
        if result.ok:
            assert all(a["app"] == APP for a in result.value), result.value


@pytest.mark.parametrize("form", ["hex", "object"])
def test_create_assignment_for_another_apps_member_is_refused(tenants: World, form: str) -> None:
    member = f"'{THEIR_MEMBER}'" if form == "hex" else f"{{'_id': '{THEIR_MEMBER}', 'app': '{OTHER_APP}'}}"
    refused(act(tenants, f"return this.createAssignment(member={member})"), "NotFound", "ParamError")
    assert not tenants.in_live_chat()


def test_create_assignment_with_our_member_claiming_another_app_stays_ours(tenants: World) -> None:
    """A member object that says app B (and B's channel) is read from our database, by id, in our app."""
    source = (
        f"m = dict(this.member)\nm['app'] = '{OTHER_APP}'\nm['channel'] = '{THEIR_INLET}'\n"
        "return this.createAssignment(member=m)"
    )
    result = act(tenants, source)
    assert result.ok, result.error
    stored = tenants.store.find_one(ASSIGNMENTS, {"_id": ObjectId(result.value["assignmentId"])})
    assert str(stored["app"]) == APP and str(stored["inlet"]) == INLET and str(stored["outlet"]) == CUSTOM


def test_create_assignment_targeting_another_apps_outlet_is_refused(tenants: World) -> None:
    source = f"return this.createAssignment(member=this.member, targets=[{{'channel': '{FOREIGN}'}}])"
    refused(act(tenants, source), "NotFound")
    assert not tenants.in_live_chat()
    assert tenants.store.count(OUTBOX, {}) == 0


def test_create_assignment_targeting_an_inlet_channel_is_refused(tenants: World) -> None:
    source = f"return this.createAssignment(member=this.member, targets=[{{'channel': '{INLET}'}}])"
    refused(act(tenants, source), "ParamError")
    assert not tenants.in_live_chat()


def test_remove_pending_assignment_of_another_apps_member_does_nothing(tenants: World) -> None:
    result = act(tenants, f"return this.removePendingAssignmentByMemberId(memberId='{THEIR_MEMBER}')")
    assert result.ok and result.value["removed"] == 0, result


# Cross-tenant: ending and sending ------------------------------------------------------------


def test_end_live_chat_on_another_apps_channel_is_refused(tenants: World) -> None:
    source = (
        f"return this.endLiveChat(channel={{'_id': '{FOREIGN}'}}, messageEvent={{'groupId': '{THEIR_CONVERSATION}'}})"
    )
    refused(act(tenants, source), "PermissionDenied")


def test_end_live_chat_naming_another_apps_conversation_is_refused(tenants: World) -> None:
    source = f"return this.endLiveChat(channel={{'_id': '{CUSTOM}'}}, messageEvent={{'groupId': '{THEIR_CONVERSATION}', 'from': 'u-1'}})"
    refused(act(tenants, source), "NotFound")


def test_end_live_chat_with_a_forged_group_in_the_event_is_refused(tenants: World) -> None:
    """The group a script passes in the event is not trusted; only the run's own context group is."""
    source = f"return this.endLiveChat(channel={{'_id': '{CUSTOM}'}}, messageEvent={{'group': {{'assignment': '{THEIR_ASSIGNMENT}'}}}})"
    refused(act(tenants, source), "NotFound")


def test_end_live_chat_with_a_rewritten_context_group_stays_in_the_app(tenants: World) -> None:
    """A script that rewrites this.group to name their assignment cannot end it."""
    ours = start_chat(tenants)
    source = (
        f"this.group = {{'assignment': '{THEIR_ASSIGNMENT}'}}\n"
        f"return this.endLiveChat(channel={{'_id': '{CUSTOM}'}}, messageEvent={{'groupId': '{THEIR_CONVERSATION}'}})"
    )
    result = act(tenants, source, group={"_id": group_of(tenants, ours), "assignment": ours})
    # Either refused, or it ended our own chat (the run's real group): never theirs.
    if result.ok:
        assert result.value["assignmentId"] == ours


def test_inlet_end_live_chat_of_another_apps_member_is_refused(tenants: World) -> None:
    source = f"return this.inletEndLiveChat(channel={{'_id': '{THEIR_INLET}'}}, member={{'_id': '{THEIR_MEMBER}'}})"
    refused(act(tenants, source), "PermissionDenied")
    source = f"return this.inletEndLiveChat(channel={{'_id': '{INLET}'}}, member={{'_id': '{THEIR_MEMBER}'}})"
    refused(act(tenants, source), "NotFound")


def test_send_message_to_inlet_of_another_apps_conversation_is_refused(tenants: World) -> None:
    source = (
        f"return this.sendMessageToInlet(channel={{'_id': '{CUSTOM}'}}, messageEvent={{'groupId': '{THEIR_CONVERSATION}'}},"
        " response={'type': 'TEXT', 'text': 'phish'})"
    )
    refused(act(tenants, source), "NotFound")
    assert tenants.sender.sent == []


@BOTH_GROUPS
def test_send_message_to_another_apps_inlet_group_is_refused(tenants: World, theirs: str) -> None:
    source = f"return this.sendMessageToInletGroup(groupId='{theirs}', response={{'type': 'TEXT', 'text': 'phish'}})"
    refused(act(tenants, source), "NotFound")
    source = (
        f"return this.sendMessageToInletGroup(group={{'_id': '{theirs}'}}, response={{'type': 'TEXT', 'text': 'x'}})"
    )
    refused(act(tenants, source), "NotFound")
    assert tenants.sender.sent == []


@BOTH_GROUPS
def test_send_message_to_another_apps_outlet_group_is_refused(tenants: World, theirs: str) -> None:
    source = f"return this.sendMessageToOutletGroup(groupId='{theirs}', response={{'type': 'TEXT', 'text': 'x'}})"
    refused(act(tenants, source), "NotFound")
    assert tenants.store.count(OUTBOX, {}) == 0


# Cross-tenant: groups --------------------------------------------------------------------------


@BOTH_GROUPS
def test_get_group_of_another_app_is_null(tenants: World, theirs: str) -> None:
    result = act(tenants, f"return this.getGroup(groupId='{theirs}')")
    assert result.ok and result.value is None, result


@pytest.mark.parametrize(
    "call",
    [
        f"getGroupByExternalId(adminExternalId='agent-9', groupId='{THEIR_CONVERSATION}', channelId='{FOREIGN}')",
        f"getGroupByGroupExternalId(groupExternalId='{THEIR_CONVERSATION}')",
        f"getGroupByInletGroup(inletGroupExternalId='inlet-theirs', inlet='{THEIR_INLET}')",
        f"getGroupByMemberId(inlet='{THEIR_INLET}', memberId='{THEIR_MEMBER}')",
    ],
)
def test_group_lookups_stay_in_the_app(tenants: World, call: str) -> None:
    result = act(tenants, f"return this.{call}")
    assert result.ok and result.value is None, result


@BOTH_GROUPS
def test_update_group_of_another_app_is_refused(tenants: World, theirs: str) -> None:
    refused(act(tenants, f"return this.updateGroup(group={{'_id': '{theirs}', 'name': 'pwned'}})"), "NotFound")
    refused(act(tenants, f"return this.updateGroupMeta(groupId='{theirs}', meta={{'secret': 'pwned'}})"), "NotFound")


@BOTH_GROUPS
def test_inactivate_group_of_another_app_is_refused(tenants: World, theirs: str) -> None:
    refused(act(tenants, f"return this.inactivateGroup(groupId='{theirs}')"), "NotFound")


def test_save_group_id_to_member_cannot_point_at_another_apps_group(tenants: World) -> None:
    source = (
        f"return this.saveGroupIdToMember(channel={{'_id': '{INLET}'}},"
        f" messageEvent={{'from': 'u-1', 'groupId': '{THEIR_CONVERSATION}'}})"
    )
    refused(act(tenants, source), "NotFound")
    assert "group" not in tenants.member()


def test_save_group_id_to_another_apps_member_is_refused(tenants: World) -> None:
    """Their member has the same external id: naming their channel must not find them."""
    ours = start_chat(tenants)
    external = "conv-ours"
    tenants.store.update(GROUPS, {"_id": ObjectId(group_of(tenants, ours))}, {"$set": {"externalId": external}})
    source = (
        f"return this.saveGroupIdToMember(channel={{'_id': '{THEIR_INLET}'}},"
        f" messageEvent={{'from': 'u-1', 'groupId': '{external}'}})"
    )
    refused(act(tenants, source), "NotFound")


# Our own documents: what a script may write ------------------------------------------------------


@pytest.mark.parametrize("field", ["app", "member", "inlet", "outlet", "assignment", "createdAt"])
def test_update_group_cannot_relink_its_ids(tenants: World, field: str) -> None:
    ours = start_chat(tenants)
    group = group_of(tenants, ours)
    value = {
        "app": OTHER_APP,
        "member": THEIR_MEMBER,
        "inlet": THEIR_INLET,
        "outlet": FOREIGN,
        "assignment": THEIR_ASSIGNMENT,
        "createdAt": 1,
    }[field]
    before = tenants.store.find_one(GROUPS, {"_id": ObjectId(group)})
    refused(
        act(tenants, f"return this.updateGroup(group={{'_id': '{group}', '{field}': {value!r}}})"), "PermissionDenied"
    )
    assert tenants.store.find_one(GROUPS, {"_id": ObjectId(group)}) == before


@pytest.mark.parametrize(
    "fields",
    [
        "{'$where': '1'}",
        "{'$set': {'app': 'x'}}",
        "{'meta.secret': 'x'}",
        "{'assignment.x': 1}",
        "{'': 1}",
        "{'meta': {'$where': '1'}}",
        "{'meta': {'a.b': 1}}",
        "{'meta': {'blob': 'x' * 1_100_000}}",
    ],
)
def test_update_group_refuses_operators_paths_and_huge_values(tenants: World, fields: str) -> None:
    ours = start_chat(tenants)
    group = group_of(tenants, ours)
    before = tenants.store.find_one(GROUPS, {"_id": ObjectId(group)})
    source = f"g = {fields}\ng['_id'] = '{group}'\nreturn this.updateGroup(group=g)"
    refused(act(tenants, source), "ParamError", "PermissionDenied")
    assert tenants.store.find_one(GROUPS, {"_id": ObjectId(group)}) == before


@pytest.mark.parametrize(
    "meta",
    [
        "{'$where': '1'}",
        "{'$set': 1}",
        "{'a.b': 1}",
        "{'outletState.token': 'x'}",
        "{'': 1}",
        "{'a': {'$where': '1'}}",
        "{'a': {'b.c': 1}}",
        "{'a': [{'$x': 1}]}",
        "{'blob': 'x' * 1_100_000}",
    ],
)
def test_update_assignment_meta_refuses_operators_paths_and_huge_values(tenants: World, meta: str) -> None:
    ours = start_chat(tenants)
    before = tenants.store.find_one(ASSIGNMENTS, {"_id": ObjectId(ours)})
    refused(
        act(tenants, f"return this.updateAssignmentMeta(assignmentId='{ours}', meta={meta})"),
        "ParamError",
        "PermissionDenied",
    )
    assert tenants.store.find_one(ASSIGNMENTS, {"_id": ObjectId(ours)}) == before


def test_update_group_meta_refuses_operators_and_dotted_keys(tenants: World) -> None:
    ours = start_chat(tenants)
    group = group_of(tenants, ours)
    for meta in ("{'$where': '1'}", "{'a.b': 1}", "{'': 1}", "{'a': {'$inc': 1}}"):
        refused(
            act(tenants, f"return this.updateGroupMeta(groupId='{group}', meta={meta})"),
            "ParamError",
            "PermissionDenied",
        )


def test_update_assignment_group_refuses_operators(tenants: World) -> None:
    ours = start_chat(tenants)
    source = f"return this.updateAssignmentGroup(assignmentId='{ours}', group={{'$where': '1', 'a.b': 2}})"
    refused(act(tenants, source), "ParamError", "PermissionDenied")


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("assignmentDetails", "{'$where': 'sleep(1)'}"),
        ("assignmentDetails", "{'a.b': 1}"),
        ("assignmentDetails", "{'blob': 'x' * 1_100_000}"),
        ("meta", "{'$where': '1'}"),
        ("meta", "{'x': {'a.b': 1}}"),
        ("createGroup", "{'externalId': {'$ne': None}}"),
    ],
)
def test_create_assignment_refuses_operators_and_huge_documents(tenants: World, parameter: str, value: str) -> None:
    refused(
        act(tenants, f"return this.createAssignment(member=this.member, {parameter}={value})"),
        "ParamError",
        "PermissionDenied",
    )
    assert not tenants.in_live_chat()
    assert tenants.store.count(ASSIGNMENTS, {"app": APP}) == 0


@pytest.mark.parametrize("group", ["{'type': 'x', '$where': 'sleep(1)'}", "{'type': 'x', 'a.b': 1}"])
def test_create_assignment_refuses_operator_keys_in_targets(tenants: World, group: str) -> None:
    source = f"return this.createAssignment(member=this.member, targets=[{{'channel': '{CUSTOM}', 'broadcastGroups': [{group}]}}])"
    refused(act(tenants, source), "ParamError", "PermissionDenied")
    assert not tenants.in_live_chat() and tenants.store.count(ASSIGNMENTS, {"app": APP}) == 0


def test_reassign_refuses_operator_keys_in_targets(tenants: World) -> None:
    ours = start_chat(tenants)
    source = (
        f"return this.reassignAssignment(previousAssignment={{'_id': '{ours}'}},"
        f" targets=[{{'channel': '{CUSTOM}', 'broadcastGroups': [{{'type': 'x', '$where': '1'}}]}}])"
    )
    refused(act(tenants, source), "ParamError", "PermissionDenied")
    assert tenants.store.find_one(ASSIGNMENTS, {"_id": ObjectId(ours)})["active"] is True


def test_add_targets_refuses_operator_keys(tenants: World) -> None:
    ours = start_chat(tenants)
    source = (
        f"return this.addNewTargetsToAssignment(assignmentId='{ours}',"
        f" targets=[{{'channel': '{CUSTOM}', '$where': '1', 'broadcastGroups': [{{'type': 'x', 'a.b': 1}}]}}])"
    )
    refused(act(tenants, source), "ParamError", "PermissionDenied")
    stored = tenants.store.find_one(ASSIGNMENTS, {"_id": ObjectId(ours)})
    assert "$where" not in repr(stored["targets"]) and "a.b" not in repr(stored["targets"])


def test_assignments_as_scripts_see_them_hide_outlet_credentials(tenants: World) -> None:
    ours = start_chat(tenants, outletState={"token": "visitor-credential"})
    for call in (
        f"getAssignment(assignmentId='{ours}')",
        f"getAssignmentByOutlet(channelId='{CUSTOM}')",
        f"getAssignmentsByMemberId(memberId='{MEMBER}')",
    ):
        result = act(tenants, f"return this.{call}")
        assert result.ok, result.error
        assert "visitor-credential" not in repr(result.value) and "outletState" not in repr(result.value)


def test_a_member_has_one_live_chat_at_a_time(tenants: World) -> None:
    start_chat(tenants)
    refused(act(tenants, "return this.createAssignment(member=this.member)"), "ParamError")
    assert tenants.store.count(ASSIGNMENTS, {"app": APP, "active": True}) == 1


# The engine -------------------------------------------------------------------------------------


def test_a_member_in_live_chat_cannot_make_nodes_run(world: World) -> None:
    world.say("agent")
    assert world.in_live_chat()
    sent = len(world.sender.sent)
    for message in ("agent", "hello", "welcome"):
        result = world.engine.receive(INLET, {"type": "TEXT", "data": {"text": message}, "from": "u-1", "timestamp": 1})
        assert result.ok
    assert len(world.sender.sent) == sent, world.texts()
    assert world.store.count(ASSIGNMENTS, {}) == 1
    relayed = [i for i in world.outbox() if i["op"] == "relay"]
    assert [i["line"]["text"] for i in relayed] == ["agent", "hello", "welcome"]


def test_a_member_flagged_in_live_chat_without_an_assignment_gets_the_bot_back(world: World) -> None:
    world.store.update(MEMBERS, {"_id": ObjectId(MEMBER)}, {"$set": {"botMeta.liveChat": True}})
    world.say("hello")
    assert world.texts() == ["Hello from the bot"]
    assert not world.in_live_chat()
    assert world.outbox() == []


def test_a_member_cannot_ride_another_apps_live_chat(tenants: World) -> None:
    """Their member is in live chat with the same external id: ours still gets the bot."""
    tenants.say("hello")
    assert tenants.texts() == ["Hello from the bot"]
    assert tenants.store.count(OUTBOX, {}) == 0


def test_a_members_message_id_cannot_replace_the_open_or_close_call(world: World) -> None:
    world.say("agent")
    assignment = world.assignment()
    for forged in (f"{assignment['_id']}:open", ":open", "../close", "x:close"):
        world.engine.receive(INLET, {"type": "TEXT", "data": {"text": "hi"}, "from": "u-1", "messageId": forged})
    ops = [(i["op"], i["key"]) for i in world.outbox()]
    assert ops.count(("open", f"{assignment['_id']}:open")) == 1
    assert sum(1 for op, _key in ops if op == "relay") == 4


def quiet(world: World) -> None:
    """Stop the webhook server before judging a request it failed on. CPython 3.11 parses source lines
    with ``ast`` to draw a traceback's carets, and that parser's state is shared between threads: pytest
    formatting a failure while uvicorn logs the request's exception can crash the whole session."""
    if world.server is not None:
        world.server.stop()


# Webhooks: the desk ------------------------------------------------------------------------------


def signed(payload: Any, secret: str = SECRET) -> tuple[dict[str, str], bytes]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"}, body


def hook(world: World, channel: str, payload: Any, secret: str | None = SECRET, **headers: str) -> tuple[int, Any]:
    if secret is None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        given: dict[str, str] = dict(headers)
    else:
        given, body = signed(payload, secret)
        given.update(headers)
    status, answer = world.desk.receive_webhook(channel, given, body)
    world.desk.handle_inbox()
    return status, answer


def message(assignment_id: str, text: str = "from the agent", event_id: str = "e-1") -> dict[str, Any]:
    return {"id": event_id, "assignmentId": assignment_id, "sendToInlet": text}


def test_webhook_with_a_valid_signature_reaches_the_member(world: World) -> None:
    """The control: what the refused attacks below would do if accepted."""
    ours = start_chat(world)
    assert hook(world, CUSTOM, message(ours))[0] == 200
    assert world.texts() == ["from the agent"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {SIGNATURE_HEADER: ""},
        {SIGNATURE_HEADER: "AAAA"},
        {SIGNATURE_HEADER: "not base64 at all \u00e9"},
        {SIGNATURE_HEADER: sign(SECRET, b"{}")},
        {SIGNATURE_HEADER: sign("", b"x")},
        {SIGNATURE_HEADER.lower() + "x": "y"},
    ],
)
def test_webhook_without_the_right_signature_is_refused(world: World, headers: dict[str, str]) -> None:
    ours = start_chat(world)
    status, _answer = hook(world, CUSTOM, message(ours), secret=None, **headers)
    assert status == 401
    assert world.texts() == [] and world.store.count(INBOX, {}) == 0


def test_webhook_signed_for_a_different_body_is_refused(world: World) -> None:
    ours = start_chat(world)
    headers, _body = signed(message(ours, "harmless"))
    status, _ = world.desk.receive_webhook(CUSTOM, headers, json.dumps(message(ours, "phish")).encode())
    assert status == 401 and world.store.count(INBOX, {}) == 0


def test_webhook_signed_with_another_apps_channel_secret_is_refused(world: World) -> None:
    world.configure(FOREIGN, info={"liveChatApiUrl": "http://127.0.0.1:9/", "secret": THEIR_SECRET})
    ours = start_chat(world)
    status, _ = hook(world, CUSTOM, message(ours), secret=THEIR_SECRET)
    assert status == 401 and world.texts() == []


def test_webhook_on_another_apps_channel_cannot_reach_our_assignment(tenants: World) -> None:
    """FOREIGN shares our secret in the seed: a valid request there names our assignment."""
    ours = start_chat(tenants)
    assert hook(tenants, FOREIGN, message(ours))[0] == 200
    assert hook(tenants, FOREIGN, {"id": "e-2", "assignmentId": ours, "event": "end"})[0] == 200
    assert tenants.texts() == [] and tenants.in_live_chat()
    assert {e["note"] for e in tenants.store.find(INBOX, {}, limit=0)} == {"no assignment matches"}
    # Their events were stored under their app, and are kept out of the snapshot check.
    tenants.store.delete(INBOX, {})


def test_webhook_on_our_channel_cannot_reach_another_apps_assignment(tenants: World) -> None:
    for payload in (
        message(THEIR_ASSIGNMENT),
        {"id": "e-2", "externalId": THEIR_CONVERSATION, "sendToInlet": "x"},
        {"id": "e-3", "assignmentId": THEIR_ASSIGNMENT, "event": "end"},
        {"id": "e-4", "assignmentId": THEIR_ASSIGNMENT, "event": "taken", "agent": {"id": "evil"}},
    ):
        assert hook(tenants, CUSTOM, payload)[0] == 200
    assert tenants.texts() == []
    assert {e["status"] for e in tenants.store.find(INBOX, {}, limit=0)} == {"ignored"}
    tenants.store.delete(INBOX, {})


def test_webhook_cannot_reach_an_assignment_of_another_outlet_of_the_app(world: World) -> None:
    ours = start_chat(world)
    world.store.update(
        ASSIGNMENTS,
        {"_id": ObjectId(ours)},
        {"$set": {"outlet": ObjectId(ROCKET), "outletType": "rocketchat", "outletState.externalId": "x-1"}},
    )
    hook(world, CUSTOM, message(ours))
    hook(world, CUSTOM, {"id": "e-2", "externalId": "x-1", "event": "end"})
    assert world.texts() == [] and world.in_live_chat()


def test_webhook_ref_cannot_smuggle_query_operators(world: World) -> None:
    ours = start_chat(world)
    for payload in (
        {"id": "e-1", "assignmentId": {"$ne": None}, "sendToInlet": "x"},
        {"id": "e-2", "externalId": {"$exists": True}, "sendToInlet": "x"},
        {"id": "e-3", "assignmentId": ["a", "b"], "event": "end"},
    ):
        status, _ = hook(world, CUSTOM, payload)
        assert status == 400
    assert world.texts() == [] and world.in_live_chat()
    assert ours


def test_replayed_webhook_is_relayed_once(world: World) -> None:
    ours = start_chat(world)
    for _ in range(3):
        assert hook(world, CUSTOM, message(ours, "once", event_id="dup"))[0] == 200
    # The same id with another text (a second signed copy) is the same event.
    hook(world, CUSTOM, message(ours, "twice?", event_id="dup"))
    assert world.texts() == ["once"]


def test_replayed_webhook_without_an_id_is_relayed_once(world: World) -> None:
    ours = start_chat(world)
    payload = {"assignmentId": ours, "sendToInlet": "no id"}
    for _ in range(3):
        assert hook(world, CUSTOM, payload)[0] == 200
    assert world.texts() == ["no id"]


def test_replayed_end_after_a_new_chat_does_not_end_it(world: World) -> None:
    first = start_chat(world)
    hook(world, CUSTOM, {"id": "end-1", "assignmentId": first, "event": "end"})
    assert not world.in_live_chat()
    start_chat(world)
    hook(world, CUSTOM, {"id": "end-1", "assignmentId": first, "event": "end"})
    hook(world, CUSTOM, {"id": "end-2", "assignmentId": first, "event": "end"})
    assert world.in_live_chat()


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b"42", b'"text"', b"null", b"\xff\xfe", b'{"id": "e", "assignmentId": "x"}']
)
def test_signed_webhook_that_is_not_an_event_object_is_refused(world: World, body: bytes) -> None:
    headers, _ = signed(body)
    status, answer = world.desk.receive_webhook(CUSTOM, headers, body)
    assert status == 400, answer
    assert world.store.count(INBOX, {}) == 0


@pytest.mark.parametrize("message_value", [42, None, True, [[1]]])
def test_send_to_inlet_that_is_not_text_or_a_response_is_refused(world: World, message_value: Any) -> None:
    ours = start_chat(world)
    status, _ = hook(world, CUSTOM, {"id": "e", "assignmentId": ours, "sendToInlet": message_value})
    assert status == 400
    assert world.texts() == []


@pytest.mark.parametrize(
    "response",
    [
        {"type": "TEXT", "text": "x" * 5000},
        {"type": "IMAGE", "url": "https://x/" + "a" * 70_000},
        {"text": "no type"},
        {"type": "", "text": "empty type"},
        {"type": "TEXT", "text": {"$where": "1"}},
    ],
)
def test_send_to_inlet_with_a_bad_response_is_not_sent(world: World, response: dict[str, Any]) -> None:
    ours = start_chat(world)
    assert hook(world, CUSTOM, {"id": "e", "assignmentId": ours, "sendToInlet": response})[0] == 200
    assert world.sender.sent == []
    assert {e["status"] for e in world.store.find(INBOX, {}, limit=0)} == {"failed"}


def test_webhook_for_an_unknown_or_non_outlet_channel_is_not_found(tenants: World) -> None:
    ours = start_chat(tenants)
    for channel in (str(ObjectId()), INLET, THEIR_INLET, "../../apps", "", "x" * 5000, "{'$ne': 1}"):
        status, _ = hook(tenants, channel, message(ours))
        assert status == 404, channel
    assert tenants.texts() == []


def test_custom_channel_without_a_secret_refuses_every_webhook(world: World) -> None:
    ours = start_chat(world)
    for info in ({"liveChatApiUrl": "http://127.0.0.1:9/"}, {"liveChatApiUrl": "http://127.0.0.1:9/", "secret": ""}):
        world.configure(CUSTOM, info=info)
        for secret in ("", SECRET):
            status, _ = hook(world, CUSTOM, message(ours), secret=secret)
            assert status == 403
    assert world.texts() == []


def test_webhook_taken_cannot_rewrite_the_assignment_beyond_the_agent(world: World) -> None:
    ours = start_chat(world)
    before = world.store.find_one(ASSIGNMENTS, {"_id": ObjectId(ours)})
    hook(world, CUSTOM, {"id": "t", "assignmentId": ours, "event": "taken", "agent": {"id": "a-1", "app": OTHER_APP}})
    after = world.store.find_one(ASSIGNMENTS, {"_id": ObjectId(ours)})
    assert after["app"] == before["app"] and after["member"] == before["member"] and after["outlet"] == before["outlet"]
    assert after["assignee"] == "a-1"


# Webhooks: Rocket.Chat and Support Board -----------------------------------------------------------


def rocket_message(rid: str, message_id: str = "m-1") -> dict[str, Any]:
    return {
        "type": "Message",
        "_id": rid,
        "messages": [{"_id": message_id, "msg": "from an agent", "agentId": "ag-1", "u": {"username": "agent"}}],
    }


@pytest.fixture
def rocket_chat(world: World) -> str:
    """Our member in live chat on Rocket.Chat, room ``room-1``."""
    ours = start_chat(world)
    world.store.update(
        ASSIGNMENTS,
        {"_id": ObjectId(ours)},
        {"$set": {"outlet": ObjectId(ROCKET), "outletType": "rocketchat", "outletState": {"rid": "room-1"}}},
    )
    return ours


def test_rocketchat_webhook_with_the_token_reaches_the_member(world: World, rocket_chat: str) -> None:
    status, _ = hook(
        world, ROCKET, rocket_message("room-1"), secret=None, **{"X-RocketChat-Livechat-Token": "rc-token"}
    )
    assert status == 200 and world.texts() == ["from an agent"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-RocketChat-Livechat-Token": ""},
        {"X-RocketChat-Livechat-Token": "rc-tokeN"},
        {"X-RocketChat-Livechat-Token": "rc-token "},
        {"X-Stella-Signature": "rc-token"},
    ],
)
def test_rocketchat_webhook_without_the_token_is_refused(
    world: World, rocket_chat: str, headers: dict[str, str]
) -> None:
    status, _ = hook(world, ROCKET, rocket_message("room-1"), secret=None, **headers)
    assert status == 401 and world.texts() == []


def test_rocketchat_channel_without_a_token_refuses_every_webhook(world: World, rocket_chat: str) -> None:
    world.configure(ROCKET, info={"serverUrl": "http://127.0.0.1:9"})
    for token in ("", "rc-token", "None"):
        status, _ = hook(world, ROCKET, rocket_message("room-1"), secret=None, **{"X-RocketChat-Livechat-Token": token})
        assert status in (401, 403)
    assert world.texts() == []


def test_rocketchat_token_on_the_custom_channel_is_refused(world: World, rocket_chat: str) -> None:
    status, _ = hook(
        world, CUSTOM, rocket_message("room-1"), secret=None, **{"X-RocketChat-Livechat-Token": "rc-token"}
    )
    assert status == 401 and world.texts() == []


def test_rocketchat_room_of_another_outlet_is_ignored(world: World) -> None:
    ours = start_chat(world)  # on the custom outlet, whose state happens to carry the same rid
    world.store.update(ASSIGNMENTS, {"_id": ObjectId(ours)}, {"$set": {"outletState.rid": "room-1"}})
    hook(world, ROCKET, rocket_message("room-1"), secret=None, **{"X-RocketChat-Livechat-Token": "rc-token"})
    closed = {"type": "LivechatSession", "_id": "room-1", "closer": "user"}
    hook(world, ROCKET, closed, secret=None, **{"X-RocketChat-Livechat-Token": "rc-token"})
    assert world.texts() == [] and world.in_live_chat()


def test_rocketchat_replayed_message_is_relayed_once(world: World, rocket_chat: str) -> None:
    for _ in range(3):
        hook(
            world, ROCKET, rocket_message("room-1", "same"), secret=None, **{"X-RocketChat-Livechat-Token": "rc-token"}
        )
    assert world.texts() == ["from an agent"]


@pytest.fixture
def agents_api() -> Iterator[FakeServer]:
    """Support Board's API, answering get-agents-ids with agent 7."""
    server = FakeServer()
    server.route("POST", "/include/api.php", lambda _r, _m: Answer(200, {"success": True, "response": ["7"]}))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def board_chat(world: World, agents_api: FakeServer) -> str:
    world.configure(
        BOARD, info={"apiUrl": agents_api.url + "/include/api.php", "token": "admin-token", "webhookKey": "sb-key"}
    )
    ours = start_chat(world)
    world.store.update(
        ASSIGNMENTS,
        {"_id": ObjectId(ours)},
        {"$set": {"outlet": ObjectId(BOARD), "outletType": "supportboard", "outletState": {"conversationId": "55"}}},
    )
    return ours


def board_message(key: Any, user: str = "7", message_id: str = "900") -> dict[str, Any]:
    data = {
        "user_id": user,
        "conversation_id": "55",
        "message_id": message_id,
        "message": "from an agent",
        "conversation_user_id": "3",
    }
    return {"key": key, "function": "message-sent", "data": data}


def test_supportboard_webhook_with_the_key_reaches_the_member(world: World, board_chat: str) -> None:
    status, _ = hook(world, BOARD, board_message("sb-key"), secret=None)
    assert status == 200 and world.texts() == ["from an agent"]


@pytest.mark.parametrize("key", [None, "", "sb-kez", "SB-KEY", 0, ["sb-key"], {"$ne": ""}])
def test_supportboard_webhook_without_the_key_is_refused_before_any_outbound_call(
    world: World, board_chat: str, agents_api: FakeServer, key: Any
) -> None:
    payload = board_message(key)
    if key is None:
        payload.pop("key")
    status, _ = hook(world, BOARD, payload, secret=None)
    assert status == 401 and world.texts() == []
    assert agents_api.seen() == [], "an unauthenticated webhook made the runtime call Support Board"


def test_supportboard_customer_or_bot_message_is_not_relayed_as_an_agent(world: World, board_chat: str) -> None:
    hook(world, BOARD, board_message("sb-key", user="3", message_id="1"), secret=None)  # the customer
    hook(world, BOARD, board_message("sb-key", user="99", message_id="2"), secret=None)  # not an agent
    assert world.texts() == []


def test_supportboard_deeply_nested_body_is_a_client_error(world: World) -> None:
    body = b'{"key": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    response = requests.post(world.webhook_url(BOARD), data=body, timeout=30)
    quiet(world)
    assert response.status_code in (400, 401), response.status_code


def test_supportboard_key_with_a_lone_surrogate_is_refused(world: World) -> None:
    body = b'{"key": "\\ud800", "function": "message-sent", "data": {}}'
    response = requests.post(world.webhook_url(BOARD), data=body, timeout=10)
    quiet(world)
    assert response.status_code == 401, response.status_code


def test_custom_deeply_nested_unsigned_body_is_refused_before_parsing(world: World) -> None:
    body = b"[" * 200_000
    response = requests.post(world.webhook_url(CUSTOM), data=body, headers={SIGNATURE_HEADER: "x"}, timeout=30)
    assert response.status_code == 401


# Webhooks: the HTTP server -----------------------------------------------------------------------------


def test_server_refuses_a_body_over_the_limit_by_its_length(world: World) -> None:
    ours = start_chat(world)
    headers, body = signed({**message(ours), "pad": "x" * (4 * 1024 * 1024)})
    response = requests.post(world.webhook_url(CUSTOM), data=body, headers=headers, timeout=30)
    assert response.status_code == 413
    assert world.store.count(INBOX, {}) == 0


@pytest.mark.parametrize("length", ["-1", "1e9", "99999999999999999999", "0x10"])
def test_server_refuses_a_malformed_content_length(world: World, length: str) -> None:
    url = urlsplit(world.webhook_url(CUSTOM))
    with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
        sock.sendall(f"POST {url.path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
        answer = sock.recv(4096)
    assert answer.split(b" ")[1] in (b"400", b"413"), answer[:100]


def test_server_refuses_a_chunked_body_over_the_limit(world: World) -> None:
    ours = start_chat(world)
    headers, body = signed({**message(ours), "pad": "x" * (4 * 1024 * 1024 + 10)})

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = requests.post(world.webhook_url(CUSTOM), data=chunks(), headers=headers, timeout=30)
    assert response.status_code == 413
    assert world.store.count(INBOX, {}) == 0


def test_server_stops_reading_a_chunked_body_at_the_limit(world: World) -> None:
    url = urlsplit(world.webhook_url(CUSTOM))
    sock = socket.create_connection((url.hostname, url.port), timeout=5)
    try:
        sock.sendall(f"POST {url.path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"x" * 262_144
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        try:
            for _ in range(20):  # 5 MiB, more than the limit, and no final chunk
                sock.sendall(framed)
        except OSError:
            pass  # the server gave up reading: what we want
        sock.settimeout(3)
        try:
            answer = sock.recv(4096)
        except TimeoutError:
            answer = b""
    finally:
        sock.close()
    quiet(world)
    assert answer.startswith(b"HTTP/1.1 413"), "the server kept reading past the limit, waiting for more"


def test_server_answers_only_post_on_the_webhook(world: World) -> None:
    for method in ("GET", "PUT", "DELETE"):
        assert requests.request(method, world.webhook_url(CUSTOM), timeout=10).status_code == 405


@pytest.mark.parametrize(
    "path", ["/livechat/../health/webhook", "/livechat/%2e%2e%2fapps/webhook", "/livechat/a/b/webhook"]
)
def test_server_path_tricks_find_no_channel(world: World, path: str) -> None:
    response = requests.post(world.serve().url + path, data=b"{}", timeout=10)
    assert response.status_code in (401, 404, 405), response.status_code
    assert response.status_code != 200


def test_server_errors_do_not_leak_the_secret(world: World) -> None:
    ours = start_chat(world)
    response = requests.post(world.webhook_url(CUSTOM), json=message(ours), headers={SIGNATURE_HEADER: "x"}, timeout=10)
    assert response.status_code == 401
    assert SECRET not in response.text and sign(SECRET, response.request.body) not in response.text


def test_server_relays_a_signed_agent_message_once_in_the_background(world: World) -> None:
    ours = start_chat(world)
    headers, body = signed(message(ours, "via http", event_id="h-1"))
    for _ in range(3):
        assert requests.post(world.webhook_url(CUSTOM), data=body, headers=headers, timeout=10).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and world.store.count(INBOX, {"status": "pending"}):
        time.sleep(0.05)
    assert world.texts() == ["via http"]


# The outbox: where outlet calls go ----------------------------------------------------------------------


def strict_world(clock: Clock, allow: tuple[str, ...] = ()) -> tuple[Runtime, World]:
    config = Config(workers=1, mode="inprocess", fetch_allow_hosts=allow)
    runtime = Runtime(config, store=Store.embedded_store(seed()), clock=clock)
    return runtime, World(runtime, clock)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/api/livechat",
        "http://localhost:{port}/api/livechat",
        "http://[::1]:{port}/api/livechat",
        "http://0.0.0.0:{port}/api/livechat",
        "http://2130706433:{port}/api/livechat",
        "http://127.1:{port}/api/livechat",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
        "http://user:pw@127.0.0.1:{port}/",
    ],
)
def test_outlet_url_at_a_private_address_is_refused(clock: Clock, custom: FakeCustomLiveChat, url: str) -> None:
    port = urlsplit(custom.url).port
    runtime, made = strict_world(clock)
    with runtime:
        made.configure(CUSTOM, info={"liveChatApiUrl": url.format(port=port), "secret": SECRET})
        started = time.monotonic()
        made.say("agent")
        assert time.monotonic() - started < 8
        opened = [i for i in made.outbox() if i["op"] == "open"]
        assert opened and opened[0]["status"] == "failed", opened
        assert custom.seen() == [], "the outlet call reached a private address"
        assert not made.in_live_chat(), "the chat should end: its conversation cannot be opened"
        assert made.assignment()["endReason"] == "failed"


def test_outlet_url_allow_listed_by_port_is_called(clock: Clock, custom: FakeCustomLiveChat) -> None:
    """The control for the redirect attack: the allow-listed peer itself is reached."""
    port = urlsplit(custom.url).port
    runtime, made = strict_world(clock, allow=(f"127.0.0.1:{port}",))
    with runtime:
        made.configure(CUSTOM, info={"liveChatApiUrl": custom.api_url, "secret": SECRET})
        made.say("agent")
        assert len(custom.seen("POST")) == 1


@pytest.mark.parametrize("status", [302, 307, 308])
def test_outlet_redirect_to_a_private_address_is_refused(clock: Clock, custom: FakeCustomLiveChat, status: int) -> None:
    hop = FakeServer()
    hop.route("POST", "/go", lambda _r, _m: Answer(status, headers={"Location": custom.api_url}))
    hop.route("GET", "/go", lambda _r, _m: Answer(status, headers={"Location": custom.api_url}))
    with hop:
        runtime, made = strict_world(clock, allow=(f"127.0.0.1:{hop.port}",))
        with runtime:
            made.configure(CUSTOM, info={"liveChatApiUrl": hop.url + "/go", "secret": SECRET})
            made.say("agent")
            assert len(hop.seen()) >= 1
            assert custom.seen() == [], "the redirect carried the outlet call to a private address"
            assert made.outbox()[0]["status"] in ("failed", "pending")


def test_methods_never_wait_on_the_outlet(world: World) -> None:
    slow = FakeServer()
    slow.route("POST", "/api", lambda _r, _m: (time.sleep(5), Answer(200, {}))[1])
    with slow:
        world.configure(CUSTOM, info={"liveChatApiUrl": slow.url + "/api", "secret": SECRET})
        source = (
            "r = this.createAssignment(member=this.member, createGroup={})\n"
            "this.sendMessageToOutletGroup(groupId=r['groupId'], response={'type': 'TEXT', 'text': 'hi'})\n"
            f"this.inletEndLiveChat(channel={{'_id': '{INLET}'}}, member=this.member)\n"
            "return r"
        )
        started = time.monotonic()
        result = act(world, source, limits=Limits(wall_ms=2000))
        assert result.ok, result.error
        assert time.monotonic() - started < 2
        assert slow.seen() == []
        assert [i["op"] for i in world.outbox()] == ["open", "relay", "close"]


def test_a_tarpit_outlet_of_one_app_does_not_starve_another_apps_chats(
    world: World, clock: Clock, custom: FakeCustomLiveChat
) -> None:
    add_other_tenant(world.store)
    tarpit = FakeServer()
    tarpit.route("POST", "/slow", lambda _r, _m: (time.sleep(1.5), Answer(200, {}))[1])
    with tarpit:
        world.configure(CUSTOM, info={"liveChatApiUrl": tarpit.url + "/slow", "secret": SECRET})
        world.configure(FOREIGN, info={"liveChatApiUrl": custom.api_url, "secret": SECRET})
        outlets = {**default_outlets(), "custom": lambda http: CustomOutlet(http, timeout=1.0)}
        desk = LiveChat(world.engine, outlets=outlets)
        outbox = Outbox(world.store, desk.settings)
        # Our (hostile) app: five chats whose outlet never answers in time.
        for _ in range(5):
            doc = {
                "_id": ObjectId(),
                "app": ObjectId(APP),
                "member": ObjectId(MEMBER),
                "outlet": ObjectId(CUSTOM),
                "outletState": {},
                "outboxSeq": 0,
                "createdAt": clock.now,
            }
            world.store.insert_one(ASSIGNMENTS, doc)
            outbox.put(clock.now, doc, "open", f"{doc['_id']}:open")
        clock.advance(seconds=1)
        their = world.store.find_one(ASSIGNMENTS, {"_id": ObjectId(THEIR_ASSIGNMENT)})
        outbox.put(clock.now, their, "open", f"{THEIR_ASSIGNMENT}:open")
        started = time.monotonic()
        worker = threading.Thread(target=desk.deliver_due, daemon=True)
        worker.start()
        while not custom.seen() and time.monotonic() - started < 15:
            time.sleep(0.05)
        waited = time.monotonic() - started
        worker.join(timeout=20)
        time.sleep(1.0)  # the tarpit's last answer, to a caller long gone, is written before the test judges
    assert custom.seen(), "the other app's call was never made"
    assert waited < 2.5, f"the other app's live chat waited {waited:.1f} s behind our tarpit"


# Floods --------------------------------------------------------------------------------------------------


def test_create_and_end_in_a_loop_is_stopped_by_the_method_budget(world: World) -> None:
    source = (
        "while True:\n"
        "    this.createAssignment(member=this.member)\n"
        f"    this.inletEndLiveChat(channel={{'_id': '{INLET}'}}, member=this.member)\n"
    )
    result = act(world, source, limits=Limits(method_calls=50))
    refused(result, "LimitExceeded")
    assert world.store.count(ASSIGNMENTS, {}) <= 25
    assert world.store.count(OUTBOX, {}) <= 50
    pending = world.store.count(AGENDAS, {"kind": TIMEOUT_AGENDA, "completed": False})
    assert pending <= 1, "ended live chats left their timeout agendas behind"


def test_outlet_group_messages_in_a_loop_are_stopped_by_the_method_budget(world: World) -> None:
    source = (
        "r = this.createAssignment(member=this.member, createGroup={})\n"
        "while True:\n"
        "    this.sendMessageToOutletGroup(groupId=r['groupId'], response={'type': 'TEXT', 'text': 'spam'})\n"
    )
    result = act(world, source, limits=Limits(method_calls=40))
    refused(result, "LimitExceeded")
    assert world.store.count(OUTBOX, {}) <= 40


def test_outlet_group_message_must_be_a_bounded_response(world: World) -> None:
    ours = start_chat(world)
    group = group_of(world, ours)
    for response in (
        "{'type': 'TEXT', 'text': 'x' * 5000}",
        "{'type': 'FILE', 'blob': 'x' * 100_000}",
        "{'text': 'no type'}",
    ):
        refused(
            act(world, f"return this.sendMessageToOutletGroup(groupId='{group}', response={response})"), "ParamError"
        )
    assert [i["op"] for i in world.outbox()] == ["open"]


def test_agent_message_flood_in_one_webhook_is_bounded_by_the_body_limit(world: World) -> None:
    ours = start_chat(world)
    headers, body = signed({"id": "flood", "assignmentId": ours, "sendToInlet": ["x"] * 2_000_000})
    response = requests.post(world.webhook_url(CUSTOM), data=body, headers=headers, timeout=30)
    assert response.status_code == 413
    assert world.store.count(INBOX, {}) == 0


def test_base64_of_the_secret_is_not_a_signature(world: World) -> None:
    ours = start_chat(world)
    forged = base64.b64encode(SECRET.encode()).decode()
    status, _ = hook(world, CUSTOM, message(ours), secret=None, **{SIGNATURE_HEADER: forged})
    assert status == 401
