"""The same policy and guards, run in the calling process.

For trusted scripts and fast tests. The deadline is tick-based (loop, call and
comprehension ticks keep raising once it has passed); there are no OS limits,
so a hostile script belongs in the isolated pool (:mod:`sandbox.pool`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.policy import CompiledScript
from sandbox.runner import RunLimits, Setup, run_script, to_plain, to_script


class InProcessRunner:
    """Runs compiled scripts in this process (compiling, and caching, is the
    caller's: see :class:`sandbox.policy.CompileCache`)."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup

    def run(
        self,
        compiled: CompiledScript,
        data: dict[str, Any],
        on_call: Callable[[str, Any], dict],
        limits: RunLimits,
    ) -> dict[str, Any]:
        """Run one script; returns the same ``done`` message a worker sends."""

        def call(method: str, params: Any) -> dict:
            # Copy the reply as the wire would, so a script never holds a host object.
            reply = on_call(method, params)
            if reply.get("op") == "return":
                return {"op": "return", "value": to_script(to_plain(reply.get("value")))}
            return reply

        return run_script(compiled, to_script(data), call, self.setup, limits).as_message()
