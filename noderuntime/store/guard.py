"""The query guard: what a script may say to MongoDB.

Filters, update documents, sort orders, options and documents written by a
script pass an allowlist before they reach a collection. Operators that run
code on the server (``$where``, ``$function``, ``$accumulator``), write
elsewhere (``$out``, ``$merge``) or read other collections (``$lookup``) are
refused by name; anything else not on the list is refused as unknown, with a
suggestion. Nesting depth and encoded size are capped, and every regular
expression must be one RE2 accepts, so matching runs in linear time on any
backend.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import bson
import re2

from noderuntime.errors import ParamError, PermissionDenied

#: Deepest nesting of a filter, update or document a script may send.
MAX_DEPTH = 32
#: Largest filter, update or document a script may send (encoded BSON bytes).
MAX_DOCUMENT_BYTES = 1024 * 1024
#: Longest regular expression a script may send.
MAX_REGEX_LENGTH = 1000
#: Most values in one ``$in``/``$nin``/``$all``, and most conditions in one
#: ``$and``/``$or``/``$nor``: the embedded store tests each against every
#: document while holding its lock.
MAX_ARRAY_OPERANDS = 1000
MAX_BRANCHES = 100
#: Highest array index a field path may name (``tags.20000000`` would make
#: the store pad an array with twenty million nulls).
MAX_ARRAY_INDEX = 10_000
#: Most strings one ``$expr`` may concatenate: ``$concat`` of a large field
#: repeated many times is built per document in the host's memory.
MAX_CONCAT_OPERANDS = 16

QUERY_OPERATORS = frozenset(
    {
        "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
        "$and", "$or", "$nor", "$not",
        "$exists", "$type", "$regex", "$options", "$all", "$elemMatch", "$size", "$mod", "$expr",
        "$near", "$nearSphere", "$geoWithin", "$geoIntersects", "$geometry",
        "$maxDistance", "$minDistance", "$box", "$center", "$centerSphere", "$polygon",
        "$text", "$search", "$language", "$caseSensitive", "$diacriticSensitive",
        "$bitsAllSet", "$bitsAnySet", "$bitsAllClear", "$bitsAnyClear", "$comment",
    }
)  # fmt: skip

#: Aggregation expression operators allowed inside ``$expr``.
EXPRESSION_OPERATORS = frozenset(
    {
        "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$cmp", "$and", "$or", "$not", "$in",
        "$add", "$subtract", "$multiply", "$divide", "$mod", "$abs", "$ceil", "$floor", "$round", "$trunc",
        "$cond", "$ifNull", "$switch", "$size", "$arrayElemAt", "$isArray", "$literal", "$max", "$min",
        "$sum", "$avg", "$concat", "$toLower", "$toUpper", "$strLenCP", "$substrCP", "$split", "$trim",
        "$toString", "$toInt", "$toLong", "$toDouble", "$toBool", "$type", "$isNumber",
    }
)  # fmt: skip

UPDATE_OPERATORS = frozenset(
    {
        "$set", "$unset", "$inc", "$mul", "$min", "$max", "$rename", "$push", "$pull", "$pullAll",
        "$addToSet", "$pop", "$currentDate", "$setOnInsert",
    }
)  # fmt: skip

#: Modifiers of ``$push`` and ``$addToSet`` values.
PUSH_MODIFIERS = frozenset({"$each", "$position", "$slice", "$sort"})

#: Refused by name, with the reason an author is told.
DENIED = {
    "$where": "runs JavaScript on the database server",
    "$function": "runs JavaScript on the database server",
    "$accumulator": "runs JavaScript on the database server",
    "mapReduce": "runs JavaScript on the database server",
    "$out": "writes to another collection",
    "$merge": "writes to another collection",
    "$lookup": "reads another collection",
    "$graphLookup": "reads another collection",
    "$unionWith": "reads another collection",
    "$jsonSchema": "is not available to scripts",
}

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_REGEX_FLAGS = frozenset("ims")


def _refuse(operator: str, where: str, allowed: Iterable[str]) -> None:
    reason = DENIED.get(operator)
    if reason is not None:
        raise PermissionDenied(f"{where}: {operator} {reason} and is not allowed")
    close = difflib.get_close_matches(operator, sorted(allowed), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise ParamError(f"{where}: unknown operator {operator}{hint}")


def _check_size(value: Any, where: str) -> None:
    if isinstance(value, dict):
        size = len(bson.encode(value))
    else:
        size = len(bson.encode({"v": value}))
    if size > MAX_DOCUMENT_BYTES:
        raise ParamError(f"{where} is {size} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes")


def _check_depth(depth: int, where: str) -> None:
    if depth > MAX_DEPTH:
        raise ParamError(f"{where} is nested more than {MAX_DEPTH} levels deep")


# Filters ---------------------------------------------------------------------


def check_filter(query: Any, where: str = "filter") -> dict[str, Any]:
    """Validate a query document; returns it (``{}`` for None)."""
    if query is None:
        return {}
    if not isinstance(query, dict):
        raise ParamError(f"{where} must be an object")
    # Depth first: the walk stops at MAX_DEPTH, while encoding a deeper value
    # to measure it would overflow the stack (RecursionError, not ParamError).
    _query(query, where, 0)
    _check_size(query, where)
    return query


def _query(query: dict[str, Any], where: str, depth: int) -> None:
    _check_depth(depth, where)
    for key, value in query.items():
        if key.startswith("$"):
            if key in ("$and", "$or", "$nor"):
                if not isinstance(value, list) or not value:
                    raise ParamError(f"{where}: {key} takes a non-empty array of conditions")
                if len(value) > MAX_BRANCHES:
                    raise ParamError(f"{where}: {key} has {len(value)} conditions; the limit is {MAX_BRANCHES}")
                for part in value:
                    if not isinstance(part, dict):
                        raise ParamError(f"{where}: each condition in {key} must be an object")
                    _query(part, where, depth + 1)
            elif key == "$expr":
                _expression(value, where, depth + 1)
            elif key in ("$text", "$comment"):
                _operand(value, where, depth + 1)
            else:
                _refuse(key, where, ("$and", "$or", "$nor", "$expr", "$text", "$comment"))
        else:
            _condition(value, where, depth + 1)


def _condition(value: Any, where: str, depth: int) -> None:
    _check_depth(depth, where)
    if not isinstance(value, dict) or not any(k.startswith("$") for k in value):
        _operand(value, where, depth)
        return
    for operator, operand in value.items():
        if not operator.startswith("$"):
            raise ParamError(f"{where}: cannot mix operators and fields in one condition ({operator})")
        if operator not in QUERY_OPERATORS:
            _refuse(operator, where, QUERY_OPERATORS)
        if operator == "$regex":
            check_regex(operand, value.get("$options"), where)
        elif operator == "$options" and "$regex" not in value:
            raise ParamError(f"{where}: $options needs $regex")
        elif operator in ("$in", "$nin", "$all") and not isinstance(operand, list):
            raise ParamError(f"{where}: {operator} takes an array")
        elif operator in ("$in", "$nin", "$all") and len(operand) > MAX_ARRAY_OPERANDS:
            raise ParamError(f"{where}: {operator} has {len(operand)} values; the limit is {MAX_ARRAY_OPERANDS}")
        elif operator in ("$elemMatch", "$not") and isinstance(operand, dict):
            if any(k.startswith("$") for k in operand):
                _condition(operand, where, depth + 1)
            else:
                _query(operand, where, depth + 1)
        elif operator == "$expr":
            _expression(operand, where, depth + 1)
        else:
            _operand(operand, where, depth + 1)


def _operand(value: Any, where: str, depth: int) -> None:
    """Plain values: no operator may hide inside (``{"a": {"b": {"$where": ...}}}``
    is an equality match on Mongo, but a guard cannot know which backend
    reads it, so it is refused the same way everywhere), and a ``$regex``
    anywhere (inside ``$all``, say) is checked like any other."""
    _only_operators(value, where, depth, QUERY_OPERATORS, [])


def _expression(value: Any, where: str, depth: int) -> None:
    _only_operators(value, where, depth, EXPRESSION_OPERATORS, [0])


def _only_operators(value: Any, where: str, depth: int, allowed: frozenset[str], concat: list[int]) -> None:
    """Every ``$`` key anywhere inside ``value`` is one of ``allowed``;
    ``concat`` (when given) counts ``$concat`` operands against their cap."""
    _check_depth(depth, where)
    if isinstance(value, dict):
        if isinstance(value.get("$regex"), str) and allowed is QUERY_OPERATORS:
            check_regex(value["$regex"], value.get("$options"), where)
        for key, item in value.items():
            if key.startswith("$") and key not in allowed:
                _refuse(key, where, allowed)
            if key == "$concat" and concat:
                concat[0] += len(item) if isinstance(item, list) else 1
                if concat[0] > MAX_CONCAT_OPERANDS:
                    raise ParamError(f"{where}: $concat of more than {MAX_CONCAT_OPERANDS} strings is not allowed")
            _only_operators(item, where, depth + 1, allowed, concat)
    elif isinstance(value, list):
        if len(value) > MAX_ARRAY_OPERANDS * 10:
            raise ParamError(f"{where}: an array of {len(value)} values; the limit is {MAX_ARRAY_OPERANDS * 10}")
        for item in value:
            _only_operators(item, where, depth + 1, allowed, concat)


def check_regex(pattern: Any, options: Any, where: str = "filter") -> None:
    """A regular expression must be a string RE2 compiles (no backreferences
    or lookarounds), at most :data:`MAX_REGEX_LENGTH` long, with options from
    ``i``, ``m``, ``s``."""
    if not isinstance(pattern, str):
        raise ParamError(f"{where}: $regex takes a string")
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ParamError(f"{where}: $regex is {len(pattern)} characters long; the limit is {MAX_REGEX_LENGTH}")
    if options is not None:
        if not isinstance(options, str) or set(options) - _REGEX_FLAGS:
            raise ParamError(f"{where}: $options may only combine the letters i, m and s")
    try:
        compile_regex(pattern, options or "")
    except re2.error as error:
        detail = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise ParamError(
            f"{where}: $regex {pattern!r} is not supported: {detail} (backreferences and lookarounds are not allowed)"
        ) from None


def compile_regex(pattern: str, options: str = "") -> Any:
    """``pattern`` compiled by RE2 with Mongo's ``i``/``m``/``s`` options."""
    flags = "".join(sorted(set(options) & _REGEX_FLAGS))
    return re2.compile(f"(?{flags}){pattern}" if flags else pattern, _RE2_OPTIONS)


