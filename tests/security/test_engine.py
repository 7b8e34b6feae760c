"""Attacks on the node engine, the agenda methods, redirects and the agenda
scheduler: other apps' members, trees, nodes and agendas; a member returned
by a script that claims to be someone else or carries what the database must
not receive; chains, redirects, responses, tags, conditions and agendas that
try to run (or write) without bound; scripts that try to reach the
scheduler's own collection.

Each attempt runs hostile node scripts through the engine, as a message or a
redirect would, on a world of two apps (ours and another tenant's). It must be
refused with a named error (naming the node, the step and the author's line
where there is one) or have no effect on the other app's data; then the host
must still serve (a plain script and a healthy node run).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import AgendaSettings, Config, Limits
from noderuntime.engine import ChainResult, Engine, RecordingSender, Redirect
from noderuntime.engine.agenda import AgendaWorker, JobReport
from noderuntime.engine.agenda.agendas import AGENDAS, INTERNAL
from noderuntime.runtime import RunResult, Runtime
from noderuntime.store import Store

# The world ---------------------------------------------------------------------------------

APP = "a1e000000000000000000001"
OTHER_APP = "b1e000000000000000000002"
CHANNEL = "c1e000000000000000000001"
FOREIGN_CHANNEL = "c1e000000000000000000009"
TREE = "7e1000000000000000000001"
HEALTH_TREE = "7e10000000000000000000aa"
#: Another app's trees: one stored with an ObjectId, one with its id as a string.
FOREIGN_TREE = "7e1000000000000000000009"
FOREIGN_STRING_TREE = "7e1000000000000000000008"
#: The member the attacks run for, and a second member of the same app (health checks).
MEMBER = "5f1000000000000000000001"
SECOND_MEMBER = "5f1000000000000000000002"
#: Another app's members: one stored with an ObjectId, one with a string id.
FOREIGN_MEMBER = "5f1000000000000000000009"
FOREIGN_STRING_MEMBER = "m-theirs"
#: 2020-09-30T16:00:00Z, a whole minute.
NOW = 1_601_481_600_000
MINUTE = 60_000
HOUR = 3_600_000
DAY = 24 * HOUR
#: The earliest time an agenda accepts (earlier looks like seconds): March 1973.
EARLIEST = 100_000_000_000


def nid(name: str) -> str:
    """A 16-character composite id that reads as ``name``."""
    return f"{name:_<16}"


A, B, C, D = nid("a"), nid("b"), nid("c"), nid("d")
THEIRS, THEIRS_CHILD = nid("theirs"), nid("theirsChild")
PING = nid("ping")
RETURN_MEMBER = "return {'member': this.member}"

#: Budgets of the attacks: small, so a runaway ends quickly.
LIMITS = Limits(wall_ms=1000, cpu_ms=5000, memory_mb=256, method_calls=20, log_bytes=8192)


def foreign_nodes() -> dict[str, Any]:
    """Another app's nodes: running any of them would write its member and send "theirs"."""
    return {
        THEIRS: {
            "name": "Theirs",
            "head": True,
            "global": True,
            "trigger": {"type": "any"},
            "preAction": "this.member.meta.pwned = True\n" + RETURN_MEMBER,
            "responses": [{"type": "TEXT", "text": "theirs"}],
            "tagging": ["pwned"],
        },
        THEIRS_CHILD: {
            "name": "Theirs child",
            "parent": THEIRS,
            "trigger": {"type": "any"},
            "preAction": "this.member.meta.pwned = True\n" + RETURN_MEMBER,
            "responses": [{"type": "TEXT", "text": "theirs"}],
        },
    }


def member(member_id: Any, app: str, channel: Any, external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "_id": member_id,
        "app": app,
        "channel": channel,
        "externalId": external_id,
        "firstName": "John",
        "botMeta": {"liveChat": False, "subscribe": True, "tempData": {}},
        "meta": {"visits": 1},
        "tags": ["vip"],
        "platform": "custom",
        "createdAt": NOW - DAY,
        "updatedAt": NOW - DAY,
        **fields,
    }


def seed() -> dict[str, list[dict[str, Any]]]:
    return {
        "apps": [{"_id": APP, "timezone": "UTC"}, {"_id": OTHER_APP, "timezone": "UTC"}],
        "channels": [
            {"_id": ObjectId(CHANNEL), "app": APP, "name": "Ours", "type": "custom", "trees": [TREE]},
            {"_id": ObjectId(FOREIGN_CHANNEL), "app": OTHER_APP, "name": "Theirs", "trees": [FOREIGN_TREE]},
        ],
        "members": [
            member(ObjectId(MEMBER), APP, ObjectId(CHANNEL), "u-1"),
            member(ObjectId(SECOND_MEMBER), APP, ObjectId(CHANNEL), "u-2"),
            # The same external id on another app's channel: a different person.
            member(ObjectId(FOREIGN_MEMBER), OTHER_APP, ObjectId(FOREIGN_CHANNEL), "u-1", meta={"secret": "s"}),
            member(FOREIGN_STRING_MEMBER, OTHER_APP, FOREIGN_CHANNEL, "u-9", meta={"secret": "s"}),
        ],
        "trees": [
            {"_id": ObjectId(FOREIGN_TREE), "app": OTHER_APP, "name": "Theirs", "nodes": foreign_nodes()},
            {"_id": FOREIGN_STRING_TREE, "app": OTHER_APP, "name": "Theirs too", "nodes": foreign_nodes()},
            {
                "_id": ObjectId(HEALTH_TREE),
                "app": APP,
                "name": "Health",
                "nodes": {PING: {"name": "Ping", "responses": [{"script": "return {'type': 'TEXT', 'text': 'pong'}"}]}},
            },
        ],
        "agendas": [
            # The other app's agendas: one for its member, one naming OUR member's id.
            agenda_doc(OTHER_APP, FOREIGN_CHANNEL, ObjectId(FOREIGN_MEMBER), FOREIGN_TREE, THEIRS, "theirs"),
            agenda_doc(OTHER_APP, FOREIGN_CHANNEL, ObjectId(MEMBER), FOREIGN_TREE, THEIRS, "twin"),
        ],
    }


def agenda_doc(app: str, channel: str, member_id: Any, tree: str, node: str, tag: str) -> dict[str, Any]:
    return {
        "app": app,
        "channel": ObjectId(channel),
        "member": member_id,
        "tree": tree,
        "nodeCompositeId": node,
        "nextRunAt": NOW + HOUR,
        "priority": 0,
        "meta": {"theirs": True},
        "tag": tag,
        "completed": False,
        "runCount": 0,
        "failCount": 0,
        "createdAt": NOW - DAY,
        "updatedAt": NOW - DAY,
    }


