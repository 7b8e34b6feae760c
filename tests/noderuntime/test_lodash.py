"""``this.lodash``: lodash's documented behaviour over plain data, and the
refusals that keep a hostile script from using it to get around the guards."""

from __future__ import annotations

import datetime
import inspect
import math
import types
from typing import Any

import pytest

from noderuntime.lodash import MAX_ITEMS, Lodash
from sandbox.errors import ScriptError
from sandbox.guards import JSObject, Namespace, guarded_getattr
from sandbox.inprocess import InProcessRunner
from sandbox.policy import compile_uncached
from sandbox.runner import RunContext, RunLimits

lo = Lodash()


def refused(kind: str, call: Any, *args: Any, fragment: str = "", **kwargs: Any) -> ScriptError:
    """``call(*args)`` raises a ScriptError of ``kind`` whose message has ``fragment``."""
    with pytest.raises(ScriptError) as info:
        call(*args, **kwargs)
    assert info.value.kind == kind, info.value.message
    assert fragment in info.value.message
    return info.value


class Thing:
    """A host object with an attribute a path must never reach."""

    secret = "host attribute"


def users() -> list[dict[str, Any]]:
    return [
        {"user": "fred", "age": 48},
        {"user": "barney", "age": 36},
        {"user": "fred", "age": 40},
        {"user": "barney", "age": 34},
    ]


# --------------------------------------------------------------- paths


def test_get_reads_paths_like_lodash():
    obj = {"a": [{"b": {"c": 3}}]}
    assert lo.get(obj, "a[0].b.c") == 3
    assert lo.get(obj, ["a", "0", "b", "c"]) == 3
    assert lo.get(obj, "a.b.c", "default") == "default"
    assert lo.get(obj, "a.0.b.c") == 3
    assert lo.get(None, "a", "fallback") == "fallback"
    assert lo.get({"a": None}, "a", "fallback") is None  # a key holding None exists
    assert lo.get({"a.b": 1}, "a.b") == 1  # a literal key wins, as lodash isKey
    assert lo.get({"a": {"b.c": 2}}, 'a["b.c"]') == 2
    assert lo.get({"a": [1, 2, 3]}, "a.length") == 3
    assert lo.get([10, 20], 1) == 20
    assert lo.get([10, 20], -1, "none") == "none"  # no Python negative indexing
    assert lo.get({"a": 1}, [], "empty path") == "empty path"


def test_set_creates_missing_objects_and_arrays_and_returns_the_object():
    obj = {"a": [{"b": {"c": 3}}]}
    assert lo.set(obj, "a[0].b.c", 4) is obj
    assert obj["a"][0]["b"]["c"] == 4
    lo.set(obj, ["x", "0", "y", "z"], 5)
    assert obj["x"] == [{"y": {"z": 5}}]
    assert lo.set({}, "a[0].b.c", 4) == {"a": [{"b": {"c": 4}}]}
    assert lo.set({"a": 1}, "a.b", 2) == {"a": {"b": 2}}  # a scalar on the way is replaced
    assert lo.set([], "[2]", "x") == [None, None, "x"]
    assert lo.set(None, "a", 1) is None
    assert lo.set("text", "a", 1) == "text"


def test_set_on_context_data_keeps_it_js_like():
    member = JSObject(botMeta=JSObject())
    lo.set(member, "botMeta.tempData.userInfo", {"id": 1})
    assert member == {"botMeta": {"tempData": {"userInfo": {"id": 1}}}}
    assert type(member["botMeta"]["tempData"]) is JSObject


def test_has_unset_update():
    obj = {"a": {"b": 2}}
    assert lo.has(obj, "a") is True
    assert lo.has(obj, "a.b") is True
    assert lo.has(obj, ["a", "b"]) is True
    assert lo.has(obj, "a.c") is False
    assert lo.has(None, "a") is False

    doc = {"a": [{"b": {"c": 7}}]}
    assert lo.unset(doc, "a[0].b.c") is True
    assert doc == {"a": [{"b": {}}]}
    assert lo.unset(doc, ["a", "0", "b", "c"]) is True
    assert lo.unset(doc, "x.y.z") is True

    data = {"a": [{"b": {"c": 3}}]}
    assert lo.update(data, "a[0].b.c", lambda n: n * n) is data
    assert data["a"][0]["b"]["c"] == 9
    assert lo.update({}, "x[0].y.z", lambda n: 0 if n is None else n) == {"x": [{"y": {"z": 0}}]}


def test_pick_and_omit():
    obj = {"a": 1, "b": "2", "c": 3}
    assert lo.pick(obj, ["a", "c"]) == {"a": 1, "c": 3}
    assert lo.pick(obj, "a", "c") == {"a": 1, "c": 3}
    assert lo.pick({"a": {"b": 1, "c": 2}}, "a.b") == {"a": {"b": 1}}
    assert lo.pick(obj, "missing") == {}
    assert lo.omit(obj, ["a", "c"]) == {"b": "2"}
    assert obj == {"a": 1, "b": "2", "c": 3}

    nested = {"a": {"b": 1, "c": {"d": 1, "e": 2}}, "f": [1]}
    result = lo.omit(nested, "a.c.d")
    assert result == {"a": {"b": 1, "c": {"e": 2}}, "f": [1]}
    assert nested["a"]["c"] == {"d": 1, "e": 2}  # the original is untouched


def test_pick_by_and_omit_by():
    obj = {"a": 1, "b": "2", "c": 3}
    assert lo.pickBy(obj, lambda value: isinstance(value, int)) == {"a": 1, "c": 3}
    assert lo.omitBy(obj, lambda value: isinstance(value, int)) == {"b": "2"}


