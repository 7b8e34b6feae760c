"""Trees and nodes: what is stored in the ``trees`` collection and how it is read.

A tree is one document; its nodes are an object keyed by their 16-character
composite id::

    {"_id": "<24-hex tree id>", "app": "<app id>", "name": "Demo",
     "nodes": {"WELCOME000000001": {"name": "Welcome", "head": true,
                                    "trigger": {"type": "payload", "payload": "GET_STARTED"},
                                    "responses": [{"type": "TEXT", "text": "Hi!"}]}}}

A node's fields (all optional but one of a trigger, a parent or being
reached by a redirect makes it useful): ``name``, ``head`` (a head node is a
new member's entry to the tree), ``global`` (matched whenever the member is
in this tree), ``parent`` (the composite id of the node whose answer it
is), ``priority`` (smaller first; -10 and below is muted), ``trigger``,
``preAction``, ``responses``, ``postAction``, ``tagging`` and ``redirect``.
:func:`check_tree` says precisely what is wrong with a tree.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from noderuntime.store import Store
from noderuntime.store.ids import for_script, match_id
from noderuntime.store.schema import TREES

COMPOSITE_ID = re.compile(r"[A-Za-z0-9_-]{16}")
#: At or below this priority a node is muted: it runs before the matched node.
MUTED_PRIORITY = -10
TRIGGER_TYPES = ("payload", "keyword", "text", "condition", "any")
REDIRECT_OPTIONS = ("runPreAction", "sendResponse", "runPostAction")
#: The most tags one node adds, and the longest tag.
MAX_NEW_TAGS = 100
MAX_TAG_LENGTH = 100
NODE_FIELDS = (
    "name",
    "head",
    "global",
    "parent",
    "priority",
    "trigger",
    "preAction",
    "responses",
    "postAction",
    "tagging",
    "redirect",
)


class TreeError(Exception):
    """A tree or node is missing or malformed; the message says which and why."""


@dataclass(frozen=True)
class Redirect:
    """Where a node goes next, and which parts of the target run."""

    tree: str
    node: str
    run_pre_action: bool = True
    send_response: bool = True
    run_post_action: bool = True

    @classmethod
    def from_options(cls, tree: str, node: str, options: dict[str, Any] | None) -> Redirect:
        """A redirect to ``tree``/``node`` with the documented options (each default true)."""
        options = options or {}
        return cls(
            tree,
            node,
            bool(options.get("runPreAction", True)),
            bool(options.get("sendResponse", True)),
            bool(options.get("runPostAction", True)),
        )


@dataclass(frozen=True)
class Node:
    """One node of a tree, as the engine runs it."""

    tree: str
    id: str
    name: str = ""
    head: bool = False
    is_global: bool = False
    parent: str | None = None
    priority: int = 0
    trigger: dict[str, Any] | None = None
    pre_action: str | None = None
    responses: Any = None
    post_action: str | None = None
    tagging: Any = None
    redirect: Redirect | None = None

    @property
    def muted(self) -> bool:
        """A muted node runs first and leaves the member where it was."""
        return self.priority <= MUTED_PRIORITY

    def label(self) -> str:
        """``Welcome (tree t…/WELCOME000000001)``: how errors name a node."""
        name = f"{self.name} " if self.name else ""
        return f"{name}({self.tree}/{self.id})"

    def script_view(self) -> dict[str, Any]:
        """``this.node``: the node's identity, not its scripts."""
        return {"tree": self.tree, "compositeId": self.id, "name": self.name, "priority": self.priority}


