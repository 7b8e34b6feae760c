"""Turning a script's ``patch`` into a Mongo update, with the timestamps the
platform keeps (``createdAt``/``updatedAt`` as epoch milliseconds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from noderuntime.errors import ParamError, PermissionDenied
from noderuntime.store.guard import check_document, check_update, is_operator_update
from noderuntime.store.ids import for_script


@dataclass(frozen=True)
class Change:
    """A validated change: an operator update or a whole replacement."""

    document: dict[str, Any]
    replacement: bool


def build_change(
    patch: Any, with_modifier: bool, protected: tuple[str, ...] = ("_id",), where: str = "patch"
) -> Change:
    """``withModifier: false`` sends ``patch`` as ``$set``; ``true`` uses it as
    the update document: operators, or a whole replacement. Paths in
    ``protected`` may not be touched by operators; ``where`` names the
    parameter in refusals."""
    if not isinstance(patch, dict) or not patch:
        raise ParamError("patch must be a non-empty object")
    if not with_modifier:
        if is_operator_update(patch):
            raise ParamError(
                f"patch starts with the operator {next(iter(patch))} but withModifier is false; "
                "pass withModifier: true to use update operators"
            )
        update = check_update({"$set": patch}, where)
        _refuse_protected(update, protected)
        return Change(update, replacement=False)
    if is_operator_update(patch):
        update = check_update(patch)
        _refuse_protected(update, protected)
        return Change(update, replacement=False)
    return Change(check_document(patch, "patch"), replacement=True)


def _refuse_protected(update: dict[str, Any], protected: tuple[str, ...]) -> None:
    for operator, fields in update.items():
        paths = list(fields)
        if operator == "$rename":
            paths += [target for target in fields.values() if isinstance(target, str)]
        for path in paths:
            for name in protected:
                if path == name or path.startswith(name + "."):
                    raise PermissionDenied(f"patch cannot change {name} ({operator} {path})")


def stamp_update(update: dict[str, Any], now_ms: int, upsert: bool = False) -> dict[str, Any]:
    """A copy of an operator update that also sets ``updatedAt`` (unless the
    update sets it) and, on upsert, ``createdAt`` of a new document."""
    stamped = {operator: dict(fields) for operator, fields in update.items()}
    if not _touches(update, "updatedAt"):
        stamped.setdefault("$set", {})["updatedAt"] = now_ms
    if upsert and not _touches(update, "createdAt"):
        stamped.setdefault("$setOnInsert", {})["createdAt"] = now_ms
    return stamped


def stamp_replacement(
    replacement: dict[str, Any], existing: dict[str, Any] | None, now_ms: int, kept: tuple[str, ...] = ("createdAt",)
) -> dict[str, Any]:
    """A replacement that keeps ``kept`` fields of the existing document and
    sets ``updatedAt``. A replacement may repeat a kept field's value but not
    change it."""
    document = dict(replacement)
    given_id = document.pop("_id", None)
    if given_id is not None and existing is not None and str(given_id) != str(existing.get("_id")):
        raise PermissionDenied("a replacement cannot change _id")
    for name in kept:
        has_it = existing is not None and name in existing
        # Compared as the script sees them: an ObjectId it read comes back as its string.
        if name in replacement and (not has_it or for_script(replacement[name]) != for_script(existing[name])):
            raise PermissionDenied(f"a replacement cannot change {name}")
        if has_it:
            document[name] = existing[name]
    document.setdefault("createdAt", now_ms)
    document["updatedAt"] = now_ms
    return document


def stamp_new(document: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """A new document with ``createdAt`` and ``updatedAt`` (kept when given)."""
    stamped = dict(document)
    stamped.setdefault("createdAt", now_ms)
    stamped.setdefault("updatedAt", now_ms)
    return stamped


def _touches(update: dict[str, Any], field: str) -> bool:
    """Whether ``update`` writes ``field``: a path on it or under it, or a
    ``$rename`` into it (MongoDB refuses two operators on one path)."""
    paths = [path for fields in update.values() for path in fields]
    paths += [target for target in update.get("$rename", {}).values() if isinstance(target, str)]
    return any(path == field or path.startswith(field + ".") for path in paths)
