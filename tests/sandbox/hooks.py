"""Trusted setup hooks for sandbox tests, imported by workers by name.

``probe`` exposes functions that run host-side code *inside the worker
process* (after its lock-down), so tests can check what the process itself
may still do. Scripts only ever see the names the hook returns.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

from sandbox.guards import Namespace
from sandbox.runner import RunContext, Setup


def _attempt(action: Any) -> str:
    try:
        action()
    except OSError as error:
        return f"refused:{type(error).__name__}"
    except Exception as error:
        return f"failed:{type(error).__name__}"
    return "allowed"


def _probes() -> dict[str, Any]:
    return {
        "socket": lambda: _attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
        "open_file": lambda: _attempt(lambda: open("/etc/hostname", "rb").close()),
        "write_file": lambda: _attempt(lambda: open("/tmp/noderuntime-probe", "wb").close()),
        "spawn": lambda: _attempt(lambda: subprocess.run(["/bin/true"], check=False)),
        "fork": lambda: _attempt(_fork),
        "environ": lambda: sorted(os.environ),
        "pid": os.getpid,
        "exit": lambda: os._exit(7),
        "garbage": _write_garbage,
    }


def _write_garbage() -> None:
    """Break the protocol: a frame whose body is not BSON."""
    write_fd = json.loads(sys.argv[1])["write_fd"]
    os.write(write_fd, b"\x10\x00\x00\x00" + b"\xff" * 12)


def _fork() -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - only if the filter failed
        os._exit(0)
    os.waitpid(pid, 0)


def basic() -> Setup:
    """``this`` with the run's member; ``probe`` with the process probes."""
    probes = _probes()

    def setup(run: RunContext) -> dict[str, Any]:
        this = Namespace("this")
        this["member"] = run.data.get("member")
        run.outputs["member"] = lambda: this["member"]
        call = run.call
        this["echo"] = lambda params=None: call("echo", params)
        this["host"] = lambda name, params=None: call(name, params)
        return {"this": this, "probe": probes}

    return setup
