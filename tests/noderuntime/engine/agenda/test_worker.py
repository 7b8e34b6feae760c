"""The agenda worker under a virtual clock: when agendas run, what a run does
to the member, retries, skips, failures, several workers on one store, a
worker that dies mid-job, and stopping."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import Config
from noderuntime.engine import RecordingSender
from noderuntime.engine.agenda import agendas
from noderuntime.engine.agenda.agendas import AGENDAS, INTERNAL
from noderuntime.runtime import Runtime
from noderuntime.store import Store
from tests.noderuntime.engine.agenda.conftest import (
    ALICE,
    APP,
    BOB,
    BOOM,
    CAROL,
    CHANNEL,
    HOUR,
    MINUTE,
    MISSING_SOURCE,
    PING,
    REMIND,
    SNOOZE,
    T0,
    TREE,
    Scheduler,
    member_doc,
    seed,
)


def assert_unlocked(agenda: dict[str, Any]) -> None:
    assert not [name for name in INTERNAL if name in agenda], agenda


# A one-shot agenda -------------------------------------------------------------------


def test_a_one_shot_agenda_does_not_run_before_next_run_at(sched: Scheduler):
    agenda_id = sched.plan(nextRunAt=T0 + MINUTE, meta={"what": "water"})
    worker = sched.worker()
    for now in (T0, T0 + 30_000, T0 + MINUTE - 1):
        sched.at(now)
        assert worker.run_due() == 0
    assert sched.sender.sent == []
    stored = sched.agenda(agenda_id)
    assert (stored["completed"], stored["runCount"], stored["nextRunAt"]) == (False, 0, T0 + MINUTE)
    assert_unlocked(stored)
    assert sched.member()["botMeta"]["tempData"] == {}


def test_a_one_shot_agenda_runs_once_at_next_run_at_then_is_completed(sched: Scheduler):
    agenda_id = sched.plan(nextRunAt=T0 + MINUTE, meta={"what": "water", "count": 2})
    worker = sched.worker()
    sched.at(T0 + MINUTE)
    assert worker.run_due() == 1
    # Pre-action, then the response (which saw what the pre-action did), then the post-action.
    assert sched.texts() == ["after pre for water"]
    (sent,) = sched.sender.sent
    assert (sent.member, sent.channel, sent.messageEvent["to"]) == (ALICE, CHANNEL, "alice")
    assert sent.messageEvent["timestamp"] == T0 + MINUTE
    bot_meta = sched.member()["botMeta"]
    assert bot_meta["tempData"] == {
        "steps": ["pre", "post"],
        "preMeta": {"what": "water", "count": 2},
        "postMeta": {"what": "water", "count": 2},
        "runs": 1,
    }
    # The member now stands at the agenda's node.
    assert (bot_meta["tree"], bot_meta["nodeCompositeId"]) == (TREE, REMIND)
    stored = sched.agenda(agenda_id)
    assert stored["completed"] is True
    assert (stored["runCount"], stored["failCount"]) == (1, 0)
    assert (stored["lastRunAt"], stored["lastFinishedAt"]) == (T0 + MINUTE, T0 + MINUTE)
    assert "failed" not in stored and "skipped" not in stored and "lastError" not in stored
    assert_unlocked(stored)
    (report,) = sched.reports
    assert (report.agenda, report.member, report.node, report.outcome) == (
        agenda_id,
        ALICE,
        f"{TREE}/{REMIND}",
        "completed",
    )
    assert report.late_ms == 0 and report.error is None
    # Never again.
    for later in (T0 + MINUTE + 1, T0 + HOUR, T0 + 100 * HOUR):
        sched.at(later)
        assert worker.run_due() == 0
    assert len(sched.sender.sent) == 1
    assert sched.member()["botMeta"]["tempData"]["runs"] == 1


def test_a_late_worker_runs_an_overdue_agenda_once_and_reports_how_late(sched: Scheduler):
    agenda_id = sched.plan(node=PING, nextRunAt=T0 + MINUTE, meta={"n": 7})
    worker = sched.worker()
    sched.at(T0 + 5 * MINUTE)
    assert worker.run_due() == 1
    assert worker.run_due() == 0
    assert sched.texts() == ["7"]
    assert sched.reports[0].late_ms == 4 * MINUTE
    assert sched.agenda(agenda_id)["completed"] is True


def test_an_agenda_planned_without_meta_runs_with_an_empty_agenda_meta(sched: Scheduler):
    sched.plan(nextRunAt=T0 + MINUTE, meta={"what": "tea"})
    sched.plan(member=CAROL, node=PING, nextRunAt=T0 + MINUTE)
    sched.at(T0 + MINUTE)
    assert sched.worker().run_due() == 2
    # this.agendaMeta is {} (not another agenda's meta): this.agendaMeta.n reads as None.
    assert sorted(sched.texts()) == ["None", "after pre for tea"]
    assert [sent.member for sent in sched.sender.sent if sent.response["text"] == "None"] == [CAROL]


def test_the_agenda_node_sees_the_members_channel_whatever_form_its_id_is_stored_in(sched: Scheduler):
    # Carol was seeded by hand: her channel is the string form of the channel's ObjectId.
    sched.plan(member=CAROL, node=PING, nextRunAt=T0 + MINUTE, meta={"n": 3})
    sched.at(T0 + MINUTE)
    assert sched.worker().run_due() == 1
    (sent,) = sched.sender.sent
    assert (sent.member, sent.channel, sent.messageEvent["from"]) == (CAROL, CHANNEL, CHANNEL)


# A CRON pattern ----------------------------------------------------------------------


def test_a_pattern_agenda_runs_on_each_occurrence_until_run_until_then_is_completed(sched: Scheduler):
    agenda_id = sched.plan(pattern="*/10 * * * *", runUntil=T0 + 30 * MINUTE, meta={"what": "stretch"})
    assert sched.agenda(agenda_id)["nextRunAt"] == T0 + 10 * MINUTE
    worker = sched.worker()
    ran_at = []
    for minute in range(0, 61):
        sched.at(T0 + minute * MINUTE)
        if worker.run_due():
            ran_at.append(minute)
            stored = sched.agenda(agenda_id)
            assert_unlocked(stored)
            assert stored["runCount"] == len(ran_at)
            if minute < 30:
                # Moved to the next occurrence.
                assert (stored["completed"], stored["nextRunAt"]) == (False, T0 + (minute + 10) * MINUTE)
    assert ran_at == [10, 20, 30]
    stored = sched.agenda(agenda_id)
    assert stored["completed"] is True
    assert (stored["runCount"], stored["failCount"], stored["lastRunAt"]) == (3, 0, T0 + 30 * MINUTE)
    assert [report.outcome for report in sched.reports] == ["rescheduled", "rescheduled", "completed"]
    assert len(sched.sender.sent) == 3
    assert all(text.endswith(" for stretch") for text in sched.texts())
    assert sched.member()["botMeta"]["tempData"]["runs"] == 3


def test_a_pattern_agenda_follows_the_app_time_zone(sched: Scheduler):
    # 09:00 in Hong Kong is 01:00 UTC; T0 is 06:00 in Hong Kong.
    agenda_id = sched.plan(node=PING, pattern="0 9 * * *", runUntil=T0 + 72 * HOUR, meta={"n": 1})
    first = sched.agenda(agenda_id)["nextRunAt"]
    assert first == T0 + 3 * HOUR
    worker = sched.worker()
    sched.at(first - 1)
    assert worker.run_due() == 0
    sched.at(first)
    assert worker.run_due() == 1
    assert sched.agenda(agenda_id)["nextRunAt"] == first + 24 * HOUR


def test_missed_occurrences_are_not_run_one_by_one(sched: Scheduler):
    agenda_id = sched.plan(node=PING, pattern="*/10 * * * *", runUntil=T0 + 2 * HOUR, meta={"n": 1})
    worker = sched.worker()
    sched.at(T0 + 10 * MINUTE)
    assert worker.run_due() == 1
    # The scheduler was down from minute 10 to minute 45: the occurrences at 20, 30 and 40 were missed.
    sched.at(T0 + 45 * MINUTE)
    assert worker.run_due() == 1
    assert worker.run_due() == 0
    stored = sched.agenda(agenda_id)
    assert (stored["nextRunAt"], stored["runCount"]) == (T0 + 50 * MINUTE, 2)
    assert len(sched.sender.sent) == 2


# Claim order ----------------------------------------------------------------------------


def test_due_agendas_are_claimed_by_next_run_at_then_by_priority(sched: Scheduler):
    late_low = sched.plan(node=PING, nextRunAt=T0 + 2 * MINUTE, priority=5, meta={"n": 1})
    late_high = sched.plan(node=PING, nextRunAt=T0 + 2 * MINUTE, priority=-3, meta={"n": 2})
    late_mid = sched.plan(node=PING, nextRunAt=T0 + 2 * MINUTE, priority=1, meta={"n": 3})
    early = sched.plan(node=PING, nextRunAt=T0 + MINUTE, priority=9, meta={"n": 4})
    not_yet = sched.plan(node=PING, nextRunAt=T0 + 3 * MINUTE, priority=-100, meta={"n": 5})
    sched.at(T0 + 2 * MINUTE)
    assert sched.worker(batch=2).run_due() == 4
    assert [report.agenda for report in sched.reports] == [early, late_high, late_mid, late_low]
    assert sched.texts() == ["4", "2", "3", "1"]
    assert sched.agenda(not_yet)["completed"] is False


# Members who cannot be reached -------------------------------------------------------------


def test_an_unsubscribed_member_is_skipped_and_the_agenda_completed(sched: Scheduler):
    agenda_id = sched.plan(member=BOB, nextRunAt=T0 + MINUTE, meta={"what": "news"})
    before = sched.member(BOB)
    sched.at(T0 + MINUTE)
    assert sched.worker().run_due() == 1
    assert sched.sender.sent == []
    assert sched.member(BOB) == before
    stored = sched.agenda(agenda_id)
    assert stored["completed"] is True
    assert stored["skipped"] == "unsubscribed"
    assert stored["runCount"] == 0
    assert "failed" not in stored
    assert_unlocked(stored)
    assert sched.reports[0].outcome == "skipped"


def test_a_member_who_unsubscribed_after_the_agenda_was_planned_is_skipped(sched: Scheduler):
    agenda_id = sched.plan(node=PING, pattern="*/10 * * * *", runUntil=T0 + HOUR, meta={"n": 1})
    worker = sched.worker()
    sched.at(T0 + 10 * MINUTE)
    assert worker.run_due() == 1
    sched.store.update("members", {"_id": ObjectId(ALICE)}, {"$set": {"botMeta.subscribe": False}})
    sched.at(T0 + 20 * MINUTE)
    assert worker.run_due() == 1
    assert sched.texts() == ["1"]
    stored = sched.agenda(agenda_id)
    assert (stored["completed"], stored["skipped"], stored["runCount"]) == (True, "unsubscribed", 1)


def test_a_deleted_member_fails_the_agenda_permanently(sched: Scheduler):
    agenda_id = sched.plan(nextRunAt=T0 + MINUTE, meta={"what": "water"})
    sched.store.delete("members", {"_id": ObjectId(ALICE)})
    sched.at(T0 + MINUTE)
    worker = sched.worker(max_attempts=5)
    assert worker.run_due() == 1
    assert sched.sender.sent == []
    stored = sched.agenda(agenda_id)
    assert stored["completed"] is True
    assert stored["failed"] is True
    assert stored["lastError"]["type"] == "NotFound"
    assert ALICE in stored["lastError"]["message"]
    assert stored["lastError"]["at"] == T0 + MINUTE
    # Not retried: given up at once.
    assert (stored["failCount"], stored["runCount"], stored["nextRunAt"]) == (1, 1, T0 + MINUTE)
    assert_unlocked(stored)
    assert sched.reports[0].outcome == "failed"
    sched.at(T0 + HOUR)
    assert worker.run_due() == 0


# Failing nodes ------------------------------------------------------------------------------


def test_a_failing_node_records_its_error_and_is_retried_with_doubling_backoff(sched: Scheduler):
    agenda_id = sched.plan(node=BOOM, nextRunAt=T0 + MINUTE, meta={"what": "x"})
    worker = sched.worker(retry_ms=1_000, max_attempts=3)
    sched.at(T0 + MINUTE)
    assert worker.run_due() == 1
    stored = sched.agenda(agenda_id)
    error = stored["lastError"]
    assert error["type"] == "ValueError"
    assert "kaboom" in error["message"]
    assert (error["tree"], error["node"], error["step"], error["line"], error["at"]) == (
        TREE,
        BOOM,
        "preAction",
        2,
        T0 + MINUTE,
    )
    assert (stored["failCount"], stored["runCount"], stored["completed"]) == (1, 1, False)
    assert stored["nextRunAt"] == T0 + MINUTE + 1_000
    assert_unlocked(stored)
    # A failed chain writes nothing back to the member.
    assert sched.member()["botMeta"]["tempData"] == {}
    assert sched.sender.sent == []

    # Not before the backoff is over; then again, waiting twice as long after the second failure.
    sched.at(T0 + MINUTE + 999)
    assert worker.run_due() == 0
    sched.at(T0 + MINUTE + 1_000)
    assert worker.run_due() == 1
    stored = sched.agenda(agenda_id)
    assert (stored["failCount"], stored["runCount"], stored["completed"]) == (2, 2, False)
    assert stored["nextRunAt"] == T0 + MINUTE + 1_000 + 2_000

    sched.at(T0 + MINUTE + 2_999)
    assert worker.run_due() == 0
    sched.at(T0 + MINUTE + 3_000)
    assert worker.run_due() == 1
    # The third attempt was the last (max_attempts=3): given up.
    stored = sched.agenda(agenda_id)
    assert stored["completed"] is True
    assert stored["failed"] is True
    assert (stored["failCount"], stored["runCount"]) == (3, 3)
    assert stored["lastError"]["at"] == T0 + MINUTE + 3_000
    assert_unlocked(stored)
    assert [report.outcome for report in sched.reports] == ["retry", "retry", "failed"]
    assert all(report.error["type"] == "ValueError" for report in sched.reports)
    sched.at(T0 + 100 * HOUR)
    assert worker.run_due() == 0
    assert sched.sender.sent == []


def test_a_failing_pattern_agenda_moves_to_its_next_occurrence_after_max_attempts(sched: Scheduler):
    agenda_id = sched.plan(node=BOOM, pattern="0 * * * *", runUntil=T0 + 5 * HOUR)
    worker = sched.worker(retry_ms=1_000, max_attempts=2)
    sched.at(T0 + HOUR)
    assert worker.run_due() == 1
    assert sched.agenda(agenda_id)["nextRunAt"] == T0 + HOUR + 1_000
    sched.at(T0 + HOUR + 1_000)
    assert worker.run_due() == 1
    stored = sched.agenda(agenda_id)
    assert stored["completed"] is False
    assert "failed" not in stored
    assert stored["nextRunAt"] == T0 + 2 * HOUR
    # The next occurrence starts with a clean count of attempts; the error stays for the author to see.
    assert (stored["failCount"], stored["runCount"]) == (0, 2)
    assert stored["lastError"]["type"] == "ValueError"
    assert [report.outcome for report in sched.reports] == ["retry", "rescheduled"]
    # And the next occurrence gets its own attempts.
    sched.at(T0 + 2 * HOUR)
    assert worker.run_due() == 1
    assert sched.agenda(agenda_id)["failCount"] == 1


def test_a_failing_pattern_agenda_whose_last_occurrence_fails_is_completed_as_failed(sched: Scheduler):
    agenda_id = sched.plan(node=BOOM, pattern="0 * * * *", runUntil=T0 + HOUR)
    worker = sched.worker(retry_ms=1_000, max_attempts=1)
    sched.at(T0 + HOUR)
    assert worker.run_due() == 1
    stored = sched.agenda(agenda_id)
    assert (stored["completed"], stored.get("failed"), stored["runCount"]) == (True, True, 1)


def test_an_uncaught_not_found_in_a_script_is_retried_not_given_up(sched: Scheduler):
    # A NotFound raised by a method the script called is the script's error, like any
    # other: the agenda is retried (and a pattern keeps its next occurrences).
    agenda_id = sched.plan(node=MISSING_SOURCE, pattern="0 * * * *", runUntil=T0 + 5 * HOUR)
    worker = sched.worker(retry_ms=1_000, max_attempts=2)
    sched.at(T0 + HOUR)
    assert worker.run_due() == 1
    stored = sched.agenda(agenda_id)
    assert stored["lastError"]["type"] == "NotFound"
    assert stored["lastError"]["step"] == "preAction"
    assert (stored["completed"], stored["failCount"], stored["nextRunAt"]) == (False, 1, T0 + HOUR + 1_000)
    sched.at(T0 + HOUR + 1_000)
    assert worker.run_due() == 1
    stored = sched.agenda(agenda_id)
    assert (stored["completed"], stored["nextRunAt"]) == (False, T0 + 2 * HOUR)
    assert [report.outcome for report in sched.reports] == ["retry", "rescheduled"]


def test_a_missing_node_fails_the_agenda_at_once(sched: Scheduler):
    agenda_id = sched.plan(node=PING, pattern="0 * * * *", runUntil=T0 + 5 * HOUR)
    sched.store.update("trees", {"_id": ObjectId(TREE)}, {"$unset": {f"nodes.{PING}": ""}})
    sched.at(T0 + HOUR)
    worker = sched.worker(max_attempts=5)
    assert worker.run_due() == 1
    stored = sched.agenda(agenda_id)
    assert stored["completed"] is True
    assert stored["failed"] is True
    assert stored["lastError"]["type"] == "TreeError"
    assert PING in stored["lastError"]["message"]
    assert (stored["failCount"], stored["runCount"]) == (1, 1)
    assert sched.sender.sent == []
    sched.at(T0 + 2 * HOUR)
    assert worker.run_due() == 0


def test_a_missing_tree_fails_the_agenda_at_once(sched: Scheduler):
    agenda_id = sched.plan(node=PING, nextRunAt=T0 + MINUTE)
    sched.store.delete("trees", {"_id": ObjectId(TREE)})
    sched.at(T0 + MINUTE)
    assert sched.worker(max_attempts=5).run_due() == 1
    stored = sched.agenda(agenda_id)
    assert (stored["completed"], stored["failed"], stored["failCount"]) == (True, True, 1)
    assert stored["lastError"]["type"] == "TreeError"
    assert TREE in stored["lastError"]["message"]


# A node that reschedules its own agenda --------------------------------------------------


def test_a_node_that_pushes_its_own_agenda_later_keeps_it_pending(sched: Scheduler):
    agenda_id = sched.plan(node=SNOOZE, nextRunAt=T0 + MINUTE, tag="nag")
    worker = sched.worker()
    sched.at(T0 + MINUTE)
    assert worker.run_due() == 1
    assert sched.texts() == ["snoozed"]
    stored = sched.agenda(agenda_id)
    # The node moved its own agenda: the move stands, the worker's "completed" does not.
    assert (stored["completed"], stored["nextRunAt"], stored["runCount"]) == (False, T0 + MINUTE + HOUR, 1)
    assert_unlocked(stored)
    assert sched.reports[0].outcome == "moved"
    sched.at(T0 + MINUTE + HOUR)
    assert worker.run_due() == 1
    assert sched.texts() == ["snoozed", "snoozed"]


def add_node(sched: Scheduler, node_id: str, node: dict[str, Any]) -> None:
    tree = sched.store.find_one("trees", {})
    tree["nodes"][node_id] = node
    sched.store.update("trees", {"_id": tree["_id"]}, {"$set": {"nodes": tree["nodes"]}})


def test_an_agenda_that_replaces_itself_now_runs_again_no_sooner_than_10_seconds(sched: Scheduler):
    # The reference's idle reminder, planned from its own node for "now": a pass must end.
    add_node(
        sched,
        "AGAIN00000000001",
        {
            "preAction": "this.newAgenda({'memberId': this.member._id, 'treeId': this.node.tree, "
            "'nodeCompositeId': 'AGAIN00000000001', 'nextRunAt': this.moment().valueOf(), "
            "'tag': 'again', 'replace': True})",
            "responses": [{"type": "TEXT", "text": "again"}],
        },
    )
    sched.plan(node="AGAIN00000000001", nextRunAt=T0, tag="again")
    worker = sched.worker()
    assert worker.run_due() == 1
    assert sched.reports[0].outcome == "deleted"  # the run replaced its own agenda
    (pending,) = sched.store.find(AGENDAS, {"completed": False})
    assert pending["nextRunAt"] == T0 + 10_000
    sched.at(T0 + 10_000)
    assert worker.run_due() == 1
    assert sched.texts() == ["again", "again"]


def test_a_member_has_at_most_100_pending_agendas(sched: Scheduler):
    for n in range(100):
        sched.plan(nextRunAt=T0 + HOUR + n)
    source = f"return this.newAgenda({{'memberId': {ALICE!r}, 'treeId': {TREE!r}, 'nodeCompositeId': {REMIND!r}, 'nextRunAt': {T0 + HOUR}}})"
    result = sched.runtime.run(source, {"app": APP})
    assert (result.error["type"], result.error["message"]) == (
        "QuotaExceeded",
        f"newAgenda: member {ALICE} has 100 pending agendas, the most one member may have "
        "(replace them by tag, or delete some with deleteMemberAgenda)",
    )
    assert sched.store.count(AGENDAS, {}) == 100
    # Another member is not affected.
    sched.plan(member=BOB, nextRunAt=T0 + HOUR)


def test_a_node_that_moves_its_own_agenda_to_a_moment_later_waits_at_least_10_seconds(sched: Scheduler):
    tree = sched.store.find_one("trees", {})
    tree["nodes"]["QUICK00000000001"] = {
        "name": "Quick",
        "preAction": 'this.updateAgenda({"memberId": this.member._id, "tag": "quick", '
        '"nextRunAt": this.moment().add(1, "seconds").valueOf()})',
    }
    sched.store.update("trees", {"_id": tree["_id"]}, {"$set": {"nodes": tree["nodes"]}})
    agenda_id = sched.plan(node="QUICK00000000001", nextRunAt=T0 + MINUTE, tag="quick")
    worker = sched.worker()
    sched.at(T0 + MINUTE)
    assert worker.run_due() == 1
    assert sched.reports[0].outcome == "moved"
    assert sched.agenda(agenda_id)["nextRunAt"] == T0 + MINUTE + 10_000
    sched.at(T0 + MINUTE + 9_999)
    assert worker.run_due() == 0
    sched.at(T0 + MINUTE + 10_000)
    assert worker.run_due() == 1


def test_an_agenda_planned_in_the_past_is_due_now_in_turn(sched: Scheduler):
    older = sched.plan(nextRunAt=T0, tag="first")
    sched.at(T0 + MINUTE)
    ancient = sched.plan(nextRunAt=100_000_000_000, tag="ancient")
    assert sched.agenda(ancient)["nextRunAt"] == T0 + MINUTE
    worker = sched.worker()
    assert worker.run_due() == 2
    assert [report.agenda for report in sched.reports] == [older, ancient]


# Several workers on one store ---------------------------------------------------------------


REAL_MONGO = os.environ.get("NODERUNTIME_TEST_MONGO_URI")


@pytest.fixture(params=["embedded", "mongodb"])
def make_store(request: pytest.FixtureRequest) -> Iterator[Callable[[dict[str, Any]], Store]]:
    """A seeded store: embedded, or a scratch database on the real MongoDB at
    ``NODERUNTIME_TEST_MONGO_URI`` (dropped afterwards)."""
    if request.param == "embedded":
        yield Store.embedded_store
        return
    if not REAL_MONGO:
        pytest.skip(
            "set NODERUNTIME_TEST_MONGO_URI to run against a real MongoDB "
            "(no MongoDB server can be installed on the build machines)"
        )
    name = f"noderuntime_test_{uuid.uuid4().hex[:12]}"
    opened: list[Store] = []

    def make(data: dict[str, Any]) -> Store:
        real = Store.connect(REAL_MONGO, name)
        real.load(data)
        opened.append(real)
        return real

    yield make
    for real in opened:
        real.database.client.drop_database(name)
        real.close()


def test_three_workers_on_one_store_run_each_of_1000_agendas_exactly_once(make_store):
    count = 1000
    clock = [T0]
    members = [member_doc(f"member-{i:02d}", f"ext-{i:02d}") for i in range(10)]
    data = seed()
    data["members"] += members
    store = make_store(data)
    store.database[AGENDAS].insert_many(
        [
            {
                "app": APP,
                "channel": ObjectId(CHANNEL),
                "member": members[i % 10]["_id"],
                "tree": TREE,
                "nodeCompositeId": PING,
                "nextRunAt": T0 - count + i,
                "priority": 0,
                "meta": {"n": i},
                "tag": None,
                "completed": False,
                "runCount": 0,
                "failCount": 0,
                "createdAt": T0 - count,
                "updatedAt": T0 - count,
            }
            for i in range(count)
        ]
    )
    with Runtime(Config(workers=1, mode="inprocess"), store=store, clock=lambda: clock[0]) as runtime:
        world = Scheduler(runtime, clock)
        senders = [RecordingSender() for _ in range(3)]
        workers = [world.worker(name, sender=sender, batch=20) for name, sender in zip("ABC", senders, strict=True)]
        handled = [0, 0, 0]
        failures: list[BaseException] = []

        def work(index: int) -> None:
            try:
                handled[index] = workers[index].run_due()
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=work, args=(index,)) for index in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []

    texts = Counter(text for sender in senders for text in world.texts(sender))
    assert texts == Counter(str(i) for i in range(count))
    assert sum(handled) == count
    assert len(world.reports) == count
    assert Counter(report.agenda for report in world.reports).most_common(1)[0][1] == 1
    stored = store.find(AGENDAS, {})
    assert len(stored) == count
    assert all(agenda["completed"] is True and agenda["runCount"] == 1 for agenda in stored)
    assert all(agenda["lastRunAt"] == T0 for agenda in stored)
    assert not [agenda for agenda in stored if any(name in agenda for name in INTERNAL)]
    # Each job is recorded by the worker that ran it.
    by_worker = Counter(report.outcome for report in world.reports)
    assert by_worker == {"completed": count}


def test_a_worker_does_not_claim_an_agenda_another_worker_holds(sched: Scheduler):
    agenda_id = sched.plan(node=PING, nextRunAt=T0 + MINUTE, meta={"n": 1})
    sched.at(T0 + MINUTE)
    held = agendas.claim(sched.store, sched.now, "A", 60_000)
    assert held is not None and str(held["_id"]) == agenda_id
    assert agendas.claim(sched.store, sched.now, "B", 60_000) is None
    assert agendas.claim(sched.store, sched.now, "B", 60_000, ObjectId(agenda_id)) is None
    assert sched.worker("B").run_due() == 0
    assert sched.sender.sent == []


# A worker killed mid-job ----------------------------------------------------------------------


def test_a_killed_workers_job_runs_elsewhere_once_its_lock_expires(sched: Scheduler):
    lock_ms = 10 * MINUTE
    agenda_id = sched.plan(node=PING, nextRunAt=T0 + MINUTE, meta={"n": 42})
    sched.at(T0 + MINUTE)
    # Worker A claims the agenda, then its process dies: it never finishes.
    held = agendas.claim(sched.store, sched.now, "A", lock_ms)
    assert held is not None and str(held["_id"]) == agenda_id
    stored = sched.agenda(agenda_id)
    assert (stored["lockedBy"], stored["lockedUntil"], stored["lockToken"]) == (
        "A",
        T0 + MINUTE + lock_ms,
        held["lockToken"],
    )
    b = sched.worker("B", lock_ms=lock_ms)
    for now in (T0 + MINUTE, T0 + MINUTE + lock_ms // 2, T0 + MINUTE + lock_ms - 1):
        sched.at(now)
        assert b.run_due() == 0
    assert sched.sender.sent == []
    assert sched.agenda(agenda_id)["completed"] is False

    sched.at(T0 + MINUTE + lock_ms)
    assert b.run_due() == 1
    assert sched.texts() == ["42"]
    done = sched.agenda(agenda_id)
    assert (done["completed"], done["runCount"]) == (True, 1)
    assert done["lastRunAt"] == T0 + MINUTE + lock_ms
    assert_unlocked(done)

    # A comes back (it was only stalled) and reports its job with its stale lock token: nothing changes.
    sched.at(T0 + MINUTE + 2 * lock_ms)
    assert agendas.succeeded(sched.store, held, sched.now) == "lost"
    error = {"type": "ValueError", "message": "late"}
    assert agendas.failed(sched.store, held, sched.now, error, retry_ms=1_000, max_attempts=5) == "lost"
    assert agendas.skipped(sched.store, held, sched.now, "unsubscribed") == "lost"
    assert sched.agenda(agenda_id) == done
    assert b.run_due() == 0
    assert len(sched.sender.sent) == 1


def test_a_stale_worker_does_not_disturb_the_worker_now_holding_the_job(sched: Scheduler):
    lock_ms = 10 * MINUTE
    agenda_id = sched.plan(node=PING, pattern="*/5 * * * *", runUntil=T0 + HOUR, meta={"n": 1})
    sched.at(T0 + 5 * MINUTE)
    stale = agendas.claim(sched.store, sched.now, "A", lock_ms)
    sched.at(T0 + 5 * MINUTE + lock_ms)
    current = agendas.claim(sched.store, sched.now, "B", lock_ms)
    assert stale is not None and current is not None
    assert current["lockToken"] != stale["lockToken"]
    holding = sched.agenda(agenda_id)
    assert agendas.succeeded(sched.store, stale, sched.now + 1) == "lost"
    assert sched.agenda(agenda_id) == holding
    assert holding["lockedBy"] == "B"
    # B's own completion still lands.
    assert agendas.succeeded(sched.store, current, sched.now) == "rescheduled"
    after = sched.agenda(agenda_id)
    assert (after["runCount"], after["nextRunAt"]) == (1, T0 + 20 * MINUTE)
    assert_unlocked(after)


# Stopping ----------------------------------------------------------------------------------------


class BlockingSender(RecordingSender):
    """Holds the first send until released, so a test can act mid-job."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def send(self, member, channel, responses, now_ms):
        self.entered.set()
        assert self.release.wait(10), "the test never released the sender"
        return super().send(member, channel, responses, now_ms)


