"""noderuntime: run chatbot node scripts in a sandbox.

    from noderuntime import Runtime

    with Runtime() as runtime:
        result = runtime.run("return {'member': this.member}", {"member": member})
"""

from noderuntime.config import Config, Limits
from noderuntime.runtime import RunResult, Runtime

__all__ = ["Config", "Limits", "RunResult", "Runtime"]
