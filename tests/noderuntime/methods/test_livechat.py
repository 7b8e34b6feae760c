"""Live-chat methods through real scripts: createAssignment, addNewTargetsToAssignment,
the getAssignment* readers, reassignAssignment, removePendingAssignmentByMemberId,
updateAssignmentGroup/Meta, endLiveChat, inletEndLiveChat and the sendMessageTo* methods.

Scripts run in-process against the live-chat world of
``tests/noderuntime/livechat/conftest.py`` (a webchat inlet paired with a custom
outlet; Rocket.Chat and Support Board outlets besides). Outlet calls are only
queued by these methods: the tests read the outbox, and never flush it unless
they connect the fake custom desk.
"""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from noderuntime.engine.agenda.worker import TIMEOUT_AGENDA
from noderuntime.runtime import RunResult
from noderuntime.store.ids import for_script
from noderuntime.store.schema import AGENDAS, APPS, ASSIGNMENTS, CHANNELS, GROUPS, MEMBERS, MESSAGES, OUTBOX
from tests.noderuntime.livechat import conftest as live
from tests.noderuntime.livechat.conftest import (
    APP,
    BOARD,
    CUSTOM,
    FOREIGN,
    INLET,
    MEMBER,
    OTHER_APP,
    ROCKET,
    START,
    World,
)

#: The live-chat world's fixtures, used here as they are.
clock = live.clock
world = live.world
custom = live.custom

MINUTE = 60_000
#: The default wait for an agent (LiveChatSettings.unanswered_minutes).
UNANSWERED_MS = 10 * MINUTE

#: A Slack outlet of the app: a type this runtime does not serve.
SLACK = "c52345678901234567890123"
#: Another app's inlet and member (the member has the same externalId as ours).
FOREIGN_INLET = "c82345678901234567890123"
FOREIGN_MEMBER = "5f7443000000000000000009"
#: An id nothing has.
NOWHERE = "5f74430000000000000000ff"

#: The documented assignment (seed 000, getAssignment).
ASSIGNMENT_DOCUMENTED = {
    "_id",
    "_version",
    "app",
    "assignedAt",
    "assignee",
    "createdAt",
    "etag",
    "expiry",
    "group",
    "groupInfo",
    "history",
    "isZendesk",
    "inlet",
    "inletGroupInfo",
    "member",
    "meta",
    "relayMessage",
    "targets",
    "updatedAt",
}
#: What this runtime adds (noderuntime/livechat/assignments.py's docstring).
ASSIGNMENT_EXTRA = {
    "outlet",
    "outletType",
    "label",
    "target",
    "assignmentDetails",
    "status",
    "lastActivityAt",
    "parentAssignment",
}
ASSIGNMENT_KEYS = ASSIGNMENT_DOCUMENTED | ASSIGNMENT_EXTRA
#: Added once a live chat has ended.
ENDED_KEYS = {"endedAt", "endReason"}
#: The documented group (seed 000, getGroup) and what this runtime adds.
GROUP_DOCUMENTED = {
    "_id",
    "createdAt",
    "inlet",
    "outlet",
    "name",
    "meta",
    "valid",
    "externalId",
    "botId",
    "type",
    "adminExternalId",
    "app",
    "assignment",
    "member",
    "admin",
    "_version",
}
GROUP_KEYS = GROUP_DOCUMENTED | {"updatedAt", "inletGroupExternalId"}
#: Fields of the runtime that scripts never see.
HIDDEN = ("outletState", "outboxSeq", "active")
#: The documented answer of the update methods.
UPDATED_KEYS = {"_docsIds", "_docs", "modified"}

_UNSET: Any = object()


