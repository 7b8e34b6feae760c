"""What every database method shares: the calling app's scope, data source
names, read caps, options and the shape of what goes back to the script.

Tenant scope is enforced here and only here: members are confined by
``app``, data sources by their id prefix (``<appId>_<name>``).
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from noderuntime.errors import NotFound, ParamError, PermissionDenied
from noderuntime.methods.params import param
from noderuntime.store.guard import check_filter, check_options, check_projection
from noderuntime.store.ids import for_script, match_id, widen_id_filter

if TYPE_CHECKING:
    from noderuntime.runtime import Run

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

#: Options of the findAndModify methods (``option``).
FIND_AND_MODIFY_OPTIONS: dict[str, tuple[type, ...]] = {
    "new": (bool,),
    "returnDocument": (str,),
    "returnOriginal": (bool,),
    "projection": (dict,),
    "fields": (dict,),
    "upsert": (bool,),
}

#: The parameters naming a data source, shared by every data source method.
SOURCE_PARAMS = {"collectionName": param(str), "dataSourceId": param(str)}

#: The parameters of both findAndModify methods.
FIND_AND_MODIFY_PARAMS = {
    "filter": param(dict, required=True),
    "patch": param(dict, required=True),
    "withModifier": param(bool, default=True),
    "sortBy": param(dict),
    "option": param(dict),
}


def app_of(run: Run) -> str:
    """The calling app's id; a run without one cannot touch the database."""
    if not run.app:
        raise PermissionDenied("this run has no app: give the context an app id (context.app or member.app)")
    return run.app


def scoped(run: Run, query: Any, where: str = "filter", **fields: Any) -> dict[str, Any]:
    """A checked filter confined to the calling app (and ``fields``), with
    ``_id`` matching either stored form. The app (and ``fields``) match
    either stored form too: the platform stores references as ObjectIds,
    documents seeded by hand often as strings."""
    query = widen_id_filter(check_filter(query, where))
    scope = {
        "app": match_id(app_of(run)),
        **{name: match_id(value) for name, value in fields.items() if value is not None},
    }
    return {"$and": [scope, query]} if query else scope


def data_source(run: Run, dataSourceId: str | None, collectionName: str | None = None) -> str:
    """The collection of the data source a call names (``dataSourceId``, or
    ``collectionName`` within the calling app). Another app's id is refused;
    an unknown one is not found, with a suggestion."""
    app = app_of(run)
    if dataSourceId is None and collectionName is None:
        raise ParamError("give dataSourceId or collectionName")
    if collectionName is not None:
        if not _NAME.fullmatch(collectionName):
            raise ParamError(f"collectionName {collectionName!r} is not a data source name (letters, digits, _ and -)")
        name = f"{app}_{collectionName}"
        if dataSourceId is not None and dataSourceId != name:
            raise ParamError(
                f"dataSourceId {dataSourceId!r} and collectionName {collectionName!r} name different data sources"
            )
    else:
        assert dataSourceId is not None
        owner, _, rest = dataSourceId.partition("_")
        if not owner or not _NAME.fullmatch(rest or "-"):
            raise ParamError(f"dataSourceId {dataSourceId!r} is not of the form <appId>_<name>")
        if owner != app:
            raise PermissionDenied(f"data source {dataSourceId} belongs to another app")
        name = dataSourceId
    if not run.store.has_collection(name):
        # Compare the names within the app: the shared <appId>_ prefix would make any two look alike.
        prefix = app + "_"
        mine = [n[len(prefix) :] for n in run.store.collection_names() if n.startswith(prefix)]
        close = difflib.get_close_matches(name[len(prefix) :], mine, n=1)
        hint = f"; did you mean {prefix}{close[0]}?" if close else ""
        raise NotFound(f"data source {name} does not exist{hint}")
    return name


def read_limit(run: Run, limit: int | None) -> int:
    """How many documents a read may return: the script's ``limit`` or the
    run's cap, whichever is smaller."""
    cap = run.limits.read_documents
    if limit is not None and limit < 1:
        raise ParamError(f"limit must be at least 1, got {limit}")
    return min(limit, cap) if limit is not None else cap


def cut(run: Run, method: str, items: list[Any], allowed: int, asked: int | None) -> list[Any]:
    """``items`` (fetched with one extra) cut to ``allowed``; a cut the script
    did not ask for is reported in the run's log and call record."""
    if len(items) <= allowed:
        return items
    if asked is None or asked > allowed:
        run.warn(
            f"{method} returned the first {allowed} results; more matched "
            f"(the most one read returns is {run.limits.read_documents}; use limit and skip to page)"
        )
        if run.current_call is not None:
            run.current_call["truncated"] = True
    return items[:allowed]


def find_and_modify_options(
    option: dict[str, Any] | None, allow_upsert: bool
) -> tuple[bool, bool, dict[str, Any] | None]:
    """``(return_new, upsert, projection)`` from a findAndModify ``option``."""
    option = check_options(option, FIND_AND_MODIFY_OPTIONS)
    if "upsert" in option and not allow_upsert:
        raise ParamError("option 'upsert' is not available for members: members are created by the platform")
    return_new = bool(option.get("new", False))
    if "returnDocument" in option:
        if option["returnDocument"] not in ("before", "after"):
            raise ParamError("option: 'returnDocument' must be 'before' or 'after'")
        return_new = option["returnDocument"] == "after"
    if "returnOriginal" in option:
        return_new = not option["returnOriginal"]
    if "projection" in option and "fields" in option:
        raise ParamError("option: give projection or fields (the same thing), not both")
    projection = check_projection(option.get("projection", option.get("fields")), "option.projection")
    return return_new, bool(option.get("upsert", False)), projection


def shaped(document: Any) -> Any:
    """Stored data as the script sees it (ids as strings)."""
    return None if document is None else for_script(document)


def updated(ids: list[str], documents: Any, modified: int) -> dict[str, Any]:
    """The documented answer of the update methods:
    ``{_docsIds: {updated: [ids]}, _docs, modified}``."""
    return {"_docsIds": {"updated": ids}, "_docs": documents, "modified": modified}
