"""A member handed to the app's own live-chat desk (the custom outlet) and back,
through real HTTP both ways: the outlet API on a local fake, the webhook on
the runtime's server."""

from __future__ import annotations

import json
import time

import requests

from noderuntime.livechat.outlets.custom import SIGNATURE_HEADER, sign
from noderuntime.store.schema import AGENDAS, GROUPS, INBOX
from noderuntime.testing.fakes.server import Fault
from tests.noderuntime.livechat.conftest import CUSTOM, SECRET


def settle(world, until=lambda: True, timeout: float = 5.0) -> None:
    """Let the webhook's background handling finish, then make every call due."""
    deadline = time.monotonic() + timeout
    while True:
        world.desk.flush()
        if until() or time.monotonic() > deadline:
            return
        time.sleep(0.02)


def handed_over(world, custom):
    """The member asks for an agent; returns the conversation on the fake desk."""
    world.custom_desk(custom)
    world.say("hi")
    world.say("I need an agent please")
    assert world.in_live_chat()
    (conversation,) = custom.conversations.values()
    return conversation


def test_a_member_reaches_an_agent_and_comes_back(world, custom):
    conversation = handed_over(world, custom)
    assignment = world.assignment()
    # The request carries the author's assignmentDetails unchanged, the member and the history.
    assert conversation.request["assignmentDetails"] == {"summary": "Wants a human"}
    assert conversation.request["member"]["_id"] == str(assignment["member"])
    assert [line["text"] for line in conversation.request["history"]] == [
        "hi",
        "Hello from the bot",
        "I need an agent please",
        "Connecting you to an agent",
    ]
    assert conversation.request["target"] == {"label": "default", "type": "team", "id": "support"}

    # The member's next messages go to the agent, not the bot.
    result = world.say("my parcel is late")
    assert result.nodes == [] and result.liveChat["queued"] is True
    world.say("order 1234")
    assert conversation.lines == [("member", "my parcel is late"), ("member", "order 1234")]
    assert world.texts()[-1] == "Connecting you to an agent"

    # The agent's replies come back to the member's channel.
    assert custom.agent_says(conversation.assignment_id, "Hi John, let me check") == 200
    settle(world, lambda: world.texts()[-1] == "Hi John, let me check")
    assert world.texts()[-1] == "Hi John, let me check"
    assert world.sender.sent[-1].channel is not None
    assert world.assignment()["status"] == "assigned"

    # The agent ends the chat: liveChat is false, the group inactive, the bot answers again.
    assert custom.end(conversation.assignment_id) == 200
    settle(world, lambda: "The bot is back" in world.texts())
    assert not world.in_live_chat()
    ended = world.assignment()
    assert ended["status"] == "ended" and ended["endReason"] == "agent"
    assert world.store.find_one(GROUPS, {"_id": ended["group"]})["active"] is False
    assert world.store.count(AGENDAS, {"kind": "liveChatTimeout", "completed": False}) == 0
    assert world.texts()[-1] == "The bot is back"  # the inlet's liveChat.onEnd node
    world.say("hello?")
    assert world.texts()[-1] == "Hello from the bot"


def test_the_group_learns_the_conversation_id_the_desk_answered(world, custom):
    conversation = handed_over(world, custom)
    group = world.store.find_one(GROUPS, {"_id": world.assignment()["group"]})
    assert group["externalId"] == conversation.external_id


def test_outlet_down_then_up_loses_nothing_and_doubles_nothing(world, custom):
    conversation = handed_over(world, custom)
    custom.down()
    for index in range(3):
        world.say(f"line {index}")
    pending = [o for o in world.outbox() if o["op"] == "relay"]
    assert [o["status"] for o in pending] == ["pending"] * 3
    assert pending[0]["attempts"] == 1 and "line 0" not in str(conversation.lines)
    custom.up()
    world.clock.advance(minutes=1)  # past the retry's backoff
    world.desk.flush()
    assert conversation.lines == [("member", "line 0"), ("member", "line 1"), ("member", "line 2")]
    world.clock.advance(minutes=10)
    world.desk.flush()
    assert len(conversation.lines) == 3
    assert all(o["status"] == "sent" for o in world.outbox())


