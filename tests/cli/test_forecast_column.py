"""`seqlab train forecast --data FILE.csv` without --column (the file's only value column, kept by
the run), a file without a header row, and `seqlab forecast --data` with a run trained without dates."""

import datetime
import json

import numpy as np
import pytest

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.forecast import from_checkpoint

DAY0 = datetime.date(2024, 1, 1)


def _daily(path, n, first=0, header="date,load"):
    path.write_text(header + "\n" + "".join(f"{DAY0 + datetime.timedelta(days=first + i)},{10 + i % 7}\n"
                                            for i in range(n)))
    return str(path)


def _run(capsys, *argv):
    capsys.readouterr()
    code = main([*map(str, argv)])
    return code, capsys.readouterr()


TINY = ("--epochs", 1, "--hidden", 4)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_thread):
    """Two runs on a daily date,load file, trained without --column: with its dates, and without."""
    folder = tmp_path_factory.mktemp("column")
    csv = _daily(folder / "train.csv", 60)
    dated, undated = folder / "dated", folder / "undated"
    assert main(["train", "forecast", "--data", csv, *map(str, TINY), "--out", str(dated)]) == 0
    assert main(["train", "forecast", "--data", csv, "--date-column", "none", *map(str, TINY),
                 "--out", str(undated)]) == 0
    return folder, csv, dated, undated


def test_the_files_only_value_column_is_taken_said_and_kept(runs, capsys):
    folder, csv, dated, _ = runs
    code, printed = _run(capsys, "train", "forecast", "--data", csv, *TINY, "--out", folder / "said")
    assert code == 0 and printed.out.startswith("column 'load': the file's only value column\ndates from column 'date'")
    # the run keeps the column it read: forecast --data reads it from a newer file, and --resume finds it again
    assert from_checkpoint(load_checkpoint(dated, "best"))[2].series.column == "load"
    newer = _daily(folder / "newer.csv", 20, first=100)
    code, printed = _run(capsys, "forecast", "--checkpoint", dated, "--steps", 2, "--data", newer, "--json")
    assert code == 0 and json.loads(printed.out)["date"] == ["2024-04-30", "2024-05-01"]
    code, named = _run(capsys, "forecast", "--checkpoint", dated, "--steps", 2, "--data", newer, "--column", "load",
                       "--json")
    assert code == 0 and named.out == printed.out
    code, printed = _run(capsys, "train", "forecast", "--data", csv, "--epochs", 2, "--hidden", 4, "--resume",
                         "--out", folder / "said")
    assert code == 0 and "resuming" in printed.out


def test_several_value_columns_are_refused_listing_them(tmp_path, capsys):
    csv = tmp_path / "multi.csv"
    csv.write_text("date,a,b,c\n" + "".join(f"{DAY0 + datetime.timedelta(days=i)},{i},{i},{i}\n" for i in range(30)))
    code, printed = _run(capsys, "train", "forecast", "--data", csv, *TINY, "--out", tmp_path / "run")
    assert code == 2 and printed.err == (f"seqlab: error: CSV file {str(csv)!r} has 3 value columns, so --data needs "
                                         "--column NAME to say which holds the series; its value columns are: 'a', "
                                         "'b', 'c': give --column NAME\n")
    assert not (tmp_path / "run").exists()


def test_a_file_without_a_header_row_is_said_so(runs, tmp_path, capsys):
    _, _, dated, _ = runs
    bare = tmp_path / "bare.csv"
    bare.write_text("".join(f"{DAY0 + datetime.timedelta(days=i)},{50 + i % 7:.2f}\n" for i in range(30)))
    hint = ("its columns are: '2024-01-01', '50.00': the first line (2024-01-01,50.00) is read as the header: the file "
            "seems to have none; add a header line naming the columns (e.g. date,load)\n")
    code, printed = _run(capsys, "train", "forecast", "--data", bare, "--column", "load", *TINY, "--out", tmp_path / "r")
    assert code == 2 and printed.err == f"seqlab: error: CSV file {str(bare)!r} has no column 'load'; {hint}"
    code, printed = _run(capsys, "train", "forecast", "--data", bare, *TINY, "--out", tmp_path / "r")
    assert code == 2 and printed.err == (f"seqlab: error: CSV file {str(bare)!r} needs a header row: the first line "
                                         "(2024-01-01,50.00) is read as the header: the file seems to have none; add "
                                         "a header line naming the columns (e.g. date,value)\n")
    code, printed = _run(capsys, "forecast", "--checkpoint", dated, "--steps", 2, "--data", bare)
    assert code == 2 and printed.err == (f"seqlab: error: CSV file {str(bare)!r} has no column 'load' (the run's "
                                         f"column); {hint}")


