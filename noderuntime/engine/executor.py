"""The node executor: runs a node, and the nodes it redirects to, for a member.

One node runs in this order (the original platform's):

1. pre-action (``runPreAction``);
2. responses, chosen by locale and sent through the sender (``sendResponse``);
3. post-action and member tagging (``runPostAction``);
4. redirect: the target node runs the same way, with the redirect's options.

The member a script returns (``return {"member": this.member}``) carries
forward in memory to the next script. When the chain ends, only ``botMeta``,
``meta``, ``customLocale`` and ``group`` (and new tags) are written back,
field by field, and ``botMeta.tree``/``botMeta.nodeCompositeId`` point at
the last node. A script error stops the chain and nothing is written back.
"""

from __future__ import annotations

import contextvars
import copy
import random
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from noderuntime.diff import diff
from noderuntime.engine import history
from noderuntime.engine.sender import RecordingSender, Sender, check_response
from noderuntime.engine.trees import Node, Redirect, Tree, TreeError, load_tree, tags_problem
from noderuntime.engine.triggers import candidates, match
from noderuntime.errors import MethodError, RedirectError
from noderuntime.methods.members import PROTECTED
from noderuntime.store import Store
from noderuntime.store.guard import check_document
from noderuntime.store.ids import for_script, match_id
from noderuntime.store.schema import CHANNELS, MEMBERS
from noderuntime.store.updates import stamp_update

if TYPE_CHECKING:
    from noderuntime.fetch import HttpClient
    from noderuntime.runtime import Run, RunResult, Runtime

#: The member fields a node chain writes back (the platform's rule).
PERSISTED = ("botMeta", "meta", "customLocale", "group")
#: Fields that make a member who they are (and where responses go): a
#: script cannot change them in the chain.
IDENTITY = (*PROTECTED, "externalId")
#: The most responses one node sends (the platforms advise three).
MAX_RESPONSES = 20
#: The most tags a member holds.
MAX_MEMBER_TAGS = 1000


@dataclass
class ChainResult:
    """What a node chain did.

    ``member`` is the member as stored afterwards (unchanged when the chain
    failed); ``nodes`` lists the nodes that ran, in order; ``sendResults``
    holds one NodeSendResult per node; ``logs`` carry the node and step
    they came from; ``error`` names the node, the step and the author's line.
    """

    ok: bool
    member: dict[str, Any] | None = None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    sendResults: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None
    #: The chains that this chain's scripts ran with ``redirectMemberToNode``, in order.
    redirects: list[ChainResult] = field(default_factory=list)
    #: Set when the member was in a live chat: the message went to the agent
    #: (``{assignmentId, outlet, queued}``) and no node ran.
    liveChat: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for JSON output."""
        return {
            "ok": self.ok,
            "member": self.member,
            "nodes": self.nodes,
            "sendResults": self.sendResults,
            "logs": self.logs,
            "error": self.error,
            "redirects": [redirect.as_dict() for redirect in self.redirects],
            "liveChat": self.liveChat,
        }

    def sent(self) -> list[dict[str, Any]]:
        """Every message event sent: this chain's, then its redirects'."""
        events = [item["messageEvent"] for result in self.sendResults for item in result.get("result") or []]
        return events + [event for redirect in self.redirects for event in redirect.sent()]


#: The chain whose script is running in this thread (a redirect it makes is recorded on it).
_RUNNING: contextvars.ContextVar[_Chain | None] = contextvars.ContextVar("running_chain", default=None)


def note_redirect(result: ChainResult) -> None:
    """Record a chain run by ``redirectMemberToNode`` on the chain whose script made the call."""
    chain = _RUNNING.get()
    if chain is not None:
        chain.result.redirects.append(result)


class ChainStopped(Exception):
    """A node chain cannot go on; ``error`` is what the caller is told."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


@dataclass
class _Chain:
    """The state of one chain: the member as loaded and as carried forward."""

    app: str
    loaded: dict[str, Any]
    member: dict[str, Any]
    channel: dict[str, Any] | None
    event: dict[str, Any] | None
    agenda_meta: dict[str, Any] | None
    #: The member's ``_id`` as stored (the write-back names this exact document).
    stored_id: Any = None
    trees: dict[str, Tree] = field(default_factory=dict)
    position: tuple[str, str] | None = None
    tags: list[str] = field(default_factory=list)
    result: ChainResult = field(default_factory=lambda: ChainResult(ok=True))


