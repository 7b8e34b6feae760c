"""Agenda methods through real scripts: newAgenda, updateAgenda, deleteMemberAgenda."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import Config
from noderuntime.engine.agenda.agendas import AGENDAS, INTERNAL
from noderuntime.runtime import Runtime
from noderuntime.store import Store
from tests.noderuntime.conftest import FROZEN_NOW
from tests.noderuntime.methods.conftest import (
    APP,
    CHANNEL,
    FOREIGN_CHANNEL,
    FOREIGN_ID,
    HEX_ID,
    JOHN_ID,
    MARY_ID,
    OTHER_APP,
    Api,
    john,
    reseed,
    seed,
)

HOUR = 3_600_000
#: The documented example's ids.
TREE = "5f74430000000000000000e1"
NODE = "abcdefghijklmnop"
NODE2 = "qrstuvwxyzabcdef"
#: A tree of another app.
FOREIGN_TREE = "5f74430000000000000000e9"
LATER = FROZEN_NOW + HOUR
#: FROZEN_NOW is 2020-10-01 00:00 in Hong Kong: 09:00 there is 01:00 UTC, nine hours on.
NINE_IN_HONG_KONG = FROZEN_NOW + 9 * HOUR
#: 09:00 UTC that day.
NINE_UTC = FROZEN_NOW + 17 * HOUR
UNTIL = FROZEN_NOW + 30 * 24 * HOUR
DOCUMENTED_KEYS = {
    "_id",
    "app",
    "channel",
    "member",
    "tree",
    "nodeCompositeId",
    "nextRunAt",
    "priority",
    "meta",
    "tag",
    "completed",
}


def extra() -> dict[str, list[dict[str, Any]]]:
    """What the agenda methods need besides the shared seed: trees and the app's time zone."""
    return {
        "apps": [{"_id": APP, "timezone": "Asia/Hong_Kong"}],
        "trees": [
            {
                "_id": ObjectId(TREE),
                "app": APP,
                "name": "Reminders",
                "nodes": {
                    NODE: {"name": "Remind", "responses": [{"type": "TEXT", "text": "Drink water"}]},
                    NODE2: {"name": "Other", "responses": [{"type": "TEXT", "text": "Other"}]},
                },
            },
            {
                "_id": ObjectId(FOREIGN_TREE),
                "app": OTHER_APP,
                "name": "Theirs",
                "nodes": {NODE: {"name": "Theirs", "responses": [{"type": "TEXT", "text": "Theirs"}]}},
            },
        ],
    }


@pytest.fixture
def store() -> Store:
    """The shared seed, trees and the app's time zone (overrides the methods' store)."""
    return Store.embedded_store({**seed(), **extra()})


@pytest.fixture(params=["inprocess", "isolated"])
def both(request: pytest.FixtureRequest) -> Api:
    """The test once in-process and once across the worker process boundary."""
    if request.param == "inprocess":
        return Api(request.getfixturevalue("runtime"), "inprocess")
    pool = request.getfixturevalue("pool_runtime")
    reseed(pool.store)
    pool.store.load(extra())
    return Api(pool, "isolated")


def new(api: Api, **params: Any) -> dict[str, Any]:
    """newAgenda for John at LATER on the documented node, with ``params`` on top."""
    return api.ok(
        "newAgenda", {"memberId": JOHN_ID, "treeId": TREE, "nodeCompositeId": NODE, "nextRunAt": LATER, **params}
    )


def new_fails(api: Api, **params: Any) -> dict[str, Any]:
    """The error of a newAgenda for John on the documented node, with ``params`` on top (None drops one)."""
    merged = {"memberId": JOHN_ID, "treeId": TREE, "nodeCompositeId": NODE, **params}
    return api.fails("newAgenda", {key: value for key, value in merged.items() if value is not None})


def stored(api: Api, agenda_id: str) -> dict[str, Any]:
    found = api.store.find_one(AGENDAS, {"_id": ObjectId(agenda_id)})
    assert found is not None
    return found


def all_agendas(api: Api) -> list[dict[str, Any]]:
    return api.store.find(AGENDAS, {}, sort=[("createdAt", 1), ("nextRunAt", 1)])


def ids(documents: list[dict[str, Any]]) -> set[str]:
    return {str(document["_id"]) for document in documents}


# newAgenda: what it returns and stores ------------------------------------------------------


def test_new_agenda_with_the_documented_example_returns_the_documented_shape(both):
    got = both.ok(
        "newAgenda",
        {
            "memberId": JOHN_ID,
            "treeId": TREE,
            "nodeCompositeId": NODE,
            "nextRunAt": 1609430400000,
            "priority": 1,
            "meta": {"testing": True},
            "replace": True,
            "tag": "testing-agenda",
        },
    )
    assert DOCUMENTED_KEYS <= set(got)
    assert {key: got[key] for key in DOCUMENTED_KEYS - {"_id"}} == {
        "app": APP,
        "channel": CHANNEL,
        "member": JOHN_ID,
        "tree": TREE,
        "nodeCompositeId": NODE,
        "nextRunAt": 1609430400000,
        "priority": 1,
        "meta": {"testing": True},
        "tag": "testing-agenda",
        "completed": False,
    }
    assert isinstance(got["_id"], str) and ObjectId.is_valid(got["_id"])
    assert not set(INTERNAL) & set(got)
    # A one-time agenda has no pattern.
    assert "pattern" not in got and "runUntil" not in got


