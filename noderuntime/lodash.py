"""``this.lodash``: a lodash-like helper for bot scripts, over ``pydash``.

Scripts are hostile, so this facade is strict where lodash is forgiving:

* **Plain data only.** Every object or collection argument must be plain data
  (dict, list, tuple, str, int, float, bool, None; dates and times as
  opaque leaves) as far as the function walks it. A module, a function where
  data is expected, a class instance or a helper object (``this``, moment...)
  raises ``ParamError``. Walks are bounded: at most ``MAX_DEPTH`` levels and
  ``MAX_ITEMS`` visited items, and cyclic data is refused.
* **Our own paths.** ``get``/``set``/``has``/``unset``/``pick``/``omit`` and
  every property shorthand (``"a[0].b"``, ``{"k": v}``, ``["path", value]``)
  are resolved here, by item access on dicts, lists and strings only; never by
  ``getattr``. A path segment starting with ``_`` is refused (``AccessDenied``).
  pydash's own path and iteratee machinery (which falls back to ``getattr`` and
  iterates ``__dict__`` of arbitrary objects) is never handed script input.
* **Bounded results.** ``range``, ``times``, ``repeat``, ``pad*``, ``chunk``,
  ``fill``, ``zip`` and the flattening/concatenating functions refuse results
  over ``MAX_ITEMS`` items or characters (``RangeError``).
* **Callbacks** may be script functions (called with only as many of lodash's
  ``(value, index|key, collection)`` arguments as they accept) or lodash
  shorthands. An error raised by a callback reaches the script unchanged.
* **Nothing evaluates code.** ``template``, ``invoke``, ``method``, ``bind``,
  ``mixin``, ``runInContext``, ``attempt``, regex-pattern arguments and the like
  are absent.

pydash supplies the word splitting behind the case conversions (``camelCase``,
``kebabCase``...) and ``escape``/``unescape``/``deburr``; the collection, object
and path functions are written here, with lodash semantics (SameValueZero
equality, JS truthiness, ``null`` sorted last), because pydash's versions use
Python equality, attribute fallbacks or unbounded intermediate results.

JS ``null`` and ``undefined`` are both ``None`` here: a key holding ``None``
exists (``get`` returns ``None``, not the default; ``defaults`` keeps it) and
``merge`` copies ``None`` values like lodash copies ``null``.
"""

from __future__ import annotations

import datetime
import functools
import inspect
import math
from collections.abc import Callable, Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cmp_to_key
from typing import Any, ClassVar

import pydash

from sandbox.errors import ScriptError
from sandbox.guards import Exposed, JSObject, Namespace, describe, is_private_name

#: Largest result (items or characters) and largest walk any function accepts.
MAX_ITEMS = 1_000_000
#: Deepest nesting any function walks.
MAX_DEPTH = 100
#: ``toInteger`` of an infinite value, as lodash returns it.
_MAX_INTEGER = 1.7976931348623157e308
_MAX_SAFE_INTEGER = 2**53 - 1
_MAX_PRECISION = 292

_LEAF_TYPES = (str, int, float, bool, datetime.date, datetime.time, datetime.timedelta)
_KEY_TYPES = (str, int, float, bool)
_PLAIN = "plain data (object, array, string, number, boolean or None)"

Path = list[str | int]


class _Missing:
    """Sentinel: "no such key" (JS ``undefined`` as opposed to ``null``)."""

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


class _CallbackError(BaseException):
    """Carries an error raised by a script callback through our own code, so
    the method wrapper re-raises it unchanged instead of as a ``ParamError``."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error


# --------------------------------------------------------------------- errors


def _error(kind: str, fn: str, message: str) -> ScriptError:
    return ScriptError(kind, f"lodash.{fn}: {message}")


def _not_plain(fn: str, what: str, value: Any) -> ScriptError:
    return _error("ParamError", fn, f"{what} must be {_PLAIN}, not {describe(value)}")


def _too_large(fn: str, what: str = "result") -> ScriptError:
    return _error("RangeError", fn, f"{what} is over the limit of {MAX_ITEMS:,} items")


# ----------------------------------------------------------------- plain data


def _is_leaf(value: Any) -> bool:
    return value is None or isinstance(value, _LEAF_TYPES)


def _is_container(value: Any) -> bool:
    return isinstance(value, (dict, list, tuple)) and not isinstance(value, Namespace)


def _check_shallow(value: Any, fn: str, what: str) -> None:
    """The value itself is plain data (its contents are not looked at)."""
    if not (_is_leaf(value) or _is_container(value)):
        raise _not_plain(fn, what, value)


def _check_deep(value: Any, fn: str, what: str) -> None:
    """The value is plain data all the way down: no foreign objects, no cycles,
    at most ``MAX_DEPTH`` levels and ``MAX_ITEMS`` items counted with shared
    sub-objects expanded (so a later deep walk is bounded too)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def walk(item: Any, depth: int) -> int:
        if _is_leaf(item):
            return 1
        if not _is_container(item):
            raise _not_plain(fn, what, item)
        key = id(item)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in on_path:
            raise _error("ParamError", fn, f"{what} contains itself (cyclic data is not plain data)")
        if depth >= MAX_DEPTH:
            raise _error("RangeError", fn, f"{what} is nested more than {MAX_DEPTH} levels deep")
        on_path.add(key)
        total = 1
        if isinstance(item, dict):
            for name, child in item.items():
                if not (name is None or isinstance(name, _KEY_TYPES)):
                    raise _error("ParamError", fn, f"{what} has a key of type {describe(name)}; keys must be strings")
                total += walk(child, depth + 1)
                if total > MAX_ITEMS:
                    raise _too_large(fn, what)
        else:
            for child in item:
                total += walk(child, depth + 1)
                if total > MAX_ITEMS:
                    raise _too_large(fn, what)
        on_path.discard(key)
        sizes[key] = total
        return total

    walk(value, 0)


def _object_key(obj: Any, key: Any) -> Any:
    """The key a property of ``obj`` has in an object lodash builds: an
    object's own key, or an array index as text."""
    return key if isinstance(obj, dict) else str(key)


def _entries(value: Any, fn: str, what: str = "collection") -> list[tuple[Any, Any]]:
    """The ``(key, value)`` pairs lodash iterates: list indexes, dict keys,
    string characters; nothing for None and scalars."""
    _check_shallow(value, fn, what)
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, (list, tuple, str)):
        return list(enumerate(value))
    return []


def _array(value: Any, fn: str, what: str = "array") -> list[Any]:
    """A list argument (a tuple is read as a list, None as an empty one)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    _check_shallow(value, fn, what)
    raise _error("ParamError", fn, f"{what} must be an array (list), not {describe(value)}")


def _mutable(value: Any, fn: str, what: str = "object") -> dict[Any, Any] | list[Any]:
    """A dict or list the function may modify in place."""
    if isinstance(value, Namespace):
        raise _error("AccessDenied", fn, "this cannot be modified; set a field of this.member instead")
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, tuple):
        raise _error("ParamError", fn, f"{what} is a tuple, which cannot be modified; use a list")
    _check_shallow(value, fn, what)
    raise _error("ParamError", fn, f"{what} must be an object or an array, not {describe(value)}")


def _new_dict(like: Any) -> dict[Any, Any]:
    """A new object, a JSObject when ``like`` is one (context data stays JS-like)."""
    return JSObject() if isinstance(like, JSObject) else {}


def _shallow_copy(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> dict[Any, Any] | list[Any]:
    if isinstance(value, dict):
        copy = _new_dict(value)
        copy.update(value)
        return copy
    return list(value)


def _clone_deep(value: Any, memo: dict[int, Any]) -> Any:
    """Deep copy of validated plain data; shared sub-objects stay shared."""
    if not isinstance(value, (dict, list, tuple)):
        return value
    found = memo.get(id(value))
    if found is not None:
        return found
    if isinstance(value, dict):
        copy: Any = _new_dict(value)
        memo[id(value)] = copy
        for key, item in value.items():
            copy[key] = _clone_deep(item, memo)
        return copy
    copy = []
    memo[id(value)] = copy
    copy.extend(_clone_deep(item, memo) for item in value)
    return copy


# ----------------------------------------------------------- JS-like values


def _js_truthy(value: Any) -> bool:
    """JS truthiness: ``[]`` and ``{}`` are true, ``0``, ``""``, NaN and None false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value == value and value != 0
    if isinstance(value, str):
        return value != ""
    return True


