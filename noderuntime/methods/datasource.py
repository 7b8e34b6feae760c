"""Data source methods: the calling app's tables, one collection each.

A data source is named by its id, ``<appId>_<name>``, or by ``collectionName``
(the name within the calling app). Rows carry ``createdAt``/``updatedAt``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from noderuntime.errors import ParamError
from noderuntime.methods import method
from noderuntime.methods.params import param, validate
from noderuntime.methods.scope import (
    FIND_AND_MODIFY_PARAMS,
    SOURCE_PARAMS,
    cut,
    data_source,
    find_and_modify_options,
    read_limit,
    shaped,
)
from noderuntime.store.guard import check_document, check_filter, check_options, check_path, check_sort
from noderuntime.store.ids import id_forms, script_key, stored_id, widen_id_filter
from noderuntime.store.ordering import sort_key
from noderuntime.store.updates import build_change, stamp_new, stamp_replacement, stamp_update

if TYPE_CHECKING:
    from noderuntime.runtime import Run

#: Most rows one ``upsertDataToDataSource`` call may write.
MAX_UPSERT_ROWS = 1000

_PATCH_OPTIONS: dict[str, tuple[type, ...]] = {"upsert": (bool,), "multi": (bool,)}


def _non_negative(value: int) -> str | None:
    return "must be 0 or more" if value < 0 else None


def _query(filter: Any, where: str = "filter") -> dict[str, Any]:
    return widen_id_filter(check_filter(filter, where))


def _upsert_update(update: dict[str, Any], filter: dict[str, Any] | None) -> dict[str, Any]:
    """An upsert by ``{_id: "<24 hex>"}`` inserts a row with that id. The
    widened filter (``$in`` of both stored forms) no longer says which id, so
    the new row would get a random one: set it on insert instead."""
    given = (filter or {}).get("_id")
    if isinstance(given, dict) and set(given) == {"$eq"}:
        given = given["$eq"]
    if len(id_forms(given)) < 2:
        return update
    return {**update, "$setOnInsert": {**update.get("$setOnInsert", {}), "_id": stored_id(given)}}


@method(
    **SOURCE_PARAMS,
    filter=param(dict),
    count=param(bool, default=False),
    sortBy=param(dict),
    limit=param(int),
    skip=param(int, default=0, check=_non_negative),
)
def fetchDataFromDataSource(
    run: Run,
    *,
    collectionName: str | None,
    dataSourceId: str | None,
    filter: dict[str, Any] | None,
    count: bool,
    sortBy: dict[str, Any] | None,
    limit: int | None,
    skip: int,
) -> list[dict[str, Any]] | int:
    """Rows matching ``filter`` in ``sortBy`` order (at most the read cap;
    ``limit``/``skip`` to page), or with ``count: true`` how many match."""
    source = data_source(run, dataSourceId, collectionName)
    query = _query(filter)
    order = check_sort(sortBy)
    if count:
        return run.store.count(source, query)
    allowed = read_limit(run, limit)
    rows = run.store.find(source, query, sort=order, skip=skip, limit=allowed + 1)
    return shaped(cut(run, "fetchDataFromDataSource", rows, allowed, limit))


@method(
    **SOURCE_PARAMS,
    key=param(str, required=True),
    filter=param(dict),
    count=param(bool, default=False),
    sortBy=param(dict),
)
def fetchDistinctDataFromDataSource(
    run: Run,
    *,
    collectionName: str | None,
    dataSourceId: str | None,
    key: str,
    filter: dict[str, Any] | None,
    count: bool,
    sortBy: dict[str, Any] | None,
) -> list[Any] | int:
    """The distinct values of ``key`` among rows matching ``filter``, or with
    ``count: true`` how many there are. ``sortBy: {<key>: 1 | -1}`` sorts
    the values."""
    source = data_source(run, dataSourceId, collectionName)
    check_path(key, "key")
    order = check_sort(sortBy)
    if order and (len(order) != 1 or order[0][0] != key):
        raise ParamError(f"sortBy of distinct values can only name the key: {{{key}: 1}} or {{{key}: -1}}")
    # An id stored as an ObjectId and as its string is one value to a script.
    unique = {script_key(value): value for value in run.store.distinct(source, key, _query(filter))}
    values = shaped(list(unique.values()))
    if count:
        return len(values)
    if order:
        descending = order[0][1] == -1
        values.sort(key=lambda value: sort_key(value, descending), reverse=descending)
    allowed = read_limit(run, None)
    return cut(run, "fetchDistinctDataFromDataSource", values, allowed, None)


_PLAIN_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

_GEO_DATA = {
    "near": param(dict, list, required=True),
    "key": param(str, default="location"),
    "distanceField": param(str, default="distance"),
    "maxDistance": param(float, check=_non_negative),
    "minDistance": param(float, check=_non_negative),
    "query": param(dict),
    "limit": param(int),
}


@method(**SOURCE_PARAMS, data=param(dict, required=True))
def fetchGeoNearFromDataSource(
    run: Run, *, collectionName: str | None, dataSourceId: str | None, data: dict[str, Any]
) -> list[dict[str, Any]]:
    """Rows nearest to ``data.near`` (a GeoJSON Point or ``[longitude,
    latitude]``), nearest first, each with its distance in metres in
    ``data.distanceField`` (default ``distance``). ``data.key`` names the
    field holding each row's point (default ``location``)."""
    source = data_source(run, dataSourceId, collectionName)
    geo = validate("fetchGeoNearFromDataSource: data", _GEO_DATA, data)
    near = geo["near"]
    if isinstance(near, dict):
        if near.get("type") != "Point":
            raise ParamError("data.near must be a GeoJSON Point ({type: 'Point', coordinates: [lng, lat]})")
        near = near.get("coordinates")
    if (
        not isinstance(near, list)
        or len(near) != 2
        or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in near)
        or not (-180 <= near[0] <= 180 and -90 <= near[1] <= 90)
    ):
        raise ParamError("data.near coordinates must be [longitude, latitude] within [-180, 180] and [-90, 90]")
    check_path(geo["key"], "data.key")
    if not _PLAIN_FIELD.match(geo["distanceField"]) or geo["distanceField"] == "_id":
        raise ParamError("data.distanceField must be a plain field name (no dots), not _id")
    allowed = read_limit(run, geo["limit"])
    rows = run.store.geo_near(
        source,
        [float(near[0]), float(near[1])],
        key=geo["key"],
        query=_query(geo["query"], "data.query"),
        distance_field=geo["distanceField"],
        max_distance=geo["maxDistance"],
        min_distance=geo["minDistance"],
        limit=allowed + 1,
    )
    return shaped(cut(run, "fetchGeoNearFromDataSource", rows, allowed, geo["limit"]))


