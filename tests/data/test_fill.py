"""Filling missing dates and empty cells (`--fill linear|ffill`): the pure function, worked by hand,
and the CSV reader that calls it."""

import math
from datetime import datetime, timedelta

import pytest
import torch

from seqlab import SeqlabError
from seqlab.data.dates import DateIndex
from seqlab.data.fill import Filled, fill_gaps, fill_lines, forecast_lines
from seqlab.data.timeseries import load_csv_series, read_csv_series

NAN = math.nan


# ---- the pure function over (positions, values) ----

def test_linear_fills_missing_positions_and_empty_cells_on_the_line_between_neighbours():
    # grid 0..6: rows at 0, 1, 2, 5, 6 (positions 3 and 4 have no row: missing dates), row 2 empty.
    # Known neighbours of the run 2..4: 13 at position 1 and 4 at position 5, 4 steps apart:
    # 13 - 9/4 * k for k = 1, 2, 3 -> 10.75, 8.5, 6.25
    done = fill_gaps([0, 1, 2, 5, 6], [10.0, 13.0, NAN, 4.0, 5.0], "linear")
    assert done.values == [10.0, 13.0, 10.75, 8.5, 6.25, 4.0, 5.0]
    assert (done.first, done.dropped, done.filled, done.missing_dates, done.longest) == (0, 0, 3, 2, (2, 4))
    done = fill_gaps([0, 1, 2, 5, 6], [10.0, 13.0, NAN, 4.0, 5.0], "ffill")
    assert done.values == [10.0, 13.0, 13.0, 13.0, 13.0, 4.0, 5.0]


def test_the_longest_gap_is_the_longest_run_of_filled_values():
    # runs: position 1 (1 step), positions 3..4 (2 steps: a missing date and an empty cell), 7 (1)
    done = fill_gaps([0, 1, 2, 3, 5, 6, 8], [0.0, NAN, 2.0, NAN, 5.0, 6.0, 8.0], "linear")
    assert done.values == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert (done.filled, done.missing_dates, done.longest, done.longest_steps) == (4, 2, (3, 4), 2)


def test_leading_missing_values_are_dropped_and_trailing_ones_refused():
    done = fill_gaps([3, 4, 5, 6], [NAN, NAN, 1.0, 3.0], "linear")
    assert (done.values, done.first, done.dropped, done.filled) == ([1.0, 3.0], 5, 2, 0)
    for method in ("linear", "ffill"):
        with pytest.raises(SeqlabError) as e:
            fill_gaps([0, 1, 2, 3], [1.0, 2.0, NAN, NAN], method, name=lambda p: f"day {p}", unit="")
        assert str(e.value) == (f"its last 2 values are empty (day 2..day 3): --fill {method} fills only between "
                                "known values, and a forecast starts from the series' last values (filling them "
                                "would invent its starting point): delete those rows, so that the series ends at "
                                "its last known value (day 1)")
    with pytest.raises(SeqlabError, match="every cell is empty or NaN"):
        fill_gaps([0, 1], [NAN, NAN], "ffill")


def test_more_filled_than_observed_is_refused():
    # 4 known of 8: half filled is taken; 4 known of 9 (a date one step further) is refused
    assert fill_gaps([0, 1, 2, 7], [0.0, 1.0, 2.0, 7.0], "linear").values == [float(i) for i in range(8)]
    with pytest.raises(SeqlabError) as e:
        fill_gaps([0, 1, 2, 8], [0.0, 1.0, 2.0, 8.0], "linear", name=lambda p: f"2024-01-{p + 1:02d}", unit="")
    assert str(e.value) == ("--fill linear would fill 5 of its 9 values, more than half (the longest run of unknown "
                            "values: 5 missing dates, at 2024-01-04..2024-01-08): is 2024-01-09 a typo (a date far "
                            "off)? else resample the series to a coarser step first")


