"""Group methods through real scripts: getGroup, getGroupByExternalId,
getGroupByGroupExternalId, getGroupByInletGroup, getGroupByMemberId, updateGroup,
updateGroupMeta, inactivateGroup and saveGroupIdToMember.

The live-chat world and the helpers are those of ``test_livechat.py``: a group is
made by ``createAssignment(createGroup=...)``; another app's live chat, made by its
own script, has a group with the same conversation id (``conv-x``), agent
(``agent-1``) and inlet group (``ig-1``) the tests look for.
"""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from noderuntime.store.schema import GROUPS, MEMBERS
from tests.noderuntime.livechat import conftest as live
from tests.noderuntime.livechat.conftest import APP, CUSTOM, FOREIGN, INLET, MEMBER, OTHER_APP, ROCKET, START
from tests.noderuntime.methods import test_livechat
from tests.noderuntime.methods.test_livechat import (
    FOREIGN_INLET,
    FOREIGN_MEMBER,
    GROUP_KEYS,
    HIDDEN,
    MINUTE,
    NOWHERE,
    UPDATED_KEYS,
    Lab,
    assert_ended,
    assert_names,
    visible,
)

#: The fixtures of the live-chat world and of test_livechat.py, used here as they are.
clock = live.clock
world = live.world
lab = test_livechat.lab


def made_group(lab: Lab, external_id: str | None = "conv-1", **params: Any) -> dict[str, Any]:
    """Our member's live chat with a group: ``{member, assignmentId, groupId}``."""
    create_group = {} if external_id is None else {"externalId": external_id}
    return lab.create(createGroup=create_group, **params)


def taken_by(lab: Lab, group_id: str, agent: str = "agent-1") -> None:
    """An agent took the chat (what the desk writes on the group)."""
    lab.store.update(GROUPS, {"_id": ObjectId(group_id)}, {"$set": {"adminExternalId": agent, "admin": "Alice"}})


# getGroup -------------------------------------------------------------------------------------


def test_get_group_answers_the_documented_group(lab: Lab) -> None:
    made = made_group(lab, assignmentDetails={"groupName": "john_livechat"})

    found = lab.ok("getGroup", {"groupId": made["groupId"]})

    assert set(found) == GROUP_KEYS
    assert not set(HIDDEN) & set(found)
    assert found == visible(lab.group(made["groupId"]))
    assert found["_id"] == made["groupId"]
    assert found["app"] == APP
    assert found["member"] == MEMBER
    assert found["inlet"] == INLET
    assert found["outlet"] == CUSTOM
    assert found["assignment"] == made["assignmentId"]
    assert found["externalId"] == "conv-1"
    assert found["name"] == "john_livechat"
    assert found["type"] == "custom"
    assert found["valid"] is True
    assert found["createdAt"] == START


@pytest.mark.parametrize("group_id", [NOWHERE, "not-an-id"])
def test_get_group_unknown_is_null(lab: Lab, group_id: str) -> None:
    made_group(lab)

    assert lab.ok("getGroup", {"groupId": group_id}) is None


def test_get_group_of_another_app_is_null(lab: Lab) -> None:
    theirs = lab.foreign()["group"]

    assert lab.ok("getGroup", {"groupId": theirs}) is None
    assert lab.ok("getGroup", {"groupId": theirs}, app=OTHER_APP, member=None)["_id"] == theirs


# The other readers ----------------------------------------------------------------------------

