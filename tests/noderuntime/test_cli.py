"""The noderuntime command: output, exit codes, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

from noderuntime.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "examples"


def test_run_hello_example(capsys):
    code = main(["run", str(EXAMPLES / "hello.py"), "--context", str(EXAMPLES / "hello.context.json"), "--now", "1601481600000"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert 'ok  value: {"member"' in out
    assert '+ botMeta.tempData.lastText: "Hello there, bot"' in out
    assert '+ botMeta.tempData.greetedAt: "2020-09-30T16:00:00.000Z"' in out
    assert "+ meta.visits: 1" in out
    assert "[log] member m12345678901234567890123 said 3 words" in out


def test_run_json_output(capsys, tmp_path):
    script = tmp_path / "s.py"
    script.write_text("return {'n': 1}")
    assert main(["run", str(script), "--json", "--mode", "inprocess"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True
    assert result["value"] == {"n": 1}


def test_script_error_shows_the_line_with_a_caret_and_exits_1(capsys, tmp_path):
    script = tmp_path / "s.py"
    script.write_text("x = 1\ny = x / 0\n")
    assert main(["run", str(script), "--mode", "inprocess"]) == 1
    out = capsys.readouterr().out
    assert "error  ZeroDivisionError: division by zero (line 2, column 5)" in out
    assert "   2 | y = x / 0\n" + " " * 11 + "^" in out


def test_usage_errors_exit_2(capsys, tmp_path):
    assert main(["run", str(tmp_path / "missing.py")]) == 2
    assert "cannot read script" in capsys.readouterr().err
    bad = tmp_path / "c.json"
    bad.write_text("{not json")
    script = tmp_path / "s.py"
    script.write_text("return 1")
    assert main(["run", str(script), "--context", str(bad)]) == 2
    assert "is not valid JSON: line 1" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert main(["frobnicate"]) == 2


SEED = """{
  "members": [{"_id": {"$oid": "5f7c0f0e0e0e0e0e0e0e0e0e"}, "app": "a1", "channel": "c1", "botMeta": {"tempData": {}}}],
  "a1_coupon": [{"_id": "d1", "location": "HK", "memberId": null, "couponCode": "1234"}]
}"""

CLAIM = """\
got = this.findAndModifyDataFromDataSource(dataSourceId="a1_coupon", filter={"memberId": None},
    patch={"memberId": this.member._id}, withModifier=False, option={"new": True})
return got.value.couponCode
"""


def _claim_files(tmp_path):
    (tmp_path / "seed.json").write_text(SEED)
    (tmp_path / "claim.py").write_text(CLAIM)
    (tmp_path / "ctx.json").write_text(json.dumps({"app": "a1", "member": {"_id": "5f7c0f0e0e0e0e0e0e0e0e0e"}}))
    return [str(tmp_path / "claim.py"), "--context", str(tmp_path / "ctx.json"), "--mode", "inprocess"]


def test_db_seeds_the_embedded_store_and_dump_writes_it_back(capsys, tmp_path):
    args = _claim_files(tmp_path)
    out_file = tmp_path / "out.json"
    code = main(["run", *args, "--db", str(tmp_path / "seed.json"), "--dump", str(out_file), "--now", "1601481600000"])
    assert code == 0, capsys.readouterr()
    assert 'ok  value: "1234"' in capsys.readouterr().out
    dumped = json.loads(out_file.read_text())
    assert dumped["a1_coupon"] == [
        {
            "_id": "d1",
            "location": "HK",
            "memberId": "5f7c0f0e0e0e0e0e0e0e0e0e",
            "couponCode": "1234",
            "updatedAt": 1601481600000,
        }
    ]
    assert dumped["members"][0]["_id"] == {"$oid": "5f7c0f0e0e0e0e0e0e0e0e0e"}


def test_bad_seed_files_are_usage_errors_naming_the_file(capsys, tmp_path):
    args = _claim_files(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text('{"members": {"_id": 1}}')
    assert main(["run", *args, "--db", str(bad)]) == 2
    assert f"database {bad} is not valid extended JSON" in capsys.readouterr().err
    bad.write_text('{"members": [{"_id": {"$oid": "nothex"}}]}')
    assert main(["run", *args, "--db", str(bad)]) == 2
    assert f"database {bad} is not valid extended JSON" in capsys.readouterr().err
    assert main(["run", *args, "--db", str(tmp_path / "missing.json")]) == 2
    assert "cannot read database" in capsys.readouterr().err


def test_an_unreachable_mongo_uri_is_a_usage_error_without_the_password(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr("noderuntime.store.store.SERVER_TIMEOUT_MS", 200)
    args = _claim_files(tmp_path)
    assert main(["run", *args, "--mongo-uri", "mongodb://bot:hunter2@127.0.0.1:1/"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach MongoDB at mongodb://bot:***@127.0.0.1:1/" in err
    assert "hunter2" not in err


def test_db_and_dump_refuse_a_real_mongo(capsys, tmp_path):
    args = _claim_files(tmp_path)
    assert main(["run", *args, "--mongo-uri", "mongodb://127.0.0.1:1/", "--db", str(tmp_path / "seed.json")]) == 2
    assert "--db and --dump work on the embedded store" in capsys.readouterr().err
