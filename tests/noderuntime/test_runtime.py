"""Runtime.run in both modes: the same script gives the same result."""

from __future__ import annotations

import threading
import time

import pytest

from noderuntime.config import Config, Limits
from noderuntime.methods import MethodTable
from noderuntime.runtime import Runtime
from tests.noderuntime.conftest import FROZEN_NOW

MEMBER = {"_id": "m1", "app": "a1", "firstName": "John", "botMeta": {"tempData": {}, "subscribe": True}, "meta": {}}


def test_seed_example_saves_text_as_gender(run):
    result = run(
        "this.member.botMeta.tempData.gender = this.messageEvent.data.text\nreturn {'member': this.member}",
        {"member": MEMBER, "messageEvent": {"type": "TEXT", "data": {"text": "female"}}},
    )
    assert result.ok, result.error
    assert result.member["botMeta"]["tempData"]["gender"] == "female"
    assert result.value["member"] == result.member
    assert MEMBER["botMeta"]["tempData"] == {}, "the caller's context must not be modified"


def test_member_left_by_the_script_without_returning_it(run):
    result = run("this.member.customLocale = 'zh_HK'", {"member": MEMBER})
    assert result.ok
    assert result.value is None
    assert result.member["customLocale"] == "zh_HK"


def test_method_call_crosses_to_the_host(run):
    result = run("r = await this.echo({'value': [1, 2]})\nreturn r.value", {"member": MEMBER, "app": "a1"})
    assert result.value == [1, 2]
    assert result.calls[0]["method"] == "echo"
    assert result.calls[0]["params"] == {"value": [1, 2]}
    assert result.usage.method_calls == 1


def test_keyword_arguments_are_parameters(run):
    assert run("return this.echo(value='k').value").value == "k"


def test_app_comes_from_the_context_or_the_member(run):
    assert run("return this.echo({'value': 1}).app", {"member": MEMBER}).value == "a1"
    assert run("return this.app", {"app": "a9"}).value == "a9"


def test_moment_uses_the_runtime_clock(run):
    result = run("return [this.moment().valueOf(), this.moment().add(5, 'minutes').toISOString()]")
    assert result.value == [FROZEN_NOW, "2020-09-30T16:05:00.000Z"]


def test_lodash_inside_the_sandbox(run):
    source = (
        "rows = [{'n': 'a', 'v': 2}, {'n': 'b', 'v': 1}]\nreturn this.lodash.map(this.lodash.sortBy(rows, 'v'), 'n')"
    )
    assert run(source).value == ["b", "a"]


def test_unknown_names_on_this_suggest_the_right_one(run):
    result = run("return this.membr", {"member": MEMBER})
    assert result.error["type"] == "UnknownName"
    assert result.error["message"] == "this.membr does not exist; did you mean member?"


def test_runtime_error_with_line_column_and_snippet(run):
    result = run("x = 1\ny = this.member.meta.count + 1", {"member": MEMBER})
    assert result.error["type"] == "TypeError"
    assert (result.error["line"], result.error["column"]) == (2, 5)
    assert result.error["snippet"] == "   2 | y = this.member.meta.count + 1\n" + " " * 11 + "^"


def test_compile_error_with_snippet(run):
    result = run("x = 1\nimport os")
    assert result.error["type"] == "CompileError"
    assert result.error["line"] == 2
    assert result.error["snippet"].startswith("   2 | import os")


def test_budget_is_named(run):
    result = run("while True:\n    this.echo({'value': 1})", limits=Limits(method_calls=3))
    assert result.error["budget"] == "methodCalls"
    assert result.usage.method_calls == 4


def test_response_kind_returns_a_response_object(run):
    source = "return {'type': 'REACT', 'message_id': this.messageEvent.messageId, 'reaction': 'love'}"
    result = run(source, {"messageEvent": {"messageId": "mid.1"}}, kind="response")
    assert result.value == {"type": "REACT", "message_id": "mid.1", "reaction": "love"}


def test_condition_kind_is_an_expression(run):
    event = {"messageEvent": {"type": "PAYLOAD", "data": {"payload": "GO"}}}
    assert (
        run(
            'this.messageEvent.type == "PAYLOAD" and this.messageEvent.data.payload == "GO"', event, kind="condition"
        ).value
        is True
    )


def test_tagging_kind(run):
    result = run(
        "return {'tags': [f\"{this.member.botMeta.tempData.template}\"]}",
        {"member": {"botMeta": {"tempData": {"template": "vip"}}}},
        kind="tagging",
    )
    assert result.value == {"tags": ["vip"]}


def test_usage_is_reported(run):
    result = run("return 1")
    assert result.usage.wall_ms > 0
    assert result.usage.cpu_ms is not None


def test_bad_arguments_are_value_errors(shared_runtime):
    with pytest.raises(ValueError, match="unknown context field"):
        shared_runtime.run("return 1", {"membr": {}})
    with pytest.raises(ValueError, match="kind must be one of"):
        shared_runtime.run("return 1", kind="trigger")


def test_second_run_does_not_compile_again(shared_runtime):
    source = "return 'cache me'"
    shared_runtime.run(source, mode="inprocess")
    before = shared_runtime.compile_cache.compiles
    shared_runtime.run(source, mode="inprocess")
    shared_runtime.run(source, mode="isolated")
    assert shared_runtime.compile_cache.compiles == before


@pytest.mark.parametrize("mode", ["inprocess", "isolated"])
def test_methods_added_after_the_first_run_are_offered(mode):
    with Runtime(Config(workers=1)) as runtime:
        assert runtime.run("return 1", mode=mode).ok
        runtime.methods.add("late", lambda run: "here")
        result = runtime.run("return this.late()", mode=mode)
        assert result.value == "here", result.error


def test_time_spent_waiting_for_a_worker_is_not_taken_from_the_run():
    def time_left(run):
        return {"ms": (run.deadline - time.monotonic()) * 1000}

    def nap(run):
        time.sleep(1.0)

    methods = MethodTable()
    methods.add("timeLeft", time_left)
    methods.add("nap", nap)
    with Runtime(Config(workers=1), methods=methods) as runtime:
        runtime.run("return 1")  # the pool is up
        busy = threading.Thread(target=lambda: runtime.run("this.nap()"))
        busy.start()
        time.sleep(0.1)  # the only worker is busy for another 0.9 s
        result = runtime.run("return this.timeLeft()", limits=Limits(wall_ms=800))
        busy.join()
    assert result.ok, result.error
    # It waited for the worker, yet nearly all of its 800 ms are still ahead of it.
    assert result.value["ms"] > 500
    assert result.usage.wall_ms > 300  # (the wait itself was real)