@method(**SOURCE_PARAMS, filter=param(dict))
def countDataSource(
    run: Run, *, collectionName: str | None, dataSourceId: str | None, filter: dict[str, Any] | None
) -> int:
    """How many rows match ``filter``."""
    return run.store.count(data_source(run, dataSourceId, collectionName), _query(filter))


@method(dataSourceId=param(str, required=True), data=param(dict, list, required=True))
def upsertDataToDataSource(run: Run, *, dataSourceId: str, data: dict[str, Any] | list[Any]) -> dict[str, Any]:
    """Save rows: a row whose ``_id`` exists is updated (its fields set), a row
    with an unknown ``_id`` is inserted with that id, a row without ``_id``
    is inserted with a new one. Returns ``{result: {_docsIds: {updated,
    inserted, upserted}, matched, modified, inserted, deleted}}``."""
    source = data_source(run, dataSourceId)
    rows = data if isinstance(data, list) else [data]
    if not rows:
        raise ParamError("data is an empty array")
    if len(rows) > MAX_UPSERT_ROWS:
        raise ParamError(f"data has {len(rows)} rows; one call may save at most {MAX_UPSERT_ROWS}")
    for index, row in enumerate(rows):
        check_document(row, f"data[{index}]" if isinstance(data, list) else "data")
    now = run.now_ms()
    ids: dict[str, list[str]] = {"updated": [], "inserted": [], "upserted": []}
    matched = modified = 0
    for row in rows:
        fields = {name: value for name, value in row.items() if name not in ("_id", "createdAt", "updatedAt")}
        if row.get("_id") is None:  # no _id, or null (JS undefined): a new row
            new_id = run.store.insert_one(source, stamp_new(fields, now))
            ids["inserted"].append(str(new_id))
            continue
        row_id = row["_id"]
        existing = run.store.find_one(source, {"_id": {"$in": id_forms(row_id)}})
        target = existing["_id"] if existing is not None else stored_id(row_id)
        update = stamp_update({"$set": fields} if fields else {}, now, upsert=True)
        outcome = run.store.update(source, {"_id": target}, update, upsert=True)
        if outcome.upserted_id is not None:
            ids["upserted"].append(str(row_id))
        else:
            matched += outcome.matched
            modified += outcome.modified
            ids["updated"].append(str(row_id))
    inserted = len(ids["inserted"]) + len(ids["upserted"])
    return {"result": {"_docsIds": ids, "matched": matched, "modified": modified, "inserted": inserted, "deleted": 0}}