def test_stop_lets_run_forever_finish_the_current_job_then_return(sched: Scheduler):
    ids = [sched.plan(node=PING, nextRunAt=T0 + MINUTE, priority=i, meta={"n": i}) for i in range(3)]
    sched.at(T0 + MINUTE)
    sender = BlockingSender()
    worker = sched.worker(sender=sender, poll_ms=20)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    assert sender.entered.wait(10), "the worker never started a job"
    worker.stop()
    assert worker.stopping
    # Still busy with the job it had started.
    time.sleep(0.05)
    assert thread.is_alive()
    sender.release.set()
    thread.join(10)
    assert not thread.is_alive()
    # The job in hand was finished and recorded; no other was started.
    assert sched.texts(sender) == ["0"]
    first = sched.agenda(ids[0])
    assert (first["completed"], first["runCount"]) == (True, 1)
    assert_unlocked(first)
    for other in ids[1:]:
        stored = sched.agenda(other)
        assert (stored["completed"], stored["runCount"]) == (False, 0)
        assert_unlocked(stored)
    assert [report.outcome for report in sched.reports] == ["completed"]


def test_stop_wakes_an_idle_run_forever(sched: Scheduler):
    sched.plan(node=PING, nextRunAt=T0 + HOUR, meta={"n": 1})
    worker = sched.worker(poll_ms=60_000)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    time.sleep(0.1)
    assert thread.is_alive()
    started = time.monotonic()
    worker.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - started < 2
    assert sched.sender.sent == []