class Engine:
    """Runs nodes for members: on a message (:meth:`receive`), or at a node
    named by a redirect or an agenda (:meth:`run_node`).

    ``store``, ``http`` and ``now`` default to the runtime's; ``sender``
    delivers responses (a :class:`RecordingSender` when none is given);
    ``rng`` breaks ties between equal priorities.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        sender: Sender | None = None,
        store: Store | None = None,
        http: HttpClient | None = None,
        now: int | None = None,
        rng: random.Random | None = None,
        max_redirects: int | None = None,
        nesting: int = 0,
        deadline: float | None = None,
    ) -> None:
        self.runtime = runtime
        self.sender: Sender = sender if sender is not None else RecordingSender()
        self._store = store
        self.http = http
        self._now = now
        self.rng = rng or random.Random()
        self.max_redirects = runtime.config.max_redirects if max_redirects is None else max_redirects
        #: How many redirects made by scripts this engine is inside.
        self.nesting = nesting
        #: When its scripts must be done (``time.monotonic()``): a redirect's
        #: caller's deadline. None: each script has its whole budget.
        self.deadline = deadline

    @property
    def store(self) -> Store:
        """The database nodes and members are read from."""
        return self._store if self._store is not None else self.runtime.store

    def now_ms(self) -> int:
        """The engine's clock, in epoch milliseconds."""
        return self._now if self._now is not None else self.runtime.now_ms()

    def within(self, deadline: float) -> Engine:
        """This engine, with every script ending by ``deadline`` (``time.monotonic()``)."""
        bounded = copy.copy(self)
        bounded.deadline = deadline if self.deadline is None else min(self.deadline, deadline)
        return bounded

    @classmethod
    def serving(cls, run: Run) -> Engine:
        """The engine for a redirect made by ``run``'s script: the same world
        (database, HTTP, clock, sender), one level deeper."""
        parent = run.engine
        nesting = parent.nesting + 1 if parent is not None else 1
        limit = parent.max_redirects if parent is not None else run.runtime.config.max_redirects
        if nesting > limit:
            raise RedirectError(f"redirects made by scripts are nested more than {limit} deep")
        return cls(
            run.runtime,
            sender=parent.sender if parent is not None else None,
            store=run.store,
            http=run.http,
            now=run.frozen_now,
            rng=parent.rng if parent is not None else None,
            max_redirects=limit,
            nesting=nesting,
            deadline=parent.deadline if parent is not None else None,
        ).within(run.deadline)

    # Entry points --------------------------------------------------------------

    def receive(
        self, channel_id: str, event: dict[str, Any], *, external_id: str | None = None, member_id: str | None = None
    ) -> ChainResult:
        """A member's message on a channel: find the node that answers and run
        it (muted nodes first). A member seen for the first time is created
        (by ``external_id``, or the event's ``from``)."""
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ValueError("a message event is an object with a type (TEXT, PAYLOAD, ...)")
        channel = self.store.find_one(CHANNELS, {"_id": match_id(channel_id)})
        if channel is None:
            return ChainResult(ok=False, error={"type": "NotFound", "message": f"channel {channel_id} does not exist"})
        app = str(for_script(channel.get("app")))
        if member_id is not None:
            stored = self._find_member(app, member_id)
            if stored is None or str(for_script(stored.get("channel"))) != str(for_script(channel["_id"])):
                return _failure(f"member {member_id} does not exist on channel {channel_id}")
        else:
            stored = self._member_for(channel, external_id or event.get("from"))
        history.record(self.store, self.now_ms(), stored, "member", [event])
        bot_meta = stored.get("botMeta")
        if isinstance(bot_meta, dict) and bot_meta.get("liveChat") is True:
            relayed = self._relay_to_agent(app, stored, event)
            if relayed is not None:
                return relayed
            stored = self._find_member(app, str(for_script(stored["_id"]))) or stored
        chain = self._chain(app, stored, for_script(channel), event, None)
        try:
            position = _position(chain.member)
            self._trees_of(chain, position)
            # All the conditions of one message share one wall budget.
            conditions_until = time.monotonic() + self.runtime.config.limits.wall_ms / 1000
            found = match(
                candidates(chain.channel or {}, chain.trees, position),
                event,
                lambda node: self._condition(chain, node, conditions_until),
                self.rng,
            )
            for node, error in found.failures:
                _log(chain, node, "trigger", "warn", f"condition failed: {error.get('type')}: {error.get('message')}")
            for node in found.muted:
                self._run_muted(chain, node)
            if found.node is not None:
                self._run_chain(chain, Redirect(found.node.tree, found.node.id), move=True)
            return self._finish(chain)
        except ChainStopped as stop:
            return _stopped(chain, stop)

    def run_node(
        self,
        app: str,
        member_id: str,
        target: Redirect,
        *,
        agenda_meta: dict[str, Any] | None = None,
        event: dict[str, Any] | None = None,
        channel_id: str | None = None,
    ) -> ChainResult:
        """Run ``target`` (and its redirects) for the app's member, with
        ``this.agendaMeta = agenda_meta``: a redirect or an agenda."""
        stored = self._find_member(app, member_id)
        if stored is None or (channel_id is not None and str(for_script(stored.get("channel"))) != channel_id):
            where = f" on channel {channel_id}" if channel_id is not None else ""
            return _failure(f"member {member_id} does not exist{where}")
        # The member's channel in either stored form (seeded members often carry a string id).
        channel = self.store.find_one(CHANNELS, {"_id": match_id(stored.get("channel")), "app": match_id(app)})
        chain = self._chain(app, stored, None if channel is None else for_script(channel), event, agenda_meta)
        try:
            self._run_chain(chain, target, move=True)
            return self._finish(chain)
        except ChainStopped as stop:
            return _stopped(chain, stop)

    def _relay_to_agent(self, app: str, stored: dict[str, Any], event: dict[str, Any]) -> ChainResult | None:
        """A member in live chat talks to the agent, not the bot: the message
        is queued for the outlet. None when the live chat is over after all."""
        from noderuntime.livechat.desk import LiveChat  # the desk works through engines

        relayed = LiveChat(self).relay_from_member(app, stored, event)
        if relayed is None:
            return None
        return ChainResult(ok=True, member=for_script(stored), liveChat=relayed)

    # The chain -----------------------------------------------------------------

    def _chain(
        self,
        app: str,
        stored: dict[str, Any],
        channel: dict[str, Any] | None,
        event: dict[str, Any] | None,
        agenda_meta: dict[str, Any] | None,
    ) -> _Chain:
        member = for_script(stored)
        return _Chain(app, member, copy.deepcopy(member), channel, event, agenda_meta, stored["_id"])

    def _run_muted(self, chain: _Chain, node: Node) -> None:
        """A muted node (a counter, analytics) must not stop the conversation:
        when it fails, its changes to the member are dropped, the failure is a
        warning, and the node that answers still runs."""
        member, tags = copy.deepcopy(chain.member), list(chain.tags)
        try:
            self._run_chain(chain, Redirect(node.tree, node.id), move=False)
        except ChainStopped as stop:
            chain.member, chain.tags = member, tags
            _log(chain, node, "muted", "warn", f"muted node failed, its changes dropped: {stop.error.get('message')}")

    def _run_chain(self, chain: _Chain, target: Redirect, *, move: bool) -> None:
        seen: list[str] = []
        step: Redirect | None = target
        redirects = 0
        while step is not None:
            try:
                node = self._tree(chain, step.tree).node(step.node)
            except TreeError as error:
                raise ChainStopped(
                    {"type": "TreeError", "message": str(error), "tree": step.tree, "node": step.node}
                ) from None
            key = f"{node.tree}/{node.id}"
            if key in seen:
                path = " -> ".join([*seen, key])
                raise ChainStopped(
                    {"type": "RedirectError", "message": f"redirect cycle: {path}", "tree": node.tree, "node": node.id}
                )
            seen.append(key)
            self._run_one(chain, node, step)
            if move:
                chain.position = (node.tree, node.id)
            step = node.redirect
            if step is not None:
                redirects += 1
                if redirects > self.max_redirects:
                    raise ChainStopped(
                        {
                            "type": "RedirectError",
                            "message": f"the chain redirected more than {self.max_redirects} times "
                            f"({' -> '.join(seen)} -> ...)",
                            "tree": node.tree,
                            "node": node.id,
                        }
                    )

    def _run_one(self, chain: _Chain, node: Node, options: Redirect) -> None:
        chain.result.nodes.append({"tree": node.tree, "compositeId": node.id, "name": node.name, "muted": node.muted})
        if options.run_pre_action and node.pre_action:
            self._take_member(chain, node, "preAction", self._script(chain, node, "preAction", node.pre_action))
        sent = {"ok": 1, "member": str(chain.member.get("_id")), "result": []}
        if options.send_response:
            responses = self._responses(chain, node)
            if responses:
                try:
                    sent = self.sender.send(chain.member, chain.channel, responses, self.now_ms())
                except MethodError as error:
                    raise _stop(node, "response", error.kind, error.message) from None
        chain.result.sendResults.append(sent)
        if options.run_post_action:
            if node.post_action:
                self._take_member(chain, node, "postAction", self._script(chain, node, "postAction", node.post_action))
            chain.tags.extend(self._tags(chain, node))

    def _context(self, chain: _Chain, node: Node) -> dict[str, Any]:
        return {
            "member": chain.member,
            "messageEvent": chain.event,
            "channel": chain.channel,
            "agendaMeta": chain.agenda_meta,
            "node": node.script_view(),
            "app": chain.app,
        }

    def _script(
        self, chain: _Chain, node: Node, step: str, source: str, kind: str = "action", deadline: float | None = None
    ) -> RunResult:
        limits = self.runtime.config.limits
        deadlines = [d for d in (self.deadline, deadline) if d is not None]
        if deadlines:
            # A redirect from a script has what is left of its caller's time;
            # a message's conditions share one budget.
            left_ms = int((min(deadlines) - time.monotonic()) * 1000)
            if left_ms <= 0:
                raise _stop(node, step, "LimitExceeded", "wallTime budget exceeded before this script could start")
            limits = replace(limits, wall_ms=min(limits.wall_ms, left_ms))
        running = _RUNNING.set(chain)
        try:
            result = self.runtime.run(
                source,
                self._context(chain, node),
                kind=kind,
                limits=limits,
                store=self._store,
                http=self.http,
                now=self._now,
                engine=self,
            )
        finally:
            _RUNNING.reset(running)
        for line in result.logs:
            _log(chain, node, step, line["level"], line["message"])
        if not result.ok:
            raise ChainStopped(_where(node, step, dict(result.error or {})))
        return result

    def _condition(self, chain: _Chain, node: Node, deadline: float) -> tuple[bool, dict[str, Any] | None]:
        assert node.trigger is not None
        try:
            result = self._script(chain, node, "trigger", node.trigger["condition"], "condition", deadline)
        except ChainStopped as stop:
            return False, stop.error
        return bool(result.value), None

    def _take_member(self, chain: _Chain, node: Node, step: str, result: RunResult) -> None:
        value = result.value
        returned = value.get("member") if isinstance(value, dict) else None
        if isinstance(returned, dict):
            # A member returned in part changes what it names: leaving botMeta
            # out does not wipe it (set a field to None to clear it).
            member = {**chain.member, **copy.deepcopy(returned)}
            for name in IDENTITY:
                if name in chain.loaded:
                    member[name] = chain.loaded[name]
            chain.member = member
        elif result.member is not None and diff(chain.member, result.member):
            _log(
                chain,
                node,
                step,
                "warn",
                'this.member was changed but not returned, so the change is dropped (return {"member": this.member})',
            )

    def _responses(self, chain: _Chain, node: Node) -> list[dict[str, Any]]:
        chosen = pick_locale(node.responses, chain.member)
        responses = []
        for index, item in enumerate(chosen):
            if "script" in item:
                value = self._script(chain, node, "response", item["script"], "response").value
                produced = value if isinstance(value, list) else [] if value is None else [value]
            else:
                produced = [item]
            for response in produced:
                if len(responses) == MAX_RESPONSES:
                    raise _stop(node, "response", "LimitExceeded", f"a node sends at most {MAX_RESPONSES} responses")
                try:
                    responses.append(check_response(response, f"response {index + 1}"))
                except MethodError as error:
                    raise _stop(node, "response", error.kind, error.message) from None
        return responses

    def _tags(self, chain: _Chain, node: Node) -> list[str]:
        tagging = node.tagging
        if tagging is None:
            return []
        scripted = not isinstance(tagging, list)
        if scripted:
            value = self._script(chain, node, "tagging", tagging["script"], "tagging").value
            tags = value.get("tags") if isinstance(value, dict) else None
        else:
            tags = tagging
        problem = tags_problem(tags)
        if problem is not None:
            kind, message = problem
            if scripted and kind == "TypeError":
                message = 'a tagging script returns {"tags": [non-empty strings]}'
            raise _stop(node, "tagging", kind, message)
        return list(tags)

    def _tree(self, chain: _Chain, tree_id: str) -> Tree:
        if tree_id not in chain.trees:
            chain.trees[tree_id] = load_tree(self.store, chain.app, tree_id)
        return chain.trees[tree_id]

    def _trees_of(self, chain: _Chain, position: tuple[str, str] | None) -> None:
        """Load the trees a message can match in; one that is gone is skipped with a warning."""
        for tree_id in _tree_ids(chain.channel or {}, position):
            try:
                self._tree(chain, tree_id)
            except TreeError as error:
                chain.result.logs.append({"level": "warn", "message": str(error), "node": None, "step": "trigger"})

    # Members -------------------------------------------------------------------

    def _find_member(self, app: str, member_id: str) -> dict[str, Any] | None:
        return self.store.find_one(MEMBERS, {"_id": match_id(member_id), "app": match_id(app)})

    def _member_for(self, channel: dict[str, Any], external_id: Any) -> dict[str, Any]:
        if not isinstance(external_id, str) or not external_id:
            raise ValueError("the member's external id is needed: give external_id or an event with 'from'")
        now = self.now_ms()
        # The channel's and app's ids in either stored form: a member seeded with
        # a string channel id is the same member as one stored with an ObjectId.
        query = {"app": match_id(channel.get("app")), "channel": match_id(channel["_id"]), "externalId": external_id}
        new = {
            "app": channel.get("app"),
            "channel": channel["_id"],
            "botMeta": {"subscribe": True, "liveChat": False, "tempData": {}},
            "meta": {},
            "tags": [],
            "platform": channel.get("type") or "custom",
            "createdAt": now,
            "updatedAt": now,
        }
        # A plain read first: only a member seen for the first time costs a write.
        member = self.store.find_one(MEMBERS, query) or self.store.find_one_and_update(
            MEMBERS, query, {"$setOnInsert": new}, upsert=True, return_new=True
        )
        assert member is not None
        return member

    def _finish(self, chain: _Chain) -> ChainResult:
        """Write back what the chain changed and report it."""
        update = member_update(chain.loaded, chain.member, chain.position, chain.tags)
        held = set(chain.loaded.get("tags") or []) | set(chain.tags)
        if len(held) > MAX_MEMBER_TAGS:
            message = f"the member would hold {len(held)} tags; the most is {MAX_MEMBER_TAGS}"
            raise ChainStopped({"type": "LimitExceeded", "message": message})
        if update:
            # The exact stored document, in the app: another app may hold the other id form.
            exact = {"_id": chain.stored_id, "app": match_id(chain.app)}
            try:
                check_document({name: chain.member.get(name) for name in PERSISTED}, "member")
                self.store.update(MEMBERS, exact, stamp_update(update, self.now_ms()))
            except MethodError as error:
                raise ChainStopped(
                    {"type": "SaveError", "message": f"the member cannot be saved: {error.message}"}
                ) from None
        saved = self.store.find_one(MEMBERS, {"_id": chain.stored_id, "app": match_id(chain.app)})
        chain.result.member = for_script(saved) if saved is not None else None
        sent = [item["messageEvent"] for result in chain.result.sendResults for item in result.get("result") or []]
        if sent and saved is not None:
            history.record(self.store, self.now_ms(), saved, "bot", sent)
        return chain.result


