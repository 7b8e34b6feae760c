"""StubHttp: ``this.fetch`` answered from a fixture's stubs, every request recorded."""

from __future__ import annotations

import time

import pytest

from noderuntime.errors import BudgetExceeded, FetchError, ParamError, PermissionDenied
from noderuntime.testing.stubs import Exchange, StubHttp

API = "https://api.example.com"


@pytest.fixture
def stubs(load):
    """``stubs(*raw_stubs)``: a StubHttp built through the fixture format."""

    def stubs(*raw: dict) -> StubHttp:
        [case] = load({"script": "return 1", "http": list(raw)}, "stubs.case.json")
        return StubHttp(case.http)

    return stubs


def fetch(http: StubHttp, url: str, options: dict | None = None, *, max_bytes: int = 1_000_000, timeout: float = 5.0):
    return http.fetch(url, options, max_bytes=max_bytes, timeout=timeout)


# Matching -----------------------------------------------------------------------


def test_an_exact_url_answers_only_that_url(stubs):
    http = stubs({"url": f"{API}/u/1", "body": "one"})
    assert fetch(http, f"{API}/u/1")["body"] == "one"
    for other in (f"{API}/u/1?x=1", f"{API}/u/1/", f"{API}/u/10", "http://api.example.com/u/1"):
        with pytest.raises(FetchError):
            fetch(http, other)


def test_a_url_pattern_must_match_the_whole_url(stubs):
    http = stubs({"urlPattern": r"https://api\.example\.com/u/\d+", "body": "user"})
    assert fetch(http, f"{API}/u/1")["body"] == "user"
    assert fetch(http, f"{API}/u/12345")["body"] == "user"
    for other in (f"{API}/u/1/orders", f"{API}/u/", API.replace("https", "http") + "/u/1"):
        with pytest.raises(FetchError):
            fetch(http, other)


def test_a_stub_with_a_method_answers_only_that_method(stubs):
    http = stubs({"method": "post", "url": f"{API}/orders", "status": 201})
    assert fetch(http, f"{API}/orders", {"method": "POST", "body": "{}"})["status"] == 201
    assert fetch(http, f"{API}/orders", {"method": "post", "body": "{}"})["status"] == 201
    with pytest.raises(FetchError, match="no stub answers GET"):
        fetch(http, f"{API}/orders")
    with pytest.raises(FetchError, match="no stub answers PUT"):
        fetch(http, f"{API}/orders", {"method": "PUT", "body": "{}"})


