"""Expectations: subset matching, and every ``expect`` key passing and
failing with the path and message an author reads."""

from __future__ import annotations

import pytest

from noderuntime.testing.expect import Mismatch, show, subset

from .conftest import FROZEN, rendered

OID = "5f7c0f0e0e0e0e0e0e0e0e0e"
API = "https://api.example.com"


def paths(problems: list[Mismatch]) -> list[str]:
    return [problem.path for problem in problems]


# Subset matching ------------------------------------------------------------------


def test_an_object_may_have_more_fields_than_expected():
    assert subset({"a": 1}, {"a": 1, "b": 2, "c": {"d": 3}}, "value") == []


def test_a_missing_field_is_reported_with_its_path():
    [problem] = subset({"a": {"b": {"c": 1}}}, {"a": {"b": {}}}, "value")
    assert problem.render() == "value.a.b.c: missing\n    expected: 1"


def test_null_matches_a_missing_field_or_a_null_one():
    assert subset({"a": None}, {}, "value") == []
    assert subset({"a": None}, {"a": None}, "value") == []


def test_null_does_not_match_a_present_value():
    [problem] = subset({"a": None}, {"a": 0}, "value")
    assert problem.render() == "value.a: differs\n    expected: null\n    actual:   0"


def test_a_list_must_have_the_same_length():
    [problem] = subset([1, 2], [1, 2, 3], "value.tags")
    assert problem.render() == "value.tags: expected 2 items, got 3\n    expected: [1, 2]\n    actual:   [1, 2, 3]"


def test_list_items_are_matched_by_position_as_subsets():
    assert subset([{"a": 1}, {"b": 2}], [{"a": 1, "x": 0}, {"b": 2}], "v") == []
    assert paths(subset([{"a": 1}, {"b": 2}], [{"b": 2}, {"a": 1}], "v")) == ["v[0].a", "v[1].b"]


@pytest.mark.parametrize("expected, actual", [(1, 1.0), (1.0, 1), (2.5, 2.5), (0, -0.0)])
def test_numbers_compare_by_value(expected, actual):
    assert subset(expected, actual, "v") == []


@pytest.mark.parametrize(
    "expected, actual",
    [(True, 1), (1, True), (False, 0), (0, False), ("1", 1), (1, "1"), (None, False), ([], {}), ("", None)],
)
def test_booleans_text_and_numbers_are_different_types(expected, actual):
    assert paths(subset(expected, actual, "v")) == ["v"]


def test_an_expected_object_needs_an_object():
    [problem] = subset({"a": 1}, [1], "value")
    assert problem.message == "expected an object"
    [problem] = subset({"a": 1}, None, "value")
    assert problem.message == "expected an object"


def test_an_expected_list_needs_a_list():
    [problem] = subset([1], {"0": 1}, "value")
    assert problem.message == "expected a list"


def test_every_difference_is_reported():
    problems = subset({"a": 1, "b": {"c": 2}, "d": [1]}, {"a": 2, "b": {"c": 3}, "d": []}, "value")
    assert paths(problems) == ["value.a", "value.b.c", "value.d"]


def test_show_cuts_long_values():
    assert show({"a": "é"}) == '{"a": "é"}'
    long = show("x" * 500)
    assert len(long) == 300
    assert long.endswith("...")


def test_a_mismatch_without_values_renders_one_line():
    assert Mismatch("usage.wall_ms", "12 is over the bound 10").render() == "usage.wall_ms: 12 is over the bound 10"


# value and member ---------------------------------------------------------------------


GREET = """\
context: {member: {_id: m1, firstName: Ann, botMeta: {tempData: {}}}}
script: |
  this.member.botMeta.tempData.gender = "female"
  return {"greeting": "Hi Ann", "n": 2, "ok": True, "tags": ["a", "b"]}
"""


def test_value_and_member_pass_as_subsets(outcome):
    result = outcome(
        GREET
        + "expect: {value: {greeting: Hi Ann, n: 2.0, missing: null}, member: {botMeta: {tempData: {gender: female}}}}\n"
    )
    assert result.passed, rendered(result)


def test_a_differing_value_names_its_path(outcome):
    result = outcome(GREET + "expect: {value: {greeting: Hi Bob, ok: 1, tags: [a]}}\n")
    assert rendered(result) == [
        'value.greeting: differs\n    expected: "Hi Bob"\n    actual:   "Hi Ann"',
        "value.ok: differs\n    expected: 1\n    actual:   true",
        'value.tags: expected 1 items, got 2\n    expected: ["a"]\n    actual:   ["a", "b"]',
    ]


