"""The fake Support Board answers as the reference (livechat-apis.md §1, §3) says the real one does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from noderuntime.testing.fakes.server import Answer, FakeServer
from noderuntime.testing.fakes.supportboard import PHP_NOTICE, FakeSupportBoard

TOKEN = "admin-token"


class Receiver(FakeServer):
    """A webhook endpoint that records what it gets and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        super().__init__()
        self.status = status
        self.route("POST", "/hook", lambda request, _match: Answer(self.status, {}))

    def bodies(self) -> list[Any]:
        return [r.json() for r in self.seen("POST", "/hook")]

    @property
    def hook(self) -> str:
        return self.url + "/hook"


@pytest.fixture
def fake() -> Iterator[FakeSupportBoard]:
    server = FakeSupportBoard(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def post(server: FakeSupportBoard, data: dict[str, Any], *, as_json: bool = False) -> requests.Response:
    if as_json:
        return requests.post(server.api_url, json=data, timeout=5)
    return requests.post(server.api_url, data=data, timeout=5)


def api(server: FakeSupportBoard, function: str, **args: Any) -> tuple[int, dict[str, Any]]:
    """Call ``function`` with the admin token: (HTTP status, body)."""
    answer = post(server, {"token": TOKEN, "function": function, **args})
    return answer.status_code, answer.json()


def ok(server: FakeSupportBoard, function: str, **args: Any) -> Any:
    """The ``response`` of a call that must succeed."""
    status, body = api(server, function, **args)
    assert (status, body.get("success")) == (200, True), body
    return body["response"]


def customer(server: FakeSupportBoard, **args: Any) -> int:
    return ok(server, "add-user", first_name="Ann", **args)


def new_conversation(server: FakeSupportBoard, user_id: int, **args: Any) -> str:
    return ok(server, "new-conversation", user_id=user_id, **args)["details"]["id"]


# The gate: api.php's checks, their order and statuses ------------------------------------------------


def test_missing_function_name_is_400() -> None:
    with FakeSupportBoard(TOKEN) as server:
        answer = post(server, {"token": TOKEN})
    assert answer.status_code == 400
    assert answer.json() == {
        "status": "error",
        "response": "missing-function-name",
        "message": "Function name is required. Get it from the docs.",
    }


def test_unknown_function_is_404_before_the_token_is_checked(fake: FakeSupportBoard) -> None:
    answer = post(fake, {"function": "no-such-function"})
    assert answer.status_code == 404
    assert answer.json()["response"] == "function-not-found"
    assert "no-such-function" in answer.json()["message"]


@pytest.mark.parametrize("function", ["agents-online", "get-agent", "dialogflow-human-takeover"])
def test_documented_functions_outside_the_whitelist_are_not_found(fake: FakeSupportBoard, function: str) -> None:
    status, body = api(fake, function, agent_id=1)
    assert status == 404
    assert body["response"] == "function-not-found"
    assert "success" not in body


def test_token_checks_are_401(fake: FakeSupportBoard) -> None:
    missing = post(fake, {"function": "get-bot-id"})
    assert (missing.status_code, missing.json()["response"]) == (401, "token-not-found")
    unknown = post(fake, {"function": "get-bot-id", "token": "nope"})
    assert (unknown.status_code, unknown.json()["response"]) == (401, "invalid-token")


def test_an_agents_token_is_refused(fake: FakeSupportBoard) -> None:
    agent = fake.add_agent("Alice")
    agent_token = next(u["token"] for u in fake.users if u["id"] == agent)
    answer = post(fake, {"function": "get-bot-id", "token": agent_token})
    assert answer.status_code == 401
    assert answer.json() == {
        "status": "error",
        "response": "invalid-token",
        "message": "Use a token of an administrator.",
    }


def test_missing_argument_names_the_first_missing_one(fake: FakeSupportBoard) -> None:
    status, body = api(fake, "send-message", message="hi")
    assert status == 400
    assert body == {"status": "error", "response": "missing-argument", "message": "Missing argument: user_id"}
    _, body = api(fake, "send-message", user_id=2)
    assert body["message"] == "Missing argument: conversation_id"


def test_legacy_servers_answer_200_for_everything() -> None:
    with FakeSupportBoard(TOKEN, legacy_status=True) as server:
        missing_function = post(server, {"token": TOKEN})
        not_found = post(server, {"function": "agents-online", "token": TOKEN})
        bad_token = post(server, {"function": "get-bot-id", "token": "nope"})
        missing_argument = post(server, {"function": "get-user", "token": TOKEN})
    assert [a.status_code for a in (missing_function, not_found, bad_token, missing_argument)] == [200] * 4
    assert bad_token.json() == {"status": "error", "response": "invalid-token", "message": "Use an admin user token."}
    assert missing_argument.json()["message"] == "Support Board [get-user][missing-argument]: Missing argument: user_id"


def test_a_json_body_is_merged_like_the_2024_servers(fake: FakeSupportBoard) -> None:
    answer = post(fake, {"token": TOKEN, "function": "add-user", "extra": {"phone": ["+100", "Phone"]}}, as_json=True)
    assert answer.json()["success"] is True
    assert fake.users[-1]["extra"] == {"phone": ["+100", "Phone"]}


# Envelopes and bodies -------------------------------------------------------------------------------------


def test_every_answer_is_text_html(fake: FakeSupportBoard) -> None:
    success = post(fake, {"token": TOKEN, "function": "get-bot-id"})
    failure = post(fake, {"token": TOKEN, "function": "add-user", "user_type": "robot"})
    gate = post(fake, {"function": "nope"})
    assert {a.headers["Content-Type"] for a in (success, failure, gate)} == {"text/html; charset=UTF-8"}


def test_the_three_envelopes(fake: FakeSupportBoard) -> None:
    assert api(fake, "get-bot-id") == (200, {"success": True, "response": "2"})
    assert api(fake, "add-user", user_type="robot") == (200, {"success": False, "response": "invalid-user-type"})
    status, hard = api(fake, "send-message", user_id="bot", conversation_id=1)
    assert (status, hard) == (200, {"status": "error", "response": "active-user-not-found"})


def test_a_php_notice_comes_before_the_json() -> None:
    with FakeSupportBoard(TOKEN, php_notice=True) as server:
        text = post(server, {"token": TOKEN, "function": "get-bot-id"}).text
    assert text.startswith(PHP_NOTICE)
    assert json.loads(text[len(PHP_NOTICE) :]) == {"success": True, "response": "2"}


def test_slashes_are_escaped_as_php_does(fake: FakeSupportBoard) -> None:
    text = post(fake, {"token": TOKEN, "function": "get-user", "user_id": 1}).text
    assert "https:\\/\\/example.com" in text


# Users ------------------------------------------------------------------------------------------------------


def test_add_user_answers_a_number_and_defaults_the_type(fake: FakeSupportBoard) -> None:
    anonymous = ok(fake, "add-user")
    with_email = ok(fake, "add-user", email="ann@example.com")
    assert isinstance(anonymous, int) and isinstance(with_email, int)
    users = {u["id"]: u for u in fake.users}
    assert users[anonymous]["user_type"] == "visitor"
    assert users[anonymous]["first_name"] == "User" and users[anonymous]["last_name"].startswith("#")
    assert users[with_email]["user_type"] == "user"


def test_duplicate_email_ignores_case(fake: FakeSupportBoard) -> None:
    customer(fake, email="Ann@Example.com")
    assert api(fake, "add-user", email="ann@example.COM") == (200, {"success": False, "response": "duplicate-email"})


def test_duplicate_phone_is_checked_in_extra(fake: FakeSupportBoard) -> None:
    customer(fake, extra=json.dumps({"phone": ["+441234", "Phone"]}))
    _, body = api(fake, "add-user", extra=json.dumps({"phone": ["+441234", "Phone"]}))
    assert body == {"success": False, "response": "duplicate-phone"}


def test_extra_details_are_stored_and_searchable(fake: FakeSupportBoard) -> None:
    user_id = customer(fake, extra=json.dumps({"member-id": ["m1", "Member"], "phone": ["+441234", "Phone"]}))
    by_slug = ok(fake, "get-user-by", by="member-id", value="m1")
    assert by_slug["id"] == str(user_id)
    assert "password" not in by_slug
    assert ok(fake, "get-user-by", by="phone", value="00441234")["id"] == str(user_id)
    details = ok(fake, "get-user", user_id=user_id, extra="true")["details"]
    assert {"slug": "member-id", "name": "Member", "value": "m1"} in details


def test_not_found_users(fake: FakeSupportBoard) -> None:
    assert ok(fake, "get-user-by", by="email", value="nobody@example.com") == ""
    assert ok(fake, "get-user-by", by="email", value="") is False
    assert ok(fake, "get-user", user_id=999) is False


def test_ids_from_mysql_are_strings_and_fresh_ones_numbers(fake: FakeSupportBoard) -> None:
    user_id = customer(fake)
    assert ok(fake, "get-user", user_id=user_id)["id"] == str(user_id)
    assert ok(fake, "get-bot-id") == str(fake.bot_id)
    assert ok(fake, "get-agents-ids") == [fake.admin_id]


def test_agents_and_presence(fake: FakeSupportBoard) -> None:
    online, offline = fake.add_agent("Alice"), fake.add_agent("Bob", online=False)
    assert ok(fake, "get-agents-ids") == [fake.admin_id, online, offline]
    assert ok(fake, "get-agents-ids", admins="false") == [online, offline]
    assert [u["id"] for u in ok(fake, "get-online-users", agents="true")] == [str(online)]
    assert ok(fake, "is-online", user_id=online) is True
    assert ok(fake, "is-online", user_id=offline) is False


# Conversations -------------------------------------------------------------------------------------------------


def test_new_conversation_defaults_to_status_2(fake: FakeSupportBoard) -> None:
    created = ok(fake, "new-conversation", user_id=customer(fake), extra="key-1")
    assert created["messages"] == []
    assert isinstance(created["details"]["id"], str)
    assert created["details"]["status_code"] == "2"
    assert created["details"]["extra"] == "key-1"


def test_new_conversation_for_a_missing_user(fake: FakeSupportBoard) -> None:
    assert api(fake, "new-conversation", user_id=999) == (200, {"success": False, "response": "user-not-found"})


def test_get_conversation_is_false_when_missing(fake: FakeSupportBoard) -> None:
    assert ok(fake, "get-conversation", conversation_id=999) is False


def test_get_conversation_shows_payloads(fake: FakeSupportBoard) -> None:
    cid = new_conversation(fake, customer(fake), status_code=1)
    ok(fake, "send-message", user_id=fake.bot_id, conversation_id=cid, message="hi", payload='{"a": 1}')
    got = ok(fake, "get-conversation", conversation_id=cid)
    assert got["details"]["status_code"] == "2"
    assert [(m["message"], m["payload"], m["user_id"]) for m in got["messages"]] == [("hi", '{"a": 1}', "2")]


def test_conversation_listings_leave_out_conversations_without_messages(fake: FakeSupportBoard) -> None:
    user_id = customer(fake)
    empty = new_conversation(fake, user_id, status_code=1)
    talked = new_conversation(fake, user_id, status_code=1)
    ok(fake, "send-message", user_id=user_id, conversation_id=talked, message="hello")
    listed = ok(fake, "get-user-conversations", user_id=user_id)
    assert [row["conversation_id"] for row in listed] == [talked]
    assert empty not in [row["conversation_id"] for row in ok(fake, "get-conversations")]


def test_get_new_messages(fake: FakeSupportBoard) -> None:
    user_id = customer(fake)
    cid = new_conversation(fake, user_id)
    first = ok(fake, "send-message", user_id=user_id, conversation_id=cid, message="one")["id"]
    ok(fake, "send-message", user_id=user_id, conversation_id=cid, message="two")
    since = ok(fake, "get-new-messages", user_id=user_id, conversation_id=cid, datetime="2000-01-01", last_id=first)
    assert [m["message"] for m in since] == ["two"]
    assert ok(fake, "get-new-messages", user_id=fake.bot_id, conversation_id=cid, datetime="2000-01-01") == []
    _, body = api(fake, "get-new-messages", user_id="x", conversation_id=cid, datetime="2000-01-01")
    assert body["status"] == "error" and body["response"] == "db-error"


# send-message -------------------------------------------------------------------------------------------------------


def test_send_message_answer_shape(fake: FakeSupportBoard) -> None:
    cid = new_conversation(fake, customer(fake))
    sent = ok(fake, "send-message", user_id=fake.bot_id, conversation_id=cid, message="a\r\n\tb\n\n\n\nc")
    assert set(sent) == {"id", "queue", "human_takeover_active", "notifications", "message"}
    assert isinstance(sent["id"], int)
    assert sent["message"] == "a\nb\n\nc"
    assert fake.messages(cid)[0]["message"] == "a\nb\n\nc"


def test_send_message_to_a_missing_conversation_says_true(fake: FakeSupportBoard) -> None:
    assert api(fake, "send-message", user_id=fake.bot_id, conversation_id=999, message="hi") == (
        200,
        {"success": True, "response": True},
    )
    assert fake.conversations == []


@pytest.mark.parametrize(
    ("sender", "code", "expected"),
    [
        ("bot", None, 2),
        ("customer", None, 2),
        ("agent", None, 1),
        ("admin", None, 1),
        ("agent", "9", 1),  # an invalid code is replaced silently
        ("bot", "skip", 0),
        ("customer", "skip", 0),
        ("customer", "3", 3),
    ],
)
def test_send_message_status_rules(fake: FakeSupportBoard, sender: str, code: str | None, expected: int) -> None:
    user_id = customer(fake)
    cid = new_conversation(fake, user_id, status_code=0)
    senders = {"bot": fake.bot_id, "customer": user_id, "agent": fake.add_agent("Alice"), "admin": fake.admin_id}
    args = {"conversation_status_code": code} if code is not None else {}
    ok(fake, "send-message", user_id=senders[sender], conversation_id=cid, message="hi", **args)
    assert fake.conversations[0]["status_code"] == expected


def test_user_id_0_sends_as_the_admin(fake: FakeSupportBoard) -> None:
    cid = new_conversation(fake, customer(fake))
    ok(fake, "send-message", user_id=0, conversation_id=cid, message="hi")
    assert fake.messages(cid)[0]["user_id"] == fake.admin_id


# Status, agent, department ---------------------------------------------------------------------------------------------


def test_update_status(fake: FakeSupportBoard) -> None:
    cid = new_conversation(fake, customer(fake))
    assert ok(fake, "update-conversation-status", conversation_id=cid, status_code=3) is True
    assert fake.conversations[0]["status_code"] == 3
    assert api(fake, "update-conversation-status", conversation_id=cid, status_code=7) == (
        200,
        {"success": False, "response": "invalid-status-code"},
    )
    assert ok(fake, "update-conversation-status", conversation_id=999, status_code=3) is True
    assert ok(fake, "update-conversation-status", conversation_id="abc", status_code=3) is False


def test_status_5_empties_the_trash(fake: FakeSupportBoard) -> None:
    user_id = customer(fake)
    trashed, kept = new_conversation(fake, user_id), new_conversation(fake, user_id)
    ok(fake, "send-message", user_id=user_id, conversation_id=trashed, message="bye")
    ok(fake, "update-conversation-status", conversation_id=trashed, status_code=4)
    assert ok(fake, "update-conversation-status", conversation_id=kept, status_code=5) is True
    assert [str(c["id"]) for c in fake.conversations] == [kept]
    assert fake.messages(trashed) == []


def test_update_agent_forces_status_2_and_adds_an_event(fake: FakeSupportBoard) -> None:
    cid = new_conversation(fake, customer(fake), status_code=1)
    agent = fake.add_agent("Alice")
    assert ok(fake, "update-conversation-agent", conversation_id=cid, agent_id=agent, message="help Ann") is True
    conversation = fake.conversations[0]
    assert (conversation["agent_id"], conversation["status_code"]) == (agent, 2)
    assert json.loads(fake.messages(cid)[-1]["payload"]) == {"event": f"conversation-agent-update-{agent}"}
    assert fake.notifications == [{"to": agent, "message": "help Ann", "conversation_id": int(cid)}]


@pytest.mark.parametrize("agent_id", ["customer", "false", "999"])
def test_update_agent_refuses_who_is_not_an_agent(fake: FakeSupportBoard, agent_id: str) -> None:
    user_id = customer(fake)
    cid = new_conversation(fake, user_id, status_code=1)
    status, body = api(
        fake, "update-conversation-agent", conversation_id=cid, agent_id=user_id if agent_id == "customer" else agent_id
    )
    assert (status, body) == (200, {"status": "error", "response": "not-an-agent"})
    assert fake.conversations[0]["status_code"] == 1


def test_update_department(fake: FakeSupportBoard) -> None:
    cid = new_conversation(fake, customer(fake), status_code=1)
    assert ok(fake, "update-conversation-department", conversation_id=cid, department="7", message="help") is True
    assert (fake.conversations[0]["department"], fake.conversations[0]["status_code"]) == ("7", 1)
    assert fake.notifications[-1]["to"] == "department-7"
    ok(fake, "update-conversation-department", conversation_id=cid, department="-1")
    assert fake.conversations[0]["department"] is None


# Webhooks ------------------------------------------------------------------------------------------------------------------


def test_an_agent_reply_posts_message_sent(fake: FakeSupportBoard, receiver: Receiver) -> None:
    fake.set_webhook(receiver.hook, "k3y")
    user_id = customer(fake)
    cid = new_conversation(fake, user_id, status_code=2)
    agent = fake.add_agent("Alice")
    receiver.status = 202
    assert fake.agent_replies(cid, "Hi Ann", agent_id=agent) == 202
    assert fake.conversations[0]["status_code"] == 1
    sent = [b for b in receiver.bodies() if b["function"] == "message-sent"]
    assert sent == [
        {
            "function": "message-sent",
            "key": "k3y",
            "data": {
                "user_id": str(agent),
                "message_id": fake.messages(cid)[-1]["id"],
                "message": "Hi Ann",
                "attachments": [],
                "conversation_user_id": str(user_id),
                "conversation_id": cid,
                "conversation_status_code": "1",
                "conversation_source": "",
            },
            "sender-url": "",
        }
    ]
    assert receiver.seen("POST", "/hook")[0].headers["content-type"] == "application/json"


def test_api_messages_also_post_message_sent(fake: FakeSupportBoard, receiver: Receiver) -> None:
    user_id = customer(fake)
    cid = new_conversation(fake, user_id, status_code=1)
    fake.set_webhook(receiver.hook, "k3y")
    ok(
        fake,
        "send-message",
        user_id=fake.bot_id,
        conversation_id=cid,
        message="from the bot",
        conversation_status_code="skip",
    )
    ok(fake, "send-message", user_id=user_id, conversation_id=cid, message="from Ann")
    functions = [(b["function"], b["data"].get("user_id")) for b in receiver.bodies()]
    assert functions == [
        ("message-sent", str(fake.bot_id)),
        ("message-sent", str(user_id)),
        ("conversation-status-updated", None),
    ]
    assert receiver.bodies()[-1]["data"] == {"conversation_id": cid, "status_code": "2"}


def test_close_by_agent_posts_the_status(fake: FakeSupportBoard, receiver: Receiver) -> None:
    cid = new_conversation(fake, customer(fake))
    fake.set_webhook(receiver.hook, "k3y")
    assert fake.close_by_agent(cid) == 200
    assert fake.conversations[0]["status_code"] == 3
    assert receiver.bodies() == [
        {
            "function": "conversation-status-updated",
            "key": "k3y",
            "data": {"conversation_id": cid, "status_code": "3"},
            "sender-url": "",
        }
    ]


def test_webhooks_allowed_limits_the_events(fake: FakeSupportBoard, receiver: Receiver) -> None:
    cid = new_conversation(fake, customer(fake))
    fake.set_webhook(receiver.hook, "k3y", allowed=["conversation-status-updated"])
    assert fake.agent_replies(cid, "Hi") is None  # its message-sent is not allowed
    assert [b["function"] for b in receiver.bodies()] == ["conversation-status-updated"]


def test_webhooks_fire_once_and_failures_are_ignored(fake: FakeSupportBoard, receiver: Receiver) -> None:
    cid = new_conversation(fake, customer(fake))
    fake.set_webhook(receiver.hook, "k3y", allowed=["message-sent"])
    receiver.status = 500
    assert fake.agent_replies(cid, "Hi") == 500
    assert len(receiver.bodies()) == 1
    assert len(fake.messages(cid)) == 1


def test_an_unreachable_webhook_does_not_fail_the_call(fake: FakeSupportBoard) -> None:
    cid = new_conversation(fake, customer(fake))
    fake.set_webhook("http://127.0.0.1:9/hook", "k3y", allowed=["message-sent"])
    assert ok(fake, "send-message", user_id=fake.bot_id, conversation_id=cid, message="hi")["id"] > 0
    assert fake.webhooks_sent[-1][0::2] == ("message-sent", 0)


# Controls -------------------------------------------------------------------------------------------------------------------


def test_stall_does_the_work_then_waits(fake: FakeSupportBoard) -> None:
    fake.stall("add-user", 1.0)
    with pytest.raises(requests.Timeout):
        requests.post(fake.api_url, data={"token": TOKEN, "function": "add-user"}, timeout=0.3)
    assert [u["user_type"] for u in fake.users] == ["admin", "bot", "visitor"]
    assert ok(fake, "add-user") > 0  # one stall only


def test_break_function_answers_without_doing_the_work(fake: FakeSupportBoard) -> None:
    fake.break_function("add-user", {"status": "error", "response": "db-error"})
    assert api(fake, "get-bot-id")[1]["success"] is True  # other functions are untouched
    assert api(fake, "add-user") == (200, {"status": "error", "response": "db-error"})
    assert len(fake.users) == 2
    assert [c["function"] for c in fake.calls()] == ["get-bot-id", "add-user"]
