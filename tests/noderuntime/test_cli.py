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