@dataclass
class Tree:
    """A tree and its nodes."""

    id: str
    app: str
    name: str
    nodes: dict[str, Node] = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        """The node with this composite id; a miss names the tree and suggests a close id."""
        found = self.nodes.get(node_id)
        if found is None:
            close = difflib.get_close_matches(node_id, list(self.nodes), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise TreeError(f"tree {self.id} has no node {node_id}{hint}")
        return found

    def heads(self) -> list[Node]:
        """The nodes a new member can start at."""
        return [n for n in self.nodes.values() if n.head]

    def globals(self) -> list[Node]:
        """The nodes matched whenever the member is in this tree."""
        return [n for n in self.nodes.values() if n.is_global]

    def children(self, node_id: str) -> list[Node]:
        """The answers to a node."""
        return [n for n in self.nodes.values() if n.parent == node_id]


def load_tree(store: Store, app: str, tree_id: str) -> Tree:
    """The app's tree with this id. Another app's tree is as missing as an absent one."""
    document = store.find_one(TREES, {"_id": match_id(tree_id), "app": match_id(app)})
    if document is None:
        raise TreeError(f"tree {tree_id} does not exist in this app")
    problems = check_tree(document)
    if problems:
        raise TreeError(f"tree {tree_id} is malformed: {problems[0]}")
    return parse_tree(document)


def parse_tree(document: dict[str, Any]) -> Tree:
    """A checked tree document as a :class:`Tree`."""
    document = for_script(document)
    tree_id = document["_id"]
    nodes = {}
    for node_id, raw in (document.get("nodes") or {}).items():
        redirect = raw.get("redirect")
        nodes[node_id] = Node(
            tree=tree_id,
            id=node_id,
            name=raw.get("name") or "",
            head=bool(raw.get("head", False)),
            is_global=bool(raw.get("global", False)),
            parent=raw.get("parent"),
            priority=int(raw.get("priority", 0)),
            trigger=raw.get("trigger"),
            pre_action=raw.get("preAction"),
            responses=raw.get("responses"),
            post_action=raw.get("postAction"),
            tagging=raw.get("tagging"),
            redirect=None
            if redirect is None
            else Redirect.from_options(redirect.get("tree") or tree_id, redirect["nodeCompositeId"], redirect),
        )
    return Tree(tree_id, document["app"], document.get("name") or "", nodes)


def check_tree(document: Any) -> list[str]:
    """Everything wrong with a tree document, each naming the node and field
    (empty when the tree is well formed)."""
    if not isinstance(document, dict):
        return ["a tree must be an object"]
    problems = []
    for key, what in (("_id", "the tree id"), ("app", "the app id")):
        if not isinstance(document.get(key), (str, ObjectId)):
            problems.append(f"{key}: {what} is required (a string)")
    nodes = document.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        return [*problems, "nodes: must be an object of nodes keyed by composite id"]
    for node_id, node in nodes.items():
        problems.extend(f"nodes.{node_id}.{p}" for p in _check_node(node_id, node, nodes))
    return problems


def _check_node(node_id: str, node: Any, nodes: dict[str, Any]) -> list[str]:
    if not COMPOSITE_ID.fullmatch(node_id):
        return ["composite id must be 16 letters, digits, _ or -"]
    if not isinstance(node, dict):
        return ["a node must be an object"]
    problems = []
    for key in node:
        if key not in NODE_FIELDS:
            close = difflib.get_close_matches(key, NODE_FIELDS, n=1)
            problems.append(f"{key}: unknown field" + (f"; did you mean {close[0]}?" if close else ""))
    if "name" in node and not isinstance(node["name"], str):
        problems.append("name: must be a string")
    for key in ("head", "global"):
        if key in node and not isinstance(node[key], bool):
            problems.append(f"{key}: must be true or false")
    priority = node.get("priority", 0)
    if (
        isinstance(priority, bool)
        or not isinstance(priority, (int, float))
        or (isinstance(priority, float) and not priority.is_integer())
    ):
        problems.append("priority: must be a whole number")
    parent = node.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append("parent: must be a composite id (a string)")
    elif parent is not None and parent not in nodes:
        problems.append(f"parent: no node {parent} in this tree")
    for key in ("preAction", "postAction"):
        if key in node and not isinstance(node[key], str):
            problems.append(f"{key}: must be a script (a string)")
    if "trigger" in node:
        problems.extend(f"trigger.{p}" if p[0] != ":" else f"trigger{p}" for p in _check_trigger(node["trigger"]))
    if "responses" in node:
        problems.extend(_check_responses(node["responses"]))
    if "tagging" in node:
        problems.extend(_check_tagging(node["tagging"]))
    if "redirect" in node:
        problems.extend(_check_redirect(node["redirect"], nodes))
    return problems


def _check_trigger(trigger: Any) -> list[str]:
    if not isinstance(trigger, dict):
        return [": must be an object with a type"]
    kind = trigger.get("type")
    if kind not in TRIGGER_TYPES:
        return [f"type: must be one of {', '.join(TRIGGER_TYPES)}, not {kind!r}"]
    wanted = {"payload": "payload", "keyword": "keywords", "condition": "condition"}.get(kind)
    if wanted is None:
        return []
    value = trigger.get(wanted)
    if kind == "condition":
        return [] if isinstance(value, str) and value.strip() else ["condition: must be an expression (a string)"]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        return [f"{wanted}: must be a string or a list of strings"]
    return []


def _check_responses(responses: Any) -> list[str]:
    if isinstance(responses, dict):
        if "default" not in responses:
            return ["responses: a locale map needs a 'default' list"]
        return [p for locale, items in responses.items() for p in _check_response_list(items, f"responses.{locale}")]
    return _check_response_list(responses, "responses")


def _check_response_list(items: Any, where: str) -> list[str]:
    if not isinstance(items, list):
        return [f"{where}: must be a list of responses"]
    problems = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"{where}[{index}]: must be a response object or {{script: ...}}")
        elif "script" in item:
            if not isinstance(item["script"], str) or len(item) != 1:
                problems.append(f"{where}[{index}]: a response script is {{script: '...'}} and nothing else")
        elif not isinstance(item.get("type"), str):
            problems.append(f"{where}[{index}].type: a response object needs a type (TEXT, IMAGE, ...)")
    return problems


