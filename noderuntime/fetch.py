"""``this.fetch(url, options)``: a node-fetch-like HTTP client that runs in the host.

Every URL a script hands over is hostile. Before each hop (the first request and every
redirect) :meth:`EgressPolicy.check_url` parses the URL, resolves the host once with
:func:`socket.getaddrinfo` and refuses it if *any* address is not publicly routable.
The connection is then made to exactly the address that was checked ("DNS pinning"):
requests is given a transport adapter whose urllib3 connection classes override
``_new_conn`` to open the socket to the pinned IP without resolving again, while the
``Host`` header, TLS SNI and certificate verification still use the original hostname.

Only plain data leaves this module: the result is a dict of str/int/bool values, and
errors are :mod:`noderuntime.errors` exceptions with short messages that never carry
object reprs, memory addresses or file paths.
"""

from __future__ import annotations

import codecs
import http.client
import ipaddress
import json
import math
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.poolmanager import PoolManager

from noderuntime.errors import BudgetExceeded, FetchError, ParamError, PermissionDenied

__all__ = ["EgressPolicy", "HttpClient", "is_forbidden_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
REDIRECT_MODES = ("follow", "manual", "error")
SUPPORTED_OPTIONS = ("method", "headers", "body", "timeout", "redirect")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

MAX_URL_LENGTH = 8192
MAX_HEADERS = 100
MAX_HEADER_VALUE_LENGTH = 8192
MAX_REQUEST_BODY_BYTES = 8 * 1024 * 1024
_CHUNK_SIZE = 64 * 1024

# Headers a script may not set: the runtime owns routing and message framing.
FORBIDDEN_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    }
)
# Dropped when a redirect crosses to another origin (as node-fetch / the fetch spec do).
_CROSS_ORIGIN_STRIPPED = frozenset({"authorization", "cookie", "cookie2", "www-authenticate", "proxy-authorization"})
# Dropped when a redirect turns the request into a body-less GET.
_BODY_HEADERS = frozenset(
    {"content-type", "content-length", "content-encoding", "content-language", "content-location"}
)

_TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HOSTNAME_RE = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")
_URL_BAD_CHARS_RE = re.compile(r"[\x00-\x20\x7f\\]")