READERS_VALIDATION = [
    ("getGroup", {}, "'groupId' is required"),
    ("getGroup", {"groupId": 1}, "'groupId' must be a string, got number"),
    ("getGroupByExternalId", {"groupId": "conv-1", "channelId": CUSTOM}, "'adminExternalId' is required"),
    ("getGroupByExternalId", {"adminExternalId": "agent-1", "channelId": CUSTOM}, "'groupId' is required"),
    ("getGroupByExternalId", {"adminExternalId": "agent-1", "groupId": "conv-1"}, "'channelId' is required"),
    (
        "getGroupByExternalId",
        {"adminExternalId": "agent-1", "groupId": "conv-1", "channelId": CUSTOM, "type": 1},
        "'type' must be a string, got number",
    ),
    ("getGroupByGroupExternalId", {}, "'groupExternalId' is required"),
    ("getGroupByGroupExternalId", {"groupExternalId": ["conv-1"]}, "'groupExternalId' must be a string, got array"),
    ("getGroupByInletGroup", {"inlet": INLET}, "'inletGroupExternalId' is required"),
    ("getGroupByInletGroup", {"inletGroupExternalId": "ig-1"}, "'inlet' is required"),
    ("getGroupByInletGroup", {"inletGroupExternalId": "ig-1", "inlet": {"_id": INLET}}, "'inlet' must be a string"),
    ("getGroupByMemberId", {"memberId": MEMBER}, "'inlet' is required"),
    ("getGroupByMemberId", {"inlet": INLET}, "'memberId' is required"),
    ("getGroupByMemberId", {"inlet": INLET, "memberId": True}, "'memberId' must be a string, got boolean"),
    ("getGroupByMemberId", {"inlet": INLET, "memberId": MEMBER, "member": MEMBER}, "unknown parameter 'member'"),
]


@pytest.mark.parametrize(("method", "params", "words"), READERS_VALIDATION)
def test_group_readers_validate_their_parameters(lab: Lab, method: str, params: Any, words: str) -> None:
    made_group(lab)

    assert_names(lab.fails(method, params), "ParamError", method, words)


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"adminExternalId": "agent-1", "groupId": "conv-1", "channelId": CUSTOM}, True),
        ({"adminExternalId": "agent-1", "groupId": "conv-1", "channelId": CUSTOM, "type": "custom"}, True),
        ({"adminExternalId": "agent-1", "groupId": "conv-1", "channelId": CUSTOM, "type": "slack"}, False),
        ({"adminExternalId": "agent-2", "groupId": "conv-1", "channelId": CUSTOM}, False),
        ({"adminExternalId": "agent-1", "groupId": "conv-2", "channelId": CUSTOM}, False),
        ({"adminExternalId": "agent-1", "groupId": "conv-1", "channelId": ROCKET}, False),
    ],
)
def test_get_group_by_external_id(lab: Lab, params: dict[str, Any], found: bool) -> None:
    made = made_group(lab)
    taken_by(lab, made["groupId"])

    group = lab.ok("getGroupByExternalId", params)

    if found:
        assert set(group) == GROUP_KEYS
        assert group == visible(lab.group(made["groupId"]))
    else:
        assert group is None


def test_get_group_by_external_id_of_another_app_is_null(lab: Lab) -> None:
    lab.foreign()  # conv-x, agent-1, on FOREIGN
    params = {"adminExternalId": "agent-1", "groupId": "conv-x", "channelId": FOREIGN}

    assert lab.ok("getGroupByExternalId", params) is None
    assert lab.ok("getGroupByExternalId", params, app=OTHER_APP, member=None) is not None


def test_get_group_by_group_external_id(lab: Lab) -> None:
    made = made_group(lab)

    group = lab.ok("getGroupByGroupExternalId", {"groupExternalId": "conv-1"})

    assert set(group) == GROUP_KEYS
    assert group == visible(lab.group(made["groupId"]))
    assert lab.ok("getGroupByGroupExternalId", {"groupExternalId": "conv-2"}) is None


def test_get_group_by_group_external_id_answers_the_current_group_first(lab: Lab, clock: Any) -> None:
    old = made_group(lab)
    lab.end(old["assignmentId"])
    clock.advance(minutes=1)
    current = made_group(lab)
    # The ended group is the newest (a reused conversation id): still the current one wins.
    lab.store.update(GROUPS, {"_id": ObjectId(old["groupId"])}, {"$set": {"createdAt": START + 5 * MINUTE}})

    group = lab.ok("getGroupByGroupExternalId", {"groupExternalId": "conv-1"})

    assert group["_id"] == current["groupId"]


def test_get_group_by_group_external_id_of_another_app_is_null(lab: Lab) -> None:
    lab.foreign()

    assert lab.ok("getGroupByGroupExternalId", {"groupExternalId": "conv-x"}) is None


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"inletGroupExternalId": "ig-1", "inlet": INLET}, True),
        ({"inletGroupExternalId": "ig-2", "inlet": INLET}, False),
        ({"inletGroupExternalId": "ig-1", "inlet": CUSTOM}, False),
    ],
)
def test_get_group_by_inlet_group(lab: Lab, params: dict[str, Any], found: bool) -> None:
    made = made_group(lab)
    lab.store.update(GROUPS, {"_id": ObjectId(made["groupId"])}, {"$set": {"inletGroupExternalId": "ig-1"}})

    group = lab.ok("getGroupByInletGroup", params)

    assert group == (visible(lab.group(made["groupId"])) if found else None)


