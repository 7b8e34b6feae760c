"""Data source methods through real scripts: fetch, distinct, geoNear, count,
upsert, patch and findAndModify."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import Limits
from tests.noderuntime.conftest import FROZEN_NOW
from tests.noderuntime.methods.conftest import (
    APP,
    CAUSEWAY,
    CENTRAL,
    COUPON,
    CREATED,
    D1,
    D2,
    D3,
    D4,
    D5,
    EMPTY,
    FOREIGN_COUPON,
    OTHER_APP,
    SHATIN,
    STORES,
    TST,
    coupons,
    seed,
    shops,
)

WHERE = "$where runs JavaScript on the database server and is not allowed"
MEMBER = "m12345678901234567890123"
CAP_WARNING = (
    "{method} returned the first 3 results; more matched (the most one read returns is 3; use limit and skip to page)"
)


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as a script sees it."""
    return {**row, "_id": str(row["_id"])}


def coupon(row_id: str, **changes: Any) -> dict[str, Any]:
    """A seeded coupon as a script sees it."""
    (row,) = [view(r) for r in coupons() if str(r["_id"]) == row_id]
    return {**row, **changes}


def stored_coupon(row_id: Any) -> dict[str, Any]:
    """A seeded coupon as stored (``row_id`` in its stored form)."""
    (row,) = [r for r in coupons() if r["_id"] == row_id]
    return row


def assert_foreign_unchanged(api) -> None:
    assert api.store.find(FOREIGN_COUPON, {}) == seed()[FOREIGN_COUPON]


def assert_coupons_unchanged(api) -> None:
    assert api.store.find(COUPON, {}, sort=[("couponCode", 1)]) == coupons()


def warnings(result) -> list[str]:
    return [line["message"] for line in result.logs if line["level"] == "warn"]


# Every data source method -----------------------------------------------------------

#: Each method with the least it needs besides the data source.
MINIMAL: dict[str, dict[str, Any]] = {
    "fetchDataFromDataSource": {},
    "fetchDistinctDataFromDataSource": {"key": "location"},
    "fetchGeoNearFromDataSource": {"data": {"near": CENTRAL}},
    "countDataSource": {},
    "upsertDataToDataSource": {"data": {"_id": "5f74430000000000000000f1", "couponCode": "stolen"}},
    "patchDataToDataSource": {"filter": {}, "patch": {"memberId": "stolen"}},
    "findAndModifyDataFromDataSource": {"filter": {}, "patch": {"$set": {"memberId": "stolen"}}},
}
METHODS = list(MINIMAL)
#: Methods that also take ``collectionName``.
BY_NAME = [m for m in METHODS if m not in ("upsertDataToDataSource", "findAndModifyDataFromDataSource")]


@pytest.mark.parametrize("method", METHODS)
def test_another_apps_data_source_is_refused(both, method):
    error = both.fails(method, {"dataSourceId": FOREIGN_COUPON, **MINIMAL[method]})
    assert (error["type"], error["message"]) == (
        "PermissionDenied",
        f"{method}: data source {FOREIGN_COUPON} belongs to another app",
    )
    assert_foreign_unchanged(both)


@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_data_source_is_not_found_with_a_suggestion(api, method):
    error = api.fails(method, {"dataSourceId": f"{APP}_coupn", **MINIMAL[method]})
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"{method}: data source {APP}_coupn does not exist; did you mean {COUPON}?",
    )
    assert not api.store.has_collection(f"{APP}_coupn")


@pytest.mark.parametrize("method", BY_NAME)
def test_an_unknown_collection_name_is_not_found(api, method):
    error = api.fails(method, {"collectionName": "zzz", **MINIMAL[method]})
    assert (error["type"], error["message"]) == ("NotFound", f"{method}: data source {APP}_zzz does not exist")


@pytest.mark.parametrize("method", BY_NAME)
def test_a_data_source_is_named_by_id_or_collection_name(api, method):
    by_id = api.ok(method, {"dataSourceId": STORES if "Geo" in method else COUPON, **MINIMAL[method]})
    by_name = api.ok(method, {"collectionName": "stores" if "Geo" in method else "coupon", **MINIMAL[method]})
    assert by_id not in (None, [], 0)
    if method == "patchDataToDataSource":  # the second patch changes nothing
        assert (by_id["matched"], by_name["matched"], by_name["modified"]) == (1, 1, 0)
    else:
        assert by_name == by_id


@pytest.mark.parametrize("method", BY_NAME)
def test_a_data_source_needs_an_id_or_a_name(api, method):
    error = api.fails(method, MINIMAL[method])
    assert (error["type"], error["message"]) == ("ParamError", f"{method}: give dataSourceId or collectionName")


@pytest.mark.parametrize("method", ["upsertDataToDataSource", "findAndModifyDataFromDataSource"])
def test_data_source_id_is_required_where_documented(api, method):
    error = api.fails(method, {"collectionName": "coupon", **MINIMAL[method]})
    assert error["message"].startswith(f"{method}: unknown parameter 'collectionName'")
    error = api.fails(method, MINIMAL[method])
    assert (error["type"], error["message"]) == ("ParamError", f"{method}: 'dataSourceId' is required")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"collectionName": "../members"},
            "collectionName '../members' is not a data source name (letters, digits, _ and -)",
        ),
        ({"dataSourceId": "members"}, "dataSourceId 'members' is not of the form <appId>_<name>"),
        ({"dataSourceId": f"{APP}_"}, f"dataSourceId '{APP}_' is not of the form <appId>_<name>"),
        ({"dataSourceId": f"{APP}_coupon\n"}, f"dataSourceId '{APP}_coupon\\n' is not of the form <appId>_<name>"),
        (
            {"collectionName": "coupon\n"},
            "collectionName 'coupon\\n' is not a data source name (letters, digits, _ and -)",
        ),
        (
            {"dataSourceId": FOREIGN_COUPON, "collectionName": "coupon"},
            f"dataSourceId '{FOREIGN_COUPON}' and collectionName 'coupon' name different data sources",
        ),
    ],
)
def test_malformed_data_source_names(api, params, message):
    error = api.fails("fetchDataFromDataSource", params)
    assert (error["type"], error["message"]) == ("ParamError", f"fetchDataFromDataSource: {message}")


@pytest.mark.parametrize(
    ("method", "name", "value", "kind"),
    [(method, "dataSourceId", 1, "number") for method in METHODS]
    + [(method, "collectionName", ["coupon"], "array") for method in BY_NAME],
)
def test_data_source_names_must_be_strings(api, method, name, value, kind):
    error = api.fails(method, {name: value, **MINIMAL[method]})
    assert (error["type"], error["message"]) == ("ParamError", f"{method}: '{name}' must be a string, got {kind}")


