"""Attacks on the database through the methods: server-side code, other
apps' data, protected member fields, hostile regexes and oversized queries.

Every attempt runs on the shared isolated pool; each must fail with a named
error on the author's line (or, where the attack is a silent widening, leave
the other app's data untouched), and the pool must serve the next run.
"""

from __future__ import annotations

import threading

import pytest

from tests.security.conftest import refused

ME = "app1"
OTHER = "app2"
CONTEXT = {"app": ME, "member": {"_id": "m-mine", "app": ME, "meta": {}}}


@pytest.fixture(scope="module", autouse=True)
def seeded(runtime):
    store = runtime.store
    store.load(
        {
            "members": [
                {"_id": "m-mine", "app": ME, "channel": "c1", "meta": {"n": 1}, "createdAt": 1},
                {"_id": "m-theirs", "app": OTHER, "channel": "c2", "meta": {"secret": "s"}, "createdAt": 1},
            ],
            f"{ME}_coupon": [{"_id": f"k{i}", "code": f"C{i}", "text": "a" * 50_000 + "b"} for i in range(3)],
            f"{OTHER}_coupon": [{"_id": "t1", "code": "THEIRS"}],
            f"{ME}_big": [{"n": i} for i in range(1_500)],
            f"{ME}_slow": [{"n": i, "tags": [-1 - i % 7, -1 - i % 11]} for i in range(20_000)],
        }
    )
    return store


def call(method: str, params: str) -> str:
    return f"return this.{method}({params})"


DENIED = [
    # server-side JavaScript, anywhere in a query
    ("where-top", call("fetchDataFromDataSource", f'dataSourceId="{ME}_coupon", filter={{"$where": "sleep(1000)"}}'), "$where runs JavaScript"),
    ("where-in-or", call("fetchDataFromDataSource", f'dataSourceId="{ME}_coupon", filter={{"$or": [{{"code": "C1"}}, {{"$where": "1"}}]}}'), "$where runs JavaScript"),
    ("where-in-elemmatch", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"tags": {{"$elemMatch": {{"$where": "1"}}}}}}'), "$where runs JavaScript"),
    ("where-as-id-condition", "me = this.getMember(memberId='m-mine')\nthis.findAndModifyMember(filter={'_id': {'$where': '1'}}, patch={'a': 1})", "$where runs JavaScript"),
    ("where-in-equality-subdocument", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"code": {{"nested": {{"$where": "1"}}}}}}'), "$where runs JavaScript"),
    ("function-in-expr", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"$expr": {{"$function": {{"body": "function() {{return true}}", "args": [], "lang": "js"}}}}}}'), "$function runs JavaScript"),
    ("function-deep-in-expr", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"$expr": {{"$cond": [{{"$eq": [1, 1]}}, {{"$function": {{}}}}, False]}}}}'), "$function runs JavaScript"),
    ("accumulator-in-expr", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"$expr": {{"$accumulator": {{}}}}}}'), "$accumulator runs JavaScript"),
    ("where-in-pull", call("patchDataToDataSource", f'dataSourceId="{ME}_coupon", patch={{"$pull": {{"tags": {{"$where": "1"}}}}}}, withModifier=True'), "$where runs JavaScript"),
    ("where-as-update-operator", call("patchDataToDataSource", f'dataSourceId="{ME}_coupon", patch={{"$where": "1"}}, withModifier=True'), "$where runs JavaScript"),
    ("where-as-field-name", call("upsertDataToDataSource", f'dataSourceId="{ME}_coupon", data={{"$where": "1"}}'), "$where runs JavaScript"),
    # writing or reading elsewhere
    ("out-as-option", call("findAndModifyDataFromDataSource", f'dataSourceId="{ME}_coupon", filter={{}}, patch={{"$set": {{"a": 1}}}}, option={{"$out": "members"}}'), "$out writes to another collection"),
    ("merge-as-option", call("patchDataToDataSource", f'dataSourceId="{ME}_coupon", patch={{"a": 1}}, options={{"$merge": "members"}}'), "$merge writes to another collection"),
    ("lookup-in-filter", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"$lookup": {{"from": "members"}}}}'), "$lookup reads another collection"),
    ("mapreduce-as-option", call("findAndModifyMember", 'filter={}, patch={"$set": {"a": 1}}, option={"mapReduce": "x"}'), "mapReduce runs JavaScript"),
    # another app's data sources
    ("foreign-data-source", call("fetchDataFromDataSource", f'dataSourceId="{OTHER}_coupon"'), f"data source {OTHER}_coupon belongs to another app"),
    ("foreign-data-source-write", call("upsertDataToDataSource", f'dataSourceId="{OTHER}_coupon", data={{"code": "MINE"}}'), "belongs to another app"),
    ("foreign-find-and-modify", call("findAndModifyDataFromDataSource", f'dataSourceId="{OTHER}_coupon", filter={{}}, patch={{"code": "X"}}, withModifier=False'), "belongs to another app"),
    # protected member fields
    ("patch-app", call("findAndModifyMember", f'filter={{}}, patch={{"app": "{OTHER}"}}, withModifier=False'), "cannot change app"),
    ("patch-channel-by-operator", call("findAndModifyMember", 'filter={}, patch={"$set": {"channel": "c2"}}'), "cannot change channel"),
    ("rename-into-app", call("findAndModifyMember", 'filter={}, patch={"$rename": {"meta": "app"}}'), "cannot change app"),
    ("unset-created-at", call("patchMembers", 'memberId="m-mine", patch={"$unset": {"createdAt": 1}}, withModifier=True'), "cannot change createdAt"),
    ("replace-with-other-app", call("findAndModifyMember", f'filter={{}}, patch={{"app": "{OTHER}", "meta": {{}}}}, withModifier=True'), "cannot change app"),
    ("replace-id", call("findAndModifyMember", 'filter={}, patch={"_id": "m-theirs", "meta": {}}, withModifier=True'), "cannot change _id"),
    ("update-member-other-app", call("updateMember", f'member={{"_id": "m-mine", "app": "{OTHER}"}}'), "cannot change app"),
]

