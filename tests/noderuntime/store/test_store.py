"""The store, embedded (mongomock): reads, writes, geo search, extended JSON,
the schema's indexes, error messages, RE2 regexes and the lock that makes
``find_one_and_update`` atomic; and ``Store.connect`` failing fast."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

import mongomock
import pytest
from bson import ObjectId

from noderuntime.errors import StoreError
from noderuntime.store import Store, WriteOutcome
from noderuntime.store import store as store_module
from noderuntime.store.schema import INDEXES, PLATFORM_COLLECTIONS
from noderuntime.store.store import EARTH_RADIUS_M, REPLACE_ATTEMPTS, haversine_m
from noderuntime.store.updates import stamp_replacement

HEX = "5f74a1f0c0ffee0000000001"
OID = ObjectId(HEX)
CREATED = 1_577_808_000_000
NOW = 1_601_481_600_000

PEOPLE = [
    {"_id": "ann", "name": "Ann", "age": 31, "city": "Oslo", "tags": ["admin", "Ops"]},
    {"_id": "bob", "name": "bob", "age": 25, "city": "Paris", "tags": ["dev"]},
    {"_id": "cy", "name": "Cy", "age": 40, "city": "Oslo", "tags": []},
    {"_id": OID, "name": "Dee", "age": 25, "city": "Rome"},
]


@pytest.fixture
def store() -> Store:
    return Store.embedded_store({"people": PEOPLE})


def ids(documents) -> list:
    return [document["_id"] for document in documents]


# Reads -------------------------------------------------------------------------------------------


def test_find_returns_the_matching_documents(store):
    assert ids(store.find("people", {"city": "Oslo"})) == ["ann", "cy"]


def test_find_with_an_empty_query_returns_every_document_in_stored_order(store):
    assert ids(store.find("people", {})) == ["ann", "bob", "cy", OID]


def test_find_sorts_by_several_fields(store):
    found = store.find("people", {}, sort=[("age", 1), ("name", -1)])
    assert ids(found) == ["bob", OID, "ann", "cy"]  # "bob" > "Dee": lower case sorts after upper case


def test_find_skips_and_limits_after_sorting(store):
    found = store.find("people", {}, sort=[("age", -1)], skip=1, limit=2)
    assert ids(found) == ["ann", "bob"]


def test_find_with_an_inclusive_projection_returns_those_fields_and_id(store):
    assert store.find("people", {"_id": "ann"}, projection={"name": 1}) == [{"_id": "ann", "name": "Ann"}]


def test_find_with_an_exclusive_projection_drops_those_fields(store):
    assert store.find("people", {"_id": "bob"}, projection={"tags": 0, "age": 0, "_id": 0}) == [
        {"name": "bob", "city": "Paris"}
    ]


def test_find_in_a_missing_collection_finds_nothing(store):
    assert store.find("nothing", {}) == []


def test_find_returns_copies_that_do_not_change_the_store(store):
    store.find("people", {"_id": "ann"})[0]["name"] = "changed"
    assert store.find("people", {"_id": "ann"})[0]["name"] == "Ann"


def test_find_one_returns_the_first_by_sort(store):
    assert store.find_one("people", {"city": "Oslo"}, sort=[("age", -1)])["_id"] == "cy"


def test_find_one_returns_none_when_nothing_matches(store):
    assert store.find_one("people", {"city": "Lima"}) is None


def test_count_counts_the_matching_documents(store):
    assert store.count("people", {"age": 25}) == 2
    assert store.count("people", {}) == 4


def test_count_stops_at_the_limit(store):
    assert store.count("people", {}, limit=3) == 3


def test_distinct_returns_each_value_once_among_matching_documents(store):
    assert sorted(store.distinct("people", "city", {})) == ["Oslo", "Paris", "Rome"]
    assert store.distinct("people", "city", {"age": {"$gt": 30}}) == ["Oslo"]


def test_distinct_of_an_array_field_returns_its_elements(store):
    assert sorted(store.distinct("people", "tags", {})) == ["Ops", "admin", "dev"]


# Regular expressions: RE2 on the embedded store -----------------------------------------------------


def test_regex_with_option_i_matches_case_insensitively(store):
    assert ids(store.find("people", {"name": {"$regex": "^b", "$options": "i"}})) == ["bob"]
    assert ids(store.find("people", {"name": {"$regex": "^B"}})) == []


def test_regex_without_options_is_case_sensitive(store):
    assert ids(store.find("people", {"name": {"$regex": "^[A-Z]"}})) == ["ann", "cy", OID]


def test_not_with_a_regex_matches_what_the_regex_does_not(store):
    assert ids(store.find("people", {"name": {"$not": {"$regex": "^b", "$options": "i"}}})) == ["ann", "cy", OID]


def test_regex_matches_any_element_of_an_array(store):
    assert ids(store.find("people", {"tags": {"$regex": "^ops$", "$options": "i"}})) == ["ann"]


def test_regex_never_matches_a_number(store):
    assert store.find("people", {"age": {"$regex": "25"}}) == []


def test_regexes_inside_logical_operators_are_matched_too(store):
    query = {"$or": [{"name": {"$regex": "^a", "$options": "i"}}, {"$and": [{"city": {"$regex": "^R"}}]}]}
    assert ids(store.find("people", query)) == ["ann", OID]


def test_regex_is_matched_by_re2_which_knows_unicode_classes():
    # \pL is RE2 syntax; Python's re would refuse it ("bad escape \p").
    store = Store.embedded_store({"words": [{"_id": 1, "w": "Émile"}, {"_id": 2, "w": "x1"}]})
    assert ids(store.find("words", {"w": {"$regex": "^\\pL+$"}})) == [1]


def test_count_and_distinct_use_re2_regexes_too(store):
    assert store.count("people", {"name": {"$regex": "^B", "$options": "i"}}) == 1
    assert sorted(store.distinct("people", "city", {"name": {"$regex": "^\\p{Lu}"}})) == ["Oslo", "Rome"]


def test_pull_with_a_regex_removes_the_matching_elements(store):
    outcome = store.update("people", {"_id": "ann"}, {"$pull": {"tags": {"$regex": "^o", "$options": "i"}}})
    assert outcome == WriteOutcome(matched=1, modified=1)
    assert store.find_one("people", {"_id": "ann"})["tags"] == ["admin"]


def test_a_catastrophic_regex_finishes_on_a_long_string():
    # Python's backtracking re would never finish (a+)+$ against "aaa...ab"; RE2 is linear.
    store = Store.embedded_store({"texts": [{"_id": 1, "text": "a" * 50_000 + "b"}]})
    outcome: dict = {}

    def search() -> None:
        outcome["found"] = store.find("texts", {"text": {"$regex": "(a+)+$"}})

    worker = threading.Thread(target=search, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the regex search did not finish within 30 s"
    assert outcome["found"] == []


# Writes -----------------------------------------------------------------------------------------------


def test_insert_one_returns_the_given_id_and_stores_the_document(store):
    assert store.insert_one("people", {"_id": "eve", "name": "Eve"}) == "eve"
    assert store.find_one("people", {"_id": "eve"}) == {"_id": "eve", "name": "Eve"}


def test_insert_one_without_an_id_gives_an_object_id(store):
    new_id = store.insert_one("people", {"name": "Fay"})
    assert isinstance(new_id, ObjectId)
    assert store.find_one("people", {"_id": new_id})["name"] == "Fay"


def test_insert_one_into_a_new_collection_creates_it(store):
    store.insert_one("fresh", {"a": 1})
    assert store.has_collection("fresh")


def test_update_changes_only_the_first_match(store):
    outcome = store.update("people", {"city": "Oslo"}, {"$set": {"seen": True}})
    assert outcome == WriteOutcome(matched=1, modified=1, upserted_id=None)
    assert store.count("people", {"seen": True}) == 1


def test_update_with_multi_changes_every_match(store):
    outcome = store.update("people", {"city": "Oslo"}, {"$set": {"seen": True}}, multi=True)
    assert outcome == WriteOutcome(matched=2, modified=2, upserted_id=None)
    assert ids(store.find("people", {"seen": True})) == ["ann", "cy"]


def test_update_that_changes_nothing_counts_a_match_but_no_modification(store):
    assert store.update("people", {"_id": "ann"}, {"$set": {"city": "Oslo"}}) == WriteOutcome(1, 0, None)


def test_update_without_a_match_does_nothing(store):
    assert store.update("people", {"_id": "zed"}, {"$set": {"a": 1}}) == WriteOutcome(0, 0, None)
    assert store.count("people", {}) == 4


def test_update_with_upsert_inserts_and_reports_the_new_id(store):
    outcome = store.update("people", {"_id": "zed"}, {"$set": {"age": 9}}, upsert=True)
    assert outcome == WriteOutcome(matched=0, modified=0, upserted_id="zed")
    assert store.find_one("people", {"_id": "zed"}) == {"_id": "zed", "age": 9}


def test_update_with_upsert_and_a_match_updates_it(store):
    outcome = store.update("people", {"_id": "bob"}, {"$inc": {"age": 1}}, upsert=True)
    assert outcome == WriteOutcome(matched=1, modified=1, upserted_id=None)
    assert store.find_one("people", {"_id": "bob"})["age"] == 26


def test_find_one_and_update_returns_the_document_as_it_was(store):
    before = store.find_one_and_update("people", {"_id": "bob"}, {"$inc": {"age": 1}})
    assert before["age"] == 25
    assert store.find_one("people", {"_id": "bob"})["age"] == 26


def test_find_one_and_update_with_return_new_returns_it_as_it_is_now(store):
    after = store.find_one_and_update("people", {"_id": "bob"}, {"$inc": {"age": 1}}, return_new=True)
    assert after["age"] == 26


def test_find_one_and_update_updates_the_first_by_sort(store):
    updated = store.find_one_and_update(
        "people", {"city": "Oslo"}, {"$set": {"oldest": True}}, sort=[("age", -1)], return_new=True
    )
    assert updated["_id"] == "cy"
    assert ids(store.find("people", {"oldest": True})) == ["cy"]


def test_find_one_and_update_returns_none_when_nothing_matches(store):
    assert store.find_one_and_update("people", {"_id": "zed"}, {"$set": {"a": 1}}) is None
    assert store.count("people", {}) == 4


def test_find_one_and_update_with_upsert_inserts_a_new_document(store):
    created = store.find_one_and_update("people", {"_id": "zed"}, {"$set": {"age": 1}}, upsert=True, return_new=True)
    assert created == {"_id": "zed", "age": 1}


def test_find_one_and_update_with_upsert_returns_none_as_it_was(store):
    assert store.find_one_and_update("people", {"_id": "zed"}, {"$set": {"age": 1}}, upsert=True) is None
    assert store.find_one("people", {"_id": "zed"}) == {"_id": "zed", "age": 1}


def test_find_one_and_update_applies_the_projection(store):
    after = store.find_one_and_update(
        "people", {"_id": "bob"}, {"$inc": {"age": 1}}, return_new=True, projection={"age": 1}
    )
    assert after == {"_id": "bob", "age": 26}


COUPONS = [
    {"_id": 1, "priority": 1, "code": "low", "free": True},
    {"_id": 2, "priority": 5, "code": "high", "free": True},
    {"_id": 3, "priority": 3, "code": "mid", "free": True},
]


@pytest.mark.parametrize("return_new", [False, True], ids=["before", "after"])
def test_find_one_and_update_with_a_projection_without_id_updates_the_first_by_sort(return_new):
    store = Store.embedded_store({"coupons": COUPONS})
    got = store.find_one_and_update(
        "coupons",
        {"free": True},
        {"$set": {"free": False}},
        sort=[("priority", -1)],
        return_new=return_new,
        projection={"code": 1, "free": 1, "_id": 0},
    )
    assert got == {"code": "high", "free": not return_new}
    assert ids(store.find("coupons", {"free": False})) == [2]


def test_find_one_and_update_with_only_id_excluded_returns_every_other_field():
    store = Store.embedded_store({"coupons": COUPONS})
    got = store.find_one_and_update("coupons", {"_id": 3}, {"$set": {"free": False}}, projection={"_id": 0})
    assert got == {"priority": 3, "code": "mid", "free": True}


def test_find_one_and_replace_with_a_projection_without_id_replaces_one_document_and_returns_it():
    store = Store.embedded_store(
        {"people": [{"_id": 1, "first": "Jo", "last": "A"}, {"_id": 2, "first": "Jo", "last": "B"}]}
    )
    got = store.find_one_and_replace(
        "people",
        {"first": "Jo"},
        lambda current: {"first": "Zed", "last": "Z"},
        return_new=True,
        projection={"last": 1, "_id": 0},
    )
    assert got == {"last": "Z"}
    assert store.find("people", {}) == [{"_id": 1, "first": "Zed", "last": "Z"}, {"_id": 2, "first": "Jo", "last": "B"}]


def test_find_one_and_replace_with_a_projection_without_id_returns_the_document_as_it_was():
    store = Store.embedded_store({"people": [{"_id": 1, "first": "Jo", "last": "A"}]})
    got = store.find_one_and_replace(
        "people", {"first": "Jo"}, lambda current: {"first": "Zed"}, projection={"last": 1, "_id": 0}
    )
    assert got == {"last": "A"}


def test_find_one_and_replace_replaces_and_returns_the_document_as_it_was():
    store = Store.embedded_store({"rows": [{"_id": "r", "v": 1, "createdAt": CREATED}]})
    before = store.find_one_and_replace("rows", {"v": 1}, lambda current: {"w": 2})
    assert before == {"_id": "r", "v": 1, "createdAt": CREATED}
    assert store.find("rows", {}) == [{"_id": "r", "w": 2}]


def test_find_one_and_replace_keeps_what_the_replacement_keeps():
    store = Store.embedded_store({"rows": [{"_id": OID, "v": 1, "createdAt": CREATED, "updatedAt": CREATED}]})
    after = store.find_one_and_replace(
        "rows", {"_id": OID}, lambda current: stamp_replacement({"w": 2}, current, NOW), return_new=True
    )
    assert after == {"_id": OID, "w": 2, "createdAt": CREATED, "updatedAt": NOW}


def test_find_one_and_replace_builds_the_replacement_from_the_first_match_by_sort():
    store = Store.embedded_store({"rows": [{"_id": 1, "n": 1}, {"_id": 2, "n": 5}, {"_id": 3, "n": 3}]})
    seen = []

    def replace(current):
        seen.append(current)
        return {"n": current["n"] * 10}

    store.find_one_and_replace("rows", {}, replace, sort=[("n", -1)])
    assert seen == [{"_id": 2, "n": 5}]
    assert store.find("rows", {}) == [{"_id": 1, "n": 1}, {"_id": 2, "n": 50}, {"_id": 3, "n": 3}]


def test_find_one_and_replace_returns_none_without_building_a_replacement_when_nothing_matches(store):
    def replace(current):
        raise AssertionError("no document matched, so no replacement should be built")

    assert store.find_one_and_replace("people", {"_id": "zed"}, replace) is None


def test_find_one_and_replace_applies_the_projection(store):
    after = store.find_one_and_replace(
        "people", {"_id": "bob"}, lambda current: {"name": "Bob", "age": 26}, return_new=True, projection={"age": 1}
    )
    assert after == {"_id": "bob", "age": 26}


def test_find_one_and_replace_does_not_overwrite_a_document_that_stopped_matching():
    store = Store.embedded_store({"rows": [{"_id": 1, "state": "open"}, {"_id": 2, "state": "open"}]})

    def replace(current):
        if current["_id"] == 1:
            # Another writer closes row 1 while its replacement is being built.
            store.update("rows", {"_id": 1}, {"$set": {"state": "closed"}})
        return {"state": "taken"}

    before = store.find_one_and_replace("rows", {"state": "open"}, replace)
    assert before == {"_id": 2, "state": "open"}
    assert store.find("rows", {}) == [{"_id": 1, "state": "closed"}, {"_id": 2, "state": "taken"}]


def test_find_one_and_replace_gives_up_when_the_document_keeps_changing():
    store = Store.embedded_store({"rows": [{"_id": 1, "open": True}, {"_id": 2, "open": False}]})
    attempts = []

    def replace(current):
        # Every attempt, another writer closes this row and opens the other.
        attempts.append(current["_id"])
        other = 2 if current["_id"] == 1 else 1
        store.update("rows", {"_id": current["_id"]}, {"$set": {"open": False}})
        store.update("rows", {"_id": other}, {"$set": {"open": True}})
        return {"open": "taken"}

    message = f"the document kept changing while it was being replaced ({REPLACE_ATTEMPTS} attempts)"
    with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
        store.find_one_and_replace("rows", {"open": True}, replace)
    assert attempts == [1 if attempt % 2 == 0 else 2 for attempt in range(REPLACE_ATTEMPTS)]
    assert store.count("rows", {"open": "taken"}) == 0


# Concurrency ---------------------------------------------------------------------------------------------


def test_concurrent_claims_with_find_one_and_update_claim_every_coupon_exactly_once():
    store = Store.embedded_store({"coupons": [{"_id": n, "claimed": False} for n in range(2000)]})
    claimed: list[list[int]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def claim(worker: int) -> None:
        try:
            while True:
                coupon = store.find_one_and_update(
                    "coupons", {"claimed": False}, {"$set": {"claimed": True, "by": worker}}
                )
                if coupon is None:
                    return
                claimed[worker].append(coupon["_id"])
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=claim, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    every_claim = [coupon for worker in claimed for coupon in worker]
    assert sorted(every_claim) == list(range(2000))
    assert store.count("coupons", {"claimed": False}) == 0
    for worker, coupons in enumerate(claimed):
        assert store.count("coupons", {"by": worker}) == len(coupons)


# Geo search (embedded: haversine in the host) ------------------------------------------------------------

PARIS = [2.3522, 48.8566]
LONDON = [-0.1276, 51.5072]
BERLIN = [13.405, 52.52]
ROME = [12.4964, 41.9028]


@pytest.fixture
def places() -> Store:
    return Store.embedded_store(
        {
            "places": [
                {"_id": "berlin", "kind": "city", "loc": {"type": "Point", "coordinates": BERLIN}},
                {"_id": "london", "kind": "city", "loc": LONDON},
                {"_id": "nowhere", "kind": "city"},
                {"_id": "text", "kind": "city", "loc": ["2.35", "48.85"]},
                {"_id": "flags", "kind": "city", "loc": [True, False]},
                {"_id": "line", "kind": "city", "loc": {"type": "LineString", "coordinates": [PARIS, LONDON]}},
                {"_id": "paris", "kind": "city", "loc": {"type": "Point", "coordinates": PARIS}},
                {"_id": "rome", "kind": "cafe", "loc": ROME},
            ]
        }
    )


def geo(store, near=PARIS, **options):
    settings = {"key": "loc", "query": {}, "distance_field": "distance", "limit": 10} | options
    return store.geo_near("places", near, **settings)


def test_haversine_of_one_degree_along_the_equator_is_a_360th_of_the_circumference():
    assert haversine_m([0, 0], [1, 0]) == pytest.approx(2 * 3.141592653589793 * EARTH_RADIUS_M / 360)


def test_haversine_of_a_point_to_itself_is_zero():
    assert haversine_m(PARIS, PARIS) == 0.0


def test_geo_near_returns_nearest_first_with_the_distance_in_metres(places):
    found = geo(places)
    assert ids(found) == ["paris", "london", "berlin", "rome"]
    assert [row["distance"] for row in found] == [
        0.0,
        haversine_m(PARIS, LONDON),
        haversine_m(PARIS, BERLIN),
        haversine_m(PARIS, ROME),
    ]
    assert 340_000 < found[1]["distance"] < 350_000  # Paris to London is about 344 km


def test_geo_near_reads_geojson_points_and_legacy_pairs(places):
    found = {row["_id"]: row for row in geo(places)}
    assert found["berlin"]["loc"] == {"type": "Point", "coordinates": BERLIN}
    assert found["berlin"]["distance"] == haversine_m(PARIS, BERLIN)
    assert found["london"]["loc"] == LONDON
    assert found["london"]["distance"] == haversine_m(PARIS, LONDON)


def test_geo_near_skips_rows_without_a_point(places):
    assert {"nowhere", "text", "flags", "line"}.isdisjoint(ids(geo(places)))


def test_geo_near_stops_at_the_limit(places):
    assert ids(geo(places, limit=2)) == ["paris", "london"]


def test_geo_near_applies_the_query(places):
    assert ids(geo(places, query={"kind": "cafe"})) == ["rome"]


def test_geo_near_max_distance_drops_farther_rows(places):
    assert ids(geo(places, max_distance=500_000)) == ["paris", "london"]


def test_geo_near_min_distance_drops_nearer_rows(places):
    assert ids(geo(places, min_distance=1)) == ["london", "berlin", "rome"]


def test_geo_near_distance_bounds_include_their_limits(places):
    to_london = haversine_m(PARIS, LONDON)
    assert ids(geo(places, min_distance=to_london, max_distance=to_london)) == ["london"]


def test_geo_near_sets_a_dotted_distance_field_as_a_nested_field(places):
    found = geo(places, distance_field="meta.distance", limit=2)
    assert found[1]["meta"] == {"distance": haversine_m(PARIS, LONDON)}


def test_geo_near_reads_a_dotted_key(places):
    store = Store.embedded_store(
        {"places": [{"_id": "p", "where": {"at": PARIS}}, {"_id": "l", "where": {"at": LONDON}}]}
    )
    found = store.geo_near("places", LONDON, key="where.at", query={}, distance_field="d", limit=5)
    assert ids(found) == ["l", "p"]


def test_geo_near_does_not_store_the_distance(places):
    geo(places)
    assert "distance" not in places.find_one("places", {"_id": "paris"})


def test_geo_near_with_regex_query_uses_re2(places):
    assert ids(geo(places, query={"_id": {"$regex": "^(l|b)"}})) == ["london", "berlin"]


# Collections and schema --------------------------------------------------------------------------------------


def test_a_new_store_has_the_platform_collections():
    assert Store.embedded_store().collection_names() == sorted(PLATFORM_COLLECTIONS)


@pytest.mark.parametrize(
    ("collection", "keys", "options"), INDEXES, ids=[options["name"] for _c, _k, options in INDEXES]
)
def test_ensure_schema_creates_every_index(collection, keys, options):
    information = Store.embedded_store().database[collection].index_information()
    assert information[options["name"]]["key"] == keys


def test_members_have_the_lookup_and_recent_indexes():
    information = Store.embedded_store().database["members"].index_information()
    lookup = information["app_channel_externalId_unique"]
    assert lookup["key"] == [("app", 1), ("channel", 1), ("externalId", 1)]
    assert lookup["unique"] is True
    assert information["app_updatedAt"]["key"] == [("app", 1), ("updatedAt", -1)]


def test_one_member_per_external_id_per_channel_but_any_number_without_one():
    store = Store.embedded_store()
    member = {"app": "a1", "channel": "c1", "externalId": "u-1"}
    store.insert_one("members", dict(member))
    with pytest.raises(StoreError, match="a document with the same key already exists"):
        store.insert_one("members", dict(member))
    store.insert_one("members", {**member, "channel": "c2"})
    store.insert_one("members", {"app": "a1", "channel": "c1"})
    store.insert_one("members", {"app": "a1", "channel": "c1"})
    assert store.count("members", {}) == 4


def test_ensure_schema_can_run_again(store):
    before = store.database["members"].index_information()
    store.ensure_schema()
    assert store.database["members"].index_information() == before


def test_has_collection_is_false_for_a_missing_collection(store):
    assert store.has_collection("missing") is False


def test_create_collection_makes_an_empty_collection(store):
    store.create_collection("fresh")
    assert store.has_collection("fresh") is True
    assert store.find("fresh", {}) == []
    assert "fresh" in store.collection_names()


def test_create_collection_of_an_existing_collection_keeps_its_documents(store):
    store.create_collection("people")
    assert store.count("people", {}) == 4


def test_has_collection_sees_a_collection_made_behind_the_stores_back(store):
    assert store.has_collection("later") is False
    store.database["later"].insert_one({"a": 1})
    assert store.has_collection("later") is True


def test_close_of_an_embedded_store_keeps_it_usable(store):
    store.close()
    assert store.count("people", {}) == 4


# Load and dump ---------------------------------------------------------------------------------------------------


def test_embedded_store_is_seeded_with_the_given_documents(store):
    assert store.find("people", {}) == PEOPLE


def test_load_does_not_change_the_seed():
    seed = {"rows": [{"name": "no id"}]}
    store = Store.embedded_store(seed)
    assert seed == {"rows": [{"name": "no id"}]}
    assert isinstance(store.find_one("rows", {})["_id"], ObjectId)


def test_load_of_an_empty_list_creates_the_collection():
    store = Store.embedded_store({"empty": []})
    assert store.has_collection("empty")
    assert store.find("empty", {}) == []


def test_dump_returns_every_collection_sorted_by_id():
    store = Store.embedded_store({"rows": [{"_id": 3}, {"_id": 1}, {"_id": 2}]})
    dumped = store.dump()
    assert sorted(dumped) == sorted(PLATFORM_COLLECTIONS | {"rows"})
    assert dumped["rows"] == [{"_id": 1}, {"_id": 2}, {"_id": 3}]
    assert all(dumped[name] == [] for name in PLATFORM_COLLECTIONS)


def test_dump_then_load_round_trips(store):
    store.insert_one("people", {"_id": "eve", "at": dt.datetime(2020, 9, 30, 16, 0, 0, 123000), "n": 2**40})
    copy = Store.embedded_store(store.dump())
    assert copy.dump() == store.dump()


EXTENDED_JSON = """{
  "rows": [
    {"_id": {"$oid": "5f74a1f0c0ffee0000000001"}, "at": {"$date": "2020-09-30T16:00:00.123Z"}, "n": {"$numberLong": "5"}},
    {"_id": "plain", "at": {"$date": {"$numberLong": "1601481600000"}}}
  ],
  "empty": []
}"""


def test_load_file_reads_extended_json(tmp_path):
    path = tmp_path / "db.json"
    path.write_text(EXTENDED_JSON, encoding="utf-8")
    store = Store.embedded_store()
    store.load_file(path)
    assert store.find("rows", {}) == [
        {"_id": OID, "at": dt.datetime(2020, 9, 30, 16, 0, 0, 123000), "n": 5},
        {"_id": "plain", "at": dt.datetime(2020, 9, 30, 16, 0)},
    ]
    assert store.has_collection("empty")


def test_dump_file_writes_relaxed_extended_json(tmp_path):
    path = tmp_path / "db.json"
    path.write_text(EXTENDED_JSON, encoding="utf-8")
    store = Store.embedded_store()
    store.load_file(path)
    out = tmp_path / "out.json"
    store.dump_file(out)
    text = out.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    written = json.loads(text)
    assert written["rows"] == [
        {"_id": "plain", "at": {"$date": "2020-09-30T16:00:00Z"}},
        {"_id": {"$oid": HEX}, "at": {"$date": "2020-09-30T16:00:00.123Z"}, "n": 5},
    ]
    assert written["empty"] == []


def test_dump_file_then_load_file_round_trips(tmp_path, store):
    store.insert_one("people", {"_id": "eve", "at": dt.datetime(2020, 9, 30, 16, 0, 0, 123000), "name": "Ève"})
    path = tmp_path / "db.json"
    store.dump_file(path)
    copy = Store.embedded_store()
    copy.load_file(path)
    assert copy.dump() == store.dump()


@pytest.mark.parametrize(
    "text", ['[{"_id": 1}]', '{"rows": {"_id": 1}}', '"rows"'], ids=["array", "object-of-object", "string"]
)
def test_load_file_refuses_anything_but_collections_of_documents(tmp_path, text):
    path = tmp_path / "db.json"
    path.write_text(text, encoding="utf-8")
    message = f"{path}: expected an object of collection names to arrays of documents"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Store.embedded_store().load_file(path)


# Errors an author can act on -----------------------------------------------------------------------------------------


def test_inserting_a_duplicate_id_is_a_store_error_saying_so(store):
    with pytest.raises(StoreError, match=r"^insert: a document with the same key already exists \(E11000 "):
        store.insert_one("people", {"_id": "ann"})


def test_loading_a_duplicate_id_is_a_store_error_saying_so():
    message = "load: a document with the same key already exists (E11000 Duplicate Key Error)"
    with pytest.raises(StoreError, match=f"^{re.escape(message)}$"):
        Store.embedded_store({"rows": [{"_id": 1}, {"_id": 1}]})


def test_a_store_error_does_not_chain_the_database_error(store):
    with pytest.raises(StoreError) as caught:
        store.insert_one("people", {"_id": "ann"})
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True


@pytest.mark.parametrize(
    ("query", "operator"),
    [
        ({"flags": {"$bitsAllSet": 3}}, "$bitsAllSet"),
        ({"loc": {"$near": [1, 2]}}, "$near"),
        ({"$text": {"$search": "x"}}, "$text"),
        ({"age": {"$mod": [2, 1]}}, "$mod"),
    ],
    ids=["bitsAllSet", "near", "text", "mod"],
)
def test_an_operator_mongomock_lacks_is_a_store_error_saying_the_embedded_store_lacks_it(store, query, operator):
    with pytest.raises(StoreError) as caught:
        store.find("people", query)
    message = caught.value.message
    assert message.startswith("find: not supported by the embedded store (mongomock): ")
    assert operator in message
    assert message.endswith("; it works on MongoDB")


def test_a_query_the_database_refuses_is_a_store_error_with_its_reason(store):
    with pytest.raises(StoreError, match=r"^count: 'nonsense' is not a valid \$type$"):
        store.count("people", {"age": {"$type": "nonsense"}})


# Store.connect -----------------------------------------------------------------------------------------------------------


def test_connect_to_an_unreachable_server_fails_fast_naming_the_uri_without_the_password(monkeypatch):
    monkeypatch.setattr(store_module, "SERVER_TIMEOUT_MS", 300)
    with pytest.raises(StoreError) as caught:
        Store.connect("mongodb://bob:hunter2@127.0.0.1:1/?serverSelectionTimeoutMS=300")
    message = caught.value.message
    assert message.startswith("cannot reach MongoDB at mongodb://bob:***@127.0.0.1:1/?serverSelectionTimeoutMS=300: ")
    assert "hunter2" not in message


def test_connect_to_an_unreachable_server_without_credentials_names_the_uri_as_given(monkeypatch):
    monkeypatch.setattr(store_module, "SERVER_TIMEOUT_MS", 300)
    with pytest.raises(StoreError, match=r"^cannot reach MongoDB at mongodb://127\.0\.0\.1:1/: "):
        Store.connect("mongodb://127.0.0.1:1/")


@pytest.mark.parametrize(
    "uri",
    ["mongodb://bob:hunter2@host:port/", "http://bob:hunter2@host/"],
    ids=["bad-port", "bad-scheme"],
)
def test_connect_with_a_malformed_uri_is_a_store_error_without_the_password(uri):
    with pytest.raises(StoreError) as caught:
        Store.connect(uri)
    assert caught.value.message.startswith(f"cannot reach MongoDB at {uri.replace('hunter2', '***')}: ")
    assert "hunter2" not in caught.value.message


# All or nothing, as MongoDB applies an update -----------------------------------


def test_a_find_and_modify_that_fails_half_way_leaves_the_document_as_it_was():
    store = Store.embedded_store({"a1_c": [{"_id": "d1", "memberId": None, "couponCode": "X"}]})
    with pytest.raises(StoreError, match="the embedded store refused it"):
        store.find_one_and_update("a1_c", {"memberId": None}, {"$set": {"memberId": "m1"}, "$inc": {"couponCode": 1}})
    assert store.find_one("a1_c", {}) == {"_id": "d1", "memberId": None, "couponCode": "X"}


def test_a_multi_update_that_fails_half_way_leaves_every_document_as_it_was():
    rows = [{"_id": "d1", "n": 1, "s": "a"}, {"_id": "d2", "n": 2, "s": 5}]
    store = Store.embedded_store({"a1_c": rows})
    with pytest.raises(StoreError):
        store.update("a1_c", {}, {"$inc": {"n": 1, "s": 1}}, multi=True)
    assert store.find("a1_c", {}, sort=[("_id", 1)]) == rows


def test_the_positional_operator_is_refused_by_the_embedded_store():
    store = Store.embedded_store({"a1_c": [{"_id": "d1", "items": [{"sku": "a"}, {"sku": "b"}]}]})
    with pytest.raises(StoreError, match="positional \\$ operator"):
        store.find_one_and_update("a1_c", {"items.sku": "b"}, {"$set": {"items.$.qty": 5}})
    assert store.find_one("a1_c", {})["items"] == [{"sku": "a"}, {"sku": "b"}]


def test_geo_near_on_mongodb_never_builds_an_index():
    # The server path, on mongomock: it cannot run $geoNear, but it must not create an index first.
    store = Store(mongomock.MongoClient().db, embedded=False)
    store.create_collection("a1_places")
    with pytest.raises(StoreError, match="needs a 2dsphere index on where"):
        store.geo_near("a1_places", [0.0, 0.0], key="where", query={}, distance_field="d", limit=5)
    assert not any("2dsphere" in name for name in store.database["a1_places"].index_information())
