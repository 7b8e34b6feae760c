"""The ``noderuntime`` command: ``run`` a script, ``bench`` the runtime.

Exit codes: 0 success, 1 script error, 2 usage error (bad flags, unreadable
files, bad JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bson.errors import BSONError

from noderuntime.config import Config
from noderuntime.diff import diff
from noderuntime.errors import StoreError
from noderuntime.runtime import SCRIPT_KINDS, RunResult, Runtime
from noderuntime.store import Store
from sandbox.pool import WorkerCrashed

EXIT_OK, EXIT_SCRIPT_ERROR, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line or its files (exit code 2)."""


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {what} {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{what} {path} is not valid JSON: line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def _config(args: argparse.Namespace) -> Config:
    try:
        config = Config.from_file(args.config) if args.config else Config()
        config = Config.from_env(config)
    except (OSError, ValueError) as error:
        raise UsageError(f"bad configuration: {error}") from None
    if getattr(args, "mode", None):
        config = replace(config, mode=args.mode)
    if getattr(args, "mongo_uri", None):
        config = replace(config, mongo_uri=args.mongo_uri)
    if getattr(args, "mongo_db", None):
        config = replace(config, mongo_database=args.mongo_db)
    if getattr(args, "allow_host", None):
        config = replace(config, fetch_allow_hosts=tuple(args.allow_host))
    return config


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def print_result(result: RunResult, member_before: Any, out: Any = None) -> None:
    """The human-readable report of one run."""
    out = out or sys.stdout
    if result.ok:
        print(f"ok  value: {_show(result.value)}", file=out)
    else:
        error = result.error or {}
        where = f" (line {error['line']}, column {error['column']})" if error.get("line") else ""
        print(f"error  {error.get('type')}: {error.get('message')}{where}", file=out)
        if error.get("snippet"):
            print(error["snippet"], file=out)
    changes = diff(member_before or {}, result.member or {})
    print("member:" + ("" if changes else " unchanged"), file=out)
    for op, path, old, new in changes:
        if op == "~":
            print(f"  ~ {path}: {_show(old)} -> {_show(new)}", file=out)
        else:
            print(f"  {op} {path}: {_show(new if op == '+' else old)}", file=out)
    if result.logs:
        print("logs:", file=out)
        for line in result.logs:
            print(f"  [{line['level']}] {line['message']}", file=out)
    if result.calls:
        print("calls:", file=out)
        for call in result.calls:
            status = "ok" if call.get("ok") else f"{call['error']['type']}: {call['error']['message']}"
            print(f"  {call['method']}({_show(call['params'])}) -> {status} [{call['ms']} ms]", file=out)
    usage = result.usage
    print(
        f"usage: {usage.wall_ms} ms wall, {usage.cpu_ms} ms CPU, {usage.method_calls} calls, "
        f"{usage.http_requests} HTTP requests, {usage.http_bytes} HTTP bytes",
        file=out,
    )


def command_run(args: argparse.Namespace) -> int:
    """``noderuntime run SCRIPT``."""
    try:
        source = Path(args.script).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read script {args.script}: {error.strerror}") from None
    context = _read_json(args.context, "context") if args.context else {}
    if not isinstance(context, dict):
        raise UsageError("the context file must hold a JSON object")
    config = _config(args)
    store = _store(config, args)
    clock = (lambda: args.now) if args.now is not None else None
    try:
        runtime = Runtime(config, clock=clock, store=store)
    except ValueError as error:
        raise UsageError(str(error)) from None
    recording = _recorders(args, runtime, store) if args.record else None
    now = (args.now if args.now is not None else runtime.now_ms()) if recording else None
    with runtime:
        try:
            if recording:
                result = runtime.run(source, context, kind=args.kind, store=recording[0], http=recording[1], now=now)
            else:
                result = runtime.run(source, context, kind=args.kind)
        except ValueError as error:
            raise UsageError(str(error)) from None
        except WorkerCrashed as error:
            print(f"noderuntime: {error}", file=sys.stderr)
            return EXIT_SCRIPT_ERROR
        if args.dump:
            _dump(store, args.dump)
        if recording:
            _write_recording(args, context, now, result, recording)
        store.close()
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print_result(result, context.get("member"))
    return EXIT_OK if result.ok else EXIT_SCRIPT_ERROR


def _store(config: Config, args: argparse.Namespace) -> Store:
    """The run's database: MongoDB when a URI is configured (``--db`` and
    ``--dump`` are for the embedded store only), else embedded, seeded from ``--db``."""
    if config.mongo_uri:
        if args.db or args.dump:
            raise UsageError("--db and --dump work on the embedded store; with a MongoDB URI the data is the server's")
        try:
            return Store.connect(config.mongo_uri, config.mongo_database)
        except StoreError as error:
            raise UsageError(error.message) from None
    store = Store.embedded_store(name=config.mongo_database)
    if args.db:
        try:
            store.load_file(args.db)
        except OSError as error:
            raise UsageError(f"cannot read database {args.db}: {error.strerror}") from None
        except (ValueError, BSONError, StoreError) as error:
            raise UsageError(f"database {args.db} is not valid extended JSON: {error}") from None
    return store


def _dump(store: Store, path: str) -> None:
    """``--dump``: the embedded database as extended JSON."""
    try:
        store.dump_file(path)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None


def _recorders(args: argparse.Namespace, runtime: Runtime, store: Store) -> tuple[Any, Any]:
    from noderuntime.testing.record import RecordingHttp, RecordingStore

    return RecordingStore(store), RecordingHttp(runtime.http)


def _write_recording(
    args: argparse.Namespace, context: dict[str, Any], now: int | None, result: RunResult, recording: tuple[Any, Any]
) -> None:
    from noderuntime.testing.record import write_fixture

    path = Path(args.record)
    try:
        write_fixture(
            path,
            script_path=Path(args.script),
            kind=args.kind,
            context=context,
            now=int(now or 0),
            result=result,
            store=recording[0],
            http=recording[1],
        )
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    print(f"recorded {path}: replay it with noderuntime test {path}", file=sys.stderr)


def command_test(args: argparse.Namespace) -> int:
    """``noderuntime test [PATH ...]``: run fixture cases, show what differs."""
    from noderuntime.testing.runner import Report, collect, format_failure, run_cases, write_junit

    config = _config(args)
    started = time.perf_counter()
    cases, broken = collect([Path(p) for p in args.paths], args.select)
    report = Report(broken=broken)
    if not cases and not broken:
        where = f" matching -k {args.select!r}" if args.select else ""
        print(
            f"noderuntime: no fixture cases{where} under {', '.join(args.paths)} "
            "(files named *.case.yaml, *.case.yml or *.case.json)",
            file=sys.stderr,
        )
        return EXIT_SCRIPT_ERROR
    done = 0
    printing = threading.Lock()

    def progress(outcome: Any) -> None:
        nonlocal done
        with printing:
            done += 1
            end = "\n" if done % 60 == 0 or done == len(cases) else ""
            print("." if outcome.passed else "F", end=end, flush=True)

    with Runtime(config) as runtime:
        report.outcomes = run_cases(runtime, cases, threads=config.workers, progress=progress)
    seconds = time.perf_counter() - started
    for error in report.broken:
        print(f"\nERROR {error}")
    for outcome in report.failures:
        print("\n" + format_failure(outcome))
    passed = len(report.outcomes) - len(report.failures)
    summary = f"{passed} passed, {len(report.failures)} failed"
    if report.broken:
        summary += f", {len(report.broken)} broken fixture file{'s' if len(report.broken) > 1 else ''}"
    print(f"\n{summary} in {seconds:.2f} s")
    if args.junit:
        try:
            write_junit(report, Path(args.junit), seconds)
        except OSError as error:
            raise UsageError(f"cannot write {args.junit}: {error.strerror}") from None
    return EXIT_OK if report.passed else EXIT_SCRIPT_ERROR


def _stub_http(args: argparse.Namespace, runtime: Runtime) -> Any:
    """Stubbed HTTP from ``--stubs`` (the fixtures' format), or None for the real client."""
    if not getattr(args, "stubs", None):
        return None
    from noderuntime.testing.fixture import FixtureError, load_stubs
    from noderuntime.testing.stubs import StubHttp

    try:
        return StubHttp(load_stubs(args.stubs), policy=runtime.http.policy)
    except FixtureError as error:
        raise UsageError(str(error)) from None


def command_chat(args: argparse.Namespace) -> int:
    """``noderuntime chat TREE.json``: a conversation with a tree in the terminal."""
    from noderuntime.chat import Chat, ChatError, Clock, converse, install, read_trees
    from noderuntime.engine import Engine

    config = replace(_config(args), mongo_uri=None)
    store = _store(config, args)
    try:
        trees = read_trees(Path(args.tree))
        channel = install(store, trees, args.channel)
    except ChatError as error:
        raise UsageError(str(error)) from None
    clock = Clock()
    interactive = sys.stdin.isatty()
    with contextlib.ExitStack() as stack:
        agents = None
        if args.fake_outlet:
            agents = _fake_outlet(args.fake_outlet, stack)
            # The outlet calls go to the local fake: let the runtime's client reach that port only.
            config = replace(config, fetch_allow_hosts=(*config.fetch_allow_hosts, agents.address))
        runtime = stack.enter_context(Runtime(config, store=store, clock=clock))
        engine = Engine(runtime, http=_stub_http(args, runtime))
        chat = Chat(engine, channel, args.external_id, clock, prompt="you> " if interactive else "")
        if agents is not None:
            _hand_over_to(chat, agents, stack, background=interactive)
        names = ", ".join(f"{tree.get('name') or tree['_id']} ({len(tree['nodes'])} nodes)" for tree in trees)
        chat.say(f"Chatting with {names} on channel {channel.get('name') or channel['_id']}. /help lists commands.")
        if agents is not None:
            chat.say(
                f"Live chat goes to a local fake {agents.kind} ({agents.url}): /agent, /take and /end play the agent."
            )

        def read_line() -> str:
            if interactive:
                return input(chat.prompt)
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            chat.say(f"you> {line.rstrip()}")
            return line

        converse(chat, read_line, background=interactive)
        if args.dump:
            _dump(store, args.dump)
    return EXIT_OK


def _fake_outlet(kind: str, stack: contextlib.ExitStack) -> Any:
    """Start the fake live-chat system of ``kind`` for the chat (stopped with ``stack``)."""
    from noderuntime.testing.fakes.desks import desk_for

    agents = desk_for(kind)
    agents.start()
    stack.callback(agents.stop)
    return agents


def _hand_over_to(chat: Any, agents: Any, stack: contextlib.ExitStack, *, background: bool) -> None:
    """Serve the webhook, point the app's outlet channel of the fake's type at
    the fake, and pair it with the chat's channel."""
    from noderuntime.api import Server, create_app
    from noderuntime.chat import AgentSide
    from noderuntime.livechat.desk import LiveChat
    from noderuntime.livechat.worker import LiveChatWorker
    from noderuntime.store.ids import for_script, match_id
    from noderuntime.store.schema import APPS, CHANNELS

    store = chat.engine.store
    app = chat.channel.get("app")
    outlet = store.find_one(CHANNELS, {"app": match_id(app), "type": agents.kind})
    if outlet is None:
        raise UsageError(
            f"--fake-outlet {agents.kind}: the app has no channel of type {agents.kind!r} to hand members to "
            "(add one to the --db file; see fixtures/trees/demo.db.json)"
        )
    desk = LiveChat(chat.engine, listener=chat.on_live)
    worker = LiveChatWorker(desk).start() if background else None
    if worker is not None:
        stack.callback(worker.stop)
    # Without a worker the chat handles webhooks itself, after each line, so output keeps its order.
    server = Server(create_app(desk, wake=worker.wake if worker is not None else lambda: None)).start()
    stack.callback(server.stop)
    outlet_id = str(for_script(outlet["_id"]))
    info = agents.connect(f"{server.url}/livechat/{outlet_id}/webhook")
    store.update(CHANNELS, {"_id": outlet["_id"]}, {"$set": {"info": info}})
    pairing = [{"inlet": str(for_script(chat.channel["_id"])), "outlets": [outlet_id]}]
    store.update(APPS, {"_id": match_id(app)}, {"$set": {"pairingChannels": pairing}})
    chat.live = AgentSide(desk, agents)


def command_agenda(args: argparse.Namespace) -> int:
    """``noderuntime agenda``: a scheduler worker; SIGTERM finishes the current job and exits."""
    import signal

    from noderuntime.engine import Engine
    from noderuntime.engine.agenda import AgendaWorker, JobReport

    if args.threads < 1:
        raise UsageError("--threads must be at least 1")
    config = _config(args)
    store = _store(config, args)
    printing = threading.Lock()

    def report(job: JobReport) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = f"{stamp} {job.outcome:<11} agenda {job.agenda} node {job.node} member {job.member}"
        line += f" ({job.late_ms} ms late, {job.ms:.0f} ms)"
        if job.error:
            line += f"\n    {job.error.get('type')}: {job.error.get('message')}"
        for event in job.chain.sent() if job.chain is not None else []:
            shown = event["data"].get("text") or json.dumps(event["data"], ensure_ascii=False, default=str)
            line += f"\n    sent {event['type']} to {event['to']}: {shown}"
        with printing:
            print(line, flush=True)

    with Runtime(config, store=store) as runtime:
        engine = Engine(runtime, http=_stub_http(args, runtime))
        workers = [
            AgendaWorker(engine, config.agenda, name=f"{socket.gethostname()}:{os.getpid()}-{n}", on_job=report)
            for n in range(1, args.threads + 1)
        ]

        def stop(signum: int, _frame: Any) -> None:
            with printing:
                print(f"{signal.Signals(signum).name}: finishing the current jobs, then stopping", flush=True)
            for worker in workers:
                worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        target = "run_due" if args.once else "run_forever"
        threads = [threading.Thread(target=getattr(w, target), name=w.name) for w in workers]
        print(
            f"agenda: {len(workers)} worker(s) on {'MongoDB' if config.mongo_uri else 'the embedded store'}", flush=True
        )
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.2)
        if args.dump:
            _dump(store, args.dump)
    return EXIT_OK