#: Where each method takes a query or a document, holding $where.
WHERE_IN = {
    "fetchDataFromDataSource": ({"filter": {"$where": "sleep(100)"}}, "filter"),
    "fetchDistinctDataFromDataSource": ({"filter": {"$where": "sleep(100)"}}, "filter"),
    "fetchGeoNearFromDataSource": ({"data": {"near": CENTRAL, "query": {"$where": "sleep(100)"}}}, "data.query"),
    "countDataSource": ({"filter": {"couponCode": {"$where": "sleep(100)"}}}, "filter"),
    "upsertDataToDataSource": ({"data": [{"couponCode": "x"}, {"$where": "sleep(100)"}]}, "data[1]"),
    "patchDataToDataSource": ({"filter": {"$or": [{"$where": "sleep(100)"}]}}, "filter"),
    "findAndModifyDataFromDataSource": ({"filter": {"$where": "sleep(100)"}}, "filter"),
}


@pytest.mark.parametrize("method", METHODS)
def test_server_side_code_is_refused_by_name(both, method):
    params, where = WHERE_IN[method]
    error = both.fails(method, {"dataSourceId": COUPON, **MINIMAL[method], **params})
    assert (error["type"], error["message"]) == ("PermissionDenied", f"{method}: {where}: {WHERE}")
    assert_coupons_unchanged(both)


# fetchDataFromDataSource ------------------------------------------------------------


def test_fetch_returns_rows_with_string_ids_in_order(both):
    rows = both.ok("fetchDataFromDataSource", {"dataSourceId": COUPON, "sortBy": {"couponCode": 1}})
    assert rows == [coupon(D1), coupon(D2), coupon(D3), coupon(D4), coupon(D5)]


def test_fetch_filters_and_sorts(api):
    params = {"collectionName": "coupon", "filter": {"location": "HK", "memberId": None}, "sortBy": {"priority": -1}}
    assert api.ok("fetchDataFromDataSource", params) == [coupon(D2), coupon(D1)]


def test_fetch_reads_like_js_objects(api):
    source = f"rows = this.fetchDataFromDataSource(dataSourceId={COUPON!r}, sortBy={{'priority': 1, 'couponCode': 1}})\nreturn [r.couponCode for r in rows]"
    assert api.run(source).value == ["1234", "3456", "2345", "4567", "5678"]


@pytest.mark.parametrize("row_id", [D1, D3, D4], ids=["objectid", "plain-string", "hex-string"])
def test_fetch_by_string_id_finds_rows_however_the_id_is_stored(api, row_id):
    assert api.ok("fetchDataFromDataSource", {"dataSourceId": COUPON, "filter": {"_id": row_id}}) == [coupon(row_id)]


def test_fetch_by_ids_with_in_and_nin(api):
    rows = api.ok(
        "fetchDataFromDataSource",
        {"dataSourceId": COUPON, "filter": {"_id": {"$in": [D1, D4]}}, "sortBy": {"couponCode": 1}},
    )
    assert rows == [coupon(D1), coupon(D4)]
    rows = api.ok(
        "fetchDataFromDataSource",
        {"dataSourceId": COUPON, "filter": {"_id": {"$nin": [D1, D3, D4]}}, "sortBy": {"couponCode": 1}},
    )
    assert rows == [coupon(D2), coupon(D5)]


def test_fetch_count(both):
    assert both.ok("fetchDataFromDataSource", {"dataSourceId": COUPON, "count": True}) == 5
    assert (
        both.ok("fetchDataFromDataSource", {"dataSourceId": COUPON, "count": True, "filter": {"location": "HK"}}) == 3
    )


def test_fetch_pages_with_skip_and_limit(api):
    page = {"dataSourceId": COUPON, "sortBy": {"couponCode": 1}, "limit": 2}
    assert api.ok("fetchDataFromDataSource", {**page, "skip": 0}) == [coupon(D1), coupon(D2)]
    assert api.ok("fetchDataFromDataSource", {**page, "skip": 2}) == [coupon(D3), coupon(D4)]
    assert api.ok("fetchDataFromDataSource", {**page, "skip": 4}) == [coupon(D5)]
    assert api.ok("fetchDataFromDataSource", {**page, "skip": 6}) == []


def test_fetch_of_an_empty_data_source(api):
    assert api.ok("fetchDataFromDataSource", {"dataSourceId": EMPTY}) == []


def test_a_read_cut_at_the_cap_is_reported(capped):
    result = capped.call("fetchDataFromDataSource", {"dataSourceId": COUPON, "sortBy": {"couponCode": 1}})
    assert result.value == [coupon(D1), coupon(D2), coupon(D3)]
    assert warnings(result) == [CAP_WARNING.format(method="fetchDataFromDataSource")]
    assert result.calls[0]["truncated"] is True


def test_a_limit_above_the_cap_is_cut_and_reported(capped):
    result = capped.call("fetchDataFromDataSource", {"dataSourceId": COUPON, "limit": 10})
    assert len(result.value) == 3
    assert warnings(result) == [CAP_WARNING.format(method="fetchDataFromDataSource")]
    assert result.calls[0]["truncated"] is True


@pytest.mark.parametrize(
    "params",
    [{"limit": 2}, {"limit": 3}, {"filter": {"location": "HK"}}, {"skip": 3}],
    ids=["smaller-limit", "limit-at-cap", "exactly-the-cap-match", "last-page"],
)
def test_a_read_that_is_not_cut_by_the_cap_is_not_reported(capped, params):
    result = capped.call("fetchDataFromDataSource", {"dataSourceId": COUPON, **params})
    assert result.ok, result.error
    assert result.value, "rows expected"
    assert warnings(result) == []
    assert "truncated" not in result.calls[0]


def test_the_cap_across_the_process_boundary(both):
    result = both.call("fetchDataFromDataSource", {"dataSourceId": COUPON}, limits=Limits(read_documents=3))
    assert len(result.value) == 3
    assert warnings(result) == [CAP_WARNING.format(method="fetchDataFromDataSource")]
    assert result.calls[0]["truncated"] is True


