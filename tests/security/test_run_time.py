"""Escapes that compile but are stopped while running, with a named error."""

from __future__ import annotations

import pytest

from tests.security.conftest import refused

CASES = [
    # reaching host objects through attributes that compile
    ("function-attribute", "def f():\n    pass\nreturn f.func_globals", "AccessDenied", "of function is not accessible", 3),
    ("method-proxy-attribute", "return this.echo.call", "AccessDenied", "of method is not accessible", 1),
    ("fetch-attribute", "return this.fetch.policy", "AccessDenied", "of fetch is not accessible", 1),
    ("console-attribute", "return console.state", "AccessDenied", "of console is not accessible", 1),
    ("lodash-template", "return this.lodash.template('<%= x %>')", "AccessDenied", "of lodash is not accessible", 1),
    ("moment-internals", "return this.moment().dt", "AccessDenied", "of moment is not accessible", 1),
    ("type-attribute", "return dict.fromkeys([1])", "AccessDenied", "of class is not accessible", 1),
    ("str-mro", "return str.mro()", "AccessDenied", "of class is not accessible", 1),
    ("builtin-function-self", "return len.self", "AccessDenied", "of function is not accessible", 1),
    ("unknown-this-field", "return this.runtime", "UnknownName", "this.runtime does not exist", 1),
    ("unknown-method", "return this.ech0({'value': 1})", "UnknownName", "did you mean echo", 1),
    # RestrictedPython GHSA-5rfv-66g4-jr8h: AttributeError.obj leaks the object
    ("attribute-error-obj", "try:\n    this.fetch.nothing\nexcept Exception as e:\n    return e.obj", "AccessDenied", 'attribute "obj"', 4),
    ("exception-name", "try:\n    x = undefined_name\nexcept NameError as e:\n    return e.name", "AccessDenied", 'attribute "name"', 4),
    # format-string attribute walks (GHSA-xjw2-6jm9-rf67, GHSA-hp3v-5vw7-fx9w)
    ("str-format", "return '{0.__class__.__mro__}'.format(this)", "AccessDenied", 'attribute "format" of str', 1),
    ("str-format-map", "return '{m.fetch}'.format_map({'m': this})", "AccessDenied", 'attribute "format_map"', 1),
    ("format-via-method-lookup", "f = 'x'.format\nreturn f", "AccessDenied", 'attribute "format" of str', 1),
    ("string-formatter", "return this.lodash.Formatter", "AccessDenied", "of lodash is not accessible", 1),
    # replacing the sandbox's own pieces
    ("replace-method", "this.echo = lambda p: p", "AccessDenied", "this.echo cannot be replaced", 1),
    ("replace-helper", "this.lodash = None", "AccessDenied", "this.lodash cannot be replaced", 1),
    ("add-to-this", "this.backdoor = 1", "AccessDenied", "does not exist and cannot be added", 1),
    ("patch-helper", "this.lodash.get = None", "AccessDenied", "lodash cannot be modified", 1),
    ("patch-console", "console.log = None", "AccessDenied", "console cannot be modified", 1),
    ("patch-str-method", "x = 'a'\nx.upper = 1", "AccessDenied", "string cannot be modified", 2),
    # crossing back: only plain data leaves the sandbox
    ("return-function", "return {'f': lambda: 1}", "TypeError", "value.f is not plain data", None),
    ("return-this", "return this", "TypeError", "is not plain data", None),
    ("return-set", "return {1, 2}", "TypeError", "value is not plain data: <set>", None),
    ("return-huge-int", "return 2 ** 64", "TypeError", "integer too large", None),
    ("return-cycle", "a = []\na.append(a)\nreturn a", "TypeError", "nested too deeply", None),
    ("param-function", "return this.fetch(lambda: 1)", "TypeError", "parameters.url is not plain data", 1),
    ("param-nul-key", "return this.fetch('http://x', {'a\\0b': 1})", "TypeError", "key that cannot be stored", 1),
    ("member-becomes-function", "this.member = lambda: 1\nreturn 1", "TypeError", "member is not plain data", None),
    # exits that must not end a worker
    ("system-exit", "raise SystemExit(0)", "SystemExit", "use return", 1),
    ("keyboard-interrupt", "raise KeyboardInterrupt", "KeyboardInterrupt", "KeyboardInterrupt", 1),
    ("base-exception", "raise BaseException('bye')", "BaseException", "bye", 1),
    # wrong parameters to host methods
    ("fetch-url-type", "return this.fetch(42)", "ParamError", "'url' must be a string, got number", 1),
    ("fetch-options-type", "return this.fetch('http://example.com', 'POST')", "ParamError", "'options' must be an object, got string", 1),
    ("method-not-a-dict", "return this.echo('m1')", "ParamError", "takes one object of parameters", 1),
    ("fetch-bad-method", "return this.fetch('http://example.com', {'method': 'TRACE'})", "ParamError", "method must be one of", 1),
]


@pytest.mark.parametrize(("source", "kind", "fragment", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_stopped_at_run_time(attempt, source, kind, fragment, line):
    refused(attempt(source), kind, fragment, line)


def test_errors_carry_no_host_details(attempt):
    result = attempt("this.fetch.nothing")
    text = str(result.error)
    assert " at 0x" not in text
    assert "/" not in result.error["message"]
    assert "noderuntime" not in text and "sandbox" not in text
