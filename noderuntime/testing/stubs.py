"""``this.fetch`` for fixtures: canned responses, every request recorded.

:class:`StubHttp` has the signature of :meth:`noderuntime.fetch.HttpClient.fetch`,
validates options with the same rules, and answers from the fixture's stubs.
A request no stub answers raises :class:`~noderuntime.errors.FetchError` in
the script and is remembered, so the case fails even if the script caught it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from noderuntime.errors import BudgetExceeded, FetchError
from noderuntime.fetch import EgressPolicy, parse_options
from noderuntime.testing.fixture import HttpStub


@dataclass(frozen=True)
class Exchange:
    """One request a script made, and what answered it."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None
    status: int | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data: method, url, headers, body (parsed when it is JSON), status."""
        data: dict[str, Any] = {"method": self.method, "url": self.url, "headers": self.headers}
        if self.body is not None:
            data["body"] = self.body
            try:
                data["json"] = json.loads(self.body)
            except ValueError:
                pass
        data["status"] = self.status
        return data


class StubHttp:
    """An HTTP client that answers from stubs."""

    def __init__(self, stubs: tuple[HttpStub, ...] | list[HttpStub], policy: EgressPolicy | None = None) -> None:
        self.stubs = list(stubs)
        #: The offline part of the egress policy still applies: a fixture
        #: cannot pass with a request production would refuse.
        self.policy = policy or EgressPolicy()
        self.requests: list[Exchange] = []
        self.unstubbed: list[str] = []
        self._lock = threading.Lock()

    def fetch(self, url: str, options: dict[str, Any] | None, *, max_bytes: int, timeout: float) -> dict[str, Any]:
        """Answer like :meth:`HttpClient.fetch` from the first matching stub."""
        self.policy.check_url_offline(url)
        request = parse_options(options)
        body = request.body.decode("utf-8", "replace") if request.body is not None else None
        headers = {name: value for name, value in request.headers.values()}
        stub = next((s for s in self.stubs if s.matches(request.method, url)), None)
        with self._lock:
            self.requests.append(Exchange(request.method, url, headers, body, stub.status if stub else None))
            if stub is None:
                self.unstubbed.append(f"{request.method} {url}")
        if stub is None:
            known = "; ".join(s.describe() for s in self.stubs) or "none"
            raise FetchError(f"fetch: no stub answers {request.method} {url} (stubs: {known})")
        limit = timeout if request.timeout_ms is None else min(timeout, request.timeout_ms / 1000)
        if stub.delay_ms:
            time.sleep(min(stub.delay_ms / 1000, limit))
            if stub.delay_ms / 1000 > limit:
                raise FetchError(f"fetch: request to {url} timed out after {round(limit * 1000)} ms")
        return _response(stub, url, max_bytes)


def _response(stub: HttpStub, url: str, max_bytes: int) -> dict[str, Any]:
    headers = dict(stub.headers)
    if stub.has_json:
        text = json.dumps(stub.json, ensure_ascii=False)
        headers.setdefault("content-type", "application/json")
    else:
        text = stub.body or ""
        headers.setdefault("content-type", "text/plain; charset=utf-8")
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise BudgetExceeded("httpBytes", max_bytes, "bytes")
    return {
        "url": url,
        "status": stub.status,
        "statusText": _reason(stub.status),
        "ok": 200 <= stub.status < 300,
        "redirected": False,
        "headers": headers,
        "body": text,
        "bytes": size,
    }


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
