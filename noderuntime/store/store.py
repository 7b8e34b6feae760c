"""The store: MongoDB through pymongo, or an embedded mongomock database.

One :class:`Store` per runtime. Every operation the methods use goes through
it, so the two things that differ between backends live here and nowhere
else:

- **Atomicity.** MongoDB makes ``findAndModify`` atomic on the server.
  mongomock does not: 8 threads claiming 2,000 coupons with
  ``find_one_and_update`` double-claimed 1,937 of them. The embedded store
  therefore runs every operation under one lock.
- **Regular expressions.** MongoDB matches ``$regex`` with PCRE on the server.
  mongomock would match in the host with Python's backtracking ``re``, where
  one hostile pattern can stall the host; the embedded store matches with RE2
  instead (linear time).

Database errors become :class:`~noderuntime.errors.StoreError` with a message
an author can act on; mongomock's "not implemented" says so and names the
operator.
"""

from __future__ import annotations

import contextlib
import copy
import heapq
import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mongomock
import pymongo
import re2
from bson import json_util
from bson.regex import Regex
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from noderuntime.errors import StoreError
from noderuntime.store import embedded
from noderuntime.store.guard import QUERY_OPERATORS, compile_regex
from noderuntime.store.schema import INDEXES

#: How long a real MongoDB may take to answer before a call fails.
SERVER_TIMEOUT_MS = 5000
#: How mongomock fails on operands MongoDB would refuse with an error of its own.
_EMBEDDED_FAILURES = (TypeError, ValueError, KeyError, IndexError, AssertionError, ArithmeticError, re2.error)
#: The longest MongoDB may spend on one query or findAndModify of a script.
SERVER_QUERY_MS = 10_000
#: Mean Earth radius MongoDB uses for spherical distances, in metres.
EARTH_RADIUS_M = 6_378_100.0
#: How often a replacement is retried when the document changes under it.
REPLACE_ATTEMPTS = 5
#: MongoDB's error code for a duplicate key.
DUPLICATE_KEY = 11000
#: How mongomock refuses an operator it does not know (``$mod`` among them).
_UNKNOWN_OPERATOR = re.compile(r"unknown (?:top level )?operator: (\$\w+)")


@dataclass(frozen=True)
class WriteOutcome:
    """What an update did."""

    matched: int
    modified: int
    upserted_id: Any = None


_FLAG_LETTERS = (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL))


class LinearRegex(Regex):  # type: ignore[misc]
    """A ``$regex`` the embedded store matches with RE2. mongomock compiles a
    ``bson.Regex`` by calling ``try_compile``; this one returns RE2's pattern."""

    def try_compile(self) -> Any:
        letters = "".join(letter for letter, flag in _FLAG_LETTERS if self.flags & flag)
        return compile_regex(self.pattern, letters)


