"""`DateIndex.read_cells` decides as it did before one reading of the cells was shared between its passes
(a gap refused without --fill is counted on --fill's grid: up to three passes; each pass read the cells
afresh, and a refusal cost up to three reads). The twin below is that code, frozen verbatim from c034c34
(`read_cells`, `_read_cells`, and date_steps' `_steps`, `grid_positions`, `step_of`); hypothesis draws
series with gaps, off-grid rows, weekend rows, UTC offsets that change and a run's grid, and every result
or refusal (its type, message and missing count) must be the same, but for the two decisions changed
since: two rows on one business day crashed the twin (ZeroDivisionError), and are uneven spacing now;
weekdays only on a run's calendar days were refused with --fill (`gaps`) too, and are read with their
weekends as gaps now, as the twin reads them without that refusal (`weekdays_on_calendar`)."""

import calendar
from datetime import datetime, timedelta, timezone

from hypothesis import event, given, settings
from hypothesis import strategies as st

from seqlab.data.date_steps import (UnevenDates, _usual, business_number, gap_message, looks_like_business_days,
                                    stray_weekend_message, stray_weekend_rows)
from seqlab.data.dates import (DateIndex, _is_date_only, _is_month_end, _month_index, _off_business_grid,
                               _runs_of_one_offset, _say_business_days, _say_delta, _say_months, _YEAR_MONTH)
from seqlab.errors import SeqlabError

# --- the twin: c034c34's code, verbatim but for the names (old_...) ---------------------------------------