def test_the_count_is_not_capped(capped):
    result = capped.call("fetchDataFromDataSource", {"dataSourceId": COUPON, "count": True})
    assert (result.value, warnings(result)) == (5, [])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "limit must be at least 1, got 0"),
        ({"skip": -1}, "'skip' must be 0 or more"),
        ({"sortBy": {"priority": "asc"}}, "sortBy: priority must be 1 (ascending) or -1 (descending)"),
        ({"filter": {"priority": {"$gtt": 1}}}, "filter: unknown operator $gtt; did you mean $gt?"),
    ],
)
def test_fetch_bad_values(api, params, message):
    error = api.fails("fetchDataFromDataSource", {"dataSourceId": COUPON, **params})
    assert (error["type"], error["message"]) == ("ParamError", f"fetchDataFromDataSource: {message}")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("filter", "location == 'HK'", "an object, got string"),
        ("count", "yes", "a boolean, got string"),
        ("sortBy", ["priority"], "an object, got array"),
        ("limit", "5", "a number, got string"),
        ("limit", 2.5, "a number, got number"),
        ("skip", True, "a number, got boolean"),
    ],
)
def test_fetch_parameter_types(api, name, value, expected):
    error = api.fails("fetchDataFromDataSource", {"dataSourceId": COUPON, name: value})
    assert (error["type"], error["message"]) == ("ParamError", f"fetchDataFromDataSource: '{name}' must be {expected}")


@pytest.mark.parametrize(
    ("query", "operator"),
    [
        ({"$where": "true"}, "$where"),
        ({"$expr": {"$function": {"body": "x", "args": [], "lang": "js"}}}, "$function"),
        ({"$expr": {"$accumulator": {}}}, "$accumulator"),
    ],
)
def test_fetch_refuses_code_in_filters(api, query, operator):
    error = api.fails("fetchDataFromDataSource", {"dataSourceId": COUPON, "filter": query})
    assert error["type"] == "PermissionDenied"
    assert (
        error["message"]
        == f"fetchDataFromDataSource: filter: {operator} runs JavaScript on the database server and is not allowed"
    )


def test_a_refused_filter_carries_the_authors_line(both):
    source = (
        f"x = 1\nrows = this.fetchDataFromDataSource(dataSourceId={COUPON!r}, filter={{'$where': 'true'}})\nreturn rows"
    )
    result = both.run(source)
    assert result.error["type"] == "PermissionDenied"
    assert result.error["message"] == f"fetchDataFromDataSource: filter: {WHERE}"
    assert result.error["line"] == 2
    assert result.error["snippet"].startswith("   2 | rows = this.fetchDataFromDataSource(")


# fetchDistinctDataFromDataSource ----------------------------------------------------


def test_distinct_values(both):
    values = both.ok("fetchDistinctDataFromDataSource", {"dataSourceId": COUPON, "key": "location"})
    assert sorted(values) == ["HK", "KLN", "NT"]


@pytest.mark.parametrize(("direction", "expected"), [(1, ["HK", "KLN", "NT"]), (-1, ["NT", "KLN", "HK"])])
def test_distinct_sorted(api, direction, expected):
    params = {"dataSourceId": COUPON, "key": "location", "sortBy": {"location": direction}}
    assert api.ok("fetchDistinctDataFromDataSource", params) == expected


def test_distinct_with_filter_and_count(api):
    params = {
        "collectionName": "coupon",
        "key": "location",
        "filter": {"priority": {"$gte": 1}},
        "sortBy": {"location": 1},
    }
    assert api.ok("fetchDistinctDataFromDataSource", params) == ["HK", "NT"]
    assert api.ok("fetchDistinctDataFromDataSource", {**params, "count": True}) == 2
    assert api.ok("fetchDistinctDataFromDataSource", {"dataSourceId": COUPON, "key": "location", "count": True}) == 3


def test_distinct_ids_are_strings(api):
    values = api.ok("fetchDistinctDataFromDataSource", {"dataSourceId": COUPON, "key": "_id"})
    assert sorted(values) == sorted([D1, D2, D3, D4, D5])


def test_distinct_sorts_mixed_values_nulls_first(api):
    params = {"dataSourceId": COUPON, "key": "memberId", "sortBy": {"memberId": 1}}
    assert api.ok("fetchDistinctDataFromDataSource", params) == [None, "m-earlier"]


def test_distinct_values_are_capped_and_reported(capped):
    params = {"dataSourceId": COUPON, "key": "couponCode", "sortBy": {"couponCode": 1}}
    result = capped.call("fetchDistinctDataFromDataSource", params)
    assert result.value == ["1234", "2345", "3456"]
    assert warnings(result) == [CAP_WARNING.format(method="fetchDistinctDataFromDataSource")]
    assert result.calls[0]["truncated"] is True
    counted = capped.call("fetchDistinctDataFromDataSource", {**params, "count": True})
    assert (counted.value, warnings(counted)) == (5, [])


def test_distinct_sort_names_only_the_key(api):
    error = api.fails(
        "fetchDistinctDataFromDataSource", {"dataSourceId": COUPON, "key": "location", "sortBy": {"priority": 1}}
    )
    assert (error["type"], error["message"]) == (
        "ParamError",
        "fetchDistinctDataFromDataSource: sortBy of distinct values can only name the key: {location: 1} or {location: -1}",
    )


def test_distinct_requires_key(api):
    error = api.fails("fetchDistinctDataFromDataSource", {"dataSourceId": COUPON})
    assert (error["type"], error["message"]) == ("ParamError", "fetchDistinctDataFromDataSource: 'key' is required")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("key", 1, "a string, got number"),
        ("filter", [], "an object, got array"),
        ("count", 1, "a boolean, got number"),
        ("sortBy", "location", "an object, got string"),
    ],
)
def test_distinct_parameter_types(api, name, value, expected):
    error = api.fails("fetchDistinctDataFromDataSource", {"dataSourceId": COUPON, "key": "location", name: value})
    assert error["message"] == f"fetchDistinctDataFromDataSource: '{name}' must be {expected}"


def test_distinct_key_cannot_be_an_operator(api):
    error = api.fails("fetchDistinctDataFromDataSource", {"dataSourceId": COUPON, "key": "$where"})
    assert (error["type"], error["message"]) == ("PermissionDenied", f"fetchDistinctDataFromDataSource: key: {WHERE}")
    error = api.fails("fetchDistinctDataFromDataSource", {"dataSourceId": COUPON, "key": "a..b"})
    assert (error["type"], error["message"]) == (
        "ParamError",
        "fetchDistinctDataFromDataSource: key: 'a..b' is not a field path",
    )


# fetchGeoNearFromDataSource ---------------------------------------------------------


