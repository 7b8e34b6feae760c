"""Errors the host raises while serving a script's method call.

Each carries the ``kind`` the author sees. They cross to the sandbox as plain
``{"type", "message", "fatal"}`` data; nothing else of the exception travels.
"""

from __future__ import annotations


class MethodError(Exception):
    """Base class: a method call failed in a way the script may handle."""

    kind = "MethodError"
    fatal = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParamError(MethodError):
    """A parameter is missing, of the wrong type or out of range."""

    kind = "ParamError"


class UnknownMethod(MethodError):
    """The script called a method that does not exist."""

    kind = "UnknownMethod"


class PermissionDenied(MethodError):
    """The call reaches something the script may not touch (another app's data,
    a private network address, a refused Mongo operator)."""

    kind = "PermissionDenied"


class FetchError(MethodError):
    """An HTTP request failed: connection refused, timeout, bad response."""

    kind = "FetchError"


class NotFound(MethodError):
    """A document the call names does not exist."""

    kind = "NotFound"


class BudgetExceeded(MethodError):
    """A per-run budget ran out. Fatal: the run ends and the script cannot
    catch it."""

    kind = "BudgetExceeded"
    fatal = True

    def __init__(self, budget: str, limit: float | int, unit: str = "") -> None:
        suffix = f" {unit}" if unit else ""
        super().__init__(f"{budget} budget exceeded (limit {limit}{suffix})")
        self.budget = budget
        self.limit = limit


class StoreError(MethodError):
    """The database refused or failed an operation (unreachable server,
    duplicate key, an operator the embedded store does not implement)."""

    kind = "StoreError"


class RedirectError(MethodError):
    """A redirect could not run: the target node stopped with an error (the
    message names the node and the line), or redirects nest too deep."""

    kind = "RedirectError"


class QuotaExceeded(MethodError):
    """A stored quota is full (a member's pending agendas). Unlike a budget,
    the script may catch it and make room."""

    kind = "QuotaExceeded"
