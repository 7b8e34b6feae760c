"""Errors raised inside the sandbox and reported back to the host.

Every error that reaches a script or a result is built from plain strings here:
no host object, repr, path or environment value travels with it.
"""

from __future__ import annotations

import re

#: Exit statuses a worker uses when it must stop mid-run (fail-stop): the pool
#: turns them into the error the run reports.
EXIT_OUT_OF_MEMORY = 86
EXIT_HOST_LINK_BROKEN = 87

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: A file path, but not the path of a URL (``https://host/a/b`` stays readable).
_PATH = re.compile(r"(?<![\w:/.\-])(?:/[\w.\-]+){2,}")
_HOST_NAMES = re.compile(r"'(?:_\w+|JSObject|Namespace)'|\b\w+\.<locals>\.")


def clean_message(message: str) -> str:
    """Strip host details (object addresses, file paths, internal type and
    function names) from a message before it reaches the author."""
    message = _ADDRESS.sub("", message)
    message = _PATH.sub("<path>", message)
    message = _HOST_NAMES.sub(lambda m: "'object'" if m.group(0).startswith("'") else "", message)
    return message[:2000]


class ScriptError(Exception):
    """An error a script may catch: a failed method call, a refused access.

    ``kind`` is the error type reported to the author (``ParamError``,
    ``PermissionDenied``...); ``message`` is the text.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


class LimitExceeded(BaseException):
    """A budget ran out. Derives from BaseException and is re-raised at every
    tick and method call once set, so a script cannot swallow it."""

    def __init__(self, budget: str, message: str) -> None:
        super().__init__(message)
        self.budget = budget
        self.message = message

    def __str__(self) -> str:
        return self.message


class ScriptExit(BaseException):
    """Raised by ``resolve(x)`` / ``reject(err)`` to end the script."""

    def __init__(self, value: object = None, rejected: bool = False) -> None:
        super().__init__()
        self.value = value
        self.rejected = rejected
