"""The runner: one case end to end, many in parallel without seeing each
other, collecting with -k, and the failure text and JUnit report."""

from __future__ import annotations

import textwrap
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from noderuntime.store import Store
from noderuntime.testing.fixture import load_cases
from noderuntime.testing.runner import Report, collect, format_failure, run_case, run_cases, write_junit

from .conftest import FROZEN, rendered

CLAIM = """\
name: claims the cheapest gold coupon
clock: 2020-09-30T16:00:00Z
context:
  app: a1
  member: {_id: m1, app: a1, externalId: "42", botMeta: {tempData: {}}}
db:
  a1_coupon:
    - {_id: {$oid: 5f7c0f0e0e0e0e0e0e0e0e01}, tier: gold, memberId: null, code: G1, priority: 2}
    - {_id: {$oid: 5f7c0f0e0e0e0e0e0e0e0e02}, tier: gold, memberId: null, code: G2, priority: 1}
    - {_id: s1, tier: silver, memberId: null, code: S1, priority: 0}
http:
  - {method: GET, url: "https://crm.example.com/members/42", json: {tier: gold}}
script: |
  user = this.fetch("https://crm.example.com/members/" + this.member.externalId).json()
  got = this.findAndModifyDataFromDataSource(
      dataSourceId="a1_coupon", filter={"tier": user.tier, "memberId": None},
      patch={"memberId": this.member._id}, withModifier=False, sortBy={"priority": 1}, option={"new": True},
  )
  this.member.botMeta.tempData.coupon = got.value.code
  this.member.botMeta.tempData.at = this.moment().toISOString()
  console.log("gave", got.value.code)
  return {"coupon": got.value.code}
expect:
  value: {coupon: G2}
  member: {botMeta: {tempData: {coupon: G2, at: "2020-09-30T16:00:00.000Z"}}}
  db:
    a1_coupon:
      - {_id: 5f7c0f0e0e0e0e0e0e0e0e02, memberId: m1, updatedAt: 1601481600000}
      - {absent: {code: G1, memberId: m1}}
      - {absent: {code: S1, memberId: m1}}
  http: [{method: GET, url: "https://crm.example.com/members/42"}]
  logs: [gave G2]
  usage: {method_calls: 2, http_requests: 1}
"""


@pytest.fixture(params=["inprocess", "isolated"])
def runtime(request):
    return request.getfixturevalue(f"{request.param}_runtime")


# run_case -----------------------------------------------------------------------------


def test_a_case_runs_end_to_end_with_its_store_stubs_clock_and_context(runtime, load):
    [case] = load(CLAIM)
    outcome = run_case(runtime, case)
    assert outcome.passed, rendered(outcome)
    assert outcome.case is case
    assert outcome.result.value == {"coupon": "G2"}
    assert outcome.result.usage.http_requests == 1
    assert outcome.seconds > 0


def test_a_failing_case_fails_the_same_way_in_both_modes(runtime, load):
    [case] = load(CLAIM.replace("value: {coupon: G2}", "value: {coupon: G1}"))
    outcome = run_case(runtime, case)
    assert not outcome.passed
    assert rendered(outcome) == ['value.coupon: differs\n    expected: "G1"\n    actual:   "G2"']


def test_a_case_does_not_touch_the_runtimes_own_store(inprocess_runtime, load):
    [case] = load(CLAIM)
    assert run_case(inprocess_runtime, case).passed
    assert not inprocess_runtime.store.has_collection("a1_coupon")


def test_running_a_case_twice_starts_from_the_same_seed(inprocess_runtime, load):
    [case] = load(CLAIM)
    seed = repr(case.db)
    assert run_case(inprocess_runtime, case).passed
    second = run_case(inprocess_runtime, case)
    assert second.passed, rendered(second)
    assert repr(case.db) == seed


def test_a_listed_empty_collection_exists(outcome):
    count = "context: {app: a1}\nscript: return this.countDataSource(dataSourceId='a1_log')\n"
    assert outcome(count + "db: {a1_log: []}\nexpect: {value: 0}\n").passed
    missing = outcome(count + "expect: {error: {type: NotFound, message: data source a1_log does not exist}}\n")
    assert missing.passed, rendered(missing)


