"""``noderuntime test``: progress, failures, summary, exit codes, -k, --junit,
and the default ``fixtures`` folder. Fixture files are written under tmp_path."""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET

import pytest

from noderuntime.cli import main
from noderuntime.runtime import Runtime
from tests.noderuntime.testing.conftest import TWO_CASES

PASSING = "script: return 1\nexpect: {value: 1}\n"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(, \d+ broken fixture files?)? in \d+\.\d\d s$")


@pytest.fixture
def fx(tmp_path):
    """``fx(name, text)``: a file under tmp_path/fx; returns the folder."""
    folder = tmp_path / "fx"
    folder.mkdir()

    def write(name, text):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if isinstance(text, str) else json.dumps(text))
        return path

    write.folder = folder
    return write


def run(capsys, *args):
    code = main(["test", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def summary(out):
    return out.rstrip("\n").splitlines()[-1]


def test_all_cases_passing_exit_0_with_a_dot_each(capsys, fx):
    fx("a.case.yaml", PASSING)
    fx("sub/b.case.json", {"script": "return 2", "expect": {"value": 2}})
    code, out, err = run(capsys, str(fx.folder), "--mode", "inprocess")
    assert code == 0, out + err
    assert out.splitlines()[0] == ".."
    assert SUMMARY.match(summary(out)).groups() == ("2", "0", None)
    assert "FAIL" not in out
    assert err == ""


def test_a_failing_case_exits_1_and_shows_what_differs(capsys, fx):
    path = fx("greet.case.yaml", TWO_CASES)
    code, out, _ = run(capsys, str(path), "--mode", "inprocess")
    assert code == 1
    assert sorted(out.splitlines()[0]) == [".", "F"]
    assert (
        f'FAIL {path}::greets Bob\n  value.greeting: differs\n      expected: "Hi Bob"\n      actual:   "Hi Ann"\n'
    ) in out
    assert "greets Ann" not in out
    assert SUMMARY.match(summary(out)).groups() == ("1", "1", None)


def test_a_script_error_shows_the_line_with_a_caret(capsys, fx):
    path = fx("boom.case.yaml", 'name: boom\nscript: "x = 0\\ny = 1 / x\\n"\n')
    code, out, _ = run(capsys, str(path), "--mode", "inprocess")
    assert code == 1
    assert (
        f"FAIL {path}::boom\n"
        "  error: the script failed: ZeroDivisionError: division by zero (line 2)\n"
        "     2 | y = 1 / x\n"
        "             ^\n"
    ) in out


def test_a_failure_shows_the_runs_logs(capsys, fx):
    fx("log.case.yaml", "script: |\n  console.info('looked up', 42)\n  return 1\nexpect: {value: 2}\n")
    code, out, _ = run(capsys, str(fx.folder), "--mode", "inprocess")
    assert code == 1
    assert "  logs:\n    [info] looked up 42\n" in out


def test_a_broken_fixture_file_exits_1_naming_the_file_and_field(capsys, fx):
    fx("good.case.yaml", PASSING)
    bad = fx("bad.case.yaml", "script: return 1\ncases: [{name: a}, {name: b, expect: {valu: 1}}]\n")
    code, out, _ = run(capsys, str(fx.folder), "--mode", "inprocess")
    assert code == 1
    assert f"ERROR {bad}: cases[1].expect.valu: unknown field; did you mean value?" in out.splitlines()
    assert out.splitlines()[0] == "."
    assert SUMMARY.match(summary(out)).groups() == ("1", "0", ", 1 broken fixture file")


def test_two_broken_files_are_counted(capsys, fx):
    fx("good.case.yaml", PASSING)
    fx("bad.case.json", "{")
    fx("worse.case.yaml", "script: [")
    code, out, _ = run(capsys, str(fx.folder), "--mode", "inprocess")
    assert code == 1
    assert SUMMARY.match(summary(out)).groups() == ("1", "0", ", 2 broken fixture files")


def test_only_broken_files_still_exit_1(capsys, fx):
    bad = fx("bad.case.yaml", "scirpt: return 1\n")
    code, out, err = run(capsys, str(fx.folder), "--mode", "inprocess")
    assert code == 1
    assert f"ERROR {bad}: scirpt: unknown field; did you mean script?" in out
    assert SUMMARY.match(summary(out)).groups() == ("0", "0", ", 1 broken fixture file")
    assert "no fixture cases" not in err


def test_k_runs_only_the_cases_whose_id_contains_the_text(capsys, fx):
    fx("greet.case.yaml", TWO_CASES)
    fx("other.case.yaml", PASSING)
    code, out, _ = run(capsys, str(fx.folder), "-k", "ANN", "--mode", "inprocess")
    assert code == 0, out
    assert out.splitlines()[0] == "."
    assert SUMMARY.match(summary(out)).groups() == ("1", "0", None)
    code, out, _ = run(capsys, str(fx.folder), "-k", "other.case", "--mode", "inprocess")
    assert code == 0
    assert SUMMARY.match(summary(out)).groups() == ("1", "0", None)


def test_k_matching_nothing_says_so_and_exits_1(capsys, fx):
    fx("greet.case.yaml", TWO_CASES)
    code, out, err = run(capsys, str(fx.folder), "-k", "zzz", "--mode", "inprocess")
    assert code == 1
    assert out == ""
    assert err == (
        f"noderuntime: no fixture cases matching -k 'zzz' under {fx.folder} "
        "(files named *.case.yaml, *.case.yml or *.case.json)\n"
    )


def test_no_fixture_files_says_so_and_exits_1(capsys, fx):
    fx("script.py", "return 1")
    fx("data.yaml", "a: 1")
    code, out, err = run(capsys, str(fx.folder), "--mode", "inprocess")
    assert code == 1
    assert out == ""
    assert err == (
        f"noderuntime: no fixture cases under {fx.folder} (files named *.case.yaml, *.case.yml or *.case.json)\n"
    )


def test_several_paths_are_run_together(capsys, fx, tmp_path):
    one = fx("one.case.yaml", PASSING)
    other = tmp_path / "more"
    other.mkdir()
    (other / "two.case.yml").write_text(PASSING)
    code, out, _ = run(capsys, str(one), str(other), "--mode", "inprocess")
    assert code == 0
    assert SUMMARY.match(summary(out)).groups() == ("2", "0", None)


def test_a_missing_path_is_reported(capsys, tmp_path):
    code, out, _ = run(capsys, str(tmp_path / "gone"), "--mode", "inprocess")
    assert code == 1
    assert f"ERROR {tmp_path / 'gone'}: no such file or folder" in out


def test_junit_report_is_written(capsys, fx, tmp_path):
    greet = fx("greet.case.yaml", TWO_CASES)
    fx("bad.case.yaml", "script: 1\n")
    report = tmp_path / "out" / "report.xml"
    report.parent.mkdir()
    code, _, _ = run(capsys, str(fx.folder), "--junit", str(report), "--mode", "inprocess")
    assert code == 1
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    failed = [t for t in suite.iter("testcase") if t.find("failure") is not None]
    assert [(t.get("classname"), t.get("name")) for t in failed] == [(str(greet), "greets Bob")]
    assert failed[0].find("failure").get("message") == "value.greeting: differs"


def test_junit_report_is_written_when_all_pass(capsys, fx, tmp_path):
    fx("a.case.yaml", PASSING)
    report = tmp_path / "report.xml"
    assert run(capsys, str(fx.folder), "--junit", str(report), "--mode", "inprocess")[0] == 0
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")


def test_an_unwritable_junit_file_is_a_usage_error(capsys, fx, tmp_path):
    fx("a.case.yaml", PASSING)
    code, _, err = run(capsys, str(fx.folder), "--junit", str(tmp_path / "no" / "dir" / "r.xml"), "--mode", "inprocess")
    assert code == 2
    assert f"noderuntime: cannot write {tmp_path / 'no' / 'dir' / 'r.xml'}: No such file or directory" in err


def test_the_default_path_is_the_fixtures_folder(capsys, tmp_path, monkeypatch):
    (tmp_path / "fixtures" / "members").mkdir(parents=True)
    (tmp_path / "fixtures" / "members" / "a.case.yaml").write_text(PASSING)
    (tmp_path / "fixtures" / "b.case.yaml").write_text("script: return 1\nexpect: {value: 2}\n")
    (tmp_path / "elsewhere.case.yaml").write_text(PASSING)  # not under fixtures/: not run
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "--mode", "inprocess")
    assert code == 1
    assert "FAIL fixtures/b.case.yaml::b\n" in out
    assert SUMMARY.match(summary(out)).groups() == ("1", "1", None)


def test_without_a_fixtures_folder_the_default_path_is_reported_missing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "--mode", "inprocess")
    assert code == 1
    assert "ERROR fixtures: no such file or folder" in out