def member_update(
    loaded: dict[str, Any], member: dict[str, Any], position: tuple[str, str] | None, tags: list[str]
) -> dict[str, Any]:
    """The update that writes back a chain's changes: ``botMeta`` and
    ``meta`` path by path down to the values that changed (a concurrent
    change to another path, ``tempData.b`` beside ``tempData.a``, survives),
    ``customLocale`` and ``group`` whole, the position, and new tags."""
    sets: dict[str, Any] = {}
    unsets: dict[str, Any] = {}
    for name in PERSISTED:
        before, after = loaded.get(name), member.get(name)
        if name in ("botMeta", "meta") and isinstance(before, dict) and isinstance(after, dict):
            _leaf_changes(before, after, name, sets, unsets)
        elif name not in member:
            if name in loaded:
                unsets[name] = ""
        elif name not in loaded or diff(before, after):
            sets[name] = after
    if position is not None:
        tree, node = position
        # botMeta written (or removed) whole: the position goes into the whole
        # value, so no update both sets botMeta.tree and unsets botMeta.
        if "botMeta" in sets or "botMeta" in unsets or not isinstance(loaded.get("botMeta"), dict):
            base = member.get("botMeta") if isinstance(member.get("botMeta"), dict) else {}
            sets["botMeta"] = {**base, "tree": tree, "nodeCompositeId": node}
            unsets = {path: "" for path in unsets if path != "botMeta" and not path.startswith("botMeta.")}
        else:
            for field_name in ("botMeta.tree", "botMeta.nodeCompositeId"):
                for paths in (sets, unsets):
                    for path in [p for p in paths if p == field_name or p.startswith(field_name + ".")]:
                        del paths[path]
            sets["botMeta.tree"], sets["botMeta.nodeCompositeId"] = tree, node
    update: dict[str, Any] = {}
    if sets:
        update["$set"] = sets
    if unsets:
        update["$unset"] = unsets
    new_tags = [tag for tag in dict.fromkeys(tags) if tag not in (loaded.get("tags") or [])]
    if new_tags:
        update["$addToSet"] = {"tags": {"$each": new_tags}}
    return update


