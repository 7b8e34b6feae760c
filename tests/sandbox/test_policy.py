"""The script dialect: what compiles, what is refused, and where."""

from __future__ import annotations

import pytest

from sandbox.policy import CompileCache, ScriptCompileError, compile_uncached, snippet


def refused(source: str, kind: str = "action") -> ScriptCompileError:
    with pytest.raises(ScriptCompileError) as caught:
        compile_uncached(source, kind)
    return caught.value


def test_top_level_return_is_the_result():
    compiled = compile_uncached("x = 1\nreturn x + 1")
    assert compiled.code.co_name == "_script_"
    assert compiled.kind == "action"


def test_await_is_accepted_and_stripped():
    compiled = compile_uncached("x = await f()\nreturn await g(x)")
    assert "Await" not in str(compiled.code.co_code)


def test_condition_is_an_expression():
    compile_uncached('this.messageEvent.type == "PAYLOAD"', kind="condition")
    error = refused("x = 1", kind="condition")
    assert error.message.startswith("SyntaxError")


def test_unknown_kind_is_a_value_error():
    with pytest.raises(ValueError, match="unknown script kind"):
        compile_uncached("return 1", kind="trigger")


@pytest.mark.parametrize(
    ("source", "line", "column", "text"),
    [
        ("x = 1\nimport os", 2, 1, "import is not allowed"),
        ("x = 1\n\nfrom os import path", 3, 1, "import is not allowed"),
        ("y = ().__class__", 1, 5, '"__class__" is an invalid attribute name'),
        ("_secret = 1", 1, 1, '"_secret" is an invalid variable name'),
        ("class A:\n    pass", 1, 1, "class definitions are not allowed"),
        ("def g():\n    yield 1", 2, 5, "yield is not allowed"),
        ("x = eval('1')", 1, 5, "Eval calls are not allowed"),
        ("x = exec", 1, 5, '"exec" is not available'),
        ("x = type(1)", 1, 5, '"type" is not available'),
        ("x = getattr(1, 'real')", 1, 5, '"getattr" is not available'),
        ("x = (", 1, 5, "SyntaxError"),
        ("async def f():\n    pass", 1, 1, "AsyncFunctionDef statements are not allowed"),
        ("try:\n    pass\nexcept* Exception:\n    pass", 1, 1, "TryStar statements are not allowed"),
        ("global x", 1, 1, "global is not allowed"),
        ("def f(_getattr_, /):\n    return 1", 1, 1, '"_getattr_" is an invalid variable name'),
        ("@decorator\ndef f():\n    pass", 2, 1, "decorators are not allowed"),
        ("for x in y:\n    pass\nbreak", 3, 1, "'break' outside loop"),
    ],
)
def test_refusals_name_the_authors_line_and_column(source, line, column, text):
    error = refused(source)
    assert text in error.message
    assert (error.line, error.column) == (line, column)


def test_every_problem_is_reported():
    error = refused("import os\nx = ().__class__")
    assert [p.line for p in error.problems] == [1, 2]


def test_augmented_assignment_of_attributes_and_items_is_allowed():
    compile_uncached("this.member.meta.count += 1\nd['k'] -= 2\nn *= 3")


def test_augmented_assignment_with_a_call_in_the_target_is_refused():
    error = refused("f().x += 1")
    assert "augmented assignment to this target" in error.message


def test_snippet_points_at_the_column():
    assert snippet("a = 1\nb = c + 1\n", 2, 5) == "   2 | b = c + 1\n" + " " * 11 + "^"
    assert snippet("a", None, None) == ""


def test_cache_compiles_a_source_once_and_remembers_refusals():
    cache = CompileCache(size=2)
    cache.get("return 1")
    cache.get("return 1")
    assert cache.compiles == 1
    for _ in range(2):
        with pytest.raises(ScriptCompileError):
            cache.get("import os")
    assert cache.compiles == 2


def test_cache_is_bounded():
    cache = CompileCache(size=2)
    for n in range(3):
        cache.get(f"return {n}")
    cache.get("return 0")  # evicted, compiled again
    assert cache.compiles == 4