def test_a_differing_member_names_its_path(outcome):
    result = outcome(
        GREET + "expect: {member: {firstName: Ann, botMeta: {tempData: {gender: male}}, meta: {visits: 1}}}\n"
    )
    assert rendered(result) == [
        'member.botMeta.tempData.gender: differs\n    expected: "male"\n    actual:   "female"',
        'member.meta: missing\n    expected: {"visits": 1}',
    ]


def test_expect_value_null_needs_a_null_value(outcome):
    assert outcome("script: 'x = 1'\nexpect: {value: null}\n").passed
    assert rendered(outcome("script: return 0\nexpect: {value: null}\n")) == [
        "value: differs\n    expected: null\n    actual:   0"
    ]


def test_without_expectations_a_successful_run_passes(outcome):
    assert outcome("script: return 5\n").passed


# db ---------------------------------------------------------------------------------

CLAIM = """\
context: {app: a1}
clock: 1601481600000
db:
  a1_coupon:
    - {_id: c1, code: A, memberId: null}
    - {_id: c2, code: B, memberId: null}
  a1_log: []
script: |
  this.upsertDataToDataSource(dataSourceId="a1_coupon", data={"_id": "c1", "memberId": "m1"})
  return 1
"""


def test_db_documents_and_absent_entries_pass(outcome):
    result = outcome(
        CLAIM
        + """\
expect:
  db:
    a1_coupon:
      - {_id: c1, code: A, memberId: m1, updatedAt: 1601481600000}
      - {code: B, memberId: null}
      - {absent: {memberId: m2}}
    a1_log: [{absent: {}}]
    a1_never: [{absent: {code: A}}]
"""
    )
    assert result.passed, rendered(result)


def test_a_missing_document_shows_the_closest_stored_one(outcome):
    result = outcome(CLAIM + "expect: {db: {a1_coupon: [{_id: c1}, {code: B, memberId: m3}]}}\n")
    assert rendered(result) == [
        "db.a1_coupon[1]: no document in a1_coupon matches\n"
        '    expected: {"code": "B", "memberId": "m3"}\n'
        '    actual:   {"_id": "c2", "code": "B", "memberId": null}'
    ]


def test_the_closest_document_is_the_one_with_fewest_differences(outcome):
    result = outcome(CLAIM + "expect: {db: {a1_coupon: [{code: A, memberId: m2}]}}\n")
    [problem] = result.mismatches
    assert problem.actual["_id"] == "c1"  # one field differs; c2 differs in both


def test_an_absent_entry_fails_when_a_document_matches(outcome):
    result = outcome(CLAIM + "expect: {db: {a1_coupon: [{absent: {memberId: m1}}]}}\n")
    [problem] = result.mismatches
    assert (problem.path, problem.message, problem.expected) == (
        "db.a1_coupon[0]",
        "expected no document like this, found one",
        {"memberId": "m1"},
    )
    assert problem.actual["_id"] == "c1"


@pytest.mark.parametrize("collection", ["a1_log", "a1_never"])
def test_an_expected_document_in_an_empty_or_missing_collection(outcome, collection):
    result = outcome(CLAIM + f"expect: {{db: {{{collection}: [{{memberId: m1}}]}}}}\n")
    assert rendered(result) == [f'db.{collection}[0]: {collection} is empty\n    expected: {{"memberId": "m1"}}']


def test_db_ids_and_dates_compare_as_the_script_sees_them(outcome):
    result = outcome(
        f"""\
context: {{app: a1}}
db: {{a1_x: [{{_id: {{$oid: {OID}}}, at: {{$date: "2020-09-30T16:00:00Z"}}}}]}}
script: return 1
expect:
  db:
    a1_x:
      - {{_id: {{$oid: {OID}}}}}
      - {{_id: "{OID}", at: "2020-09-30T16:00:00.000Z"}}
"""
    )
    assert result.passed, rendered(result)


# http ---------------------------------------------------------------------------------

CALLS = f"""\
http: [{{urlPattern: ".*", json: {{ok: true}}}}]
script: |
  this.fetch("{API}/a")
  this.fetch("{API}/b", {{"method": "POST", "body": {{"n": 1, "extra": 2}}, "headers": {{"X-Key": "k"}}}})
  this.fetch("{API}/c", {{"method": "PUT", "body": "plain words here"}})
  return 1
"""


def test_requests_made_in_order_pass(outcome):
    result = outcome(
        CALLS
        + f"""\
expect:
  http:
    - {{method: GET, url: "{API}/a"}}
    - {{method: post, url: "{API}/b", json: {{n: 1}}, headers: {{x-key: k}}}}
    - {{urlPattern: ".*/c", body: "words"}}
"""
    )
    assert result.passed, rendered(result)


def test_in_order_is_a_subsequence_others_may_come_between(outcome):
    assert outcome(CALLS + f'expect: {{http: [{{url: "{API}/a"}}, {{url: "{API}/c"}}]}}\n').passed


