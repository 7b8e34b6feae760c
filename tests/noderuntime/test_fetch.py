"""Tests for noderuntime.fetch: node-fetch-like HTTP with SSRF protection and DNS pinning.

Everything runs against threaded HTTP servers on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from noderuntime.errors import BudgetExceeded, FetchError, ParamError, PermissionDenied
from noderuntime.fetch import EgressPolicy, HttpClient, is_forbidden_address

STOP = threading.Event()  # set at teardown so slow handlers give up quickly


class _Handler(BaseHTTPRequestHandler):
    server_version = "TestServer/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)) if length else b""
        try:
            if path == "/json":
                self._json(200, {"hello": "world", "n": 1})
            elif path == "/text-latin1":
                self._send(200, "café".encode("latin-1"), {"Content-Type": "text/plain; charset=ISO-8859-1"})
            elif path == "/text-nocharset":
                self._send(200, "café ☕".encode(), {"Content-Type": "text/plain"})
            elif path.startswith("/status/"):
                self._send(int(path.rsplit("/", 1)[1]), b"nope", {"Content-Type": "text/plain"})
            elif path == "/slow":
                STOP.wait(float(query.get("s", "3")))
                self._json(200, {"slow": True})
            elif path == "/drip":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(60):  # about 3 s at most
                    if STOP.is_set():
                        break
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif path == "/large":
                self._send(200, b"a" * int(query.get("n", "100000")), {"Content-Type": "text/plain"})
            elif path == "/gzip-bomb":
                payload = gzip.compress(b"\0" * 2_000_000)
                self._send(200, payload, {"Content-Type": "application/octet-stream", "Content-Encoding": "gzip"})
            elif path.startswith("/redirect/"):
                n = int(path.rsplit("/", 1)[1])
                if n <= 0:
                    self._json(200, {"done": True})
                elif n % 2:  # mix relative and absolute locations
                    self._send(302, headers={"Location": f"/redirect/{n - 1}"})
                else:
                    host, port = self.server.server_address[:2]
                    self._send(302, headers={"Location": f"http://{host}:{port}/redirect/{n - 1}"})
            elif path.startswith("/rel-redirect/"):
                n = int(path.rsplit("/", 1)[1])
                if n <= 0:
                    self._json(200, {"done": True})
                else:
                    self._send(302, headers={"Location": f"/rel-redirect/{n - 1}"})
            elif path == "/redirect-to":
                self._send(int(query.get("status", "302")), headers={"Location": query["url"]})
            elif path == "/echo":
                self._json(
                    200,
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body.decode("utf-8", "replace"),
                    },
                )
            else:
                self._send(404, b"unknown test route")
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _route


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # client hang-ups in timeout tests are expected


@dataclass
class Servers:
    a: str  # base URL "http://127.0.0.1:<port>"
    b: str  # a second origin on another port
    port_a: int
    port_b: int


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    STOP.clear()
    started: list[tuple[_Server, threading.Thread]] = []
    try:
        for _ in range(2):
            srv = _Server(("127.0.0.1", 0), _Handler)
            thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            started.append((srv, thread))
        pa, pb = (s.server_address[1] for s, _ in started)
        yield Servers(a=f"http://127.0.0.1:{pa}", b=f"http://127.0.0.1:{pb}", port_a=pa, port_b=pb)
    finally:
        STOP.set()
        for srv, thread in started:
            srv.shutdown()
            srv.server_close()
            thread.join(timeout=5)


@pytest.fixture
def client(servers: Servers) -> HttpClient:
    """Allows both test servers, by exact host:port."""
    return HttpClient(EgressPolicy(frozenset({f"127.0.0.1:{servers.port_a}", f"127.0.0.1:{servers.port_b}"})))


@pytest.fixture
def client_a_only(servers: Servers) -> HttpClient:
    return HttpClient(EgressPolicy(frozenset({f"127.0.0.1:{servers.port_a}"}), max_redirects=3))


def fetch(client: HttpClient, url: str, options: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("max_bytes", 1_000_000)
    kw.setdefault("timeout", 5.0)
    return client.fetch(url, options, **kw)


class ConnectRecorder:
    """Replaces socket.socket.connect: records the address and refuses the connection."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, sock: socket.socket, address: Any) -> None:
        self.calls.append(tuple(address))
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> ConnectRecorder:
    recorder = ConnectRecorder()

    def connect(sock: socket.socket, address: Any) -> None:  # a plain function, so it binds as a method
        recorder(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return recorder


class FakeDNS:
    """A getaddrinfo that answers for chosen names from a script and delegates the rest."""

    def __init__(self, real: Any, answers: dict[str, list[list[str]]]) -> None:
        self.real = real
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in self.answers:
            return self.real(host, port, *args, **kwargs)
        self.calls.append(name)
        script = self.answers[name]
        ips = script[min(len(self.calls_for(name)) - 1, len(script) - 1)]
        out = []
        for ip in ips:
            if ":" in ip:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, int(port or 0), 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, int(port or 0))))
        return out

    def calls_for(self, name: str) -> list[str]:
        return [c for c in self.calls if c == name]


