"""Lookups of the calling app's channels and admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from noderuntime.methods import method
from noderuntime.methods.params import param
from noderuntime.methods.scope import scoped
from noderuntime.store.ids import for_script
from noderuntime.store.schema import CHANNELS

if TYPE_CHECKING:
    from noderuntime.runtime import Run


def _admin(document: dict[str, Any] | None) -> dict[str, Any] | None:
    if document is None:
        return None
    return {
        "appId": for_script(document.get("app")),
        "adminId": for_script(document["_id"]),
        "externalId": for_script(document.get("externalId")),
    }


@method(channelId=param(str, required=True))
def getChannel(run: Run, *, channelId: str) -> dict[str, Any] | None:
    """``{channelId, appId}`` of a channel of the calling app, or null."""
    found = run.store.find_one(CHANNELS, scoped(run, {"_id": channelId}))
    return None if found is None else {"channelId": for_script(found["_id"]), "appId": for_script(found.get("app"))}


@method(adminId=param(str, required=True))
def getAdmin(run: Run, *, adminId: str) -> dict[str, Any] | None:
    """``{appId, adminId, externalId}`` of an admin of the calling app, or null."""
    return _admin(run.store.find_one("admins", scoped(run, {"_id": adminId})))


@method(externalId=param(str, required=True))
def getAdminByExternalId(run: Run, *, externalId: str) -> dict[str, Any] | None:
    """The calling app's admin with this platform id, as :func:`getAdmin`."""
    return _admin(run.store.find_one("admins", scoped(run, {"externalId": externalId})))
