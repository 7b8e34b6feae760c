"""Script fixtures: the file format, read and checked.

A fixture file (``*.case.yaml``, ``*.case.yml`` or ``*.case.json``) holds one
case, or several under ``cases:`` that share the file's other keys (a case's
``context`` is merged into the shared one object by object)::

    name: saves the answer as gender
    scriptFile: gender.py          # or script: |  (inline)
    kind: action                   # action, response, condition, tagging
    clock: 2020-09-30T16:00:00Z    # or epoch milliseconds
    context: {app: a1, member: {...}, messageEvent: {...}}
    db: {members: [...], a1_coupon: [...]}       # extended JSON allowed
    http: [{method: GET, url: https://api.example.com/u/1, json: {...}}]
    limits: {method_calls: 5}
    expect: {value: ..., member: ..., db: ..., http: ..., sent: ..., logs: ..., error: ..., usage: ...}

Every problem is a :class:`FixtureError` naming the file and the field.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml
from bson.errors import BSONError

from noderuntime.config import Limits
from noderuntime.context import CONTEXT_FIELDS
from noderuntime.errors import MethodError
from noderuntime.fetch import ALLOWED_METHODS
from noderuntime.store.guard import check_document
from noderuntime.store.store import from_extended_json

#: Names a fixture file may have.
SUFFIXES = (".case.yaml", ".case.yml", ".case.json")
KINDS = ("action", "response", "condition", "tagging")
_COLLECTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$")

CASE_KEYS = (
    "name",
    "description",
    "script",
    "scriptFile",
    "kind",
    "clock",
    "context",
    "db",
    "http",
    "limits",
    "expect",
)
STUB_KEYS = ("method", "url", "urlPattern", "status", "headers", "json", "body", "delay")
EXPECT_KEYS = ("value", "member", "db", "http", "sent", "logs", "error", "usage")
REQUEST_KEYS = ("method", "url", "urlPattern", "headers", "json", "body")
ERROR_KEYS = ("type", "message", "line")
USAGE_KEYS = ("wall_ms", "cpu_ms", "method_calls", "http_requests", "http_bytes")


class FixtureError(Exception):
    """A fixture file that cannot be run, with the file and the field."""

    def __init__(self, path: Path | str, where: str, problem: str) -> None:
        self.path = str(path)
        self.where = where
        self.problem = problem
        super().__init__(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


def is_fixture_file(path: Path) -> bool:
    """Whether ``path`` is named like a fixture file."""
    return path.name.endswith(SUFFIXES)


@dataclass(frozen=True)
class HttpStub:
    """A canned response for ``this.fetch``."""

    url: str | None
    pattern: re.Pattern[str] | None
    method: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    json: Any = None
    has_json: bool = False
    delay_ms: int = 0

    def matches(self, method: str, url: str) -> bool:
        """Whether this stub answers ``method url``."""
        if self.method is not None and self.method != method:
            return False
        if self.url is not None:
            return self.url == url
        assert self.pattern is not None
        return self.pattern.fullmatch(url) is not None

    def describe(self) -> str:
        """``GET https://...`` or ``ANY /pattern/``."""
        target = self.url if self.url is not None else f"/{self.pattern.pattern if self.pattern else ''}/"
        return f"{self.method or 'ANY'} {target}"


@dataclass(frozen=True)
class Case:
    """One runnable case."""

    path: Path
    name: str
    script: str
    kind: str = "action"
    context: dict[str, Any] = field(default_factory=dict)
    db: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    http: tuple[HttpStub, ...] = ()
    clock: int | None = None
    limits: dict[str, int] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    script_file: Path | None = None
    #: The case's place in its file: ``cases[2]``, or empty for a one-case file.
    where: str = ""

    @property
    def id(self) -> str:
        """``path::name``, unique per file."""
        return f"{self.path}::{self.name}"


