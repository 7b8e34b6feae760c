"""The desk without a live outlet: timeouts, stale flags, failures and the
worker. Outlet calls go to a recording outlet."""

from __future__ import annotations

from typing import Any

import pytest

from noderuntime.engine.agenda.worker import AgendaWorker
from noderuntime.livechat.desk import LiveChat, timeouts
from noderuntime.livechat.outlets.base import Conversation, Inbound, Line, OutletError, Unavailable
from noderuntime.livechat.worker import LiveChatWorker
from noderuntime.store.schema import AGENDAS, MEMBERS
from tests.noderuntime.livechat.conftest import CUSTOM, MEMBER


class RecordingOutlet:
    """An outlet that records calls and fails on demand."""

    kind = "custom"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.failures: list[Exception] = []

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    def check_channel(self, channel: dict[str, Any]) -> list[str]:
        return []

    def open(self, conversation: Conversation, key: str) -> None:
        self._maybe_fail()
        conversation.remember(externalId="x-1")
        self.calls.append(("open", key))

    def relay(self, conversation: Conversation, line: Line) -> None:
        self._maybe_fail()
        self.calls.append(("relay", line.text))

    def close(self, conversation: Conversation, key: str) -> None:
        self._maybe_fail()
        self.calls.append(("close", key))

    def transfer(self, conversation: Conversation, target: dict[str, Any], key: str) -> None:
        self.calls.append(("transfer", target))

    def inbound(self, channel: dict[str, Any], headers: Any, body: bytes) -> list[Inbound]:
        return []


@pytest.fixture
def outlet(world) -> RecordingOutlet:
    recording = RecordingOutlet()
    world.desk.factories["custom"] = lambda _http: recording
    return recording


def agendas(world) -> list[dict[str, Any]]:
    return world.store.find(AGENDAS, {"kind": "liveChatTimeout"})


def run_agendas(world) -> list[str]:
    reports = []
    AgendaWorker(world.engine, on_job=reports.append).run_due()
    world.desk.flush()
    return [report.outcome for report in reports]


def test_a_request_nobody_answers_ends_after_the_unanswered_timeout(world, outlet):
    world.say("agent")
    (agenda,) = agendas(world)
    assert agenda["nextRunAt"] == world.clock.now + 10 * 60_000
    world.clock.advance(minutes=9)
    assert run_agendas(world) == []
    world.clock.advance(minutes=1)
    assert run_agendas(world) == ["completed"]
    assert not world.in_live_chat()
    assert world.assignment()["endReason"] == "unanswered"
    assert outlet.calls[-1][0] == "close"
    assert world.texts()[-1] == "The bot is back"


def test_a_member_talking_alone_does_not_keep_an_unanswered_request_open(world, outlet):
    world.say("agent")
    for _ in range(3):
        world.clock.advance(minutes=4)
        world.say("hello? anyone?")
        run_agendas(world)
    assert world.assignment()["endReason"] == "unanswered"


def test_a_quiet_chat_ends_after_the_idle_timeout_and_activity_postpones_it(world, outlet):
    world.configure(CUSTOM, liveChat={"unansweredMinutes": 5, "idleMinutes": 20})
    world.say("agent")
    assignment = world.assignment()
    world.desk._store_event(
        {"_id": CUSTOM, "app": assignment["app"]}, Inbound("taken", {"_id": str(assignment["_id"])}, "t1")
    )
    world.desk.handle_inbox()
    assert world.assignment()["status"] == "assigned"
    world.clock.advance(minutes=5)
    assert run_agendas(world) == ["rescheduled"]  # answered: the idle clock runs now
    world.clock.advance(minutes=10)
    world.say("still there?")  # activity
    world.clock.advance(minutes=10)
    assert run_agendas(world) == ["rescheduled"]
    assert world.in_live_chat()
    world.clock.advance(minutes=10)
    assert run_agendas(world) == ["completed"]
    assert world.assignment()["endReason"] == "idle"


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        ({}, (600_000, 1_800_000)),
        ({"unansweredMinutes": 1, "idleMinutes": 2.5}, (60_000, 150_000)),
        ({"unansweredMinutes": 0, "idleMinutes": "5"}, (600_000, 1_800_000)),
        ({"unansweredMinutes": True}, (600_000, 1_800_000)),
    ],
)
def test_timeouts_come_from_the_outlet_channel_or_the_settings(world, own, expected):
    assert timeouts(world.runtime.config.livechat, {"liveChat": own}) == expected


