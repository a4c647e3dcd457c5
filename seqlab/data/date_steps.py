"""The step of an evenly spaced series' timestamps (`DateIndex.read_cells`): inferred from the
differences between them, each timestamp's position on it, and the refusals for what is off it
(a gap of missing steps, uneven spacing, weekday-only daily dates)."""

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


def grid_positions(diffs: list, step, gaps: bool, say) -> list[int]:
    """`_steps`; a refusal for uneven spacing that a finer grid would read as missing dates (the most
    common step of a daily series missing most days is 2 days) names the first gap on that grid
    instead, which --fill fills."""
    try:
        return _steps(diffs, step, gaps, say)
    except UnevenDates as exc:
        finer = step_of(diffs, True)
        if exc.missing is not None or finer == step or gaps:
            raise
        return _steps(diffs, finer, False, say)  # (raises: a gap on that grid)


def step_of(diffs: list, gaps: bool):
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


def weekend_gap(times: list[datetime], step: timedelta) -> int | None:
    """The index of the first gap over a Saturday or Sunday when the series steps by a day and every
    row is a weekday (business days: no weekend, or holiday, is a missing date); else None."""
    if step != timedelta(days=1) or any(t.weekday() >= 5 for t in times):
        return None
    for i, (a, b) in enumerate(zip(times, times[1:])):
        days = (b - a).days
        if any((a + timedelta(days=k)).weekday() >= 5 for k in range(1, min(days, 8))):
            return i
    return None


def business_days_message(head: str, cells: list[tuple[int, str]], i: int, gaps: bool) -> str:
    """The refusal of weekday-only daily dates (`cells` (line, date), the first weekend between rows
    i and i + 1): read as business days, they are steps (--date-column none), never filled."""
    (line0, cell0), (line1, cell1) = cells[i], cells[i + 1]
    why = ("--fill would fill the weekends, inventing values for days that do not trade" if gaps else
           "a step of one day makes every weekend a gap")
    return (f"{head}: its dates look like business days (every row a weekday, the weekends missing: the first "
            f"between line {line0} ({cell0}) and line {line1} ({cell1})): {why}; read the rows as evenly spaced "
            "steps with --date-column none (the dates are then not printed"
            f"{'; --fill still fills empty cells' if gaps else ''})")


def gap_message(head: str, cells: list[tuple[int, str]], i: int, said: str, step: str, missing: int | None,
                hint: str, dst: bool = False) -> str:
    """The refusal of the spacing between rows i and i + 1 of `cells` (line, date): a gap of `missing`
    whole steps, or (None) uneven spacing; `dst`: local times without offsets, an hour apart."""
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