def load_cases(path: Path | str) -> list[Case]:
    """Every case in one fixture file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise FixtureError(path, "", f"cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise FixtureError(path, "", "is not UTF-8 text") from None
    try:
        data = _parse(path, text)
    except RecursionError:
        raise FixtureError(path, "", "is nested too deeply") from None
    if not isinstance(data, dict):
        raise FixtureError(path, "", "a fixture file holds one case (an object) or {cases: [...]}")
    if "cases" in data:
        shared = {key: value for key, value in data.items() if key != "cases"}
        _known(path, "", shared, CASE_KEYS)
        cases = data["cases"]
        if not isinstance(cases, list) or not cases:
            raise FixtureError(path, "cases", "must be a non-empty list of cases")
        built = [_case(path, f"cases[{i}]", _merge(path, f"cases[{i}]", shared, raw), i) for i, raw in enumerate(cases)]
    else:
        built = [_case(path, "", data, 0)]
    seen: set[str] = set()
    for case in built:
        if case.name in seen:
            raise FixtureError(path, _join(case.where, "name"), f"two cases are named {case.name!r}")
        seen.add(case.name)
    return built


def load_stubs(path: Path | str) -> tuple[HttpStub, ...]:
    """HTTP stubs from a file of their own (YAML or JSON): a list of stubs,
    or an object with an ``http`` list, written as in a fixture's ``http``."""
    path = Path(path)
    try:
        data = _parse(path, path.read_text(encoding="utf-8"))
    except OSError as error:
        raise FixtureError(path, "", f"cannot read: {error.strerror}") from None
    if isinstance(data, dict) and set(data) == {"http"}:
        return _stubs(path, "http", data["http"])
    return _stubs(path, "", data)


def discover(paths: list[Path]) -> list[Path]:
    """Fixture files under ``paths`` (files are taken as given), sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and is_fixture_file(p))
        elif path.exists():
            found.append(path)
        else:
            raise FixtureError(path, "", "no such file or folder")
    return found


# Parsing --------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps (``2020-09-30`` stays the text the
    author wrote: BSON cannot store a date without a time) and without
    aliases (``*name``): a few hundred bytes of nested aliases expand to
    gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in fixtures; repeat the value", event.start_mark
            )
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse(path: Path, text: str) -> Any:
    if path.name.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise FixtureError(
                path, "", f"not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"
            ) from None
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise FixtureError(path, "", f"not valid YAML: {where}{getattr(error, 'problem', None) or error}") from None


def _merge(path: Path, where: str, shared: dict[str, Any], raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise FixtureError(path, where, "must be an object")
    merged = {**shared, **raw}
    if isinstance(shared.get("context"), dict) and isinstance(raw.get("context"), dict):
        merged["context"] = _deep_merge(shared["context"], raw["context"])
    if isinstance(shared.get("db"), dict) and isinstance(raw.get("db"), dict):
        # Collection by collection: a case adds its own collections to the shared seed.
        merged["db"] = {**shared["db"], **raw["db"]}
    return merged


def _deep_merge(shared: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """``own`` over ``shared``, object by object: a case that changes one field
    of the shared member says only that field (lists and other values replace)."""
    merged = dict(shared)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(shared.get(key), dict):
            merged[key] = _deep_merge(shared[key], value)
        else:
            merged[key] = value
    return merged


def _known(path: Path, where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; allowed: {', '.join(allowed)}"
            raise FixtureError(path, _join(where, str(key)), f"unknown field{hint}")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _typed(path: Path, where: str, value: Any, kind: type | tuple[type, ...], name: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise FixtureError(path, where, f"must be {name}")
    return value


def _case(path: Path, where: str, data: dict[str, Any], index: int) -> Case:
    _known(path, where, data, CASE_KEYS)
    name = data.get("name", path.name.split(".case.")[0] + (f" #{index + 1}" if where else ""))
    _typed(path, _join(where, "name"), name, str, "a string")
    script, script_file = _script(path, where, data)
    kind = data.get("kind", "action")
    if kind not in KINDS:
        raise FixtureError(path, _join(where, "kind"), f"must be one of {', '.join(KINDS)}")
    context = _context(path, _join(where, "context"), data.get("context"))
    return Case(
        path=path,
        name=name,
        script=script,
        kind=kind,
        context=context,
        db=_db(path, _join(where, "db"), data.get("db")),
        http=_stubs(path, _join(where, "http"), data.get("http")),
        clock=_clock(path, _join(where, "clock"), data.get("clock")),
        limits=_limits(path, _join(where, "limits"), data.get("limits")),
        expect=_expect(path, _join(where, "expect"), data.get("expect")),
        script_file=script_file,
        where=where,
    )


def _context(path: Path, where: str, value: Any) -> dict[str, Any]:
    """The run's context: known fields only, each an object (``app`` a text)."""
    context = {} if value is None else _typed(path, where, value, dict, "an object")
    _known(path, where, context, CONTEXT_FIELDS)
    for name, item in context.items():
        kind, described = (str, "text (the app id)") if name == "app" else (dict, "an object")
        if item is not None:
            _typed(path, _join(where, name), item, kind, described)
    return context


