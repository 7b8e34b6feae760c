"""The method table: every platform method a script can call on ``this``.

A method is a function named as documented, taking the run and its validated
parameters as keywords::

    @method(memberId=param(str, required=True))
    def getMember(run: Run, *, memberId: str) -> dict: ...

The table validates, counts, times and records each call, and turns any
:class:`~noderuntime.errors.MethodError` into a reply the script sees as an
error of that kind. Anything else raised by a method is a host bug: the script
sees a generic ``InternalError`` and the host logs the traceback.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from noderuntime.errors import BudgetExceeded, MethodError, UnknownMethod
from noderuntime.methods.params import Param, validate
from noderuntime.store import OPERATION_DEADLINE

if TYPE_CHECKING:
    from noderuntime.runtime import Run

log = logging.getLogger("noderuntime.methods")


@dataclass(frozen=True)
class Method:
    """A registered method: its function and parameter schema."""

    name: str
    function: Callable[..., Any]
    schema: dict[str, Param]
    #: Reached through a helper (``this.fetch``) rather than as ``this.<name>``.
    library: bool = False


_DOCUMENTED: dict[str, Method] = {}


def method(library: bool = False, **schema: Param) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as a documented method of that name."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _DOCUMENTED[function.__name__] = Method(function.__name__, function, schema, library)
        return function

    return register


def documented_methods() -> dict[str, Method]:
    """Every documented method (importing the domain modules registers them)."""
    from noderuntime.methods import (  # noqa: F401 - registers
        agenda,
        datasource,
        flow,
        groups,
        libraries,
        livechat,
        lookups,
        members,
    )

    return dict(_DOCUMENTED)


class MethodTable:
    """The methods one runtime offers; an embedder may add its own."""

    def __init__(self, methods: Iterable[Method] | None = None) -> None:
        self._methods = {m.name: m for m in (methods if methods is not None else documented_methods().values())}
        #: Bumped by every change, so a runtime knows its workers' names are stale.
        self.version = 0

    def add(self, name: str, function: Callable[..., Any], **schema: Param) -> None:
        """Offer ``function`` to scripts as ``this.<name>``."""
        self._methods[name] = Method(name, function, schema)
        self.version += 1

    def script_names(self) -> list[str]:
        """Names scripts reach as ``this.<name>``."""
        return sorted(name for name, m in self._methods.items() if not m.library)

    def __contains__(self, name: str) -> bool:
        return name in self._methods

    def __getitem__(self, name: str) -> Method:
        return self._methods[name]

    def call(self, run: Run, name: str, params: Any) -> dict[str, Any]:
        """Execute one call from a script and return the reply for the sandbox."""
        started = time.perf_counter()
        record: dict[str, Any] = {"method": name, "params": params}
        run.current_call = record
        try:
            run.charge_method_call()
            spec = self._methods.get(name)
            if spec is None:
                close = difflib.get_close_matches(name, self.script_names(), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise UnknownMethod(f"this.{name} is not a method{hint}")
            values = validate(name, spec.schema, params)
            deadline = OPERATION_DEADLINE.set(run.deadline)
            try:
                value = spec.function(run, **values)
            finally:
                OPERATION_DEADLINE.reset(deadline)
            reply: dict[str, Any] = {"op": "return", "value": value}
            record["ok"] = True
        except MethodError as error:
            reply = {"op": "raise", "error": _error_reply(error, name)}
            record["ok"] = False
            record["error"] = reply["error"]
        except Exception:
            log.exception("method %s failed", name)
            reply = {"op": "raise", "error": {"type": "InternalError", "message": f"{name} failed inside the host"}}
            record["ok"] = False
            record["error"] = reply["error"]
        record["ms"] = round((time.perf_counter() - started) * 1000, 3)
        run.calls.append(record)
        return reply


def _error_reply(error: MethodError, method: str) -> dict[str, Any]:
    # Every message names the method, however deep it was raised.
    named = error.message.startswith(method) or error.fatal or isinstance(error, UnknownMethod)
    message = error.message if named else f"{method}: {error.message}"
    reply: dict[str, Any] = {"type": error.kind, "message": message, "fatal": error.fatal}
    if isinstance(error, BudgetExceeded):
        reply["budget"] = error.budget
    return reply
