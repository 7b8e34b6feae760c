"""The database: MongoDB through pymongo, or embedded (mongomock)."""

from noderuntime.store.embedded import OPERATION_DEADLINE
from noderuntime.store.store import Store, WriteOutcome

__all__ = ["OPERATION_DEADLINE", "Store", "WriteOutcome"]
