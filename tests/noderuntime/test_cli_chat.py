"""``noderuntime chat``: a whole conversation with the demo tree, typed on stdin."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest

from noderuntime.cli import main

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "trees"
DEMO_ARGS = [str(DEMO / "demo.json"), "--db", str(DEMO / "demo.db.json"), "--stubs", str(DEMO / "demo.stubs.yaml")]


def chat(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lines: list[str], *args: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(line + "\n" for line in lines)))
    code = main(["chat", *args, "--mode", "inprocess"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_a_conversation_with_the_demo_tree(monkeypatch, capsys, tmp_path):
    dump = tmp_path / "after.json"
    out = chat(
        monkeypatch,
        capsys,
        ["hi", "1", "Weather", "3", "4", "/agenda", "/wait 31s", "what?", "stop"],
        *DEMO_ARGS,
        "--dump",
        str(dump),
    )
    turns = out.split("you> ")
    # A new member meets the head node, which redirects to the menu.
    assert "bot> Hi! I am the noderuntime demo bot." in turns[1]
    assert "[1] Get a coupon  [2] Weather  [3] 中文  [4] Remind me" in turns[1]
    assert "[preAction] log: visit 1 of terminal-user" in turns[1]
    # "1" picks the first quick reply: the coupon claim, the muted counter first.
    assert turns[2].index("── Count messages (muted)") < turns[2].index("── Coupon")
    assert "bot> Your coupon: HELLO-1001 (one per person)" in turns[2]
    assert 'member + botMeta.tempData.coupon: "HELLO-1001"' in turns[2]
    # A title picks a reply too; the weather comes from the stub.
    assert "bot> It is 24.5 °C in Hong Kong." in turns[3]
    # The language switch changes customLocale and the menu's locale.
    assert "bot> 已轉為中文。" in turns[4]
    assert "[1] 領取優惠券" in turns[4]
    assert 'member + customLocale: "zh_HK"' in turns[4]
    assert "bot> 好的，30 秒後提醒你。" in turns[5]  # noqa: RUF001 - the bot's Chinese punctuation
    assert "reminder -> ReminderNode0001 in 30 s" in turns[6]
    # Moving the clock runs the agenda: the reminder node, with its meta.
    assert "ReminderNode0001: completed" in turns[7]
    assert "bot> ⏰ Reminder: you asked me to remind you 30 seconds ago" in turns[7]
    assert "bot> 對不起，我不明白。" in turns[8]  # noqa: RUF001 - the bot's Chinese punctuation
    assert "member ~ botMeta.subscribe: true -> false" in turns[9]
    saved = json.loads(dump.read_text())
    (member,) = saved["members"]
    assert member["botMeta"]["nodeCompositeId"] == "StopNode00000001"
    assert member["tags"] == ["coupon"]
    # The muted counter runs for a member already in the tree: six of the seven messages.
    assert member["meta"] == {"visits": 1, "messages": 6}
    claimed = [row for row in saved["64a000000000000000000001_coupons"] if row["memberId"]]
    assert [row["code"] for row in claimed] == ["HELLO-1001"]


def test_a_script_error_is_shown_with_its_node_and_line_and_nothing_is_saved(monkeypatch, capsys, tmp_path):
    tree = json.loads((DEMO / "demo.json").read_text())
    tree["nodes"]["WelcomeNode00001"]["preAction"] = "this.member.meta.visits = 1\nx = 1 / 0\n"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(tree))
    out = chat(monkeypatch, capsys, ["hi", "/member"], str(path), "--db", str(DEMO / "demo.db.json"))
    assert "error ZeroDivisionError: node Welcome (64d000000000000000000001/WelcomeNode00001) preAction, line 2" in out
    assert "(nothing was saved to the member)" in out
    assert '"visits"' not in out.split("you> /member")[1]


def test_the_clock_and_the_commands(monkeypatch, capsys):
    out = chat(monkeypatch, capsys, ["/agenda", "/help", "/wait soon", "/click COUPON", "/quit", "hi"], *DEMO_ARGS)
    assert "no member yet: say something first" in out
    assert "/wait 30s" in out
    assert "unknown command '/wait soon'" in out
    # A payload from a new member: the coupon node is global, but a new member
    # only meets head nodes and the channel's global nodes.
    assert "(no node answered)" in out
    assert "you> hi" not in out  # /quit ended the chat


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not valid JSON: line 1"),
        ("[]", "holds no tree"),
        (
            '{"_id": {"a": 1}, "app": "a1", "nodes": {"AAAAAAAAAAAAAAAA": {}}}',
            "_id: the tree id is required (a string)",
        ),
        ('{"_id": "t1", "app": "a1", "nodes": {"short": {}}}', "nodes.short.composite id must be 16 letters"),
        (
            '{"_id": "t1", "app": "a1", "nodes": {"AAAAAAAAAAAAAAAA": {"preaction": "x"}}}',
            "nodes.AAAAAAAAAAAAAAAA.preaction: unknown field; did you mean preAction?",
        ),
    ],
)
def test_a_bad_tree_file_is_a_usage_error_naming_the_problem(monkeypatch, capsys, tmp_path, content, message):
    path = tmp_path / "tree.json"
    path.write_text(content)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["chat", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_an_unknown_channel_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["chat", *DEMO_ARGS, "--channel", "64c0000000000000000000ff"]) == 2
    assert "no channel 64c0000000000000000000ff in the database" in capsys.readouterr().err


def test_a_channel_of_another_app_is_a_usage_error(monkeypatch, capsys, tmp_path):
    seed = json.loads((DEMO / "demo.db.json").read_text())
    seed["channels"].append({"_id": "64c0000000000000000000aa", "app": "64a0000000000000000000ff", "trees": []})
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["chat", str(DEMO / "demo.json"), "--db", str(path), "--channel", "64c0000000000000000000aa"]) == 2
    assert "belongs to another app than the tree's" in capsys.readouterr().err


def test_a_quick_reply_keeps_its_payload_object(monkeypatch, capsys, tmp_path):
    tree = json.loads((DEMO / "demo.json").read_text())
    tree["nodes"]["MenuNode00000001"]["responses"] = [
        {
            "type": "QUICK_REPLIES",
            "text": "Pick",
            "quickReplies": [{"title": "One", "payload": {"payload": "P", "value": "1"}}],
        }
    ]
    tree["nodes"]["PickNode00000001"] = {
        "global": True,
        "trigger": {"type": "payload", "payload": "P"},
        "preAction": "console.log('value', this.messageEvent.data.payload.value)",
    }
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(tree, ensure_ascii=False))
    out = chat(monkeypatch, capsys, ["hi", "1"], str(path), "--db", str(DEMO / "demo.db.json"))
    assert "[preAction] log: value 1" in out


def test_messages_sent_by_a_redirect_from_a_script_are_shown(monkeypatch, capsys, tmp_path):
    tree = json.loads((DEMO / "demo.json").read_text())
    tree["nodes"]["WelcomeNode00001"]["preAction"] = (
        "this.redirectMemberToNode(memberId=this.member._id, treeId=this.node.tree, "
        "nodeCompositeId='ReminderNode0001', redirectOptions={'runPreAction': False}, meta={'text': 'from a redirect'})"
    )
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(tree, ensure_ascii=False))
    out = chat(monkeypatch, capsys, ["hi"], str(path), "--db", str(DEMO / "demo.db.json"))
    assert "── (redirect) Reminder (run by the agenda)" in out
    assert "bot> ⏰ Reminder: from a redirect" in out


def test_without_a_seed_the_chat_makes_a_channel_for_the_tree(monkeypatch, capsys):
    out = chat(monkeypatch, capsys, ["hello"], str(DEMO / "demo.json"))
    assert "on channel terminal" in out
    assert "bot> Hi! I am the noderuntime demo bot." in out


@pytest.mark.slow
def test_in_a_terminal_a_reminder_fires_on_time_while_the_member_types(tmp_path):
    """The chat in a real terminal (a pty): the agenda runs in the background, on time."""
    tree = json.loads((DEMO / "demo.json").read_text())
    remind = tree["nodes"]["RemindNode000001"]
    remind["preAction"] = remind["preAction"].replace('add(30, "seconds")', 'add(1, "seconds")')
    path = tmp_path / "quick.json"
    path.write_text(json.dumps(tree))
    command = [sys.executable, "-m", "noderuntime.cli", "chat", str(path), "--db", str(DEMO / "demo.db.json")]
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.environ["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
        os.execv(sys.executable, command)
    seen = b""

    def read_until(text: bytes, seconds: float) -> None:
        nonlocal seen
        end = time.monotonic() + seconds
        while text not in seen and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                seen += os.read(fd, 4096)
        assert text in seen, seen.decode(errors="replace")[-2000:]

    try:
        read_until(b"you> ", 30)
        os.write(fd, b"hi\r")
        read_until(b"[4] Remind me", 30)
        os.write(fd, b"4\r")
        read_until("⏰ Reminder:".encode(), 30)  # nobody typed /wait
        read_until(b"ReminderNode0001: completed", 1)
        os.write(fd, b"/quit\r")
        _pid, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.close(fd)


@pytest.mark.parametrize(
    ("kind", "agent"), [("custom", "Alice"), ("rocketchat", "Alice Agent"), ("supportboard", "agent")]
)
def test_the_demo_hands_the_member_to_each_fake_outlet_and_back(monkeypatch, capsys, tmp_path, kind, agent):
    dump = tmp_path / "after.json"
    lines = ["hi", "agent", "my parcel is late", "/agent Hello, Alice here.", "thanks", "/end", "menu"]
    out = chat(monkeypatch, capsys, lines, *DEMO_ARGS, "--fake-outlet", kind, "--dump", str(dump))
    turns = out.split("you> ")
    assert f"Live chat goes to a local fake {kind}" in turns[0]
    assert "bot> Connecting you to a human agent." in turns[2]
    assert "member ~ botMeta.liveChat: false -> true" in turns[2]
    assert "→ to the agent (live chat" in turns[3] and "bot>" not in turns[3]
    assert f"{agent}> Hello, Alice here." in turns[4]
    assert "→ to the agent" in turns[5]
    assert "(the live chat ended: agent)" in turns[6]
    assert "bot> You are back with the bot (the agent ended the chat)." in turns[6]
    assert "bot> Hi! I am the noderuntime demo bot." in turns[7]
    saved = json.loads(dump.read_text())
    (member,) = saved["members"]
    assert member["botMeta"]["liveChat"] is False
    (assignment,) = saved["assignments"]
    assert assignment["endReason"] == "agent" and assignment["outletType"] == kind
    relayed = [o["line"]["text"] for o in saved["outbox"] if o["op"] == "relay"]
    assert relayed == ["my parcel is late", "thanks"]
    assert {o["status"] for o in saved["outbox"]} == {"sent"}


def test_the_agent_commands_need_a_live_chat(monkeypatch, capsys):
    out = chat(monkeypatch, capsys, ["hi", "/agent hello"], *DEMO_ARGS, "--fake-outlet", "custom")
    assert "no live chat in progress" in out


def test_a_fake_outlet_the_app_has_no_channel_for_is_a_usage_error(monkeypatch, capsys, tmp_path):
    seed = json.loads((DEMO / "demo.db.json").read_text())
    seed["channels"] = [c for c in seed["channels"] if c["type"] != "supportboard"]
    path = tmp_path / "db.json"
    path.write_text(json.dumps(seed))
    monkeypatch.setattr("sys.stdin", io.StringIO("hi\n"))
    code = main(["chat", str(DEMO / "demo.json"), "--db", str(path), "--fake-outlet", "supportboard"])
    assert code == 2
    assert "no channel of type 'supportboard'" in capsys.readouterr().err
