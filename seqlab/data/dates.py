"""Timestamps of an evenly spaced series (a CSV's date column): parsing, checking, naming the future.

`DateIndex.read_cells` reads ISO 8601 cells that must be strictly increasing and evenly
spaced — a fixed step (days, hours, ...), whole calendar months (monthly, quarterly,
yearly; on one day of the month or on month ends), or business days (weekdays only, the
weekends skipped: pandas' freq "B") — and refuses anything else, naming the
line at fault (with `gaps=True` it takes missing dates, whole steps apart, for `--fill` to
fill). The index is a start and a step, so it also names the timestamps after the
series' end (what `seqlab forecast` prints), and travels in a checkpoint's metadata as plain data.
(How a cell is read: `seqlab.data.iso8601`; how the step is found, and the refusals for dates off it:
`seqlab.data.date_steps`.)
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from seqlab.data.date_steps import (UnevenDates, business_number, business_shift, gap_message, grid_positions,
                                     looks_like_business_days, step_of, stray_weekend_message, stray_weekend_rows)
from seqlab.data.iso8601 import _YEAR_MONTH, _is_date_only, parse_timestamp
from seqlab.errors import SeqlabError

_SHOWN = 60  # characters of a cell shown in a message


def show_cell(cell: str) -> str:
    """A cell for a one-line message: its repr (newlines escaped), cut to a readable length."""
    return repr(cell) if len(cell) <= _SHOWN else repr(cell[:_SHOWN]) + f"... ({len(cell):,} characters)"


def _month_index(t: datetime) -> int:
    return t.year * 12 + t.month - 1


def _is_month_end(t: datetime) -> bool:
    return t.day == calendar.monthrange(t.year, t.month)[1]


def _add_months(t: datetime, months: int, month_end: bool, day: int = 0) -> datetime:
    """`t` moved `months` calendar months: on the month's last day (`month_end`), else on `day` (0:
    `t`'s), clamped to a shorter month's last day."""
    year, month = divmod(_month_index(t) + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return t.replace(year=year, month=month + 1, day=last if month_end else min(day or t.day, last))


def _anchor_day(day: int, start: datetime, months: int, month_end: bool) -> int:
    """`DateIndex.day` of an index from `start` whose dates fall on `day` of each month: 0 when that is
    `start`'s own day (nothing to keep), or the index is not on one day of a month (month ends, fixed steps)."""
    return day if months and not month_end and day != start.day else 0


def _say_delta(d: timedelta) -> str:
    """A time difference in words: '1 day', '3 hours', '2 days, 1:30:00'."""
    for unit, size in (("week", timedelta(weeks=1)), ("day", timedelta(days=1)), ("hour", timedelta(hours=1)),
                       ("minute", timedelta(minutes=1)), ("second", timedelta(seconds=1))):
        if d >= size and d % size == timedelta(0) and (unit != "week" or d == size):
            n = d // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return str(d)


def _say_business_days(n: int) -> str:
    return f"{n} business day{'s' if n != 1 else ''}"