# --------------------------------------------------------------- objects


def test_merge_deep_merges_in_place():
    obj = {"a": [{"b": 2}, {"d": 4}]}
    other = {"a": [{"c": 3}, {"e": 5}]}
    assert lo.merge(obj, other) is obj
    assert obj == {"a": [{"b": 2, "c": 3}, {"d": 4, "e": 5}]}

    source = {"x": {"y": [1]}}
    target = lo.merge({}, source, {"z": None})
    assert target == {"x": {"y": [1]}, "z": None}
    source["x"]["y"].append(2)
    assert target["x"]["y"] == [1]  # sources are copied, not shared


def test_assign_defaults_and_defaults_deep():
    assert lo.assign({"a": 0}, {"a": 1}, None, {"b": 2}) == {"a": 1, "b": 2}
    assert lo.defaults({"a": 1}, {"b": 2}, {"a": 3}) == {"a": 1, "b": 2}
    assert lo.defaults({"a": None}, {"a": 3}) == {"a": None}
    assert lo.defaultsDeep({"a": {"b": 2}}, {"a": {"b": 1, "c": 3}}) == {"a": {"b": 2, "c": 3}}


def test_clone_and_clone_deep():
    objects = [{"a": 1}, {"b": 2}]
    shallow = lo.clone(objects)
    assert shallow == objects and shallow is not objects and shallow[0] is objects[0]
    deep = lo.cloneDeep(objects)
    assert deep == objects and deep[0] is not objects[0]

    shared = {"k": 1}
    copy = lo.cloneDeep({"x": shared, "y": shared})
    assert copy["x"] is copy["y"] and copy["x"] is not shared
    assert type(lo.cloneDeep(JSObject(a=JSObject(b=1)))["a"]) is JSObject
    when = datetime.datetime(2020, 9, 30, 16, 0)
    assert lo.cloneDeep({"at": when}) == {"at": when}


