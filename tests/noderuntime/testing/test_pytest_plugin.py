"""The pytest plugin: fixture files are collected as test items, failures read
as differences, broken files are collection errors naming the field.

Each test runs pytest on a temporary project with pytester (in-process). The
plugin comes from the ``pytest11`` entry point, as in a real project; passing
``-p noderuntime.testing.pytest_plugin`` as well would register it twice and
fail ("Plugin already registered under a different name").
"""

from __future__ import annotations

import pytest

from noderuntime.testing import pytest_plugin
from tests.noderuntime.testing.conftest import TWO_CASES

pytest_plugins = ["pytester"]


@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("NODERUNTIME_WORKERS", "2")
    monkeypatch.setenv("NODERUNTIME_MODE", "inprocess")
    return pytester


def test_each_case_is_an_item_that_passes_or_fails(project):
    project.makefile(".case.yaml", greet=TWO_CASES)
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["greet.case.yaml::greets Ann PASSED*", "greet.case.yaml::greets Bob FAILED*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_failure_reads_as_the_difference_not_a_traceback(project):
    path = project.makefile(".case.yaml", greet=TWO_CASES)
    result = project.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*_ case: greets Bob _*",
            f"FAIL {path}::greets Bob",
            "  value.greeting: differs",
            '      expected: "Hi Bob"',
            '      actual:   "Hi Ann"',
            "*short test summary*",
            "FAILED greet.case.yaml::greets Bob*",
        ]
    )
    text = result.stdout.str()
    for noise in ("Traceback", "CaseFailed", "runtest", "pytest_plugin.py", "def ", "raise "):
        assert noise not in text


def test_a_script_error_is_shown_with_its_line_and_logs(project):
    project.makefile(".case.yml", boom="name: boom\nscript: \"console.log('about to')\\nx = 0\\ny = 1 / x\\n\"\n")
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAIL *boom.case.yml::boom",
            "  error: the script failed: ZeroDivisionError: division by zero (line 3)",
            "     3 | y = 1 / x",
            "             ^",
            "  logs:",
            "    [log] about to",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_yaml_yml_and_json_fixture_files_are_collected_and_nothing_else(project):
    project.makefile(".case.yaml", a="script: return 1\n")
    project.makefile(".case.yml", b="name: bee\nscript: return 1\n")
    project.makefile(".case.json", c='{"name": "sea", "script": "return 1", "expect": {"value": 1}}')
    project.makefile(".yaml", notes="script: return 1\n")
    project.makefile(".case.txt", d="script: return 1\n")
    project.mkdir("sub").joinpath("deep.case.yaml").write_text("script: return 1\n")
    result = project.runpytest("--collect-only", "-q")
    assert sorted(line for line in result.stdout.lines if "::" in line) == [
        "a.case.yaml::a",
        "b.case.yml::bee",
        "c.case.json::sea",
        "sub/deep.case.yaml::deep",
    ]


def test_cases_run_with_their_script_files_stubs_and_store(project):
    project.mkdir("scripts").joinpath("claim.py").write_text(
        'tier = this.fetch("https://crm.example.com/42").json().tier\n'
        'got = this.findAndModifyDataFromDataSource(dataSourceId="a1_coupon", filter={"tier": tier, "memberId": None},\n'
        '    patch={"memberId": "m1"}, withModifier=False, option={"new": True})\n'
        "return got.value.code\n"
    )
    project.mkdir("cases").joinpath("claim.case.yaml").write_text(
        "scriptFile: ../scripts/claim.py\n"
        "context: {app: a1}\n"
        "clock: 2020-09-30T16:00:00Z\n"
        "db: {a1_coupon: [{_id: c1, tier: gold, memberId: null, code: G1}]}\n"
        "http: [{url: 'https://crm.example.com/42', json: {tier: gold}}]\n"
        "expect: {value: G1, db: {a1_coupon: [{_id: c1, memberId: m1, updatedAt: 1601481600000}]}}\n"
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)


def test_k_selects_cases_by_name(project):
    project.makefile(".case.yaml", greet=TWO_CASES)
    result = project.runpytest("-k", "Ann")
    result.assert_outcomes(passed=1, deselected=1)


def test_a_broken_fixture_file_is_a_collection_error_naming_the_field(project):
    bad = project.makefile(".case.yaml", bad="script: return 1\ncases: [{name: a}, {name: b, expect: {valu: 1}}]\n")
    project.makefile(".case.yaml", good="script: return 1\n")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting bad.case.yaml*",
            f"{bad}: cases[1].expect.valu: unknown field; did you mean value?",
        ]
    )
    text = result.stdout.str()
    assert "Traceback" not in text
    assert "FixtureError" not in text
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_a_broken_file_does_not_stop_the_others_when_asked(project):
    project.makefile(".case.json", bad="{not json")
    project.makefile(".case.yaml", good="script: return 1\n")
    result = project.runpytest("--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*bad.case.json: not valid JSON: line 1, column 2: *"])


def test_the_isolated_pool_runs_cases_and_is_stopped_at_the_end(project, monkeypatch):
    monkeypatch.setenv("NODERUNTIME_MODE", "isolated")
    project.makefile(".case.yaml", greet=TWO_CASES)
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    assert pytest_plugin._runtime is None