def visible(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored assignment or group as a script should see it."""
    if document is None:
        return None
    return for_script({key: value for key, value in document.items() if key not in HIDDEN})


class Lab:
    """Runs scripts in the live-chat world and reads what they left in the database."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.store = world.store
        self.store.insert_one(
            CHANNELS,
            {
                "_id": ObjectId(SLACK),
                "app": APP,
                "name": "Slack",
                "type": "slack",
                "broadcastGroups": [{"label": "default", "type": "public_channel", "id": "C1"}],
            },
        )

    # Running ----------------------------------------------------------------------------

    def run(
        self,
        source: str,
        *,
        app: str = APP,
        member: Any = _UNSET,
        channel: str | None = None,
        group: dict[str, Any] | None = None,
        messageEvent: dict[str, Any] | None = None,
    ) -> RunResult:
        """Run ``source`` for ``app`` with ``this.member`` (ours by default), and
        ``this.channel`` (a stored channel's id), ``this.group``, ``this.messageEvent``."""
        context: dict[str, Any] = {"app": app, "member": self.member() if member is _UNSET else member}
        if channel is not None:
            context["channel"] = self.channel(channel)
        if group is not None:
            context["group"] = group
        if messageEvent is not None:
            context["messageEvent"] = messageEvent
        return self.world.runtime.run(source, context, engine=self.world.engine)

    def call(self, method: str, params: Any = None, **context: Any) -> RunResult:
        """``return this.<method>(<params>)`` as one script."""
        return self.run(f"return this.{method}({'' if params is None else repr(params)})", **context)

    def ok(self, method: str, params: Any = None, **context: Any) -> Any:
        result = self.call(method, params, **context)
        assert result.ok, result.error
        return result.value

    def fails(self, method: str, params: Any = None, **context: Any) -> dict[str, Any]:
        result = self.call(method, params, **context)
        assert not result.ok, result.value
        return result.error

    def create(self, **params: Any) -> dict[str, Any]:
        """createAssignment for our member (``params`` added)."""
        return self.ok("createAssignment", {"member": self.member(), **params})

    # Looking ----------------------------------------------------------------------------

    def member(self, member_id: str = MEMBER) -> dict[str, Any]:
        """A member as scripts see it."""
        return for_script(self.store.find_one(MEMBERS, {"_id": ObjectId(member_id)}))

    def channel(self, channel_id: str) -> dict[str, Any]:
        return for_script(self.store.find_one(CHANNELS, {"_id": ObjectId(channel_id)}))

    def assignment(self, assignment_id: str) -> dict[str, Any]:
        return self.store.find_one(ASSIGNMENTS, {"_id": ObjectId(assignment_id)})  # type: ignore[return-value]

    def group(self, group_id: str) -> dict[str, Any]:
        return self.store.find_one(GROUPS, {"_id": ObjectId(group_id)})  # type: ignore[return-value]

    def ops(self, assignment_id: str) -> list[str]:
        """The outlet calls queued for an assignment, in order."""
        return [i["op"] for i in self.store.find(OUTBOX, {"assignment": ObjectId(assignment_id)}, sort=[("seq", 1)])]

    def timeouts(self, assignment_id: str) -> list[dict[str, Any]]:
        """The timeout agendas of an assignment."""
        return self.store.find(AGENDAS, {"kind": TIMEOUT_AGENDA, "assignment": ObjectId(assignment_id)})

    def in_live_chat(self, member_id: str = MEMBER) -> bool:
        return bool((self.member(member_id).get("botMeta") or {}).get("liveChat"))

    def end(self, assignment_id: str) -> None:
        """End a live chat the way a script does (removePending works only untaken)."""
        group = visible(self.store.find_one(GROUPS, {"assignment": ObjectId(assignment_id)}))
        if group is not None:
            self.ok("inactivateGroup", {"groupId": group["_id"]})
        else:
            self.ok("inletEndLiveChat", {"channel": self.channel(INLET), "member": self.member()})

    # Another app ------------------------------------------------------------------------

    def foreign(self) -> dict[str, str]:
        """Another app's live chat (its member, assignment and group), made by its own
        script. Its group's conversation id, agent, inlet group and WhatsApp group id
        are the ones the tests of our app look for."""
        self.store.insert_one(CHANNELS, {"_id": ObjectId(FOREIGN_INLET), "app": OTHER_APP, "type": "webchat"})
        self.store.insert_one(
            MEMBERS,
            {
                "_id": ObjectId(FOREIGN_MEMBER),
                "app": OTHER_APP,
                "channel": FOREIGN_INLET,
                "externalId": "u-1",
                "firstName": "Eve",
                "botMeta": {"liveChat": False},
                "createdAt": START,
                "updatedAt": START,
            },
        )
        self.store.update(
            APPS,
            {"_id": ObjectId(OTHER_APP)},
            {"$set": {"pairingChannels": [{"inlet": FOREIGN_INLET, "outlets": [FOREIGN]}]}},
        )
        made = self.ok(
            "createAssignment",
            {
                "member": self.member(FOREIGN_MEMBER),
                "meta": {"tier": "gold"},
                "createGroup": {"externalId": "conv-x"},
            },
            app=OTHER_APP,
            member=self.member(FOREIGN_MEMBER),
        )
        self.store.update(ASSIGNMENTS, {"_id": ObjectId(made["assignmentId"])}, {"$set": {"whatsappGroupId": "wa-1"}})
        self.store.update(
            GROUPS,
            {"_id": ObjectId(made["groupId"])},
            {"$set": {"adminExternalId": "agent-1", "inletGroupExternalId": "ig-1"}},
        )
        return {"assignment": made["assignmentId"], "group": made["groupId"], "member": FOREIGN_MEMBER}


@pytest.fixture
def lab(world: World) -> Lab:
    return Lab(world)


def assert_names(error: dict[str, Any], kind: str, method: str, *words: str) -> None:
    """The error is of ``kind``, names the method first, and says each of ``words``."""
    assert error["type"] == kind, error
    assert error["message"].startswith((f"{method}:", f"{method} ")), error["message"]
    for word in words:
        assert word in error["message"], (word, error["message"])


# createAssignment ------------------------------------------------------------------------


def test_create_assignment_answers_the_member_in_live_chat_and_the_assignment_id(lab: Lab) -> None:
    result = lab.create(assignmentDetails={"summary": "Wants a human"})

    assert set(result) == {"member", "assignmentId"}  # groupId only with createGroup
    assert result["member"] == lab.member()
    assert result["member"]["botMeta"]["liveChat"] is True
    stored = lab.assignment(result["assignmentId"])
    assert str(stored["member"]) == MEMBER


def test_create_assignment_writes_a_pending_assignment_to_the_paired_outlet(lab: Lab) -> None:
    details = {"summary": "Wants a human", "groupName": "john_livechat", "relayMessage": {"custom": {"type": "TEXT"}}}
    result = lab.create(assignmentDetails=details, history=True, meta={"testing": True})

    stored = lab.assignment(result["assignmentId"])
    assert stored["status"] == "pending"
    assert stored["active"] is True
    assert str(stored["app"]) == APP
    assert str(stored["inlet"]) == INLET
    assert str(stored["outlet"]) == CUSTOM
    assert stored["outletType"] == "custom"
    assert stored["label"] == "default"
    assert stored["target"] == {"label": "default", "type": "team", "id": "support"}
    assert for_script(stored["targets"]) == [
        {
            "channel": CUSTOM,
            "broadcastGroups": [{"label": "default", "type": "team", "id": "support"}],
            "label": "default",
        }
    ]
    assert stored["assignmentDetails"] == details
    assert stored["relayMessage"] == {"custom": {"type": "TEXT"}}
    assert stored["history"] is True
    assert stored["meta"] == {"testing": True}
    assert stored["group"] is None
    assert stored["isZendesk"] is False
    assert stored["assignee"] is None and stored["assignedAt"] is None
    assert stored["parentAssignment"] is None
    assert stored["createdAt"] == START
    assert stored["expiry"] == START + UNANSWERED_MS


def test_create_assignment_defaults(lab: Lab) -> None:
    stored = lab.assignment(lab.create()["assignmentId"])

    assert stored["assignmentDetails"] == {}
    assert stored["history"] is False
    assert stored["meta"] == {}
    assert stored["relayMessage"] == {}


def test_create_assignment_takes_one_dict_as_documented(lab: Lab) -> None:
    result = lab.run("return this.createAssignment({'member': this.member, 'label': 'default'})")

    assert result.ok, result.error
    assert lab.in_live_chat()


def test_create_assignment_with_create_group_makes_the_group(lab: Lab) -> None:
    result = lab.create(assignmentDetails={"groupName": "john_livechat"}, createGroup={"externalId": "conv-9"})

    assert set(result) == {"member", "assignmentId", "groupId"}
    group = lab.group(result["groupId"])
    assert str(group["member"]) == MEMBER
    assert str(group["inlet"]) == INLET
    assert str(group["outlet"]) == CUSTOM
    assert str(group["assignment"]) == result["assignmentId"]
    assert str(group["app"]) == APP
    assert group["externalId"] == "conv-9"
    assert group["name"] == "john_livechat"
    assert group["type"] == "custom"
    assert group["active"] is True
    assert str(lab.assignment(result["assignmentId"])["group"]) == result["groupId"]
    # The member remembers the group (as the custom platform's sample does).
    assert result["member"]["group"] == result["groupId"]
    assert lab.member()["group"] == result["groupId"]


def test_create_assignment_without_create_group_makes_no_group(lab: Lab) -> None:
    lab.create()

    assert lab.store.count(GROUPS, {}) == 0
    assert "group" not in lab.member()


def test_create_assignment_queues_exactly_one_open(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]

    queued = lab.store.find(OUTBOX, {})
    assert len(queued) == 1
    assert queued[0]["op"] == "open"
    assert queued[0]["key"] == f"{assignment_id}:open"
    assert queued[0]["status"] == "pending"
    assert str(queued[0]["assignment"]) == assignment_id
    assert str(queued[0]["outlet"]) == CUSTOM
    assert queued[0]["target"] == {"label": "default", "type": "team", "id": "support"}


def test_create_assignment_sets_the_timeout_agenda_by_default(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]

    agendas = lab.timeouts(assignment_id)
    assert len(agendas) == 1
    assert agendas[0]["nextRunAt"] == START + UNANSWERED_MS
    assert str(agendas[0]["member"]) == MEMBER
    assert agendas[0]["completed"] is False


def test_create_assignment_without_the_live_chat_agenda(lab: Lab) -> None:
    assignment_id = lab.create(setLiveChatAgenda=False)["assignmentId"]

    assert lab.timeouts(assignment_id) == []
    assert lab.store.count(AGENDAS, {}) == 0


@pytest.mark.parametrize(
    ("label", "outlet", "target_id"),
    [(None, CUSTOM, "support"), ("default", CUSTOM, "support"), ("vip", ROCKET, "VIP")],
)
def test_create_assignment_picks_the_outlet_by_pairing_and_label(
    lab: Lab, world: World, label: str | None, outlet: str, target_id: str
) -> None:
    world.pair(CUSTOM, ROCKET)
    world.configure(ROCKET, broadcastGroups=[{"label": "vip", "type": "department", "id": "VIP"}])
    params = {} if label is None else {"label": label}

    stored = lab.assignment(lab.create(**params)["assignmentId"])

    assert str(stored["outlet"]) == outlet
    assert stored["target"]["id"] == target_id
    assert stored["label"] == (label or "default")


def test_create_assignment_takes_the_first_paired_outlet(lab: Lab, world: World) -> None:
    world.pair(ROCKET, CUSTOM)

    stored = lab.assignment(lab.create()["assignmentId"])

    assert str(stored["outlet"]) == ROCKET
    assert stored["outletType"] == "rocketchat"


@pytest.mark.parametrize(
    ("target", "outlet", "expected"),
    [
        ({"channel": BOARD}, BOARD, {"label": "default", "type": "department", "id": "2"}),
        (
            {"channel": ROCKET, "broadcastGroups": [{"type": "department", "id": "VIP"}]},
            ROCKET,
            {"type": "department", "id": "VIP"},
        ),
    ],
)
def test_create_assignment_targets_override_the_pairing(
    lab: Lab, target: dict[str, Any], outlet: str, expected: dict[str, Any]
) -> None:
    stored = lab.assignment(lab.create(targets=[target])["assignmentId"])

    assert str(stored["outlet"]) == outlet
    assert stored["target"] == expected
    assert [t["channel"] for t in for_script(stored["targets"])] == [outlet]


def test_create_assignment_label_without_broadcast_group_is_not_found(lab: Lab) -> None:
    error = lab.fails("createAssignment", {"member": lab.member(), "label": "vip"})

    assert_names(error, "NotFound", "createAssignment", "'vip'")
    assert lab.store.count(ASSIGNMENTS, {}) == 0
    assert lab.store.count(OUTBOX, {}) == 0
    assert not lab.in_live_chat()


@pytest.mark.parametrize("how", ["pairing", "targets"])
def test_create_assignment_refuses_an_outlet_type_it_does_not_serve(lab: Lab, world: World, how: str) -> None:
    params: dict[str, Any] = {"member": lab.member()}
    if how == "pairing":
        world.pair(SLACK)
    else:
        params["targets"] = [{"channel": SLACK}]

    error = lab.fails("createAssignment", params)

    assert_names(error, "ParamError", "createAssignment", "slack")
    assert lab.store.count(ASSIGNMENTS, {}) == 0
    assert not lab.in_live_chat()


def test_create_assignment_skips_an_unserved_outlet_for_a_served_one(lab: Lab, world: World) -> None:
    world.pair(SLACK, CUSTOM)

    stored = lab.assignment(lab.create()["assignmentId"])

    assert str(stored["outlet"]) == CUSTOM
    # Both targets are recorded; the request goes straight to the custom one.
    assert [t["channel"] for t in for_script(stored["targets"])] == [SLACK, CUSTOM]


def test_create_assignment_refuses_a_second_live_chat_for_the_member(lab: Lab) -> None:
    first = lab.create()["assignmentId"]

    error = lab.fails("createAssignment", {"member": lab.member()})

    assert_names(error, "ParamError", "createAssignment", "already in a live chat", first)
    assert lab.store.count(ASSIGNMENTS, {}) == 1
    assert lab.store.count(OUTBOX, {}) == 1


def test_create_assignment_after_the_live_chat_ended(lab: Lab) -> None:
    first = lab.create()["assignmentId"]
    lab.end(first)

    second = lab.create()["assignmentId"]

    assert second != first
    assert lab.assignment(second)["active"] is True
    assert lab.in_live_chat()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, ["'member' is required"]),
        ({"member": MEMBER}, ["'member' must be an object, got string"]),
        ({"member": {"firstName": "John"}}, ["member", "_id"]),
        ({"assignmentDetails": "help"}, ["'assignmentDetails' must be an object"]),
        ({"assignmentDetails": {"$set": {"a": 1}}}, ["assignmentDetails"]),
        ({"label": 3}, ["'label' must be a string, got number"]),
        ({"history": "yes"}, ["'history' must be a boolean"]),
        ({"targets": {"channel": CUSTOM}}, ["'targets' must be an array"]),
        ({"targets": []}, ["'targets' must list at least one target"]),
        ({"targets": [{"broadcastGroups": []}]}, ["'targets' [0]", "channel"]),
        ({"targets": [{"channel": CUSTOM, "broadcastGroups": [{"id": "x"}]}]}, ["'targets' [0].broadcastGroups"]),
        ({"targets": [{"channel": CUSTOM, "label": 1}]}, ["'targets' [0].label must be a string"]),
        ({"meta": ["x"]}, ["'meta' must be an object, got array"]),
        ({"meta": {"a.b": 1}}, ["meta"]),
        ({"createGroup": True}, ["'createGroup' must be an object"]),
        ({"createGroup": {"externalId": 5}}, ["createGroup.externalId must be a string"]),
        ({"setLiveChatAgenda": "no"}, ["'setLiveChatAgenda' must be a boolean"]),
        ({"lable": "vip"}, ["unknown parameter 'lable'", "did you mean 'label'"]),
    ],
)
def test_create_assignment_validates_its_parameters(lab: Lab, params: dict[str, Any], words: list[str]) -> None:
    if params and "member" not in params:
        params = {"member": lab.member(), **params}

    error = lab.fails("createAssignment", params)

    assert_names(error, "ParamError", "createAssignment", *words)
    assert lab.store.count(ASSIGNMENTS, {}) == 0
    assert lab.store.count(OUTBOX, {}) == 0
    assert not lab.in_live_chat()