def _say_months(n: int) -> str:
    return "1 year" if n == 12 else f"{n // 12} years" if n % 12 == 0 else f"{n} month{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class DateIndex:
    """The timestamps of an evenly spaced series: position p is `start` + p steps.

    A step is a fixed `step` (a day, an hour, ...) or, when `months` > 0, that many calendar
    months (monthly, quarterly, yearly data: each on the same day of its month, or each on its
    month's last day when `month_end`), or, when `business`, one business day (`step` a day; the
    weekends skipped, as pandas' freq "B": 5 positions after a Monday is the next Monday; a holiday is
    a missing date, as pandas' asfreq("B") leaves it). Positions past the series' end are its future.

    `zones`: when the rows' UTC offsets change inside the series (daylight saving), each run of
    rows with one offset, as (first, last) timestamps read: a row is printed in its own offset,
    a missing one between two runs in the run before's (where the change fell between them is
    unknown), the future in the last row's (the next change is unknown: offsets name no time zone).
    """

    column: str
    start: datetime
    length: int  # timestamps in the series
    step: timedelta = timedelta(0)
    months: int = 0
    month_end: bool = False
    date_only: bool = True  # dates without a time of day: written as YYYY-MM-DD
    month_only: bool = False  # months (YYYY-MM cells): written as YYYY-MM
    zones: tuple[tuple[datetime, datetime], ...] = ()
    business: bool = False  # weekdays only (`start` one): position p is p business days after it
    day: int = 0  # a monthly index's day of the month when `start` is clamped from it (Feb 28 of the 30th); 0: start's

    def at(self, position: int) -> datetime:
        """Position `position`'s timestamp on the index's clock (absolute time, or the wall clock of a
        series read on it: `read_cells`), in the first row's offset."""
        if self.months:
            return _add_months(self.start, position * self.months, self.month_end, self.day)
        if self.business:
            return business_shift(self.start, position)
        return self.start + position * self.step

    def tail(self, first: int, length: int) -> DateIndex:
        """The index of this one's `length` positions from `first` on (a series whose leading values
        are dropped): a monthly one keeps its day where the new start is clamped from it."""
        start = self.at(first)
        return dataclasses.replace(self, start=start, length=length,
                                   day=_anchor_day(self.day or self.start.day, start, self.months, self.month_end))

    def iso(self, position: int) -> str:
        """The ISO 8601 text of position `position` (0-based; the series' end and on: its future), in
        its row's UTC offset (`zones`)."""
        return self._text(self._zoned(self.at(position)))

    def _text(self, t: datetime) -> str:
        if self.month_only:
            return f"{t.year:04d}-{t.month:02d}"
        return t.date().isoformat() if self.date_only else t.isoformat()

    def _zoned(self, t: datetime) -> datetime:
        wall = t.tzinfo is None  # (a series read on the wall clock: its zones' offsets are attached, not applied)
        for i, (first, last) in enumerate(self.zones):
            a, b = (first.replace(tzinfo=None), last.replace(tzinfo=None)) if wall else (first, last)
            if t < a:  # between the run before and this one (i > 0): the change's instant is unknown, so
                zone = self.zones[i - 1][0].tzinfo  # in the run before's offset, as a carried-forward value
                return t.replace(tzinfo=zone) if wall else t.astimezone(zone)
            if t <= b or i == len(self.zones) - 1:  # a row of this run, or the future after the last
                return t.replace(tzinfo=first.tzinfo) if wall else t.astimezone(first.tzinfo)
        return t

    def offsets_note(self) -> str | None:
        """A note for forecasts dated past the series' end when its UTC offsets change inside it."""
        if not self.zones:
            return None
        said = list(dict.fromkeys(_say_offset(first) for first, _ in self.zones))
        return (f"the dates carry UTC offsets {', '.join(said[:-1])} and {said[-1]}; forecasts are dated in the last "
                f"row's {_say_offset(self.zones[-1][0])} (offsets name no time zone, so a later daylight-saving "
                "change is not foreseen)")

    @property
    def every(self) -> str:
        if self.business:
            return _say_business_days(1)
        return _say_months(self.months) if self.months else _say_delta(self.step)

    def to_meta(self) -> dict:
        """Plain data for a checkpoint's metadata (`from_meta` reads it back)."""
        step = ({"months": self.months, "month_end": self.month_end, **({"day": self.day} if self.day else {})}
                if self.months else
                {"days": self.step.days, "seconds": self.step.seconds, "microseconds": self.step.microseconds,
                 **({"business": True} if self.business else {})})
        zones = {"zones": [[a.isoformat(), b.isoformat()] for a, b in self.zones]} if self.zones else {}
        return {"column": self.column, "start": self._text(self.at(0)), "last": self.iso(self.length - 1),
                "every": self.every, "step": step, "length": self.length, "date_only": self.date_only,
                "month_only": self.month_only, **zones}

    @classmethod
    def from_meta(cls, meta: dict) -> DateIndex:
        """The index `to_meta` wrote; a SeqlabError saying what is wrong with an edited one."""
        try:
            step, length = meta["step"], meta["length"]
            start, last = parse_timestamp(meta["start"]), parse_timestamp(meta["last"])
            if start is None or last is None or not isinstance(length, int) or length < 1:
                raise ValueError
            zones = tuple((parse_timestamp(a), parse_timestamp(b)) for a, b in meta.get("zones", ()))
            if any(a is None or b is None or a.tzinfo is None or a.utcoffset() != b.utcoffset() for a, b in zones):
                raise ValueError
            if "zones" not in meta and start.tzinfo is not None and start.utcoffset() != last.utcoffset():
                zones = ((start, start), (last, last))  # (older runs kept the last offset only: between, the first)
            if "months" in step:
                day = step.get("day", 0)  # (older runs: no key)
                if not isinstance(day, int) or not (day == 0 or (not step["month_end"] and _is_month_end(start)
                                                                  and start.day < day <= 31)):
                    raise ValueError
                index = cls(str(meta["column"]), start, length, months=int(step["months"]),
                            month_end=bool(step["month_end"]), date_only=bool(meta["date_only"]),
                            month_only=bool(meta.get("month_only", False)), zones=zones, day=day)
            else:
                index = cls(str(meta["column"]), start, length,
                            step=timedelta(days=step["days"], seconds=step["seconds"],
                                           microseconds=step["microseconds"]), date_only=bool(meta["date_only"]),
                            zones=zones, business=bool(step.get("business", False)))  # (older runs: no key)
            if index.business and (index.step != timedelta(days=1) or start.weekday() >= 5):
                raise ValueError
            if (index.months <= 0 and index.step <= timedelta(0)) or index.iso(length - 1) != meta["last"]:
                raise ValueError
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
            raise SeqlabError(f"its dates ({str(meta)[:120]}) are not a start, a step and a last date that agree") \
                from None
        return index

    @classmethod
    def read_cells(cls, cells: list[tuple[int, str]], column: str, where: str, hint: str = "", *,
                   gaps: bool = False, grid: DateIndex | None = None) -> tuple[DateIndex, list[int]]:
        """The index of (line, cell) timestamps, at least two, and each cell's position in it; a
        SeqlabError naming the first line that is not an ISO date, out of order, repeated, or off
        the series' even spacing (a gap included: `UnevenDates`). `gaps`: dates missing from the series
        (cells a whole number of steps apart) are taken, the index spans them all (its length is
        the last position + 1), and the positions skip them; uneven spacing is still refused. The
        step is the most common difference; with `gaps`, the smallest when it divides every other
        (the grid pandas' asfreq fills: a daily series missing most days still steps by a day);
        with `grid` (a run's index), that index's step. Daily dates on weekdays only, a weekend
        between some of them (`looks_like_business_days`), are business days: a weekday missing
        (a holiday) is a gap; with `grid`, business days exactly when the run's are (weekdays only on a
        grid of calendar days: refused, but with `gaps` their weekends are gaps). Without `gaps`, a
        gap is refused as --fill would count it, and a series --fill could not read either as --fill
        refuses it."""
        # parsed, and read for all that does not depend on the grid, once (`_Timeline`): a refused gap places
        # them on a grid up to twice more
        timeline = _Timeline(cells, cls._timestamps(cells, column, where, hint))
        try:
            return cls._read_cells(cells, timeline, column, where, hint, gaps=gaps, grid=grid)
        except UnevenDates as exc:
            if gaps or exc.missing is None:
                raise
            # --fill's grid may be finer than the usual step (the smallest difference when it divides the
            # others), and business days where the usual step is not a day: the gap is counted on it
            filled, _ = cls._read_cells(cells, timeline, column, where, hint, gaps=True, grid=grid)  # (raises: uneven)
            cls._read_cells(cells, timeline, column, where, hint, gaps=False, grid=filled)  # (raises: the first gap)
            raise

    @classmethod
    def _timestamps(cls, cells: list[tuple[int, str]], column: str, where: str, hint: str) -> list[datetime]:
        """Each cell's timestamp, strictly increasing; else a SeqlabError naming the line."""
        head = f"{where}, column {column!r}"
        times = []
        for line, cell in cells:
            t = parse_timestamp(cell)
            if t is None:
                raise SeqlabError(f"{head}, line {line}: {show_cell(cell)} is not an ISO 8601 date or date-time "
                                  f"(e.g. 2024-01-31 or 2024-01-31 13:00){hint}")
            if times and (t.tzinfo is None) != (times[0].tzinfo is None):
                raise SeqlabError(f"{head}, line {line}: {show_cell(cell)} has {'no' if t.tzinfo is None else 'a'} "
                                  f"UTC offset, unlike line {cells[0][0]}'s {show_cell(cells[0][1])}: write every "
                                  "timestamp with an offset, or every one without")
            times.append(t)
        for i in range(1, len(times)):
            if times[i] > times[i - 1]:
                continue
            (line0, cell0), (line1, cell1) = cells[i - 1], cells[i]
            if times[i] == times[i - 1]:
                dst = (" (or, in local time without UTC offsets, the hour a daylight-saving change repeats: write "
                       "the offsets, or UTC)" if times[i].tzinfo is None and i >= 2
                       and timedelta(0) < times[i - 1] - times[i - 2] <= timedelta(hours=1) else "")
                raise SeqlabError(f"{head}: line {line1} repeats the timestamp {cell1} of line {line0}; a forecast "
                                  "reads one series per file (a long-format file with several series, e.g. one "
                                  f"per store, must be split into one file per series first){dst}")
            if all(b < a for a, b in zip(times, times[1:])):
                raise SeqlabError(f"{head} runs newest first ({cell0} on line {line0}, {cell1} on line {line1}): "
                                  "sort the file by its dates in ascending order (oldest first)")
            raise SeqlabError(f"{head}: line {line1} ({cell1}) comes before line {line0} ({cell0}): the "
                              "timestamps must be strictly increasing; sort the file by its dates, oldest "
                              "first")
        return times

    @classmethod
    def _read_cells(cls, cells: list[tuple[int, str]], timeline: _Timeline, column: str, where: str, hint: str, *,
                    gaps: bool, grid: DateIndex | None) -> tuple[DateIndex, list[int]]:
        """`read_cells` of the cells' `timeline` on a grid, each refusal the first thing found wrong."""
        head = f"{where}, column {column!r}"
        times, date_only, zones, anchored = timeline.times, timeline.date_only, timeline.zones, timeline.anchored
        first = times[0]
        if grid is not None and anchored != bool(grid.months):
            if grid.months:  # (a fixed-step grid counts the days between monthly dates: it reads them)
                raise UnevenDates(f"{head}: its dates are not on one day of each month, as the run's (one every "
                                  f"{grid.every}) are")
            anchored = False
        if anchored:  # a calendar step: monthly, quarterly, yearly, ...
            diffs, month_end = timeline.month_diffs, timeline.month_end
            step_m = grid.months if grid is not None else step_of(diffs, gaps)
            steps = grid_positions(diffs, step_m, gaps, lambda i, d, step, missing: gap_message(
                head, cells, i, _say_months(d), _say_months(step), missing, hint))
            index = cls(column, first, steps[-1] + 1, months=step_m, month_end=month_end, date_only=date_only,
                        month_only=timeline.month_only, zones=zones,
                        day=_anchor_day(timeline.day, first, step_m, month_end))
        else:
            diffs = timeline.diffs
            step = grid.step if grid is not None else step_of(diffs, gaps)
            stray = stray_weekend_rows(times, step) if grid is None and not gaps else []
            if stray:
                raise UnevenDates(stray_weekend_message(head, cells, times, stray))
            business = looks_like_business_days(times, step) if grid is None else grid.business
            # weekdays on a run's calendar days: with `gaps` (--fill), their weekends are whole missing days
            if grid is not None and (any(t.weekday() >= 5 for t in times) if business else
                                     not gaps and looks_like_business_days(times, step)):
                raise UnevenDates(_off_business_grid(head, cells, times, grid))
            if business:  # each date's place among business days (pandas' BDay)
                steps = grid_positions(timeline.business_diffs, 1, gaps, lambda i, d, n, missing:
                                       gap_message(head, cells, i, _say_business_days(d), _say_business_days(n),
                                                   missing, hint, unit="business day"))
                index = cls(column, first, steps[-1] + 1, step=step, date_only=date_only, zones=zones, business=True)
            else:
                naive_clock = first.tzinfo is None and not date_only  # local times: a DST change skips an hour

                def say(i, d, step, missing):
                    dst = naive_clock and missing is not None and d - step == timedelta(hours=1)
                    return gap_message(head, cells, i, _say_delta(d), _say_delta(step), missing, hint, dst)
                steps = grid_positions(diffs, step, gaps, say)
                index = cls(column, first, steps[-1] + 1, step=step, date_only=date_only, zones=zones)
        for (line, cell), i, t in zip(cells, steps, times):  # the index must give back every date of the file
            if index.at(i) != t:  # (month ends and all)
                raise UnevenDates(f"{head}, line {line}: {cell} is off the series' even spacing (one every "
                                  f"{index.every} from {cells[0][1]} gives {index.iso(i)}); a forecast needs an "
                                  f"evenly spaced series: resample it first{hint}")
        return index, steps


