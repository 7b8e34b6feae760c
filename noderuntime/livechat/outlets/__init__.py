"""The live-chat outlets, by channel ``type``."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from noderuntime.livechat.outlets.base import Fetch, Outlet

#: channel type -> "module:Class" of its outlet.
OUTLETS = {
    "custom": "noderuntime.livechat.outlets.custom:CustomOutlet",
    "rocketchat": "noderuntime.livechat.outlets.rocketchat:RocketChatOutlet",
    "supportboard": "noderuntime.livechat.outlets.supportboard:SupportBoardOutlet",
}

OutletFactory = Callable[[Fetch], Outlet]


def default_outlets() -> dict[str, OutletFactory]:
    """The outlet classes this runtime ships, by channel type."""
    found: dict[str, OutletFactory] = {}
    for kind, where in OUTLETS.items():
        module, _, name = where.partition(":")
        found[kind] = getattr(importlib.import_module(module), name)
    return found
