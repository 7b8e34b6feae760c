"""The runtime: ``Runtime(config).run(script, context) -> RunResult``.

The runtime holds what scripts must never hold (the HTTP client, later the
store and the platforms), owns the sandbox (a worker pool, or the in-process
runner), and answers every method call a script makes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from noderuntime.config import Config, Limits
from noderuntime.context import CONTEXT_FIELDS, WORKER_PRELOAD, make_setup
from noderuntime.errors import BudgetExceeded
from noderuntime.fetch import EgressPolicy, HttpClient
from noderuntime.methods import MethodTable
from noderuntime.store import Store
from sandbox.inprocess import InProcessRunner
from sandbox.policy import CompileCache, ScriptCompileError, snippet
from sandbox.pool import PoolConfig, PoolRun, WorkerLimits, WorkerPool
from sandbox.runner import RunLimits

if TYPE_CHECKING:
    from noderuntime.engine import Engine

SCRIPT_KINDS = ("action", "response", "condition", "tagging")


@dataclass
class Usage:
    """What one run used."""

    wall_ms: float = 0.0
    cpu_ms: float | None = 0.0
    method_calls: int = 0
    http_requests: int = 0
    http_bytes: int = 0


@dataclass
class RunResult:
    """The outcome of one script run.

    ``value`` is what the script returned (or resolved); ``member`` is
    ``this.member`` as the script left it; ``error`` is ``None`` on success or
    ``{type, message, line, column, snippet}``; ``calls`` lists every method
    call with its parameters, whether it succeeded and how long it took.
    """

    ok: bool
    value: Any = None
    member: dict[str, Any] | None = None
    logs: list[dict[str, str]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON output."""
        return {
            "ok": self.ok,
            "value": self.value,
            "member": self.member,
            "logs": self.logs,
            "error": self.error,
            "usage": self.usage.__dict__,
            "calls": self.calls,
        }


