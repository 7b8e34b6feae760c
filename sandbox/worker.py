"""The worker process: run scripts one at a time, forward host calls.

Started by :mod:`sandbox.pool` with a clean environment. At start-up it
imports everything it will need (the setup hook and its libraries), then locks
itself down: resource limits, then a seccomp filter where libseccomp exists.
After that it only reads requests from one pipe and writes answers to another.

Protocol (BSON frames, see :mod:`sandbox.wire`)::

    host -> worker  {"op": "run", "source", "kind", "data", "limits"}
    worker -> host  {"op": "call", "method", "params"}      (zero or more)
    host -> worker  {"op": "return", "value"} | {"op": "raise", "error"}
    worker -> host  {"op": "done", ...RunOutcome}
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import sys
from typing import Any, NoReturn

from sandbox import seccomp as seccomp_filter
from sandbox import wire
from sandbox.errors import EXIT_HOST_LINK_BROKEN, EXIT_OUT_OF_MEMORY
from sandbox.policy import CompileCache, ScriptCompileError
from sandbox.runner import RunLimits, RunOutcome, Setup, run_script


def load_setup(spec: str, args: list[Any]) -> Setup:
    """Import the factory ``"package.module:function"`` and call it with ``args``."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)(*args)


def apply_limits(limits: dict[str, Any], keep_fds: tuple[int, ...]) -> dict[str, bool]:
    """Resource limits for the rest of this process's life; returns what was applied."""
    applied: dict[str, bool] = {}

    def limit(name: str, value: int) -> None:
        kind = getattr(resource, name)
        try:
            resource.setrlimit(kind, (value, value))
            applied[name] = True
        except (ValueError, OSError):
            applied[name] = False

    if limits.get("memory_bytes"):
        limit("RLIMIT_AS", int(limits["memory_bytes"]))
    if limits.get("cpu_seconds_lifetime"):
        limit("RLIMIT_CPU", int(limits["cpu_seconds_lifetime"]))
    limit("RLIMIT_NOFILE", max(keep_fds) + 1)
    limit("RLIMIT_NPROC", 0)
    limit("RLIMIT_FSIZE", 0)
    limit("RLIMIT_CORE", 0)
    return applied


def _close_other_fds(keep: tuple[int, ...]) -> None:
    """Close every descriptor above 2 except ``keep``."""
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


#: A host usually answers a call in tens of microseconds: poll that long
#: before sleeping on the pipe.
REPLY_SPIN_SECONDS = 0.0002


def fail_stop(status: int) -> NoReturn:
    """End the worker at once. Used when the link to the host may be out of
    step (a reply half read): answering anything more could hand one run's
    data to the next. The pool reports the status as the run's error."""
    os._exit(status)


class HostBridge:
    """The worker's end of a host call: send a request, wait for its reply.

    Any failure here is fatal to the worker, never an exception the script
    could catch: a script that swallowed a MemoryError raised half-way
    through a reply would leave the rest of it in the pipe for the next run.
    """

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        #: Set per run by the host: poll for replies only when it has spare CPU.
        self.spin = 0.0

    def __call__(self, method: str, params: Any) -> dict:
        try:
            wire.send(self.write_fd, {"op": "call", "method": method, "params": params})
        except wire.WireError as error:
            # Nothing was written: the parameters could not be encoded.
            return {"op": "raise", "error": {"type": "TypeError", "message": f"parameters of {method}: {error}"}}
        except MemoryError:
            fail_stop(EXIT_OUT_OF_MEMORY)
        except BaseException:  # noqa: BLE001 - a half-written request cannot be taken back
            fail_stop(EXIT_HOST_LINK_BROKEN)
        try:
            return wire.receive(self.read_fd, wire.WORKER_CODEC, spin=self.spin)
        except MemoryError:
            fail_stop(EXIT_OUT_OF_MEMORY)
        except BaseException:  # noqa: BLE001 - see the class docstring
            fail_stop(EXIT_HOST_LINK_BROKEN)


def _encode_done(message: dict[str, Any]) -> bytes:
    """The ``done`` frame; if the outcome cannot be encoded (too large, a lone
    surrogate in a log line), the same outcome without the parts that failed."""
    try:
        return wire.encode(message)
    except wire.WireError as error:
        reason = "result too large to return" if "large" in str(error) else "result cannot be encoded"
        message.update(
            ok=False,
            value=None,
            outputs={},
            logs=[],
            error={"type": "LimitExceeded", "budget": "resultSize", "message": reason, "line": None, "column": None},
        )
        return wire.encode(message)


def serve(read_fd: int, write_fd: int, setup: Setup) -> None:
    """Answer run requests until the host closes the pipe or says exit."""
    cache = CompileCache()
    bridge = HostBridge(read_fd, write_fd)
    while True:
        try:
            request = wire.receive(read_fd, wire.WORKER_CODEC)
        except wire.WireError:
            return
        if request.get("op") != "run":
            return
        limits = RunLimits(**request.get("limits", {}))
        bridge.spin = REPLY_SPIN_SECONDS if request.get("spin") else 0.0
        try:
            compiled = cache.get(request["source"], request.get("kind", "action"))
        except ScriptCompileError as error:
            outcome = RunOutcome(ok=False, error=error.as_error())
        else:
            try:
                outcome = run_script(compiled, request.get("data") or {}, bridge, setup, limits)
            except MemoryError:  # while reporting another error: nothing left to report with
                fail_stop(EXIT_OUT_OF_MEMORY)
        message = outcome.as_message()
        message["compiles"] = cache.compiles
        try:
            wire.write_frame(write_fd, _encode_done(message))
        except MemoryError:
            fail_stop(EXIT_OUT_OF_MEMORY)
        if outcome.poisoned:
            return


def main() -> None:
    """Entry point: ``argv[1]`` is a JSON start-up document from the pool."""
    config = json.loads(sys.argv[1])
    read_fd, write_fd = config["read_fd"], config["write_fd"]
    # A terminal's Ctrl-C is the host's business; SIGXCPU keeps its default
    # action (terminate), which the host reports as the CPU budget.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup = load_setup(config["setup"], config.get("setup_args", []))
    for name in config.get("preload", []):
        importlib.import_module(name)
    library = seccomp_filter.load_library() if config.get("seccomp", True) else None
    _close_other_fds((read_fd, write_fd))
    applied = apply_limits(config.get("limits", {}), (read_fd, write_fd))
    seccomp = seccomp_filter.install(library) if config.get("seccomp", True) else "off"
    wire.send(write_fd, {"op": "ready", "pid": os.getpid(), "rlimits": applied, "seccomp": seccomp})
    serve(read_fd, write_fd, setup)


if __name__ == "__main__":  # pragma: no cover - started by the pool
    main()