def _svz_key(value: Any) -> tuple[Any, ...]:
    """A hashable key equal for SameValueZero-equal values (lodash ``eq``):
    numbers by value (1 == 1.0, NaN == NaN, but not True), strings by value,
    objects and arrays by identity."""
    if value is None:
        return ("nil",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        if value != value:
            return ("nan",)
        return ("num", value)
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return ("value", value)
    return ("ref", id(value))


def _same_value_zero(left: Any, right: Any) -> bool:
    return _svz_key(left) == _svz_key(right)


def _deep_equal(left: Any, right: Any) -> bool:
    """lodash ``isEqual`` on validated plain data."""
    if left is right:
        return True
    if isinstance(left, dict) and isinstance(right, dict):
        if len(left) != len(right):
            return False
        for key, value in left.items():
            if key not in right or not _deep_equal(value, right[key]):
                return False
        return True
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(_deep_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, (dict, list, tuple)) or isinstance(right, (dict, list, tuple)):
        return False
    return _same_value_zero(left, right)


def _is_match(value: Any, source: Any) -> bool:
    """lodash ``isMatch``: a partial deep comparison. Only ``isinstance`` checks
    and item reads on dicts and lists; ``source`` is validated plain data."""
    if isinstance(source, dict):
        if not source:
            return True
        if not isinstance(value, dict) or isinstance(value, Namespace):
            return False
        for key, expected in source.items():
            if key not in value or not _is_match(value[key], expected):
                return False
        return True
    if isinstance(source, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) < len(source):
            return False
        return all(any(_is_match(item, expected) for item in value) for expected in source)
    return _same_value_zero(value, source)


def _js_number(value: int | float) -> str:
    """A number as JS ``String(n)`` writes it (``1.0`` is ``"1"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = int(exponent)
        text = f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
    return text


def _leaf_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _js_number(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)  # timedelta


def _text(value: Any, fn: str, what: str = "string") -> str:
    """lodash ``toString``: None is ``""``, arrays join with ``","``, objects are
    ``"[object Object]"``. Bounded to ``MAX_ITEMS`` characters for arrays."""
    if isinstance(value, str):
        return value
    if _is_leaf(value):
        return _leaf_text(value)
    _check_deep(value, fn, what)
    room = [MAX_ITEMS]

    def render(item: Any) -> str:
        if isinstance(item, (list, tuple)):
            room[0] -= max(len(item) - 1, 0)
            text = ",".join([render(child) for child in item])
        else:
            text = "[object Object]" if isinstance(item, dict) else _leaf_text(item)
            room[0] -= len(text)
        if room[0] < 0:
            raise _error("RangeError", fn, f"{what} is over the limit of {MAX_ITEMS:,} characters")
        return text

    return render(value)


def _to_key(value: Any, fn: str) -> str:
    """An object key made from a value, as JS does (``None`` is ``"null"``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if not (_is_leaf(value) or _is_container(value)):
        raise _not_plain(fn, "a key", value)
    return _text(value, fn, "key")


def _integer(value: Any, fn: str, what: str, default: int) -> int:
    """lodash ``toInteger`` for a numeric argument (None means the default)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error("ParamError", fn, f"{what} must be a number, not {describe(value)}")
    if isinstance(value, float):
        if math.isnan(value):
            return 0
        if math.isinf(value):
            return _MAX_SAFE_INTEGER if value > 0 else -_MAX_SAFE_INTEGER
        return int(value)
    return value


def _number(value: Any, fn: str, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error("ParamError", fn, f"{what} must be a number, not {describe(value)}")
    return value


def _check_size(size: int, fn: str, what: str = "result") -> None:
    if size > MAX_ITEMS:
        raise _too_large(fn, what)


# ---------------------------------------------------------------------- paths


def _parse_path(path: str) -> list[str]:
    """lodash ``stringToPath``: ``'a[0].b["c.d"]'`` is ``['a', '0', 'b', 'c.d']``.

    A linear scanner (no regex backtracking on hostile input)."""
    segments: list[str] = []
    length = len(path)
    if path.startswith("."):
        segments.append("")
    index = 0
    while index < length:
        char = path[index]
        if char == "[":
            if index + 1 < length and path[index + 1] in "\"'":
                quote = path[index + 1]
                end = index + 2
                while end < length and path[end] != quote:
                    end += 2 if path[end] == "\\" else 1
                if end + 1 < length and path[end] == quote and path[end + 1] == "]":
                    raw = path[index + 2 : end]
                    segments.append(_unescape_path(raw))
                    index = end + 2
                    continue
            else:
                close = path.find("]", index + 1)
                inner = path[index + 1 : close] if close != -1 else ""
                if close != -1 and inner and _is_number_text(inner):
                    segments.append(inner)
                    index = close + 1
                    continue
                if close == index + 1 and _empty_segment_follows(path, index + 2):
                    segments.append("")
            index += 1
        elif char == ".":
            if _empty_segment_follows(path, index + 1):
                segments.append("")
            index += 1
        elif char == "]":
            index += 1
        else:
            end = index
            while end < length and path[end] not in ".[]":
                end += 1
            segments.append(path[index:end])
            index = end
    return segments


def _empty_segment_follows(path: str, index: int) -> bool:
    rest = path[index:]
    return rest == "" or rest.startswith(".") or rest.startswith("[]")


def _is_number_text(text: str) -> bool:
    body = text[1:] if text.startswith("-") else text
    whole, _, fraction = body.partition(".")
    return whole.isascii() and whole.isdigit() and (fraction == "" or (fraction.isascii() and fraction.isdigit()))


def _unescape_path(raw: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(raw):
        if raw[index] == "\\" and index + 1 < len(raw):
            out.append(raw[index + 1])
            index += 2
        else:
            out.append(raw[index])
            index += 1
    return "".join(out)


def _path(path: Any, fn: str, obj: Any = _MISSING) -> Path:
    """A property path as a list of keys; refuses ``_``-prefixed segments.

    A string that is itself a key of ``obj`` is one segment (lodash ``isKey``)."""
    if isinstance(path, bool) or not isinstance(path, (str, int, list, tuple)):
        raise _error("ParamError", fn, f"a path must be a string, an integer or a list of keys, not {describe(path)}")
    segments: Path
    if isinstance(path, int):
        segments = [path]
    elif isinstance(path, str):
        simple = "." not in path and "[" not in path
        if simple or (isinstance(obj, dict) and path in obj):
            segments = [path]
        else:
            segments = list(_parse_path(path))
    else:
        segments = []
        for segment in path:
            if isinstance(segment, bool) or not isinstance(segment, (str, int)):
                raise _error("ParamError", fn, f"a path key must be a string or an integer, not {describe(segment)}")
            segments.append(segment)
    for segment in segments:
        if isinstance(segment, str) and is_private_name(segment):
            raise _error("AccessDenied", fn, f'path segment "{segment}" is not accessible (names starting with "_")')
    return segments


def _index(key: str | int) -> int | None:
    """An array index from a path key: a non-negative int or its canonical text."""
    if isinstance(key, int):
        return key if key >= 0 else None
    if key.isascii() and key.isdigit() and len(key) <= 15 and (key == "0" or not key.startswith("0")):
        return int(key)
    return None


def _alt_key(key: str | int) -> str | int | None:
    """The other spelling of a numeric key: ``"3"`` for ``3`` and back."""
    if isinstance(key, int):
        return str(key)
    body = key[1:] if key.startswith("-") else key
    if body.isascii() and body.isdigit() and len(body) <= 15 and str(int(key)) == key:
        return int(key)
    return None


def _dict_key(container: dict[Any, Any], key: str | int) -> Any:
    """The key under which ``container`` holds ``key`` (or its numeric twin)."""
    if key in container:
        return key
    alt = _alt_key(key)
    if alt is not None and alt in container:
        return alt
    return _MISSING


def _step(container: Any, key: str | int, fn: str) -> Any:
    """One path step by item access on plain data; ``_MISSING`` if absent."""
    if isinstance(container, dict) and not isinstance(container, Namespace):
        found = _dict_key(container, key)
        return _MISSING if found is _MISSING else container[found]
    if isinstance(container, (list, tuple, str)):
        if key == "length":
            return len(container)
        index = _index(key)
        if index is not None and index < len(container):
            return container[index]
        return _MISSING
    if _is_leaf(container):
        return _MISSING
    raise _not_plain(fn, "a value on the path", container)


def _get(obj: Any, path: Path, fn: str) -> Any:
    if not path:
        return _MISSING
    current = obj
    for key in path:
        current = _step(current, key, fn)
        if current is _MISSING:
            return _MISSING
    return current


def _assign(container: dict[Any, Any] | list[Any], key: str | int, value: Any, fn: str) -> None:
    """``container[key] = value``; new object keys are strings, arrays grow."""
    if isinstance(container, dict):
        found = _dict_key(container, key)
        container[str(key) if found is _MISSING else found] = value
        return
    index = _index(key)
    if index is None:
        raise _error("ParamError", fn, f'cannot set key "{key}" on an array')
    if index >= MAX_ITEMS:
        raise _too_large(fn, "array")
    if index < len(container):
        container[index] = value
    else:
        container.extend([None] * (index - len(container)))
        container.append(value)


def _set_path(root: dict[Any, Any] | list[Any], path: Path, value: Any, fn: str) -> None:
    """lodash ``baseSet``: missing or scalar intermediates become objects (or
    arrays when the next key is an index)."""
    if not path:
        return
    current: Any = root
    for position, key in enumerate(path[:-1]):
        child = _step(current, key, fn)
        if isinstance(child, Namespace):
            raise _error("AccessDenied", fn, "this cannot be modified; set a field of this.member instead")
        if isinstance(child, tuple):
            raise _error("ParamError", fn, f'"{key}" is a tuple, which cannot be modified; use a list')
        if child is not _MISSING and not (_is_leaf(child) or _is_container(child)):
            raise _not_plain(fn, "a value on the path", child)
        if not isinstance(child, (dict, list)):
            child = [] if _index(path[position + 1]) is not None else _new_dict(root)
            _assign(current, key, child, fn)
        current = child
    _assign(current, path[-1], value, fn)


def _delete(container: Any, key: str | int, fn: str) -> None:
    """``delete container[key]``; an array keeps its length (the slot becomes
    None, like the hole JS leaves)."""
    if isinstance(container, dict):
        found = _dict_key(container, key)
        if found is not _MISSING:
            del container[found]
    elif isinstance(container, list):
        index = _index(key)
        if index is not None and index < len(container):
            container[index] = None
    elif isinstance(container, tuple):
        raise _error("ParamError", fn, "a tuple cannot be modified; use a list")


def _path_args(paths: Iterable[Any]) -> list[Any]:
    """lodash ``pick``/``omit`` path arguments: strings, or lists of them."""
    flat: list[Any] = []
    for item in paths:
        if isinstance(item, (list, tuple)):
            flat.extend(item)
        else:
            flat.append(item)
    return flat


# ------------------------------------------------------------------ callbacks


def _identity(value: Any = None, *_: Any) -> Any:
    return value


def _arity(func: Callable[..., Any]) -> int | None:
    """How many positional arguments ``func`` accepts (None: any number)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return 1  # builtins and classes without a signature: one argument
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def _script_function(func: Callable[..., Any]) -> Callable[..., Any]:
    """Call a script's function with as many arguments as it accepts, letting
    its own errors through unchanged."""
    arity = _arity(func)

    def call(*args: Any) -> Any:
        try:
            return func(*args) if arity is None else func(*args[:arity])
        except Exception as exc:  # noqa: BLE001 - any error of the script's own, re-raised as is by _api
            raise _CallbackError(exc) from None

    return call


def _check_match_source(source: Any, fn: str) -> None:
    _check_deep(source, fn, "the object to match")
    pending = [source]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(key, str) and is_private_name(key):
                    raise _error("AccessDenied", fn, f'key "{key}" is not accessible (names starting with "_")')
                pending.append(value)
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


def _iteratee(spec: Any, fn: str) -> Callable[..., Any]:
    """A lodash iteratee: a function, a property path, ``[path, value]``
    (matchesProperty) or an object (matches); None is identity."""
    if spec is None:
        return _identity
    if callable(spec):
        return _script_function(spec)
    if isinstance(spec, (str, int)) and not isinstance(spec, bool):
        path = _path(spec, fn)
        return lambda value, *_: _none_if_missing(_get(value, path, fn))
    if isinstance(spec, (list, tuple)):
        if len(spec) != 2:
            raise _error("ParamError", fn, "a [path, value] shorthand needs exactly two items")
        path = _path(spec[0], fn)
        expected = spec[1]
        _check_match_source(expected, fn)
        return lambda value, *_: _is_match(_none_if_missing(_get(value, path, fn)), expected)
    if isinstance(spec, dict) and not isinstance(spec, Namespace):
        _check_match_source(spec, fn)
        return lambda value, *_: _is_match(value, spec)
    _check_shallow(spec, fn, "iteratee")
    raise _error(
        "ParamError",
        fn,
        f"iteratee must be a function, a property path, a [path, value] pair or an object, not {describe(spec)}",
    )


def _sort_criterion(spec: Any, fn: str) -> Callable[[Any], Any]:
    """An ``orderBy``/``sortBy`` criterion: like an iteratee, but a list is a
    property path (as in lodash) and functions get the value only."""
    if isinstance(spec, (list, tuple)):
        path = _path(list(spec), fn)
        return lambda value: _none_if_missing(_get(value, path, fn))
    if callable(spec):
        call = _script_function(spec)
        return lambda value: call(value)
    return _iteratee(spec, fn)


def _none_if_missing(value: Any) -> Any:
    return None if value is _MISSING else value


def _callable(func: Any, fn: str, what: str = "iteratee") -> Callable[..., Any]:
    if not callable(func):
        raise _error("ParamError", fn, f"{what} must be a function, not {describe(func)}")
    return _script_function(func)


# -------------------------------------------------------------------- sorting


def _sort_rank(value: Any) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 4  # lodash sorts null, undefined and NaN last
    if isinstance(value, (int, float)):
        return 0
    if isinstance(value, str):
        return 1
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta)):
        return 2
    return 3  # objects and arrays compare equal, keeping their order