def test_the_note_counts_what_was_filled_and_warns_over_a_tenth():
    names = {p: f"2024-01-{p + 1:02d}" for p in range(20)}.get
    one_of_ten = fill_gaps([0, 1, 2, 3, 4, 6, 7, 8, 9], [float(i) for i in range(9)], "linear")
    assert fill_lines("linear", one_of_ten, names, unit="") == [
        "seqlab: note: --fill linear filled 1 missing value (1 missing date, the longest gap 1 step, at 2024-01-06)"]
    two_of_ten = fill_gaps([0, 1, 2, 3, 6, 7, 8, 9], [1.0] * 8, "ffill")
    lines = fill_lines("ffill", two_of_ten, names, unit="")
    assert lines[0] == ("seqlab: note: --fill ffill filled 2 missing values (2 missing dates, the longest gap 2 "
                        "steps, at 2024-01-05..2024-01-06)")
    assert len(lines) == 2 and lines[1].startswith("seqlab: warning: 2 of the series' 10 values (20%) are filled in "
                                                   "by --fill ffill, not observed")
    dropped = Filled([1.0, 2.0], first=2, dropped=2, filled=0, missing_dates=0, longest=None, observed=[True, True])
    assert fill_lines("linear", dropped, lambda p: str(p + 2), unit="line") == [
        "seqlab: note: --fill linear dropped the first 2 rows (their values are empty, with nothing before to fill "
        "from): the series starts at line 4"]
    assert fill_lines("linear", fill_gaps([0, 1], [1.0, 2.0], "linear")) == []  # nothing filled: nothing said


# ---- the CSV reader ----

def _csv(tmp_path, rows, header="date,v", name="s.csv"):
    f = tmp_path / name
    f.write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows))
    return f


def _read(path, fill, date_column="date"):
    said = []
    x, dates = load_csv_series(path, "v", date_column, fill=fill, say=said.append)
    return x.tolist(), dates, said


def test_a_daily_series_with_two_missing_days(tmp_path):
    f = _csv(tmp_path, [("2024-01-01", 10), ("2024-01-02", 13), ("2024-01-05", 4), ("2024-01-06", 5)])
    x, dates, said = _read(f, "linear")
    assert x == [10.0, 13.0, 10.0, 7.0, 4.0, 5.0]  # 13 - 9/3 and 13 - 2 * 9/3: 3 steps from 13 to 4
    assert [dates.iso(p) for p in range(7)] == [f"2024-01-0{d}" for d in range(1, 8)] and dates.length == 6
    assert said[0] == ("seqlab: note: --fill linear filled 2 missing values (2 missing dates, the longest gap 2 "
                       "steps, at 2024-01-03..2024-01-04)")
    assert said[1].startswith("seqlab: warning: 2 of the series' 6 values (33%)")
    x, dates, said = _read(f, "ffill")
    assert x == [10.0, 13.0, 13.0, 13.0, 4.0, 5.0] and dates.length == 6
    # none: refused as before, the message naming --fill as one fix
    with pytest.raises(SeqlabError, match=r"a gap \(2 missing values\) between line 3 \(2024-01-02\) and line 4 "
                                          r"\(2024-01-05\).*fill the gaps \(--fill linear or --fill ffill\)"):
        _read(f, "none")


def test_a_monthly_series_with_missing_months_across_a_year_end(tmp_path):
    f = _csv(tmp_path, [("2023-10", 90), ("2023-11", 100), ("2024-02", 130), ("2024-03", 135)])
    x, dates, said = _read(f, "linear")
    assert x == [90.0, 100.0, 110.0, 120.0, 130.0, 135.0]  # December and January: 3 months from 100 to 130
    assert [dates.iso(p) for p in range(7)] == ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03",
                                                "2024-04"]
    assert "(2 missing dates, the longest gap 2 steps, at 2023-12..2024-01)" in said[0]
    # month ends: the filled month is December's 31st, after November's 30th
    f = _csv(tmp_path, [("2023-11-30", 1), ("2024-01-31", 3), ("2024-02-29", 4)], name="ends.csv")
    x, dates, said = _read(f, "linear")
    assert x == [1.0, 2.0, 3.0, 4.0] and [dates.iso(p) for p in range(5)] == [
        "2023-11-30", "2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31"]
    assert "at 2023-12-31)" in said[0]
    # quarterly: a missing quarter is one step of 3 months
    f = _csv(tmp_path, [("2023-07-01", 1), ("2023-10-01", 2), ("2024-04-01", 8)], name="q.csv")
    x, dates, _ = _read(f, "linear")
    assert x == [1.0, 2.0, 5.0, 8.0] and dates.every == "3 months" and dates.iso(2) == "2024-01-01"


