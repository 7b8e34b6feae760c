"""``noderuntime chat``: talk to a tree in the terminal, as a member would.

Each line typed is a message event (a TEXT, or a PAYLOAD when it picks a
quick reply by number or title) handled by the node engine on the embedded
store. The bot's responses are printed under the node that sent them, with
the scripts' logs and what changed on the member. Agendas run on time in the
background (and at once with ``/wait``, which moves the clock forward).
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bson import ObjectId

from noderuntime.diff import diff
from noderuntime.engine.agenda import AgendaWorker, JobReport
from noderuntime.engine.executor import PERSISTED, ChainResult, Engine
from noderuntime.engine.trees import check_tree
from noderuntime.livechat.assignments import active_for
from noderuntime.livechat.desk import LiveChat
from noderuntime.store import Store
from noderuntime.store.ids import for_script, match_id
from noderuntime.store.schema import AGENDAS, CHANNELS, MEMBERS, TREES
from noderuntime.testing.fakes.desks import AgentDesk

HELP = """\
Type as the member. A number or a title picks a quick reply.
  /click PAYLOAD   press a button with this payload
  /wait 30s        move the clock forward (s, m, h, d) and run the agendas now due
  /agenda          the member's pending agendas
  /member          the member as stored
  /quit            leave (end of input also leaves)"""

AGENT_HELP = """With --fake-outlet, you also play the agent on the other side:
  /agent TEXT      an agent answers the member in the live chat
  /take            an agent takes the chat (Rocket.Chat and custom send this event)
  /end             the agent ends the chat"""

#: ``before`` of a run whose starting member the chat did not see (an agenda's).
_UNKNOWN: Any = object()

_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass
class AgentSide:
    """The agents' side of a chat: the live-chat desk and the fake system agents work in."""

    desk: LiveChat
    agents: AgentDesk


class ChatError(Exception):
    """The tree file, the seed or the channel is not usable; the message says why."""