def command_serve(args: argparse.Namespace) -> int:
    """``noderuntime serve``: the HTTP server (live-chat webhooks, health), the
    live-chat worker and an agenda worker, until SIGINT/SIGTERM."""
    from noderuntime.api import Server, create_app
    from noderuntime.engine import Engine
    from noderuntime.engine.agenda import AgendaWorker
    from noderuntime.livechat.desk import LiveChat
    from noderuntime.livechat.worker import LiveChatWorker

    config = _config(args)
    store = _store(config, args)
    with Runtime(config, store=store) as runtime:
        engine = Engine(runtime)
        desk = LiveChat(engine)
        livechat = LiveChatWorker(desk).start()
        agendas = AgendaWorker(engine, config.agenda, name=f"{socket.gethostname()}:{os.getpid()}-serve")
        scheduler = threading.Thread(target=agendas.run_forever, name="agenda", daemon=True)
        scheduler.start()
        server = Server(create_app(desk, wake=livechat.wake), host=args.host, port=args.port)
        where = "MongoDB" if config.mongo_uri else "the embedded store"
        print(f"serving on {server.url} ({where}); webhooks at {server.url}/livechat/<channel id>/webhook", flush=True)
        try:
            server.serve()  # until SIGINT or SIGTERM
        finally:
            agendas.stop()
            livechat.stop()
            scheduler.join(timeout=30)
            if args.dump:
                _dump(store, args.dump)
    return EXIT_OK