def _leaf_changes(
    before: dict[str, Any], after: dict[str, Any], path: str, sets: dict[str, Any], unsets: dict[str, Any]
) -> None:
    """``$set``/``$unset`` paths under ``path`` for what changed from ``before`` to ``after``,
    descending into objects present on both sides."""
    for key in [*before, *(k for k in after if k not in before)]:
        child = f"{path}.{key}"
        if key not in after:
            unsets[child] = ""
        elif key not in before:
            sets[child] = after[key]
        elif isinstance(before[key], dict) and isinstance(after[key], dict):
            _leaf_changes(before[key], after[key], child, sets, unsets)
        elif diff(before[key], after[key]):
            sets[child] = after[key]


def pick_locale(responses: Any, member: dict[str, Any]) -> list[dict[str, Any]]:
    """The responses for the member's language: ``customLocale``, then
    ``locale``; each tried whole (``zh_HK``, ``zh-HK`` alike), then by
    language (``zh``); else ``default``."""
    if responses is None:
        return []
    if isinstance(responses, list):
        return responses
    variants = {_locale_key(key): value for key, value in responses.items()}
    for wanted in (member.get("customLocale"), member.get("locale")):
        if isinstance(wanted, str) and wanted:
            key = _locale_key(wanted)
            for candidate in (key, key.split("_")[0]):
                if candidate in variants:
                    return variants[candidate]
    return variants.get("default", [])