def test_requests_out_of_order_fail(outcome):
    result = outcome(CALLS + f'expect: {{http: [{{url: "{API}/c"}}, {{url: "{API}/a"}}]}}\n')
    assert rendered(result) == [f'http[1]: no such request (in this order)\n    expected: {{"url": "{API}/a"}}']


def test_an_unmatched_request_shows_the_requests_after_the_last_match(outcome):
    result = outcome(CALLS + f'expect: {{http: [{{url: "{API}/a"}}, {{url: "{API}/zzz"}}]}}\n')
    [problem] = result.mismatches
    assert problem.path == "http[1]"
    assert [request["url"] for request in problem.actual] == [f"{API}/b", f"{API}/c"]
    assert problem.actual[0]["json"] == {"n": 1, "extra": 2}


def test_any_order_passes_whatever_the_order(outcome):
    result = outcome(
        CALLS + f'expect: {{http: {{anyOrder: true, requests: [{{url: "{API}/c"}}, {{url: "{API}/a"}}]}}}}\n'
    )
    assert result.passed, rendered(result)


def test_any_order_uses_each_request_once(outcome):
    result = outcome(
        CALLS + f'expect: {{http: {{anyOrder: true, requests: [{{url: "{API}/a"}}, {{url: "{API}/a"}}]}}}}\n'
    )
    [problem] = result.mismatches
    assert (problem.path, problem.message) == ("http[1]", "no such request")
    assert len(problem.actual) == 3


@pytest.mark.parametrize(
    "request_",
    [
        f'{{method: GET, url: "{API}/b"}}',
        f'{{url: "{API}/b", json: {{n: 2}}}}',
        f'{{url: "{API}/b", json: {{n: 1, missing: 1}}}}',
        f'{{url: "{API}/b", headers: {{x-key: other}}}}',
        f'{{url: "{API}/b", headers: {{x-absent: k}}}}',
        f'{{url: "{API}/c", json: {{n: 1}}}}',
        f'{{url: "{API}/c", body: "not there"}}',
        f'{{url: "{API}/a", body: "x"}}',
        '{urlPattern: "https://api\\\\.example\\\\.com/"}',
        f'{{url: "{API}/B"}}',
    ],
)
def test_a_request_must_match_every_given_part(outcome, request_):
    result = outcome(CALLS + f"expect: {{http: [{request_}]}}\n")
    assert [(m.path, m.message) for m in result.mismatches] == [("http[0]", "no such request (in this order)")]


def test_expecting_requests_when_none_were_made(outcome):
    result = outcome(f'script: return 1\nexpect: {{http: [{{url: "{API}/a"}}]}}\n')
    assert rendered(result) == [f'http[0]: no such request (in this order)\n    expected: {{"url": "{API}/a"}}']


def test_an_unstubbed_request_fails_the_case_even_when_the_script_caught_it(outcome):
    result = outcome(
        f"""\
http: [{{url: "{API}/a"}}]
script: |
  try:
      this.fetch("https://nope.example.com/x")
  except Exception as error:
      console.log("caught", str(error))
      return "fallback"
expect: {{value: fallback}}
"""
    )
    assert result.result.ok
    assert rendered(result) == ["http: the script made a request no stub answers: GET https://nope.example.com/x"]


# sent ---------------------------------------------------------------------------------

SEND = """\
script: |
  this.sendText(text="hello")
  try:
      this.sendText(text="refuse")
  except Exception:
      pass
  this.sendText({"text": "bye"})
  return 1
"""


def test_sent_messages_pass_in_any_order(outcome):
    result = outcome(SEND + "expect: {sent: [{method: sendText, params: {text: bye}}, {params: {text: hello}}]}\n")
    assert result.passed, rendered(result)


def test_a_message_that_was_not_sent_fails_listing_what_was(outcome):
    result = outcome(SEND + "expect: {sent: [{method: sendText, params: {text: refuse}}]}\n")
    assert rendered(result) == [
        "sent[0]: no such message was sent\n"
        '    expected: {"method": "sendText", "params": {"text": "refuse"}}\n'
        '    actual:   [{"method": "sendText", "params": {"text": "hello"}}, {"method": "sendText", "params": {"text": "bye"}}]'
    ]


def test_other_method_calls_are_not_sent_messages(outcome):
    result = outcome(
        "context: {app: a1}\nscript: 'this.countDataSource(dataSourceId=\"a1_x\")'\ndb: {a1_x: []}\n"
        "expect: {sent: [{method: countDataSource}]}\n"
    )
    assert rendered(result) == ['sent[0]: no such message was sent\n    expected: {"method": "countDataSource"}']


# logs ---------------------------------------------------------------------------------