def test_a_retry_after_a_timeout_the_desk_acted_on_is_not_doubled(world, custom):
    from noderuntime.livechat.outlets.custom import CustomOutlet

    conversation = handed_over(world, custom)
    world.desk.factories["custom"] = lambda http: CustomOutlet(http, timeout=0.3)
    world.desk._outlets.clear()
    custom.fail("/api/livechat", Fault(delay=0.6))  # the desk posts it, the answer comes too late
    world.say("are you there?")
    relay = next(o for o in world.outbox() if o["op"] == "relay")
    assert relay["status"] == "pending" and "timed out" in relay["lastError"]
    world.clock.advance(minutes=1)
    world.desk.flush()
    assert conversation.lines == [("member", "are you there?")]
    assert [o["status"] for o in world.outbox()] == ["sent", "sent"]


def test_a_message_delivered_to_the_runtime_twice_is_relayed_once(world, custom):
    conversation = handed_over(world, custom)
    world.say("only once", message_id="platform-msg-1")
    world.say("only once", message_id="platform-msg-1")
    assert conversation.lines == [("member", "only once")]


def test_lines_keep_their_order_behind_a_failing_one(world, custom):
    conversation = handed_over(world, custom)
    custom.fail("/api/livechat", Fault(status=503, body={"error": "busy"}), times=2)
    world.say("first")
    world.say("second")
    assert conversation.lines == []
    world.clock.advance(minutes=1)
    world.desk.flush()  # "first" fails again; "second" waits behind it
    assert conversation.lines == []
    assert [o["attempts"] for o in world.outbox() if o["op"] == "relay"] == [2, 0]
    world.clock.advance(minutes=1)
    world.desk.flush()
    assert conversation.lines == [("member", "first"), ("member", "second")]


def test_a_bad_signature_is_refused_and_nothing_is_relayed(world, custom):
    conversation = handed_over(world, custom)
    before = list(world.texts())
    assert custom.agent_says(conversation.assignment_id, "forged", signature="AAAA") == 401
    body = json.dumps({"id": "x", "assignmentId": conversation.assignment_id, "sendToInlet": "no signature"})
    answer = requests.post(world.webhook_url(CUSTOM), data=body, timeout=5)
    assert answer.status_code == 401 and "missing" in answer.json()["error"]
    signed_other = sign("not-the-secret", body.encode())
    answer = requests.post(world.webhook_url(CUSTOM), data=body, headers={SIGNATURE_HEADER: signed_other}, timeout=5)
    assert answer.status_code == 401
    settle(world)
    assert world.texts() == before
    assert world.store.count(INBOX, {}) == 0


def test_a_webhook_delivered_twice_reaches_the_member_once(world, custom):
    conversation = handed_over(world, custom)
    assert custom.agent_says(conversation.assignment_id, "once", event_id="evt-1") == 200
    assert custom.agent_says(conversation.assignment_id, "once", event_id="evt-1") == 200
    settle(world, lambda: "once" in world.texts())
    time.sleep(0.1)
    world.desk.flush()
    assert world.texts().count("once") == 1


def test_signed_webhook_for_an_unknown_channel_is_not_found(world):
    body = b'{"assignmentId": "x", "sendToInlet": "hi"}'
    answer = requests.post(
        world.webhook_url("c00000000000000000000000"),
        data=body,
        headers={SIGNATURE_HEADER: sign(SECRET, body)},
        timeout=5,
    )
    assert answer.status_code == 404


def test_health(world):
    assert requests.get(world.serve().url + "/health", timeout=5).json() == {"ok": True}


def test_the_desk_refusing_the_request_ends_the_live_chat_and_the_bot_takes_over(world, custom):
    world.custom_desk(custom)
    custom.fail("/api/livechat", Fault(status=400, body={"error": "no such team"}))
    world.say("agent")
    assert not world.in_live_chat()
    assignment = world.assignment()
    assert assignment["endReason"] == "failed"
    (opened,) = [o for o in world.outbox() if o["op"] == "open"]
    assert opened["status"] == "failed" and "400" in opened["lastError"] and "no such team" in opened["lastError"]
    assert world.texts()[-1] == "The bot is back"
