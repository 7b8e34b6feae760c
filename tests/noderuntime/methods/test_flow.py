"""redirectMemberToNode from a script: the documented return shape,
this.agendaMeta, redirect options, parameter errors, tenant scope, errors of
the target node, nested redirects, and nested runs on a one-worker pool."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import Config
from noderuntime.runtime import RunResult
from tests.noderuntime.conftest import FROZEN_NOW
from tests.noderuntime.engine.conftest import (
    APP,
    CHANNEL,
    FOREIGN_MEMBER,
    FOREIGN_TREE,
    MEMBER,
    OTHER_APP,
    OTHER_CHANNEL,
    TREE,
    TREE2,
    World,
    make_runtime,
    mark,
    nid,
    text,
)

X, Y, Z = nid("x"), nid("y"), nid("z")
START = nid("start")
RETURN_MEMBER = "return {'member': this.member}"


def lines(*parts: str) -> str:
    return "\n".join(parts)


def redirect_call(node: str = X, tree: str = TREE, member: str = MEMBER, **extra: Any) -> str:
    params = {"memberId": member, "treeId": tree, "nodeCompositeId": node, **extra}
    return f"this.redirectMemberToNode({params!r})"


def targets() -> dict[str, dict[str, Any]]:
    """X -> Y, each marking its parts; Y keeps this.agendaMeta in the member's meta."""
    return {
        X: {
            "name": "Target",
            "preAction": lines(mark("x pre"), "this.member.meta.fromX = True", RETURN_MEMBER),
            "responses": [{"script": lines(mark("x response"), "return {'type': 'TEXT', 'text': 'x'}")}],
            "postAction": mark("x post"),
            "tagging": ["reached-x"],
            "redirect": {"nodeCompositeId": Y},
        },
        Y: {
            "preAction": lines(mark("y pre"), "this.member.meta.agendaMeta = this.agendaMeta", RETURN_MEMBER),
            "responses": [{"type": "TEXT", "text": "y"}],
        },
    }


@pytest.fixture
def world() -> Iterator[World]:
    with make_runtime() as runtime:
        w = World(runtime)
        w.tree(targets())
        yield w


def run(world: World, source: str, *, app: str = APP, mode: str | None = None) -> RunResult:
    """A script of ``app`` (not inside a node chain), as an API call or a test would run it."""
    return world.runtime.run(source, {"app": app, "messageEvent": text("hi")}, mode=mode)


def fails(world: World, source: str, **kwargs: Any) -> dict[str, Any]:
    result = run(world, source, **kwargs)
    assert not result.ok, result.value
    return result.error


# The documented behaviour ---------------------------------------------------------------


def test_redirect_runs_the_target_chain_and_returns_the_documented_shape(world):
    result = run(world, f"return {redirect_call(meta={'orderId': 'o-1'})}")
    assert result.ok, result.error
    value = result.value
    assert set(value) == {"ok", "member", "sendResults"}
    assert (value["ok"], value["member"]) == (1, MEMBER)
    assert len(value["sendResults"]) == 2  # one NodeSendResult per node run: X, Y
    for entry, said in zip(value["sendResults"], ["x", "y"], strict=True):
        assert (entry["ok"], entry["member"]) == (1, MEMBER)
        (item,) = entry["result"]
        assert set(item) == {"result", "messageEvent", "chatId"}
        assert item["messageEvent"]["data"]["text"] == said
        assert item["messageEvent"]["to"] == "u-1"
        assert item["messageEvent"]["timestamp"] == FROZEN_NOW
    assert world.marks == ["x pre", "x response", "x post", "y pre"]
    stored = world.stored()
    assert stored["meta"]["fromX"] is True
    assert stored["tags"] == ["vip", "reached-x"]
    assert (stored["botMeta"]["tree"], stored["botMeta"]["nodeCompositeId"]) == (TREE, Y)


def test_agenda_meta_in_the_target_is_the_meta_given(world):
    meta = {"orderId": "o-1", "items": [{"sku": "A", "qty": 2}], "nested": {"deep": True}}
    assert run(world, redirect_call(meta=meta)).ok
    assert world.stored()["meta"]["agendaMeta"] == meta


def test_without_meta_agenda_meta_is_null(world):
    assert run(world, redirect_call()).ok
    assert world.stored()["meta"]["agendaMeta"] is None


def test_keyword_arguments_work_too(world):
    source = f"return this.redirectMemberToNode(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={Y!r}, meta={{'k': 1}})"
    result = run(world, source)
    assert result.ok, result.error
    assert len(result.value["sendResults"]) == 1
    assert world.stored()["meta"]["agendaMeta"] == {"k": 1}