# Special-purpose ranges refused on top of ``not ip.is_global``. Python's ``is_global`` has
# changed between patch releases (and misses several of these in 3.11.7), so spell them out.
_FORBIDDEN_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this" network; 0.0.0.0 reaches the local host
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space / CGNAT (incl. 100.100.100.200 Alibaba metadata)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local (incl. 169.254.169.254 cloud metadata)
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments (incl. 192.0.0.192 Oracle metadata)
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. 255.255.255.255 broadcast
        "::/128",
        "::1/128",
        "::/96",  # deprecated IPv4-compatible addresses
        "::ffff:0:0/96",  # IPv4-mapped (the embedded address is also checked)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (incl. Teredo 2001::/32)
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local (incl. fd00:ec2::254 AWS metadata)
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_forbidden_address(address: str | IPAddress) -> bool:
    """Return True if ``address`` is not a publicly routable unicast address.

    Refuses loopback, private, link-local (cloud metadata), multicast, reserved,
    unspecified and shared (100.64/10) addresses, and IPv6 forms that embed such an
    IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64). Unparseable
    input is refused too.
    """
    try:
        ip = address if not isinstance(address, str) else ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if ip.ipv4_mapped is not None:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.extend(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(is_forbidden_address(v4) for v4 in embedded):
            return True
    if (
        not ip.is_global
        or ip.is_multicast
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    ):
        return True
    return any(ip.version == net.version and ip in net for net in _FORBIDDEN_NETWORKS)


def _normalize_host(host: str) -> str:
    """Lowercase a host, drop IPv6 brackets and a trailing dot; canonicalize IP literals."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    host = host.rstrip(".")
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host


def _parse_allow_entry(entry: str) -> tuple[str, int | None]:
    """Split an allowlist entry ("host", "host:port", "[v6]:port" or a bare IPv6) into (host, port)."""
    entry = entry.strip()
    port: str | None = None
    if entry.startswith("["):
        close = entry.find("]")
        if close < 0:
            raise ValueError(f"bad allow_hosts entry {entry!r}")
        host, rest = entry[1:close], entry[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"bad allow_hosts entry {entry!r}")
            port = rest[1:]
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host = entry
    if not host:
        raise ValueError(f"bad allow_hosts entry {entry!r}")
    if port is None:
        return _normalize_host(host), None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad port in allow_hosts entry {entry!r}")
    return _normalize_host(host), int(port)


def _short(url: str, limit: int = 200) -> str:
    """Shorten a URL for an error message."""
    return url if len(url) <= limit else url[: limit - 3] + "..."


@dataclass(frozen=True)
class EgressPolicy:
    """Which hosts ``fetch`` may reach.

    ``allow_hosts`` holds "host" or "host:port" entries (IPv6 as "[::1]:8080") that skip
    the public-address check, e.g. a local test server; everything else must resolve
    only to globally routable addresses. ``max_redirects`` bounds the hops followed.
    """

    allow_hosts: frozenset[str] = frozenset()
    max_redirects: int = 5
    _allow: frozenset[tuple[str, int | None]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hosts = self.allow_hosts
        if isinstance(hosts, str) or not isinstance(hosts, Iterable):
            raise TypeError("allow_hosts must be a set of 'host' or 'host:port' strings")
        hosts = frozenset(hosts)
        if not all(isinstance(h, str) for h in hosts):
            raise TypeError("allow_hosts entries must be strings")
        if isinstance(self.max_redirects, bool) or not isinstance(self.max_redirects, int) or self.max_redirects < 0:
            raise ValueError("max_redirects must be a non-negative int")
        object.__setattr__(self, "allow_hosts", hosts)
        object.__setattr__(self, "_allow", frozenset(_parse_allow_entry(h) for h in hosts))

    def is_allowlisted(self, host: str, port: int) -> bool:
        """Whether ``host:port`` matches an ``allow_hosts`` entry."""
        norm = _normalize_host(host)
        return (norm, None) in self._allow or (norm, port) in self._allow

    def check_url(self, url: str) -> tuple[str, str, int, str]:
        """Validate ``url`` and resolve its host once.

        Returns ``(scheme, host, port, pinned_ip)``: ``host`` is the lowercased hostname
        (no IPv6 brackets) and ``pinned_ip`` the checked address the connection must use.
        Raises ParamError for a malformed URL, PermissionDenied for a refused scheme,
        credentials in the URL or a non-public address, FetchError if the host does
        not resolve.
        """
        scheme, raw_host, port, shown = self.check_url_form(url)
        try:
            infos = socket.getaddrinfo(raw_host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError, OSError):
            raise FetchError(f"fetch {shown}: could not resolve host {raw_host}") from None
        addresses: list[str] = []
        for family, _type, _proto, _canon, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            addr = str(sockaddr[0]).split("%", 1)[0]
            if addr not in addresses:
                addresses.append(addr)
        if not addresses:
            raise FetchError(f"fetch {shown}: could not resolve host {raw_host}")
        if not self.is_allowlisted(raw_host, port):
            for addr in addresses:
                if is_forbidden_address(addr):
                    raise PermissionDenied(
                        f"fetch {shown}: host {raw_host} resolves to {addr}, which is not a public address"
                    )
        return scheme, raw_host, port, addresses[0]

    def check_url_form(self, url: str) -> tuple[str, str, int, str]:
        """Everything :meth:`check_url` checks before resolving the host:
        ``(scheme, host, port, url as shown in messages)``."""
        if not isinstance(url, str) or not url:
            raise ParamError("fetch: url must be a non-empty string")
        if len(url) > MAX_URL_LENGTH:
            raise ParamError(f"fetch: url longer than {MAX_URL_LENGTH} characters")
        shown = _short(url)
        if _URL_BAD_CHARS_RE.search(url):
            raise ParamError(f"fetch {shown!r}: url contains whitespace, control characters or backslashes")
        try:
            parts = urlsplit(url)
        except ValueError:
            raise ParamError(f"fetch {shown}: malformed url") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise PermissionDenied(f"fetch {shown}: scheme {scheme or '(none)'!r} is not allowed (http and https only)")
        netloc = parts.netloc
        if "@" in netloc:
            raise PermissionDenied(f"fetch {shown}: credentials (user@host) in the url are not allowed")
        raw_host = parts.hostname or ""
        if not raw_host:
            raise ParamError(f"fetch {shown}: url has no host")
        try:
            port = parts.port
        except ValueError:
            raise ParamError(f"fetch {shown}: bad port") from None
        if port is None:
            port = 443 if scheme == "https" else 80
        if not 0 < port < 65536:
            raise ParamError(f"fetch {shown}: bad port")
        if netloc.startswith("["):
            try:
                ipaddress.IPv6Address(raw_host)
            except ValueError:
                raise ParamError(f"fetch {shown}: bad IPv6 address") from None
        elif not raw_host.isascii():
            raise ParamError(f"fetch {shown}: non-ASCII host names must be given in punycode (xn--) form")
        elif len(raw_host) > 253 or not _HOSTNAME_RE.match(raw_host):
            raise ParamError(f"fetch {shown}: bad host name")
        return scheme, raw_host, port, shown

    def check_url_offline(self, url: str) -> None:
        """The checks that need no network: the url's form, and a host that is
        an IP literal or ``localhost`` (used where no request is really made,
        such as a test's stubs, so a stub cannot pass what production refuses)."""
        _scheme, host, port, shown = self.check_url_form(url)
        if self.is_allowlisted(host, port):
            return
        if host == "localhost" or host.endswith(".localhost"):
            raise PermissionDenied(f"fetch {shown}: host {host} is not a public address")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return
        if is_forbidden_address(str(literal)):
            raise PermissionDenied(f"fetch {shown}: host {host} is not a public address")


# --------------------------------------------------------------------------- transport


class _Watchdog:
    """Enforces the whole-fetch deadline by shutting down every connection still open at it.

    Socket timeouts bound each read, not the total; a server dripping one byte per
    second would otherwise hold the host far beyond the caller's timeout. The watchdog
    keeps a ``dup()`` of each socket: shutting that down ends the TCP connection even
    after TLS wrapping has detached the original socket object, and its own file
    descriptor can never be reused for an unrelated socket while we hold it.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._closed = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        """Arm the timer."""
        self._timer.start()

    def close(self) -> None:
        """Disarm the timer and release the duplicated sockets (the fetch is over)."""
        self._timer.cancel()
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()

    def register(self, sock: socket.socket) -> None:
        """Track a new socket; shut it down at once if the deadline has already passed."""
        dup = sock.dup()
        with self._lock:
            if not self._closed and not self.fired:
                self._sockets.append(dup)
                return
        self._shutdown(dup)
        dup.close()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


@dataclass(frozen=True)
class _Pin:
    """The one origin a transport may reach, and the checked address to reach it at."""

    scheme: str
    host: str
    port: int
    ip: str
    watchdog: _Watchdog


class _PinnedConnectionMixin:
    """Replaces urllib3's ``HTTPConnection._new_conn`` so the socket goes to ``_pin.ip``.

    urllib3 would call ``create_connection((self._dns_host, port))`` and resolve the
    name again; here no resolution happens at all. ``self.host`` stays the original
    hostname, so http.client's Host header and HTTPSConnection's SNI / hostname
    verification are unchanged.
    """

    port: int
    timeout: float | None
    socket_options: Any

    def __init__(self, *args: Any, _pin: _Pin, **kwargs: Any) -> None:
        self._pin = _pin
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        ip = self._pin.ip
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            for opt in self.socket_options or ():
                sock.setsockopt(*opt)
            sock.settimeout(self.timeout)
            sock.connect((ip, self.port))
            self._pin.watchdog.register(sock)
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeoutError(self, "connect timed out") from exc
        except OSError as exc:
            sock.close()
            reason = exc.strerror or type(exc).__name__
            raise NewConnectionError(self, f"failed to connect: {reason}") from exc  # type: ignore[arg-type]
        except BaseException:
            sock.close()
            raise
        return sock


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    """HTTP connection to the pinned address."""


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    """HTTPS connection to the pinned address; SNI and certificate checks use the hostname."""


class _PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedPoolManager(PoolManager):
    """Creates pools only for the pinned origin and hands them the pin."""

    def __init__(self, *args: Any, pin: _Pin, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pin = pin
        self.pool_classes_by_scheme = {"http": _PinnedHTTPConnectionPool, "https": _PinnedHTTPSConnectionPool}

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pin = self._pin
        if (scheme.lower(), _normalize_host(host), port) != (pin.scheme, _normalize_host(pin.host), pin.port):
            # The URL requests parsed differs from the one we checked: never connect.
            raise PermissionDenied("fetch: request target does not match the checked url")
        context = dict(request_context) if request_context is not None else self.connection_pool_kw.copy()
        context["_pin"] = pin
        return super()._new_pool(scheme, host, port, context)


class _PinnedAdapter(HTTPAdapter):
    """A requests transport that can only reach the pinned origin, never through a proxy."""

    def __init__(self, pin: _Pin) -> None:
        self._pin = pin
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        """Install the pinned pool manager (called by HTTPAdapter.__init__)."""
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = _PinnedPoolManager(
            num_pools=connections, maxsize=maxsize, block=block, pin=self._pin, **pool_kwargs
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Proxies would bypass the pin: refuse them."""
        raise PermissionDenied("fetch: proxies are not allowed")


# --------------------------------------------------------------------------- options


@dataclass
class Request:
    """A fetch request as ``parse_options`` validated it."""

    method: str
    headers: dict[str, tuple[str, str]]  # lowercased name -> (name as given, value)
    body: bytes | None
    timeout_ms: float | None
    redirect: str


def _parse_headers(raw: Any) -> dict[str, tuple[str, str]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ParamError("fetch: options.headers must be an object of name: value strings")
    if len(raw) > MAX_HEADERS:
        raise ParamError(f"fetch: more than {MAX_HEADERS} headers")
    headers: dict[str, tuple[str, str]] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _TOKEN_RE.match(name):
            raise ParamError(f"fetch: invalid header name {str(name)[:60]!r}")
        lname = name.lower()
        if lname in FORBIDDEN_REQUEST_HEADERS or lname.startswith("proxy-"):
            raise PermissionDenied(f"fetch: header {name!r} may not be set by scripts")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ParamError(f"fetch: header {name!r} must have a string value")
        text = str(value)
        if any(c in text for c in "\r\n\x00"):
            raise ParamError(f"fetch: header {name!r} contains CR, LF or NUL")
        if len(text) > MAX_HEADER_VALUE_LENGTH:
            raise ParamError(f"fetch: header {name!r} is longer than {MAX_HEADER_VALUE_LENGTH} characters")
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            raise ParamError(f"fetch: header {name!r} has characters outside Latin-1") from None
        if lname in headers:
            raise ParamError(f"fetch: header {name!r} given twice")
        headers[lname] = (name, text.strip(" \t"))
    return headers


def parse_options(options: Any) -> Request:
    """Validate node-fetch ``options`` (the same rules for real and stubbed fetches)."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise ParamError("fetch: options must be an object")
    unknown = sorted(str(k) for k in options if k not in SUPPORTED_OPTIONS)
    if unknown:
        raise ParamError(
            f"fetch: unsupported option(s) {', '.join(unknown)[:120]} (supported: {', '.join(SUPPORTED_OPTIONS)})"
        )

    method = options.get("method", "GET")
    if method is None:
        method = "GET"
    if not isinstance(method, str) or method.upper() not in ALLOWED_METHODS:
        raise ParamError(f"fetch: method must be one of {', '.join(sorted(ALLOWED_METHODS))}")
    method = method.upper()

    headers = _parse_headers(options.get("headers"))

    raw_body = options.get("body")
    body: bytes | None
    if raw_body is None:
        body = None
    elif isinstance(raw_body, str):
        body = raw_body.encode("utf-8")
        headers.setdefault("content-type", ("Content-Type", "text/plain;charset=UTF-8"))
    elif isinstance(raw_body, dict | list):
        try:
            body = json.dumps(raw_body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError, RecursionError):
            raise ParamError("fetch: options.body object is not JSON-serializable") from None
        headers.setdefault("content-type", ("Content-Type", "application/json"))
    else:
        raise ParamError("fetch: options.body must be a string, an object or an array")
    if body is not None:
        if method in ("GET", "HEAD"):
            raise ParamError(f"fetch: a {method} request cannot have a body")
        if len(body) > MAX_REQUEST_BODY_BYTES:
            raise ParamError(f"fetch: options.body is larger than {MAX_REQUEST_BODY_BYTES} bytes")

    timeout_ms = options.get("timeout")
    if timeout_ms is not None:
        if (
            isinstance(timeout_ms, bool)
            or not isinstance(timeout_ms, int | float)
            or not math.isfinite(timeout_ms)
            or timeout_ms < 0
        ):
            raise ParamError("fetch: options.timeout must be a non-negative number of milliseconds")
        if timeout_ms == 0:  # node-fetch: 0 disables the option; the caller's cap still applies
            timeout_ms = None

    redirect = options.get("redirect", "follow")
    if redirect is None:
        redirect = "follow"
    if redirect not in REDIRECT_MODES:
        raise ParamError("fetch: options.redirect must be 'follow', 'manual' or 'error'")

    return Request(method=method, headers=headers, body=body, timeout_ms=timeout_ms, redirect=redirect)


# --------------------------------------------------------------------------- errors


def _exception_chain(exc: BaseException, limit: int = 12) -> Iterator[BaseException]:
    """Yield ``exc`` and the exceptions it wraps (cause, context, args, urllib3 ``reason``)."""
    seen: set[int] = set()
    stack = [exc]
    while stack and len(seen) < limit:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        nested = [cur.__cause__, cur.__context__, getattr(cur, "reason", None), *getattr(cur, "args", ())]
        stack.extend(e for e in nested if isinstance(e, BaseException))


def _describe(exc: BaseException) -> str:
    """A short, address-free description of a transport failure."""
    chain = list(_exception_chain(exc))
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if any(isinstance(e, requests.exceptions.SSLError | urllib3.exceptions.SSLError) for e in chain):
        if any("CERTIFICATE_VERIFY_FAILED" in str(e) for e in chain):
            return "TLS certificate verification failed"
        return "TLS handshake failed"
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "connection reset by peer"
    if any(isinstance(e, requests.exceptions.ContentDecodingError | urllib3.exceptions.DecodeError) for e in chain):
        return "could not decode the response body"
    if any(isinstance(e, http.client.HTTPException | urllib3.exceptions.ProtocolError) for e in chain):
        return "invalid or truncated HTTP response"
    if any(isinstance(e, NewConnectionError) for e in chain):
        return "connection failed"
    return "request failed"


def _is_timeout(exc: BaseException) -> bool:
    """Whether a transport failure was a timeout (not a refused or failed connection)."""
    for e in _exception_chain(exc):
        if isinstance(e, ConnectionRefusedError | ConnectionResetError):
            return False
        # urllib3's NewConnectionError subclasses ConnectTimeoutError for backwards compatibility.
        if isinstance(e, NewConnectionError):
            continue
        if isinstance(e, TimeoutError | requests.exceptions.Timeout | urllib3.exceptions.TimeoutError):
            return True
    return False


_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    UnicodeError,
)


# --------------------------------------------------------------------------- client


@dataclass(frozen=True)
class _TimeoutFactory:
    """Builds the "timed out" FetchError for one hop."""

    shown: str
    limit: float

    def __call__(self) -> FetchError:
        return FetchError(f"fetch {self.shown}: timed out after {round(float(self.limit), 3)} s")


def _decode_body(data: bytes, content_type: str | None) -> str:
    """Decode with the response's charset when it names a text codec, else
    UTF-8; always valid Unicode (no lone surrogates, which codecs such as
    UTF-7 can produce and which could not cross into the sandbox)."""
    text = _decode_with_charset(data, content_type)
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _decode_with_charset(data: bytes, content_type: str | None) -> str:
    charset: str | None = None
    if content_type:
        msg = Message()
        msg["content-type"] = content_type
        try:
            charset = msg.get_content_charset()
        except (ValueError, LookupError):
            charset = None
    if charset:
        try:
            info = codecs.lookup(charset)
            if getattr(info, "_is_text_encoding", True):
                return data.decode(info.name, errors="replace")
        except (LookupError, ValueError):
            pass
    return data.decode("utf-8", errors="replace")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, _normalize_host(parts.hostname or ""), port or (443 if scheme == "https" else 80)


class HttpClient:
    """Runs ``this.fetch`` for scripts under an :class:`EgressPolicy`.

    Stateless between calls (no cookies, no connection reuse across hops) and safe
    to share between threads.
    """

    def __init__(self, policy: EgressPolicy, *, user_agent: str = "noderuntime-fetch") -> None:
        if not isinstance(policy, EgressPolicy):
            raise TypeError("policy must be an EgressPolicy")
        self.policy = policy
        self.user_agent = user_agent

    def fetch(self, url: str, options: dict[str, Any] | None, *, max_bytes: int, timeout: float) -> dict[str, Any]:
        """Perform a request like node-fetch and return plain response data.

        ``max_bytes`` caps the (decoded) response body; ``timeout`` (seconds) caps the
        whole fetch including redirects and reading the body, and ``options.timeout``
        (milliseconds) can only shorten it. Raises ParamError, PermissionDenied,
        FetchError or BudgetExceeded.
        """
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ParamError("fetch: max_bytes must be a non-negative int")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise ParamError("fetch: timeout must be a positive number of seconds")
        if not isinstance(url, str):
            raise ParamError("fetch: url must be a string")
        req = parse_options(options)
        limit = float(timeout) if req.timeout_ms is None else min(float(timeout), req.timeout_ms / 1000.0)
        deadline = time.monotonic() + limit

        watchdog = _Watchdog(limit)
        watchdog.start()
        try:
            return self._run(url, req, max_bytes=max_bytes, limit=limit, deadline=deadline, watchdog=watchdog)
        finally:
            watchdog.close()

    # The redirect loop: one checked, pinned, fresh transport per hop.
    def _run(
        self, url: str, req: Request, *, max_bytes: int, limit: float, deadline: float, watchdog: _Watchdog
    ) -> dict[str, Any]:
        method, headers, body = req.method, dict(req.headers), req.body
        current = url
        redirected = False
        for hop in range(self.policy.max_redirects + 1):
            shown = _short(current)
            timed_out = _TimeoutFactory(shown, limit)
            if hop == 0:
                scheme, host, port, ip = self.policy.check_url(current)
            else:
                try:
                    scheme, host, port, ip = self.policy.check_url(current)
                except ParamError as exc:
                    raise FetchError(f"fetch: invalid redirect location: {exc.message}") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0 or watchdog.fired:
                raise timed_out()
            pin = _Pin(scheme=scheme, host=host, port=port, ip=ip, watchdog=watchdog)
            with requests.Session() as session:
                session.trust_env = False  # no env proxies, no .netrc credentials, no env CA bundle
                session.proxies = {}
                session.headers.clear()
                session.headers.update(
                    {"User-Agent": self.user_agent, "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
                )
                session.adapters.clear()
                adapter = _PinnedAdapter(pin)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                try:
                    resp = session.request(
                        method,
                        current,
                        headers=dict(headers.values()),
                        data=body,
                        allow_redirects=False,
                        stream=True,
                        timeout=(remaining, remaining),
                    )
                except _TRANSPORT_ERRORS as exc:
                    if watchdog.fired or _is_timeout(exc):
                        raise timed_out() from None
                    raise FetchError(f"fetch {shown}: {_describe(exc)}") from None
                try:
                    status = resp.status_code
                    location = resp.headers.get("location") if status in REDIRECT_STATUSES else None
                    if location is not None and req.redirect != "manual":
                        if req.redirect == "error":
                            raise FetchError(f"fetch {shown}: redirected ({status}) while options.redirect is 'error'")
                        if hop >= self.policy.max_redirects:
                            raise FetchError(
                                f"fetch {_short(url)}: too many redirects (max {self.policy.max_redirects})"
                            )
                        next_url = urljoin(current, _decode_location(location))
                        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
                            method, body = "GET", None
                            headers = {k: v for k, v in headers.items() if k not in _BODY_HEADERS}
                        if _origin(next_url) != _origin(current):
                            headers = {k: v for k, v in headers.items() if k not in _CROSS_ORIGIN_STRIPPED}
                        current = next_url
                        redirected = True
                        continue
                    data = self._read_body(resp, max_bytes, deadline, watchdog, timed_out, shown)
                    return {
                        "url": resp.url or current,
                        "status": status,
                        "statusText": resp.reason or "",
                        "ok": 200 <= status < 300,
                        "redirected": redirected,
                        "headers": {str(k).lower(): str(v) for k, v in resp.headers.items()},
                        "body": _decode_body(data, resp.headers.get("content-type")),
                        "bytes": len(data),
                    }
                finally:
                    resp.close()
        raise FetchError(f"fetch {_short(url)}: too many redirects (max {self.policy.max_redirects})")

    @staticmethod
    def _read_body(
        resp: requests.Response,
        max_bytes: int,
        deadline: float,
        watchdog: _Watchdog,
        timed_out: _TimeoutFactory,
        shown: str,
    ) -> bytes:
        """Stream the body, refusing to hold more than ``max_bytes`` or to run past the deadline."""
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in resp.iter_content(chunk_size=_CHUNK_SIZE):
                total += len(chunk)
                if total > max_bytes:
                    raise BudgetExceeded("httpBytes", max_bytes, "bytes")
                chunks.append(chunk)
                if time.monotonic() >= deadline:
                    raise timed_out()
        except _TRANSPORT_ERRORS as exc:
            if watchdog.fired or _is_timeout(exc):
                raise timed_out() from None
            raise FetchError(f"fetch {shown}: {_describe(exc)}") from None
        if watchdog.fired:  # a close-delimited body cut short by the watchdog looks complete
            raise timed_out()
        return b"".join(chunks)


def _decode_location(location: str) -> str:
    """http.client decodes header bytes as Latin-1; servers usually mean UTF-8."""
    try:
        return location.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return location
