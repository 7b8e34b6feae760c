"""Trees: check_tree names every problem by node and field, load_tree is scoped
to the app, nodes are found by composite id with a suggestion on a miss."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from noderuntime.engine.trees import Node, Redirect, TreeError, check_tree, load_tree, parse_tree
from noderuntime.store import Store
from tests.noderuntime.engine.conftest import APP, OTHER_APP, TREE, TREE2, nid

WELCOME = "WELCOME000000001"
ASK = "ASKNAME000000001"
THANKS = "THANKS0000000001"


def good_tree() -> dict[str, Any]:
    return {
        "_id": TREE,
        "app": APP,
        "name": "Demo",
        "nodes": {
            WELCOME: {
                "name": "Welcome",
                "head": True,
                "trigger": {"type": "payload", "payload": "GET_STARTED"},
                "preAction": "return {'member': this.member}",
                "responses": [{"type": "TEXT", "text": "Hi!"}, {"script": "return None"}],
                "redirect": {"nodeCompositeId": ASK},
            },
            ASK: {
                "name": "Ask name",
                "parent": WELCOME,
                "priority": -3,
                "trigger": {"type": "keyword", "keywords": ["name", "call me"]},
                "responses": {"default": [{"type": "TEXT", "text": "Name?"}], "zh-HK": [{"type": "TEXT", "text": "?"}]},
                "postAction": "return None",
                "tagging": ["asked"],
            },
            THANKS: {
                "global": True,
                "priority": 2.0,
                "trigger": {"type": "condition", "condition": "this.messageEvent.type == 'TEXT'"},
                "tagging": {"script": "return {'tags': []}"},
                "redirect": {"tree": TREE2, "nodeCompositeId": "ELSEWHERE0000001", "runPreAction": False},
            },
            nid("fallback"): {"priority": 9, "trigger": {"type": "text"}},
            nid("anything"): {"trigger": {"type": "any"}},
        },
    }


def with_node(node: Any, node_id: str = WELCOME) -> dict[str, Any]:
    tree = good_tree()
    tree["nodes"][node_id] = node
    return tree


def problems_of(node: Any, node_id: str = WELCOME) -> list[str]:
    return check_tree(with_node(node, node_id))


# check_tree ------------------------------------------------------------------------


def test_a_well_formed_tree_has_no_problems():
    assert check_tree(good_tree()) == []


def test_a_tree_must_be_an_object():
    assert check_tree([good_tree()]) == ["a tree must be an object"]


def test_the_tree_id_app_and_nodes_are_required():
    assert check_tree({"name": "x"}) == [
        "_id: the tree id is required (a string)",
        "app: the app id is required (a string)",
        "nodes: must be an object of nodes keyed by composite id",
    ]


@pytest.mark.parametrize("nodes", [None, {}, [], "WELCOME000000001"])
def test_nodes_must_be_a_non_empty_object(nodes):
    assert check_tree({"_id": TREE, "app": APP, "nodes": nodes}) == [
        "nodes: must be an object of nodes keyed by composite id"
    ]


@pytest.mark.parametrize("bad_id", ["SHORT", "WELCOME0000000011", "WELCOME 00000001", "WELCOME.00000001"])
def test_a_composite_id_is_16_letters_digits_underscores_or_dashes(bad_id):
    assert problems_of({"name": "x"}, bad_id) == [f"nodes.{bad_id}.composite id must be 16 letters, digits, _ or -"]


def test_a_node_must_be_an_object():
    assert problems_of(["not", "a", "node"]) == [f"nodes.{WELCOME}.a node must be an object"]


def test_an_unknown_field_is_named_with_a_suggestion():
    assert problems_of({"respones": []}) == [f"nodes.{WELCOME}.respones: unknown field; did you mean responses?"]
    assert problems_of({"zzz": 1}) == [f"nodes.{WELCOME}.zzz: unknown field"]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("name", 5, "name: must be a string"),
        ("head", "yes", "head: must be true or false"),
        ("head", 1, "head: must be true or false"),
        ("global", None, "global: must be true or false"),
        ("priority", 1.5, "priority: must be a whole number"),
        ("priority", "1", "priority: must be a whole number"),
        ("priority", True, "priority: must be a whole number"),
        ("priority", float("inf"), "priority: must be a whole number"),
        ("priority", float("nan"), "priority: must be a whole number"),
        ("parent", "NOSUCHNODE000001", "parent: no node NOSUCHNODE000001 in this tree"),
        ("parent", ["ASKNAME000000001"], "parent: must be a composite id (a string)"),
        ("parent", {"id": ASK}, "parent: must be a composite id (a string)"),
        ("preAction", {"script": "x"}, "preAction: must be a script (a string)"),
        ("postAction", 42, "postAction: must be a script (a string)"),
    ],
)
def test_each_field_problem_names_the_node_and_the_field(field, value, problem):
    assert problems_of({field: value}) == [f"nodes.{WELCOME}.{problem}"]


def test_whole_number_priorities_are_accepted_in_any_number_form():
    assert problems_of({"priority": -10}) == []
    assert problems_of({"priority": 3.0}) == []


@pytest.mark.parametrize(
    ("trigger", "problem"),
    [
        ("GET_STARTED", "trigger: must be an object with a type"),
        ({"payload": "X"}, "trigger.type: must be one of payload, keyword, text, condition, any, not None"),
        ({"type": "nlp"}, "trigger.type: must be one of payload, keyword, text, condition, any, not 'nlp'"),
        ({"type": "payload"}, "trigger.payload: must be a string or a list of strings"),
        ({"type": "payload", "payload": ""}, "trigger.payload: must be a string or a list of strings"),
        ({"type": "payload", "payload": ["A", 1]}, "trigger.payload: must be a string or a list of strings"),
        ({"type": "keyword", "keywords": []}, "trigger.keywords: must be a string or a list of strings"),
        ({"type": "keyword", "keyword": "hi"}, "trigger.keywords: must be a string or a list of strings"),
        ({"type": "condition"}, "trigger.condition: must be an expression (a string)"),
        ({"type": "condition", "condition": "   "}, "trigger.condition: must be an expression (a string)"),
    ],
)
def test_trigger_problems(trigger, problem):
    assert problems_of({"trigger": trigger}) == [f"nodes.{WELCOME}.{problem}"]


@pytest.mark.parametrize(
    "trigger",
    [
        {"type": "payload", "payload": "A"},
        {"type": "payload", "payload": ["A", "B"]},
        {"type": "keyword", "keywords": "hi"},
        {"type": "text"},
        {"type": "any"},
        {"type": "condition", "condition": "True"},
    ],
)
def test_good_triggers(trigger):
    assert problems_of({"trigger": trigger}) == []


@pytest.mark.parametrize(
    ("responses", "problem"),
    [
        ({"type": "TEXT", "text": "hi"}, "responses: a locale map needs a 'default' list"),
        ("hi", "responses: must be a list of responses"),
        (["hi"], "responses[0]: must be a response object or {script: ...}"),
        (
            [{"type": "TEXT", "text": "a"}, {"text": "b"}],
            "responses[1].type: a response object needs a type (TEXT, IMAGE, ...)",
        ),
        (
            [{"script": "return 1", "type": "TEXT"}],
            "responses[0]: a response script is {script: '...'} and nothing else",
        ),
        ([{"script": 5}], "responses[0]: a response script is {script: '...'} and nothing else"),
        ({"en": [{"type": "TEXT", "text": "hi"}]}, "responses: a locale map needs a 'default' list"),
        (
            {"default": [], "en": [{"text": "hi"}]},
            "responses.en[0].type: a response object needs a type (TEXT, IMAGE, ...)",
        ),
        ({"default": {"type": "TEXT"}}, "responses.default: must be a list of responses"),
    ],
)
def test_response_problems(responses, problem):
    assert problems_of({"responses": responses}) == [f"nodes.{WELCOME}.{problem}"]


@pytest.mark.parametrize(
    ("tagging", "problem"),
    [
        (["a", 1], "tagging: tags are a list of non-empty strings"),
        ([""], "tagging: tags are a list of non-empty strings"),
        (["x"] * 101, "tagging: a node adds at most 100 tags, not 101"),
        ("vip", "tagging: must be a list of tags or {script: '...'}"),
        ({"script": "return {}", "tags": []}, "tagging: must be a list of tags or {script: '...'}"),
        ({"script": 3}, "tagging: must be a list of tags or {script: '...'}"),
    ],
)
def test_tagging_problems(tagging, problem):
    assert problems_of({"tagging": tagging}) == [f"nodes.{WELCOME}.{problem}"]


@pytest.mark.parametrize(
    ("redirect", "problems"),
    [
        (ASK, ["redirect: must be an object"]),
        ({}, ["redirect.nodeCompositeId: the target node is required"]),
        ({"nodeCompositeId": "NOSUCHNODE000001"}, ["redirect.nodeCompositeId: no node NOSUCHNODE000001 in this tree"]),
        ({"nodeCompositeId": ASK, "runPreActions": True}, ["redirect.runPreActions: unknown field"]),
        ({"nodeCompositeId": ASK, "sendResponse": "no"}, ["redirect.sendResponse: must be true or false"]),
        (
            {"nodeCompositeId": 7, "runPostAction": 0},
            ["redirect.nodeCompositeId: the target node is required", "redirect.runPostAction: must be true or false"],
        ),
        ({"tree": 5, "nodeCompositeId": ASK}, ["redirect.tree: must be a tree id (a string)"]),
    ],
)
def test_redirect_problems(redirect, problems):
    assert problems_of({"redirect": redirect}) == [f"nodes.{WELCOME}.{p}" for p in problems]


def test_a_redirect_to_another_tree_is_not_checked_against_this_tree():
    assert problems_of({"redirect": {"tree": TREE2, "nodeCompositeId": "ELSEWHERE0000001"}}) == []


def test_a_redirect_with_a_null_tree_stays_in_this_tree():
    assert problems_of({"redirect": {"tree": None, "nodeCompositeId": ASK}}) == []
    assert problems_of({"redirect": {"tree": None, "nodeCompositeId": "NOSUCHNODE000001"}}) == [
        f"nodes.{WELCOME}.redirect.nodeCompositeId: no node NOSUCHNODE000001 in this tree"
    ]
    redirect = with_node({"redirect": {"tree": None, "nodeCompositeId": ASK}})
    assert parse_tree(redirect).node(WELCOME).redirect == Redirect(TREE, ASK)


def test_every_problem_of_every_node_is_reported():
    tree = good_tree()
    tree["nodes"][WELCOME] = {"head": "yes", "trigger": {"type": "nlp"}}
    tree["nodes"][ASK] = {"parent": "GONE000000000001", "tagging": "x"}
    assert check_tree(tree) == [
        f"nodes.{WELCOME}.head: must be true or false",
        f"nodes.{WELCOME}.trigger.type: must be one of payload, keyword, text, condition, any, not 'nlp'",
        f"nodes.{ASK}.parent: no node GONE000000000001 in this tree",
        f"nodes.{ASK}.tagging: must be a list of tags or {{script: '...'}}",
    ]


# load_tree ---------------------------------------------------------------------------


@pytest.fixture
def store() -> Store:
    mine = {**good_tree(), "_id": ObjectId(TREE)}
    theirs = {**good_tree(), "_id": ObjectId(TREE2), "app": OTHER_APP}
    by_string = {**good_tree(), "_id": "my-tree", "name": "Seeded by hand"}
    return Store.embedded_store({"trees": [mine, theirs, by_string]})


def test_load_tree_reads_the_apps_tree_and_its_nodes(store):
    tree = load_tree(store, APP, TREE)
    assert (tree.id, tree.app, tree.name) == (TREE, APP, "Demo")
    assert list(tree.nodes) == [WELCOME, ASK, THANKS, nid("fallback"), nid("anything")]
    welcome = tree.node(WELCOME)
    assert welcome == Node(
        tree=TREE,
        id=WELCOME,
        name="Welcome",
        head=True,
        trigger={"type": "payload", "payload": "GET_STARTED"},
        pre_action="return {'member': this.member}",
        responses=[{"type": "TEXT", "text": "Hi!"}, {"script": "return None"}],
        redirect=Redirect(TREE, ASK),
    )
    ask = tree.node(ASK)
    assert (ask.parent, ask.priority, ask.tagging, ask.post_action) == (WELCOME, -3, ["asked"], "return None")
    thanks = tree.node(THANKS)
    assert thanks.is_global and thanks.priority == 2 and isinstance(thanks.priority, int)
    assert thanks.redirect == Redirect(TREE2, "ELSEWHERE0000001", run_pre_action=False)


def test_load_tree_finds_a_tree_stored_with_a_string_id(store):
    assert load_tree(store, APP, "my-tree").name == "Seeded by hand"


def test_another_apps_tree_is_as_missing_as_an_absent_one(store):
    with pytest.raises(TreeError) as theirs:
        load_tree(store, APP, TREE2)
    with pytest.raises(TreeError) as absent:
        load_tree(store, APP, "7e00000000000000000000ff")
    assert str(theirs.value) == f"tree {TREE2} does not exist in this app"
    assert str(absent.value) == "tree 7e00000000000000000000ff does not exist in this app"
    # ... and the owner finds it.
    assert load_tree(store, OTHER_APP, TREE2).app == OTHER_APP


def test_a_malformed_tree_is_refused_naming_its_first_problem(store):
    store.update("trees", {"_id": ObjectId(TREE)}, {"$set": {f"nodes.{ASK}.parent": "GONE000000000001"}})
    with pytest.raises(TreeError, match=f"tree {TREE} is malformed: nodes.{ASK}.parent: no node GONE000000000001"):
        load_tree(store, APP, TREE)


# Nodes ---------------------------------------------------------------------------------


def test_a_missing_node_is_named_with_a_suggestion(store):
    tree = load_tree(store, APP, TREE)
    with pytest.raises(TreeError) as error:
        tree.node("WELCOME000000002")
    assert str(error.value) == f"tree {TREE} has no node WELCOME000000002; did you mean {WELCOME}?"


def test_a_missing_node_with_nothing_close_has_no_suggestion(store):
    tree = load_tree(store, APP, TREE)
    with pytest.raises(TreeError) as error:
        tree.node("zzzzzzzzzzzzzzzz")
    assert str(error.value) == f"tree {TREE} has no node zzzzzzzzzzzzzzzz"


def test_heads_globals_and_children(store):
    tree = load_tree(store, APP, TREE)
    assert [n.id for n in tree.heads()] == [WELCOME]
    assert [n.id for n in tree.globals()] == [THANKS]
    assert [n.id for n in tree.children(WELCOME)] == [ASK]
    assert tree.children(ASK) == []


def test_a_redirect_without_options_runs_every_part():
    assert Redirect.from_options(TREE, ASK, None) == Redirect(TREE, ASK, True, True, True)
    assert Redirect.from_options(TREE, ASK, {"sendResponse": False}) == Redirect(TREE, ASK, True, False, True)


def test_muted_from_minus_ten_down():
    def node(priority: int) -> Node:
        return Node(tree=TREE, id=WELCOME, priority=priority)

    assert [node(p).muted for p in (-11, -10, -9, 0)] == [True, True, False, False]


def test_how_a_node_is_named_and_shown_to_scripts():
    tree = parse_tree(good_tree())
    assert tree.node(WELCOME).label() == f"Welcome ({TREE}/{WELCOME})"
    assert tree.node(THANKS).label() == f"({TREE}/{THANKS})"
    assert tree.node(ASK).script_view() == {"tree": TREE, "compositeId": ASK, "name": "Ask name", "priority": -3}