class World:
    """One test's database, sender and clock, on a runtime (in-process or an isolated pool)."""

    def __init__(self, runtime: Runtime, *, now: int | None = NOW) -> None:
        self.runtime = runtime
        self.store = Store.embedded_store(seed())
        self.now = now
        self.sender = RecordingSender()

    # Building -------------------------------------------------------------------------------

    def tree(self, nodes: dict[str, dict[str, Any]], tree_id: str = TREE) -> None:
        """Store our app's tree (replacing one with the same id)."""
        self.store.delete("trees", {"_id": ObjectId(tree_id)})
        self.store.insert_one("trees", {"_id": ObjectId(tree_id), "app": APP, "name": "Ours", "nodes": nodes})

    def head(self, **node: Any) -> None:
        """Our tree with one head node answering any text: ``A``."""
        self.tree({A: {"name": "Attack", "head": True, "trigger": {"type": "text"}, **node}})

    def channel(self, **fields: Any) -> None:
        self.store.update("channels", {"_id": ObjectId(CHANNEL)}, {"$set": fields})

    def set_member(self, **fields: Any) -> None:
        self.store.update("members", {"_id": ObjectId(MEMBER)}, {"$set": fields})

    # Running ---------------------------------------------------------------------------------

    def engine(self, **kwargs: Any) -> Engine:
        return Engine(self.runtime, sender=self.sender, store=self.store, now=self.now, **kwargs)

    def receive(self, said: str = "hi", **kwargs: Any) -> ChainResult:
        """A TEXT message from our member ("u-1") on our channel."""
        event = {"type": "TEXT", "data": {"text": said}, "from": "u-1", "timestamp": NOW}
        return self.engine(**kwargs).receive(CHANNEL, event)

    def run_node(self, node: str = A, tree: str = TREE, member_id: str = MEMBER, app: str = APP) -> ChainResult:
        return self.engine().run_node(app, member_id, Redirect(tree, node))

    def run(self, source: str, app: str = APP) -> RunResult:
        """A script of ``app`` outside any node (as an API call would run it)."""
        return self.runtime.run(source, {"app": app}, store=self.store, now=self.now)

    # Looking ---------------------------------------------------------------------------------

    def stored(self, member_id: Any = MEMBER) -> dict[str, Any]:
        key = ObjectId(member_id) if ObjectId.is_valid(member_id) else member_id
        found = self.store.find_one("members", {"_id": key})
        assert found is not None
        return found

    def texts(self) -> list[Any]:
        return [sent.response.get("text") for sent in self.sender.sent]

    def others(self) -> dict[str, list[dict[str, Any]]]:
        """Everything the other app holds, to compare after an attack."""
        query = {"app": OTHER_APP}
        return copy.deepcopy(
            {name: self.store.find(name, query) for name in ("members", "trees", "channels", AGENDAS, "apps")}
        )

    def ours(self) -> dict[str, Any]:
        """Our member as stored, to compare after an attack."""
        return copy.deepcopy(self.stored())

    def agendas(self, **query: Any) -> list[dict[str, Any]]:
        return self.store.find(AGENDAS, query)

    # The host keeps serving -----------------------------------------------------------------

    def serves(self) -> None:
        """A plain script runs, and a healthy node runs and sends for another member."""
        after = self.run("return {'alive': True}")
        assert after.ok and after.value == {"alive": True}, f"runtime unhealthy after attempt: {after.error}"
        sent = len(self.sender.sent)
        chain = self.engine().run_node(APP, SECOND_MEMBER, Redirect(HEALTH_TREE, PING))
        assert chain.ok, f"engine unhealthy after attempt: {chain.error}"
        assert [s.response.get("text") for s in self.sender.sent[sent:]] == ["pong"]


def stopped(
    result: ChainResult,
    kind: str,
    fragment: str,
    *,
    node: str | None = None,
    step: str | None = None,
    line: int | None = None,
) -> dict[str, Any]:
    """The chain stopped with this error type, a message containing
    ``fragment``, and (when given) the node, step and author's line."""
    assert not result.ok, f"attack succeeded: {result.nodes}"
    error = result.error or {}
    assert error.get("type") == kind, error
    assert fragment in error.get("message", ""), error
    if node is not None:
        assert error.get("node") == node, error
        assert node in error["message"], error
    if step is not None:
        assert error.get("step") == step, error
    if line is not None:
        assert error.get("line") == line, error
        assert f", line {line}:" in error["message"], error
    return error


def refused(result: RunResult, kind: str, fragment: str, line: int | None = None) -> None:
    """A script (outside a node) failed with this error type, message fragment and line."""
    assert not result.ok, f"attempt succeeded with {result.value!r}"
    assert result.error["type"] == kind, result.error
    assert fragment in result.error["message"], result.error
    if line is not None:
        assert result.error["line"] == line, result.error


def redirect(member_id: str = MEMBER, tree: str = TREE, node: str = A, **extra: Any) -> str:
    params = {"memberId": member_id, "treeId": tree, "nodeCompositeId": node, **extra}
    return f"this.redirectMemberToNode({params!r})"


def within(seconds: float, call: Callable[[], Any]) -> tuple[Any, float]:
    """``call()`` and how long it took; the test fails (instead of hanging) past ``seconds``."""
    outcome: list[Any] = []
    started = time.monotonic()
    thread = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"the host did not answer within {seconds} s")
    assert outcome, "the call raised (see the thread's traceback above)"
    return outcome[0], time.monotonic() - started


@pytest.fixture
def world() -> Iterator[World]:
    """A fresh world on an in-process runtime (where the process boundary does not matter)."""
    with Runtime(Config(mode="inprocess", workers=1, limits=LIMITS)) as runtime:
        yield World(runtime)


@pytest.fixture(scope="module")
def pool() -> Iterator[Runtime]:
    """One isolated pool of ONE worker for the attempts where processes matter."""
    with Runtime(Config(mode="isolated", workers=1, limits=LIMITS)) as runtime:
        yield runtime


@pytest.fixture
def isolated(pool: Runtime) -> World:
    """A fresh world on the one-worker isolated pool."""
    return World(pool)


# Tenant scope: redirects -----------------------------------------------------------------------

FOREIGN_TARGETS = [
    # (what, redirect parameters, message fragment)
    ("member-objectid", {"member_id": FOREIGN_MEMBER}, f"member {FOREIGN_MEMBER} does not exist"),
    ("member-string-id", {"member_id": FOREIGN_STRING_MEMBER}, f"member {FOREIGN_STRING_MEMBER} does not exist"),
    ("tree-objectid", {"tree": FOREIGN_TREE, "node": THEIRS}, f"tree {FOREIGN_TREE} does not exist in this app"),
    (
        "tree-string-id",
        {"tree": FOREIGN_STRING_TREE, "node": THEIRS},
        f"tree {FOREIGN_STRING_TREE} does not exist in this app",
    ),
    (
        "their-member-in-their-tree",
        {"member_id": FOREIGN_MEMBER, "tree": FOREIGN_TREE, "node": THEIRS},
        f"member {FOREIGN_MEMBER} does not exist",
    ),
    (
        "our-member-on-their-channel",
        {"channelId": FOREIGN_CHANNEL, "node": B},
        f"member {MEMBER} does not exist on channel {FOREIGN_CHANNEL}",
    ),
]


def world_nodes_with_redirect(call: str) -> dict[str, Any]:
    return {A: {"name": "Attack", "head": True, "trigger": {"type": "text"}, "preAction": f"x = 1\n{call}"}}