def test_get_group_by_inlet_group_of_another_app_is_null(lab: Lab) -> None:
    lab.foreign()  # ig-1 on FOREIGN_INLET
    made_group(lab)  # ours has no inlet group

    assert lab.ok("getGroupByInletGroup", {"inletGroupExternalId": "ig-1", "inlet": FOREIGN_INLET}) is None
    assert lab.ok("getGroupByInletGroup", {"inletGroupExternalId": "ig-1", "inlet": INLET}) is None


def test_get_group_by_member_id(lab: Lab) -> None:
    made = made_group(lab)

    group = lab.ok("getGroupByMemberId", {"inlet": INLET, "memberId": MEMBER})

    assert set(group) == GROUP_KEYS
    assert group == visible(lab.group(made["groupId"]))
    assert lab.ok("getGroupByMemberId", {"inlet": CUSTOM, "memberId": MEMBER}) is None
    assert lab.ok("getGroupByMemberId", {"inlet": INLET, "memberId": NOWHERE}) is None


def test_get_group_by_member_id_answers_the_group_of_the_live_chat_in_progress(lab: Lab) -> None:
    made = made_group(lab)
    previous = lab.ok("getAssignment", {"assignmentId": made["assignmentId"]})
    new = lab.ok("reassignAssignment", {"previousAssignment": previous, "targets": [{"channel": ROCKET}]})
    new_group = str(lab.assignment(new["assignmentId"])["group"])

    group = lab.ok("getGroupByMemberId", {"inlet": INLET, "memberId": MEMBER})

    assert new_group != made["groupId"]
    assert group["_id"] == new_group
    assert group["outlet"] == ROCKET


def test_get_group_by_member_id_of_another_app_is_null(lab: Lab) -> None:
    lab.foreign()

    assert lab.ok("getGroupByMemberId", {"inlet": FOREIGN_INLET, "memberId": FOREIGN_MEMBER}) is None


# updateGroup ----------------------------------------------------------------------------------


def test_update_group_saves_the_fields_of_the_group_read(lab: Lab, clock: Any) -> None:
    made = made_group(lab)
    clock.advance(minutes=2)

    result = lab.run(
        f"group = this.getGroup(groupId='{made['groupId']}')\n"
        "group['name'] = 'renamed'\n"
        "group['valid'] = False\n"
        "group['note'] = 'vip'\n"
        "return this.updateGroup(group=group)"
    )

    assert result.ok, result.error
    stored = lab.group(made["groupId"])
    assert stored["name"] == "renamed"
    assert stored["valid"] is False
    assert stored["note"] == "vip"
    assert stored["_version"] == 2
    assert stored["updatedAt"] == START + 2 * MINUTE
    assert stored["externalId"] == "conv-1"
    assert set(result.value) == UPDATED_KEYS
    assert result.value == {"_docsIds": {"updated": [made["groupId"]]}, "_docs": [visible(stored)], "modified": 1}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("member", FOREIGN_MEMBER),
        ("inlet", CUSTOM),
        ("outlet", ROCKET),
        ("assignment", NOWHERE),
        ("app", OTHER_APP),
        ("createdAt", 0),
    ],
)
def test_update_group_cannot_change_what_links_it(lab: Lab, field: str, value: Any) -> None:
    made = made_group(lab)
    before = lab.group(made["groupId"])

    error = lab.fails("updateGroup", {"group": {"_id": made["groupId"], "name": "x", field: value}})

    assert_names(error, "PermissionDenied", "updateGroup", field)
    assert lab.group(made["groupId"]) == before


