"""What --fill may fill: `--max-gap N` refuses a longer run of missing values, naming it; a
one-column file's blank lines, which are its empty cells; and what fill_gaps refuses to start on."""

import math

import pytest

from seqlab import SeqlabError
from seqlab.data.fill import check_max_gap, fill_gaps
from seqlab.data.timeseries import read_csv_series

NAN = math.nan


# ---- --max-gap ----

def test_max_gap_fills_runs_up_to_n_and_refuses_the_first_longer_one():
    # grid 0..9: runs of missing values at 2 (1 step: an empty cell), 4..6 (3 steps: missing positions 4, 6
    # and the empty cell at 5) and 8 (1 step: a missing position)
    positions, values = [0, 1, 2, 3, 5, 7, 9], [0.0, 1.0, NAN, 3.0, NAN, 7.0, 9.0]
    assert fill_gaps(positions, values, "linear", max_gap=3).values == [float(i) for i in range(10)]
    assert fill_gaps(positions, values, "linear").values == [float(i) for i in range(10)]  # no limit: as before
    with pytest.raises(SeqlabError) as e:
        fill_gaps(positions, values, "ffill", max_gap=2)
    assert str(e.value) == ("its gap of 3 missing values (positions 4..6) is longer than --max-gap 2 allows: raise "
                            "--max-gap to 3 or more to fill it, or clean the file (resample the series, or cut it to a "
                            "stretch without that gap)")
    with pytest.raises(SeqlabError, match=r"^its gap of 1 missing value \(line 2\) \(the first of 3 such gaps\) is "
                                          r"longer than --max-gap 0 \(the run's\) allows"):
        fill_gaps(positions, values, "linear", max_gap=0, name=lambda p: str(p), unit="line",
                  max_gap_source=" (the run's)")
    # several gaps too long: the first is named, and the advice fills the longest (one retry fills them all)
    with pytest.raises(SeqlabError) as e:
        fill_gaps(positions, values, "linear", max_gap=0, name=lambda p: str(p), unit="line")
    assert str(e.value) == ("its gap of 1 missing value (line 2) (the first of 3 such gaps) is longer than --max-gap 0 "
                            "allows: raise --max-gap to 3 or more (the longest of 3 such gaps, at lines 4..6) to fill "
                            "them, or clean the file (resample the series, or cut it to stretches without those gaps)")
    assert fill_gaps(positions, values, "linear", max_gap=3).values == [float(i) for i in range(10)]  # (so it does)
    # leading missing values are dropped, not filled: no gap
    assert fill_gaps([0, 1, 2, 3], [NAN, NAN, 1.0, 2.0], "linear", max_gap=1).values == [1.0, 2.0]


@pytest.mark.parametrize("max_gap, fill, message", [
    (0, "linear", "--max-gap must be a positive number of steps (the longest run of missing values --fill may "
                  "fill), got 0"),
    (2, "none", "--max-gap 2 limits the gaps that --fill fills: give --fill linear or --fill ffill too (without "
                "--fill, every missing value is refused)"),
])
def test_max_gap_is_refused_without_a_fill_or_below_one(max_gap, fill, message):
    with pytest.raises(SeqlabError) as e:
        check_max_gap(max_gap, fill)
    assert str(e.value) == message


def test_the_reader_names_a_long_gap_by_its_dates_or_lines(tmp_path):
    f = tmp_path / "d.csv"  # 2024-01-03 empty, 2024-01-04 and 05 missing: one gap of 3 days
    f.write_text("date,v\n2024-01-01,1\n2024-01-02,2\n2024-01-03,\n2024-01-06,6\n2024-01-07,7\n")
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "v", "date", fill="linear", max_gap=2, say=print)
    assert str(e.value) == (f"CSV file {str(f)!r}, column 'v': its gap of 3 missing values (2024-01-03..2024-01-05) "
                            "is longer than --max-gap 2 allows: raise --max-gap to 3 or more to fill it, or clean the "
                            "file (resample the series, or cut it to a stretch without that gap)")
    assert read_csv_series(f, "v", "date", fill="linear", max_gap=3, say=print).x.tolist() == [1, 2, 3, 4, 5, 6, 7]
    f.write_text("date,v\n2024-01-01,1\n2024-01-02,2\n2024-01-05,5\n2024-01-06,6\n2024-01-11,11\n2024-01-12,12\n")
    with pytest.raises(SeqlabError) as e:  # gaps of 2 days (01-03..04) and 4 (01-07..10)
        read_csv_series(f, "v", "date", fill="linear", max_gap=1, say=print)
    assert str(e.value) == (f"CSV file {str(f)!r}, column 'v': its gap of 2 missing values (2024-01-03..2024-01-04) "
                            "(the first of 2 such gaps) is longer than --max-gap 1 allows: raise --max-gap to 4 or "
                            "more (the longest of 2 such gaps, at 2024-01-07..2024-01-10) to fill them, or clean the "
                            "file (resample the series, or cut it to stretches without those gaps)")
    assert read_csv_series(f, "v", "date", fill="linear", max_gap=4, say=print).x.tolist() == list(range(1, 13))
    g = tmp_path / "u.csv"
    g.write_text("v\n1\nNA\nNA\n4\n")
    with pytest.raises(SeqlabError, match=r"'v': its gap of 2 missing values \(lines 3..4\) is longer than "
                                          r"--max-gap 1 allows"):
        read_csv_series(g, "v", fill="ffill", max_gap=1, say=print)
    with pytest.raises(SeqlabError, match="--max-gap 1 limits the gaps that --fill fills"):
        read_csv_series(g, "v", max_gap=1)


