"""The outbox: every call to a live-chat outlet, stored before it is made.

A member's message to an agent must not be lost when the outlet is down, nor
posted twice when a retry follows a timeout after which the outlet did act.
So each call (``open``, ``relay``, ``close``, ``transfer``) is first written
here, with a ``key`` unique per call, and then made by whichever worker claims
it::

    {_id, app, assignment, outlet, op, key, seq, line?, target?,
     status ("pending" | "sent" | "failed" | "dropped"), attempts, nextAttemptAt,
     lockedUntil?, lockToken?, lastError?, createdAt, sentAt?}

- The ``key`` has a unique index: a message delivered to us twice is queued once.
- Calls of one assignment are made in ``seq`` order, one at a time: a line
  waits for the conversation to be open, and the close for every line.
- A failed call waits ``retry_ms`` (doubling, or the outlet's own
  ``Retry-After`` when longer) and is given up after ``max_attempts``.
- The outlet is given the same key on every attempt, and each outlet makes a
  repeated call harmless (client-chosen message ids, markers it looks for).
"""

from __future__ import annotations

import uuid
from typing import Any

from bson import ObjectId

from noderuntime.config import LiveChatSettings
from noderuntime.errors import StoreError
from noderuntime.store import Store
from noderuntime.store.schema import ASSIGNMENTS, OUTBOX

OPS = ("open", "relay", "close", "transfer")


class Outbox:
    """The ``outbox`` collection and the writes made to it."""

    def __init__(self, store: Store, settings: LiveChatSettings | None = None) -> None:
        self.store = store
        self.settings = settings or LiveChatSettings()

    def put(
        self,
        now: int,
        assignment: dict[str, Any],
        op: str,
        key: str,
        *,
        line: dict[str, Any] | None = None,
        target: dict[str, Any] | None = None,
    ) -> bool:
        """Queue one call for the assignment's outlet. Returns False when a
        call with this key is already queued (or made)."""
        if op not in OPS:
            raise ValueError(f"op must be one of {', '.join(OPS)}")
        if self.store.find_one(OUTBOX, {"key": key}) is not None:
            return False
        numbered = self.store.find_one_and_update(
            ASSIGNMENTS, {"_id": assignment["_id"]}, {"$inc": {"outboxSeq": 1}}, return_new=True
        )
        seq = int((numbered or assignment).get("outboxSeq") or 0)
        item = {
            "_id": ObjectId(),
            "app": assignment["app"],
            "assignment": assignment["_id"],
            "outlet": assignment["outlet"],
            "op": op,
            "key": key,
            "seq": seq,
            "line": line,
            "target": target,
            "status": "pending",
            "attempts": 0,
            "nextAttemptAt": now,
            "lockedUntil": None,
            "createdAt": now,
        }
        try:
            self.store.insert_one(OUTBOX, item)
        except StoreError:
            return False  # the same key, queued at the same moment by another process
        return True

    def due(self, now: int, limit: int = 100) -> list[dict[str, Any]]:
        """Calls that may be made now, earliest first: ``{_id, outlet}``."""
        query = {
            "status": "pending",
            "nextAttemptAt": {"$lte": now},
            "$or": [{"lockedUntil": None}, {"lockedUntil": {"$lte": now}}],
        }
        found = self.store.find(OUTBOX, query, sort=[("nextAttemptAt", 1), ("seq", 1)], limit=limit)
        return [{"_id": item["_id"], "outlet": item["outlet"]} for item in found]

    def next_due(self, now: int) -> int | None:
        """When the earliest pending call not in flight may be made (epoch ms)."""
        free = {"status": "pending", "$or": [{"lockedUntil": None}, {"lockedUntil": {"$lte": now}}]}
        found = self.store.find(OUTBOX, free, sort=[("nextAttemptAt", 1)], limit=1)
        return int(found[0]["nextAttemptAt"]) if found else None

    def claim(self, now: int, item_id: Any, worker: str) -> dict[str, Any] | None:
        """Lock the call for ``worker`` if it is due and first in its
        assignment's line (earlier calls are made first). None otherwise."""
        item = self.store.find_one(OUTBOX, {"_id": item_id})
        if item is None or item["status"] != "pending":
            return None
        head = self.store.find(
            OUTBOX, {"assignment": item["assignment"], "status": "pending"}, sort=[("seq", 1)], limit=1
        )
        if head and head[0]["_id"] != item_id:
            return None
        return self.store.find_one_and_update(
            OUTBOX,
            {
                "_id": item_id,
                "status": "pending",
                "nextAttemptAt": {"$lte": now},
                "$or": [{"lockedUntil": None}, {"lockedUntil": {"$lte": now}}],
            },
            {"$set": {"lockedUntil": now + self.settings.lock_ms, "lockToken": uuid.uuid4().hex, "lockedBy": worker}},
            return_new=True,
        )

    def sent(self, item: dict[str, Any], now: int) -> bool:
        """The call was made. False when this worker no longer held it."""
        return self._release(item, {"status": "sent", "sentAt": now, "attempts": item["attempts"] + 1})

    def retry(self, item: dict[str, Any], now: int, error: str, wait_s: float | None = None) -> str:
        """The call failed and may work later: ``"retry"``, or ``"failed"``
        after ``max_attempts``."""
        attempts = item["attempts"] + 1
        if attempts >= self.settings.max_attempts:
            self.failed(item, now, f"{error} (gave up after {attempts} attempts)")
            return "failed"
        backoff = min(self.settings.retry_ms * 2 ** (attempts - 1), self.settings.max_retry_ms)
        wait = max(backoff, int((wait_s or 0) * 1000))
        self._release(item, {"attempts": attempts, "nextAttemptAt": now + wait, "lastError": error})
        return "retry"

    def failed(self, item: dict[str, Any], now: int, error: str) -> None:
        """The call cannot be made: kept, with why, and not tried again."""
        self._release(item, {"status": "failed", "attempts": item["attempts"] + 1, "lastError": error, "failedAt": now})

    def drop(self, assignment_id: Any, now: int, reason: str) -> int:
        """Give up the assignment's calls still waiting (its conversation could
        not be opened). They stay, marked ``dropped`` with the reason."""
        return self.store.update(
            OUTBOX,
            {"assignment": assignment_id, "status": "pending"},
            {"$set": {"status": "dropped", "lastError": reason, "droppedAt": now}},
            multi=True,
        ).modified

    def _release(self, item: dict[str, Any], changes: dict[str, Any]) -> bool:
        held = {"_id": item["_id"], "lockToken": item.get("lockToken")}
        unlock = {"lockedUntil": None}
        return bool(
            self.store.update(OUTBOX, held, {"$set": {**changes, **unlock}, "$unset": {"lockToken": ""}}).matched
        )
