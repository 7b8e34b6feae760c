"""When an agenda runs: times given by authors, CRON patterns, and the next
occurrence in UTC and in the app's time zone, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest

from noderuntime.engine.agenda.schedule import (
    SECONDS_LOOK_LIKE,
    app_timezone,
    check_pattern,
    check_time,
    next_run,
    zone,
)
from noderuntime.store import Store

HOUR = 3_600_000
DAY = 24 * HOUR


def ms(iso: str) -> int:
    """Epoch ms of an ISO time with its offset."""
    return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)


def local(epoch_ms: int, timezone: str) -> str:
    """The wall-clock time of ``epoch_ms`` in ``timezone``, with its offset."""
    return dt.datetime.fromtimestamp(epoch_ms / 1000, zoneinfo.ZoneInfo(timezone)).isoformat()


def occurrences(pattern: str, after_ms: int, timezone: str | None, count: int) -> list[int]:
    found, after = [], after_ms
    for _ in range(count):
        after = next_run(pattern, after, timezone)
        found.append(after)
    return found


# check_time ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [SECONDS_LOOK_LIKE, 1_609_430_400_000, 4_102_444_800_000])
def test_check_time_accepts_epoch_milliseconds(value):
    assert check_time(value, "nextRunAt") is None


@pytest.mark.parametrize("value", [1_609_430_400, 0, 1, SECONDS_LOOK_LIKE - 1])
def test_check_time_refuses_what_looks_like_seconds_and_says_how_to_get_milliseconds(value):
    problem = check_time(value, "runUntil")
    assert problem == (
        f"'runUntil' must be epoch milliseconds; {value} looks like seconds "
        "(this.moment().add(5, 'minutes').valueOf() gives milliseconds)"
    )


@pytest.mark.parametrize("value", [-1, -1_609_430_400_000])
def test_check_time_refuses_negative_times(value):
    assert check_time(value, "nextRunAt") == f"'nextRunAt' must be a time in epoch milliseconds, got {value}"


# check_pattern ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    ["* * * * *", "0 9 * * *", "*/15 9-17 * * 1-5", "0 0 1 1 *", "30 1 * * MON", "0 0 30 2 *", "0 12 * JAN,JUL *"],
)
def test_check_pattern_accepts_five_field_cron(pattern):
    assert check_pattern(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "count"),
    [("", 0), ("@daily", 1), ("* * * *", 4), ("0 0 * * * *", 6), ("0 0 1 1 * 2030", 6), ("every day at nine", 4)],
)
def test_check_pattern_wants_five_fields(pattern, count):
    assert check_pattern(pattern) == (
        f"'pattern' must have 5 fields (minute hour day month weekday), got {count}: {pattern!r}"
    )


@pytest.mark.parametrize("pattern", ["61 * * * *", "0 25 * * *", "0 0 32 * *", "0 0 * 13 *", "a b c d e", "0 0 * * 9"])
def test_check_pattern_refuses_invalid_fields(pattern):
    assert check_pattern(pattern) == f"'pattern' {pattern!r} is not a valid CRON pattern"


# next_run in UTC ------------------------------------------------------------------------------


def test_next_run_is_strictly_after_the_given_time():
    on_the_hour = ms("2024-01-01T10:00:00+00:00")
    assert next_run("0 * * * *", on_the_hour) == on_the_hour + HOUR
    assert next_run("0 * * * *", on_the_hour - 1) == on_the_hour


def test_next_run_defaults_to_utc():
    after = ms("2024-01-01T10:30:00+00:00")
    expected = ms("2024-01-02T09:00:00+00:00")
    assert next_run("0 9 * * *", after) == expected
    assert next_run("0 9 * * *", after, None) == expected
    assert next_run("0 9 * * *", after, "UTC") == expected
    # An unknown zone name is read as UTC rather than failing a scheduler run.
    assert next_run("0 9 * * *", after, "Nowhere/Atlantis") == expected


def test_next_run_weekdays_and_months():
    friday = ms("2024-03-01T12:00:00+00:00")  # a Friday
    assert next_run("0 9 * * 1-5", friday) == ms("2024-03-04T09:00:00+00:00")  # Monday
    assert next_run("0 0 1 * *", friday) == ms("2024-04-01T00:00:00+00:00")
    assert next_run("0 0 29 2 *", friday) == ms("2028-02-29T00:00:00+00:00")


def test_a_pattern_that_never_occurs_is_a_value_error():
    with pytest.raises(ValueError, match=r"pattern '0 0 30 2 \*' has no time to run"):
        next_run("0 0 30 2 *", ms("2024-01-01T00:00:00+00:00"))
    with pytest.raises(ValueError, match="has no time to run"):
        next_run("0 0 31 4 *", ms("2024-01-01T00:00:00+00:00"), "Asia/Hong_Kong")


# next_run in a time zone ------------------------------------------------------------------------


def test_next_run_reads_the_pattern_in_the_time_zone():
    after = ms("2024-01-01T00:00:00+00:00")  # 08:00 in Hong Kong
    assert next_run("0 9 * * *", after, "Asia/Hong_Kong") == ms("2024-01-01T01:00:00+00:00")
    assert next_run("0 7 * * *", after, "Asia/Hong_Kong") == ms("2024-01-01T23:00:00+00:00")
    # The day and weekday are Hong Kong's too: Monday 1 January 02:00 in Hong Kong is Sunday in UTC.
    assert next_run("0 2 * * 1", ms("2023-12-31T12:00:00+00:00"), "Asia/Hong_Kong") == ms("2023-12-31T18:00:00+00:00")


def test_a_daily_pattern_stays_at_the_same_local_hour_across_the_spring_change():
    # New York moved its clocks forward on Sunday 10 March 2024 (02:00 EST -> 03:00 EDT).
    runs = occurrences("0 9 * * *", ms("2024-03-08T00:00:00+00:00"), "America/New_York", 4)
    assert [local(run, "America/New_York") for run in runs] == [
        "2024-03-08T09:00:00-05:00",
        "2024-03-09T09:00:00-05:00",
        "2024-03-10T09:00:00-04:00",
        "2024-03-11T09:00:00-04:00",
    ]
    assert [b - a for a, b in itertools.pairwise(runs)] == [DAY, DAY - HOUR, DAY]


def test_a_daily_pattern_stays_at_the_same_local_hour_across_the_autumn_change():
    # London moved its clocks back on Sunday 27 October 2024 (02:00 BST -> 01:00 GMT).
    runs = occurrences("0 9 * * *", ms("2024-10-25T12:00:00+00:00"), "Europe/London", 4)
    assert [local(run, "Europe/London") for run in runs] == [
        "2024-10-26T09:00:00+01:00",
        "2024-10-27T09:00:00+00:00",
        "2024-10-28T09:00:00+00:00",
        "2024-10-29T09:00:00+00:00",
    ]
    assert [b - a for a, b in itertools.pairwise(runs)] == [DAY + HOUR, DAY, DAY]


def test_a_time_skipped_by_the_spring_change_runs_when_the_clocks_have_moved():
    # 02:30 does not exist in New York on 10 March 2024: that day it runs at 03:00, once.
    runs = occurrences("30 2 * * *", ms("2024-03-09T12:00:00+00:00"), "America/New_York", 3)
    assert [local(run, "America/New_York") for run in runs] == [
        "2024-03-10T03:00:00-04:00",
        "2024-03-11T02:30:00-04:00",
        "2024-03-12T02:30:00-04:00",
    ]


def test_a_fixed_time_repeated_by_the_autumn_change_runs_once():
    # 01:30 happens twice in London on 27 October 2024; a daily message goes out once.
    runs = occurrences("30 1 * * *", ms("2024-10-26T12:00:00+00:00"), "Europe/London", 3)
    assert [local(run, "Europe/London") for run in runs] == [
        "2024-10-27T01:30:00+01:00",
        "2024-10-28T01:30:00+00:00",
        "2024-10-29T01:30:00+00:00",
    ]
    # Asked from inside the repeated hour, the next run is the next day's.
    inside = ms("2024-10-27T01:10:00+00:00")  # 01:10 GMT, the second 01:10
    assert local(next_run("30 1 * * *", inside, "Europe/London"), "Europe/London") == "2024-10-28T01:30:00+00:00"


def test_an_hourly_pattern_keeps_running_every_hour_through_the_autumn_change():
    runs = occurrences("0 * * * *", ms("2024-10-26T23:30:00+00:00"), "Europe/London", 4)
    assert runs == [
        ms("2024-10-27T00:00:00+00:00"),  # 01:00 BST
        ms("2024-10-27T01:00:00+00:00"),  # 01:00 GMT, the repeated hour
        ms("2024-10-27T02:00:00+00:00"),
        ms("2024-10-27T03:00:00+00:00"),
    ]


# Time zones ---------------------------------------------------------------------------------------


def test_zone_is_utc_for_none_empty_or_unknown_names():
    assert zone(None) is dt.UTC
    assert zone("") is dt.UTC
    assert zone("Nowhere/Atlantis") is dt.UTC
    assert zone("../../etc/passwd") is dt.UTC
    assert zone("Asia/Hong_Kong") == zoneinfo.ZoneInfo("Asia/Hong_Kong")


def test_app_timezone_reads_the_apps_collection_with_utc_by_default():
    app = "a12345678901234567890123"
    store = Store.embedded_store(
        {
            "apps": [
                {"_id": app, "timezone": "Asia/Hong_Kong"},
                {"_id": "b12345678901234567890123"},
                {"_id": "c12345678901234567890123", "timezone": ""},
            ]
        }
    )
    assert app_timezone(store, app) == "Asia/Hong_Kong"
    assert app_timezone(store, "b12345678901234567890123") == "UTC"
    assert app_timezone(store, "c12345678901234567890123") == "UTC"
    assert app_timezone(store, "d12345678901234567890123") == "UTC"