def command_bench(args: argparse.Namespace) -> int:
    """``noderuntime bench``."""
    from noderuntime.bench import run_benchmarks

    run_benchmarks(_config(args), runs=args.runs, out=sys.stdout, agendas=args.agendas)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="noderuntime", description="Run chatbot node scripts in a sandbox.")
    parser.add_argument("--config", help="JSON configuration file (see README, Limits)")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one script and show its result, member diff, logs and calls")
    run.add_argument("script", help="the script file (Python)")
    run.add_argument("--context", help="JSON file: member, messageEvent, channel, group, agendaMeta, node, app")
    run.add_argument("--kind", default="action", choices=SCRIPT_KINDS)
    run.add_argument("--db", help="seed the embedded database from this extended JSON file {collection: [documents]}")
    run.add_argument("--dump", help="write the embedded database to this extended JSON file after the run")
    run.add_argument(
        "--record", help="write the run as a fixture (HTTP exchanges and touched documents captured) to this file"
    )
    run.add_argument("--mongo-uri", help="use the MongoDB at this URI instead of the embedded store")
    run.add_argument("--mongo-db", help="the database name on that server (default noderuntime)")
    run.add_argument("--json", action="store_true", help="print the whole result as JSON")
    run.add_argument("--mode", choices=("isolated", "inprocess"), help="override the execution mode")
    run.add_argument("--now", type=int, help="freeze the clock at this epoch-ms value")
    run.add_argument("--allow-host", action="append", help="let this.fetch reach HOST[:PORT] (repeatable)")
    run.set_defaults(handler=command_run)

    test = commands.add_parser("test", help="run script fixtures (*.case.yaml) and show what differs")
    test.add_argument("paths", nargs="*", default=["fixtures"], help="fixture files or folders (default: fixtures)")
    test.add_argument("-k", dest="select", help="only cases whose id (file::name) contains this text")
    test.add_argument("--junit", help="also write a JUnit XML report to this file")
    test.add_argument("--mode", choices=("isolated", "inprocess"), help="override the execution mode")
    test.set_defaults(handler=command_test)

    chat = commands.add_parser("chat", help="talk to a tree in the terminal (embedded store), agendas included")
    chat.add_argument("tree", help="JSON file: a tree document, or a list of them")
    chat.add_argument("--db", help="seed the embedded database from this extended JSON file (apps, channels, data)")
    chat.add_argument("--dump", help="write the embedded database to this extended JSON file when the chat ends")
    chat.add_argument(
        "--stubs", help="answer this.fetch from these stubs (YAML/JSON, as in fixtures) instead of the network"
    )
    chat.add_argument("--channel", help="the channel to chat on (default: the first of the tree's app, or a new one)")
    chat.add_argument("--as", dest="external_id", default="terminal-user", help="the member's external id")
    chat.add_argument("--mode", choices=("isolated", "inprocess"), help="override the execution mode")
    chat.add_argument("--allow-host", action="append", help="let this.fetch reach HOST[:PORT] (repeatable)")
    chat.add_argument(
        "--fake-outlet",
        choices=("custom", "rocketchat", "supportboard"),
        help="hand live chats to a local fake of this system, and play its agent with /agent, /take, /end",
    )
    chat.set_defaults(handler=command_chat)

    agenda = commands.add_parser("agenda", help="run the agenda scheduler: due agendas run their node for the member")
    agenda.add_argument("--db", help="seed the embedded database from this extended JSON file")
    agenda.add_argument("--dump", help="write the embedded database to this extended JSON file on exit")
    agenda.add_argument("--mongo-uri", help="use the MongoDB at this URI instead of the embedded store")
    agenda.add_argument("--mongo-db", help="the database name on that server (default noderuntime)")
    agenda.add_argument("--threads", type=int, default=2, help="agendas run at once in this process (default 2)")
    agenda.add_argument("--once", action="store_true", help="run what is due now, then exit")
    agenda.add_argument("--stubs", help="answer this.fetch from these stubs instead of the network")
    agenda.add_argument("--mode", choices=("isolated", "inprocess"), help="override the execution mode")
    agenda.set_defaults(handler=command_agenda)

    serve = commands.add_parser("serve", help="serve live-chat webhooks and run the live-chat and agenda workers")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8700, help="port to listen on (default 8700)")
    serve.add_argument("--db", help="seed the embedded database from this extended JSON file")
    serve.add_argument("--dump", help="write the embedded database to this extended JSON file on exit")
    serve.add_argument("--mongo-uri", help="use the MongoDB at this URI instead of the embedded store")
    serve.add_argument("--mongo-db", help="the database name on that server (default noderuntime)")
    serve.add_argument("--mode", choices=("isolated", "inprocess"), help="override the execution mode")
    serve.add_argument(
        "--allow-host", action="append", help="let outlets and this.fetch reach HOST[:PORT] (repeatable)"
    )
    serve.set_defaults(handler=command_serve)

    bench = commands.add_parser("bench", help="measure plain exec, in-process and isolated runs side by side")
    bench.add_argument("--runs", type=int, default=2000, help="runs per measurement (default 2000)")
    bench.add_argument("--agendas", type=int, default=10_000, help="due agendas in the scheduler case (default 10000)")
    bench.set_defaults(handler=command_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and EXIT_USAGE
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"noderuntime: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
