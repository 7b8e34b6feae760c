"""Document ids and values as scripts see them.

Scripts see every ``_id`` as a string. Documents made by the platform carry
ObjectIds, documents seeded by hand often carry strings: a query by the string
form finds either, so an author never has to know which.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from bson import ObjectId
from bson.decimal128 import Decimal128
from bson.int64 import Int64


def stored_id(value: Any) -> Any:
    """The id to store for an id an author gave: a 24-hex string becomes an
    ObjectId (the platform's own form), anything else is kept as given."""
    if isinstance(value, str) and ObjectId.is_valid(value):
        return ObjectId(value)
    return value


def id_forms(value: Any) -> list[Any]:
    """Every stored form an author-given id may have."""
    if isinstance(value, str) and ObjectId.is_valid(value):
        return [ObjectId(value), value]
    if isinstance(value, ObjectId):
        return [value, str(value)]
    return [value]


def match_id(value: Any) -> Any:
    """A filter value for ``_id`` that matches ``value`` in any stored form."""
    forms = id_forms(value)
    return forms[0] if len(forms) == 1 else {"$in": forms}


def widen_id_filter(query: Any) -> Any:
    """``query`` with every condition on ``_id`` widened to both id forms.

    Follows ``$and``/``$or``/``$nor`` and the ``$eq``/``$ne``/``$in``/``$nin``
    operators; other conditions on ``_id`` (``$gt``, ``$exists``...) are
    left as written.
    """
    if not isinstance(query, dict):
        return query
    out: dict[str, Any] = {}
    for key, value in query.items():
        if key in ("$and", "$or", "$nor") and isinstance(value, list):
            out[key] = [widen_id_filter(part) for part in value]
        elif key == "_id":
            out[key] = _widen_condition(value)
        else:
            out[key] = value
    return out


def _widen_condition(condition: Any) -> Any:
    if not isinstance(condition, dict) or not any(k.startswith("$") for k in condition):
        return match_id(condition)
    handled = {"$eq", "$ne"} | {op for op in ("$in", "$nin") if isinstance(condition.get(op), list)}
    widened = {op: operand for op, operand in condition.items() if op not in handled}
    wanted = _forms_of(condition, "$in")
    if "$eq" in condition:
        forms = id_forms(condition["$eq"])
        wanted = forms if wanted is None else [form for form in wanted if form in forms]
    if wanted is not None:
        widened["$in"] = wanted
    refused = _forms_of(condition, "$nin")
    if "$ne" in condition:
        refused = (refused or []) + id_forms(condition["$ne"])
    if refused is not None:
        widened["$nin"] = refused
    return widened


def _forms_of(condition: dict[str, Any], operator: str) -> list[Any] | None:
    operand = condition.get(operator)
    if not isinstance(operand, list):
        return None
    return [form for item in operand for form in id_forms(item)]


def script_key(value: Any) -> str:
    """One text per value as a script sees it: an id stored as an ObjectId
    and as its hex string are the same value to a script."""
    return json.dumps(for_script(value), sort_keys=True, default=str)


def for_script(value: Any) -> Any:
    """A copy of stored data as plain script data: ObjectIds become their hex
    string, datetimes their ISO-8601 UTC text (as ``JSON.stringify`` shows a
    Date), 64-bit ints ints, decimals strings."""
    if isinstance(value, dict):
        return {key: for_script(item) for key, item in value.items()}
    if isinstance(value, list):
        return [for_script(item) for item in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return value.astimezone(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, Int64):
        return int(value)
    if isinstance(value, (Decimal128, bytes)) or not isinstance(value, (str, int, float, bool, type(None))):
        return str(value)
    return value