def install_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> FakeDNS:
    fake = FakeDNS(socket.getaddrinfo, answers)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


# --------------------------------------------------------------------------- basic requests


def test_get_json(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/json")
    assert res["status"] == 200
    assert res["ok"] is True
    assert res["statusText"] == "OK"
    assert res["redirected"] is False
    assert res["url"] == f"{servers.a}/json"
    assert json.loads(res["body"]) == {"hello": "world", "n": 1}
    assert res["headers"]["content-type"] == "application/json"
    assert res["bytes"] == len(res["body"].encode())
    assert all(k == k.lower() for k in res["headers"])
    # Plain data only: survives a JSON round trip unchanged.
    assert json.loads(json.dumps(res)) == res


def test_text_decoded_with_response_charset(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/text-latin1")
    assert res["body"] == "café"
    assert res["bytes"] == 4


def test_text_without_charset_falls_back_to_utf8(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/text-nocharset")
    assert res["body"] == "café ☕"


def test_post_dict_body_is_sent_as_json(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/echo", {"method": "post", "body": {"a": 1, "b": ["x", "é"]}})
    echo = json.loads(res["body"])
    assert echo["method"] == "POST"
    assert echo["headers"]["content-type"] == "application/json"
    assert json.loads(echo["body"]) == {"a": 1, "b": ["x", "é"]}


def test_post_list_body_and_explicit_content_type_kept(client: HttpClient, servers: Servers) -> None:
    res = fetch(
        client,
        f"{servers.a}/echo",
        {"method": "PUT", "body": [1, 2], "headers": {"Content-Type": "application/vnd.test+json"}},
    )
    echo = json.loads(res["body"])
    assert echo["method"] == "PUT"
    assert echo["headers"]["content-type"] == "application/vnd.test+json"
    assert json.loads(echo["body"]) == [1, 2]


def test_string_body_sent_as_is(client: HttpClient, servers: Servers) -> None:
    res = fetch(
        client,
        f"{servers.a}/echo",
        {"method": "PATCH", "body": "a=1&b=ü", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    )
    echo = json.loads(res["body"])
    assert echo["method"] == "PATCH"
    assert echo["body"] == "a=1&b=ü"
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_headers_are_passed(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/echo", {"headers": {"X-Custom": "yes", "Authorization": "Bearer t", "X-N": 5}})
    headers = json.loads(res["body"])["headers"]
    assert headers["x-custom"] == "yes"
    assert headers["authorization"] == "Bearer t"
    assert headers["x-n"] == "5"
    assert headers["user-agent"] == "noderuntime-fetch"
    assert headers["host"] == f"127.0.0.1:{servers.port_a}"


def test_user_agent_can_be_overridden(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/echo", {"headers": {"user-agent": "my-bot/1.0"}})
    assert json.loads(res["body"])["headers"]["user-agent"] == "my-bot/1.0"


def test_404_status(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/status/404")
    assert res["status"] == 404
    assert res["ok"] is False
    assert res["statusText"] == "Not Found"
    assert res["body"] == "nope"


def test_head_and_options(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/json", {"method": "HEAD"})
    assert res["status"] == 200 and res["body"] == "" and res["bytes"] == 0
    res = fetch(client, f"{servers.a}/echo", {"method": "OPTIONS"})
    assert json.loads(res["body"])["method"] == "OPTIONS"


# --------------------------------------------------------------------------- timeouts and limits


def test_options_timeout_in_ms(client: HttpClient, servers: Servers) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 0\.3 s"):
        fetch(client, f"{servers.a}/slow?s=3", {"timeout": 300}, timeout=10.0)
    assert time.monotonic() - start < 2.0


def test_timeout_argument_caps_options_timeout(client: HttpClient, servers: Servers) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(client, f"{servers.a}/slow?s=3", {"timeout": 60_000}, timeout=0.3)
    assert time.monotonic() - start < 2.0


def test_slow_drip_body_hits_overall_deadline(client: HttpClient, servers: Servers) -> None:
    # Every read succeeds within the socket timeout; only a whole-fetch deadline stops this.
    start = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(client, f"{servers.a}/drip", timeout=0.5)
    assert time.monotonic() - start < 2.5


def test_max_bytes_exceeded(client: HttpClient, servers: Servers) -> None:
    with pytest.raises(BudgetExceeded) as info:
        fetch(client, f"{servers.a}/large?n=200000", max_bytes=1000)
    assert info.value.budget == "httpBytes"
    assert info.value.limit == 1000
    assert info.value.fatal is True


def test_max_bytes_exact_limit_is_fine(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/large?n=1000", max_bytes=1000)
    assert res["bytes"] == 1000


def test_max_bytes_counts_decompressed_bytes(client: HttpClient, servers: Servers) -> None:
    with pytest.raises(BudgetExceeded):
        fetch(client, f"{servers.a}/gzip-bomb", max_bytes=100_000)


def test_connection_refused_message_is_clean(servers: Servers) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    client = HttpClient(EgressPolicy(frozenset({f"127.0.0.1:{port}"})))
    with pytest.raises(FetchError) as info:
        fetch(client, f"http://127.0.0.1:{port}/")
    assert str(info.value) == f"fetch http://127.0.0.1:{port}/: connection refused"


# --------------------------------------------------------------------------- redirects


def test_redirect_chain_followed(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/redirect/3")
    assert res["status"] == 200
    assert res["redirected"] is True
    assert res["url"] == f"{servers.a}/redirect/0"
    assert json.loads(res["body"]) == {"done": True}


def test_redirects_up_to_max_are_followed(servers: Servers) -> None:
    client = HttpClient(EgressPolicy(frozenset({f"127.0.0.1:{servers.port_a}"}), max_redirects=4))
    assert fetch(client, f"{servers.a}/redirect/4")["status"] == 200
    with pytest.raises(FetchError, match=r"too many redirects \(max 4\)"):
        fetch(client, f"{servers.a}/redirect/5")


def test_too_many_redirects_default_policy(client: HttpClient, servers: Servers) -> None:
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(client, f"{servers.a}/redirect/10")


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/json",  # loopback, but not the allowlisted 127.0.0.1:<port>
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/json",
        "http://localhost:{port}/json",
        "http://2130706433:{port}/json",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
    ],
)
def test_redirect_to_refused_target(client: HttpClient, servers: Servers, target: str) -> None:
    location = target.format(port=servers.port_a)
    with pytest.raises(PermissionDenied):
        fetch(client, f"{servers.a}/redirect-to?url={quote(location, safe='')}")


def test_redirect_to_other_port_of_allowlisted_host_refused(client_a_only: HttpClient, servers: Servers) -> None:
    with pytest.raises(PermissionDenied, match=r"127\.0\.0\.1"):
        fetch(client_a_only, f"{servers.a}/redirect-to?url={quote(servers.b + '/json', safe='')}")


def test_303_turns_post_into_get(client: HttpClient, servers: Servers) -> None:
    res = fetch(
        client,
        f"{servers.a}/redirect-to?status=303&url=/echo",
        {"method": "POST", "body": {"x": 1}},
    )
    echo = json.loads(res["body"])
    assert echo["method"] == "GET"
    assert echo["body"] == ""
    assert "content-type" not in echo["headers"]


def test_302_turns_post_into_get_but_307_keeps_it(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/redirect-to?status=302&url=/echo", {"method": "POST", "body": "hi"})
    assert json.loads(res["body"])["method"] == "GET"
    res = fetch(client, f"{servers.a}/redirect-to?status=307&url=/echo", {"method": "POST", "body": "hi"})
    echo = json.loads(res["body"])
    assert echo["method"] == "POST"
    assert echo["body"] == "hi"


def test_cross_origin_redirect_drops_credentials(client: HttpClient, servers: Servers) -> None:
    headers = {"Authorization": "Bearer secret", "Cookie": "s=1", "X-Keep": "1"}
    same = fetch(client, f"{servers.a}/redirect-to?url=/echo", {"headers": headers})
    assert json.loads(same["body"])["headers"]["authorization"] == "Bearer secret"
    cross = fetch(client, f"{servers.a}/redirect-to?url={quote(servers.b + '/echo', safe='')}", {"headers": headers})
    echoed = json.loads(cross["body"])["headers"]
    assert "authorization" not in echoed
    assert "cookie" not in echoed
    assert echoed["x-keep"] == "1"


def test_redirect_manual_returns_the_redirect(client: HttpClient, servers: Servers) -> None:
    res = fetch(client, f"{servers.a}/redirect/2", {"redirect": "manual"})
    assert res["status"] == 302
    assert res["redirected"] is False
    assert res["headers"]["location"].endswith("/redirect/1")


def test_redirect_error_mode(client: HttpClient, servers: Servers) -> None:
    with pytest.raises(FetchError, match="redirect"):
        fetch(client, f"{servers.a}/redirect/1", {"redirect": "error"})


# --------------------------------------------------------------------------- egress policy


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:70/_x", "data:,hi"])
def test_refused_schemes(url: str, no_connect: ConnectRecorder) -> None:
    client = HttpClient(EgressPolicy(frozenset()))
    with pytest.raises(PermissionDenied, match="scheme"):
        fetch(client, url)
    assert no_connect.calls == []


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1/", "127.0.0.1"),
        ("http://localhost/", "127.0.0.1"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://192.168.1.1/", "192.168.1.1"),
        ("http://172.16.0.1/", "172.16.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://100.64.0.1/", "100.64.0.1"),
        ("http://100.100.100.200/", "100.100.100.200"),
        ("http://0.0.0.0/", "0.0.0.0"),
        ("http://0/", "0.0.0.0"),
        ("http://[::1]/", "::1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
        ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254"),
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://224.0.0.1/", "224.0.0.1"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
        ("http://[fe80::1]/", "fe80::1"),
        ("http://[2002:7f00:1::]/", "2002:7f00:1::"),
        ("http://192.0.0.192/", "192.0.0.192"),
        ("https://127.0.0.1:8443/", "127.0.0.1"),
    ],
)
def test_refused_addresses_without_allowlist(url: str, address: str, no_connect: ConnectRecorder) -> None:
    client = HttpClient(EgressPolicy(frozenset()))
    with pytest.raises(PermissionDenied) as info:
        fetch(client, url)
    assert address in str(info.value)
    assert no_connect.calls == []


def test_allowlist_entry_is_host_and_port_specific(servers: Servers, no_connect: ConnectRecorder) -> None:
    policy = EgressPolicy(frozenset({"127.0.0.1:1234"}))
    assert policy.check_url("http://127.0.0.1:1234/x") == ("http", "127.0.0.1", 1234, "127.0.0.1")
    with pytest.raises(PermissionDenied):
        policy.check_url("http://127.0.0.1:1235/x")
    with pytest.raises(PermissionDenied):
        policy.check_url("http://127.0.0.1/x")
    anyport = EgressPolicy(frozenset({"127.0.0.1", "[::1]:80"}))
    assert anyport.check_url("http://127.0.0.1:9/")[3] == "127.0.0.1"
    assert anyport.check_url("http://[::1]/")[3] == "::1"
    with pytest.raises(PermissionDenied):
        anyport.check_url("http://[::1]:81/")
    assert no_connect.calls == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "100.100.100.200",
        "100.64.0.1",
        "192.0.0.192",
        "198.18.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "0.0.0.0",
        "::",
        "::1",
        "::ffff:10.0.0.1",
        "::7f00:1",
        "64:ff9b::a00:1",
        "2002:a00:1::",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
        "fd00:ec2::254",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "not-an-ip",
    ],
)
def test_is_forbidden_address(address: str) -> None:
    assert is_forbidden_address(address) is True


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2002:808:808::"])
def test_public_addresses_allowed(address: str) -> None:
    assert is_forbidden_address(address) is False


def test_name_resolving_to_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, no_connect: ConnectRecorder
) -> None:
    install_dns(monkeypatch, {"mixed.test": [["93.184.216.34", "10.0.0.5"]]})
    client = HttpClient(EgressPolicy(frozenset()))
    with pytest.raises(PermissionDenied, match=r"mixed\.test resolves to 10\.0\.0\.5"):
        fetch(client, "http://mixed.test/")
    assert no_connect.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw@127.0.0.1:{port}/json",
        "http://127.0.0.1:{port}@evil.test/json",
        "http://@127.0.0.1:{port}/json",
    ],
)
def test_userinfo_refused(client: HttpClient, servers: Servers, url: str) -> None:
    with pytest.raises(PermissionDenied, match="credentials"):
        fetch(client, url.format(port=servers.port_a))


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1\\@evil.test/", "http://evil .test/", "http://ex\tample.com/", "http://%31%32%37.0.0.1/", ""],
)
def test_malformed_urls_refused(url: str, no_connect: ConnectRecorder) -> None:
    client = HttpClient(EgressPolicy(frozenset()))
    with pytest.raises(ParamError):
        fetch(client, url)
    assert no_connect.calls == []


# --------------------------------------------------------------------------- DNS pinning


def test_dns_resolved_once_per_hop_and_connection_uses_checked_ip(
    monkeypatch: pytest.MonkeyPatch, servers: Servers
) -> None:
    # First answer is the real server; any later answer points at 127.0.0.2, where nothing
    # listens. A second resolution inside requests/urllib3 would fail or be counted.
    dns = install_dns(monkeypatch, {"pinned.test": [["127.0.0.1"], ["127.0.0.2"]]})
    client = HttpClient(EgressPolicy(frozenset({f"pinned.test:{servers.port_a}"})))
    res = fetch(client, f"http://pinned.test:{servers.port_a}/echo")
    assert res["status"] == 200
    assert dns.calls == ["pinned.test"]
    # The name, not the pinned IP, is what the server sees as Host.
    assert json.loads(res["body"])["headers"]["host"] == f"pinned.test:{servers.port_a}"


def test_every_redirect_hop_is_resolved_and_checked_again(monkeypatch: pytest.MonkeyPatch, servers: Servers) -> None:
    dns = install_dns(monkeypatch, {"hop.test": [["127.0.0.1"]]})
    client = HttpClient(
        EgressPolicy(frozenset({f"127.0.0.1:{servers.port_a}", f"hop.test:{servers.port_a}"}), max_redirects=5)
    )
    res = fetch(client, f"http://hop.test:{servers.port_a}/rel-redirect/3")
    assert res["url"] == f"http://hop.test:{servers.port_a}/rel-redirect/0"
    assert dns.calls == ["hop.test"] * 4  # one resolution for each of the 4 hops, no more
    # Allowlisted server redirecting to a name that turns private is refused on that hop.
    dns2 = install_dns(monkeypatch, {"rebind.test": [["10.0.0.7"]]})
    with pytest.raises(PermissionDenied, match=r"10\.0\.0\.7"):
        fetch(client, f"{servers.a}/redirect-to?url={quote(f'http://rebind.test:{servers.port_a}/json', safe='')}")
    assert dns2.calls == ["rebind.test"]


def test_dns_rebinding_cannot_switch_address_after_check(
    monkeypatch: pytest.MonkeyPatch, no_connect: ConnectRecorder
) -> None:
    # The check sees a public address; a second lookup would return loopback.
    dns = install_dns(monkeypatch, {"rebind.test": [["93.184.216.34"], ["127.0.0.1"]]})
    client = HttpClient(EgressPolicy(frozenset()))
    with pytest.raises(FetchError, match="connection refused"):
        fetch(client, "http://rebind.test/")
    assert dns.calls == ["rebind.test"]
    assert no_connect.calls == [("93.184.216.34", 80)]


def test_https_connects_to_pinned_ip(monkeypatch: pytest.MonkeyPatch, no_connect: ConnectRecorder) -> None:
    install_dns(monkeypatch, {"secure.test": [["93.184.216.34"], ["127.0.0.1"]]})
    client = HttpClient(EgressPolicy(frozenset()))
    with pytest.raises(FetchError, match="connection refused"):
        fetch(client, "https://secure.test/")
    assert no_connect.calls == [("93.184.216.34", 443)]


# --------------------------------------------------------------------------- bad options


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "a\r\nX-Injected: 1"},
        {"X-A": "a\nb"},
        {"X-A": "a\rb"},
        {"X-A\r\nX-B": "1"},
        {"X A": "1"},
        {"X-A:": "1"},
        {"": "1"},
        {"X-A": None},
        {"X-A": "\u2603"},
    ],
)
def test_header_injection_refused(client: HttpClient, servers: Servers, headers: dict[str, Any]) -> None:
    with pytest.raises(ParamError):
        fetch(client, f"{servers.a}/echo", {"headers": headers})


@pytest.mark.parametrize("name", ["Host", "host", "Content-Length", "Transfer-Encoding", "Proxy-Authorization"])
def test_routing_and_framing_headers_refused(client: HttpClient, servers: Servers, name: str) -> None:
    with pytest.raises(PermissionDenied, match=name):
        fetch(client, f"{servers.a}/echo", {"headers": {name: "evil.test"}})


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "GET /admin HTTP/1.1", "", 5, None])
def test_bad_method_refused(client: HttpClient, servers: Servers, method: Any) -> None:
    if method is None:  # None means "default", like an absent key
        assert fetch(client, f"{servers.a}/json", {"method": None})["status"] == 200
        return
    with pytest.raises(ParamError, match="method"):
        fetch(client, f"{servers.a}/echo", {"method": method})


@pytest.mark.parametrize(
    "options",
    [
        {"agent": "x"},
        {"body": "x"},  # GET with a body
        {"method": "HEAD", "body": {"a": 1}},
        {"method": "POST", "body": 5},
        {"method": "POST", "body": {"n": float("nan")}},
        {"timeout": -1},
        {"timeout": "100"},
        {"timeout": True},
        {"redirect": "sometimes"},
        {"headers": ["X-A", "1"]},
        "GET",
    ],
)
def test_bad_options_refused(client: HttpClient, servers: Servers, options: Any) -> None:
    with pytest.raises(ParamError):
        client.fetch(f"{servers.a}/echo", options, max_bytes=1000, timeout=5.0)


def test_bad_call_arguments(client: HttpClient, servers: Servers) -> None:
    with pytest.raises(ParamError):
        client.fetch(f"{servers.a}/json", None, max_bytes=-1, timeout=5.0)
    with pytest.raises(ParamError):
        client.fetch(f"{servers.a}/json", None, max_bytes=10, timeout=0)
    with pytest.raises(ParamError):
        client.fetch(123, None, max_bytes=10, timeout=1.0)  # type: ignore[arg-type]
