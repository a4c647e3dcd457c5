"""Mutation audit of dates and filling: a yearly series on February 28, how a step is said, a
lower-case z, and which of equally long filled runs is named."""

from datetime import datetime, timedelta, timezone

from seqlab.data.dates import DateIndex, parse_timestamp
from seqlab.data.fill import fill_gaps


def test_a_yearly_series_on_february_28_stays_on_the_28th():
    # one day of the month throughout, a month end only by chance (not a leap year): the 28th in 2024
    # too, not the month's end, February 29
    cells = [(2, "2021-02-28"), (3, "2022-02-28"), (4, "2023-02-28")]
    index, steps = DateIndex.read_cells(cells, "date", "f.csv")
    assert steps == [0, 1, 2] and index.every == "1 year"
    assert [index.iso(p) for p in range(3, 5)] == ["2024-02-28", "2025-02-28"]


def test_how_a_step_is_said():
    start = datetime(2024, 1, 1)
    said = {DateIndex("d", start, 3, step=timedelta(days=n)).every for n in (7, 14)}
    assert said == {"1 week", "14 days"}  # weeks only for one week
    assert [DateIndex("d", start, 3, months=m).every for m in (1, 12, 18, 24)] == \
        ["1 month", "1 year", "18 months", "2 years"]


def test_a_trailing_lower_case_z_is_utc():
    utc = datetime(2024, 1, 31, 13, 0, tzinfo=timezone.utc)
    assert parse_timestamp("2024-01-31T13:00z") == parse_timestamp("2024-01-31T13:00Z") == utc


def test_the_longest_filled_run_is_the_first_of_equally_long_ones():
    done = fill_gaps([0, 2, 4, 5, 7], [1.0, 3.0, 5.0, 6.0, 8.0], "linear")
    assert done.longest == (1, 1) and done.longest_steps == 1 and done.filled == 3
    assert fill_gaps([0, 3, 4, 7], [0.0, 3.0, 4.0, 7.0], "ffill").longest == (1, 2)
