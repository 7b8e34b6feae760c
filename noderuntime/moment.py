"""``this.moment``: a moment.js-compatible date helper built on pendulum.

Scripts copied from the original platform's docs call moment.js 2.x (without
moment-timezone), e.g. ``this.moment().add(5, "minutes").valueOf()``. This
module reproduces that API, following moment 2.30 closely, inside the
sandbox's rules:

* :class:`MomentFactory` is ``this.moment``; :class:`Moment` and
  :class:`Duration` are what it hands out. All three subclass
  :class:`sandbox.guards.Exposed` and list every script-reachable name in
  ``exposed``. Nothing reachable returns a pendulum object: results are
  ``str``/``int``/``float``/``bool``/``None``/``list``/``JSObject``, another
  Moment or Duration, or (``toDate()`` only) a plain ``datetime``.
* The clock is the ``now_ms`` callable the runtime passes in (epoch
  milliseconds); the module never reads the system clock itself.
* There is no tz database. The runtime's "local" zone is UTC; a moment can
  carry a fixed UTC offset (``utcOffset(480)``, ``utcOffset("+08:00")``, or
  the offset of the input with ``moment.parseZone``).

Invalid input gives an invalid moment, as in moment.js: ``isValid()`` is
False, ``format()``/``toString()``/``fromNow()`` give ``"Invalid date"``,
``valueOf()``/``unix()``/getters/``diff()`` give NaN, ``toISOString()`` and
``toJSON()`` give None, comparisons are False, setters and arithmetic are
no-ops. Invalid means: an unparseable string, a date that overflows
(``"2020-02-30"``, ``moment([2020, 12])``), a NaN/Infinity timestamp, ``None``
(moment's ``null``), a bool, or an object of another type.

Where this differs from moment.js, on purpose:

* Errors instead of silent no-ops. An unknown unit, or a unit that makes no
  sense for the call (``add(1, "date")``, ``diff(x, "isoWeek")``,
  ``startOf("weekday")``; moment ignores these or returns milliseconds),
  raises ``ScriptError("ParamError")``; so do setter values that are not
  numbers or known month/weekday names (moment ignores them), NaN amounts,
  unparseable offset strings for ``utcOffset``, unknown keys in object
  arguments, and a missing unit for ``startOf``/``endOf``.
* Bounds. A result outside years 1..9999 (in UTC or in the moment's own
  offset) raises ``ScriptError("RangeError")`` rather than producing
  extended years; a UTC offset of 24 hours or more, or a duration over about
  30 million years, is a RangeError; format and input strings over 1000
  characters, more than 20 candidate formats, or a parse format of over 1000
  tokens are a ParamError.
* ``None`` is moment's ``null`` (an invalid moment), not ``undefined``
  (now); call ``moment()`` for now. Empty ``{}`` / ``[]`` still mean now.
* Strings that are neither ISO 8601, RFC 2822 nor ASP.NET JSON dates do not
  go through JavaScript's engine-specific ``Date`` parser. A small fallback
  accepts ``2020/1/5 10:00``, ``12/25/2020`` and ``Dec 25, 2020 10:00 PM``
  (plus an optional ``Z``/``UTC``/``GMT+0800`` suffix, so ``toString()``
  output parses back); anything else is invalid, and these fallbacks are
  strict about calendar validity where V8 would roll over.
* Only the English locale exists: ``locale(x)`` accepts and ignores any
  name. Era tokens (``N``..., ``y``...) format but are not parsed.
* ``from``/``as`` are Python keywords, so they are exposed as ``from_`` and
  ``as_``. Fractional setter values are truncated toward zero first.
  ``utcOffset`` rounds to whole minutes. ``parseZone`` always reads the
  offset as minutes. ``moment(dict)`` only takes year/month/date(day)/hour/
  minute/second/millisecond keys. ``calendar()`` formats must be strings.
* Python conveniences: ``a < b`` (and ``<=``, ``>``, ``>=``) compare
  instants, ``a - b`` is the difference in milliseconds (as ``a - b`` is in
  JavaScript), ``float(m)``/``int(m)`` give ``valueOf()``, ``str(m)`` gives
  ``toString()``. ``==`` stays identity, as in JavaScript.
* Durations are always valid: input moment.js would turn into an invalid
  duration raises ParamError. Numbers that are whole come back as ``int``.
"""

from __future__ import annotations

import datetime as _datetime
import functools
import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

import pendulum

from sandbox.errors import ScriptError
from sandbox.guards import Exposed, JSObject, describe

MAX_STRING_LENGTH = 1000
MAX_FORMATS = 20
MAX_PARSE_TOKENS = 1000
MAX_OFFSET_MINUTES = 24 * 60 - 1
MAX_DURATION_MS = 10**18

_NAN = float("nan")
_MS_SECOND = 1000
_MS_MINUTE = 60_000
_MS_HOUR = 3_600_000
_MS_DAY = 86_400_000
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
_MIN_MS = (1 - _EPOCH_ORDINAL) * _MS_DAY  # 0001-01-01T00:00:00.000
_MAX_MS = (3_652_059 - _EPOCH_ORDINAL + 1) * _MS_DAY - 1  # 9999-12-31T23:59:59.999

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_WEEKDAYS_SHORT = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_WEEKDAYS_MIN = ("Su", "Mo", "Tu", "We", "Th", "Fr", "Sa")
_LONG_FORMATS = {
    "LTS": "h:mm:ss A",
    "LT": "h:mm A",
    "L": "MM/DD/YYYY",
    "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A",
    "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY",
    "ll": "MMM D, YYYY",
    "lll": "MMM D, YYYY h:mm A",
    "llll": "ddd, MMM D, YYYY h:mm A",
}
_CALENDAR = {
    "sameDay": "[Today at] LT",
    "nextDay": "[Tomorrow at] LT",
    "nextWeek": "dddd [at] LT",
    "lastDay": "[Yesterday at] LT",
    "lastWeek": "[Last] dddd [at] LT",
    "sameElse": "L",
}
_RELATIVE = {
    "s": "a few seconds",
    "ss": "%d seconds",
    "m": "a minute",
    "mm": "%d minutes",
    "h": "an hour",
    "hh": "%d hours",
    "d": "a day",
    "dd": "%d days",
    "w": "a week",
    "ww": "%d weeks",
    "M": "a month",
    "MM": "%d months",
    "y": "a year",
    "yy": "%d years",
}
_THRESHOLDS = {"ss": 44, "s": 45, "m": 45, "h": 22, "d": 26, "w": None, "M": 11}
_INVALID_DATE = "Invalid date"

# Week rules: (first day of week, day of January always in week 1 as 7 + dow - doy).
_LOCALE_WEEK = (0, 6)  # en: weeks start on Sunday, the week with Jan 1 is week 1
_ISO_WEEK = (1, 4)


# --------------------------------------------------------------------------
# errors and argument coercion


def _param_error(message: str) -> ScriptError:
    return ScriptError("ParamError", message)


def _range_error(message: str) -> ScriptError:
    return ScriptError("RangeError", message)


def _out_of_range() -> ScriptError:
    return _range_error("date is outside the supported range (years 1 to 9999)")


_NUMERIC_STRING = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*\Z", re.ASCII)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_string(value: Any) -> int | float | None:
    """A JavaScript-style numeric string ("5", " -1.5 ", "1e3") as a number, else None."""
    if isinstance(value, str) and len(value) <= 100 and _NUMERIC_STRING.match(value):
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return None


def _number(value: Any, what: str) -> int | float:
    """A number argument (numeric strings accepted, like JavaScript's ``+x``)."""
    if _is_number(value):
        return value
    number = _numeric_string(value)
    if number is None:
        raise _param_error(f"{what} must be a number, not {describe(value)}")
    return number


def _finite(value: int | float, what: str) -> int | float:
    if isinstance(value, float) and not math.isfinite(value):
        raise _param_error(f"{what} must be a finite number")
    return value


def _trunc(value: int | float) -> int:
    """JavaScript's ToIntegerOrInfinity for finite numbers; Infinity is a RangeError."""
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        raise _range_error("value is not finite")
    return math.trunc(value)


def _setter_int(value: Any, what: str) -> int:
    number = _number(value, what)
    if isinstance(number, float) and math.isnan(number):
        raise _param_error(f"{what} must be a number, not NaN")
    return _trunc(number)


def _check_string(value: str, what: str) -> str:
    if len(value) > MAX_STRING_LENGTH:
        raise _param_error(f"{what} is longer than {MAX_STRING_LENGTH} characters")
    return value


def _out(value: int | float) -> int | float:
    """A float result that is whole comes back as int, as JSON would print a JS number."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _js_round(value: float) -> int:
    """``Math.round``: halves round up (toward +Infinity)."""
    return math.floor(value + 0.5)


def _abs_round(value: int | float) -> int:
    if isinstance(value, int):
        return value
    return -_js_round(-value) if value < 0 else _js_round(value)


def _abs_floor(value: int | float) -> int:
    return math.ceil(value) if value < 0 else math.floor(value)


def _abs_ceil(value: int | float) -> int:
    return math.floor(value) if value < 0 else math.ceil(value)


def _js_mod(value: int | float, divisor: int) -> int | float:
    """JavaScript's ``%``: the result takes the sign of the dividend."""
    if isinstance(value, int):
        rest = abs(value) % divisor
        return -rest if value < 0 else rest
    return math.fmod(value, divisor)


# --------------------------------------------------------------------------
# units

_ALIASES = {
    "D": "date", "dates": "date", "date": "date",
    "d": "day", "days": "day", "day": "day",
    "e": "weekday", "weekdays": "weekday", "weekday": "weekday",
    "E": "isoWeekday", "isoweekdays": "isoWeekday", "isoweekday": "isoWeekday",
    "DDD": "dayOfYear", "dayofyears": "dayOfYear", "dayofyear": "dayOfYear",
    "h": "hour", "hours": "hour", "hour": "hour",
    "ms": "millisecond", "milliseconds": "millisecond", "millisecond": "millisecond",
    "m": "minute", "minutes": "minute", "minute": "minute",
    "M": "month", "months": "month", "month": "month",
    "Q": "quarter", "quarters": "quarter", "quarter": "quarter",
    "s": "second", "seconds": "second", "second": "second",
    "gg": "weekYear", "weekyears": "weekYear", "weekyear": "weekYear",
    "GG": "isoWeekYear", "isoweekyears": "isoWeekYear", "isoweekyear": "isoWeekYear",
    "w": "week", "weeks": "week", "week": "week",
    "W": "isoWeek", "isoweeks": "isoWeek", "isoweek": "isoWeek",
    "y": "year", "years": "year", "year": "year",
}  # fmt: skip

_DURATION_UNITS = frozenset(
    {"year", "quarter", "month", "week", "isoWeek", "day", "hour", "minute", "second", "millisecond"}
)
_DIFF_UNITS = frozenset({"year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond"})
_START_UNITS = frozenset(
    {"year", "quarter", "month", "week", "isoWeek", "day", "date", "hour", "minute", "second", "millisecond"}
)
_AS_UNITS = _DIFF_UNITS
_DURATION_GETTERS = frozenset({"year", "month", "week", "day", "hour", "minute", "second", "millisecond"})
_GETSET_UNITS = {
    "year": "year", "month": "month", "date": "date", "day": "day", "weekday": "weekday",
    "isoWeekday": "isoWeekday", "dayOfYear": "dayOfYear", "hour": "hour", "minute": "minute",
    "second": "second", "millisecond": "millisecond", "quarter": "quarter", "week": "week",
    "isoWeek": "isoWeek", "weekYear": "weekYear", "isoWeekYear": "isoWeekYear",
}  # fmt: skip
_SET_PRIORITY = {
    "year": 1, "weekYear": 1, "isoWeekYear": 1, "dayOfYear": 4, "week": 5, "isoWeek": 5, "quarter": 7,
    "month": 8, "date": 9, "day": 11, "weekday": 11, "isoWeekday": 11, "hour": 13, "minute": 14,
    "second": 15, "millisecond": 16,
}  # fmt: skip
_OBJECT_UNITS = frozenset({"year", "month", "date", "day", "hour", "minute", "second", "millisecond"})


def normalize_unit(unit: Any) -> str | None:
    """moment's ``normalizeUnits``: an alias to its canonical unit, or None."""
    if not isinstance(unit, str) or len(unit) > 40:
        return None
    return _ALIASES.get(unit) or _ALIASES.get(unit.lower())