def test_create_assignment_for_another_apps_member_is_not_found(lab: Lab) -> None:
    lab.foreign()
    other = lab.member(FOREIGN_MEMBER)
    other_count = lab.store.count(ASSIGNMENTS, {})

    error = lab.fails("createAssignment", {"member": other})

    assert_names(error, "NotFound", "createAssignment", FOREIGN_MEMBER)
    assert lab.store.count(ASSIGNMENTS, {}) == other_count


def test_create_assignment_of_another_app_cannot_take_our_member(lab: Lab) -> None:
    error = lab.fails("createAssignment", {"member": lab.member()}, app=OTHER_APP, member=None)

    assert_names(error, "NotFound", "createAssignment", MEMBER)
    assert not lab.in_live_chat()


def test_create_assignment_target_of_another_app_is_not_found(lab: Lab) -> None:
    error = lab.fails("createAssignment", {"member": lab.member(), "targets": [{"channel": FOREIGN}]})

    assert_names(error, "NotFound", "createAssignment", FOREIGN)
    assert lab.store.count(ASSIGNMENTS, {}) == 0


def test_create_assignment_through_a_node(world: World) -> None:
    """The world's bot hands the member over on "agent"."""
    world.say("agent")

    assert world.texts() == ["Connecting you to an agent"]
    assert world.in_live_chat()
    assert world.assignment()["status"] == "pending"


# addNewTargetsToAssignment -----------------------------------------------------------------


def test_add_new_targets_appends_to_the_assignments_targets(lab: Lab, clock: Any) -> None:
    assignment_id = lab.create()["assignmentId"]
    before = lab.assignment(assignment_id)
    clock.advance(minutes=1)
    new = [{"channel": ROCKET, "broadcastGroups": [{"type": "department", "id": "SALES"}], "label": "default"}]

    result = lab.ok("addNewTargetsToAssignment", {"assignmentId": assignment_id, "targets": new})

    assert set(result) == {"member", "assignmentId"}
    assert result == {"member": lab.member(), "assignmentId": assignment_id}
    after = lab.assignment(assignment_id)
    assert after["targets"] == before["targets"] + new
    assert after["_version"] == before["_version"] + 1
    assert after["updatedAt"] == START + MINUTE
    assert str(after["outlet"]) == CUSTOM  # the conversation stays where it is
    assert lab.ops(assignment_id) == ["open"]  # nothing more is sent


def test_add_new_targets_with_live_chat_false_warns(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]

    result = lab.call(
        "addNewTargetsToAssignment", {"assignmentId": assignment_id, "liveChat": False, "targets": [{"channel": BOARD}]}
    )

    assert result.ok, result.error
    assert any("liveChat" in line["message"] for line in result.logs if line["level"] == "warn")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"targets": [{"channel": ROCKET}]}, ["'assignmentId' is required"]),
        ({"assignmentId": "A"}, ["'targets' is required"]),
        ({"assignmentId": 5, "targets": [{"channel": ROCKET}]}, ["'assignmentId' must be a string"]),
        ({"assignmentId": "A", "targets": []}, ["'targets' must list at least one target"]),
        ({"assignmentId": "A", "targets": [ROCKET]}, ["'targets' [0]"]),
        ({"assignmentId": "A", "liveChat": "yes", "targets": [{"channel": ROCKET}]}, ["'liveChat' must be a boolean"]),
    ],
)
def test_add_new_targets_validates_its_parameters(lab: Lab, params: dict[str, Any], words: list[str]) -> None:
    assignment_id = lab.create()["assignmentId"]
    if params.get("assignmentId") == "A":
        params = {**params, "assignmentId": assignment_id}
    before = lab.assignment(assignment_id)

    error = lab.fails("addNewTargetsToAssignment", params)

    assert_names(error, "ParamError", "addNewTargetsToAssignment", *words)
    assert lab.assignment(assignment_id) == before


def test_add_new_targets_to_another_apps_assignment_is_not_found(lab: Lab) -> None:
    theirs = lab.foreign()["assignment"]
    before = lab.assignment(theirs)

    error = lab.fails("addNewTargetsToAssignment", {"assignmentId": theirs, "targets": [{"channel": ROCKET}]})

    assert_names(error, "NotFound", "addNewTargetsToAssignment", theirs)
    assert lab.assignment(theirs) == before


def test_add_new_targets_refuses_another_apps_channel(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]
    before = lab.assignment(assignment_id)

    error = lab.fails("addNewTargetsToAssignment", {"assignmentId": assignment_id, "targets": [{"channel": FOREIGN}]})

    assert_names(error, "NotFound", "addNewTargetsToAssignment", FOREIGN)
    assert lab.assignment(assignment_id) == before


@pytest.mark.parametrize("name", ["a.b", "$where"])
def test_add_new_targets_refuses_field_names_a_document_cannot_have(lab: Lab, name: str) -> None:
    assignment_id = lab.create()["assignmentId"]

    result = lab.call(
        "addNewTargetsToAssignment", {"assignmentId": assignment_id, "targets": [{"channel": ROCKET, name: 1}]}
    )

    assert not result.ok
    assert result.error["type"] in ("ParamError", "PermissionDenied")
    assert all(name not in target for target in lab.assignment(assignment_id)["targets"])


# getAssignment and the readers -------------------------------------------------------------


def test_get_assignment_answers_the_documented_assignment(lab: Lab) -> None:
    assignment_id = lab.create(meta={"tier": "gold"}, createGroup={})["assignmentId"]

    found = lab.ok("getAssignment", {"assignmentId": assignment_id})

    assert set(found) == ASSIGNMENT_KEYS
    assert found == visible(lab.assignment(assignment_id))
    assert found["_id"] == assignment_id
    assert found["member"] == MEMBER
    assert found["app"] == APP
    assert found["inlet"] == INLET
    assert found["status"] == "pending"


def test_get_assignment_of_an_ended_live_chat(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]
    lab.end(assignment_id)

    found = lab.ok("getAssignment", {"assignmentId": assignment_id})

    assert set(found) == ASSIGNMENT_KEYS | ENDED_KEYS
    assert found["status"] == "ended"
    assert found == visible(lab.assignment(assignment_id))


