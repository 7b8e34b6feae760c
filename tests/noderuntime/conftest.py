"""Runtimes for the noderuntime tests: one isolated pool per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from noderuntime.config import Config
from noderuntime.methods import MethodTable
from noderuntime.methods.params import param
from noderuntime.runtime import Runtime

FROZEN_NOW = 1_601_481_600_000  # 2020-09-30T16:00:00Z


def echo(run, *, value=None):
    """A test method: returns its value and the calling app."""
    return {"value": value, "app": run.app}


@pytest.fixture(scope="session")
def shared_runtime() -> Iterator[Runtime]:
    methods = MethodTable()
    methods.add("echo", echo, value=param(str, int, float, dict, list, bool))
    with Runtime(Config(workers=2), methods=methods, clock=lambda: FROZEN_NOW) as runtime:
        yield runtime


@pytest.fixture(params=["inprocess", "isolated"])
def run(request, shared_runtime):
    """``run(source, context, **kw)`` in each execution mode."""

    def run_in_mode(source, context=None, **kwargs):
        return shared_runtime.run(source, context, mode=request.param, **kwargs)

    return run_in_mode