def test_a_stub_without_a_method_answers_any_method(stubs):
    http = stubs({"url": f"{API}/x", "body": "any"})
    for method in ("GET", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        assert fetch(http, f"{API}/x", {"method": method})["body"] == "any"
    assert http.stubs[0].describe() == f"ANY {API}/x"


def test_the_first_matching_stub_wins(stubs):
    http = stubs(
        {"method": "GET", "url": f"{API}/u/1", "json": {"n": "first"}},
        {"url": f"{API}/u/1", "json": {"n": "second"}},
        {"urlPattern": ".*", "json": {"n": "catch-all"}},
        {"url": f"{API}/u/2", "json": {"n": "never: the catch-all is first"}},
    )
    assert fetch(http, f"{API}/u/1")["body"] == '{"n": "first"}'
    assert fetch(http, f"{API}/u/1", {"method": "DELETE"})["body"] == '{"n": "second"}'
    assert fetch(http, f"{API}/u/2")["body"] == '{"n": "catch-all"}'


# Responses ----------------------------------------------------------------------


def test_a_json_stub_answers_json_with_its_content_type(stubs):
    response = fetch(stubs({"url": f"{API}/j", "json": {"name": "Zoë", "n": [1, 2]}}), f"{API}/j")
    assert response["body"] == '{"name": "Zoë", "n": [1, 2]}'
    assert response["headers"] == {"content-type": "application/json"}
    assert response["bytes"] == len(response["body"].encode("utf-8"))


def test_a_json_null_stub_answers_null(stubs):
    response = fetch(stubs({"url": f"{API}/j", "json": None}), f"{API}/j")
    assert (response["body"], response["headers"]["content-type"]) == ("null", "application/json")


def test_a_body_stub_answers_text(stubs):
    response = fetch(stubs({"url": f"{API}/t", "body": "héllo"}), f"{API}/t")
    assert response["body"] == "héllo"
    assert response["headers"] == {"content-type": "text/plain; charset=utf-8"}
    assert response["bytes"] == 6


def test_a_stub_without_a_body_answers_empty_text(stubs):
    response = fetch(stubs({"url": f"{API}/e", "status": 204}), f"{API}/e")
    assert (response["body"], response["bytes"], response["status"]) == ("", 0, 204)


def test_the_stubs_own_content_type_is_kept(stubs):
    response = fetch(
        stubs({"url": f"{API}/x", "headers": {"Content-Type": "application/xml"}, "body": "<a/>"}), f"{API}/x"
    )
    assert response["headers"] == {"content-type": "application/xml"}


def test_response_headers_are_lower_cased_with_text_values(stubs):
    response = fetch(stubs({"url": f"{API}/h", "headers": {"X-Request-Id": "abc", "Retry-After": 5}}), f"{API}/h")
    assert response["headers"] == {
        "x-request-id": "abc",
        "retry-after": "5",
        "content-type": "text/plain; charset=utf-8",
    }


@pytest.mark.parametrize(
    "status, text, ok",
    [
        (200, "OK", True),
        (201, "Created", True),
        (299, "", True),
        (302, "Found", False),
        (404, "Not Found", False),
        (503, "Service Unavailable", False),
        (599, "", False),
    ],
)
def test_status_status_text_and_ok(stubs, status, text, ok):
    response = fetch(stubs({"url": f"{API}/s", "status": status}), f"{API}/s")
    assert (response["status"], response["statusText"], response["ok"]) == (status, text, ok)
    assert (response["url"], response["redirected"]) == (f"{API}/s", False)


# Delays and timeouts ------------------------------------------------------------


def test_a_delay_shorter_than_the_timeout_answers_after_the_delay(stubs):
    http = stubs({"url": f"{API}/slow", "delay": 20, "body": "late"})
    started = time.monotonic()
    response = fetch(http, f"{API}/slow", {"timeout": 1000})
    assert response["body"] == "late"
    assert time.monotonic() - started >= 0.02


def test_a_delay_longer_than_the_options_timeout_times_out(stubs):
    http = stubs({"url": f"{API}/slow", "delay": 20, "body": "late"})
    with pytest.raises(FetchError) as caught:
        fetch(http, f"{API}/slow", {"timeout": 10})
    assert caught.value.message == f"fetch: request to {API}/slow timed out after 10 ms"


def test_a_delay_longer_than_the_runs_timeout_times_out(stubs):
    http = stubs({"url": f"{API}/slow", "delay": 20})
    with pytest.raises(FetchError, match="timed out after 10 ms"):
        fetch(http, f"{API}/slow", timeout=0.01)
    with pytest.raises(FetchError, match="timed out after 10 ms"):
        fetch(http, f"{API}/slow", {"timeout": 5000}, timeout=0.01)  # the run's cap wins


def test_a_timeout_waits_the_timeout_not_the_whole_delay(stubs):
    http = stubs({"url": f"{API}/slow", "delay": 60_000})
    started = time.monotonic()
    with pytest.raises(FetchError):
        fetch(http, f"{API}/slow", {"timeout": 10})
    assert time.monotonic() - started < 5


def test_a_zero_timeout_option_means_the_runs_timeout(stubs):
    """node-fetch: ``timeout: 0`` disables the option."""
    http = stubs({"url": f"{API}/slow", "delay": 20, "body": "late"})
    assert fetch(http, f"{API}/slow", {"timeout": 0}, timeout=1.0)["body"] == "late"


# Failures -----------------------------------------------------------------------


def test_an_unstubbed_request_fails_listing_the_stubs_and_is_remembered(stubs):
    http = stubs({"method": "GET", "url": f"{API}/a"}, {"urlPattern": r"https://b\.example\.com/.*"})
    with pytest.raises(FetchError) as caught:
        fetch(http, f"{API}/c", {"method": "POST", "body": "x"})
    assert caught.value.message == (
        f"fetch: no stub answers POST {API}/c (stubs: GET {API}/a; ANY /https://b\\.example\\.com/.*/)"
    )
    assert http.unstubbed == [f"POST {API}/c"]
    assert http.requests == [Exchange("POST", f"{API}/c", {"Content-Type": "text/plain;charset=UTF-8"}, "x", None)]


def test_with_no_stubs_every_request_is_unstubbed(stubs):
    http = StubHttp([])
    with pytest.raises(FetchError, match=r"\(stubs: none\)$"):
        fetch(http, f"{API}/a")
    with pytest.raises(FetchError):
        fetch(http, f"{API}/b")
    assert http.unstubbed == [f"GET {API}/a", f"GET {API}/b"]


def test_a_response_over_max_bytes_exceeds_the_budget(stubs):
    http = stubs({"url": f"{API}/big", "body": "x" * 100})
    assert fetch(http, f"{API}/big", max_bytes=100)["bytes"] == 100
    with pytest.raises(BudgetExceeded) as caught:
        fetch(http, f"{API}/big", max_bytes=99)
    assert (caught.value.budget, caught.value.limit) == ("httpBytes", 99)
    assert caught.value.message == "httpBytes budget exceeded (limit 99 bytes)"


def test_max_bytes_counts_utf8_bytes_not_characters(stubs):
    http = stubs({"url": f"{API}/zh", "body": "你好"})
    with pytest.raises(BudgetExceeded):
        fetch(http, f"{API}/zh", max_bytes=5)


@pytest.mark.parametrize(
    "options, message",
    [
        ("nope", "fetch: options must be an object"),
        ({"mode": "cors"}, "fetch: unsupported option(s) mode (supported: method, headers, body, timeout, redirect)"),
        ({"method": "FETCH"}, "fetch: method must be one of DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"),
        ({"body": "x"}, "fetch: a GET request cannot have a body"),
        ({"method": "POST", "body": 5}, "fetch: options.body must be a string, an object or an array"),
        ({"timeout": -1}, "fetch: options.timeout must be a non-negative number of milliseconds"),
        ({"redirect": "sometimes"}, "fetch: options.redirect must be 'follow', 'manual' or 'error'"),
    ],
)
def test_options_are_validated_like_a_real_fetch(stubs, options, message):
    http = stubs({"urlPattern": ".*"})
    with pytest.raises(ParamError) as caught:
        fetch(http, f"{API}/x", options)
    assert caught.value.message == message
    assert http.requests == []
    assert http.unstubbed == []


# Recording ----------------------------------------------------------------------


def test_requests_are_recorded_in_order_with_json_bodies_parsed(stubs):
    http = stubs({"urlPattern": ".*", "status": 202})
    fetch(http, f"{API}/a", {"method": "POST", "body": {"name": "Ann", "tags": [1]}, "headers": {"X-Key": "k"}})
    fetch(http, f"{API}/b", {"method": "PUT", "body": "plain text"})
    fetch(http, f"{API}/c")
    assert [exchange.as_dict() for exchange in http.requests] == [
        {
            "method": "POST",
            "url": f"{API}/a",
            "headers": {"X-Key": "k", "Content-Type": "application/json"},
            "body": '{"name":"Ann","tags":[1]}',
            "json": {"name": "Ann", "tags": [1]},
            "status": 202,
        },
        {
            "method": "PUT",
            "url": f"{API}/b",
            "headers": {"Content-Type": "text/plain;charset=UTF-8"},
            "body": "plain text",
            "status": 202,
        },
        {"method": "GET", "url": f"{API}/c", "headers": {}, "status": 202},
    ]
    assert http.unstubbed == []


def test_a_text_body_that_is_json_is_parsed_too(stubs):
    http = stubs({"urlPattern": ".*"})
    fetch(http, f"{API}/a", {"method": "POST", "body": '{"a": 1}', "headers": {"content-type": "application/json"}})
    assert http.requests[0].as_dict()["json"] == {"a": 1}


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/admin",
        "http://127.0.0.1/x",
        "http://[::1]/x",
        "http://10.0.0.5/x",
        "ftp://api.example.com/x",
    ],
)
def test_a_stub_cannot_answer_what_production_would_refuse(stubs, url):
    http = stubs({"urlPattern": ".*", "body": "secret"})
    with pytest.raises(PermissionDenied):
        fetch(http, url)
    assert http.requests == []
