"""The database: MongoDB through pymongo, or embedded (mongomock)."""

from noderuntime.store.store import Store, WriteOutcome

__all__ = ["Store", "WriteOutcome"]
