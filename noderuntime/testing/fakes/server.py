"""The HTTP server the fakes share: a threaded server on 127.0.0.1 with a
route table, request recording and fault injection."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests


@dataclass
class Request:
    """One request a fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (None when it is not)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        """The body as a urlencoded form (last value wins, as in PHP)."""
        return {key: values[-1] for key, values in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}


@dataclass
class Answer:
    """What a route answers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Raw text (sent as is) instead of JSON.
    text: str | None = None


Route = Callable[[Request, re.Match[str]], Answer]


@dataclass
class Fault:
    """A failure the next matching requests get instead of their answer."""

    #: Answer with this status (and ``body``) without doing the work.
    status: int | None = None
    body: Any = None
    #: Wait this long, then do the work and answer: a client with a shorter
    #: timeout gives up although the request took effect.
    delay: float = 0.0
    #: Close the connection without answering or doing the work.
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with a route table.

    Subclasses register routes with :meth:`route`. ``down()``/``up()`` make
    it refuse connections and come back on the same port; ``fail(...)``
    injects faults into the next requests on a path.
    """

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Route]] = []
        self.requests: list[Request] = []
        self.faults: list[tuple[re.Pattern[str], Fault]] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # Lifecycle -------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Listen (on the same port as before, after :meth:`down`)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    down = stop

    def up(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            self.start()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    # Routes and faults ---------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Route) -> None:
        """Answer ``method`` on paths matching ``pattern`` (a full-match regex)."""
        self.routes.append((method, re.compile(pattern), handler))

    def fail(self, path_pattern: str, fault: Fault, times: int = 1) -> None:
        """The next ``times`` requests whose path matches get ``fault``."""
        with self.lock:
            for _ in range(times):
                self.faults.append((re.compile(path_pattern), fault))

    def seen(self, method: str | None = None, path_pattern: str | None = None) -> list[Request]:
        """The requests received, optionally only those matching."""
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method)
                and (path_pattern is None or re.fullmatch(path_pattern, r.path))
            ]

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for index, (pattern, fault) in enumerate(self.faults):
                if pattern.fullmatch(path):
                    del self.faults[index]
                    return fault
        return None

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        request = Request(handler.command, parts.path, query, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self.lock:
            self.requests.append(request)
        fault = self._take_fault(parts.path)
        answer: Answer | None = None
        if fault is not None:
            if fault.drop:
                handler.close_connection = True
                handler.connection.close()
                return
            time.sleep(fault.delay)
            if fault.status is not None:
                answer = Answer(fault.status, fault.body, dict(fault.headers))
        if answer is None:
            answer = self._dispatch(request)
        self._write(handler, answer)

    def _dispatch(self, request: Request) -> Answer:
        for method, pattern, route in self.routes:
            found = pattern.fullmatch(request.path)
            if found and method == request.method:
                with self.lock:
                    return route(request, found)
        return Answer(404, {"success": False, "error": "Not found"})

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        if answer.text is not None:
            data = answer.text.encode("utf-8")
            content_type = answer.headers.get("Content-Type", "text/html; charset=UTF-8")
        else:
            data = json.dumps(answer.body).encode("utf-8")
            content_type = answer.headers.get("Content-Type", "application/json")
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", content_type)
            for name, value in answer.headers.items():
                if name.lower() != "content-type":
                    handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (its timeout): the work is done all the same


def post_webhook(url: str, payload: Any, headers: dict[str, str] | None = None, timeout: float = 10.0) -> int:
    """POST ``payload`` as JSON to a webhook URL, as the real systems do; the status (0 when unreachable)."""
    data = json.dumps(payload).encode("utf-8")
    try:
        answer = requests.post(
            url, data=data, headers={"Content-Type": "application/json", **(headers or {})}, timeout=timeout
        )
    except requests.RequestException:
        return 0
    return answer.status_code