LOGS = """\
script: |
  console.log("saved coupon", "A")
  console.warn("low stock: 3 left")
  return 1
"""


def test_logs_match_by_contained_text_and_by_level(outcome):
    result = outcome(
        LOGS + "expect: {logs: [coupon A, {level: warn, message: low stock}, {level: log}, {message: 3 left}]}\n"
    )
    assert result.passed, rendered(result)


def test_a_log_line_at_another_level_does_not_match(outcome):
    result = outcome(LOGS + "expect: {logs: [saved, {level: error, message: low stock}]}\n")
    assert rendered(result) == [
        "logs[1]: no log line contains this\n"
        '    expected: {"level": "error", "message": "low stock"}\n'
        '    actual:   ["[log] saved coupon A", "[warn] low stock: 3 left"]'
    ]


def test_missing_log_text_fails(outcome):
    result = outcome("script: return 1\nexpect: {logs: [hello]}\n")
    assert rendered(result) == ['logs[0]: no log line contains this\n    expected: "hello"']


# error --------------------------------------------------------------------------------

BOOM = 'script: "x = 1\\ny = x / 0\\n"\n'


def test_an_expected_error_passes(outcome):
    result = outcome(BOOM + "expect: {error: {type: ZeroDivisionError, message: division, line: 2}}\n")
    assert result.passed, rendered(result)


def test_an_expected_error_of_any_kind(outcome):
    assert outcome(BOOM + "expect: {error: {}}\n").passed


def test_an_error_that_differs_names_each_part(outcome):
    result = outcome(BOOM + "expect: {error: {type: TypeError, message: by one, line: 1}}\n")
    assert rendered(result) == [
        # the whole actual error, so a wrong type does not hide what did happen
        'error.type: differs\n    expected: "TypeError"\n    actual:   "ZeroDivisionError: division by zero (line 2)"',
        'error.message: does not contain the expected text\n    expected: "by one"\n    actual:   "division by zero"',
        "error.line: differs\n    expected: 1\n    actual:   2",
    ]


def test_an_unexpected_error_shows_the_line_with_a_caret(outcome):
    result = outcome(BOOM)
    assert rendered(result) == [
        "error: the script failed: ZeroDivisionError: division by zero (line 2)\n   2 | y = x / 0\n           ^"
    ]


def test_an_unexpected_compile_error_fails_the_case(outcome):
    result = outcome('script: "return (\\n"\n')
    [problem] = result.mismatches
    assert problem.path == "error"
    assert problem.message.startswith("the script failed: CompileError: SyntaxError")


def test_an_unexpected_success_fails(outcome):
    result = outcome("script: return 5\nexpect: {error: {type: ZeroDivisionError}}\n")
    assert rendered(result) == [
        'error: expected the script to fail, but it succeeded\n    expected: {"type": "ZeroDivisionError"}\n    actual:   5'
    ]


# usage --------------------------------------------------------------------------------

THREE_CALLS = f"""\
http: [{{urlPattern: ".*", body: "0123456789"}}]
script: |
  this.fetch("{API}/1")
  this.fetch("{API}/2")
  this.sendText(text="x")
  return 1
"""


def test_usage_within_the_bounds_passes(outcome):
    result = outcome(
        THREE_CALLS
        + "expect: {usage: {method_calls: 3, http_requests: 2, http_bytes: 20, wall_ms: 60000, cpu_ms: 60000}}\n"
    )
    assert result.passed, rendered(result)


def test_usage_over_a_bound_fails(outcome):
    result = outcome(THREE_CALLS + "expect: {usage: {method_calls: 2, http_requests: 1, http_bytes: 19.5}}\n")
    assert rendered(result) == [
        "usage.method_calls: 3 is over the bound 2",
        "usage.http_requests: 2 is over the bound 1",
        "usage.http_bytes: 20 is over the bound 19.5",
    ]


def test_every_failing_expectation_is_reported_together(outcome):
    result = outcome(THREE_CALLS + f"clock: {FROZEN}\nexpect: {{value: 2, logs: [x], usage: {{http_requests: 0}}}}\n")
    assert paths(result.mismatches) == ["value", "logs[0]", "usage.http_requests"]


def test_error_null_means_the_run_must_succeed(outcome):
    assert outcome("script: return 1\nexpect: {error: null, value: 1}\n").passed
    assert [m.path for m in outcome(BOOM + "expect: {error: null}\n").mismatches] == ["error"]


def test_each_sent_message_satisfies_one_expectation(outcome):
    result = outcome(
        "script: |\n  this.sendText(text='hi')\nexpect:\n  sent: [{method: sendText, params: {text: hi}}, {method: sendText}]\n"
    )
    assert [m.path for m in result.mismatches] == ["sent[1]"]