def test_the_target_may_be_in_another_tree_of_the_app(world):
    world.tree({Z: {"preAction": "this.mark(step='z in ' + this.node.tree)"}}, TREE2)
    assert run(world, redirect_call(Z, TREE2)).ok
    assert world.marks == [f"z in {TREE2}"]


@pytest.mark.parametrize(
    ("option", "marks", "texts", "tags"),
    [
        ("runPreAction", ["x response", "x post", "y pre"], ["x", "y"], ["vip", "reached-x"]),
        ("sendResponse", ["x pre", "x post", "y pre"], ["y"], ["vip", "reached-x"]),
        ("runPostAction", ["x pre", "x response", "y pre"], ["x", "y"], ["vip"]),
    ],
)
def test_redirect_options_are_honoured(world, option, marks, texts, tags):
    result = run(world, f"return {redirect_call(redirectOptions={option: False})}")
    assert result.ok, result.error
    assert world.marks == marks
    sent = [item["messageEvent"]["data"]["text"] for entry in result.value["sendResults"] for item in entry["result"]]
    assert sent == texts
    assert len(result.value["sendResults"]) == 2
    assert world.stored()["tags"] == tags
    # the options apply to the target only: Y, reached by X's own redirect, runs whole.
    assert "y pre" in world.marks


def test_all_options_true_is_the_default(world):
    options = {"runPreAction": True, "sendResponse": True, "runPostAction": True}
    assert run(world, redirect_call(redirectOptions=options)).ok
    assert world.marks == ["x pre", "x response", "x post", "y pre"]


def test_a_channel_id_matching_the_member_is_accepted(world):
    assert run(world, redirect_call(Y, channelId=CHANNEL)).ok
    assert world.marks == ["y pre"]


# From a node, through the engine ----------------------------------------------------------


def test_a_node_script_redirecting_shares_the_engines_sender_and_keeps_both_writes(world):
    nodes = targets()
    nodes[START] = {
        "head": True,
        "trigger": {"type": "text"},
        "preAction": lines(
            f"r = {redirect_call(meta={'from': 'start'})}",
            "this.mark(step=f'redirect said {r.ok} {r.member} {len(r.sendResults)}')",
            "this.member.meta.fromStart = True",
            RETURN_MEMBER,
        ),
        "responses": [{"type": "TEXT", "text": "start"}],
    }
    world.tree(nodes)
    result = world.receive(text("hi"))
    assert result.ok, result.error
    assert world.marks == [
        "x pre",
        "x response",
        "send:x",
        "x post",
        "y pre",
        "send:y",
        f"redirect said 1 {MEMBER} 2",
        "send:start",
    ]
    assert world.texts() == ["x", "y", "start"]
    # The outer chain reports its own node; the redirect's nodes were reported to the script.
    assert [n["compositeId"] for n in result.nodes] == [START]
    stored = world.stored()
    # The target's writes and the outer chain's writes both survive (key by key) ...
    assert stored["meta"] == {"visits": 1, "fromX": True, "agendaMeta": {"from": "start"}, "fromStart": True}
    assert stored["tags"] == ["vip", "reached-x"]
    # ... and the member ends where the outer chain ended.
    assert (stored["botMeta"]["tree"], stored["botMeta"]["nodeCompositeId"]) == (TREE, START)


# Parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"treeId": TREE, "nodeCompositeId": X}, "redirectMemberToNode: 'memberId' is required"),
        ({"memberId": MEMBER, "nodeCompositeId": X}, "redirectMemberToNode: 'treeId' is required"),
        ({"memberId": MEMBER, "treeId": TREE}, "redirectMemberToNode: 'nodeCompositeId' is required"),
        (
            {"memberId": MEMBER, "treeId": TREE, "nodeCompositeId": X, "redirectOptions": {"runPreActions": False}},
            "redirectMemberToNode: 'redirectOptions' has no option 'runPreActions' "
            "(options: runPreAction, sendResponse, runPostAction)",
        ),
        (
            {"memberId": MEMBER, "treeId": TREE, "nodeCompositeId": X, "redirectOptions": {"sendResponse": "no"}},
            "redirectMemberToNode: 'redirectOptions' option 'sendResponse' must be true or false",
        ),
        (
            {"memberId": MEMBER, "treeId": TREE, "nodeCompositeId": X, "redirectOptions": {"runPostAction": 0}},
            "redirectMemberToNode: 'redirectOptions' option 'runPostAction' must be true or false",
        ),
        (
            {"memberId": MEMBER, "treeId": TREE, "nodeCompositeId": X, "node": X},
            "redirectMemberToNode: unknown parameter 'node'; expected: memberId, channelId, treeId, "
            "nodeCompositeId, redirectOptions, meta",
        ),
    ],
)
def test_bad_parameters_are_a_param_error(world, params, message):
    error = fails(world, f"return this.redirectMemberToNode({params!r})")
    assert (error["type"], error["message"]) == ("ParamError", message)
    assert world.marks == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("memberId", 5),
        ("treeId", None),
        ("nodeCompositeId", ["x"]),
        ("meta", "o-1"),
        ("redirectOptions", [True]),
        ("channelId", 1),
    ],
)
def test_a_parameter_of_the_wrong_type_is_a_param_error(world, name, value):
    params = {"memberId": MEMBER, "treeId": TREE, "nodeCompositeId": X, name: value}
    error = fails(world, f"return this.redirectMemberToNode({params!r})")
    assert error["type"] == "ParamError"
    assert f"'{name}'" in error["message"]
    assert world.marks == []


