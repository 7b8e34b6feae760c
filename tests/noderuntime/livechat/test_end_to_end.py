"""The whole hand-off against each outlet's fake, through real HTTP both ways:
a script requests live chat, the member's next messages reach the agent, the
agent's replies reach the member's channel, the agent ends the chat and
``liveChat`` is false again; an outlet that is down loses nothing and
doubles nothing; a webhook with a bad signature, token or key is refused."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from noderuntime.testing.fakes.desks import AgentDesk, desk_for
from noderuntime.testing.fakes.server import Fault
from tests.noderuntime.livechat.conftest import APP, BOARD, CUSTOM, INLET, MEMBER, ROCKET

OUTLETS = {"custom": CUSTOM, "rocketchat": ROCKET, "supportboard": BOARD}


@pytest.fixture(params=list(OUTLETS))
def desk(request, world) -> Iterator[AgentDesk]:
    """The fake system of one outlet kind, paired with the member's channel."""
    made = desk_for(request.param)
    made.start()
    channel = OUTLETS[made.kind]
    world.configure(channel, info=made.connect(world.webhook_url(channel)))
    world.pair(channel)
    yield made
    made.stop()


def state(world) -> dict:
    return world.assignment()["outletState"]


def eventually(world, check, timeout: float = 5.0) -> bool:
    """Work the desk until ``check()`` holds (webhooks are handled in the background)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        world.desk.flush()
        time.sleep(0.02)
    return True


def end_from_the_inlet(world):
    """A script on the inlet ends the member's live chat."""
    return world.runtime.run(
        "return this.inletEndLiveChat(channel=this.channel, member=this.member)",
        {"member": world.member() | {"_id": MEMBER, "app": APP}, "channel": {"_id": INLET}, "app": APP},
        mode="inprocess",
    )


def agent_sees(desk, world, text: str) -> bool:
    return any(text in line for line in desk.lines(state(world), str(world.assignment()["_id"])))


def test_hand_off_and_back(world, desk):
    world.say("hi")
    world.say("I want an agent")
    assert world.in_live_chat()
    assignment_id = str(world.assignment()["_id"])
    assert world.outbox()[0]["status"] == "sent", world.outbox()[0].get("lastError")
    assert agent_sees(desk, world, "Wants a human")  # the request's summary opens the conversation

    world.say("my parcel is late")
    assert agent_sees(desk, world, "my parcel is late")
    assert world.texts()[-1] == "Connecting you to an agent"  # the bot stays quiet

    if desk.take(state(world), assignment_id):
        assert eventually(world, lambda: world.assignment()["status"] == "assigned")
    assert desk.say(state(world), assignment_id, "Hello John, Alice here") == 200
    assert eventually(world, lambda: world.texts()[-1] == "Hello John, Alice here")
    assert world.assignment()["status"] == "assigned"

    assert desk.end(state(world), assignment_id) == 200
    assert eventually(world, lambda: "The bot is back" in world.texts())
    assert not world.in_live_chat()
    assert world.assignment()["endReason"] == "agent"
    world.say("hello again")
    assert world.texts()[-1] == "Hello from the bot"


def test_the_member_ends_it_and_the_outlet_conversation_closes(world, desk):
    world.say("agent")
    result = end_from_the_inlet(world)
    assert result.ok, result.error
    world.desk.flush()
    assert not world.in_live_chat()
    close = world.outbox()[-1]
    assert (close["op"], close["status"]) == ("close", "sent"), close.get("lastError")


def test_outlet_down_then_up(world, desk):
    world.say("agent")
    desk.fake.down()  # type: ignore[attr-defined]
    world.say("first while down")
    world.say("second while down")
    assert [o["status"] for o in world.outbox() if o["op"] == "relay"] == ["pending", "pending"]
    desk.fake.up()  # type: ignore[attr-defined]
    world.clock.advance(minutes=1)
    world.desk.flush()
    lines = desk.lines(state(world), str(world.assignment()["_id"]))
    assert sum("first while down" in line for line in lines) == 1
    assert sum("second while down" in line for line in lines) == 1
    assert next(line for line in lines if "while down" in line).endswith("first while down")
    world.clock.advance(minutes=30)
    world.desk.flush()
    assert sum("first while down" in line for line in desk.lines(state(world), str(world.assignment()["_id"]))) == 1


def test_a_timeout_after_the_outlet_acted_does_not_double_the_line(world, desk):
    world.say("agent")
    outlet = world.desk.outlet({"type": desk.kind})
    outlet.timeout = 0.3  # type: ignore[attr-defined]
    desk.fake.fail(".*", Fault(delay=0.8))  # type: ignore[attr-defined]
    world.say("only once please")
    relay = next(o for o in world.outbox() if o["op"] == "relay")
    assert relay["status"] == "pending", relay
    time.sleep(0.8)  # the fake finishes the call it was slow to answer
    world.clock.advance(minutes=1)
    world.desk.flush()
    lines = desk.lines(state(world), str(world.assignment()["_id"]))
    assert sum("only once please" in line for line in lines) == 1, lines


@pytest.mark.parametrize("header", ["missing", "wrong"])
def test_bad_credentials_are_refused_and_nothing_is_relayed(world, desk, header):
    world.say("agent")
    channel = OUTLETS[desk.kind]
    body = {
        "custom": {"id": "e1", "assignmentId": str(world.assignment()["_id"]), "sendToInlet": "forged"},
        "rocketchat": {
            "type": "Message",
            "_id": state(world).get("rid"),
            "messages": [{"_id": "m1", "msg": "forged", "agentId": "a1", "u": {"_id": "a1", "username": "alice"}}],
        },
        "supportboard": {
            "function": "message-sent",
            "key": "wrong" if header == "wrong" else None,
            "data": {
                "user_id": "2",
                "message_id": 99,
                "message": "forged",
                "conversation_id": state(world).get("conversationId"),
            },
        },
    }[desk.kind]
    headers = {}
    if header == "wrong" and desk.kind == "custom":
        headers["X-Stella-Signature"] = "bm90IGEgc2lnbmF0dXJl"
    if header == "wrong" and desk.kind == "rocketchat":
        headers["X-RocketChat-Livechat-Token"] = "not-the-token"
    if desk.kind == "supportboard" and header == "missing":
        body.pop("key")
    answer = requests.post(world.webhook_url(channel), json=body, headers=headers, timeout=5)
    assert answer.status_code == 401
    time.sleep(0.1)
    world.desk.flush()
    assert "forged" not in world.texts()
    assert world.store.count("inbox", {}) == 0


def test_an_agent_reply_for_an_ended_chat_is_not_sent(world, desk):
    world.say("agent")
    assignment_id = str(world.assignment()["_id"])
    saved = dict(state(world))
    assert end_from_the_inlet(world).ok
    world.desk.flush()
    sent = len(world.texts())
    if desk.kind == "rocketchat":  # the room is closed: Rocket.Chat itself refuses the agent's message
        assert not desk.fake.rooms[saved["rid"]]["open"]  # type: ignore[attr-defined]
        return
    desk.say(saved, assignment_id, "too late")
    time.sleep(0.2)
    world.desk.flush()
    assert len(world.texts()) == sent