@pytest.mark.parametrize(("what", "target", "fragment"), FOREIGN_TARGETS, ids=[t[0] for t in FOREIGN_TARGETS])
def test_a_redirect_into_another_app_is_not_found(world, what, target, fragment):
    world.tree({**world_nodes_with_redirect(redirect(**target)), B: {"responses": [{"type": "TEXT", "text": "b"}]}})
    theirs, ours = world.others(), world.ours()
    result = world.receive()
    stopped(result, "NotFound", f"redirectMemberToNode: {fragment}", node=A, step="preAction", line=2)
    assert world.others() == theirs
    assert world.stored() == ours
    assert "theirs" not in world.texts()
    world.serves()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("memberId", {"$ne": None}),
        ("memberId", ["5f1000000000000000000009"]),
        ("treeId", {"$exists": True}),
        ("nodeCompositeId", {"$regex": ".*"}),
        ("channelId", {"$ne": ""}),
    ],
)
def test_a_redirect_named_by_a_query_is_a_param_error(world, name, value):
    params = {"memberId": MEMBER, "treeId": TREE, "nodeCompositeId": B, name: value}
    world.tree({B: {"responses": [{"type": "TEXT", "text": "b"}]}})
    theirs = world.others()
    refused(world.run(f"return this.redirectMemberToNode({params!r})"), "ParamError", f"'{name}'", line=1)
    assert world.texts() == []
    assert world.others() == theirs
    world.serves()


def test_another_app_cannot_redirect_our_member(world):
    world.tree({B: {"preAction": "this.member.meta.reached = True\n" + RETURN_MEMBER}})
    ours = world.ours()
    result = world.run(redirect(node=B), app=OTHER_APP)
    refused(result, "NotFound", f"member {MEMBER} does not exist", line=1)
    assert world.stored() == ours
    world.serves()


def test_run_node_for_another_apps_member_is_not_found(world):
    # The path of agendas and redirects: the app comes from the caller, the member must be in it.
    theirs = world.others()
    result = world.run_node(THEIRS, FOREIGN_TREE, member_id=FOREIGN_MEMBER)
    assert not result.ok
    assert result.error == {"type": "NotFound", "message": f"member {FOREIGN_MEMBER} does not exist"}
    result = world.run_node(THEIRS, FOREIGN_TREE)
    stopped(result, "TreeError", f"tree {FOREIGN_TREE} does not exist in this app")
    assert world.others() == theirs
    assert world.sender.sent == []
    world.serves()


@pytest.mark.parametrize("tree", [FOREIGN_TREE, FOREIGN_STRING_TREE])
def test_a_static_redirect_into_another_apps_tree_stops_the_chain(world, tree):
    world.head(redirect={"tree": tree, "nodeCompositeId": THEIRS}, responses=[{"type": "TEXT", "text": "a"}])
    theirs, ours = world.others(), world.ours()
    result = world.receive()
    stopped(result, "TreeError", f"tree {tree} does not exist in this app")
    assert world.texts() == ["a"]
    assert world.stored() == ours
    assert world.others() == theirs
    world.serves()


# Tenant scope: trees listed where they do not belong ---------------------------------------------


@pytest.mark.parametrize("tree", [FOREIGN_TREE, FOREIGN_STRING_TREE])
def test_another_apps_tree_listed_on_our_channel_never_runs(world, tree):
    world.tree({A: {"name": "Ours", "head": True, "trigger": {"type": "payload", "payload": "NEVER"}}})
    world.channel(trees=[tree, TREE], globalNodes=[{"tree": tree, "nodeCompositeId": THEIRS}])
    theirs, ours = world.others(), world.ours()
    result = world.receive()
    assert result.ok, result.error
    assert result.nodes == []
    assert world.sender.sent == []
    assert any(f"tree {tree} does not exist in this app" in log["message"] for log in result.logs), result.logs
    stored = world.stored()
    assert "pwned" not in stored["meta"] and "pwned" not in stored["tags"]
    assert stored == ours
    assert world.others() == theirs
    world.serves()


def test_a_position_a_script_left_in_another_apps_tree_reaches_none_of_its_nodes(world):
    # A muted node runs without moving the member, so what its script leaves
    # in botMeta.tree/nodeCompositeId is written back as it is.
    plant = (
        f"this.member.botMeta.tree = {FOREIGN_TREE!r}\n"
        f"this.member.botMeta.nodeCompositeId = {THEIRS!r}\n" + RETURN_MEMBER
    )
    world.tree(
        {
            A: {"name": "Planter", "head": True, "priority": -10, "trigger": {"type": "text"}, "preAction": plant},
            B: {"name": "Ours", "head": True, "trigger": {"type": "payload", "payload": "OURS"}},
        }
    )
    assert world.receive().ok
    assert world.stored()["botMeta"]["tree"] == FOREIGN_TREE  # the plant took
    theirs = world.others()
    world.tree(
        {
            B: {
                "name": "Ours",
                "head": True,
                "trigger": {"type": "text"},
                "responses": [{"type": "TEXT", "text": "ours"}],
            }
        }
    )
    result = world.receive()
    assert result.ok, result.error
    # Neither THEIRS_CHILD (a child of the planted position) nor THEIRS (global there) ran:
    # the member starts again from our channel's heads.
    assert [n["compositeId"] for n in result.nodes] == [B]
    assert world.texts() == ["ours"]
    assert "pwned" not in world.stored()["meta"]
    assert world.others() == theirs
    world.serves()


# Tenant scope: agendas ---------------------------------------------------------------------------

NEW_AGENDA_FOREIGN = [
    ("member-id", {"memberId": FOREIGN_MEMBER}, "NotFound", f"no member {FOREIGN_MEMBER} in this app"),
    (
        "member-string-id",
        {"memberId": FOREIGN_STRING_MEMBER},
        "NotFound",
        f"no member {FOREIGN_STRING_MEMBER} in this app",
    ),
    (
        "member-object",
        {"member": {"_id": FOREIGN_MEMBER, "app": APP}},
        "NotFound",
        f"no member {FOREIGN_MEMBER} in this app",
    ),
    (
        "member-object-string-id",
        {"member": {"_id": FOREIGN_STRING_MEMBER, "app": OTHER_APP, "channel": FOREIGN_CHANNEL}},
        "NotFound",
        f"no member {FOREIGN_STRING_MEMBER} in this app",
    ),
    (
        "member-id-vs-object",
        {"memberId": MEMBER, "member": {"_id": FOREIGN_MEMBER}},
        "ParamError",
        "memberId and member._id name different members",
    ),
    ("member-object-id-query", {"member": {"_id": {"$ne": None}}}, "ParamError", "member._id must be the member's id"),
    (
        "tree",
        {"memberId": MEMBER, "treeId": FOREIGN_TREE},
        "NotFound",
        f"tree {FOREIGN_TREE} does not exist in this app",
    ),
    (
        "tree-string-id",
        {"memberId": MEMBER, "treeId": FOREIGN_STRING_TREE},
        "NotFound",
        f"tree {FOREIGN_STRING_TREE} does not exist in this app",
    ),
]


@pytest.mark.parametrize(
    ("what", "params", "kind", "fragment"), NEW_AGENDA_FOREIGN, ids=[case[0] for case in NEW_AGENDA_FOREIGN]
)
def test_new_agenda_aimed_at_another_app_is_refused(world, what, params, kind, fragment):
    world.head()
    full = {"treeId": TREE, "nodeCompositeId": A, "nextRunAt": NOW + MINUTE, **params}
    if "treeId" in params:
        full["nodeCompositeId"] = THEIRS
    theirs = world.others()
    refused(world.run(f"x = 1\nreturn this.newAgenda({full!r})"), kind, fragment, line=2)
    assert world.agendas(app=APP) == []
    assert world.others() == theirs
    world.serves()


