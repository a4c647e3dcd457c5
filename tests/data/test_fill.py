"""Filling missing dates and empty cells (`--fill linear|ffill`): the pure function, worked by hand,
and the CSV reader that calls it."""

import math

import pytest

from seqlab import SeqlabError
from seqlab.data.fill import Filled, fill_gaps, fill_lines
from seqlab.data.timeseries import load_csv_series

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
    assert str(e.value) == ("--fill linear would fill 5 of its 9 values, more than half (the widest gap: 5 missing "
                            "steps after 2024-01-03): is a date far off (a typo)? else resample the series to a "
                            "coarser step first")


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
    dropped = Filled([1.0, 2.0], first=2, dropped=2, filled=0, missing_dates=0, longest=None)
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
    # position is the row: the blank line (skipped, as always) is no row; 'nan' and NA are
    f = tmp_path / "u.csv"
    f.write_text("v\n1\n2\nnan\n\nNA\n8\n")
    x, dates, said = _read(f, "linear", None)
    assert x == [1.0, 2.0, 4.0, 6.0, 8.0] and dates is None
    assert said == ["seqlab: note: --fill linear filled 2 missing values (2 empty cells, the longest gap 2 steps, "
                    "at lines 4..6)",
                    "seqlab: warning: 2 of the series' 5 values (40%) are filled in by --fill linear, not observed: "
                    "the model learns and forecasts from the filler's shape as much as the data's; a series with fewer "
                    "gaps (or a coarser step) is more faithful"]
    assert _read(f, "ffill", None)[0] == [1.0, 2.0, 2.0, 2.0, 8.0]
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
    # monthly on the 30th, February's clamped 28th first: its later months would lose the 30th: refused
    f = _csv(tmp_path, [("2023-01-30", ""), ("2023-02-28", 1), ("2023-03-30", 2)], name="m30.csv")
    with pytest.raises(SeqlabError, match=r"first value \(line 3, 2023-02-28\) is on a day that its later months do "
                                          "not keep"):
        _read(f, "linear")
    undated = tmp_path / "lead.csv"
    undated.write_text("v\n\"\"\nnan\n5\n6\n")  # (a quoted empty line is a blank line: skipped)
    x, _, said = _read(undated, "ffill", None)
    assert x == [5.0, 6.0] and said == ["seqlab: note: --fill ffill dropped the first row (its value is empty, with "
                                        "nothing before to fill from): the series starts at line 4"]


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
    (["2024-01-01", "2024-01-03", "2024-01-05", "2024-01-06"], "1 day apart where the series steps by 2 days"),
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
