"""Timestamps of an evenly spaced series (a CSV's date column): parsing, checking, naming the future.

`DateIndex.read_cells` reads ISO 8601 cells that must be strictly increasing and evenly
spaced — a fixed step (days, hours, ...) or whole calendar months (monthly, quarterly,
yearly; on one day of the month or on month ends) — and refuses anything else, naming the
line at fault (with `gaps=True` it takes missing dates, whole steps apart, for `--fill` to
fill). The index is a start and a step, so it also names the timestamps after the
series' end (what `seqlab forecast` prints), and travels in a checkpoint's metadata as plain data.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from seqlab.errors import SeqlabError

_SHOWN = 60  # characters of a cell shown in a message


def show_cell(cell: str) -> str:
    """A cell for a one-line message: its repr (newlines escaped), cut to a readable length."""
    return repr(cell) if len(cell) <= _SHOWN else repr(cell[:_SHOWN]) + f"... ({len(cell):,} characters)"


_YEAR_MONTH = re.compile(r"(\d{4})-(\d{2})")  # ISO 8601's reduced precision: a month (AirPassengers' 1949-01)


def parse_timestamp(cell: str) -> datetime | None:
    """An ISO 8601 date or date-time (`datetime.fromisoformat`, plus a trailing Z for UTC on
    Python 3.10) or a month (YYYY-MM, read as its first day), else None. A date alone reads as
    midnight."""
    text = cell.strip()
    month = _YEAR_MONTH.fullmatch(text)
    if month:
        try:
            return datetime(int(month[1]), int(month[2]), 1)
        except ValueError:
            return None
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_date_only(cell: str) -> bool:
    try:
        date.fromisoformat(cell.strip())
    except ValueError:
        return False
    return True


def _month_index(t: datetime) -> int:
    return t.year * 12 + t.month - 1


def _is_month_end(t: datetime) -> bool:
    return t.day == calendar.monthrange(t.year, t.month)[1]


def _add_months(t: datetime, months: int, month_end: bool) -> datetime:
    year, month = divmod(_month_index(t) + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return t.replace(year=year, month=month + 1, day=last if month_end else min(t.day, last))


def _say_delta(d: timedelta) -> str:
    """A time difference in words: '1 day', '3 hours', '2 days, 1:30:00'."""
    for unit, size in (("week", timedelta(weeks=1)), ("day", timedelta(days=1)), ("hour", timedelta(hours=1)),
                       ("minute", timedelta(minutes=1)), ("second", timedelta(seconds=1))):
        if d >= size and d % size == timedelta(0) and (unit != "week" or d == size):
            n = d // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return str(d)


def _say_months(n: int) -> str:
    return "1 year" if n == 12 else f"{n // 12} years" if n % 12 == 0 else f"{n} month{'s' if n != 1 else ''}"


@dataclass(frozen=True)
class DateIndex:
    """The timestamps of an evenly spaced series: position p is `start` + p steps.

    A step is a fixed `step` (a day, an hour, ...) or, when `months` > 0, that many calendar
    months (monthly, quarterly, yearly data: each on the same day of its month, or each on its
    month's last day when `month_end`). Positions past the series' end are its future.
    """

    column: str
    start: datetime
    length: int  # timestamps in the series
    step: timedelta = timedelta(0)
    months: int = 0
    month_end: bool = False
    date_only: bool = True  # dates without a time of day: written as YYYY-MM-DD
    month_only: bool = False  # months (YYYY-MM cells): written as YYYY-MM
    tz_of_last: timedelta | None = None  # the last timestamp's UTC offset, for writing the future

    def at(self, position: int) -> datetime:
        if self.months:
            return _add_months(self.start, position * self.months, self.month_end)
        t = self.start + position * self.step
        if t.tzinfo is not None and self.tz_of_last is not None and position >= self.length - 1:
            t = t.astimezone(timezone(self.tz_of_last))  # the future in the offset the file ends with
        return t

    def iso(self, position: int) -> str:
        """The ISO 8601 text of position `position` (0-based; the series' end and on: its future)."""
        t = self.at(position)
        if self.month_only:
            return f"{t.year:04d}-{t.month:02d}"
        return t.date().isoformat() if self.date_only else t.isoformat()

    @property
    def every(self) -> str:
        return _say_months(self.months) if self.months else _say_delta(self.step)

    def to_meta(self) -> dict:
        """Plain data for a checkpoint's metadata (`from_meta` reads it back)."""
        step = ({"months": self.months, "month_end": self.month_end} if self.months else
                {"days": self.step.days, "seconds": self.step.seconds, "microseconds": self.step.microseconds})
        return {"column": self.column, "start": self.iso(0), "last": self.iso(self.length - 1), "every": self.every,
                "step": step, "length": self.length, "date_only": self.date_only, "month_only": self.month_only}

    @classmethod
    def from_meta(cls, meta: dict) -> DateIndex:
        """The index `to_meta` wrote; a SeqlabError saying what is wrong with an edited one."""
        try:
            step, length = meta["step"], meta["length"]
            start, last = parse_timestamp(meta["start"]), parse_timestamp(meta["last"])
            if start is None or last is None or not isinstance(length, int) or length < 1:
                raise ValueError
            if "months" in step:
                index = cls(str(meta["column"]), start, length, months=int(step["months"]),
                            month_end=bool(step["month_end"]), date_only=bool(meta["date_only"]),
                            month_only=bool(meta.get("month_only", False)))
            else:
                index = cls(str(meta["column"]), start, length,
                            step=timedelta(days=step["days"], seconds=step["seconds"],
                                           microseconds=step["microseconds"]), date_only=bool(meta["date_only"]),
                            tz_of_last=last.utcoffset())
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
        with `grid` (a run's index), that index's step. Daily dates that look like business days
        (weekdays only, the weekends missing) are refused (`BusinessDays`)."""
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
                       "the offsets, or UTC)" if times[i].tzinfo is None and times[i].time() != times[0].time()
                       else "")
                raise SeqlabError(f"{head}: line {line1} repeats the timestamp {cell1} of line {line0}; a forecast "
                                  "reads one series per file (a long-format file with several series, e.g. one "
                                  f"per store, must be split into one file per series first){dst}")
            if all(b < a for a, b in zip(times, times[1:])):
                raise SeqlabError(f"{head} runs newest first ({cell0} on line {line0}, {cell1} on line {line1}): "
                                  "sort the file by its dates in ascending order (oldest first)")
            raise SeqlabError(f"{head}: line {line1} ({cell1}) comes before line {line0} ({cell0}): the "
                              "timestamps must be strictly increasing; sort the file by its dates, oldest "
                              "first")
        date_only = all(_is_date_only(c) for _, c in cells)
        month_only = all(_YEAR_MONTH.fullmatch(c.strip()) for _, c in cells)
        if month_only:
            date_only = True
        # Local times with UTC offsets (pandas writes a tz-aware index so) change offset at a daylight-saving
        # change: a daily or monthly series at one wall-clock time is evenly spaced in wall-clock time, not in
        # absolute time. It is read on the wall clock (its future then has no offset: the next change is unknown).
        wall = [t.replace(tzinfo=None) for t in times]
        same_time = all(w.time() == wall[0].time() for w in wall)
        offsets = sorted({t.utcoffset() for t in times}, key=lambda o: o or timedelta(0))
        if same_time and len(offsets) == 2 and offsets[1] - offsets[0] <= timedelta(hours=1):  # a DST change
            times = wall
        first = times[0]
        ends = all(map(_is_month_end, times))
        # one day of the month throughout, or that day clamped to a shorter month's end (the 30th: Feb 28)
        on_day = all(t.day == first.day or (t.day < first.day and _is_month_end(t)) for t in times)
        anchored = same_time and (on_day or ends)
        if grid is not None and anchored != bool(grid.months):
            if grid.months:  # (a fixed-step grid counts the days between monthly dates: it reads them)
                raise UnevenDates(f"{head}: its dates are not on one day of each month, as the run's (one every "
                                  f"{grid.every}) are")
            anchored = False
        if anchored:  # a calendar step: monthly, quarterly, yearly, ...
            month_end = ends and any(t.day != first.day for t in times)  # (the 30th throughout: the 30th)
            diffs = [_month_index(b) - _month_index(a) for a, b in zip(times, times[1:])]
            step_m = grid.months if grid is not None else _step(diffs, gaps)
            steps = _positions(diffs, step_m, gaps, lambda i, d, step, missing: _gap(
                head, cells, i, _say_months(d), _say_months(step), missing, hint))
            index = cls(column, first, steps[-1] + 1, months=step_m, month_end=month_end, date_only=date_only,
                        month_only=month_only)
        else:
            diffs = [b - a for a, b in zip(times, times[1:])]
            step = grid.step if grid is not None else _step(diffs, gaps)
            weekend = _weekend_gap(times, step)
            if weekend is not None:
                raise BusinessDays(_business_days(head, cells, weekend, gaps))
            naive_clock = first.tzinfo is None and not date_only  # local times: a DST change skips an hour

            def say(i, d, step, missing):
                dst = naive_clock and missing is not None and d - step == timedelta(hours=1)
                return _gap(head, cells, i, _say_delta(d), _say_delta(step), missing, hint, dst)
            steps = _positions(diffs, step, gaps, say)
            index = cls(column, first, steps[-1] + 1, step=step, date_only=date_only,
                        tz_of_last=times[-1].utcoffset())
        for (line, cell), i, t in zip(cells, steps, times):  # the index must give back every date of the file
            if index.at(i) != t:  # (month ends and all)
                raise UnevenDates(f"{head}, line {line}: {cell} is off the series' even spacing (one every "
                                  f"{index.every} from {cells[0][1]} gives {index.iso(i)}); a forecast needs an "
                                  f"evenly spaced series: resample it first{hint}")
        return index, steps


class UnevenDates(SeqlabError):
    """Dates in order but not evenly spaced: a gap (`missing` steps left out: --fill fills them), or
    an uneven step (`missing` None: only resampling helps)."""

    def __init__(self, message: str, missing: int | None = None):
        super().__init__(message)
        self.missing = missing


class BusinessDays(UnevenDates):
    """Daily dates on weekdays only, the weekends missing: business days, which a calendar-day step
    would fill (or refuse) as gaps; their rows are steps (--date-column none)."""

    def __init__(self, message: str):
        super().__init__(message, None)


def _steps(diffs: list, step, gaps: bool, say) -> list[int]:
    """Each timestamp's position, in steps from the first, given the differences between them; an
    `UnevenDates` (its message from `say(i, diff, step, missing)`) for the first difference that is
    not one step (nor, with `gaps`, a whole number of steps)."""
    positions = [0]
    for i, d in enumerate(diffs):
        whole = d % step == type(d)() and d > step  # (timedelta() or 0)
        if d != step and not (gaps and whole):
            missing = d // step - 1 if whole else None
            raise UnevenDates(say(i, d, step, missing), missing)
        positions.append(positions[-1] + d // step)
    return positions


def _positions(diffs: list, step, gaps: bool, say) -> list[int]:
    """`_steps`; a refusal for uneven spacing that a finer grid would read as missing dates (the most
    common step of a daily series missing most days is 2 days) names the first gap on that grid
    instead, which --fill fills."""
    try:
        return _steps(diffs, step, gaps, say)
    except UnevenDates as exc:
        finer = _step(diffs, True)
        if exc.missing is not None or finer == step or gaps:
            raise
        return _steps(diffs, finer, False, say)  # (raises: a gap on that grid)


def _step(diffs: list, gaps: bool):
    """The series' step: the most common difference; with `gaps`, the smallest when it divides every
    other (pandas' asfreq grid)."""
    small = min(diffs)
    if gaps and all(d % small == type(d)() for d in diffs):
        return small
    return _usual(diffs)


def _usual(diffs: list):
    """The most common difference (the smallest of the most common): the series' step."""
    counts = Counter(diffs)
    top = max(counts.values())
    return min(d for d, c in counts.items() if c == top)


def _weekend_gap(times: list[datetime], step: timedelta) -> int | None:
    """The index of the first gap over a Saturday or Sunday when the series steps by a day and every
    row is a weekday (business days: no weekend, or holiday, is a missing date); else None."""
    if step != timedelta(days=1) or any(t.weekday() >= 5 for t in times):
        return None
    for i, (a, b) in enumerate(zip(times, times[1:])):
        days = (b - a).days
        if any((a + timedelta(days=k)).weekday() >= 5 for k in range(1, min(days, 8))):
            return i
    return None


def _business_days(head: str, cells: list[tuple[int, str]], i: int, gaps: bool) -> str:
    (line0, cell0), (line1, cell1) = cells[i], cells[i + 1]
    why = ("--fill would fill the weekends, inventing values for days that do not trade" if gaps else
           "a step of one day makes every weekend a gap")
    return (f"{head}: its dates look like business days (every row a weekday, the weekends missing: the first "
            f"between line {line0} ({cell0}) and line {line1} ({cell1})): {why}; read the rows as evenly spaced "
            "steps with --date-column none (the dates are then not printed"
            f"{'; --fill still fills empty cells' if gaps else ''})")


def _gap(head: str, cells: list[tuple[int, str]], i: int, said: str, step: str, missing: int | None,
         hint: str, dst: bool = False) -> str:
    (line0, cell0), (line1, cell1) = cells[i], cells[i + 1]
    if missing is not None:
        what = f"a gap ({missing} missing value{'s' if missing != 1 else ''})"
        fix = "fill the gaps (--fill linear or --fill ffill) or resample it first"
    else:  # not a whole number of steps: no date is missing, the series is on another grid
        what, fix = "uneven spacing", "resample it first (--fill fills only whole missing steps)"
    if dst:  # an hour missing from local times without offsets
        fix += (" (or, in local time without UTC offsets, the hour a daylight-saving change skips: write the "
                "offsets, or UTC)")
    return (f"{head}: {what} between line {line0} ({cell0}) and line {line1} ({cell1}): {said} apart where the "
            f"series steps by {step}; a forecast needs an evenly spaced series: {fix}{hint}")