def metres(a: list[float], b: list[float]) -> float:
    """Great-circle distance on MongoDB's sphere (radius 6,378,100 m)."""
    lng1, lat1, lng2, lat2 = (math.radians(v) for v in (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6_378_100 * math.asin(math.sqrt(h))


def shop(shop_id: str, near: list[float], field: str = "distance") -> dict[str, Any]:
    (row,) = [s for s in shops() if s["_id"] == shop_id]
    location = row["location"]
    point = location["coordinates"] if isinstance(location, dict) else location
    return {**row, field: pytest.approx(metres(near, point), rel=1e-6, abs=1e-6)}


@pytest.mark.parametrize("near", [{"type": "Point", "coordinates": CENTRAL}, CENTRAL], ids=["geojson", "lng-lat-pair"])
def test_geo_near_nearest_first_with_distances(both, near):
    rows = both.ok("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": {"near": near}})
    assert rows == [shop("central", CENTRAL), shop("tst", CENTRAL), shop("causeway", CENTRAL), shop("shatin", CENTRAL)]
    assert 2000 < rows[1]["distance"] < 3000


def test_geo_near_within_max_and_min_distance(api):
    data = {"near": CENTRAL, "maxDistance": 3000, "minDistance": 1}
    rows = api.ok("fetchGeoNearFromDataSource", {"collectionName": "stores", "data": data})
    assert [row["_id"] for row in rows] == ["tst", "causeway"]
    assert api.ok(
        "fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": {"near": SHATIN, "maxDistance": 10}}
    ) == [shop("shatin", SHATIN)]


def test_geo_near_with_query_limit_and_distance_field(api):
    data = {"near": TST, "query": {"kind": "flagship"}, "distanceField": "away", "limit": 1}
    result = api.call("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": data})
    assert result.value == [shop("central", TST, "away")]
    assert warnings(result) == []


def test_geo_near_key_names_the_field_holding_the_point(api):
    api.store.insert_one(STORES, {"_id": "nested", "pos": {"point": {"type": "Point", "coordinates": CAUSEWAY}}})
    data = {"near": CAUSEWAY, "key": "pos.point", "distanceField": "metres"}
    assert api.ok("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": data}) == [
        {"_id": "nested", "pos": {"point": {"type": "Point", "coordinates": CAUSEWAY}}, "metres": 0.0}
    ]


def test_geo_near_is_capped_and_reported(capped):
    result = capped.call("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": {"near": CENTRAL}})
    assert [row["_id"] for row in result.value] == ["central", "tst", "causeway"]
    assert warnings(result) == [CAP_WARNING.format(method="fetchGeoNearFromDataSource")]
    assert result.calls[0]["truncated"] is True


@pytest.mark.parametrize(
    "near",
    [
        [200, 22.3],
        [114.1, 95],
        [114.1],
        [114.1, 22.3, 0],
        ["114.1", "22.3"],
        [True, 22.3],
        [None, 22.3],
        {"type": "Point", "coordinates": [114.1]},
        {"type": "Point"},
    ],
)
def test_geo_near_bad_coordinates(api, near):
    error = api.fails("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": {"near": near}})
    assert (error["type"], error["message"]) == (
        "ParamError",
        "fetchGeoNearFromDataSource: data.near coordinates must be [longitude, latitude] within [-180, 180] and [-90, 90]",
    )


def test_geo_near_must_be_a_point(api):
    near = {"type": "Polygon", "coordinates": [[CENTRAL, TST, CAUSEWAY, CENTRAL]]}
    error = api.fails("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": {"near": near}})
    assert error["message"] == (
        "fetchGeoNearFromDataSource: data.near must be a GeoJSON Point ({type: 'Point', coordinates: [lng, lat]})"
    )


def test_geo_near_requires_data_and_near(api):
    error = api.fails("fetchGeoNearFromDataSource", {"dataSourceId": STORES})
    assert (error["type"], error["message"]) == ("ParamError", "fetchGeoNearFromDataSource: 'data' is required")
    error = api.fails("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": {"maxDistance": 5}})
    assert (error["type"], error["message"]) == ("ParamError", "fetchGeoNearFromDataSource: data: 'near' is required")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"near": "Central"}, "data: 'near' must be an array or an object, got string"),
        ({"near": CENTRAL, "maxDistance": "far"}, "data: 'maxDistance' must be a number, got string"),
        ({"near": CENTRAL, "maxDistance": -1}, "data: 'maxDistance' must be 0 or more"),
        ({"near": CENTRAL, "minDistance": True}, "data: 'minDistance' must be a number, got boolean"),
        ({"near": CENTRAL, "limit": 1.5}, "data: 'limit' must be a number, got number"),
        ({"near": CENTRAL, "limit": 0}, "limit must be at least 1, got 0"),
        ({"near": CENTRAL, "key": 1}, "data: 'key' must be a string, got number"),
        ({"near": CENTRAL, "distanceField": ["d"]}, "data: 'distanceField' must be a string, got array"),
        ({"near": CENTRAL, "query": []}, "data: 'query' must be an object, got array"),
        ({"near": CENTRAL, "nearr": CENTRAL}, "data: unknown parameter 'nearr'; did you mean 'near'?"),
        ({"near": CENTRAL, "distanceField": "$d"}, "data.distanceField must be a plain field name (no dots), not _id"),
        (
            {"near": CENTRAL, "distanceField": "at.d"},
            "data.distanceField must be a plain field name (no dots), not _id",
        ),
        ({"near": CENTRAL, "distanceField": "_id"}, "data.distanceField must be a plain field name (no dots), not _id"),
    ],
)
def test_geo_near_bad_data(api, data, message):
    error = api.fails("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": data})
    assert (error["type"], error["message"]) == ("ParamError", f"fetchGeoNearFromDataSource: {message}")


def test_geo_near_data_must_be_an_object(api):
    error = api.fails("fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": CENTRAL})
    assert error["message"] == "fetchGeoNearFromDataSource: 'data' must be an object, got array"


def test_geo_near_key_cannot_be_an_operator(api):
    error = api.fails(
        "fetchGeoNearFromDataSource", {"dataSourceId": STORES, "data": {"near": CENTRAL, "key": "$where"}}
    )
    assert (error["type"], error["message"]) == ("PermissionDenied", f"fetchGeoNearFromDataSource: data.key: {WHERE}")


# countDataSource --------------------------------------------------------------------


def test_count_rows(both):
    assert both.ok("countDataSource", {"dataSourceId": COUPON}) == 5
    assert both.ok("countDataSource", {"collectionName": "coupon", "filter": {"memberId": None}}) == 4


def test_count_by_string_ids_and_of_an_empty_source(api):
    assert api.ok("countDataSource", {"dataSourceId": COUPON, "filter": {"_id": {"$in": [D1, D3, D4, "nope"]}}}) == 3
    assert api.ok("countDataSource", {"dataSourceId": EMPTY}) == 0


