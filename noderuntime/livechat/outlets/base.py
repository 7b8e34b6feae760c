"""What every live-chat outlet is: the interface and the types it speaks.

An outlet is the system where human agents work (a custom live-chat API,
Rocket.Chat Livechat, Support Board). The runtime asks it to do three things
for an assignment, always from the durable outbox (so each call may be a
retry of one that timed out after the peer acted on it):

- :meth:`Outlet.open`: start the agents' conversation for the assignment;
- :meth:`Outlet.relay`: post one line (the member's, or the bot's) into it;
- :meth:`Outlet.close`: end it.

And it turns the peer's webhooks into :class:`Inbound` events (an agent's
message, the chat taken, the chat closed) with :meth:`Outlet.inbound`,
refusing a request whose signature, token or key is wrong.

An outlet keeps what it learns about a conversation (a visitor token, a room
id, a user id) in the assignment's ``outletState``: it calls
``conversation.save({...})`` as soon as it learns a value, so a retry after a
crash or a timeout resumes instead of starting over.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from noderuntime.errors import FetchError, ParamError, PermissionDenied


class OutletError(Exception):
    """An outlet call failed. ``retry`` says whether trying again later can
    help (the peer is down, slow, rate-limiting); ``retry_after`` is the
    peer's own hint in seconds (HTTP 429)."""

    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.retry_after = retry_after


class Unavailable(OutletError):
    """No agent can take the chat (none online): the outlet left the request
    where agents will find it later (an offline message) and the live chat
    ends. Not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry=False)


class WebhookRefused(Exception):
    """An inbound webhook is not accepted: ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Conversation:
    """One assignment as an outlet sees it.

    ``channel`` is the outlet channel (its ``info`` holds the outlet's
    settings); ``target`` is the broadcast group the request was sent to
    (``{"type": "department", "id": "SALES"}``), or None; ``state`` is the
    assignment's ``outletState``; ``save`` persists new state at once.
    """

    assignment_id: str
    app: str
    channel: dict[str, Any]
    member: dict[str, Any]
    details: dict[str, Any]
    meta: dict[str, Any]
    target: dict[str, Any] | None = None
    group_id: str | None = None
    history: list[dict[str, Any]] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    save: Callable[[dict[str, Any]], None] = lambda _state: None

    @property
    def info(self) -> dict[str, Any]:
        """The outlet channel's settings."""
        return channel_settings(self.channel)

    def remember(self, **values: Any) -> None:
        """Keep ``values`` in the state, here and in the database."""
        self.state.update(values)
        self.save(values)


@dataclass(frozen=True)
class Line:
    """One line posted into the agents' conversation.

    ``author`` is ``"member"`` or ``"bot"``; ``text`` is what agents read
    (a response without text is described, e.g. ``[IMAGE] https://...``);
    ``key`` is unique per line and the same on every retry of it.
    """

    key: str
    author: str
    text: str
    response: dict[str, Any] | None = None


@dataclass(frozen=True)
class Inbound:
    """One event from the outlet's webhook.

    ``kind`` is ``"message"`` (an agent wrote ``text``), ``"taken"`` (an
    agent took the chat) or ``"closed"`` (the chat ended on the agents'
    side). ``ref`` finds the assignment: fields of the assignment document
    (``{"outletState.rid": "..."}`` or ``{"_id": "..."}``). ``key`` is unique
    per event, so a webhook delivered twice is handled once.
    """

    kind: str
    ref: dict[str, Any]
    key: str
    text: str | None = None
    response: dict[str, Any] | None = None
    agent: dict[str, Any] | None = None


class Outlet(Protocol):
    """A live-chat system agents work in."""

    #: The channel ``type`` this outlet serves (``"custom"``, ``"rocketchat"``, ``"supportboard"``).
    kind: str

    def check_channel(self, channel: dict[str, Any]) -> list[str]:
        """Problems with the outlet channel's settings (empty when usable)."""
        ...

    def open(self, conversation: Conversation, key: str) -> None:
        """Start the agents' conversation (idempotent for one ``key``)."""
        ...

    def relay(self, conversation: Conversation, line: Line) -> None:
        """Post ``line`` into the conversation (idempotent for ``line.key``)."""
        ...

    def close(self, conversation: Conversation, key: str) -> None:
        """End the conversation on the agents' side (done already is fine)."""
        ...

    def transfer(self, conversation: Conversation, target: dict[str, Any], key: str) -> None:
        """Hand the open conversation to another broadcast group (a department, an agent)."""
        ...

    def inbound(self, channel: dict[str, Any], headers: Mapping[str, str], body: bytes) -> list[Inbound]:
        """The events of one webhook request, or :class:`WebhookRefused`."""
        ...