def test_new_agenda_stores_the_agenda_for_the_scheduler(api):
    got = new(api, priority=2, meta={"a": 1}, tag="t")
    document = stored(api, got["_id"])
    assert document["member"] == ObjectId(JOHN_ID)  # John is stored with an ObjectId
    assert document["tree"] == TREE
    assert (document["nextRunAt"], document["priority"], document["meta"], document["tag"]) == (LATER, 2, {"a": 1}, "t")
    assert (document["completed"], document["runCount"], document["failCount"]) == (False, 0, 0)
    assert (document["createdAt"], document["updatedAt"]) == (FROZEN_NOW, FROZEN_NOW)
    assert not set(INTERNAL) & set(document)


def test_new_agenda_defaults_priority_meta_and_tag(api):
    got = new(api)
    assert (got["priority"], got["meta"], got["tag"], got["completed"]) == (0, {}, None, False)


def test_new_agenda_result_reads_like_a_js_object_in_the_script(api):
    source = (
        f"a = this.newAgenda(memberId={JOHN_ID!r}, treeId={TREE!r}, nodeCompositeId={NODE!r}, "
        f"nextRunAt={LATER}, meta={{'k': 'v'}})\nreturn [a._id == str(a._id), a.member, a.meta.k, a.completed]"
    )
    result = api.run(source)
    assert result.ok, result.error
    assert result.value == [True, JOHN_ID, "v", False]


@pytest.mark.parametrize("member_id", [JOHN_ID, HEX_ID, MARY_ID], ids=["objectid", "hex-string", "plain-string"])
def test_new_agenda_finds_the_member_however_its_id_is_stored(api, member_id):
    got = new(api, memberId=member_id)
    assert got["member"] == member_id


# newAgenda: memberId or member ------------------------------------------------------------------


def test_new_agenda_takes_the_member_object_instead_of_member_id(both):
    member = {**john(), "_id": JOHN_ID}
    source = f"return this.newAgenda(member=this.member, treeId={TREE!r}, nodeCompositeId={NODE!r}, nextRunAt={LATER})"
    result = both.run(source, {"member": member})
    assert result.ok, result.error
    assert (result.value["member"], result.value["channel"]) == (JOHN_ID, CHANNEL)


def test_new_agenda_takes_member_id_and_member_when_they_agree(api):
    got = new(api, member={"_id": JOHN_ID, "firstName": "John"})
    assert got["member"] == JOHN_ID


def test_new_agenda_refuses_member_id_and_member_naming_different_members(api):
    error = new_fails(api, nextRunAt=LATER, member={"_id": MARY_ID})
    assert (error["type"], error["message"]) == (
        "ParamError",
        "newAgenda: memberId and member._id name different members",
    )
    assert all_agendas(api) == []


@pytest.mark.parametrize("member", [{"_id": 5}, {}, {"_id": ["x"]}, {"firstName": "John"}, {"_id": {"$oid": JOHN_ID}}])
def test_new_agenda_wants_member_id_to_be_a_string(api, member):
    error = new_fails(api, memberId=None, member=member, nextRunAt=LATER)
    assert (error["type"], error["message"]) == (
        "ParamError",
        "newAgenda: member._id must be the member's id (a string)",
    )


def test_new_agenda_wants_member_id_or_member(api):
    error = new_fails(api, memberId=None, nextRunAt=LATER)
    assert (error["type"], error["message"]) == ("ParamError", "newAgenda: give memberId (or member)")


@pytest.mark.parametrize("member_id", ["5f74430000000000000000ff", "nobody", FOREIGN_ID])
def test_new_agenda_for_an_unknown_or_another_apps_member_is_not_found(api, member_id):
    error = new_fails(api, memberId=member_id, nextRunAt=LATER)
    assert (error["type"], error["message"]) == ("NotFound", f"newAgenda: no member {member_id} in this app")
    assert all_agendas(api) == []


# newAgenda: the node ------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["treeId", "nodeCompositeId"])
def test_new_agenda_wants_tree_id_and_node_composite_id(api, missing):
    error = new_fails(api, nextRunAt=LATER, **{missing: None})
    assert (error["type"], error["message"]) == (
        "ParamError",
        "newAgenda: 'treeId' and 'nodeCompositeId' are required: the node the agenda runs",
    )


def test_new_agenda_on_a_node_that_does_not_exist_is_not_found_with_a_suggestion(api):
    error = new_fails(api, nodeCompositeId="abcdefghijklmnoq", nextRunAt=LATER)
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"newAgenda: tree {TREE} has no node abcdefghijklmnoq; did you mean {NODE}?",
    )
    assert all_agendas(api) == []


@pytest.mark.parametrize("tree_id", ["5f74430000000000000000ee", "no-such-tree", FOREIGN_TREE])
def test_new_agenda_on_an_unknown_or_another_apps_tree_is_not_found(api, tree_id):
    error = new_fails(api, treeId=tree_id, nextRunAt=LATER)
    assert (error["type"], error["message"]) == ("NotFound", f"newAgenda: tree {tree_id} does not exist in this app")
    assert all_agendas(api) == []


