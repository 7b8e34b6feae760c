"""The security corpus runs every attempt on one isolated pool, as production
would, and checks after each that the same pool still serves."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from noderuntime.config import Config, Limits
from noderuntime.methods import MethodTable
from noderuntime.methods.params import param
from noderuntime.runtime import RunResult, Runtime

LIMITS = Limits(
    wall_ms=1500, cpu_ms=5000, memory_mb=256, method_calls=20, http_requests=3, http_bytes=100_000, log_bytes=4096
)


class _Redirects(http.server.BaseHTTPRequestHandler):
    """A local peer that redirects wherever its path says."""

    def do_GET(self) -> None:
        if self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", "http://" + self.path[len("/to/") :])
            self.end_headers()
            return
        content_type = "application/json"
        if self.path == "/json":
            body = b'{"hello": "world"}'
        elif self.path == "/utf7":
            body, content_type = b"+2AA-", "text/plain; charset=utf-7"  # decodes to a lone surrogate
        elif self.path == "/huge":
            body = b"y" * 4_500_000
        else:
            body = b"x" * 200_000
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def peer() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def runtime(peer: str) -> Iterator[Runtime]:
    config = Config(mode="isolated", workers=2, limits=LIMITS, fetch_allow_hosts=(peer,))
    methods = MethodTable()
    methods.add("echo", lambda run, value=None: {"value": value}, value=param(str, int, dict, list))
    with Runtime(config, methods=methods, clock=lambda: 1_601_481_600_000) as shared:
        yield shared


@pytest.fixture
def attempt(runtime: Runtime):
    """Run a hostile script, then prove the pool still serves a normal one."""

    def run(source: str, context: dict[str, Any] | None = None) -> RunResult:
        result = runtime.run(source, context or {"member": {"app": "app1", "meta": {}}})
        after = runtime.run("return {'alive': True}")
        assert after.ok and after.value == {"alive": True}, f"pool unhealthy after attempt: {after.error}"
        return result

    return run


def refused(result: RunResult, kind: str, fragment: str, line: int | None = None) -> None:
    """The run failed with this error type, a message containing ``fragment``,
    and (when given) the author's line."""
    assert not result.ok, f"attempt succeeded with {result.value!r}"
    assert result.error["type"] == kind, result.error
    # A refused script may have several problems; the one named must be among them.
    problems = result.error.get("problems") or [result.error]
    matching = [p for p in problems if fragment in p["message"]]
    assert matching, result.error
    if line is not None:
        assert matching[0]["line"] == line, result.error
