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
ASSIGNMENTS = "assignments"
GROUPS = "groups"
#: Calls to live-chat outlets waiting to be made (or made), in order per assignment.
OUTBOX = "outbox"
#: Events from live-chat outlets' webhooks, kept until handled (and to handle each once).
INBOX = "inbox"
#: The conversation history: what members sent and what they were sent.
MESSAGES = "messages"

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
    # One live chat at a time per member: two requests at once make one assignment.
    (
        ASSIGNMENTS,
        [("app", 1), ("member", 1)],
        {"name": "app_member_active_unique", "unique": True, "partialFilterExpression": {"active": True}},
    ),
    (ASSIGNMENTS, [("app", 1), ("outlet", 1), ("createdAt", -1)], {"name": "app_outlet"}),
    (GROUPS, [("app", 1), ("member", 1)], {"name": "app_member"}),
    (GROUPS, [("app", 1), ("externalId", 1)], {"name": "app_externalId"}),
    # A line is queued once however often its message is delivered to us.
    (OUTBOX, [("key", 1)], {"name": "key_unique", "unique": True}),
    (OUTBOX, [("status", 1), ("nextAttemptAt", 1)], {"name": "due"}),
    (OUTBOX, [("assignment", 1), ("seq", 1)], {"name": "assignment_seq"}),
    (INBOX, [("status", 1), ("receivedAt", 1)], {"name": "pending"}),
    (MESSAGES, [("app", 1), ("member", 1), ("createdAt", -1)], {"name": "app_member_createdAt"}),
]

#: Collections the platform owns. A data source's collection is named by its
#: id (``<appId>_<name>``), so it can never collide with these.
PLATFORM_COLLECTIONS = frozenset(collection for collection, _keys, _options in INDEXES)