# ---- blank lines of a one-column file ----

def test_a_one_column_files_blank_lines_are_missing_values_with_fill(tmp_path):
    # one value a line: a blank line is its empty cell, as ",," is in a file of several columns; the blank
    # lines after the last value are the file's end, never values
    f = tmp_path / "one.csv"
    f.write_text("v\n1\n2\n\n\n5\n6\n\n\n")
    said = []
    read = read_csv_series(f, "v", fill="linear", say=said.append)
    assert read.x.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert read.observed.tolist() == [True, True, False, False, True, True]
    assert said[0] == ("seqlab: note: --fill linear filled 2 missing values (2 empty cells, the longest gap 2 steps, at "
                       "lines 4..5)")
    # an empty cell of a two-column file, for comparison: the same values
    g = tmp_path / "two.csv"
    g.write_text("v,w\n1,0\n2,0\n,0\n,0\n5,0\n6,0\n")
    assert read_csv_series(g, "v", fill="linear", say=said.append).x.tolist() == read.x.tolist()


def test_without_fill_blank_lines_are_skipped_with_one_note(tmp_path):
    f = tmp_path / "one.csv"
    f.write_text("v\n1\n\n2\n3\n\n\n4\n\n")
    said = []
    read = read_csv_series(f, "v", say=said.append)
    assert read.x.tolist() == [1.0, 2.0, 3.0, 4.0]  # as before (and as pandas reads it)
    assert said == [f"seqlab: note: CSV file {str(f)!r}: 3 blank lines skipped (the first: line 3), the values "
                    "around them read as consecutive steps; a blank line in a one-column file is an empty cell: "
                    "--fill linear or --fill ffill fills it as a missing value"]
    # a blank line at the end only, or in a file of several columns (no cell of its own): nothing to say
    for name, text in (("end.csv", "v\n1\n2\n\n"), ("two.csv", "v,w\n1,0\n\n2,0\n")):
        said = []
        (tmp_path / name).write_text(text)
        assert read_csv_series(tmp_path / name, "v", say=said.append).x.tolist() == [1.0, 2.0] and said == []


def test_blank_lines_before_the_first_value_are_nothing(tmp_path):
    # not a leading empty cell (which --fill drops with a note, shifting the printed times): no row at all
    f = tmp_path / "lead.csv"
    f.write_text("v\n\n\n1\n2\n3\n")
    for fill in ("none", "linear"):
        said = []
        read = read_csv_series(f, "v", fill=fill, say=said.append)
        assert read.x.tolist() == [1.0, 2.0, 3.0] and said == [] and read.first == read.dropped == 0, fill


# ---- what fill_gaps itself refuses ----

def test_fill_gaps_refuses_a_method_or_positions_it_cannot_use_with_a_seqlab_error_that_says_the_fix():
    # these were bare ValueErrors (a `seqlab` command never reaches them: --fill's choices and the readers'
    # positions are checked first; a library caller of fill_gaps does)
    with pytest.raises(SeqlabError) as e:
        fill_gaps([0, 1, 2], [1.0, NAN, 3.0], "none")
    assert str(e.value) == ("fill method 'none': expected linear or ffill (linear interpolates between the known "
                            "neighbours, ffill carries the last known value forward); 'none' fills nothing: leave the "
                            "values as they are")
    assert isinstance(e.value, ValueError)  # (what it was: a caller that catches ValueError still does)
    with pytest.raises(SeqlabError) as e:
        fill_gaps([0, 3, 1], [1.0, 2.0, 3.0], "linear")  # position 1 after 3
    assert str(e.value) == ("positions must be strictly increasing, one per value: positions[2] = 1 follows "
                            "positions[1] = 3; sort the values by position, and keep one value of a repeated position")
    with pytest.raises(SeqlabError, match=r"^positions must be strictly increasing, one per value: got 2 positions "
                                          r"for 3 values; give each value its grid position$"):
        fill_gaps([0, 1], [1.0, 2.0, 3.0], "ffill")
    with pytest.raises(SeqlabError, match=r"^fill method 'cubic': expected linear or ffill \(linear [^;]*\)$"):
        fill_gaps([0, 1], [1.0, 2.0], "cubic")
