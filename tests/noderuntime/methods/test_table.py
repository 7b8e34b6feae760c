"""The method table: dispatch, budgets, errors and the call record."""

from __future__ import annotations

from noderuntime.config import Limits
from noderuntime.errors import NotFound
from noderuntime.methods import MethodTable, documented_methods
from noderuntime.methods.params import param
from noderuntime.runtime import Run, Runtime


def make_run(**limits) -> Run:
    return Run(Runtime(), {"app": "a1"}, Limits(**limits))


def table() -> MethodTable:
    methods = MethodTable([])

    def find(run, *, key):
        if key == "missing":
            raise NotFound(f"no document {key}")
        return {"key": key, "app": run.app}

    def broken(run):
        raise RuntimeError("/secret/path/db.py exploded")

    methods.add("find", find, key=param(str, required=True))
    methods.add("broken", broken)
    return methods


def test_a_call_returns_the_value_and_is_recorded():
    run = make_run()
    reply = table().call(run, "find", {"key": "k"})
    assert reply == {"op": "return", "value": {"key": "k", "app": "a1"}}
    assert run.calls[0]["method"] == "find"
    assert run.calls[0]["ok"] is True
    assert run.usage.method_calls == 1


def test_method_errors_become_script_errors_of_their_kind_naming_the_method():
    reply = table().call(make_run(), "find", {"key": "missing"})
    assert reply == {
        "op": "raise",
        "error": {"type": "NotFound", "message": "find: no document missing", "fatal": False},
    }


def test_a_message_that_already_names_the_method_is_not_prefixed_twice():
    reply = table().call(make_run(), "find", {})
    assert reply["error"]["message"].count("find:") == 1


def test_invalid_parameters_are_refused_before_the_method_runs():
    reply = table().call(make_run(), "find", {})
    assert reply["error"]["type"] == "ParamError"
    assert reply["error"]["message"] == "find: 'key' is required"


def test_unknown_methods_suggest_close_names():
    reply = table().call(make_run(), "fnd", {})
    assert reply["error"]["type"] == "UnknownMethod"
    assert "did you mean find" in reply["error"]["message"]


def test_host_bugs_do_not_leak_details():
    reply = table().call(make_run(), "broken", {})
    assert reply["error"] == {"type": "InternalError", "message": "broken failed inside the host"}


def test_the_call_budget_is_fatal():
    run = make_run(method_calls=2)
    methods = table()
    methods.call(run, "find", {"key": "a"})
    methods.call(run, "find", {"key": "b"})
    reply = methods.call(run, "find", {"key": "c"})
    assert reply["error"] == {
        "type": "BudgetExceeded",
        "message": "methodCalls budget exceeded (limit 2 calls)",
        "fatal": True,
        "budget": "methodCalls",
    }


def test_library_methods_are_not_offered_as_this_names():
    assert "fetch" in documented_methods()
    assert "fetch" not in MethodTable().script_names()
