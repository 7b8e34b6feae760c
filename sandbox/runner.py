"""Run one compiled script: globals, ticks, the log, settlement, errors.

Shared by the isolated worker and the in-process mode, so both apply the same
guards and report the same errors. The host side is reached only through the
``call`` function handed in, and only plain data crosses it.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FunctionType, TracebackType
from typing import Any

from sandbox import guards
from sandbox.errors import LimitExceeded, ScriptError, ScriptExit, clean_message
from sandbox.guards import Exposed, JSObject, ScriptFunction, describe
from sandbox.policy import SCRIPT_FILENAME, CompiledScript

TICK_CHUNK = 1024
INT64_MAX = 2**63 - 1
MAX_DEPTH = 64

#: A host call: method name and plain parameters in, plain reply out.
#: The reply is ``{"op": "return", "value": ...}`` or
#: ``{"op": "raise", "error": {"type", "message", "fatal", "budget"?}}``.
HostCall = Callable[[str, Any], dict]
#: Builds the script's own names (``this`` and friends) from the run's data.
Setup = Callable[["RunContext"], dict[str, Any]]


@dataclass
class RunLimits:
    """Per-run limits enforced inside the sandbox."""

    wall_seconds: float = 5.0
    cpu_seconds: float = 2.0
    log_bytes: int = 65_536


@dataclass
class RunContext:
    """What a setup hook gets: the run's data and the way to call the host."""

    data: JSObject
    call: Callable[[str, Any], Any]
    #: Extra plain outputs the setup wants returned with the result
    #: (for example the member as the script left it).
    outputs: dict[str, Callable[[], Any]] = field(default_factory=dict)


class RunState:
    """Ticks, deadlines and the fatal latch of one run.

    Once a limit is exceeded the same error is raised at every later tick and
    host call, so ``except BaseException`` cannot swallow it, and the result
    reports it whatever the script returned.
    """

    def __init__(self, limits: RunLimits, run_globals: dict[str, Any]) -> None:
        self.limits = limits
        self.globals = run_globals
        self.wall_deadline = time.monotonic() + limits.wall_seconds
        self.cpu_deadline = time.process_time() + limits.cpu_seconds
        self.fatal: LimitExceeded | None = None
        self.ticks = 0
        self.log: list[dict[str, str]] = []
        self.log_bytes = 0
        self.settled: ScriptExit | None = None

    def fail(self, error: LimitExceeded) -> LimitExceeded:
        """Latch ``error`` (the first one wins) and return the latched error."""
        if self.fatal is None:
            self.fatal = error
        return self.fatal

    def tick(self) -> bool:
        """The slow path of a tick, once per :data:`TICK_CHUNK` fast ticks."""
        if self.fatal is None:
            self.ticks += TICK_CHUNK
            if time.monotonic() > self.wall_deadline:
                self.fail(LimitExceeded("wallTime", f"wall time budget exceeded ({self.limits.wall_seconds:g} s)"))
            elif time.process_time() > self.cpu_deadline:
                self.fail(LimitExceeded("cpuTime", f"CPU time budget exceeded ({self.limits.cpu_seconds:g} s)"))
        if self.fatal is not None:
            raise self.fatal
        self.globals["_ti_"] = itertools.repeat(1, TICK_CHUNK)
        return True

    def write_log(self, level: str, args: tuple[Any, ...]) -> None:
        """Append one log line; over the log budget the run ends."""
        if self.fatal is not None:
            raise self.fatal
        message = " ".join(_log_text(a) for a in args)
        if not message.isascii():
            message = message.encode("utf-8", "replace").decode("utf-8")
        self.log_bytes += len(message.encode("utf-8", "replace")) + 1
        if self.log_bytes > self.limits.log_bytes:
            raise self.fail(LimitExceeded("logBytes", f"log budget exceeded ({self.limits.log_bytes} bytes)"))
        self.log.append({"level": level, "message": message})

    def settle(self, value: Any, rejected: bool) -> None:
        """``resolve``/``reject``: the first settlement wins, like a Promise."""
        if self.settled is None:
            self.settled = ScriptExit(value, rejected)
        raise self.settled


def _log_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(to_plain(value), ensure_ascii=False, default=str)
    except (ScriptError, TypeError, ValueError):
        return _angle(value)


