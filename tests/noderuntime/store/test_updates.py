"""Turning a script's ``patch`` into a Mongo update, and the ``createdAt`` /
``updatedAt`` stamps (epoch milliseconds) the platform keeps."""

from __future__ import annotations

import copy
import re

import pytest
from bson import ObjectId

from noderuntime.errors import ParamError, PermissionDenied
from noderuntime.store.updates import Change, build_change, stamp_new, stamp_replacement, stamp_update

NOW = 1_601_481_600_000
CREATED = 1_577_808_000_000
HEX = "5f74a1f0c0ffee0000000001"
MEMBER_PROTECTED = ("_id", "app", "channel", "createdAt")
USE_ONE_KIND = "use either operators or a whole replacement document"


def refused(error_type, message):
    return pytest.raises(error_type, match=f"^{re.escape(message)}$")


# build_change: withModifier false -----------------------------------------------------


def test_without_modifier_a_patch_is_sent_as_set():
    assert build_change({"name": "Ann", "age": 3}, False) == Change({"$set": {"name": "Ann", "age": 3}}, False)


def test_without_modifier_dotted_keys_set_nested_fields():
    assert build_change({"profile.city": "Oslo"}, False) == Change({"$set": {"profile.city": "Oslo"}}, False)


def test_without_modifier_an_operator_patch_is_refused_pointing_at_with_modifier():
    message = (
        "patch starts with the operator $inc but withModifier is false; pass withModifier: true to use update operators"
    )
    with refused(ParamError, message):
        build_change({"$inc": {"n": 1}}, False)


def test_without_modifier_a_mix_of_operators_and_fields_is_refused_as_a_mix():
    message = "patch mixes update operators ($inc) and plain fields (name); " + USE_ONE_KIND
    with refused(ParamError, message):
        build_change({"name": "x", "$inc": {"n": 1}}, False)


def test_without_modifier_a_value_with_an_operator_inside_is_refused():
    with refused(ParamError, "patch: field name '$gt' cannot start with '$'"):
        build_change({"age": {"$gt": 1}}, False)


def test_without_modifier_a_denied_operator_inside_a_value_is_permission_denied():
    with refused(PermissionDenied, "patch: $where runs JavaScript on the database server and is not allowed"):
        build_change({"age": {"$where": "x"}}, False)


# build_change: withModifier true --------------------------------------------------------


def test_with_modifier_operators_are_the_update_document():
    patch = {"$inc": {"n": 1}, "$push": {"tags": "x"}}
    change = build_change(patch, True)
    assert change == Change({"$inc": {"n": 1}, "$push": {"tags": "x"}}, replacement=False)
    assert change.document is patch


def test_with_modifier_a_plain_patch_is_a_whole_replacement():
    patch = {"name": "Ann", "items": [{"sku": "a"}]}
    change = build_change(patch, True)
    assert change == Change({"name": "Ann", "items": [{"sku": "a"}]}, replacement=True)


def test_with_modifier_a_replacement_may_not_have_dotted_field_names():
    with refused(ParamError, "patch: field name 'profile.city' cannot contain '.'"):
        build_change({"profile.city": "Oslo"}, True)


def test_with_modifier_a_mix_of_operators_and_fields_is_refused():
    message = "patch mixes update operators ($set) and plain fields (name); " + USE_ONE_KIND
    with refused(ParamError, message):
        build_change({"$set": {"a": 1}, "name": "x"}, True)


def test_with_modifier_an_unknown_operator_is_refused():
    with refused(ParamError, "patch: unknown operator $sett; did you mean $set?"):
        build_change({"$sett": {"a": 1}}, True)


def test_with_modifier_a_denied_operator_is_permission_denied():
    with refused(PermissionDenied, "patch: $out writes to another collection and is not allowed"):
        build_change({"$out": {"a": 1}}, True)


def test_a_replacement_is_not_checked_against_protected_paths():
    # stamp_replacement decides what a replacement may do with _id and kept fields.
    patch = {"_id": HEX, "app": "other", "name": "x"}
    assert build_change(patch, True, MEMBER_PROTECTED) == Change(patch, replacement=True)


@pytest.mark.parametrize("patch", [{}, None, "name", ["a"], 1])
@pytest.mark.parametrize("with_modifier", [False, True])
def test_an_empty_or_non_object_patch_is_refused(patch, with_modifier):
    with refused(ParamError, "patch must be a non-empty object"):
        build_change(patch, with_modifier)


# build_change: protected paths ----------------------------------------------------------------