def _unit(unit: Any, allowed: frozenset[str], what: str) -> str:
    """The canonical unit, or a ParamError naming the units ``what`` accepts."""
    normal = normalize_unit(unit)
    if normal is None or normal not in allowed:
        names = ", ".join(sorted(allowed))
        hint = f"use one of {names} (or an alias such as 'days', 'M', 'h')"
        if unit is None:
            raise _param_error(f"{what} needs a unit; {hint}")
        shown = repr(unit) if isinstance(unit, str) and len(unit) <= 40 else describe(unit)
        kind = "unknown unit" if normal is None else "unit not supported here:"
        raise _param_error(f"{what}: {kind} {shown}; {hint}")
    return normal


# --------------------------------------------------------------------------
# calendar arithmetic on plain integers (proleptic Gregorian, any year)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of ``year-month-day`` (month 1..12, day any integer)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month 0..11, day) of a day number (inverse of :func:`_days_from_civil`)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month - 1, day


def _make_day(year: int, month0: int, day: int) -> int:
    """``Date.UTC`` day arithmetic: a 0-based month and the day may overflow."""
    year += month0 // 12
    month0 %= 12
    return _days_from_civil(year, month0 + 1, 1) + day - 1


def _make_wall(year: int, month0: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, ms: int = 0) -> int:
    return _make_day(year, month0, day) * _MS_DAY + hour * _MS_HOUR + minute * _MS_MINUTE + second * 1000 + ms


def _is_leap(year: int) -> bool:
    return (year % 4 == 0 and year % 100 != 0) or year % 400 == 0


def _days_in_year(year: int) -> int:
    return 366 if _is_leap(year) else 365


def _days_in_month(year: int, month0: int) -> int:
    year += month0 // 12
    month0 %= 12
    if month0 == 1:
        return 29 if _is_leap(year) else 28
    return 31 - month0 % 7 % 2


def _weekday_of(days: int) -> int:
    """0 = Sunday."""
    return (days + 4) % 7


def _first_week_offset(year: int, dow: int, doy: int) -> int:
    fwd = 7 + dow - doy
    fwdlw = (7 + _weekday_of(_make_day(year, 0, fwd)) - dow) % 7
    return -fwdlw + fwd - 1


def _weeks_in_year(year: int, dow: int, doy: int) -> int:
    return (_days_in_year(year) - _first_week_offset(year, dow, doy) + _first_week_offset(year + 1, dow, doy)) // 7


def _week_of_year(year: int, day_of_year: int, dow: int, doy: int) -> tuple[int, int]:
    """(week, week-year) of a date."""
    week = (day_of_year - _first_week_offset(year, dow, doy) - 1) // 7 + 1
    if week < 1:
        return week + _weeks_in_year(year - 1, dow, doy), year - 1
    if week > _weeks_in_year(year, dow, doy):
        return week - _weeks_in_year(year, dow, doy), year + 1
    return week, year


def _day_of_year_from_weeks(year: int, week: int, weekday: int, dow: int, doy: int) -> tuple[int, int]:
    """(year, day of year) of a weekday in a week of a week-year."""
    local_weekday = (7 + weekday - dow) % 7
    day_of_year = 1 + 7 * (week - 1) + local_weekday + _first_week_offset(year, dow, doy)
    if day_of_year <= 0:
        return year - 1, _days_in_year(year - 1) + day_of_year
    if day_of_year > _days_in_year(year):
        return year + 1, day_of_year - _days_in_year(year)
    return year, day_of_year


@functools.lru_cache(maxsize=64)
def _timezone(offset: int) -> pendulum.FixedTimezone:
    return pendulum.FixedTimezone(offset * 60)


# --------------------------------------------------------------------------
# format tokens

_FORMAT_TOKENS = re.compile(
    r"(\[[^\[]*\])|(\\)?([Hh]mm(ss)?|Mo|MM?M?M?|Do|DDDo|DD?D?D?|ddd?d?|do?|w[o|w]?|W[o|W]?|Qo?|N{1,5}"
    r"|YYYYYY|YYYYY|YYYY|YY|y{2,4}|yo?|gg(ggg?)?|GG(GGG?)?|e|E|a|A|hh?|HH?|kk?|mm?|ss?|S{1,9}|x|X|zz?|ZZ?|.)"
)
_LOCAL_FORMAT_TOKENS = re.compile(r"(\[[^\[]*\])|(\\)?(LTS|LT|LL?L?L?|l{1,4})")


def _expand_format(fmt: str) -> str:
    for _ in range(6):
        if not _LOCAL_FORMAT_TOKENS.search(fmt):
            break
        fmt = _LOCAL_FORMAT_TOKENS.sub(lambda m: _LONG_FORMATS.get(m.group(0), m.group(0)), fmt)
    return fmt


@functools.lru_cache(maxsize=256)
def _format_tokens(fmt: str) -> tuple[str, ...]:
    return tuple(m.group(0) for m in _FORMAT_TOKENS.finditer(_expand_format(fmt)))


def _literal(token: str) -> str:
    """The text a non-token piece of a format stands for (moment's removeFormattingTokens)."""
    if re.search(r"\[[\s\S]", token):
        return re.sub(r"^\[|\]$", "", token)
    return token.replace("\\", "")


def _zero_fill(number: int, width: int, force_sign: bool = False) -> str:
    digits = str(abs(number))
    sign = ("+" if force_sign else "") if number >= 0 else "-"
    return sign + "0" * max(0, width - len(digits)) + digits


def _ordinal(number: int) -> str:
    last = number % 10
    if number % 100 // 10 == 1:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(last, "th")
    return f"{number}{suffix}"