def test_is_empty_and_is_equal():
    assert lo.isEmpty(None) and lo.isEmpty(True) and lo.isEmpty(1)
    assert lo.isEmpty([]) and lo.isEmpty({}) and lo.isEmpty("")
    assert not lo.isEmpty([1, 2, 3]) and not lo.isEmpty({"a": 1}) and not lo.isEmpty("abc")

    obj, other = {"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}
    assert lo.isEqual(obj, other) and obj is not other
    assert not lo.isEqual({"a": 1}, {"a": 1, "b": None})
    assert not lo.isEqual(1, True)  # lodash: a number is not a boolean
    assert lo.isEqual(1, 1.0)
    assert lo.isEqual(math.nan, math.nan)
    assert lo.isEqual(JSObject(a=[1]), {"a": (1,)})


def test_keys_values_entries_pairs():
    assert lo.keys({"a": 1, "b": 2}) == ["a", "b"]
    assert lo.keys([5, 6]) == ["0", "1"]
    assert lo.keys(None) == []
    assert lo.values({"a": 1, "b": 2}) == [1, 2]
    assert lo.values("hi") == ["h", "i"]
    assert lo.toPairs({"a": 1, "b": 2}) == [["a", 1], ["b", 2]]
    assert lo.entries({"a": 1}) == [["a", 1]]
    assert lo.fromPairs([["a", 1], ["b", 2]]) == {"a": 1, "b": 2}
    assert lo.fromPairs([[1, "one"]]) == {"1": "one"}
    assert lo.zipObject(["a", "b"], [1, 2]) == {"a": 1, "b": 2}
    assert lo.invert({"a": 1, "b": 2, "c": 1}) == {"1": "c", "2": "b"}


def test_map_values_map_keys_find_key():
    ages = {"fred": {"user": "fred", "age": 40}, "pebbles": {"user": "pebbles", "age": 1}}
    assert lo.mapValues(ages, lambda o: o["age"]) == {"fred": 40, "pebbles": 1}
    assert lo.mapValues(ages, "age") == {"fred": 40, "pebbles": 1}
    assert lo.mapKeys({"a": 1, "b": 2}, lambda value, key: key + str(value)) == {"a1": 1, "b2": 2}
    people = {"barney": {"age": 36, "active": True}, "fred": {"age": 40, "active": False}}
    assert lo.findKey(people, lambda o: o["age"] < 40) == "barney"
    assert lo.findKey(people, {"age": 40}) == "fred"
    assert lo.findKey(people, "missing") is None


# ----------------------------------------------------------- collections


def test_group_by_key_by_count_by_partition():
    assert lo.groupBy([6.1, 4.2, 6.3], math.floor) == {"6": [6.1, 6.3], "4": [4.2]}
    assert lo.groupBy(["one", "two", "three"], "length") == {"3": ["one", "two"], "5": ["three"]}
    teams = [{"n": "a", "team": "red"}, {"n": "b", "team": "blue"}, {"n": "c", "team": "red"}]
    assert lo.groupBy(teams, "team") == {"red": [teams[0], teams[2]], "blue": [teams[1]]}

    array = [{"dir": "left", "code": 97}, {"dir": "right", "code": 100}]
    assert lo.keyBy(array, lambda o: chr(o["code"])) == {"a": array[0], "d": array[1]}
    assert lo.keyBy(array, "dir") == {"left": array[0], "right": array[1]}

    assert lo.countBy([6.1, 4.2, 6.3], math.floor) == {"6": 2, "4": 1}
    assert lo.countBy(["one", "two", "three"], "length") == {"3": 2, "5": 1}

    people = [{"user": "barney", "active": False}, {"user": "fred", "active": True}]
    assert lo.partition(people, "active") == [[people[1]], [people[0]]]
    assert lo.partition([1, 2, 3, 4], lambda n: n % 2) == [[1, 3], [2, 4]]


def test_sort_by_is_stable_and_takes_shorthands():
    expected = ["barney 34", "barney 36", "fred 40", "fred 48"]
    assert [f"{u['user']} {u['age']}" for u in lo.sortBy(users(), ["user", "age"])] == expected
    assert [f"{u['user']} {u['age']}" for u in lo.sortBy(users(), "user", "age")] == expected
    by_user = lo.sortBy(users(), [lambda o: o["user"]])
    assert [u["age"] for u in by_user] == [36, 34, 48, 40]  # stable within a user
    assert lo.sortBy([3, None, 1, 2]) == [1, 2, 3, None]


def test_order_by_with_directions():
    ordered = lo.orderBy(users(), ["user", "age"], ["asc", "desc"])
    assert [f"{u['user']} {u['age']}" for u in ordered] == ["barney 36", "barney 34", "fred 48", "fred 40"]
    ordered = lo.orderBy(users(), "age", "desc")
    assert [u["age"] for u in ordered] == [48, 40, 36, 34]
    rows = [{"a": None}, {"a": 2}, {"a": 1}]
    assert lo.orderBy(rows, "a") == [{"a": 1}, {"a": 2}, {"a": None}]
    assert lo.orderBy(rows, "a", ["desc"]) == [{"a": None}, {"a": 2}, {"a": 1}]
    refused("ParamError", lo.orderBy, rows, "a", ["DESC"], fragment='"DESC"')


def test_map_filter_reject():
    assert lo.map([4, 8], lambda n: n * n) == [16, 64]
    assert lo.map({"a": 4, "b": 8}, lambda n: n * n) == [16, 64]
    assert lo.map([{"user": "barney"}, {"user": "fred"}], "user") == ["barney", "fred"]
    assert lo.map([[1, 2], [3, 4]], 0) == [1, 3]
    assert lo.map("ab", lambda char, index: char * (index + 1)) == ["a", "bb"]
    assert lo.map(None, lambda n: n) == []

    people = [{"user": "barney", "age": 36, "active": True}, {"user": "fred", "age": 40, "active": False}]
    assert lo.filter(people, lambda o: not o["active"]) == [people[1]]
    assert lo.filter(people, {"age": 36, "active": True}) == [people[0]]
    assert lo.filter(people, ["active", False]) == [people[1]]
    assert lo.filter(people, "active") == [people[0]]
    assert lo.reject(people, "active") == [people[1]]
    assert lo.filter([0, 1, "", "a", [], {}], None) == [1, "a", [], {}]  # JS truthiness


def test_find_and_find_index():
    people = [
        {"user": "barney", "age": 36, "active": True},
        {"user": "fred", "age": 40, "active": False},
        {"user": "pebbles", "age": 1, "active": True},
    ]
    assert lo.find(people, lambda o: o["age"] < 40) is people[0]
    assert lo.find(people, {"age": 1, "active": True}) is people[2]
    assert lo.find(people, ["active", False]) is people[1]
    assert lo.find(people, "active") is people[0]
    assert lo.find(people, {"age": 99}) is None
    assert lo.findLast([1, 2, 3, 4], lambda n: n % 2 == 1) == 3

    flags = [
        {"user": "barney", "active": False},
        {"user": "fred", "active": False},
        {"user": "pebbles", "active": True},
    ]
    assert lo.findIndex(flags, lambda o: o["user"] == "barney") == 0
    assert lo.findIndex(flags, {"user": "fred", "active": False}) == 1
    assert lo.findIndex(flags, ["active", False]) == 0
    assert lo.findIndex(flags, "active") == 2
    assert lo.findIndex(flags, {"user": "nobody"}) == -1
    assert lo.findLastIndex(flags, ["active", False]) == 1


def test_reduce_some_every_includes_for_each():
    assert lo.reduce([1, 2], lambda total, n: total + n, 0) == 3
    assert lo.reduce([1, 2, 3], lambda total, n: total + n) == 6
    assert lo.reduce([], lambda total, n: total + n) is None

    def by_value(result, value, key):
        result.setdefault(str(value), []).append(key)
        return result

    assert lo.reduce({"a": 1, "b": 2, "c": 1}, by_value, {}) == {"1": ["a", "c"], "2": ["b"]}

    assert lo.some([None, 0, "yes", False], bool) is True
    assert lo.some([{"user": "barney", "active": True}], {"user": "barney", "active": False}) is False
    assert lo.every([True, 1, None, "yes"], bool) is False
    assert lo.every([{"active": False}, {"active": False}], ["active", False]) is True
    assert lo.every([], "x") is True

    assert lo.includes([1, 2, 3], 1) is True
    assert lo.includes([1, 2, 3], 1, 2) is False
    assert lo.includes({"a": 1, "b": 2}, 1) is True
    assert lo.includes("abcd", "bc") is True
    assert lo.includes([math.nan], math.nan) is True
    assert lo.includes([1], True) is False

    seen = []
    assert lo.forEach([1, 2, 3], lambda n: seen.append(n) or n != 2) == [1, 2, 3]
    assert seen == [1, 2]  # returning False stops early
    pairs = []
    lo.each({"a": 1, "b": 2}, lambda value, key: pairs.append((key, value)))
    assert pairs == [("a", 1), ("b", 2)]


# ---------------------------------------------------------------- arrays


def test_uniq_family():
    assert lo.uniq([2, 1, 2]) == [2, 1]
    assert lo.uniq([1, 1.0, True, "1"]) == [1, True, "1"]  # SameValueZero, not Python ==
    assert lo.uniqBy([2.1, 1.2, 2.3], math.floor) == [2.1, 1.2]
    assert lo.uniqBy([{"x": 1}, {"x": 2}, {"x": 1}], "x") == [{"x": 1}, {"x": 2}]
    assert lo.uniqWith([{"x": 1}, {"x": 2}, {"x": 1}], lo.isEqual) == [{"x": 1}, {"x": 2}]


def test_chunk_flatten_and_set_operations():
    assert lo.chunk(["a", "b", "c", "d"], 2) == [["a", "b"], ["c", "d"]]
    assert lo.chunk(["a", "b", "c", "d"], 3) == [["a", "b", "c"], ["d"]]
    assert lo.chunk([1, 2], 0) == []
    assert lo.flatten([1, [2, [3, [4]], 5]]) == [1, 2, [3, [4]], 5]
    assert lo.flattenDeep([1, [2, [3, [4]], 5]]) == [1, 2, 3, 4, 5]
    assert lo.flattenDepth([1, [2, [3, [4]], 5]], 2) == [1, 2, 3, [4], 5]
    assert lo.difference([2, 1], [2, 3]) == [1]
    assert lo.intersection([2, 1], [2, 3]) == [2]
    assert lo.union([2], [1, 2]) == [2, 1]
    assert lo.without([2, 1, 2, 3], 1, 2) == [3]
    assert lo.compact([0, 1, False, 2, "", 3, None]) == [1, 2, 3]
    assert lo.concat([1], 2, [3], [[4]]) == [1, 2, 3, [4]]


def test_slicing_helpers():
    assert lo.take([1, 2, 3]) == [1]
    assert lo.take([1, 2, 3], 2) == [1, 2]
    assert lo.take([1, 2, 3], 0) == []
    assert lo.takeRight([1, 2, 3], 2) == [2, 3]
    assert lo.takeRight([1, 2, 3], 0) == []
    assert lo.drop([1, 2, 3]) == [2, 3]
    assert lo.drop([1, 2, 3], 5) == []
    assert lo.dropRight([1, 2, 3], 2) == [1]
    assert lo.head([1, 2, 3]) == 1 and lo.first([]) is None
    assert lo.last([1, 2, 3]) == 3 and lo.last([]) is None
    assert lo.nth(["a", "b", "c", "d"], 1) == "b"
    assert lo.nth(["a", "b", "c", "d"], -2) == "c"
    assert lo.initial([1, 2, 3]) == [1, 2]
    assert lo.tail([1, 2, 3]) == [2, 3]
    assert lo.indexOf([1, 2, 1, 2], 2) == 1
    assert lo.indexOf([1, 2, 1, 2], 2, 2) == 3
    assert lo.lastIndexOf([1, 2, 1, 2], 2) == 3
    assert lo.join(["a", "b", "c"], "~") == "a~b~c"
    assert lo.join([1, None, 2.0]) == "1,,2"


def test_zip_unzip_reverse_fill():
    assert lo.zip(["a", "b"], [1, 2], [True, False]) == [["a", 1, True], ["b", 2, False]]
    assert lo.unzip([["a", 1, True], ["b", 2, False]]) == [["a", "b"], [1, 2], [True, False]]
    array = [1, 2, 3]
    assert lo.reverse(array) is array and array == [3, 2, 1]
    filled = [1, 2, 3]
    assert lo.fill(filled, "a") is filled and filled == ["a", "a", "a"]
    assert lo.fill([4, 6, 8, 10], "*", 1, 3) == [4, "*", "*", 10]


def test_range_and_times():
    assert lo.range(4) == [0, 1, 2, 3]
    assert lo.range(-4) == [0, -1, -2, -3]
    assert lo.range(1, 5) == [1, 2, 3, 4]
    assert lo.range(0, 20, 5) == [0, 5, 10, 15]
    assert lo.range(0, -4, -1) == [0, -1, -2, -3]
    assert lo.range(1, 4, 0) == [1, 1, 1]
    assert lo.range(0) == []
    assert lo.range(0, 1, 0.25) == [0, 0.25, 0.5, 0.75]
    assert len(lo.range(MAX_ITEMS)) == MAX_ITEMS
    assert lo.times(3, str) == ["0", "1", "2"]
    assert lo.times(4) == [0, 1, 2, 3]
    assert lo.times(-1) == []


# ------------------------------------------------------------------ math


def test_sums_means_and_extremes():
    objects = [{"n": 4}, {"n": 2}, {"n": 8}, {"n": 6}]
    assert lo.sum([4, 2, 8, 6]) == 20
    assert lo.sum([]) == 0
    assert lo.sumBy(objects, lambda o: o["n"]) == 20
    assert lo.sumBy(objects, "n") == 20
    assert lo.mean([4, 2, 8, 6]) == 5
    assert lo.meanBy(objects, "n") == 5
    assert math.isnan(lo.mean([]))
    assert lo.max([4, 2, 8, 6]) == 8
    assert lo.max([]) is None
    assert lo.max([1, None, math.nan, 3]) == 3
    assert lo.min([4, 2, 8, 6]) == 2
    assert lo.maxBy(objects, lambda o: o["n"]) is objects[2]
    assert lo.maxBy(objects, "n") is objects[2]
    assert lo.minBy(objects, "n") is objects[1]
    refused("ParamError", lo.sum, [1, "2"], fragment="expects numbers")


def test_rounding_and_ranges():
    assert lo.round(4.006) == 4
    assert lo.round(4.006, 2) == 4.01
    assert lo.round(4060, -2) == 4100
    assert lo.round(1.005, 2) == 1.01
    assert lo.round(-2.5) == -2
    assert lo.floor(4.006) == 4 and lo.floor(0.046, 2) == 0.04 and lo.floor(4060, -2) == 4000
    assert lo.ceil(4.006) == 5 and lo.ceil(6.004, 2) == 6.01 and lo.ceil(6040, -2) == 6100
    assert lo.clamp(-10, -5, 5) == -5
    assert lo.clamp(10, -5, 5) == 5
    assert lo.clamp(10, 5) == 5
    assert lo.inRange(3, 2, 4) is True
    assert lo.inRange(4, 8) is True
    assert lo.inRange(4, 2) is False
    assert lo.inRange(2, 2) is False
    assert lo.inRange(-3, -2, -6) is True


# --------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("camelCase", "Foo Bar", "fooBar"),
        ("camelCase", "--foo-bar--", "fooBar"),
        ("camelCase", "__FOO_BAR__", "fooBar"),
        ("kebabCase", "Foo Bar", "foo-bar"),
        ("kebabCase", "fooBar", "foo-bar"),
        ("kebabCase", "__FOO_BAR__", "foo-bar"),
        ("snakeCase", "Foo Bar", "foo_bar"),
        ("snakeCase", "fooBar", "foo_bar"),
        ("snakeCase", "--FOO-BAR--", "foo_bar"),
        ("startCase", "--foo-bar--", "Foo Bar"),
        ("startCase", "fooBar", "Foo Bar"),
        ("startCase", "__FOO_BAR__", "FOO BAR"),
        ("lowerCase", "--Foo-Bar--", "foo bar"),
        ("upperCase", "fooBar", "FOO BAR"),
        ("capitalize", "FRED", "Fred"),
        ("upperFirst", "fred", "Fred"),
        ("lowerFirst", "Fred", "fred"),
        ("toUpper", "--foo-bar--", "--FOO-BAR--"),
        ("toLower", "--Foo-Bar--", "--foo-bar--"),
        ("deburr", "déjà vu", "deja vu"),
        ("escape", "fred, barney, & pebbles", "fred, barney, &amp; pebbles"),
        ("unescape", "fred, barney, &amp; pebbles", "fred, barney, & pebbles"),
        ("trim", "  abc  ", "abc"),
        ("trimStart", "  abc  ", "abc  "),
        ("trimEnd", "  abc  ", "  abc"),
        ("camelCase", None, ""),
    ],
)
def test_string_conversions(name, text, expected):
    assert getattr(lo, name)(text) == expected


