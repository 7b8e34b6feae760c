"""Running a script in-process: results, settlement, logs, errors, limits."""

from __future__ import annotations

import time


def test_return_value_and_member_as_left(run_inprocess):
    done = run_inprocess(
        "this.member.botMeta.tempData.gender = 'male'\nreturn {'member': this.member}",
        {"member": {"botMeta": {"tempData": {}}}},
    )
    assert done["ok"] is True
    assert done["value"] == {"member": {"botMeta": {"tempData": {"gender": "male"}}}}
    assert done["outputs"]["member"]["botMeta"]["tempData"]["gender"] == "male"


def test_context_data_reads_like_js_objects(run_inprocess):
    done = run_inprocess(
        "return [this.member.meta.score, this.member['meta']['score'], this.member.meta.missing]",
        {"member": {"meta": {"score": 5}}},
    )
    assert done["value"] == [5, 5, None]


def test_script_dicts_read_and_write_through_attributes(run_inprocess):
    done = run_inprocess("d = {'a': 1}\nd.b = d.a + 1\nd.c = d.get('a')\nreturn d")
    assert done["value"] == {"a": 1, "b": 2, "c": 1}


def test_keys_win_over_dict_methods(run_inprocess):
    done = run_inprocess("d = {'items': 3}\nreturn [d.items, list({'k': 1}.items())]")
    assert done["value"] == [3, [["k", 1]]]


def test_resolve_and_reject_end_the_script(run_inprocess):
    assert run_inprocess("resolve({'a': 1})\nreturn 2")["value"] == {"a": 1}
    rejected = run_inprocess("x = 1\nreject('no coupon left')")
    assert rejected["ok"] is False
    assert rejected["error"]["type"] == "Rejected"
    assert rejected["error"]["message"] == "no coupon left"
    assert rejected["error"]["line"] == 2


def test_first_settlement_wins_even_if_caught(run_inprocess):
    done = run_inprocess("try:\n    resolve(1)\nexcept BaseException:\n    pass\nresolve(2)")
    assert done["value"] == 1


def test_print_and_console_go_to_the_log(run_inprocess):
    done = run_inprocess("print('a', 1)\nconsole.warn({'k': [1]})\nconsole.error('x')")
    assert done["logs"] == [
        {"level": "log", "message": "a 1"},
        {"level": "warn", "message": '{"k": [1]}'},
        {"level": "error", "message": "x"},
    ]


def test_log_flood_ends_the_run_with_the_log_budget(run_inprocess):
    done = run_inprocess("while True:\n    print('x' * 100)", log_bytes=1000)
    assert done["error"]["type"] == "LimitExceeded"
    assert done["error"]["budget"] == "logBytes"
    assert sum(len(line["message"]) + 1 for line in done["logs"]) <= 1000


def test_runtime_error_reports_the_authors_line_and_column(run_inprocess):
    done = run_inprocess("x = 1\ny = {}\nz = x + y")
    assert done["error"] == {
        "type": "TypeError",
        "message": "unsupported operand type(s) for +: 'int' and 'dict'",
        "line": 3,
        "column": 5,
    }


def test_error_inside_a_nested_function_points_at_the_inner_line(run_inprocess):
    done = run_inprocess("def f(a):\n    return a['missing']\nreturn f({})")
    assert done["error"]["type"] == "KeyError"
    assert done["error"]["line"] == 2


def test_deadline_keeps_raising_when_swallowed(run_inprocess):
    source = "n = 0\nwhile True:\n    try:\n        while True:\n            n += 1\n    except BaseException:\n        pass"
    started = time.monotonic()
    done = run_inprocess(source, wall_seconds=0.2)
    assert time.monotonic() - started < 2
    assert done["error"]["type"] == "LimitExceeded"
    assert done["error"]["budget"] == "wallTime"


def test_deadline_reported_even_if_the_script_returns_after_catching_it(run_inprocess):
    done = run_inprocess("try:\n    while True:\n        pass\nfinally:\n    return 'escaped'", wall_seconds=0.2)
    assert done["ok"] is False
    assert done["error"]["budget"] == "wallTime"


def test_cpu_budget(run_inprocess):
    done = run_inprocess("while True:\n    pass", wall_seconds=10, cpu_seconds=0.2)
    assert done["error"]["budget"] == "cpuTime"


def test_comprehension_and_lambda_and_recursion_are_ticked(run_inprocess):
    done = run_inprocess("def f(n):\n    return [f(n + 1), f(n + 1)] if n < 40 else 0\nreturn f(0)", wall_seconds=0.2)
    assert done["error"]["budget"] == "wallTime"
    done = run_inprocess("return [x for x in range(10**7) for y in range(10**7)]", wall_seconds=0.2)
    assert done["error"]["budget"] == "wallTime"


def test_host_call_results_and_errors(run_inprocess):
    assert run_inprocess("return this.echo({'a': [1, 2]}).echo.a")["value"] == [1, 2]
    done = run_inprocess("try:\n    this.host('nope')\nexcept Exception as e:\n    return [e.kind, e.message]")
    assert done["value"] == ["UnknownMethod", "no method nope"]


def test_fatal_host_error_cannot_be_caught(run_inprocess):
    done = run_inprocess("try:\n    this.host('budget')\nexcept BaseException:\n    pass\nreturn 'kept going'")
    assert done["ok"] is False
    assert done["error"]["type"] == "LimitExceeded"
    assert done["error"]["message"] == "calls budget exceeded"


def test_parameters_must_be_plain_data(run_inprocess):
    done = run_inprocess("return this.echo({'f': lambda: 1})")
    assert done["error"]["type"] == "TypeError"
    assert "parameters.f is not plain data" in done["error"]["message"]


def test_non_serialisable_return_values_are_named(run_inprocess):
    done = run_inprocess("return {'a': {'b': {1, 2}}}")
    assert done["error"]["message"] == "value.a.b is not plain data: <set> cannot leave the script"
    done = run_inprocess("return 2 ** 70")
    assert "too large" in done["error"]["message"]
    done = run_inprocess("a = {}\na['self'] = a\nreturn a")
    assert "nested too deeply" in done["error"]["message"]


def test_system_exit_is_an_error_not_an_exit(run_inprocess):
    done = run_inprocess("raise SystemExit(3)")
    assert done["error"]["type"] == "SystemExit"


def test_messages_carry_no_host_addresses(run_inprocess):
    done = run_inprocess("return this.echo(1, 2, 3)")
    assert " at 0x" not in done["error"]["message"]


def test_document_ids_are_data_not_internals(run_inprocess):
    done = run_inprocess("this.member._version = 2\nreturn [this.member._id, this.member._version]", {"member": {"_id": "m1"}})
    assert done["value"] == ["m1", 2]
    denied = run_inprocess("return console._id")
    assert denied["error"]["type"] == "AccessDenied"


def test_documented_underscore_result_fields_read_as_data(run_inprocess):
    done = run_inprocess("r = {'_docsIds': {'updated': ['d1']}, '_docs': {}}\nreturn [r._docsIds.updated, r._docs]")
    assert done["ok"], done
    assert done["value"] == [["d1"], {}]
