"""The isolated pool: lock-down, deadlines, crashes, recycling, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sandbox import seccomp
from sandbox.pool import PoolConfig, PoolRun, WorkerLimits, WorkerPool
from tests.sandbox.conftest import echo_host

ROOT = str(Path(__file__).resolve().parents[2])


def make_pool(**overrides) -> WorkerPool:
    settings = {"size": 2, **overrides}
    config = PoolConfig(setup="tests.sandbox.hooks:basic", extra_path=(ROOT,), **settings)
    return WorkerPool(config)


@pytest.fixture(scope="module")
def pool():
    with make_pool() as shared:
        yield shared


def run(pool: WorkerPool, source: str, wall: float = 2.0, data: dict | None = None) -> dict:
    return pool.run(PoolRun(source, "action", data or {}, wall, 2.0, 65_536), echo_host)


def test_runs_a_script_and_answers_its_host_calls(pool):
    done = run(pool, "return this.echo({'n': 1}).echo.n + 1")
    assert done["ok"] is True
    assert done["value"] == 2


def test_worker_environment_is_clean(pool):
    assert run(pool, "return probe['environ']()")["value"] == ["LANG", "LC_ALL", "PATH"]


@pytest.mark.skipif(seccomp.load_library() is None, reason="libseccomp is not installed on this machine")
@pytest.mark.parametrize("probe", ["socket", "open_file", "write_file", "spawn", "fork"])
def test_seccomp_refuses_sockets_files_and_processes(pool, probe):
    assert run(pool, f"return probe['{probe}']()")["value"].startswith("refused:")


def test_worker_reports_its_lock_down():
    with make_pool() as fresh:
        worker = fresh._idle.get()
        try:
            assert worker.hello["rlimits"]["RLIMIT_AS"] is True
            assert worker.hello["rlimits"]["RLIMIT_NOFILE"] is True
            expected = "on" if seccomp.load_library() is not None else "unavailable"
            assert worker.hello["seccomp"] == expected
        finally:
            fresh._idle.put(worker)


def test_wall_deadline_kills_and_replaces_the_worker(pool):
    before = run(pool, "return probe['pid']()")["value"]
    pids = set(pool.pids())
    # A single C call cannot be interrupted by ticks: only the kill ends it.
    done = run(pool, "x = sorted(range(10**7), key=lambda v: -v)\nx = sorted(range(10**7), key=lambda v: -v)", wall=0.3)
    assert done["error"]["type"] == "LimitExceeded"
    assert done["error"]["budget"] == "wallTime"
    assert before in pids
    assert run(pool, "return 'still serving'")["value"] == "still serving"


def test_a_crashed_worker_is_replaced_and_the_run_says_so(pool):
    done = run(pool, "probe['exit']()")
    assert done["ok"] is False
    assert done["error"]["type"] == "WorkerCrashed"
    assert "exited with status 7" in done["error"]["message"]
    assert run(pool, "return 1")["value"] == 1


def test_a_protocol_violation_is_a_crash_not_a_host_failure(pool):
    done = run(pool, "probe['garbage']()\nreturn 1")
    assert done["ok"] is False
    assert done["error"]["type"] == "WorkerCrashed"
    assert run(pool, "return 2")["value"] == 2


def test_memory_limit_gives_a_named_error_and_a_fresh_worker():
    with make_pool(limits=WorkerLimits(memory_bytes=256 * 1024 * 1024)) as small:
        done = run(small, "x = 'a' * (300 * 1024 * 1024)")
        assert done["error"]["type"] == "LimitExceeded"
        assert done["error"]["budget"] == "memory"
        assert done["error"]["line"] == 1
        assert run(small, "return len('a' * 1000)")["value"] == 1000


def test_workers_are_recycled_after_n_runs():
    with make_pool(size=1, recycle_after=3) as recycled:
        pids = [run(recycled, "return probe['pid']()")["value"] for _ in range(6)]
        assert len(set(pids[:3])) == 1
        assert len(set(pids)) == 2


def test_compiled_code_is_cached_in_the_worker():
    with make_pool(size=1) as single:
        first = run(single, "return 41 + 1")
        second = run(single, "return 41 + 1")
        assert first["compiles"] == second["compiles"] == 1


def test_concurrent_runs_share_the_pool(pool):
    results: list[object] = []

    def work(n: int) -> None:
        for i in range(20):
            results.append(run(pool, f"return this.echo({{'n': {n * 100 + i}}}).echo.n")["value"])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(n * 100 + i for n in range(4) for i in range(20))


def test_on_start_is_called_once_a_worker_is_free_and_before_any_host_call(pool):
    events: list[str] = []

    def on_call(name, params):
        events.append("call")
        return echo_host(name, params)

    request = PoolRun("this.echo({'n': 1})\nthis.echo({'n': 2})", "action", {}, 2.0, 2.0, 65_536)
    done = pool.run(request, on_call, on_start=lambda: events.append("start"))
    assert done["ok"], done
    assert events == ["start", "call", "call"]