def test_padding_trimming_and_repeating():
    assert lo.trim("-_-abc-_-", "_-") == "abc"
    assert lo.padStart("abc", 6) == "   abc"
    assert lo.padStart("abc", 6, "_-") == "_-_abc"
    assert lo.padStart("abc", 2) == "abc"
    assert lo.padEnd("abc", 6) == "abc   "
    assert lo.padEnd("abc", 6, "_-") == "abc_-_"
    assert lo.pad("abc", 8) == "  abc   "
    assert lo.pad("abc", 8, "_-") == "_-abc_-_"
    assert lo.repeat("*", 3) == "***"
    assert lo.repeat("abc", 2) == "abcabc"
    assert lo.repeat("abc", 0) == ""
    assert len(lo.repeat("a", MAX_ITEMS)) == MAX_ITEMS


def test_truncate():
    text = "hi-diddly-ho there, neighborino"
    assert lo.truncate(text) == "hi-diddly-ho there, neighbo..."
    assert len(lo.truncate(text)) == 30
    assert lo.truncate(text, {"length": 24, "separator": " "}) == "hi-diddly-ho there,..."
    assert lo.truncate(text, {"omission": " [...]"}) == "hi-diddly-ho there, neig [...]"
    assert lo.truncate(text, length=10) == "hi-didd..."
    assert lo.truncate("short") == "short"
    assert lo.truncate(text, {"length": 12, "separator": "#"}) == "hi-diddly..."  # absent separator: plain cut
    refused("ParamError", lo.truncate, text, {"lenght": 10}, fragment="unknown option")