# Tenant scope ---------------------------------------------------------------------------------


def test_another_apps_member_is_not_found(world):
    before = world.snapshot()
    foreign_before = world.stored(FOREIGN_MEMBER)
    error = fails(world, redirect_call(member=FOREIGN_MEMBER))
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"redirectMemberToNode: member {FOREIGN_MEMBER} does not exist",
    )
    assert world.marks == []
    assert world.stored(FOREIGN_MEMBER) == foreign_before
    assert world.stored() == before


def test_another_apps_tree_is_not_found(world):
    world.tree({X: {"preAction": mark("theirs")}}, FOREIGN_TREE, app=OTHER_APP)
    error = fails(world, redirect_call(tree=FOREIGN_TREE))
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"redirectMemberToNode: tree {FOREIGN_TREE} does not exist in this app",
    )
    assert world.marks == []


def test_the_other_app_cannot_reach_this_apps_member_or_tree(world):
    error = fails(world, redirect_call(), app=OTHER_APP)
    assert error["type"] == "NotFound"
    assert world.marks == []


def test_an_unknown_node_is_not_found_with_a_suggestion(world):
    error = fails(world, redirect_call(nid("yy")))
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"redirectMemberToNode: tree {TREE} has no node {nid('yy')}; did you mean {Y}?",
    )


def test_a_channel_id_the_member_is_not_on_is_not_found(world):
    error = fails(world, redirect_call(channelId=OTHER_CHANNEL))
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"redirectMemberToNode: member {MEMBER} does not exist on channel {OTHER_CHANNEL}",
    )
    assert world.marks == []


def test_a_not_found_can_be_caught(world):
    source = lines(
        "try:",
        f"    {redirect_call(member=FOREIGN_MEMBER)}",
        "except Exception as e:",
        "    return [e.kind, e.message]",
    )
    result = run(world, source)
    assert result.ok, result.error
    assert result.value == ["NotFound", f"redirectMemberToNode: member {FOREIGN_MEMBER} does not exist"]


# Errors in the target --------------------------------------------------------------------------


def broken_target(world: World) -> None:
    nodes = targets()
    nodes[Y]["preAction"] = lines("x = 1", "this.member.meta.y = 1", "y = 1 / 0", RETURN_MEMBER)
    nodes[Y]["name"] = "Broken"
    world.tree(nodes)


def test_a_target_script_error_is_a_redirect_error_naming_the_node_and_line(world):
    broken_target(world)
    before = world.snapshot()
    error = fails(world, f"x = 1\nreturn {redirect_call()}")
    assert error["type"] == "RedirectError"
    assert error["message"] == f"redirectMemberToNode: ZeroDivisionError in node Broken ({TREE}/{Y}) preAction, line 3: division by zero"
    assert error["line"] == 2  # the calling script's own line
    # X ran and sent; the target chain wrote nothing back.
    assert world.marks == ["x pre", "x response", "x post"]
    assert world.stored() == before


def test_a_redirect_error_can_be_caught_by_the_calling_script(world):
    broken_target(world)
    source = lines(
        "try:",
        f"    {redirect_call()}",
        "except Exception as e:",
        "    return [e.kind, e.message]",
    )
    result = run(world, source)
    assert result.ok, result.error
    assert result.value == [
        "RedirectError",
        f"redirectMemberToNode: ZeroDivisionError in node Broken ({TREE}/{Y}) preAction, line 3: division by zero",
    ]


def test_a_redirect_error_inside_a_node_chain_can_be_caught_and_the_chain_goes_on(world):
    broken_target(world)
    nodes = {
        START: {
            "head": True,
            "trigger": {"type": "text"},
            "preAction": lines(
                "try:",
                f"    {redirect_call()}",
                "except Exception as e:",
                "    this.member.meta.redirectFailed = e.kind",
                RETURN_MEMBER,
            ),
            "responses": [{"type": "TEXT", "text": "start"}],
        }
    }
    world.tree({**world.store.find_one("trees", {"_id": ObjectId(TREE)})["nodes"], **nodes})
    result = world.receive(text("hi"))
    assert result.ok, result.error
    stored = world.stored()
    assert stored["meta"]["redirectFailed"] == "RedirectError"
    assert "y" not in stored["meta"] and "fromX" not in stored["meta"]
    assert (stored["botMeta"]["tree"], stored["botMeta"]["nodeCompositeId"]) == (TREE, START)
    assert world.texts() == ["x", "start"]


