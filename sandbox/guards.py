"""Run-time guards: what a restricted script may read, write, call and iterate.

The compile policy (``sandbox.policy``) turns every ``a.b`` into
``_getattr_(a, "b")`` and every ``a.b = c`` into ``_write_(a).b = c``. This
module supplies those hooks. The rule is short:

* dicts read like JS objects: ``d.key`` is ``d["key"]``, a missing key is
  ``None``; a few dict methods are reachable when no key of that name exists;
* lists, strings, numbers, sets and tuples expose an allowlist of harmless
  methods (never ``str.format``/``format_map``);
* helper objects (subclasses of :class:`Exposed`) expose the names they list;
* nothing else exposes any attribute.
"""

from __future__ import annotations

import builtins
import difflib
import types
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from sandbox.errors import ScriptError, clean_message

#: Underscore names that are data, not Python internals: Mongo's document id
#: and version, and the platform's documented ``_docsIds``/``_docs`` result
#: fields. Scripts read and write them on dicts only (``this.member._id``).
DATA_UNDERSCORE_NAMES = frozenset({"_id", "_version", "_docsIds", "_docs"})


def is_private_name(name: str) -> bool:
    """True for names a script may never use as an attribute or path segment."""
    return name.startswith("_") and name not in DATA_UNDERSCORE_NAMES


