"""BSON framing: round trips, bad frames, closed pipes, deadlines."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest

from sandbox import wire
from sandbox.guards import JSObject


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe()
    yield read_fd, write_fd
    for fd in (read_fd, write_fd):
        try:
            os.close(fd)
        except OSError:
            pass


def test_round_trip_host_and_worker_codecs(pipe):
    read_fd, write_fd = pipe
    when = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    message = {"op": "run", "data": {"member": {"meta": {"n": 1}}, "list": [{"a": 1}]}, "when": when}
    wire.send(write_fd, message)
    assert wire.receive(read_fd) == message
    wire.send(write_fd, message)
    decoded = wire.receive(read_fd, wire.WORKER_CODEC)
    assert isinstance(decoded["data"]["member"]["meta"], JSObject)
    assert isinstance(decoded["data"]["list"][0], JSObject)
    assert decoded["when"] == when


def test_unencodable_messages_are_wire_errors():
    with pytest.raises(wire.WireError, match="cannot encode"):
        wire.encode({"n": 2**70})
    with pytest.raises(wire.WireError, match="cannot encode"):
        wire.encode({"s": "\ud800"})
    with pytest.raises(wire.WireError, match="cannot encode"):
        wire.encode({"f": len})


def test_bad_frame_length_and_body(pipe):
    read_fd, write_fd = pipe
    os.write(write_fd, (3).to_bytes(4, "little"))
    with pytest.raises(wire.WireError, match="bad frame length 3"):
        wire.receive(read_fd)
    os.write(write_fd, (16).to_bytes(4, "little") + b"\xff" * 12)
    with pytest.raises(wire.WireError, match="bad frame"):
        wire.receive(read_fd)


def test_closed_pipe(pipe):
    read_fd, write_fd = pipe
    os.close(write_fd)
    with pytest.raises(wire.WireClosed):
        wire.receive(read_fd)


def test_deadline(pipe):
    read_fd, _ = pipe
    started = time.monotonic()
    with pytest.raises(wire.WireTimeout):
        wire.receive(read_fd, deadline=time.monotonic() + 0.05, spin=0.01)
    assert time.monotonic() - started < 1