def test_other_string_helpers():
    assert lo.startsWith("abc", "a") is True
    assert lo.startsWith("abc", "b") is False
    assert lo.startsWith("abc", "b", 1) is True
    assert lo.endsWith("abc", "c") is True
    assert lo.endsWith("abc", "b", 2) is True
    assert lo.split("a-b-c", "-", 2) == ["a", "b"]
    assert lo.split("abc", "") == ["a", "b", "c"]
    assert lo.words("fred, barney, & pebbles") == ["fred", "barney", "pebbles"]


# ------------------------------------------------------------------ lang


def test_type_predicates():
    assert lo.isArray([1, 2, 3]) and not lo.isArray("abc") and not lo.isArray({"a": 1})
    assert lo.isObject({}) and lo.isObject([1, 2, 3]) and lo.isObject(len) and not lo.isObject(None)
    assert lo.isPlainObject({"x": 0}) and not lo.isPlainObject([1]) and not lo.isPlainObject(Namespace("this"))
    assert lo.isString("abc") and not lo.isString(1)
    assert lo.isNumber(3) and lo.isNumber(3.5) and lo.isNumber(math.nan) and not lo.isNumber("3")
    assert not lo.isNumber(True)
    assert lo.isInteger(3) and lo.isInteger(3.0) and not lo.isInteger(3.5) and not lo.isInteger(True)
    assert lo.isBoolean(False) and not lo.isBoolean(0)
    assert lo.isNil(None) and lo.isNull(None) and lo.isUndefined(None) and not lo.isNil(0)
    assert lo.isFunction(len) and lo.isFunction(lambda: 1) and lo.isFunction(lo.get) and not lo.isFunction({})
    assert lo.isNaN(math.nan) and not lo.isNaN(1)
    assert lo.isFinite(3) and not lo.isFinite(math.inf) and not lo.isFinite("3")
    assert lo.isDate(datetime.datetime(2020, 1, 1)) and not lo.isDate("2020-01-01")
    assert lo.isMatch({"a": 1, "b": 2}, {"b": 2}) and not lo.isMatch({"a": 1, "b": 2}, {"b": 1})
    assert lo.size([1, 2, 3]) == 3 and lo.size({"a": 1, "b": 2}) == 2 and lo.size("pebbles") == 7
    assert lo.size(None) == 0


