"""Helper libraries must not become a way around the guards."""

from __future__ import annotations

import pytest

from tests.security.conftest import refused

GADGETS = [
    ("get-dunder-path", "return this.lodash.get(this.member, '__class__.__init__.__globals__')", "AccessDenied"),
    ("get-list-path", "return this.lodash.get({}, ['__class__', '__mro__'])", "AccessDenied"),
    ("get-private-segment", "return this.lodash.get({'a': {}}, 'a._secret')", "AccessDenied"),
    ("set-dunder", "return this.lodash.set(this.member, '__class__', 1)", "AccessDenied"),
    ("has-dunder", "return this.lodash.has(this.member, '__dict__')", "AccessDenied"),
    ("map-shorthand", "return this.lodash.map([{'a': 1}], '__class__')", "AccessDenied"),
    ("sortby-shorthand", "return this.lodash.sortBy([{'a': 1}], '__class__.__name__')", "AccessDenied"),
    ("get-on-helper", "return this.lodash.get(this.fetch, 'call')", "ParamError"),
    ("get-on-moment", "return this.lodash.get(this.moment(), 'dt')", "ParamError"),
    ("merge-helper", "return this.lodash.merge({}, this.lodash)", "ParamError"),
    ("pick-dunder", "return this.lodash.pick(this.member, ['__class__'])", "AccessDenied"),
    ("times-huge", "return this.lodash.times(10**9, lambda i: i)", "RangeError"),
    ("range-huge", "return this.lodash.range(10**9)", "RangeError"),
    ("pad-huge", "return this.lodash.padStart('a', 10**9)", "RangeError"),
]


@pytest.mark.parametrize(("source", "kind"), [g[1:] for g in GADGETS], ids=[g[0] for g in GADGETS])
def test_lodash_gadgets_are_refused(attempt, source, kind):
    refused(attempt(source), kind, "", 1)


def test_moment_format_is_not_str_format(attempt):
    # Moment tokens, not field names: nothing is looked up on any object.
    result = attempt("return this.moment().format('{0.__class__}')")
    assert result.ok, result.error
    assert result.value == "{0.__c9/30/2020pm00__}"


def test_moment_refuses_absurd_years(attempt):
    refused(attempt("return this.moment().add(10**6, 'years').valueOf()"), "RangeError", "", 1)
