"""The same policy and guards, run in the calling process.

For trusted scripts and fast tests. The deadline is tick-based (loop, call and
comprehension ticks keep raising once it has passed); there are no OS limits,
so a hostile script belongs in the isolated pool (:mod:`sandbox.pool`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.policy import CompileCache, ScriptCompileError
from sandbox.runner import RunLimits, Setup, run_script, to_plain, to_script


class InProcessRunner:
    """Runs scripts in this process, with a compile cache of its own."""

    def __init__(self, setup: Setup, cache: CompileCache | None = None) -> None:
        self.setup = setup
        self.cache = cache or CompileCache()

    def run(
        self,
        source: str,
        kind: str,
        data: dict[str, Any],
        on_call: Callable[[str, Any], dict],
        limits: RunLimits,
    ) -> dict[str, Any]:
        """Run one script; returns the same ``done`` message a worker sends."""
        try:
            compiled = self.cache.get(source, kind)
        except ScriptCompileError as error:
            error_data = {"type": "CompileError", "message": error.message, "line": error.line, "column": error.column}
            return {"op": "done", "ok": False, "value": None, "error": error_data, "logs": [], "outputs": {}}

        def call(method: str, params: Any) -> dict:
            # Copy the reply as the wire would, so a script never holds a host object.
            reply = on_call(method, params)
            if reply.get("op") == "return":
                return {"op": "return", "value": to_script(to_plain(reply.get("value")))}
            return reply

        outcome = run_script(compiled, to_script(data), call, self.setup, limits)
        message = outcome.as_message()
        message["compiles"] = self.cache.compiles
        return message