def test_conversions():
    assert lo.castArray(1) == [1]
    assert lo.castArray([1, 2]) == [1, 2]
    assert lo.castArray(None) == [None]
    assert lo.castArray() == []
    assert lo.toString(None) == ""
    assert lo.toString(-0.0) == "-0"
    assert lo.toString([1, 2, 3]) == "1,2,3"
    assert lo.toString(1.0) == "1"
    assert lo.toString(True) == "true"
    assert lo.toNumber("3.2") == 3.2
    assert lo.toNumber(" 12 ") == 12
    assert lo.toNumber("") == 0
    assert lo.toNumber("0x1f") == 31
    assert math.isnan(lo.toNumber("abc"))
    assert math.isnan(lo.toNumber("1_000"))
    assert lo.toNumber(math.inf) == math.inf
    assert lo.toInteger("3.2") == 3
    assert lo.toInteger(math.nan) == 0
    assert lo.identity({"a": 1}) == {"a": 1}


def test_flat_map():
    assert lo.flatMap([1, 2], lambda n: [n, n]) == [1, 1, 2, 2]
    assert lo.flatMap({"a": [1], "b": 2}, lambda value: value) == [1, 2]


# ------------------------------------------------------------- callbacks


def test_callbacks_get_only_the_arguments_they_accept():
    def one(value):
        return value

    def two(value, index):
        return [value, index]

    def three(value, key, collection):
        return [value, key, len(collection)]

    def with_default(value, index=None, collection=None, extra="kept"):
        return [value, index, extra]

    def star(*args):
        return list(args)

    assert lo.map(["a"], one) == ["a"]
    assert lo.map(["a"], two) == [["a", 0]]
    assert lo.map({"k": "a"}, three) == [["a", "k", 1]]
    assert lo.map(["a"], with_default) == [["a", 0, "kept"]]
    assert lo.map(["a"], star) == [["a", 0, ["a"]]]
    assert lo.map(["a"], lambda: "none") == ["none"]
    assert lo.map([[1, 2], [3]], len) == [2, 1]
    assert lo.map([1, 2], str) == ["1", "2"]
    calls: list[tuple[Any, ...]] = []
    assert lo.sortBy([3, 1, 2], lambda *args: calls.append(args) or args[0]) == [1, 2, 3]
    assert calls == [(3,), (1,), (2,)]  # sort criteria get the value only
    assert lo.groupBy(["a", "bb"], star) == {"a": ["a"], "bb": ["bb"]}  # groupBy passes only the value


def test_callback_errors_reach_the_script_unchanged():
    mine = ValueError("the script's own error")

    def explode(value):
        raise mine

    with pytest.raises(ValueError) as info:
        lo.map([1], explode)
    assert info.value is mine
    with pytest.raises(ZeroDivisionError):
        lo.sortBy([1, 2], lambda n: n / 0)
    # A lodash error inside a callback keeps its own kind.
    refused("AccessDenied", lo.map, [{"a": 1}], lambda row: lo.get(row, "_hidden"), fragment="lodash.get")


# --------------------------------------------------- refusals: "_" paths


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get", ({"a": {}}, "__class__.__init__.__globals__")),
        ("get", ({}, ["__class__", "__mro__"])),
        ("get", ({"a": {}}, "a._secret")),
        ("get", ({"a": {"_secret": 1}}, 'a["_secret"]')),
        ("set", ({}, "__class__", 1)),
        ("set", ({}, "a._b", 1)),
        ("has", ({}, "__dict__")),
        ("unset", ({"_x": 1}, "_x")),
        ("update", ({}, "_x", lambda value: value)),
        ("pick", ({"_id": 1}, ["__class__"])),
        ("pick", ({"_id": 1}, "_secret")),
        ("omit", ({"_id": 1}, "_secret")),
        ("map", ([{"a": 1}], "__class__")),
        ("map", ([{"a": 1}], "a.__class__")),
        ("sortBy", ([{"a": 1}], "__class__.__name__")),
        ("sortBy", ([{"a": 1}], ["__class__"])),
        ("orderBy", ([{"a": 1}], ["_a"], ["desc"])),
        ("groupBy", ([{"a": 1}], "_a")),
        ("filter", ([{"a": 1}], ["_a", 1])),
        ("find", ([{"a": 1}], {"_a": 1})),
        ("find", ([{"a": 1}], {"a": {"_b": 1}})),
        ("isMatch", ({"a": 1}, {"__class__": 1})),
        ("sumBy", ([{"a": 1}], "_a")),
    ],
)
def test_underscore_path_segments_are_refused(name, args):
    refused("AccessDenied", getattr(lo, name), *args, fragment='"_')


# ------------------------------------------------ refusals: plain data only