class Store:
    """MongoDB (``Store.connect``) or the embedded database (``Store.embedded``)."""

    def __init__(self, database: Any, *, embedded: bool) -> None:
        self.database = database
        self.embedded = embedded
        self._lock: Any = threading.RLock() if embedded else contextlib.nullcontext()
        self._known_collections: set[str] = set()
        self.ensure_schema()

    @classmethod
    def embedded_store(cls, seed: dict[str, list[dict[str, Any]]] | None = None, name: str = "noderuntime") -> Store:
        """An in-process mongomock database, optionally seeded."""
        store = cls(mongomock.MongoClient()[name], embedded=True)
        if seed:
            store.load(seed)
        return store

    @classmethod
    def connect(cls, uri: str, database: str = "noderuntime") -> Store:
        """A real MongoDB at ``uri``. Fails fast with :class:`StoreError` when
        the server cannot be reached."""
        client: Any = None
        try:
            # A malformed URI fails here (ValueError, InvalidURI), and so does the
            # DNS lookup of a mongodb+srv:// host.
            client = pymongo.MongoClient(
                uri, serverSelectionTimeoutMS=SERVER_TIMEOUT_MS, tz_aware=True, appname="noderuntime"
            )
            client.admin.command("ping")
        except (PyMongoError, ValueError) as error:
            if client is not None:
                client.close()
            raise StoreError(f"cannot reach MongoDB at {_redact(uri)}: {error}") from None
        return cls(client[database], embedded=False)

    def close(self) -> None:
        """Close the connection to a real MongoDB."""
        if not self.embedded:
            self.database.client.close()

    # Schema -------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the platform collections' indexes (idempotent)."""
        with self._operation("create indexes"):
            for collection, keys, options in INDEXES:
                self.database[collection].create_index(keys, **options)

    def collection_names(self) -> list[str]:
        """Every collection in the database."""
        with self._operation("list collections"):
            names = self.database.list_collection_names()
        self._known_collections = set(names)
        return sorted(names)

    def has_collection(self, name: str) -> bool:
        """Whether ``name`` exists (a miss re-reads the list once)."""
        return name in self._known_collections or name in self.collection_names()

    def create_collection(self, name: str) -> None:
        """Create an empty collection (no error when it exists)."""
        with self._operation("create collection"):
            if name not in self.database.list_collection_names():
                self.database.create_collection(name)
        self._known_collections.add(name)

    # Reads --------------------------------------------------------------------

    def find(
        self,
        collection: str,
        query: dict[str, Any],
        *,
        sort: list[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
        projection: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Documents matching ``query``."""
        with self._operation("find"):
            if self.embedded and projection is None:
                found = embedded.matching(self.database[collection], self._query(query))
                found = embedded.ordered(found, sort) if sort else found
                found = found[skip : skip + limit] if limit else found[skip:]
                return [copy.deepcopy(document) for document in found]
            cursor = self.database[collection].find(
                self._query(query), projection, skip=skip, limit=limit, **self._time_limit("max_time_ms")
            )
            if sort:
                cursor = cursor.sort(sort)
            return list(cursor)

    def find_one(
        self, collection: str, query: dict[str, Any], *, sort: list[tuple[str, int]] | None = None
    ) -> dict[str, Any] | None:
        """The first document matching ``query``, or None."""
        found = self.find(collection, query, sort=sort, limit=1)
        return found[0] if found else None

    def count(self, collection: str, query: dict[str, Any], *, limit: int = 0) -> int:
        """How many documents match ``query`` (stopping at ``limit`` if given)."""
        with self._operation("count"):
            if self.embedded:
                found = len(embedded.matching(self.database[collection], self._query(query)))
                return min(found, limit) if limit else found
            options = {"limit": limit, **self._time_limit()} if limit else self._time_limit()
            return int(self.database[collection].count_documents(self._query(query), **options))

    def distinct(self, collection: str, key: str, query: dict[str, Any]) -> list[Any]:
        """The distinct values of ``key`` among documents matching ``query``."""
        with self._operation("distinct"):
            if self.embedded:
                return embedded.distinct(self.database[collection], key, self._query(query))
            return list(self.database[collection].distinct(key, self._query(query), **self._time_limit()))

    def geo_near(
        self,
        collection: str,
        near: list[float],
        *,
        key: str,
        query: dict[str, Any],
        distance_field: str,
        max_distance: float | None = None,
        min_distance: float | None = None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Documents nearest to ``near`` ([longitude, latitude]), nearest
        first, each with its distance in metres in ``distance_field``."""
        if not self.embedded:
            stage: dict[str, Any] = {
                "near": {"type": "Point", "coordinates": near},
                "distanceField": distance_field,
                "key": key,
                "spherical": True,
                "query": query,
            }
            if max_distance is not None:
                stage["maxDistance"] = max_distance
            if min_distance is not None:
                stage["minDistance"] = min_distance
            # $geoNear needs a 2dsphere index on the key. It is not created here: a
            # script must not be able to build indexes on a production database.
            with self._operation(f"geoNear (needs a 2dsphere index on {key} in {collection})"):
                pipeline = [{"$geoNear": stage}, {"$limit": limit}]
                return list(self.database[collection].aggregate(pipeline, **self._time_limit()))
        with self._operation("geoNear"):
            found = []
            # Distances are measured on the stored documents; only the nearest are copied.
            for document in embedded.matching(self.database[collection], self._query(query)):
                point = _point_of(embedded.value_at(document, key))
                if point is None:
                    continue
                distance = haversine_m(near, point)
                if (max_distance is not None and distance > max_distance) or (
                    min_distance is not None and distance < min_distance
                ):
                    continue
                found.append((distance, document))
            nearest = heapq.nsmallest(limit, found, key=lambda pair: pair[0])
            return [_set_path(copy.deepcopy(document), distance_field, distance) for distance, document in nearest]

    # Writes -------------------------------------------------------------------

    def insert_one(self, collection: str, document: dict[str, Any]) -> Any:
        """Insert ``document``; returns its ``_id``."""
        with self._operation("insert"):
            result = self.database[collection].insert_one(document)
        self._known_collections.add(collection)
        return result.inserted_id

    def update(
        self,
        collection: str,
        query: dict[str, Any],
        update: dict[str, Any],
        *,
        upsert: bool = False,
        multi: bool = False,
    ) -> WriteOutcome:
        """Apply an operator update to the first (or, with ``multi``, every)
        matching document."""
        with self._operation("update"):
            target = self.database[collection]
            apply = target.update_many if multi else target.update_one
            if not self.embedded:
                result = apply(self._query(query), self._update(update), upsert=upsert)
            else:
                # mongomock applies operators one by one: one that fails leaves the
                # earlier ones applied. Put the documents back, as MongoDB would.
                matched = self._query(query)
                touched = embedded.matching(target, matched)
                with embedded.all_or_nothing(target, touched if multi else touched[:1]):
                    with embedded.scanning_only(target, touched):
                        result = apply(matched, self._update(update), upsert=upsert)
        return WriteOutcome(result.matched_count, result.modified_count, result.upserted_id)

    def delete(self, collection: str, query: dict[str, Any]) -> int:
        """Delete every document matching ``query``; returns how many."""
        with self._operation("delete"):
            return int(self.database[collection].delete_many(self._query(query)).deleted_count)

    def find_one_and_update(
        self,
        collection: str,
        query: dict[str, Any],
        update: dict[str, Any],
        *,
        sort: list[tuple[str, int]] | None = None,
        upsert: bool = False,
        return_new: bool = False,
        projection: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Atomically update the first matching document (by ``sort``) and
        return it as it was, or with ``return_new`` as it is now."""
        asked, drop_id = self._projection(projection)
        with self._operation("findAndModify"):
            if self.embedded and projection is None:
                target = self.database[collection]
                candidates = embedded.matching(target, self._query(query))
                if candidates:
                    chosen = embedded.first(candidates, sort)
                    before = None if return_new else copy.deepcopy(chosen)
                    with embedded.all_or_nothing(target, [chosen]), embedded.scanning_only(target, [chosen]):
                        target.update_one({"_id": chosen["_id"]}, self._update(update))
                    return embedded.stored(target, chosen["_id"]) if return_new else before
                if not upsert:
                    return None
            found = self.database[collection].find_one_and_update(
                self._query(query),
                self._update(update),
                projection=asked,
                sort=sort,
                upsert=upsert,
                return_document=ReturnDocument.AFTER if return_new else ReturnDocument.BEFORE,
                **self._time_limit(),
            )
        return _without_id(found) if drop_id else found

    def find_one_and_replace(
        self,
        collection: str,
        query: dict[str, Any],
        make_replacement: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        sort: list[tuple[str, int]] | None = None,
        return_new: bool = False,
        projection: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Replace the first matching document with ``make_replacement(old)``.

        The replacement is built from the current document (to keep fields
        such as ``createdAt``), then written only if that document still
        matches, so a concurrent change makes it try again rather than
        overwrite.
        """
        asked, drop_id = self._projection(projection)
        for _attempt in range(REPLACE_ATTEMPTS):
            with self._lock:
                current = self.find_one(collection, query, sort=sort)
                if current is None:
                    return None
                replacement = make_replacement(current)
                with self._operation("findAndModify"):
                    guard = (
                        {"$and": [{"_id": current["_id"]}, self._query(query)]} if query else {"_id": current["_id"]}
                    )
                    done = self.database[collection].find_one_and_replace(
                        guard,
                        replacement,
                        projection=asked,
                        return_document=ReturnDocument.AFTER if return_new else ReturnDocument.BEFORE,
                        **self._time_limit(),
                    )
                if done is not None:
                    return _without_id(done) if drop_id else done
        raise StoreError(f"the document kept changing while it was being replaced ({REPLACE_ATTEMPTS} attempts)")

    # Extended JSON ------------------------------------------------------------

    def load(self, data: dict[str, list[dict[str, Any]]]) -> None:
        """Insert ``{collection: [documents]}`` (an empty list creates the
        collection)."""
        for name, documents in data.items():
            self.create_collection(name)
            if documents:
                with self._operation("load"):
                    self.database[name].insert_many([dict(d) for d in documents])

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every collection's documents, by collection name."""
        with self._lock:
            return {name: self.find(name, {}, sort=[("_id", 1)]) for name in self.collection_names()}

    def load_file(self, path: str | Path) -> None:
        """Load an extended JSON file ``{collection: [documents]}``."""
        text = Path(path).read_text(encoding="utf-8")
        data = json_util.loads(text)
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise ValueError(f"{path}: expected an object of collection names to arrays of documents")
        self.load(data)

    def dump_file(self, path: str | Path) -> None:
        """Write the database as extended JSON (relaxed: plain numbers, ``$oid``)."""
        Path(path).write_text(dumps(self.dump()) + "\n", encoding="utf-8")

    # Backend differences ------------------------------------------------------

    def _time_limit(self, name: str = "maxTimeMS") -> dict[str, int]:
        """MongoDB stops a query of a script's after :data:`SERVER_QUERY_MS`;
        the embedded store runs in the host and has no such option."""
        return {} if self.embedded else {name: SERVER_QUERY_MS}

    def _query(self, query: dict[str, Any]) -> dict[str, Any]:
        return _linear_regexes(query) if self.embedded else query

    def _projection(self, projection: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
        """The projection to send, and whether to drop ``_id`` from the result.

        mongomock's findAndModify finds the document a second time (to update
        it, and to return it as it is now) by the ``_id`` of its first find,
        or, when the projection leaves ``_id`` out, by the filter alone: the
        sort is lost and a document that no longer matches is not found. So
        the embedded store always asks for ``_id`` and drops it afterwards.
        """
        if not self.embedded or not projection or projection.get("_id", 1):
            return projection, False
        return {path: flag for path, flag in projection.items() if path != "_id"} or None, True

    def _update(self, update: dict[str, Any]) -> dict[str, Any]:
        if self.embedded and any(".$." in f".{path}." for fields in update.values() for path in fields):
            # mongomock resolves `$` from the filter it is given, and the store
            # updates the chosen document by _id: the wrong element would change.
            raise StoreError(
                "the positional $ operator (items.$.qty) is not supported by the embedded store; "
                "it works on MongoDB (or update the element by its index: items.1.qty)"
            )
        if self.embedded and "$pull" in update:
            return {**update, "$pull": _linear_regexes(update["$pull"])}
        return update

    @contextlib.contextmanager
    def _operation(self, what: str) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except DuplicateKeyError as error:
                raise StoreError(
                    f"{what}: a document with the same key already exists ({_first_line(error)})"
                ) from None
            except BulkWriteError as error:
                # insert_many: the first failed document's error, not the whole report.
                failed = (error.details or {}).get("writeErrors") or [{}]
                detail = str(failed[0].get("errmsg") or _first_line(error)).splitlines()[0][:300]
                if failed[0].get("code") == DUPLICATE_KEY:
                    raise StoreError(f"{what}: a document with the same key already exists ({detail})") from None
                raise StoreError(f"{what}: {detail}") from None
            except OperationFailure as error:
                operator = _UNKNOWN_OPERATOR.match(_first_line(error)) if self.embedded else None
                if operator and operator.group(1) in QUERY_OPERATORS:
                    # The guard let it through, so MongoDB has it and mongomock does not.
                    raise StoreError(
                        f"{what}: not supported by the embedded store (mongomock): {_first_line(error)}; "
                        "it works on MongoDB"
                    ) from None
                raise StoreError(f"{what}: {_first_line(error)}") from None
            except PyMongoError as error:
                raise StoreError(f"{what}: the database is unavailable ({_first_line(error)})") from None
            except NotImplementedError as error:
                raise StoreError(
                    f"{what}: not supported by the embedded store (mongomock): {_first_line(error)}; "
                    "it works on MongoDB"
                ) from None
            except TimeoutError as error:
                raise StoreError(f"{what}: {error}") from None
            except _EMBEDDED_FAILURES as error:
                if not self.embedded:
                    raise
                # mongomock reports a bad operand ($inc on a string, a division by
                # zero in $expr) as a Python error where MongoDB returns one.
                raise StoreError(f"{what}: the embedded store refused it ({_first_line(error)})") from None


def dumps(data: Any) -> str:
    """Relaxed extended JSON, indented, keys in stored order."""
    return json_util.dumps(data, json_options=json_util.RELAXED_JSON_OPTIONS, indent=2, ensure_ascii=False)


def from_extended_json(data: Any) -> Any:
    """Plain data (as read from JSON or YAML) with ``{"$oid": ...}`` and
    ``{"$date": ...}`` made BSON values."""
    return json_util.loads(json.dumps(data, default=str))


def as_extended_json(data: Any) -> Any:
    """Stored data as the plain data of relaxed extended JSON (``{"$oid": ...}``)."""
    return json.loads(json_util.dumps(data, json_options=json_util.RELAXED_JSON_OPTIONS))


def _linear_regexes(value: Any) -> Any:
    if isinstance(value, dict):
        if isinstance(value.get("$regex"), str):
            converted = {k: _linear_regexes(v) for k, v in value.items() if k not in ("$regex", "$options")}
            converted["$regex"] = LinearRegex(value["$regex"], value.get("$options") or "")
            return converted
        return {key: _linear_regexes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_linear_regexes(item) for item in value]
    return value


def _without_id(document: dict[str, Any] | None) -> dict[str, Any] | None:
    if document is not None:
        document.pop("_id", None)
    return document


def _first_line(error: BaseException) -> str:
    text = str(error.args[0] if getattr(error, "args", None) else error)
    return text.splitlines()[0][:300] if text else type(error).__name__


def _redact(uri: str) -> str:
    """``mongodb://user:secret@host`` without the secret."""
    if "@" not in uri or "://" not in uri:
        return uri
    scheme, rest = uri.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def haversine_m(a: list[float], b: list[float]) -> float:
    """Great-circle distance in metres between two [longitude, latitude] points."""
    lng1, lat1, lng2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _point_of(value: Any) -> list[float] | None:
    """[longitude, latitude] of a GeoJSON Point or a legacy pair, or None."""
    if isinstance(value, dict) and value.get("type") == "Point":
        value = value.get("coordinates")
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in value)
    ):
        return [float(value[0]), float(value[1])]
    return None


def _set_path(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target = document
    parts = path.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return document
