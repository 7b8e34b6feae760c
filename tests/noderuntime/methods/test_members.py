"""Member methods through real scripts: getMember, updateMember, patchMembers,
findAndModifyMember, checkAndSaveMemberReferFrom."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from tests.noderuntime.conftest import FROZEN_NOW
from tests.noderuntime.methods.conftest import (
    APP,
    CHANNEL,
    CREATED,
    FOREIGN_CHANNEL,
    FOREIGN_ID,
    HEX_ID,
    JOHN2_ID,
    JOHN_ID,
    MARY_ID,
    OTHER_APP,
    OTHER_CHANNEL,
    john,
    members,
)

UNKNOWN_ID = "5f74430000000000000000ff"
WHERE = "$where runs JavaScript on the database server and is not allowed"


def john_view(**changes: Any) -> dict[str, Any]:
    """The documented member as a script sees it (its _id a string)."""
    return {**john(), "_id": JOHN_ID, **changes}


def mary_view(**changes: Any) -> dict[str, Any]:
    (mary,) = [m for m in members() if m["_id"] == MARY_ID]
    return {**mary, **changes}


def foreign_stored() -> dict[str, Any]:
    (foreign,) = [m for m in members() if m["_id"] == ObjectId(FOREIGN_ID)]
    return foreign


def assert_members_unchanged(api) -> None:
    assert api.store.find("members", {}, sort=[("createdAt", 1), ("externalId", 1)]) == sorted(
        members(), key=lambda m: (m["createdAt"], m["externalId"])
    )


# getMember ------------------------------------------------------------------------


def test_get_member_returns_the_stored_member_with_string_ids(both):
    assert both.ok("getMember", {"memberId": JOHN_ID}) == john_view()


def test_get_member_with_keyword_arguments(api):
    assert api.run(f"return this.getMember(memberId={JOHN_ID!r})").value == john_view()


def test_get_member_reads_like_a_js_object(api):
    source = f"m = this.getMember({{'memberId': {JOHN_ID!r}}})\nreturn [m._id, m.botMeta.tree, m.meta.checked]"
    assert api.run(source).value == [JOHN_ID, "t12345678901234567890123", False]


@pytest.mark.parametrize(
    ("member_id", "first_name"),
    [(JOHN_ID, "John"), (HEX_ID, "Hex"), (MARY_ID, "Mary")],
    ids=["stored-as-objectid", "stored-as-hex-string", "stored-as-plain-string"],
)
def test_a_string_id_finds_the_member_however_its_id_is_stored(api, member_id, first_name):
    got = api.ok("getMember", {"memberId": member_id})
    assert (got["_id"], got["firstName"]) == (member_id, first_name)


@pytest.mark.parametrize("member_id", [FOREIGN_ID, UNKNOWN_ID, "nobody"])
def test_get_member_of_another_app_or_unknown_is_null(both, member_id):
    assert both.ok("getMember", {"memberId": member_id}) is None


def test_get_member_requires_member_id(api):
    error = api.fails("getMember", {})
    assert (error["type"], error["message"]) == ("ParamError", "getMember: 'memberId' is required")


@pytest.mark.parametrize(
    ("value", "kind"), [(5, "number"), (True, "boolean"), ({"$where": "sleep(100)"}, "object"), ([JOHN_ID], "array")]
)
def test_get_member_member_id_must_be_a_string(api, value, kind):
    error = api.fails("getMember", {"memberId": value})
    assert error["type"] == "ParamError"
    assert error["message"] == f"getMember: 'memberId' must be a string, got {kind}"


def test_get_member_takes_no_operators(api):
    # An id is the only parameter: an operator cannot reach the query, it is an unknown parameter.
    error = api.fails("getMember", {"memberId": JOHN_ID, "$where": "sleep(100)"})
    assert error["message"] == "getMember: unknown parameter '$where'; expected: memberId"


def test_a_run_without_an_app_cannot_read_members(api):
    error = api.fails("getMember", {"memberId": JOHN_ID}, app=None)
    assert error["type"] == "PermissionDenied"
    assert error["message"] == (
        "getMember: this run has no app: give the context an app id (context.app or member.app)"
    )


def test_the_app_comes_from_the_member_in_the_context(api):
    result = api.run(
        f"return this.getMember(memberId={JOHN_ID!r}).firstName", {"member": {"_id": MARY_ID, "app": APP}}, app=None
    )
    assert result.value == "John"


def test_members_whose_app_and_channel_are_stored_as_object_ids_are_found(api):
    api.store.insert_one(
        "members", {"_id": ObjectId(UNKNOWN_ID), "app": ObjectId(APP), "channel": ObjectId(CHANNEL), "firstName": "Obi"}
    )
    assert api.ok("getMember", {"memberId": UNKNOWN_ID}) == {
        "_id": UNKNOWN_ID,
        "app": APP,
        "channel": CHANNEL,
        "firstName": "Obi",
    }
    patched = api.ok("patchMembers", {"channel": {"_id": CHANNEL}, "filter": {"firstName": "Obi"}, "patch": {"x": 1}})
    assert patched["result"]["x"] == 1


# updateMember ---------------------------------------------------------------------


def test_update_member_saves_the_members_fields(both):
    source = (
        f"m = this.getMember(memberId={JOHN_ID!r})\n"
        "m.firstName = 'Johnny'\n"
        "m.meta.checked = True\n"
        "return this.updateMember(member=m)"
    )
    result = both.run(source)
    assert result.ok, result.error
    saved = john_view(firstName="Johnny", meta={"checked": True}, updatedAt=FROZEN_NOW)
    assert result.value == {"_docsIds": {"updated": [JOHN_ID]}, "_docs": saved, "modified": 1}
    assert both.stored("members", ObjectId(JOHN_ID)) == {
        **john(),
        "firstName": "Johnny",
        "meta": {"checked": True},
        "updatedAt": FROZEN_NOW,
    }


def test_update_member_sets_only_the_given_fields(api):
    got = api.ok("updateMember", {"member": {"_id": MARY_ID, "gender": "female"}})
    assert got == {
        "_docsIds": {"updated": [MARY_ID]},
        "_docs": mary_view(gender="female", updatedAt=FROZEN_NOW),
        "modified": 1,
    }


def test_update_member_with_this_member_repeating_its_protected_fields(api):
    source = "this.member.botMeta.tempData.gender = 'female'\nreturn this.updateMember({'member': this.member})"
    result = api.run(source, {"member": john_view()})
    assert result.ok, result.error
    assert api.stored("members", ObjectId(JOHN_ID))["botMeta"]["tempData"] == {"gender": "female"}


def test_update_member_ignores_the_scripts_updated_at(api):
    api.ok("updateMember", {"member": {"_id": JOHN_ID, "firstName": "J", "updatedAt": 5}})
    assert api.stored("members", ObjectId(JOHN_ID))["updatedAt"] == FROZEN_NOW


@pytest.mark.parametrize("member_id", [FOREIGN_ID, UNKNOWN_ID])
def test_update_member_of_another_app_or_unknown_is_not_found(both, member_id):
    error = both.fails("updateMember", {"member": {"_id": member_id, "firstName": "Mallory"}})
    assert error["type"] == "NotFound"
    assert error["message"] == f"updateMember: no member {member_id} in this app"
    assert both.stored("members", ObjectId(FOREIGN_ID)) == foreign_stored()


@pytest.mark.parametrize(("field", "value"), [("app", OTHER_APP), ("channel", OTHER_CHANNEL), ("createdAt", 1)])
def test_update_member_cannot_change_protected_fields(api, field, value):
    error = api.fails("updateMember", {"member": {"_id": JOHN_ID, "firstName": "J", field: value}})
    assert (error["type"], error["message"]) == ("PermissionDenied", f"updateMember cannot change {field}")
    assert_members_unchanged(api)


def test_update_member_needs_a_field_to_save(api):
    error = api.fails("updateMember", {"member": {"_id": JOHN_ID, "app": APP, "updatedAt": 1}})
    assert error["message"] == "updateMember: member has no fields to save besides its ids"


def test_update_member_requires_member(api):
    assert api.fails("updateMember", {})["message"] == "updateMember: 'member' is required"


@pytest.mark.parametrize(("value", "kind"), [("m1", "string"), (1, "number"), ([{}], "array"), (False, "boolean")])
def test_update_member_member_must_be_an_object(api, value, kind):
    error = api.fails("updateMember", {"member": value})
    assert (error["type"], error["message"]) == ("ParamError", f"updateMember: 'member' must be an object, got {kind}")


@pytest.mark.parametrize("member", [{"firstName": "x"}, {"_id": 5, "firstName": "x"}, {"_id": None, "firstName": "x"}])
def test_update_member_needs_the_members_string_id(api, member):
    error = api.fails("updateMember", {"member": member})
    assert (error["type"], error["message"]) == (
        "ParamError",
        "updateMember: member._id must be the member's id (a string)",
    )


@pytest.mark.parametrize(
    ("member", "kind", "message"),
    [
        ({"$where": "sleep(100)"}, "PermissionDenied", f"updateMember: member: {WHERE}"),
        ({"meta": {"$where": "sleep(100)"}}, "PermissionDenied", f"updateMember: member: {WHERE}"),
        ({"$set": {"app": OTHER_APP}}, "ParamError", "updateMember: member: field name '$set' cannot start with '$'"),
    ],
)
def test_update_member_refuses_operators(api, member, kind, message):
    error = api.fails("updateMember", {"member": {"_id": JOHN_ID, **member}})
    assert (error["type"], error["message"]) == (kind, message)
    assert_members_unchanged(api)


# patchMembers ---------------------------------------------------------------------


def test_patch_members_by_id_sets_the_patch(both):
    got = both.ok("patchMembers", {"memberId": JOHN_ID, "patch": {"meta.checked": True, "firstName": "Johnny"}})
    after = john_view(firstName="Johnny", meta={"checked": True}, updatedAt=FROZEN_NOW)
    assert got == {"result": after}
    assert both.stored("members", ObjectId(JOHN_ID)) == {**after, "_id": ObjectId(JOHN_ID)}


def test_patch_members_by_filter_patches_the_first_match_by_id(api):
    got = api.ok("patchMembers", {"filter": {"firstName": "John"}, "patch": {"seen": True}})
    assert got["result"]["_id"] == JOHN_ID
    assert "seen" not in api.stored("members", ObjectId(JOHN2_ID))


def test_patch_members_channel_narrows_the_filter(api):
    got = api.ok("patchMembers", {"channel": {"_id": OTHER_CHANNEL, "app": APP}, "filter": {}, "patch": {"x": 1}})
    assert got["result"]["_id"] in (HEX_ID, JOHN2_ID)
    assert got["result"]["channel"] == OTHER_CHANNEL
    assert api.ok("patchMembers", {"channel": {"_id": FOREIGN_CHANNEL}, "filter": {}, "patch": {"x": 1}}) == {
        "result": None
    }


def test_patch_members_by_id_and_filter_needs_both_to_match(api):
    got = api.ok("patchMembers", {"memberId": JOHN_ID, "filter": {"firstName": "Mary"}, "patch": {"x": 1}})
    assert got == {"result": None}
    assert_members_unchanged(api)


def test_patch_members_with_modifier_uses_operators(api):
    patch = {"$inc": {"meta.visits": 1}, "$push": {"tags": "vip"}}
    got = api.ok("patchMembers", {"memberId": JOHN_ID, "patch": patch, "withModifier": True})
    assert got == {"result": john_view(meta={"checked": False, "visits": 1}, tags=["vip"], updatedAt=FROZEN_NOW)}


def test_patch_members_replacement_keeps_id_app_channel_and_created_at(both):
    patch = {"firstName": "New", "meta": {"fresh": True}}
    got = both.ok("patchMembers", {"memberId": JOHN_ID, "patch": patch, "withModifier": True})
    replaced = {
        "_id": JOHN_ID,
        "app": APP,
        "channel": CHANNEL,
        "createdAt": CREATED,
        "firstName": "New",
        "meta": {"fresh": True},
        "updatedAt": FROZEN_NOW,
    }
    assert got == {"result": replaced}
    assert both.stored("members", ObjectId(JOHN_ID)) == {**replaced, "_id": ObjectId(JOHN_ID)}


def test_patch_members_replacement_may_repeat_protected_values(api):
    patch = {"_id": JOHN_ID, "app": APP, "channel": CHANNEL, "createdAt": CREATED, "firstName": "Same"}
    got = api.ok("patchMembers", {"memberId": JOHN_ID, "patch": patch, "withModifier": True})
    assert got["result"] == {**patch, "updatedAt": FROZEN_NOW}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"app": OTHER_APP}, "app"),
        ({"channel": OTHER_CHANNEL}, "channel"),
        ({"createdAt": 1}, "createdAt"),
        ({"_id": UNKNOWN_ID}, "_id"),
    ],
)
def test_patch_members_replacement_cannot_change_protected_fields(api, patch, field):
    error = api.fails("patchMembers", {"memberId": JOHN_ID, "patch": {"x": 1, **patch}, "withModifier": True})
    assert (error["type"], error["message"]) == (
        "PermissionDenied",
        f"patchMembers: a replacement cannot change {field}",
    )
    assert_members_unchanged(api)


@pytest.mark.parametrize(
    ("patch", "with_modifier", "message"),
    [
        ({"app": OTHER_APP}, False, "patch cannot change app ($set app)"),
        ({"channel": "c"}, False, "patch cannot change channel ($set channel)"),
        ({"createdAt": 1}, False, "patch cannot change createdAt ($set createdAt)"),
        ({"_id": "x"}, False, "patch cannot change _id ($set _id)"),
        ({"$set": {"app.name": "x"}}, True, "patch cannot change app ($set app.name)"),
        ({"$unset": {"createdAt": ""}}, True, "patch cannot change createdAt ($unset createdAt)"),
        ({"$rename": {"firstName": "channel"}}, True, "patch cannot change channel ($rename channel)"),
    ],
)
def test_patch_members_cannot_touch_protected_fields(api, patch, with_modifier, message):
    error = api.fails("patchMembers", {"memberId": JOHN_ID, "patch": patch, "withModifier": with_modifier})
    assert (error["type"], error["message"]) == ("PermissionDenied", f"patchMembers: {message}")
    assert_members_unchanged(api)


def test_patch_members_without_modifier_refuses_operators(api):
    error = api.fails("patchMembers", {"memberId": JOHN_ID, "patch": {"$inc": {"visits": 1}}})
    assert error["message"] == (
        "patchMembers: patch starts with the operator $inc but withModifier is false; "
        "pass withModifier: true to use update operators"
    )


@pytest.mark.parametrize(
    "params",
    [
        {"memberId": FOREIGN_ID, "patch": {"firstName": "Mallory"}},
        {"memberId": UNKNOWN_ID, "patch": {"firstName": "Mallory"}},
        {"filter": {"app": OTHER_APP}, "patch": {"firstName": "Mallory"}},
        {"filter": {"channel": FOREIGN_CHANNEL}, "patch": {"firstName": "Mallory"}},
    ],
)
def test_patch_members_never_reaches_another_apps_member(both, params):
    assert both.ok("patchMembers", params) == {"result": None}
    assert both.stored("members", ObjectId(FOREIGN_ID)) == foreign_stored()


def test_patch_members_channel_of_another_app_is_refused(api):
    error = api.fails(
        "patchMembers", {"channel": {"_id": FOREIGN_CHANNEL, "app": OTHER_APP}, "filter": {}, "patch": {"x": 1}}
    )
    assert (error["type"], error["message"]) == ("PermissionDenied", "patchMembers: the channel belongs to another app")


def test_patch_members_channel_needs_its_id(api):
    error = api.fails("patchMembers", {"channel": {"name": "x"}, "filter": {}, "patch": {"x": 1}})
    assert error["message"] == "patchMembers: channel._id must be the channel's id (a string)"


def test_patch_members_needs_member_id_or_filter(api):
    assert api.fails("patchMembers", {"patch": {"x": 1}})["message"] == "patchMembers: give memberId or filter"


def test_patch_members_requires_patch(api):
    assert api.fails("patchMembers", {"memberId": JOHN_ID})["message"] == "patchMembers: 'patch' is required"
    assert api.fails("patchMembers", {"memberId": JOHN_ID, "patch": {}})["message"] == (
        "patchMembers: patch must be a non-empty object"
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("channel", CHANNEL, "an object, got string"),
        ("memberId", 1, "a string, got number"),
        ("filter", [], "an object, got array"),
        ("patch", "x", "an object, got string"),
        ("withModifier", "yes", "a boolean, got string"),
    ],
)
def test_patch_members_parameter_types(api, name, value, expected):
    params = {"memberId": JOHN_ID, "patch": {"x": 1}, name: value}
    error = api.fails("patchMembers", params)
    assert (error["type"], error["message"]) == ("ParamError", f"patchMembers: '{name}' must be {expected}")


@pytest.mark.parametrize(
    ("params", "where", "operator"),
    [
        ({"filter": {"$where": "sleep(100)"}, "patch": {"x": 1}}, "filter", "$where"),
        (
            {"filter": {"$expr": {"$function": {"body": "x", "args": [], "lang": "js"}}}, "patch": {"x": 1}},
            "filter",
            "$function",
        ),
        ({"memberId": JOHN_ID, "patch": {"$where": {"x": 1}}, "withModifier": True}, "patch", "$where"),
        ({"memberId": JOHN_ID, "patch": {"meta": {"$where": "x"}}}, "patch", "$where"),
    ],
)
def test_patch_members_refuses_server_side_code(both, params, where, operator):
    error = both.fails("patchMembers", params)
    assert error["type"] == "PermissionDenied"
    assert (
        error["message"]
        == f"patchMembers: {where}: {operator} runs JavaScript on the database server and is not allowed"
    )


def test_patch_members_has_no_upsert(api):
    error = api.fails("patchMembers", {"memberId": UNKNOWN_ID, "patch": {"x": 1}, "options": {"upsert": True}})
    assert error["message"] == (
        "patchMembers: unknown parameter 'options'; expected: channel, memberId, filter, patch, withModifier"
    )


# findAndModifyMember --------------------------------------------------------------

#: The documented example.
CHECK_JOHN = {
    "filter": {"firstName": "John", "meta.checked": False},
    "patch": {"meta.checked": True},
    "withModifier": False,
    "sortBy": {"_id": -1},
    "option": {"new": True},
}


def test_find_and_modify_member_documented_example(both):
    assert both.ok("findAndModifyMember", CHECK_JOHN) == {
        "ok": 1,
        "member": john_view(meta={"checked": True}, updatedAt=FROZEN_NOW),
    }


def test_find_and_modify_member_finds_an_entry_once(api):
    source = f"first = this.findAndModifyMember({CHECK_JOHN!r})\nsecond = this.findAndModifyMember({CHECK_JOHN!r})\nreturn [first.member._id, second]"
    assert api.run(source).value == [JOHN_ID, {"ok": 1, "member": None}]


def test_find_and_modify_member_returns_the_member_before_the_change_by_default(api):
    got = api.ok("findAndModifyMember", {**CHECK_JOHN, "option": None})
    assert got == {"ok": 1, "member": john_view()}
    assert api.stored("members", ObjectId(JOHN_ID))["meta"] == {"checked": True}


@pytest.mark.parametrize(
    ("option", "after"),
    [
        ({"new": False}, False),
        ({"returnDocument": "after"}, True),
        ({"returnDocument": "before"}, False),
        ({"returnOriginal": False}, True),
    ],
)
def test_find_and_modify_member_before_or_after(api, option, after):
    got = api.ok("findAndModifyMember", {**CHECK_JOHN, "option": option})
    assert got["member"]["meta"] == {"checked": after}


def test_find_and_modify_member_sorts_before_picking(api):
    params = {"filter": {"firstName": "John"}, "patch": {"$set": {"seen": 1}}, "sortBy": {"createdAt": -1}}
    assert api.ok("findAndModifyMember", params)["member"]["_id"] == JOHN2_ID
    params["sortBy"] = {"createdAt": 1}
    assert api.ok("findAndModifyMember", params)["member"]["_id"] == JOHN_ID


@pytest.mark.parametrize("member_id", [JOHN_ID, HEX_ID, MARY_ID])
def test_find_and_modify_member_by_string_id(api, member_id):
    params = {"filter": {"_id": member_id}, "patch": {"$set": {"seen": 1}}, "option": {"new": True}}
    got = api.ok("findAndModifyMember", params)["member"]
    assert (got["_id"], got["seen"]) == (member_id, 1)


def test_find_and_modify_member_replacement_keeps_protected_fields(api):
    got = api.ok(
        "findAndModifyMember", {"filter": {"_id": JOHN_ID}, "patch": {"firstName": "R"}, "option": {"new": True}}
    )
    assert got == {
        "ok": 1,
        "member": {
            "_id": JOHN_ID,
            "app": APP,
            "channel": CHANNEL,
            "createdAt": CREATED,
            "firstName": "R",
            "updatedAt": FROZEN_NOW,
        },
    }


def test_find_and_modify_member_projection(api):
    params = {**CHECK_JOHN, "option": {"new": True, "projection": {"firstName": 1, "meta": 1}}}
    assert api.ok("findAndModifyMember", params) == {
        "ok": 1,
        "member": {"_id": JOHN_ID, "firstName": "John", "meta": {"checked": True}},
    }


def test_find_and_modify_member_replacement_with_projection_without_id_changes_one_member(api):
    option = {"new": True, "projection": {"lastName": 1, "_id": 0}}
    got = api.ok(
        "findAndModifyMember", {"filter": {"firstName": "John"}, "patch": {"lastName": "Zed"}, "option": option}
    )
    assert got == {"ok": 1, "member": {"lastName": "Zed"}}
    assert api.stored("members", ObjectId(JOHN2_ID))["firstName"] == "John", "only one member replaced"


def test_find_and_modify_member_no_match_is_null(api):
    params = {"filter": {"firstName": "Nobody"}, "patch": {"$set": {"x": 1}}}
    assert api.ok("findAndModifyMember", params) == {"ok": 1, "member": None}


@pytest.mark.parametrize("member_filter", [{"_id": FOREIGN_ID}, {"app": OTHER_APP}, {"channel": FOREIGN_CHANNEL}])
def test_find_and_modify_member_never_reaches_another_apps_member(both, member_filter):
    params = {"filter": member_filter, "patch": {"$set": {"firstName": "Mallory"}}, "option": {"new": True}}
    assert both.ok("findAndModifyMember", params) == {"ok": 1, "member": None}
    assert both.stored("members", ObjectId(FOREIGN_ID)) == foreign_stored()


def test_members_refuse_upsert(api):
    params = {"filter": {"_id": UNKNOWN_ID}, "patch": {"$set": {"x": 1}}, "option": {"upsert": True}}
    error = api.fails("findAndModifyMember", params)
    assert (error["type"], error["message"]) == (
        "ParamError",
        "findAndModifyMember: option 'upsert' is not available for members: members are created by the platform",
    )
    assert api.store.count("members", {}) == len(members())


def test_find_and_modify_member_cannot_touch_protected_fields(api):
    error = api.fails("findAndModifyMember", {"filter": {}, "patch": {"$set": {"app": OTHER_APP}}})
    assert (error["type"], error["message"]) == (
        "PermissionDenied",
        "findAndModifyMember: patch cannot change app ($set app)",
    )
    error = api.fails("findAndModifyMember", {"filter": {}, "patch": {"createdAt": 5, "x": 1}})
    assert error["message"] == "findAndModifyMember: a replacement cannot change createdAt"
    assert_members_unchanged(api)


@pytest.mark.parametrize("missing", ["filter", "patch"])
def test_find_and_modify_member_required_parameters(api, missing):
    params = {"filter": {}, "patch": {"$set": {"x": 1}}}
    del params[missing]
    error = api.fails("findAndModifyMember", params)
    assert (error["type"], error["message"]) == ("ParamError", f"findAndModifyMember: '{missing}' is required")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("filter", "x", "an object, got string"),
        ("patch", [], "an object, got array"),
        ("withModifier", "no", "a boolean, got string"),
        ("sortBy", 1, "an object, got number"),
        ("option", "new", "an object, got string"),
    ],
)
def test_find_and_modify_member_parameter_types(api, name, value, expected):
    error = api.fails("findAndModifyMember", {"filter": {}, "patch": {"$set": {"x": 1}}, name: value})
    assert (error["type"], error["message"]) == ("ParamError", f"findAndModifyMember: '{name}' must be {expected}")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"new": "yes"}, "option: 'new' must be bool"),
        ({"neww": True}, "option: unknown option 'neww'; did you mean 'new'?"),
        ({"returnDocument": "later"}, "option: 'returnDocument' must be 'before' or 'after'"),
        ({"projection": {"a": 2}}, "option.projection: a must be 1 (include) or 0 (exclude)"),
    ],
)
def test_find_and_modify_member_bad_options(api, option, message):
    error = api.fails("findAndModifyMember", {"filter": {}, "patch": {"$set": {"x": 1}}, "option": option})
    assert (error["type"], error["message"]) == ("ParamError", f"findAndModifyMember: {message}")


def test_find_and_modify_member_bad_sort(api):
    error = api.fails("findAndModifyMember", {"filter": {}, "patch": {"$set": {"x": 1}}, "sortBy": {"createdAt": 2}})
    assert error["message"] == "findAndModifyMember: sortBy: createdAt must be 1 (ascending) or -1 (descending)"


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"filter": {"$where": "true"}}, "filter"),
        ({"filter": {"firstName": {"$where": "true"}}}, "filter"),
        ({"patch": {"$where": {"x": 1}}}, "patch"),
        ({"option": {"$where": "true"}}, "option"),
        ({"sortBy": {"$where": 1}}, "sortBy"),
    ],
)
def test_find_and_modify_member_refuses_server_side_code(both, params, where):
    error = both.fails("findAndModifyMember", {"filter": {}, "patch": {"$set": {"x": 1}}, **params})
    assert (error["type"], error["message"]) == ("PermissionDenied", f"findAndModifyMember: {where}: {WHERE}")


def test_find_and_modify_member_refuses_unknown_operators_with_a_suggestion(api):
    error = api.fails("findAndModifyMember", {"filter": {"firstName": {"$regx": "J"}}, "patch": {"$set": {"x": 1}}})
    assert (error["type"], error["message"]) == (
        "ParamError",
        "findAndModifyMember: filter: unknown operator $regx; did you mean $regex?",
    )


# checkAndSaveMemberReferFrom ------------------------------------------------------


def test_check_and_save_refer_from_records_the_first_referral(both):
    first = both.ok("checkAndSaveMemberReferFrom", {"memberId": MARY_ID, "referFrom": CHANNEL})
    assert first == mary_view(referFrom=CHANNEL, updatedAt=FROZEN_NOW)
    second = both.ok("checkAndSaveMemberReferFrom", {"memberId": MARY_ID, "referFrom": OTHER_CHANNEL})
    assert second == first
    assert both.stored("members", MARY_ID)["referFrom"] == CHANNEL


def test_check_and_save_refer_from_objectid_member(api):
    got = api.ok("checkAndSaveMemberReferFrom", {"memberId": JOHN_ID, "referFrom": "ig"})
    assert got == john_view(referFrom="ig", updatedAt=FROZEN_NOW)


@pytest.mark.parametrize("member_id", [FOREIGN_ID, UNKNOWN_ID])
def test_check_and_save_refer_from_of_another_app_or_unknown_is_not_found(both, member_id):
    error = both.fails("checkAndSaveMemberReferFrom", {"memberId": member_id, "referFrom": "x"})
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"checkAndSaveMemberReferFrom: no member {member_id} in this app",
    )
    assert both.stored("members", ObjectId(FOREIGN_ID)) == foreign_stored()


@pytest.mark.parametrize("missing", ["memberId", "referFrom"])
def test_check_and_save_refer_from_required_parameters(api, missing):
    params = {"memberId": MARY_ID, "referFrom": "x"}
    del params[missing]
    error = api.fails("checkAndSaveMemberReferFrom", params)
    assert (error["type"], error["message"]) == ("ParamError", f"checkAndSaveMemberReferFrom: '{missing}' is required")


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("memberId", 1, "number"),
        ("memberId", {"$ne": None}, "object"),
        ("referFrom", ["x"], "array"),
        ("referFrom", True, "boolean"),
    ],
)
def test_check_and_save_refer_from_parameter_types(api, name, value, kind):
    params = {"memberId": MARY_ID, "referFrom": "x", name: value}
    error = api.fails("checkAndSaveMemberReferFrom", params)
    assert error["message"] == f"checkAndSaveMemberReferFrom: '{name}' must be a string, got {kind}"
    assert_members_unchanged(api)


# Errors as the script sees them ---------------------------------------------------


def test_a_refused_call_is_an_error_the_script_can_catch(both):
    source = (
        "try:\n"
        "    this.findAndModifyMember(filter={'$where': 'true'}, patch={'$set': {'a': 1}})\n"
        "except Exception as error:\n"
        "    return [error.kind, error.message]"
    )
    assert both.run(source).value == ["PermissionDenied", f"findAndModifyMember: filter: {WHERE}"]


def test_an_uncaught_error_carries_the_authors_line(both):
    source = f"x = this.getMember(memberId={JOHN_ID!r})\n\nthis.patchMembers(memberId=x._id, patch={{'app': 'b1'}})\nreturn x"
    result = both.run(source)
    assert result.error["type"] == "PermissionDenied"
    assert result.error["message"] == "patchMembers: patch cannot change app ($set app)"
    assert result.error["line"] == 3
    assert result.error["snippet"].startswith("   3 | this.patchMembers(")
    assert [call["ok"] for call in result.calls] == [True, False]
    assert result.calls[1]["error"] == {
        "type": "PermissionDenied",
        "message": "patchMembers: patch cannot change app ($set app)",
        "fatal": False,
    }
