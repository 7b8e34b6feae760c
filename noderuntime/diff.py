"""The member diff: what a script changed, path by path."""

from __future__ import annotations

from typing import Any

_ABSENT: Any = object()


def diff(before: Any, after: Any, path: str = "") -> list[tuple[str, str, Any, Any]]:
    """Changes from ``before`` to ``after`` as ``(op, path, old, new)`` with op
    ``+`` (added), ``-`` (removed) or ``~`` (changed); dicts are walked key by key."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[tuple[str, str, Any, Any]] = []
        for key in list(before) + [k for k in after if k not in before]:
            child = f"{path}.{key}" if path else str(key)
            old, new = before.get(key, _ABSENT), after.get(key, _ABSENT)
            if old is _ABSENT:
                changes.append(("+", child, None, new))
            elif new is _ABSENT:
                changes.append(("-", child, old, None))
            else:
                changes.extend(diff(old, new, child))
        return changes
    # Equal values are unchanged even across int subclasses (BSON's Int64),
    # but True is not 1.
    if before != after or isinstance(before, bool) != isinstance(after, bool):
        return [("~", path or "(whole)", before, after)]
    return []
