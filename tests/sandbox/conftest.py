"""Helpers shared by the sandbox tests."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.inprocess import InProcessRunner
from sandbox.policy import CompileCache
from sandbox.runner import RunLimits
from tests.sandbox.hooks import basic


def echo_host(method: str, params: Any) -> dict:
    """A host that answers ``echo`` and refuses everything else."""
    if method == "echo":
        return {"op": "return", "value": {"echo": params}}
    if method == "budget":
        return {"op": "raise", "error": {"type": "BudgetExceeded", "message": "calls budget exceeded", "fatal": True, "budget": "calls"}}
    return {"op": "raise", "error": {"type": "UnknownMethod", "message": f"no method {method}"}}


@pytest.fixture
def run_inprocess():
    runner = InProcessRunner(basic())
    cache = CompileCache()

    def run(source: str, data: dict[str, Any] | None = None, **limits: Any) -> dict:
        return runner.run(cache.get(source), data or {}, echo_host, RunLimits(**limits))

    return run
