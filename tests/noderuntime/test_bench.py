"""noderuntime bench prints its table (a smoke test: no timing is asserted)."""

from __future__ import annotations

import io

from noderuntime.bench import run_benchmarks
from noderuntime.config import Config


def test_bench_measures_every_case_in_every_mode():
    out = io.StringIO()
    rows = run_benchmarks(Config(), runs=20, out=out, agendas=200)
    assert [(r.case, r.mode) for r in rows] == [
        ("trivial action, 1 method call", "plain exec"),
        ("trivial action, 1 method call", "in-process"),
        ("trivial action, 1 method call", "isolated"),
        ("compute-heavy, 10,000 dicts", "plain exec"),
        ("compute-heavy, 10,000 dicts", "restricted"),
        ("findAndModify, 10,000 rows", "direct store"),
        ("findAndModify, 10,000 rows", "isolated"),
    ]
    text = out.getvalue()
    assert "p50 ms" in text and "runs/s" in text
    assert "compiles on a repeated run: 0" in text
    assert "worker resident memory:" in text
    assert "isolated, 2 workers, 2 host threads:" in text
    assert "findAndModify through a script / direct on the store:" in text
    assert "agendas: 200 due at once, 2 workers:" in text
    assert "agendas: 100 paced at" in text
    assert "agendas: 50 paced at 20/s: start after nextRunAt p50" in text