@pytest.mark.parametrize("assignment_id", [NOWHERE, "not-an-id"])
def test_get_assignment_unknown_is_null(lab: Lab, assignment_id: str) -> None:
    lab.create()

    assert lab.ok("getAssignment", {"assignmentId": assignment_id}) is None


def test_get_assignment_of_another_app_is_null(lab: Lab) -> None:
    theirs = lab.foreign()["assignment"]

    assert lab.ok("getAssignment", {"assignmentId": theirs}) is None
    # ...while its own app finds it.
    assert lab.ok("getAssignment", {"assignmentId": theirs}, app=OTHER_APP, member=None)["_id"] == theirs


READERS_VALIDATION = [
    ("getAssignment", {}, "'assignmentId' is required"),
    ("getAssignment", {"assignmentId": 1}, "'assignmentId' must be a string, got number"),
    ("getAssignmentByOutlet", {}, "'channelId' is required"),
    ("getAssignmentByOutlet", {"channelId": {"_id": CUSTOM}}, "'channelId' must be a string, got object"),
    ("getAssignmentByWhatsappGroupId", {}, "'whatsappGroupId' is required"),
    ("getAssignmentByWhatsappGroupId", {"whatsappGroupId": 852}, "'whatsappGroupId' must be a string"),
    ("getAssignmentsByMemberId", {}, "'memberId' is required"),
    ("getAssignmentsByMemberId", {"memberId": [MEMBER]}, "'memberId' must be a string, got array"),
    ("getAssignmentsByMeta", {}, "'meta' is required"),
    ("getAssignmentsByMeta", {"meta": "tier"}, "'meta' must be an object, got string"),
    ("getAssignmentsByMeta", {"meta": {}}, "meta must name at least one field"),
    ("getAssignmentsByParentAssignmentId", {}, "'assignmentId' is required"),
    ("getAssignmentsByParentAssignmentId", {"assignmentId": None}, "'assignmentId' is required"),
    ("getAssignmentsByParentAssignmentId", {"assignmentId": True}, "'assignmentId' must be a string, got boolean"),
]


@pytest.mark.parametrize(("method", "params", "words"), READERS_VALIDATION)
def test_assignment_readers_validate_their_parameters(lab: Lab, method: str, params: Any, words: str) -> None:
    lab.create()

    assert_names(lab.fails(method, params), "ParamError", method, words)


def test_get_assignment_by_outlet_answers_the_live_chat_in_progress(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]

    found = lab.ok("getAssignmentByOutlet", {"channelId": CUSTOM})

    assert set(found) == ASSIGNMENT_KEYS
    assert found == visible(lab.assignment(assignment_id))
    assert lab.ok("getAssignmentByOutlet", {"channelId": ROCKET}) is None


def test_get_assignment_by_outlet_is_null_once_ended(lab: Lab) -> None:
    lab.end(lab.create()["assignmentId"])

    assert lab.ok("getAssignmentByOutlet", {"channelId": CUSTOM}) is None


def test_get_assignment_by_outlet_of_another_app_is_null(lab: Lab) -> None:
    lab.foreign()

    assert lab.ok("getAssignmentByOutlet", {"channelId": FOREIGN}) is None
    assert lab.ok("getAssignmentByOutlet", {"channelId": FOREIGN}, app=OTHER_APP, member=None) is not None


def test_get_assignment_by_whatsapp_group_id(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]
    lab.ok("updateAssignmentGroup", {"assignmentId": assignment_id, "whatsappGroupId": "wa-1"})

    found = lab.ok("getAssignmentByWhatsappGroupId", {"whatsappGroupId": "wa-1"})

    assert set(found) == ASSIGNMENT_KEYS | {"whatsappGroupId"}
    assert found == visible(lab.assignment(assignment_id))
    assert lab.ok("getAssignmentByWhatsappGroupId", {"whatsappGroupId": "wa-2"}) is None


def test_get_assignment_by_whatsapp_group_id_of_another_app_is_null(lab: Lab) -> None:
    lab.foreign()  # its assignment has whatsappGroupId "wa-1"

    assert lab.ok("getAssignmentByWhatsappGroupId", {"whatsappGroupId": "wa-1"}) is None


def test_get_assignments_by_member_id_newest_first(lab: Lab, clock: Any) -> None:
    first = lab.create()["assignmentId"]
    lab.end(first)
    clock.advance(minutes=1)
    second = lab.create()["assignmentId"]

    found = lab.ok("getAssignmentsByMemberId", {"memberId": MEMBER})

    assert [a["_id"] for a in found] == [second, first]
    assert all(set(a) >= ASSIGNMENT_KEYS for a in found)
    assert found == [visible(lab.assignment(second)), visible(lab.assignment(first))]


def test_get_assignments_by_member_id_of_another_app_is_empty(lab: Lab) -> None:
    lab.foreign()

    assert lab.ok("getAssignmentsByMemberId", {"memberId": FOREIGN_MEMBER}) == []
    assert lab.ok("getAssignmentsByMemberId", {"memberId": MEMBER}) == []


@pytest.fixture
def three(lab: Lab, clock: Any) -> list[str]:
    """Three assignments of our member (two ended), each with its own meta."""
    made = []
    for meta in ({"tier": "gold", "score": 3}, {"tier": "silver", "score": 7}, {"tier": "gold", "score": 9}):
        if made:
            lab.end(made[-1])
            clock.advance(minutes=1)
        made.append(lab.create(meta=meta)["assignmentId"])
    return made


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"tier": "gold"}, [2, 0]),
        ({"tier": "gold", "score": 3}, [0]),
        ({"score": {"$gte": 7}}, [2, 1]),
        ({"tier": {"$in": ["silver", "bronze"]}}, [1]),
        ({"tier": {"$ne": "gold"}}, [1]),
        ({"tier": {"$regex": "^g"}}, [2, 0]),
        ({"tier": {"$exists": False}}, []),
        ({"tier": "platinum"}, []),
    ],
)
def test_get_assignments_by_meta_with_values_and_operators(
    lab: Lab, three: list[str], meta: dict[str, Any], expected: list[int]
) -> None:
    found = lab.ok("getAssignmentsByMeta", {"meta": meta})

    assert [a["_id"] for a in found] == [three[i] for i in expected]
    assert found == [visible(lab.assignment(three[i])) for i in expected]


def test_get_assignments_by_meta_refuses_where_in_a_condition(lab: Lab, three: list[str]) -> None:
    error = lab.fails("getAssignmentsByMeta", {"meta": {"tier": {"$where": "sleep(1000)"}}})

    assert_names(error, "PermissionDenied", "getAssignmentsByMeta", "$where")


@pytest.mark.parametrize(
    ("meta", "kind"),
    [({"$where": "this.meta.tier == 'gold'"}, "PermissionDenied"), ({"$or": [{"tier": "gold"}]}, "ParamError")],
)
def test_get_assignments_by_meta_refuses_an_operator_in_place_of_a_field(
    lab: Lab, three: list[str], meta: dict[str, Any], kind: str
) -> None:
    error = lab.fails("getAssignmentsByMeta", {"meta": meta})

    assert_names(error, kind, "getAssignmentsByMeta", next(iter(meta)))


def test_get_assignments_by_meta_of_another_app_is_empty(lab: Lab) -> None:
    lab.foreign()  # its assignment has meta.tier gold

    assert lab.ok("getAssignmentsByMeta", {"meta": {"tier": "gold"}}) == []
    assert len(lab.ok("getAssignmentsByMeta", {"meta": {"tier": "gold"}}, app=OTHER_APP, member=None)) == 1


def test_get_assignments_by_parent_assignment_id(lab: Lab) -> None:
    previous = lab.create()["assignmentId"]
    assignment = lab.ok("getAssignment", {"assignmentId": previous})
    new = lab.ok("reassignAssignment", {"previousAssignment": assignment, "targets": [{"channel": ROCKET}]})

    found = lab.ok("getAssignmentsByParentAssignmentId", {"assignmentId": previous})

    assert [a["_id"] for a in found] == [new["assignmentId"]]
    assert found[0]["parentAssignment"] == previous
    assert found == [visible(lab.assignment(new["assignmentId"]))]
    assert lab.ok("getAssignmentsByParentAssignmentId", {"assignmentId": new["assignmentId"]}) == []


def test_get_assignments_by_parent_of_another_app_is_empty(lab: Lab) -> None:
    theirs = lab.foreign()
    previous = lab.ok("getAssignment", {"assignmentId": theirs["assignment"]}, app=OTHER_APP, member=None)
    lab.ok(
        "reassignAssignment",
        {"previousAssignment": previous, "targets": [{"channel": FOREIGN}]},
        app=OTHER_APP,
        member=None,
    )

    assert lab.ok("getAssignmentsByParentAssignmentId", {"assignmentId": theirs["assignment"]}) == []