# newAgenda: when --------------------------------------------------------------------------------------


def test_new_agenda_wants_next_run_at_or_pattern(api):
    error = new_fails(api)
    assert (error["type"], error["message"]) == ("ParamError", "newAgenda: give nextRunAt (epoch ms) or pattern (CRON)")


@pytest.mark.parametrize("name", ["nextRunAt", "runUntil"])
def test_new_agenda_refuses_a_time_in_seconds_with_a_hint(api, name):
    params = (
        {"nextRunAt": 1_609_430_400} if name == "nextRunAt" else {"pattern": "0 9 * * *", "runUntil": 1_609_430_400}
    )
    error = new_fails(api, **params)
    assert (error["type"], error["message"]) == (
        "ParamError",
        f"newAgenda: '{name}' must be epoch milliseconds; 1609430400 looks like seconds "
        "(this.moment().add(5, 'minutes').valueOf() gives milliseconds)",
    )


@pytest.mark.parametrize("name", ["nextRunAt", "runUntil"])
def test_new_agenda_refuses_negative_times(api, name):
    params = {"nextRunAt": -1} if name == "nextRunAt" else {"pattern": "0 9 * * *", "runUntil": -1}
    error = new_fails(api, **params)
    assert (error["type"], error["message"]) == (
        "ParamError",
        f"newAgenda: '{name}' must be a time in epoch milliseconds, got -1",
    )


def test_new_agenda_accepts_a_time_from_moment(api):
    source = (
        f"return this.newAgenda(memberId={JOHN_ID!r}, treeId={TREE!r}, nodeCompositeId={NODE!r}, "
        "nextRunAt=this.moment().add(5, 'minutes').valueOf())"
    )
    result = api.run(source)
    assert result.ok, result.error
    assert result.value["nextRunAt"] == FROZEN_NOW + 5 * 60_000


def test_new_agenda_accepts_a_whole_float_time(api):
    assert new(api, nextRunAt=float(LATER))["nextRunAt"] == LATER


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("61 * * * *", "'pattern' '61 * * * *' is not a valid CRON pattern"),
        ("0 9 * * MONDAY", "'pattern' '0 9 * * MONDAY' is not a valid CRON pattern"),
        ("* * * *", "'pattern' must have 5 fields (minute hour day month weekday), got 4: '* * * *'"),
        ("0 0 9 * * *", "'pattern' must have 5 fields (minute hour day month weekday), got 6: '0 0 9 * * *'"),
        ("@daily", "'pattern' must have 5 fields (minute hour day month weekday), got 1: '@daily'"),
        ("", "'pattern' must have 5 fields (minute hour day month weekday), got 0: ''"),
    ],
)
def test_new_agenda_refuses_an_invalid_pattern(api, pattern, message):
    error = new_fails(api, pattern=pattern, runUntil=UNTIL)
    assert (error["type"], error["message"]) == ("ParamError", f"newAgenda: {message}")
    assert all_agendas(api) == []


def test_new_agenda_refuses_a_pattern_that_never_occurs(api):
    error = new_fails(api, pattern="0 0 30 2 *", runUntil=UNTIL)
    assert error["type"] == "ParamError"
    assert error["message"].startswith("newAgenda: pattern '0 0 30 2 *' has no time to run")
    assert all_agendas(api) == []


def test_new_agenda_wants_run_until_with_a_pattern(api):
    error = new_fails(api, pattern="0 9 * * *")
    assert (error["type"], error["message"]) == (
        "ParamError",
        "newAgenda: 'runUntil' is required with 'pattern' (epoch ms of the last run)",
    )


def test_new_agenda_refuses_run_until_without_a_pattern(api):
    error = new_fails(api, nextRunAt=LATER, runUntil=UNTIL)
    assert (error["type"], error["message"]) == (
        "ParamError",
        "newAgenda: 'runUntil' goes with 'pattern'; a one-time agenda runs once at nextRunAt",
    )


def test_new_agenda_refuses_run_until_before_the_first_run(api):
    error = new_fails(api, pattern="0 9 * * *", runUntil=NINE_IN_HONG_KONG - 1)
    assert (error["type"], error["message"]) == (
        "ParamError",
        f"newAgenda: 'runUntil' ({NINE_IN_HONG_KONG - 1}) is before the first run ({NINE_IN_HONG_KONG}): "
        "the agenda would never run",
    )
    error = new_fails(api, pattern="0 9 * * *", nextRunAt=LATER, runUntil=LATER - 1)
    assert error["message"] == (
        f"newAgenda: 'runUntil' ({LATER - 1}) is before the first run ({LATER}): the agenda would never run"
    )
    assert all_agendas(api) == []


def test_new_agenda_accepts_run_until_at_the_first_run(api):
    got = new(api, nextRunAt=None, pattern="0 9 * * *", runUntil=NINE_IN_HONG_KONG)
    assert (got["nextRunAt"], got["runUntil"]) == (NINE_IN_HONG_KONG, NINE_IN_HONG_KONG)


