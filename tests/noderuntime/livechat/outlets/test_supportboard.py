"""The Support Board outlet against the fake server, through the runtime's real HTTP client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from noderuntime.fetch import EgressPolicy, HttpClient
from noderuntime.livechat.outlets.base import Conversation, Inbound, Line, OutletError, WebhookRefused
from noderuntime.livechat.outlets.supportboard import MEMBER_SLUG, SupportBoardOutlet
from noderuntime.testing.fakes.server import Answer, FakeServer, Fault
from noderuntime.testing.fakes.supportboard import PATH, FakeSupportBoard

TOKEN = "admin-token"
KEY = "webhook-k3y"
HTTP = HttpClient(EgressPolicy(allow_hosts=frozenset({"127.0.0.1"})))
MEMBER = {"_id": "m-1", "firstName": "Ann", "lastName": "Lee", "email": "ann@example.com"}
DETAILS = {
    "summary": "Ann asks about her order",
    "relayMessage": {"supportboard": {"type": "TEXT", "text": "Order 42 is late"}},
}
HISTORY = [{"author": "member", "text": "where is my order?"}, {"author": "bot", "text": "Let me get a human"}]
INTRO = ["Ann asks about her order", "Order 42 is late", "Ann Lee: where is my order?", "Bot: Let me get a human"]


class Receiver(FakeServer):
    """Where the fake's webhooks go: it keeps the raw bodies for the outlet's ``inbound``."""

    def __init__(self) -> None:
        super().__init__()
        self.route("POST", "/hook", lambda request, _match: Answer(200, {}))

    def bodies(self, function: str | None = None) -> list[bytes]:
        raw = [r.body for r in self.seen("POST", "/hook")]
        return [b for b in raw if function is None or json.loads(b)["function"] == function]


@pytest.fixture
def fake() -> Iterator[FakeSupportBoard]:
    server = FakeSupportBoard(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def receiver(fake: FakeSupportBoard) -> Iterator[Receiver]:
    server = Receiver().start()
    fake.set_webhook(server.url + "/hook", KEY)
    yield server
    server.stop()


@pytest.fixture
def outlet() -> SupportBoardOutlet:
    return SupportBoardOutlet(HTTP, timeout=5.0)


def channel_of(fake: FakeSupportBoard, **info: Any) -> dict[str, Any]:
    settings = {"apiUrl": fake.api_url, "token": TOKEN, "webhookKey": KEY, **info}
    return {"_id": "sb-channel", "type": "supportboard", "info": {k: v for k, v in settings.items() if v is not None}}


@pytest.fixture
def make(fake: FakeSupportBoard) -> Callable[..., Conversation]:
    """A conversation whose ``save`` keeps every saved state in ``conversation.meta["saved"]``."""

    def build(
        *, target: dict[str, Any] | None = None, member: dict[str, Any] | None = None, **info: Any
    ) -> Conversation:
        saved: list[dict[str, Any]] = []
        return Conversation(
            assignment_id="as-1",
            app="app-1",
            channel=channel_of(fake, **({"department": "2"} | info)),
            member=dict(member or MEMBER),
            details=dict(DETAILS),
            meta={"saved": saved},
            target=target,
            history=[dict(h) for h in HISTORY],
            save=saved.append,
        )

    return build


def customers(fake: FakeSupportBoard) -> list[dict[str, Any]]:
    return [u for u in fake.users if u["user_type"] not in ("admin", "bot", "agent")]


def texts(fake: FakeSupportBoard, conversation_id: str) -> list[str]:
    """What agents read: messages with text (not the hand-off events)."""
    return [m["message"] for m in fake.messages(conversation_id) if m["message"]]


def statuses_sent(fake: FakeSupportBoard) -> list[str]:
    return [c["status_code"] for c in fake.calls("update-conversation-status")]


# Open, relay, close ----------------------------------------------------------------------------------------


def test_open_creates_the_customer_the_conversation_and_hands_off_to_the_department(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    conversation = make()
    outlet.open(conversation, "open-1")

    [user] = customers(fake)
    assert (user["first_name"], user["last_name"], user["email"], user["user_type"]) == (
        "Ann",
        "Lee",
        "ann@example.com",
        "user",
    )
    assert user["extra"][MEMBER_SLUG][0] == "m-1"
    [created] = fake.conversations
    assert (created["user_id"], created["extra"], created["department"], created["status_code"]) == (
        user["id"],
        "open-1",
        "2",
        2,
    )
    assert conversation.state["userId"] == str(user["id"])
    assert conversation.state["botId"] == str(fake.bot_id)
    assert conversation.state["conversationId"] == str(created["id"])
    assert conversation.state["handedOff"] is True
    # The user id is saved on its own, before anything else can fail.
    assert conversation.meta["saved"][0] == {"userId": str(user["id"])}

    assert texts(fake, str(created["id"])) == INTRO
    # Not alerted until the hand-off: created in 1, every intro line from the bot with "skip".
    assert fake.calls("new-conversation")[0]["status_code"] == "1"
    sends = fake.calls("send-message")
    assert {(c["user_id"], c["conversation_status_code"]) for c in sends} == {(str(fake.bot_id), "skip")}
    assert [c["function"] for c in fake.calls()][-2:] == [
        "update-conversation-department",
        "update-conversation-status",
    ]
    assert statuses_sent(fake) == ["2"]
    assert fake.notifications == [
        {"to": "department-2", "message": "Ann asks about her order", "conversation_id": created["id"]}
    ]


def test_open_hands_off_to_the_targets_agent(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    agent = fake.add_agent("Alice")
    conversation = make(target={"type": "agent", "id": str(agent)})
    outlet.open(conversation, "open-1")
    [created] = fake.conversations
    assert (created["agent_id"], created["department"], created["status_code"]) == (agent, None, 2)
    assert fake.calls("update-conversation-department") == []
    assert fake.calls("update-conversation-agent")[0]["message"] == "Ann asks about her order"
    assert statuses_sent(fake) == []  # update-conversation-agent sets 2 itself


def test_a_department_target_overrides_the_channels(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    agent = fake.add_agent("Alice")
    outlet.open(make(target={"type": "department", "id": "9"}, agentId=str(agent)), "open-1")
    [created] = fake.conversations
    assert (created["department"], created["agent_id"], created["status_code"]) == ("9", None, 2)


def test_without_department_or_agent_the_conversation_just_waits_for_agents(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    outlet.open(make(department=None), "open-1")
    [created] = fake.conversations
    assert (created["department"], created["agent_id"], created["status_code"]) == (None, None, 2)
    assert statuses_sent(fake) == ["2"]


def test_relay_then_close(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    conversation = make()
    outlet.open(conversation, "open-1")
    cid = conversation.state["conversationId"]
    outlet.relay(conversation, Line("line-1", "member", "are you there?"))
    outlet.relay(conversation, Line("line-2", "bot", "", response={"type": "IMAGE", "url": "https://x.io/a.png"}))

    [member_call, bot_call] = fake.calls("send-message")[-2:]
    assert member_call["user_id"] == conversation.state["userId"]
    assert "conversation_status_code" not in member_call  # status 2: the customer is waiting
    assert (bot_call["user_id"], bot_call["conversation_status_code"]) == (str(fake.bot_id), "skip")
    assert texts(fake, cid)[-2:] == ["are you there?", "[IMAGE] https://x.io/a.png"]
    assert [json.loads(m["payload"]) for m in fake.messages(cid)[-2:]] == [
        {"noderuntime": "line-1"},
        {"noderuntime": "line-2"},
    ]
    assert fake.conversations[0]["status_code"] == 2

    outlet.close(conversation, "close-1")
    assert fake.conversations[0]["status_code"] == 3
    assert statuses_sent(fake) == ["2", "3"]


def test_open_again_after_it_finished_changes_nothing(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    conversation = make()
    outlet.open(conversation, "open-1")
    calls = len(fake.calls())
    outlet.open(conversation, "open-1")
    assert [c["function"] for c in fake.calls()[calls:]] == ["get-conversation"]
    assert len(fake.conversations) == 1 and len(texts(fake, conversation.state["conversationId"])) == len(INTRO)


def test_a_member_known_by_email_is_reused(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    outlet.open(make(member={"_id": "m-9", "firstName": "Old", "email": "ANN@example.com"}), "open-0")
    conversation = make()
    outlet.open(conversation, "open-1")
    [user] = customers(fake)
    assert conversation.state["userId"] == str(user["id"])
    assert [c.get("response") for c in fake.calls("add-user")] == [None, None]  # the second was refused
    assert len(fake.conversations) == 2


def test_a_member_is_found_again_by_the_mark_for_a_second_assignment(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    outlet.open(make(member={"_id": "m-1", "firstName": "Ann"}), "open-1")
    outlet.open(make(member={"_id": "m-1", "firstName": "Ann"}), "open-2")
    assert len(customers(fake)) == 1
    assert len(fake.calls("add-user")) == 1
    assert [c["extra"] for c in fake.conversations] == ["open-1", "open-2"]


def test_a_phone_is_stored_and_a_duplicate_phone_finds_the_user(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    outlet.open(make(member={"_id": "m-1", "firstName": "Ann", "phone": "+4477"}), "open-1")
    assert customers(fake)[0]["extra"]["phone"] == ["+4477", "Phone"]
    assert customers(fake)[0]["user_type"] == "lead"
    conversation = make(member={"_id": "m-2", "firstName": "Ann", "phone": "+4477"})
    outlet.open(conversation, "open-2")
    assert len(customers(fake)) == 1
    assert conversation.state["userId"] == str(customers(fake)[0]["id"])


def test_transfer(fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]) -> None:
    conversation = make()
    outlet.open(conversation, "open-1")
    agent = fake.add_agent("Bob")
    outlet.transfer(conversation, {"type": "agent", "id": str(agent)}, "transfer-1")
    assert (fake.conversations[0]["agent_id"], fake.conversations[0]["status_code"]) == (agent, 2)
    outlet.transfer(conversation, {"type": "department", "id": "5"}, "transfer-2")
    assert fake.conversations[0]["department"] == "5"
    with pytest.raises(OutletError) as refused:
        outlet.transfer(conversation, {"type": "public_channel", "id": "C1"}, "transfer-3")
    assert refused.value.retry is False


def test_transfer_to_someone_who_is_not_an_agent_is_final(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    conversation = make()
    outlet.open(conversation, "open-1")
    with pytest.raises(OutletError) as refused:
        outlet.transfer(conversation, {"type": "agent", "id": conversation.state["userId"]}, "transfer-1")
    assert refused.value.retry is False
    assert "update-conversation-agent: not-an-agent" in refused.value.message


def test_status_5_is_never_sent(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    # A trashed conversation would vanish if anything sent status 5 with the admin token.
    answer = requests.post(
        fake.api_url,
        data={"token": TOKEN, "function": "new-conversation", "user_id": fake.add_agent("Carol"), "status_code": 4},
        timeout=5,
    )
    trashed = answer.json()["response"]["details"]["id"]
    conversation = make()
    outlet.open(conversation, "open-1")
    outlet.relay(conversation, Line("line-1", "member", "hi"))
    outlet.transfer(conversation, {"type": "department", "id": "3"}, "transfer-1")
    outlet.close(conversation, "close-1")
    assert "5" not in statuses_sent(fake)
    assert trashed in [str(c["id"]) for c in fake.conversations]


# Retries after timeouts: the server acted, the answer was lost ----------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        "get-user-by",
        "add-user",
        "get-bot-id",
        "get-conversations",
        "new-conversation",
        "send-message",
        "update-conversation-department",
        "update-conversation-status",
    ],
)
def test_open_retried_after_a_timeout_makes_one_of_everything(
    fake: FakeSupportBoard, make: Callable[..., Conversation], function: str
) -> None:
    outlet = SupportBoardOutlet(HTTP, timeout=0.4)
    conversation = make()
    fake.stall(function, 0.8)
    with pytest.raises(OutletError) as timed_out:
        outlet.open(conversation, "open-1")
    assert timed_out.value.retry is True
    outlet.open(conversation, "open-1")

    assert len(customers(fake)) == 1
    [created] = fake.conversations
    assert texts(fake, str(created["id"])) == INTRO
    assert (created["department"], created["status_code"]) == ("2", 2)
    assert len(fake.notifications) == 1  # agents are told once
    assert conversation.state["conversationId"] == str(created["id"])


def test_relay_retried_after_a_timeout_sends_once(fake: FakeSupportBoard, make: Callable[..., Conversation]) -> None:
    outlet = SupportBoardOutlet(HTTP, timeout=0.4)
    conversation = make()
    outlet.open(conversation, "open-1")
    fake.stall("send-message", 0.8)
    line = Line("line-1", "member", "hello?")
    with pytest.raises(OutletError) as timed_out:
        outlet.relay(conversation, line)
    assert timed_out.value.retry is True
    outlet.relay(conversation, line)
    assert texts(fake, conversation.state["conversationId"]).count("hello?") == 1
    # A line that never reached the server is sent by its retry.
    fake.fail(PATH, Fault(drop=True))
    second = Line("line-2", "member", "anyone?")
    with pytest.raises(OutletError):
        outlet.relay(conversation, second)
    outlet.relay(conversation, second)
    assert texts(fake, conversation.state["conversationId"])[-2:] == ["hello?", "anyone?"]


# Servers and answers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{"legacy_status": True}, {"php_notice": True}], ids=["legacy-200", "php-notice"])
def test_the_whole_flow_on_other_servers(options: dict[str, Any], make: Callable[..., Conversation]) -> None:
    with FakeSupportBoard(TOKEN, **options) as server:
        outlet = SupportBoardOutlet(HTTP, timeout=5.0)
        conversation = make()
        conversation.channel["info"]["apiUrl"] = server.api_url
        outlet.open(conversation, "open-1")
        outlet.relay(conversation, Line("line-1", "member", "hi"))
        outlet.close(conversation, "close-1")
        [created] = server.conversations
        assert created["status_code"] == 3
        assert [m["message"] for m in server.messages(created["id"]) if m["message"]] == [*INTRO, "hi"]


@pytest.mark.parametrize("legacy", [False, True], ids=["401", "legacy-200"])
def test_an_invalid_token_is_final(legacy: bool, make: Callable[..., Conversation]) -> None:
    with FakeSupportBoard("the-real-token", legacy_status=legacy) as server:
        conversation = make()
        conversation.channel["info"]["apiUrl"] = server.api_url
        with pytest.raises(OutletError) as refused:
            SupportBoardOutlet(HTTP).open(conversation, "open-1")
    assert refused.value.retry is False
    assert "get-user-by: invalid-token" in refused.value.message


def test_relay_to_a_conversation_that_does_not_exist_is_final(
    outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    conversation = make()
    conversation.state.update(userId="3", botId="2", conversationId="999", handedOff=True)
    with pytest.raises(OutletError) as refused:
        outlet.relay(conversation, Line("line-1", "member", "hi"))
    assert refused.value.retry is False
    assert "conversation 999 does not exist" in refused.value.message


def test_a_server_that_is_down_is_retried(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    fake.down()
    with pytest.raises(OutletError) as failed:
        outlet.open(make(), "open-1")
    assert failed.value.retry is True


@pytest.mark.parametrize(
    ("function", "status", "body", "retry", "says"),
    [
        (
            "add-user",
            200,
            {"status": "error", "response": "db-error", "message": "Deadlock"},
            True,
            "add-user: db-error (Deadlock)",
        ),
        ("add-user", 200, {"status": "error", "response": "security-error"}, False, "add-user: security-error"),
        (
            "new-conversation",
            200,
            {"success": False, "response": "user-not-found"},
            False,
            "new-conversation: user-not-found",
        ),
        (
            "get-bot-id",
            404,
            {"status": "error", "response": "function-not-found"},
            False,
            "get-bot-id: function-not-found",
        ),
        ("get-bot-id", 502, "<html>Bad gateway</html>", True, "get-bot-id: HTTP 502"),
        ("get-bot-id", 200, "<html>Maintenance</html>", True, "not JSON: '<html>Maintenance</html>'"),
        ("get-bot-id", 404, "<html>Not found</html>", False, "not JSON"),
        (
            "get-bot-id",
            200,
            "Warning: {x} is undefined\n" + json.dumps({"success": False, "response": "oops"}),
            False,
            "get-bot-id: oops",
        ),
    ],
)
def test_answers_are_judged_by_their_body(
    fake: FakeSupportBoard,
    outlet: SupportBoardOutlet,
    make: Callable[..., Conversation],
    function: str,
    status: int,
    body: Any,
    retry: bool,
    says: str,
) -> None:
    fake.break_function(function, body, status=status)
    with pytest.raises(OutletError) as failed:
        outlet.open(make(), "open-1")
    assert failed.value.retry is retry
    assert says in failed.value.message


def test_the_2021_send_message_shape_is_read(
    fake: FakeSupportBoard, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> None:
    conversation = make()
    outlet.open(conversation, "open-1")
    fake.break_function("send-message", {"success": True, "response": {"status": "success", "message-id": 7}})
    outlet.relay(conversation, Line("line-1", "member", "hi"))  # no error


def test_check_channel() -> None:
    outlet = SupportBoardOutlet(HTTP)
    good = {"info": {"apiUrl": "https://sb.example.com/include/api.php", "token": "t", "webhookKey": "k"}}
    assert outlet.check_channel(good) == []
    problems = outlet.check_channel({"info": {"apiUrl": "ftp://x", "department": True}})
    assert [p.split()[0] for p in problems] == ["info.apiUrl", "info.token", "info.department", "info.webhookKey"]
    assert outlet.check_channel({}) == ["info must be an object with apiUrl, token and webhookKey"]


def test_open_refuses_unusable_settings(outlet: SupportBoardOutlet, make: Callable[..., Conversation]) -> None:
    conversation = make()
    del conversation.channel["info"]["token"]
    with pytest.raises(OutletError) as refused:
        outlet.open(conversation, "open-1")
    assert refused.value.retry is False
    assert "info.token" in refused.value.message


# Webhooks -------------------------------------------------------------------------------------------------------


@pytest.fixture
def opened(
    fake: FakeSupportBoard, receiver: Receiver, outlet: SupportBoardOutlet, make: Callable[..., Conversation]
) -> Conversation:
    conversation = make()
    outlet.open(conversation, "open-1")
    return conversation


def test_an_agents_reply_becomes_a_message(
    fake: FakeSupportBoard, receiver: Receiver, outlet: SupportBoardOutlet, opened: Conversation
) -> None:
    agent = fake.add_agent("Alice")
    cid = opened.state["conversationId"]
    fake.agent_replies(cid, "Hi Ann, I am on it", agent_id=agent)
    [body] = receiver.bodies("message-sent")[-1:]
    message_id = fake.messages(cid)[-1]["id"]
    assert outlet.inbound(opened.channel, {"content-type": "application/json"}, body) == [
        Inbound(
            kind="message",
            ref={"outletState.conversationId": cid},
            key=f"supportboard:{message_id}",
            text="Hi Ann, I am on it",
            agent={"id": str(agent)},
        )
    ]


def test_an_admins_reply_is_an_agents_too(
    fake: FakeSupportBoard, receiver: Receiver, outlet: SupportBoardOutlet, opened: Conversation
) -> None:
    fake.agent_replies(opened.state["conversationId"], "Admin here", agent_id=fake.admin_id)
    [event] = outlet.inbound(opened.channel, {}, receiver.bodies("message-sent")[-1])
    assert (event.text, event.agent) == ("Admin here", {"id": str(fake.admin_id)})


def test_the_customers_and_the_bots_messages_are_not_echoed(
    fake: FakeSupportBoard, receiver: Receiver, outlet: SupportBoardOutlet, opened: Conversation
) -> None:
    outlet.relay(opened, Line("line-1", "member", "from Ann"))
    outlet.relay(opened, Line("line-2", "bot", "from the bot"))
    bodies = receiver.bodies("message-sent")
    assert len(bodies) == len(INTRO) + 2
    assert {json.loads(b)["data"]["user_id"] for b in bodies} == {opened.state["userId"], str(fake.bot_id)}
    assert [outlet.inbound(opened.channel, {}, b) for b in bodies] == [[]] * len(bodies)


def test_the_agents_ids_are_cached(
    fake: FakeSupportBoard, receiver: Receiver, make: Callable[..., Conversation]
) -> None:
    now = [1000.0]
    outlet = SupportBoardOutlet(HTTP, clock=lambda: now[0])
    conversation = make()
    outlet.open(conversation, "open-1")
    cid = conversation.state["conversationId"]
    alice = fake.add_agent("Alice")
    for text in ("one", "two"):
        fake.agent_replies(cid, text, agent_id=alice)
        assert len(outlet.inbound(conversation.channel, {}, receiver.bodies("message-sent")[-1])) == 1
    assert len(fake.calls("get-agents-ids")) == 1
    # An agent added since: a miss refreshes a list older than a few seconds.
    bob = fake.add_agent("Bob")
    fake.agent_replies(cid, "three", agent_id=bob)
    now[0] += 10
    assert len(outlet.inbound(conversation.channel, {}, receiver.bodies("message-sent")[-1])) == 1
    assert len(fake.calls("get-agents-ids")) == 2


def test_a_conversation_closed_by_an_agent(
    fake: FakeSupportBoard, receiver: Receiver, outlet: SupportBoardOutlet, opened: Conversation
) -> None:
    cid = opened.state["conversationId"]
    fake.close_by_agent(cid)
    [body] = receiver.bodies("conversation-status-updated")[-1:]
    assert outlet.inbound(opened.channel, {}, body) == [
        Inbound(kind="closed", ref={"outletState.conversationId": cid}, key=f"supportboard:{cid}:status:3")
    ]


def test_other_events_are_ignored(
    fake: FakeSupportBoard, receiver: Receiver, outlet: SupportBoardOutlet, opened: Conversation
) -> None:
    # The hand-off's status 2 and the conversation's creation.
    ignored = receiver.bodies("conversation-status-updated") + receiver.bodies("new-conversation-created")
    assert len(ignored) == 2
    assert [outlet.inbound(opened.channel, {}, b) for b in ignored] == [[], []]
    other = json.dumps({"function": "user-deleted", "key": KEY, "data": "951", "sender-url": ""}).encode()
    assert outlet.inbound(opened.channel, {}, other) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (json.dumps({"function": "message-sent", "key": "wrong", "data": {}}).encode(), 401),
        (json.dumps({"function": "message-sent", "data": {}}).encode(), 401),
        (json.dumps({"function": "message-sent", "key": None, "data": {}}).encode(), 401),
        (b"{not json", 400),
        (b"[1, 2]", 400),
    ],
    ids=["wrong-key", "missing-key", "null-key", "bad-json", "not-an-object"],
)
def test_refused_webhooks(fake: FakeSupportBoard, outlet: SupportBoardOutlet, body: bytes, status: int) -> None:
    with pytest.raises(WebhookRefused) as refused:
        outlet.inbound(channel_of(fake), {}, body)
    assert refused.value.status == status
    assert fake.calls() == []  # refused before asking Support Board anything


def test_a_channel_without_a_webhook_key_refuses_webhooks(fake: FakeSupportBoard, outlet: SupportBoardOutlet) -> None:
    body = json.dumps({"function": "message-sent", "key": "", "data": {}}).encode()
    with pytest.raises(WebhookRefused) as refused:
        outlet.inbound(channel_of(fake, webhookKey=None), {}, body)
    assert refused.value.status == 403
