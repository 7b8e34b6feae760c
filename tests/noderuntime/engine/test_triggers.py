"""Trigger matching: which nodes are candidates, how each trigger type
matches, priority (lower first, ties at random), muted nodes, and conditions
(run only while they can still win; a failing one does not match and is
logged)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from noderuntime.engine.trees import Node, Tree, parse_tree
from noderuntime.engine.triggers import candidates, match, payload_of, simple_match, text_of
from tests.noderuntime.engine.conftest import APP, TREE, TREE2, mark, nid, payload, text

# Candidates -----------------------------------------------------------------------


def tree_of(tree_id: str, nodes: dict[str, dict[str, Any]]) -> Tree:
    return parse_tree({"_id": tree_id, "app": APP, "nodes": nodes})


def ids(nodes: list[Node]) -> list[str]:
    return [f"{'T1' if n.tree == TREE else 'T2'}/{n.id.rstrip('_')}" for n in nodes]


@pytest.fixture
def trees() -> dict[str, Tree]:
    one = tree_of(
        TREE,
        {
            nid("head1"): {"head": True},
            nid("q1"): {"parent": nid("head1")},
            nid("q2"): {"parent": nid("head1")},
            nid("q1a"): {"parent": nid("q1")},
            nid("help"): {"global": True},
            nid("menu"): {"global": True, "parent": nid("head1")},
            nid("loose"): {},
        },
    )
    two = tree_of(
        TREE2,
        {
            nid("head2"): {"head": True},
            nid("head2b"): {"head": True},
            nid("stop"): {},
            nid("t2global"): {"global": True},
        },
    )
    return {TREE: one, TREE2: two}


CHANNEL_DOC = {"trees": [TREE, TREE2], "globalNodes": [{"tree": TREE2, "nodeCompositeId": nid("stop")}]}


def test_candidates_are_the_children_the_tree_globals_and_the_channel_globals(trees):
    found = candidates(CHANNEL_DOC, trees, (TREE, nid("head1")))
    assert ids(found) == ["T1/q1", "T1/q2", "T1/menu", "T1/help", "T2/stop"]


def test_a_placed_member_is_not_offered_head_nodes_or_other_trees_globals(trees):
    found = ids(candidates(CHANNEL_DOC, trees, (TREE, nid("q1"))))
    assert found == ["T1/q1a", "T1/help", "T1/menu", "T2/stop"]
    assert not {"T1/head1", "T2/head2", "T2/head2b", "T2/t2global"} & set(found)


def test_a_member_at_a_leaf_has_only_globals(trees):
    assert ids(candidates(CHANNEL_DOC, trees, (TREE, nid("q1a")))) == ["T1/help", "T1/menu", "T2/stop"]


def test_the_tree_globals_follow_the_tree_the_member_is_in(trees):
    assert ids(candidates(CHANNEL_DOC, trees, (TREE2, nid("head2")))) == ["T2/t2global", "T2/stop"]


def test_a_new_member_starts_from_every_head_node_of_the_channel_and_the_channel_globals(trees):
    found = candidates(CHANNEL_DOC, trees, None)
    assert ids(found) == ["T1/head1", "T2/head2", "T2/head2b", "T2/stop"]


def test_a_position_that_is_gone_counts_as_no_position(trees):
    expected = ["T1/head1", "T2/head2", "T2/head2b", "T2/stop"]
    assert ids(candidates(CHANNEL_DOC, trees, (TREE, nid("deleted")))) == expected
    assert ids(candidates(CHANNEL_DOC, trees, ("7e00000000000000000000ff", nid("head1")))) == expected


def test_only_the_channels_trees_give_head_nodes(trees):
    channel = {"trees": [TREE2]}
    assert ids(candidates(channel, trees, None)) == ["T2/head2", "T2/head2b"]
    assert candidates({}, trees, None) == []


def test_a_node_reached_several_ways_is_a_candidate_once(trees):
    channel = {
        "trees": [TREE, TREE2],
        "globalNodes": [
            {"tree": TREE, "nodeCompositeId": nid("help")},  # also a global of the tree
            {"tree": TREE, "nodeCompositeId": nid("q1")},  # also a child
            {"tree": TREE, "nodeCompositeId": nid("help")},  # listed twice
            {"tree": TREE2, "nodeCompositeId": nid("head2")},  # also a head
        ],
    }
    placed = ids(candidates(channel, trees, (TREE, nid("head1"))))
    assert placed == ["T1/q1", "T1/q2", "T1/menu", "T1/help", "T2/head2"]
    assert len(placed) == len(set(placed))
    new = ids(candidates(channel, trees, None))
    assert new == ["T1/head1", "T2/head2", "T2/head2b", "T1/help", "T1/q1"]
    assert len(new) == len(set(new))


def test_channel_globals_that_are_gone_are_skipped(trees):
    channel = {
        "trees": [TREE],
        "globalNodes": [
            {"tree": TREE, "nodeCompositeId": nid("deleted")},
            {"tree": "7e00000000000000000000ff", "nodeCompositeId": nid("stop")},
            {"tree": TREE2, "nodeCompositeId": nid("stop")},
        ],
    }
    assert ids(candidates(channel, trees, None)) == ["T1/head1", "T2/stop"]


# Trigger types ----------------------------------------------------------------------


def image() -> dict[str, Any]:
    return {"type": "IMAGE", "data": {"url": "https://example.com/a.png"}, "from": "u-1"}


@pytest.mark.parametrize(
    ("trigger", "event", "matched"),
    [
        ({"type": "payload", "payload": "BUY"}, payload("BUY"), True),
        ({"type": "payload", "payload": "BUY"}, payload("SELL"), False),
        ({"type": "payload", "payload": "BUY"}, payload("buy"), False),
        ({"type": "payload", "payload": ["SELL", "BUY"]}, payload("BUY"), True),
        ({"type": "payload", "payload": "TEMP_RESULT"}, payload({"payload": "TEMP_RESULT", "value": "1"}), True),
        ({"type": "payload", "payload": "TEMP_RESULT"}, payload({"payload": "OTHER", "value": "TEMP_RESULT"}), False),
        ({"type": "payload", "payload": "BUY"}, text("BUY"), False),
        ({"type": "text"}, text("anything at all"), True),
        ({"type": "text"}, text(""), True),
        ({"type": "text"}, payload("BUY"), False),
        ({"type": "text"}, image(), False),
        ({"type": "any"}, text("x"), True),
        ({"type": "any"}, payload("BUY"), True),
        ({"type": "any"}, image(), True),
    ],
)
def test_payload_text_and_any_triggers(trigger, event, matched):
    assert simple_match(trigger, event) is matched


@pytest.mark.parametrize(
    ("keywords", "said", "matched"),
    [
        ("hi", "hi", True),
        ("hi", "Hi there", True),
        ("hi", "well, HI!", True),
        ("HELLO", "hello", True),
        ("hi", "this", False),
        ("hi", "hiking", False),
        ("hi", "chi", False),
        ("hi", "hi5", False),
        (["bye", "hi"], "oh hi", True),
        (["bye", "see you"], "hi", False),
        ("call me", "Please CALL ME later", True),
        ("call me", "call meals", False),
        ("call me", "me call", False),
        ("c++", "I like C++ a lot", True),
        ("a.b", "axb", False),
        ("  hi ", "hi", True),
        ("價錢", "價錢", True),
        ("價錢", "請問價錢幾多", True),
        ("價錢", "價格", False),
        ("vip會員", "我係VIP會員呀", True),
        ("vip會員", "xvip會員", False),
        ("caf", "café au lait", False),
        ("café", "un CAFÉ noir", True),
        ("привет", "Привет, бот", True),
        ("при", "привет", False),
    ],
)
def test_keywords_match_whole_words_and_phrases_in_any_case(keywords, said, matched):
    assert simple_match({"type": "keyword", "keywords": keywords}, text(said)) is matched


def test_a_channel_whose_lists_are_malformed_offers_no_candidates():
    assert candidates({"trees": "t1", "globalNodes": [5, {"tree": 7}]}, {}, None) == []


def test_keywords_only_match_text():
    assert simple_match({"type": "keyword", "keywords": "BUY"}, payload("BUY")) is False


def test_payload_and_text_readers():
    assert payload_of(payload({"payload": "P", "value": "v"})) == "P"
    assert payload_of(payload("P")) == "P"
    assert payload_of(payload(5)) is None
    assert payload_of(text("P")) is None
    assert text_of(text("t")) == "t"
    assert text_of(payload("t")) is None


# Priority, ties, muted nodes, conditions ------------------------------------------------


def node(name: str, priority: int = 0, trigger: dict[str, Any] | None = None) -> Node:
    return Node(tree=TREE, id=nid(name), name=name, priority=priority, trigger=trigger or {"type": "any"})


def condition_node(name: str, priority: int = 0) -> Node:
    return node(name, priority, {"type": "condition", "condition": name})


class Conditions:
    """A condition runner: each condition's source names its outcome
    (``yes...``, ``no...``, ``fail...``); the calls are recorded."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, n: Node) -> tuple[bool, dict[str, Any] | None]:
        self.calls.append(n.name)
        if n.name.startswith("fail"):
            return False, {"type": "TypeError", "message": "boom"}
        return n.name.startswith("yes"), None