PARAM_ERRORS = [
    ("collection-name-traversal", call("fetchDataFromDataSource", 'collectionName="../members"'), "is not a data source name"),
    ("collection-name-system", call("fetchDataFromDataSource", 'collectionName="system.users"'), "is not a data source name"),
    ("data-source-platform-collection", call("fetchDataFromDataSource", 'dataSourceId="members"'), "is not of the form <appId>_<name>"),
    ("backreference-regex", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"code": {{"$regex": "(C)\\\\1"}}}}'), "backreferences and lookarounds are not allowed"),
    ("lookahead-regex", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"code": {{"$regex": "(?=C)"}}}}'), "backreferences and lookarounds are not allowed"),
    ("regex-extended-option", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"code": {{"$regex": "C", "$options": "x"}}}}'), "$options may only combine"),
    ("natural-sort", call("fetchDataFromDataSource", f'dataSourceId="{ME}_coupon", sortBy={{"$natural": 1}}'), "cannot have a segment starting with '$'"),
    ("dollar-projection", call("findAndModifyDataFromDataSource", f'dataSourceId="{ME}_coupon", filter={{}}, patch={{"$set": {{"a": 1}}}}, option={{"projection": {{"$where": 1}}}}'), "$where runs JavaScript"),
    ("deep-filter", f"q = 1\nfor i in range(40):\n    q = {{'a': q}}\nreturn this.countDataSource(dataSourceId='{ME}_coupon', filter={{'x': q}})", "nested more than 32 levels deep"),
    ("huge-filter", f"return this.countDataSource(dataSourceId='{ME}_coupon', filter={{'code': 'x' * 1_100_000}})", "the limit is 1048576 bytes"),
    # work that would hold the embedded store's lock for seconds, or fill the host's memory
    ("long-in", f"return this.countDataSource(dataSourceId='{ME}_coupon', filter={{'code': {{'$in': list(range(50000))}}}})", "$in has 50000 values; the limit is 1000"),
    ("long-all", f"return this.countDataSource(dataSourceId='{ME}_coupon', filter={{'code': {{'$all': list(range(5000))}}}})", "$all has 5000 values; the limit is 1000"),
    ("many-branches", f"return this.countDataSource(dataSourceId='{ME}_coupon', filter={{'$or': [{{'code': i}} for i in range(20000)]}})", "$or has 20000 conditions; the limit is 100"),
    ("concat-bomb", f"return this.countDataSource(dataSourceId='{ME}_coupon', filter={{'$expr': {{'$eq': [{{'$concat': ['$text'] * 1000}}, 'y']}}}})", "$concat of more than 16 strings"),
    ("nested-concat-bomb", f"c = '$text'\nfor i in range(5):\n    c = {{'$concat': [c, c, c]}}\nreturn this.countDataSource(dataSourceId='{ME}_coupon', filter={{'$expr': {{'$eq': [c, 'y']}}}})", "$concat of more than 16 strings"),
    ("array-index-bomb", call("patchDataToDataSource", f'dataSourceId="{ME}_coupon", filter={{"_id": "k0"}}, patch={{"tags.30000000": 1}}'), "names array index 30000000; the limit is 10000"),
    ("array-index-bomb-member", call("updateMember", 'member={"_id": "m-mine", "tags.20000000": "x"}'), "names array index 20000000"),
    ("regex-inside-all", call("countDataSource", f'dataSourceId="{ME}_coupon", filter={{"items": {{"$all": [{{"$elemMatch": {{"sku": {{"$regex": "^(a|aa)+\\\\1$"}}}}}}]}}}}'), "backreferences and lookarounds are not allowed"),
]


