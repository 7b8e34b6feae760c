"""Fast paths for the embedded store's hot operations.

mongomock is exact but slow where the runtime is busiest: a sorted
``find_one_and_update`` over 10,000 rows took 169 ms, most of it in copying
every matching document through a cursor and sorting with a comparison
object per value. Under the store's lock the same operation can match with
mongomock's own filter on the stored documents (no copies), order them with
a key function that follows MongoDB's sort order, and update the one chosen
by ``_id``: the semantics stay mongomock's, the copies go.

These functions read mongomock's collection storage (``Collection._store``),
which is why ``pyproject.toml`` pins mongomock below 5.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import time
from collections.abc import Iterator
from typing import Any

from mongomock.filtering import filter_applies

from noderuntime.store.ids import script_key
from noderuntime.store.ordering import sort_key


def matching(collection: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored documents (not copies) that match ``query``, in stored order.
    A query that names its ``_id`` values reads just those documents."""
    store = collection._store
    ids = _ids_named(query)
    if ids is None:
        candidates: Any = store.documents
    else:
        documents = store._documents
        candidates = [documents[i] for i in dict.fromkeys(ids) if i in documents]
        if len(candidates) > 1:
            # Several found: in stored order, as mongomock gives them.
            wanted = {id(document) for document in candidates}
            candidates = [document for document in store.documents if id(document) in wanted]
    deadline = OPERATION_DEADLINE.get()
    found = []
    for count, document in enumerate(candidates, 1):
        if deadline is not None and count % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            raise TimeoutError("the query ran past the time the run had left")
        if filter_applies(query, document):
            found.append(document)
    return found


#: When the current store operation must end (``time.monotonic()``), or
#: None. The method table sets it to the run's deadline for each call, so one
#: script's query cannot hold the store's lock past its own time budget
#: while other runs wait.
OPERATION_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("operation_deadline", default=None)
#: Documents matched between two looks at the clock.
_CHECK_EVERY = 64


def _ids_named(query: dict[str, Any]) -> list[Any] | None:
    """The ``_id`` values a query is limited to (equality or ``$in``, at the
    top or inside a top-level ``$and``), or None when it is not limited."""
    named: list[Any] | None = None
    condition = query.get("_id", _NOTHING)
    if condition is not _NOTHING:
        if not isinstance(condition, dict):
            named = [condition]
        elif set(condition) == {"$in"} and isinstance(condition["$in"], list):
            named = list(condition["$in"])
        elif set(condition) == {"$eq"}:
            named = [condition["$eq"]]
    for part in query.get("$and", []) if isinstance(query.get("$and"), list) else []:
        inner = _ids_named(part) if isinstance(part, dict) else None
        if inner is not None:
            named = inner if named is None else [i for i in named if i in inner]
    if named is not None and not all(_hashable(i) for i in named):
        return None
    return named


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


_NOTHING = object()


@contextlib.contextmanager
def all_or_nothing(collection: Any, documents: list[dict[str, Any]]) -> Iterator[None]:
    """Restore ``documents`` as they are now if the block fails half-way."""
    saved = {document["_id"]: copy.deepcopy(document) for document in documents}
    try:
        yield
    except BaseException:
        for document_id, document in saved.items():
            collection._store[document_id] = document
        raise


@contextlib.contextmanager
def scanning_only(collection: Any, documents: list[dict[str, Any]]) -> Iterator[None]:
    """Within the block, mongomock's own operations on ``collection`` look at
    ``documents`` alone (found by :func:`matching`, which reads named ids
    directly) instead of filtering every stored document again: an update
    by ``_id`` no longer scans the collection. The caller holds the store's lock."""
    collection._iter_documents = lambda spec: (d for d in list(documents) if filter_applies(spec, d))
    try:
        yield
    finally:
        del collection._iter_documents


def distinct(collection: Any, key: str, query: dict[str, Any]) -> list[Any]:
    """The distinct values of ``key`` (array elements one by one) among the
    matching documents, without copying the documents; an id stored as an
    ObjectId and as its string counts once, as scripts see both the same."""
    seen: dict[str, Any] = {}
    for document in matching(collection, query):
        value = value_at(document, key)
        for item in value if isinstance(value, list) else [value]:
            if item is None and value is None and not _has_path(document, key):
                continue
            seen.setdefault(script_key(item), item)
    return [copy.deepcopy(item) for item in seen.values()]


def _has_path(document: dict[str, Any], path: str) -> bool:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def stored(collection: Any, document_id: Any) -> dict[str, Any]:
    """A copy of the stored document with this ``_id``."""
    return copy.deepcopy(collection._store[document_id])


def ordered(documents: list[dict[str, Any]], sort: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """``documents`` in MongoDB's order for ``sort`` (stable for ties)."""
    result = list(documents)
    for path, direction in reversed(sort):
        descending = direction == -1
        result.sort(key=lambda doc, p=path, d=descending: sort_key(value_at(doc, p), d), reverse=descending)
    return result


def first(documents: list[dict[str, Any]], sort: list[tuple[str, int]] | None) -> dict[str, Any]:
    """The first of ``documents`` in ``sort`` order: one pass for one key."""
    if not sort:
        return documents[0]
    if len(sort) == 1:
        path, direction = sort[0]
        descending = direction == -1
        pick = max if descending else min
        return pick(documents, key=lambda doc: sort_key(value_at(doc, path), descending))
    return ordered(documents, sort)[0]


def value_at(document: Any, path: str) -> Any:
    """The value at a dotted path (array indexes and arrays of objects followed), or None."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, list):
            value = [item.get(part) for item in value if isinstance(item, dict)] or None
        else:
            return None
    return value