def _format_offset(offset: int, separator: str) -> str:
    sign = "+"
    if offset < 0:
        offset, sign = -offset, "-"
    return sign + _zero_fill(offset // 60, 2) + separator + _zero_fill(offset % 60, 2)


def _build_formatters() -> dict[str, Callable[[Moment], str]]:
    table: dict[str, Callable[[Moment], str]] = {}

    def plain(token: str, get: Callable[[Moment], int]) -> None:
        table[token] = lambda m: str(get(m))

    def padded(token: str, width: int, get: Callable[[Moment], int], sign: bool = False) -> None:
        table[token] = lambda m: _zero_fill(get(m), width, sign)

    def ordinal(token: str, get: Callable[[Moment], int]) -> None:
        table[token] = lambda m: _ordinal(get(m))

    def month(m: Moment) -> int:
        return m._dt.month

    def year(m: Moment) -> int:
        return m._dt.year

    def hour12(m: Moment) -> int:
        return m._dt.hour % 12 or 12

    plain("M", month), padded("MM", 2, month), ordinal("Mo", month)
    table["MMM"] = lambda m: _MONTHS_SHORT[m._dt.month - 1]
    table["MMMM"] = lambda m: _MONTHS[m._dt.month - 1]
    plain("Q", lambda m: m._quarter()), ordinal("Qo", lambda m: m._quarter())
    plain("D", lambda m: m._dt.day), padded("DD", 2, lambda m: m._dt.day), ordinal("Do", lambda m: m._dt.day)
    plain("DDD", lambda m: m._dt.day_of_year), padded("DDDD", 3, lambda m: m._dt.day_of_year)
    ordinal("DDDo", lambda m: m._dt.day_of_year)
    plain("d", lambda m: m._weekday()), ordinal("do", lambda m: m._weekday())
    table["dd"] = lambda m: _WEEKDAYS_MIN[m._weekday()]
    table["ddd"] = lambda m: _WEEKDAYS_SHORT[m._weekday()]
    table["dddd"] = lambda m: _WEEKDAYS[m._weekday()]
    plain("e", lambda m: m._weekday()), plain("E", lambda m: m._weekday() or 7)
    for letter, rule in (("w", _LOCALE_WEEK), ("W", _ISO_WEEK)):

        def week(m: Moment, rule: tuple[int, int] = rule) -> int:
            return m._week(rule)[0]

        plain(letter, week), padded(letter * 2, 2, week), ordinal(letter + "o", week)
    for letter, rule in (("g", _LOCALE_WEEK), ("G", _ISO_WEEK)):

        def week_year(m: Moment, rule: tuple[int, int] = rule) -> int:
            return m._week(rule)[1]

        padded(letter * 2, 2, lambda m, get=week_year: get(m) % 100)
        padded(letter * 4, 4, week_year), padded(letter * 5, 5, week_year)
    padded("Y", 4, year), padded("YY", 2, lambda m: m._dt.year % 100), padded("YYYY", 4, year)
    padded("YYYYY", 5, year), padded("YYYYYY", 6, year, True)
    table["a"] = lambda m: "pm" if m._dt.hour > 11 else "am"
    table["A"] = lambda m: "PM" if m._dt.hour > 11 else "AM"
    plain("H", lambda m: m._dt.hour), padded("HH", 2, lambda m: m._dt.hour)
    plain("h", hour12), padded("hh", 2, hour12)
    plain("k", lambda m: m._dt.hour or 24), padded("kk", 2, lambda m: m._dt.hour or 24)
    table["hmm"] = lambda m: f"{hour12(m)}{m._dt.minute:02d}"
    table["hmmss"] = lambda m: f"{hour12(m)}{m._dt.minute:02d}{m._dt.second:02d}"
    table["Hmm"] = lambda m: f"{m._dt.hour}{m._dt.minute:02d}"
    table["Hmmss"] = lambda m: f"{m._dt.hour}{m._dt.minute:02d}{m._dt.second:02d}"
    plain("m", lambda m: m._dt.minute), padded("mm", 2, lambda m: m._dt.minute)
    plain("s", lambda m: m._dt.second), padded("ss", 2, lambda m: m._dt.second)
    plain("S", lambda m: m._millisecond() // 100), padded("SS", 2, lambda m: m._millisecond() // 10)
    for width in range(3, 10):
        padded("S" * width, width, lambda m, scale=10 ** (width - 3): m._millisecond() * scale)
    table["z"] = lambda m: "UTC" if m._utc else ""
    table["zz"] = lambda m: "Coordinated Universal Time" if m._utc else ""
    table["Z"] = lambda m: _format_offset(m._off, ":")
    table["ZZ"] = lambda m: _format_offset(m._off, "")
    plain("X", lambda m: m._ms // 1000), plain("x", lambda m: m._ms)
    for token in ("N", "NN", "NNN", "NNNNN"):
        table[token] = lambda m: "AD"
    table["NNNN"] = lambda m: "Anno Domini"
    for width in range(1, 5):
        padded("y" * width, width, year)
    ordinal("yo", year)
    return table


_FORMATTERS = _build_formatters()


# --------------------------------------------------------------------------
# parsing

_A_YEAR, _A_MONTH, _A_DATE, _A_HOUR, _A_MINUTE, _A_SECOND, _A_MS = range(7)

_WORD = "WORD"  # month and weekday names: moment's matchWord, searched by hand
_D1TO2 = r"\d\d?"
_NO_LEADING_ZERO = r"^[1-9]\d?"
_HAS_ZERO = r"^(?:[1-9]\d|\d)"
_PARSE_PATTERNS: dict[str, tuple[str, str | None]] = {
    "Y": (r"[+-]?\d+", None),
    "YY": (_D1TO2, r"\d\d"),
    "YYYY": (r"\d{1,4}", r"\d{4}"),
    "YYYYY": (r"[+-]?\d{1,6}", r"[+-]?\d{6}"),
    "YYYYYY": (r"[+-]?\d{1,6}", r"[+-]?\d{6}"),
    "y": (r"\d+", None),
    "yy": (r"\d+", None),
    "yyy": (r"\d+", None),
    "yyyy": (r"\d+", None),
    "Q": (r"\d", None),
    "M": (_D1TO2, _NO_LEADING_ZERO),
    "MM": (_D1TO2, r"\d\d"),
    "MMM": (_WORD, None),
    "MMMM": (_WORD, None),
    "D": (_D1TO2, _NO_LEADING_ZERO),
    "DD": (_D1TO2, r"\d\d"),
    "Do": (r"\d{1,2}(?:th|st|nd|rd)|\d{1,2}", r"\d{1,2}(?:th|st|nd|rd)"),
    "DDD": (r"\d{1,3}", None),
    "DDDD": (r"\d{3}", None),
    "d": (_D1TO2, None),
    "e": (_D1TO2, None),
    "E": (_D1TO2, None),
    "dd": (_WORD, None),
    "ddd": (_WORD, None),
    "dddd": (_WORD, None),
    "w": (_D1TO2, _NO_LEADING_ZERO),
    "ww": (_D1TO2, r"\d\d"),
    "W": (_D1TO2, _NO_LEADING_ZERO),
    "WW": (_D1TO2, r"\d\d"),
    "gg": (_D1TO2, r"\d\d"),
    "GG": (_D1TO2, r"\d\d"),
    "gggg": (r"\d{1,4}", r"\d{4}"),
    "GGGG": (r"\d{1,4}", r"\d{4}"),
    "ggggg": (r"[+-]?\d{1,6}", r"[+-]?\d{6}"),
    "GGGGG": (r"[+-]?\d{1,6}", r"[+-]?\d{6}"),
    "a": (r"(?i:[ap]\.?m?\.?)", None),
    "A": (r"(?i:[ap]\.?m?\.?)", None),
    "H": (_D1TO2, _HAS_ZERO),
    "HH": (_D1TO2, r"\d\d"),
    "h": (_D1TO2, _NO_LEADING_ZERO),
    "hh": (_D1TO2, r"\d\d"),
    "k": (_D1TO2, _NO_LEADING_ZERO),
    "kk": (_D1TO2, r"\d\d"),
    "hmm": (r"\d\d\d\d?", None),
    "Hmm": (r"\d\d\d\d?", None),
    "hmmss": (r"\d\d\d\d\d\d?", None),
    "Hmmss": (r"\d\d\d\d\d\d?", None),
    "m": (_D1TO2, _HAS_ZERO),
    "mm": (_D1TO2, r"\d\d"),
    "s": (_D1TO2, _HAS_ZERO),
    "ss": (_D1TO2, r"\d\d"),
    "S": (r"\d{1,3}", r"\d"),
    "SS": (r"\d{1,3}", r"\d\d"),
    "SSS": (r"\d{1,3}", r"\d{3}"),
    **{"S" * n: (r"\d+", None) for n in range(4, 10)},
    "X": (r"[+-]?\d+(?:\.\d{1,3})?", None),
    "x": (r"[+-]?\d+", None),
    "Z": (r"(?i:Z|[+-]\d\d(?::?\d\d)?)", None),
    "ZZ": (r"(?i:Z|[+-]\d\d(?::?\d\d)?)", None),
}
_WORD_LETTER = re.compile(r"['a-zA-Z\u00A0-\u05FF\u0700-\uD7FF\uF900-\uFDCF\uFDF0-\uFF07\uFF10-\uFFEF]")
_WORD_LETTERS = re.compile(r"['a-zA-Z\u00A0-\u05FF\u0700-\uD7FF\uF900-\uFDCF\uFDF0-\uFF07\uFF10-\uFFEF]{1,256}")
_SHORT_OFFSET = re.compile(r"Z|[+-]\d\d(?::?\d\d)?", re.I | re.ASCII)
_OFFSET = re.compile(r"Z|[+-]\d\d:?\d\d", re.I | re.ASCII)


class _WordSearch:
    """moment's matchWord (``[0-9]{0,256}`` then up to 256 letters), searched in
    linear time: the leftmost match starts at the first letter, less up to 256
    digits right before it."""

    def search(self, text: str) -> tuple[int, str] | None:
        first = _WORD_LETTER.search(text)
        if first is None:
            return None
        start = end = first.start()
        while start > 0 and end - start < 256 and "0" <= text[start - 1] <= "9":
            start -= 1
        letters = _WORD_LETTERS.match(text, end)
        assert letters is not None
        return start, text[start : letters.end()]


class _RegexSearch:
    def __init__(self, pattern: str) -> None:
        self._regex = re.compile(pattern, re.ASCII)

    def search(self, text: str) -> tuple[int, str] | None:
        found = self._regex.search(text)
        return None if found is None else (found.start(), found.group(0))


_WORD_SEARCH = _WordSearch()


@functools.lru_cache(maxsize=512)
def _token_search(token: str, strict: bool) -> _WordSearch | _RegexSearch:
    patterns = _PARSE_PATTERNS.get(token)
    if patterns is None:
        text = token.replace("\\", "", 1)
        text = re.sub(r"\\(\[)|\\(\])|\[([^\]\[]*)\]|\\(.)", lambda m: next((g for g in m.groups() if g), ""), text)
        return _RegexSearch(re.escape(text))
    pattern = patterns[1] if strict and patterns[1] else patterns[0]
    return _WORD_SEARCH if pattern is _WORD else _RegexSearch(pattern)


def _to_int(text: str) -> int:
    return int(text) if text.strip("+-") else 0


def _two_digit_year(text: str) -> int:
    value = _to_int(text)
    return value + (1900 if value > 68 else 2000)


def _offset_from_string(regex: re.Pattern[str], text: str) -> int | None:
    """moment's offsetFromString: the last offset in ``text``, in minutes."""
    matches = regex.findall(text)
    if not matches:
        return None
    chunk = matches[-1]
    parts = re.findall(r"[+\-]|\d\d", chunk) or ["-", "0", "0"]
    minutes = int(parts[1]) * 60 + (int(parts[2]) if len(parts) > 2 else 0) if len(parts) > 1 else 0
    if minutes == 0:
        return 0
    return minutes if parts[0] == "+" else -minutes


def _parse_month_name(name: str, token: str, strict: bool) -> int | None:
    lower = name.lower()
    for index in range(12):
        long_name, short_name = _MONTHS[index].lower(), _MONTHS_SHORT[index].lower()
        if strict:
            if lower == (short_name if token == "MMM" else long_name):
                return index
        elif lower.startswith(long_name) or lower.startswith(short_name):
            return index
    return None


def _parse_weekday_name(name: str, token: str, strict: bool) -> int | None:
    lower = name.lower()
    for index in range(7):
        names = (_WEEKDAYS[index].lower(), _WEEKDAYS_SHORT[index].lower(), _WEEKDAYS_MIN[index].lower())
        if strict:
            if lower == names[{"dddd": 0, "ddd": 1}.get(token, 2)]:
                return index
        elif any(lower.startswith(n) for n in names):
            return index
    return None


class _Config:
    """The state of one parse, after moment's config object and parsing flags."""

    def __init__(self, now: Callable[[], int], strict: bool = False) -> None:
        self.now = now
        self.strict = strict
        self.a: list[int | None] = [None] * 7
        self.has_array = False
        self.tzm: int | None = None
        self.week: dict[str, int] | None = None
        self.day_of_year: int | None = None
        self.ms: int | None = None  # the instant, once known
        self.next_day = False
        self.meridiem: str | None = None
        self.empty = False
        self.unused_tokens = 0
        self.chars_left_over = 0
        self.big_hour = False
        self.bad = False  # invalid month/weekday name, weekday mismatch, unparseable input...
        self.parsed_parts = False
        self.overflow = -1
        self.overflow_day_of_year = False
        self.overflow_weeks = False
        self.overflow_weekday = False

    def valid(self) -> bool:
        if self.bad or self.ms is None or self.overflow >= 0 or self.empty:
            return False
        if self.meridiem is not None and not self.parsed_parts:
            return False
        if self.strict and (self.chars_left_over or self.unused_tokens or self.big_hour):
            return False
        return True

    def result(self) -> int | None:
        if not self.valid():
            return None
        assert self.ms is not None
        return self.ms + (_MS_DAY if self.next_day else 0)

    # -- tokens

    def take(self, token: str, text: str) -> None:
        a = self.a
        if token in ("YYYY",):
            a[_A_YEAR] = _two_digit_year(text) if len(text) == 2 else _to_int(text)
        elif token == "YY":
            a[_A_YEAR] = _two_digit_year(text)
        elif token in ("Y", "YYYYY", "YYYYYY", "y", "yy", "yyy", "yyyy"):
            a[_A_YEAR] = _to_int(text)
        elif token == "Q":
            a[_A_MONTH] = (_to_int(text) - 1) * 3
        elif token in ("M", "MM"):
            a[_A_MONTH] = _to_int(text) - 1
        elif token in ("MMM", "MMMM"):
            month = _parse_month_name(text, token, self.strict)
            if month is None:
                self.bad = True
            else:
                a[_A_MONTH] = month
        elif token in ("D", "DD"):
            a[_A_DATE] = _to_int(text)
        elif token == "Do":
            a[_A_DATE] = int(re.match(r"\d\d?", text, re.ASCII).group(0))  # type: ignore[union-attr]
        elif token in ("DDD", "DDDD"):
            self.day_of_year = _to_int(text)
        elif token in ("d", "e", "E", "w", "W"):
            self._week()[token] = _to_int(text)
        elif token in ("ww", "WW"):
            self._week()[token[0]] = _to_int(text)
        elif token in ("dd", "ddd", "dddd"):
            weekday = _parse_weekday_name(text, token, self.strict)
            if weekday is None:
                self.bad = True
            else:
                self._week()["d"] = weekday
        elif token in ("gg", "GG"):
            self._week()[token] = _two_digit_year(text)
        elif token in ("gggg", "ggggg", "GGGG", "GGGGG"):
            self._week()[token[:2]] = _to_int(text)
        elif token in ("a", "A"):
            self.meridiem = text
        elif token in ("H", "HH"):
            a[_A_HOUR] = _to_int(text)
        elif token in ("k", "kk"):
            hour = _to_int(text)
            a[_A_HOUR] = 0 if hour == 24 else hour
        elif token in ("h", "hh"):
            a[_A_HOUR] = _to_int(text)
            self.big_hour = True
        elif token in ("hmm", "Hmm", "hmmss", "Hmmss"):
            cut = len(text) - (4 if token.endswith("ss") else 2)
            a[_A_HOUR] = _to_int(text[:cut])
            a[_A_MINUTE] = _to_int(text[cut : cut + 2])
            if token.endswith("ss"):
                a[_A_SECOND] = _to_int(text[cut + 2 :])
            if token[0] == "h":
                self.big_hour = True
        elif token in ("m", "mm"):
            a[_A_MINUTE] = _to_int(text)
        elif token in ("s", "ss"):
            a[_A_SECOND] = _to_int(text)
        elif token[0] == "S":
            a[_A_MS] = math.trunc(float("0." + text) * 1000)
        elif token == "X":
            self.ms = _trunc(float(text) * 1000)
        elif token == "x":
            self.ms = _to_int(text)
        elif token in ("Z", "ZZ"):
            self.tzm = _offset_from_string(_SHORT_OFFSET, text)

    def _week(self) -> dict[str, int]:
        if self.week is None:
            self.week = {}
        return self.week

    # -- building the date

    def _current_date(self) -> tuple[int, int, int]:
        return _civil_from_days(self.now() // _MS_DAY)

    def _current_week(self, rule: tuple[int, int]) -> tuple[int, int]:
        year, month0, day = self._current_date()
        day_of_year = _make_day(year, month0, day) - _make_day(year, 0, 1) + 1
        return _week_of_year(year, day_of_year, *rule)

    def _day_of_year_from_week_info(self) -> None:
        week_info = self.week or {}
        a = self.a
        overflow_weekday = False
        if "GG" in week_info or "W" in week_info or "E" in week_info:
            dow, doy = _ISO_WEEK
            week_year = week_info.get("GG", a[_A_YEAR])
            if week_year is None:
                week_year = self._current_week(_ISO_WEEK)[1]
            week = week_info.get("W", 1)
            weekday = week_info.get("E", 1)
            overflow_weekday = weekday < 1 or weekday > 7
        else:
            dow, doy = _LOCALE_WEEK
            current_week, current_year = self._current_week(_LOCALE_WEEK)
            week_year = week_info.get("gg", a[_A_YEAR])
            if week_year is None:
                week_year = current_year
            week = week_info.get("w", current_week)
            if "d" in week_info:
                weekday = week_info["d"]
                overflow_weekday = weekday < 0 or weekday > 6
            elif "e" in week_info:
                weekday = week_info["e"] + dow
                overflow_weekday = week_info["e"] < 0 or week_info["e"] > 6
            else:
                weekday = dow
        if week < 1 or week > _weeks_in_year(week_year, dow, doy):
            self.overflow_weeks = True
        elif overflow_weekday:
            self.overflow_weekday = True
        else:
            a[_A_YEAR], self.day_of_year = _day_of_year_from_weeks(week_year, week, weekday, dow, doy)

    def build(self) -> None:
        """moment's configFromArray: defaults, 24:00, offset and weekday check."""
        if self.ms is not None:
            return
        a = self.a
        self.has_array = True
        if self.week is not None and a[_A_DATE] is None and a[_A_MONTH] is None:
            self._day_of_year_from_week_info()
        if self.day_of_year is not None:
            year = a[_A_YEAR] if a[_A_YEAR] is not None else self._current_date()[0]
            if self.day_of_year > _days_in_year(year) or self.day_of_year == 0:
                self.overflow_day_of_year = True
            _, a[_A_MONTH], a[_A_DATE] = _civil_from_days(_make_day(year, 0, self.day_of_year))
        index = 0
        if a[0] is None or a[1] is None or a[2] is None:
            current = self._current_date()
            while index < 3 and a[index] is None:
                a[index] = current[index]
                index += 1
        for i in range(index, 7):
            if a[i] is None:
                a[i] = 1 if i == _A_DATE else 0
        values = [int(v) for v in a]  # type: ignore[arg-type]
        if values[3] == 24 and values[4] == 0 and values[5] == 0 and values[6] == 0:
            self.next_day = True
            values[3] = 0
        wall = _make_wall(*values)
        self.ms = wall - (self.tzm or 0) * _MS_MINUTE
        if self.week is not None and "d" in self.week and self.week["d"] != _weekday_of(wall // _MS_DAY):
            self.bad = True

    def check_overflow(self) -> None:
        a = self.a
        if not self.has_array:
            return

        def outside(value: int | None, low: int, high: int) -> bool:
            return value is not None and (value < low or value > high)

        overflow = -1
        if outside(a[1], 0, 11):
            overflow = 1
        elif a[0] is not None and a[1] is not None and outside(a[2], 1, _days_in_month(a[0], a[1])):
            overflow = 2
        elif outside(a[3], 0, 24) or (a[3] == 24 and (a[4] != 0 or a[5] != 0 or a[6] != 0)):
            overflow = 3
        elif outside(a[4], 0, 59):
            overflow = 4
        elif outside(a[5], 0, 59):
            overflow = 5
        elif outside(a[6], 0, 999):
            overflow = 6
        if self.overflow_day_of_year and (overflow < 0 or overflow > 2):
            overflow = 2
        if self.overflow_weeks and overflow == -1:
            overflow = 7
        if self.overflow_weekday and overflow == -1:
            overflow = 8
        self.overflow = overflow


def _parse_format(cfg: _Config, text: str, fmt: str) -> None:
    """moment's configFromStringAndFormat."""
    tokens = _format_tokens(fmt)
    if len(tokens) > MAX_PARSE_TOKENS:
        raise _param_error(f"format has more than {MAX_PARSE_TOKENS} tokens")
    cfg.empty = True
    rest = text
    consumed = 0
    for token in tokens:
        found = _token_search(token, cfg.strict).search(rest)
        parsed = found[1] if found else ""
        if found and parsed:
            rest = rest[found[0] + len(parsed) :]
            consumed += len(parsed)
        if token in _FORMATTERS:
            if parsed:
                cfg.empty = False
                cfg.take(token, parsed)
            else:
                cfg.unused_tokens += 1
        elif cfg.strict and not parsed:
            cfg.unused_tokens += 1
    cfg.chars_left_over = len(text) - consumed
    a = cfg.a
    hour = a[_A_HOUR]
    if hour is not None and 0 < hour <= 12:
        cfg.big_hour = False
    cfg.parsed_parts = any(v is not None for v in a)
    if cfg.meridiem is not None and hour is not None:
        is_pm = cfg.meridiem[0].lower() == "p"
        if is_pm and hour < 12:
            a[_A_HOUR] = hour + 12
        elif not is_pm and hour == 12:
            a[_A_HOUR] = 0
    cfg.build()
    cfg.check_overflow()


_ISO_EXTENDED = re.compile(
    r"\s*((?:[+-]\d{6}|\d{4})-(?:\d\d-\d\d|W\d\d-\d|W\d\d|\d\d\d|\d\d))"
    r"(?:(T| )(\d\d(?::\d\d(?::\d\d(?:[.,]\d+)?)?)?)([+-]\d\d(?::?\d\d)?|\s*Z)?)?\Z",
    re.ASCII,
)
_ISO_BASIC = re.compile(
    r"\s*((?:[+-]\d{6}|\d{4})(?:\d\d\d\d|W\d\d\d|W\d\d|\d\d\d|\d\d|))"
    r"(?:(T| )(\d\d(?:\d\d(?:\d\d(?:[.,]\d+)?)?)?)([+-]\d\d(?::?\d\d)?|\s*Z)?)?\Z",
    re.ASCII,
)
_ISO_DATES = tuple(
    (fmt, re.compile(pattern, re.ASCII), allow_time)
    for fmt, pattern, allow_time in (
        ("YYYYYY-MM-DD", r"[+-]\d{6}-\d\d-\d\d", True),
        ("YYYY-MM-DD", r"\d{4}-\d\d-\d\d", True),
        ("GGGG-[W]WW-E", r"\d{4}-W\d\d-\d", True),
        ("GGGG-[W]WW", r"\d{4}-W\d\d", False),
        ("YYYY-DDD", r"\d{4}-\d{3}", True),
        ("YYYY-MM", r"\d{4}-\d\d", False),
        ("YYYYYYMMDD", r"[+-]\d{10}", True),
        ("YYYYMMDD", r"\d{8}", True),
        ("GGGG[W]WWE", r"\d{4}W\d{3}", True),
        ("GGGG[W]WW", r"\d{4}W\d{2}", False),
        ("YYYYDDD", r"\d{7}", True),
        ("YYYYMM", r"\d{6}", False),
        ("YYYY", r"\d{4}", False),
    )
)
_ISO_TIMES = tuple(
    (fmt, re.compile(pattern, re.ASCII))
    for fmt, pattern in (
        ("HH:mm:ss.SSSS", r"\d\d:\d\d:\d\d\.\d+"),
        ("HH:mm:ss,SSSS", r"\d\d:\d\d:\d\d,\d+"),
        ("HH:mm:ss", r"\d\d:\d\d:\d\d"),
        ("HH:mm", r"\d\d:\d\d"),
        ("HHmmss.SSSS", r"\d\d\d\d\d\d\.\d+"),
        ("HHmmss,SSSS", r"\d\d\d\d\d\d,\d+"),
        ("HHmmss", r"\d\d\d\d\d\d"),
        ("HHmm", r"\d\d\d\d"),
        ("HH", r"\d\d"),
    )
)
_TZ = re.compile(r"Z|[+-]\d\d(?::?\d\d)?", re.ASCII)
_ASPNET = re.compile(r"/?Date\((-?\d+)", re.I | re.ASCII)
_RFC2822 = re.compile(
    r"(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun),?\s)?(\d{1,2})\s(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s"
    r"(\d{2,4})\s(\d\d):(\d\d)(?::(\d\d))?\s(?:(UT|GMT|[ECMP][SD]T)|([Zz])|([+-]\d{4}))\Z",
    re.ASCII,
)
_OBSOLETE_OFFSETS = {"UT": 0, "GMT": 0, "EDT": -240, "EST": -300, "CDT": -300, "CST": -360}
_OBSOLETE_OFFSETS.update({"MDT": -360, "MST": -420, "PDT": -420, "PST": -480})

_FALLBACK_TIME = r"(?:(\d{1,2}):(\d\d)(?::(\d\d)(?:\.(\d+))?)?\s*(am|pm)?)"
_FALLBACK_ZONE = r"(?:(?:GMT|UTC)?\s*([+-]\d\d:?\d\d)|(Z|GMT|UTC))?(?:\s*\([^()]*\))?"
_FALLBACK_NUMERIC_YMD = re.compile(
    rf"\s*(\d{{4}})[/-](\d{{1,2}})[/-](\d{{1,2}})(?:(?:T|\s+){_FALLBACK_TIME})?\s*{_FALLBACK_ZONE}\s*\Z",
    re.ASCII | re.I,
)
_FALLBACK_NUMERIC_MDY = re.compile(
    rf"\s*(\d{{1,2}})/(\d{{1,2}})/(\d{{4}})(?:,?\s+{_FALLBACK_TIME})?\s*{_FALLBACK_ZONE}\s*\Z",
    re.ASCII | re.I,
)
_FALLBACK_TEXT = re.compile(
    r"\s*(?:(?:sun|mon|tue|wed|thu|fri|sat)[a-z]*\.?,?\s+)?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
    rf"\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?:,?\s+{_FALLBACK_TIME})?\s*{_FALLBACK_ZONE}\s*\Z",
    re.ASCII | re.I,
)


def _parse_iso(cfg: _Config, text: str) -> bool:
    """moment's configFromISO. False when the text is not ISO 8601 at all."""
    match = _ISO_EXTENDED.match(text) or _ISO_BASIC.match(text)
    if not match:
        return False
    date_format = time_format = tz_format = None
    allow_time = True
    for fmt, regex, allow in _ISO_DATES:
        if regex.search(match.group(1)):
            date_format, allow_time = fmt, allow
            break
    if date_format is None:
        return False
    if match.group(3):
        for fmt, regex in _ISO_TIMES:
            if regex.search(match.group(3)):
                time_format = (match.group(2) or " ") + fmt
                break
        if time_format is None:
            return False
    if not allow_time and time_format is not None:
        return False
    if match.group(4):
        if not _TZ.search(match.group(4)):
            return False
        tz_format = "Z"
    _parse_format(cfg, text, date_format + (time_format or "") + (tz_format or ""))
    return True


def _parse_rfc2822(cfg: _Config, text: str) -> bool:
    cleaned = re.sub(r"\([^()]*\)|[\n\t]", " ", text)
    cleaned = re.sub(r"\s\s+", " ", cleaned).strip()
    match = _RFC2822.match(cleaned)
    if not match:
        return False
    year = int(match.group(4))
    year = 2000 + year if year <= 49 else 1900 + year if year <= 999 else year
    month = _MONTHS_SHORT.index(match.group(3))
    day = int(match.group(2))
    if match.group(1) and _WEEKDAYS_SHORT.index(match.group(1)) != _weekday_of(_make_day(year, month, day)):
        return False
    second = int(match.group(7)) if match.group(7) else None
    cfg.a = [year, month, day, int(match.group(5)), int(match.group(6)), second, None]
    if match.group(8):
        cfg.tzm = _OBSOLETE_OFFSETS[match.group(8)]
    elif match.group(9):
        cfg.tzm = 0
    else:
        number = int(match.group(10))
        cfg.tzm = (abs(number) // 100 * 60 + abs(number) % 100) * (-1 if number < 0 else 1)
    cfg.has_array = True
    cfg.ms = _make_wall(year, month, day, cfg.a[3], cfg.a[4], second or 0) - cfg.tzm * _MS_MINUTE  # type: ignore[arg-type]
    cfg.check_overflow()
    return True


def _parse_fallback(cfg: _Config, text: str) -> bool:
    """A few common non-ISO shapes JavaScript's Date parser accepts (local time)."""
    match = _FALLBACK_NUMERIC_YMD.match(text)
    if match:
        year, month, day = int(match.group(1)), int(match.group(2)), int(match.group(3))
        rest = match.groups()[3:]
    else:
        match = _FALLBACK_NUMERIC_MDY.match(text)
        if match:
            month, day, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
            rest = match.groups()[3:]
        else:
            match = _FALLBACK_TEXT.match(text)
            if not match:
                return False
            month = _MONTHS_SHORT.index(match.group(1).capitalize()) + 1
            day, year = int(match.group(2)), int(match.group(3))
            rest = match.groups()[3:]
    hour_text, minute_text, second_text, fraction, meridiem, numeric_zone, _named_zone = rest
    hour = int(hour_text) if hour_text else 0
    if meridiem:
        if hour < 1 or hour > 12:
            return False
        hour = hour % 12 + (12 if meridiem.lower() == "pm" else 0)
    millisecond = math.trunc(float("0." + fraction) * 1000) if fraction else 0
    second = int(second_text) if second_text else 0
    cfg.a = [year, month - 1, day, hour, int(minute_text) if minute_text else 0, second, millisecond]
    if numeric_zone:
        cfg.tzm = _offset_from_string(_SHORT_OFFSET, numeric_zone)
    cfg.build()
    cfg.check_overflow()
    return True


def _parse_string(cfg: _Config, text: str) -> None:
    """moment's configFromString: ASP.NET JSON, ISO 8601, RFC 2822, then the fallback."""
    match = _ASPNET.match(text)
    if match:
        cfg.ms = int(match.group(1))
        return
    if _parse_iso(cfg, text) or _parse_rfc2822(cfg, text):
        return
    if cfg.strict or not _parse_fallback(cfg, text):
        cfg.bad = True


class _FormatConstant(Exposed):
    """``moment.ISO_8601`` / ``moment.RFC_2822``: pass as the format."""

    exposed: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<moment.{self._name}>"


ISO_8601 = _FormatConstant("ISO_8601")
RFC_2822 = _FormatConstant("RFC_2822")


def _parse_with(cfg: _Config, text: str, fmt: Any) -> None:
    if fmt is ISO_8601:
        if not _parse_iso(cfg, text):
            cfg.bad = True
    elif fmt is RFC_2822:
        if not _parse_rfc2822(cfg, text):
            cfg.bad = True
    elif isinstance(fmt, str):
        _parse_format(cfg, text, _check_string(fmt, "format"))
    else:
        raise _param_error(f"format must be a string or a list of strings, not {describe(fmt)}")


def _parse_with_formats(now: Callable[[], int], text: str, formats: list[Any], strict: bool) -> _Config:
    """moment's configFromStringAndArray: the best-scoring format wins."""
    if len(formats) > MAX_FORMATS:
        raise _param_error(f"more than {MAX_FORMATS} formats")
    if not formats:
        cfg = _Config(now, strict)
        cfg.bad = True
        return cfg
    best: _Config | None = None
    best_score = 0
    best_valid = False
    for fmt in formats:
        cfg = _Config(now, strict)
        _parse_with(cfg, text, fmt)
        valid = cfg.valid()
        score = cfg.chars_left_over + cfg.unused_tokens * 10
        if not best_valid:
            if best is None or score < best_score or valid:
                best, best_score, best_valid = cfg, score, valid
        elif score < best_score:
            best, best_score = cfg, score
    assert best is not None
    return best


def _array_value(value: Any) -> int | None:
    """JavaScript's ``parseInt(x, 10)`` for array/object input; None for NaN."""
    if _is_number(value):
        return _trunc(value) if not (isinstance(value, float) and not math.isfinite(value)) else None
    if isinstance(value, str):
        match = re.match(r"\s*([+-]?\d+)", value[:100], re.ASCII)
        return int(match.group(1)) if match else None
    return None


# --------------------------------------------------------------------------
# Moment

_UNSET: Any = object()


class Moment(Exposed):
    """One moment: an instant in milliseconds plus a mode (local, or a fixed
    UTC offset as after ``utc()``/``utcOffset(n)``), wrapping a pendulum
    DateTime in that offset. Mutating methods change it and return it."""

    script_name: ClassVar[str] = "moment"
    exposed: ClassVar[frozenset[str]] = frozenset(
        {
            "add", "subtract", "startOf", "endOf", "format", "valueOf", "unix", "toISOString", "toDate",
            "toJSON", "toString", "toArray", "toObject", "diff", "isBefore", "isAfter", "isSame",
            "isSameOrBefore", "isSameOrAfter", "isBetween", "year", "years", "month", "months", "quarter",
            "quarters", "date", "dates", "day", "days", "weekday", "isoWeekday", "dayOfYear", "week", "weeks",
            "isoWeek", "isoWeeks", "weekYear", "isoWeekYear", "weeksInYear", "weeksInWeekYear",
            "isoWeeksInYear", "isoWeeksInISOWeekYear", "hour", "hours", "minute", "minutes", "second",
            "seconds", "millisecond", "milliseconds", "get", "set", "clone", "utcOffset", "utc", "local",
            "isUtc", "isUTC", "isLocal", "isUtcOffset", "isValid", "isLeapYear", "isDST", "daysInMonth",
            "fromNow", "from_", "to", "toNow", "calendar", "locale", "zoneAbbr", "zoneName",
        }
    )  # fmt: skip

    def __init__(self, factory: MomentFactory, ms: int | None, offset: int = 0, utc: bool = False) -> None:
        self._factory = factory
        self._utc = utc
        self._off = offset
        self._ms: int = 0
        self._dt: pendulum.DateTime | None = None
        if ms is not None:
            self._set(ms, offset)

    # -- internal state

    def _set(self, ms: int, offset: int) -> None:
        wall = ms + offset * _MS_MINUTE
        if not (_MIN_MS <= ms <= _MAX_MS and _MIN_MS <= wall <= _MAX_MS):
            raise _out_of_range()
        days, rest = divmod(wall, _MS_DAY)
        date = _datetime.date.fromordinal(days + _EPOCH_ORDINAL)
        self._dt = pendulum.DateTime(
            date.year,
            date.month,
            date.day,
            rest // _MS_HOUR,
            rest // _MS_MINUTE % 60,
            rest // 1000 % 60,
            rest % 1000 * 1000,
            tzinfo=_timezone(offset),
        )
        self._ms = ms
        self._off = offset

    def _set_wall(self, wall: int) -> None:
        self._set(wall - self._off * _MS_MINUTE, self._off)

    @property
    def _valid(self) -> bool:
        return self._dt is not None

    def _wall(self) -> int:
        return self._ms + self._off * _MS_MINUTE

    def _millisecond(self) -> int:
        return self._dt.microsecond // 1000  # type: ignore[union-attr]

    def _weekday(self) -> int:
        return self._dt.isoweekday() % 7  # type: ignore[union-attr]

    def _quarter(self) -> int:
        return (self._dt.month - 1) // 3 + 1  # type: ignore[union-attr]

    def _week(self, rule: tuple[int, int]) -> tuple[int, int]:
        dt = self._dt
        return _week_of_year(dt.year, dt.day_of_year, *rule)  # type: ignore[union-attr]

    def _fields(self) -> tuple[int, int, int, int, int, int, int]:
        dt = self._dt
        assert dt is not None
        return dt.year, dt.month - 1, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond // 1000

    def _replace(self, **changes: int) -> None:
        year, month0, day, hour, minute, second, ms = self._fields()
        self._set_wall(
            _make_wall(
                changes.get("year", year),
                changes.get("month", month0),
                changes.get("day", day),
                changes.get("hour", hour),
                changes.get("minute", minute),
                changes.get("second", second),
                changes.get("ms", ms),
            )
        )

    def _add_days(self, days: int) -> Moment:
        if days:
            self._set_wall(self._wall() + days * _MS_DAY)
        return self

    def _set_month(self, month0: int) -> None:
        year, _, day = self._fields()[:3]
        if day >= 29:
            day = min(day, _days_in_month(year, month0))
        self._replace(month=month0, day=day)

    def _clone(self) -> Moment:
        twin = Moment(self._factory, None, self._off, self._utc)
        twin._ms, twin._dt = self._ms, self._dt
        return twin

    def _other(self, value: Any) -> Moment:
        """moment's ``isMoment(x) ? x : createLocal(x)``."""
        if isinstance(value, Moment):
            return value
        return self._factory._create(() if value is _UNSET else (value,), utc=False)

    def _with_my_offset(self, other: Moment) -> Moment:
        """moment's cloneWithOffset: ``other``'s instant in this moment's mode and offset."""
        return Moment(self._factory, other._ms if other._valid else None, self._off, self._utc)

    # -- Python operators (JavaScript coerces moments to numbers)

    def __lt__(self, other: Any) -> bool:
        return self.valueOf() < _operand(other)

    def __le__(self, other: Any) -> bool:
        return self.valueOf() <= _operand(other)

    def __gt__(self, other: Any) -> bool:
        return self.valueOf() > _operand(other)

    def __ge__(self, other: Any) -> bool:
        return self.valueOf() >= _operand(other)

    def __sub__(self, other: Any) -> int | float:
        return self.valueOf() - _operand(other)

    def __rsub__(self, other: Any) -> int | float:
        return _operand(other) - self.valueOf()

    def __float__(self) -> float:
        return float(self.valueOf())

    def __int__(self) -> int:
        if not self._valid:
            raise _range_error("an invalid moment has no integer value")
        return self._ms

    def __str__(self) -> str:
        return self.toString()

    # -- arithmetic

    def add(self, amount: Any = None, unit: Any = None) -> Moment:
        """``add(5, "minutes")``, ``add({days: 1, hours: 2})``, ``add(duration)``."""
        return self._add(amount, unit, 1)

    def subtract(self, amount: Any = None, unit: Any = None) -> Moment:
        return self._add(amount, unit, -1)

    def _add(self, amount: Any, unit: Any, sign: int) -> Moment:
        if unit is not None and not isinstance(amount, (dict, Duration)) and _numeric_value(unit) is not None:
            amount, unit = unit, amount  # moment's deprecated add("days", 5)
        what = "add" if sign > 0 else "subtract"
        if amount is None:
            raise _param_error(f"{what} needs an amount")
        duration = _make_duration(amount, unit, what)
        if not self._valid:
            return self
        months = _abs_round(duration._months)
        days = _abs_round(duration._days)
        wall = self._wall()
        if months:
            year, month0, day = self._fields()[:3]
            target = month0 + months * sign
            if day >= 29:
                day = min(day, _days_in_month(year, target))
            wall = _make_day(year, target, day) * _MS_DAY + wall % _MS_DAY
        if days:
            wall += days * sign * _MS_DAY
        ms = wall - self._off * _MS_MINUTE
        if duration._ms:
            ms = _trunc(ms + duration._ms * sign)
        self._set(ms, self._off)
        return self

    def startOf(self, unit: Any = None) -> Moment:
        unit = _unit(unit, _START_UNITS, "startOf")
        if self._valid and unit != "millisecond":
            self._set_wall(self._period_start(unit, 0))
        return self

    def endOf(self, unit: Any = None) -> Moment:
        unit = _unit(unit, _START_UNITS, "endOf")
        if self._valid and unit != "millisecond":
            self._set_wall(self._period_start(unit, 1) - 1)
        return self

    def _period_start(self, unit: str, later: int) -> int:
        """Wall-clock ms of the start of this (later=0) or the next (later=1) period."""
        year, month0, day = self._fields()[:3]
        wall = self._wall()
        if unit == "year":
            return _make_wall(year + later, 0, 1)
        if unit == "quarter":
            return _make_wall(year, month0 - month0 % 3 + 3 * later, 1)
        if unit == "month":
            return _make_wall(year, month0 + later, 1)
        if unit == "week":
            return _make_wall(year, month0, day - self._weekday() + 7 * later)
        if unit == "isoWeek":
            return _make_wall(year, month0, day - ((self._weekday() or 7) - 1) + 7 * later)
        if unit in ("day", "date"):
            return _make_wall(year, month0, day + later)
        size = {"hour": _MS_HOUR, "minute": _MS_MINUTE, "second": _MS_SECOND}[unit]
        return wall - wall % size + size * later

    # -- output

    def format(self, fmt: Any = None) -> str:
        if fmt is None or fmt == "":
            fmt = "YYYY-MM-DDTHH:mm:ss[Z]" if self.isUtc() else "YYYY-MM-DDTHH:mm:ssZ"
        elif not isinstance(fmt, str):
            raise _param_error(f"format must be a string, not {describe(fmt)}")
        _check_string(fmt, "format")
        if not self._valid:
            return _INVALID_DATE
        return self._format(fmt)

    def _format(self, fmt: str) -> str:
        parts = []
        for token in _format_tokens(fmt):
            formatter = _FORMATTERS.get(token)
            parts.append(formatter(self) if formatter else _literal(token))
        return "".join(parts)

    def valueOf(self) -> int | float:
        return self._ms if self._valid else _NAN

    def unix(self) -> int | float:
        return self._ms // 1000 if self._valid else _NAN

    def toISOString(self, keepOffset: bool = False) -> str | None:
        if not self._valid:
            return None
        if keepOffset is True:
            return self._format("YYYY-MM-DD[T]HH:mm:ss.SSSZ")
        return self._clone().utc()._format("YYYY-MM-DD[T]HH:mm:ss.SSS[Z]")

    def toJSON(self) -> str | None:
        return self.toISOString()

    def toString(self) -> str:
        if not self._valid:
            return _INVALID_DATE
        return self._format("ddd MMM DD YYYY HH:mm:ss [GMT]ZZ")

    def toDate(self) -> _datetime.datetime | None:
        """A plain (non-pendulum) timezone-aware UTC datetime; None when invalid."""
        if not self._valid:
            return None
        epoch = _datetime.datetime(1970, 1, 1, tzinfo=_datetime.UTC)
        return epoch + _datetime.timedelta(milliseconds=self._ms)

    def toArray(self) -> list[int | float]:
        if not self._valid:
            return [_NAN] * 7
        return list(self._fields())

    def toObject(self) -> JSObject:
        values: tuple[int | float, ...] = self._fields() if self._valid else (_NAN,) * 7
        keys = ("years", "months", "date", "hours", "minutes", "seconds", "milliseconds")
        return JSObject(zip(keys, values, strict=True))

    def locale(self, name: Any = _UNSET) -> str | Moment:
        """Only English exists: ``locale()`` is "en", ``locale(x)`` changes nothing."""
        return "en" if name is _UNSET else self

    def zoneAbbr(self) -> str:
        return "UTC" if self._utc else ""

    def zoneName(self) -> str:
        return "Coordinated Universal Time" if self._utc else ""

    # -- comparison

    def diff(self, other: Any = _UNSET, unit: Any = None, precise: bool = False) -> int | float:
        """``a.diff(b, unit)``: a - b in ``unit``, truncated toward zero unless ``precise``."""
        unit = "millisecond" if unit is None else _unit(unit, _DIFF_UNITS, "diff")
        if not self._valid:
            return _NAN
        that = self._with_my_offset(self._other(other))
        if not that._valid:
            return _NAN
        delta = self._ms - that._ms
        if unit in ("year", "month", "quarter"):
            output: int | float = _month_diff(self, that) / {"year": 12, "month": 1, "quarter": 3}[unit]
        else:
            scale = {"second": 1e3, "minute": 6e4, "hour": 36e5, "day": 864e5, "week": 6048e5}.get(unit)
            output = delta / scale if scale else delta
        if precise:
            return _out(output)
        return _abs_floor(output)

    def isBefore(self, other: Any = _UNSET, unit: Any = None) -> bool:
        that = self._other(other)
        unit = "millisecond" if unit is None else _unit(unit, _START_UNITS, "isBefore")
        if not (self._valid and that._valid):
            return False
        if unit == "millisecond":
            return self._ms < that._ms
        return self._clone().endOf(unit)._ms < that._ms

    def isAfter(self, other: Any = _UNSET, unit: Any = None) -> bool:
        that = self._other(other)
        unit = "millisecond" if unit is None else _unit(unit, _START_UNITS, "isAfter")
        if not (self._valid and that._valid):
            return False
        if unit == "millisecond":
            return self._ms > that._ms
        return that._ms < self._clone().startOf(unit)._ms

    def isSame(self, other: Any = _UNSET, unit: Any = None) -> bool:
        that = self._other(other)
        unit = "millisecond" if unit is None else _unit(unit, _START_UNITS, "isSame")
        if not (self._valid and that._valid):
            return False
        if unit == "millisecond":
            return self._ms == that._ms
        return self._clone().startOf(unit)._ms <= that._ms <= self._clone().endOf(unit)._ms

    def isSameOrAfter(self, other: Any = _UNSET, unit: Any = None) -> bool:
        that = self._other(other)
        return self.isSame(that, unit) or self.isAfter(that, unit)

    def isSameOrBefore(self, other: Any = _UNSET, unit: Any = None) -> bool:
        that = self._other(other)
        return self.isSame(that, unit) or self.isBefore(that, unit)

    def isBetween(self, start: Any, end: Any, unit: Any = None, inclusivity: Any = None) -> bool:
        """Exclusive by default; ``inclusivity`` is "()", "[]", "[)" or "(]"."""
        inclusivity = inclusivity or "()"
        if inclusivity not in ("()", "[]", "[)", "(]"):
            raise _param_error('isBetween inclusivity must be "()", "[]", "[)" or "(]"')
        first, last = self._other(start), self._other(end)
        if not (self._valid and first._valid and last._valid):
            return False
        after_start = self.isAfter(first, unit) if inclusivity[0] == "(" else not self.isBefore(first, unit)
        before_end = self.isBefore(last, unit) if inclusivity[1] == ")" else not self.isAfter(last, unit)
        return after_start and before_end

    # -- getters and setters

    def year(self, value: Any = None) -> int | float | Moment:
        if value is None:
            return self._dt.year if self._valid else _NAN  # type: ignore[union-attr]
        year = _setter_int(value, "year")
        if self._valid:
            _, month0, day = self._fields()[:3]
            if day == 29 and month0 == 1 and not _is_leap(year):
                day = 28
            self._replace(year=year, day=day)
        return self

    years = year

    def month(self, value: Any = None) -> int | float | Moment:
        """0-based: January is 0. Setting accepts a number or an English month name."""
        if value is None:
            return self._dt.month - 1 if self._valid else _NAN  # type: ignore[union-attr]
        if isinstance(value, str) and _numeric_string(value) is None:
            month = _parse_month_name(value.strip(), "MMMM", False) if len(value) <= 40 else None
            if month is None:
                raise _param_error(f"month: {value[:40]!r} is not a month name")
        else:
            month = _setter_int(value, "month")
        if self._valid:
            self._set_month(month)
        return self

    months = month

    def quarter(self, value: Any = None) -> int | float | Moment:
        if value is None:
            return self._quarter() if self._valid else _NAN
        quarter = _setter_int(value, "quarter")
        if self._valid:
            self._set_month((quarter - 1) * 3 + (self._dt.month - 1) % 3)  # type: ignore[union-attr]
        return self

    quarters = quarter

    def date(self, value: Any = None) -> int | float | Moment:
        """Day of the month, 1..31."""
        return self._field("day", value, "date")

    dates = date

    def day(self, value: Any = None) -> int | float | Moment:
        """Day of the week, 0 = Sunday. Setting accepts an English weekday name."""
        if value is None:
            return self._weekday() if self._valid else _NAN
        weekday = _weekday_arg(value, "day")
        return self._add_days(weekday - self._weekday()) if self._valid else self

    days = day

    def weekday(self, value: Any = None) -> int | float | Moment:
        """Locale day of the week (English weeks start on Sunday, so as ``day()``)."""
        if value is None:
            return self._weekday() if self._valid else _NAN
        weekday = _setter_int(value, "weekday")
        return self._add_days(weekday - self._weekday()) if self._valid else self

    def isoWeekday(self, value: Any = None) -> int | float | Moment:
        """1 = Monday ... 7 = Sunday."""
        if value is None:
            return (self._weekday() or 7) if self._valid else _NAN
        if isinstance(value, str) and _numeric_string(value) is None:
            weekday = _weekday_arg(value, "isoWeekday") % 7 or 7
        else:
            weekday = _setter_int(value, "isoWeekday")
        if not self._valid:
            return self
        current = self._weekday()
        return self._add_days((weekday if current % 7 else weekday - 7) - current)

    def dayOfYear(self, value: Any = None) -> int | float | Moment:
        if value is None:
            return self._dt.day_of_year if self._valid else _NAN  # type: ignore[union-attr]
        day = _setter_int(value, "dayOfYear")
        return self._add_days(day - self._dt.day_of_year) if self._valid else self  # type: ignore[union-attr]

    def week(self, value: Any = None) -> int | float | Moment:
        """Locale week of the year (English: weeks start Sunday, week 1 holds January 1)."""
        return self._week_field(value, _LOCALE_WEEK, "week")

    weeks = week

    def isoWeek(self, value: Any = None) -> int | float | Moment:
        return self._week_field(value, _ISO_WEEK, "isoWeek")

    isoWeeks = isoWeek

    def _week_field(self, value: Any, rule: tuple[int, int], what: str) -> int | float | Moment:
        if value is None:
            return self._week(rule)[0] if self._valid else _NAN
        week = _setter_int(value, what)
        return self._add_days((week - self._week(rule)[0]) * 7) if self._valid else self

    def weekYear(self, value: Any = None) -> int | float | Moment:
        return self._week_year(value, _LOCALE_WEEK, "weekYear")

    def isoWeekYear(self, value: Any = None) -> int | float | Moment:
        return self._week_year(value, _ISO_WEEK, "isoWeekYear")

    def _week_year(self, value: Any, rule: tuple[int, int], what: str) -> int | float | Moment:
        if value is None:
            return self._week(rule)[1] if self._valid else _NAN
        target = _setter_int(value, what)
        if not self._valid:
            return self
        if not 0 <= target <= 10_000:
            raise _out_of_range()
        week = min(self._week(rule)[0], _weeks_in_year(target, *rule))
        weekday = self._weekday() if rule == _LOCALE_WEEK else self._weekday() or 7
        year, day_of_year = _day_of_year_from_weeks(target, week, weekday, *rule)
        _, month0, day = _civil_from_days(_make_day(year, 0, day_of_year))
        self._replace(year=year, month=month0, day=day)
        return self

    def hour(self, value: Any = None) -> int | float | Moment:
        return self._field("hour", value, "hour")

    hours = hour

    def minute(self, value: Any = None) -> int | float | Moment:
        return self._field("minute", value, "minute")

    minutes = minute

    def second(self, value: Any = None) -> int | float | Moment:
        return self._field("second", value, "second")

    seconds = second

    def millisecond(self, value: Any = None) -> int | float | Moment:
        return self._field("ms", value, "millisecond")

    milliseconds = millisecond

    def _field(self, name: str, value: Any, what: str) -> int | float | Moment:
        """A plain getter/setter; set values overflow into the next unit, as JavaScript's Date does."""
        if value is None:
            if not self._valid:
                return _NAN
            return self._millisecond() if name == "ms" else getattr(self._dt, name)
        number = _setter_int(value, what)
        if self._valid:
            self._replace(**{name: number})
        return self

    def get(self, unit: Any) -> int | float:
        name = _GETSET_UNITS[_unit(unit, frozenset(_GETSET_UNITS), "get")]
        return getattr(self, name)()

    def set(self, unit: Any, value: Any = None) -> Moment:
        """``set("hour", 5)`` or ``set({"year": 2020, "month": 3})``."""
        if isinstance(unit, dict):
            items = [(_unit(key, frozenset(_GETSET_UNITS), "set"), v) for key, v in unit.items()]
            items.sort(key=lambda item: _SET_PRIORITY[item[0]])
        else:
            items = [(_unit(unit, frozenset(_GETSET_UNITS), "set"), value)]
        for name, item_value in items:
            if item_value is None:
                raise _param_error(f"set: no value for {name}")
            getattr(self, _GETSET_UNITS[name])(item_value)
        return self

    def daysInMonth(self) -> int | float:
        if not self._valid:
            return _NAN
        return _days_in_month(self._dt.year, self._dt.month - 1)  # type: ignore[union-attr]

    def isLeapYear(self) -> bool:
        return self._valid and _is_leap(self._dt.year)  # type: ignore[union-attr]

    def isDST(self) -> bool:
        """Always False: fixed offsets have no daylight saving time."""
        return False

    def weeksInYear(self) -> int | float:
        return _weeks_in_year(self._dt.year, *_LOCALE_WEEK) if self._valid else _NAN  # type: ignore[union-attr]

    def weeksInWeekYear(self) -> int | float:
        return _weeks_in_year(self._week(_LOCALE_WEEK)[1], *_LOCALE_WEEK) if self._valid else _NAN

    def isoWeeksInYear(self) -> int | float:
        return _weeks_in_year(self._dt.year, *_ISO_WEEK) if self._valid else _NAN  # type: ignore[union-attr]

    def isoWeeksInISOWeekYear(self) -> int | float:
        return _weeks_in_year(self._week(_ISO_WEEK)[1], *_ISO_WEEK) if self._valid else _NAN

    def clone(self) -> Moment:
        return self._clone()

    def isValid(self) -> bool:
        return self._valid

    # -- offsets

    def utcOffset(self, offset: Any = None, keepLocalTime: bool = False) -> int | float | Moment:
        """Get the offset in minutes, or set it: minutes, hours when |n| < 16, or "+08:00"."""
        if offset is None:
            if not self._valid:
                return self._off if self._utc else _NAN
            return self._off
        return self._set_offset(offset, keepLocalTime, keep_minutes=False)

    def _set_offset(self, offset: Any, keep_local_time: bool, keep_minutes: bool) -> Moment:
        minutes: int | float
        if isinstance(offset, str):
            parsed = _offset_from_string(_SHORT_OFFSET, offset[:100])
            if parsed is None:
                raise _param_error(f'utcOffset: {offset[:40]!r} is not an offset like "+08:00" or "-0530"')
            minutes = parsed
        else:
            minutes = _finite(_number(offset, "utcOffset"), "utcOffset")
            if abs(minutes) < 16 and not keep_minutes:
                minutes = minutes * 60
        whole = _js_round(minutes) if isinstance(minutes, float) else minutes
        if abs(whole) > MAX_OFFSET_MINUTES:
            raise _range_error(f"utcOffset: {whole} minutes is not a valid UTC offset")
        if not self._valid:
            return self
        if keep_local_time:
            self._set(self._wall() - whole * _MS_MINUTE, whole)
        else:
            self._set(self._ms, whole)
        self._utc = True
        return self

    def utc(self, keepLocalTime: bool = False) -> Moment:
        if not self._valid:
            self._utc = True
            return self
        return self._set_offset(0, keepLocalTime, keep_minutes=True)

    def local(self, keepLocalTime: bool = False) -> Moment:
        """Back to the runtime's local zone (UTC)."""
        if self._utc:
            if self._valid:
                self._set_offset(0, keepLocalTime, keep_minutes=True)
            self._utc = False
        return self

    def isUtc(self) -> bool:
        return self._valid and self._utc and self._off == 0

    isUTC = isUtc

    def isLocal(self) -> bool:
        return self._valid and not self._utc

    def isUtcOffset(self) -> bool:
        return self._valid and self._utc

    # -- relative time

    def from_(self, other: Any = _UNSET, withoutSuffix: bool = False) -> str:
        """moment's ``from`` (a Python keyword): "in 3 days", "5 minutes ago"."""
        return _relative(self._other(other), self, withoutSuffix)

    def to(self, other: Any = _UNSET, withoutSuffix: bool = False) -> str:
        return _relative(self, self._other(other), withoutSuffix)

    def fromNow(self, withoutSuffix: bool = False) -> str:
        return self.from_(_UNSET, withoutSuffix)

    def toNow(self, withoutSuffix: bool = False) -> str:
        return self.to(_UNSET, withoutSuffix)

    def calendar(self, reference: Any = _UNSET, formats: Any = None) -> str:
        """Calendar text: "Today at 2:30 PM", "Last Monday at ...", or L (MM/DD/YYYY) beyond a week."""
        if isinstance(reference, dict) and formats is None and set(reference) & set(_CALENDAR):
            reference, formats = _UNSET, reference
        if reference is None or reference is False:
            reference = _UNSET
        if formats is not None and not isinstance(formats, dict):
            raise _param_error("calendar formats must be an object of format strings")
        if not self._valid:
            return _INVALID_DATE
        now = self._other(reference)
        start_of_day = self._with_my_offset(now)
        if start_of_day._valid:
            start_of_day.startOf("day")
        days = self.diff(start_of_day, "days", True)
        if not isinstance(days, (int, float)) or math.isnan(days):
            key = "sameElse"
        else:
            key = (
                "sameElse" if days < -6 else "lastWeek" if days < -1 else "lastDay" if days < 0
                else "sameDay" if days < 1 else "nextDay" if days < 2 else "nextWeek" if days < 7 else "sameElse"
            )  # fmt: skip
        output = formats.get(key) if formats else None
        if output is not None and not isinstance(output, str):
            raise _param_error("calendar formats must be strings")
        return self.format(output or _CALENDAR[key])


def _operand(value: Any) -> int | float:
    if isinstance(value, Moment):
        return value.valueOf()
    if _is_number(value):
        return value
    raise ScriptError("TypeError", f"cannot compare or subtract a moment and {describe(value)}")


def _numeric_value(value: Any) -> int | float | None:
    if _is_number(value):
        return value
    return _numeric_string(value)


def _weekday_arg(value: Any, what: str) -> int:
    if isinstance(value, str) and _numeric_string(value) is None:
        weekday = _parse_weekday_name(value.strip(), "dddd", False) if len(value) <= 40 else None
        if weekday is None:
            raise _param_error(f"{what}: {value[:40]!r} is not a weekday name")
        return weekday
    return _setter_int(value, what)


def _month_diff(a: Moment, b: Moment) -> float:
    """moment's monthDiff: whole months plus a linear fraction of the month around ``b``."""
    if a._dt.day < b._dt.day:  # type: ignore[union-attr]
        return -_month_diff(b, a)
    whole = (b._dt.year - a._dt.year) * 12 + (b._dt.month - a._dt.month)  # type: ignore[union-attr]
    anchor = a._clone().add(whole, "months")._ms
    if b._ms - anchor < 0:
        anchor2 = a._clone().add(whole - 1, "months")._ms
        adjust = (b._ms - anchor) / (anchor - anchor2)
    else:
        anchor2 = a._clone().add(whole + 1, "months")._ms
        adjust = (b._ms - anchor) / (anchor2 - anchor)
    return -(whole + adjust) or 0.0


def _moments_difference(base: Moment, other: Moment) -> tuple[int, int]:
    """(months, milliseconds) from ``base`` to ``other``, as moment's momentsDifference."""
    other = base._with_my_offset(other)

    def positive(start: Moment, end: Moment) -> tuple[int, int]:
        months = end._dt.month - start._dt.month + (end._dt.year - start._dt.year) * 12  # type: ignore[union-attr]
        if start._clone().add(months, "M")._ms > end._ms:
            months -= 1
        return months, end._ms - start._clone().add(months, "M")._ms

    if base._ms < other._ms:
        return positive(base, other)
    months, ms = positive(other, base)
    return -months, -ms


def _relative(start: Moment, end: Moment, without_suffix: Any) -> str:
    if not (start._valid and end._valid):
        return _INVALID_DATE
    months, ms = _moments_difference(start, end)
    return Duration(ms, 0, months).humanize(not without_suffix)


# --------------------------------------------------------------------------
# Duration

_ASPNET_DURATION = re.compile(r"(-|\+)?(?:(\d*)[. ])?(\d+):(\d+)(?::(\d+)(\.\d*)?)?\Z", re.ASCII)
_ISO_DURATION = re.compile(
    r"(-|\+)?P(?:([-+]?[0-9,.]*)Y)?(?:([-+]?[0-9,.]*)M)?(?:([-+]?[0-9,.]*)W)?(?:([-+]?[0-9,.]*)D)?"
    r"(?:T(?:([-+]?[0-9,.]*)H)?(?:([-+]?[0-9,.]*)M)?(?:([-+]?[0-9,.]*)S)?)?\Z",
    re.ASCII,
)


def _duration_parts(values: dict[str, int | float]) -> tuple[int | float, int | float, int | float]:
    """(milliseconds, days, months) from unit amounts, as moment's Duration constructor."""

    def get(unit: str) -> int | float:
        return _finite(values.get(unit, 0), f"duration {unit}s")

    ms = get("millisecond") + get("second") * 1000 + get("minute") * 60_000 + get("hour") * 3_600_000
    days = get("day") + (get("week") or get("isoWeek")) * 7
    months = get("month") + get("quarter") * 3 + get("year") * 12
    return ms, days, months


def _make_duration(value: Any, unit: Any = None, what: str = "duration") -> Duration:
    """moment's createDuration for the inputs this module supports."""
    if isinstance(value, Duration):
        return Duration(value._ms, value._days, value._months)
    number = _numeric_value(value)
    if number is not None:
        key = "millisecond" if unit is None else _unit(unit, _DURATION_UNITS, what)
        return Duration(*_duration_parts({key: _finite(number, "duration amount")}))
    if isinstance(value, str):
        text = _check_string(value, "duration")
        match = _ASPNET_DURATION.match(text)
        if match:
            sign = -1 if match.group(1) == "-" else 1
            fraction = match.group(6)
            millis = _abs_round(float(fraction) * 1000) if fraction and fraction != "." else 0
            parts = {
                "day": _to_int(match.group(2) or "0") * sign,
                "hour": _to_int(match.group(3)) * sign,
                "minute": _to_int(match.group(4)) * sign,
                "second": _to_int(match.group(5) or "0") * sign,
                "millisecond": millis * sign,
            }
            return Duration(*_duration_parts(parts))
        match = _ISO_DURATION.match(text)
        if match:
            sign = -1 if match.group(1) == "-" else 1
            units = ("year", "month", "week", "day", "hour", "minute", "second")
            parts = {u: _iso_number(match.group(i + 2)) * sign for i, u in enumerate(units)}
            return Duration(*_duration_parts(parts))
        raise _param_error(f"{text[:40]!r} is not a duration (use a number and a unit, 'HH:mm:ss' or 'P1DT2H')")
    if isinstance(value, dict):
        parts = {}
        for key, amount in value.items():
            name = _unit(key, _DURATION_UNITS, what)
            parts[name] = _finite(_number(amount, f"duration {name}s"), f"duration {name}s")
        return Duration(*_duration_parts(parts))
    raise _param_error(f"cannot make a duration from {describe(value)}")


def _iso_number(text: str | None) -> int | float:
    """JavaScript's ``parseFloat`` of an ISO duration field ("1,5" is 1.5); NaN counts as 0."""
    match = re.match(r"[+-]?(?:\d+\.?\d*|\.\d+)", (text or "").replace(",", ".", 1))
    if not match:
        return 0
    number = float(match.group(0))
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


class Duration(Exposed):
    """A length of time: milliseconds, days and months kept apart, as in moment.js."""

    script_name: ClassVar[str] = "duration"
    exposed: ClassVar[frozenset[str]] = frozenset(
        {
            "as_", "asMilliseconds", "asSeconds", "asMinutes", "asHours", "asDays", "asWeeks", "asMonths",
            "asQuarters", "asYears", "milliseconds", "seconds", "minutes", "hours", "days", "weeks", "months",
            "years", "get", "humanize", "valueOf", "toISOString", "toJSON", "toString", "clone", "abs",
            "add", "subtract", "isValid", "locale",
        }
    )  # fmt: skip

    def __init__(self, ms: int | float, days: int | float, months: int | float) -> None:
        for part in (ms, days * _MS_DAY, months * 31 * _MS_DAY):
            if not (abs(part) <= MAX_DURATION_MS):  # also refuses NaN and Infinity
                raise _range_error("duration is too large (over about 30 million years)")
        self._ms = ms
        self._days = days
        self._months = months
        self._data: dict[str, int | float] = {}
        self._bubble()

    def _bubble(self) -> None:
        ms, days, months = self._ms, self._days, self._months
        if not ((ms >= 0 and days >= 0 and months >= 0) or (ms <= 0 and days <= 0 and months <= 0)):
            ms += _abs_ceil(_months_to_days(months) + days) * _MS_DAY
            days = months = 0
        data = self._data
        data["milliseconds"] = _js_mod(ms, 1000)
        seconds = _abs_floor(ms / 1000)
        data["seconds"] = _js_mod(seconds, 60)
        minutes = _abs_floor(seconds / 60)
        data["minutes"] = _js_mod(minutes, 60)
        hours = _abs_floor(minutes / 60)
        data["hours"] = _js_mod(hours, 24)
        days += _abs_floor(hours / 24)
        months_from_days = _abs_floor(_days_to_months(days))
        months += months_from_days
        days -= _abs_ceil(_months_to_days(months_from_days))
        data["days"] = days
        data["months"] = _js_mod(months, 12)
        data["years"] = _abs_floor(months / 12)

    def _as(self, unit: str) -> int | float:
        ms = self._ms
        if unit in ("month", "quarter", "year"):
            months = self._months + _days_to_months(self._days + ms / 864e5)
            return months / {"month": 1, "quarter": 3, "year": 12}[unit]
        days = self._days + _js_round(_months_to_days(self._months))
        if unit == "week":
            return days / 7 + ms / 6048e5
        if unit == "day":
            return days + ms / 864e5
        if unit == "hour":
            return days * 24 + ms / 36e5
        if unit == "minute":
            return days * 1440 + ms / 6e4
        if unit == "second":
            return days * 86400 + ms / 1000
        return math.floor(days * 864e5) + ms

    def as_(self, unit: Any) -> int | float:
        """moment's ``as`` (a Python keyword): the whole duration in ``unit``."""
        return _out(self._as(_unit(unit, _AS_UNITS, "as")))

    def asMilliseconds(self) -> int | float:
        return _out(self._as("millisecond"))

    def asSeconds(self) -> int | float:
        return _out(self._as("second"))

    def asMinutes(self) -> int | float:
        return _out(self._as("minute"))

    def asHours(self) -> int | float:
        return _out(self._as("hour"))

    def asDays(self) -> int | float:
        return _out(self._as("day"))

    def asWeeks(self) -> int | float:
        return _out(self._as("week"))

    def asMonths(self) -> int | float:
        return _out(self._as("month"))

    def asQuarters(self) -> int | float:
        return _out(self._as("quarter"))

    def asYears(self) -> int | float:
        return _out(self._as("year"))

    valueOf = asMilliseconds

    def milliseconds(self) -> int | float:
        return _out(self._data["milliseconds"])

    def seconds(self) -> int | float:
        return _out(self._data["seconds"])

    def minutes(self) -> int | float:
        return _out(self._data["minutes"])

    def hours(self) -> int | float:
        return _out(self._data["hours"])

    def days(self) -> int | float:
        return _out(self._data["days"])

    def weeks(self) -> int:
        return _abs_floor(self._data["days"] / 7)

    def months(self) -> int | float:
        return _out(self._data["months"])

    def years(self) -> int | float:
        return _out(self._data["years"])

    def get(self, unit: Any) -> int | float:
        name = _unit(unit, _DURATION_GETTERS, "get")
        return getattr(self, name + "s")()

    def humanize(self, withSuffix: Any = False, thresholds: Any = None) -> str:
        """Relative text: "a few seconds", "5 minutes", "in 2 days", "a month ago"."""
        suffix = withSuffix
        if isinstance(suffix, dict):
            suffix, thresholds = False, suffix
        limits = dict(_THRESHOLDS)
        if thresholds is not None:
            if not isinstance(thresholds, dict):
                raise _param_error("humanize thresholds must be an object")
            for key, limit in thresholds.items():
                if key not in limits:
                    raise _param_error(f"humanize: unknown threshold {str(key)[:20]!r}")
                if limit is None and key != "w":
                    raise _param_error(f"humanize: threshold {key} needs a number")
                limits[key] = None if limit is None else _finite(_number(limit, "threshold"), "threshold")
            if thresholds.get("s") is not None and thresholds.get("ss") is None:
                limits["ss"] = limits["s"] - 1  # type: ignore[operator]
        output = self._relative_time(limits)
        if suffix is True:
            output = ("in %s" if self._as("millisecond") > 0 else "%s ago") % output
        return output

    def _relative_time(self, limits: dict[str, Any]) -> str:
        span = Duration(abs(self._ms), abs(self._days), abs(self._months))
        seconds = _js_round(span._as("second"))
        minutes = _js_round(span._as("minute"))
        hours = _js_round(span._as("hour"))
        days = _js_round(span._as("day"))
        months = _js_round(span._as("month"))
        weeks = _js_round(span._as("week"))
        years = _js_round(span._as("year"))
        choice: tuple[str, int] | None = None
        if seconds <= limits["ss"]:
            choice = ("s", seconds)
        elif seconds < limits["s"]:
            choice = ("ss", seconds)
        elif minutes <= 1:
            choice = ("m", 1)
        elif minutes < limits["m"]:
            choice = ("mm", minutes)
        elif hours <= 1:
            choice = ("h", 1)
        elif hours < limits["h"]:
            choice = ("hh", hours)
        elif days <= 1:
            choice = ("d", 1)
        elif days < limits["d"]:
            choice = ("dd", days)
        elif limits["w"] is not None and weeks <= 1:
            choice = ("w", 1)
        elif limits["w"] is not None and weeks < limits["w"]:
            choice = ("ww", weeks)
        elif months <= 1:
            choice = ("M", 1)
        elif months < limits["M"]:
            choice = ("MM", months)
        elif years <= 1:
            choice = ("y", 1)
        else:
            choice = ("yy", years)
        key, number = choice
        return _RELATIVE[key].replace("%d", str(number or 1), 1)

    def toISOString(self) -> str:
        total = self._as("second")
        if not total:
            return "P0D"
        seconds: int | float = abs(self._ms) / 1000
        days, months = abs(self._days), abs(self._months)
        minutes = _abs_floor(seconds / 60)
        hours = _abs_floor(minutes / 60)
        seconds = math.fmod(seconds, 60)
        minutes %= 60
        years = _abs_floor(months / 12)
        months = math.fmod(months, 12) if isinstance(months, float) else months % 12
        shown = f"{seconds:.3f}".rstrip("0").rstrip(".") if seconds else ""

        def sign(x: int | float) -> int:
            return (x > 0) - (x < 0)

        total_sign = "-" if total < 0 else ""
        ym_sign = "-" if sign(self._months) != sign(total) else ""
        days_sign = "-" if sign(self._days) != sign(total) else ""
        hms_sign = "-" if sign(self._ms) != sign(total) else ""
        return (
            total_sign
            + "P"
            + (f"{ym_sign}{_num_text(years)}Y" if years else "")
            + (f"{ym_sign}{_num_text(months)}M" if months else "")
            + (f"{days_sign}{_num_text(days)}D" if days else "")
            + ("T" if hours or minutes or seconds else "")
            + (f"{hms_sign}{hours}H" if hours else "")
            + (f"{hms_sign}{minutes}M" if minutes else "")
            + (f"{hms_sign}{shown}S" if seconds else "")
        )

    toJSON = toISOString
    toString = toISOString

    def __str__(self) -> str:
        return self.toISOString()

    def clone(self) -> Duration:
        return Duration(self._ms, self._days, self._months)

    def abs(self) -> Duration:
        self._ms, self._days, self._months = abs(self._ms), abs(self._days), abs(self._months)
        for key in ("milliseconds", "seconds", "minutes", "hours", "months", "years"):
            self._data[key] = abs(self._data[key])
        return self

    def add(self, amount: Any, unit: Any = None) -> Duration:
        return self._add(_make_duration(amount, unit), 1)

    def subtract(self, amount: Any, unit: Any = None) -> Duration:
        return self._add(_make_duration(amount, unit), -1)

    def _add(self, other: Duration, sign: int) -> Duration:
        total = Duration(
            self._ms + sign * other._ms, self._days + sign * other._days, self._months + sign * other._months
        )
        self._ms, self._days, self._months, self._data = total._ms, total._days, total._months, total._data
        return self

    def isValid(self) -> bool:
        return True

    def locale(self, name: Any = _UNSET) -> str | Duration:
        return "en" if name is _UNSET else self


def _num_text(value: int | float) -> str:
    value = _out(value)
    return str(value)


def _days_to_months(days: int | float) -> float:
    return days * 4800 / 146097


def _months_to_days(months: int | float) -> float:
    return months * 146097 / 4800


# --------------------------------------------------------------------------
# the factory


class MomentFactory(Exposed):
    """``this.moment``: call it to make a moment; its attributes are moment's statics."""

    script_name: ClassVar[str] = "moment"
    exposed: ClassVar[frozenset[str]] = frozenset(
        {
            "utc", "unix", "isMoment", "isDate", "isDuration", "duration", "min", "max", "parseZone",
            "invalid", "now", "locale", "normalizeUnits", "months", "monthsShort", "weekdays",
            "weekdaysShort", "weekdaysMin", "ISO_8601", "RFC_2822",
        }
    )  # fmt: skip
    ISO_8601: ClassVar[_FormatConstant] = ISO_8601
    RFC_2822: ClassVar[_FormatConstant] = RFC_2822

    def __init__(self, now_ms: Callable[[], int]) -> None:
        self._now_ms = now_ms

    def _now(self) -> int:
        value = self._now_ms()
        if not _is_number(value) or not math.isfinite(value):
            raise ValueError("now_ms must return epoch milliseconds as a number")
        return math.trunc(value)

    def __call__(self, *args: Any) -> Moment:
        """``moment()``, ``moment(ms)``, ``moment("2020-01-01")``, ``moment("25/12/2020", "DD/MM/YYYY")``,
        ``moment(other)``, ``moment(datetime)``, ``moment([2020, 0, 31])``, ``moment({"year": 2020})``."""
        return self._create(args, utc=False)

    def utc(self, *args: Any) -> Moment:
        """As ``moment(...)``, in UTC mode: input without an offset is read as UTC."""
        return self._create(args, utc=True)

    def parseZone(self, *args: Any) -> Moment:
        """Parse and keep the input's own UTC offset (``"2020-01-01T10:00:00+08:00"`` stays at +08:00)."""
        cfg_holder: list[_Config] = []
        moment = self._create(args, utc=False, configs=cfg_holder)
        if not moment._valid:
            return moment
        tzm = cfg_holder[0].tzm if cfg_holder else None
        if tzm is None and args and isinstance(args[0], str):
            tzm = _offset_from_string(_OFFSET, args[0][:MAX_STRING_LENGTH])
        if tzm is not None:
            return moment._set_offset(tzm, False, keep_minutes=True)
        if args and isinstance(args[0], str):
            return moment._set_offset(0, True, keep_minutes=True)
        return moment

    def unix(self, seconds: Any) -> Moment:
        number = _number(seconds, "unix seconds")
        if isinstance(number, float) and not math.isfinite(number):
            return Moment(self, None)
        return Moment(self, _trunc(number * 1000))

    def invalid(self) -> Moment:
        return Moment(self, None, utc=True)

    def now(self) -> int:
        return self._now()

    def isMoment(self, value: Any) -> bool:
        return isinstance(value, Moment)

    def isDuration(self, value: Any) -> bool:
        return isinstance(value, Duration)

    def isDate(self, value: Any) -> bool:
        return isinstance(value, _datetime.datetime)

    def duration(self, value: Any = None, unit: Any = None) -> Duration:
        """``duration(90, "minutes")``, ``duration(5000)`` (ms), ``duration({"hours": 2})``,
        ``duration("01:30:00")``, ``duration("P1DT2H")``; ``duration()`` is zero."""
        return _make_duration(0 if value is None else value, unit)

    def min(self, *moments: Any) -> Moment:
        return self._pick(moments, "isBefore")

    def max(self, *moments: Any) -> Moment:
        return self._pick(moments, "isAfter")

    def _pick(self, moments: tuple[Any, ...], method: str) -> Moment:
        items: Any = moments
        if len(items) == 1 and isinstance(items[0], (list, tuple)):
            items = items[0]
        if not items:
            return self._create((), utc=False)
        for item in items:
            if not isinstance(item, Moment):
                raise _param_error(f"moment.min/max take moments, not {describe(item)}")
        result = items[0]
        for item in items[1:]:
            if not item._valid or getattr(item, method)(result):
                result = item
        return result

    def locale(self, *names: Any) -> str:
        """Only English exists."""
        return "en"

    def normalizeUnits(self, unit: Any) -> str | None:
        return normalize_unit(unit)

    def months(self, index: Any = None) -> list[str] | str:
        return _name_list(_MONTHS, index)

    def monthsShort(self, index: Any = None) -> list[str] | str:
        return _name_list(_MONTHS_SHORT, index)

    def weekdays(self, index: Any = None) -> list[str] | str:
        return _name_list(_WEEKDAYS, index)

    def weekdaysShort(self, index: Any = None) -> list[str] | str:
        return _name_list(_WEEKDAYS_SHORT, index)

    def weekdaysMin(self, index: Any = None) -> list[str] | str:
        return _name_list(_WEEKDAYS_MIN, index)

    # -- creation

    def _create(self, args: tuple[Any, ...], utc: bool, configs: list[_Config] | None = None) -> Moment:
        if len(args) > 4:
            raise _param_error("moment() takes at most 4 arguments (input, format, locale, strict)")
        value = args[0] if args else _UNSET
        fmt = args[1] if len(args) > 1 else None
        locale = args[2] if len(args) > 2 else None
        strict = args[3] if len(args) > 3 else False
        if isinstance(fmt, bool):
            fmt, strict = None, fmt
        if fmt == "":
            fmt = None
        if isinstance(locale, bool):
            strict = locale
        if not isinstance(strict, bool):
            raise _param_error("strict must be True or False")

        if isinstance(value, (dict, list, tuple)) and not value:
            value = _UNSET
        if value is _UNSET:
            return Moment(self, self._now(), 0, utc)
        if isinstance(value, Moment):
            twin = value._clone()
            return twin.utc() if utc else twin
        if value is None or isinstance(value, (bool, Duration)):
            return Moment(self, None, 0, utc)

        cfg = _Config(self._now, strict)
        if configs is not None:
            configs.append(cfg)
        if fmt is not None and (isinstance(value, str) or _is_number(value)):
            text = value if isinstance(value, str) else _number_text(value)
            _check_string(text, "input")
            if isinstance(fmt, (list, tuple)):
                cfg = _parse_with_formats(self._now, text, list(fmt), strict)
                if configs is not None:
                    configs[:] = [cfg]
            else:
                _parse_with(cfg, text, fmt)
            return Moment(self, cfg.result(), 0, utc)
        if isinstance(value, str):
            _check_string(value, "input")
            if value == "":
                return Moment(self, None, 0, utc)
            _parse_string(cfg, value)
            return Moment(self, cfg.result(), 0, utc)
        if _is_number(value):
            if isinstance(value, float) and not math.isfinite(value):
                return Moment(self, None, 0, utc)
            return Moment(self, _trunc(value), 0, utc)
        if isinstance(value, _datetime.datetime):
            return Moment(self, _datetime_ms(value), 0, utc)
        if isinstance(value, _datetime.date):
            return Moment(self, _days_from_civil(value.year, value.month, value.day) * _MS_DAY, 0, utc)
        if isinstance(value, (list, tuple)):
            if len(value) > 7:
                raise _param_error("moment([...]) takes at most 7 numbers: year, month (0-11), day, h, m, s, ms")
            parts = [_array_value(v) for v in value]
            if any(p is None for p in parts):
                return Moment(self, None, 0, utc)
            cfg.a[: len(parts)] = parts
        elif isinstance(value, dict):
            fields: dict[str, Any] = {}
            for key, item in value.items():
                fields[_unit(key, _OBJECT_UNITS, "moment({...})")] = item
            day = fields.get("day", fields.get("date"))
            for index, item in enumerate(
                (fields.get("year"), fields.get("month"), day, fields.get("hour"), fields.get("minute"),
                 fields.get("second"), fields.get("millisecond"))
            ):  # fmt: skip
                if item is None or item == 0:
                    cfg.a[index] = None if item is None else 0
                    continue
                parsed = _array_value(item)
                if parsed is None:
                    return Moment(self, None, 0, utc)
                cfg.a[index] = parsed
        else:
            return Moment(self, None, 0, utc)
        cfg.build()
        cfg.check_overflow()
        return Moment(self, cfg.result(), 0, utc)


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _datetime_ms(value: _datetime.datetime) -> int:
    """Epoch ms of a datetime; a naive one is local time, that is UTC."""
    offset = value.utcoffset()
    offset_ms = 0 if offset is None else offset // _datetime.timedelta(milliseconds=1)
    days = _days_from_civil(value.year, value.month, value.day)
    wall = days * _MS_DAY + value.hour * _MS_HOUR + value.minute * _MS_MINUTE + value.second * 1000
    return wall + value.microsecond // 1000 - offset_ms


def _name_list(names: tuple[str, ...], index: Any) -> list[str] | str:
    if index is None:
        return list(names)
    position = _setter_int(index, "index")
    if not 0 <= position < len(names):
        raise _range_error(f"index must be between 0 and {len(names) - 1}")
    return names[position]