def test_count_is_not_capped(capped):
    result = capped.call("countDataSource", {"dataSourceId": COUPON})
    assert (result.value, warnings(result)) == (5, [])


def test_count_filter_type(api):
    error = api.fails("countDataSource", {"dataSourceId": COUPON, "filter": "all"})
    assert (error["type"], error["message"]) == (
        "ParamError",
        "countDataSource: 'filter' must be an object, got string",
    )


def test_count_unknown_parameter(api):
    error = api.fails("countDataSource", {"dataSourceId": COUPON, "filtre": {}})
    assert error["message"] == "countDataSource: unknown parameter 'filtre'; did you mean 'filter'?"


# upsertDataToDataSource -------------------------------------------------------------

NEW_ID = "d12345678901234567890124"
#: The documented example.
UPSERT_EXAMPLE = [
    {"_id": D1, "location": "HK", "couponCode": "0123", "priority": 1},
    {"_id": NEW_ID, "location": "KLN", "couponCode": "0124", "priority": 2},
    {"location": "NT", "couponCode": "0125", "priority": 3},
]


def test_upsert_documented_example(both):
    got = both.ok("upsertDataToDataSource", {"dataSourceId": COUPON, "data": UPSERT_EXAMPLE})
    (inserted_id,) = got["result"]["_docsIds"]["inserted"]
    assert re.fullmatch(r"[0-9a-f]{24}", inserted_id)
    assert got == {
        "result": {
            "_docsIds": {"updated": [D1], "inserted": [inserted_id], "upserted": [NEW_ID]},
            "matched": 1,
            "modified": 1,
            "inserted": 2,
            "deleted": 0,
        }
    }
    assert both.stored(COUPON, ObjectId(D1)) == {
        **stored_coupon(ObjectId(D1)),
        "couponCode": "0123",
        "priority": 1,
        "updatedAt": FROZEN_NOW,
    }
    assert both.stored(COUPON, ObjectId(NEW_ID)) == {
        "_id": ObjectId(NEW_ID),
        "location": "KLN",
        "couponCode": "0124",
        "priority": 2,
        "createdAt": FROZEN_NOW,
        "updatedAt": FROZEN_NOW,
    }
    assert both.stored(COUPON, ObjectId(inserted_id)) == {
        "_id": ObjectId(inserted_id),
        "location": "NT",
        "couponCode": "0125",
        "priority": 3,
        "createdAt": FROZEN_NOW,
        "updatedAt": FROZEN_NOW,
    }
    assert both.store.count(COUPON, {}) == 7


def test_upsert_one_object(api):
    got = api.ok("upsertDataToDataSource", {"dataSourceId": COUPON, "data": {"_id": D3, "memberId": MEMBER}})
    assert got == {
        "result": {
            "_docsIds": {"updated": [D3], "inserted": [], "upserted": []},
            "matched": 1,
            "modified": 1,
            "inserted": 0,
            "deleted": 0,
        }
    }
    assert api.stored(COUPON, D3) == {**stored_coupon(D3), "memberId": MEMBER, "updatedAt": FROZEN_NOW}


def test_upsert_finds_a_hex_id_stored_as_a_string(api):
    got = api.ok("upsertDataToDataSource", {"dataSourceId": COUPON, "data": [{"_id": D4, "priority": 9}]})
    assert got["result"]["_docsIds"] == {"updated": [D4], "inserted": [], "upserted": []}
    assert api.stored(COUPON, D4)["priority"] == 9
    assert api.store.count(COUPON, {}) == 5


def test_upsert_with_a_new_string_id_keeps_it(api):
    got = api.ok("upsertDataToDataSource", {"dataSourceId": COUPON, "data": {"_id": "coupon-9", "couponCode": "9"}})
    assert got["result"]["_docsIds"] == {"updated": [], "inserted": [], "upserted": ["coupon-9"]}
    assert api.stored(COUPON, "coupon-9") == {
        "_id": "coupon-9",
        "couponCode": "9",
        "createdAt": FROZEN_NOW,
        "updatedAt": FROZEN_NOW,
    }


def test_upsert_with_a_null_id_inserts_a_new_row(api):
    got = api.ok("upsertDataToDataSource", {"dataSourceId": COUPON, "data": {"_id": None, "couponCode": "n"}})
    (inserted_id,) = got["result"]["_docsIds"]["inserted"]
    assert got["result"]["_docsIds"]["upserted"] == []
    assert api.stored(COUPON, ObjectId(inserted_id))["couponCode"] == "n"


def test_upsert_ignores_the_scripts_timestamps(api):
    api.ok("upsertDataToDataSource", {"dataSourceId": COUPON, "data": [{"_id": D1, "createdAt": 1, "updatedAt": 2}]})
    row = api.stored(COUPON, ObjectId(D1))
    assert (row["createdAt"], row["updatedAt"]) == (CREATED, FROZEN_NOW)
    got = api.ok("upsertDataToDataSource", {"dataSourceId": COUPON, "data": {"couponCode": "t", "createdAt": 1}})
    (inserted_id,) = got["result"]["_docsIds"]["inserted"]
    row = api.stored(COUPON, ObjectId(inserted_id))
    assert (row["createdAt"], row["updatedAt"]) == (FROZEN_NOW, FROZEN_NOW)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "data is an empty array"),
        ([{"a": 1}, "b"], "data[1] must be an object"),
        ({"a.b": 1}, "data: field name 'a.b' cannot contain '.'"),
        ([{"$set": {"a": 1}}], "data[0]: field name '$set' cannot start with '$'"),
    ],
)
def test_upsert_bad_data(api, data, message):
    error = api.fails("upsertDataToDataSource", {"dataSourceId": COUPON, "data": data})
    assert (error["type"], error["message"]) == ("ParamError", f"upsertDataToDataSource: {message}")
    assert_coupons_unchanged(api)


def test_upsert_at_most_1000_rows(api):
    result = api.run(
        f"return this.upsertDataToDataSource(dataSourceId={COUPON!r}, data=[{{'n': i}} for i in range(1001)])"
    )
    assert result.error["message"] == "upsertDataToDataSource: data has 1001 rows; one call may save at most 1000"
    assert_coupons_unchanged(api)


def test_upsert_requires_data(api):
    error = api.fails("upsertDataToDataSource", {"dataSourceId": COUPON})
    assert (error["type"], error["message"]) == ("ParamError", "upsertDataToDataSource: 'data' is required")


@pytest.mark.parametrize(("value", "kind"), [("row", "string"), (5, "number"), (True, "boolean")])
def test_upsert_data_type(api, value, kind):
    error = api.fails("upsertDataToDataSource", {"dataSourceId": COUPON, "data": value})
    assert error["message"] == f"upsertDataToDataSource: 'data' must be an array or an object, got {kind}"