class _Timeline:
    """What a series' timestamps say whatever the grid they are placed on (`DateIndex._read_cells`): read
    once per `read_cells`, which places them up to three times (a gap refused without --fill is counted on
    --fill's grid); each list of differences is made on first use, then shared."""

    def __init__(self, cells: list[tuple[int, str]], times: list[datetime]):
        self.date_only = all(_is_date_only(c) for _, c in cells)
        self.month_only = all(_YEAR_MONTH.fullmatch(c.strip()) for _, c in cells)
        if self.month_only:
            self.date_only = True
        # Local times with UTC offsets (pandas writes a tz-aware index so) change offset at a daylight-saving
        # change: a daily or monthly series at one wall-clock time is evenly spaced in wall-clock time, not in
        # absolute time. It is read on the wall clock (each row printed in its own offset, the future in the
        # last row's: `zones`).
        self.zones = _runs_of_one_offset(times)
        same_time = all(t.time() == times[0].time() for t in times)  # (time(): the wall clock's, no offset)
        offsets = sorted({t.utcoffset() for t in times}, key=lambda o: o or timedelta(0))
        if same_time and len(offsets) == 2 and offsets[1] - offsets[0] <= timedelta(hours=1):  # a DST change
            times = [t.replace(tzinfo=None) for t in times]
        self.times = times
        ends = all(map(_is_month_end, times))
        # one day of the month throughout, or that day clamped to a shorter month's end (the 30th: Feb 28),
        # the first row's too (a series of the 29th from February: its day is the latest one)
        self.day = max(t.day for t in times)
        on_day = all(t.day == self.day or (t.day < self.day and _is_month_end(t)) for t in times)
        self.anchored = same_time and (on_day or ends)  # a calendar step, unless a run's grid has a fixed one
        self.month_end = ends and any(t.day != times[0].day for t in times)  # (the 30th throughout: the 30th)

    @functools.cached_property
    def diffs(self) -> list[timedelta]:
        return [b - a for a, b in zip(self.times, self.times[1:])]

    @functools.cached_property
    def month_diffs(self) -> list[int]:
        return [_month_index(b) - _month_index(a) for a, b in zip(self.times, self.times[1:])]

    @functools.cached_property
    def business_diffs(self) -> list[int]:
        """The business days between consecutive weekdays (pandas' BDay)."""
        numbers = [business_number(t) for t in self.times]
        return [b - a for a, b in zip(numbers, numbers[1:])]


