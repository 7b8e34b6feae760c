"""The node executor: the order of a node's parts, the member carried through
a chain and what of it is written back, errors, redirects and their options,
cycles and depth, locales, responses, tagging, receive() and sendResults."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import Config
from noderuntime.engine import Engine, RecordingSender, Redirect
from noderuntime.engine.executor import member_update, pick_locale
from noderuntime.store.ids import for_script
from tests.noderuntime.conftest import FROZEN_NOW
from tests.noderuntime.engine.conftest import (
    APP,
    CHANNEL,
    CREATED,
    FOREIGN_CHANNEL,
    FOREIGN_MEMBER,
    FOREIGN_TREE,
    MEMBER,
    OTHER_APP,
    OTHER_CHANNEL,
    TREE,
    TREE2,
    mark,
    member_doc,
    nid,
    payload,
    text,
)

A, B, C, D = nid("a"), nid("b"), nid("c"), nid("d")

RETURN_MEMBER = "return {'member': this.member}"


def say(value: str) -> list[dict[str, Any]]:
    return [{"type": "TEXT", "text": value}]


def script(*lines: str) -> str:
    return "\n".join(lines)


def chain_tree(length: int, **extra: Any) -> dict[str, dict[str, Any]]:
    """``length`` nodes a -> b -> c ..., each marking its pre-action and saying its name."""
    names = "abcdefghijklmnopqrstuvwxyz"[:length]
    nodes = {}
    for index, name in enumerate(names):
        node: dict[str, Any] = {"name": name.upper(), "preAction": mark(name), "responses": say(name)}
        if index == 0:
            node.update(head=True, trigger={"type": "text"})
        if index + 1 < length:
            node["redirect"] = {"nodeCompositeId": nid(names[index + 1])}
        nodes[nid(name)] = node
    for name, fields in extra.items():
        nodes[nid(name)].update(fields)
    return nodes


def warnings(result) -> list[dict[str, Any]]:
    return [line for line in result.logs if line["level"] == "warn"]


def position(world) -> tuple[str, str]:
    bot_meta = world.stored()["botMeta"]
    return bot_meta.get("tree"), bot_meta.get("nodeCompositeId")


# Order of a node's parts ------------------------------------------------------------------


def test_pre_action_then_responses_then_post_action_then_tagging_then_redirect(world):
    world.tree(
        {
            A: {
                "head": True,
                "trigger": {"type": "text"},
                "preAction": script(
                    "this.mark(step='pre saw ' + str(this.member.meta.step))",
                    "this.member.meta.step = 'pre'",
                    RETURN_MEMBER,
                ),
                "responses": [
                    {"type": "TEXT", "text": "static"},
                    {
                        "script": script(
                            "this.mark(step='response saw ' + this.member.meta.step)",
                            "return {'type': 'TEXT', 'text': 'after ' + this.member.meta.step}",
                        )
                    },
                ],
                "postAction": script(
                    "this.mark(step='post saw ' + this.member.meta.step)",
                    "this.member.meta.step = 'post'",
                    RETURN_MEMBER,
                ),
                "tagging": {
                    "script": script(
                        "this.mark(step='tagging saw ' + this.member.meta.step)",
                        "return {'tags': ['tag-' + this.member.meta.step]}",
                    )
                },
                "redirect": {"nodeCompositeId": B},
            },
            B: {
                "preAction": script("this.mark(step='B pre saw ' + this.member.meta.step)", RETURN_MEMBER),
                "responses": say("B"),
            },
        }
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.marks == [
        "pre saw None",
        "response saw pre",
        "send:static",
        "send:after pre",
        "post saw pre",
        "tagging saw post",
        "B pre saw post",
        "send:B",
    ]
    assert world.texts() == ["static", "after pre", "B"]
    stored = world.stored()
    assert stored["meta"] == {"visits": 1, "step": "post"}
    assert stored["tags"] == ["vip", "tag-post"]
    assert [n["compositeId"] for n in result.nodes] == [A, B]


def test_the_logs_name_the_node_and_step_they_came_from(world):
    world.tree(
        chain_tree(
            2,
            a={"preAction": "console.log('in a')", "postAction": "console.warn('after a')"},
            b={"preAction": "console.info('in b')"},
        )
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert [(line["node"], line["step"], line["level"], line["message"]) for line in result.logs] == [
        (A, "preAction", "log", "in a"),
        (A, "postAction", "warn", "after a"),
        (B, "preAction", "info", "in b"),
    ]


def test_the_script_context_names_the_node_app_channel_and_event(world):
    world.tree(
        {
            A: {
                "head": True,
                "trigger": {"type": "payload", "payload": "GO"},
                "preAction": script(
                    "this.mark(step=f'{this.node.tree} {this.node.compositeId} {this.node.name} {this.node.priority}')",
                    "this.mark(step=f'{this.app} {this.channel._id} {this.channel.name}')",
                    "this.mark(step=f'{this.messageEvent.type} {this.messageEvent.data.payload.value} {this.agendaMeta}')",
                ),
                "name": "Start",
                "priority": -2,
            }
        }
    )
    assert world.receive(payload({"payload": "GO", "value": "42"})).ok
    assert world.marks == [f"{TREE} {A} Start -2", f"{APP} {CHANNEL} Webchat", "PAYLOAD 42 None"]


# The member through a chain ------------------------------------------------------------------


def test_the_returned_member_carries_forward_to_the_next_scripts_and_nodes(world):
    world.tree(
        chain_tree(
            3,
            a={"preAction": script("this.member.botMeta.tempData.n = 1", RETURN_MEMBER)},
            b={
                "preAction": script(
                    "this.mark(step='b saw ' + str(this.member.botMeta.tempData.n))",
                    "this.member.botMeta.tempData.n += 1",
                    RETURN_MEMBER,
                ),
                "postAction": script(
                    "this.mark(step='b post saw ' + str(this.member.botMeta.tempData.n))",
                    "this.member.botMeta.tempData.n *= 10",
                    RETURN_MEMBER,
                ),
            },
            c={"preAction": script("this.mark(step='c saw ' + str(this.member.botMeta.tempData.n))")},
        )
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert [m for m in world.marks if not m.startswith("send:")] == ["b saw 1", "b post saw 2", "c saw 20"]
    assert world.stored()["botMeta"]["tempData"] == {"n": 20}


def test_a_member_changed_but_not_returned_is_dropped_with_a_warning(world):
    world.tree(
        chain_tree(
            2,
            a={
                "preAction": "this.member.meta.step = 'lost'\nthis.member.botMeta.tempData.x = 1",
                "postAction": script("this.mark(step='post saw ' + str(this.member.meta.step))"),
            },
            b={"preAction": script("this.member.meta.other = 'lost too'", "return {'ok': True}")},
        )
    )
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert "post saw None" in world.marks
    assert [(w["node"], w["step"]) for w in warnings(result)] == [(A, "preAction"), (B, "preAction")]
    assert all('return {"member": this.member}' in w["message"] for w in warnings(result))
    stored = world.stored()
    assert stored["meta"] == before["meta"]
    assert stored["botMeta"]["tempData"] == {}


def test_a_script_that_changes_nothing_and_returns_nothing_gives_no_warning(world):
    world.tree(chain_tree(1, a={"preAction": "x = this.member.meta.visits + 1"}))
    result = world.receive(text("hi"))
    assert result.ok and warnings(result) == []


def test_the_external_id_cannot_be_changed_so_responses_go_to_the_member(world):
    world.tree(
        chain_tree(
            1,
            a={
                "preAction": script("this.member.externalId = 'someone-else'", RETURN_MEMBER),
                "responses": [{"type": "TEXT", "text": "for you"}],
            },
        )
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert result.sendResults[0]["result"][0]["messageEvent"]["to"] == "u-1"
    assert world.stored()["externalId"] == "u-1"


def test_a_member_returned_in_part_keeps_the_fields_it_leaves_out(world):
    world.tree(
        chain_tree(
            1,
            a={
                "preAction": script("return {'member': {'meta': {'visits': 2}}}"),
                "postAction": script("this.mark(step=str(this.member.botMeta.subscribe))"),
            },
        )
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.marks[-1] == "True"
    stored = world.stored()
    assert stored["meta"] == {"visits": 2}
    assert stored["botMeta"]["subscribe"] is True
    assert stored["firstName"] == "John"


def test_identity_fields_cannot_be_changed_through_the_returned_member(world):
    world.tree(
        chain_tree(
            1,
            a={
                "preAction": script(
                    "this.member._id = '5f74430000000000000000ff'",
                    f"this.member.app = {OTHER_APP!r}",
                    f"this.member.channel = {OTHER_CHANNEL!r}",
                    "this.member.createdAt = 1",
                    "this.member.meta.changed = True",
                    RETURN_MEMBER,
                ),
                "postAction": "this.mark(step=f'{this.member._id} {this.member.app} {this.member.channel} {this.member.createdAt}')",
            },
        )
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.marks[-1] == f"{MEMBER} {APP} {CHANNEL} {CREATED}"
    assert result.sendResults[0]["member"] == MEMBER
    assert world.sender.sent[0].member == MEMBER
    stored = world.stored()
    assert (stored["_id"], stored["app"], stored["channel"], stored["createdAt"]) == (
        ObjectId(MEMBER),
        APP,
        CHANNEL,
        CREATED,
    )
    assert stored["meta"]["changed"] is True
    assert world.store.count("members", {}) == 2
    assert world.store.find_one("members", {"_id": "5f74430000000000000000ff"}) is None
    assert world.store.find_one("members", {"_id": ObjectId("5f74430000000000000000ff")}) is None


def test_only_bot_meta_meta_custom_locale_and_group_are_written_back(world):
    world.tree(
        chain_tree(
            1,
            a={
                "preAction": script(
                    "this.member.firstName = 'Mallory'",
                    "this.member.createAssignmentSuccess = True",
                    "this.member.externalId = 'someone-else'",
                    "this.member.tags = ['hacked']",
                    "this.member.platform = 'x'",
                    "this.member.updatedAt = 5",
                    "this.member.botMeta.tempData.gender = 'f'",
                    "this.member.botMeta.subscribe = False",
                    "this.member.meta.checked = True",
                    "this.member.customLocale = 'zh_HK'",
                    "this.member.group = 'g-1'",
                    RETURN_MEMBER,
                ),
                "postAction": "this.mark(step=f'{this.member.firstName} {this.member.createAssignmentSuccess}')",
            },
        )
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    # In memory, for the rest of the chain, the member is what the script returned...
    assert world.marks[-1] == "Mallory True"
    # ... but only the four fields are saved.
    expected = {
        **member_doc(),
        "botMeta": {
            "liveChat": False,
            "subscribe": False,
            "tempData": {"gender": "f"},
            "tree": TREE,
            "nodeCompositeId": A,
        },
        "meta": {"visits": 1, "checked": True},
        "customLocale": "zh_HK",
        "group": "g-1",
        "updatedAt": FROZEN_NOW,
    }
    assert world.stored() == expected
    assert result.member == for_script(expected)


def test_a_chain_that_changes_nothing_still_records_where_the_member_is(world):
    world.tree(chain_tree(1))
    assert world.receive(text("hi")).ok
    assert world.stored() == {
        **member_doc(),
        "botMeta": {**member_doc()["botMeta"], "tree": TREE, "nodeCompositeId": A},
        "updatedAt": FROZEN_NOW,
    }


def test_the_position_is_the_last_node_of_the_chain_even_in_another_tree(world):
    world.tree(chain_tree(2, b={"redirect": {"tree": TREE2, "nodeCompositeId": C}}))
    world.tree({C: {"preAction": mark("c"), "redirect": {"nodeCompositeId": D}}, D: {"preAction": mark("d")}}, TREE2)
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.marks == ["a", "send:a", "b", "send:b", "c", "d"]
    assert [(n["tree"], n["compositeId"]) for n in result.nodes] == [(TREE, A), (TREE, B), (TREE2, C), (TREE2, D)]
    assert position(world) == (TREE2, D)
    assert result.member["botMeta"]["tree"] == TREE2 and result.member["botMeta"]["nodeCompositeId"] == D


def test_a_concurrent_change_to_another_key_made_during_the_chain_survives(world):
    world.tree(
        chain_tree(
            1,
            a={
                "preAction": script(
                    # Someone else (here: the script itself, through the database) changes
                    # other keys while the chain runs on its copy of the member.
                    "this.patchMembers({'memberId': this.member._id, "
                    "'patch': {'botMeta.liveChat': True, 'meta.source': 'api'}})",
                    "this.member.botMeta.tempData.answer = 42",
                    "this.member.meta.visits = 2",
                    RETURN_MEMBER,
                ),
                "postAction": "this.mark(step='chain copy liveChat ' + str(this.member.botMeta.liveChat))",
            },
        )
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.marks[-1] == "chain copy liveChat False"
    stored = world.stored()
    assert stored["botMeta"]["liveChat"] is True
    assert stored["botMeta"]["tempData"] == {"answer": 42}
    assert stored["meta"] == {"visits": 2, "source": "api"}


def test_a_key_the_chain_deleted_is_removed(world):
    world.tree(
        chain_tree(
            1,
            a={
                "preAction": script("del this.member.botMeta.tempData", "del this.member.meta['visits']", RETURN_MEMBER)
            },
        )
    )
    assert world.receive(text("hi")).ok
    stored = world.stored()
    assert "tempData" not in stored["botMeta"]
    assert stored["botMeta"]["subscribe"] is True
    assert stored["meta"] == {}


def test_a_returned_member_without_bot_meta_still_records_the_position(world):
    world.tree(chain_tree(1, a={"preAction": "return {'member': {'meta': {'x': 1}}}"}))
    result = world.receive(text("hi"))
    assert result.ok, result.error
    stored = world.stored()
    assert (stored["botMeta"]["tree"], stored["botMeta"]["nodeCompositeId"]) == (TREE, A)
    assert stored["meta"] == {"x": 1}
    assert (stored["_id"], stored["firstName"]) == (ObjectId(MEMBER), "John")


def test_a_member_that_cannot_be_saved_stops_the_chain_and_nothing_is_written(world):
    world.tree(chain_tree(1, a={"preAction": script("this.member.meta['a.b'] = 1", RETURN_MEMBER)}))
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert result.error["type"] == "SaveError"
    assert "a.b" in result.error["message"]
    assert world.stored() == before


# member_update ------------------------------------------------------------------------------


def loaded() -> dict[str, Any]:
    return for_script(member_doc())


def test_member_update_with_no_change_and_no_position_is_empty():
    assert member_update(loaded(), loaded(), None, []) == {}


def test_member_update_sets_changed_keys_unsets_removed_ones_and_ignores_other_fields():
    member = loaded()
    member["botMeta"]["tempData"] = {"x": 1}
    del member["botMeta"]["liveChat"]
    member["botMeta"]["new"] = "n"
    member["meta"]["visits"] = 2
    member["customLocale"] = "en"
    member["group"] = {"id": "g"}
    member["firstName"] = "Mallory"
    member["tags"] = ["hacked"]
    assert member_update(loaded(), member, None, []) == {
        "$set": {
            "botMeta.tempData.x": 1,
            "botMeta.new": "n",
            "meta.visits": 2,
            "customLocale": "en",
            "group": {"id": "g"},
        },
        "$unset": {"botMeta.liveChat": ""},
    }


def test_member_update_removes_a_whole_field_the_script_dropped():
    before = {**loaded(), "customLocale": "en", "group": "g"}
    member = loaded()
    del member["meta"]
    assert member_update(before, member, None, []) == {"$unset": {"meta": "", "customLocale": "", "group": ""}}


def test_member_update_writes_the_position_into_bot_meta():
    assert member_update(loaded(), loaded(), (TREE, A), []) == {
        "$set": {"botMeta.tree": TREE, "botMeta.nodeCompositeId": A}
    }
    no_bot_meta = {key: value for key, value in loaded().items() if key != "botMeta"}
    assert member_update(no_bot_meta, no_bot_meta, (TREE, A), []) == {
        "$set": {"botMeta": {"tree": TREE, "nodeCompositeId": A}}
    }


def test_member_update_never_sets_and_unsets_the_same_path():
    member = loaded()
    del member["botMeta"]
    update = member_update(loaded(), member, (TREE, A), [])
    assert update == {"$set": {"botMeta": {"tree": TREE, "nodeCompositeId": A}}}
    placed = {**loaded(), "botMeta": {**loaded()["botMeta"], "tree": TREE2, "nodeCompositeId": B}}
    moved = {**placed, "botMeta": {key: v for key, v in placed["botMeta"].items() if key != "tree"}}
    assert member_update(placed, moved, (TREE, A), []) == {"$set": {"botMeta.tree": TREE, "botMeta.nodeCompositeId": A}}


def test_member_update_adds_only_new_tags_once():
    assert member_update(loaded(), loaded(), None, ["vip", "a", "b", "a"]) == {
        "$addToSet": {"tags": {"$each": ["a", "b"]}}
    }
    assert member_update(loaded(), loaded(), None, ["vip"]) == {}


# Errors ---------------------------------------------------------------------------------


def test_a_script_error_stops_the_chain_names_node_step_and_line_and_nothing_is_written(world):
    world.tree(
        chain_tree(
            3,
            a={"preAction": script("this.member.meta.a = 1", RETURN_MEMBER), "tagging": ["from-a"]},
            b={
                "name": "Bravo",
                "preAction": script("this.member.meta.b = 1", RETURN_MEMBER),
                "postAction": script(
                    "x = 1", "y = this.member.meta.b", "this.member.meta.nothing.deeper = 1", RETURN_MEMBER
                ),
            },
        )
    )
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    error = result.error
    assert (error["tree"], error["node"], error["nodeName"], error["step"], error["line"]) == (
        TREE,
        B,
        "Bravo",
        "postAction",
        3,
    )
    assert error["message"].startswith(f"node Bravo ({TREE}/{B}) postAction, line 3: ")
    # What ran is reported...
    assert [n["compositeId"] for n in result.nodes] == [A, B]
    assert [[r["messageEvent"]["data"]["text"] for r in s["result"]] for s in result.sendResults] == [["a"], ["b"]]
    assert world.texts() == ["a", "b"]
    assert "c" not in world.marks
    # ... and nothing is written back: no meta, no position, no tags.
    assert world.stored() == before
    assert result.member == for_script(before)


def test_an_error_in_the_first_pre_action_sends_nothing(world):
    world.tree(chain_tree(2, a={"preAction": "raise ValueError('no way')"}))
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert (result.error["node"], result.error["step"], result.error["line"]) == (A, "preAction", 1)
    assert "no way" in result.error["message"]
    assert [n["compositeId"] for n in result.nodes] == [A]
    assert result.sendResults == []
    assert world.sender.sent == []
    assert world.stored() == before


def test_a_compile_error_names_the_node_and_step(world):
    world.tree(chain_tree(1, a={"postAction": "x = = 1"}))
    result = world.receive(text("hi"))
    assert not result.ok
    assert (result.error["node"], result.error["step"]) == (A, "postAction")
    assert "SyntaxError" in result.error["message"]


def test_an_uncaught_method_error_stops_the_chain(world):
    world.tree(chain_tree(2, a={"postAction": "x = 1\nthis.getMember({'memberId': 5})"}))
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert (result.error["type"], result.error["step"], result.error["line"]) == ("ParamError", "postAction", 2)
    assert world.stored() == before


# Redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "marks", "texts", "tags"),
    [
        ("runPreAction", ["a", "b response", "b post", "b tagging", "c"], ["a", "b", "c"], ["vip", "from-b"]),
        ("sendResponse", ["a", "b pre", "b post", "b tagging", "c"], ["a", "c"], ["vip", "from-b"]),
        ("runPostAction", ["a", "b pre", "b response", "c"], ["a", "b", "c"], ["vip"]),
    ],
)
def test_each_redirect_option_turns_off_its_part(world, option, marks, texts, tags):
    world.tree(
        chain_tree(
            3,
            a={"redirect": {"nodeCompositeId": B, option: False}},
            b={
                "preAction": mark("b pre"),
                "responses": [{"script": script(mark("b response"), "return {'type': 'TEXT', 'text': 'b'}")}],
                "postAction": mark("b post"),
                "tagging": {"script": script(mark("b tagging"), "return {'tags': ['from-b']}")},
            },
        )
    )
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert [m for m in world.marks if not m.startswith("send:")] == marks
    assert world.texts() == texts
    assert world.stored()["tags"] == tags
    # One sendResult per node run, even when a node sent nothing.
    assert [len(s["result"]) for s in result.sendResults] == [1, 1 if "b" in texts else 0, 1]
    assert [n["compositeId"] for n in result.nodes] == [A, B, C]


def test_run_node_honours_the_redirect_options(world):
    world.tree(chain_tree(2, a={"postAction": mark("a post")}))
    result = world.run_node(A, run_pre_action=False, send_response=False)
    assert result.ok, result.error
    assert world.marks == ["a post", "b", "send:b"]
    assert [len(s["result"]) for s in result.sendResults] == [0, 1]
    assert position(world) == (TREE, B)


def test_a_redirect_to_another_apps_tree_stops_the_chain(world):
    world.tree({C: {"preAction": mark("theirs")}}, FOREIGN_TREE, app=OTHER_APP)
    world.tree(chain_tree(1, a={"redirect": {"tree": FOREIGN_TREE, "nodeCompositeId": C}}))
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert result.error["type"] == "TreeError"
    assert result.error["message"] == f"tree {FOREIGN_TREE} does not exist in this app"
    assert "theirs" not in world.marks
    assert world.stored() == before


def test_a_redirect_to_a_missing_node_of_another_tree_suggests_one(world):
    world.tree({nid("target"): {}}, TREE2)
    world.tree(chain_tree(1, a={"redirect": {"tree": TREE2, "nodeCompositeId": nid("targte")}}))
    result = world.receive(text("hi"))
    assert not result.ok
    assert result.error["type"] == "TreeError"
    assert result.error["message"] == f"tree {TREE2} has no node {nid('targte')}; did you mean {nid('target')}?"


def test_a_redirect_cycle_stops_with_the_path(world):
    world.tree(chain_tree(2, b={"redirect": {"nodeCompositeId": A}}))
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert result.error["type"] == "RedirectError"
    assert result.error["message"] == f"redirect cycle: {TREE}/{A} -> {TREE}/{B} -> {TREE}/{A}"
    assert [n["compositeId"] for n in result.nodes] == [A, B]
    assert world.marks == ["a", "send:a", "b", "send:b"]
    assert world.stored() == before


def test_a_node_redirecting_to_itself_is_a_cycle(world):
    world.tree(chain_tree(1, a={"redirect": {"nodeCompositeId": A}}))
    result = world.receive(text("hi"))
    assert not result.ok
    assert result.error["message"] == f"redirect cycle: {TREE}/{A} -> {TREE}/{A}"


def test_a_cycle_through_another_tree_is_found(world):
    world.tree(chain_tree(1, a={"redirect": {"tree": TREE2, "nodeCompositeId": B}}))
    world.tree({B: {"redirect": {"tree": TREE, "nodeCompositeId": A}}}, TREE2)
    result = world.receive(text("hi"))
    assert not result.ok
    assert result.error["message"] == f"redirect cycle: {TREE}/{A} -> {TREE2}/{B} -> {TREE}/{A}"


def test_the_redirect_depth_limit(make_world):
    world = make_world(Config(workers=1, mode="inprocess", max_redirects=2))
    world.tree(chain_tree(3))
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert [n["compositeId"] for n in result.nodes] == [A, B, C]

    world.tree(chain_tree(4))
    world.place(None)
    world.marks.clear()
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert result.error["type"] == "RedirectError"
    assert (
        result.error["message"]
        == f"the chain redirected more than 2 times ({TREE}/{A} -> {TREE}/{B} -> {TREE}/{C} -> ...)"
    )
    assert "d" not in world.marks
    assert [n["compositeId"] for n in result.nodes] == [A, B, C]
    assert world.stored() == before


def test_the_default_depth_limit_comes_from_the_config(world):
    assert world.runtime.config.max_redirects == 10
    world.tree(chain_tree(12))
    result = world.receive(text("hi"))
    assert not result.ok
    assert "more than 10 times" in result.error["message"]
    assert len(result.nodes) == 11


# Locales -----------------------------------------------------------------------------------

LOCALIZED = {
    "default": say("default"),
    "en": say("en"),
    "zh_HK": say("zh_HK"),
    "zh": say("zh"),
    "ja-JP": say("ja-JP"),
}


@pytest.mark.parametrize(
    ("custom_locale", "locale", "chosen"),
    [
        ("zh_HK", "en", "zh_HK"),  # customLocale wins over locale
        ("zh-HK", None, "zh_HK"),  # zh-HK is zh_HK
        ("ZH-hk", None, "zh_HK"),
        (None, "zh_HK", "zh_HK"),
        ("zh_TW", None, "zh"),  # the language when the region is missing
        ("ja_JP", None, "ja-JP"),
        ("ja", None, "default"),  # a language does not reach a region
        ("fr", "en_GB", "en"),  # customLocale missing: locale, then its language
        ("fr", "de", "default"),
        (None, None, "default"),
        ("", "", "default"),
    ],
)
def test_pick_locale(custom_locale, locale, chosen):
    member = {"customLocale": custom_locale, "locale": locale}
    assert pick_locale(LOCALIZED, member) == say(chosen)


def test_pick_locale_of_a_plain_list_or_nothing():
    assert pick_locale(say("x"), {"customLocale": "zh_HK"}) == say("x")
    assert pick_locale(None, {}) == []
    assert pick_locale({"default": say("d"), "en": say("e")}, {"customLocale": "en-US"}) == say("e")


def test_a_locale_set_by_the_pre_action_chooses_the_nodes_responses(world):
    world.tree(
        chain_tree(
            2,
            a={"preAction": script("this.member.customLocale = 'zh-HK'", RETURN_MEMBER), "responses": LOCALIZED},
            b={"responses": {"default": say("b default"), "zh": say("b zh")}},
        )
    )
    world.set_member(locale="en")
    assert world.receive(text("hi")).ok
    assert world.texts() == ["zh_HK", "b zh"]
    assert world.stored()["customLocale"] == "zh-HK"


# Responses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("returned", "texts"),
    [
        ("{'type': 'TEXT', 'text': 'one'}", ["before", "one", "after"]),
        ("[{'type': 'TEXT', 'text': 'one'}, {'type': 'TEXT', 'text': 'two'}]", ["before", "one", "two", "after"]),
        ("[]", ["before", "after"]),
        ("None", ["before", "after"]),
    ],
)
def test_response_scripts_give_one_response_a_list_or_none(world, returned, texts):
    responses = [
        {"type": "TEXT", "text": "before"},
        {"script": f"return {returned}"},
        {"type": "TEXT", "text": "after"},
    ]
    world.tree(chain_tree(1, a={"responses": responses}))
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.texts() == texts
    assert [r["messageEvent"]["data"]["text"] for r in result.sendResults[0]["result"]] == texts


def test_a_response_script_that_returns_nothing_sends_nothing(world):
    world.tree(chain_tree(1, a={"responses": [{"script": "return None"}]}))
    result = world.receive(text("hi"))
    assert result.ok
    assert world.sender.sent == []
    assert result.sendResults == [{"ok": 1, "member": MEMBER, "result": []}]


def test_a_response_script_reads_the_event_like_the_documented_reaction(world):
    reaction = "return {'type': 'REACT', 'message_id': this.messageEvent.messageId, 'reaction': 'love'}"
    world.tree(chain_tree(1, a={"responses": [{"script": reaction}]}))
    assert world.receive({**text("hi"), "messageId": "mid.1"}).ok
    assert world.sender.sent[0].response == {"type": "REACT", "message_id": "mid.1", "reaction": "love"}


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        (
            [{"script": "return {'text': 'no type'}"}],
            "response 1: a response needs a type (TEXT, IMAGE, QUICK_REPLIES, ...)",
        ),
        (
            [{"type": "TEXT", "text": "ok"}, {"type": "TEXT", "text": "x" * 2001}],
            "response 2: text is 2001 characters; the most a TEXT response carries is 2000",
        ),
        ([{"script": "return 'hi'"}], "response 1: a response must be an object with a type, got str"),
        (
            [{"script": "return [{'type': 'TEXT', 'text': 'a'}, 5]"}],
            "response 1: a response must be an object with a type, got int",
        ),
        ([{"type": "TEXT"}], "response 1: a TEXT response needs text (a string)"),
    ],
)
def test_an_invalid_response_stops_the_chain_before_anything_of_the_node_is_sent(world, responses, message):
    world.tree(chain_tree(2, b={"responses": responses}))
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert (result.error["type"], result.error["node"], result.error["step"]) == ("ParamError", B, "response")
    assert result.error["message"] == f"node B ({TREE}/{B}) response: {message}"
    assert world.texts() == ["a"]
    assert world.stored() == before


def test_a_text_of_exactly_2000_characters_is_sent(world):
    world.tree(chain_tree(1, a={"responses": say("x" * 2000)}))
    assert world.receive(text("hi")).ok
    assert world.texts() == ["x" * 2000]


def test_a_failing_response_script_names_its_line(world):
    world.tree(chain_tree(1, a={"responses": [{"script": "x = 1\nreturn {'type': 'TEXT', 'text': 1 / 0}"}]}))
    result = world.receive(text("hi"))
    assert not result.ok
    assert (result.error["step"], result.error["line"]) == ("response", 2)
    assert world.sender.sent == []


# Tagging -------------------------------------------------------------------------------------


def test_static_tags_are_added_once(world):
    world.tree(chain_tree(2, a={"tagging": ["new", "vip"]}, b={"tagging": ["new", "other"]}))
    assert world.receive(text("hi")).ok
    assert world.stored()["tags"] == ["vip", "new", "other"]


def test_a_tagging_script_returns_tags_from_the_member(world):
    world.tree(
        chain_tree(
            1,
            a={
                "preAction": script("this.member.botMeta.tempData.template = 'promo'", RETURN_MEMBER),
                "tagging": {"script": "return {'tags': [f'{this.member.botMeta.tempData.template}']}"},
            },
        )
    )
    assert world.receive(text("hi")).ok
    assert world.stored()["tags"] == ["vip", "promo"]


@pytest.mark.parametrize(
    "returned", ["['promo']", "{'tags': 'promo'}", "{'tags': [1]}", "{'tags': ['']}", "None", "{'tag': ['x']}"]
)
def test_a_tagging_script_with_a_bad_return_stops_the_chain(world, returned):
    world.tree(
        chain_tree(
            1,
            a={
                "tagging": {"script": f"return {returned}"},
                "preAction": script("this.member.meta.x = 1", RETURN_MEMBER),
            },
        )
    )
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert (result.error["type"], result.error["node"], result.error["step"]) == ("TypeError", A, "tagging")
    assert 'a tagging script returns {"tags": [non-empty strings]}' in result.error["message"]
    assert world.stored() == before


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("{'tags': [str(i) for i in range(101)]}", "a node adds at most 100 tags, not 101"),
        ("{'tags': ['x' * 101]}", "a tag is at most 100 characters, not 101 (xxxxxxxxxxxxxxxxxxxx...)"),
    ],
)
def test_tagging_is_bounded_and_a_refused_tagging_writes_nothing(world, returned, message):
    world.tree(chain_tree(1, a={"tagging": {"script": f"return {returned}"}}))
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert (result.error["type"], result.error["step"]) == ("LimitExceeded", "tagging")
    assert message in result.error["message"]
    assert world.stored() == before


def test_a_member_holds_at_most_1000_tags(world):
    world.store.update("members", {}, {"$set": {"tags": [f"t{i}" for i in range(999)]}}, multi=True)
    world.tree(chain_tree(1, a={"tagging": ["new-1", "new-2"]}))
    result = world.receive(text("hi"))
    assert (result.error["type"], result.error["message"]) == (
        "LimitExceeded",
        "the member would hold 1001 tags; the most is 1000",
    )
    assert len(world.stored()["tags"]) == 999


def test_a_node_sends_at_most_20_responses(world):
    world.tree(chain_tree(1, a={"responses": [{"script": "return [{'type': 'TEXT', 'text': 'x'}] * 21"}]}))
    result = world.receive(text("hi"))
    assert (result.error["type"], result.error["step"]) == ("LimitExceeded", "response")
    assert "a node sends at most 20 responses" in result.error["message"]
    assert world.sender.sent == []


def test_a_response_weighs_at_most_64_kib(world):
    world.tree(chain_tree(1, a={"responses": [{"script": "return {'type': 'IMAGE', 'url': 'x' * 70000}"}]}))
    result = world.receive(text("hi"))
    assert (result.error["type"], result.error["step"]) == ("ParamError", "response")
    assert "response 1: a response is at most 64 KiB, this one is 68 KiB" in result.error["message"]
    assert world.sender.sent == []


# receive() ---------------------------------------------------------------------------------


def newbie(world) -> list[dict[str, Any]]:
    return world.store.find("members", {"externalId": "newbie"})


def test_a_new_member_is_created_once_with_the_default_bot_meta(world):
    world.tree(
        chain_tree(
            1,
            a={
                "preAction": script(
                    "this.member.botMeta.tempData.seen = (this.member.botMeta.tempData.seen or 0) + 1", RETURN_MEMBER
                )
            },
        )
    )
    first = world.receive({**text("hi"), "from": "newbie"})
    assert first.ok, first.error
    (created,) = newbie(world)
    assert created["_id"] != ObjectId(MEMBER)
    assert for_script(created) == {
        "_id": str(created["_id"]),
        "app": APP,
        "channel": CHANNEL,
        "externalId": "newbie",
        "botMeta": {"subscribe": True, "liveChat": False, "tempData": {"seen": 1}, "tree": TREE, "nodeCompositeId": A},
        "meta": {},
        "tags": [],
        "platform": "custom",
        "createdAt": FROZEN_NOW,
        "updatedAt": FROZEN_NOW,
    }
    assert first.member == for_script(created)
    assert world.sender.sent[0].messageEvent["to"] == "newbie"

    # A has no children: take the new member back to the start so that A answers again.
    world.store.update(
        "members", {"_id": created["_id"]}, {"$unset": {"botMeta.tree": "", "botMeta.nodeCompositeId": ""}}
    )
    second = world.receive({**text("again"), "from": "newbie"})
    assert second.ok, second.error
    (again,) = newbie(world)
    assert again["_id"] == created["_id"]
    assert again["botMeta"]["tempData"] == {"seen": 2}
    assert world.store.count("members", {}) == 3


def test_the_external_id_argument_names_the_member(world):
    world.tree(chain_tree(1))
    assert world.receive({**text("hi"), "from": "ignored"}, external_id="newbie").ok
    assert len(newbie(world)) == 1
    assert world.store.find("members", {"externalId": "ignored"}) == []


def test_a_seeded_member_is_found_whichever_form_its_channel_id_is_stored_in(world):
    # The member is stored with channel "c123..." (a string), the channel with an ObjectId.
    world.tree(chain_tree(1, a={"preAction": script("this.member.meta.seen = this.member.firstName", RETURN_MEMBER)}))
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.store.count("members", {}) == 2
    assert world.stored()["meta"] == {"visits": 1, "seen": "John"}
    assert result.member["_id"] == MEMBER


def test_the_same_external_id_on_another_channel_is_another_member(world):
    world.tree(chain_tree(1))
    assert world.receive(text("hi"), channel=OTHER_CHANNEL).ok
    others = world.store.find("members", {"externalId": "u-1", "app": APP})
    assert len(others) == 2
    assert {str(m["channel"]) for m in others} == {CHANNEL, OTHER_CHANNEL}
    assert world.stored()["botMeta"] == member_doc()["botMeta"]


def test_a_message_needs_a_sender_and_a_type(world):
    with pytest.raises(ValueError, match="external id"):
        world.receive({"type": "TEXT", "data": {"text": "hi"}})
    with pytest.raises(ValueError, match="a message event is an object with a type"):
        world.receive({"data": {"text": "hi"}})


def test_an_unknown_channel(world):
    world.tree(chain_tree(1))
    result = world.receive(text("hi"), channel="c99999999999999999999999")
    assert not result.ok
    assert result.error == {"type": "NotFound", "message": "channel c99999999999999999999999 does not exist"}
    assert world.store.count("members", {}) == 2
    assert world.marks == []


def test_receive_for_a_member_id(world):
    world.tree(chain_tree(1))
    assert world.receive({"type": "TEXT", "data": {"text": "hi"}}, member_id=MEMBER).ok
    assert position(world) == (TREE, A)


@pytest.mark.parametrize(
    ("channel", "member_id"),
    [
        (CHANNEL, FOREIGN_MEMBER),
        (CHANNEL, "5f74430000000000000000ff"),
        (OTHER_CHANNEL, MEMBER),
        (FOREIGN_CHANNEL, MEMBER),
    ],
    ids=["another-apps-member", "unknown", "member-of-another-channel", "another-apps-channel"],
)
def test_receive_for_a_member_who_is_not_on_the_channel(world, channel, member_id):
    world.tree(chain_tree(1))
    before = world.snapshot()
    result = world.receive(text("hi"), channel=channel, member_id=member_id)
    assert not result.ok
    assert result.error == {"type": "NotFound", "message": f"member {member_id} does not exist on channel {channel}"}
    assert world.marks == []
    assert world.stored() == before


def test_a_member_whose_position_has_children_is_answered_by_them(world):
    world.tree(
        {
            A: {"head": True, "trigger": {"type": "text"}, "responses": say("welcome")},
            B: {"parent": A, "trigger": {"type": "keyword", "keywords": "yes"}, "responses": say("child")},
        }
    )
    assert world.receive(text("hi")).ok
    assert world.receive(text("yes please")).ok
    assert world.texts() == ["welcome", "child"]
    assert position(world) == (TREE, B)
    result = world.receive(text("yes"))  # B has no children and the tree no globals
    assert result.ok and result.nodes == [] and result.sendResults == []
    assert world.texts() == ["welcome", "child"]


def test_nothing_matching_writes_nothing(world):
    world.tree({A: {"head": True, "trigger": {"type": "payload", "payload": "GO"}}})
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert result.ok and result.nodes == []
    assert world.stored() == before


def test_muted_nodes_leave_the_position_and_pass_their_member_on(world):
    world.tree(
        {
            A: {
                "global": True,
                "priority": -10,
                "trigger": {"type": "any"},
                "preAction": script("this.member.meta.muted = True", RETURN_MEMBER),
                "responses": say("muted"),
            },
            B: {
                "parent": C,
                "trigger": {"type": "keyword", "keywords": "go"},
                "preAction": "this.mark(step='b saw ' + str(this.member.meta.muted))",
            },
            C: {"head": True},
        }
    )
    world.place(C)
    result = world.receive(text("hello"))  # only the muted node matches
    assert result.ok, result.error
    assert position(world) == (TREE, C)
    assert world.stored()["meta"]["muted"] is True

    world.set_member(meta={})
    result = world.receive(text("go"))
    assert result.ok, result.error
    assert "b saw True" in world.marks
    assert [(n["compositeId"], n["muted"]) for n in result.nodes] == [(A, True), (B, False)]
    assert position(world) == (TREE, B)


def test_a_tree_that_is_gone_is_skipped_with_a_warning(world):
    world.channel(trees=["7e00000000000000000000ff", TREE])
    world.tree(chain_tree(1))
    result = world.receive(text("hi"))
    assert result.ok
    assert world.texts() == ["a"]
    assert warnings(result) == [
        {
            "level": "warn",
            "message": "tree 7e00000000000000000000ff does not exist in this app",
            "node": None,
            "step": "trigger",
        }
    ]


def test_channel_global_nodes_answer_a_placed_member(world):
    world.tree(
        {
            nid("stop"): {
                "trigger": {"type": "keyword", "keywords": "stop"},
                "preAction": script("this.member.botMeta.subscribe = False", RETURN_MEMBER),
                "responses": say("bye"),
            }
        },
        TREE2,
    )
    world.tree(chain_tree(1))
    world.channel(globalNodes=[{"tree": TREE2, "nodeCompositeId": nid("stop")}])
    world.place(A)
    assert world.receive(text("STOP")).ok
    assert world.texts() == ["bye"]
    assert world.stored()["botMeta"]["subscribe"] is False
    assert position(world) == (TREE2, nid("stop"))


# run_node ------------------------------------------------------------------------------------


def test_run_node_gives_the_agenda_meta_channel_and_event_to_scripts(world):
    world.tree(
        {
            A: {
                "preAction": script(
                    "this.mark(step=f'{this.agendaMeta.orderId} {this.channel._id} {this.channel.name}')",
                    "this.mark(step=f'{this.messageEvent.type} {this.member.externalId}')",
                ),
                "responses": say("reminder"),
            }
        }
    )
    result = world.run_node(A, agenda_meta={"orderId": "o-1"}, event=payload("REMIND"))
    assert result.ok, result.error
    assert world.marks == [f"o-1 {CHANNEL} Webchat", "PAYLOAD u-1", "send:reminder"]
    assert world.sender.sent[0].channel == CHANNEL
    assert world.sender.sent[0].messageEvent["from"] == CHANNEL


@pytest.mark.parametrize(
    ("member_id", "channel_id", "message"),
    [
        (FOREIGN_MEMBER, None, f"member {FOREIGN_MEMBER} does not exist"),
        ("5f74430000000000000000ff", None, "member 5f74430000000000000000ff does not exist"),
        (MEMBER, OTHER_CHANNEL, f"member {MEMBER} does not exist on channel {OTHER_CHANNEL}"),
    ],
)
def test_run_node_for_a_member_it_cannot_see(world, member_id, channel_id, message):
    world.tree(chain_tree(1))
    result = world.run_node(A, member=member_id, channel_id=channel_id)
    assert not result.ok
    assert result.error == {"type": "NotFound", "message": message}
    assert world.marks == []


def test_run_node_of_a_missing_node(world):
    world.tree(chain_tree(2))
    result = world.run_node(nid("bb"))
    assert not result.ok
    assert result.error["type"] == "TreeError"
    assert result.error["message"] == f"tree {TREE} has no node {nid('bb')}; did you mean {B}?"


# sendResults ---------------------------------------------------------------------------------


def test_send_results_have_one_documented_node_send_result_per_node(world):
    world.tree(chain_tree(3, a={"responses": say("one") + say("two")}, b={"responses": []}))
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert len(result.sendResults) == len(result.nodes) == 3
    for entry in result.sendResults:
        assert set(entry) == {"ok", "member", "result"}
        assert (entry["ok"], entry["member"]) == (1, MEMBER)
    assert [len(entry["result"]) for entry in result.sendResults] == [2, 0, 1]
    items = [item for entry in result.sendResults for item in entry["result"]]
    assert len(items) == len(world.sender.sent) == 3
    for item, sent in zip(items, world.sender.sent, strict=True):
        assert set(item) == {"result", "messageEvent", "chatId"}
        event = item["messageEvent"]
        assert event == sent.messageEvent
        assert set(event) == {"from", "to", "data", "type", "timestamp", "messageId"}
        assert (event["from"], event["to"], event["type"], event["timestamp"]) == (CHANNEL, "u-1", "TEXT", FROZEN_NOW)
        assert event["data"] == {"text": sent.response["text"], "transform": ""}
        assert item["result"] == {"recipient_id": "u-1", "message_id": event["messageId"]}
        assert isinstance(item["chatId"], str) and item["chatId"]
    assert len({item["messageEvent"]["messageId"] for item in items}) == 3
    assert [item["messageEvent"]["data"]["text"] for item in items] == ["one", "two", "c"]


def test_a_sender_error_stops_the_chain(world):
    from noderuntime.errors import FetchError

    class Failing(RecordingSender):
        def send(self, member, channel, responses, now_ms):
            raise FetchError("the platform said 500")

    world.tree(chain_tree(2))
    before = world.snapshot()
    result = Engine(world.runtime, sender=Failing()).receive(CHANNEL, text("hi"))
    assert not result.ok
    assert (result.error["type"], result.error["node"], result.error["step"]) == ("FetchError", A, "response")
    assert "the platform said 500" in result.error["message"]
    assert world.stored() == before


def test_the_engine_uses_its_own_world_when_given_one(world):
    from noderuntime.store import Store

    other = Store.embedded_store({"channels": [{"_id": ObjectId(CHANNEL), "app": APP, "trees": [TREE]}]})
    other.insert_one(
        "trees",
        {
            "_id": ObjectId(TREE),
            "app": APP,
            "nodes": chain_tree(1, a={"preAction": "this.mark(step=str(this.moment().valueOf()))"}),
        },
    )
    engine = Engine(world.runtime, sender=world.sender, store=other, now=1234)
    result = engine.receive(CHANNEL, {**text("hi"), "from": "elsewhere"})
    assert result.ok, result.error
    assert world.marks == ["1234", "send:a"]
    assert other.find_one("members", {"externalId": "elsewhere"})["createdAt"] == 1234
    assert world.store.find_one("members", {"externalId": "elsewhere"}) is None


def test_redirect_value_object():
    assert Redirect(TREE, A) == Redirect(TREE, A, True, True, True)


def test_member_update_goes_down_to_the_values_that_changed():
    loaded = {"botMeta": {"tempData": {"a": 1, "b": {"c": 1, "d": 2}}}, "meta": {}}
    member = {"botMeta": {"tempData": {"a": 1, "b": {"c": 9}, "e": [1]}}, "meta": {}}
    assert member_update(loaded, member, None, []) == {
        "$set": {"botMeta.tempData.b.c": 9, "botMeta.tempData.e": [1]},
        "$unset": {"botMeta.tempData.b.d": ""},
    }


def test_two_chains_of_one_member_keep_each_others_temp_data(world):
    """A redirect from a script writes tempData.a; the caller, which ends last, wrote tempData.b."""
    nodes = chain_tree(1)
    nodes[nid("a")]["preAction"] = script(
        "this.member.botMeta.tempData.b = 2",
        f"this.redirectMemberToNode(memberId=this.member._id, treeId=this.node.tree, nodeCompositeId={nid('t')!r})",
        RETURN_MEMBER,
    )
    nodes[nid("t")] = {
        "preAction": script("this.member.botMeta.tempData.a = 1", RETURN_MEMBER),
        "responses": [{"type": "TEXT", "text": "t"}],
    }
    world.tree(nodes)
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.stored()["botMeta"]["tempData"] == {"a": 1, "b": 2}
    # The redirect's chain is part of the message's result.
    (redirect,) = result.redirects
    assert [n["compositeId"] for n in redirect.nodes] == [nid("t")]
    assert [event["data"]["text"] for event in result.sent()] == ["a", "t"]
    assert result.as_dict()["redirects"][0]["nodes"] == redirect.nodes


def test_a_failing_muted_node_is_a_warning_and_the_matched_node_still_answers(world):
    nodes = chain_tree(1)
    nodes[nid("m")] = {
        "head": True,
        "priority": -10,
        "trigger": {"type": "any"},
        "preAction": script("this.member.meta.counted = True", RETURN_MEMBER),
        "postAction": "x = 1 / 0",
    }
    world.tree(nodes)
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert [n["compositeId"] for n in result.nodes] == [nid("m"), nid("a")]
    (warning,) = warnings(result)
    assert warning["step"] == "muted"
    assert "muted node failed, its changes dropped: " in warning["message"]
    assert "division by zero" in warning["message"]
    stored = world.stored()
    assert "counted" not in stored["meta"]
    assert stored["botMeta"]["nodeCompositeId"] == nid("a")