def test_the_cases_limits_apply_to_that_case_only(inprocess_runtime, load):
    script = "script: |\n  this.sendText(text='a')\n  this.sendText(text='b')\n  return 1\n"
    [limited] = load(
        script
        + "limits: {method_calls: 1}\nexpect: {error: {type: LimitExceeded, message: methodCalls budget exceeded (limit 1 calls), line: 2}}\n",
        "limited.case.yaml",
    )
    [free] = load(script + "expect: {value: 1}\n", "free.case.yaml")
    assert run_case(inprocess_runtime, limited).passed
    assert run_case(inprocess_runtime, free).passed
    assert inprocess_runtime.config.limits.method_calls == 200


def test_without_a_clock_the_case_runs_at_the_real_time(outcome):
    before = int(time.time() * 1000)
    result = outcome("script: return this.moment().valueOf()\n").result
    assert before <= result.value <= int(time.time() * 1000)


def test_the_clock_freezes_the_moment_and_the_stores_stamps(outcome):
    result = outcome(
        "clock: 2021-01-02T03:04:05.678Z\ncontext: {app: a1}\ndb: {a1_x: []}\n"
        "script: |\n  this.upsertDataToDataSource(dataSourceId='a1_x', data={'n': 1})\n  return this.moment().toISOString()\n"
        "expect: {value: '2021-01-02T03:04:05.678Z', db: {a1_x: [{n: 1, createdAt: 1609556645678, updatedAt: 1609556645678}]}}\n"
    )
    assert result.passed, rendered(result)


# run_cases ----------------------------------------------------------------------------


def test_outcomes_keep_the_file_order_whatever_order_cases_finish_in(isolated_runtime, load):
    cases = load(
        """\
        http: [{url: "https://slow.example.com/", delay: 300}]
        cases:
          - name: slow
            script: this.fetch("https://slow.example.com/")
          - name: quick 1
            script: return 1
          - name: quick 2
            script: return 2
        """
    )
    finished = []
    lock = threading.Lock()

    def progress(outcome):
        with lock:
            finished.append(outcome.case.name)

    outcomes = run_cases(isolated_runtime, cases, threads=2, progress=progress)
    assert [o.case.name for o in outcomes] == ["slow", "quick 1", "quick 2"]
    assert all(o.passed for o in outcomes), [rendered(o) for o in outcomes]
    assert finished[-1] == "slow"
    assert sorted(finished) == sorted(["slow", "quick 1", "quick 2"])


def test_parallel_cases_writing_one_collection_do_not_see_each_other(isolated_runtime, load):
    head = textwrap.dedent(
        """\
        context: {app: a1}
        db: {a1_log: [{_id: seed, n: 0}]}
        script: |
          this.upsertDataToDataSource(dataSourceId="a1_log", data={"_id": "only-" + this.node.name, "n": 1})
          return this.countDataSource(dataSourceId="a1_log")
        expect: {value: 2}
        cases:
        """
    )
    cases = load(
        head
        + "".join(
            f"  - {{name: writer {i}, context: {{node: {{name: w{i}}}}}, expect: {{value: 2, db: {{a1_log: [{{_id: only-w{i}}}, "
            f"{{absent: {{_id: only-w{(i + 1) % 8}}}}}]}}}}}}\n"
            for i in range(8)
        )
    )
    outcomes = run_cases(isolated_runtime, cases, threads=4)
    assert [o.passed for o in outcomes] == [True] * 8, [rendered(o) for o in outcomes]


def test_parallel_cases_each_have_their_own_clock(isolated_runtime, load):
    cases = load(
        "script: return this.moment().valueOf()\ncases:\n"
        + "".join(f"  - {{name: at {i}, clock: {FROZEN + i * 1000}}}\n" for i in range(8))
    )
    outcomes = run_cases(isolated_runtime, cases, threads=4)
    assert [o.result.value for o in outcomes] == [FROZEN + i * 1000 for i in range(8)]