def _compare(left: Any, right: Any) -> int:
    rank_left, rank_right = _sort_rank(left), _sort_rank(right)
    if rank_left != rank_right:
        return -1 if rank_left < rank_right else 1
    if rank_left > 2:
        return 0
    try:
        return (left > right) - (left < right)
    except TypeError:  # e.g. naive and aware datetimes
        return 0


def _order(items: list[Any], criteria: list[Callable[[Any], Any]], descending: list[bool]) -> list[Any]:
    """A stable multi-criteria sort with lodash's ``compareAscending``."""
    keyed = [([criterion(item) for criterion in criteria], position, item) for position, item in enumerate(items)]

    def compare(left: tuple[list[Any], int, Any], right: tuple[list[Any], int, Any]) -> int:
        for column, (a, b) in enumerate(zip(left[0], right[0], strict=True)):
            result = _compare(a, b)
            if result:
                return -result if descending[column] else result
        return left[1] - right[1]

    keyed.sort(key=cmp_to_key(compare))
    return [item for _, _, item in keyed]


def _extreme(fn: str, values: list[Any], criteria: list[Any], sign: int) -> Any:
    """lodash ``baseExtremum``: the first value whose criterion is the largest
    (``sign`` 1) or smallest (-1), skipping None and NaN."""
    best: Any = None
    best_key: Any = _MISSING
    for value, key in zip(values, criteria, strict=True):
        if _sort_rank(key) == 4:
            continue
        if best_key is _MISSING or _compare(key, best_key) * sign > 0:
            best, best_key = value, key
    return best


def _numbers(fn: str, values: Iterable[Any]) -> list[int | float]:
    out: list[int | float] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _error("ParamError", fn, f"expects numbers, got {describe(value)}")
        out.append(value)
    return out


def _decimal_round(fn: str, number: Any, precision: Any, rounding: str) -> int | float:
    """lodash ``round``/``floor``/``ceil`` with a precision, via decimal text so
    ``round(1.005, 2)`` is ``1.01`` as in lodash."""
    value = _number(number, fn, "number")
    places = max(-_MAX_PRECISION, min(_integer(precision, fn, "precision", 0), _MAX_PRECISION))
    if isinstance(value, float) and not math.isfinite(value):
        return value
    if isinstance(value, int) and places >= 0:
        return value
    shifted = Decimal(repr(value) if isinstance(value, float) else value).scaleb(places)
    if rounding == "round":
        shifted = (shifted + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)
    else:
        shifted = shifted.to_integral_value(rounding=ROUND_FLOOR if rounding == "floor" else ROUND_CEILING)
    result = shifted.scaleb(-places)
    return int(result) if places <= 0 else float(result)


# -------------------------------------------------------------- method wrapper