def test_upsert_refuses_operators_in_nested_values(api):
    data = {"_id": D1, "meta": {"$where": "sleep(100)"}}
    error = api.fails("upsertDataToDataSource", {"dataSourceId": COUPON, "data": data})
    assert (error["type"], error["message"]) == ("PermissionDenied", f"upsertDataToDataSource: data: {WHERE}")


# patchDataToDataSource --------------------------------------------------------------

ZERO = {"matched": 0, "modified": 0, "inserted": 0, "deleted": 0}


def test_patch_data_sets_the_patch_on_the_first_match(both):
    got = both.ok(
        "patchDataToDataSource",
        {"dataSourceId": COUPON, "filter": {"couponCode": "1234"}, "patch": {"memberId": MEMBER}},
    )
    assert got == {"matched": 1, "modified": 1, "inserted": 0, "deleted": 0}
    assert both.stored(COUPON, ObjectId(D1)) == {
        **stored_coupon(ObjectId(D1)),
        "memberId": MEMBER,
        "updatedAt": FROZEN_NOW,
    }


def test_patch_data_patches_one_row_unless_multi(api):
    params = {"dataSourceId": COUPON, "filter": {"location": "HK"}, "patch": {"flag": 1}}
    assert api.ok("patchDataToDataSource", params) == {**ZERO, "matched": 1, "modified": 1}
    assert api.store.count(COUPON, {"flag": 1}) == 1
    assert api.ok("patchDataToDataSource", {**params, "multi": True, "patch": {"flag": 2}}) == {
        **ZERO,
        "matched": 3,
        "modified": 3,
    }
    assert api.ok("patchDataToDataSource", {**params, "options": {"multi": True}, "patch": {"flag": 3}}) == {
        **ZERO,
        "matched": 3,
        "modified": 3,
    }
    assert api.store.count(COUPON, {"flag": 3}) == 3


def test_patch_data_options_multi_overrides_the_parameter(api):
    params = {
        "dataSourceId": COUPON,
        "filter": {"location": "HK"},
        "patch": {"flag": 1},
        "multi": True,
        "options": {"multi": False},
    }
    assert api.ok("patchDataToDataSource", params)["matched"] == 1


def test_patch_data_upsert_inserts_when_nothing_matches(both):
    params = {
        "dataSourceId": COUPON,
        "filter": {"couponCode": "7777", "location": "TW"},
        "patch": {"priority": 9},
        "options": {"upsert": True},
    }
    assert both.ok("patchDataToDataSource", params) == {**ZERO, "inserted": 1}
    (row,) = both.store.find(COUPON, {"couponCode": "7777"})
    assert row == {
        "_id": row["_id"],
        "couponCode": "7777",
        "location": "TW",
        "priority": 9,
        "createdAt": FROZEN_NOW,
        "updatedAt": FROZEN_NOW,
    }
    assert both.ok("patchDataToDataSource", params) == {**ZERO, "matched": 1, "modified": 0}, "same values: unmodified"


@pytest.mark.parametrize(
    ("row_id", "stored"), [("5f74430000000000000000e1", ObjectId("5f74430000000000000000e1")), ("coupon-e", "coupon-e")]
)
def test_patch_data_upsert_by_id_keeps_the_id(api, row_id, stored):
    params = {
        "dataSourceId": COUPON,
        "filter": {"_id": row_id},
        "patch": {"couponCode": "e"},
        "options": {"upsert": True},
    }
    assert api.ok("patchDataToDataSource", params) == {**ZERO, "inserted": 1}
    assert api.stored(COUPON, stored) == {
        "_id": stored,
        "couponCode": "e",
        "createdAt": FROZEN_NOW,
        "updatedAt": FROZEN_NOW,
    }


def test_patch_data_with_modifier_operators(api):
    params = {
        "dataSourceId": COUPON,
        "filter": {"_id": D2},
        "patch": {"$inc": {"priority": 10}, "$unset": {"memberId": ""}},
        "withModifier": True,
    }
    assert api.ok("patchDataToDataSource", params) == {**ZERO, "matched": 1, "modified": 1}
    row = stored_coupon(ObjectId(D2))
    del row["memberId"]
    assert api.stored(COUPON, ObjectId(D2)) == {**row, "priority": 11, "updatedAt": FROZEN_NOW}


def test_patch_data_replacement_keeps_id_and_created_at(api):
    params = {"dataSourceId": COUPON, "filter": {"_id": D1}, "patch": {"couponCode": "NEW"}, "withModifier": True}
    assert api.ok("patchDataToDataSource", params) == {**ZERO, "matched": 1, "modified": 1}
    assert api.stored(COUPON, ObjectId(D1)) == {
        "_id": ObjectId(D1),
        "couponCode": "NEW",
        "createdAt": CREATED,
        "updatedAt": FROZEN_NOW,
    }


@pytest.mark.parametrize("extra", [{"multi": True}, {"options": {"upsert": True}}])
def test_patch_data_replacement_is_one_row(api, extra):
    params = {"dataSourceId": COUPON, "filter": {}, "patch": {"couponCode": "NEW"}, "withModifier": True, **extra}
    error = api.fails("patchDataToDataSource", params)
    assert error["message"] == (
        "patchDataToDataSource: a replacement patch (withModifier true, no operators) replaces one row: no multi or upsert"
    )
    assert_coupons_unchanged(api)


def test_patch_data_without_filter_patches_the_first_row(api):
    assert api.ok("patchDataToDataSource", {"dataSourceId": COUPON, "patch": {"flag": 1}})["matched"] == 1


def test_patch_data_no_match(api):
    assert (
        api.ok("patchDataToDataSource", {"dataSourceId": COUPON, "filter": {"location": "TW"}, "patch": {"a": 1}})
        == ZERO
    )
    params = {"dataSourceId": COUPON, "filter": {"location": "TW"}, "patch": {"a": 1}, "withModifier": True}
    assert api.ok("patchDataToDataSource", params) == ZERO
    assert_coupons_unchanged(api)