def test_a_pattern_first_runs_at_its_next_occurrence_in_the_apps_time_zone(both):
    got = both.ok(
        "newAgenda",
        {"memberId": JOHN_ID, "treeId": TREE, "nodeCompositeId": NODE, "pattern": "0 9 * * *", "runUntil": UNTIL},
    )
    assert got["nextRunAt"] == NINE_IN_HONG_KONG
    assert (got["pattern"], got["runUntil"], got["completed"]) == ("0 9 * * *", UNTIL, False)
    document = stored(both, got["_id"])
    assert (document["pattern"], document["runUntil"], document["timezone"]) == ("0 9 * * *", UNTIL, "Asia/Hong_Kong")


def test_a_pattern_of_an_app_with_an_unknown_time_zone_is_read_in_utc_with_a_warning(store):
    store.update("apps", {}, {"$set": {"timezone": "Mars/Olympus"}}, multi=True)
    with Runtime(Config(mode="inprocess"), store=store, clock=lambda: FROZEN_NOW) as runtime:
        source = (
            f"return this.newAgenda({{'memberId': {JOHN_ID!r}, 'treeId': {TREE!r}, 'nodeCompositeId': {NODE!r}, "
            f"'pattern': '0 9 * * *', 'runUntil': {UNTIL}}})"
        )
        result = runtime.run(source, {"app": APP})
    assert result.ok, result.error
    assert {
        "level": "warn",
        "message": "the app's time zone 'Mars/Olympus' is not a known zone; the pattern runs in UTC",
    } in result.logs


def test_a_pattern_of_an_app_without_a_time_zone_is_read_in_utc(api):
    api.store.delete("apps", {})
    got = new(api, nextRunAt=None, pattern="0 9 * * *", runUntil=UNTIL)
    assert got["nextRunAt"] == NINE_UTC
    assert stored(api, got["_id"])["timezone"] == "UTC"


def test_next_run_at_with_a_pattern_sets_the_first_run(api):
    got = new(api, nextRunAt=LATER, pattern="0 9 * * *", runUntil=UNTIL)
    assert (got["nextRunAt"], got["pattern"], got["runUntil"]) == (LATER, "0 9 * * *", UNTIL)


# newAgenda: replace and tag ------------------------------------------------------------------------


def test_replace_wants_a_tag(api):
    error = new_fails(api, nextRunAt=LATER, replace=True)
    assert (error["type"], error["message"]) == (
        "ParamError",
        "newAgenda: 'tag' is required when 'replace' is true (the agendas with that tag are replaced)",
    )


@pytest.mark.parametrize("tag", ["", "   "])
def test_an_empty_tag_is_refused(api, tag):
    error = new_fails(api, nextRunAt=LATER, tag=tag)
    assert (error["type"], error["message"]) == ("ParamError", "newAgenda: 'tag' must not be empty")
    error = new_fails(api, nextRunAt=LATER, tag=tag, replace=True)
    assert error["type"] == "ParamError"


def test_replace_removes_the_members_pending_agendas_with_the_same_tag_only(api):
    mine = [new(api, tag="reminder")["_id"], new(api, tag="reminder", nextRunAt=LATER + 1)["_id"]]
    untagged = new(api)["_id"]
    other_tag = new(api, tag="survey")["_id"]
    other_member = new(api, memberId=MARY_ID, tag="reminder")["_id"]
    done = new(api, tag="reminder")["_id"]
    api.store.update(AGENDAS, {"_id": ObjectId(done)}, {"$set": {"completed": True}})

    replacement = new(api, tag="reminder", replace=True, nextRunAt=LATER + 5, meta={"v": 2})

    remaining = ids(all_agendas(api))
    assert not remaining & set(mine)
    assert remaining == {untagged, other_tag, other_member, done, replacement["_id"]}
    assert (replacement["tag"], replacement["nextRunAt"], replacement["meta"]) == ("reminder", LATER + 5, {"v": 2})


def test_without_replace_agendas_with_the_same_tag_pile_up(api):
    first = new(api, tag="reminder")["_id"]
    second = new(api, tag="reminder")["_id"]
    assert ids(all_agendas(api)) == {first, second}


def test_a_refused_replace_removes_nothing(api):
    kept = new(api, tag="reminder")["_id"]
    error = new_fails(api, tag="reminder", replace=True, pattern="61 * * * *", runUntil=UNTIL)
    assert error["type"] == "ParamError"
    error = new_fails(api, tag="reminder", replace=True, nextRunAt=LATER, nodeCompositeId="zzzzzzzzzzzzzzzz")
    assert error["type"] == "NotFound"
    assert ids(all_agendas(api)) == {kept}


# newAgenda: meta and parameters ------------------------------------------------------------------------


def test_meta_is_stored_as_given(api):
    meta = {"orderId": "A-1", "items": [1, 2, {"sku": "x"}], "nested": {"deep": {"ok": True}}, "none": None}
    got = new(api, meta=meta)
    assert got["meta"] == meta
    assert stored(api, got["_id"])["meta"] == meta