def tags_problem(tags: Any) -> tuple[str, str] | None:
    """What is wrong with the tags a node adds, as ``(error type, message)``, or None."""
    if not isinstance(tags, list) or not all(isinstance(tag, str) and tag for tag in tags):
        return "TypeError", "tags are a list of non-empty strings"
    if len(tags) > MAX_NEW_TAGS:
        return "LimitExceeded", f"a node adds at most {MAX_NEW_TAGS} tags, not {len(tags)}"
    long = next((tag for tag in tags if len(tag) > MAX_TAG_LENGTH), None)
    if long is not None:
        return "LimitExceeded", f"a tag is at most {MAX_TAG_LENGTH} characters, not {len(long)} ({long[:20]}...)"
    return None


def _check_tagging(tagging: Any) -> list[str]:
    if isinstance(tagging, list):
        problem = tags_problem(tagging)
        return [] if problem is None else [f"tagging: {problem[1]}"]
    if isinstance(tagging, dict) and set(tagging) == {"script"} and isinstance(tagging["script"], str):
        return []
    return ["tagging: must be a list of tags or {script: '...'}"]


def _check_redirect(redirect: Any, nodes: dict[str, Any]) -> list[str]:
    if not isinstance(redirect, dict):
        return ["redirect: must be an object"]
    problems = []
    target = redirect.get("nodeCompositeId")
    if redirect.get("tree") is not None and not isinstance(redirect["tree"], str):
        problems.append("redirect.tree: must be a tree id (a string)")
    if not isinstance(target, str):
        problems.append("redirect.nodeCompositeId: the target node is required")
    elif redirect.get("tree") is None and target not in nodes:
        problems.append(f"redirect.nodeCompositeId: no node {target} in this tree")
    for key in redirect:
        if key not in ("tree", "nodeCompositeId", *REDIRECT_OPTIONS):
            problems.append(f"redirect.{key}: unknown field")
    for key in REDIRECT_OPTIONS:
        if key in redirect and not isinstance(redirect[key], bool):
            problems.append(f"redirect.{key}: must be true or false")
    return problems