def pick(nodes: list[Node], event: dict[str, Any] | None = None, seed: int = 0, conditions: Any = None):
    return match(nodes, event or text("hi"), conditions or Conditions(), random.Random(seed))


def test_the_smallest_priority_wins():
    nodes = [node("five", 5), node("zero"), node("minus3", -3), node("minus9", -9, {"type": "payload", "payload": "X"})]
    found = pick(nodes)
    assert found.node is not None and found.node.name == "minus3"
    assert found.muted == []


def test_a_node_without_a_trigger_never_matches():
    found = match(
        [Node(tree=TREE, id=nid("bare"), priority=-5), node("any", 3)], text("hi"), Conditions(), random.Random()
    )
    assert found.node is not None and found.node.name == "any"


def test_nothing_matches():
    found = pick([node("p", 0, {"type": "payload", "payload": "X"})])
    assert found.node is None and found.muted == [] and found.failures == []


def test_ties_are_picked_at_random_and_each_tied_node_gets_picked():
    nodes = [node("first", 1), node("second", 1), node("third", 1), node("later", 2)]
    rng = random.Random(20200930)
    picks = Counter(match(nodes, text("hi"), Conditions(), rng).node.name for _ in range(600))
    assert set(picks) == {"first", "second", "third"}
    assert all(count > 120 for count in picks.values()), picks