@pytest.mark.parametrize("meta", [[1, 2], "text", 3])
def test_meta_must_be_an_object(api, meta):
    error = new_fails(api, nextRunAt=LATER, meta=meta)
    assert error["type"] == "ParamError"
    assert error["message"].startswith("newAgenda: 'meta' must be an object, got ")


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"$set": {"x": 1}}, "newAgenda: meta: field name '$set' cannot start with '$'"),
        ({"a": {"$x": "1"}}, "newAgenda: meta: field name '$x' cannot start with '$'"),
        ({"a": [{"$x": 1}]}, "newAgenda: meta: field name '$x' cannot start with '$'"),
        ({"a.b": 1}, "newAgenda: meta: field name 'a.b' cannot contain '.'"),
    ],
)
def test_meta_may_not_hold_operator_keys(api, meta, message):
    error = new_fails(api, nextRunAt=LATER, meta=meta)
    assert (error["type"], error["message"]) == ("ParamError", message)
    assert all_agendas(api) == []


def test_meta_may_not_hold_an_operator_that_runs_code(api):
    error = new_fails(api, nextRunAt=LATER, meta={"a": {"$where": "sleep(1000)"}})
    assert error["type"] == "PermissionDenied"
    assert error["message"].startswith("newAgenda: ")
    assert "$where" in error["message"]
    assert all_agendas(api) == []


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("nextRunAT", "nextRunAt"),
        ("memberID", "memberId"),
        ("runUtil", "runUntil"),
        ("nodeCompositeID", "nodeCompositeId"),
    ],
)
def test_an_unknown_parameter_is_refused_with_a_suggestion(api, name, suggestion):
    error = new_fails(api, nextRunAt=LATER, **{name: 1})
    assert (error["type"], error["message"]) == (
        "ParamError",
        f"newAgenda: unknown parameter '{name}'; did you mean '{suggestion}'?",
    )


def test_an_unknown_parameter_unlike_any_lists_the_parameters(api):
    error = new_fails(api, nextRunAt=LATER, when=1)
    assert (error["type"], error["message"]) == (
        "ParamError",
        "newAgenda: unknown parameter 'when'; expected: memberId, member, treeId, nodeCompositeId, nextRunAt, "
        "pattern, runUntil, priority, meta, replace, tag",
    )


@pytest.mark.parametrize(
    ("name", "value", "expected", "got"),
    [
        ("memberId", 5, "a string", "number"),
        ("treeId", ["t"], "a string", "array"),
        ("nodeCompositeId", True, "a string", "boolean"),
        ("nextRunAt", "tomorrow", "a number", "string"),
        ("nextRunAt", True, "a number", "boolean"),
        ("pattern", 5, "a string", "number"),
        ("runUntil", "later", "a number", "string"),
        ("priority", "high", "a number", "string"),
        ("replace", "yes", "a boolean", "string"),
        ("replace", 1, "a boolean", "number"),
        ("tag", 7, "a string", "number"),
        ("member", JOHN_ID, "an object", "string"),
    ],
)
def test_a_parameter_of_the_wrong_type_is_refused(api, name, value, expected, got):
    error = new_fails(api, **{"nextRunAt": LATER, name: value})
    assert (error["type"], error["message"]) == ("ParamError", f"newAgenda: '{name}' must be {expected}, got {got}")


def test_a_script_may_catch_a_refused_agenda(api):
    source = (
        "try:\n"
        f"    this.newAgenda(memberId={JOHN_ID!r}, treeId={TREE!r}, nodeCompositeId={NODE!r})\n"
        "except Exception as e:\n"
        "    return [e.kind, e.message]\n"
    )
    result = api.run(source)
    assert result.ok, result.error
    assert result.value == ["ParamError", "newAgenda: give nextRunAt (epoch ms) or pattern (CRON)"]


# updateAgenda ------------------------------------------------------------------------------------------------


def test_update_agenda_changes_only_the_fields_given(both):
    first = new(both, tag="reminder", priority=3, meta={"a": 1})
    second = new(both, tag="reminder", nextRunAt=LATER + 1, priority=4, meta={"b": 2})
    got = both.ok("updateAgenda", {"memberId": JOHN_ID, "tag": "reminder", "priority": 9})
    assert set(got) == {"_docsIds", "_docs", "modified"}
    assert sorted(got["_docsIds"]["updated"]) == sorted([first["_id"], second["_id"]])
    assert got["modified"] == 2
    by_id = {doc["_id"]: doc for doc in got["_docs"]}
    assert set(by_id) == {first["_id"], second["_id"]}
    assert {key: by_id[first["_id"]][key] for key in DOCUMENTED_KEYS} == {
        **{key: first[key] for key in DOCUMENTED_KEYS},
        "priority": 9,
    }
    assert {key: by_id[second["_id"]][key] for key in DOCUMENTED_KEYS} == {
        **{key: second[key] for key in DOCUMENTED_KEYS},
        "priority": 9,
    }
    assert all(not set(INTERNAL) & set(doc) for doc in got["_docs"])
    assert stored(both, first["_id"])["updatedAt"] == FROZEN_NOW


def test_update_agenda_selects_the_members_agendas_with_the_tag(api):
    target = new(api, tag="reminder")["_id"]
    other_tag = new(api, tag="survey")["_id"]
    untagged = new(api)["_id"]
    other_member = new(api, memberId=MARY_ID, tag="reminder")["_id"]
    got = api.ok("updateAgenda", {"memberId": JOHN_ID, "tag": "reminder", "meta": {"new": True}})
    assert got["_docsIds"]["updated"] == [target]
    assert stored(api, target)["meta"] == {"new": True}
    for untouched in (other_tag, untagged, other_member):
        assert stored(api, untouched)["meta"] == {}


