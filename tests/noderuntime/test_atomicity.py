"""findAndModify is atomic through a whole script run, under concurrency.

The seed's coupon pattern: a member is marked as served and a coupon is
claimed with findAndModify, with filters that no longer match once changed,
so spamming the button or concurrent events never deliver twice. Runs go
through the real worker pool, eight at a time.

The same test runs against a real MongoDB when ``NODERUNTIME_TEST_MONGO_URI``
is set.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from noderuntime.config import Config
from noderuntime.runtime import Runtime
from noderuntime.store import Store

APP = "a12345678901234567890123"
COUPONS = 2_000
#: Members who press the button again after being served.
SPAMMERS = 200

CLAIM = f"""
me = this.member._id
gate = this.findAndModifyMember(
    filter={{"_id": me, "botMeta.tempData.couponClaimed": {{"$ne": True}}}},
    patch={{"botMeta.tempData.couponClaimed": True}},
    withModifier=False,
)
if not gate.member:
    return None
got = this.findAndModifyDataFromDataSource(
    dataSourceId="{APP}_coupon",
    filter={{"location": "HK", "memberId": None}},
    patch={{"memberId": me, "deliveredAt": this.moment().valueOf()}},
    withModifier=False,
    sortBy={{"priority": 1}},
    option={{"new": True}},
)
return got.value and got.value.couponCode
"""

REAL_MONGO = os.environ.get("NODERUNTIME_TEST_MONGO_URI")


def seed() -> dict[str, list[dict]]:
    members = [{"_id": f"m{i:05d}", "app": APP, "channel": "c1", "botMeta": {"tempData": {}}} for i in range(COUPONS)]
    coupons = [
        {"_id": f"d{i:05d}", "location": "HK", "couponCode": f"C{i:05d}", "priority": i % 7, "memberId": None}
        for i in range(COUPONS)
    ]
    return {"members": members, f"{APP}_coupon": coupons}


@pytest.fixture(
    params=[
        "embedded",
        pytest.param(
            "mongodb",
            marks=pytest.mark.skipif(
                not REAL_MONGO,
                reason="set NODERUNTIME_TEST_MONGO_URI to run against a real MongoDB "
                "(no MongoDB server can be installed on the build machines)",
            ),
        ),
    ]
)
def store(request) -> Iterator[Store]:
    if request.param == "embedded":
        yield Store.embedded_store(seed())
        return
    name = f"noderuntime_test_{uuid.uuid4().hex[:12]}"
    real = Store.connect(REAL_MONGO, name)
    try:
        real.load(seed())
        yield real
    finally:
        real.database.client.drop_database(name)
        real.close()


def test_concurrent_claims_deliver_every_coupon_once_and_no_member_twice(store):
    attempts = [f"m{i:05d}" for i in range(COUPONS)] + [f"m{i:05d}" for i in range(SPAMMERS)]
    with Runtime(Config(workers=2), store=store) as runtime:

        def claim(member_id: str) -> tuple[str, object]:
            result = runtime.run(CLAIM, {"app": APP, "member": {"_id": member_id, "app": APP}})
            assert result.ok, result.error
            return member_id, result.value

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(claim, attempts))

    delivered = [code for _member, code in outcomes if code is not None]
    assert len(delivered) == COUPONS
    assert len(set(delivered)) == COUPONS
    per_member = Counter(member for member, code in outcomes if code is not None)
    assert max(per_member.values()) == 1
    assert len(per_member) == COUPONS
    rows = store.find(f"{APP}_coupon", {})
    assert all(row["memberId"] is not None for row in rows)
    assert Counter(row["memberId"] for row in rows).most_common(1)[0][1] == 1
    # The member each row names is the member whose run returned that code.
    returned = {code: member for member, code in outcomes if code is not None}
    assert all(returned[row["couponCode"]] == row["memberId"] for row in rows)


def test_a_claim_made_before_the_script_raises_stays_claimed(store):
    script = f"""
got = this.findAndModifyDataFromDataSource(
    dataSourceId="{APP}_coupon", filter={{"memberId": None}}, patch={{"memberId": "m00000"}},
    withModifier=False, sortBy={{"couponCode": 1}}, option={{"new": True}},
)
raise ValueError("something went wrong after the claim")
"""
    with Runtime(Config(workers=1), store=store) as runtime:
        result = runtime.run(script, {"app": APP, "member": {"_id": "m00000", "app": APP}})
    assert not result.ok
    assert result.error["type"] == "ValueError"
    assert result.error["line"] == 6
    claimed = store.find_one(f"{APP}_coupon", {"memberId": "m00000"})
    assert claimed is not None and claimed["couponCode"] == "C00000"
