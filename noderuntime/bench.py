"""``noderuntime bench``: the sandbox's cost, measured side by side.

Each case runs the same script three ways: plain CPython (``exec`` of the same
body with no guards: the limit), in-process restricted, and on the isolated
worker pool. The table gives p50/p99 latency and runs per second.

The trivial action calls one method, ``benchEcho``, which the benchmark adds to
the runtime's method table: it measures the crossing (sandbox -> host ->
sandbox) without any store or network behind it. The findAndModify case puts
the embedded store behind it: the seed's coupon claim on 10,000 rows, direct
on the store and through a whole script run, so the runtime's overhead shows
as a ratio.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from noderuntime.config import Config
from noderuntime.methods import MethodTable
from noderuntime.methods.params import param
from noderuntime.runtime import Run, Runtime
from sandbox.guards import JSObject
from sandbox.runner import to_script

TRIVIAL_ACTION = """\
res = await this.benchEcho({"value": 1})
this.member.botMeta.tempData.last = res.value
return {"member": this.member}
"""

COMPUTE_HEAVY = """\
total = 0
best = None
for row in this.member.meta.rows:
    if row["qty"] > 2:
        total += row["price"] * row["qty"]
        if best is None or row["price"] > best["price"]:
            best = row
return {"total": total, "best": best["name"]}
"""

CLAIM_COUPON = """\
got = this.findAndModifyDataFromDataSource(
    dataSourceId=this.member.app + "_coupon",
    filter={"location": "HK", "memberId": None},
    patch={"memberId": this.member._id},
    withModifier=False,
    sortBy={"priority": 1},
    option={"new": True},
)
return got.value.couponCode
"""

MEMBER = {
    "_id": "m12345678901234567890123",
    "app": "a12345678901234567890123",
    "channel": "c12345678901234567890123",
    "externalId": "1234567890",
    "firstName": "John",
    "botMeta": {"liveChat": False, "subscribe": True, "tempData": {}, "tree": "t1", "nodeCompositeId": "n1"},
    "meta": {},
    "tags": [],
}


def bench_echo(run: Run, *, value: Any) -> dict[str, Any]:
    """The benchmark's method: returns its parameter."""
    return {"value": value}


@dataclass
class Measurement:
    """Latencies of one case in one mode."""

    case: str
    mode: str
    latencies: list[float]
    runs_per_second: float

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(len(ordered) * q), len(ordered) - 1)] * 1000


def _measure(case: str, mode: str, runs: int, once: Callable[[], Any]) -> Measurement:
    for _ in range(min(50, runs)):
        once()
    latencies = []
    started = time.perf_counter()
    for _ in range(runs):
        t0 = time.perf_counter()
        once()
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return Measurement(case, mode, latencies, runs / elapsed)