def test_an_undated_run_says_the_files_dates_are_not_read(runs, tmp_path, capsys):
    folder, _, dated, undated = runs
    newer = _daily(tmp_path / "newer.csv", 20, first=100)
    code, printed = _run(capsys, "forecast", "--checkpoint", undated, "--steps", 2, "--data", newer)
    assert code == 0 and [line.split("\t")[0] for line in printed.out.splitlines()] == ["21", "22"]
    assert printed.err == (f"seqlab: note: the run was trained without dates, so {newer}'s column 'date' is not read: "
                           "forecasts are numbered by position (train with its dates to get dated forecasts)\n")
    # said once and only when nothing is refused; not when --date-column none says so, a file has no dates, or
    # the run has dates
    code, quiet = _run(capsys, "forecast", "--checkpoint", undated, "--steps", 2, "--data", newer, "--date-column",
                       "none")
    assert code == 0 and quiet.err == "" and quiet.out == printed.out
    plain = tmp_path / "plain.csv"
    plain.write_text("load\n" + "".join(f"{10 + i % 7}\n" for i in range(20)))
    code, quiet = _run(capsys, "forecast", "--checkpoint", undated, "--steps", 2, "--data", plain)
    assert code == 0 and quiet.err == "" and quiet.out == printed.out
    code, quiet = _run(capsys, "forecast", "--checkpoint", dated, "--steps", 2, "--data", newer)
    assert code == 0 and "trained without dates" not in quiet.err and quiet.out.startswith("2024-04-30\t")
    short = _daily(tmp_path / "short.csv", 2, first=100)
    code, refused = _run(capsys, "forecast", "--checkpoint", undated, "--steps", 2, "--data", short)
    assert code == 2 and refused.err.count("\n") == 1 and "trained without dates" not in refused.err


def test_a_text_file_is_said_to_be_no_series(tmp_path, capsys):
    # a new-user review: `--data timemachine.txt` said "has 2 value columns ... its value columns are: The Time
    # Machine, by H. G. Wells [1898]: give --column NAME" (the title's comma read as a separator). 19 rows after
    # the title line: 3 of the first copy, 4 of each of the 4 others (blank lines are no rows)
    book = tmp_path / "book.txt"
    book.write_text("The Time Machine, by H. G. Wells [1898]\n\n\n\n\n I\n\n\n The Time Traveller (for so it will be\n"
                    "convenient to speak of him) was expounding a recondite matter to us.\n" * 5)
    code, printed = _run(capsys, "train", "forecast", "--data", book, *TINY, "--out", tmp_path / "run")
    assert code == 2 and printed.err.count("\n") == 1 and "--column" not in printed.err
    assert printed.err.startswith(f"seqlab: error: --data {str(book)!r} does not look like a series: neither its "
                                  "first line nor 19 of the 19 rows after it hold a number in any column (e.g. 'I')")
    assert not (tmp_path / "run").exists()


def test_a_file_of_numbers_without_a_header_row_trains_and_forecasts(tmp_path, capsys, one_thread):
    # np.savetxt's files: one number per line, or columns; no header row (they were refused, wanting one)
    values = np.array([10 + i % 7 + 0.25 * (i % 3) for i in range(40)])
    bare, table = tmp_path / "bare.csv", tmp_path / "table.csv"
    np.savetxt(bare, values)
    np.savetxt(table, np.column_stack([np.arange(40), values]), delimiter=",")
    for data, column, name in ((bare, (), "value"), (table, ("--column", 2), "2")):
        run = tmp_path / f"run_{name}"
        code, printed = _run(capsys, "train", "forecast", "--data", data, *column, *TINY, "--out", run)
        assert code == 0
        _, series, cfg = from_checkpoint(load_checkpoint(run, "best"))
        assert cfg.series.column == name and series.x.tolist() == values.astype(np.float32).tolist()  # all 40 rows
        code, printed = _run(capsys, "forecast", "--checkpoint", run, "--steps", 2, "--data", data)
        assert code == 0 and [line.split("\t")[0] for line in printed.out.splitlines()] == ["41", "42"]
    code, printed = _run(capsys, "train", "forecast", "--data", bare, *TINY, "--out", tmp_path / "said")
    assert printed.out.startswith("column 'value': the file's only value column (the file has no header row: its first "
                                  "line, a number, is its first value)\n")