def test_run_forever_runs_agendas_as_they_fall_due(sched: Scheduler):
    agenda_id = sched.plan(node=PING, nextRunAt=T0 + MINUTE, meta={"n": 5})
    worker = sched.worker(poll_ms=20)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        time.sleep(0.1)
        assert sched.sender.sent == []
        sched.at(T0 + MINUTE)
        deadline = time.monotonic() + 5
        while not sched.reports and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sched.texts() == ["5"]
        assert sched.agenda(agenda_id)["completed"] is True
    finally:
        worker.stop()
        thread.join(5)
    assert not thread.is_alive()


def test_stop_before_run_due_runs_nothing(sched: Scheduler):
    sched.plan(node=PING, nextRunAt=T0 + MINUTE, meta={"n": 1})
    sched.at(T0 + MINUTE)
    worker = sched.worker()
    worker.stop()
    assert worker.run_due() == 0
    worker.run_forever()  # returns at once
    assert sched.sender.sent == []


def test_next_due_is_the_earliest_pending_run(sched: Scheduler):
    assert agendas.next_due(sched.store, sched.now) is None
    sched.plan(node=PING, nextRunAt=T0 + 2 * MINUTE)
    sched.plan(node=PING, pattern="*/5 * * * *", runUntil=T0 + HOUR)
    assert agendas.next_due(sched.store, sched.now) == T0 + 2 * MINUTE
    sched.at(T0 + 2 * MINUTE)
    assert sched.worker().run_due() == 1
    assert agendas.next_due(sched.store, sched.now) == T0 + 5 * MINUTE
    sched.at(T0 + HOUR)
    assert sched.worker().run_due() == 1
    assert agendas.next_due(sched.store, sched.now) is None


