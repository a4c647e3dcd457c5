"""ISO 8601 texts that Python 3.11's `datetime.fromisoformat` reads and 3.10's does not, rewritten
into the one form 3.10 reads, so that a CSV's dates read alike on every Python seqlab runs on.

3.10 reads YYYY-MM-DD[*HH[:MM[:SS[.fff[fff]]]][+HH:MM[:SS[.ffffff]]]] only (* any one character);
3.11 also reads ("Changed in version 3.11" in the `datetime` docs):

    20240131, 20240131T1300, T130000        the basic format (no '-' or ':')
    2024-W05-3, 2024W053, 2024-W05          ISO week dates (a week alone: its Monday)
    +00, +0100, -0530, +010030              offsets of hours alone (PostgreSQL writes +00) or basic
    .5, .50, .5000, .123456789, ,5          a fraction of a second of any length (cut, not rounded,
                                            to microseconds), or after a comma

3.11 does not read reduced precision (2024-01, 2024), ordinal dates (2024-031), extended years
(+002024) or hour 24, and neither does `extended_form`. (3.11 also reads a fraction straight
after the hour or the minutes, 13.5, 13:30.5 or an offset's +01.5, as a fraction of a second: a
misreading, not copied here.)

`parse_timestamp` reads a CSV's date cell so (and a month, YYYY-MM, which 3.11 does not read), but
with only 'T' (or 't', as RFC 3339 allows, like the trailing 'z' read as UTC) or a space between the
date and the time, as ISO 8601 and pandas have it: fromisoformat takes any one character there, so
a ';'-separated row read as one cell, "2024-01-01;10", was a date at 10:00 (`_separated`). ISO 8601
has no zone on a date alone; a Z there (2024-01-01Z) reads as that day's midnight in UTC, as a Z after
a time does (pandas reads it so too), and any other offset there (2024-01-01+01:00) is refused.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

# ASCII digits only (\d is any Unicode digit); one separator throughout a part: "-" (or ":")
# between every field, or none (the basic format)
_DATE = re.compile(r"(\d{4})(-?)(\d{2})\2(\d{2})", re.ASCII)
_WEEK = re.compile(r"(\d{4})(-?)W(\d{2})(?:\2(\d))?", re.ASCII)
# HH[:MM[:SS[.f...]]] (or basic), then an offset [+-]HH[:MM[:SS[.f...]]] (or basic)
_TIME = re.compile(r"(\d{2})(?:(:?)(\d{2})(?:\2(\d{2})(?:[.,](\d+))?)?)?"
                   r"(?:([+-])(\d{2})(?:(:?)(\d{2})(?:\8(\d{2})(?:[.,](\d+))?)?)?)?", re.ASCII)


def _fraction(digits: str | None) -> str:
    """'.ffffff' of a fraction's digits, cut or padded to microseconds; '' for none."""
    return "" if digits is None else "." + (digits + "00000")[:6]


def extended_form(text: str) -> str | None:
    """`text` (stripped, a trailing Z already +00:00) as YYYY-MM-DD[THH:MM:SS[.ffffff][+HH:MM[:SS[.ffffff]]]],
    which `datetime.fromisoformat` reads on Python 3.10 as 3.11 reads `text`; None when `text` is
    not one of the forms 3.11 reads (see the module's docstring). The fields' ranges (month 13, a
    31st of February) are left to fromisoformat."""
    for pattern in (_DATE, _WEEK):
        head = pattern.match(text)
        if head:
            break
    else:
        return None
    if pattern is _DATE:
        day = f"{head[1]}-{head[3]}-{head[4]}"
    else:
        try:
            day = date.fromisocalendar(int(head[1]), int(head[3]), int(head[4] or 1)).isoformat()
        except ValueError:  # week 53 of a year of 52, day 8
            return None
    rest = text[head.end():]
    if not rest:
        return day
    time = _TIME.fullmatch(rest, 1)  # (rest[0]: the separator, any one character, as fromisoformat takes it)
    if time is None:
        return None
    hh, mm, ss, frac, sign, zh, zm, zs, zfrac = (time[i] for i in (1, 3, 4, 5, 6, 7, 9, 10, 11))
    clock = f"{hh}:{mm or '00'}:{ss or '00'}{_fraction(frac)}"
    if sign is None:
        return f"{day}{rest[0]}{clock}"
    zone = f"{sign}{zh}:{zm or '00'}" + (f":{zs}{_fraction(zfrac)}" if zs else "")
    return f"{day}{rest[0]}{clock}{zone}"


# ISO 8601's reduced precision: a month (AirPassengers' 1949-01); ASCII digits only, as fromisoformat and
# the patterns above read them (\d alone matched "٢٠٢٤-٠١", which int() read as 2024-01)
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def parse_timestamp(cell: str) -> datetime | None:
    """An ISO 8601 date or date-time, as Python 3.11's `datetime.fromisoformat` reads it (on 3.10
    too: `extended_form`; plus a trailing z for UTC), or a month (YYYY-MM, read as its first day),
    else None. A date alone reads as midnight (with a Z: midnight UTC, see the module's docstring)."""
    text = cell.strip()
    month = _YEAR_MONTH.fullmatch(text)
    if month:
        try:
            return datetime(int(month[1]), int(month[2]), 1)
        except ValueError:
            return None
    if text[-1:] in ("Z", "z"):
        day = _from_iso(date.fromisoformat, text[:-1])
        if day is not None:  # (+00:00 after a date alone is refused as no separator before a time)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        text = text[:-1] + "+00:00"
    return _from_iso(datetime.fromisoformat, text)


def _is_date_only(cell: str) -> bool:
    """A date without a time of day, as 3.11's `date.fromisoformat` reads it (20240131 and 2024-W05-3
    too, on 3.10 as well)."""
    return _from_iso(date.fromisoformat, cell.strip()) is not None


def _from_iso(parse, text: str):
    """`parse(text)` (datetime's or date's fromisoformat), else `parse` of its `extended_form` (what
    3.11 reads and 3.10 does not; on 3.11: None, or a form it refuses too); None where neither reads,
    or where the date and the time are not `_separated` as ISO 8601 has them."""
    if not _separated(text):
        return None
    try:
        return parse(text)
    except ValueError:
        form = extended_form(text)
    try:
        return None if form is None else parse(form)
    except ValueError:
        return None


_CLOCK_SEPARATORS = ("T", "t", " ")


def _separated(text: str) -> bool:
    """Whether a date-time `text` has 'T', 't' or a space between its date and its time (True for a
    date alone, and for a text that starts with no date: fromisoformat refuses it anyway). Any other
    character there is no ISO 8601 (fromisoformat reads "2024-01-01;10" and "2024-01-01x10" as 10:00)."""
    head = _DATE.match(text) or _WEEK.match(text)
    return head is None or head.end() == len(text) or text[head.end()] in _CLOCK_SEPARATORS
