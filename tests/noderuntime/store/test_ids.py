"""Ids and values as scripts see them: an ``_id`` given as text finds a
document whether it was stored as an ObjectId or as that text, and stored
values come back as plain script data."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from bson import ObjectId
from bson.decimal128 import Decimal128
from bson.int64 import Int64

from noderuntime.store.ids import for_script, id_forms, match_id, stored_id, widen_id_filter

HEX = "5f74a1f0c0ffee0000000001"
OID = ObjectId(HEX)
OTHER_HEX = "5f74a1f0c0ffee0000000002"
OTHER_OID = ObjectId(OTHER_HEX)


# stored_id ----------------------------------------------------------------------


def test_stored_id_turns_24_hex_text_into_an_object_id():
    assert stored_id(HEX) == OID
    assert isinstance(stored_id(HEX), ObjectId)


@pytest.mark.parametrize(
    "value",
    ["alice", "5f74a1f0c0ffee000000000", "zzzzzzzzzzzzzzzzzzzzzzzz", "abcdefghijkl", 42, None],
    ids=["word", "23-hex", "24-non-hex", "12-chars", "int", "none"],
)
def test_stored_id_keeps_anything_else_as_given(value):
    assert stored_id(value) is value


def test_stored_id_keeps_an_object_id():
    assert stored_id(OID) is OID


# id_forms / match_id -------------------------------------------------------------


def test_id_forms_of_hex_text_are_the_object_id_then_the_text():
    assert id_forms(HEX) == [OID, HEX]


def test_id_forms_of_an_object_id_are_it_then_its_hex_text():
    assert id_forms(OID) == [OID, HEX]


@pytest.mark.parametrize("value", ["alice", "zzzzzzzzzzzzzzzzzzzzzzzz", 7, None])
def test_id_forms_of_a_non_object_id_value_is_only_that_value(value):
    assert id_forms(value) == [value]


def test_match_id_of_hex_text_matches_both_stored_forms():
    assert match_id(HEX) == {"$in": [OID, HEX]}


def test_match_id_of_an_object_id_matches_both_stored_forms():
    assert match_id(OID) == {"$in": [OID, HEX]}


def test_match_id_of_a_plain_string_is_the_string_itself():
    assert match_id("alice") == "alice"


# widen_id_filter ---------------------------------------------------------------


def test_widen_id_filter_widens_an_equality_on_id():
    assert widen_id_filter({"_id": HEX}) == {"_id": {"$in": [OID, HEX]}}


def test_widen_id_filter_leaves_a_non_hex_id_as_written():
    assert widen_id_filter({"_id": "alice"}) == {"_id": "alice"}


def test_widen_id_filter_leaves_other_fields_alone_even_when_they_hold_hex():
    assert widen_id_filter({"owner": HEX, "n": 1}) == {"owner": HEX, "n": 1}


def test_widen_id_filter_returns_a_non_dict_unchanged():
    assert widen_id_filter(None) is None
    assert widen_id_filter([{"_id": HEX}]) == [{"_id": HEX}]


def test_widen_id_filter_does_not_change_its_argument():
    query = {"$or": [{"_id": HEX}, {"_id": {"$in": [OTHER_HEX]}}]}
    before = copy.deepcopy(query)
    widen_id_filter(query)
    assert query == before


@pytest.mark.parametrize("logical", ["$and", "$or", "$nor"])
def test_widen_id_filter_follows_logical_operators(logical):
    query = {logical: [{"_id": HEX}, {"name": "x"}]}
    assert widen_id_filter(query) == {logical: [{"_id": {"$in": [OID, HEX]}}, {"name": "x"}]}


def test_widen_id_filter_follows_nested_logical_operators():
    query = {"$and": [{"$or": [{"_id": HEX}, {"$nor": [{"_id": OTHER_HEX}]}]}]}
    assert widen_id_filter(query) == {
        "$and": [{"$or": [{"_id": {"$in": [OID, HEX]}}, {"$nor": [{"_id": {"$in": [OTHER_OID, OTHER_HEX]}}]}]}]
    }


def test_widen_id_filter_leaves_a_logical_operator_without_a_list_as_written():
    query = {"$and": {"_id": HEX}}
    assert widen_id_filter(query) == {"$and": {"_id": HEX}}


def test_widen_id_filter_turns_eq_into_in_of_both_forms():
    assert widen_id_filter({"_id": {"$eq": HEX}}) == {"_id": {"$in": [OID, HEX]}}


def test_widen_id_filter_turns_ne_into_nin_of_both_forms():
    assert widen_id_filter({"_id": {"$ne": HEX}}) == {"_id": {"$nin": [OID, HEX]}}


def test_widen_id_filter_widens_every_item_of_in():
    assert widen_id_filter({"_id": {"$in": ["alice", HEX]}}) == {"_id": {"$in": ["alice", OID, HEX]}}


def test_widen_id_filter_widens_every_item_of_nin():
    assert widen_id_filter({"_id": {"$nin": [HEX, "bob"]}}) == {"_id": {"$nin": [OID, HEX, "bob"]}}


def test_widen_id_filter_with_eq_and_in_keeps_only_forms_both_allow():
    query = {"_id": {"$eq": HEX, "$in": [HEX, "bob"]}}
    assert widen_id_filter(query) == {"_id": {"$in": [OID, HEX]}}


def test_widen_id_filter_with_eq_outside_in_matches_nothing_as_written():
    query = {"_id": {"$eq": "alice", "$in": ["bob"]}}
    assert widen_id_filter(query) == {"_id": {"$in": []}}


def test_widen_id_filter_with_ne_and_nin_refuses_the_forms_of_both():
    query = {"_id": {"$ne": HEX, "$nin": ["bob"]}}
    assert widen_id_filter(query) == {"_id": {"$nin": ["bob", OID, HEX]}}


def test_widen_id_filter_with_in_and_nin_widens_both():
    query = {"_id": {"$in": [HEX], "$nin": [OTHER_HEX]}}
    assert widen_id_filter(query) == {"_id": {"$in": [OID, HEX], "$nin": [OTHER_OID, OTHER_HEX]}}


def test_widen_id_filter_leaves_a_non_list_in_as_written():
    assert widen_id_filter({"_id": {"$in": HEX}}) == {"_id": {"$in": HEX}}


def test_widen_id_filter_keeps_other_operators_beside_the_widened_ones():
    query = {"_id": {"$ne": HEX, "$exists": True}}
    assert widen_id_filter(query) == {"_id": {"$exists": True, "$nin": [OID, HEX]}}


def test_widen_id_filter_leaves_range_and_exists_conditions_as_written():
    query = {"_id": {"$gt": HEX, "$exists": True}}
    assert widen_id_filter(query) == {"_id": {"$gt": HEX, "$exists": True}}


def test_widen_id_filter_widens_an_object_id_given_directly():
    assert widen_id_filter({"_id": OID}) == {"_id": {"$in": [OID, HEX]}}


def test_widen_id_filter_leaves_a_sub_document_id_as_written():
    assert widen_id_filter({"_id": {"app": "a", "n": 1}}) == {"_id": {"app": "a", "n": 1}}


def test_widen_id_filter_keeps_non_hex_ids_in_in_as_they_are():
    assert widen_id_filter({"_id": {"$in": ["alice", 7]}}) == {"_id": {"$in": ["alice", 7]}}


# for_script --------------------------------------------------------------------


def test_for_script_shows_an_object_id_as_its_hex_text():
    assert for_script(OID) == HEX


def test_for_script_shows_a_naive_datetime_as_utc_iso_text_with_z():
    assert for_script(dt.datetime(2020, 9, 30, 16, 0, 0, 123000)) == "2020-09-30T16:00:00.123Z"


def test_for_script_shows_an_aware_datetime_in_utc():
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert for_script(dt.datetime(2020, 9, 30, 18, 0, 0, tzinfo=plus_two)) == "2020-09-30T16:00:00.000Z"


def test_for_script_shows_an_aware_utc_datetime_with_z():
    assert for_script(dt.datetime(2020, 9, 30, 16, 0, tzinfo=dt.UTC)) == "2020-09-30T16:00:00.000Z"


def test_for_script_keeps_milliseconds_and_drops_microseconds_like_a_js_date():
    assert for_script(dt.datetime(2020, 9, 30, 16, 0, 0, 123456)) == "2020-09-30T16:00:00.123Z"


def test_for_script_turns_an_int64_into_a_plain_int():
    value = for_script(Int64(2**40))
    assert value == 2**40
    assert type(value) is int


def test_for_script_shows_a_decimal_as_text():
    assert for_script(Decimal128("1.50")) == "1.50"


@pytest.mark.parametrize("value", ["text", 3, 2.5, True, False, None])
def test_for_script_keeps_plain_values(value):
    assert for_script(value) is value


def test_for_script_converts_inside_nested_lists_and_dicts():
    stored = {
        "_id": OID,
        "owner": {"id": OTHER_OID, "seen": [dt.datetime(2020, 1, 1), {"n": Int64(5)}]},
        "tags": [[OID], "x"],
    }
    assert for_script(stored) == {
        "_id": HEX,
        "owner": {"id": OTHER_HEX, "seen": ["2020-01-01T00:00:00.000Z", {"n": 5}]},
        "tags": [[HEX], "x"],
    }


def test_for_script_returns_a_copy_and_leaves_the_stored_data_alone():
    stored = {"_id": OID, "items": [OID]}
    shown = for_script(stored)
    shown["items"].append("new")
    assert stored == {"_id": OID, "items": [OID]}