def old_steps(diffs, step, gaps, say):
    positions = [0]
    for i, d in enumerate(diffs):
        whole = d % step == type(d)() and d > step  # (timedelta() or 0)
        if d != step and not (gaps and whole):
            missing = d // step - 1 if whole else None
            raise UnevenDates(say(i, d, step, missing), missing)
        positions.append(positions[-1] + d // step)
    return positions


def old_grid_positions(diffs, step, gaps, say):
    try:
        return old_steps(diffs, step, gaps, say)
    except UnevenDates as exc:
        finer = old_step_of(diffs, True)
        if exc.missing is not None or finer == step or gaps:
            raise
        return old_steps(diffs, finer, False, say)  # (raises: a gap on that grid)


def old_step_of(diffs, gaps):
    small = min(diffs)
    if gaps and all(d % small == type(d)() for d in diffs):
        return small
    return _usual(diffs)


def old_read_cells(cells, column, where, hint="", *, gaps=False, grid=None):
    times = DateIndex._timestamps(cells, column, where, hint)
    try:
        return old_one_read(cells, times, column, where, hint, gaps=gaps, grid=grid)
    except UnevenDates as exc:
        if gaps or exc.missing is None:
            raise
        filled, _ = old_one_read(cells, times, column, where, hint, gaps=True, grid=grid)  # (raises: uneven)
        old_one_read(cells, times, column, where, hint, gaps=False, grid=filled)  # (raises: the first gap)
        raise


def old_one_read(cells, times, column, where, hint, *, gaps, grid, weekdays_on_calendar=False):
    cls = DateIndex
    head = f"{where}, column {column!r}"
    date_only = all(_is_date_only(c) for _, c in cells)
    month_only = all(_YEAR_MONTH.fullmatch(c.strip()) for _, c in cells)
    if month_only:
        date_only = True
    zones = _runs_of_one_offset(times)
    wall = [t.replace(tzinfo=None) for t in times]
    same_time = all(w.time() == wall[0].time() for w in wall)
    offsets = sorted({t.utcoffset() for t in times}, key=lambda o: o or timedelta(0))
    if same_time and len(offsets) == 2 and offsets[1] - offsets[0] <= timedelta(hours=1):  # a DST change
        times = wall
    first = times[0]
    ends = all(map(_is_month_end, times))
    day = max(t.day for t in times)
    on_day = all(t.day == day or (t.day < day and _is_month_end(t)) for t in times)
    anchored = same_time and (on_day or ends)
    if grid is not None and anchored != bool(grid.months):
        if grid.months:  # (a fixed-step grid counts the days between monthly dates: it reads them)
            raise UnevenDates(f"{head}: its dates are not on one day of each month, as the run's (one every "
                              f"{grid.every}) are")
        anchored = False
    if anchored:  # a calendar step: monthly, quarterly, yearly, ...
        month_end = ends and any(t.day != first.day for t in times)  # (the 30th throughout: the 30th)
        diffs = [_month_index(b) - _month_index(a) for a, b in zip(times, times[1:])]
        step_m = grid.months if grid is not None else old_step_of(diffs, gaps)
        steps = old_grid_positions(diffs, step_m, gaps, lambda i, d, step, missing: gap_message(
            head, cells, i, _say_months(d), _say_months(step), missing, hint))
        index = cls(column, first, steps[-1] + 1, months=step_m, month_end=month_end, date_only=date_only,
                    month_only=month_only, zones=zones, day=day if day != first.day and not month_end else 0)
    else:
        diffs = [b - a for a, b in zip(times, times[1:])]
        step = grid.step if grid is not None else old_step_of(diffs, gaps)
        stray = stray_weekend_rows(times, step) if grid is None and not gaps else []
        if stray:
            raise UnevenDates(stray_weekend_message(head, cells, times, stray))
        business = looks_like_business_days(times, step) if grid is None else grid.business
        if grid is not None and (any(t.weekday() >= 5 for t in times) if business else
                                 looks_like_business_days(times, step) and not weekdays_on_calendar):
            raise UnevenDates(_off_business_grid(head, cells, times, grid))
        if business:  # each date's place among business days (pandas' BDay)
            numbers = [business_number(t) for t in times]
            steps = old_grid_positions([b - a for a, b in zip(numbers, numbers[1:])], 1, gaps, lambda i, d, n, missing:
                                       gap_message(head, cells, i, _say_business_days(d), _say_business_days(n),
                                                   missing, hint, unit="business day"))
            index = cls(column, first, steps[-1] + 1, step=step, date_only=date_only, zones=zones, business=True)
        else:
            naive_clock = first.tzinfo is None and not date_only  # local times: a DST change skips an hour

            def say(i, d, step, missing):
                dst = naive_clock and missing is not None and d - step == timedelta(hours=1)
                return gap_message(head, cells, i, _say_delta(d), _say_delta(step), missing, hint, dst)
            steps = old_grid_positions(diffs, step, gaps, say)
            index = cls(column, first, steps[-1] + 1, step=step, date_only=date_only, zones=zones)
    for (line, cell), i, t in zip(cells, steps, times):  # the index must give back every date of the file
        if index.at(i) != t:  # (month ends and all)
            raise UnevenDates(f"{head}, line {line}: {cell} is off the series' even spacing (one every "
                              f"{index.every} from {cells[0][1]} gives {index.iso(i)}); a forecast needs an "
                              f"evenly spaced series: resample it first{hint}")
    return index, steps


# --- the series ------------------------------------------------------------------------------------------

def _months_later(t: datetime, months: int, month_end: bool) -> datetime:
    year, month = divmod(_month_index(t) + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return t.replace(year=year, month=month + 1, day=last if month_end else min(t.day, last))


@st.composite
def dated_cells(draw):
    """(cells, a run's grid or None): an evenly spaced series (fixed steps, months, month ends, weekdays),
    rows dropped (gaps), and maybe a row moved off the grid, a weekend row, offsets that change."""
    kind = draw(st.sampled_from(["days", "hours", "weeks", "months", "month_end", "weekdays", "every_other_day"]))
    n = draw(st.integers(3, 40))
    start = draw(st.datetimes(datetime(1995, 1, 1), datetime(2035, 1, 1))).replace(second=0, microsecond=0)
    if kind != "hours":
        start = start.replace(hour=draw(st.sampled_from([0, 0, 9])), minute=0)
    if kind == "months" or kind == "month_end":
        months = draw(st.sampled_from([1, 1, 3, 12]))
        start = _months_later(start, 0, kind == "month_end")
        times = [_months_later(start, i * months, kind == "month_end") for i in range(n)]
    elif kind == "weekdays":
        times = [t for t in (start + timedelta(days=i) for i in range(n * 7 // 5 + 2)) if t.weekday() < 5][:n]
    else:
        step = {"days": timedelta(days=1), "hours": timedelta(hours=draw(st.sampled_from([1, 6]))),
                "weeks": timedelta(weeks=1), "every_other_day": timedelta(days=2)}[kind]
        times = [start + i * step for i in range(n)]
    whole = list(times)
    keep = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    keep[0] = keep[-1] = True
    times = [t for t, k in zip(times, keep) if k]
    if len(times) > 2 and draw(st.booleans()):  # a row off the grid (uneven spacing), or on a finer one
        i = draw(st.integers(1, len(times) - 2))
        moved = times[i] + draw(st.sampled_from([timedelta(hours=1), timedelta(days=1), timedelta(days=-1),
                                                 timedelta(minutes=30)]))
        if times[i - 1] < moved < times[i + 1]:
            times[i] = moved
    if draw(st.booleans()):  # a weekend row (a stray one among weekdays)
        saturday = next(t for t in (times[0] + timedelta(days=k) for k in range(7)) if t.weekday() == 5)
        if saturday < times[-1] and saturday not in times:
            times = sorted(times + [saturday])
    if kind in ("days", "weeks", "months") and draw(st.booleans()):  # a UTC offset that changes (DST)
        change = draw(st.integers(0, len(times)))
        before, after = (timezone(timedelta(hours=h)) for h in draw(st.sampled_from([(1, 2), (2, 1), (0, 5)])))
        times = [t.replace(tzinfo=before if i < change else after) for i, t in enumerate(times)]
    date_only = all(t.time() == datetime.min.time() and t.tzinfo is None for t in times) and draw(st.booleans())
    sep = draw(st.sampled_from(" T"))
    cells = [(line, t.date().isoformat() if date_only else t.isoformat(sep=sep)) for line, t in enumerate(times, 2)]
    grid = None
    how = draw(st.sampled_from(["none", "none", "own", "daily", "business", "monthly"]))
    if how == "own":  # the run read the whole series
        try:
            grid = DateIndex.read_cells([(line, t.isoformat()) for line, t in enumerate(whole, 2)], "date", "run.csv",
                                        gaps=True)[0]
        except SeqlabError:
            grid = None
    elif how != "none":
        grid = {"daily": DateIndex("date", start, 2, step=timedelta(days=1)),
                "business": DateIndex("date", datetime(2024, 1, 1), 2, step=timedelta(days=1), business=True),
                "monthly": DateIndex("date", datetime(2024, 1, 1), 2, months=1)}[how]
    return cells, grid


def _outcome(read, cells, grid, gaps):
    try:
        index, positions = read(cells, "date", "f.csv", " (a hint)", gaps=gaps, grid=grid)
    except (SeqlabError, ZeroDivisionError) as exc:
        return type(exc).__name__, str(exc), getattr(exc, "missing", None)
    return index, positions


@settings(max_examples=600, deadline=None)
@given(dated_cells(), st.booleans())
def test_read_cells_decides_and_says_what_three_fresh_reads_did(drawn, gaps):
    cells, grid = drawn
    new, old = _outcome(DateIndex.read_cells, cells, grid, gaps), _outcome(old_read_cells, cells, grid, gaps)
    said = "" if isinstance(new[0], DateIndex) else new[1]
    event(next((what for what in ("a gap", "uneven spacing", "off the series' even spacing", "weekdays, the weekends",
                                  "off the run's business", "are business days", "one day of each month")
                if what in said), "refused: other" if said else "read"))
    if old[0] == "ZeroDivisionError":  # (the twin's search for a grid finer than 0 business days)
        assert new[0] == "UnevenDates" and "0 business days apart" in new[1] and new[2] is None
    elif gaps and old[0] == "UnevenDates" and "are business days" in old[1]:  # weekdays on calendar days
        event("weekdays on calendar days, --fill")
        times = DateIndex._timestamps(cells, "date", "f.csv", " (a hint)")
        try:
            read = old_one_read(cells, times, "date", "f.csv", " (a hint)", gaps=True, grid=grid,
                                weekdays_on_calendar=True)
        except SeqlabError as exc:
            read = type(exc).__name__, str(exc), getattr(exc, "missing", None)
        assert new == read
    else:
        assert new == old