@pytest.mark.parametrize(
    ("group", "words"),
    [
        (None, ["'group' is required"]),
        ("G", ["'group' must be an object, got string"]),
        ({"name": "x"}, ["group._id"]),
        ({"_id": 5, "name": "x"}, ["group._id"]),
        ({"_id": "G"}, ["no fields to save"]),
        ({"_id": "G", "member": MEMBER, "updatedAt": 1}, ["no fields to save"]),
        ({"_id": "G", "$set": {"name": "x"}}, ["$set"]),
        ({"_id": "G", "meta": {"a.b": 1}}, ["group"]),
    ],
)
def test_update_group_validates_its_parameters(lab: Lab, group: Any, words: list[str]) -> None:
    made = made_group(lab)
    before = lab.group(made["groupId"])
    if group == "G":
        group = made["groupId"]
    elif isinstance(group, dict) and group.get("_id") == "G":
        group = {**group, "_id": made["groupId"]}

    error = lab.fails("updateGroup", {} if group is None else {"group": group})

    assert_names(error, "ParamError", "updateGroup", *words)
    assert lab.group(made["groupId"]) == before


@pytest.mark.parametrize("which", ["theirs", "unknown"])
def test_update_group_not_of_the_app_is_not_found(lab: Lab, which: str) -> None:
    theirs = lab.foreign()["group"]
    group_id = theirs if which == "theirs" else NOWHERE
    before = lab.group(theirs)

    error = lab.fails("updateGroup", {"group": {"_id": group_id, "name": "mine"}})

    assert_names(error, "NotFound", "updateGroup", group_id)
    assert lab.group(theirs) == before


def test_update_group_cannot_write_the_runtimes_fields(lab: Lab) -> None:
    made = made_group(lab)
    lab.end(made["assignmentId"])

    lab.call("updateGroup", {"group": {"_id": made["groupId"], "name": "x", "active": True}})

    assert lab.group(made["groupId"])["active"] is False


# updateGroupMeta ------------------------------------------------------------------------------


def test_update_group_meta_merges_key_by_key(lab: Lab) -> None:
    made = made_group(lab)
    lab.ok("updateGroupMeta", {"groupId": made["groupId"], "meta": {"tier": "gold", "n": 1}})

    result = lab.ok("updateGroupMeta", {"groupId": made["groupId"], "meta": {"n": 2, "seen": True}})

    stored = lab.group(made["groupId"])
    assert stored["meta"] == {"tier": "gold", "n": 2, "seen": True}
    assert stored["_version"] == 3
    assert set(result) == UPDATED_KEYS
    assert result == {"_docsIds": {"updated": [made["groupId"]]}, "_docs": [visible(stored)], "modified": 1}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"meta": {"a": 1}}, ["'groupId' is required"]),
        ({"groupId": "G"}, ["'meta' is required"]),
        ({"groupId": "G", "meta": "gold"}, ["'meta' must be an object, got string"]),
        ({"groupId": "G", "meta": {"a.b": 1}}, ["meta"]),
        ({"groupId": "G", "meta": {"$inc": {"n": 1}}}, ["meta"]),
    ],
)
def test_update_group_meta_validates_its_parameters(lab: Lab, params: dict[str, Any], words: list[str]) -> None:
    made = made_group(lab)
    if params.get("groupId") == "G":
        params = {**params, "groupId": made["groupId"]}
    before = lab.group(made["groupId"])

    assert_names(lab.fails("updateGroupMeta", params), "ParamError", "updateGroupMeta", *words)
    assert lab.group(made["groupId"]) == before


def test_update_group_meta_of_another_app_is_not_found(lab: Lab) -> None:
    theirs = lab.foreign()["group"]
    before = lab.group(theirs)

    error = lab.fails("updateGroupMeta", {"groupId": theirs, "meta": {"tier": "bronze"}})

    assert_names(error, "NotFound", "updateGroupMeta", theirs)
    assert lab.group(theirs) == before


# inactivateGroup ------------------------------------------------------------------------------


def test_inactivate_group_ends_its_live_chat_and_answers_the_group(lab: Lab, clock: Any) -> None:
    made = made_group(lab)
    clock.advance(minutes=4)

    result = lab.ok("inactivateGroup", {"groupId": made["groupId"]})

    assert set(result) == GROUP_KEYS
    assert result == visible(lab.group(made["groupId"]))
    assert result["updatedAt"] == START + 4 * MINUTE
    assert_ended(lab, made, "bot")
    assert "group" not in lab.member()


def test_inactivate_group_again_sends_no_second_close(lab: Lab) -> None:
    made = made_group(lab)
    lab.ok("inactivateGroup", {"groupId": made["groupId"]})

    result = lab.ok("inactivateGroup", {"groupId": made["groupId"]})

    assert result == visible(lab.group(made["groupId"]))
    assert_ended(lab, made, "bot")