HOSTILE = [
    pytest.param(object(), id="object-instance"),
    pytest.param(types, id="module"),
    pytest.param(math, id="builtin-module"),
    pytest.param(Thing(), id="class-instance"),
    pytest.param(Thing, id="class"),
    pytest.param(len, id="builtin-function"),
    pytest.param(lambda: 1, id="function"),
    pytest.param(lo, id="helper-object"),
    pytest.param({1, 2}, id="set"),
    pytest.param(b"bytes", id="bytes"),
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    ("name", "make_args"),
    [
        ("get", lambda v: (v, "secret")),
        ("has", lambda v: (v, "secret")),
        ("set", lambda v: (v, "secret", 1)),
        ("pick", lambda v: (v, "secret")),
        ("omit", lambda v: (v, "secret")),
        ("keys", lambda v: (v,)),
        ("values", lambda v: (v,)),
        ("toPairs", lambda v: (v,)),
        ("map", lambda v: (v, "secret")),
        ("filter", lambda v: (v, None)),
        ("forEach", lambda v: (v, lambda x: x)),
        ("groupBy", lambda v: (v, None)),
        ("sortBy", lambda v: (v,)),
        ("size", lambda v: (v,)),
        ("isEmpty", lambda v: (v,)),
        ("cloneDeep", lambda v: ({"nested": [v]},)),
        ("isEqual", lambda v: ({"nested": v}, {"nested": v})),
        ("merge", lambda v: ({}, v)),
        ("merge", lambda v: ({}, {"deep": {"er": v}})),
        ("flattenDeep", lambda v: (v,)),
        ("uniq", lambda v: (v,)),
        ("camelCase", lambda v: (v,)),
        ("toString", lambda v: ([1, [v]],)),
    ],
)
def test_non_plain_data_is_refused(name, make_args, value):
    refused("ParamError", getattr(lo, name), *make_args(value), fragment="plain data")


def test_paths_never_walk_host_attributes():
    refused("ParamError", lo.get, {"a": Thing()}, "a.secret", fragment="plain data")
    refused("ParamError", lo.map, [Thing()], "secret", fragment="plain data")
    refused("ParamError", lo.sortBy, [{"t": Thing()}], "t.secret", fragment="plain data")
    refused("ParamError", lo.set, {"a": len}, "a.b", 1, fragment="plain data")
    assert lo.get({"a": 1}, "a.real", "missing") == "missing"
    assert lo.get({"s": "text"}, "s.upper", "missing") == "missing"


def test_this_is_neither_data_nor_writable():
    this = Namespace("this")
    this["member"] = JSObject(name="ann")
    refused("AccessDenied", lo.set, this, "member.name", "bob", fragment="cannot be modified")
    refused("AccessDenied", lo.merge, this, {"x": 1}, fragment="cannot be modified")
    refused("AccessDenied", lo.assign, this, {"x": 1})
    refused("ParamError", lo.get, this, "member", fragment="not this")
    refused("ParamError", lo.map, this, None, fragment="not this")
    refused("ParamError", lo.cloneDeep, {"t": this}, fragment="not this")
    assert this["member"] == {"name": "ann"}


def test_bad_arguments_are_param_errors():
    refused("ParamError", lo.get, {}, None, fragment="path")
    refused("ParamError", lo.get, {}, 1.5, fragment="path")
    refused("ParamError", lo.map, [1], 3.5, fragment="iteratee")
    refused("ParamError", lo.filter, [1], ["a", 1, 2], fragment="two items")
    refused("ParamError", lo.chunk, [1], "2", fragment="number")
    refused("ParamError", lo.words, "abc", "[a-z]+", fragment="pattern")
    refused("ParamError", lo.truncate, "abc", {"separator": 5}, fragment="separator")
    refused("ParamError", lo.times, 3, "not a function", fragment="function")
    refused("ParamError", lo.reverse, (1, 2), fragment="tuple")
    refused("ParamError", lo.get, fragment="missing")
    refused("ParamError", lo.cloneDeep, {(1, 2): "tuple key"}, fragment="keys must be strings")


def test_cyclic_data_is_refused():
    loop: list[Any] = []
    loop.append(loop)
    ring: dict[str, Any] = {}
    ring["self"] = ring
    refused("ParamError", lo.flattenDeep, loop, fragment="contains itself")
    refused("ParamError", lo.cloneDeep, ring, fragment="contains itself")
    refused("ParamError", lo.isEqual, ring, ring, fragment="contains itself")
    refused("ParamError", lo.merge, {}, ring, fragment="contains itself")


def test_too_deep_data_is_refused():
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(150):
        cursor["a"] = {}
        cursor = cursor["a"]
    refused("RangeError", lo.cloneDeep, deep, fragment="levels deep")
    refused("RangeError", lo.isEqual, deep, deep, fragment="levels deep")


# ------------------------------------------------------- refusals: sizes


def shared_bomb() -> list[Any]:
    """60 levels of a list holding the same list twice: 2**60 items when expanded."""
    bomb: list[Any] = [1]
    for _ in range(60):
        bomb = [bomb, bomb]
    return bomb


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("range", (10**9,)),
        ("range", (MAX_ITEMS + 1,)),
        ("range", (0, 1, 1e-9)),
        ("times", (10**9, lambda i: i)),
        ("times", (MAX_ITEMS + 1,)),
        ("repeat", ("ab", MAX_ITEMS // 2 + 1)),
        ("repeat", ("a", 10**12)),
        ("padStart", ("a", 10**9)),
        ("padEnd", ("a", MAX_ITEMS + 1)),
        ("pad", ("a", 10**9, "xyz")),
        ("chunk", ([0] * (MAX_ITEMS + 1), 2)),
        ("fill", ([0] * (MAX_ITEMS + 1), 1)),
        ("set", ({}, "a[5000000]", 1)),
        ("zip", ([0] * 600_000, [0] * 600_000)),
        ("flattenDeep", (shared_bomb(),)),
        ("flatten", ([[0] * 1000] * 1001,)),
        ("cloneDeep", (shared_bomb(),)),
        ("isEqual", (shared_bomb(), shared_bomb())),
        ("toString", (shared_bomb(),)),
        ("join", (["x" * 1000] * 1001,)),
    ],
)
def test_oversized_results_are_refused(name, args):
    refused("RangeError", getattr(lo, name), *args, fragment="limit")


