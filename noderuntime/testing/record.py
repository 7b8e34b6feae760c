"""Recording a real run as a fixture: ``noderuntime run SCRIPT --record case.yaml``.

The run uses the real HTTP client and the configured store, through two
recorders:

- :class:`RecordingHttp` keeps every exchange, which become the fixture's
  ``http`` stubs (a request that failed is not recorded: replaying it is
  reported as an unstubbed request).
- :class:`RecordingStore` captures, before each operation, the documents its
  query can reach as they were then (documents the run itself created are
  left out). They become the fixture's ``db``; the same documents after the
  run become ``expect.db``.

The fixture also freezes the clock at the run's time and expects the run's
value, member (or error), so replaying it checks that nothing changed.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import yaml

from noderuntime.runtime import RunResult
from noderuntime.store import Store, WriteOutcome
from noderuntime.store.store import as_extended_json

#: The most documents one operation's capture keeps.
CAPTURE_LIMIT = 1000


class RecordingHttp:
    """An HTTP client that records what another one answers."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.exchanges: list[dict[str, Any]] = []

    def fetch(self, url: str, options: dict[str, Any] | None, *, max_bytes: int, timeout: float) -> dict[str, Any]:
        """Fetch with the real client and remember the exchange."""
        response = self.client.fetch(url, options, max_bytes=max_bytes, timeout=timeout)
        method = str((options or {}).get("method") or "GET").upper()
        stub: dict[str, Any] = {"method": method, "url": url, "status": response["status"]}
        content_type = response["headers"].get("content-type", "")
        kept = {name: value for name, value in response["headers"].items() if name == "content-type"}
        if kept:
            stub["headers"] = kept
        try:
            parsed = json.loads(response["body"]) if "json" in content_type else None
        except ValueError:
            parsed = None
        if parsed is not None:
            stub["json"] = parsed
        else:
            stub["body"] = response["body"]
        self.exchanges.append(stub)
        return response


class RecordingStore:
    """A store that remembers the documents each operation could reach, as
    they were before the run touched them. Everything else is the wrapped
    store's."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.before: dict[str, dict[str, dict[str, Any]]] = {}
        #: Ids of the documents the run created, by key.
        self.created: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def _capture(self, collection: str, query: dict[str, Any], sort: Any = None) -> None:
        # In the operation's order, so the document a sorted findAndModify
        # picks is among those kept even when more than CAPTURE_LIMIT match.
        found = self.store.find(collection, query, sort=sort, limit=CAPTURE_LIMIT)
        with self._lock:
            seen = self.before.setdefault(collection, {})
            for document in found:
                key = _key(document["_id"])
                if key not in self.created and key not in seen:
                    seen[key] = document

    def _ids(self, collection: str) -> dict[str, Any]:
        return {_key(d["_id"]): d["_id"] for d in self.store.find(collection, {}, projection={"_id": 1})}

    def has_collection(self, name: str) -> bool:
        exists = self.store.has_collection(name)
        if exists:
            self.before.setdefault(name, {})
        return exists

    def find(self, collection: str, query: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
        self._capture(collection, query, options.get("sort"))
        return self.store.find(collection, query, **options)

    def find_one(self, collection: str, query: dict[str, Any], **options: Any) -> dict[str, Any] | None:
        found = self.find(collection, query, limit=1, **options)
        return found[0] if found else None

    def count(self, collection: str, query: dict[str, Any], **options: Any) -> int:
        self._capture(collection, query)
        return self.store.count(collection, query, **options)

    def distinct(self, collection: str, key: str, query: dict[str, Any]) -> list[Any]:
        self._capture(collection, query)
        return self.store.distinct(collection, key, query)

    def geo_near(self, collection: str, near: list[float], **options: Any) -> list[dict[str, Any]]:
        self._capture(collection, options.get("query") or {})
        return self.store.geo_near(collection, near, **options)

    def insert_one(self, collection: str, document: dict[str, Any]) -> Any:
        new_id = self.store.insert_one(collection, document)
        self.created[_key(new_id)] = new_id
        return new_id

    def update(self, collection: str, query: dict[str, Any], update: dict[str, Any], **options: Any) -> WriteOutcome:
        self._capture(collection, query)
        outcome = self.store.update(collection, query, update, **options)
        if outcome.upserted_id is not None:
            self.created[_key(outcome.upserted_id)] = outcome.upserted_id
        return outcome

    def find_one_and_update(
        self, collection: str, query: dict[str, Any], update: dict[str, Any], **options: Any
    ) -> Any:
        self._capture(collection, query, options.get("sort"))
        # An upsert's new document may no longer match its filter: find it by its new id.
        existing = self._ids(collection) if options.get("upsert") else None
        found = self.store.find_one_and_update(collection, query, update, **options)
        if existing is not None:
            self.created.update({key: i for key, i in self._ids(collection).items() if key not in existing})
        return found

    def find_one_and_replace(self, collection: str, query: dict[str, Any], make: Any, **options: Any) -> Any:
        self._capture(collection, query, options.get("sort"))
        return self.store.find_one_and_replace(collection, query, make, **options)

    def after(self) -> dict[str, list[dict[str, Any]]]:
        """The touched documents (and the ones the run created) as they are now."""
        now: dict[str, list[dict[str, Any]]] = {}
        for collection, documents in self.before.items():
            ids = [document["_id"] for document in documents.values()]
            wanted = ids + list(self.created.values())
            found = self.store.find(collection, {"_id": {"$in": wanted}}) if wanted else []
            # A created document's id is new on every run: expect it without one.
            now[collection] = [_without_id(d) if _key(d["_id"]) in self.created else d for d in found]
        return now


def _without_id(document: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name != "_id"}


def _key(document_id: Any) -> str:
    return f"{type(document_id).__name__}:{document_id}"


def write_fixture(
    path: Path,
    *,
    script_path: Path,
    kind: str,
    context: dict[str, Any],
    now: int,
    result: RunResult,
    http: RecordingHttp,
    store: RecordingStore,
) -> dict[str, Any]:
    """Write the recorded run as a one-case fixture file; returns the case."""
    case: dict[str, Any] = {
        "name": f"recorded: {script_path.stem}",
        "description": "Recorded by noderuntime run --record; replay with noderuntime test.",
        "scriptFile": os.path.relpath(script_path.resolve(), path.resolve().parent),
        "kind": kind,
        "clock": now,
        "context": context,
    }
    before = {name: list(documents.values()) for name, documents in store.before.items()}
    if before:
        case["db"] = as_extended_json(before)
    if http.exchanges:
        case["http"] = http.exchanges
    expect: dict[str, Any] = {}
    if result.ok:
        expect["value"] = result.value
        if result.member is not None:
            expect["member"] = result.member
    else:
        error = result.error or {}
        expect["error"] = {key: error[key] for key in ("type", "message", "line") if error.get(key) is not None}
    after = {name: documents for name, documents in store.after().items() if documents}
    if after:
        expect["db"] = as_extended_json(after)
    case["expect"] = expect
    path.write_text(yaml.safe_dump(case, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    return case