def test_empty_and_nan_cells_in_a_dated_series(tmp_path):
    f = _csv(tmp_path, [("2024-01-01 00:00", 1), ("2024-01-01 01:00", ""), ("2024-01-01 02:00", "NaN"),
                        ("2024-01-01 04:00", 9), ("2024-01-01 05:00", 10)])
    x, dates, said = _read(f, "linear")
    assert x == [1.0, 3.0, 5.0, 7.0, 9.0, 10.0] and dates.every == "1 hour"
    assert said[0] == ("seqlab: note: --fill linear filled 3 missing values (1 missing date and 2 empty cells, the "
                       "longest gap 3 steps, at 2024-01-01T01:00:00..2024-01-01T03:00:00)")
    assert _read(f, "ffill")[0] == [1.0, 1.0, 1.0, 1.0, 9.0, 10.0]
    with pytest.raises(SeqlabError, match="line 3, column 'v': the cell is empty: --fill linear or --fill ffill"):
        _read(f, "none")


def test_nan_cells_of_an_undated_series_are_filled_by_row(tmp_path):
    # position is the row: 'nan', NA and, in a one-column file, a blank line (its empty cell) are rows
    f = tmp_path / "u.csv"
    f.write_text("v\n1\n2\nnan\n\nNA\n8\n")
    x, dates, said = _read(f, "linear", None)
    assert x == [1.0, 2.0, 3.5, 5.0, 6.5, 8.0] and dates is None
    assert said == ["seqlab: note: --fill linear filled 3 missing values (3 empty cells, the longest gap 3 steps, "
                    "at lines 4..6)",
                    "seqlab: warning: 3 of the series' 6 values (50%) are filled in by --fill linear, not observed: "
                    "the model learns and forecasts from the filler's shape as much as the data's; a series with fewer "
                    "gaps (or a coarser step) is more faithful"]
    assert _read(f, "ffill", None)[0] == [1.0, 2.0, 2.0, 2.0, 2.0, 8.0]
    with pytest.raises(SeqlabError, match=r"line 4, column 'v': 'nan' is NaN/inf: --fill linear or --fill ffill"):
        _read(f, "none", None)


def test_a_leading_gap_is_dropped_with_a_note(tmp_path):
    f = _csv(tmp_path, [("2024-01-01", ""), ("2024-01-02", "NA"), ("2024-01-03", 3), ("2024-01-05", 5)])
    x, dates, said = _read(f, "linear")
    assert x == [3.0, 4.0, 5.0] and dates.iso(0) == "2024-01-03" and dates.length == 3 and dates.iso(3) == "2024-01-06"
    assert said[0] == ("seqlab: note: --fill linear dropped the first 2 rows (their values are empty, with nothing "
                       "before to fill from): the series starts at 2024-01-03")
    assert said[1].startswith("seqlab: note: --fill linear filled 1 missing value (1 missing date, the longest gap 1 "
                              "step, at 2024-01-04)")
    # monthly on the 30th, February's clamped 28th first: its later months keep the 30th (refused before)
    f = _csv(tmp_path, [("2023-01-30", ""), ("2023-02-28", 1), ("2023-03-30", 2)], name="m30.csv")
    x, dates, _ = _read(f, "linear")
    assert x == [1.0, 2.0] and [dates.iso(p) for p in range(4)] == ["2023-02-28", "2023-03-30", "2023-04-30",
                                                                    "2023-05-30"]
    undated = tmp_path / "lead.csv"
    undated.write_text("v\n\"\"\nnan\n5\n6\n")  # (a quoted empty line: a one-column file's empty cell)
    x, _, said = _read(undated, "ffill", None)
    assert x == [5.0, 6.0] and said == ["seqlab: note: --fill ffill dropped the first 2 rows (their values are empty, "
                                        "with nothing before to fill from): the series starts at line 4"]