def test_infinite_ranges_are_refused():
    refused("RangeError", lo.range, 0, math.inf, fragment="finite")
    refused("RangeError", lo.range, math.inf, fragment="finite")


# ------------------------------------------------------- what is exposed


NEVER_EXPOSED = [
    "template", "templateSettings", "invoke", "invokeMap", "method", "methodOf", "bind", "bindAll", "bindKey",
    "mixin", "runInContext", "attempt", "iteratee", "property", "propertyOf", "result", "chain", "tap", "thru",
    "flow", "flowRight", "noConflict", "replace", "conforms", "overArgs", "partial", "curry", "memoize",
    "_merge_into", "_flatten", "__class__", "__init__", "__dict__",
]  # fmt: skip


@pytest.mark.parametrize("name", NEVER_EXPOSED)
def test_dangerous_names_are_not_exposed(name):
    assert name not in Lodash.exposed
    with pytest.raises(ScriptError) as info:
        guarded_getattr(lo, name)
    assert info.value.kind == "AccessDenied"


REQUIRED = [
    "get", "set", "has", "pick", "omit", "merge", "cloneDeep", "isEmpty", "isEqual", "groupBy", "keyBy", "sortBy",
    "orderBy", "uniq", "uniqBy", "chunk", "flatten", "flattenDeep", "difference", "intersection", "union", "sum",
    "sumBy", "max", "min", "maxBy", "minBy", "map", "filter", "find", "findIndex", "reduce", "some", "every",
    "includes", "keys", "values", "entries", "toPairs", "fromPairs", "range", "times", "camelCase", "kebabCase",
    "snakeCase", "capitalize", "trim", "padStart", "padEnd", "truncate",
]  # fmt: skip


def test_required_names_are_exposed_and_callable_through_the_guard():
    missing = [name for name in REQUIRED if name not in Lodash.exposed]
    assert missing == []
    for name in Lodash.exposed:
        method = guarded_getattr(lo, name)
        assert callable(method), name
        assert inspect.getdoc(method), f"{name} has no docstring"


def test_every_public_attribute_is_listed_in_exposed():
    public = {name for name in dir(Lodash) if not name.startswith("_")}
    assert public - {"exposed", "script_name"} == set(Lodash.exposed)
    assert Lodash.script_name == "lodash"
    assert repr(lo) == "<lodash>"


# ----------------------------------------------- inside the real sandbox


def run_script(source: str, member: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``source`` with RestrictedPython and the real guards, ``this.lodash`` attached."""

    def setup(context: RunContext) -> dict[str, Any]:
        this = Namespace("this")
        this["member"] = context.data.get("member") or JSObject()
        this["lodash"] = lo
        return {"this": this}

    def no_methods(method: str, params: Any) -> dict[str, Any]:
        return {"op": "raise", "error": {"type": "UnknownMethod", "message": method}}

    return InProcessRunner(setup).run(compile_uncached(source), {"member": member or {}}, no_methods, RunLimits())


def test_restricted_script_functions_work_as_callbacks():
    source = """
def square(n):
    return n * n
rows = [{'n': 'a', 'v': 2}, {'n': 'b', 'v': 1}]
return {
    'mapped': this.lodash.map([1, 2, 3], square),
    'indexed': this.lodash.map([1, 2, 3], lambda n, i: n * i),
    'names': this.lodash.map(this.lodash.sortBy(rows, 'v'), 'n'),
    'total': this.lodash.reduce([1, 2, 3], lambda acc, n: acc + n, 0),
    'by': this.lodash.sumBy(rows, lambda row: row.v),
}
"""
    result = run_script(source)
    assert result["ok"], result["error"]
    assert result["value"] == {"mapped": [1, 4, 9], "indexed": [0, 2, 6], "names": ["b", "a"], "total": 6, "by": 3}


def test_restricted_script_sets_member_data():
    source = "this.lodash.set(this.member, 'botMeta.tempData.userInfo', {'id': 7})\nreturn this.member"
    result = run_script(source, {"botMeta": {}})
    assert result["ok"], result["error"]
    assert result["value"] == {"botMeta": {"tempData": {"userInfo": {"id": 7}}}}


@pytest.mark.parametrize(
    ("source", "kind", "fragment"),
    [
        ("return this.lodash.template('<%= x %>')", "AccessDenied", "of lodash is not accessible"),
        ("return this.lodash.get(this.member, '__class__.__init__.__globals__')", "AccessDenied", "__class__"),
        ("return this.lodash.get(this, 'lodash')", "ParamError", "plain data"),
        ("return this.lodash.range(10**9)", "RangeError", "limit"),
        ("return this.lodash.map([1], lambda n: n.real)", "AccessDenied", '"real"'),
    ],
)
def test_restricted_script_refusals(source, kind, fragment):
    result = run_script(source)
    assert not result["ok"]
    assert result["error"]["type"] == kind, result["error"]
    assert fragment in result["error"]["message"]
    assert result["error"]["line"] == 1


def test_document_ids_are_data_paths():
    lodash = Lodash()
    doc = {"_id": "m1", "_version": 2, "a": {"_id": "x"}}
    assert lodash.get(doc, "_id") == "m1"
    assert lodash.get(doc, "a._id") == "x"
    assert lodash.pick(doc, ["_id", "_version"]) == {"_id": "m1", "_version": 2}
    assert lodash.find([doc], {"_id": "m1"}) is doc