def _api(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a lodash method: script callback errors pass through unchanged,
    ScriptErrors as they are, anything else becomes a ``ParamError``."""
    name = func.__name__

    @functools.wraps(func)
    def method(self: Lodash, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(self, *args, **kwargs)
        except _CallbackError as failure:
            error = failure.error
            raise error from error.__cause__
        except ScriptError:
            raise
        except RecursionError:
            raise _error("RangeError", name, "data nested too deeply") from None
        except (TypeError, ValueError, LookupError, ArithmeticError, RuntimeError) as exc:
            raise _error("ParamError", name, str(exc)) from None

    return method


# ----------------------------------------------------------------- the helper


def _filter_properties(obj: Any, predicate: Any, fn: str, *, keep: bool) -> dict[Any, Any]:
    """pickBy (``keep``) and omitBy (not ``keep``): properties by predicate."""
    test = _iteratee(predicate, fn)
    result = _new_dict(obj)
    for key, value in _entries(obj, fn, "object"):
        if _js_truthy(test(value, key)) is keep:
            result[_object_key(obj, key)] = value
    return result


class Lodash(Exposed):
    """``this.lodash``: lodash's data helpers with lodash names and semantics.

    Every method is listed in ``exposed``; nothing else is reachable from a
    script. Methods take lodash's positional arguments (options as a dict).
    """

    script_name: ClassVar[str] = "lodash"
    exposed: ClassVar[frozenset[str]] = frozenset(
        {
            # objects and paths
            "get", "set", "has", "unset", "update", "pick", "pickBy", "omit", "omitBy", "merge", "assign",
            "defaults", "defaultsDeep", "keys", "values", "entries", "toPairs", "fromPairs", "invert",
            "mapValues", "mapKeys", "findKey", "clone", "cloneDeep", "zipObject",
            # collections
            "map", "filter", "reject", "find", "findLast", "findIndex", "findLastIndex", "reduce", "some",
            "every", "includes", "forEach", "each", "flatMap", "groupBy", "keyBy", "countBy", "partition",
            "sortBy", "orderBy", "size",
            # arrays
            "uniq", "uniqBy", "uniqWith", "chunk", "compact", "concat", "difference", "intersection", "union",
            "without", "flatten", "flattenDeep", "flattenDepth", "drop", "dropRight", "take", "takeRight",
            "head", "first", "last", "nth", "initial", "tail", "indexOf", "lastIndexOf", "join", "reverse",
            "fill", "zip", "unzip", "range", "times",
            # math
            "sum", "sumBy", "mean", "meanBy", "max", "maxBy", "min", "minBy", "round", "floor", "ceil",
            "clamp", "inRange",
            # strings
            "camelCase", "kebabCase", "snakeCase", "startCase", "lowerCase", "upperCase", "capitalize",
            "upperFirst", "lowerFirst", "toUpper", "toLower", "trim", "trimStart", "trimEnd", "pad",
            "padStart", "padEnd", "truncate", "startsWith", "endsWith", "repeat", "split", "words", "deburr",
            "escape", "unescape",
            # lang
            "isEmpty", "isEqual", "isMatch", "isArray", "isObject", "isPlainObject", "isString", "isNumber",
            "isInteger", "isBoolean", "isNil", "isNull", "isUndefined", "isFunction", "isNaN", "isFinite",
            "isDate", "castArray", "toString", "toNumber", "toInteger", "identity",
        }
    )  # fmt: skip

    # ------------------------------------------------------ objects and paths

    @_api
    def get(self, obj: Any, path: Any, default: Any = None) -> Any:
        """The value at ``path`` of ``obj``, or ``default`` when it is missing.

        ``get({"a": [{"b": {"c": 3}}]}, "a[0].b.c")`` is ``3``; a key holding
        None exists and gives None."""
        _check_shallow(obj, "get", "object")
        value = _get(obj, _path(path, "get", obj), "get")
        return default if value is _MISSING else value

    @_api
    def set(self, obj: Any, path: Any, value: Any) -> Any:
        """Set the value at ``path``, creating missing objects (arrays for index
        keys) on the way; mutates and returns ``obj``.

        ``set({}, "a[0].b.c", 4)`` is ``{"a": [{"b": {"c": 4}}]}``."""
        if _is_leaf(obj):
            return obj
        _set_path(_mutable(obj, "set"), _path(path, "set", obj), value, "set")
        return obj

    @_api
    def has(self, obj: Any, path: Any) -> bool:
        """Whether ``path`` is a direct path of ``obj`` (``has({"a": {"b": 2}}, "a.b")``)."""
        _check_shallow(obj, "has", "object")
        segments = _path(path, "has", obj)
        return bool(segments) and _get(obj, segments, "has") is not _MISSING

    @_api
    def unset(self, obj: Any, path: Any) -> bool:
        """Remove the property at ``path`` (an array slot becomes None); mutates
        ``obj`` and returns True."""
        if _is_leaf(obj):
            return True
        target = _mutable(obj, "unset")
        segments = _path(path, "unset", obj)
        if not segments:
            return True
        parent = _get(target, segments[:-1], "unset") if len(segments) > 1 else target
        if parent is not _MISSING:
            _delete(parent, segments[-1], "unset")
        return True

    @_api
    def update(self, obj: Any, path: Any, updater: Any) -> Any:
        """Set ``path`` to ``updater(current value)``; mutates and returns ``obj``."""
        call = _callable(updater, "update", "updater")
        if _is_leaf(obj):
            return obj
        target = _mutable(obj, "update")
        segments = _path(path, "update", obj)
        _set_path(target, segments, call(_none_if_missing(_get(target, segments, "update"))), "update")
        return obj

    @_api
    def pick(self, obj: Any, *paths: Any) -> dict[Any, Any]:
        """A new object with only the given paths of ``obj``.

        ``pick({"a": 1, "b": "2", "c": 3}, ["a", "c"])`` is ``{"a": 1, "c": 3}``."""
        result = _new_dict(obj)
        _check_shallow(obj, "pick", "object")
        if _is_leaf(obj):
            return result
        for path in _path_args(paths):
            segments = _path(path, "pick", obj)
            value = _get(obj, segments, "pick")
            if value is not _MISSING:
                _set_path(result, segments, value, "pick")
        return result

    @_api
    def pickBy(self, obj: Any, predicate: Any = None) -> dict[Any, Any]:
        """A new object with the properties for which ``predicate(value, key)`` is truthy."""
        return _filter_properties(obj, predicate, "pickBy", keep=True)

    @_api
    def omit(self, obj: Any, *paths: Any) -> dict[Any, Any]:
        """A copy of ``obj`` without the given paths (``obj`` is not modified).

        ``omit({"a": 1, "b": "2", "c": 3}, ["a", "c"])`` is ``{"b": "2"}``."""
        if obj is None:
            return {}
        if not isinstance(obj, dict) or isinstance(obj, Namespace):
            _check_shallow(obj, "omit", "object")
            raise _error("ParamError", "omit", f"object must be an object, not {describe(obj)}")
        result = _shallow_copy(obj)
        copies = {id(result)}
        for path in _path_args(paths):
            segments = _path(path, "omit", obj)
            if not segments:
                continue
            current: Any = result
            for key in segments[:-1]:
                child = _step(current, key, "omit")
                if not _is_container(child):
                    if child is not _MISSING and not _is_leaf(child):
                        raise _not_plain("omit", "a value on the path", child)
                    current = _MISSING
                    break
                if id(child) not in copies:
                    child = _shallow_copy(child)
                    copies.add(id(child))
                    _assign(current, key, child, "omit")
                current = child
            if current is not _MISSING:
                _delete(current, segments[-1], "omit")
        return result

    @_api
    def omitBy(self, obj: Any, predicate: Any = None) -> dict[Any, Any]:
        """A new object without the properties for which ``predicate(value, key)`` is truthy."""
        return _filter_properties(obj, predicate, "omitBy", keep=False)

    @_api
    def merge(self, obj: Any, *sources: Any) -> Any:
        """Deep-merge the sources into ``obj`` (objects key by key, arrays index
        by index); mutates and returns ``obj``.

        ``merge({"a": [{"b": 2}, {"d": 4}]}, {"a": [{"c": 3}, {"e": 5}]})`` is
        ``{"a": [{"b": 2, "c": 3}, {"d": 4, "e": 5}]}``."""
        target = _mutable({} if obj is None else obj, "merge")
        for source in sources:
            _check_deep(source, "merge", "source")
            if isinstance(source, (dict, list, tuple)):
                self._merge_into(target, source)
        return target

    @staticmethod
    def _merge_into(target: dict[Any, Any] | list[Any], source: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> None:
        items = list(source.items()) if isinstance(source, dict) else list(enumerate(source))
        for key, incoming in items:
            if isinstance(target, list) and _index(key) is None:
                raise _error("ParamError", "merge", f'cannot merge key "{key}" into an array')
            current = _step(target, key, "merge") if _is_container(target) else _MISSING
            if isinstance(current, Namespace):
                raise _error("AccessDenied", "merge", "this cannot be modified")
            value: Any
            if isinstance(incoming, (list, tuple)):
                value = current if isinstance(current, list) else (list(current) if isinstance(current, tuple) else [])
                Lodash._merge_into(value, incoming)
            elif isinstance(incoming, dict):
                value = current if isinstance(current, dict) else _new_dict(target)
                Lodash._merge_into(value, incoming)
            else:
                value = incoming
            _assign(target, key, value, "merge")

    @_api
    def assign(self, obj: Any, *sources: Any) -> Any:
        """Copy the sources' own properties onto ``obj`` (shallow); mutates and returns it."""
        target = _mutable({} if obj is None else obj, "assign")
        for source in sources:
            for key, value in _entries(source, "assign", "source"):
                _assign(target, key, value, "assign")
        return target

    @_api
    def defaults(self, obj: Any, *sources: Any) -> Any:
        """Set the sources' properties that ``obj`` lacks; mutates and returns ``obj``.

        ``defaults({"a": 1}, {"b": 2}, {"a": 3})`` is ``{"a": 1, "b": 2}``."""
        target = _mutable({} if obj is None else obj, "defaults")
        for source in sources:
            for key, value in _entries(source, "defaults", "source"):
                if _step(target, key, "defaults") is _MISSING:
                    _assign(target, key, value, "defaults")
        return target

    @_api
    def defaultsDeep(self, obj: Any, *sources: Any) -> Any:
        """Like ``defaults``, recursing into nested objects; mutates and returns ``obj``.

        ``defaultsDeep({"a": {"b": 2}}, {"a": {"b": 1, "c": 3}})`` is ``{"a": {"b": 2, "c": 3}}``."""
        target = _mutable({} if obj is None else obj, "defaultsDeep")

        def fill_in(into: dict[Any, Any] | list[Any], source: dict[Any, Any]) -> None:
            for key, value in list(source.items()):
                current = _step(into, key, "defaultsDeep")
                if current is _MISSING:
                    _assign(into, key, _clone_deep(value, {}), "defaultsDeep")
                elif isinstance(current, dict) and isinstance(value, dict) and not isinstance(current, Namespace):
                    fill_in(current, value)

        for source in sources:
            _check_deep(source, "defaultsDeep", "source")
            if isinstance(source, dict):
                fill_in(target, source)
        return target

    @_api
    def keys(self, obj: Any) -> list[Any]:
        """The own keys of an object (indexes as strings for arrays and strings)."""
        if isinstance(obj, dict):
            _check_shallow(obj, "keys", "object")
            return list(obj.keys())
        return [str(key) for key, _ in _entries(obj, "keys", "object")]

    @_api
    def values(self, obj: Any) -> list[Any]:
        """The own values of an object (the items of an array, the characters of a string)."""
        return [value for _, value in _entries(obj, "values", "object")]

    @_api
    def toPairs(self, obj: Any) -> list[list[Any]]:
        """``[key, value]`` pairs: ``toPairs({"a": 1, "b": 2})`` is ``[["a", 1], ["b", 2]]``."""
        pairs = _entries(obj, "toPairs", "object")
        if isinstance(obj, dict):
            return [[key, value] for key, value in pairs]
        return [[str(key), value] for key, value in pairs]

    entries = toPairs

    @_api
    def fromPairs(self, pairs: Any) -> dict[str, Any]:
        """An object from ``[key, value]`` pairs: ``fromPairs([["a", 1], ["b", 2]])`` is ``{"a": 1, "b": 2}``."""
        result: dict[str, Any] = {}
        for pair in _array(pairs, "fromPairs", "pairs"):
            if not isinstance(pair, (list, tuple)) or not pair:
                raise _error(
                    "ParamError", "fromPairs", f"each pair must be a [key, value] array, not {describe(pair)}"
                )
            result[_to_key(pair[0], "fromPairs")] = pair[1] if len(pair) > 1 else None
        return result

    @_api
    def invert(self, obj: Any) -> dict[str, Any]:
        """An object with keys and values swapped: ``invert({"a": 1, "b": 2})`` is ``{"1": "a", "2": "b"}``."""
        result: dict[str, Any] = {}
        for key, value in _entries(obj, "invert", "object"):
            result[_to_key(value, "invert")] = _object_key(obj, key)
        return result

    @_api
    def mapValues(self, obj: Any, iteratee: Any = None) -> dict[Any, Any]:
        """An object with the same keys and values ``iteratee(value, key, obj)``."""
        call = _iteratee(iteratee, "mapValues")
        result = _new_dict(obj)
        for key, value in _entries(obj, "mapValues", "object"):
            result[_object_key(obj, key)] = call(value, key, obj)
        return result

    @_api
    def mapKeys(self, obj: Any, iteratee: Any = None) -> dict[str, Any]:
        """An object with the same values and keys ``iteratee(value, key, obj)``."""
        call = _iteratee(iteratee, "mapKeys")
        result = _new_dict(obj)
        for key, value in _entries(obj, "mapKeys", "object"):
            result[_to_key(call(value, key, obj), "mapKeys")] = value
        return result

    @_api
    def findKey(self, obj: Any, predicate: Any = None) -> Any:
        """The first key whose value passes ``predicate(value, key, obj)``, or None."""
        test = _iteratee(predicate, "findKey")
        for key, value in _entries(obj, "findKey", "object"):
            if _js_truthy(test(value, key, obj)):
                return _object_key(obj, key)
        return None

    @_api
    def clone(self, value: Any) -> Any:
        """A shallow copy (arrays and objects; other values as they are)."""
        _check_shallow(value, "clone", "value")
        return _shallow_copy(value) if _is_container(value) else value

    @_api
    def cloneDeep(self, value: Any) -> Any:
        """A deep copy of plain data."""
        _check_deep(value, "cloneDeep", "value")
        return _clone_deep(value, {})

    @_api
    def zipObject(self, props: Any = None, values: Any = None) -> dict[str, Any]:
        """An object from keys and values: ``zipObject(["a", "b"], [1, 2])`` is ``{"a": 1, "b": 2}``."""
        keys = _array(props, "zipObject", "props")
        items = _array(values, "zipObject", "values")
        return {
            _to_key(key, "zipObject"): items[position] if position < len(items) else None
            for position, key in enumerate(keys)
        }

    # ------------------------------------------------------------ collections

    @_api
    def map(self, collection: Any, iteratee: Any = None) -> list[Any]:
        """``[iteratee(value, index|key, collection) for each item]``.

        ``map([4, 8], lambda n: n * n)`` is ``[16, 64]``; ``map(users, "user")`` plucks."""
        call = _iteratee(iteratee, "map")
        return [call(value, key, collection) for key, value in _entries(collection, "map")]

    @_api
    def filter(self, collection: Any, predicate: Any = None) -> list[Any]:
        """The items for which ``predicate(value, index|key, collection)`` is truthy."""
        test = _iteratee(predicate, "filter")
        return [value for key, value in _entries(collection, "filter") if _js_truthy(test(value, key, collection))]

    @_api
    def reject(self, collection: Any, predicate: Any = None) -> list[Any]:
        """The items for which ``predicate`` is falsy (the opposite of ``filter``)."""
        test = _iteratee(predicate, "reject")
        return [value for key, value in _entries(collection, "reject") if not _js_truthy(test(value, key, collection))]

    @_api
    def find(self, collection: Any, predicate: Any = None, from_index: Any = 0) -> Any:
        """The first item passing ``predicate``, or None."""
        test = _iteratee(predicate, "find")
        items = _entries(collection, "find")
        start = _integer(from_index, "find", "fromIndex", 0)
        start = max(len(items) + start, 0) if start < 0 else start
        for key, value in items[start:]:
            if _js_truthy(test(value, key, collection)):
                return value
        return None

    @_api
    def findLast(self, collection: Any, predicate: Any = None, from_index: Any = None) -> Any:
        """The last item passing ``predicate``, or None."""
        test = _iteratee(predicate, "findLast")
        items = _entries(collection, "findLast")
        end = _integer(from_index, "findLast", "fromIndex", len(items) - 1)
        end = len(items) + end if end < 0 else min(end, len(items) - 1)
        for key, value in reversed(items[: end + 1]):
            if _js_truthy(test(value, key, collection)):
                return value
        return None

    @_api
    def findIndex(self, array: Any, predicate: Any = None, from_index: Any = 0) -> int:
        """The index of the first item passing ``predicate``, or -1."""
        test = _iteratee(predicate, "findIndex")
        items = _array(array, "findIndex")
        start = _integer(from_index, "findIndex", "fromIndex", 0)
        start = max(len(items) + start, 0) if start < 0 else start
        for index in range(start, len(items)):
            if _js_truthy(test(items[index], index, array)):
                return index
        return -1

    @_api
    def findLastIndex(self, array: Any, predicate: Any = None, from_index: Any = None) -> int:
        """The index of the last item passing ``predicate``, or -1."""
        test = _iteratee(predicate, "findLastIndex")
        items = _array(array, "findLastIndex")
        end = _integer(from_index, "findLastIndex", "fromIndex", len(items) - 1)
        end = max(len(items) + end, -1) if end < 0 else min(end, len(items) - 1)
        for index in range(end, -1, -1):
            if _js_truthy(test(items[index], index, array)):
                return index
        return -1

    @_api
    def reduce(self, collection: Any, iteratee: Any = None, accumulator: Any = _MISSING) -> Any:
        """Fold with ``iteratee(accumulator, value, index|key, collection)``; without
        an accumulator the first item starts it.

        ``reduce([1, 2], lambda total, n: total + n, 0)`` is ``3``."""
        call = _iteratee(iteratee, "reduce")
        items = _entries(collection, "reduce")
        if accumulator is _MISSING:
            if not items:
                return None
            accumulator = items[0][1]
            items = items[1:]
        for key, value in items:
            accumulator = call(accumulator, value, key, collection)
        return accumulator

    @_api
    def some(self, collection: Any, predicate: Any = None) -> bool:
        """Whether any item passes ``predicate``."""
        test = _iteratee(predicate, "some")
        return any(_js_truthy(test(value, key, collection)) for key, value in _entries(collection, "some"))

    @_api
    def every(self, collection: Any, predicate: Any = None) -> bool:
        """Whether all items pass ``predicate`` (True when empty)."""
        test = _iteratee(predicate, "every")
        return all(_js_truthy(test(value, key, collection)) for key, value in _entries(collection, "every"))

    @_api
    def includes(self, collection: Any, value: Any, from_index: Any = 0) -> bool:
        """Whether ``value`` is in the array or object values (SameValueZero), or
        is a substring of a string."""
        _check_shallow(collection, "includes", "collection")
        start = _integer(from_index, "includes", "fromIndex", 0)
        if isinstance(collection, str):
            start = max(len(collection) + start, 0) if start < 0 else start
            return isinstance(value, str) and value in collection[start:]
        items = [item for _, item in _entries(collection, "includes")]
        start = max(len(items) + start, 0) if start < 0 else start
        wanted = _svz_key(value)
        return any(_svz_key(item) == wanted for item in items[start:])

    @_api
    def forEach(self, collection: Any, iteratee: Any = None) -> Any:
        """Call ``iteratee(value, index|key, collection)`` for each item; returning
        False stops early. Returns ``collection``."""
        call = _iteratee(iteratee, "forEach")
        for key, value in _entries(collection, "forEach"):
            if call(value, key, collection) is False:
                break
        return collection

    each = forEach

    @_api
    def flatMap(self, collection: Any, iteratee: Any = None) -> list[Any]:
        """``map`` then flatten one level: ``flatMap([1, 2], lambda n: [n, n])`` is ``[1, 1, 2, 2]``."""
        call = _iteratee(iteratee, "flatMap")
        result: list[Any] = []
        for key, value in _entries(collection, "flatMap"):
            mapped = call(value, key, collection)
            if isinstance(mapped, (list, tuple)):
                _check_size(len(result) + len(mapped), "flatMap")
                result.extend(mapped)
            else:
                result.append(mapped)
        return result

    @_api
    def groupBy(self, collection: Any, iteratee: Any = None) -> dict[str, list[Any]]:
        """Items grouped by ``iteratee(value)``: ``groupBy(["one", "two", "three"], "length")``
        is ``{"3": ["one", "two"], "5": ["three"]}``."""
        call = _iteratee(iteratee, "groupBy")
        result: dict[str, list[Any]] = {}
        for _, value in _entries(collection, "groupBy"):
            result.setdefault(_to_key(call(value), "groupBy"), []).append(value)
        return result

    @_api
    def keyBy(self, collection: Any, iteratee: Any = None) -> dict[str, Any]:
        """Items keyed by ``iteratee(value)`` (the last item wins)."""
        call = _iteratee(iteratee, "keyBy")
        return {_to_key(call(value), "keyBy"): value for _, value in _entries(collection, "keyBy")}

    @_api
    def countBy(self, collection: Any, iteratee: Any = None) -> dict[str, int]:
        """How many items give each ``iteratee(value)``: ``countBy([6.1, 4.2, 6.3], int)`` is ``{"6": 2, "4": 1}``."""
        call = _iteratee(iteratee, "countBy")
        result: dict[str, int] = {}
        for _, value in _entries(collection, "countBy"):
            key = _to_key(call(value), "countBy")
            result[key] = result.get(key, 0) + 1
        return result

    @_api
    def partition(self, collection: Any, predicate: Any = None) -> list[list[Any]]:
        """``[items passing predicate, the others]``."""
        test = _iteratee(predicate, "partition")
        passed: list[Any] = []
        failed: list[Any] = []
        for _, value in _entries(collection, "partition"):
            (passed if _js_truthy(test(value)) else failed).append(value)
        return [passed, failed]

    @_api
    def sortBy(self, collection: Any, *iteratees: Any) -> list[Any]:
        """A stable ascending sort by each iteratee in turn (None, NaN last).

        ``sortBy(users, ["user", "age"])`` or ``sortBy(users, lambda u: u["age"])``."""
        specs = _path_args(iteratees) or [None]
        criteria = [_sort_criterion(spec, "sortBy") for spec in specs]
        items = [value for _, value in _entries(collection, "sortBy")]
        return _order(items, criteria, [False] * len(criteria))

    @_api
    def orderBy(self, collection: Any, iteratees: Any = None, orders: Any = None) -> list[Any]:
        """Like ``sortBy`` with a direction per iteratee ("asc" or "desc").

        ``orderBy(users, ["user", "age"], ["asc", "desc"])``."""
        specs = list(iteratees) if isinstance(iteratees, (list, tuple)) else [iteratees]
        specs = specs or [None]
        criteria = [_sort_criterion(spec, "orderBy") for spec in specs]
        given = list(orders) if isinstance(orders, (list, tuple)) else ([] if orders is None else [orders])
        descending: list[bool] = []
        for column in range(len(criteria)):
            direction = given[column] if column < len(given) else "asc"
            if direction not in ("asc", "desc"):
                shown = f'"{direction[:20]}"' if isinstance(direction, str) else describe(direction)
                raise _error("ParamError", "orderBy", f'orders must be "asc" or "desc", not {shown}')
            descending.append(direction == "desc")
        items = [value for _, value in _entries(collection, "orderBy")]
        return _order(items, criteria, descending)

    @_api
    def size(self, collection: Any) -> int:
        """The length of an array or string, or the number of keys of an object."""
        _check_shallow(collection, "size", "collection")
        return len(collection) if isinstance(collection, (str, list, tuple, dict)) else 0

    # ----------------------------------------------------------------- arrays

    @_api
    def uniq(self, array: Any) -> list[Any]:
        """The array without repeats (SameValueZero: ``uniq([2, 1, 2])`` is ``[2, 1]``)."""
        seen: set[tuple[Any, ...]] = set()
        result = []
        for value in _array(array, "uniq"):
            key = _svz_key(value)
            if key not in seen:
                seen.add(key)
                result.append(value)
        return result

    @_api
    def uniqBy(self, array: Any, iteratee: Any = None) -> list[Any]:
        """The array without items whose ``iteratee(value)`` repeats an earlier one."""
        call = _iteratee(iteratee, "uniqBy")
        items = _array(array, "uniqBy")
        computed = [call(value) for value in items]  # kept alive: identity keys stay unique
        seen: set[tuple[Any, ...]] = set()
        result = []
        for value, criterion in zip(items, computed, strict=True):
            key = _svz_key(criterion)
            if key not in seen:
                seen.add(key)
                result.append(value)
        return result

    @_api
    def uniqWith(self, array: Any, comparator: Any) -> list[Any]:
        """The array without items that ``comparator(a, b)`` says equal an earlier one
        (e.g. ``uniqWith(objects, this.lodash.isEqual)``)."""
        same = _callable(comparator, "uniqWith", "comparator")
        result: list[Any] = []
        for value in _array(array, "uniqWith"):
            if not any(_js_truthy(same(value, kept)) for kept in result):
                result.append(value)
        return result

    @_api
    def chunk(self, array: Any, size: Any = 1) -> list[list[Any]]:
        """The array split in groups of ``size``: ``chunk(["a", "b", "c", "d"], 3)`` is
        ``[["a", "b", "c"], ["d"]]``."""
        items = _array(array, "chunk")
        _check_size(len(items), "chunk", "array")
        step = _integer(size, "chunk", "size", 1)
        if step < 1:
            return []
        return [items[start : start + step] for start in range(0, len(items), step)]

    @_api
    def compact(self, array: Any) -> list[Any]:
        """The array without falsy items (False, None, 0, "", NaN)."""
        return [value for value in _array(array, "compact") if _js_truthy(value)]

    @_api
    def concat(self, array: Any, *values: Any) -> list[Any]:
        """A new array with ``values`` appended, arrays flattened one level."""
        result = list(array) if isinstance(array, (list, tuple)) else [array]
        _check_shallow(array, "concat", "array")
        for value in values:
            if isinstance(value, (list, tuple)):
                _check_size(len(result) + len(value), "concat")
                result.extend(value)
            else:
                result.append(value)
        _check_size(len(result), "concat")
        return result

    @_api
    def difference(self, array: Any, *others: Any) -> list[Any]:
        """The items of ``array`` not in any of ``others``: ``difference([2, 1], [2, 3])`` is ``[1]``."""
        items = _array(array, "difference")
        excluded = self._svz_set("difference", others)
        return [value for value in items if _svz_key(value) not in excluded]

    @_api
    def intersection(self, *arrays: Any) -> list[Any]:
        """The unique items present in every array: ``intersection([2, 1], [2, 3])`` is ``[2]``."""
        if not arrays:
            return []
        lists = [_array(array, "intersection") for array in arrays]
        _check_size(sum(len(items) for items in lists), "intersection", "input")
        others = [{_svz_key(value) for value in items} for items in lists[1:]]
        seen: set[tuple[Any, ...]] = set()
        result = []
        for value in lists[0]:
            key = _svz_key(value)
            if key not in seen and all(key in other for other in others):
                seen.add(key)
                result.append(value)
        return result

    @_api
    def union(self, *arrays: Any) -> list[Any]:
        """The unique items of all arrays, in order: ``union([2], [1, 2])`` is ``[2, 1]``."""
        lists = [_array(array, "union") for array in arrays]
        _check_size(sum(len(items) for items in lists), "union", "input")
        seen: set[tuple[Any, ...]] = set()
        result = []
        for items in lists:
            for value in items:
                key = _svz_key(value)
                if key not in seen:
                    seen.add(key)
                    result.append(value)
        return result

    @_api
    def without(self, array: Any, *values: Any) -> list[Any]:
        """The array without the given values: ``without([2, 1, 2, 3], 1, 2)`` is ``[3]``."""
        excluded = {_svz_key(value) for value in values}
        return [value for value in _array(array, "without") if _svz_key(value) not in excluded]

    @staticmethod
    def _svz_set(fn: str, arrays: Iterable[Any]) -> set[tuple[Any, ...]]:
        lists = [_array(array, fn) for array in arrays]
        _check_size(sum(len(items) for items in lists), fn, "input")
        return {_svz_key(value) for items in lists for value in items}

    @staticmethod
    def _flatten(fn: str, array: Any, depth: int) -> list[Any]:
        """Flatten nested lists up to ``depth`` levels; bounded and cycle-safe.
        Only lists and tuples are walked; other items are copied as they are."""
        items = _array(array, fn)
        result: list[Any] = []
        on_path: set[int] = set()
        visited = [0]

        def walk(values: list[Any] | tuple[Any, ...], level: int) -> None:
            if id(values) in on_path:
                raise _error("ParamError", fn, "array contains itself (cyclic data is not plain data)")
            on_path.add(id(values))
            for value in values:
                visited[0] += 1
                if visited[0] > MAX_ITEMS:
                    raise _too_large(fn)
                if isinstance(value, (list, tuple)) and level < depth:
                    if level + 1 >= MAX_DEPTH:
                        raise _error("RangeError", fn, f"array is nested more than {MAX_DEPTH} levels deep")
                    walk(value, level + 1)
                else:
                    result.append(value)
            on_path.discard(id(values))

        walk(items, 0)
        return result

    @_api
    def flatten(self, array: Any) -> list[Any]:
        """Flatten one level: ``flatten([1, [2, [3, [4]], 5]])`` is ``[1, 2, [3, [4]], 5]``."""
        return self._flatten("flatten", array, 1)

    @_api
    def flattenDeep(self, array: Any) -> list[Any]:
        """Flatten all levels: ``flattenDeep([1, [2, [3, [4]], 5]])`` is ``[1, 2, 3, 4, 5]``."""
        return self._flatten("flattenDeep", array, MAX_DEPTH)

    @_api
    def flattenDepth(self, array: Any, depth: Any = 1) -> list[Any]:
        """Flatten up to ``depth`` levels."""
        return self._flatten("flattenDepth", array, min(_integer(depth, "flattenDepth", "depth", 1), MAX_DEPTH))

    @_api
    def drop(self, array: Any, n: Any = 1) -> list[Any]:
        """The array without its first ``n`` items."""
        return _array(array, "drop")[max(_integer(n, "drop", "n", 1), 0) :]

    @_api
    def dropRight(self, array: Any, n: Any = 1) -> list[Any]:
        """The array without its last ``n`` items."""
        items = _array(array, "dropRight")
        return items[: max(len(items) - max(_integer(n, "dropRight", "n", 1), 0), 0)]

    @_api
    def take(self, array: Any, n: Any = 1) -> list[Any]:
        """The first ``n`` items."""
        return _array(array, "take")[: max(_integer(n, "take", "n", 1), 0)]

    @_api
    def takeRight(self, array: Any, n: Any = 1) -> list[Any]:
        """The last ``n`` items."""
        items = _array(array, "takeRight")
        count = max(_integer(n, "takeRight", "n", 1), 0)
        return items[len(items) - count :] if count else []

    @_api
    def head(self, array: Any) -> Any:
        """The first item, or None."""
        items = _array(array, "head")
        return items[0] if items else None

    first = head

    @_api
    def last(self, array: Any) -> Any:
        """The last item, or None."""
        items = _array(array, "last")
        return items[-1] if items else None

    @_api
    def nth(self, array: Any, n: Any = 0) -> Any:
        """The item at index ``n`` (negative counts from the end), or None."""
        items = _array(array, "nth")
        index = _integer(n, "nth", "n", 0)
        index = len(items) + index if index < 0 else index
        return items[index] if 0 <= index < len(items) else None

    @_api
    def initial(self, array: Any) -> list[Any]:
        """All items but the last."""
        return _array(array, "initial")[:-1]

    @_api
    def tail(self, array: Any) -> list[Any]:
        """All items but the first."""
        return _array(array, "tail")[1:]

    @_api
    def indexOf(self, array: Any, value: Any, from_index: Any = 0) -> int:
        """The first index of ``value`` (SameValueZero), or -1."""
        items = _array(array, "indexOf")
        start = _integer(from_index, "indexOf", "fromIndex", 0)
        start = max(len(items) + start, 0) if start < 0 else start
        wanted = _svz_key(value)
        for index in range(start, len(items)):
            if _svz_key(items[index]) == wanted:
                return index
        return -1

    @_api
    def lastIndexOf(self, array: Any, value: Any, from_index: Any = None) -> int:
        """The last index of ``value`` (SameValueZero), or -1."""
        items = _array(array, "lastIndexOf")
        end = _integer(from_index, "lastIndexOf", "fromIndex", len(items) - 1)
        end = max(len(items) + end, -1) if end < 0 else min(end, len(items) - 1)
        wanted = _svz_key(value)
        for index in range(end, -1, -1):
            if _svz_key(items[index]) == wanted:
                return index
        return -1

    @_api
    def join(self, array: Any, separator: Any = ",") -> str:
        """The items as text joined by ``separator`` (None items are empty)."""
        items = _array(array, "join")
        glue = _text(separator, "join", "separator")
        parts = []
        total = max(len(items) - 1, 0) * len(glue)
        for item in items:
            part = _text(item, "join", "item")
            total += len(part)
            _check_size(total, "join")
            parts.append(part)
        return glue.join(parts)

    @_api
    def reverse(self, array: Any) -> list[Any]:
        """Reverse the array in place and return it."""
        items = _mutable(array, "reverse", "array")
        if not isinstance(items, list):
            raise _error("ParamError", "reverse", "array must be an array (list)")
        items.reverse()
        return items

    @_api
    def fill(self, array: Any, value: Any, start: Any = 0, end: Any = None) -> list[Any]:
        """Set ``array[start:end]`` to ``value`` in place (the array does not grow)."""
        items = _mutable(array, "fill", "array")
        if not isinstance(items, list):
            raise _error("ParamError", "fill", "array must be an array (list)")
        _check_size(len(items), "fill", "array")
        begin = _integer(start, "fill", "start", 0)
        stop = _integer(end, "fill", "end", len(items))
        for index in range(*slice(begin, stop).indices(len(items))):
            items[index] = value
        return items

    @_api
    def zip(self, *arrays: Any) -> list[list[Any]]:
        """Group items by index: ``zip(["a", "b"], [1, 2])`` is ``[["a", 1], ["b", 2]]``."""
        lists = [_array(array, "zip") for array in arrays]
        rows = max((len(items) for items in lists), default=0)
        _check_size(rows * len(lists), "zip")
        return [[items[row] if row < len(items) else None for items in lists] for row in range(rows)]

    @_api
    def unzip(self, array: Any) -> list[list[Any]]:
        """The inverse of ``zip``: ``unzip([["a", 1], ["b", 2]])`` is ``[["a", "b"], [1, 2]]``."""
        groups = _array(array, "unzip")
        return self.zip(*[group for group in groups if isinstance(group, (list, tuple))])

    @_api
    def range(self, start: Any = 0, end: Any = None, step: Any = None) -> list[int | float]:
        """Numbers from ``start`` up to, not including, ``end`` (at most 1,000,000).

        ``range(4)`` is ``[0, 1, 2, 3]``; ``range(0, 20, 5)`` is ``[0, 5, 10, 15]``;
        ``range(-4)`` is ``[0, -1, -2, -3]``."""
        if end is None:
            start, end = 0, start
        first = _number(start, "range", "start")
        stop = _number(end, "range", "end")
        if step is None:
            step = 1 if first < stop else -1
        stride = _number(step, "range", "step")
        for value in (first, stop, stride):
            if isinstance(value, float) and not math.isfinite(value):
                raise _error("RangeError", "range", "start, end and step must be finite")
        if all(isinstance(value, int) for value in (first, stop, stride)):
            count = max(-(-(stop - first) // (stride or 1)), 0)
        else:
            count = max(math.ceil((stop - first) / (stride or 1)), 0)
        _check_size(count, "range")
        result: list[int | float] = []
        current = first
        for _ in range(count):
            result.append(current)
            current += stride
        return result

    @_api
    def times(self, n: Any, iteratee: Any = None) -> list[Any]:
        """``[iteratee(0), ..., iteratee(n - 1)]`` (the indexes without iteratee; n at most 1,000,000)."""
        count = _integer(n, "times", "n", 0)
        _check_size(count, "times")
        call = _identity if iteratee is None else _callable(iteratee, "times")
        return [call(index) for index in range(max(count, 0))]

    # ------------------------------------------------------------------- math

    @_api
    def sum(self, array: Any) -> int | float:
        """The sum of the numbers (None items are skipped): ``sum([4, 2, 8, 6])`` is ``20``."""
        return sum(_numbers("sum", _array(array, "sum")))

    @_api
    def sumBy(self, array: Any, iteratee: Any = None) -> int | float:
        """The sum of ``iteratee(value)``: ``sumBy([{"n": 4}, {"n": 6}], "n")`` is ``10``."""
        call = _iteratee(iteratee, "sumBy")
        return sum(_numbers("sumBy", [call(value) for value in _array(array, "sumBy")]))

    @_api
    def mean(self, array: Any) -> float:
        """The average of the numbers (NaN when empty)."""
        items = _array(array, "mean")
        total = sum(_numbers("mean", items))
        return total / len(items) if items else math.nan

    @_api
    def meanBy(self, array: Any, iteratee: Any = None) -> float:
        """The average of ``iteratee(value)`` (NaN when empty)."""
        call = _iteratee(iteratee, "meanBy")
        items = _array(array, "meanBy")
        total = sum(_numbers("meanBy", [call(value) for value in items]))
        return total / len(items) if items else math.nan

    @_api
    def max(self, array: Any) -> Any:
        """The largest item (None and NaN skipped), or None when empty."""
        items = _array(array, "max")
        return _extreme("max", items, items, 1)

    @_api
    def maxBy(self, array: Any, iteratee: Any = None) -> Any:
        """The item with the largest ``iteratee(value)``, or None."""
        call = _iteratee(iteratee, "maxBy")
        items = _array(array, "maxBy")
        return _extreme("maxBy", items, [call(value) for value in items], 1)

    @_api
    def min(self, array: Any) -> Any:
        """The smallest item (None and NaN skipped), or None when empty."""
        items = _array(array, "min")
        return _extreme("min", items, items, -1)

    @_api
    def minBy(self, array: Any, iteratee: Any = None) -> Any:
        """The item with the smallest ``iteratee(value)``, or None."""
        call = _iteratee(iteratee, "minBy")
        items = _array(array, "minBy")
        return _extreme("minBy", items, [call(value) for value in items], -1)

    @_api
    def round(self, number: Any, precision: Any = 0) -> int | float:
        """Round half up to ``precision`` digits: ``round(4.006, 2)`` is ``4.01``,
        ``round(4060, -2)`` is ``4100``."""
        return _decimal_round("round", number, precision, "round")

    @_api
    def floor(self, number: Any, precision: Any = 0) -> int | float:
        """Round down to ``precision`` digits: ``floor(0.046, 2)`` is ``0.04``."""
        return _decimal_round("floor", number, precision, "floor")

    @_api
    def ceil(self, number: Any, precision: Any = 0) -> int | float:
        """Round up to ``precision`` digits: ``ceil(6.004, 2)`` is ``6.01``."""
        return _decimal_round("ceil", number, precision, "ceil")

    @_api
    def clamp(self, number: Any, lower: Any, upper: Any = None) -> int | float:
        """``number`` within ``[lower, upper]``: ``clamp(-10, -5, 5)`` is ``-5``."""
        value = _number(number, "clamp", "number")
        if upper is None:
            lower, upper = None, lower
        high = _number(upper, "clamp", "upper")
        value = value if value <= high else high
        if lower is not None:
            low = _number(lower, "clamp", "lower")
            value = value if value >= low else low
        return value

    @_api
    def inRange(self, number: Any, start: Any = 0, end: Any = None) -> bool:
        """Whether ``start <= number < end`` (``inRange(3, 2, 4)``; one bound means ``0..bound``)."""
        value = _number(number, "inRange", "number")
        if end is None:
            start, end = 0, start
        low, high = _number(start, "inRange", "start"), _number(end, "inRange", "end")
        if low > high:
            low, high = high, low
        return low <= value < high

    # ---------------------------------------------------------------- strings

    @_api
    def camelCase(self, string: Any = "") -> str:
        """``camelCase("Foo Bar")`` is ``"fooBar"``."""
        return pydash.camel_case(_text(string, "camelCase"))

    @_api
    def kebabCase(self, string: Any = "") -> str:
        """``kebabCase("Foo Bar")`` is ``"foo-bar"``."""
        return pydash.kebab_case(_text(string, "kebabCase"))

    @_api
    def snakeCase(self, string: Any = "") -> str:
        """``snakeCase("Foo Bar")`` is ``"foo_bar"``."""
        return pydash.snake_case(_text(string, "snakeCase"))

    @_api
    def startCase(self, string: Any = "") -> str:
        """``startCase("--foo-bar--")`` is ``"Foo Bar"``."""
        return pydash.start_case(_text(string, "startCase"))

    @_api
    def lowerCase(self, string: Any = "") -> str:
        """``lowerCase("--Foo-Bar--")`` is ``"foo bar"``."""
        return pydash.lower_case(_text(string, "lowerCase"))

    @_api
    def upperCase(self, string: Any = "") -> str:
        """``upperCase("fooBar")`` is ``"FOO BAR"``."""
        return pydash.upper_case(_text(string, "upperCase"))

    @_api
    def capitalize(self, string: Any = "") -> str:
        """First character upper case, the rest lower: ``capitalize("FRED")`` is ``"Fred"``."""
        return pydash.capitalize(_text(string, "capitalize"))

    @_api
    def upperFirst(self, string: Any = "") -> str:
        """``upperFirst("fred")`` is ``"Fred"``."""
        return pydash.upper_first(_text(string, "upperFirst"))

    @_api
    def lowerFirst(self, string: Any = "") -> str:
        """``lowerFirst("Fred")`` is ``"fred"``."""
        return pydash.lower_first(_text(string, "lowerFirst"))

    @_api
    def toUpper(self, string: Any = "") -> str:
        """The whole string upper case."""
        return _text(string, "toUpper").upper()

    @_api
    def toLower(self, string: Any = "") -> str:
        """The whole string lower case."""
        return _text(string, "toLower").lower()

    @_api
    def trim(self, string: Any = "", chars: Any = None) -> str:
        """Strip whitespace (or any of ``chars``) from both ends."""
        return _text(string, "trim").strip(None if chars is None else _text(chars, "trim", "chars"))

    @_api
    def trimStart(self, string: Any = "", chars: Any = None) -> str:
        """Strip whitespace (or any of ``chars``) from the start."""
        return _text(string, "trimStart").lstrip(None if chars is None else _text(chars, "trimStart", "chars"))

    @_api
    def trimEnd(self, string: Any = "", chars: Any = None) -> str:
        """Strip whitespace (or any of ``chars``) from the end."""
        return _text(string, "trimEnd").rstrip(None if chars is None else _text(chars, "trimEnd", "chars"))

    @staticmethod
    def _padding(fn: str, text: str, length: Any, chars: Any) -> tuple[int, str]:
        """How many characters to add, and the fill repeated to at least that."""
        target = _integer(length, fn, "length", 0)
        _check_size(target, fn, "padded length")
        fill = " " if chars is None else _text(chars, fn, "chars")
        missing = target - len(text)
        if missing <= 0 or not fill:
            return 0, ""
        return missing, fill * (missing // len(fill) + 1)

    @_api
    def pad(self, string: Any = "", length: Any = 0, chars: Any = None) -> str:
        """Pad both sides to ``length``: ``pad("abc", 8, "_-")`` is ``"_-abc_-_"``."""
        text = _text(string, "pad")
        missing, fill = self._padding("pad", text, length, chars)
        return fill[: missing // 2] + text + fill[: missing - missing // 2]

    @_api
    def padStart(self, string: Any = "", length: Any = 0, chars: Any = None) -> str:
        """Pad the start to ``length``: ``padStart("abc", 6, "_-")`` is ``"_-_abc"``."""
        text = _text(string, "padStart")
        missing, fill = self._padding("padStart", text, length, chars)
        return fill[:missing] + text

    @_api
    def padEnd(self, string: Any = "", length: Any = 0, chars: Any = None) -> str:
        """Pad the end to ``length``: ``padEnd("abc", 6, "_-")`` is ``"abc_-_"``."""
        text = _text(string, "padEnd")
        missing, fill = self._padding("padEnd", text, length, chars)
        return text + fill[:missing]

    @_api
    def truncate(
        self,
        string: Any = "",
        options: Any = None,
        *,
        length: Any = None,
        omission: Any = None,
        separator: Any = None,
    ) -> str:
        """Cut to ``length`` (30) characters ending with ``omission`` ("..."), at the
        last ``separator`` (a plain string, not a regex) if given. Options come as
        a dict ``{"length", "omission", "separator"}`` or as keywords.

        ``truncate("hi-diddly-ho there, neighborino")`` is ``"hi-diddly-ho there, neighbo..."``."""
        text = _text(string, "truncate")
        settings: dict[str, Any] = {}
        if options is not None:
            if not isinstance(options, dict) or isinstance(options, Namespace):
                raise _error("ParamError", "truncate", f"options must be an object, not {describe(options)}")
            unknown = sorted(str(key) for key in options if key not in ("length", "omission", "separator"))
            if unknown:
                raise _error("ParamError", "truncate", f"unknown option {', '.join(unknown)}")
            settings.update(options)
        for key, value in (("length", length), ("omission", omission), ("separator", separator)):
            if value is not None:
                settings[key] = value
        limit = _integer(settings.get("length"), "truncate", "length", 30)
        tail = "..." if settings.get("omission") is None else settings["omission"]
        cut_at = settings.get("separator")
        if not isinstance(tail, str):
            raise _error("ParamError", "truncate", f"omission must be a string, not {describe(tail)}")
        if cut_at is not None and not isinstance(cut_at, str):
            raise _error("ParamError", "truncate", f"separator must be a string, not {describe(cut_at)}")
        if limit >= len(text):
            return text
        end = limit - len(tail)
        if end < 1:
            return tail
        result = text[:end]
        if cut_at and text.find(cut_at, end) != end:
            index = result.rfind(cut_at)
            if index > -1:
                result = result[:index]
        return result + tail

    @_api
    def startsWith(self, string: Any = "", target: Any = "", position: Any = 0) -> bool:
        """Whether the string starts with ``target`` at ``position``."""
        text = _text(string, "startsWith")
        start = max(0, min(_integer(position, "startsWith", "position", 0), len(text)))
        return text.startswith(_text(target, "startsWith", "target"), start)

    @_api
    def endsWith(self, string: Any = "", target: Any = "", position: Any = None) -> bool:
        """Whether the string ends with ``target`` before ``position`` (default: its end)."""
        text = _text(string, "endsWith")
        end = max(0, min(_integer(position, "endsWith", "position", len(text)), len(text)))
        return text[:end].endswith(_text(target, "endsWith", "target"))

    @_api
    def repeat(self, string: Any = "", n: Any = 1) -> str:
        """The string ``n`` times (at most 1,000,000 characters): ``repeat("*", 3)`` is ``"***"``."""
        text = _text(string, "repeat")
        count = max(_integer(n, "repeat", "n", 1), 0)
        _check_size(len(text) * count, "repeat")
        return text * count

    @_api
    def split(self, string: Any = "", separator: Any = None, limit: Any = None) -> list[str]:
        """Split on a plain-string ``separator`` ("" splits characters), keeping at
        most ``limit`` pieces: ``split("a-b-c", "-", 2)`` is ``["a", "b"]``."""
        text = _text(string, "split")
        count = _integer(limit, "split", "limit", MAX_ITEMS)
        if count <= 0:
            return []
        if separator is None:
            pieces = [text]
        elif not isinstance(separator, str):
            raise _error("ParamError", "split", f"separator must be a string, not {describe(separator)}")
        elif separator == "":
            pieces = list(text)
        else:
            pieces = text.split(separator)
        return pieces[:count]

    @_api
    def words(self, string: Any = "", pattern: Any = None) -> list[str]:
        """The words of the string: ``words("fred, barney, & pebbles")`` is
        ``["fred", "barney", "pebbles"]``. Custom patterns are refused (no regexes)."""
        if pattern is not None:
            raise _error("ParamError", "words", "a custom pattern is not supported")
        return list(pydash.words(_text(string, "words")))

    @_api
    def deburr(self, string: Any = "") -> str:
        """Latin-1 letters without accents: ``deburr("déjà vu")`` is ``"deja vu"``."""
        return pydash.deburr(_text(string, "deburr"))

    @_api
    def escape(self, string: Any = "") -> str:
        """HTML-escape ``& < > " '``."""
        return pydash.escape(_text(string, "escape"))

    @_api
    def unescape(self, string: Any = "") -> str:
        """The inverse of ``escape``."""
        return pydash.unescape(_text(string, "unescape"))

    # ------------------------------------------------------------------- lang

    @_api
    def isEmpty(self, value: Any) -> bool:
        """True for None, numbers, booleans and empty strings, arrays and objects."""
        _check_shallow(value, "isEmpty", "value")
        return len(value) == 0 if isinstance(value, (str, list, tuple, dict)) else True

    @_api
    def isEqual(self, value: Any, other: Any) -> bool:
        """Deep equality of plain data (``1`` equals ``1.0``, not ``True``; NaN equals NaN)."""
        _check_deep(value, "isEqual", "value")
        _check_deep(other, "isEqual", "other")
        return _deep_equal(value, other)

    @_api
    def isMatch(self, obj: Any, source: Any) -> bool:
        """Whether ``obj`` contains ``source`` (partial deep comparison)."""
        _check_shallow(obj, "isMatch", "object")
        _check_match_source(source, "isMatch")
        return _is_match(obj, source)

    @_api
    def isArray(self, value: Any) -> bool:
        """Whether ``value`` is a list (or tuple)."""
        return isinstance(value, (list, tuple))

    @_api
    def isObject(self, value: Any) -> bool:
        """Whether ``value`` is an object in the JS sense (not None, a string, a number or a boolean)."""
        return not (value is None or isinstance(value, (str, int, float, bool)))

    @_api
    def isPlainObject(self, value: Any) -> bool:
        """Whether ``value`` is a dict (a data object)."""
        return isinstance(value, dict) and not isinstance(value, Namespace)

    @_api
    def isString(self, value: Any) -> bool:
        """Whether ``value`` is a string."""
        return isinstance(value, str)

    @_api
    def isNumber(self, value: Any) -> bool:
        """Whether ``value`` is a number (NaN included, booleans not)."""
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    @_api
    def isInteger(self, value: Any) -> bool:
        """Whether ``value`` is a whole number."""
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())

    @_api
    def isBoolean(self, value: Any) -> bool:
        """Whether ``value`` is True or False."""
        return isinstance(value, bool)

    @_api
    def isNil(self, value: Any) -> bool:
        """Whether ``value`` is None (JS null or undefined)."""
        return value is None

    @_api
    def isNull(self, value: Any) -> bool:
        """Whether ``value`` is None."""
        return value is None

    @_api
    def isUndefined(self, value: Any) -> bool:
        """Whether ``value`` is None (a missing key reads as None)."""
        return value is None

    @_api
    def isFunction(self, value: Any) -> bool:
        """Whether ``value`` can be called."""
        return callable(value)

    @_api
    def isNaN(self, value: Any) -> bool:
        """Whether ``value`` is the number NaN."""
        return isinstance(value, float) and math.isnan(value)

    @_api
    def isFinite(self, value: Any) -> bool:
        """Whether ``value`` is a finite number."""
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

    @_api
    def isDate(self, value: Any) -> bool:
        """Whether ``value`` is a date or datetime."""
        return isinstance(value, datetime.date)

    @_api
    def castArray(self, *value: Any) -> list[Any]:
        """``value`` as a list: a list as it is, anything else wrapped (no argument: ``[]``)."""
        if not value:
            return []
        item = value[0]
        if isinstance(item, list):
            return item
        return list(item) if isinstance(item, tuple) else [item]

    @_api
    def toString(self, value: Any = None) -> str:
        """JS string conversion: None is ``""``, ``1.0`` is ``"1"``, ``[1, 2]`` is ``"1,2"``."""
        if isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0:
            return "-0"
        _check_shallow(value, "toString", "value")
        return _text(value, "toString", "value")

    @_api
    def toNumber(self, value: Any = None) -> int | float:
        """JS number conversion: ``toNumber("3.2")`` is ``3.2``, ``toNumber("")`` is ``0``,
        ``toNumber("abc")`` is NaN; None is ``0``."""
        if value is None:
            return 0
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return value
        if not isinstance(value, str):
            _check_shallow(value, "toNumber", "value")
            return math.nan
        text = value.strip()
        if text == "":
            return 0
        lowered = text.lower()
        for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
            if lowered.startswith(prefix):
                digits = lowered[2:]
                if not digits or len(digits) > 64 or "_" in digits:
                    return math.nan
                try:
                    return int(digits, base)
                except ValueError:
                    return math.nan
        if text in ("Infinity", "+Infinity", "-Infinity"):
            return -math.inf if text.startswith("-") else math.inf
        body = text[1:] if text[0] in "+-" else text
        if not body or not all(char in "0123456789.eE+-" for char in body) or body[0] not in "0123456789.":
            return math.nan
        if body.isdigit() and len(body) <= 15:
            return int(text)
        try:
            return float(text)
        except ValueError:
            return math.nan

    @_api
    def toInteger(self, value: Any = None) -> int | float:
        """``toNumber`` truncated toward zero (NaN is 0): ``toInteger("3.2")`` is ``3``."""
        number = self.toNumber(value)
        if isinstance(number, int):
            return number
        if math.isnan(number):
            return 0
        if math.isinf(number):
            return _MAX_INTEGER if number > 0 else -_MAX_INTEGER
        return int(number)

    @_api
    def identity(self, value: Any = None) -> Any:
        """``value`` itself."""
        return value
