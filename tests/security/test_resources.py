"""Resource exhaustion: each attempt ends within its budget with a named error."""

from __future__ import annotations

import time

import pytest

from tests.security.conftest import LIMITS, refused

# (id, source, error type, message fragment, budget or None)
CASES = [
    ("while-true", "while True:\n    pass", "LimitExceeded", "wall time budget exceeded", "wallTime"),
    ("swallowed-deadline", "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass", "LimitExceeded", "wall time", "wallTime"),
    ("finally-return", "try:\n    while True:\n        pass\nfinally:\n    return 'escaped'", "LimitExceeded", "wall time", "wallTime"),
    ("growing-list", "xs = [1]\nfor x in xs:\n    xs.append(x)", "LimitExceeded", "", None),
    ("exponential-calls", "def f(n):\n    return f(n + 1) + f(n + 1) if n < 50 else 1\nreturn f(0)", "LimitExceeded", "wall time", "wallTime"),
    ("nested-comprehension", "return sum(1 for a in range(10**6) for b in range(10**6))", "LimitExceeded", "wall time", "wallTime"),
    ("lambda-loop", "f = lambda n: f(n - 1) if n else 0\nwhile True:\n    f(500)", "LimitExceeded", "wall time", "wallTime"),
    ("c-level-sort", "x = sorted(range(10**7), key=lambda v: -v)\ny = sorted(x, key=lambda v: -v)", "LimitExceeded", "", None),
    ("deep-recursion", "def f(n):\n    return f(n + 1)\nreturn f(0)", "RecursionError", "maximum recursion depth", None),
    ("string-times-huge", "x = 'a' * 10**10", "LimitExceeded", "memory budget exceeded", "memory"),
    ("list-times-huge", "x = [0] * 10**10", "LimitExceeded", "memory budget exceeded", "memory"),
    ("doubling-list", "x = [1]\nwhile True:\n    x = x + x", "LimitExceeded", "memory budget exceeded", "memory"),
    ("power-tower", "return 10**10**10", "RangeError", "integer result too large", None),
    ("pow-builtin", "return pow(10, 10**8)", "RangeError", "integer result too large", None),
    ("left-shift", "return 1 << 10**9", "RangeError", "integer result too large", None),
    ("augmented-power", "x = 9\nx **= 10**7", "RangeError", "integer result too large", None),
    ("huge-range", "return sum(range(10**12))", "RangeError", "over the limit", None),
    ("ljust-huge", "return 'a'.ljust(10**10)", "LimitExceeded", "memory budget exceeded", "memory"),
    ("print-flood", "while True:\n    print('flood' * 20)", "LimitExceeded", "log budget exceeded", "logBytes"),
    ("one-huge-log-line", "console.log('x' * 100000)", "LimitExceeded", "log budget exceeded", "logBytes"),
    ("method-call-flood", "while True:\n    this.echo({'value': 1})", "LimitExceeded", "methodCalls budget exceeded", "methodCalls"),
    ("caught-call-budget", "for i in range(100):\n    try:\n        this.echo({'value': i})\n    except BaseException:\n        pass\nreturn 'swallowed'", "LimitExceeded", "methodCalls budget exceeded", "methodCalls"),
    ("huge-return", "return 'x' * (20 * 1024 * 1024)", "LimitExceeded", "", None),
]


@pytest.mark.parametrize(("source", "kind", "fragment", "budget"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_exhaustion_ends_with_a_named_error(attempt, source, kind, fragment, budget):
    started = time.monotonic()
    result = attempt(source)
    elapsed = time.monotonic() - started
    refused(result, kind, fragment)
    if budget is not None:
        assert result.error["budget"] == budget
    # Within the limit: the wall budget plus the kill grace and one pool run.
    assert elapsed < LIMITS.wall_ms / 1000 + 3.0
