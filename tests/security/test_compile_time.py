"""Escapes refused before anything runs: each names the author's line."""

from __future__ import annotations

import pytest

from tests.security.conftest import refused

CASES = [
    # syntax errors
    ("syntax-unclosed-paren", "x = (1,\nreturn x", "SyntaxError", 1),
    ("syntax-bad-indent", "if True:\nreturn 1", "SyntaxError", 2),
    ("syntax-js-arrow", "f = (x) => x + 1", "SyntaxError", 1),
    # imports and modules
    ("import-os", "import os\nreturn os.getcwd()", "import is not allowed", 1),
    ("from-import", "x = 1\nfrom subprocess import run", "import is not allowed", 2),
    ("import-inside-def", "def f():\n    import socket\nreturn 1", "import is not allowed", 2),
    ("dunder-import-name", "m = __import__('os')", '"__import__" is an invalid variable name', 1),
    ("builtins-name", "b = __builtins__", '"__builtins__" is an invalid variable name', 1),
    # dunder and private attributes
    ("class-walk", "return ().__class__.__bases__[0].__subclasses__()", '"__class__" is an invalid attribute', 1),
    ("function-globals", "def f():\n    pass\nreturn f.__globals__", '"__globals__" is an invalid attribute', 3),
    ("method-self", "return this.echo.__self__", '"__self__" is an invalid attribute', 1),
    ("private-attribute", "return this.fetch._call", '"_call" is an invalid attribute', 1),
    ("traceback-attribute", "try:\n    1/0\nexcept Exception as e:\n    return e.__traceback__", '"__traceback__"', 4),
    # frames (RestrictedPython GHSA-wqc8-x2pr-7jqh: generator frames)
    ("generator-frame", "g = (x for x in [1])\nreturn g.gi_frame.f_back", '"gi_frame" is a restricted name', 2),
    ("frame-back", "def f():\n    pass\nreturn f.f_back", '"f_back" is a restricted name', 3),
    ("coroutine-frame", "return this.x.cr_frame", '"cr_frame" is a restricted name', 1),
    # forbidden builtins
    ("eval", "return eval('1+1')", "Eval calls are not allowed", 1),
    ("exec", "exec('x = 1')", "Exec calls are not allowed", 1),
    ("compile", "c = compile('1', 's', 'eval')", '"compile" is not available', 1),
    ("open", "return open('/etc/passwd').read()", '"open" is not available', 1),
    ("type", "return type(this)", '"type" is not available', 1),
    ("getattr", "return getattr(this, 'fetch')", '"getattr" is not available', 1),
    ("vars", "return vars(this)", '"vars" is not available', 1),
    ("globals", "return globals()", '"globals" is not available', 1),
    ("object", "return object.__subclasses__()", '"object" is not available', 1),
    ("two-argument-iter", "for x in iter(int, 1):\n    pass", '"iter" is not available', 1),
    ("format-builtin", "return format(this, '')", '"format" is not available', 1),
    # constructs
    ("class-definition", "class X:\n    pass", "class definitions are not allowed", 1),
    ("yield", "def g():\n    yield this\nreturn 1", "yield is not allowed", 2),
    ("global", "def f():\n    global this\n    this = 1", "global is not allowed", 2),
    ("decorator", "@print\ndef f():\n    pass", "decorators are not allowed", 2),
    ("async-def", "async def f():\n    pass", "AsyncFunctionDef statements are not allowed", 1),
    # RestrictedPython GHSA-gmj9-h825-chq2: except* type confusion
    ("try-star", "try:\n    pass\nexcept* Exception:\n    pass", "TryStar statements are not allowed", 1),
    # RestrictedPython GHSA-ffg3-p8fm-mjx2: positional-only parameters shadowing guard hooks
    ("positional-only-shadow", "def f(_getattr_, /):\n    return _getattr_\nreturn f(1)", '"_getattr_" is an invalid variable', 1),
    ("lambda-shadow", "f = lambda _write_: _write_", '"_write_" is an invalid variable', 1),
    ("walrus-shadow", "(_getiter_ := 1)", '"_getiter_" is an invalid variable', 1),
    ("except-shadow", "try:\n    pass\nexcept Exception as _print_:\n    pass", '"_print_" is an invalid variable', 3),
    # RestrictedPython GHSA-hp3v-5vw7-fx9w: string.Formatter resolves fields with getattr
    ("string-formatter", "from string import Formatter\nreturn Formatter().format('{0.__class__}', 1)", "import is not allowed", 1),
    ("fstring-dunder", "return f'{this.__class__}'", '"__class__" is an invalid attribute', 1),
]


@pytest.mark.parametrize(("source", "fragment", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_at_compile_time(attempt, source, fragment, line):
    result = attempt(source)
    refused(result, "CompileError", fragment, line)
    assert result.error["snippet"].splitlines()[0].startswith(f"{line:>4} | ")
    assert result.calls == []