def test_without_set_live_chat_agenda_no_timeout_is_planned(world, outlet):
    result = world.runtime.run(
        "return this.createAssignment(member=this.member, setLiveChatAgenda=False)",
        {"member": {"_id": MEMBER, "app": world.member()["app"]}},
        mode="inprocess",
    )
    assert result.ok, result.error
    assert agendas(world) == []


def test_a_stale_live_chat_flag_is_cleared_and_the_bot_answers(world, outlet):
    world.store.update(MEMBERS, {}, {"$set": {"botMeta.liveChat": True}})
    result = world.say("hello")
    assert result.liveChat is None
    assert world.texts() == ["Hello from the bot"]
    assert not world.in_live_chat()


def test_no_agent_online_ends_the_chat_and_the_bot_takes_over(world, outlet):
    outlet.failures.append(Unavailable("no agent online; an offline message was left"))
    world.say("agent")
    assert world.assignment()["endReason"] == "unavailable"
    assert [(o["op"], o["status"]) for o in world.outbox()] == [("open", "failed")]
    assert world.texts() == ["Connecting you to an agent", "The bot is back"]
    world.say("are you there")
    assert world.texts()[-1] == "Hello from the bot"


def test_a_permanent_failure_of_an_open_drops_lines_waiting_for_it(world, outlet):
    outlet.failures.append(OutletError("down", retry=True))
    world.say("agent")
    world.say("line while the outlet is down")
    outlet.failures.append(OutletError("refused: bad department", retry=False))
    world.clock.advance(minutes=1)
    world.desk.flush()
    statuses = [(o["op"], o["status"]) for o in world.outbox()]
    assert statuses == [("open", "failed"), ("relay", "dropped")]
    dropped = world.outbox()[1]
    assert "could not be opened" in dropped["lastError"] and dropped["line"]["text"] == "line while the outlet is down"


def test_an_outlet_bug_is_retried_not_lost(world, outlet):
    outlet.failures.append(ZeroDivisionError("bug"))
    world.say("agent")
    (opened,) = world.outbox()
    assert opened["status"] == "pending" and "ZeroDivisionError" in opened["lastError"]
    world.clock.advance(minutes=1)
    world.desk.flush()
    assert world.outbox()[0]["status"] == "sent"


def test_calls_are_given_up_after_max_attempts(world, outlet):
    world.say("agent")
    outlet.failures.extend(OutletError("still down", retry=True) for _ in range(20))
    world.say("hello")
    for _ in range(12):
        world.clock.advance(minutes=10)
        world.desk.flush()
    relay = world.outbox()[1]
    assert relay["status"] == "failed" and relay["attempts"] == 8 and "gave up after 8 attempts" in relay["lastError"]


def test_a_429_waits_as_long_as_the_outlet_asks(world, outlet):
    world.say("agent")
    outlet.failures.append(OutletError("slow down", retry=True, retry_after=45))
    world.say("hello")
    relay = world.outbox()[1]
    assert relay["nextAttemptAt"] == world.clock.now + 45_000


def test_the_worker_delivers_in_the_background(world, outlet):
    import time

    worker = LiveChatWorker(LiveChat(world.engine, outlets={"custom": lambda _http: outlet})).start()
    try:
        world.engine.receive(world.member()["channel"], {"type": "TEXT", "data": {"text": "agent"}, "from": "u-1"})
        worker.wake()
        deadline = time.monotonic() + 5
        while not outlet.calls and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert outlet.calls and outlet.calls[0][0] == "open"


def test_the_agenda_methods_leave_the_live_chat_timeout_alone(world, outlet):
    world.say("agent")
    member = {"_id": MEMBER, "app": str(world.member()["app"])}
    moved = world.runtime.run(
        "return this.updateAgenda(memberId=this.member._id, nextRunAt=this.moment().add(1, 'hours').valueOf())",
        {"member": member},
        mode="inprocess",
    )
    assert moved.ok and moved.value["modified"] == 0, moved.error
    deleted = world.runtime.run(
        "return this.deleteMemberAgenda(memberId=this.member._id)", {"member": member}, mode="inprocess"
    )
    assert deleted.ok and deleted.value["deleted"] == 0, deleted.error
    (timeout,) = agendas(world)
    assert timeout["nextRunAt"] == world.clock.now + 10 * 60_000