def test_inactivate_group_answers_a_group_that_is_no_longer_valid(lab: Lab) -> None:
    made = made_group(lab)

    result = lab.ok("inactivateGroup", {"groupId": made["groupId"]})

    assert result["valid"] is False


@pytest.mark.parametrize(
    ("params", "kind", "words"),
    [
        ({}, "ParamError", ["'groupId' is required"]),
        ({"groupId": {"_id": "x"}}, "ParamError", ["'groupId' must be a string, got object"]),
        ({"groupId": NOWHERE}, "NotFound", [NOWHERE]),
        ({"groupId": "THEIRS"}, "NotFound", ["THEIRS"]),
    ],
)
def test_inactivate_group_checks_its_parameters(lab: Lab, params: dict[str, Any], kind: str, words: list[str]) -> None:
    theirs = lab.foreign()
    made = made_group(lab)
    if params.get("groupId") == "THEIRS":
        params = {"groupId": theirs["group"]}
        words = [theirs["group"]]

    assert_names(lab.fails("inactivateGroup", params), kind, "inactivateGroup", *words)
    assert lab.group(made["groupId"])["active"] is True
    assert lab.group(theirs["group"])["active"] is True
    assert lab.in_live_chat() and lab.in_live_chat(FOREIGN_MEMBER)


# saveGroupIdToMember --------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["externalId", "inletGroupExternalId"])
def test_save_group_id_to_member(lab: Lab, field: str) -> None:
    made = made_group(lab, external_id=None)
    lab.store.update(GROUPS, {"_id": ObjectId(made["groupId"])}, {"$set": {field: "grp-7"}})
    lab.store.update(MEMBERS, {"_id": ObjectId(MEMBER)}, {"$unset": {"group": ""}})

    result = lab.ok(
        "saveGroupIdToMember", {"channel": lab.channel(INLET), "messageEvent": {"from": "u-1", "groupId": "grp-7"}}
    )

    assert result == {"clientMutationId": MEMBER}
    assert lab.store.find_one(MEMBERS, {"_id": ObjectId(MEMBER)})["group"] == ObjectId(made["groupId"])
    assert lab.member()["group"] == made["groupId"]


@pytest.mark.parametrize(
    ("params", "kind", "words"),
    [
        ({"messageEvent": {"from": "u-1", "groupId": "conv-1"}}, "ParamError", ["'channel' is required"]),
        ({"channel": "C"}, "ParamError", ["'messageEvent' is required"]),
        ({"channel": INLET, "messageEvent": {}}, "ParamError", ["'channel' must be an object, got string"]),
        ({"channel": {"type": "webchat"}, "messageEvent": {}}, "ParamError", ["channel", "_id"]),
        ({"channel": "C", "messageEvent": {"groupId": "conv-1"}}, "ParamError", ["messageEvent", "from"]),
        ({"channel": "C", "messageEvent": {"from": "u-1"}}, "ParamError", ["messageEvent", "groupId"]),
        ({"channel": "C", "messageEvent": {"from": "u-9", "groupId": "conv-1"}}, "NotFound", ["u-9"]),
        ({"channel": "C", "messageEvent": {"from": "u-1", "groupId": "conv-2"}}, "NotFound", ["conv-2"]),
        # Another app's group, and another app's member (with the same externalId as ours).
        ({"channel": "C", "messageEvent": {"from": "u-1", "groupId": "conv-x"}}, "NotFound", ["conv-x"]),
        ({"channel": {"_id": FOREIGN_INLET}, "messageEvent": {"from": "u-1", "groupId": "conv-1"}}, "NotFound", []),
    ],
)
def test_save_group_id_to_member_checks_its_parameters(
    lab: Lab, params: dict[str, Any], kind: str, words: list[str]
) -> None:
    lab.foreign()
    made_group(lab)
    lab.store.update(MEMBERS, {"_id": ObjectId(MEMBER)}, {"$unset": {"group": ""}})
    if params.get("channel") == "C":
        params = {**params, "channel": lab.channel(INLET)}

    assert_names(lab.fails("saveGroupIdToMember", params), kind, "saveGroupIdToMember", *words)
    assert "group" not in lab.member()
    assert "group" in lab.member(FOREIGN_MEMBER)