def test_update_agenda_cannot_reach_another_apps_agendas(world):
    world.head()
    theirs = world.others()
    for member_id in (FOREIGN_MEMBER, FOREIGN_STRING_MEMBER):
        source = f"return this.updateAgenda(memberId={member_id!r}, nextRunAt={NOW}, meta={{'hijacked': True}})"
        refused(world.run(source), "NotFound", f"no member {member_id} in this app", line=1)
    # Our own member's id: the other app's agenda naming it ("twin") is not ours to change.
    result = world.run(f"return this.updateAgenda(memberId={MEMBER!r}, nextRunAt={NOW}, meta={{'hijacked': True}})")
    assert result.ok, result.error
    assert result.value == {"_docsIds": {"updated": []}, "_docs": [], "modified": 0}
    assert world.others() == theirs
    world.serves()


def test_update_agenda_cannot_move_our_agenda_onto_another_apps_tree(world):
    world.head()
    planned = world.run(
        f"return this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, nextRunAt={NOW + HOUR}, tag='mine')"
    )
    assert planned.ok, planned.error
    before = world.agendas(app=APP)
    for tree in (FOREIGN_TREE, FOREIGN_STRING_TREE):
        source = f"x = 1\nreturn this.updateAgenda(memberId={MEMBER!r}, tag='mine', treeId={tree!r}, nodeCompositeId={THEIRS!r})"
        refused(world.run(source), "NotFound", f"tree {tree} does not exist in this app", line=2)
    assert world.agendas(app=APP) == before
    world.serves()


def test_delete_member_agenda_cannot_reach_another_apps_agendas(world):
    world.head()
    theirs = world.others()
    assert len(theirs[AGENDAS]) == 2
    for member_id in (FOREIGN_MEMBER, FOREIGN_STRING_MEMBER, MEMBER):
        for tag in ("None", "'theirs'", "'twin'"):
            result = world.run(f"return this.deleteMemberAgenda(memberId={member_id!r}, tag={tag})")
            assert result.ok, result.error
            assert result.value["deleted"] == 0
    refused(world.run("return this.deleteMemberAgenda(memberId={'$ne': None})"), "ParamError", "'memberId'", line=1)
    refused(
        world.run(f"return this.deleteMemberAgenda(memberId={MEMBER!r}, tag={{'$ne': None}})"),
        "ParamError",
        "'tag'",
        line=1,
    )
    assert world.others() == theirs
    world.serves()


def test_replace_does_not_reach_another_apps_agendas_on_our_members_id(world):
    world.head()
    theirs = world.others()
    source = f"return this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, nextRunAt={NOW + HOUR}, tag='twin', replace=True)"
    result = world.run(source)
    assert result.ok, result.error
    assert result.value["app"] == APP and result.value["member"] == MEMBER
    assert world.others() == theirs  # their "twin" agenda (naming our member's id) survives
    world.serves()


# Identity: the member a script returns -------------------------------------------------------------


def test_a_returned_member_claiming_another_identity_is_written_to_the_real_member_only(world):
    claim = "\n".join(
        [
            f"this.member._id = {FOREIGN_MEMBER!r}",
            f"this.member.app = {OTHER_APP!r}",
            f"this.member.channel = {FOREIGN_CHANNEL!r}",
            "this.member.createdAt = 0",
            "this.member.externalId = 'u-victim'",
            "this.member.meta.note = 'written'",
            RETURN_MEMBER,
        ]
    )
    world.tree(
        {
            A: {
                "name": "Claim",
                "head": True,
                "trigger": {"type": "text"},
                "preAction": claim,
                "responses": [{"script": "return {'type': 'TEXT', 'text': this.member._id + ' ' + this.member.app}"}],
                "redirect": {"nodeCompositeId": B},
            },
            B: {
                "name": "Next",
                "preAction": "this.member.meta.seen = [this.member._id, this.member.externalId]\n" + RETURN_MEMBER,
            },
        }
    )
    theirs, ours = world.others(), world.ours()
    result = world.receive()
    assert result.ok, result.error
    # Later scripts and the sender see the real member ...
    assert world.texts() == [f"{MEMBER} {APP}"]
    assert [(sent.member, sent.messageEvent["to"]) for sent in world.sender.sent] == [(MEMBER, "u-1")]
    # ... the write-back lands on it, identity unchanged ...
    stored = world.stored()
    assert stored["meta"] == {"visits": 1, "note": "written", "seen": [MEMBER, "u-1"]}
    for name in ("_id", "app", "channel", "createdAt", "externalId"):
        assert stored[name] == ours[name], name
    # ... and nobody else is touched.
    assert world.others() == theirs
    assert world.stored(SECOND_MEMBER)["meta"] == {"visits": 1}
    world.serves()


def test_returning_another_members_document_writes_the_chains_member_only(world):
    # Another member of the same app, read and returned whole: the chain's own member is the one written.
    steal = "\n".join(
        [
            f"other = this.getMember(memberId={SECOND_MEMBER!r})",
            "other.meta.note = 'from other'",
            "return {'member': other}",
        ]
    )
    world.head(preAction=steal)
    second = copy.deepcopy(world.stored(SECOND_MEMBER))
    assert world.receive().ok
    assert world.stored()["meta"]["note"] == "from other"
    assert world.stored(SECOND_MEMBER) == second
    world.serves()


BAD_MEMBERS = [
    ("operator-in-meta", "this.member.meta['$set'] = {'app': 'x'}", "field name '$set' cannot start with '$'"),
    ("where-in-botmeta", "this.member.botMeta.tempData = {'$where': 'sleep(1000)'}", "$where runs JavaScript"),
    (
        "operator-deep-in-meta",
        "this.member.meta.a = [{'b': {'$inc': {'x': 1}}}]",
        "field name '$inc' cannot start with '$'",
    ),
    ("dotted-key-in-meta", "this.member.meta['a.b'] = 1", "field name 'a.b' cannot contain '.'"),
    (
        "dotted-key-deep-in-botmeta",
        "this.member.botMeta.tempData = {'x': {'app.y': 1}}",
        "field name 'app.y' cannot contain '.'",
    ),
    ("dotted-key-reaching-app", "this.member.meta['.app'] = 'x'", "cannot contain '.'"),
    ("operator-as-custom-locale", "this.member.customLocale = {'$gt': ''}", "field name '$gt' cannot start with '$'"),
    (
        "operator-in-group",
        "this.member.group = {'$rename': {'app': 'x'}}",
        "field name '$rename' cannot start with '$'",
    ),
    ("huge-meta", "this.member.meta.big = 'x' * 1_100_000", "the limit is 1048576 bytes"),
    (
        "huge-across-fields",
        "this.member.meta.a = 'x' * 600_000\nthis.member.botMeta.b = 'y' * 600_000",
        "the limit is 1048576 bytes",
    ),
    ("huge-group", "this.member.group = {'g': 'x' * 1_100_000}", "the limit is 1048576 bytes"),
]


