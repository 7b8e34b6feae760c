"""A seeded embedded store and runtimes with a frozen clock for the method tests.

Tests call methods the way authors do, through real scripts: ``api.call("getMember",
{"memberId": ...})`` runs ``return this.getMember({...})`` and returns the
:class:`RunResult`. ``api`` runs in-process on a fresh store per test; ``both``
runs the test once in-process and once in the worker pool (one pool for the
whole session, its store reseeded before each test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId

from noderuntime.config import Config, Limits
from noderuntime.runtime import RunResult, Runtime
from noderuntime.store import Store
from tests.noderuntime.conftest import FROZEN_NOW

APP = "a12345678901234567890123"
OTHER_APP = "b12345678901234567890123"
CREATED = 1_577_808_000_000  # 2020-01-01T00:00:00Z, as in the documented examples

# Members -----------------------------------------------------------------------
CHANNEL = "c12345678901234567890123"
OTHER_CHANNEL = "c22345678901234567890123"
#: Stored with an ObjectId, like members the platform makes (the documented example).
JOHN_ID = "5f7443000000000000000001"
#: A second John, stored with an ObjectId, created later.
JOHN2_ID = "5f7443000000000000000003"
#: Stored with a 24-hex *string* id (seeded by hand).
HEX_ID = "5f7443000000000000000002"
#: Stored with a string id that is not an ObjectId.
MARY_ID = "m12345678901234567890123"
#: Another app's member.
FOREIGN_ID = "5f7443000000000000000009"

# Data sources ------------------------------------------------------------------
COUPON = f"{APP}_coupon"
STORES = f"{APP}_stores"
EMPTY = f"{APP}_empty"
FOREIGN_COUPON = f"{OTHER_APP}_coupon"
D1 = "d12345678901234567890123"  # the documented example's row (an ObjectId)
D2 = "5f74430000000000000000d2"
D3 = "coupon-3"  # a string id
D4 = "5f74430000000000000000d4"  # a 24-hex string id stored as a string
D5 = "5f74430000000000000000d5"

# Lookups -----------------------------------------------------------------------
ADMIN_ID = "5f74430000000000000000a1"
ADMIN_STR_ID = "admin-2"
FOREIGN_ADMIN_ID = "5f74430000000000000000a9"
STR_CHANNEL = "channel-3"
FOREIGN_CHANNEL = "c92345678901234567890123"


def john() -> dict[str, Any]:
    """The documented member example, as stored."""
    return {
        "_id": ObjectId(JOHN_ID),
        "app": APP,
        "channel": CHANNEL,
        "externalId": "1234567890",
        "firstName": "John",
        "lastName": "Doe",
        "botMeta": {
            "liveChat": False,
            "subscribe": True,
            "tempData": {},
            "nodeCompositeId": "abcdefghijklmnop",
            "tree": "t12345678901234567890123",
        },
        "meta": {"checked": False},
        "platform": "custom",
        "tags": [],
        "createdAt": CREATED,
        "updatedAt": CREATED,
    }


def members() -> list[dict[str, Any]]:
    return [
        john(),
        {
            "_id": HEX_ID,
            "app": APP,
            "channel": OTHER_CHANNEL,
            "externalId": "2",
            "firstName": "Hex",
            "meta": {"checked": False},
            "createdAt": CREATED + 1000,
            "updatedAt": CREATED + 1000,
        },
        {
            "_id": ObjectId(JOHN2_ID),
            "app": APP,
            "channel": OTHER_CHANNEL,
            "externalId": "3",
            "firstName": "John",
            "lastName": "Roe",
            "meta": {"checked": True},
            "createdAt": CREATED + 2000,
            "updatedAt": CREATED + 2000,
        },
        {
            "_id": MARY_ID,
            "app": APP,
            "channel": CHANNEL,
            "externalId": "4",
            "firstName": "Mary",
            "meta": {"checked": True},
            "createdAt": CREATED + 3000,
            "updatedAt": CREATED + 3000,
        },
        {
            "_id": ObjectId(FOREIGN_ID),
            "app": OTHER_APP,
            "channel": FOREIGN_CHANNEL,
            "externalId": "1234567890",
            "firstName": "John",
            "meta": {"checked": False},
            "createdAt": CREATED,
            "updatedAt": CREATED,
        },
    ]


def coupons() -> list[dict[str, Any]]:
    def row(row_id: Any, location: str, code: str, priority: int, member: str | None = None) -> dict[str, Any]:
        return {
            "_id": row_id,
            "location": location,
            "couponCode": code,
            "priority": priority,
            "memberId": member,
            "createdAt": CREATED,
            "updatedAt": CREATED,
        }

    return [
        row(ObjectId(D1), "HK", "1234", 0),
        row(ObjectId(D2), "HK", "2345", 1),
        row(D3, "KLN", "3456", 0),
        row(D4, "HK", "4567", 2, member="m-earlier"),
        row(ObjectId(D5), "NT", "5678", 3),
    ]


#: [longitude, latitude] of the shops in the geo data source.
CENTRAL = [114.1577, 22.2820]
TST = [114.1722, 22.2988]
CAUSEWAY = [114.1849, 22.2800]
SHATIN = [114.1880, 22.3830]


def shops() -> list[dict[str, Any]]:
    return [
        {
            "_id": "central",
            "name": "Central",
            "kind": "flagship",
            "location": {"type": "Point", "coordinates": CENTRAL},
        },
        {"_id": "tst", "name": "TST", "kind": "kiosk", "location": {"type": "Point", "coordinates": TST}},
        {"_id": "causeway", "name": "Causeway Bay", "kind": "flagship", "location": CAUSEWAY},
        {"_id": "shatin", "name": "Sha Tin", "kind": "kiosk", "location": {"type": "Point", "coordinates": SHATIN}},
        {"_id": "online", "name": "Online", "kind": "web"},
    ]


def seed() -> dict[str, list[dict[str, Any]]]:
    """A fresh copy of the test database."""
    return {
        "members": members(),
        "channels": [
            {"_id": ObjectId(CHANNEL), "app": APP, "name": "Facebook"},
            {"_id": STR_CHANNEL, "app": APP, "name": "Webchat"},
            {"_id": ObjectId(FOREIGN_CHANNEL), "app": OTHER_APP, "name": "Theirs"},
        ],
        "admins": [
            {"_id": ObjectId(ADMIN_ID), "app": APP, "externalId": "U123", "name": "Ada"},
            {"_id": ADMIN_STR_ID, "app": APP, "externalId": "U456", "name": "Bo"},
            {"_id": ObjectId(FOREIGN_ADMIN_ID), "app": OTHER_APP, "externalId": "U999", "name": "Eve"},
        ],
        COUPON: coupons(),
        STORES: shops(),
        EMPTY: [],
        FOREIGN_COUPON: [
            {"_id": ObjectId("5f74430000000000000000f1"), "location": "HK", "couponCode": "9999", "memberId": None}
        ],
    }


def reseed(store: Store) -> None:
    """Drop every collection and load :func:`seed` again."""
    for name in store.collection_names():
        store.database.drop_collection(name)
    store.collection_names()  # forget the dropped names
    store.ensure_schema()
    store.load(seed())


class Api:
    """Calls methods through scripts, as an author would."""

    def __init__(self, runtime: Runtime, mode: str) -> None:
        self.runtime = runtime
        self.mode = mode

    @property
    def store(self) -> Store:
        return self.runtime.store

    def run(
        self, source: str, context: dict[str, Any] | None = None, *, app: str | None = APP, limits: Limits | None = None
    ) -> RunResult:
        """Run ``source`` for ``app`` (None: a run without an app)."""
        context = dict(context or {})
        if app is not None:
            context.setdefault("app", app)
        return self.runtime.run(source, context, mode=self.mode, limits=limits)

    def call(self, method: str, params: Any = None, **kwargs: Any) -> RunResult:
        """``return this.<method>(<params>)`` as one script."""
        return self.run(f"return this.{method}({params!r})", **kwargs)

    def ok(self, method: str, params: Any = None, **kwargs: Any) -> Any:
        """The value of a call that must succeed."""
        result = self.call(method, params, **kwargs)
        assert result.ok, result.error
        return result.value

    def fails(self, method: str, params: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The error of a call that must fail: ``{type, message, line, ...}``."""
        result = self.call(method, params, **kwargs)
        assert not result.ok, result.value
        assert result.calls[-1]["ok"] is False
        return result.error

    def stored(self, collection: str, document_id: Any) -> dict[str, Any] | None:
        """The raw stored document with this ``_id`` (exactly as given)."""
        return self.store.find_one(collection, {"_id": document_id})


