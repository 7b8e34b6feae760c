"""When an agenda runs: epoch-millisecond times and CRON patterns.

Patterns are the five-field CRON of crontab (minute hour day month weekday),
read by croniter in the app's time zone (``apps.timezone``, UTC when the app
has none), so ``0 9 * * *`` is 9 o'clock where the bot's users are, across
daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from noderuntime.store import Store
from noderuntime.store.ids import match_id
from noderuntime.store.schema import APPS

#: Epoch milliseconds below this (March 1973) are almost surely seconds.
SECONDS_LOOK_LIKE = 100_000_000_000
#: A pattern with no occurrence in this many years never runs (``0 0 30 2 *``).
HORIZON_YEARS = 5


def check_time(value: int, name: str) -> str | None:
    """What is wrong with an epoch-millisecond time an author gave, or None."""
    if value < 0:
        return f"'{name}' must be a time in epoch milliseconds, got {value}"
    if value < SECONDS_LOOK_LIKE:
        return (
            f"'{name}' must be epoch milliseconds; {value} looks like seconds "
            f"(this.moment().add(5, 'minutes').valueOf() gives milliseconds)"
        )
    return None


def check_pattern(pattern: str) -> str | None:
    """What is wrong with a CRON pattern, or None."""
    fields = pattern.split()
    if len(fields) != 5:
        return f"'pattern' must have 5 fields (minute hour day month weekday), got {len(fields)}: {pattern!r}"
    if not croniter.is_valid(pattern):
        return f"'pattern' {pattern!r} is not a valid CRON pattern"
    return None


def zone(name: str | None) -> dt.tzinfo:
    """The time zone called ``name`` (UTC for None or an unknown name)."""
    if not name:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def is_known_zone(name: str) -> bool:
    """Whether ``name`` is a time zone this machine knows (``Asia/Hong_Kong``, ``UTC``)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def app_timezone(store: Store, app: str) -> str:
    """The app's time zone (``timezone`` on its ``apps`` document), UTC by default."""
    found = store.find_one(APPS, {"_id": match_id(app)})
    name = (found or {}).get("timezone")
    return name if isinstance(name, str) and name else "UTC"


def next_run(pattern: str, after_ms: int, timezone: str | None = None) -> int:
    """The first occurrence of ``pattern`` strictly after ``after_ms``, in epoch ms.
    Raises ValueError when the pattern has no occurrence within a few years.

    As in cron, a pattern with a fixed hour and minute runs once on the day
    the clocks go back, not again in the repeated hour (``30 1 * * *`` is one
    message a day); a pattern whose minute or hour starts with ``*`` runs in
    both, as time goes on."""
    start = dt.datetime.fromtimestamp(after_ms / 1000, tz=zone(timezone))
    fixed_time = not any(field.startswith("*") for field in pattern.split()[:2])
    try:
        occurrences = croniter(pattern, start, max_years_between_matches=HORIZON_YEARS)
        found: Any = occurrences.get_next(dt.datetime)
        while fixed_time and _repeated(found):
            found = occurrences.get_next(dt.datetime)
    except (CroniterBadDateError, CroniterBadCronError) as error:
        raise ValueError(f"pattern {pattern!r} has no time to run: {error}") from None
    return int(found.timestamp() * 1000)


def _repeated(moment: dt.datetime) -> bool:
    """Whether ``moment`` is the second time its wall-clock time occurs (the clocks went back)."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()