@pytest.mark.parametrize(("what", "change", "fragment"), BAD_MEMBERS, ids=[case[0] for case in BAD_MEMBERS])
def test_a_member_the_database_must_not_receive_stops_the_chain_and_nothing_is_written(world, what, change, fragment):
    # The pre-action's member reaches the post-action and the tagging: at
    # the end of the chain nothing at all is written (not the tags, not the position).
    world.head(
        preAction=f"{change}\n{RETURN_MEMBER}",
        responses=[{"type": "TEXT", "text": "a"}],
        postAction="this.member.meta.post = True\n" + RETURN_MEMBER,
        tagging=["tagged"],
    )
    theirs, ours = world.others(), world.ours()
    result = world.receive()
    error = stopped(result, "SaveError", "the member cannot be saved")
    assert fragment in error["message"], error
    assert world.stored() == ours
    assert result.member["_id"] == MEMBER
    assert world.others() == theirs
    assert world.stored(SECOND_MEMBER)["meta"] == {"visits": 1}
    world.serves()


def test_only_bot_meta_meta_custom_locale_and_group_are_written_back(world):
    grab = "\n".join(
        [
            "m = this.member",
            "m.tags = ['admin', 'vip']",
            "m.admin = True",
            "m.firstName = 'Mallory'",
            "m.platform = 'whatsapp'",
            "m.updatedAt = 1",
            "m.referFrom = 'me'",
            "m['$set'] = {'app': 'x'}",
            "m['$where'] = 'sleep(1000)'",
            "m['meta.secret'] = 'top-level dotted'",
            "m['botMeta.tree'] = 'x'",
            "m['app.x'] = 1",
            "m.meta.kept = True",
            "m.customLocale = 'zh_HK'",
            "return {'member': m}",
        ]
    )
    world.head(preAction=grab)
    theirs, ours = world.others(), world.ours()
    result = world.receive()
    assert result.ok, result.error
    stored = world.stored()
    assert stored["meta"] == {"visits": 1, "kept": True}
    assert stored["customLocale"] == "zh_HK"
    assert stored["tags"] == ["vip"]
    assert stored["updatedAt"] == NOW  # stamped by the host, not the script's 1
    unchanged = {k: v for k, v in ours.items() if k not in ("meta", "botMeta", "updatedAt")}
    assert {k: v for k, v in stored.items() if k not in ("meta", "botMeta", "updatedAt", "customLocale")} == unchanged
    assert world.others() == theirs
    world.serves()


@pytest.mark.parametrize("change", ["this.member.meta[''] = 1", "this.member.botMeta[''] = {'x': 1}"])
def test_an_empty_field_name_stops_the_chain_and_nothing_is_written(world, change):
    world.head(preAction=f"{change}\n{RETURN_MEMBER}")
    ours = world.ours()
    result = world.receive()
    stopped(result, "SaveError", "the member cannot be saved")
    assert world.stored() == ours


@pytest.mark.parametrize("path", ["receive", "agenda-or-redirect"])
def test_the_write_back_stays_in_the_app_when_another_app_holds_the_ids_string_form(world, path):
    # Another app's member stored (by a seed or an import) with OUR member's id in its string form.
    twin = member(MEMBER, OTHER_APP, FOREIGN_CHANNEL, "u-twin", meta={"secret": "s"})
    world.store.delete("members", {"_id": ObjectId(MEMBER)})
    world.store.insert_one("members", twin)
    world.store.insert_one("members", member(ObjectId(MEMBER), APP, ObjectId(CHANNEL), "u-1"))
    world.head(preAction="this.member.meta.pwned = True\n" + RETURN_MEMBER)
    twin_before = copy.deepcopy(world.store.find_one("members", {"_id": MEMBER}))
    result = world.receive() if path == "receive" else world.run_node()
    assert result.ok, result.error
    assert world.store.find_one("members", {"_id": MEMBER}) == twin_before
    assert world.stored()["meta"] == {"visits": 1, "pwned": True}


# Resource exhaustion: redirects ------------------------------------------------------------------


@pytest.mark.slow
def test_a_pre_action_redirecting_to_itself_stops_on_a_one_worker_pool(isolated):
    world = isolated
    world.head(name="Loop", preAction=redirect(), responses=[{"type": "TEXT", "text": "never"}])
    ours = world.ours()
    result, seconds = within(60, world.receive)
    # Whichever bound comes first stops it: the nesting depth, or the caller's
    # time (each nested run has only what is left of it).
    error = stopped(result, "RedirectError", "", node=A, step="preAction", line=1)
    assert error["message"].startswith(f"node Loop ({TREE}/{A}) preAction, line 1: redirectMemberToNode: ")
    assert error["message"].endswith(
        (
            "redirects made by scripts are nested more than 10 deep",
            "wallTime budget exceeded before this script could start",
        )
    ), error["message"]
    assert seconds < 30
    assert world.sender.sent == []
    assert world.stored() == ours
    world.serves()
    assert len(world.runtime.pool.pids()) <= 1  # the borrowed workers are gone


@pytest.mark.slow
def test_a_pre_action_retrying_a_self_redirect_forever_is_bounded_on_a_one_worker_pool(isolated):
    world = isolated
    retry = "\n".join(
        ["while True:", "    try:", f"        {redirect()}", "    except Exception as e:", "        pass"]
    )
    world.head(name="Loop", preAction=retry, responses=[{"type": "TEXT", "text": "never"}])
    ours = world.ours()
    result, seconds = within(120, world.receive)
    # The outermost script runs out of a budget (wall time, or method calls once the nested
    # redirects fail fast for want of time); budget errors cannot be caught.
    stopped(result, "LimitExceeded", "budget exceeded", node=A, step="preAction")
    wall = LIMITS.wall_ms / 1000
    assert seconds < (world.runtime.config.max_redirects + 1) * wall + 5
    assert world.sender.sent == []
    assert world.stored() == ours
    world.serves()


def test_a_static_redirect_cycle_stops_with_the_path(world):
    world.tree(
        {
            A: {"name": "A", "head": True, "trigger": {"type": "text"}, "redirect": {"nodeCompositeId": B}},
            B: {"name": "B", "redirect": {"nodeCompositeId": C}},
            C: {
                "name": "C",
                "preAction": "this.member.meta.c = True\n" + RETURN_MEMBER,
                "redirect": {"nodeCompositeId": A},
            },
        }
    )
    ours = world.ours()
    result = world.receive()
    stopped(result, "RedirectError", f"redirect cycle: {TREE}/{A} -> {TREE}/{B} -> {TREE}/{C} -> {TREE}/{A}")
    assert [n["compositeId"] for n in result.nodes] == [A, B, C]
    assert world.stored() == ours
    world.serves()


def test_a_chain_longer_than_max_redirects_stops(world):
    names = [nid(f"n{i}") for i in range(30)]
    nodes = {
        name: {
            "name": f"N{i}",
            "responses": [{"type": "TEXT", "text": str(i)}],
            "redirect": {"nodeCompositeId": names[i + 1]},
        }
        for i, name in enumerate(names[:-1])
    }
    nodes[names[0]].update(head=True, trigger={"type": "text"})
    nodes[names[-1]] = {"name": "Last"}
    world.tree(nodes)
    ours = world.ours()
    result = world.receive(max_redirects=5)
    stopped(result, "RedirectError", "the chain redirected more than 5 times")
    assert len(result.nodes) == 6
    assert world.texts() == ["0", "1", "2", "3", "4", "5"]
    assert world.stored() == ours
    world.serves()