class Console(Exposed):
    """``console.log/info/warn/error/debug``: lines in the run's log."""

    exposed = frozenset({"log", "info", "warn", "error", "debug"})
    script_name = "console"

    def __init__(self, state: RunState) -> None:
        self._state = state

    def log(self, *args: Any) -> None:
        self._state.write_log("log", args)

    def info(self, *args: Any) -> None:
        self._state.write_log("info", args)

    def warn(self, *args: Any) -> None:
        self._state.write_log("warn", args)

    def error(self, *args: Any) -> None:
        self._state.write_log("error", args)

    def debug(self, *args: Any) -> None:
        self._state.write_log("debug", args)


_BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": guards.safe_builtins(),
    "__name__": "script",
    "_getattr_": guards.guarded_getattr,
    "_write_": guards.guarded_write,
    "_getiter_": guards.guarded_getiter,
    "_apply_": guards.guarded_apply,
    "_pow_": guards.guarded_pow,
    "_lshift_": guards.guarded_lshift,
    "_next_": next,
}


def _angle(value: Any) -> str:
    return f"<{describe(value)}>"


def to_plain(value: Any, depth: int = 0, path: str = "value") -> Any:
    """A copy of ``value`` as plain data (dict with str keys, list, str, int,
    float, bool, None, datetime), or :class:`ScriptError` naming the path of
    the first part that is not."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ScriptError(
                    "TypeError", f"{path} is a string with a lone surrogate (not valid Unicode)"
                ) from None
        return value
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        if -INT64_MAX - 1 <= value <= INT64_MAX:
            return int(value)
        raise ScriptError("TypeError", f"{path} is an integer too large to return (over 64 bits)")
    if depth > MAX_DEPTH:
        raise ScriptError("TypeError", f"{path} is nested too deeply (or refers to itself)")
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ScriptError("TypeError", f"{path} has a key that is not a string: {_angle(key)}")
            if "\0" in key:
                raise ScriptError("TypeError", f"{path} has a key that cannot be stored: {key!r}")
            out[key] = to_plain(item, depth + 1, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [to_plain(item, depth + 1, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, Exposed) and "toJSON" in type(value).exposed:
        return to_plain(value.toJSON(), depth + 1, path)
    raise ScriptError("TypeError", f"{path} is not plain data: {_angle(value)} cannot leave the script")


def to_script(value: Any) -> Any:
    """A deep copy of plain data with every dict as a :class:`JSObject`."""
    if isinstance(value, dict):
        return JSObject({k: to_script(v) for k, v in value.items()})
    if isinstance(value, list):
        return [to_script(v) for v in value]
    return value


def _script_position(tb: TracebackType | None) -> tuple[int | None, int | None]:
    """The author's line and column: the innermost frame of the script."""
    line = column = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == SCRIPT_FILENAME:
            positions = list(code.co_positions())
            index = tb.tb_lasti // 2
            if 0 <= index < len(positions):
                start, _, col, _ = positions[index]
                line = start if start is not None else tb.tb_lineno
                column = None if col is None else col + 1
            else:
                line, column = tb.tb_lineno, None
        tb = tb.tb_next
    return line, column


def error_info(error: BaseException) -> dict[str, Any]:
    """Plain data describing an error raised by a script run."""
    line, column = _script_position(error.__traceback__)
    if isinstance(error, LimitExceeded):
        kind, message = "LimitExceeded", error.message
    elif isinstance(error, ScriptError):
        kind, message = error.kind, error.message
    elif isinstance(error, MemoryError):
        kind, message = "LimitExceeded", "memory budget exceeded"
    elif isinstance(error, RecursionError):
        kind, message = "RecursionError", "maximum recursion depth exceeded"
    elif isinstance(error, SystemExit):
        kind, message = "SystemExit", "SystemExit is not a way to end a script: use return"
    else:
        kind = type(error).__name__ if type(error).__module__ == "builtins" else "Error"
        message = clean_message(str(error)) or kind
    info: dict[str, Any] = {"type": kind, "message": message, "line": line, "column": column}
    if isinstance(error, LimitExceeded):
        info["budget"] = error.budget
    elif isinstance(error, MemoryError):
        info["budget"] = "memory"
    return info


def error_from_reply(error: dict) -> BaseException:
    """The exception a script sees for a failed host call."""
    if error.get("fatal"):
        return LimitExceeded(error.get("budget", "budget"), error["message"])
    return ScriptError(error.get("type", "Error"), error["message"])