def _off_business_grid(head: str, cells: list[tuple[int, str]], times: list[datetime], grid: DateIndex) -> str:
    """Why dates read on a run's grid are not on it: a weekend row for a run on business days, or
    business days for a run on calendar days."""
    if grid.business:
        weekend = [i for i, t in enumerate(times) if t.weekday() >= 5]
        (line, cell), day = cells[weekend[0]], calendar.day_name[times[weekend[0]].weekday()]
        more = (f" (one of {len(weekend)} weekend rows: the file has one value every day, the run one every business "
                "day; resample it to business days)") if len(weekend) > 1 else ": drop it"
        return (f"{head}, line {line}: {cell} is a {day}, off the run's business days (Monday to Friday, the weekends "
                f"skipped){more}")
    return (f"{head}: its dates are business days (every row a weekday, the weekends missing), the run's are one "
            f"every {grid.every}")


def _say_offset(t: datetime) -> str:
    """A timestamp's UTC offset as ISO 8601 writes it: '+02:00', '-04:00'."""
    minutes = t.utcoffset() // timedelta(minutes=1)
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _runs_of_one_offset(times: list[datetime]) -> tuple[tuple[datetime, datetime], ...]:
    """Each run of consecutive timestamps with one UTC offset, as (first, last); none when the offset
    never changes (or there is none)."""
    runs: list[list[datetime]] = []
    for t in times:
        if runs and runs[-1][1].utcoffset() == t.utcoffset():
            runs[-1][1] = t
        else:
            runs.append([t, t])
    return tuple((a, b) for a, b in runs) if len(runs) > 1 else ()