@pytest.mark.slow
def test_a_redirect_runs_within_the_callers_remaining_time():
    # Real time (no frozen clock), so a script can spend most of its budget
    # before it redirects: every level stays within its own budget.
    config = Config(
        mode="isolated", workers=1, max_redirects=8, limits=Limits(wall_ms=400, cpu_ms=5000, method_calls=20)
    )
    with Runtime(config) as runtime:
        world = World(runtime, now=None)
        spend = "\n".join(
            [
                "start = this.moment().valueOf()",
                "while this.moment().valueOf() - start < 350:",
                "    pass",
                redirect(),
            ]
        )
        world.head(name="Spender", preAction=spend)
        result, seconds = within(120, world.receive)
        assert not result.ok
        # The message had one budget (0.4 s, plus the 0.5 s grace before a kill).
        assert seconds < 1.4, f"one message ran {seconds:.1f} s on a 0.4 s budget"


# Resource exhaustion: agendas ----------------------------------------------------------------------


def test_agendas_made_in_a_loop_stop_at_the_method_call_budget(world):
    world.head()
    source = f"for i in range(100000):\n    this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, nextRunAt={NOW + MINUTE} + i)"
    refused(
        world.run(source), "LimitExceeded", f"methodCalls budget exceeded (limit {LIMITS.method_calls} calls)", line=2
    )
    assert len(world.agendas(app=APP)) == LIMITS.method_calls
    world.serves()


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (
            f"this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, nextRunAt={NOW + MINUTE}, meta={{'big': 'x' * 1_100_000}})",
            "newAgenda: meta is ",
        ),
        (f"this.updateAgenda(memberId={MEMBER!r}, meta={{'big': 'x' * 1_100_000}})", "updateAgenda: meta is "),
    ],
    ids=["newAgenda", "updateAgenda"],
)
def test_agenda_meta_over_one_mebibyte_is_refused(world, call, fragment):
    world.head()
    planned = world.run(
        f"return this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, nextRunAt={NOW + MINUTE}, meta={{'n': 1}})"
    )
    assert planned.ok, planned.error
    before = world.agendas(app=APP)
    result = world.run(f"x = 1\nreturn {call}")
    refused(result, "ParamError", fragment, line=2)
    assert "the limit is 1048576 bytes" in result.error["message"]
    assert world.agendas(app=APP) == before
    world.serves()


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"lockedUntil": NOW * 2}, "unknown parameter 'lockedUntil'"),
        ({"lockedBy": "me", "lockToken": "t"}, "unknown parameter"),
        ({"completed": True}, "unknown parameter 'completed'"),
        ({"app": OTHER_APP}, "unknown parameter 'app'"),
        ({"channel": FOREIGN_CHANNEL}, "unknown parameter 'channel'"),
        ({"runCount": -1}, "unknown parameter 'runCount'"),
    ],
)
@pytest.mark.parametrize("method", ["newAgenda", "updateAgenda"])
def test_scheduler_fields_are_not_parameters(world, method, params, fragment):
    world.head()
    full = {"memberId": MEMBER, "treeId": TREE, "nodeCompositeId": A, "nextRunAt": NOW + MINUTE, **params}
    theirs = world.others()
    refused(world.run(f"return this.{method}({full!r})"), "ParamError", f"{method}: {fragment}", line=1)
    assert world.agendas(app=APP) == []
    assert world.others() == theirs
    world.serves()


def test_agendas_given_to_scripts_never_show_the_lock(world):
    world.head()
    planned = world.run(
        f"return this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, nextRunAt={NOW}, tag='t')"
    )
    assert planned.ok, planned.error
    # A worker holds it (as a claim would leave it).
    lock = {"lockedUntil": NOW + HOUR, "lockedBy": "host:1:abc", "lockToken": "secret-token"}
    world.store.update(AGENDAS, {"app": APP}, {"$set": lock})
    result = world.run(f"return this.updateAgenda(memberId={MEMBER!r}, tag='t', priority=3)")
    assert result.ok, result.error
    (doc,) = result.value["_docs"]
    assert not set(INTERNAL) & set(doc), doc
    assert "secret-token" not in repr(result.value)


def test_an_every_minute_pattern_for_fifty_years_is_accepted_and_never_replayed(world):
    # Allowed (noted in the report): nothing caps how often or how long an
    # agenda repeats but the CRON minute. A worker that was down does not
    # run the missed occurrences one by one.
    world.head(responses=[{"type": "TEXT", "text": "tick"}])
    world.store.delete(AGENDAS, {"app": OTHER_APP})  # only ours is due
    until = NOW + 50 * 365 * DAY
    planned = world.run(
        f"return this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, pattern='* * * * *', runUntil={until})"
    )
    assert planned.ok, planned.error
    assert (planned.value["nextRunAt"], planned.value["pattern"], planned.value["runUntil"]) == (
        NOW + MINUTE,
        "* * * * *",
        until,
    )
    later = NOW + 30 * DAY
    reports: list[JobReport] = []
    worker = AgendaWorker(
        Engine(world.runtime, sender=world.sender, store=world.store, now=later),
        AgendaSettings(),
        name="w",
        on_job=reports.append,
    )
    assert worker.run_due() == 1
    assert [r.outcome for r in reports] == ["rescheduled"]
    assert world.texts() == ["tick"]
    (stored,) = world.agendas(app=APP)
    assert stored["nextRunAt"] == later + MINUTE
    assert worker.run_due() == 0
    world.serves()


def test_another_apps_agenda_naming_our_member_does_not_run_our_member(world):
    # The seeded "twin" agenda belongs to the other app but names OUR member's id.
    world.head(preAction="this.member.meta.pwned = True\n" + RETURN_MEMBER, responses=[{"type": "TEXT", "text": "a"}])
    world.store.delete(AGENDAS, {"tag": "theirs"})
    ours = world.ours()
    reports: list[JobReport] = []
    worker = AgendaWorker(
        Engine(world.runtime, sender=world.sender, store=world.store, now=NOW + HOUR),
        AgendaSettings(),
        name="w",
        on_job=reports.append,
    )
    assert worker.run_due() == 1
    (report,) = reports
    assert report.outcome == "failed"
    assert report.error == {"type": "NotFound", "message": f"member {MEMBER} no longer exists"}
    assert world.sender.sent == []
    assert world.stored() == ours
    world.serves()


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("* * * * * *", "'pattern' must have 5 fields"),
        ("*/1 * * * * */5", "'pattern' must have 5 fields"),
        ("@reboot", "'pattern' must have 5 fields"),
    ],
)
def test_a_pattern_more_often_than_every_minute_is_refused(world, pattern, fragment):
    world.head()
    source = f"return this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, pattern={pattern!r}, runUntil={NOW + DAY})"
    refused(world.run(source), "ParamError", fragment, line=1)
    assert world.agendas(app=APP) == []


