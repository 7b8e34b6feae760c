"""The fixture format: reading one-case and ``cases:`` files, and every schema
error naming the file and the dotted path of the field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from bson import ObjectId

from noderuntime.testing.fixture import FixtureError, HttpStub, discover, is_fixture_file, load_cases

from .conftest import FROZEN

OID = "5f7c0f0e0e0e0e0e0e0e0e0e"
ALLOWED_KEYS = "name, description, script, scriptFile, kind, clock, context, db, http, limits, expect"
METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"


# Reading ---------------------------------------------------------------------


def test_a_one_case_file_gives_one_case_with_every_field(load, tmp_path):
    [case] = load(
        """\
        name: saves the answer
        description: what it shows
        script: |
          return 1
        kind: response
        clock: 1601481600000
        context: {app: a1, member: {_id: m1}}
        db: {a1_coupon: [{_id: c1, code: X}]}
        http: [{method: get, url: "https://api.example.com/u/1", status: 201, headers: {X-Id: 7}, json: {a: 1}, delay: 5}]
        limits: {method_calls: 5}
        expect: {value: 1}
        """,
        "save.case.yaml",
    )
    assert case.path == tmp_path / "save.case.yaml"
    assert case.name == "saves the answer"
    assert case.id == f"{tmp_path / 'save.case.yaml'}::saves the answer"
    assert case.where == ""
    assert case.script == "return 1\n"
    assert case.script_file is None
    assert case.kind == "response"
    assert case.clock == FROZEN
    assert case.context == {"app": "a1", "member": {"_id": "m1"}}
    assert case.db == {"a1_coupon": [{"_id": "c1", "code": "X"}]}
    assert case.http == (
        HttpStub(
            url="https://api.example.com/u/1",
            pattern=None,
            method="GET",
            status=201,
            headers={"x-id": "7"},
            json={"a": 1},
            has_json=True,
            delay_ms=5,
        ),
    )
    assert case.limits == {"method_calls": 5}
    assert case.expect == {"value": 1}


def test_defaults_of_a_minimal_case(load):
    [case] = load("script: return 1\n")
    assert (case.kind, case.context, case.db, case.http, case.clock, case.limits, case.expect) == (
        "action",
        {},
        {},
        (),
        None,
        {},
        {},
    )


def test_a_case_without_a_name_is_named_after_its_file(load):
    assert [c.name for c in load("script: return 1\n", "greet.case.yaml")] == ["greet"]
    many = load("script: return 1\ncases: [{kind: action}, {kind: response}]\n", "greet.case.yaml")
    assert [c.name for c in many] == ["greet #1", "greet #2"]


def test_cases_share_the_files_other_keys_and_override_them(load):
    cases = load(
        """\
        script: return 1
        kind: response
        db: {a1_x: [{_id: d1}]}
        expect: {value: 1}
        cases:
          - name: inherits
          - name: overrides
            kind: condition
            script: return 2
            expect: {value: 2}
        """
    )
    assert [(c.name, c.where, c.kind, c.script, c.expect) for c in cases] == [
        ("inherits", "cases[0]", "response", "return 1", {"value": 1}),
        ("overrides", "cases[1]", "condition", "return 2", {"value": 2}),
    ]
    assert cases[0].db == cases[1].db == {"a1_x": [{"_id": "d1"}]}


def test_context_is_merged_object_by_object(load):
    """A case says only the context fields it changes, at any depth; lists and values replace."""
    first, second, third = load(
        """\
        script: return 1
        context: {app: a1, member: {_id: m1, firstName: Ann, tags: [a, b], botMeta: {tempData: {x: 1}}}}
        cases:
          - name: adds a field
            context: {messageEvent: {type: TEXT}}
          - name: changes one member field
            context: {member: {firstName: Bob, botMeta: {tempData: {y: 2}}}}
          - name: replaces a list and blanks a field
            context: {member: {tags: [c], firstName: null}}
        """
    )
    member = {"_id": "m1", "firstName": "Ann", "tags": ["a", "b"], "botMeta": {"tempData": {"x": 1}}}
    assert first.context == {"app": "a1", "member": member, "messageEvent": {"type": "TEXT"}}
    assert second.context == {
        "app": "a1",
        "member": {"_id": "m1", "firstName": "Bob", "tags": ["a", "b"], "botMeta": {"tempData": {"x": 1, "y": 2}}},
    }
    assert third.context["member"] == {**member, "tags": ["c"], "firstName": None}


def test_db_is_merged_collection_by_collection(load):
    """A case adds collections to the shared seed; a collection it names replaces the shared one."""
    first, second = load(
        """\
        script: return 1
        db: {members: [{_id: m1}], a1_x: [{_id: d1}]}
        cases:
          - name: adds agendas
            db: {agendas: [{_id: g1}]}
          - name: replaces a collection
            db: {a1_x: []}
        """
    )
    assert first.db == {"members": [{"_id": "m1"}], "a1_x": [{"_id": "d1"}], "agendas": [{"_id": "g1"}]}
    assert second.db == {"members": [{"_id": "m1"}], "a1_x": []}


def test_a_case_can_drop_the_shared_context_with_null(load):
    [case] = load("script: return 1\ncontext: {app: a1}\ncases: [{name: bare, context: null}]\n")
    assert case.context == {}


CASE_DATA = {
    "name": "same everywhere",
    "script": "return this.member._id",
    "kind": "action",
    "clock": "2020-09-30T16:00:00Z",
    "context": {"app": "a1", "member": {"_id": "m1"}},
    "db": {"a1_x": [{"_id": {"$oid": OID}, "n": 1}]},
    "http": [{"urlPattern": "https://api\\.example\\.com/.*", "body": "hi"}],
    "expect": {"value": "m1", "db": {"a1_x": [{"_id": {"$oid": OID}}]}},
}


@pytest.mark.parametrize(
    "name, text",
    [
        ("c.case.yaml", yaml.safe_dump(CASE_DATA)),
        ("c.case.yml", yaml.safe_dump(CASE_DATA)),
        ("c.case.json", json.dumps(CASE_DATA)),
    ],
)
def test_yaml_yml_and_json_files_read_the_same(load, name, text):
    [case] = load(text, name)
    assert case.name == "same everywhere"
    assert case.clock == FROZEN
    assert case.db == {"a1_x": [{"_id": ObjectId(OID), "n": 1}]}
    assert case.http[0].pattern.pattern == "https://api\\.example\\.com/.*"
    assert case.expect["db"] == {"a1_x": [{"_id": ObjectId(OID)}]}
    expected = load(yaml.safe_dump(CASE_DATA), "reference.case.yaml")[0]
    assert dataclasses.replace(case, path=expected.path) == expected


def test_a_cases_file_in_json(load):
    cases = load({"script": "return 1", "cases": [{"name": "a"}, {"name": "b"}]}, "j.case.json")
    assert [(c.name, c.where) for c in cases] == [("a", "cases[0]"), ("b", "cases[1]")]


def test_script_file_is_read_relative_to_the_fixture_not_the_working_folder(write, tmp_path, monkeypatch):
    script = write("bot/scripts/greet.py", "return 'hi'\n")
    case_file = write("bot/cases/greet.case.yaml", "scriptFile: ../scripts/greet.py\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    [case] = load_cases(case_file)
    assert case.script == "return 'hi'\n"
    assert case.script_file == script.resolve()
    assert case.script_file.is_absolute()


def test_a_missing_script_file_names_the_field_and_the_path(refused):
    error = refused("scriptFile: nowhere/greet.py\n")
    assert error.where == "scriptFile"
    assert error.problem == "cannot read nowhere/greet.py: No such file or directory"


def test_a_missing_script_file_in_a_case_names_the_case(refused):
    error = refused("cases: [{name: a, script: return 1}, {name: b, scriptFile: gone.py}]\n")
    assert error.where == "cases[1].scriptFile"


def test_extended_json_in_db_becomes_bson_types(load):
    [case] = load(
        f"""\
        script: return 1
        db:
          members: [{{_id: {{$oid: {OID}}}, at: {{$date: "2020-09-30T16:00:00Z"}}, n: {{$numberLong: "7"}}}}]
        expect:
          db: {{members: [{{_id: {{$oid: {OID}}}}}, {{absent: {{_id: {{$oid: {OID}}}}}}}]}}
        """
    )
    [member] = case.db["members"]
    assert member["_id"] == ObjectId(OID)
    assert member["at"] == dt.datetime(2020, 9, 30, 16)  # naive UTC, as pymongo reads dates
    assert member["n"] == 7
    assert case.expect["db"]["members"] == [{"_id": ObjectId(OID)}, {"absent": {"_id": ObjectId(OID)}}]


def test_yaml_dates_stay_the_text_the_author_wrote(load):
    [case] = load(
        """\
        script: return 1
        context: {member: {_id: m1, birthday: 2020-09-30, seen: 2020-09-30T16:00:00Z}}
        db: {a1_x: [{_id: d1, day: 2020-09-30}]}
        expect: {value: {day: 2020-09-30}, member: {birthday: 2020-09-30}}
        """
    )
    assert case.context["member"]["birthday"] == "2020-09-30"
    assert case.context["member"]["seen"] == "2020-09-30T16:00:00Z"
    assert case.db["a1_x"][0]["day"] == "2020-09-30"
    assert case.expect["value"] == {"day": "2020-09-30"}
    assert case.expect["member"] == {"birthday": "2020-09-30"}


def test_yaml_timestamps_are_unchanged_for_other_yaml_users():
    assert yaml.safe_load("d: 2020-09-30")["d"] == dt.date(2020, 9, 30)


@pytest.mark.parametrize(
    "clock, epoch_ms",
    [
        ("2020-09-30T16:00:00Z", FROZEN),
        ("2020-09-30T16:00:00.250Z", FROZEN + 250),
        ("2020-10-01T00:00:00+08:00", FROZEN),
        ("2020-09-30T16:00:00", FROZEN),  # no offset: UTC
        ("2020-09-30", FROZEN - 16 * 3_600_000),
        (FROZEN, FROZEN),
        (0, 0),
    ],
)
def test_clock_as_iso_text_or_epoch_milliseconds(load, clock, epoch_ms):
    [case] = load({"script": "return 1", "clock": clock}, "c.case.json")
    assert case.clock == epoch_ms
    [case] = load(f"script: return 1\nclock: {clock}\n")
    assert case.clock == epoch_ms


def test_http_stub_method_is_upper_cased_and_headers_lower_cased(load):
    [case] = load("script: return 1\nhttp: [{method: post, urlPattern: 'https://a/.*', headers: {X-Trace: abc}}]\n")
    [stub] = case.http
    assert stub.method == "POST"
    assert stub.url is None
    assert stub.pattern.pattern == "https://a/.*"
    assert stub.headers == {"x-trace": "abc"}
    assert (stub.status, stub.body, stub.has_json, stub.delay_ms) == (200, None, False, 0)


def test_expect_http_list_is_in_order_and_the_object_form_any_order(load):
    [in_order] = load("script: return 1\nexpect: {http: [{url: 'https://a/'}]}\n")
    assert in_order.expect["http"] == {"in_order": True, "requests": [{"url": "https://a/"}]}
    [any_order] = load("script: return 1\nexpect: {http: {anyOrder: true, requests: [{urlPattern: '.*'}]}}\n")
    assert any_order.expect["http"] == {"in_order": False, "requests": [{"urlPattern": ".*"}]}


# Schema errors -------------------------------------------------------------------

B = "script: return 1\n"

ERRORS = [
    # Unknown fields, with a suggestion when one is close.
    ("top level", B + "expcet: {}\n", "expcet", "unknown field; did you mean expect?"),
    ("top level, nothing close", B + "zzz: 1\n", "zzz", f"unknown field; allowed: {ALLOWED_KEYS}"),
    ("shared key", "scirpt: return 1\ncases: [{name: a}]\n", "scirpt", "unknown field; did you mean script?"),
    (
        "in a case",
        "cases: [{script: return 1, expcet: {}}]\n",
        "cases[0].expcet",
        "unknown field; did you mean expect?",
    ),
    (
        "in a later case's expect",
        B + "cases: [{name: a}, {name: b, expect: {valu: 1}}]\n",
        "cases[1].expect.valu",
        "unknown field; did you mean value?",
    ),
    ("context", B + "context: {membr: {}}\n", "context.membr", "unknown field; did you mean member?"),
    ("http stub", B + "http: [{url: x, stauts: 200}]\n", "http[0].stauts", "unknown field; did you mean status?"),
    ("expect", B + "expect: {vaule: 1}\n", "expect.vaule", "unknown field; did you mean value?"),
    (
        "expect.error",
        B + "expect: {error: {mesage: boom}}\n",
        "expect.error.mesage",
        "unknown field; did you mean message?",
    ),
    (
        "expect.usage",
        B + "expect: {usage: {method_call: 3}}\n",
        "expect.usage.method_call",
        "unknown field; did you mean method_calls?",
    ),
    ("limits", B + "limits: {method_call: 3}\n", "limits.method_call", "unknown field; did you mean method_calls?"),
    (
        "expect.http request",
        B + "expect: {http: [{url: x, jsn: {}}]}\n",
        "expect.http[0].jsn",
        "unknown field; did you mean json?",
    ),
    (
        "expect.http object",
        B + "expect: {http: {anyorder: true, requests: []}}\n",
        "expect.http.anyorder",
        "unknown field; did you mean anyOrder?",
    ),
    (
        "expect.sent",
        B + "expect: {sent: [{method: sendText, parms: {}}]}\n",
        "expect.sent[0].parms",
        "unknown field; did you mean params?",
    ),
    # The file as a whole.
    ("a list", "- script: return 1\n", "", "a fixture file holds one case (an object) or {cases: [...]}"),
    ("empty", "", "", "a fixture file holds one case (an object) or {cases: [...]}"),
    ("cases empty", B + "cases: []\n", "cases", "must be a non-empty list of cases"),
    ("cases an object", B + "cases: {a: 1}\n", "cases", "must be a non-empty list of cases"),
    ("a case not an object", B + "cases: [5]\n", "cases[0]", "must be an object"),
    # Script.
    (
        "script and scriptFile",
        B + "scriptFile: s.py\n",
        "script",
        "give script (inline) or scriptFile (a path), not both or neither",
    ),
    ("no script", "name: x\n", "script", "give script (inline) or scriptFile (a path), not both or neither"),
    (
        "no script in a case",
        "cases: [{name: x}]\n",
        "cases[0].script",
        "give script (inline) or scriptFile (a path), not both or neither",
    ),
    ("script not text", "script: 5\n", "script", "must be a string"),
    ("scriptFile not text", "scriptFile: [a]\n", "scriptFile", "must be a path (a string)"),
    # Case fields of the wrong type.
    ("name", B + "name: 5\n", "name", "must be a string"),
    ("kind", B + "kind: trigger\n", "kind", "must be one of action, response, condition, tagging"),
    ("context text", B + "context: member\n", "context", "must be an object"),
    ("context list", B + "context: []\n", "context", "must be an object"),
    ("context in a case", B + "context: {app: a}\ncases: [{context: [1]}]\n", "cases[0].context", "must be an object"),
    ("db list", B + "db: [1]\n", "db", "must be an object of collection names to lists of documents"),
    ("db collection", B + "db: {members: {_id: 1}}\n", "db.members", "must be a list of documents"),
    ("db document", B + "db: {members: [1]}\n", "db.members", "must be a list of documents"),
    ("limits", B + "limits: 5\n", "limits", "must be an object"),
    ("limit zero", B + "limits: {method_calls: 0}\n", "limits.method_calls", "must be a positive integer"),
    ("limit text", B + "limits: {wall_ms: fast}\n", "limits.wall_ms", "must be a positive integer"),
    ("limit true", B + "limits: {wall_ms: true}\n", "limits.wall_ms", "must be a positive integer"),
    # HTTP stubs.
    ("http object", B + "http: {url: x}\n", "http", "must be a list"),
    ("http item", B + "http: [5]\n", "http[0]", "must be an object"),
    (
        "url and urlPattern",
        B + "http: [{url: x, urlPattern: y}]\n",
        "http[0]",
        "give url (exact) or urlPattern (a regular expression), not both or neither",
    ),
    (
        "neither url nor urlPattern",
        B + "http: [{url: x}, {status: 200}]\n",
        "http[1]",
        "give url (exact) or urlPattern (a regular expression), not both or neither",
    ),
    ("url not text", B + "http: [{url: 5}]\n", "http[0].url", "must be a string"),
    (
        "urlPattern not text",
        B + "http: [{urlPattern: 5}]\n",
        "http[0].urlPattern",
        "must be a regular expression (a string)",
    ),
    ("method", B + "http: [{url: x, method: FETCH}]\n", "http[0].method", f"must be one of {METHODS}"),
    ("method not text", B + "http: [{url: x, method: 5}]\n", "http[0].method", f"must be one of {METHODS}"),
    (
        "status low",
        B + "http: [{url: x, status: 99}]\n",
        "http[0].status",
        "must be an HTTP status between 100 and 599",
    ),
    (
        "status high",
        B + "http: [{url: x, status: 600}]\n",
        "http[0].status",
        "must be an HTTP status between 100 and 599",
    ),
    (
        "status text",
        B + "http: [{url: x, status: '200'}]\n",
        "http[0].status",
        "must be an HTTP status between 100 and 599",
    ),
    (
        "status true",
        B + "http: [{url: x, status: true}]\n",
        "http[0].status",
        "must be an HTTP status between 100 and 599",
    ),
    ("json and body", B + "http: [{url: x, json: {}, body: hi}]\n", "http[0]", "give json or body, not both"),
    (
        "body not text",
        B + "http: [{url: x, body: 5}]\n",
        "http[0].body",
        "must be text (use json: for structured data)",
    ),
    (
        "headers list",
        B + "http: [{url: x, headers: [a]}]\n",
        "http[0].headers",
        "must be an object of header names to values",
    ),
    (
        "headers empty list",
        B + "http: [{url: x, headers: []}]\n",
        "http[0].headers",
        "must be an object of header names to values",
    ),
    (
        "header value",
        B + "http: [{url: x, headers: {a: {b: 1}}}]\n",
        "http[0].headers",
        "must be an object of header names to values",
    ),
    (
        "delay negative",
        B + "http: [{url: x, delay: -1}]\n",
        "http[0].delay",
        "must be milliseconds (an integer, 0 or more)",
    ),
    (
        "delay fraction",
        B + "http: [{url: x, delay: 1.5}]\n",
        "http[0].delay",
        "must be milliseconds (an integer, 0 or more)",
    ),
    (
        "delay text",
        B + "http: [{url: x, delay: '10'}]\n",
        "http[0].delay",
        "must be milliseconds (an integer, 0 or more)",
    ),
    # Clock.
    *[
        (
            f"clock {clock}",
            B + f"clock: {clock}\n",
            "clock",
            "must be epoch milliseconds or an ISO-8601 time like 2020-09-30T16:00:00Z",
        )
        for clock in ("yesterday", "1.5", "true", "[1]", "2020-13-01", "''")
    ],
    # Expectations.
    ("expect list", B + "expect: []\n", "expect", "must be an object"),
    ("expect.member", B + "expect: {member: 5}\n", "expect.member", "must be an object (the fields to check)"),
    (
        "expect.db list",
        B + "expect: {db: []}\n",
        "expect.db",
        "must be an object of collection names to lists of documents",
    ),
    ("expect.db collection", B + "expect: {db: {c: {}}}\n", "expect.db.c", "must be a list of documents"),
    (
        "expect.db document",
        B + "expect: {db: {c: [{}, 5]}}\n",
        "expect.db.c[1]",
        "must be a document, or {absent: {...}}",
    ),
    (
        "absent with more",
        B + "expect: {db: {c: [{absent: {a: 1}, b: 2}]}}\n",
        "expect.db.c[0]",
        "absent: takes one document and nothing else",
    ),
    (
        "absent not a document",
        B + "expect: {db: {c: [{absent: 5}]}}\n",
        "expect.db.c[0]",
        "absent: takes one document and nothing else",
    ),
    (
        "expect.http",
        B + "expect: {http: 5}\n",
        "expect.http",
        "must be a list of requests, or {anyOrder: true, requests: [...]}",
    ),
    (
        "expect.http without requests",
        B + "expect: {http: {anyOrder: true}}\n",
        "expect.http.requests",
        "must be a list of requests",
    ),
    (
        "anyOrder not a boolean",
        B + "expect: {http: {anyOrder: 'no', requests: []}}\n",
        "expect.http.anyOrder",
        "must be true or false",
    ),
    (
        "expect.http item",
        B + "expect: {http: [5]}\n",
        "expect.http[0]",
        "must be an object {method, url, headers, json, body}",
    ),
    (
        "expect.http item in the object form",
        B + "expect: {http: {anyOrder: true, requests: [{url: x}, {method: GET}]}}\n",
        "expect.http.requests[1]",
        "give url (exact) or urlPattern (a regular expression), not both or neither",
    ),
    (
        "expect.http url and urlPattern",
        B + "expect: {http: [{url: x, urlPattern: x}]}\n",
        "expect.http[0]",
        "give url (exact) or urlPattern (a regular expression), not both or neither",
    ),
    (
        "expect.http method",
        B + "expect: {http: [{url: x, method: GET2}]}\n",
        "expect.http[0].method",
        f"must be one of {METHODS}",
    ),
    (
        "expect.http headers",
        B + "expect: {http: [{url: x, headers: abc}]}\n",
        "expect.http[0].headers",
        "must be an object of header names to values",
    ),
    ("expect.sent", B + "expect: {sent: {method: x}}\n", "expect.sent", "must be a list"),
    ("expect.sent item", B + "expect: {sent: [x]}\n", "expect.sent[0]", "must be an object {method, params}"),
    ("expect.logs", B + "expect: {logs: hello}\n", "expect.logs", "must be a list"),
    ("expect.logs item", B + "expect: {logs: [hi, 5]}\n", "expect.logs[1]", "must be text, or {level, message}"),
    ("expect.logs keys", B + "expect: {logs: [{lvl: warn}]}\n", "expect.logs[0]", "must be text, or {level, message}"),
    ("expect.logs message", B + "expect: {logs: [{message: 5}]}\n", "expect.logs[0].message", "must be text"),
    ("expect.logs level", B + "expect: {logs: [{level: [warn]}]}\n", "expect.logs[0].level", "must be text"),
    ("expect.error", B + "expect: {error: boom}\n", "expect.error", "must be an object {type, message, line}"),
    ("expect.usage", B + "expect: {usage: 5}\n", "expect.usage", "must be an object of upper bounds"),
    (
        "expect.usage bound",
        B + "expect: {usage: {wall_ms: fast}}\n",
        "expect.usage.wall_ms",
        "must be a number (an upper bound)",
    ),
    (
        "expect.usage true",
        B + "expect: {usage: {wall_ms: true}}\n",
        "expect.usage.wall_ms",
        "must be a number (an upper bound)",
    ),
    # Names.
    ("duplicate names", B + "cases: [{name: a}, {name: b}, {name: a}]\n", "cases[2].name", "two cases are named 'a'"),
]


@pytest.mark.parametrize("text, where, problem", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_schema_errors_name_the_file_and_the_field(refused, text, where, problem):
    error = refused(text, "bad.case.yaml")
    assert (error.where, error.problem) == (where, problem)
    prefix = f"{error.path}: {where}: " if where else f"{error.path}: "
    assert str(error) == prefix + problem


@pytest.mark.parametrize(
    "text, where",
    [
        (B + "http: [{urlPattern: '(unclosed'}]\n", "http[0].urlPattern"),
        (B + "expect: {http: [{urlPattern: '[a-'}]}\n", "expect.http[0].urlPattern"),
    ],
)
def test_a_bad_regular_expression_names_the_field(refused, text, where):
    error = refused(text)
    assert error.where == where
    assert error.problem.startswith("not a regular expression: ")


@pytest.mark.parametrize("where", ["db", "expect.db"])
def test_bad_extended_json_names_the_field(refused, where):
    document = "{members: [{_id: {$oid: not-hex}}]}"
    text = B + (f"db: {document}\n" if where == "db" else f"expect: {{db: {document}}}\n")
    error = refused(text)
    assert error.where == where
    assert error.problem.startswith("not valid extended JSON: 'not-hex' is not a valid ObjectId")


def test_invalid_yaml_gives_the_line_and_column(refused):
    error = refused("script: return 1\nexpect:\n  value: 1\n   member: {}\n")
    assert error.where == ""
    assert error.problem == "not valid YAML: line 4, column 10: mapping values are not allowed here"


def test_unclosed_yaml_gives_where_it_ended(refused):
    error = refused("script: return 1\nexpect: {value: [1, 2}\n")
    assert error.problem.startswith("not valid YAML: line 2, column 22: ")


def test_invalid_json_gives_the_line_and_column(refused):
    error = refused('{\n  "script": "return 1",\n  "expect": {"value": }\n}\n', "bad.case.json")
    assert error.where == ""
    assert error.problem == "not valid JSON: line 3, column 23: Expecting value"


def test_a_json_file_is_read_as_json_not_yaml(refused):
    """YAML would accept this; a .json fixture must be JSON."""
    error = refused("script: return 1\n", "t.case.json")
    assert error.problem.startswith("not valid JSON: line 1, column 1")


def test_an_unreadable_file(tmp_path):
    with pytest.raises(FixtureError) as caught:
        load_cases(tmp_path / "gone.case.yaml")
    assert caught.value.path == str(tmp_path / "gone.case.yaml")
    assert caught.value.problem == "cannot read: No such file or directory"


def test_the_first_problem_is_reported_with_its_case(refused):
    error = refused(B + "cases: [{name: a}, {name: b, http: [{url: x}, {url: y, status: 0}]}]\n")
    assert error.where == "cases[1].http[1].status"


# Discovery ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, wanted",
    [
        ("a.case.yaml", True),
        ("a.case.yml", True),
        ("a.case.json", True),
        ("a.b.case.yaml", True),
        ("a.yaml", False),
        ("case.yaml", False),
        ("a.case.yaml.bak", False),
        ("a.case.txt", False),
        ("a.py", False),
    ],
)
def test_is_fixture_file(name, wanted):
    assert is_fixture_file(Path(name)) is wanted


def test_discover_walks_folders_recursively_for_fixture_files_only(write, tmp_path):
    wanted = [
        write("fx/a.case.yaml", B),
        write("fx/deep/er/c.case.json", "{}"),
        write("fx/deep/b.case.yml", B),
    ]
    write("fx/script.py", "return 1")
    write("fx/data.yaml", "a: 1")
    write("fx/deep/notes.case.md", "no")
    (tmp_path / "fx" / "dir.case.yaml").mkdir()  # a folder named like a fixture is not one
    assert discover([tmp_path / "fx"]) == sorted(wanted)


def test_discover_takes_files_as_given_in_the_order_given(write, tmp_path):
    second = write("b.case.yaml", B)
    first = write("plain.yaml", B)
    folder = write("fx/x.case.yaml", B)
    assert discover([second, first, tmp_path / "fx"]) == [second, first, folder]


def test_discover_refuses_a_missing_path(tmp_path):
    with pytest.raises(FixtureError) as caught:
        discover([tmp_path / "nowhere"])
    assert str(caught.value) == f"{tmp_path / 'nowhere'}: no such file or folder"
    assert caught.value.where == ""


def test_discover_of_an_empty_folder_is_empty(tmp_path):
    assert discover([tmp_path]) == []


def test_memory_is_the_pools_limit_not_a_cases(tmp_path):
    path = tmp_path / "m.case.yaml"
    path.write_text("script: return 1\nlimits: {memory_mb: 64}\n")
    with pytest.raises(FixtureError) as caught:
        load_cases(path)
    assert (caught.value.where, caught.value.problem) == (
        "limits.memory_mb",
        "is the worker pool's limit and cannot be set per case",
    )


def test_expected_error_parts_have_types(tmp_path):
    path = tmp_path / "e.case.yaml"
    path.write_text("script: return 1\nexpect: {error: {line: '2'}}\n")
    with pytest.raises(FixtureError) as caught:
        load_cases(path)
    assert (caught.value.where, caught.value.problem) == ("expect.error.line", "must be a line number")


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("script: return 1\ncontext: {member: john}\n", "context.member", "must be an object"),
        ("script: return 1\ncontext: {app: 5}\n", "context.app", "must be text (the app id)"),
        ("script: return 1\ndb: {a1_x: [{_id: d1}, {_id: d1}]}\n", "db.a1_x[1]._id", "two documents have this _id"),
        (
            "script: return 1\ndb: {a1_x: [{$where: x}]}\n",
            "db.a1_x[0]",
            "$where runs JavaScript on the database server and is not allowed",
        ),
        ("script: return 1\ndb: {$bad: []}\n", "db.$bad", "is not a collection name (letters, digits, _ and -)"),
    ],
)
def test_what_the_store_would_refuse_is_a_fixture_error(tmp_path, text, where, problem):
    path = tmp_path / "x.case.yaml"
    path.write_text(text)
    with pytest.raises(FixtureError) as caught:
        load_cases(path)
    assert (caught.value.where, caught.value.problem) == (where, problem)


def test_yaml_aliases_are_refused_so_a_small_file_cannot_expand_to_gigabytes(tmp_path):
    path = tmp_path / "bomb.case.yaml"
    path.write_text('script: return 1\na: &a ["x", "x"]\nb: &b [*a, *a]\n')
    with pytest.raises(FixtureError, match=r"aliases \(\*name\) are not allowed in fixtures"):
        load_cases(path)


def test_a_file_that_is_not_utf8_or_nested_too_deeply_is_a_fixture_error(tmp_path):
    latin = tmp_path / "latin.case.yaml"
    latin.write_bytes("script: return 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(FixtureError, match="is not UTF-8 text"):
        load_cases(latin)
    script = tmp_path / "s.py"
    script.write_bytes(b"return '\xff'\n")
    ref = tmp_path / "ref.case.yaml"
    ref.write_text("scriptFile: s.py\n")
    with pytest.raises(FixtureError, match=r"s\.py is not UTF-8 text"):
        load_cases(ref)
    deep = tmp_path / "deep.case.json"
    deep.write_text('{"script": "return 1", "context": {"node": ' + "[" * 50_000 + "]" * 50_000 + "}}")
    with pytest.raises(FixtureError, match="nested too deeply"):
        load_cases(deep)
