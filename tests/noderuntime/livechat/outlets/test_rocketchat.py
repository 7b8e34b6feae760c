"""The Rocket.Chat outlet against the fake server, through the runtime's real HTTP client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from noderuntime.fetch import EgressPolicy, HttpClient
from noderuntime.livechat.outlets.base import Conversation, Line, OutletError, Unavailable, WebhookRefused
from noderuntime.livechat.outlets.rocketchat import RocketChatOutlet
from noderuntime.testing.fakes.rocketchat import FakeRocketChat
from noderuntime.testing.fakes.server import Answer, FakeServer, Fault, Request

SECRET = "hook-secret"
VISITOR = r"/api/v1/livechat/visitor"
ROOM = r"/api/v1/livechat/room"
MESSAGE = r"/api/v1/livechat/message"


@pytest.fixture
def fake() -> Iterator[FakeRocketChat]:
    server = FakeRocketChat().start()
    yield server
    server.stop()


@pytest.fixture
def http() -> HttpClient:
    return HttpClient(EgressPolicy(allow_hosts=frozenset({"127.0.0.1"})))


@pytest.fixture
def outlet(http: HttpClient) -> RocketChatOutlet:
    return RocketChatOutlet(http, timeout=5.0)


@pytest.fixture
def hook() -> Iterator[FakeServer]:
    """Where the fake POSTs its webhooks: the bodies the outlet's inbound() is fed."""
    server = FakeServer()
    server.route("POST", "/hook", lambda _request, _found: Answer(200, {}))
    server.start()
    yield server
    server.stop()