def _locale_key(locale: str) -> str:
    return locale.strip().lower().replace("-", "_")


def _position(member: dict[str, Any]) -> tuple[str, str] | None:
    bot_meta = member.get("botMeta") if isinstance(member.get("botMeta"), dict) else {}
    tree, node = bot_meta.get("tree"), bot_meta.get("nodeCompositeId")
    return (tree, node) if isinstance(tree, str) and isinstance(node, str) else None


def _tree_ids(channel: dict[str, Any], position: tuple[str, str] | None) -> list[str]:
    trees = channel.get("trees") if isinstance(channel.get("trees"), list) else []
    refs = channel.get("globalNodes") if isinstance(channel.get("globalNodes"), list) else []
    ids = [*trees, *(ref.get("tree") for ref in refs if isinstance(ref, dict))]
    if position is not None:
        ids.append(position[0])
    return [tree_id for tree_id in dict.fromkeys(ids) if isinstance(tree_id, str)]


def _where(node: Node, step: str, error: dict[str, Any]) -> dict[str, Any]:
    """An error with the node and step it happened in, named in its message too."""
    error = {**error, "tree": node.tree, "node": node.id, "nodeName": node.name, "step": step}
    line = f", line {error['line']}" if error.get("line") else ""
    error["message"] = f"node {node.label()} {step}{line}: {error.get('message')}"
    return error


def _stop(node: Node, step: str, kind: str, message: str) -> ChainStopped:
    return ChainStopped(_where(node, step, {"type": kind, "message": message}))


def _log(chain: _Chain, node: Node, step: str, level: str, message: str) -> None:
    chain.result.logs.append({"level": level, "message": message, "node": node.id, "step": step})


def _failure(message: str) -> ChainResult:
    return ChainResult(ok=False, error={"type": "NotFound", "message": message})


def _stopped(chain: _Chain, stop: ChainStopped) -> ChainResult:
    chain.result.ok = False
    chain.result.error = stop.error
    chain.result.member = chain.loaded
    return chain.result