def test_trailing_empty_cells_are_refused(tmp_path):
    f = _csv(tmp_path, [("2024-01-01", 1), ("2024-01-02", 2), ("2024-01-03", ""), ("2024-01-04", "")])
    for method in ("linear", "ffill"):
        with pytest.raises(SeqlabError) as e:
            _read(f, method)
        assert str(e.value).startswith(f"CSV file {str(f)!r}, column 'v': its last 2 values are empty "
                                       "(2024-01-03..2024-01-04)")
        assert "delete those rows, so that the series ends at its last known value (2024-01-02)" in str(e.value)
    f = _csv(tmp_path, [("2024-01-01", ""), ("2024-01-02", "")], name="empty.csv")
    with pytest.raises(SeqlabError, match="column 'v': it has no values to fill from: every cell is empty or NaN"):
        _read(f, "linear")


@pytest.mark.parametrize("stamps, message", [
    (["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04T12:00"],
     "uneven spacing between line 4 (2024-01-03) and line 5 (2024-01-04T12:00): 36 hours apart where the series "
     "steps by 1 day; a forecast needs an evenly spaced series: resample it first (--fill fills only whole missing "
     "steps)"),
    (["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00", "2024-01-01 03:30"], "90 minutes apart"),
    # (every 2 days then 1: --fill reads it on a 1-day grid, tests below; 2 then 3: no grid divides both)
    (["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-08"], "3 days apart where the series steps by 2 days"),
])
def test_an_uneven_step_is_still_refused(tmp_path, stamps, message):
    f = _csv(tmp_path, [(s, i) for i, s in enumerate(stamps)])
    for method in ("linear", "ffill"):
        with pytest.raises(SeqlabError) as e:
            _read(f, method)
        assert message in str(e.value) and "\n" not in str(e.value)


def test_auto_dates_with_a_gap_are_filled_rather_than_dropped(tmp_path):
    # without --fill a gap in a column found by its name reads the rows as steps without dates; with
    # it, the dates are kept and the gap filled
    f = _csv(tmp_path, [("2024-01-01", 1), ("2024-01-02", 2), ("2024-01-04", 4)])
    x, dates = load_csv_series(f, "v", fill="linear", say=[].append)
    assert x.tolist() == [1.0, 2.0, 3.0, 4.0] and dates.iso(4) == "2024-01-05"
    assert load_csv_series(f, "v")[1] is None


def test_an_unknown_fill_is_refused(tmp_path):
    with pytest.raises(SeqlabError, match="--fill cubic: expected one of none, linear, ffill"):
        load_csv_series(_csv(tmp_path, [("2024-01-01", 1)]), "v", fill="cubic")


# ---- which values were observed, and the messages of refusals ----

def test_filled_marks_the_values_it_filled_in():
    done = fill_gaps([0, 1, 2, 5, 6], [10.0, 13.0, NAN, 4.0, 5.0], "linear")
    assert done.observed == [True, True, False, False, False, True, True]
    done = fill_gaps([3, 4, 5, 7], [NAN, NAN, 1.0, 3.0], "ffill")  # the dropped rows are not in it
    assert (done.values, done.observed) == ([1.0, 1.0, 3.0], [True, False, True])


def test_more_than_half_empty_cells_names_the_run_of_empty_cells_without_a_date_typo(tmp_path):
    f = _csv(tmp_path, [("2024-01-01", 1), ("2024-01-02", ""), ("2024-01-03", ""), ("2024-01-04", ""),
                        ("2024-01-05", ""), ("2024-01-06", 6), ("2024-01-07", 7)])
    with pytest.raises(SeqlabError) as e:
        _read(f, "linear")
    assert str(e.value) == (f"CSV file {str(f)!r}, column 'v': --fill linear would fill 4 of its 7 values (one every "
                            "1 day), more than half (the longest run of unknown values: 4 empty cells, at "
                            "2024-01-02..2024-01-05): the series would be mostly invented; resample it to a coarser "
                            "step first")
    undated = tmp_path / "u.csv"
    undated.write_text("v\n1\nNA\nNA\nNA\nNA\n6\n7\n")
    with pytest.raises(SeqlabError) as e:
        _read(undated, "ffill", None)
    assert "(the longest run of unknown values: 4 empty cells, at lines 3..6)" in str(e.value)
    assert "typo" not in str(e.value) and "one every" not in str(e.value)
    # missing dates and empty cells together make one run; a date typo only when missing dates make most of it
    with pytest.raises(SeqlabError) as e:
        fill_gaps([0, 1, 2, 6], [0.0, 1.0, NAN, 6.0], "linear", name=str, unit="")
    assert "(the longest run of unknown values: 4 steps (3 missing dates and 1 empty cell), at 2..5)" in str(e.value)
    assert "typo" not in str(e.value)


