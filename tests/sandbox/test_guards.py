"""The run-time guards, one rule at a time."""

from __future__ import annotations

import pytest

from sandbox.errors import ScriptError
from sandbox.guards import (
    JSObject,
    Namespace,
    ScriptFunction,
    describe,
    guarded_getattr,
    guarded_lshift,
    guarded_pow,
    guarded_write,
    limited_range,
    safe_builtins,
    safe_repr,
)


def denied(call, *args) -> str:
    with pytest.raises(ScriptError) as caught:
        call(*args)
    assert caught.value.kind in {"AccessDenied", "UnknownName", "TypeError", "RangeError"}
    return caught.value.message


def test_dict_keys_read_as_attributes_and_missing_keys_are_none():
    data = {"a": 1, "items": 2}
    assert guarded_getattr(data, "a") == 1
    assert guarded_getattr(data, "missing") is None
    assert guarded_getattr(data, "items") == 2  # the key wins over the method
    assert guarded_getattr({}, "items")() == {}.items()


def test_allowlisted_methods_of_builtin_types():
    assert guarded_getattr("ab", "upper")() == "AB"
    assert guarded_getattr([3, 1], "index")(1) == 1
    assert "format" in denied(guarded_getattr, "x", "format")
    assert "format_map" in denied(guarded_getattr, "x", "format_map")
    assert "of number is not accessible" in denied(guarded_getattr, 1, "real")
    assert "of class is not accessible" in denied(guarded_getattr, str, "join")
    assert 'cannot read attribute "x" of None' in denied(guarded_getattr, None, "x")


def test_underscore_names_are_refused_except_data_ids_on_dicts():
    assert guarded_getattr({"_id": "m1"}, "_id") == "m1"
    denied(guarded_getattr, {"__class__": 1}, "__class__")
    denied(guarded_getattr, "x", "_id")


def test_exceptions_expose_args_message_and_kind_only():
    error = ScriptError("NotFound", "no member m1")
    assert guarded_getattr(error, "kind") == "NotFound"
    assert guarded_getattr(error, "message") == "no member m1"
    assert guarded_getattr(error, "args") == ("no member m1",)
    odd = ValueError(object())
    assert guarded_getattr(odd, "args") == ("<object>",)
    try:
        raise AttributeError("x", name="x", obj=object())
    except AttributeError as caught:
        assert 'attribute "obj"' in denied(guarded_getattr, caught, "obj")


def test_namespace_suggests_and_makes_lazy_entries():
    made = []
    this = Namespace("this", frozenset({"getMember"}), lambda name: made.append(name) or f"proxy:{name}")
    this["member"] = JSObject()
    assert guarded_getattr(this, "getMember") == "proxy:getMember"
    assert guarded_getattr(this, "getMember") == "proxy:getMember"
    assert made == ["getMember"]
    assert "did you mean member?" in denied(guarded_getattr, this, "membr")
    assert this["getMember"] == "proxy:getMember"


def test_writes():
    obj = JSObject()
    guarded_write(obj).a = 1
    plain: dict = {}
    guarded_write(plain).b = 2
    guarded_write(plain)["c"] = 3
    assert obj == {"a": 1} and plain == {"b": 2, "c": 3}
    this = Namespace("this", frozenset({"getMember"}), lambda name: name)
    this["member"] = JSObject()
    this["lodash"] = ScriptFunction("lodash", len)
    guarded_write(this).member = {"x": 1}
    assert this["member"] == {"x": 1}
    assert "cannot be replaced" in denied(setattr, guarded_write(this), "getMember", 1)
    assert "cannot be replaced" in denied(setattr, guarded_write(this), "lodash", 1)
    assert "cannot be added" in denied(setattr, guarded_write(this), "backdoor", 1)
    assert "string cannot be modified" in denied(guarded_write, "s")
    assert "function cannot be modified" in denied(guarded_write, len)


def test_arithmetic_and_range_bounds():
    assert guarded_pow(2, 10) == 1024
    assert guarded_pow(2, 10, 1000) == 24
    assert guarded_pow(1, 10**9) == 1
    assert guarded_lshift(1, 10) == 1024
    assert "too large" in denied(guarded_pow, 10, 10**6)
    assert "too large" in denied(guarded_lshift, 1, 10**6)
    assert len(limited_range(5)) == 5
    assert "over the limit" in denied(limited_range, 10**8)


def test_safe_builtins_leave_out_the_ways_out():
    builtins = safe_builtins()
    for name in ("type", "getattr", "open", "eval", "exec", "compile", "__import__", "vars", "iter", "format", "object"):
        assert name not in builtins
    assert builtins["len"] is len
    assert repr(builtins["range"]) == "<function range>"


def test_safe_repr_and_describe():
    assert safe_repr({"a": [1, "x", None, (2,)], "b": {1}}) == "{'a': [1, 'x', None, (2,)], 'b': {1}}"
    assert safe_repr([len, object()]) == "[<function>, <object>]"
    assert safe_repr(ScriptFunction("resolve", len)) == "<function resolve>"
    assert [describe(v) for v in (None, True, 1, 1.5, "s", {}, [], (), len, str)] == [
        "None", "boolean", "number", "number", "string", "object", "array", "array", "function", "class",
    ]