@pytest.mark.parametrize("name, source, fragment", DENIED, ids=[case[0] for case in DENIED])
def test_refused_with_permission_denied(attempt, name, source, fragment):
    result = attempt(source, CONTEXT)
    refused(result, "PermissionDenied", fragment, line=source.count("\n") + 1)


@pytest.mark.parametrize("name, source, fragment", PARAM_ERRORS, ids=[c[0] for c in PARAM_ERRORS])
def test_refused_as_a_bad_parameter(attempt, name, source, fragment):
    result = attempt(source, CONTEXT)
    refused(result, "PermissionDenied" if "$where" in fragment else "ParamError", fragment)


def test_another_apps_member_is_invisible_and_untouched(attempt, seeded):
    source = f"""
a = this.getMember(memberId="m-theirs")
b = this.findAndModifyMember(filter={{"app": "{OTHER}"}}, patch={{"meta.secret": "stolen"}}, withModifier=False)
c = this.findAndModifyMember(filter={{"$or": [{{"app": "{OTHER}"}}, {{"_id": "m-theirs"}}]}}, patch={{"meta.secret": "stolen"}}, withModifier=False)
d = this.patchMembers(memberId="m-theirs", patch={{"meta.secret": "stolen"}})
e = this.checkAndSaveMemberReferFrom(memberId="m-mine", referFrom="x")
return [a, b.member, c.member, d.result]
"""
    result = attempt(source, CONTEXT)
    assert result.ok, result.error
    assert result.value == [None, None, None, None]
    theirs = seeded.find_one("members", {"_id": "m-theirs"})
    assert theirs["meta"] == {"secret": "s"} and "referFrom" not in theirs


def test_update_member_of_another_app_is_not_found(attempt, seeded):
    result = attempt('return this.updateMember(member={"_id": "m-theirs", "meta": {"secret": "stolen"}})', CONTEXT)
    refused(result, "NotFound", "updateMember: no member m-theirs in this app", line=1)
    assert seeded.find_one("members", {"_id": "m-theirs"})["meta"] == {"secret": "s"}


def test_the_app_comes_from_the_host_not_from_the_script(attempt, seeded):
    source = f"""
this.member.app = "{OTHER}"
return this.fetchDataFromDataSource(dataSourceId="{OTHER}_coupon")
"""
    refused(attempt(source, CONTEXT), "PermissionDenied", "belongs to another app", line=3)


def test_a_run_without_an_app_cannot_touch_the_database(attempt):
    refused(
        attempt('return this.getMember(memberId="m-mine")', {"member": {"_id": "m-mine"}}),
        "PermissionDenied",
        "this run has no app",
        line=1,
    )


def test_a_catastrophic_regex_cannot_stall_the_host(attempt):
    # (a+)+$ backtracks exponentially in a backtracking engine on "aaa...ab";
    # the embedded store matches with RE2, so the run ends with an answer.
    source = f'return this.countDataSource(dataSourceId="{ME}_coupon", filter={{"text": {{"$regex": "(a+)+$"}}}})'
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", attempt(source, CONTEXT)))
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the regex stalled the host"
    result = outcome["result"]
    assert result.ok, result.error
    assert result.value == 0


def test_reads_are_capped_and_say_so(attempt):
    result = attempt(f'return len(this.fetchDataFromDataSource(dataSourceId="{ME}_big"))', CONTEXT)
    assert result.ok, result.error
    assert result.value == 1000
    assert any("returned the first 1000 results; more matched" in line["message"] for line in result.logs)


def test_a_slow_query_stops_when_the_runs_time_is_up(attempt, seeded):
    # Within every cap, yet slow on the embedded store: 100 branches of 1,000
    # values against 20,000 rows that match none (so no branch cuts it short;
    # the count would take about 150 s). It must not hold the store's lock past
    # the run's own wall budget (1.5 s here) while other runs wait.
    source = (
        f"q = {{'$or': [{{'tags': {{'$in': list(range(b * 1000, b * 1000 + 1000))}}}} for b in range(100)]}}\n"
        f"return this.countDataSource(dataSourceId='{ME}_slow', filter=q)"
    )
    result = attempt(source, CONTEXT)
    refused(result, "StoreError", "count: the query ran past the time the run had left", line=2)
    assert seeded.count(f"{ME}_slow", {"n": 1}) == 1  # the store still answers