def test_pandas_default_missing_markers_are_missing(tmp_path):
    f = tmp_path / "na.csv"
    f.write_text("v\n0\n<NA>\n2\n#NA\n4\n-NaN\n6\n1.#IND\n8\n-1.#QNAN\n10\n#N/A N/A\n12\n")
    x, _, said = _read(f, "linear", None)
    assert x == [float(i) for i in range(13)] and "(6 empty cells" in said[0]
    with pytest.raises(SeqlabError, match=r"line 3, column 'v': '<NA>' marks a missing value: --fill linear or"):
        _read(f, "none", None)


# ---- the grid: the smallest step, a run's step, business days (more: test_dates_business.py) ----

def test_a_daily_series_missing_most_days_is_filled_on_a_one_day_grid(tmp_path):
    # differences 1, 2, 2, 2, 1 days: the most common (2) would call the 1-day steps uneven; the smallest divides all
    f = _csv(tmp_path, [("2024-01-01", 1), ("2024-01-02", 2), ("2024-01-04", 4), ("2024-01-06", 6),
                        ("2024-01-08", 8), ("2024-01-09", 9)])
    x, dates, said = _read(f, "linear")
    assert x == [float(i) for i in range(1, 10)] and dates.every == "1 day" and dates.iso(9) == "2024-01-10"
    assert _read(f, "ffill")[0] == [1.0, 2.0, 2.0, 4.0, 4.0, 6.0, 6.0, 8.0, 9.0]
    assert said[0].startswith("seqlab: note: --fill linear filled 3 missing values (3 missing dates")
    # without --fill it is refused at its first gap on that grid, which --fill fills (not as uneven spacing)
    with pytest.raises(SeqlabError) as e:
        _read(f, "none")
    assert ("a gap (1 missing value) between line 3 (2024-01-02) and line 4 (2024-01-04): 2 days apart where the "
            "series steps by 1 day" in str(e.value)) and "fill the gaps (--fill linear or --fill ffill)" in str(e.value)


def test_a_gap_is_refused_on_the_grid_fill_fills_not_on_the_usual_step(tmp_path):
    # differences 2, 2, 4, 1 days (from a Saturday: calendar days): the usual step (2 days) sees one missing
    # value at the 4-day gap, but --fill reads a 1-day grid and fills 5; the refusal names the first gap on
    # that grid (it named the 4-day one)
    f = _csv(tmp_path, [("2024-01-06", 6), ("2024-01-08", 8), ("2024-01-10", 10), ("2024-01-14", 14),
                        ("2024-01-15", 15)])
    assert _read(f, "linear")[2][0].startswith("seqlab: note: --fill linear filled 5 missing values")
    with pytest.raises(SeqlabError) as e:
        _read(f, "none")
    assert ("a gap (1 missing value) between line 2 (2024-01-06) and line 3 (2024-01-08): 2 days apart where the "
            "series steps by 1 day" in str(e.value))


def test_a_gap_before_uneven_spacing_is_refused_as_the_uneven_spacing(tmp_path):
    # every 2 days, a 6-day gap, then 3 days: no grid fits all, so advising --fill for the gap was a dead end
    f = _csv(tmp_path, [("2024-01-08", 1), ("2024-01-10", 2), ("2024-01-16", 3), ("2024-01-19", 4)])
    for fill in ("none", "linear"):
        with pytest.raises(SeqlabError) as e:
            _read(f, fill)
        assert ("uneven spacing between line 4 (2024-01-16) and line 5 (2024-01-19): 3 days apart where the series "
                "steps by 2 days" in str(e.value)) and "--fill linear" not in str(e.value)