READERS = [
    ("getAssignment", lambda a: {"assignmentId": a}),
    ("getAssignmentByOutlet", lambda a: {"channelId": CUSTOM}),
    ("getAssignmentByWhatsappGroupId", lambda a: {"whatsappGroupId": "wa-1"}),
    ("getAssignmentsByMemberId", lambda a: {"memberId": MEMBER}),
    ("getAssignmentsByMeta", lambda a: {"meta": {"tier": "gold"}}),
    ("updateAssignmentMeta", lambda a: {"assignmentId": a, "meta": {"seen": True}}),
    ("updateAssignmentGroup", lambda a: {"assignmentId": a, "group": {"name": "g"}}),
]


@pytest.mark.parametrize(("method", "params"), READERS, ids=[name for name, _ in READERS])
def test_scripts_never_see_the_runtimes_fields(lab: Lab, method: str, params: Any) -> None:
    assignment_id = lab.create(meta={"tier": "gold"})["assignmentId"]
    lab.store.update(
        ASSIGNMENTS,
        {"_id": ObjectId(assignment_id)},
        {"$set": {"whatsappGroupId": "wa-1", "outletState": {"visitorToken": "secret-token"}}},
    )

    value = lab.ok(method, params(assignment_id))

    documents = value["_docs"] if isinstance(value, dict) and "_docs" in value else value
    documents = documents if isinstance(documents, list) else [documents]
    assert documents and all(d["_id"] == assignment_id for d in documents)
    for document in documents:
        assert not set(HIDDEN) & set(document), sorted(document)
    assert "secret-token" not in repr(value)


# reassignAssignment -----------------------------------------------------------------------


def test_reassign_on_the_same_outlet_transfers_the_conversation(lab: Lab, clock: Any) -> None:
    made = lab.create(assignmentDetails={"summary": "old"}, meta={"tier": "gold"}, createGroup={})
    previous_id = made["assignmentId"]
    lab.store.update(ASSIGNMENTS, {"_id": ObjectId(previous_id)}, {"$set": {"outletState": {"externalId": "conv-1"}}})
    previous = lab.ok("getAssignment", {"assignmentId": previous_id})
    clock.advance(minutes=1)
    billing = {"type": "team", "id": "billing"}

    result = lab.ok(
        "reassignAssignment",
        {
            "previousAssignment": previous,
            "targets": [{"channel": CUSTOM, "broadcastGroups": [billing]}],
            "summary": "new",
            "meta": {"reason": "billing"},
        },
    )

    assert set(result) == {"member", "assignmentId"}
    assert result["member"] == lab.member()
    assert result["member"]["botMeta"]["liveChat"] is True
    new = lab.assignment(result["assignmentId"])
    assert str(new["parentAssignment"]) == previous_id
    assert str(new["outlet"]) == CUSTOM
    assert new["target"] == billing
    assert new["status"] == "pending"
    assert new["active"] is True
    assert new["outletState"] == {"externalId": "conv-1"}  # the conversation goes on
    assert new["assignmentDetails"]["summary"] == "new"
    assert new["meta"] == {"tier": "gold", "reason": "billing"}
    assert new["createdAt"] == START + MINUTE
    old = lab.assignment(previous_id)
    assert old["status"] == "ended"
    assert old["endReason"] == "reassigned"
    assert "active" not in old
    assert lab.ops(previous_id) == ["open"]  # no close: the conversation continues
    assert lab.ops(result["assignmentId"]) == ["transfer"]
    transfer = lab.store.find_one(OUTBOX, {"assignment": ObjectId(result["assignmentId"])})
    assert transfer["target"] == billing
    assert lab.group(made["groupId"])["active"] is False
    assert lab.in_live_chat()


def test_reassign_to_another_outlet_closes_the_old_and_opens_a_new_conversation(lab: Lab) -> None:
    previous_id = lab.create()["assignmentId"]
    lab.store.update(ASSIGNMENTS, {"_id": ObjectId(previous_id)}, {"$set": {"outletState": {"externalId": "conv-1"}}})
    previous = lab.ok("getAssignment", {"assignmentId": previous_id})

    result = lab.ok("reassignAssignment", {"previousAssignment": previous, "targets": [{"channel": ROCKET}]})

    new = lab.assignment(result["assignmentId"])
    assert str(new["outlet"]) == ROCKET
    assert new["outletType"] == "rocketchat"
    assert str(new["parentAssignment"]) == previous_id
    assert new["outletState"] == {}
    assert lab.ops(previous_id) == ["open", "close"]
    assert lab.ops(result["assignmentId"]) == ["open"]
    assert lab.assignment(previous_id)["endReason"] == "reassigned"
    assert lab.in_live_chat()


def test_reassign_by_label(lab: Lab, world: World) -> None:
    world.pair(CUSTOM, ROCKET)
    world.configure(ROCKET, broadcastGroups=[{"label": "vip", "type": "department", "id": "VIP"}])
    previous = lab.ok("getAssignment", {"assignmentId": lab.create()["assignmentId"]})

    result = lab.ok("reassignAssignment", {"previousAssignment": previous, "label": "vip"})

    new = lab.assignment(result["assignmentId"])
    assert str(new["outlet"]) == ROCKET
    assert new["target"]["id"] == "VIP"
    assert new["label"] == "vip"


@pytest.mark.parametrize("with_agenda", [True, False])
def test_reassign_keeps_the_timeout_agenda_only_if_there_was_one(lab: Lab, with_agenda: bool) -> None:
    previous_id = lab.create(setLiveChatAgenda=with_agenda)["assignmentId"]
    previous = lab.ok("getAssignment", {"assignmentId": previous_id})

    result = lab.ok("reassignAssignment", {"previousAssignment": previous, "targets": [{"channel": ROCKET}]})

    assert lab.timeouts(previous_id) == []
    assert len(lab.timeouts(result["assignmentId"])) == (1 if with_agenda else 0)


def test_reassign_an_ended_assignment_is_refused(lab: Lab) -> None:
    previous_id = lab.create()["assignmentId"]
    lab.end(previous_id)
    previous = lab.ok("getAssignment", {"assignmentId": previous_id})

    error = lab.fails("reassignAssignment", {"previousAssignment": previous, "targets": [{"channel": ROCKET}]})

    assert_names(error, "ParamError", "reassignAssignment", previous_id, "ended")
    assert lab.store.count(ASSIGNMENTS, {}) == 1
    assert not lab.in_live_chat()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, ["'previousAssignment' is required"]),
        ({"previousAssignment": "A"}, ["'previousAssignment' must be an object, got string"]),
        ({"previousAssignment": {"status": "pending"}}, ["previousAssignment", "_id"]),
        ({"label": 7}, ["'label' must be a string"]),
        ({"targets": []}, ["'targets' must list at least one target"]),
        ({"targets": [{"channel": 1}]}, ["'targets' [0]"]),
        ({"meta": "x"}, ["'meta' must be an object"]),
        ({"relayMessage": {"type": "TEXT"}}, ["'relayMessage' must be a string, got object"]),
        ({"liveChat": 1}, ["'liveChat' must be a boolean"]),
        ({"meta": {"$set": 1}}, ["meta"]),
    ],
)
def test_reassign_validates_its_parameters(lab: Lab, params: dict[str, Any], words: list[str]) -> None:
    previous_id = lab.create()["assignmentId"]
    if "previousAssignment" not in params and params:
        params = {"previousAssignment": lab.ok("getAssignment", {"assignmentId": previous_id}), **params}
    elif params.get("previousAssignment") == "A":
        params = {"previousAssignment": previous_id}

    error = lab.fails("reassignAssignment", params)

    assert_names(error, "ParamError", "reassignAssignment", *words)
    assert lab.assignment(previous_id)["active"] is True
    assert lab.store.count(ASSIGNMENTS, {}) == 1


def test_reassign_another_apps_assignment_is_not_found(lab: Lab) -> None:
    theirs = lab.foreign()["assignment"]
    previous = lab.ok("getAssignment", {"assignmentId": theirs}, app=OTHER_APP, member=None)

    error = lab.fails("reassignAssignment", {"previousAssignment": previous, "targets": [{"channel": ROCKET}]})

    assert_names(error, "NotFound", "reassignAssignment", theirs)
    assert lab.assignment(theirs)["active"] is True


@pytest.mark.parametrize("target", [FOREIGN, NOWHERE])
def test_reassign_to_a_channel_not_of_the_app_leaves_the_live_chat_alone(lab: Lab, target: str) -> None:
    previous_id = lab.create()["assignmentId"]
    previous = lab.ok("getAssignment", {"assignmentId": previous_id})

    error = lab.fails("reassignAssignment", {"previousAssignment": previous, "targets": [{"channel": target}]})

    assert_names(error, "NotFound", "reassignAssignment", target)
    assert lab.assignment(previous_id)["active"] is True
    assert lab.ops(previous_id) == ["open"]
    assert lab.in_live_chat()