class Run:
    """Host-side state of one run: the app, budgets, usage and call log.

    Methods receive it as their first argument.
    """

    def __init__(
        self,
        runtime: Runtime,
        context: dict[str, Any],
        limits: Limits,
        *,
        store: Store | None = None,
        http: HttpClient | None = None,
        now: int | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.runtime = runtime
        #: The node engine that started this run (for redirects from the script).
        self.engine = engine
        self._store = store
        self.http: HttpClient = http or runtime.http
        self._now = now
        self.context = context
        self.app: str | None = context.get("app") or (context.get("member") or {}).get("app")
        self.limits = limits
        self.usage = Usage()
        self.calls: list[dict[str, Any]] = []
        #: Notes from the host for the author (a read that was cut), shown
        #: after the script's own log lines.
        self.warnings: list[str] = []
        #: The record of the method call being served (methods may annotate it).
        self.current_call: dict[str, Any] | None = None
        self.deadline = time.monotonic() + limits.wall_ms / 1000

    def start_clock(self) -> None:
        """The script starts now: its wall budget counts from here (a run that
        waited for a free worker has not used its time waiting)."""
        self.deadline = time.monotonic() + self.limits.wall_ms / 1000

    @property
    def store(self) -> Store:
        """The run's database: the one given to :meth:`Runtime.run`, or the runtime's."""
        return self._store if self._store is not None else self.runtime.store

    @property
    def frozen_now(self) -> int | None:
        """The clock :meth:`Runtime.run` was given for this run (epoch ms), or
        None when the run follows the runtime's clock."""
        return self._now

    def now_ms(self) -> int:
        """The run's clock (frozen when :meth:`Runtime.run` was given ``now``), in epoch milliseconds."""
        return self._now if self._now is not None else self.runtime.now_ms()

    def warn(self, message: str) -> None:
        """Tell the author something about this run without failing it."""
        self.warnings.append(message)

    def charge_method_call(self) -> None:
        """Count one method call against the budget."""
        self.usage.method_calls += 1
        if self.usage.method_calls > self.limits.method_calls:
            raise BudgetExceeded("methodCalls", self.limits.method_calls, "calls")

    def charge_http_request(self) -> None:
        """Count one HTTP request against the budget."""
        self.usage.http_requests += 1
        if self.usage.http_requests > self.limits.http_requests:
            raise BudgetExceeded("httpRequests", self.limits.http_requests, "requests")

    def charge_http_bytes(self, count: int) -> None:
        """Count response bytes against the budget."""
        self.usage.http_bytes += count
        if self.usage.http_bytes > self.limits.http_bytes:
            raise BudgetExceeded("httpBytes", self.limits.http_bytes, "bytes")

    def http_bytes_left(self) -> int:
        """Response bytes this run may still receive."""
        return max(self.limits.http_bytes - self.usage.http_bytes, 0)

    def fetch_timeout_seconds(self, options: dict[str, Any] | None) -> float:
        """The timeout of one fetch: the script's (ms) or the default, never past the deadline."""
        asked = (options or {}).get("timeout")
        wanted = asked / 1000 if isinstance(asked, (int, float)) and asked > 0 else self.limits.fetch_timeout_ms / 1000
        left = self.deadline - time.monotonic()
        return max(min(wanted, left), 0.001)


class Runtime:
    """Runs node scripts for a tree engine, a test runner or the CLI.

    ``clock`` returns epoch milliseconds; give a constant to freeze
    ``this.moment()`` and the store's timestamps in tests. ``store`` is the
    database; without one, the runtime opens MongoDB at ``config.mongo_uri``
    or, without a URI, an embedded store. The worker pool starts on the first
    isolated run and stops with :meth:`close` (or the ``with`` block).
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        methods: MethodTable | None = None,
        clock: Callable[[], int] | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config or Config()
        self.methods = methods or MethodTable()
        self.clock = clock
        self._store = store
        self._owns_store = store is None
        self._store_lock = threading.Lock()
        self.http = HttpClient(EgressPolicy(allow_hosts=frozenset(self.config.fetch_allow_hosts)))
        self.compile_cache = CompileCache()
        self._pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        self._inprocess: InProcessRunner | None = None
        #: Per thread: how many host calls of running scripts are being served.
        self._serving = threading.local()
        #: The method table version the sandboxes were built with.
        self._methods_version = self.methods.version

    @property
    def store(self) -> Store:
        """The database, opened on first use."""
        with self._store_lock:
            if self._store is None:
                if self.config.mongo_uri:
                    self._store = Store.connect(self.config.mongo_uri, self.config.mongo_database)
                else:
                    self._store = Store.embedded_store(name=self.config.mongo_database)
            return self._store

    def now_ms(self) -> int:
        """Epoch milliseconds by the runtime's clock."""
        return int(self.clock()) if self.clock is not None else int(time.time() * 1000)

    # Execution backends ------------------------------------------------------

    def _refresh_method_names(self) -> None:
        """Workers learn the method names when they start: after
        ``methods.add``, start new ones (and a new in-process setup)."""
        if self.methods.version != self._methods_version:
            self._stop_pool()
            self._inprocess = None
            self._methods_version = self.methods.version

    @property
    def pool(self) -> WorkerPool:
        """The worker pool, started on first use."""
        with self._pool_lock:
            if self._pool is None:
                limits = WorkerLimits(
                    memory_bytes=self.config.limits.memory_mb * 1024 * 1024, seccomp=self.config.seccomp
                )
                self._pool = WorkerPool(
                    PoolConfig(
                        setup="noderuntime.context:worker_setup",
                        setup_args=(self.methods.script_names(),),
                        size=self.config.workers,
                        recycle_after=self.config.recycle_after,
                        limits=limits,
                        preload=WORKER_PRELOAD,
                    )
                )
            return self._pool

    def _runner(self) -> InProcessRunner:
        if self._inprocess is None:
            self._inprocess = InProcessRunner(make_setup(self.methods.script_names()))
        return self._inprocess

    def _stop_pool(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def close(self) -> None:
        """Stop the worker pool (and close a MongoDB connection this runtime opened)."""
        self._stop_pool()
        with self._store_lock:
            if self._owns_store and self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Running -------------------------------------------------------------------

    def run(
        self,
        script: str,
        context: dict[str, Any] | None = None,
        *,
        kind: str = "action",
        mode: str | None = None,
        limits: Limits | None = None,
        store: Store | None = None,
        http: HttpClient | None = None,
        now: int | None = None,
        engine: Engine | None = None,
    ) -> RunResult:
        """Run one script against ``context`` (member, messageEvent, channel,
        group, agendaMeta, node, app). Never raises for anything the script does.

        ``store``, ``http`` and ``now`` replace, for this run only, the
        runtime's database, its HTTP client (anything with the
        :meth:`HttpClient.fetch` signature, such as a test's stubs) and its
        clock (epoch milliseconds): a test runner runs many cases at once on
        one pool, each with its own world. ``engine`` is the node engine
        running the script, which redirects made by the script go through.

        A run started while serving a host call of another run (a redirect
        from a script runs the target node's scripts) borrows an extra
        worker when none is idle, so nested runs cannot wait on each other."""
        if kind not in SCRIPT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SCRIPT_KINDS)}, not {kind!r}")
        mode = mode or self.config.mode
        limits = limits or self.config.limits
        context = context or {}
        unknown = set(context) - set(CONTEXT_FIELDS)
        if unknown:
            raise ValueError(f"unknown context field(s): {', '.join(sorted(unknown))}")
        started = time.perf_counter()
        self._refresh_method_names()
        run = Run(self, context, limits, store=store, http=http, now=now, engine=engine)
        try:
            compiled = self.compile_cache.get(script, kind)
        except ScriptCompileError as error:
            return self._compile_failure(error, run, started)
        data = self._run_data(context, now)
        run_limits = RunLimits(limits.wall_ms / 1000, limits.cpu_ms / 1000, limits.log_bytes)

        def on_call(name: str, params: Any) -> dict[str, Any]:
            self._serving.depth = getattr(self._serving, "depth", 0) + 1
            try:
                return self.methods.call(run, name, params)
            finally:
                self._serving.depth -= 1

        if mode == "inprocess":
            done = self._runner().run(compiled, data, on_call, run_limits)
        else:
            request = PoolRun(script, kind, data, run_limits.wall_seconds, run_limits.cpu_seconds, limits.log_bytes)
            nested = getattr(self._serving, "depth", 0) > 0
            done = self.pool.run(request, on_call, on_start=run.start_clock, borrow=nested)
        return self._result(done, run, script, started)

    def _run_data(self, context: dict[str, Any], now: int | None) -> dict[str, Any]:
        # No copy here: both backends copy on the way in (BSON or to_script).
        data = {name: context.get(name) for name in CONTEXT_FIELDS}
        if now is not None:
            data["clock"] = {"frozen": int(now)}
        elif self.clock is not None:
            data["clock"] = {"frozen": int(self.clock())}
        return data

    def _compile_failure(self, error: ScriptCompileError, run: Run, started: float) -> RunResult:
        info = {**error.as_error(), "snippet": snippet(error.source, error.line, error.column)}
        if len(error.problems) > 1:
            info["problems"] = [p.__dict__ for p in error.problems]
        run.usage.wall_ms = round((time.perf_counter() - started) * 1000, 3)
        return RunResult(ok=False, error=info, usage=run.usage, member=run.context.get("member"))

    @staticmethod
    def _result(done: dict[str, Any], run: Run, script: str, started: float) -> RunResult:
        error = done.get("error")
        if error is not None:
            error = dict(error)
            error["snippet"] = snippet(script, error.get("line"), error.get("column"))
        run.usage.wall_ms = round((time.perf_counter() - started) * 1000, 3)
        run.usage.cpu_ms = done.get("cpu_ms")
        outputs = done.get("outputs") or {}
        return RunResult(
            ok=bool(done.get("ok")),
            value=done.get("value"),
            member=outputs.get("member", run.context.get("member")),
            logs=list(done.get("logs") or []) + [{"level": "warn", "message": note} for note in run.warnings],
            error=error,
            usage=run.usage,
            calls=run.calls,
        )