def test_an_agenda_rescheduling_itself_into_the_past_cannot_starve_the_scheduler(world):
    hot = "\n".join(
        [
            f"this.updateAgenda(memberId=this.member._id, tag='hot', nextRunAt={EARLIEST})",
            "this.member.meta.runs = (this.member.meta.runs or 0) + 1",
            RETURN_MEMBER,
        ]
    )
    world.tree({A: {"name": "Hot", "preAction": hot}})
    for _ in range(2):
        planned = world.run(
            f"return this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, nextRunAt={EARLIEST}, tag='hot')"
        )
        assert planned.ok, planned.error
    # The other app's reminder, due now.
    victim = world.run(
        f"return this.newAgenda(memberId={FOREIGN_MEMBER!r}, treeId={FOREIGN_TREE!r}, nodeCompositeId={THEIRS!r}, nextRunAt={NOW}, tag='victim')",
        app=OTHER_APP,
    )
    assert victim.ok, victim.error
    reports: list[JobReport] = []
    worker = AgendaWorker(
        Engine(world.runtime, sender=world.sender, store=world.store, now=NOW),
        AgendaSettings(batch=2),
        name="w",
        on_job=reports.append,
    )
    thread = threading.Thread(target=worker.run_due, daemon=True)
    thread.start()
    thread.join(3)
    returned = not thread.is_alive()
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
    runs = world.stored()["meta"].get("runs", 0)
    victim_done = world.store.find_one(AGENDAS, {"app": OTHER_APP, "tag": "victim"})["completed"]
    assert returned, f"run_due did not return: the hot agendas ran {runs} times"
    assert victim_done, "the other app's due agenda never ran"
    assert runs <= 4
    # An agenda run plans no sooner than 10 s ahead: the first hot agenda ran once and both wait.
    hot_agendas = world.store.find(AGENDAS, {"tag": "hot"}, sort=[("runCount", -1)])
    assert [(a["runCount"], a["nextRunAt"], a["completed"]) for a in hot_agendas] == [
        (1, NOW + 10_000, False),
        (0, NOW + 10_000, False),
    ]


# Resource exhaustion: responses and tags -----------------------------------------------------------

TAG_FLOODS = [
    # (what, tagging script, message fragment)
    ("many-tags", "return {'tags': ['t' + str(i) for i in range(100000)]}", "a node adds at most 100 tags, not 100000"),
    (
        "huge-tags",
        "return {'tags': [str(i) + 'x' * 3_000_000 for i in range(3)]}",
        "a tag is at most 100 characters, not 3000001",
    ),
]


@pytest.mark.parametrize(("what", "script", "fragment"), TAG_FLOODS, ids=[case[0] for case in TAG_FLOODS])
def test_a_tagging_script_flooding_tags_stops_the_chain_and_nothing_is_written(world, what, script, fragment):
    world.head(
        preAction="this.member.meta.x = 1\n" + RETURN_MEMBER,
        responses=[{"type": "TEXT", "text": "a"}],
        tagging={"script": script},
    )
    ours = world.ours()
    stopped(world.receive(), "LimitExceeded", fragment, node=A, step="tagging")
    assert world.stored() == ours
    world.serves()


def test_tags_piling_up_over_many_messages_stop_at_the_members_limit(world):
    world.set_member(tags=[f"old{i}" for i in range(950)])
    world.head(
        preAction="this.member.meta.x = 1\n" + RETURN_MEMBER,
        tagging={"script": "return {'tags': ['new' + str(i) for i in range(100)]}"},
    )
    ours = world.ours()
    stopped(world.receive(), "LimitExceeded", "the member would hold 1050 tags; the most is 1000")
    assert world.stored() == ours
    world.serves()


def test_a_static_tagging_list_is_held_to_the_same_bounds(world):
    world.head(
        preAction="this.member.meta.x = 1\n" + RETURN_MEMBER,
        tagging=["x" * 3_000_000, "y" * 3_000_000] + [f"t{i}" for i in range(500)],
    )
    ours = world.ours()
    result = world.receive()
    # check_tree holds a static list to the same bounds: the tree is refused, nothing runs.
    assert result.nodes == []
    assert any("tagging: a node adds at most 100 tags, not 502" in log["message"] for log in result.logs)
    assert world.stored() == ours


def test_tagging_that_is_not_a_list_of_strings_stops_the_chain(world):
    world.head(tagging={"script": "return {'tags': [{'$set': {'app': 'x'}}]}"})
    ours = world.ours()
    stopped(world.receive(), "TypeError", 'a tagging script returns {"tags": [', node=A, step="tagging")
    assert world.stored() == ours
    world.serves()


def test_a_response_script_returning_10000_responses_stops_before_anything_is_sent(world):
    world.head(
        preAction="this.member.meta.x = 1\n" + RETURN_MEMBER,
        responses=[{"script": "return [{'type': 'TEXT', 'text': 'spam'} for i in range(10000)]"}],
    )
    ours = world.ours()
    stopped(world.receive(), "LimitExceeded", "a node sends at most 20 responses", node=A, step="response")
    assert world.sender.sent == []
    assert world.stored() == ours
    world.serves()


@pytest.mark.parametrize(
    "response",
    [
        "{'type': 'IMAGE', 'url': 'https://x.example/' + 'a' * 10_000_000}",
        "{'type': 'QUICK_REPLIES', 'text': 'pick', 'quickReplies': [{'title': 't' * 1000, 'payload': 'p'}] * 5000}",
        "{'type': 'TEXT' * 100_000, 'text': 'x'}",
        "{'type': 'TEXT', 'text': 'x' * 1_000_000}",
    ],
    ids=["huge-image", "huge-quick-replies", "huge-type", "huge-text"],
)
def test_a_huge_response_stops_the_chain_before_anything_is_sent(world, response):
    world.head(responses=[{"type": "TEXT", "text": "first"}, {"script": f"return {response}"}])
    ours = world.ours()
    stopped(world.receive(), "ParamError", "response 2: a response is at most 64 KiB", node=A, step="response")
    assert world.sender.sent == []
    assert world.stored() == ours
    world.serves()


def test_a_long_text_response_stops_the_chain_before_anything_is_sent(world):
    world.head(responses=[{"type": "TEXT", "text": "first"}, {"script": "return {'type': 'TEXT', 'text': 'x' * 5000}"}])
    ours = world.ours()
    result = world.receive()
    stopped(
        result,
        "ParamError",
        "response 2: text is 5000 characters; the most a TEXT response carries is 2000",
        node=A,
        step="response",
    )
    assert world.sender.sent == []
    assert world.stored() == ours
    world.serves()


# Resource exhaustion: triggers ---------------------------------------------------------------------

LOOPING_CONDITION = "sum(1 for a in range(10**7) for b in range(10**7)) > 0"