def test_next_due_of_an_agenda_another_worker_holds_is_when_its_lock_expires(sched: Scheduler):
    sched.plan(node=PING, nextRunAt=T0)
    claimed = agendas.claim(sched.store, T0, "other", 60_000)
    assert claimed is not None
    # Due, but locked: a worker sleeps until the lock expires instead of polling.
    assert agendas.next_due(sched.store, T0) == T0 + 60_000
    sched.plan(node=PING, nextRunAt=T0 + 30_000)
    assert agendas.next_due(sched.store, T0) == T0 + 30_000


# Across the process boundary ------------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_runs_agendas_on_isolated_workers():
    clock = [T0]
    with Runtime(Config(workers=2), store=Store.embedded_store(seed()), clock=lambda: clock[0]) as runtime:
        world = Scheduler(runtime, clock)
        one_shot = world.plan(nextRunAt=T0 + MINUTE, meta={"what": "water"})
        failing = world.plan(node=BOOM, nextRunAt=T0 + MINUTE)
        world.at(T0 + MINUTE)
        assert world.worker(retry_ms=1_000, max_attempts=1).run_due() == 2
    assert world.texts() == ["after pre for water"]
    assert world.member()["botMeta"]["tempData"]["preMeta"] == {"what": "water"}
    assert world.agenda(one_shot)["completed"] is True
    boom = world.agenda(failing)
    assert (boom["failed"], boom["lastError"]["type"], boom["lastError"]["line"]) == (True, "ValueError", 2)