@method(
    **SOURCE_PARAMS,
    filter=param(dict),
    patch=param(dict, required=True),
    options=param(dict),
    multi=param(bool, default=False),
    withModifier=param(bool, default=False),
)
def patchDataToDataSource(
    run: Run,
    *,
    collectionName: str | None,
    dataSourceId: str | None,
    filter: dict[str, Any] | None,
    patch: dict[str, Any],
    options: dict[str, Any] | None,
    multi: bool,
    withModifier: bool,
) -> dict[str, Any]:
    """Patch the first row matching ``filter`` (every match with ``multi``);
    ``options.upsert`` inserts a row when none matches. Returns ``{matched,
    modified, inserted, deleted}``."""
    source = data_source(run, dataSourceId, collectionName)
    opts = check_options(options, _PATCH_OPTIONS, "options")
    multi = bool(opts.get("multi", multi))
    upsert = bool(opts.get("upsert", False))
    query = _query(filter)
    change = build_change(patch, withModifier)
    now = run.now_ms()
    if change.replacement:
        if multi or upsert:
            raise ParamError(
                "a replacement patch (withModifier true, no operators) replaces one row: no multi or upsert"
            )
        before = run.store.find_one_and_replace(
            source, query, lambda current: stamp_replacement(change.document, current, now)
        )
        found = int(before is not None)
        return {"matched": found, "modified": found, "inserted": 0, "deleted": 0}
    update = stamp_update(change.document, now, upsert=upsert)
    if upsert:
        update = _upsert_update(update, filter)
    outcome = run.store.update(source, query, update, upsert=upsert, multi=multi)
    inserted = int(outcome.upserted_id is not None)
    return {"matched": outcome.matched, "modified": outcome.modified, "inserted": inserted, "deleted": 0}


@method(dataSourceId=param(str, required=True), **FIND_AND_MODIFY_PARAMS)
def findAndModifyDataFromDataSource(
    run: Run,
    *,
    dataSourceId: str,
    filter: dict[str, Any],
    patch: dict[str, Any],
    withModifier: bool,
    sortBy: dict[str, Any] | None,
    option: dict[str, Any] | None,
) -> dict[str, Any]:
    """Atomically find the first matching row (by ``sortBy``) and change it.
    Returns ``{ok: 1, value}``: the row before the change, or after it with
    ``option.new``; ``value: null`` when none matched."""
    source = data_source(run, dataSourceId)
    return_new, upsert, projection = find_and_modify_options(option, allow_upsert=True)
    query = _query(filter)
    order = check_sort(sortBy)
    change = build_change(patch, withModifier)
    now = run.now_ms()
    if change.replacement:
        if upsert:
            raise ParamError("option 'upsert' needs update operators, not a replacement document")
        found = run.store.find_one_and_replace(
            source,
            query,
            lambda current: stamp_replacement(change.document, current, now),
            sort=order,
            return_new=return_new,
            projection=projection,
        )
    else:
        update = stamp_update(change.document, now, upsert=upsert)
        found = run.store.find_one_and_update(
            source,
            query,
            _upsert_update(update, filter) if upsert else update,
            sort=order,
            upsert=upsert,
            return_new=return_new,
            projection=projection,
        )
    return {"ok": 1, "value": shaped(found)}