def test_update_agenda_without_a_tag_changes_all_the_members_pending_agendas(api):
    tagged = new(api, tag="reminder")["_id"]
    untagged = new(api)["_id"]
    done = new(api)["_id"]
    api.store.update(AGENDAS, {"_id": ObjectId(done)}, {"$set": {"completed": True}})
    other_member = new(api, memberId=MARY_ID)["_id"]
    got = api.ok("updateAgenda", {"memberId": JOHN_ID, "nextRunAt": LATER + 10})
    assert sorted(got["_docsIds"]["updated"]) == sorted([tagged, untagged])
    assert [doc["nextRunAt"] for doc in got["_docs"]] == [LATER + 10, LATER + 10]
    assert stored(api, done)["nextRunAt"] == LATER
    assert stored(api, other_member)["nextRunAt"] == LATER


def test_update_agenda_replaces_meta_whole(api):
    agenda = new(api, meta={"a": 1, "b": 2})["_id"]
    api.ok("updateAgenda", {"memberId": JOHN_ID, "meta": {"c": 3}})
    assert stored(api, agenda)["meta"] == {"c": 3}


def test_update_agenda_with_replace_resets_priority_meta_and_schedule(api):
    agenda = new(api, tag="t", nextRunAt=None, pattern="0 9 * * *", runUntil=UNTIL, priority=5, meta={"a": 1})["_id"]
    got = api.ok("updateAgenda", {"memberId": JOHN_ID, "tag": "t", "replace": True, "nextRunAt": LATER + 7})
    (doc,) = got["_docs"]
    assert (doc["nextRunAt"], doc["priority"], doc["meta"]) == (LATER + 7, 0, {})
    document = stored(api, agenda)
    assert not {"pattern", "runUntil", "timezone"} & set(document)
    assert (document["tag"], document["tree"], document["nodeCompositeId"]) == ("t", TREE, NODE)


def test_update_agenda_with_replace_wants_a_schedule(api):
    new(api)
    error = api.fails("updateAgenda", {"memberId": JOHN_ID, "replace": True, "priority": 1})
    assert (error["type"], error["message"]) == (
        "ParamError",
        "updateAgenda: give nextRunAt (epoch ms) or pattern (CRON)",
    )


def test_update_agenda_to_a_pattern_works_out_the_first_run_in_the_apps_time_zone(api):
    agenda = new(api)["_id"]
    got = api.ok("updateAgenda", {"memberId": JOHN_ID, "pattern": "0 9 * * *", "runUntil": UNTIL})
    (doc,) = got["_docs"]
    assert (doc["nextRunAt"], doc["pattern"], doc["runUntil"]) == (NINE_IN_HONG_KONG, "0 9 * * *", UNTIL)
    assert stored(api, agenda)["timezone"] == "Asia/Hong_Kong"
    error = api.fails("updateAgenda", {"memberId": JOHN_ID, "pattern": "0 9 * * *"})
    assert error["message"] == "updateAgenda: 'runUntil' is required with 'pattern' (epoch ms of the last run)"


def test_update_agenda_moves_run_until_of_a_pattern(api):
    agenda = new(api, nextRunAt=None, pattern="0 9 * * *", runUntil=UNTIL)["_id"]
    got = api.ok("updateAgenda", {"memberId": JOHN_ID, "runUntil": UNTIL + HOUR})
    assert got["_docs"][0]["runUntil"] == UNTIL + HOUR
    document = stored(api, agenda)
    assert (document["nextRunAt"], document["pattern"]) == (NINE_IN_HONG_KONG, "0 9 * * *")
    error = api.fails("updateAgenda", {"memberId": JOHN_ID, "runUntil": NINE_IN_HONG_KONG - 1})
    assert (error["type"], error["message"]) == (
        "ParamError",
        f"updateAgenda: 'runUntil' ({NINE_IN_HONG_KONG - 1}) is before the agenda's next run ({NINE_IN_HONG_KONG})",
    )
    assert stored(api, agenda)["runUntil"] == UNTIL + HOUR


def test_update_agenda_with_next_run_at_postpones_a_pattern_and_keeps_it(api):
    agenda = new(api, nextRunAt=None, pattern="0 9 * * *", runUntil=UNTIL)["_id"]
    got = api.ok("updateAgenda", {"memberId": JOHN_ID, "nextRunAt": NINE_IN_HONG_KONG + HOUR})
    (doc,) = got["_docs"]
    assert (doc["nextRunAt"], doc["pattern"], doc["runUntil"]) == (NINE_IN_HONG_KONG + HOUR, "0 9 * * *", UNTIL)
    assert stored(api, agenda)["timezone"] == "Asia/Hong_Kong"


def test_changing_the_schedule_resets_the_fail_count_and_keeps_a_lock(api):
    # A run in progress keeps its claim (no second worker may take it); the
    # worker sees the move when it finishes and keeps the new time.
    agenda = new(api)["_id"]
    lock = {"lockedUntil": FROZEN_NOW + HOUR, "lockedBy": "worker-a", "lockToken": "t0k3n"}
    api.store.update(AGENDAS, {"_id": ObjectId(agenda)}, {"$set": {"failCount": 3, **lock}})
    api.ok("updateAgenda", {"memberId": JOHN_ID, "nextRunAt": LATER + 1})
    document = stored(api, agenda)
    assert (document["failCount"], document["nextRunAt"]) == (0, LATER + 1)
    assert {name: document[name] for name in INTERNAL} == lock


