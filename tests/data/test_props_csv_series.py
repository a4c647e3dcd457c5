"""Property test (hypothesis) of `read_csv_series` with --fill, end to end: a dated CSV with missing dates,
empty cells and empty leading rows reads back as one value per step from the first known value to the last,
each observed value kept, and each step dated by plain calendar arithmetic (days, hours, months)."""

import calendar
import math
from datetime import datetime, timedelta

from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from seqlab.data.timeseries import read_csv_series
from seqlab.errors import SeqlabError

# the refusals a generated series may meet: mostly filled, a month-end start lost, business-day readings
REFUSALS = ("more than half", "on a day that its later", "uneven spacing", "a gap", "weekend")


def _add_months(t: datetime, months: int) -> datetime:
    year, month = divmod(t.year * 12 + t.month - 1 + months, 12)
    return t.replace(year=year, month=month + 1, day=min(t.day, calendar.monthrange(year, month + 1)[1]))


STEPS = {"day": (lambda t, i: t + timedelta(days=i)), "hour": (lambda t, i: t + timedelta(hours=i)),
         "month": _add_months}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(STEPS)), st.datetimes(datetime(2000, 1, 1), datetime(2030, 1, 1)),
       st.lists(st.one_of(st.none(), st.just(""), st.integers(-50, 50)), min_size=2, max_size=30),
       st.sampled_from(["linear", "ffill"]))
def test_a_filled_dated_series_has_every_step_once_and_keeps_its_observed_values(tmp_path_factory, kind, start,
                                                                                 cells, method):
    """cells[i]: the value at step i; None: no row (a missing date); "": an empty cell."""
    start = start.replace(minute=0, second=0, microsecond=0, **({} if kind == "hour" else {"hour": 0}))
    cells[-1] = 7 if cells[-1] in (None, "") else cells[-1]  # (empty last values are refused: tested in test_fill)
    rows = [(i, c) for i, c in enumerate(cells) if c is not None]
    assume(len(rows) >= 2)
    at = STEPS[kind]
    stamp = (lambda t: t.isoformat(sep=" ")) if kind == "hour" else (lambda t: t.date().isoformat())
    path = tmp_path_factory.mktemp("series") / "s.csv"
    path.write_text("date,value\n" + "".join(f"{stamp(at(start, i))},{c}\n" for i, c in rows), encoding="utf-8")
    note(path.read_text())
    try:
        got = read_csv_series(path, "value", "date", fill=method, say=lambda line: None)  # (auto: uneven is undated)
    except SeqlabError as exc:
        assert any(reason in str(exc) for reason in REFUSALS), str(exc)
        return
    assert got.dates is not None
    if got.dates.business or (got.dates.months or got.dates.step) not in (1, timedelta(days=1), timedelta(hours=1)):
        return  # read on another grid (business days, a coarser step): the other tests' concern
    known = {i: float(c) for i, c in rows if c != ""}
    first = min(known)
    xs = got.x.tolist()
    assert len(xs) == max(known) - first + 1
    assert got.first == first - rows[0][0]
    dates = [datetime.fromisoformat(got.dates.iso(k)) for k in range(len(xs))]
    assert dates == [at(start, first + k) for k in range(len(xs))]
    assert got.observed.tolist() == [first + k in known for k in range(len(xs))]
    assert all(math.isclose(x, known[first + k], abs_tol=1e-6) for k, x in enumerate(xs) if first + k in known)
