"""Parameter validation shared by every method: one way to say what a method
takes and one wording for what is wrong with it."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from noderuntime.errors import ParamError

_MISSING: Any = object()

_JS_NAMES = {str: "string", int: "number", float: "number", bool: "boolean", dict: "object", list: "array"}


def js_type(value: Any) -> str:
    """The JS-style name of ``value``'s type, as authors know them."""
    if value is None:
        return "null"
    for kind, name in _JS_NAMES.items():
        if type(value) is kind or (kind is dict and isinstance(value, dict)):
            return name
    return type(value).__name__


@dataclass(frozen=True)
class Param:
    """One parameter: accepted types, whether it is required, its default, and
    an optional extra check returning an error text or None."""

    types: tuple[type, ...]
    required: bool = False
    default: Any = None
    check: Callable[[Any], str | None] | None = None

    def describe(self) -> str:
        """``"a string"``, ``"an object or an array"``."""
        names = sorted({_JS_NAMES.get(t, t.__name__) for t in self.types})
        return " or ".join(f"{'an' if n[0] in 'aeiou' else 'a'} {n}" for n in names)


def param(
    *types: type, required: bool = False, default: Any = None, check: Callable[[Any], str | None] | None = None
) -> Param:
    """Shorthand: ``param(str, required=True)``. ``int`` also accepts whole floats
    (JSON numbers); ``float`` also accepts ints; ``bool`` is never a number."""
    expanded = set(types)
    if float in expanded:
        expanded.add(int)
    return Param(tuple(expanded), required, default, check)


def _matches(value: Any, spec: Param) -> bool:
    if isinstance(value, bool):
        return bool in spec.types
    if int in spec.types and isinstance(value, float) and value.is_integer() and float not in spec.types:
        return True
    return isinstance(value, spec.types)


def validate(method: str, schema: dict[str, Param], params: Any) -> dict[str, Any]:
    """Check ``params`` against ``schema`` and return every parameter by name,
    defaults filled in. Raises :class:`ParamError` naming the method and the
    parameter."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParamError(f"{method}: parameters must be an object, got {js_type(params)}")
    unknown = [key for key in params if key not in schema]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(schema), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; expected: {', '.join(schema) or 'none'}"
        raise ParamError(f"{method}: unknown parameter '{key}'{hint}")
    values: dict[str, Any] = {}
    for name, spec in schema.items():
        value = params.get(name, _MISSING)
        if value is _MISSING or value is None:
            if spec.required:
                raise ParamError(f"{method}: '{name}' is required")
            values[name] = spec.default
            continue
        if not _matches(value, spec):
            raise ParamError(f"{method}: '{name}' must be {spec.describe()}, got {js_type(value)}")
        if int in spec.types and float not in spec.types and isinstance(value, float):
            value = int(value)
        if spec.check is not None:
            problem = spec.check(value)
            if problem:
                raise ParamError(f"{method}: '{name}' {problem}")
        values[name] = value
    return values