def test_a_file_is_read_on_a_given_grid(tmp_path):
    f = _csv(tmp_path, [("2024-04-20", 150), ("2024-04-22", 152), ("2024-04-24", 156)])
    daily = DateIndex("date", datetime(2024, 1, 1), 10, step=timedelta(days=1))
    read = read_csv_series(f, "v", "date", fill="linear", say=[].append, grid=daily)
    assert read.x.tolist() == [150.0, 151.0, 152.0, 154.0, 156.0] and read.dates.iso(5) == "2024-04-25"
    assert read.observed.tolist() == [True, False, True, False, True]
    # its own grid, without one: every 2 days
    assert read_csv_series(f, "v", "date", fill="linear", say=[].append).dates.every == "2 days"


def test_business_days_weekends_are_not_filled_nor_taken_for_gaps(tmp_path):
    # Thursday, Friday, then Monday, Tuesday (empty): weekdays only, the weekend missing: business days,
    # so --fill fills the empty Tuesday, never the weekend (pandas: asfreq("B"), not asfreq("D"))
    f = _csv(tmp_path, [("2024-01-04", 1), ("2024-01-05", 2), ("2024-01-08", 3), ("2024-01-09", ""),
                        ("2024-01-10", 5)])
    for date_column in ("date", "auto"):
        x, dates, said = _read(f, "linear", date_column)
        assert x == [1.0, 2.0, 3.0, 4.0, 5.0] and dates.business and dates.every == "1 business day"
        assert said[0].startswith("seqlab: note: --fill linear filled 1 missing value (1 empty cell")
    g = _csv(tmp_path, [("2024-01-04", 1), ("2024-01-05", 2), ("2024-01-08", 3), ("2024-01-09", 4)], name="g.csv")
    x, dates, said = _read(g, "none")  # (without --fill: no weekend is a gap)
    assert x == [1.0, 2.0, 3.0, 4.0] and [dates.iso(p) for p in range(6)] == [
        "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11"]
    logged = []
    x, dates = load_csv_series(g, "v", log=logged.append)  # found by its name: dated too, saying so
    assert dates.business and x.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert logged == ["dates from column 'date' (found by its name; --date-column none reads the rows without "
                      "dates): 4 values from 2024-01-04 to 2024-01-09, one every 1 business day (Mon-Fri, weekends "
                      "skipped, as pandas' freq 'B')"]
    # a gap on a weekday only (a holiday, no weekend crossed) is a calendar day's gap, which --fill fills
    h = _csv(tmp_path, [("2024-01-01", 1), ("2024-01-02", 2), ("2024-01-04", 4)], name="h.csv")
    x, dates, _ = _read(h, "linear")
    assert x == [1.0, 2.0, 3.0, 4.0] and not dates.business and dates.iso(4) == "2024-01-05"


# ---- timestamps: offsets and daylight saving ----

def test_a_filled_hour_is_named_in_its_neighbours_offset(tmp_path):
    f = _csv(tmp_path, [("2024-03-31T00:00:00+01:00", 0), ("2024-03-31T01:00:00+01:00", 1),
                        ("2024-03-31T03:00:00+02:00", 2), ("2024-03-31T04:00:00+02:00", 3),
                        ("2024-03-31T06:00:00+02:00", 5), ("2024-03-31T07:00:00+02:00", 6)])
    x, _, said = _read(f, "linear")
    assert x == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert said[0].endswith("at 2024-03-31T05:00:00+02:00)")  # (not 04:00+01:00, the first row's offset)
    # between rows of different offsets (where the change fell is unknown): in the row before's offset
    f = _csv(tmp_path, [("2024-03-31T00:00:00+01:00", 0), ("2024-03-31T01:00:00+01:00", 1),
                        ("2024-03-31T04:00:00+02:00", 3), ("2024-03-31T05:00:00+02:00", 4)], name="z.csv")
    x, _, said = _read(f, "linear")
    assert x == [0.0, 1.0, 2.0, 3.0, 4.0] and said[0].endswith("at 2024-03-31T02:00:00+01:00)")