def test_changing_other_fields_keeps_the_lock_and_the_fail_count(api):
    agenda = new(api)["_id"]
    lock = {"lockedUntil": FROZEN_NOW + HOUR, "lockedBy": "worker-a", "lockToken": "t0k3n"}
    api.store.update(AGENDAS, {"_id": ObjectId(agenda)}, {"$set": {"failCount": 3, **lock}})
    api.ok("updateAgenda", {"memberId": JOHN_ID, "priority": 2, "meta": {"x": 1}})
    document = stored(api, agenda)
    assert document["failCount"] == 3
    assert {name: document[name] for name in INTERNAL} == lock


def test_update_agenda_moves_the_node_and_checks_it_exists(api):
    agenda = new(api)["_id"]
    api.ok("updateAgenda", {"memberId": JOHN_ID, "nodeCompositeId": NODE2})
    assert (stored(api, agenda)["tree"], stored(api, agenda)["nodeCompositeId"]) == (TREE, NODE2)
    error = api.fails("updateAgenda", {"memberId": JOHN_ID, "nodeCompositeId": "qrstuvwxyzabcdeX"})
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"updateAgenda: tree {TREE} has no node qrstuvwxyzabcdeX; did you mean {NODE2}?",
    )
    error = api.fails("updateAgenda", {"memberId": JOHN_ID, "treeId": FOREIGN_TREE})
    assert (error["type"], error["message"]) == (
        "NotFound",
        f"updateAgenda: tree {FOREIGN_TREE} does not exist in this app",
    )
    assert stored(api, agenda)["nodeCompositeId"] == NODE2


def test_a_refused_update_changes_no_agenda(api):
    new(api, meta={"a": 1})
    before = all_agendas(api)
    for params in (
        {"nextRunAt": 1_609_430_400, "meta": {"b": 2}},
        {"pattern": "61 * * * *", "runUntil": UNTIL, "meta": {"b": 2}},
        {"meta": {"$set": {"b": 2}}},
        {"nodeCompositeId": "zzzzzzzzzzzzzzzz", "meta": {"b": 2}},
    ):
        api.fails("updateAgenda", {"memberId": JOHN_ID, **params})
    assert all_agendas(api) == before


def test_update_agenda_with_nothing_to_update_is_refused(api):
    new(api, tag="t")
    for params in ({"memberId": JOHN_ID}, {"memberId": JOHN_ID, "tag": "t"}):
        error = api.fails("updateAgenda", params)
        assert (error["type"], error["message"]) == (
            "ParamError",
            "updateAgenda: nothing to update: give nextRunAt, pattern, runUntil, priority, meta, treeId or nodeCompositeId",
        )


def test_update_agenda_of_a_member_without_agendas_updates_nothing(api):
    new(api, tag="t")
    got = api.ok("updateAgenda", {"memberId": MARY_ID, "priority": 1})
    assert got == {"_docsIds": {"updated": []}, "_docs": [], "modified": 0}
    got = api.ok("updateAgenda", {"memberId": JOHN_ID, "tag": "other", "priority": 1})
    assert got == {"_docsIds": {"updated": []}, "_docs": [], "modified": 0}


def test_update_agenda_wants_member_id(api):
    error = api.fails("updateAgenda", {"priority": 1})
    assert (error["type"], error["message"]) == ("ParamError", "updateAgenda: 'memberId' is required")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"priority": "1"}, "updateAgenda: 'priority' must be a number, got string"),
        ({"tag": ""}, "updateAgenda: 'tag' must not be empty"),
        ({"priorty": 1}, "updateAgenda: unknown parameter 'priorty'; did you mean 'priority'?"),
        (
            {"member": {"_id": JOHN_ID}, "priority": 1},
            "updateAgenda: unknown parameter 'member'; did you mean 'memberId'?",
        ),
        (
            {"runUntil": 5},
            "updateAgenda: 'runUntil' must be epoch milliseconds; 5 looks like seconds "
            "(this.moment().add(5, 'minutes').valueOf() gives milliseconds)",
        ),
    ],
)
def test_update_agenda_checks_its_parameters(api, params, message):
    new(api)
    error = api.fails("updateAgenda", {"memberId": JOHN_ID, **params})
    assert (error["type"], error["message"]) == ("ParamError", message)


# deleteMemberAgenda ------------------------------------------------------------------------------------------


def test_delete_member_agenda_by_tag(both):
    gone = [new(both, tag="reminder")["_id"], new(both, tag="reminder", nextRunAt=LATER + 1)["_id"]]
    kept = {new(both, tag="survey")["_id"], new(both)["_id"], new(both, memberId=MARY_ID, tag="reminder")["_id"]}
    got = both.ok("deleteMemberAgenda", {"memberId": JOHN_ID, "tag": "reminder"})
    assert set(got) == {"clientMutationId", "deleted"}
    assert isinstance(got["clientMutationId"], str) and got["clientMutationId"]
    assert got["deleted"] == 2
    assert ids(all_agendas(both)) == kept
    assert not ids(all_agendas(both)) & set(gone)