def test_a_seeded_rng_makes_the_tie_break_repeatable():
    nodes = [node("first"), node("second")]
    runs = []
    for _ in range(2):
        rng = random.Random(7)
        runs.append([match(nodes, text("hi"), Conditions(), rng).node.name for _ in range(40)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"first", "second"}


def test_muted_nodes_all_run_first_and_are_not_the_matched_node():
    nodes = [
        node("normal"),
        node("muted10", -10),
        node("muted_miss", -12, {"type": "payload", "payload": "X"}),
        node("muted15", -15),
        node("minus9", -9),
    ]
    found = pick(nodes)
    assert [n.name for n in found.muted] == ["muted15", "muted10"]
    assert found.node is not None and found.node.name == "minus9"


def test_only_muted_nodes_match():
    found = pick([node("muted", -10), node("p", 0, {"type": "payload", "payload": "X"})])
    assert [n.name for n in found.muted] == ["muted"]
    assert found.node is None


def test_conditions_run_only_while_they_can_still_win():
    conditions = Conditions()
    nodes = [
        condition_node("no_minus1", -1),
        node("kw0", 0, {"type": "keyword", "keywords": "hi"}),
        condition_node("yes0", 0),
        condition_node("yes1", 1),
        condition_node("fail2", 2),
        condition_node("yes_muted", -10),
        condition_node("no_muted", -11),
    ]
    found = pick(nodes, conditions=conditions)
    # muted conditions all run (every matching muted node runs); then priority -1, then the
    # whole of priority 0 (a tie is still possible); 1 and 2 can no longer win.
    assert conditions.calls == ["no_muted", "yes_muted", "no_minus1", "yes0"]
    assert [n.name for n in found.muted] == ["yes_muted"]
    assert found.node is not None and found.node.name in ("kw0", "yes0")
    assert found.failures == []


def test_a_tie_between_a_keyword_and_a_condition_can_go_either_way():
    nodes = [node("kw0", 0, {"type": "keyword", "keywords": "hi"}), condition_node("yes0", 0)]
    rng = random.Random(3)
    assert {match(nodes, text("hi"), Conditions(), rng).node.name for _ in range(50)} == {"kw0", "yes0"}


def test_a_later_priority_is_tried_when_the_earlier_ones_do_not_match():
    conditions = Conditions()
    nodes = [condition_node("no0", 0), condition_node("no0b", 0), condition_node("yes3", 3), condition_node("yes4", 4)]
    found = pick(nodes, conditions=conditions)
    assert found.node is not None and found.node.name == "yes3"
    assert conditions.calls == ["no0", "no0b", "yes3"]


def test_a_failing_condition_does_not_match_and_is_reported():
    conditions = Conditions()
    nodes = [condition_node("fail0", 0), node("fallback", 5, {"type": "text"})]
    found = pick(nodes, conditions=conditions)
    assert found.node is not None and found.node.name == "fallback"
    assert [(n.name, error["type"]) for n, error in found.failures] == [("fail0", "TypeError")]


# Through the engine: conditions run in the sandbox ---------------------------------------


def test_a_condition_script_sees_the_member_and_the_event(world):
    world.tree(
        {
            nid("vip"): {
                "head": True,
                "trigger": {
                    "type": "condition",
                    "condition": "this.messageEvent.type == 'TEXT' and 'vip' in this.member.tags "
                    "and this.messageEvent.data.text.startswith('order')",
                },
                "responses": [{"type": "TEXT", "text": "vip order"}],
            },
            nid("other"): {
                "head": True,
                "priority": 1,
                "trigger": {"type": "text"},
                "responses": [{"type": "TEXT", "text": "other"}],
            },
        }
    )
    assert world.receive(text("order 42")).ok
    world.place(None)
    assert world.receive(text("hello")).ok
    assert world.texts() == ["vip order", "other"]


def test_a_failing_condition_is_logged_as_a_warning_and_the_fail_safe_answers(world):
    world.tree(
        {
            nid("broken"): {
                "head": True,
                "trigger": {"type": "condition", "condition": "this.messageEvent.data.nothing.here == 1"},
                "responses": [{"type": "TEXT", "text": "never"}],
            },
            nid("fallback"): {
                "head": True,
                "priority": 9,
                "trigger": {"type": "text"},
                "responses": [{"type": "TEXT", "text": "fail-safe"}],
            },
        }
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.texts() == ["fail-safe"]
    assert [n["compositeId"] for n in result.nodes] == [nid("fallback")]
    warnings = [line for line in result.logs if line["level"] == "warn"]
    assert len(warnings) == 1
    assert warnings[0]["node"] == nid("broken") and warnings[0]["step"] == "trigger"
    assert warnings[0]["message"].startswith("condition failed: ")
    assert nid("broken") in warnings[0]["message"]


def test_a_condition_that_cannot_win_is_not_run(world):
    world.tree(
        {
            nid("kw"): {
                "head": True,
                "trigger": {"type": "keyword", "keywords": "hi"},
                "responses": [{"type": "TEXT", "text": "kw"}],
            },
            nid("later"): {
                "head": True,
                "priority": 1,
                "trigger": {"type": "condition", "condition": f"{mark('later condition')} or 1 / 0"},
            },
        }
    )
    result = world.receive(text("hi"))
    assert result.ok and world.texts() == ["kw"]
    assert world.marks == ["send:kw"]
    assert [line for line in result.logs if line["level"] == "warn"] == []


def test_a_condition_tied_with_the_winner_is_run(world):
    world.tree(
        {
            nid("kw"): {
                "head": True,
                "trigger": {"type": "keyword", "keywords": "hi"},
                "responses": [{"type": "TEXT", "text": "kw"}],
            },
            nid("tied"): {
                "head": True,
                "trigger": {"type": "condition", "condition": f"{mark('tied condition')} or 1 / 0"},
            },
        }
    )
    result = world.receive(text("hi"))
    assert result.ok and world.texts() == ["kw"]
    assert world.marks == ["tied condition", "send:kw"]
    assert [(line["node"], line["step"]) for line in result.logs if line["level"] == "warn"] == [
        (nid("tied"), "trigger")
    ]


def test_ties_through_the_engine_use_its_rng(world):
    world.tree(
        {
            nid("left"): {"head": True, "trigger": {"type": "text"}, "responses": [{"type": "TEXT", "text": "left"}]},
            nid("right"): {"head": True, "trigger": {"type": "text"}, "responses": [{"type": "TEXT", "text": "right"}]},
        }
    )
    rng = random.Random(11)
    for _ in range(30):
        world.place(None)
        assert world.receive(text("hi"), rng=rng).ok
    assert set(world.texts()) == {"left", "right"}


def test_muted_nodes_run_first_then_the_matched_node(world):
    world.tree(
        {
            nid("head"): {
                "head": True,
                "trigger": {"type": "text"},
                "preAction": mark("head"),
                "responses": [{"type": "TEXT", "text": "head"}],
            },
            nid("mute10"): {"head": True, "priority": -10, "trigger": {"type": "any"}, "preAction": mark("mute10")},
            nid("mute20"): {"head": True, "priority": -20, "trigger": {"type": "text"}, "preAction": mark("mute20")},
            nid("muteno"): {
                "head": True,
                "priority": -30,
                "trigger": {"type": "payload", "payload": "X"},
                "preAction": mark("no"),
            },
        }
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.marks == ["mute20", "mute10", "head", "send:head"]
    assert [(n["compositeId"], n["muted"]) for n in result.nodes] == [
        (nid("mute20"), True),
        (nid("mute10"), True),
        (nid("head"), False),
    ]
    assert (world.stored()["botMeta"]["tree"], world.stored()["botMeta"]["nodeCompositeId"]) == (TREE, nid("head"))
