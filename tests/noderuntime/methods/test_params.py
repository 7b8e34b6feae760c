"""Shared parameter validation: one wording for every method."""

from __future__ import annotations

import pytest

from noderuntime.errors import ParamError
from noderuntime.methods.params import param, validate

SCHEMA = {
    "memberId": param(str, required=True),
    "limit": param(int, default=20),
    "ratio": param(float),
    "filter": param(dict),
    "flag": param(bool, default=False),
}


def test_valid_parameters_with_defaults_filled_in():
    assert validate("m", SCHEMA, {"memberId": "a", "ratio": 2}) == {
        "memberId": "a",
        "limit": 20,
        "ratio": 2,
        "filter": None,
        "flag": False,
    }


def test_whole_floats_count_as_ints():
    assert validate("m", SCHEMA, {"memberId": "a", "limit": 5.0})["limit"] == 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "m: 'memberId' is required"),
        ({"memberId": None}, "m: 'memberId' is required"),
        ({"memberId": 1}, "m: 'memberId' must be a string, got number"),
        ({"memberId": "a", "limit": 1.5}, "m: 'limit' must be a number, got number"),
        ({"memberId": "a", "limit": True}, "m: 'limit' must be a number, got boolean"),
        ({"memberId": "a", "flag": 1}, "m: 'flag' must be a boolean, got number"),
        ({"memberId": "a", "filter": []}, "m: 'filter' must be an object, got array"),
        ({"memberId": "a", "memberID": "b"}, "m: unknown parameter 'memberID'; did you mean 'memberId'?"),
        ({"memberId": "a", "zzz": 1}, "m: unknown parameter 'zzz'; expected: memberId, limit, ratio, filter, flag"),
        ("a", "m: parameters must be an object, got string"),
    ],
)
def test_errors_name_the_method_and_the_parameter(params, message):
    with pytest.raises(ParamError) as caught:
        validate("m", SCHEMA, params)
    assert caught.value.message == message


def test_extra_check():
    schema = {"n": param(int, check=lambda v: None if v > 0 else "must be positive")}
    with pytest.raises(ParamError, match="m: 'n' must be positive"):
        validate("m", schema, {"n": 0})