# Updates, documents, sorts, options -----------------------------------------


def is_operator_update(patch: dict[str, Any]) -> bool:
    """Whether ``patch`` is made of update operators (or is a replacement).
    A mix of operators and plain fields is an error naming both."""
    operators = [key for key in patch if key.startswith("$")]
    if operators and len(operators) != len(patch):
        field = next(key for key in patch if not key.startswith("$"))
        raise ParamError(
            f"patch mixes update operators ({operators[0]}) and plain fields ({field}); "
            "use either operators or a whole replacement document"
        )
    return bool(operators)


def check_update(update: dict[str, Any], where: str = "patch") -> dict[str, Any]:
    """Validate an update document made of operators."""
    for operator, fields in update.items():
        if operator not in UPDATE_OPERATORS:
            _refuse(operator, where, UPDATE_OPERATORS)
        if not isinstance(fields, dict) or not fields:
            raise ParamError(f"{where}: {operator} takes a non-empty object of fields")
        for path, value in fields.items():
            check_path(path, where, positional=True)
            if operator == "$rename":
                if not isinstance(value, str):
                    raise ParamError(f"{where}: $rename of {path} takes the new field name as a string")
                check_path(value, where)
            elif operator in ("$push", "$addToSet") and isinstance(value, dict) and "$each" in value:
                for modifier, operand in value.items():
                    if modifier not in PUSH_MODIFIERS:
                        _refuse(modifier, where, PUSH_MODIFIERS)
                    if modifier != "$each":
                        _operand(operand, where, 2)
                _document_values(value["$each"], where, 1)
            elif operator == "$pull" and isinstance(value, dict):
                if any(k.startswith("$") for k in value):
                    _condition(value, where, 1)
                else:
                    _query(value, where, 1)
            elif operator == "$currentDate":
                if value is not True and value not in ({"$type": "date"}, {"$type": "timestamp"}):
                    raise ParamError(f"{where}: $currentDate of {path} takes true or {{$type: 'date'}}")
            else:
                _document_values(value, where, 1)
    _check_size(update, where)
    return update