def test_a_job_ends_before_its_lock_so_no_other_worker_runs_it_again(sched: Scheduler):
    # Six nodes that each count for a while; the lock lasts 1 s, so the chain
    # is stopped before the lock expires instead of outliving it.
    chain = {
        f"SLOW{i:012d}": {
            "preAction": "n = 0\nwhile n < 3000000:\n    n += 1\n",
            **({"redirect": {"nodeCompositeId": f"SLOW{i + 1:012d}"}} if i < 5 else {}),
        }
        for i in range(6)
    }
    for node_id, node in chain.items():
        add_node(sched, node_id, node)
    sched.plan(node="SLOW000000000000", nextRunAt=T0)
    worker = sched.worker(lock_ms=1000)
    started = time.monotonic()
    assert worker.run_due() == 1
    assert time.monotonic() - started < 1.0
    (report,) = sched.reports
    assert report.error is not None and report.error["type"] == "LimitExceeded"
    assert report.outcome == "retry"


def test_a_member_whose_bot_meta_is_not_an_object_still_gets_its_agenda(sched: Scheduler):
    sched.store.update("members", {}, {"$set": {"botMeta": "oops"}}, multi=True)
    agenda_id = sched.plan(node=PING, nextRunAt=T0)
    assert sched.worker().run_due() == 1
    assert sched.reports[0].outcome == "completed"
    assert sched.agenda(agenda_id)["completed"] is True