@pytest.mark.parametrize(
    ("patch", "with_modifier", "kind", "message"),
    [
        ({"_id": "x"}, False, "PermissionDenied", "patch cannot change _id ($set _id)"),
        ({"$set": {"_id": "x"}}, True, "PermissionDenied", "patch cannot change _id ($set _id)"),
        ({"_id": D2, "couponCode": "x"}, True, "PermissionDenied", "a replacement cannot change _id"),
        (
            {"$inc": {"priority": 1}},
            False,
            "ParamError",
            "patch starts with the operator $inc but withModifier is false; pass withModifier: true to use update operators",
        ),
        (
            {"$set": {"a": 1}, "b": 2},
            True,
            "ParamError",
            "patch mixes update operators ($set) and plain fields (b); use either operators or a whole replacement document",
        ),
        ({"$where": {"a": 1}}, True, "PermissionDenied", f"patch: {WHERE}"),
        ({}, False, "ParamError", "patch must be a non-empty object"),
    ],
)
def test_patch_data_bad_patches(api, patch, with_modifier, kind, message):
    params = {"dataSourceId": COUPON, "filter": {"_id": D1}, "patch": patch, "withModifier": with_modifier}
    error = api.fails("patchDataToDataSource", params)
    assert (error["type"], error["message"]) == (kind, f"patchDataToDataSource: {message}")
    assert_coupons_unchanged(api)


@pytest.mark.parametrize(
    ("options", "kind", "message"),
    [
        ({"upsrt": True}, "ParamError", "options: unknown option 'upsrt'; did you mean 'upsert'?"),
        ({"upsert": "yes"}, "ParamError", "options: 'upsert' must be bool"),
        ({"$where": "true"}, "PermissionDenied", f"options: {WHERE}"),
    ],
)
def test_patch_data_bad_options(api, options, kind, message):
    error = api.fails("patchDataToDataSource", {"dataSourceId": COUPON, "patch": {"a": 1}, "options": options})
    assert (error["type"], error["message"]) == (kind, f"patchDataToDataSource: {message}")


def test_patch_data_requires_patch(api):
    error = api.fails("patchDataToDataSource", {"dataSourceId": COUPON, "filter": {}})
    assert (error["type"], error["message"]) == ("ParamError", "patchDataToDataSource: 'patch' is required")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("filter", "x", "an object, got string"),
        ("patch", ["a"], "an object, got array"),
        ("options", True, "an object, got boolean"),
        ("multi", "yes", "a boolean, got string"),
        ("withModifier", 1, "a boolean, got number"),
    ],
)
def test_patch_data_parameter_types(api, name, value, expected):
    error = api.fails("patchDataToDataSource", {"dataSourceId": COUPON, "patch": {"a": 1}, name: value})
    assert (error["type"], error["message"]) == ("ParamError", f"patchDataToDataSource: '{name}' must be {expected}")


# findAndModifyDataFromDataSource ----------------------------------------------------

#: The documented example.
CLAIM = {
    "dataSourceId": COUPON,
    "filter": {"location": "HK", "memberId": None},
    "patch": {"memberId": MEMBER, "deliveredAt": FROZEN_NOW},
    "withModifier": False,
    "sortBy": {"priority": 1},
    "option": {"new": True},
}


def test_find_and_modify_data_documented_example(both):
    assert both.ok("findAndModifyDataFromDataSource", CLAIM) == {
        "ok": 1,
        "value": {
            "_id": D1,
            "location": "HK",
            "couponCode": "1234",
            "priority": 0,
            "memberId": MEMBER,
            "deliveredAt": FROZEN_NOW,
            "createdAt": CREATED,
            "updatedAt": FROZEN_NOW,
        },
    }


def test_find_and_modify_data_claims_each_coupon_once(api):
    source = f"codes = []\nfor i in range(3):\n    got = this.findAndModifyDataFromDataSource({CLAIM!r})\n    codes.append(got.value.couponCode if got.value else None)\nreturn codes"
    assert api.run(source).value == ["1234", "2345", None]
    assert api.store.count(COUPON, {"memberId": MEMBER}) == 2


def test_find_and_modify_data_returns_the_row_before_the_change_by_default(api):
    got = api.ok("findAndModifyDataFromDataSource", {**CLAIM, "option": None})
    assert got == {"ok": 1, "value": coupon(D1)}
    assert api.stored(COUPON, ObjectId(D1))["memberId"] == MEMBER


@pytest.mark.parametrize(
    "option", [{"returnDocument": "after"}, {"returnOriginal": False}, {"new": True, "fields": {"couponCode": 1}}]
)
def test_find_and_modify_data_after_options(api, option):
    got = api.ok("findAndModifyDataFromDataSource", {**CLAIM, "option": option})
    assert got["value"]["couponCode"] == "1234"
    assert got["value"].get("memberId", MEMBER) == MEMBER


def test_find_and_modify_data_projection(api):
    got = api.ok("findAndModifyDataFromDataSource", {**CLAIM, "option": {"new": True, "projection": {"couponCode": 1}}})
    assert got == {"ok": 1, "value": {"_id": D1, "couponCode": "1234"}}


def test_find_and_modify_data_projection_without_id(api):
    option = {"new": True, "projection": {"couponCode": 1, "_id": 0}}
    got = api.ok("findAndModifyDataFromDataSource", {**CLAIM, "sortBy": {"priority": -1}, "option": option})
    assert got == {"ok": 1, "value": {"couponCode": "2345"}}
    assert api.stored(COUPON, ObjectId(D2))["memberId"] == MEMBER
    assert api.stored(COUPON, ObjectId(D1))["memberId"] is None


def test_find_and_modify_data_no_match_is_null(both):
    got = both.ok("findAndModifyDataFromDataSource", {**CLAIM, "filter": {"location": "TW"}})
    assert got == {"ok": 1, "value": None}
    assert_coupons_unchanged(both)


@pytest.mark.parametrize("row_id", [D1, D3, D4], ids=["objectid", "plain-string", "hex-string"])
def test_find_and_modify_data_by_string_id(api, row_id):
    params = {
        "dataSourceId": COUPON,
        "filter": {"_id": row_id},
        "patch": {"$set": {"seen": 1}},
        "option": {"new": True},
    }
    assert api.ok("findAndModifyDataFromDataSource", params)["value"] == coupon(row_id, seen=1, updatedAt=FROZEN_NOW)


def test_find_and_modify_data_upsert_inserts_with_created_at(both):
    params = {
        "dataSourceId": COUPON,
        "filter": {"couponCode": "9999"},
        "patch": {"$set": {"memberId": MEMBER}},
        "option": {"upsert": True, "new": True},
    }
    got = both.ok("findAndModifyDataFromDataSource", params)
    new_id = got["value"]["_id"]
    assert got == {
        "ok": 1,
        "value": {
            "_id": new_id,
            "couponCode": "9999",
            "memberId": MEMBER,
            "createdAt": FROZEN_NOW,
            "updatedAt": FROZEN_NOW,
        },
    }
    assert both.stored(COUPON, ObjectId(new_id))["createdAt"] == FROZEN_NOW


