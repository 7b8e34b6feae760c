"""A pool of pre-started worker processes.

Workers are spawned (never forked from the host) with a clean environment and
their own pipes. A run takes an idle worker, sends the request, answers the
worker's host calls, and returns the outcome. The host enforces the wall-clock
deadline itself: a worker that has not answered in time is killed and replaced,
as is one that crashed, ran out of CPU, or served ``recycle_after`` runs.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import wire
from sandbox.errors import EXIT_HOST_LINK_BROKEN, EXIT_OUT_OF_MEMORY
from sandbox.runner import RunOutcome

PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
CLEAN_ENV = {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
DEFAULT_PRELOAD = ("json", "encodings.idna", "bson", "RestrictedPython")
STARTUP_TIMEOUT = 30.0
#: Extra time the host grants after the in-script deadline before it kills:
#: the in-script tick reports the author's line, the kill cannot.
KILL_GRACE = 0.5
#: Short scripts answer within a few hundred microseconds: poll that long
#: before sleeping on the pipe (see wire.wait_briefly). Only while the pool
#: has idle workers: under full load the polling would take the CPU the
#: other workers need.
ANSWER_SPIN_SECONDS = 0.0002


@dataclass
class WorkerLimits:
    """Process-wide limits applied in each worker at start-up."""

    memory_bytes: int = 512 * 1024 * 1024
    #: RLIMIT_CPU over the worker's whole life; recycling keeps it reachable
    #: only by a runaway worker. Per-run CPU is checked by ticks.
    cpu_seconds_lifetime: int = 600
    seccomp: bool = True


@dataclass
class PoolConfig:
    """How a pool starts its workers."""

    #: ``"module:factory"``; the worker calls ``factory(*setup_args)`` once
    #: and uses the result as the setup hook of every run.
    setup: str
    setup_args: tuple[Any, ...] = ()
    size: int = 2
    recycle_after: int = 1000
    limits: WorkerLimits = field(default_factory=WorkerLimits)
    preload: tuple[str, ...] = ()
    extra_path: tuple[str, ...] = ()


class WorkerCrashed(Exception):
    """The worker died or broke the protocol during a run."""


class Worker:
    """One worker process and its two pipes."""

    def __init__(self, config: PoolConfig) -> None:
        host_read, child_write = os.pipe()
        child_read, host_write = os.pipe()
        startup = {
            "read_fd": child_read,
            "write_fd": child_write,
            "setup": config.setup,
            "setup_args": list(config.setup_args),
            "preload": list(DEFAULT_PRELOAD + config.preload),
            "limits": {
                "memory_bytes": config.limits.memory_bytes,
                "cpu_seconds_lifetime": config.limits.cpu_seconds_lifetime,
            },
            "seccomp": config.limits.seccomp,
        }
        paths = [PACKAGE_ROOT, *config.extra_path]
        bootstrap = f"import sys; sys.path[:0] = {paths!r}; from sandbox.worker import main; main()"
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", bootstrap, json.dumps(startup)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None,  # start-up failures and crashes reach the host's log
            env=CLEAN_ENV,
            pass_fds=(child_read, child_write),
            close_fds=True,
            start_new_session=True,
        )
        os.close(child_read)
        os.close(child_write)
        self.read_fd = host_read
        self.write_fd = host_write
        self.runs = 0
        try:
            self.hello = wire.receive(self.read_fd, deadline=time.monotonic() + STARTUP_TIMEOUT)
        except wire.WireError as error:
            self.kill()
            raise WorkerCrashed(f"worker failed to start: {error}") from None

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.process.pid

    def kill(self) -> None:
        """Kill the process and close the pipes (idempotent)."""
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.read_fd = self.write_fd = -1

    def exit_code(self) -> int | None:
        """The exit status once the process has ended (None if it has not
        within a second of closing its pipe)."""
        try:
            return self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return None


def _encode_reply(reply: dict[str, Any], method: str) -> bytes:
    """A host reply as a frame. A value BSON cannot hold (a lone surrogate, an
    integer over 64 bits) becomes an error for the script, not for the host."""
    try:
        return wire.encode(reply)
    except wire.WireError:
        error = {"type": "TypeError", "message": f"{method} returned a value that cannot cross into the script"}
        return wire.encode({"op": "raise", "error": error})


def _death_reason(code: int | None) -> str:
    """Why a worker ended, in words an author can act on."""
    if code is None:
        return "worker stopped answering"
    if code == EXIT_HOST_LINK_BROKEN:
        return "worker lost its link to the host"
    if code == -signal.SIGSEGV:
        return "worker crashed (segmentation fault)"
    if code < 0:
        return f"worker killed by signal {signal.Signals(-code).name}"
    return f"worker exited with status {code}"


def _crash_error(reason: str) -> dict[str, Any]:
    return {"type": "WorkerCrashed", "message": reason, "line": None, "column": None}


@dataclass
class PoolRun:
    """One run request as the pool sends it."""

    source: str
    kind: str
    data: dict[str, Any]
    wall_seconds: float
    cpu_seconds: float
    log_bytes: int

    def message(self, spin: bool) -> dict[str, Any]:
        return {
            "op": "run",
            "spin": spin,
            "source": self.source,
            "kind": self.kind,
            "data": self.data,
            "limits": {"wall_seconds": self.wall_seconds, "cpu_seconds": self.cpu_seconds, "log_bytes": self.log_bytes},
        }


def _limit_error(budget: str, message: str) -> dict[str, Any]:
    return {"type": "LimitExceeded", "budget": budget, "message": message, "line": None, "column": None}


class WorkerPool:
    """Pre-started workers shared by any number of host threads."""

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._workers: set[Worker] = set()
        self.started = 0
        self.replaced = 0
        for _ in range(config.size):
            self._idle.put(self._spawn())

    def _spawn(self) -> Worker:
        worker = Worker(self.config)
        with self._lock:
            self._workers.add(worker)
            self.started += 1
        return worker

    def _retire(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
            self.replaced += 1
        if not self._closed:
            # Start the replacement in the background: the failed run has
            # already paid for the kill, the next run should not pay for a spawn.
            threading.Thread(target=self._refill, daemon=True).start()

    def _discard(self, worker: Worker) -> None:
        # A borrowed extra worker: the pool goes back to its size.
        worker.kill()
        with self._lock:
            self._workers.discard(worker)

    def _refill(self) -> None:
        try:
            worker = self._spawn()
        except WorkerCrashed:  # pragma: no cover - a machine out of processes
            return
        if self._closed:
            worker.kill()
            return
        self._idle.put(worker)

    def run(
        self,
        request: PoolRun,
        on_call: Callable[[str, Any], dict],
        on_start: Callable[[], None] | None = None,
        borrow: bool = False,
    ) -> dict[str, Any]:
        """Run one script on an idle worker; ``on_call`` answers its host calls.

        ``on_start`` is called once a worker is free and the run begins: the
        wall budget counts from there, not from the time spent waiting.
        Returns the worker's ``done`` message (see :mod:`sandbox.worker`), or
        an equivalent one built here when the worker had to be killed.

        ``borrow`` is for a run started while the caller's own run waits on
        a host call: when no worker is idle it gets an extra one, stopped
        afterwards, instead of waiting for workers that may all be waiting
        on it.
        """
        if self._closed:
            raise RuntimeError("the pool is closed")
        extra = False
        if borrow:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                worker, extra = self._spawn(), True
        else:
            worker = self._idle.get()
        if on_start is not None:
            on_start()
        spin = ANSWER_SPIN_SECONDS if not self._idle.empty() else 0.0
        deadline = time.monotonic() + request.wall_seconds + KILL_GRACE
        keep = False
        try:
            wire.send(worker.write_fd, request.message(spin=bool(spin)))
            while True:
                message = wire.receive(worker.read_fd, deadline=deadline, spin=spin)
                if message.get("op") == "call":
                    reply = on_call(message.get("method", ""), message.get("params"))
                    wire.write_frame(worker.write_fd, _encode_reply(reply, message.get("method", "")))
                    continue
                if message.get("op") != "done":
                    raise wire.WireError(f"unexpected message {message.get('op')!r}")
                worker.runs += 1
                keep = not message.get("poisoned") and worker.runs < self.config.recycle_after
                return message
        except wire.WireTimeout:
            return self._failed(_limit_error("wallTime", f"wall time budget exceeded ({request.wall_seconds:g} s)"))
        except (wire.WireClosed, BrokenPipeError):
            code = worker.exit_code()
            if code == -signal.SIGXCPU:
                return self._failed(_limit_error("cpuTime", "CPU time budget exceeded (worker killed)"))
            if code == EXIT_OUT_OF_MEMORY:
                return self._failed(_limit_error("memory", "memory budget exceeded"))
            return self._failed(_crash_error(_death_reason(code)))
        except (wire.WireError, OSError):
            return self._failed(_crash_error("worker broke the protocol"))
        finally:
            if extra:
                self._discard(worker)
            elif keep:
                self._idle.put(worker)
            else:
                self._retire(worker)

    @staticmethod
    def _failed(error: dict[str, Any]) -> dict[str, Any]:
        # The worker is gone: nothing is known of its logs or CPU time.
        return RunOutcome(ok=False, error=error, cpu_ms=None).as_message()

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._lock:
            return [w.pid for w in self._workers]

    def close(self) -> None:
        """Kill every worker. Runs in progress fail."""
        self._closed = True
        with self._lock:
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.kill()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["PoolConfig", "PoolRun", "WorkerCrashed", "WorkerLimits", "WorkerPool"]