def read_trees(path: Path) -> list[dict[str, Any]]:
    """The tree documents in a JSON file (one tree, or a list), checked."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ChatError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ChatError(f"{path} is not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}") from None
    trees = data if isinstance(data, list) else [data]
    if not trees:
        raise ChatError(f"{path} holds no tree")
    for tree in trees:
        problems = check_tree(tree)
        if problems:
            name = tree.get("_id") if isinstance(tree, dict) else "?"
            raise ChatError(f"{path}: tree {name}: " + "; ".join(problems[:5]))
    return trees


def install(store: Store, trees: list[dict[str, Any]], channel_id: str | None) -> dict[str, Any]:
    """Put ``trees`` in the store and return the channel to chat on: the one
    named, else the first of the trees' app, else a new one. The channel
    lists the trees, so their head nodes answer a new member."""
    for tree in trees:
        store.delete(TREES, {"_id": match_id(tree["_id"])})
        store.insert_one(TREES, dict(tree))
    app = trees[0]["app"]
    if channel_id is not None:
        channel = store.find_one(CHANNELS, {"_id": match_id(channel_id)})
        if channel is None:
            raise ChatError(f"no channel {channel_id} in the database")
    else:
        channel = store.find_one(CHANNELS, {"app": match_id(app)})
    if channel is None:
        channel = {"_id": ObjectId(), "app": app, "name": "terminal", "type": "custom", "trees": []}
        store.insert_one(CHANNELS, channel)
    if str(for_script(channel.get("app"))) != str(for_script(app)):
        raise ChatError(f"channel {for_script(channel['_id'])} belongs to another app than the tree's ({app})")
    listed = channel.get("trees") if isinstance(channel.get("trees"), list) else []
    missing = [tree["_id"] for tree in trees if tree["_id"] not in listed]
    if missing:
        store.update(CHANNELS, {"_id": channel["_id"]}, {"$push": {"trees": {"$each": missing}}})
    return store.find_one(CHANNELS, {"_id": channel["_id"]}) or channel


@dataclass
class Clock:
    """Real time, plus however far ``/wait`` has moved it."""

    offset_ms: int = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


@dataclass
class Chat:
    """One member's conversation with the bot."""

    engine: Engine
    channel: dict[str, Any]
    external_id: str
    clock: Clock
    out: TextIO = field(default_factory=lambda: sys.stdout)
    #: The quick replies on screen: ``(title, payload)`` (a payload may be an object ``{payload, value}``).
    choices: list[tuple[str, Any]] = field(default_factory=list)
    #: The input prompt, shown again after output that arrives while the member types.
    prompt: str = ""
    #: Set with ``--fake-outlet``: the member can be handed to a (fake) agent.
    live: AgentSide | None = None

    def __post_init__(self) -> None:
        self._printing = threading.Lock()
        self.member_id: str | None = None

    # Input -----------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Act on one line; False means leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self._command(line)
        picked = self._choice(line)
        if picked is not None:
            self.send({"type": "PAYLOAD", "data": {"payload": picked, "text": line}})
        else:
            self.send({"type": "TEXT", "data": {"text": line}})
        return True

    def _choice(self, line: str) -> Any:
        if line.isdigit() and 1 <= int(line) <= len(self.choices):
            return self.choices[int(line) - 1][1]
        for title, payload in self.choices:
            if title.lower() == line.lower():
                return payload
        return None

    def _command(self, line: str) -> bool:
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            self.say(HELP if self.live is None else f"{HELP}\n{AGENT_HELP}")
        elif name in ("/agent", "/take", "/end") and self.live is not None:
            self._as_agent(name, rest)
        elif name == "/click" and rest:
            self.send({"type": "PAYLOAD", "data": {"payload": rest}})
        elif name == "/wait" and _DURATION.match(rest):
            amount, unit = _DURATION.match(rest).groups()  # type: ignore[union-attr]
            self.clock.offset_ms += int(amount) * _UNIT_MS[unit]
            self.say(f"  (the clock moves {rest} forward)")
            self.run_agendas()
        elif name == "/agenda":
            self._agendas()
        elif name == "/member":
            self.say(json.dumps(self._stored(), ensure_ascii=False, indent=2, default=str))
        else:
            self.say(f"  unknown command {line!r}; /help lists them")
        return True

    # The bot -------------------------------------------------------------------

    def send(self, data: dict[str, Any]) -> None:
        """Send a message event as the member and show what the bot did."""
        before = self._stored()
        event = {"from": self.external_id, "timestamp": self.clock(), **data}
        result = self.engine.receive(str(for_script(self.channel["_id"])), event, external_id=self.external_id)
        if result.member is not None:
            self.member_id = result.member["_id"]
        self.show(result, before)
        if self.live is not None:
            self.live.desk.flush()

    def _as_agent(self, name: str, text: str) -> None:
        """Act as the agent in the member's live chat, through the fake system and its webhook."""
        assert self.live is not None
        self.live.desk.flush()  # the conversation must be open on the agents' side first
        member = self._stored()
        current = None if member is None else active_for(self.engine.store, str(member["app"]), member["_id"])
        if current is None:
            self.say("  no live chat in progress: ask the bot for an agent first")
            return
        state, assignment = dict(current.get("outletState") or {}), str(current["_id"])
        if name == "/agent" and not text:
            self.say("  /agent needs the agent's message: /agent Hello!")
            return
        agents = self.live.agents
        status = {
            "/agent": lambda: agents.say(state, assignment, text),
            "/take": lambda: agents.take(state, assignment),
            "/end": lambda: agents.end(state, assignment),
        }[name]()
        if status == 0 and name == "/take":
            self.say(f"  ({agents.kind} sends no event when an agent takes a chat)")
        elif status != 200:
            self.say(f"  (the webhook answered {status})")
        self.live.desk.flush()

    def on_live(self, what: str, details: dict[str, Any]) -> None:
        """Show what the agents' side did (it may arrive while the member types)."""
        lead = "\n" if self.prompt else ""
        if what == "agent":
            response = details["response"]
            name = (details.get("agent") or {}).get("name") or (details.get("agent") or {}).get("username") or "agent"
            shown = response.get("text") if response.get("type") == "TEXT" else json.dumps(response, ensure_ascii=False)
            self.say(f"{lead}{name}> {shown}")
        elif what == "taken":
            agent = details.get("agent") or {}
            self.say(
                f"{lead}  (an agent took the chat: {agent.get('name') or agent.get('username') or agent.get('id')})"
            )
        elif what == "ended":
            self.say(f"{lead}  (the live chat ended: {details['reason']})")
            if details.get("chain") is not None:
                self.show(details["chain"], _UNKNOWN)
        if self.prompt:
            with self._printing:
                print(self.prompt, end="", file=self.out, flush=True)

    def run_agendas(self) -> None:
        """Run every agenda due now (reminders print as they run)."""
        worker = AgendaWorker(self.engine, self.engine.runtime.config.agenda, name="chat", on_job=self.on_agenda)
        worker.run_due()

    def on_agenda(self, report: JobReport) -> None:
        """Show an agenda run (from the background, it may come while the member types)."""
        # At a prompt, start on a line of its own.
        lead = "\n" if self.prompt else ""
        self.say(f"{lead}  [agenda {report.agenda} ran {report.node}: {report.outcome}, {report.late_ms} ms late]")
        if report.chain is not None:
            self.show(report.chain, _UNKNOWN)
        if self.prompt:
            with self._printing:
                print(self.prompt, end="", file=self.out, flush=True)

    # Output --------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Print a line (agenda runs print from another thread)."""
        with self._printing:
            print(text, file=self.out, flush=True)

    def show(self, result: ChainResult, before: Any) -> None:
        """The nodes that ran, their logs and messages, the error, and the
        member's change since ``before`` (None: a new member; ``_UNKNOWN``: not shown)."""
        lines: list[str] = []
        shown_logs: set[int] = set()
        if result.sent():
            self.choices = []  # a new message replaces the menu on screen
        for index, node in enumerate(result.nodes):
            label = node["name"] or node["compositeId"]
            lines.append(f"  ── {label}{' (muted)' if node['muted'] else ''}")
            for number, log in enumerate(result.logs):
                if log.get("node") == node["compositeId"] and number not in shown_logs:
                    shown_logs.add(number)
                    lines.append(f"     [{log['step']}] {log['level']}: {log['message']}")
            if index < len(result.sendResults):
                for sent in result.sendResults[index].get("result") or []:
                    lines.extend(self._message(sent["messageEvent"]))
        lines.extend(f"  [{log['level']}] {log['message']}" for n, log in enumerate(result.logs) if n not in shown_logs)
        for redirect in result.redirects:
            lines.extend(self._redirected(redirect))
        if result.liveChat is not None:
            lines.append(f"  → to the agent (live chat {result.liveChat['assignmentId']})")
        elif not result.nodes and result.ok:
            lines.append("  (no node answered)")
        if result.error is not None:
            lines.append(f"  error {result.error.get('type')}: {result.error.get('message')}")
            if result.error.get("snippet"):
                lines.extend("     " + line for line in str(result.error["snippet"]).splitlines())
            lines.append("  (nothing was saved to the member)")
        elif result.member is not None and before is not _UNKNOWN:
            if before is None:
                lines.append(f"     (new member {result.member['_id']})")
            lines.extend(_member_changes(before, result.member))
        self.say("\n".join(lines))

    def _redirected(self, result: ChainResult) -> list[str]:
        """A chain run by a script's redirectMemberToNode: its nodes and messages."""
        lines = []
        for index, node in enumerate(result.nodes):
            lines.append(f"  ── (redirect) {node['name'] or node['compositeId']}")
            if index < len(result.sendResults):
                for sent in result.sendResults[index].get("result") or []:
                    lines.extend(self._message(sent["messageEvent"]))
        for inner in result.redirects:
            lines.extend(self._redirected(inner))
        return lines

    def _message(self, event: dict[str, Any]) -> list[str]:
        data = event.get("data") or {}
        kind = event.get("type")
        if kind == "TEXT":
            return [f"bot> {data.get('text')}"]
        if kind in ("QUICK_REPLIES", "BUTTON"):
            options = data.get("quickReplies") or data.get("buttons") or []
            self.choices = [(str(o.get("title")), o["payload"]) for o in options if o.get("payload") is not None]
            picks = "  ".join(f"[{n}] {title}" for n, (title, _) in enumerate(self.choices, start=1))
            return [f"bot> {data.get('text')}", f"     {picks}"]
        shown = {key: value for key, value in data.items() if key != "transform"}
        return [f"bot> [{kind}] {json.dumps(shown, ensure_ascii=False, default=str)}"]

    def _stored(self) -> dict[str, Any] | None:
        found = self.engine.store.find_one(MEMBERS, {"channel": self.channel["_id"], "externalId": self.external_id})
        return None if found is None else for_script(found)

    def _agendas(self) -> None:
        member = self._stored()
        if member is None:
            self.say("  no member yet: say something first")
            return
        pending = self.engine.store.find(
            AGENDAS, {"member": match_id(member["_id"]), "completed": False}, sort=[("nextRunAt", 1)]
        )
        if not pending:
            self.say("  no pending agendas")
        for agenda in pending:
            seconds = (int(agenda["nextRunAt"]) - self.clock()) / 1000
            self.say(f"  {agenda.get('tag') or '(no tag)'} -> {agenda['nodeCompositeId']} in {seconds:.0f} s")


def _member_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What the chain changed on the stored member (the fields it may write)."""
    fields = (*PERSISTED, "tags")
    old = {name: before[name] for name in fields if before is not None and name in before}
    new = {name: after.get(name) for name in fields if name in after}
    lines = []
    for op, path, was, now in diff(old, new):
        shown = lambda value: json.dumps(value, ensure_ascii=False, default=str)  # noqa: E731
        if op == "~":
            lines.append(f"     member ~ {path}: {shown(was)} -> {shown(now)}")
        else:
            lines.append(f"     member {op} {path}: {shown(now if op == '+' else was)}")
    return lines


def converse(chat: Chat, lines: Callable[[], str], background: bool) -> None:
    """Read lines until ``/quit`` or the end of input. With ``background``,
    agendas also run on time while the member is typing."""
    worker = None
    if background:
        worker = AgendaWorker(chat.engine, chat.engine.runtime.config.agenda, name="chat", on_job=chat.on_agenda)
        threading.Thread(target=worker.run_forever, name="agenda", daemon=True).start()
    try:
        while True:
            try:
                line = lines()
            except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C leaves quietly
                break
            if not chat.handle(line):
                break
    finally:
        if worker is not None:
            worker.stop()
