"""The member diff printed by noderuntime run."""

from __future__ import annotations

from bson.int64 import Int64

from noderuntime.diff import diff


def test_added_removed_and_changed_paths():
    before = {"botMeta": {"tempData": {"a": 1}, "subscribe": True}, "meta": {"x": 1}}
    after = {"botMeta": {"tempData": {"a": 2, "b": 3}, "subscribe": True}, "customLocale": "zh_HK"}
    assert diff(before, after) == [
        ("~", "botMeta.tempData.a", 1, 2),
        ("+", "botMeta.tempData.b", None, 3),
        ("-", "meta", {"x": 1}, None),
        ("+", "customLocale", None, "zh_HK"),
    ]


def test_int64_from_the_wire_is_not_a_change_but_bool_is():
    assert diff({"createdAt": 1577808000000}, {"createdAt": Int64(1577808000000)}) == []
    assert diff({"flag": 1}, {"flag": True}) == [("~", "flag", 1, True)]