def test_a_redirect_cycle_in_the_target_chain_is_a_redirect_error(world):
    nodes = targets()
    nodes[Y]["redirect"] = {"nodeCompositeId": X}
    world.tree(nodes)
    error = fails(world, redirect_call())
    assert error["type"] == "RedirectError"
    assert error["message"] == f"redirectMemberToNode: redirect cycle: {TREE}/{X} -> {TREE}/{Y} -> {TREE}/{X}"


def test_a_node_that_redirects_to_itself_from_its_script_stops():
    with make_runtime(Config(workers=1, mode="inprocess", max_redirects=3)) as runtime:
        deep = World(runtime)
        deep.tree({X: {"name": "Loop", "preAction": lines(mark("x"), redirect_call())}})
        result = runtime.run(redirect_call(), {"app": APP})
        assert not result.ok
        error = result.error
        assert error["type"] == "RedirectError"
        assert error["message"].startswith(f"redirectMemberToNode: node Loop ({TREE}/{X}) preAction, line 2: ")
        assert error["message"].endswith("redirects made by scripts are nested more than 3 deep")
        assert deep.marks == ["x", "x", "x"]
        assert deep.stored()["botMeta"] == {"liveChat": False, "subscribe": True, "tempData": {}}


def test_nesting_from_a_node_chain_counts_from_the_engine(world):
    world.tree(
        {
            **targets(),
            X: {"preAction": lines(mark("x"), redirect_call())},
            START: {"head": True, "trigger": {"type": "text"}, "preAction": redirect_call()},
        }
    )
    before = world.snapshot()
    result = world.receive(text("hi"))
    assert not result.ok
    assert result.error["type"] == "RedirectError"
    assert result.error["node"] == START
    assert result.error["message"].endswith("redirects made by scripts are nested more than 10 deep")
    assert world.marks == ["x"] * 10
    assert world.stored() == before


# Across the worker process boundary ----------------------------------------------------------


def without_deadlock(call: Callable[[], Any], seconds: float = 30) -> Any:
    """``call()``, failing the test (instead of hanging it) when it does not return in time."""
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"nested runs did not finish in {seconds} s: deadlocked waiting for a worker?")
    assert outcome, "the call raised (see the thread's traceback above)"
    return outcome[0]


@pytest.mark.slow
def test_nested_runs_borrow_a_worker_on_a_one_worker_pool():
    config = Config(workers=1, mode="isolated").with_limits(wall_ms=20_000)
    with make_runtime(config) as runtime:
        world = World(runtime)
        nodes = targets()
        nodes[X]["preAction"] = lines(
            mark("x pre"), redirect_call(Z, meta={"depth": 2}), "this.member.meta.fromX = True", RETURN_MEMBER
        )
        nodes[Z] = {"preAction": lines(mark("z pre"), "this.member.meta.z = this.agendaMeta.depth", RETURN_MEMBER)}
        nodes[START] = {
            "head": True,
            "trigger": {"type": "text"},
            "preAction": lines(
                mark("start pre"),
                f"r = {redirect_call(meta={'depth': 1})}",
                "this.mark(step='start got ' + str(len(r.sendResults)))",
            ),
            "responses": [{"type": "TEXT", "text": "start"}],
        }
        world.tree(nodes)
        result = without_deadlock(lambda: world.receive(text("hi")))
        assert result.ok, result.error
        assert world.marks == [
            "start pre",
            "x pre",
            "z pre",
            "x response",
            "send:x",
            "x post",
            "y pre",
            "send:y",
            "start got 2",
            "send:start",
        ]
        stored = world.stored()
        assert stored["meta"] == {"visits": 1, "z": 2, "fromX": True, "agendaMeta": {"depth": 1}}
        assert (stored["botMeta"]["tree"], stored["botMeta"]["nodeCompositeId"]) == (TREE, START)


@pytest.mark.slow
def test_a_redirect_error_crosses_the_process_boundary():
    with make_runtime(Config(workers=1, mode="isolated")) as runtime:
        world = World(runtime)
        broken_target(world)
        source = lines("try:", f"    {redirect_call()}", "except Exception as e:", "    return [e.kind, e.message]")
        result = runtime.run(source, {"app": APP})
        assert result.ok, result.error
        assert result.value == [
            "RedirectError",
            f"redirectMemberToNode: ZeroDivisionError in node Broken ({TREE}/{Y}) preAction, line 3: division by zero",
        ]