@pytest.fixture
def store() -> Store:
    """A fresh embedded store holding :func:`seed`."""
    return Store.embedded_store(seed())


@pytest.fixture
def runtime(store: Store) -> Iterator[Runtime]:
    """An in-process runtime on ``store`` with the clock frozen at FROZEN_NOW."""
    with Runtime(Config(workers=1, mode="inprocess"), store=store, clock=lambda: FROZEN_NOW) as rt:
        yield rt


@pytest.fixture
def api(runtime: Runtime) -> Api:
    return Api(runtime, "inprocess")


@pytest.fixture
def capped() -> Iterator[Api]:
    """In-process, on a fresh store, with reads capped at 3 documents."""
    config = Config(workers=1, mode="inprocess").with_limits(read_documents=3)
    with Runtime(config, store=Store.embedded_store(seed()), clock=lambda: FROZEN_NOW) as rt:
        yield Api(rt, "inprocess")


@pytest.fixture(scope="session")
def pool_runtime() -> Iterator[Runtime]:
    """The one worker pool of the method tests (isolated mode)."""
    with Runtime(Config(workers=1), store=Store.embedded_store(), clock=lambda: FROZEN_NOW) as rt:
        yield rt


@pytest.fixture(params=["inprocess", "isolated"])
def both(request: pytest.FixtureRequest) -> Api:
    """The test once in-process and once across the worker process boundary."""
    if request.param == "inprocess":
        return Api(request.getfixturevalue("runtime"), "inprocess")
    pool = request.getfixturevalue("pool_runtime")
    reseed(pool.store)
    return Api(pool, "isolated")