def conversation(
    fake: FakeRocketChat,
    *,
    member: dict[str, Any] | None = None,
    saved: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Conversation:
    """An assignment to Rocket.Chat; what the outlet saves is appended to ``saved``."""
    info = {"serverUrl": fake.url, "webhookToken": SECRET, **fields.pop("info", {})}
    return Conversation(
        assignment_id="as-1",
        app="app-1",
        channel={"_id": "ch-rc", "type": "rocketchat", "info": info},
        member=member if member is not None else {"_id": "m-1", "firstName": "Ann", "lastName": "Lee"},
        details=fields.pop("details", {"summary": "Ann wants a refund for order 42"}),
        meta={},
        save=(saved if saved is not None else []).append,
        **fields,
    )


def texts(fake: FakeRocketChat, rid: str) -> list[str]:
    return [message["msg"] for message in fake.messages(rid)]


def channel(token: str | None = SECRET) -> dict[str, Any]:
    return {"type": "rocketchat", "info": {"serverUrl": "https://chat.example.com", "webhookToken": token}}


def webhook(hook: FakeServer) -> Request:
    return hook.seen("POST", "/hook")[-1]


def wait_for(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


# Settings --------------------------------------------------------------------------------------------


def test_check_channel(outlet: RocketChatOutlet) -> None:
    assert outlet.check_channel(channel()) == []
    assert outlet.check_channel({"info": None}) == ["info must be an object with serverUrl and webhookToken"]
    problems = outlet.check_channel({"info": {"serverUrl": "ftp://x", "department": 3, "offlineEmail": "nope"}})
    assert len(problems) == 4
    assert any("serverUrl" in p for p in problems) and any("webhookToken" in p for p in problems)
    assert any("department" in p for p in problems) and any("offlineEmail" in p for p in problems)


# Open, relay, close ------------------------------------------------------------------------------------


def test_open_relay_close(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    saved: list[dict[str, Any]] = []
    talk = conversation(
        fake,
        member={"_id": "m-1", "firstName": "Ann", "lastName": "Lee", "profile": {"email": "ann@example.com"}},
        details={"summary": "Refund for order 42", "relayMessage": {"rocketchat": {"text": "Please help Ann"}}},
        history=[{"author": "member", "text": "I want a refund"}, {"author": "bot", "text": "Let me find an agent"}],
        saved=saved,
    )
    outlet.open(talk, "open-1")
    rid = talk.state["rid"]
    [registered] = fake.visitors.values()
    assert talk.state["visitorToken"] == registered["token"] and talk.state["visitorId"] == registered["_id"]
    assert registered["name"] == "Ann Lee" and registered["visitorEmails"] == [{"address": "ann@example.com"}]
    assert saved == [
        {"visitorToken": registered["token"], "visitorId": registered["_id"]},
        {"rid": rid},
    ]
    [opening] = texts(fake, rid)
    assert opening == (
        "Refund for order 42\n\nPlease help Ann\n\n"
        "Conversation so far:\nAnn Lee: I want a refund\nBot: Let me find an agent"
    )
    outlet.relay(talk, Line(key="l-1", author="member", text="Are you there?"))
    outlet.relay(talk, Line(key="l-2", author="bot", text="", response={"type": "IMAGE", "url": "https://x/y.png"}))
    assert texts(fake, rid)[1:] == ["Are you there?", "Bot: [IMAGE] https://x/y.png"]
    outlet.close(talk, "close-1")
    assert fake.rooms[rid]["open"] is False and fake.rooms[rid]["closer"] == "visitor"
    outlet.close(talk, "close-1")  # room-closed: done already


def test_the_target_department_overrides_the_channel_one(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    talk = conversation(fake, info={"department": "SUPPORT"}, target={"type": "department", "id": "SALES"})
    outlet.open(talk, "open-1")
    assert fake.rooms[talk.state["rid"]]["departmentId"] == "SALES"
    default = conversation(fake, member={"_id": "m-2"}, info={"department": "SUPPORT"})
    outlet.open(default, "open-2")
    assert fake.rooms[default.state["rid"]]["departmentId"] == "SUPPORT"


def test_the_visitor_token_is_stable_per_member(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    first, again, other = conversation(fake), conversation(fake), conversation(fake, member={"_id": "m-2"})
    for index, talk in enumerate((first, again, other)):
        outlet.open(talk, f"open-{index}")
    assert first.state["visitorToken"] == again.state["visitorToken"] != other.state["visitorToken"]
    assert first.state["rid"] == again.state["rid"]  # the member's open room, found again
    assert "m-1" not in first.state["visitorToken"]  # keyed, not guessable from the member id


def test_a_retried_open_reuses_the_state(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    talk = conversation(fake)
    outlet.open(talk, "open-1")
    outlet.open(talk, "open-1")
    assert len(fake.seen("POST", VISITOR)) == 1
    assert len(fake.seen("GET", ROOM)) == 1
    assert texts(fake, talk.state["rid"]) == ["Ann wants a refund for order 42"]


def test_open_resumes_after_a_failure_between_steps(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    talk = conversation(fake)
    fake.fail(ROOM, Fault(status=503, body={"success": False, "error": "busy"}))
    with pytest.raises(OutletError) as failed:
        outlet.open(talk, "open-1")
    assert failed.value.retry is True
    assert "visitorToken" in talk.state and "rid" not in talk.state
    outlet.open(talk, "open-1")
    assert len(fake.seen("POST", VISITOR)) == 1
    assert len(fake.seen("GET", ROOM)) == 2
    assert len(texts(fake, talk.state["rid"])) == 1


def test_a_timeout_after_the_server_posted_is_not_posted_twice(fake: FakeRocketChat, http: HttpClient) -> None:
    impatient = RocketChatOutlet(http, timeout=0.3)
    talk = conversation(fake)
    impatient.open(talk, "open-1")
    line = Line(key="line-7", author="member", text="hello?")
    fake.fail(MESSAGE, Fault(delay=0.6))
    with pytest.raises(OutletError) as timed_out:
        impatient.relay(talk, line)
    assert timed_out.value.retry is True
    wait_for(lambda: texts(fake, talk.state["rid"])[-1] == "hello?")  # the server posts it all the same
    impatient.relay(talk, line)
    assert texts(fake, talk.state["rid"]).count("hello?") == 1
    assert len(fake.seen("POST", MESSAGE)) == 3  # the opening message, the timed-out try, the retry


def test_long_text_is_posted_in_parts(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    talk = conversation(fake)
    outlet.open(talk, "open-1")
    outlet.relay(talk, Line(key="long", author="member", text="a" * 5000 + "b" * 10))
    outlet.relay(talk, Line(key="long", author="member", text="a" * 5000 + "b" * 10))
    assert texts(fake, talk.state["rid"])[1:] == ["a" * 5000, "b" * 10]


# Failures ------------------------------------------------------------------------------------------------


def test_rate_limited_is_retryable_with_the_servers_wait(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    fake.rate_limits = True
    for index in range(5):
        outlet.open(conversation(fake, member={"_id": f"m-{index}"}), f"open-{index}")
    with pytest.raises(OutletError) as limited:
        outlet.open(conversation(fake, member={"_id": "m-6"}), "open-6")
    assert limited.value.retry is True
    assert limited.value.retry_after is not None and 50 < limited.value.retry_after <= 60
    assert "too many requests" in limited.value.message


def test_server_errors_and_a_down_server_are_retryable(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    talk = conversation(fake)
    outlet.open(talk, "open-1")
    fake.fail(MESSAGE, Fault(status=502, body={}))
    with pytest.raises(OutletError) as bad_gateway:
        outlet.relay(talk, Line(key="l-1", author="member", text="hi"))
    assert bad_gateway.value.retry is True
    fake.down()
    with pytest.raises(OutletError) as refused:
        outlet.relay(talk, Line(key="l-1", author="member", text="hi"))
    assert refused.value.retry is True
    fake.up()
    outlet.relay(talk, Line(key="l-1", author="member", text="hi"))
    assert texts(fake, talk.state["rid"])[-1] == "hi"


def test_no_agent_online_leaves_an_offline_message(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    fake.agents_online = False
    talk = conversation(
        fake, member={"_id": "m-1", "firstName": "Ann", "email": "ann@example.com", "phone": "+15550001"}
    )
    with pytest.raises(Unavailable) as unavailable:
        outlet.open(talk, "open-1")
    assert unavailable.value.retry is False
    assert unavailable.value.message.startswith("no agent online")
    assert fake.offline_messages == [
        {"name": "Ann", "email": "ann@example.com", "message": "Ann wants a refund for order 42\n\nPhone: +15550001"}
    ]
    assert fake.rooms == {} and "rid" not in talk.state


def test_no_agent_online_uses_the_channels_offline_email(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    fake.agents_online = False
    with pytest.raises(Unavailable):
        outlet.open(conversation(fake, info={"offlineEmail": "desk@example.com"}), "open-1")
    assert [sent["email"] for sent in fake.offline_messages] == ["desk@example.com"]
    with pytest.raises(Unavailable) as nowhere:
        outlet.open(conversation(fake, member={"_id": "m-2"}), "open-2")
    assert "no email" in nowhere.value.message
    assert len(fake.offline_messages) == 1


def test_a_closed_room_is_gone_for_good(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    talk = conversation(fake)
    outlet.open(talk, "open-1")
    fake.close_by_agent(talk.state["rid"])
    with pytest.raises(OutletError) as gone:
        outlet.relay(talk, Line(key="l-1", author="member", text="hello?"))
    assert gone.value.retry is False and "gone" in gone.value.message


def test_an_unknown_room_is_not_retried(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    talk = conversation(fake)
    outlet.open(talk, "open-1")
    talk.state["rid"] = "not-a-room"
    with pytest.raises(OutletError) as unknown:
        outlet.relay(talk, Line(key="l-1", author="member", text="hi"))
    assert unknown.value.retry is False and "invalid-room" in unknown.value.message


def test_relay_before_open_is_refused(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    with pytest.raises(OutletError) as early:
        outlet.relay(conversation(fake), Line(key="l-1", author="member", text="hi"))
    assert early.value.retry is False and fake.seen() == []


def test_a_validation_error_names_the_endpoint_and_the_servers_error(
    fake: FakeRocketChat, outlet: RocketChatOutlet
) -> None:
    fake.departments = {"SALES"}
    with pytest.raises(OutletError) as refused:
        outlet.open(conversation(fake, info={"department": "NOPE"}), "open-1")
    assert refused.value.retry is False
    assert "POST livechat/visitor" in refused.value.message and "error-invalid-department" in refused.value.message


def test_a_phone_collision_keeps_the_token_the_server_returned(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    earlier = requests.post(
        f"{fake.url}/api/v1/livechat/visitor",
        json={"visitor": {"token": "widget-token", "phone": "+15550001"}},
        timeout=5,
    ).json()["visitor"]
    talk = conversation(fake, member={"_id": "m-1", "firstName": "Ann", "profile": {"phone": "+15550001"}})
    outlet.open(talk, "open-1")
    assert talk.state["visitorToken"] == "widget-token" and talk.state["visitorId"] == earlier["_id"]
    assert fake.rooms[talk.state["rid"]]["v"]["token"] == "widget-token"
    outlet.relay(talk, Line(key="l-1", author="member", text="hi"))
    assert texts(fake, talk.state["rid"])[-1] == "hi"


def test_close_without_a_room_does_nothing(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    outlet.close(conversation(fake), "close-1")
    assert fake.seen() == []


def test_close_when_visitors_may_not(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    talk = conversation(fake)
    outlet.open(talk, "open-1")
    fake.visitors_can_close = False
    with pytest.raises(OutletError) as refused:
        outlet.close(talk, "close-1")
    assert refused.value.retry is False and "Omnichannel_allow_visitors_to_close_conversation" in refused.value.message


# Transfers -----------------------------------------------------------------------------------------------


def test_department_transfer(fake: FakeRocketChat, outlet: RocketChatOutlet) -> None:
    fake.departments = {"SALES", "SUPPORT"}
    talk = conversation(fake, target={"type": "department", "id": "SALES"})
    outlet.open(talk, "open-1")
    outlet.transfer(talk, {"type": "department", "id": "SUPPORT"}, "transfer-1")
    assert fake.rooms[talk.state["rid"]]["departmentId"] == "SUPPORT"
    assert talk.state["department"] == "SUPPORT"
    with pytest.raises(OutletError) as unknown:
        outlet.transfer(talk, {"type": "department", "id": "NOPE"}, "transfer-2")
    assert unknown.value.retry is False and "error-transfering-chat" in unknown.value.message
    with pytest.raises(OutletError) as not_a_department:
        outlet.transfer(talk, {"type": "agent", "id": "ag-1"}, "transfer-3")
    assert not_a_department.value.retry is False


def test_transfer_falls_back_to_room_transfer_on_old_servers(http: HttpClient) -> None:
    with FakeRocketChat(version=6) as old:
        outlet = RocketChatOutlet(http, timeout=5.0)
        talk = conversation(old)
        outlet.open(talk, "open-1")
        outlet.transfer(talk, {"type": "department", "id": "SUPPORT"}, "transfer-1")
        assert old.rooms[talk.state["rid"]]["departmentId"] == "SUPPORT"
        assert [r.path.rsplit("/", 1)[-1] for r in old.seen("POST")][-2:] == ["department.transfer", "room.transfer"]


# Webhooks ------------------------------------------------------------------------------------------------


def test_inbound_agent_message_from_the_fakes_webhook(
    fake: FakeRocketChat, outlet: RocketChatOutlet, hook: FakeServer
) -> None:
    fake.set_webhook(f"{hook.url}/hook", SECRET)
    talk = conversation(fake)
    outlet.open(talk, "open-1")
    rid = talk.state["rid"]
    fake.take(rid, {"_id": "ag-7", "username": "bob", "name": "Bob Agent"})
    fake.agent_says(rid, "Hi Ann, Bob here")
    request = webhook(hook)
    [event] = outlet.inbound(talk.channel, request.headers, request.body)
    assert event.kind == "message" and event.text == "Hi Ann, Bob here"
    assert event.ref == {"outletState.rid": rid}
    assert event.agent == {"id": "ag-7", "username": "bob", "name": "Bob Agent"}
    message_id = fake.messages(rid)[-1]["_id"]
    assert event.key == f"rocketchat:{message_id}"
    # Rocket.Chat redelivers on anything but 200: the same body gives the same key.
    assert outlet.inbound(talk.channel, request.headers, request.body)[0].key == event.key


def test_inbound_ignores_the_visitors_own_messages(
    fake: FakeRocketChat, outlet: RocketChatOutlet, hook: FakeServer
) -> None:
    fake.set_webhook(f"{hook.url}/hook", SECRET)
    fake.webhook_visitor_messages = True
    talk = conversation(fake, details={})
    outlet.open(talk, "open-1")
    outlet.relay(talk, Line(key="l-1", author="bot", text="echo?"))
    wait_for(lambda: hook.seen("POST", "/hook"))  # sent after the answer, as the real server does
    [request] = hook.seen("POST", "/hook")
    assert request.json()["messages"][0]["msg"] == "Bot: echo?"
    assert outlet.inbound(talk.channel, request.headers, request.body) == []


def test_inbound_taken_and_closed(fake: FakeRocketChat, outlet: RocketChatOutlet, hook: FakeServer) -> None:
    fake.set_webhook(f"{hook.url}/hook", SECRET)
    talk = conversation(fake)
    outlet.open(talk, "open-1")
    rid = talk.state["rid"]
    fake.take(rid, {"_id": "ag-7", "username": "bob", "name": "Bob Agent"})
    [taken] = outlet.inbound(talk.channel, webhook(hook).headers, webhook(hook).body)
    assert taken.kind == "taken" and taken.ref == {"outletState.rid": rid}
    assert taken.agent == {"id": "ag-7", "username": "bob", "name": "Bob Agent"}
    assert taken.key.startswith(f"rocketchat:taken:{rid}:ag-7:")
    fake.close_by_agent(rid)
    [closed] = outlet.inbound(talk.channel, webhook(hook).headers, webhook(hook).body)
    assert closed.kind == "closed" and closed.key == f"rocketchat:closed:{rid}"
    assert closed.agent is not None and closed.agent["id"] == "ag-7"


def test_inbound_agent_upload_is_described(outlet: RocketChatOutlet) -> None:
    payload = {
        "type": "Message",
        "_id": "room-1",
        "messages": [
            {
                "_id": "msg-1",
                "msg": "",
                "agentId": "ag-1",
                "username": "bob",
                "attachments": [{"title": "invoice.pdf", "title_link": "/file-upload/abc/invoice.pdf"}],
            }
        ],
    }
    headers = {"X-RocketChat-Livechat-Token": SECRET}
    [event] = outlet.inbound(channel(), headers, json.dumps(payload).encode())
    assert event.text == "[FILE] invoice.pdf https://chat.example.com/file-upload/abc/invoice.pdf"


def test_inbound_unknown_types_are_ignored(outlet: RocketChatOutlet) -> None:
    headers = {"X-RocketChat-Livechat-Token": SECRET}
    for kind in ("LivechatSessionStart", "LivechatOfflineMessage", "LeadCapture", None):
        assert outlet.inbound(channel(), headers, json.dumps({"type": kind, "_id": "r"}).encode()) == []


@pytest.mark.parametrize(
    ("headers", "body", "token", "status"),
    [
        ({}, b"{}", SECRET, 401),
        ({"X-RocketChat-Livechat-Token": "wrong"}, b"{}", SECRET, 401),
        ({"X-RocketChat-Livechat-Token": SECRET}, b"{}", None, 403),
        ({"X-RocketChat-Livechat-Token": SECRET}, b"not json", SECRET, 400),
        ({"X-RocketChat-Livechat-Token": SECRET}, b"[1]", SECRET, 400),
        ({"X-RocketChat-Livechat-Token": SECRET}, b'{"type": "Message", "messages": []}', SECRET, 400),
    ],
    ids=["missing-token", "wrong-token", "channel-without-token", "bad-json", "not-an-object", "no-room-id"],
)
def test_inbound_refusals(
    outlet: RocketChatOutlet, headers: dict[str, str], body: bytes, token: str | None, status: int
) -> None:
    with pytest.raises(WebhookRefused) as refused:
        outlet.inbound(channel(token), headers, body)
    assert refused.value.status == status


def test_inbound_header_name_is_case_insensitive(outlet: RocketChatOutlet) -> None:
    body = json.dumps({"type": "LivechatSession", "_id": "r-1", "closer": "visitor"}).encode()
    [event] = outlet.inbound(channel(), {"x-rocketchat-livechat-token": SECRET}, body)
    assert event.kind == "closed" and event.agent is None