def test_an_hour_missing_from_local_times_hints_at_daylight_saving(tmp_path):
    f = _csv(tmp_path, [("2024-03-31 00:00", 1), ("2024-03-31 01:00", 2), ("2024-03-31 03:00", 4),
                        ("2024-03-31 04:00", 5)])
    with pytest.raises(SeqlabError, match=r"fill the gaps \(--fill linear or --fill ffill\) or resample it first "
                                          r"\(or, in local time without UTC offsets, the hour a daylight-saving change "
                                          r"skips: write the offsets, or UTC\)$"):
        _read(f, "none")
    g = _csv(tmp_path, [("2024-03-31 00:00", 1), ("2024-03-31 01:00", 2), ("2024-03-31 04:00", 4)], name="g.csv")
    with pytest.raises(SeqlabError) as e:  # two hours missing: no daylight-saving change skips those
        _read(g, "none")
    assert "daylight" not in str(e.value)


# ---- what is said, and what the reader gives back ----

def test_notes_name_where_the_fill_came_from_and_forecasts_hear_about_their_inputs():
    done = fill_gaps([0, 1, 2, 3, 4, 6, 7, 8], [float(i) for i in range(8)], "linear")
    lines = fill_lines("linear", done, str, unit="", source=" (the run's)", warn=False)
    assert lines == ["seqlab: note: --fill linear (the run's) filled 1 missing value (1 missing date, the longest gap "
                     "1 step, at 5)"]
    observed = [True] * 5 + [False] + [True] * 4  # 1 of 10 filled, at position 5
    assert forecast_lines(observed, 10, 4, "--fill ffill") == []  # inputs 6..9: observed
    assert forecast_lines(observed, 8, 4, "--fill ffill") == [
        "seqlab: note: 1 of the 4 values the forecast starts from (the last tau = 4 before its first step) was filled "
        "in by --fill ffill: it continues invented values"]
    two = [True] * 3 + [False, False] + [True] * 5  # 2 of 10: a warning, which says whether the inputs are filled
    assert forecast_lines(two, 10, 4, "--fill linear") == [
        "seqlab: warning: 2 of the series' 10 values (20%) are filled in by --fill linear, not observed; none of the 4 "
        "values the forecast starts from (the last tau = 4 before its first step) is filled"]
    warned = forecast_lines(two, 6, 4, "--fill linear")[0]
    assert warned.endswith("; 2 of the 4 values the forecast starts from (the last tau = 4 before its first step) "
                           "are filled: it continues invented values") and "learns" not in warned


def test_the_reader_says_where_the_series_starts_in_the_file(tmp_path):
    f = _csv(tmp_path, [("2024-01-01", ""), ("2024-01-03", ""), ("2024-01-04", 4), ("2024-01-06", 6)])
    read = read_csv_series(f, "v", "date", fill="linear", say=[].append)
    # the first value is 3 days after the first row's date: position 3 of the file's grid, 2 rows dropped
    assert (read.first, read.dropped, read.dates.iso(0)) == (3, 2, "2024-01-04")
    assert read.x.tolist() == [4.0, 5.0, 6.0] and read.observed.tolist() == [True, False, True]
    assert read.dropped_said("linear") == " (after --fill linear dropped its first 2 rows, empty)"
    undated = tmp_path / "u.csv"
    undated.write_text("v\nNA\n5\n6\n")
    read = read_csv_series(undated, "v", None, fill="ffill", say=[].append)
    assert (read.first, read.dropped, read.x.tolist()) == (1, 1, [5.0, 6.0])
    plain = read_csv_series(_csv(tmp_path, [("2024-01-01", 1), ("2024-01-02", 2)], name="p.csv"), "v", "date")
    # (no --fill: every value observed)
    assert (plain.first, plain.dropped, plain.observed.dtype) == (0, 0, torch.bool) and plain.observed.all()