def test_parallel_cases_each_have_their_own_stubs(isolated_runtime, load):
    cases = load(
        "script: return this.fetch('https://api.example.com/who').text()\ncases:\n"
        + "".join(
            f"  - {{name: asks {i}, http: [{{url: 'https://api.example.com/who', body: 'answer {i}', delay: {(8 - i) * 5}}}], "
            f"expect: {{value: answer {i}, http: [{{url: 'https://api.example.com/who'}}]}}}}\n"
            for i in range(8)
        )
    )
    outcomes = run_cases(isolated_runtime, cases, threads=4)
    assert [o.passed for o in outcomes] == [True] * 8, [rendered(o) for o in outcomes]


def test_run_cases_calls_progress_once_per_case(inprocess_runtime, load):
    cases = load("script: return 1\ncases: [{name: a}, {name: b, expect: {value: 2}}]\n")
    seen = []
    run_cases(inprocess_runtime, cases, threads=1, progress=lambda o: seen.append((o.case.name, o.passed)))
    assert seen == [("a", True), ("b", False)]


# collect ------------------------------------------------------------------------------


@pytest.fixture
def tree(write, tmp_path):
    write("fx/greet.case.yaml", "script: return 1\ncases: [{name: greets Ann}, {name: greets Bob}]\n")
    write("fx/sub/bye.case.json", {"name": "says bye", "script": "return 2"})
    write("fx/notes.yaml", "not: a fixture")
    return tmp_path / "fx"


def test_collect_finds_every_case_in_file_order(tree):
    cases, broken = collect([tree])
    assert [c.name for c in cases] == ["greets Ann", "greets Bob", "says bye"]
    assert broken == []


@pytest.mark.parametrize(
    "select, names",
    [
        ("bob", ["greets Bob"]),
        ("GREETS", ["greets Ann", "greets Bob"]),
        ("bye.case.json::", ["says bye"]),
        ("greet.case.yaml::greets ann", ["greets Ann"]),
        ("nothing like it", []),
        ("", ["greets Ann", "greets Bob", "says bye"]),
    ],
)
def test_collect_selects_by_id_ignoring_case(tree, select, names):
    cases, _ = collect([tree], select)
    assert [c.name for c in cases] == names


def test_collect_reports_broken_files_and_keeps_the_others(tree, write):
    bad = write("fx/bad.case.yaml", "script: return 1\nexpect: {vaule: 1}\n")
    also_bad = write("fx/worse.case.json", "{")
    cases, broken = collect([tree], "bob")
    assert [c.name for c in cases] == ["greets Bob"]
    assert [(e.path, e.where) for e in broken] == [(str(bad), "expect.vaule"), (str(also_bad), "")]


def test_collect_reports_a_missing_path(tmp_path):
    cases, broken = collect([tmp_path / "gone"])
    assert cases == []
    assert [str(e) for e in broken] == [f"{tmp_path / 'gone'}: no such file or folder"]


# format_failure -------------------------------------------------------------------------


def test_format_failure_shows_the_case_script_differences_and_logs(write, inprocess_runtime):
    script = write("bot/boom.py", 'console.log("starting")\nconsole.warn("careful")\nx = 0\ny = 1 / x\n')
    case_file = write(
        "bot/boom.case.yaml",
        "name: divides\nscriptFile: boom.py\nexpect: {value: 1, logs: [finished]}\n",
    )
    [case] = load_cases(case_file)
    text = format_failure(run_case(inprocess_runtime, case))
    assert text == (
        f"FAIL {case_file}::divides\n"
        f"  script: {script.resolve()}\n"
        "  error: the script failed: ZeroDivisionError: division by zero (line 4)\n"
        "     4 | y = 1 / x\n"
        "             ^\n"
        # no "value: differs": a failed run has no value, and its error says why
        "  logs[0]: no log line contains this\n"
        '      expected: "finished"\n'
        '      actual:   ["[log] starting", "[warn] careful"]\n'
        "  logs:\n"
        "    [log] starting\n"
        "    [warn] careful"
    )


def test_format_failure_of_an_inline_script_without_logs(outcome):
    result = outcome("name: n\nscript: return 1\nexpect: {value: 2}\n")
    assert format_failure(result) == (
        f"FAIL {result.case.path}::n\n  value: differs\n      expected: 2\n      actual:   1"
    )