def channel_settings(channel: dict[str, Any], key: str = "info") -> dict[str, Any]:
    """A channel's settings object (``info``, ``liveChat``); ``{}`` when it has none usable."""
    value = channel.get(key)
    return value if isinstance(value, dict) else {}


# Webhooks, shared by the outlets ---------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header, whatever the case of its name."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def secret_matches(given: Any, expected: str) -> bool:
    """Whether a webhook's token, key or signature is ``expected``, compared in
    constant time. Anything that is not a string (or cannot be encoded) is not."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def webhook_json(body: bytes) -> dict[str, Any]:
    """A webhook body as a JSON object, or :class:`WebhookRefused` (400)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise WebhookRefused(400, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRefused(400, "the body must be a JSON object")
    return payload


# HTTP, shared by the outlets --------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """An HTTP answer from a peer."""

    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON. Tolerates text
        before the JSON (PHP notices printed ahead of it)."""
        body = self.text.strip()
        decoder = json.JSONDecoder()
        # A notice may itself hold braces: try each opening brace until one parses to the end.
        for start, char in enumerate(body):
            if char in "{[":
                try:
                    value, end = decoder.raw_decode(body, start)
                except ValueError:
                    continue
                if not body[end:].strip():
                    return value
        return None


class Fetch(Protocol):
    """The runtime's HTTP client (:class:`noderuntime.fetch.HttpClient`)."""

    def fetch(self, url: str, options: dict[str, Any] | None, *, max_bytes: int, timeout: float) -> dict[str, Any]: ...


#: The most an outlet reply may weigh.
MAX_REPLY_BYTES = 2 * 1024 * 1024
#: Seconds an outlet call may take before it counts as timed out (and is retried).
CALL_TIMEOUT = 10.0


def call(
    http: Fetch,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: str | bytes | dict[str, Any] | list[Any] | None = None,
    timeout: float = CALL_TIMEOUT,
) -> Reply:
    """One HTTP request to a peer through the runtime's egress policy.

    A refused address is a permanent :class:`OutletError`; a connection
    failure or a timeout is a retryable one (the peer may have acted on the
    request: the outbox's keys make the retry safe). The status is not
    judged here: each outlet knows what its peer's statuses mean.
    """
    # An outlet API that redirects is misconfigured; following it would carry signed headers elsewhere.
    options: dict[str, Any] = {"method": method, "headers": dict(headers or {}), "redirect": "error"}
    if body is not None:
        options["body"] = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        answer = http.fetch(url, options, max_bytes=MAX_REPLY_BYTES, timeout=timeout)
    except PermissionDenied as error:
        raise OutletError(f"{method} {url}: {error.message}", retry=False) from None
    except ParamError as error:
        raise OutletError(f"{method} {url}: {error.message}", retry=False) from None
    except FetchError as error:
        redirected = "redirected" in error.message
        raise OutletError(
            error.message + ("; set the outlet URL to where it points" if redirected else ""), retry=not redirected
        ) from None
    return Reply(answer["status"], answer["headers"], answer["body"])


def retry_after(reply: Reply, default: float = 5.0) -> float:
    """Seconds a 429 asks us to wait (``Retry-After``, ``X-RateLimit-Reset``)."""
    raw = reply.headers.get("retry-after")
    if raw is not None:
        try:
            return max(float(raw), 0.0)
        except ValueError:
            pass
    reset = reply.headers.get("x-ratelimit-reset")
    if reset is not None:
        try:
            value = float(reset)
        except ValueError:
            return default
        # Rocket.Chat sends the reset moment in epoch milliseconds.
        return max(value / 1000 - time.time(), 0.0) if value > 1e11 else max(value, 0.0)
    return default


def describe(response: dict[str, Any] | None, text: str | None = None) -> str:
    """What agents read for a response object: its text, or its kind and link."""
    if text:
        return text
    if not isinstance(response, dict):
        return ""
    for key in ("text", "title", "caption"):
        value = response.get(key)
        if isinstance(value, str) and value:
            return value
    kind = response.get("type") or "MESSAGE"
    link = response.get("url") or response.get("payload") or ""
    return f"[{kind}] {link}".strip() if isinstance(link, str) else f"[{kind}]"
