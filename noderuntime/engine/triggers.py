"""Reference trigger matching: which node answers a member's message.

Candidates are the current node's children, the current tree's global nodes
and the channel's global nodes; a member with no position (a new one) starts
from the head nodes of the channel's trees instead of the children. A node
matches by its trigger:

``{"type": "payload", "payload": "BUY"}``
    a button or quick reply whose payload (or ``payload.payload``) is one of these;
``{"type": "keyword", "keywords": ["hi", "hello"]}``
    a text containing one of the words or phrases, in any case (whole words
    in scripts written with spaces: ``hi`` is not in ``this``; Chinese anywhere);
``{"type": "text"}``
    any text (the usual fail-safe, given the lowest priority);
``{"type": "condition", "condition": "this.messageEvent.type == 'TEXT' and ..."}``
    an advanced trigger: a condition script, run in the sandbox;
``{"type": "any"}``
    any event at all.

Muted nodes (priority -10 and below) that match all run first; then the
matching node with the smallest priority runs, ties picked at random.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from noderuntime.engine.trees import Node, Tree


@dataclass
class Match:
    """What matching found: muted nodes to run first, then the node (or none)."""

    muted: list[Node] = field(default_factory=list)
    node: Node | None = None
    #: Condition scripts that failed, as ``(node, error)``; a failing condition does not match.
    failures: list[tuple[Node, dict[str, Any]]] = field(default_factory=list)


def candidates(channel: dict[str, Any], trees: dict[str, Tree], position: tuple[str, str] | None) -> list[Node]:
    """The nodes that may answer, without duplicates, in a stable order."""
    found: list[Node] = []
    current = trees.get(position[0]) if position else None
    if current is not None and position is not None and position[1] in current.nodes:
        found.extend(current.children(position[1]))
        found.extend(current.globals())
    else:
        for tree_id in _listed_in(channel, "trees"):
            if isinstance(tree_id, str) and tree_id in trees:
                found.extend(trees[tree_id].heads())
    for ref in _listed_in(channel, "globalNodes"):
        tree = trees.get(ref.get("tree")) if isinstance(ref, dict) and isinstance(ref.get("tree"), str) else None
        if tree is not None and ref.get("nodeCompositeId") in tree.nodes:
            found.append(tree.nodes[ref["nodeCompositeId"]])
    unique: dict[tuple[str, str], Node] = {}
    for node in found:
        unique.setdefault((node.tree, node.id), node)
    return list(unique.values())


def _listed_in(channel: dict[str, Any], key: str) -> list[Any]:
    """A channel's list field (``trees``, ``globalNodes``); anything else counts as empty."""
    value = channel.get(key)
    return value if isinstance(value, list) else []


def payload_of(event: dict[str, Any]) -> str | None:
    """A PAYLOAD event's payload string (``data.payload``, or its ``payload`` field when it is an object)."""
    if event.get("type") != "PAYLOAD":
        return None
    payload = (event.get("data") or {}).get("payload")
    if isinstance(payload, dict):
        payload = payload.get("payload")
    return payload if isinstance(payload, str) else None


def text_of(event: dict[str, Any]) -> str | None:
    """A TEXT event's text."""
    if event.get("type") != "TEXT":
        return None
    text = (event.get("data") or {}).get("text")
    return text if isinstance(text, str) else None


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


#: Scripts written without spaces between words (Chinese, Japanese, Korean, Thai).
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _in_word(character: str) -> bool:
    """Whether ``character`` continues a word of a script written with spaces."""
    return (character.isalnum() or character == "_") and not _UNSPACED.match(character)


def keyword_in(keyword: str, text: str) -> bool:
    """Whether ``keyword`` is in ``text``, in any case, as a whole word in
    scripts written with spaces (``hi`` is not in ``this``, ``caf`` not in
    ``café``); Chinese and other scripts without spaces match anywhere
    (``價錢`` is in ``價錢幾多``)."""
    word, said = keyword.strip().casefold(), text.casefold()
    start = said.find(word)
    while start != -1:
        end = start + len(word)
        clear_before = not (_in_word(word[0]) and start > 0 and _in_word(said[start - 1]))
        clear_after = not (_in_word(word[-1]) and end < len(said) and _in_word(said[end]))
        if clear_before and clear_after:
            return True
        start = said.find(word, start + 1)
    return False


def simple_match(trigger: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether a trigger other than a condition matches the event."""
    kind = trigger.get("type")
    if kind == "any":
        return True
    if kind == "payload":
        return payload_of(event) in _listed(trigger.get("payload"))
    text = text_of(event)
    if text is None:
        return False
    if kind == "text":
        return True
    if kind == "keyword":
        return any(keyword_in(word, text) for word in _listed(trigger.get("keywords")) if word.strip())
    return False


def match(
    nodes: list[Node],
    event: dict[str, Any],
    condition: Callable[[Node], tuple[bool, dict[str, Any] | None]],
    rng: random.Random,
) -> Match:
    """Pick the muted nodes and the node that answer ``event``.

    ``condition(node)`` runs a node's condition script and returns whether
    it held and, when it failed, the error. Conditions run only for nodes
    that could still win: once a priority has a match, larger ones are not
    tried.
    """
    found = Match()

    def matches(node: Node) -> bool:
        trigger = node.trigger
        if trigger is None:
            return False
        if trigger.get("type") != "condition":
            return simple_match(trigger, event)
        held, error = condition(node)
        if error is not None:
            found.failures.append((node, error))
        return held

    found.muted = [node for node in sorted(nodes, key=lambda n: n.priority) if node.muted and matches(node)]
    best: list[Node] = []
    for node in sorted((n for n in nodes if not n.muted), key=lambda n: n.priority):
        if best and node.priority > best[0].priority:
            break
        if matches(node):
            best.append(node)
    if best:
        found.node = best[0] if len(best) == 1 else rng.choice(best)
    return found
