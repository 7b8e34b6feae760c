"""The link between host and worker stays in step whatever a script does
(found by review: a MemoryError swallowed half-way through a reply)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from noderuntime.config import Config, Limits
from noderuntime.methods import MethodTable
from noderuntime.runtime import Runtime
from tests.security.conftest import refused


@pytest.fixture(scope="module")
def roomy(peer: str) -> Iterator[Runtime]:
    """One worker, so the next run lands on the same process."""
    methods = MethodTable()
    methods.add("huge", lambda run: 2**70)
    methods.add("surrogate", lambda run: {"text": "\ud800"})
    limits = Limits(wall_ms=10_000, memory_mb=256, http_bytes=20_000_000)
    with Runtime(Config(workers=1, limits=limits, fetch_allow_hosts=(peer,)), methods=methods) as runtime:
        yield runtime


def next_run_is_prompt(runtime: Runtime) -> None:
    started = time.monotonic()
    after = runtime.run("return 'next tenant ok'")
    assert after.value == "next tenant ok", after.error
    assert time.monotonic() - started < 2


def test_memory_error_inside_a_reply_cannot_be_swallowed(roomy, peer):
    source = f"""
hold = []
while True:
    try:
        hold.append("a" * 2**20)
    except Exception:
        break
hold.pop()
hold.pop()
try:
    got = len(this.fetch("http://{peer}/huge").text())
except Exception as e:
    got = "caught"
hold = None
return got
"""
    for _ in range(3):
        result = roomy.run(source)
        if not result.ok:
            assert result.error["type"] == "LimitExceeded", result.error
            assert result.error["budget"] == "memory", result.error
        next_run_is_prompt(roomy)


def test_a_surrogate_from_an_http_body_is_replaced(roomy, peer):
    result = roomy.run(f"return this.fetch('http://{peer}/utf7').text()")
    assert result.ok, result.error
    assert result.value == "?"
    next_run_is_prompt(roomy)


def test_a_method_value_that_cannot_cross_is_a_script_error(roomy):
    refused(roomy.run("return this.huge()"), "TypeError", "huge returned a value that cannot cross", 1)
    refused(roomy.run("return this.surrogate()"), "TypeError", "surrogate returned a value that cannot cross", 1)
    next_run_is_prompt(roomy)


def test_a_surrogate_in_a_log_line_is_replaced(roomy):
    result = roomy.run("print('a\\ud800b')\nreturn 1")
    assert result.ok, result.error
    assert result.logs == [{"level": "log", "message": "a?b"}]


def test_a_surrogate_in_the_result_is_named(roomy):
    refused(roomy.run("return {'t': '\\ud800'}"), "TypeError", "value.t is a string with a lone surrogate")
    next_run_is_prompt(roomy)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("return repr(resolve)", "<function resolve>"),
        ("return repr(pow)", "<function pow>"),
        ("return repr(this.lodash)", "<lodash>"),
        ("return repr([this.echo, {'a': this.moment}])", "[<method echo>, {'a': <moment>}]"),
        ("def f():\n    pass\nreturn repr(f)", "<function>"),
        ("try:\n    x = {} + 1\nexcept Exception as e:\n    return e.message", "unsupported operand type(s) for +: 'dict' and 'int'"),
        ("try:\n    this.lodash.map(1, lambda: x)\nexcept Exception as e:\n    return [str(a) for a in e.args]", None),
    ],
)
def test_reprs_and_messages_carry_no_addresses_or_qualified_names(attempt, source, expected):
    result = attempt(source)
    assert result.ok, result.error
    if expected is not None:
        assert result.value == expected
    text = str(result.value)
    assert " at 0x" not in text and "<locals>" not in text and "JSObject" not in text