def _script(path: Path, where: str, data: dict[str, Any]) -> tuple[str, Path | None]:
    if ("script" in data) == ("scriptFile" in data):
        raise FixtureError(
            path, _join(where, "script"), "give script (inline) or scriptFile (a path), not both or neither"
        )
    if "script" in data:
        return _typed(path, _join(where, "script"), data["script"], str, "a string"), None
    relative = _typed(path, _join(where, "scriptFile"), data["scriptFile"], str, "a path (a string)")
    script_file = (path.parent / relative).resolve()
    try:
        return script_file.read_text(encoding="utf-8"), script_file
    except OSError as error:
        raise FixtureError(path, _join(where, "scriptFile"), f"cannot read {relative}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise FixtureError(path, _join(where, "scriptFile"), f"{relative} is not UTF-8 text") from None


def _stubs(path: Path, where: str, value: Any) -> tuple[HttpStub, ...]:
    return tuple(_stub(path, f"{where}[{i}]", raw) for i, raw in enumerate(_list(path, where, value)))


def _list(path: Path, where: str, value: Any) -> list[Any]:
    if value is None:
        return []
    return _typed(path, where, value, list, "a list")


def _db(path: Path, where: str, value: Any) -> dict[str, list[dict[str, Any]]]:
    if value is None:
        return {}
    _typed(path, where, value, dict, "an object of collection names to lists of documents")
    for name, documents in value.items():
        if not _COLLECTION.match(str(name)):
            raise FixtureError(path, _join(where, str(name)), "is not a collection name (letters, digits, _ and -)")
        if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
            raise FixtureError(path, _join(where, str(name)), "must be a list of documents")
    converted = _extended_json(path, where, value)
    for name, documents in converted.items():
        ids: list[str] = []
        for i, document in enumerate(documents):
            try:
                check_document({k: v for k, v in document.items() if k != "_id"}, f"{name}[{i}]")
            except MethodError as error:
                raise FixtureError(path, _join(where, f"{name}[{i}]"), error.message.split(": ", 1)[-1]) from None
            if "_id" in document:
                if json.dumps(document["_id"], sort_keys=True, default=str) in ids:
                    raise FixtureError(path, _join(where, f"{name}[{i}]._id"), "two documents have this _id")
                ids.append(json.dumps(document["_id"], sort_keys=True, default=str))
    return converted


def _stub(path: Path, where: str, raw: Any) -> HttpStub:
    _typed(path, where, raw, dict, "an object")
    _known(path, where, raw, STUB_KEYS)
    url, pattern = _url(path, where, raw)
    method = _method(path, where, raw.get("method"))
    status = raw.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise FixtureError(path, _join(where, "status"), "must be an HTTP status between 100 and 599")
    headers = _headers(path, _join(where, "headers"), raw.get("headers"))
    if "json" in raw and "body" in raw:
        raise FixtureError(path, where, "give json or body, not both")
    body = raw.get("body")
    if body is not None and not isinstance(body, str):
        raise FixtureError(path, _join(where, "body"), "must be text (use json: for structured data)")
    delay = raw.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        raise FixtureError(path, _join(where, "delay"), "must be milliseconds (an integer, 0 or more)")
    return HttpStub(
        url=url,
        pattern=pattern,
        method=method,
        status=status,
        headers={str(k).lower(): str(v) for k, v in headers.items()},
        body=body,
        json=raw.get("json"),
        has_json="json" in raw,
        delay_ms=delay,
    )


def _headers(path: Path, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
        raise FixtureError(path, where, "must be an object of header names to values")
    return value


def _extended_json(path: Path, where: str, value: Any) -> Any:
    """Plain data with ``{"$oid": ...}``, ``{"$date": ...}`` made BSON values."""
    try:
        return from_extended_json(value)
    except (BSONError, ValueError, TypeError) as error:
        raise FixtureError(path, where, f"not valid extended JSON: {error}") from None


def _url(path: Path, where: str, raw: dict[str, Any]) -> tuple[str | None, re.Pattern[str] | None]:
    if ("url" in raw) == ("urlPattern" in raw):
        raise FixtureError(path, where, "give url (exact) or urlPattern (a regular expression), not both or neither")
    if "url" in raw:
        return _typed(path, _join(where, "url"), raw["url"], str, "a string"), None
    pattern = _typed(path, _join(where, "urlPattern"), raw["urlPattern"], str, "a regular expression (a string)")
    try:
        return None, re.compile(pattern)
    except re.error as error:
        raise FixtureError(path, _join(where, "urlPattern"), f"not a regular expression: {error}") from None


def _method(path: Path, where: str, method: Any) -> str | None:
    if method is None:
        return None
    if not isinstance(method, str) or method.upper() not in ALLOWED_METHODS:
        raise FixtureError(path, _join(where, "method"), f"must be one of {', '.join(sorted(ALLOWED_METHODS))}")
    return method.upper()


def _clock(path: Path, where: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_dt.UTC)
            return int(moment.timestamp() * 1000)
    raise FixtureError(path, where, "must be epoch milliseconds or an ISO-8601 time like 2020-09-30T16:00:00Z")


def _limits(path: Path, where: str, value: Any) -> dict[str, int]:
    if value is None:
        return {}
    _typed(path, where, value, dict, "an object")
    _known(path, where, value, tuple(f.name for f in fields(Limits)))
    if "memory_mb" in value:
        # The memory limit is set on each worker when the pool starts, not per run.
        raise FixtureError(path, _join(where, "memory_mb"), "is the worker pool's limit and cannot be set per case")
    for key, limit in value.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise FixtureError(path, _join(where, key), "must be a positive integer")
    return value


def _expect(path: Path, where: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    _typed(path, where, value, dict, "an object")
    _known(path, where, value, EXPECT_KEYS)
    if "member" in value:
        _typed(path, _join(where, "member"), value["member"], dict, "an object (the fields to check)")
    if "db" in value:
        _typed(path, _join(where, "db"), value["db"], dict, "an object of collection names to lists of documents")
        for name, entries in value["db"].items():
            entry_where = _join(_join(where, "db"), str(name))
            for i, entry in enumerate(_typed(path, entry_where, entries, list, "a list of documents")):
                _typed(path, f"{entry_where}[{i}]", entry, dict, "a document, or {absent: {...}}")
                if "absent" in entry and (len(entry) != 1 or not isinstance(entry["absent"], dict)):
                    raise FixtureError(path, f"{entry_where}[{i}]", "absent: takes one document and nothing else")
        value = {**value, "db": _extended_json(path, _join(where, "db"), value["db"])}
    if "http" in value:
        value = {**value, "http": _expect_http(path, _join(where, "http"), value["http"])}
    if "sent" in value:
        for i, entry in enumerate(_typed(path, _join(where, "sent"), value["sent"], list, "a list")):
            _typed(path, f"{_join(where, 'sent')}[{i}]", entry, dict, "an object {method, params}")
            _known(path, f"{_join(where, 'sent')}[{i}]", entry, ("method", "params"))
    if "logs" in value:
        for i, entry in enumerate(_typed(path, _join(where, "logs"), value["logs"], list, "a list")):
            if not isinstance(entry, str) and not (isinstance(entry, dict) and set(entry) <= {"level", "message"}):
                raise FixtureError(path, f"{_join(where, 'logs')}[{i}]", "must be text, or {level, message}")
            for key in entry if isinstance(entry, dict) else ():
                _typed(path, f"{_join(where, 'logs')}[{i}].{key}", entry[key], str, "text")
    if value.get("error", 0) is None:  # error: null says what leaving it out says: the run succeeds
        value = {key: item for key, item in value.items() if key != "error"}
    if "error" in value:
        error = _typed(path, _join(where, "error"), value["error"], dict, "an object {type, message, line}")
        _known(path, _join(where, "error"), error, ERROR_KEYS)
        for key, kind, name in (("type", str, "text"), ("message", str, "text"), ("line", int, "a line number")):
            if key in error:
                _typed(path, _join(_join(where, "error"), key), error[key], kind, name)
    if "usage" in value:
        usage = _typed(path, _join(where, "usage"), value["usage"], dict, "an object of upper bounds")
        _known(path, _join(where, "usage"), usage, USAGE_KEYS)
        for key, bound in usage.items():
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                raise FixtureError(path, _join(_join(where, "usage"), key), "must be a number (an upper bound)")
    return value


def _expect_http(path: Path, where: str, value: Any) -> dict[str, Any]:
    """``[...]`` (in this order) or ``{anyOrder: true, requests: [...]}``."""
    in_order = True
    if isinstance(value, dict):
        _known(path, where, value, ("anyOrder", "requests"))
        in_order = not _typed(path, _join(where, "anyOrder"), value.get("anyOrder", False), bool, "true or false")
        where = _join(where, "requests")
        requests = _typed(path, where, value.get("requests"), list, "a list of requests")
    else:
        requests = _typed(path, where, value, list, "a list of requests, or {anyOrder: true, requests: [...]}")
    for i, request in enumerate(requests):
        _typed(path, f"{where}[{i}]", request, dict, "an object {method, url, headers, json, body}")
        _known(path, f"{where}[{i}]", request, REQUEST_KEYS)
        _url(path, f"{where}[{i}]", request)
        _method(path, f"{where}[{i}]", request.get("method"))
        _headers(path, f"{where}[{i}].headers", request.get("headers"))
    return {"in_order": in_order, "requests": requests}
