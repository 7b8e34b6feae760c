"""``noderuntime agenda``: the scheduler worker as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

APP = "64a000000000000000000001"
CHANNEL = "64c000000000000000000001"
TREE = "64d000000000000000000001"
MEMBER = "64e000000000000000000001"
SLOW_URL = "https://api.example.com/slow"

pytestmark = pytest.mark.slow


def seed(agendas: list[dict[str, Any]]) -> dict[str, Any]:
    nodes = {
        "SlowNode00000001": {
            "name": "Slow",
            "preAction": f"this.fetch({SLOW_URL!r})\nthis.member.botMeta.tempData.slow = True\n"
            "return {'member': this.member}",
            "responses": [{"type": "TEXT", "text": "slow done"}],
        },
        "MetaNode00000001": {
            "responses": [{"script": "return {'type': 'TEXT', 'text': 'hello ' + this.agendaMeta.name}"}]
        },
    }
    return {
        "channels": [{"_id": {"$oid": CHANNEL}, "app": APP, "trees": [TREE]}],
        "trees": [{"_id": TREE, "app": APP, "name": "t", "nodes": nodes}],
        "members": [
            {
                "_id": {"$oid": MEMBER},
                "app": APP,
                "channel": CHANNEL,
                "externalId": "u-1",
                "botMeta": {"subscribe": True, "tempData": {}},
            }
        ],
        "agendas": agendas,
    }


def agenda(name: str, node: str, next_run_at: int, **fields: Any) -> dict[str, Any]:
    return {
        "app": APP,
        "channel": CHANNEL,
        "member": {"$oid": MEMBER},
        "tree": TREE,
        "nodeCompositeId": node,
        "nextRunAt": next_run_at,
        "priority": 0,
        "meta": {"name": name},
        "tag": name,
        "completed": False,
        **fields,
    }


def start(tmp_path: Path, agendas: list[dict[str, Any]], *args: str) -> tuple[subprocess.Popen[str], Path]:
    db, dump, stubs = tmp_path / "db.json", tmp_path / "after.json", tmp_path / "stubs.yaml"
    db.write_text(json.dumps(seed(agendas)))
    stubs.write_text(f"http:\n- url: {SLOW_URL}\n  json: {{ok: true}}\n  delay: 2000\n")
    command = [sys.executable, "-m", "noderuntime.cli", "agenda", "--db", str(db), "--dump", str(dump)]
    process = subprocess.Popen(
        [*command, "--stubs", str(stubs), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    return process, dump


def by_tag(dump: Path) -> dict[str, dict[str, Any]]:
    return {a["tag"]: a for a in json.loads(dump.read_text())["agendas"]}


def now_ms() -> int:
    return int(time.time() * 1000)


def test_once_runs_what_is_due_and_leaves_the_rest(tmp_path):
    due, later = now_ms() - 1000, now_ms() + 3_600_000
    process, dump = start(
        tmp_path, [agenda("due", "MetaNode00000001", due), agenda("later", "MetaNode00000001", later)], "--once"
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "completed   agenda" in out
    assert "sent TEXT to u-1: hello due" in out
    assert "hello later" not in out
    agendas = by_tag(dump)
    assert agendas["due"]["completed"] is True and agendas["due"]["runCount"] == 1
    assert agendas["later"]["completed"] is False and "runCount" not in agendas["later"]


def test_sigterm_finishes_the_current_job_then_exits(tmp_path):
    due = now_ms() - 1000
    process, dump = start(
        tmp_path,
        [agenda("slow", "SlowNode00000001", due), agenda("next", "MetaNode00000001", due, priority=5)],
        "--threads",
        "1",
    )
    assert process.stdout is not None
    assert "1 worker(s)" in process.stdout.readline()
    time.sleep(1.0)  # the slow agenda is running: its fetch takes 2 s
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "SIGTERM: finishing the current jobs, then stopping" in out
    assert time.monotonic() - signalled > 0.5  # it waited for the job
    agendas = by_tag(dump)
    # The job in progress finished and was recorded; the next one was left for another worker.
    assert agendas["slow"]["completed"] is True
    assert "sent TEXT to u-1: slow done" in out
    members = json.loads(dump.read_text())["members"]
    assert members[0]["botMeta"]["tempData"]["slow"] is True
    assert agendas["next"]["completed"] is False
    assert "lockedUntil" not in agendas["next"]


def test_a_worker_fires_an_agenda_when_it_comes_due(tmp_path):
    process, dump = start(tmp_path, [agenda("soon", "MetaNode00000001", now_ms() + 4000)])
    assert process.stdout is not None
    process.stdout.readline()
    line = process.stdout.readline()  # blocks until the job ran
    fired = now_ms()
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "completed   agenda" in line
    soon = by_tag(dump)["soon"]
    late = soon["lastRunAt"] - soon["nextRunAt"]
    assert 0 <= late < 1000, f"started {late} ms after nextRunAt"
    assert fired >= soon["nextRunAt"]


def test_bad_threads_is_a_usage_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "noderuntime.cli", "agenda", "--threads", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.returncode == 2
    assert "--threads must be at least 1" in result.stderr