def test_delete_member_agenda_without_a_tag_deletes_all_the_members_agendas(api):
    new(api, tag="reminder")
    new(api)
    done = new(api, tag="old")["_id"]
    api.store.update(AGENDAS, {"_id": ObjectId(done)}, {"$set": {"completed": True}})
    marys = new(api, memberId=MARY_ID)["_id"]
    got = api.ok("deleteMemberAgenda", {"memberId": JOHN_ID})
    assert got["deleted"] == 3
    assert ids(all_agendas(api)) == {marys}
    assert api.ok("deleteMemberAgenda", {"memberId": JOHN_ID})["deleted"] == 0


def test_delete_member_agenda_gives_a_new_client_mutation_id_each_time(api):
    first = api.ok("deleteMemberAgenda", {"memberId": JOHN_ID})["clientMutationId"]
    second = api.ok("deleteMemberAgenda", {"memberId": JOHN_ID})["clientMutationId"]
    assert first != second


def test_delete_member_agenda_of_an_unknown_member_deletes_nothing(api):
    new(api)
    assert api.ok("deleteMemberAgenda", {"memberId": "nobody"})["deleted"] == 0
    assert len(all_agendas(api)) == 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "deleteMemberAgenda: 'memberId' is required"),
        ({"memberId": JOHN_ID, "tag": ""}, "deleteMemberAgenda: 'tag' must not be empty"),
        ({"memberId": JOHN_ID, "tags": "x"}, "deleteMemberAgenda: unknown parameter 'tags'; did you mean 'tag'?"),
        ({"memberId": 5}, "deleteMemberAgenda: 'memberId' must be a string, got number"),
    ],
)
def test_delete_member_agenda_checks_its_parameters(api, params, message):
    new(api)
    error = api.fails("deleteMemberAgenda", params)
    assert (error["type"], error["message"]) == ("ParamError", message)
    assert len(all_agendas(api)) == 1


# Tenant scope --------------------------------------------------------------------------------------------------


def foreign_agenda(api: Api, tag: str | None = "reminder") -> str:
    """An agenda of another app's member, stored as the scheduler would."""
    return str(
        api.store.insert_one(
            AGENDAS,
            {
                "app": OTHER_APP,
                "channel": FOREIGN_CHANNEL,
                "member": ObjectId(FOREIGN_ID),
                "tree": FOREIGN_TREE,
                "nodeCompositeId": NODE,
                "nextRunAt": LATER,
                "priority": 0,
                "meta": {"theirs": True},
                "tag": tag,
                "completed": False,
                "runCount": 0,
                "failCount": 0,
                "createdAt": FROZEN_NOW,
                "updatedAt": FROZEN_NOW,
            },
        )
    )


def test_agendas_of_another_apps_member_cannot_be_deleted(api):
    theirs = foreign_agenda(api)
    for params in ({"memberId": FOREIGN_ID}, {"memberId": FOREIGN_ID, "tag": "reminder"}):
        assert api.ok("deleteMemberAgenda", params)["deleted"] == 0
    assert ids(all_agendas(api)) == {theirs}


def test_agendas_of_another_apps_member_cannot_be_updated(api):
    theirs = foreign_agenda(api)
    before = all_agendas(api)
    error = api.fails("updateAgenda", {"memberId": FOREIGN_ID, "priority": 5})
    assert (error["type"], error["message"]) == ("NotFound", f"updateAgenda: no member {FOREIGN_ID} in this app")
    assert all_agendas(api) == before
    assert ids(before) == {theirs}


def test_replace_does_not_reach_another_apps_agendas(api):
    theirs = foreign_agenda(api)
    mine = new(api, tag="reminder", replace=True)["_id"]
    assert ids(all_agendas(api)) == {theirs, mine}


def test_an_agenda_is_made_in_the_calling_apps_scope(api):
    # The other app's script cannot plan for this app's member, nor on this app's tree.
    error = api.fails(
        "newAgenda",
        {"memberId": JOHN_ID, "treeId": FOREIGN_TREE, "nodeCompositeId": NODE, "nextRunAt": LATER},
        app=OTHER_APP,
    )
    assert (error["type"], error["message"]) == ("NotFound", f"newAgenda: no member {JOHN_ID} in this app")
    error = api.fails(
        "newAgenda",
        {"memberId": FOREIGN_ID, "treeId": TREE, "nodeCompositeId": NODE, "nextRunAt": LATER},
        app=OTHER_APP,
    )
    assert (error["type"], error["message"]) == ("NotFound", f"newAgenda: tree {TREE} does not exist in this app")
    got = api.ok(
        "newAgenda",
        {"memberId": FOREIGN_ID, "treeId": FOREIGN_TREE, "nodeCompositeId": NODE, "nextRunAt": LATER},
        app=OTHER_APP,
    )
    assert (got["app"], got["member"], got["channel"]) == (OTHER_APP, FOREIGN_ID, FOREIGN_CHANNEL)


def test_a_run_without_an_app_cannot_plan_agendas(api):
    error = api.fails(
        "newAgenda", {"memberId": JOHN_ID, "treeId": TREE, "nodeCompositeId": NODE, "nextRunAt": LATER}, app=None
    )
    assert error["type"] == "PermissionDenied"
    assert all_agendas(api) == []