def test_progress_wraps_every_60_cases(capsys, fx):
    fx("many.case.yaml", "script: return 1\ncases:\n" + "".join(f"  - {{name: c{i}}}\n" for i in range(61)))
    code, out, _ = run(capsys, str(fx.folder), "--mode", "inprocess")
    assert code == 0
    assert out.splitlines()[:2] == ["." * 60, "."]
    assert SUMMARY.match(summary(out)).groups() == ("61", "0", None)


def test_cases_run_in_the_isolated_pool_by_default(capsys, fx, monkeypatch):
    monkeypatch.delenv("NODERUNTIME_MODE", raising=False)
    monkeypatch.setenv("NODERUNTIME_WORKERS", "2")
    monkeypatch.setattr(Runtime, "_runner", lambda self: pytest.fail("ran in-process"))
    fx("a.case.yaml", TWO_CASES)
    fx(
        "b.case.yaml",
        'context: {app: a1}\ndb: {a1_x: []}\nhttp: [{url: "https://api.example.com/", json: {n: 3}}]\n'
        'script: |\n  n = this.fetch("https://api.example.com/").json().n\n'
        '  this.upsertDataToDataSource(dataSourceId="a1_x", data={"n": n})\n  return n\n'
        "expect: {value: 3, db: {a1_x: [{n: 3}]}}\n",
    )
    code, out, _ = run(capsys, str(fx.folder))
    assert code == 1
    assert SUMMARY.match(summary(out)).groups() == ("2", "1", None)
    assert "FAIL" in out and "::greets Bob\n" in out


def test_a_bad_mode_is_a_usage_error(capsys, fx):
    fx("a.case.yaml", PASSING)
    assert main(["test", str(fx.folder), "--mode", "sideways"]) == 2