def check_document(document: Any, where: str = "document") -> dict[str, Any]:
    """Validate a document to insert or a replacement: no operator and no
    dotted or ``$`` field name at any level."""
    if not isinstance(document, dict):
        raise ParamError(f"{where} must be an object")
    _document_values(document, where, 0)
    _check_size(document, where)
    return document


def _document_values(value: Any, where: str, depth: int) -> None:
    _check_depth(depth, where)
    if isinstance(value, dict):
        for key, item in value.items():
            check_field_name(key, where)
            if "." in key:
                raise ParamError(f"{where}: field name {key!r} cannot contain '.'")
            if not key:
                raise ParamError(f"{where}: a field name cannot be empty")
            _document_values(item, where, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _document_values(item, where, depth + 1)


def check_field_name(key: str, where: str) -> None:
    """A field name may not start with ``$``: that is an operator where a
    field is expected (refused by name when it is a denied one)."""
    if key.startswith("$"):
        if key in DENIED:
            _refuse(key, where, ())
        raise ParamError(f"{where}: field name {key!r} cannot start with '$'")


def check_path(path: str, where: str, positional: bool = False) -> None:
    """A dotted field path; with ``positional``, ``$``, ``$[]`` and ``$[name]``
    segments are allowed (as in update operators)."""
    if not path or any(not segment for segment in path.split(".")):
        raise ParamError(f"{where}: {path!r} is not a field path")
    for segment in path.split("."):
        if segment.isdigit() and int(segment) > MAX_ARRAY_INDEX:
            raise ParamError(
                f"{where}: field path {path!r} names array index {segment}; the limit is {MAX_ARRAY_INDEX}"
            )
        if segment.startswith("$"):
            is_positional = segment in ("$", "$[]") or (segment.startswith("$[") and segment.endswith("]"))
            if not (positional and is_positional):
                if segment in DENIED:
                    _refuse(segment, where, ())
                raise ParamError(f"{where}: field path {path!r} cannot have a segment starting with '$'")


def check_sort(sort: Any, where: str = "sortBy") -> list[tuple[str, int]] | None:
    """A sort order ``{field: 1 | -1}`` as the list pymongo takes."""
    if sort is None:
        return None
    if not isinstance(sort, dict):
        raise ParamError(f"{where} must be an object like {{createdAt: -1}}")
    order: list[tuple[str, int]] = []
    for path, direction in sort.items():
        check_path(path, where)
        if isinstance(direction, bool) or direction not in (1, -1):
            raise ParamError(f"{where}: {path} must be 1 (ascending) or -1 (descending)")
        order.append((path, int(direction)))
    return order


def check_options(options: Any, allowed: dict[str, tuple[type, ...]], where: str = "option") -> dict[str, Any]:
    """Options from a script: only the names in ``allowed``, each of its types."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ParamError(f"{where} must be an object")
    for name, value in options.items():
        if name not in allowed:
            if name in DENIED:
                _refuse(name, where, ())
            close = difflib.get_close_matches(name, list(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(sorted(allowed))}"
            raise ParamError(f"{where}: unknown option '{name}'{hint}")
        if not isinstance(value, allowed[name]) or (isinstance(value, bool) and bool not in allowed[name]):
            names = " or ".join(t.__name__.replace("dict", "object").replace("str", "string") for t in allowed[name])
            raise ParamError(f"{where}: '{name}' must be {names}")
    return options


def check_projection(projection: Any, where: str = "projection") -> dict[str, Any] | None:
    """``{field: 1}`` or ``{field: 0}`` (no projection operators)."""
    if projection is None:
        return None
    if not isinstance(projection, dict):
        raise ParamError(f"{where} must be an object like {{name: 1}}")
    for path, flag in projection.items():
        check_path(path, where)
        if flag not in (0, 1, True, False):
            raise ParamError(f"{where}: {path} must be 1 (include) or 0 (exclude)")
    return {path: int(flag) for path, flag in projection.items()}
