"""The fake Rocket.Chat answers as the reference (livechat-apis.md §1-2) says a real server does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from noderuntime.testing.fakes.rocketchat import FakeRocketChat
from noderuntime.testing.fakes.server import Answer, FakeServer, Request


@pytest.fixture
def fake() -> Iterator[FakeRocketChat]:
    server = FakeRocketChat().start()
    yield server
    server.stop()


@pytest.fixture
def hook() -> Iterator[FakeServer]:
    """A webhook receiver that answers 200 {} and records what it got."""
    server = FakeServer()
    server.route("POST", "/hook", lambda _request, _found: Answer(200, {}))
    server.start()
    yield server
    server.stop()


def api(fake: FakeRocketChat, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{fake.url}/api/v1/livechat/{path}", timeout=5, **kwargs)


def visitor(fake: FakeRocketChat, token: str = "tok-1", **fields: Any) -> dict[str, Any]:
    answer = api(fake, "POST", "visitor", json={"visitor": {"token": token, **fields}})
    assert answer.status_code == 200, answer.text
    return answer.json()["visitor"]


def room(fake: FakeRocketChat, token: str = "tok-1") -> dict[str, Any]:
    answer = api(fake, "GET", "room", params={"token": token})
    assert answer.status_code == 200, answer.text
    return answer.json()["room"]


def send(fake: FakeRocketChat, token: str, rid: str, msg: str, **extra: Any) -> requests.Response:
    return api(fake, "POST", "message", json={"token": token, "rid": rid, "msg": msg, **extra})


def wait_for(predicate: Any, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


# Visitors --------------------------------------------------------------------------------------------


def test_register_visitor_returns_the_real_shape(fake: FakeRocketChat) -> None:
    got = visitor(fake, name="Ann Lee", email="Ann@Example.com", phone="+15550001")
    assert got["token"] == "tok-1"
    assert got["username"].startswith("guest-")
    assert got["status"] == "online"
    assert got["visitorEmails"] == [{"address": "ann@example.com"}]
    assert got["phone"] == [{"phoneNumber": "+15550001"}]
    assert len(got["_id"]) == 17


def test_register_is_an_upsert_by_token(fake: FakeRocketChat) -> None:
    first = visitor(fake, name="Ann")
    second = visitor(fake, name="Ann Lee")
    assert second["_id"] == first["_id"]
    assert second["name"] == "Ann Lee"
    assert len(fake.visitors) == 1


def test_same_phone_returns_the_existing_visitor_with_its_old_token(fake: FakeRocketChat) -> None:
    first = visitor(fake, "old-token", phone="+15550001")
    again = visitor(fake, "new-token", phone="+15550001", name="Bob")
    assert again["_id"] == first["_id"]
    assert again["token"] == "old-token"
    assert set(fake.visitors) == {"old-token"}


def test_same_email_keeps_the_visitor_but_takes_the_new_token(fake: FakeRocketChat) -> None:
    first = visitor(fake, "old-token", email="ann@example.com")
    again = visitor(fake, "new-token", email="ann@example.com")
    assert again["_id"] == first["_id"]
    assert again["token"] == "new-token"


def test_register_without_visitor_is_a_legacy_invalid_params_error(fake: FakeRocketChat) -> None:
    answer = api(fake, "POST", "visitor", json={"token": "x"})
    assert answer.status_code == 400
    assert answer.json() == {
        "success": False,
        "error": "must have required property 'visitor' [invalid-params]",
        "errorType": "invalid-params",
    }
    missing_token = api(fake, "POST", "visitor", json={"visitor": {"name": "Ann"}})
    assert "must have required property 'token'" in missing_token.json()["error"]


def test_empty_token_is_refused(fake: FakeRocketChat) -> None:
    answer = api(fake, "POST", "visitor", json={"visitor": {"token": "  "}})
    assert answer.status_code == 400
    assert answer.json() == {"success": False, "error": "error-invalid-token"}


def test_unknown_department_is_refused_when_departments_are_listed(fake: FakeRocketChat) -> None:
    fake.departments = {"SALES"}
    answer = api(fake, "POST", "visitor", json={"visitor": {"token": "t", "department": "NOPE"}})
    assert answer.status_code == 400
    assert answer.json() == {"success": False, "error": "error-invalid-department"}
    assert visitor(fake, "t", department="SALES")["department"] == "SALES"


def test_get_visitor_by_token(fake: FakeRocketChat) -> None:
    visitor(fake, name="Ann")
    assert api(fake, "GET", "visitor/tok-1").json()["visitor"]["name"] == "Ann"
    unknown = api(fake, "GET", "visitor/nobody")
    assert unknown.status_code == 400
    assert unknown.json() == {"success": False, "error": "[invalid-token]", "errorType": "invalid-token"}


# Rooms -----------------------------------------------------------------------------------------------


def test_room_is_created_once_then_returned(fake: FakeRocketChat) -> None:
    visitor(fake, name="Ann", department="SALES")
    first = api(fake, "GET", "room", params={"token": "tok-1"}).json()
    second = api(fake, "GET", "room", params={"token": "tok-1"}).json()
    assert first["newRoom"] is True and second["newRoom"] is False
    assert first["room"]["_id"] == second["room"]["_id"]
    created = first["room"]
    assert created["t"] == "l" and created["open"] is True and created["fname"] == "Ann"
    assert created["v"]["token"] == "tok-1" and created["source"] == {"type": "api"}
    assert created["departmentId"] == "SALES"
    assert [m["t"] for m in fake.messages(created["_id"], system=True)] == ["livechat-started"]


def test_room_errors(fake: FakeRocketChat) -> None:
    visitor(fake, "a")
    visitor(fake, "b")
    rid_b = room(fake, "b")["_id"]
    assert api(fake, "GET", "room").json() == {"success": False, "error": "Match error: Missing key 'token'"}
    assert api(fake, "GET", "room", params={"token": "zzz"}).json() == {"success": False, "error": "invalid-token"}
    other = api(fake, "GET", "room", params={"token": "a", "rid": rid_b})
    assert other.status_code == 400 and other.json() == {"success": False, "error": "invalid-room"}
    unknown_key = api(fake, "GET", "room", params={"token": "a", "department": "X"})
    assert unknown_key.status_code == 400 and "Match error" in unknown_key.json()["error"]


def test_no_agent_online_refuses_a_new_room(fake: FakeRocketChat) -> None:
    fake.agents_online = False
    visitor(fake)
    answer = api(fake, "GET", "room", params={"token": "tok-1"})
    assert answer.status_code == 400
    assert answer.json() == {
        "success": False,
        "error": "Sorry, no online agents [no-agent-online]",
        "errorType": "no-agent-online",
    }
    assert fake.rooms == {}
    fake.accept_without_agents = True
    assert room(fake)["open"] is True


def test_an_open_room_is_returned_even_with_no_agent_online(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    fake.agents_online = False
    assert room(fake)["_id"] == rid


# Messages --------------------------------------------------------------------------------------------


def test_message_honours_the_client_id_and_refuses_a_duplicate(fake: FakeRocketChat) -> None:
    visitor(fake, name="Ann")
    rid = room(fake)["_id"]
    sent = send(fake, "tok-1", rid, "hello", _id="my-id-1")
    assert sent.status_code == 200
    message = sent.json()["message"]
    assert message["_id"] == "my-id-1" and message["alias"] == "Ann" and message["token"] == "tok-1"
    again = send(fake, "tok-1", rid, "hello", _id="my-id-1")
    assert again.status_code == 400
    assert again.json()["success"] is False
    assert again.json()["error"].startswith("E11000 duplicate key error")
    assert [m["msg"] for m in fake.messages(rid)] == ["hello"]


def test_message_rejects_unknown_keys(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    answer = send(fake, "tok-1", rid, "hi", ts="2024-01-01")
    assert answer.status_code == 400
    assert answer.json() == {
        "success": False,
        "error": "must NOT have additional properties [invalid-params]",
        "errorType": "invalid-params",
    }
    missing = api(fake, "POST", "message", json={"token": "tok-1"})
    assert "must have required property 'rid'\n must have required property 'msg'" in missing.json()["error"]
    half_agent = send(fake, "tok-1", rid, "hi", agent={"agentId": "x"})
    assert "must have required property 'username'" in half_agent.json()["error"]


def test_message_never_creates_a_room_nor_posts_into_another_visitors(fake: FakeRocketChat) -> None:
    visitor(fake, "a")
    visitor(fake, "b")
    rid_b = room(fake, "b")["_id"]
    assert send(fake, "a", "no-such-room", "hi").json() == {"success": False, "error": "invalid-room"}
    assert send(fake, "a", rid_b, "hi").json() == {"success": False, "error": "invalid-room"}
    assert send(fake, "zzz", rid_b, "hi").json() == {"success": False, "error": "invalid-token"}
    assert len(fake.rooms) == 1


def test_message_into_a_closed_room(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    fake.close_by_agent(rid)
    answer = send(fake, "tok-1", rid, "still there?")
    assert answer.status_code == 400 and answer.json() == {"success": False, "error": "room-closed"}


def test_message_too_long(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    answer = send(fake, "tok-1", rid, "x" * 5001)
    assert answer.json() == {"success": False, "error": "message-length-exceeds-character-limit"}


def test_get_one_message(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    send(fake, "tok-1", rid, "hi", _id="m-1")
    got = api(fake, "GET", "message/m-1", params={"token": "tok-1", "rid": rid})
    assert got.json()["message"]["msg"] == "hi"
    unknown = api(fake, "GET", "message/m-2", params={"token": "tok-1", "rid": rid})
    assert unknown.json() == {"success": False, "error": "invalid-message"}
    no_rid = api(fake, "GET", "message/m-1", params={"token": "tok-1"})
    assert no_rid.json()["errorType"] == "invalid-params"


def test_history_uses_ls_not_ts_and_is_newest_first(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    for text in ("one", "two", "three"):
        send(fake, "tok-1", rid, text)
    history = api(fake, "GET", f"messages.history/{rid}", params={"token": "tok-1"}).json()
    assert [m["msg"] for m in history["messages"] if "t" not in m] == ["three", "two", "one"]
    assert history["messages"][-1]["t"] == "livechat-started"
    assert "unreadNotLoaded" not in history
    cursor = history["messages"][1]["ts"]  # "two"
    older = api(fake, "GET", f"messages.history/{rid}", params={"token": "tok-1", "ls": cursor, "limit": 1})
    assert [m["msg"] for m in older.json()["messages"]] == ["one"]
    with_ts = api(fake, "GET", f"messages.history/{rid}", params={"token": "tok-1", "ts": cursor})
    assert with_ts.status_code == 400 and with_ts.json()["errorType"] == "invalid-params"
    no_token = api(fake, "GET", f"messages.history/{rid}")
    assert no_token.json() == {"success": False, "error": "error-token-param-not-provided"}


def test_history_default_limit_is_20(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    for index in range(25):
        send(fake, "tok-1", rid, f"m{index}")
    history = api(fake, "GET", f"messages.history/{rid}", params={"token": "tok-1"}).json()
    assert len(history["messages"]) == 20 and history["messages"][0]["msg"] == "m24"


# Offline messages, closing, transfers -------------------------------------------------------------------


def test_offline_message(fake: FakeRocketChat) -> None:
    body = {"name": "Ann", "email": "ann@example.com", "message": "call me"}
    answer = api(fake, "POST", "offline.message", json=body)
    assert answer.json() == {"message": "Livechat offline message sent", "success": True}
    assert fake.offline_messages == [body]
    bad_email = api(fake, "POST", "offline.message", json={**body, "email": "nope"})
    assert bad_email.status_code == 400
    assert bad_email.json() == {"success": False, "error": "Error sending livechat offline message"}


def test_offline_message_schema_errors_have_the_typed_route_shape(fake: FakeRocketChat) -> None:
    answer = api(fake, "POST", "offline.message", json={"email": "ann@example.com", "message": "hi"})
    assert answer.json() == {
        "success": False,
        "errorType": "invalid-params",
        "error": "must have required property 'name'",
    }
    extra = api(fake, "POST", "offline.message", json={"name": "A", "email": "a@b.co", "message": "m", "phone": "1"})
    assert extra.json()["error"] == "must NOT have additional properties"


def test_visitor_closes_the_room(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    closed = api(fake, "POST", "room.close", json={"token": "tok-1", "rid": rid})
    assert closed.json() == {"rid": rid, "comment": "Closed by visitor", "success": True}
    assert fake.rooms[rid]["open"] is False and fake.rooms[rid]["closer"] == "visitor"
    again = api(fake, "POST", "room.close", json={"token": "tok-1", "rid": rid})
    assert again.status_code == 400 and again.json() == {"success": False, "error": "room-closed"}
    assert room(fake)["_id"] != rid  # a new GET livechat/room opens a new room


def test_visitors_may_be_forbidden_to_close(fake: FakeRocketChat) -> None:
    visitor(fake)
    rid = room(fake)["_id"]
    fake.visitors_can_close = False
    answer = api(fake, "POST", "room.close", json={"token": "tok-1", "rid": rid})
    assert answer.json() == {"success": False, "error": "error-not-allowed-to-close-conversation"}
    assert api(fake, "POST", "room.close", json={"rid": rid}).json()["errorType"] == "invalid-params"


def test_department_transfer(fake: FakeRocketChat) -> None:
    fake.departments = {"SALES", "SUPPORT"}
    visitor(fake)
    rid = room(fake)["_id"]
    fake.take(rid)
    body = {"token": "tok-1", "rid": rid, "department": "SUPPORT"}
    answer = api(fake, "POST", "visitor/department.transfer", json=body)
    assert answer.json() == {"success": True}
    assert fake.rooms[rid]["departmentId"] == "SUPPORT" and "servedBy" not in fake.rooms[rid]
    unknown = api(fake, "POST", "visitor/department.transfer", json={**body, "department": "NOPE"})
    assert unknown.json() == {"success": False, "error": "error-transfering-chat"}
    typed = api(fake, "POST", "visitor/department.transfer", json={"rid": rid, "department": "SALES"})
    assert typed.json() == {
        "success": False,
        "errorType": "invalid-params",
        "error": "must have required property 'token'",
    }
    fake.close_by_agent(rid)
    closed = api(fake, "POST", "visitor/department.transfer", json=body)
    assert closed.json() == {"success": False, "error": "This_conversation_is_already_closed"}


def test_transfer_routes_follow_the_server_version() -> None:
    with FakeRocketChat(version=6) as old:
        visitor(old)
        rid = room(old)["_id"]
        body = {"token": "tok-1", "rid": rid, "department": "SALES"}
        assert api(old, "POST", "visitor/department.transfer", json=body).status_code == 404
        moved = api(old, "POST", "room.transfer", json=body)
        assert moved.status_code == 200 and moved.json()["room"]["departmentId"] == "SALES"
    with FakeRocketChat(version=8) as new:
        assert api(new, "POST", "room.transfer", json={}).status_code == 404


# Rate limits -------------------------------------------------------------------------------------------


def test_rate_limits_are_off_by_default(fake: FakeRocketChat) -> None:
    for _ in range(7):
        visitor(fake)


def test_visitor_rate_limit_gives_429_with_the_real_body_and_headers(fake: FakeRocketChat) -> None:
    fake.rate_limits = True
    for _ in range(5):
        answer = api(fake, "POST", "visitor", json={"visitor": {"token": "t"}})
        assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Limit"] == "5" and answer.headers["X-RateLimit-Remaining"] == "0"
    limited = api(fake, "POST", "visitor", json={"visitor": {"token": "t"}})
    assert limited.status_code == 429
    error = limited.json()["error"]
    assert limited.json()["success"] is False
    assert error.startswith("Error, too many requests. Please slow down. You must wait ")
    assert error.endswith(" seconds before trying this endpoint again. [error-too-many-requests]")
    reset_ms = int(limited.headers["X-RateLimit-Reset"])
    assert 50 < reset_ms / 1000 - time.time() <= 60
    # Counted per client IP: another client is not limited.
    other = api(fake, "POST", "visitor", json={"visitor": {"token": "t"}}, headers={"X-Forwarded-For": "10.0.0.9"})
    assert other.status_code == 200


def test_room_and_offline_rate_limits(fake: FakeRocketChat) -> None:
    fake.rate_limits = True
    visitor(fake)
    statuses = [api(fake, "GET", "room", params={"token": "tok-1"}).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    body = {"name": "Ann", "email": "ann@example.com", "message": "hi"}
    assert api(fake, "POST", "offline.message", json=body).status_code == 200
    assert api(fake, "POST", "offline.message", json=body).status_code == 429
    assert len(fake.offline_messages) == 1


def test_a_rate_limit_window_ends(fake: FakeRocketChat) -> None:
    fake.rate_limits = True
    fake.rate_limit_rules["offline"] = (1, 0.3)
    body = {"name": "Ann", "email": "ann@example.com", "message": "hi"}
    assert api(fake, "POST", "offline.message", json=body).status_code == 200
    assert api(fake, "POST", "offline.message", json=body).status_code == 429
    time.sleep(0.35)
    assert api(fake, "POST", "offline.message", json=body).status_code == 200


# Agents' side and webhooks ------------------------------------------------------------------------------


def posted(hook: FakeServer) -> list[Request]:
    return hook.seen("POST", "/hook")


def test_agent_says_posts_the_message_webhook_with_the_token(fake: FakeRocketChat, hook: FakeServer) -> None:
    fake.set_webhook(f"{hook.url}/hook", "s3cret")
    visitor(fake, name="Ann", phone="+15550001")
    rid = room(fake)["_id"]
    fake.take(rid, {"_id": "ag-7", "username": "bob", "name": "Bob Agent"})
    assert fake.agent_says(rid, "Hi, I'm Bob") == 200
    request = posted(hook)[-1]
    assert request.headers["x-rocketchat-livechat-token"] == "s3cret"
    payload = request.json()
    assert payload["type"] == "Message" and payload["_id"] == rid
    assert payload["agent"] == {"_id": "ag-7", "username": "bob", "name": "Bob Agent"}
    assert payload["visitor"]["token"] == "tok-1" and payload["visitor"]["phone"] == [{"phoneNumber": "+15550001"}]
    [message] = payload["messages"]
    assert message["msg"] == "Hi, I'm Bob" and message["agentId"] == "ag-7" and message["username"] == "bob"
    assert fake.messages(rid)[-1]["msg"] == "Hi, I'm Bob"


def test_take_and_close_by_agent_webhooks(fake: FakeRocketChat, hook: FakeServer) -> None:
    fake.set_webhook(f"{hook.url}/hook", "s3cret")
    visitor(fake)
    rid = room(fake)["_id"]
    assert fake.take(rid) == 200
    taken = posted(hook)[-1].json()
    assert taken["type"] == "LivechatSessionTaken"
    assert taken["servedBy"]["_id"] == taken["agent"]["_id"] == "agent-1"
    assert fake.rooms[rid]["servedBy"]["username"] == "alice"
    assert fake.close_by_agent(rid) == 200
    closed = posted(hook)[-1].json()
    assert closed["type"] == "LivechatSession"
    assert closed["closer"] == "user" and closed["closedBy"]["_id"] == "agent-1" and closed["closedAt"]
    assert any(m.get("t") == "livechat-close" for m in closed["messages"])
    assert fake.rooms[rid]["open"] is False
    assert fake.webhooks_sent == [("LivechatSessionTaken", 200), ("LivechatSession", 200)]


def test_visitor_messages_reach_the_webhook_only_when_asked(fake: FakeRocketChat, hook: FakeServer) -> None:
    fake.set_webhook(f"{hook.url}/hook", "s3cret")
    visitor(fake)
    rid = room(fake)["_id"]
    send(fake, "tok-1", rid, "not sent")
    fake.webhook_visitor_messages = True
    send(fake, "tok-1", rid, "sent")
    wait_for(lambda: len(posted(hook)) == 1)
    [message] = posted(hook)[0].json()["messages"]
    assert message["msg"] == "sent" and "agentId" not in message


def test_webhook_status_is_reported(fake: FakeRocketChat) -> None:
    failing = FakeServer()
    failing.route("POST", "/hook", lambda _request, _found: Answer(500, {}))
    with failing:
        visitor(fake)
        rid = room(fake)["_id"]
        assert fake.agent_says(rid, "no webhook yet") == 0
        fake.set_webhook(f"{failing.url}/hook")
        assert fake.agent_says(rid, "hello") == 500
        assert "x-rocketchat-livechat-token" not in failing.seen()[0].headers


def test_the_agents_side_needs_an_open_room(fake: FakeRocketChat) -> None:
    with pytest.raises(ValueError):
        fake.agent_says("no-such-room", "hi")