def test_reassign_on_the_same_outlet_keeps_the_conversation_id_on_the_new_group(lab: Lab) -> None:
    made = lab.create(createGroup={"externalId": "conv-1"})
    lab.store.update(
        ASSIGNMENTS, {"_id": ObjectId(made["assignmentId"])}, {"$set": {"outletState": {"externalId": "conv-1"}}}
    )
    previous = lab.ok("getAssignment", {"assignmentId": made["assignmentId"]})
    new = lab.ok("reassignAssignment", {"previousAssignment": previous, "targets": [{"channel": CUSTOM}]})

    group = lab.ok("getGroupByGroupExternalId", {"groupExternalId": "conv-1"})
    assert group["assignment"] == new["assignmentId"]
    ended = lab.ok("endLiveChat", {"channel": lab.channel(CUSTOM), "messageEvent": {"groupId": "conv-1"}})
    assert ended["assignmentId"] == new["assignmentId"]


def test_reassign_on_the_same_custom_outlet_reaches_the_desk(lab: Lab, world: World, custom: Any) -> None:
    world.custom_desk(custom)
    made = lab.create()
    world.desk.flush()
    previous = lab.ok("getAssignment", {"assignmentId": made["assignmentId"]})
    new = lab.ok("reassignAssignment", {"previousAssignment": previous, "targets": [{"channel": CUSTOM}]})

    world.desk.flush()

    transfer = lab.store.find_one(OUTBOX, {"assignment": ObjectId(new["assignmentId"]), "op": "transfer"})
    assert transfer["status"] == "sent", transfer.get("lastError")


# removePendingAssignmentByMemberId -----------------------------------------------------------


def test_remove_pending_assignment_withdraws_an_untaken_request(lab: Lab) -> None:
    made = lab.create(createGroup={})
    assignment_id = made["assignmentId"]

    result = lab.ok("removePendingAssignmentByMemberId", {"memberId": MEMBER})

    assert result == {"clientMutationId": MEMBER, "removed": 1}
    stored = lab.assignment(assignment_id)
    assert stored["status"] == "ended"
    assert stored["endReason"] == "bot"
    assert "active" not in stored
    assert not lab.in_live_chat()
    assert "group" not in lab.member()
    assert lab.group(made["groupId"])["active"] is False
    assert lab.ops(assignment_id) == ["open", "close"]
    assert lab.timeouts(assignment_id) == []


def test_remove_pending_assignment_leaves_a_taken_one(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]
    lab.store.update(
        ASSIGNMENTS, {"_id": ObjectId(assignment_id)}, {"$set": {"status": "assigned", "assignee": "agent-1"}}
    )

    result = lab.ok("removePendingAssignmentByMemberId", {"memberId": MEMBER})

    assert result == {"clientMutationId": MEMBER, "removed": 0}
    assert lab.assignment(assignment_id)["active"] is True
    assert lab.in_live_chat()
    assert lab.ops(assignment_id) == ["open"]
    assert len(lab.timeouts(assignment_id)) == 1


def test_remove_pending_assignment_without_one(lab: Lab) -> None:
    assert lab.ok("removePendingAssignmentByMemberId", {"memberId": MEMBER}) == {
        "clientMutationId": MEMBER,
        "removed": 0,
    }


def test_remove_pending_assignment_of_another_apps_member(lab: Lab) -> None:
    theirs = lab.foreign()

    result = lab.ok("removePendingAssignmentByMemberId", {"memberId": FOREIGN_MEMBER})

    assert result["removed"] == 0
    assert lab.assignment(theirs["assignment"])["active"] is True
    assert lab.in_live_chat(FOREIGN_MEMBER)


@pytest.mark.parametrize(
    ("params", "words"),
    [({}, "'memberId' is required"), ({"memberId": 5}, "'memberId' must be a string, got number")],
)
def test_remove_pending_assignment_validates_its_parameters(lab: Lab, params: Any, words: str) -> None:
    lab.create()

    assert_names(
        lab.fails("removePendingAssignmentByMemberId", params), "ParamError", "removePendingAssignmentByMemberId", words
    )
    assert lab.in_live_chat()


# updateAssignmentGroup / updateAssignmentMeta --------------------------------------------------


def test_update_assignment_group_saves_group_info_and_whatsapp_group_id(lab: Lab, clock: Any) -> None:
    assignment_id = lab.create()["assignmentId"]
    clock.advance(minutes=2)

    result = lab.ok(
        "updateAssignmentGroup",
        {"assignmentId": assignment_id, "group": {"name": "VIP", "size": 3}, "whatsappGroupId": "wa-1"},
    )

    stored = lab.assignment(assignment_id)
    assert stored["groupInfo"] == {"name": "VIP", "size": 3}
    assert stored["whatsappGroupId"] == "wa-1"
    assert stored["_version"] == 2
    assert stored["updatedAt"] == START + 2 * MINUTE
    assert set(result) == UPDATED_KEYS
    assert result == {"_docsIds": {"updated": [assignment_id]}, "_docs": [visible(stored)], "modified": 1}


def test_update_assignment_group_with_the_whatsapp_group_id_alone(lab: Lab) -> None:
    assignment_id = lab.create()["assignmentId"]

    lab.ok("updateAssignmentGroup", {"assignmentId": assignment_id, "whatsappGroupId": "wa-2"})

    stored = lab.assignment(assignment_id)
    assert stored["whatsappGroupId"] == "wa-2"
    assert stored["groupInfo"] == {}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"group": {"a": 1}}, ["'assignmentId' is required"]),
        ({"assignmentId": "A"}, ["give group or whatsappGroupId"]),
        ({"assignmentId": "A", "group": "VIP"}, ["'group' must be an object, got string"]),
        ({"assignmentId": "A", "whatsappGroupId": 852}, ["'whatsappGroupId' must be a string"]),
        ({"assignmentId": "A", "group": {"$set": {"a": 1}}}, ["group"]),
        ({"assignmentId": "A", "group": {"a.b": 1}}, ["group"]),
    ],
)
def test_update_assignment_group_validates_its_parameters(lab: Lab, params: dict[str, Any], words: list[str]) -> None:
    assignment_id = lab.create()["assignmentId"]
    if params.get("assignmentId") == "A":
        params = {**params, "assignmentId": assignment_id}
    before = lab.assignment(assignment_id)

    assert_names(lab.fails("updateAssignmentGroup", params), "ParamError", "updateAssignmentGroup", *words)
    assert lab.assignment(assignment_id) == before


def test_update_assignment_meta_merges_key_by_key(lab: Lab) -> None:
    assignment_id = lab.create(meta={"tier": "gold", "n": 1})["assignmentId"]

    result = lab.ok("updateAssignmentMeta", {"assignmentId": assignment_id, "meta": {"n": 2, "seen": True}})

    stored = lab.assignment(assignment_id)
    assert stored["meta"] == {"tier": "gold", "n": 2, "seen": True}
    assert stored["_version"] == 2
    assert set(result) == UPDATED_KEYS
    assert result == {"_docsIds": {"updated": [assignment_id]}, "_docs": [visible(stored)], "modified": 1}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"meta": {"a": 1}}, ["'assignmentId' is required"]),
        ({"assignmentId": "A"}, ["'meta' is required"]),
        ({"assignmentId": "A", "meta": [1]}, ["'meta' must be an object, got array"]),
        ({"assignmentId": "A", "meta": {"a.b": 1}}, ["meta"]),
        ({"assignmentId": "A", "meta": {"$inc": {"n": 1}}}, ["meta"]),
    ],
)
def test_update_assignment_meta_validates_its_parameters(lab: Lab, params: dict[str, Any], words: list[str]) -> None:
    assignment_id = lab.create(meta={"n": 1})["assignmentId"]
    if params.get("assignmentId") == "A":
        params = {**params, "assignmentId": assignment_id}
    before = lab.assignment(assignment_id)

    assert_names(lab.fails("updateAssignmentMeta", params), "ParamError", "updateAssignmentMeta", *words)
    assert lab.assignment(assignment_id) == before


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("updateAssignmentMeta", {"meta": {"tier": "bronze"}}),
        ("updateAssignmentGroup", {"group": {"name": "mine"}}),
        ("updateAssignmentGroup", {"whatsappGroupId": "wa-9"}),
    ],
)
def test_update_assignment_of_another_app_is_not_found(lab: Lab, method: str, params: dict[str, Any]) -> None:
    theirs = lab.foreign()["assignment"]
    before = lab.assignment(theirs)

    error = lab.fails(method, {"assignmentId": theirs, **params})

    assert_names(error, "NotFound", method, theirs)
    assert lab.assignment(theirs) == before