def test_without_modifier_setting_id_is_refused():
    with refused(PermissionDenied, "patch cannot change _id ($set _id)"):
        build_change({"_id": "x", "name": "n"}, False)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"$set": {"_id": "x"}}, "patch cannot change _id ($set _id)"),
        ({"$unset": {"_id": ""}}, "patch cannot change _id ($unset _id)"),
        ({"$rename": {"_id": "old"}}, "patch cannot change _id ($rename _id)"),
        ({"$rename": {"name": "_id"}}, "patch cannot change _id ($rename _id)"),
        ({"$set": {"_id.part": 1}}, "patch cannot change _id ($set _id.part)"),
    ],
    ids=["set", "unset", "rename-from", "rename-to", "dotted-sub-path"],
)
def test_with_modifier_operators_on_id_are_refused(patch, message):
    with refused(PermissionDenied, message):
        build_change(patch, True)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"$set": {"app": "other"}}, "patch cannot change app ($set app)"),
        ({"$set": {"channel.id": "c"}}, "patch cannot change channel ($set channel.id)"),
        ({"$inc": {"createdAt": 1}}, "patch cannot change createdAt ($inc createdAt)"),
        ({"$rename": {"nickname": "app"}}, "patch cannot change app ($rename app)"),
        ({"$rename": {"nickname": "channel.name"}}, "patch cannot change channel ($rename channel.name)"),
    ],
    ids=["set", "dotted-sub-path", "inc", "rename-target", "rename-target-sub-path"],
)
def test_operators_on_protected_paths_are_refused(patch, message):
    with refused(PermissionDenied, message):
        build_change(patch, True, MEMBER_PROTECTED)


def test_fields_merely_starting_with_a_protected_name_are_allowed():
    patch = {"$set": {"appName": "x", "channels": [], "_idx": 1}}
    assert build_change(patch, True, MEMBER_PROTECTED) == Change(patch, replacement=False)


def test_with_no_protected_paths_id_may_be_set():
    assert build_change({"_id": "x"}, False, ()) == Change({"$set": {"_id": "x"}}, False)


# stamp_update --------------------------------------------------------------------------------------


def test_stamp_update_adds_updated_at_in_a_new_set():
    assert stamp_update({"$inc": {"n": 1}}, NOW) == {"$inc": {"n": 1}, "$set": {"updatedAt": NOW}}


def test_stamp_update_adds_updated_at_to_an_existing_set():
    assert stamp_update({"$set": {"a": 1}}, NOW) == {"$set": {"a": 1, "updatedAt": NOW}}


def test_stamp_update_returns_a_copy_and_leaves_the_update_alone():
    update = {"$set": {"a": 1}}
    stamp_update(update, NOW, upsert=True)
    assert update == {"$set": {"a": 1}}


@pytest.mark.parametrize(
    "update",
    [
        {"$set": {"updatedAt": 5}},
        {"$unset": {"updatedAt": ""}},
        {"$set": {"updatedAt.source": "x"}},
        {"$currentDate": {"updatedAt": True}},
    ],
    ids=["set", "unset", "sub-path", "currentDate"],
)
def test_stamp_update_leaves_updated_at_to_an_update_that_touches_it(update):
    assert stamp_update(update, NOW) == update


def test_stamp_update_leaves_updated_at_to_a_rename_into_it():
    # Setting it as well would make MongoDB refuse the update as conflicting.
    update = {"$rename": {"changed": "updatedAt"}}
    assert stamp_update(update, NOW) == update


def test_stamp_update_does_not_take_a_similar_name_for_updated_at():
    assert stamp_update({"$set": {"updatedAtText": "x"}}, NOW) == {"$set": {"updatedAtText": "x", "updatedAt": NOW}}


def test_stamp_update_on_upsert_sets_created_at_only_on_insert():
    assert stamp_update({"$set": {"a": 1}}, NOW, upsert=True) == {
        "$set": {"a": 1, "updatedAt": NOW},
        "$setOnInsert": {"createdAt": NOW},
    }


def test_stamp_update_on_upsert_adds_to_an_existing_set_on_insert():
    assert stamp_update({"$setOnInsert": {"kind": "x"}}, NOW, upsert=True) == {
        "$setOnInsert": {"kind": "x", "createdAt": NOW},
        "$set": {"updatedAt": NOW},
    }


def test_stamp_update_on_upsert_leaves_created_at_to_an_update_that_sets_it():
    update = {"$setOnInsert": {"createdAt": CREATED}}
    assert stamp_update(update, NOW, upsert=True) == {
        "$setOnInsert": {"createdAt": CREATED},
        "$set": {"updatedAt": NOW},
    }


