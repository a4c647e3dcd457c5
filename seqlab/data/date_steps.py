"""The step of an evenly spaced series' timestamps (`DateIndex.read_cells`): inferred from the
differences between them, each timestamp's position on it, and the refusals for what is off it
(a gap of missing steps, uneven spacing), and business days: weekday-only daily dates, counted
five a week."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from seqlab.errors import SeqlabError


class UnevenDates(SeqlabError):
    """Dates in order but not evenly spaced: a gap (`missing` steps left out: --fill fills them), or
    an uneven step (`missing` None: only resampling helps)."""

    def __init__(self, message: str, missing: int | None = None):
        super().__init__(message)
        self.missing = missing


def _steps(diffs: list, step, gaps: bool, say) -> list[int]:
    """Each timestamp's position, in steps from the first, given the differences between them; an
    `UnevenDates` (its message from `say(i, diff, step, missing)`) for the first difference that is
    not one step (nor, with `gaps`, a whole number of steps)."""
    positions, p = [0], 0
    for i, d in enumerate(diffs):
        if d == step:  # (the usual case, tested alone: a refused gap places a series up to three times)
            p += 1
        else:
            whole = d % step == type(d)() and d > step  # (timedelta() or 0)
            if not (gaps and whole):
                missing = d // step - 1 if whole else None
                raise UnevenDates(say(i, d, step, missing), missing)
            p += d // step
        positions.append(p)
    return positions


def grid_positions(diffs: list, step, gaps: bool, say) -> list[int]:
    """`_steps`; a refusal for uneven spacing that a finer grid would read as missing dates (the most
    common step of a daily series missing most days is 2 days) names the first gap on that grid
    instead, which --fill fills."""
    try:
        return _steps(diffs, step, gaps, say)
    except UnevenDates as exc:
        # (two rows on one business day, their times of day apart, differ by 0: no grid is finer, and
        # step_of would divide by it)
        if exc.missing is not None or gaps or min(diffs) <= type(step)():
            raise
        finer = step_of(diffs, True)
        if finer == step:
            raise
        return _steps(diffs, finer, False, say)  # (raises: a gap on that grid)


def step_of(diffs: list, gaps: bool):
    """The series' step: the most common difference; with `gaps`, the smallest when it divides every
    other (pandas' asfreq grid)."""
    small = min(diffs)
    zero = type(small)()  # (timedelta() or 0)
    if gaps and all(d == small or d % small == zero for d in diffs):
        return small
    return _usual(diffs)


def _usual(diffs: list):
    """The most common difference (the smallest of the most common): the series' step."""
    counts = Counter(diffs)
    top = max(counts.values())
    return min(d for d, c in counts.items() if c == top)


def looks_like_business_days(times: list[datetime], step: timedelta) -> bool:
    """Whether daily timestamps are business days (pandas' freq "B"): the series steps by a day, every
    row is a weekday, and some gap between rows spans a weekend (weekdays without one, e.g. Monday to
    Thursday, are as likely calendar days). A weekend row anywhere makes them calendar days."""
    if step != timedelta(days=1) or any(t.weekday() >= 5 for t in times):
        return False
    return _weekends_passed(times) >= 1


def _weekends_passed(weekdays: list[datetime]) -> int:
    """How many of the gaps between consecutive weekday timestamps pass a weekend."""
    return sum(a.weekday() + (b - a).days >= 5 for a, b in zip(weekdays, weekdays[1:]))  # (past Friday)


def stray_weekend_rows(times: list[datetime], step: timedelta) -> list[int]:
    """The indices of the weekend rows of a daily series that would be business days without them:
    a few (at most one row in 50, or one), every other row a weekday, at least two weekends missing
    (`looks_like_business_days`, twice over). Read as calendar days, such a series has every other
    weekend missing."""
    weekend = [i for i, t in enumerate(times) if t.weekday() >= 5]
    if not weekend or len(weekend) > max(1, len(times) // 50) or step != timedelta(days=1):
        return []
    return weekend if _weekends_passed([t for t in times if t.weekday() < 5]) >= 2 else []


def stray_weekend_message(head: str, cells: list[tuple[int, str]], times: list[datetime], stray: list[int]) -> str:
    """The refusal of `stray_weekend_rows`: names the first, and both ways to read the series."""
    line, cell = cells[stray[0]]
    day = "a Saturday" if times[stray[0]].weekday() == 5 else "a Sunday"
    others = f" (and {len(stray) - 1} more weekend row{'s' if len(stray) > 2 else ''})" if len(stray) > 1 else ""
    return (f"{head}: line {line} ({cell}) is {day}{others} in a series otherwise on weekdays, the weekends "
            "missing: drop it to read business days (as pandas' asfreq('B') would), or give --fill linear or "
            "--fill ffill to read calendar days, every other weekend filled")


# Business days are numbered as pandas' BDay counts them: five a week, the weekends skipped.
#
#   day      Fri  Sat  Sun  Mon  Tue        business_number(Mon) - business_number(Fri) = 1
#   number    4    -    -    5    6         (5 * whole weeks since 0001-01-01, a Monday, + weekday)

def business_number(t: datetime) -> int:
    """A weekday's number among all business days (consecutive weekdays differ by one)."""
    weeks, weekday = divmod(t.toordinal() - 1, 7)
    return 5 * weeks + weekday


def business_shift(t: datetime, n: int) -> datetime:
    """Weekday `t` moved `n` business days (negative: back), its time of day kept; O(1)."""
    weeks, weekday = divmod(business_number(t) + n, 5)
    return t + timedelta(days=7 * weeks + weekday + 1 - t.toordinal())


def gap_message(head: str, cells: list[tuple[int, str]], i: int, said: str, step: str, missing: int | None,
                hint: str, dst: bool = False, unit: str = "value") -> str:
    """The refusal of the spacing between rows i and i + 1 of `cells` (line, date): a gap of `missing`
    whole steps (each a missing `unit`: "value", "business day"), or (None) uneven spacing; `dst`: local
    times without offsets, an hour apart."""
    (line0, cell0), (line1, cell1) = cells[i], cells[i + 1]
    if missing is not None:
        what = f"a gap ({missing} missing {unit}{'s' if missing != 1 else ''})"
        fix = "fill the gaps (--fill linear or --fill ffill) or resample it first"
    else:  # not a whole number of steps: no date is missing, the series is on another grid
        what, fix = "uneven spacing", "resample it first (--fill fills only whole missing steps)"
    if dst:  # an hour missing from local times without offsets
        fix += (" (or, in local time without UTC offsets, the hour a daylight-saving change skips: write the "
                "offsets, or UTC)")
    return (f"{head}: {what} between line {line0} ({cell0}) and line {line1} ({cell1}): {said} apart where the "
            f"series steps by {step}; a forecast needs an evenly spaced series: {fix}{hint}")