# write_junit ---------------------------------------------------------------------------


def test_write_junit_counts_tests_failures_and_errors(write, tmp_path, inprocess_runtime):
    a = write("fx/a.case.yaml", "script: return 1\ncases: [{name: passes}, {name: fails, expect: {value: 2}}]\n")
    b = write("fx/b.case.yaml", "script: return 1\nexpect: {vaule: 1}\n")
    write("fx/c.case.yaml", "name: crashes\nscript: 'x = 1 / 0'\n")
    cases, broken = collect([tmp_path / "fx"])
    report = Report(run_cases(inprocess_runtime, cases, threads=2), broken)
    out = tmp_path / "junit.xml"
    write_junit(report, out, 1.23456)

    suite = ET.parse(out).getroot()
    assert suite.tag == "testsuite"
    assert {k: suite.get(k) for k in ("name", "tests", "failures", "errors", "time")} == {
        "name": "noderuntime",
        "tests": "4",
        "failures": "2",
        "errors": "1",
        "time": "1.235",
    }
    testcases = suite.findall("testcase")
    assert [(t.get("classname"), t.get("name")) for t in testcases] == [
        (str(a), "passes"),
        (str(a), "fails"),
        (str(tmp_path / "fx" / "c.case.yaml"), "crashes"),
        (str(b), "(fixture file)"),
    ]
    assert all(float(t.get("time")) >= 0 for t in testcases[:3])
    assert testcases[0].find("failure") is None and testcases[0].find("error") is None
    failure = testcases[1].find("failure")
    assert failure.get("message") == "value: differs"
    assert failure.text == format_failure(report.outcomes[1])
    assert testcases[2].find("failure").get("message").startswith("error: the script failed: ZeroDivisionError")
    error = testcases[3].find("error")
    assert error.get("message") == error.text == f"{b}: expect.vaule: unknown field; did you mean value?"


def test_write_junit_output_starts_with_an_xml_declaration(tmp_path):
    out = tmp_path / "empty.xml"
    write_junit(Report(), out, 0.0)
    assert out.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert ET.parse(out).getroot().get("tests") == "0"


def test_write_junit_stays_valid_xml_when_logs_hold_control_characters(tmp_path, outcome):
    result = outcome(
        "script: \"console.log('bell\\\\x07 nul\\\\x00 esc\\\\x1b[31m red')\\nreturn 1\\n\"\nexpect: {value: 2}\n"
    )
    assert result.result.logs[0]["message"] == "bell\x07 nul\x00 esc\x1b[31m red"
    out = tmp_path / "junit.xml"
    write_junit(Report([result]), out, 0.1)
    failure = ET.parse(out).getroot().find("testcase/failure")
    assert "    [log] bell\\x07 nul\\x00 esc\\x1b[31m red" in failure.text.splitlines()


def test_a_missing_path_is_reported_and_the_other_paths_still_run(write, tmp_path):
    write("fx/a.case.yaml", "script: return 1\n")
    cases, broken = collect([tmp_path / "nowhere", tmp_path / "fx"])
    assert [case.name for case in cases] == ["a"]
    assert [error.problem for error in broken] == ["no such file or folder"]


def test_a_case_that_cannot_be_run_fails_alone_with_the_reason(write, tmp_path, inprocess_runtime, monkeypatch):
    write("fx/a.case.yaml", "script: return 1\ncases: [{name: first}, {name: second}]\n")
    cases, _broken = collect([tmp_path / "fx"])
    real = Store.embedded_store

    def flaky(seed=None, **kwargs):
        if flaky.calls == 0:
            flaky.calls += 1
            raise RuntimeError("disk on fire")
        return real(seed, **kwargs)

    flaky.calls = 0
    monkeypatch.setattr(Store, "embedded_store", staticmethod(flaky))
    first, second = run_cases(inprocess_runtime, cases, threads=1)
    assert [m.render() for m in first.mismatches] == ["case: could not be run: RuntimeError: disk on fire"]
    assert second.passed