@pytest.mark.parametrize("method", ["updateAssignmentMeta", "updateAssignmentGroup"])
def test_update_unknown_assignment_is_not_found(lab: Lab, method: str) -> None:
    assert_names(
        lab.fails(
            method,
            {"assignmentId": NOWHERE, "meta": {"a": 1}}
            if method == "updateAssignmentMeta"
            else {"assignmentId": NOWHERE, "group": {"a": 1}},
        ),
        "NotFound",
        method,
        NOWHERE,
    )


# endLiveChat --------------------------------------------------------------------------------


def assert_ended(lab: Lab, made: dict[str, Any], reason: str) -> None:
    """The live chat ``made`` by createAssignment has ended the way every end does."""
    stored = lab.assignment(made["assignmentId"])
    assert stored["status"] == "ended"
    assert stored["endReason"] == reason
    assert "active" not in stored
    assert not lab.in_live_chat()
    if "groupId" in made:
        assert lab.group(made["groupId"])["active"] is False
    assert lab.ops(made["assignmentId"]) == ["open", "close"]
    assert lab.timeouts(made["assignmentId"]) == []


def test_end_live_chat_from_the_outlet_group(lab: Lab) -> None:
    made = lab.create(createGroup={})
    group = visible(lab.group(made["groupId"]))

    result = lab.ok("endLiveChat", {"channel": lab.channel(CUSTOM)}, channel=CUSTOM, group=group, member=None)

    assert result == {"member": lab.member(), "assignmentId": made["assignmentId"], "groupId": made["groupId"]}
    assert result["member"]["botMeta"]["liveChat"] is False
    assert_ended(lab, made, "agent")


def test_end_live_chat_by_the_conversation_id_of_the_message(lab: Lab) -> None:
    made = lab.create(createGroup={"externalId": "conv-1"})

    result = lab.ok(
        "endLiveChat",
        {"channel": lab.channel(CUSTOM), "messageEvent": {"groupId": "conv-1", "type": "TEXT"}},
        member=None,
    )

    assert result["assignmentId"] == made["assignmentId"]
    assert_ended(lab, made, "agent")


def test_end_live_chat_reads_the_runs_message_event(lab: Lab) -> None:
    made = lab.create(createGroup={"externalId": "conv-1"})

    result = lab.ok("endLiveChat", {"channel": lab.channel(CUSTOM)}, member=None, messageEvent={"groupId": "conv-1"})

    assert result["assignmentId"] == made["assignmentId"]


def test_end_live_chat_from_the_inlet_as_the_platform_stores_members(lab: Lab) -> None:
    """Members the platform makes refer to their channel by ObjectId."""
    lab.store.update(MEMBERS, {"_id": ObjectId(MEMBER)}, {"$set": {"channel": ObjectId(INLET)}})
    made = lab.create()

    result = lab.ok("endLiveChat", {"channel": lab.channel(INLET), "messageEvent": {"from": "u-1", "type": "TEXT"}})

    assert result == {"member": lab.member(), "assignmentId": made["assignmentId"], "groupId": None}
    assert_ended(lab, made, "member")


def test_end_live_chat_from_the_inlet_with_a_string_channel_reference(lab: Lab) -> None:
    made = lab.create()

    result = lab.call("endLiveChat", {"channel": lab.channel(INLET), "messageEvent": {"from": "u-1"}})

    assert result.ok, result.error
    assert_ended(lab, made, "member")


def test_end_live_chat_without_one_is_not_found(lab: Lab) -> None:
    error = lab.fails("endLiveChat", {"channel": lab.channel(CUSTOM), "messageEvent": {"groupId": "conv-1"}})

    assert_names(error, "NotFound", "endLiveChat", CUSTOM)


@pytest.mark.parametrize(
    ("channel", "kind", "words"),
    [
        (None, "ParamError", ["'channel' is required"]),
        (CUSTOM, "ParamError", ["'channel' must be an object, got string"]),
        ({"name": "Our desk"}, "ParamError", ["channel", "_id"]),
        ({"_id": NOWHERE}, "NotFound", [NOWHERE]),
        ({"_id": FOREIGN}, "PermissionDenied", [FOREIGN, "another app"]),
    ],
)
def test_end_live_chat_checks_the_channel(lab: Lab, channel: Any, kind: str, words: list[str]) -> None:
    made = lab.create(createGroup={"externalId": "conv-1"})
    params = {"messageEvent": {"groupId": "conv-1"}}
    if channel is not None:
        params["channel"] = channel

    assert_names(lab.fails("endLiveChat", params), kind, "endLiveChat", *words)
    assert lab.assignment(made["assignmentId"])["active"] is True


def test_end_live_chat_validates_the_message_event(lab: Lab) -> None:
    error = lab.fails("endLiveChat", {"channel": lab.channel(CUSTOM), "messageEvent": "conv-1"})

    assert_names(error, "ParamError", "endLiveChat", "'messageEvent' must be an object")


def test_end_live_chat_cannot_end_another_apps_chat(lab: Lab) -> None:
    theirs = lab.foreign()
    their_group = lab.ok("getGroup", {"groupId": theirs["group"]}, app=OTHER_APP, member=None)
    lab.create(createGroup={})  # ours, on CUSTOM

    by_group = lab.fails("endLiveChat", {"channel": lab.channel(CUSTOM)}, group=their_group, member=None)
    by_id = lab.fails("endLiveChat", {"channel": lab.channel(CUSTOM), "messageEvent": {"groupId": "conv-x"}})

    assert_names(by_group, "NotFound", "endLiveChat")
    assert_names(by_id, "NotFound", "endLiveChat")
    assert lab.assignment(theirs["assignment"])["active"] is True
    assert lab.in_live_chat(FOREIGN_MEMBER)


# inletEndLiveChat ----------------------------------------------------------------------------


def test_inlet_end_live_chat_answers_the_updated_group(lab: Lab, clock: Any) -> None:
    made = lab.create(createGroup={"externalId": "conv-1"})
    clock.advance(minutes=3)

    result = lab.ok("inletEndLiveChat", {"channel": lab.channel(INLET), "member": lab.member()})

    assert set(result) == GROUP_KEYS
    assert result == visible(lab.group(made["groupId"]))
    assert result["_id"] == made["groupId"]
    assert result["updatedAt"] == START + 3 * MINUTE
    assert_ended(lab, made, "member")


def test_inlet_end_live_chat_without_a_group_answers_the_assignment(lab: Lab) -> None:
    made = lab.create()

    result = lab.ok("inletEndLiveChat", {"channel": lab.channel(INLET), "member": lab.member()})

    assert set(result) == ASSIGNMENT_KEYS | ENDED_KEYS
    assert result == visible(lab.assignment(made["assignmentId"]))
    assert result["status"] == "ended"
    assert_ended(lab, made, "member")


def test_inlet_end_live_chat_without_a_live_chat_is_null(lab: Lab) -> None:
    assert lab.ok("inletEndLiveChat", {"channel": lab.channel(INLET), "member": lab.member()}) is None
    assert lab.store.count(OUTBOX, {}) == 0


def test_inlet_end_live_chat_with_recall_relay_message_warns(lab: Lab) -> None:
    lab.create()

    result = lab.call(
        "inletEndLiveChat",
        {"channel": lab.channel(INLET), "member": lab.member(), "options": {"recallRelayMessage": True}},
    )

    assert result.ok, result.error
    assert any("recallRelayMessage" in line["message"] for line in result.logs if line["level"] == "warn")


@pytest.mark.parametrize(
    ("params", "kind", "words"),
    [
        ({"member": "M"}, "ParamError", ["'channel' is required"]),
        ({"channel": "C"}, "ParamError", ["'member' is required"]),
        ({"channel": "C", "member": MEMBER}, "ParamError", ["'member' must be an object, got string"]),
        ({"channel": "C", "member": "M", "options": True}, "ParamError", ["'options' must be an object"]),
        ({"channel": {"type": "webchat"}, "member": "M"}, "ParamError", ["channel", "_id"]),
        ({"channel": "C", "member": {"firstName": "John"}}, "ParamError", ["member", "_id"]),
        ({"channel": {"_id": FOREIGN}, "member": "M"}, "PermissionDenied", [FOREIGN]),
        ({"channel": "C", "member": {"_id": FOREIGN_MEMBER}}, "NotFound", [FOREIGN_MEMBER]),
        ({"channel": "C", "member": {"_id": NOWHERE}}, "NotFound", [NOWHERE]),
    ],
)
def test_inlet_end_live_chat_checks_its_parameters(
    lab: Lab, params: dict[str, Any], kind: str, words: list[str]
) -> None:
    theirs = lab.foreign()
    made = lab.create()
    values = {"C": lab.channel(INLET), "M": lab.member()}
    params = {name: values.get(value, value) if isinstance(value, str) else value for name, value in params.items()}

    assert_names(lab.fails("inletEndLiveChat", params), kind, "inletEndLiveChat", *words)
    assert lab.assignment(made["assignmentId"])["active"] is True
    assert lab.assignment(theirs["assignment"])["active"] is True


