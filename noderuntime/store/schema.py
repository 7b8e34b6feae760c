"""The platform's collections and the indexes created when a store opens.

Later parts of the runtime add their collections here, so one list says what
the database holds.
"""

from __future__ import annotations

from typing import Any

APPS = "apps"
CHANNELS = "channels"
MEMBERS = "members"
ADMINS = "admins"
TREES = "trees"
AGENDAS = "agendas"

#: (collection, keys, options) for ``create_index``.
INDEXES: list[tuple[str, list[tuple[str, int]], dict[str, Any]]] = [
    # One member per user of a channel: two first messages at once make one
    # member. Members made by hand without an externalId are left out.
    (
        MEMBERS,
        [("app", 1), ("channel", 1), ("externalId", 1)],
        {
            "name": "app_channel_externalId_unique",
            "unique": True,
            "partialFilterExpression": {"externalId": {"$type": "string"}},
        },
    ),
    (MEMBERS, [("app", 1), ("updatedAt", -1)], {"name": "app_updatedAt"}),
    (CHANNELS, [("app", 1)], {"name": "app"}),
    (ADMINS, [("app", 1), ("externalId", 1)], {"name": "app_externalId"}),
    (APPS, [("name", 1)], {"name": "name"}),
    (TREES, [("app", 1)], {"name": "app"}),
    # The scheduler's claim: due, unfinished agendas, earliest first.
    (AGENDAS, [("completed", 1), ("nextRunAt", 1), ("priority", 1)], {"name": "due"}),
    (AGENDAS, [("app", 1), ("member", 1), ("tag", 1)], {"name": "app_member_tag"}),
]

#: Collections the platform owns. A data source's collection is named by its
#: id (``<appId>_<name>``), so it can never collide with these.
PLATFORM_COLLECTIONS = frozenset(collection for collection, _keys, _options in INDEXES)