@pytest.mark.parametrize("mode", ["inprocess", pytest.param("isolated", marks=pytest.mark.slow)])
def test_a_condition_that_loops_forever_costs_its_budget_and_does_not_match(world, pool, mode):
    if mode == "isolated":
        world = World(pool)
    world.tree(
        {
            A: {
                "name": "Loop",
                "head": True,
                "trigger": {"type": "condition", "condition": LOOPING_CONDITION},
                "responses": [{"type": "TEXT", "text": "never"}],
            },
            B: {
                "name": "Fallback",
                "head": True,
                "priority": 1,
                "trigger": {"type": "text"},
                "responses": [{"type": "TEXT", "text": "fallback"}],
            },
        }
    )
    result, seconds = within(60, world.receive)
    assert result.ok, result.error
    assert [n["compositeId"] for n in result.nodes] == [B]
    assert world.texts() == ["fallback"]
    (warning,) = [log for log in result.logs if log["step"] == "trigger"]
    assert warning["node"] == A and warning["level"] == "warn"
    assert warning["message"].startswith(f"condition failed: LimitExceeded: node Loop ({TREE}/{A}) trigger")
    assert "wall time budget exceeded" in warning["message"]
    wall = LIMITS.wall_ms / 1000
    assert seconds < wall + 2.5, f"a looping condition held the host {seconds:.1f} s on a {wall} s budget"
    # The next message works: the member is at B now; from the heads again.
    world.store.update(
        "members", {"_id": ObjectId(MEMBER)}, {"$unset": {"botMeta.tree": "", "botMeta.nodeCompositeId": ""}}
    )
    world.tree(
        {
            B: {
                "name": "Fallback",
                "head": True,
                "trigger": {"type": "text"},
                "responses": [{"type": "TEXT", "text": "again"}],
            }
        }
    )
    assert world.receive().ok
    assert world.texts() == ["fallback", "again"]
    world.serves()


def test_many_looping_conditions_cost_one_budget_for_the_message():
    with Runtime(Config(mode="inprocess", workers=1, limits=Limits(wall_ms=200, cpu_ms=5000))) as runtime:
        world = World(runtime)
        nodes = {
            nid(f"c{i}"): {"head": True, "trigger": {"type": "condition", "condition": LOOPING_CONDITION}}
            for i in range(15)
        }
        nodes[B] = {
            "head": True,
            "priority": 1,
            "trigger": {"type": "text"},
            "responses": [{"type": "TEXT", "text": "b"}],
        }
        world.tree(nodes)
        result, seconds = within(60, world.receive)
        assert result.ok, result.error
        assert seconds < 1.0, f"one message ran conditions for {seconds:.1f} s on a 0.2 s budget"


@pytest.mark.parametrize(
    ("keyword", "said", "matches"),
    [
        ("(a+)+$", "a" * 50_000 + "!", False),
        ("(a+)+$", "please (a+)+$ now", True),
        (".*", "anything at all", False),
        (".*", "say .* here", True),
        ("a|b", "a", False),
        ("a|b", "a|b", True),
        ("[", "x [ y", True),
        ("\\", "back \\ slash", True),
        ("(?=x)", "x", False),
        ("^$", "", False),
    ],
)
def test_keywords_are_literal_text_and_match_in_linear_time(world, keyword, said, matches):
    world.tree(
        {
            A: {
                "name": "Keyword",
                "head": True,
                "trigger": {"type": "keyword", "keywords": [keyword]},
                "responses": [{"type": "TEXT", "text": "matched"}],
            },
            B: {
                "name": "Else",
                "head": True,
                "priority": 5,
                "trigger": {"type": "any"},
                "responses": [{"type": "TEXT", "text": "else"}],
            },
        }
    )
    result, seconds = within(30, lambda: world.receive(said))
    assert result.ok, result.error
    assert world.texts() == ["matched" if matches else "else"]
    assert seconds < 2


# The scheduler's own collection --------------------------------------------------------------------

REACH_AGENDAS = [
    (
        "id-bare",
        f"upsertDataToDataSource(dataSourceId='agendas', data={{'lockedUntil': {NOW * 2}}})",
        "ParamError",
        "dataSourceId 'agendas' is not of the form <appId>_<name>",
    ),
    (
        "id-traversal",
        f"upsertDataToDataSource(dataSourceId='{APP}_../agendas', data={{'lockedUntil': 1}})",
        "ParamError",
        "is not of the form <appId>_<name>",
    ),
    (
        "id-dot",
        f"patchDataToDataSource(dataSourceId='{APP}_.agendas', filter={{}}, patch={{'lockedUntil': 1}})",
        "ParamError",
        "is not of the form <appId>_<name>",
    ),
    (
        "id-no-app",
        "fetchDataFromDataSource(dataSourceId='_agendas')",
        "ParamError",
        "is not of the form <appId>_<name>",
    ),
    (
        "id-other-app",
        f"findAndModifyDataFromDataSource(dataSourceId='{OTHER_APP}_agendas', filter={{}}, patch={{'lockedUntil': 1}}, withModifier=False)",
        "PermissionDenied",
        f"data source {OTHER_APP}_agendas belongs to another app",
    ),
    (
        "name-traversal",
        "patchDataToDataSource(collectionName='../agendas', filter={}, patch={'lockedUntil': 1})",
        "ParamError",
        "collectionName '../agendas' is not a data source name",
    ),
    ("name-dotted", "fetchDataFromDataSource(collectionName='x.agendas')", "ParamError", "is not a data source name"),
    ("name-slash", "countDataSource(collectionName='x/../../agendas')", "ParamError", "is not a data source name"),
    (
        "name-is-ours",
        "patchDataToDataSource(collectionName='agendas', filter={}, patch={'lockedUntil': 1}, multi=True)",
        "NotFound",
        f"data source {APP}_agendas does not exist",
    ),
    (
        "id-is-ours",
        f"upsertDataToDataSource(dataSourceId='{APP}_agendas', data={{'lockedUntil': 1}})",
        "NotFound",
        f"data source {APP}_agendas does not exist",
    ),
]


@pytest.mark.parametrize(("what", "call", "kind", "fragment"), REACH_AGENDAS, ids=[case[0] for case in REACH_AGENDAS])
def test_a_script_cannot_write_the_agendas_collection(world, what, call, kind, fragment):
    world.tree({A: {"name": "Forger", "head": True, "trigger": {"type": "text"}, "preAction": f"x = 1\nthis.{call}"}})
    agendas = copy.deepcopy(world.agendas())
    stopped(world.receive(), kind, fragment, node=A, step="preAction", line=2)
    assert world.agendas() == agendas
    assert world.agendas(lockedUntil={"$exists": True}) == []
    world.serves()


def test_an_apps_own_agendas_data_source_is_not_the_schedulers_collection(world):
    # An app may have a data source called "agendas": <app>_agendas, nothing to do with the scheduler.
    world.store.insert_one(f"{APP}_agendas", {"note": "mine"})
    world.head(responses=[{"type": "TEXT", "text": "ran"}])
    planned = world.run(
        f"return this.newAgenda(memberId={MEMBER!r}, treeId={TREE!r}, nodeCompositeId={A!r}, nextRunAt={NOW})"
    )
    assert planned.ok, planned.error
    agendas = copy.deepcopy(world.agendas())
    forge = f"""
this.patchDataToDataSource(collectionName="agendas", filter={{}}, patch={{"lockedUntil": {NOW * 2}, "completed": True}}, multi=True)
this.upsertDataToDataSource(dataSourceId="{APP}_agendas", data={{"app": "{APP}", "lockedUntil": {NOW * 2}, "nextRunAt": 0, "completed": False}})
return this.fetchDataFromDataSource(collectionName="agendas")
"""
    result = world.run(forge)
    assert result.ok, result.error
    assert len(result.value) == 2 and {row.get("note") for row in result.value} == {"mine", None}
    assert world.agendas() == agendas
    # The scheduler still runs the real agenda, unlocked and due.
    worker = AgendaWorker(
        Engine(world.runtime, sender=world.sender, store=world.store, now=NOW), AgendaSettings(), name="w"
    )
    assert worker.run_due() == 1
    assert world.texts() == ["ran"]