def test_stamp_update_on_upsert_leaves_created_at_to_a_rename_into_it():
    update = {"$rename": {"born": "createdAt"}}
    assert stamp_update(update, NOW, upsert=True) == {"$rename": {"born": "createdAt"}, "$set": {"updatedAt": NOW}}


def test_stamp_update_without_upsert_does_not_set_created_at():
    assert "$setOnInsert" not in stamp_update({"$set": {"a": 1}}, NOW)


# stamp_replacement -------------------------------------------------------------------------------------

EXISTING = {"_id": ObjectId(HEX), "createdAt": CREATED, "updatedAt": CREATED, "name": "old", "app": "A"}


def test_stamp_replacement_keeps_created_at_and_sets_updated_at():
    assert stamp_replacement({"name": "new"}, EXISTING, NOW) == {
        "name": "new",
        "createdAt": CREATED,
        "updatedAt": NOW,
    }


def test_stamp_replacement_may_repeat_a_kept_value():
    assert stamp_replacement({"name": "new", "createdAt": CREATED}, EXISTING, NOW) == {
        "name": "new",
        "createdAt": CREATED,
        "updatedAt": NOW,
    }


def test_stamp_replacement_refuses_changing_a_kept_field():
    with refused(PermissionDenied, "a replacement cannot change createdAt"):
        stamp_replacement({"createdAt": 1}, EXISTING, NOW)


def test_stamp_replacement_keeps_every_kept_field_it_is_given():
    kept = ("app", "createdAt")
    assert stamp_replacement({"name": "new"}, EXISTING, NOW, kept=kept) == {
        "name": "new",
        "app": "A",
        "createdAt": CREATED,
        "updatedAt": NOW,
    }
    with refused(PermissionDenied, "a replacement cannot change app"):
        stamp_replacement({"app": "B"}, EXISTING, NOW, kept=kept)


def test_stamp_replacement_drops_a_repeated_id_in_either_form():
    assert stamp_replacement({"_id": HEX, "name": "new"}, EXISTING, NOW) == {
        "name": "new",
        "createdAt": CREATED,
        "updatedAt": NOW,
    }
    assert "_id" not in stamp_replacement({"_id": ObjectId(HEX)}, EXISTING, NOW)


def test_stamp_replacement_refuses_changing_id():
    with refused(PermissionDenied, "a replacement cannot change _id"):
        stamp_replacement({"_id": "5f74a1f0c0ffee0000000009", "name": "new"}, EXISTING, NOW)


def test_stamp_replacement_replaces_a_given_updated_at():
    assert stamp_replacement({"updatedAt": 5}, EXISTING, NOW)["updatedAt"] == NOW


def test_stamp_replacement_of_a_document_without_created_at_sets_it_now():
    assert stamp_replacement({"name": "new"}, {"_id": "x"}, NOW) == {
        "name": "new",
        "createdAt": NOW,
        "updatedAt": NOW,
    }


def test_stamp_replacement_cannot_set_a_kept_field_the_document_lacks():
    # A member stored without a channel cannot be moved into one by a replacement.
    with pytest.raises(PermissionDenied, match="a replacement cannot change channel"):
        stamp_replacement({"channel": "c-other"}, {"_id": "x"}, NOW, kept=("channel", "createdAt"))


def test_stamp_replacement_compares_kept_fields_as_the_script_sees_them():
    app = ObjectId()
    stamped = stamp_replacement({"app": str(app), "firstName": "Bo"}, {"_id": "x", "app": app}, NOW, kept=("app",))
    assert stamped["app"] == app  # the stored form is kept


def test_stamp_replacement_without_an_existing_document_stamps_both():
    assert stamp_replacement({"name": "new"}, None, NOW) == {"name": "new", "createdAt": NOW, "updatedAt": NOW}


def test_stamp_replacement_leaves_its_arguments_alone():
    replacement = {"_id": HEX, "name": "new"}
    existing = copy.deepcopy(EXISTING)
    stamp_replacement(replacement, existing, NOW)
    assert replacement == {"_id": HEX, "name": "new"}
    assert existing == EXISTING


# stamp_new -------------------------------------------------------------------------------------------------


def test_stamp_new_sets_created_at_and_updated_at():
    assert stamp_new({"name": "x"}, NOW) == {"name": "x", "createdAt": NOW, "updatedAt": NOW}


def test_stamp_new_keeps_given_stamps():
    assert stamp_new({"createdAt": CREATED, "updatedAt": 7}, NOW) == {"createdAt": CREATED, "updatedAt": 7}


def test_stamp_new_returns_a_copy():
    document = {"name": "x"}
    stamp_new(document, NOW)
    assert document == {"name": "x"}