class JSObject(dict):
    """A dict that also reads and writes through attributes, like a JS object.

    Context data and method results arrive in the sandbox as JSObjects; trusted
    code may use them the same way. A missing key read as an attribute is
    ``None``.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        self.pop(name, None)


class Namespace(JSObject):
    """A JSObject whose missing attributes are an error, with suggestions.

    ``this`` is one: ``this.getMembr(...)`` must say "did you mean getMember",
    not fail later on ``None``. Some entries are made on first read: for a
    name in ``lazy_names``, ``make_lazy(name)`` builds the value (methods are
    made this way, so a run does not build dozens of objects it never uses).
    Data entries may be replaced by a script (``this.member = ...``);
    callables and helpers may not.
    """

    __slots__ = ("label", "lazy_names", "make_lazy")

    def __init__(
        self, label: str, lazy_names: frozenset[str] = frozenset(), make_lazy: Callable[[str], Any] | None = None
    ) -> None:
        super().__init__()
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "lazy_names", lazy_names)
        object.__setattr__(self, "make_lazy", make_lazy)

    def missing(self, name: str) -> Any:
        """The value for a name not yet in the dict: made lazily, or an error."""
        if name in self.lazy_names and self.make_lazy is not None:
            value = self[name] = self.make_lazy(name)
            return value
        names = [k for k in self if isinstance(k, str)] + list(self.lazy_names)
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ScriptError("UnknownName", f"{self.label}.{name} does not exist{hint}")

    # ``this["name"]`` (an item read, not guarded) resolves the same way.
    __missing__ = missing


class _NamespaceWriter:
    """What ``_write_`` returns for a Namespace: data entries only."""

    __slots__ = ("_target",)

    def __init__(self, target: Namespace) -> None:
        object.__setattr__(self, "_target", target)

    def _check(self, name: Any) -> None:
        target = self._target
        current = target.get(name)
        if name in target.lazy_names or callable(current) or isinstance(current, Exposed):
            raise ScriptError("AccessDenied", f"{target.label}.{name} cannot be replaced")
        if name not in target:
            raise ScriptError("AccessDenied", f"{target.label}.{name} does not exist and cannot be added")

    def __setattr__(self, name: str, value: Any) -> None:
        self._check(name)
        self._target[name] = value

    def __setitem__(self, name: Any, value: Any) -> None:
        self._check(name)
        self._target[name] = value

    def __delattr__(self, name: str) -> None:
        raise ScriptError("AccessDenied", f"{self._target.label}.{name} cannot be deleted")

    __delitem__ = __delattr__


class Exposed:
    """Base class for helper objects handed to scripts (lodash, moment, a fetch
    response...). Only the names in ``exposed`` are reachable from a script;
    everything else, inherited or not, is refused by the guard.
    """

    exposed: ClassVar[frozenset[str]] = frozenset()
    #: The name scripts see in error messages, instead of the class's repr.
    script_name: ClassVar[str] = "object"

    def __repr__(self) -> str:
        return f"<{self.script_name}>"


class ScriptFunction(Exposed):
    """A host function handed to scripts under a plain name: its repr is
    ``<function name>``, not a qualified name and an address."""

    __slots__ = ("function", "name")
    script_name = "function"

    def __init__(self, name: str, function: Callable[..., Any]) -> None:
        self.name = name
        self.function = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<function {self.name}>"


class NotFound:
    """Sentinel for "no such key"."""


_NOT_FOUND = NotFound()

_DICT_METHODS = frozenset(
    {"get", "keys", "values", "items", "copy", "pop", "popitem", "setdefault", "update", "clear"}
)
_LIST_METHODS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "index", "count", "sort", "reverse", "copy", "clear"}
)
# Every str method except format/format_map (attribute walks through field
# names, RestrictedPython advisory GHSA-xjw2-6jm9-rf67) and encode/maketrans
# (bytes and translation tables are of no use to a bot script).
_STR_METHODS = frozenset(
    {
        "capitalize", "casefold", "center", "count", "endswith", "expandtabs", "find", "index",
        "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
        "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
        "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex",
        "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip",
        "swapcase", "title", "upper", "zfill",
    }
)  # fmt: skip
_SET_METHODS = frozenset(
    {
        "add", "clear", "copy", "difference", "discard", "intersection", "isdisjoint", "issubset",
        "issuperset", "pop", "remove", "symmetric_difference", "union", "update",
    }
)  # fmt: skip
_FROZENSET_METHODS = frozenset(
    {"copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset", "symmetric_difference", "union"}
)
_TUPLE_METHODS = frozenset({"count", "index"})
_INT_METHODS = frozenset({"bit_length", "is_integer"})
_FLOAT_METHODS = frozenset({"is_integer", "as_integer_ratio"})
# Deliberately not "obj" or "name": AttributeError.obj hands out the object
# whose attribute was missing (RestrictedPython advisory GHSA-5rfv-66g4-jr8h).
_EXCEPTION_ATTRIBUTES = frozenset({"args", "message", "kind"})

_ALLOWED_BY_TYPE: dict[type, frozenset[str]] = {
    list: _LIST_METHODS,
    str: _STR_METHODS,
    set: _SET_METHODS,
    frozenset: _FROZENSET_METHODS,
    tuple: _TUPLE_METHODS,
    int: _INT_METHODS,
    bool: frozenset(),
    float: _FLOAT_METHODS,
}


def describe(value: Any) -> str:
    """A script-facing type name (JS words where they exist); never a repr, so
    no host detail reaches an error message."""
    if value is None:
        return "None"
    if isinstance(value, Namespace):
        return value.label
    if isinstance(value, Exposed):
        return value.script_name
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(value, type):
        return "class"
    if callable(value):
        return "function"
    return type(value).__name__


def guarded_getattr(obj: Any, name: str, default: Any = _NOT_FOUND) -> Any:
    """``_getattr_``: the only way a script reads an attribute."""
    if name.startswith("_") and not (name in DATA_UNDERSCORE_NAMES and isinstance(obj, dict)):
        raise ScriptError("AccessDenied", f'attribute "{name}" is not accessible')
    if isinstance(obj, dict):
        value = obj.get(name, _NOT_FOUND)
        if value is not _NOT_FOUND:
            return value
        if type(obj) is Namespace:
            return obj.missing(name)
        if name in _DICT_METHODS:
            return getattr(obj, name)
        return None
    if isinstance(obj, Exposed):
        if name in type(obj).exposed:
            return getattr(obj, name)
    elif isinstance(obj, BaseException):
        if name in _EXCEPTION_ATTRIBUTES:
            if name == "message":
                return clean_message(str(getattr(obj, "message", obj)))
            if name == "args":
                return tuple(_plain_arg(a) for a in obj.args)
            return getattr(obj, name, None)
    else:
        allowed = _ALLOWED_BY_TYPE.get(type(obj))
        if allowed is not None and name in allowed:
            return getattr(obj, name)
    if obj is None:
        raise ScriptError("TypeError", f'cannot read attribute "{name}" of None')
    raise ScriptError("AccessDenied", f'attribute "{name}" of {describe(obj)} is not accessible')


class _DictAttributeWriter:
    """What ``_write_`` returns for a plain dict: attribute writes become item
    writes, so ``d.key = v`` works on dicts the script made itself."""

    __slots__ = ("_target",)

    def __init__(self, target: dict) -> None:
        object.__setattr__(self, "_target", target)

    def __setattr__(self, name: str, value: Any) -> None:
        self._target[name] = value

    def __delattr__(self, name: str) -> None:
        self._target.pop(name, None)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._target[key]


def _plain_arg(value: Any) -> Any:
    if isinstance(value, str):
        return clean_message(value)
    if value is None or isinstance(value, (int, float, bool)):
        return value
    return f"<{describe(value)}>"


def safe_repr(value: Any, depth: int = 0) -> str:
    """``repr`` for scripts: plain data as Python writes it, anything else as
    ``<type>`` (no qualified names, no addresses)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return repr(value)
    if depth > 20:
        return "..."
    if isinstance(value, dict) and not isinstance(value, Namespace):
        items = ", ".join(f"{safe_repr(k, depth + 1)}: {safe_repr(v, depth + 1)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list):
        return "[" + ", ".join(safe_repr(v, depth + 1) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(safe_repr(v, depth + 1) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(safe_repr(v, depth + 1) for v in value)) + "}" if value else "set()"
    return repr(value) if isinstance(value, Exposed) else f"<{describe(value)}>"


def guarded_write(obj: Any) -> Any:
    """``_write_``: what ``obj.attr = v`` and ``obj[k] = v`` write through."""
    kind = type(obj)
    if kind is JSObject or kind is list:
        return obj
    if kind is dict:
        return _DictAttributeWriter(obj)
    if kind is Namespace:
        return _NamespaceWriter(obj)
    if isinstance(obj, (dict, list)):
        return obj
    raise ScriptError("AccessDenied", f"{describe(obj)} cannot be modified")


def guarded_getiter(obj: Any) -> Any:
    """``_getiter_``: ``for x in obj`` and comprehensions."""
    return iter(obj)


def guarded_apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``_apply_``: calls written with ``*args`` or ``**kwargs``."""
    return func(*args, **kwargs)


MAX_INT_BITS = 100_000


def guarded_pow(base: Any, exponent: Any, modulo: Any = None) -> Any:
    """``**`` and ``pow()``: refuse integers too large to compute in time."""
    if (
        modulo is None
        and isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base) > 1
        and exponent * base.bit_length() > MAX_INT_BITS
    ):
        raise ScriptError("RangeError", f"integer result too large (over {MAX_INT_BITS} bits)")
    if modulo is None:
        return base**exponent
    return pow(base, exponent, modulo)


def guarded_lshift(value: Any, shift: Any) -> Any:
    """``<<``: the same bound as ``**``."""
    if isinstance(value, int) and isinstance(shift, int) and shift + value.bit_length() > MAX_INT_BITS:
        raise ScriptError("RangeError", f"integer result too large (over {MAX_INT_BITS} bits)")
    return value << shift


MAX_RANGE = 10_000_000


def limited_range(*args: int) -> range:
    """``range`` capped in length, so a C-level loop such as ``sum(range(n))``
    (which no tick can interrupt) stays short."""
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise ScriptError("RangeError", f"range of {len(result)} items is over the limit of {MAX_RANGE}")
    return result


def _safe_builtin_names() -> Iterable[str]:
    return (
        "abs", "all", "any", "bool", "callable", "chr", "dict", "divmod", "enumerate", "filter",
        "float", "frozenset", "hash", "int", "isinstance", "len", "list", "map", "max", "min",
        "ord", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
        "True", "False", "None",
        "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "Exception",
        "IndexError", "KeyError", "LookupError", "NameError", "RecursionError", "RuntimeError",
        "StopIteration", "SystemExit", "KeyboardInterrupt", "TypeError", "ValueError", "ZeroDivisionError",
    )  # fmt: skip


def safe_builtins() -> dict[str, Any]:
    """The builtins a script sees. No ``type``, ``getattr``, ``vars``, ``dir``,
    ``open``, ``eval``, ``exec``, ``compile``, ``__import__``, ``iter`` (whose
    two-argument form builds unbounded loops) or ``format``."""
    table = {name: getattr(builtins, name) for name in _safe_builtin_names()}
    table["range"] = ScriptFunction("range", limited_range)
    table["pow"] = ScriptFunction("pow", guarded_pow)
    table["repr"] = ScriptFunction("repr", safe_repr)
    return table
