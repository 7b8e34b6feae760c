"""MongoDB's sort order of values of any type, as a Python sort key."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from bson import ObjectId
from bson.regex import Regex


def sort_key(value: Any, descending: bool = False) -> tuple[Any, ...]:
    """A key that orders values of any type as MongoDB does: by type first
    (null and missing, numbers, strings, objects, arrays, binary, ObjectId,
    booleans, dates, regexes), then by value. An array sorts by its smallest
    element ascending and by its largest descending; an empty array sorts
    first."""
    if isinstance(value, list):
        if not value:
            return (0, 0)  # an empty array sorts before null
        keys = [sort_key(item, descending) for item in value]
        return max(keys) if descending else min(keys)
    if isinstance(value, dict):
        return (4, tuple((key, sort_key(inner)) for key, inner in value.items()))
    if isinstance(value, bool):
        return (8, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    if value is None:
        return (1, 0)
    if isinstance(value, _dt.datetime):
        return (9, value if value.tzinfo else value.replace(tzinfo=_dt.UTC))
    if isinstance(value, ObjectId):
        return (7, value.binary)
    if isinstance(value, bytes):
        return (6, value)
    return (11 if isinstance(value, Regex) else 10, str(value))
