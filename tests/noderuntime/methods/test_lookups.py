"""Lookups through real scripts: getChannel, getAdmin, getAdminByExternalId."""

from __future__ import annotations

import pytest
from bson import ObjectId

from tests.noderuntime.methods.conftest import (
    ADMIN_ID,
    ADMIN_STR_ID,
    APP,
    CHANNEL,
    FOREIGN_ADMIN_ID,
    FOREIGN_CHANNEL,
    OTHER_APP,
    STR_CHANNEL,
    seed,
)

UNKNOWN_ID = "5f74430000000000000000ff"

#: Each lookup with its one parameter.
LOOKUPS = {"getChannel": "channelId", "getAdmin": "adminId", "getAdminByExternalId": "externalId"}


def assert_lookups_unchanged(api) -> None:
    data = seed()
    for collection in ("channels", "admins"):
        assert api.store.find(collection, {}) == data[collection]


# getChannel -------------------------------------------------------------------------


def test_get_channel(both):
    assert both.ok("getChannel", {"channelId": CHANNEL}) == {"channelId": CHANNEL, "appId": APP}


def test_get_channel_with_keyword_and_attribute_access(api):
    assert api.run(f"return this.getChannel(channelId={CHANNEL!r}).appId").value == APP


def test_get_channel_stored_with_a_string_id(api):
    assert api.ok("getChannel", {"channelId": STR_CHANNEL}) == {"channelId": STR_CHANNEL, "appId": APP}


def test_get_channel_whose_app_is_stored_as_an_object_id(api):
    api.store.insert_one("channels", {"_id": ObjectId(UNKNOWN_ID), "app": ObjectId(APP)})
    assert api.ok("getChannel", {"channelId": UNKNOWN_ID}) == {"channelId": UNKNOWN_ID, "appId": APP}


@pytest.mark.parametrize("channel_id", [FOREIGN_CHANNEL, UNKNOWN_ID, "nope"])
def test_get_channel_of_another_app_or_unknown_is_null(both, channel_id):
    assert both.ok("getChannel", {"channelId": channel_id}) is None


def test_another_app_sees_its_own_channel(api):
    assert api.ok("getChannel", {"channelId": FOREIGN_CHANNEL}, app=OTHER_APP) == {
        "channelId": FOREIGN_CHANNEL,
        "appId": OTHER_APP,
    }
    assert api.ok("getChannel", {"channelId": CHANNEL}, app=OTHER_APP) is None


# getAdmin ---------------------------------------------------------------------------


def test_get_admin(both):
    assert both.ok("getAdmin", {"adminId": ADMIN_ID}) == {"appId": APP, "adminId": ADMIN_ID, "externalId": "U123"}


def test_get_admin_stored_with_a_string_id(api):
    assert api.ok("getAdmin", {"adminId": ADMIN_STR_ID}) == {
        "appId": APP,
        "adminId": ADMIN_STR_ID,
        "externalId": "U456",
    }


def test_get_admin_without_an_external_id(api):
    api.store.insert_one("admins", {"_id": ObjectId(UNKNOWN_ID), "app": ObjectId(APP)})
    assert api.ok("getAdmin", {"adminId": UNKNOWN_ID}) == {"appId": APP, "adminId": UNKNOWN_ID, "externalId": None}


@pytest.mark.parametrize("admin_id", [FOREIGN_ADMIN_ID, UNKNOWN_ID, "nope"])
def test_get_admin_of_another_app_or_unknown_is_null(both, admin_id):
    assert both.ok("getAdmin", {"adminId": admin_id}) is None


# getAdminByExternalId ---------------------------------------------------------------


def test_get_admin_by_external_id(both):
    assert both.ok("getAdminByExternalId", {"externalId": "U456"}) == {
        "appId": APP,
        "adminId": ADMIN_STR_ID,
        "externalId": "U456",
    }


@pytest.mark.parametrize("external_id", ["U999", "U000"])
def test_get_admin_by_external_id_of_another_app_or_unknown_is_null(both, external_id):
    assert both.ok("getAdminByExternalId", {"externalId": external_id}) is None


def test_another_app_finds_its_admin_by_external_id(api):
    assert api.ok("getAdminByExternalId", {"externalId": "U999"}, app=OTHER_APP) == {
        "appId": OTHER_APP,
        "adminId": FOREIGN_ADMIN_ID,
        "externalId": "U999",
    }


# Every lookup -----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "name"), LOOKUPS.items())
def test_lookups_require_their_parameter(api, method, name):
    error = api.fails(method, {})
    assert (error["type"], error["message"]) == ("ParamError", f"{method}: '{name}' is required")
    assert api.fails(method, {name: None})["message"] == f"{method}: '{name}' is required"


@pytest.mark.parametrize(("method", "name"), LOOKUPS.items())
@pytest.mark.parametrize(
    ("value", "kind"),
    [(1, "number"), (True, "boolean"), ([CHANNEL], "array"), ({"$ne": None}, "object"), ({"$where": "true"}, "object")],
)
def test_lookup_parameters_must_be_strings(api, method, name, value, kind):
    # A lookup takes one id: an operator in its place is refused by type and never reaches the store.
    error = api.fails(method, {name: value})
    assert (error["type"], error["message"]) == ("ParamError", f"{method}: '{name}' must be a string, got {kind}")


@pytest.mark.parametrize(("method", "name"), LOOKUPS.items())
def test_lookups_refuse_extra_parameters(api, method, name):
    error = api.fails(method, {name: "x", "$where": "sleep(100)"})
    assert (error["type"], error["message"]) == (
        "ParamError",
        f"{method}: unknown parameter '$where'; expected: {name}",
    )


@pytest.mark.parametrize(("method", "name"), LOOKUPS.items())
def test_lookups_without_an_app_are_refused(api, method, name):
    error = api.fails(method, {name: "x"}, app=None)
    assert error["type"] == "PermissionDenied"
    assert error["message"] == f"{method}: this run has no app: give the context an app id (context.app or member.app)"


@pytest.mark.parametrize(("method", "name"), LOOKUPS.items())
def test_lookups_change_nothing(api, method, name):
    api.ok(method, {name: "U123" if name == "externalId" else ADMIN_ID})
    assert_lookups_unchanged(api)


def test_a_failed_lookup_carries_the_authors_line(both):
    source = f"channel = this.getChannel(channelId={CHANNEL!r})\nadmin = this.getAdmin(adminId=channel)\nreturn admin"
    result = both.run(source)
    assert (result.error["type"], result.error["line"]) == ("ParamError", 2)
    assert result.error["message"] == "getAdmin: 'adminId' must be a string, got object"
    assert result.error["snippet"].startswith("   2 | admin = this.getAdmin(")
