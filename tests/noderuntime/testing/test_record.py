"""noderuntime run --record: a real run written as a fixture that replays."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from noderuntime.cli import main
from noderuntime.config import Config
from noderuntime.runtime import Runtime
from noderuntime.testing.fixture import load_cases
from noderuntime.testing.runner import run_case

SCRIPT = """\
user = this.fetch("http://{host}/users/" + this.member.externalId).json()
got = this.findAndModifyDataFromDataSource(
    dataSourceId=this.app + "_coupon", filter={{"tier": user.tier, "memberId": None}},
    patch={{"memberId": this.member._id}}, withModifier=False, sortBy={{"priority": 1}}, option={{"new": True}},
)
this.upsertDataToDataSource(dataSourceId=this.app + "_log", data={{"memberId": this.member._id}})
this.member.botMeta.tempData.coupon = got.value.couponCode
return {{"coupon": got.value.couponCode}}
"""

SEED = {
    "a1_coupon": [
        {
            "_id": {"$oid": "5f7c0f0e0e0e0e0e0e0e0e01"},
            "tier": "gold",
            "memberId": None,
            "couponCode": "G1",
            "priority": 1,
        },
        {
            "_id": {"$oid": "5f7c0f0e0e0e0e0e0e0e0e02"},
            "tier": "gold",
            "memberId": None,
            "couponCode": "G2",
            "priority": 2,
        },
        {"_id": "s1", "tier": "silver", "memberId": None, "couponCode": "S1", "priority": 1},
    ],
    "a1_log": [],
    "members": [{"_id": "untouched", "app": "a1"}],
}
CONTEXT = {"app": "a1", "member": {"_id": "m1", "app": "a1", "externalId": "42", "botMeta": {"tempData": {}}}}


class _Users(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"name": "Ann", "tier": "gold"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Users)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def record(tmp_path: Path, api: str, script: str = SCRIPT) -> Path:
    (tmp_path / "claim.py").write_text(script.format(host=api))
    (tmp_path / "seed.json").write_text(json.dumps(SEED))
    (tmp_path / "ctx.json").write_text(json.dumps(CONTEXT))
    case_file = tmp_path / "cases" / "claim.case.yaml"
    case_file.parent.mkdir()
    args = [
        "run",
        str(tmp_path / "claim.py"),
        "--context",
        str(tmp_path / "ctx.json"),
        "--db",
        str(tmp_path / "seed.json"),
    ]
    args += ["--allow-host", api, "--record", str(case_file), "--now", "1601481600000", "--mode", "inprocess"]
    main(args)
    return case_file


def test_the_fixture_holds_the_exchanges_and_the_touched_documents_as_they_were(tmp_path, api):
    [case] = load_cases(record(tmp_path, api))
    assert case.script_file == (tmp_path / "claim.py").resolve()
    assert case.clock == 1601481600000
    assert case.context == CONTEXT
    [stub] = case.http
    assert (stub.method, stub.url, stub.status) == ("GET", f"http://{api}/users/42", 200)
    assert stub.json == {"name": "Ann", "tier": "gold"}
    coupons = {str(d["_id"]): d for d in case.db["a1_coupon"]}
    # Only what the run's queries reached, before the run changed it.
    assert set(coupons) == {"5f7c0f0e0e0e0e0e0e0e0e01", "5f7c0f0e0e0e0e0e0e0e0e02"}
    assert all(d["memberId"] is None for d in coupons.values())
    assert case.db["a1_log"] == []
    assert "members" not in case.db
    assert case.expect["value"] == {"coupon": "G1"}
    assert case.expect["member"]["botMeta"]["tempData"] == {"coupon": "G1"}
    claimed = [d for d in case.expect["db"]["a1_coupon"] if d["couponCode"] == "G1"]
    assert claimed[0]["memberId"] == "m1"
    # A created row's id is new on every run, so it is expected without one.
    assert case.expect["db"]["a1_log"] == [{"memberId": "m1", "createdAt": 1601481600000, "updatedAt": 1601481600000}]


def test_the_recorded_fixture_replays_without_the_network(tmp_path, api):
    [case] = load_cases(record(tmp_path, api))
    # Replayed under the same egress policy as the recording (the API is local).
    with Runtime(Config(workers=1, fetch_allow_hosts=(api,))) as runtime:
        outcome = run_case(runtime, case)
    assert outcome.passed, [m.render() for m in outcome.mismatches]
    assert outcome.result.usage.http_requests == 1


def test_a_replay_catches_a_changed_script(tmp_path, api):
    case_file = record(tmp_path, api)
    (tmp_path / "claim.py").write_text(
        SCRIPT.format(host=api).replace('sortBy={"priority": 1}', 'sortBy={"priority": -1}')
    )
    [case] = load_cases(case_file)
    with Runtime(Config(workers=1, fetch_allow_hosts=(api,))) as runtime:
        outcome = run_case(runtime, case)
    assert not outcome.passed
    assert [m.path for m in outcome.mismatches][:2] == ["value.coupon", "member.botMeta.tempData.coupon"]


def test_a_failed_run_is_recorded_as_an_expected_error(tmp_path, api):
    script = SCRIPT.replace("return", "x = 1 / 0\nreturn")
    [case] = load_cases(record(tmp_path, api, script))
    assert case.expect["error"] == {"type": "ZeroDivisionError", "message": "division by zero", "line": 8}


def record_and_replay(tmp_path: Path, script: str, seed: dict) -> list:
    (tmp_path / "s.py").write_text(script)
    (tmp_path / "seed.json").write_text(json.dumps(seed))
    (tmp_path / "ctx.json").write_text(json.dumps(CONTEXT))
    case_file = tmp_path / "s.case.yaml"
    args = ["run", str(tmp_path / "s.py"), "--context", str(tmp_path / "ctx.json"), "--db", str(tmp_path / "seed.json")]
    main([*args, "--record", str(case_file), "--now", "1601481600000", "--mode", "inprocess"])
    [case] = load_cases(case_file)
    with Runtime(Config(mode="inprocess", workers=1)) as runtime:
        return [m.render() for m in run_case(runtime, case).mismatches]


def test_the_row_a_sorted_claim_picks_is_captured_even_past_the_capture_limit(tmp_path):
    # 1,500 free coupons, the lowest priority stored last: a capture in stored
    # order would keep the first 1,000 and miss the one the claim takes.
    rows = [{"_id": f"k{i:04d}", "free": True, "priority": 1500 - i} for i in range(1500)]
    script = (
        'got = this.findAndModifyDataFromDataSource(dataSourceId="a1_c", filter={"free": True}, '
        'patch={"free": False}, withModifier=False, sortBy={"priority": 1}, option={"new": True})\n'
        "return got.value._id\n"
    )
    assert record_and_replay(tmp_path, script, {"a1_c": rows}) == []


def test_a_row_an_upsert_creates_is_not_recorded_as_if_it_was_there_before(tmp_path):
    script = (
        'this.findAndModifyDataFromDataSource(dataSourceId="a1_c", filter={"code": "B", "claimed": False}, '
        'patch={"$set": {"claimed": True}}, option={"upsert": True})\n'
        'return this.countDataSource(dataSourceId="a1_c", filter={"code": "B"})\n'
    )
    assert record_and_replay(tmp_path, script, {"a1_c": [{"_id": "a", "code": "A"}]}) == []