# sendMessageToInlet ----------------------------------------------------------------------------

HELLO = {"type": "TEXT", "text": "Hello from Alice"}


def assert_sent_to_member(lab: Lab, world: World, result: dict[str, Any], response: dict[str, Any]) -> None:
    assert set(result) == {"result", "messageEvent"}
    assert len(world.sender.sent) == 1
    sent = world.sender.sent[0]
    assert sent.member == MEMBER
    assert sent.channel == INLET
    assert sent.response == response
    assert result["messageEvent"] == sent.messageEvent
    assert result["messageEvent"]["to"] == "u-1"
    assert result["result"]["message_id"] == sent.messageEvent["messageId"]
    lines = lab.store.find(MESSAGES, {"member": ObjectId(MEMBER)})
    assert [(m["author"], m["text"]) for m in lines] == [("bot", response.get("text"))]


def test_send_message_to_inlet_from_the_outlet_group(lab: Lab, world: World) -> None:
    made = lab.create(createGroup={})
    group = visible(lab.group(made["groupId"]))

    result = lab.ok("sendMessageToInlet", {"channel": lab.channel(CUSTOM), "response": HELLO}, group=group, member=None)

    assert_sent_to_member(lab, world, result, HELLO)


def test_send_message_to_inlet_by_the_conversation_id(lab: Lab, world: World) -> None:
    lab.create(createGroup={"externalId": "conv-1"})

    result = lab.ok(
        "sendMessageToInlet",
        {"channel": lab.channel(CUSTOM), "messageEvent": {"groupId": "conv-1"}, "response": HELLO},
        member=None,
    )

    assert_sent_to_member(lab, world, result, HELLO)


@pytest.mark.parametrize(
    ("params", "kind", "words"),
    [
        ({"channel": "C"}, "ParamError", ["'response' is required"]),
        ({"response": HELLO}, "ParamError", ["'channel' is required"]),
        ({"channel": "C", "response": "hi"}, "ParamError", ["'response' must be an object, got string"]),
        ({"channel": "C", "response": {"text": "hi"}}, "ParamError", ["type"]),
        ({"channel": "C", "response": {"type": "TEXT"}}, "ParamError", ["text"]),
        ({"channel": {"_id": FOREIGN}, "response": HELLO}, "PermissionDenied", [FOREIGN]),
        ({"channel": {"_id": ROCKET}, "response": HELLO}, "NotFound", [ROCKET]),
    ],
)
def test_send_message_to_inlet_checks_its_parameters(
    lab: Lab, world: World, params: dict[str, Any], kind: str, words: list[str]
) -> None:
    lab.create(createGroup={"externalId": "conv-1"})
    if params.get("channel") == "C":
        params = {**params, "channel": lab.channel(CUSTOM)}

    error = lab.fails("sendMessageToInlet", {**params, "messageEvent": {"groupId": "conv-1"}}, member=None)

    assert_names(error, kind, "sendMessageToInlet", *words)
    assert world.sender.sent == []


def test_send_message_to_inlet_after_the_live_chat_ended_is_not_found(lab: Lab, world: World) -> None:
    made = lab.create(createGroup={"externalId": "conv-1"})
    lab.end(made["assignmentId"])

    error = lab.fails(
        "sendMessageToInlet",
        {"channel": lab.channel(CUSTOM), "messageEvent": {"groupId": "conv-1"}, "response": HELLO},
        member=None,
    )

    assert_names(error, "NotFound", "sendMessageToInlet")
    assert world.sender.sent == []


def test_send_message_to_inlet_cannot_reach_another_apps_member(lab: Lab, world: World) -> None:
    theirs = lab.foreign()
    their_group = lab.ok("getGroup", {"groupId": theirs["group"]}, app=OTHER_APP, member=None)

    error = lab.fails(
        "sendMessageToInlet",
        {"channel": lab.channel(CUSTOM), "messageEvent": {"groupId": "conv-x"}, "response": HELLO},
        group=their_group,
        member=None,
    )

    assert_names(error, "NotFound", "sendMessageToInlet")
    assert world.sender.sent == []


# sendMessageToInletGroup ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["groupId", "group"])
def test_send_message_to_inlet_group(lab: Lab, world: World, how: str) -> None:
    made = lab.create(createGroup={})
    group = visible(lab.group(made["groupId"]))
    params = {"groupId": made["groupId"]} if how == "groupId" else {"group": group}

    result = lab.ok("sendMessageToInletGroup", {**params, "response": HELLO})

    assert_sent_to_member(lab, world, result, HELLO)


@pytest.mark.parametrize(
    ("params", "kind", "words"),
    [
        ({"response": HELLO}, "ParamError", ["groupId", "group"]),
        ({"group": {"name": "x"}, "response": HELLO}, "ParamError", ["groupId", "group", "_id"]),
        ({"groupId": "G"}, "ParamError", ["'response' is required"]),
        ({"groupId": 5, "response": HELLO}, "ParamError", ["'groupId' must be a string"]),
        ({"group": "G", "response": HELLO}, "ParamError", ["'group' must be an object"]),
        ({"groupId": "G", "response": {"text": "hi"}}, "ParamError", ["type"]),
        ({"groupId": NOWHERE, "response": HELLO}, "NotFound", [NOWHERE]),
        ({"groupId": "THEIRS", "response": HELLO}, "NotFound", ["THEIRS"]),
    ],
)
@pytest.mark.parametrize("method", ["sendMessageToInletGroup", "sendMessageToOutletGroup"])
def test_send_message_to_a_group_checks_its_parameters(
    lab: Lab, world: World, method: str, params: dict[str, Any], kind: str, words: list[str]
) -> None:
    theirs = lab.foreign()
    made = lab.create(createGroup={})
    values = {"G": made["groupId"], "THEIRS": theirs["group"]}
    params = {name: values.get(value, value) if isinstance(value, str) else value for name, value in params.items()}
    words = [values.get(word, word) for word in words]
    queued = lab.store.count(OUTBOX, {})

    assert_names(lab.fails(method, params), kind, method, *words)
    assert world.sender.sent == []
    assert lab.store.count(OUTBOX, {}) == queued


# sendMessageToOutletGroup --------------------------------------------------------------------


def test_send_message_to_outlet_group_queues_a_bot_line(lab: Lab, world: World) -> None:
    made = lab.create(createGroup={"externalId": "conv-1"})

    result = lab.ok("sendMessageToOutletGroup", {"groupId": made["groupId"], "response": HELLO})

    assert set(result) == {"result", "messageEvent"}
    assert set(result["result"]) == {"queued", "key"}
    assert result["result"]["queued"] is True
    relay = lab.store.find_one(OUTBOX, {"op": "relay"})
    assert relay["key"] == result["result"]["key"]
    assert str(relay["assignment"]) == made["assignmentId"]
    assert str(relay["outlet"]) == CUSTOM
    assert relay["line"] == {"author": "bot", "text": "Hello from Alice", "response": HELLO}
    assert lab.ops(made["assignmentId"]) == ["open", "relay"]
    assert result["messageEvent"]["to"] == "conv-1"
    assert result["messageEvent"]["type"] == "TEXT"
    assert result["messageEvent"]["timestamp"] == START
    assert world.sender.sent == []  # nothing goes to the member


def test_send_message_to_outlet_group_twice_queues_two_lines(lab: Lab) -> None:
    made = lab.create(createGroup={})

    keys = {
        lab.ok("sendMessageToOutletGroup", {"group": {"_id": made["groupId"]}, "response": HELLO})["result"]["key"]
        for _ in range(2)
    }

    assert len(keys) == 2
    assert lab.ops(made["assignmentId"]) == ["open", "relay", "relay"]


def test_send_message_to_outlet_group_with_response_url_warns(lab: Lab) -> None:
    made = lab.create(createGroup={})

    result = lab.call(
        "sendMessageToOutletGroup", {"groupId": made["groupId"], "response": HELLO, "responseUrl": "https://x"}
    )

    assert result.ok, result.error
    assert any("responseUrl" in line["message"] for line in result.logs if line["level"] == "warn")


def test_send_message_to_outlet_group_after_the_live_chat_ended_is_not_found(lab: Lab) -> None:
    made = lab.create(createGroup={})
    lab.end(made["assignmentId"])

    error = lab.fails("sendMessageToOutletGroup", {"groupId": made["groupId"], "response": HELLO})

    assert_names(error, "NotFound", "sendMessageToOutletGroup", made["groupId"], "ended")
    assert lab.ops(made["assignmentId"]) == ["open", "close"]