def _throughput(runtime: Runtime, source: str, context: dict[str, Any], threads: int, runs: int) -> float:
    """Runs/s with ``threads`` host threads sharing the pool."""
    per_thread = max(runs // threads, 1)
    failures: list[str] = []

    def work() -> None:
        for _ in range(per_thread):
            if not runtime.run(source, context).ok:
                failures.append("run failed")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if failures:
        raise RuntimeError(f"{len(failures)} benchmark runs failed")
    return per_thread * threads / (time.perf_counter() - started)


def _plain_function(source: str) -> Callable[[Any], Any]:
    """The same body compiled by plain CPython: no policy, no guards."""
    body = source.replace("await ", "")
    text = "def script(this):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    namespace: dict[str, Any] = {}
    exec(compile(text, "<plain>", "exec"), namespace)
    return namespace["script"]


def _plain_this(member: dict[str, Any]) -> JSObject:
    this = JSObject(member=to_script(member))
    this.benchEcho = lambda params: JSObject(value=params["value"])
    return this


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_benchmarks(
    config: Config, runs: int = 2000, out: TextIO | None = None, agendas: int = 10_000
) -> list[Measurement]:
    """Measure every case and print the table to ``out``."""
    methods = MethodTable()
    methods.add("benchEcho", bench_echo, value=param(int, float, str, dict, list, bool))
    config = replace(config, workers=2)
    rows: list[Measurement] = []
    notes: list[str] = []
    with Runtime(config, methods=methods) as runtime:
        context = {"member": MEMBER, "app": MEMBER["app"]}
        plain = _plain_function(TRIVIAL_ACTION)
        rows.append(_measure("trivial action, 1 method call", "plain exec", runs, lambda: plain(_plain_this(MEMBER))))
        rows.append(
            _measure(
                "trivial action, 1 method call",
                "in-process",
                runs,
                lambda: runtime.run(TRIVIAL_ACTION, context, mode="inprocess"),
            )
        )
        rows.append(
            _measure(
                "trivial action, 1 method call",
                "isolated",
                runs,
                lambda: runtime.run(TRIVIAL_ACTION, context, mode="isolated"),
            )
        )
        two_workers = _throughput(runtime, TRIVIAL_ACTION, context, threads=2, runs=runs * 2)
        notes.append(f"isolated, 2 workers, 2 host threads: {two_workers:,.0f} runs/s")

        rows_data = [{"price": i % 97, "qty": i % 7, "name": f"item{i}"} for i in range(10_000)]
        heavy_member = {**MEMBER, "meta": {"rows": rows_data}}
        heavy_runs = max(runs // 20, 20)
        plain_heavy = _plain_function(COMPUTE_HEAVY)
        plain_this = _plain_this(heavy_member)
        plain_row = _measure("compute-heavy, 10,000 dicts", "plain exec", heavy_runs, lambda: plain_heavy(plain_this))
        rows.append(plain_row)
        # The restricted loop alone, data already in the sandbox: the policy's
        # own cost, not the cost of copying 10,000 rows in.
        restricted_row = _measure_restricted_loop(heavy_member, heavy_runs)
        rows.append(restricted_row)
        ratio = statistics.median(restricted_row.latencies) / statistics.median(plain_row.latencies)
        notes.append(f"compute-heavy restricted/plain: {ratio:.2f}x")

        direct_row, script_row = _measure_find_and_modify(config, max(runs // 100, 10))
        rows += [direct_row, script_row]
        overhead = statistics.median(script_row.latencies) / statistics.median(direct_row.latencies)
        notes.append(f"findAndModify through a script / direct on the store: {overhead:.2f}x")

        notes.extend(measure_agendas(config, agendas))

        compiles_before = runtime.compile_cache.compiles
        runtime.run(TRIVIAL_ACTION, context, mode="inprocess")
        notes.append(f"compiles on a repeated run: {runtime.compile_cache.compiles - compiles_before}")
        rss = [_rss_mb(pid) for pid in runtime.pool.pids()]
        notes.append("worker resident memory: " + ", ".join(f"{mb:.1f} MB" for mb in rss))
    _print_table(rows, notes, out)
    return rows


def _measure_find_and_modify(config: Config, runs: int) -> tuple[Measurement, Measurement]:
    """The seed's coupon claim on an embedded data source of 10,000 rows:
    called directly on the store, then through a whole isolated script run."""
    from noderuntime.store import Store
    from noderuntime.store.updates import stamp_update

    app = MEMBER["app"]
    source = f"{app}_coupon"
    rows = [{"location": "HK", "couponCode": f"C{i:05d}", "priority": i % 10, "memberId": None} for i in range(10_000)]
    store = Store.embedded_store({source: rows})
    query = {"location": "HK", "memberId": None}
    case = "findAndModify, 10,000 rows"

    def direct() -> None:
        update = stamp_update({"$set": {"memberId": MEMBER["_id"]}}, int(time.time() * 1000))
        store.find_one_and_update(source, query, update, sort=[("priority", 1)], return_new=True)

    direct_row = _measure(case, "direct store", runs, direct)
    with Runtime(config, store=store) as runtime:
        context = {"member": MEMBER, "app": app}

        def through_script() -> None:
            if not runtime.run(CLAIM_COUPON, context).ok:
                raise RuntimeError("the coupon claim failed")

        script_row = _measure(case, "isolated", runs, through_script)
    return direct_row, script_row


def measure_agendas(config: Config, count: int, workers: int = 2) -> list[str]:
    """Agenda throughput: ``count`` one-shot agendas, all due, whose node has
    a one-line pre-action, run by ``workers`` scheduler workers on one
    embedded store (and a pool of as many sandbox workers). Then a paced
    stream at half that rate, to show how late a run starts when the
    scheduler is not behind."""
    from noderuntime.engine import Engine
    from noderuntime.engine.agenda import AgendaWorker, JobReport
    from noderuntime.store import Store

    app, channel, tree = "b00000000000000000000001", "b00000000000000000000002", "b00000000000000000000003"
    members = [
        {"_id": f"b1{i:022d}", "app": app, "channel": channel, "botMeta": {"subscribe": True}} for i in range(1000)
    ]
    node = {"name": "Ping", "preAction": "this.member.botMeta.pinged = True\nreturn {'member': this.member}"}
    store = Store.embedded_store(
        {
            "channels": [{"_id": channel, "app": app, "trees": [tree]}],
            "trees": [{"_id": tree, "app": app, "nodes": {"PingNode00000001": node}}],
            "members": members,
        }
    )
    config = replace(config, workers=workers)

    def plan(times: list[int]) -> None:
        now = int(time.time() * 1000)
        store.database["agendas"].insert_many(
            [
                {
                    "app": app,
                    "channel": channel,
                    "member": members[i % len(members)]["_id"],
                    "tree": tree,
                    "nodeCompositeId": "PingNode00000001",
                    "nextRunAt": at,
                    "priority": 0,
                    "meta": {},
                    "completed": False,
                    "runCount": 0,
                    "failCount": 0,
                    "createdAt": now,
                    "updatedAt": now,
                }
                for i, at in enumerate(times)
            ]
        )

    def run(times: list[int], forever: bool) -> tuple[float, list[int]]:
        plan(times)
        lateness: list[int] = []
        lock = threading.Lock()

        def record(job: JobReport) -> None:
            if job.outcome != "completed":
                raise RuntimeError(f"agenda {job.agenda}: {job.outcome} {job.error}")
            with lock:
                lateness.append(job.late_ms)

        started = time.perf_counter()
        pool = [AgendaWorker(engine, config.agenda, name=f"bench-{n}", on_job=record) for n in range(workers)]
        threads = [threading.Thread(target=w.run_forever if forever else w.run_due) for w in pool]
        for thread in threads:
            thread.start()
        if forever:  # workers that wait for what is due: stop them once all ran
            while len(lateness) < len(times):
                time.sleep(0.05)
            for worker in pool:
                worker.stop()
        for thread in threads:
            thread.join()
        if len(lateness) != len(times):
            raise RuntimeError(f"{len(lateness)} of {len(times)} agendas ran")
        return time.perf_counter() - started, lateness

    with Runtime(config, store=store) as runtime:
        engine = Engine(runtime)
        runtime.run("return 1", {})  # start the pool outside the measurement
        now = int(time.time() * 1000)
        seconds, late = run([now] * count, forever=False)
        rate = count / seconds
        notes = [
            f"agendas: {count:,} due at once, {workers} workers: {rate:,.0f} agendas/s; "
            f"start after nextRunAt p50 {_percentile(late, 0.5):,} ms, p99 {_percentile(late, 0.99):,} ms (the backlog)"
        ]
        # The embedded store scans every agenda to find the due ones (MongoDB
        # reads its index): the finished backlog is cleared so it does not weigh
        # on the paced runs.
        for per_second, planned in ((rate / 2, max(count // 5, 100)), (20, max(count // 50, 50))):
            store.delete("agendas", {"completed": True})
            start = int(time.time() * 1000) + 500
            _seconds, late = run([start + int(i * 1000 / per_second) for i in range(planned)], forever=True)
            notes.append(
                f"agendas: {planned:,} paced at {per_second:,.0f}/s: start after nextRunAt "
                f"p50 {_percentile(late, 0.5):,} ms, p99 {_percentile(late, 0.99):,} ms"
            )
    return notes


def _percentile(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)] if ordered else 0


def _measure_restricted_loop(member: dict[str, Any], runs: int) -> Measurement:
    from sandbox.policy import compile_uncached
    from sandbox.runner import RunLimits, run_script

    compiled = compile_uncached(COMPUTE_HEAVY)
    data = to_script({"member": member})

    def setup(run: Any) -> dict[str, Any]:
        return {"this": JSObject(member=data["member"])}

    def once() -> None:
        outcome = run_script(compiled, data, lambda *a: {}, setup, RunLimits(wall_seconds=30, cpu_seconds=30))
        if not outcome.ok:
            raise RuntimeError(outcome.error)

    return _measure("compute-heavy, 10,000 dicts", "restricted", runs, once)


def _print_table(rows: list[Measurement], notes: list[str], out: TextIO | None) -> None:
    header = f"{'case':<32} {'mode':<12} {'p50 ms':>9} {'p99 ms':>9} {'runs/s':>10}"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.case:<32} {row.mode:<12} {row.p(0.5):>9.3f} {row.p(0.99):>9.3f} {row.runs_per_second:>10,.0f}"
        )
    lines.append("")
    lines.extend(notes)
    text = "\n".join(lines)
    print(text, file=out)
