"""Framing between host and worker: length-prefixed BSON over pipes.

A BSON document starts with its own int32 length, which is the frame header.
Only BSON crosses: the host never unpickles anything a worker sends.
"""

from __future__ import annotations

import datetime as _dt
import os
import select
import struct
import time
from typing import Any

import bson
from bson.codec_options import CodecOptions

from sandbox.guards import JSObject

MAX_MESSAGE_BYTES = 16 * 1024 * 1024

#: How the host decodes: plain dicts, aware UTC datetimes.
HOST_CODEC = CodecOptions(tz_aware=True, tzinfo=_dt.UTC)
#: How the worker decodes: every document is a JSObject.
WORKER_CODEC = CodecOptions(document_class=JSObject, tz_aware=True, tzinfo=_dt.UTC)

_LENGTH = struct.Struct("<i")


class WireError(Exception):
    """The peer closed the pipe, sent a bad frame, or did not answer in time."""


class WireTimeout(WireError):
    """No complete message arrived before the deadline."""


class WireClosed(WireError):
    """The peer closed its end: for a worker, it has died."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame for ``message``. Anything BSON cannot hold (a lone surrogate,
    an integer over 64 bits, a non-string key) is a :class:`WireError`."""
    try:
        data = bson.encode(message, codec_options=HOST_CODEC)
    except (bson.errors.BSONError, OverflowError, UnicodeError, TypeError, ValueError) as error:
        raise WireError(f"cannot encode message: {type(error).__name__}") from None
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(data)} bytes is over the {MAX_MESSAGE_BYTES} byte limit")
    return data


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one message to ``fd``."""
    write_frame(fd, encode(message))


def write_frame(fd: int, frame: bytes) -> None:
    """Write an encoded message to ``fd``."""
    view = memoryview(frame)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        if deadline is not None:
            timeout = deadline - time.monotonic()
            if timeout <= 0 or not select.select([fd], [], [], timeout)[0]:
                raise WireTimeout("no answer before the deadline")
        chunk = os.read(fd, remaining)
        if not chunk:
            raise WireClosed("the peer closed the pipe")
        chunks.append(chunk)
        remaining -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def wait_briefly(fd: int, seconds: float) -> None:
    """Poll ``fd`` for up to ``seconds`` before a blocking read.

    An answer that comes within a few dozen microseconds is then read
    without the process going to sleep and paying the wake-up, which on an
    idle machine costs more than the work itself.
    """
    until = time.perf_counter() + seconds
    while not select.select([fd], [], [], 0)[0]:
        if time.perf_counter() > until:
            return


def receive(
    fd: int, codec: CodecOptions = HOST_CODEC, deadline: float | None = None, spin: float = 0.0
) -> dict[str, Any]:
    """Read one message from ``fd``; ``deadline`` is a ``time.monotonic()``
    value; ``spin`` seconds of polling come first (see :func:`wait_briefly`)."""
    if spin:
        wait_briefly(fd, spin)
    header = _read_exactly(fd, 4, deadline)
    (length,) = _LENGTH.unpack(header)
    if not 5 <= length <= MAX_MESSAGE_BYTES:
        raise WireError(f"bad frame length {length}")
    body = _read_exactly(fd, length - 4, deadline)
    try:
        return bson.decode(header + body, codec_options=codec)
    except (bson.errors.BSONError, ValueError) as error:
        raise WireError(f"bad frame: {error}") from None
