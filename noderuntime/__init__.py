"""noderuntime: run chatbot node scripts in a sandbox.

    from noderuntime import Runtime

    with Runtime() as runtime:
        result = runtime.run("return {'member': this.member}", {"member": member})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from noderuntime.config import Config, Limits
    from noderuntime.runtime import RunResult, Runtime

__all__ = ["Config", "Limits", "RunResult", "Runtime"]

_EXPORTS = {"Config": "config", "Limits": "config", "RunResult": "runtime", "Runtime": "runtime"}


def __getattr__(name: str) -> Any:
    # Lazy, so a worker importing noderuntime.context does not load the host
    # side (the HTTP client, the method table) into the sandbox process.
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'noderuntime' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"noderuntime.{module}"), name)