def make_host_call(state: RunState, call: HostCall) -> Callable[[str, Any], Any]:
    """Wrap a raw host call: plain parameters out, script data or an error back."""

    def host_call(method: str, params: Any) -> Any:
        if state.fatal is not None:
            raise state.fatal
        reply = call(method, to_plain(params, path="parameters"))
        if reply["op"] == "return":
            return reply.get("value")
        error = error_from_reply(reply["error"])
        if isinstance(error, LimitExceeded):
            raise state.fail(error)
        raise error

    return host_call


@dataclass
class RunOutcome:
    """The plain result of one run, as it crosses back to the host."""

    ok: bool
    value: Any = None
    error: dict[str, Any] | None = None
    logs: list[dict[str, str]] = field(default_factory=list)
    cpu_ms: float | None = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)
    #: True when the process should not be reused (for example after a
    #: MemoryError left it in an unknown state).
    poisoned: bool = False

    def as_message(self) -> dict[str, Any]:
        """The ``done`` message of the wire protocol."""
        return {
            "op": "done",
            "ok": self.ok,
            "value": self.value,
            "error": self.error,
            "logs": self.logs,
            "cpu_ms": self.cpu_ms,
            "outputs": self.outputs,
            "poisoned": self.poisoned,
        }


def run_script(
    compiled: CompiledScript,
    data: JSObject,
    call: HostCall,
    setup: Setup,
    limits: RunLimits,
) -> RunOutcome:
    """Run ``compiled`` with ``data`` and return its outcome. Never raises for
    anything the script does."""
    cpu_start = time.process_time()
    run_globals = dict(_BASE_GLOBALS)
    state = RunState(limits, run_globals)
    console = Console(state)
    context = RunContext(data=data, call=make_host_call(state, call))
    run_globals.update(
        {
            "_tick_": state.tick,
            "_ti_": itertools.repeat(1, TICK_CHUNK),
            "console": console,
            "print": console.log,
            "resolve": ScriptFunction("resolve", lambda value=None: state.settle(value, False)),
            "reject": ScriptFunction("reject", lambda reason=None: state.settle(reason, True)),
        }
    )
    outcome = RunOutcome(ok=False)
    try:
        run_globals.update(setup(context))
        function = FunctionType(compiled.code, run_globals, compiled.code.co_name)
        value = function()
        if state.fatal is not None:
            raise state.fatal
        outcome.value = to_plain(value)
        outcome.ok = True
    except ScriptExit as settled:
        _settle_outcome(outcome, state, state.settled or settled)
    except MemoryError as error:
        outcome.error = error_info(error)
        outcome.poisoned = True
    except BaseException as error:  # noqa: BLE001 - SystemExit must not end a worker
        latched = state.fatal
        outcome.error = error_info(latched if latched is not None and latched is not error else error)
        if latched is not None and latched is not error:
            outcome.error["line"], outcome.error["column"] = _script_position(error.__traceback__)
    if outcome.ok or outcome.error is None or outcome.error.get("type") != "LimitExceeded":
        _collect_outputs(outcome, context)
    outcome.logs = state.log
    outcome.cpu_ms = round((time.process_time() - cpu_start) * 1000, 3)
    return outcome


def _settle_outcome(outcome: RunOutcome, state: RunState, settled: ScriptExit) -> None:
    if state.fatal is not None:
        outcome.error = error_info(state.fatal)
        return
    if settled.rejected:
        reason = settled.value
        message = reason.message if isinstance(reason, ScriptError) else _reason_text(reason)
        kind = reason.kind if isinstance(reason, ScriptError) else "Rejected"
        outcome.error = {"type": kind, "message": message, "line": None, "column": None}
        outcome.error["line"], outcome.error["column"] = _script_position(settled.__traceback__)
        return
    try:
        outcome.value = to_plain(settled.value)
        outcome.ok = True
    except ScriptError as error:
        outcome.error = error_info(error)


def _reason_text(reason: Any) -> str:
    if reason is None:
        return "script rejected"
    if isinstance(reason, BaseException):
        return clean_message(str(reason)) or type(reason).__name__
    return _log_text(reason)


def _collect_outputs(outcome: RunOutcome, context: RunContext) -> None:
    for name, read in context.outputs.items():
        try:
            outcome.outputs[name] = to_plain(read(), path=name)
        except ScriptError as error:
            if outcome.ok:
                outcome.ok = False
                outcome.error = error_info(error)