def test_find_and_modify_data_upsert_without_modifier(api):
    params = {**CLAIM, "filter": {"location": "TW", "memberId": None}, "option": {"upsert": True}}
    assert api.ok("findAndModifyDataFromDataSource", params) == {"ok": 1, "value": None}, "before: nothing"
    (row,) = api.store.find(COUPON, {"location": "TW"})
    assert row == {
        "_id": row["_id"],
        "location": "TW",
        "memberId": MEMBER,
        "deliveredAt": FROZEN_NOW,
        "createdAt": FROZEN_NOW,
        "updatedAt": FROZEN_NOW,
    }


def test_find_and_modify_data_upsert_by_id_keeps_the_id(api):
    row_id = "5f74430000000000000000e2"
    params = {
        "dataSourceId": COUPON,
        "filter": {"_id": row_id},
        "patch": {"$set": {"a": 1}},
        "option": {"upsert": True, "new": True},
    }
    assert api.ok("findAndModifyDataFromDataSource", params)["value"]["_id"] == row_id
    assert api.stored(COUPON, ObjectId(row_id))["a"] == 1


def test_find_and_modify_data_upsert_needs_operators(api):
    params = {
        "dataSourceId": COUPON,
        "filter": {"couponCode": "9999"},
        "patch": {"couponCode": "9999"},
        "option": {"upsert": True},
    }
    error = api.fails("findAndModifyDataFromDataSource", params)
    assert error["message"] == (
        "findAndModifyDataFromDataSource: option 'upsert' needs update operators, not a replacement document"
    )
    assert_coupons_unchanged(api)


def test_find_and_modify_data_replacement_keeps_id_and_created_at(api):
    params = {"dataSourceId": COUPON, "filter": {"_id": D1}, "patch": {"couponCode": "X"}, "option": {"new": True}}
    assert api.ok("findAndModifyDataFromDataSource", params) == {
        "ok": 1,
        "value": {"_id": D1, "couponCode": "X", "createdAt": CREATED, "updatedAt": FROZEN_NOW},
    }


@pytest.mark.parametrize(
    ("patch", "with_modifier", "kind", "message"),
    [
        ({"_id": D2, "a": 1}, True, "PermissionDenied", "a replacement cannot change _id"),
        ({"$rename": {"couponCode": "_id"}}, True, "PermissionDenied", "patch cannot change _id ($rename _id)"),
        (
            {"$set": {"a": 1}},
            False,
            "ParamError",
            "patch starts with the operator $set but withModifier is false; pass withModifier: true to use update operators",
        ),
        ({"$where": {"a": 1}}, True, "PermissionDenied", f"patch: {WHERE}"),
        ({"$sett": {"a": 1}}, True, "ParamError", "patch: unknown operator $sett; did you mean $set?"),
    ],
)
def test_find_and_modify_data_bad_patches(api, patch, with_modifier, kind, message):
    params = {"dataSourceId": COUPON, "filter": {"_id": D1}, "patch": patch, "withModifier": with_modifier}
    error = api.fails("findAndModifyDataFromDataSource", params)
    assert (error["type"], error["message"]) == (kind, f"findAndModifyDataFromDataSource: {message}")
    assert_coupons_unchanged(api)


@pytest.mark.parametrize(
    ("extra", "kind", "message"),
    [
        ({"option": {"$where": "true"}}, "PermissionDenied", f"option: {WHERE}"),
        ({"sortBy": {"$where": 1}}, "PermissionDenied", f"sortBy: {WHERE}"),
        ({"option": {"upsert": 1}}, "ParamError", "option: 'upsert' must be bool"),
        ({"sortBy": {"priority": 0}}, "ParamError", "sortBy: priority must be 1 (ascending) or -1 (descending)"),
    ],
)
def test_find_and_modify_data_bad_options_and_sorts(api, extra, kind, message):
    error = api.fails("findAndModifyDataFromDataSource", {**CLAIM, **extra})
    assert (error["type"], error["message"]) == (kind, f"findAndModifyDataFromDataSource: {message}")
    assert_coupons_unchanged(api)


@pytest.mark.parametrize("missing", ["filter", "patch"])
def test_find_and_modify_data_required_parameters(api, missing):
    params = dict(CLAIM)
    del params[missing]
    error = api.fails("findAndModifyDataFromDataSource", params)
    assert (error["type"], error["message"]) == (
        "ParamError",
        f"findAndModifyDataFromDataSource: '{missing}' is required",
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("filter", "x", "an object, got string"),
        ("patch", 1, "an object, got number"),
        ("withModifier", "false", "a boolean, got string"),
        ("sortBy", [["priority", 1]], "an object, got array"),
        ("option", True, "an object, got boolean"),
    ],
)
def test_find_and_modify_data_parameter_types(api, name, value, expected):
    error = api.fails("findAndModifyDataFromDataSource", {**CLAIM, name: value})
    assert (error["type"], error["message"]) == (
        "ParamError",
        f"findAndModifyDataFromDataSource: '{name}' must be {expected}",
    )


def test_a_claim_is_not_rolled_back_when_the_script_fails_afterwards(both):
    source = f"got = this.findAndModifyDataFromDataSource({CLAIM!r})\nraise ValueError('no template for ' + got.value.couponCode)"
    result = both.run(source)
    assert not result.ok
    assert (result.error["type"], result.error["message"], result.error["line"]) == (
        "ValueError",
        "no template for 1234",
        2,
    )
    assert result.calls[0]["ok"] is True
    assert both.stored(COUPON, ObjectId(D1))["memberId"] == MEMBER


def test_another_app_reads_its_own_data_source_by_name(api):
    rows = api.ok("fetchDataFromDataSource", {"collectionName": "coupon"}, app=OTHER_APP)
    assert rows == [view(row) for row in seed()[FOREIGN_COUPON]]
    assert api.fails("fetchDataFromDataSource", {"dataSourceId": COUPON}, app=OTHER_APP)["type"] == "PermissionDenied"


def test_a_run_without_an_app_cannot_reach_data_sources(api):
    error = api.fails("countDataSource", {"dataSourceId": COUPON}, app=None)
    assert error["type"] == "PermissionDenied"
    assert error["message"].startswith("countDataSource: this run has no app")


def test_every_other_seeded_coupon_is_untouched_by_a_claim(api):
    api.ok("findAndModifyDataFromDataSource", CLAIM)
    rest = api.store.find(COUPON, {"_id": {"$ne": ObjectId(D1)}}, sort=[("couponCode", 1)])
    assert rest == [row for row in coupons() if row["_id"] != ObjectId(D1)]
    assert [D2, D3, D4, D5] == [str(row["_id"]) for row in rest]
