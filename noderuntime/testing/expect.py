"""Checking a run against a case's ``expect``.

Matching is by subset: an expected object lists the fields that matter and
the actual one may have more; a list must have the same length and each item
must match; ``null`` matches a null or a missing field; numbers compare by
value (1 == 1.0). Each difference is a :class:`Mismatch` with its path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from noderuntime.runtime import RunResult
from noderuntime.store import Store
from noderuntime.store.ids import for_script
from noderuntime.testing.stubs import StubHttp

_MISSING: Any = object()


@dataclass(frozen=True)
class Mismatch:
    """One way the run differs from the expectation."""

    path: str
    message: str
    expected: Any = _MISSING
    actual: Any = _MISSING

    def render(self) -> str:
        """``path: message`` with expected and actual on their own lines."""
        lines = [f"{self.path}: {self.message}"]
        if self.expected is not _MISSING:
            lines.append(f"    expected: {show(self.expected)}")
        if self.actual is not _MISSING:
            lines.append(f"    actual:   {show(self.actual)}")
        return "\n".join(lines)


def show(value: Any) -> str:
    """A value as compact JSON (cut at 300 characters)."""
    if value is _MISSING:
        return "(missing)"
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=False)
    return text if len(text) <= 300 else text[:297] + "..."


def subset(expected: Any, actual: Any, path: str) -> list[Mismatch]:
    """How ``actual`` fails to contain ``expected`` (empty when it does)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [Mismatch(path, "expected an object", expected, actual)]
        problems: list[Mismatch] = []
        for key, wanted in expected.items():
            got = actual.get(key, _MISSING)
            if got is _MISSING and wanted is not None:
                problems.append(Mismatch(f"{path}.{key}", "missing", wanted))
            elif got is not _MISSING:
                problems += subset(wanted, got, f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [Mismatch(path, "expected a list", expected, actual)]
        if len(expected) != len(actual):
            return [Mismatch(path, f"expected {len(expected)} items, got {len(actual)}", expected, actual)]
        return [
            problem
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for problem in subset(e, a, f"{path}[{i}]")
        ]
    if _same(expected, actual):
        return []
    return [Mismatch(path, "differs", expected, actual)]


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def check(expect: dict[str, Any], result: RunResult, store: Store, http: StubHttp) -> list[Mismatch]:
    """Every difference between the run and ``expect``."""
    problems: list[Mismatch] = []
    if http.unstubbed:
        problems += [Mismatch("http", f"the script made a request no stub answers: {r}") for r in http.unstubbed]
    problems += _check_error(expect.get("error"), result)
    # A run that failed has no value: its error already says why.
    if "value" in expect and (result.ok or "error" in expect):
        problems += subset(expect["value"], result.value, "value")
    if "member" in expect:
        problems += subset(expect["member"], result.member, "member")
    for collection, entries in (expect.get("db") or {}).items():
        problems += _check_collection(collection, entries, store)
    if "http" in expect:
        problems += _check_http(expect["http"], http)
    if "sent" in expect:
        problems += _check_sent(expect["sent"], result)
    for i, line in enumerate(expect.get("logs") or []):
        problems += _check_log(i, line, result)
    for name, bound in (expect.get("usage") or {}).items():
        used = getattr(result.usage, name) or 0
        if used > bound:
            problems.append(Mismatch(f"usage.{name}", f"{used} is over the bound {bound}"))
    return problems


def _check_error(expected: dict[str, Any] | None, result: RunResult) -> list[Mismatch]:
    error = result.error
    if expected is None:
        if error is None:
            return []
        where = f" (line {error['line']})" if error.get("line") else ""
        detail = f"\n{error['snippet']}" if error.get("snippet") else ""
        return [Mismatch("error", f"the script failed: {error['type']}: {error['message']}{where}{detail}")]
    if error is None:
        return [Mismatch("error", "expected the script to fail, but it succeeded", expected, result.value)]
    problems = []
    if "type" in expected and expected["type"] != error.get("type"):
        actual = f"{error.get('type')}: {error.get('message')} (line {error.get('line')})"
        problems.append(Mismatch("error.type", "differs", expected["type"], actual))
    if "message" in expected and str(expected["message"]) not in (error.get("message") or ""):
        problems.append(
            Mismatch("error.message", "does not contain the expected text", expected["message"], error.get("message"))
        )
    if "line" in expected and expected["line"] != error.get("line"):
        problems.append(Mismatch("error.line", "differs", expected["line"], error.get("line")))
    return problems


def _check_collection(collection: str, entries: list[dict[str, Any]], store: Store) -> list[Mismatch]:
    documents = for_script(store.find(collection, {})) if store.has_collection(collection) else []
    problems = []
    for i, entry in enumerate(entries):
        path = f"db.{collection}[{i}]"
        if "absent" in entry:
            wanted = for_script(entry["absent"])
            found = next((d for d in documents if not subset(wanted, d, path)), None)
            if found is not None:
                problems.append(Mismatch(path, "expected no document like this, found one", wanted, found))
            continue
        wanted = for_script(entry)
        if any(not subset(wanted, d, path) for d in documents):
            continue
        closest = min(documents, key=lambda d: len(subset(wanted, d, path)), default=None)
        message = f"no document in {collection} matches" if documents else f"{collection} is empty"
        problems.append(Mismatch(path, message, wanted, closest if closest is not None else _MISSING))
    return problems


def _request_matches(expected: dict[str, Any], made: dict[str, Any]) -> bool:
    if "method" in expected and expected["method"].upper() != made["method"]:
        return False
    if "url" in expected and expected["url"] != made["url"]:
        return False
    if "urlPattern" in expected:
        if re.fullmatch(expected["urlPattern"], made["url"]) is None:
            return False
    if "headers" in expected:
        sent = {name.lower(): value for name, value in made["headers"].items()}
        if any(sent.get(name.lower()) != str(value) for name, value in expected["headers"].items()):
            return False
    if "json" in expected and subset(expected["json"], made.get("json", _MISSING), "json"):
        return False
    return not ("body" in expected and str(expected["body"]) not in (made.get("body") or ""))


def _check_http(expected: dict[str, Any], http: StubHttp) -> list[Mismatch]:
    made = [exchange.as_dict() for exchange in http.requests]
    wanted = expected["requests"]
    problems = []
    if expected["in_order"]:
        position = 0
        for i, request in enumerate(wanted):
            hit = next((j for j in range(position, len(made)) if _request_matches(request, made[j])), None)
            if hit is None:
                problems.append(
                    Mismatch(f"http[{i}]", "no such request (in this order)", request, made[position:] or _MISSING)
                )
                continue
            position = hit + 1
        return problems
    unused = list(made)
    for i, request in enumerate(wanted):
        hit = next((m for m in unused if _request_matches(request, m)), None)
        if hit is None:
            problems.append(Mismatch(f"http[{i}]", "no such request", request, made or _MISSING))
        else:
            unused.remove(hit)
    return problems


def _check_sent(expected: list[dict[str, Any]], result: RunResult) -> list[Mismatch]:
    sent = [
        {"method": c["method"], "params": c["params"]}
        for c in result.calls
        if c["method"].startswith("send") and c.get("ok")
    ]
    unused = list(sent)
    problems = []
    for i, message in enumerate(expected):
        hit = next((m for m in unused if not subset(message, m, "sent")), None)
        if hit is None:
            problems.append(Mismatch(f"sent[{i}]", "no such message was sent", message, sent or _MISSING))
        else:
            unused.remove(hit)  # each message sent satisfies one expectation
    return problems


def _check_log(index: int, expected: Any, result: RunResult) -> list[Mismatch]:
    text = expected if isinstance(expected, str) else expected.get("message", "")
    level = None if isinstance(expected, str) else expected.get("level")
    for line in result.logs:
        if text in line["message"] and (level is None or line["level"] == level):
            return []
    logged = [f"[{line['level']}] {line['message']}" for line in result.logs]
    return [Mismatch(f"logs[{index}]", "no log line contains this", expected, logged or _MISSING)]
