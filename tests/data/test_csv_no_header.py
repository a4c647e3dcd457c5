"""A CSV series file without a header row, its first line all numbers (`np.savetxt`'s files, one number
per line or several): that line is values and the columns are named by position, "1", "2", ... ("value"
for a file of one column), read as `np.loadtxt` reads the file; a header of numbers that --column names
is still a header, as are pandas' labels of an unnamed frame (0,1,...,n-1); where either reading could be
meant, the file is refused saying how to choose."""

import numpy as np
import pytest

from seqlab import SeqlabError
from seqlab.data.csv_columns import value_column
from seqlab.data.timeseries import read_csv_series


def _csv(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text, newline="")
    return path


def test_one_number_per_line_is_one_column_named_value(tmp_path):
    f = _csv(tmp_path, "1.5\n2.0\n-3e2\n4\n")
    said = []
    assert value_column(f, "auto", said.append) == "value"
    assert said == ["column 'value': the file's only value column (the file has no header row: its first line, a "
                    "number, is its first value)"]
    assert read_csv_series(f, "value").x.tolist() == np.loadtxt(f, dtype=np.float32).tolist()
    # a byte order mark, Windows line ends, a trailing comma: the same four values
    g = _csv(tmp_path, "\ufeff1.5,\r\n2.0,\r\n-3e2,\r\n4,\r\n", "g.csv")
    assert value_column(g) == "value" and read_csv_series(g, "value").x.tolist() == [1.5, 2.0, -300.0, 4.0]


def test_columns_without_a_header_are_named_by_position(tmp_path):
    table = np.array([[1.0, 10.5, -2.0], [2.0, 11.25, -4.0], [3.0, 12.0, -8.0]])
    f = tmp_path / "t.csv"
    np.savetxt(f, table, delimiter=",")  # (no header: '1.000000000000000000e+00,...')
    for k in (1, 2, 3):
        assert read_csv_series(f, str(k)).x.tolist() == np.loadtxt(f, delimiter=",", usecols=k - 1).tolist()
    with pytest.raises(SeqlabError) as e:
        value_column(f, "auto")
    assert str(e.value) == (f"CSV file {str(f)!r} has 3 value columns, so --data needs --column NAME to say which "
                            "holds the series; its value columns are: '1', '2', '3' (the file has no header row: its "
                            "first line is numbers, its columns named by position): give --column NAME")
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "value")
    assert str(e.value) == (f"CSV file {str(f)!r} has no column 'value'; its columns are: '1', '2', '3': the file has "
                            "no header row (its first line is numbers), so its columns are named by position, 1 to 3: "
                            "e.g. --column 2 names the second (or add a header line naming them)")


def test_a_header_of_numbers_is_a_header_where_column_names_it(tmp_path):
    f = _csv(tmp_path, "2019,2020\n1,2\n3,4\n")
    assert read_csv_series(f, "2020").x.tolist() == [2.0, 4.0]  # (as before: the name is a cell of the first line)
    assert read_csv_series(f, "2").x.tolist() == [2020.0, 2.0, 4.0]  # a position: the first line is values


@pytest.mark.parametrize("text, column, message", [
    ("1\n2\nx\n", "value", "line 3, column 'value': 'x' is not a number"),  # lines counted from the file's first
    # (first lines whose cells are no position: "1,2" and --column 1 is ambiguous, test_a_name_that_is_a_cell...)
    ("1.5,2\n3,4\n5,6,7\n", "1", "line 3 has 3 fields but the first line has 2: an unquoted thousands separator"),
    ("1,2.5\n3\n", "2", "line 2 has 1 field but the first line has 2: a missing field"),
])
def test_bad_rows_are_named_by_their_line(tmp_path, text, column, message):
    f = _csv(tmp_path, text)
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, column)
    assert str(e.value).startswith(f"CSV file {str(f)!r}, {message}")


def test_a_first_line_with_a_date_or_a_name_is_still_a_header(tmp_path):
    # (not all numbers: read as before, a header of dates refused as headerless in test_csv_columns.py)
    for text, header in (("load\n1\n2\n", "load"), ("nan\n1\n2\n", "nan"), ("1,,2\n3,4,5\n", None)):
        f = _csv(tmp_path, text)
        with pytest.raises(SeqlabError) as e:
            read_csv_series(f, "nowhere")
        assert "its columns are:" in str(e.value) and "no header row" not in str(e.value)
        if header:
            assert read_csv_series(f, header).x.tolist() == [1.0, 2.0]


def test_compact_dates_in_a_file_without_a_header_are_read_by_position(tmp_path):
    # 20240101 is a number and an ISO 8601 date (basic format): the first line is values, the column of
    # dates is left out of the value columns, and --date-column 1 reads it
    f = _csv(tmp_path, "20240101,5\n20240102,6\n20240103,7\n")
    said = []
    assert value_column(f, "auto", said.append) == "2"
    assert said[0].startswith("column '2': the file's only value column (column '1' holds dates: --date-column 1 ")
    read = read_csv_series(f, "2", "1")
    assert read.x.tolist() == [5.0, 6.0, 7.0] and (read.dates.iso(0), read.dates.iso(3)) == ("2024-01-01", "2024-01-04")


def test_pandas_labels_of_an_unnamed_frame_are_a_header(tmp_path):
    # what pd.DataFrame(arr).to_csv(f, index=False) writes (pandas is not installed here: the same text by hand);
    # review r-diff, finding 2: `--column 1` read the first column with the header's 0 as its first value
    f = _csv(tmp_path, "0,1,2\n10,20,30\n11,21,31\n12,22,32\n", "d012.csv")
    for k in (0, 1, 2):  # the column pandas labels k, as np.loadtxt reads it past its header line
        assert read_csv_series(f, str(k)).x.tolist() == np.loadtxt(f, delimiter=",", skiprows=1, usecols=k).tolist()
    with pytest.raises(SeqlabError) as e:
        value_column(f, "auto")
    assert "its value columns are: '0', '1', '2': give --column NAME" in str(e.value)
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "3")
    assert str(e.value) == f"CSV file {str(f)!r} has no column '3'; its columns are: '0', '1', '2'"


def test_a_lone_0_is_refused_as_pandas_label_or_first_value(tmp_path):
    # pd.Series(x).to_csv(f, index=False) writes a first line 0; a series whose first value is 0 looks the same
    f = _csv(tmp_path, "0\n1.5\n2.5\n3.5\n", "s0.csv")
    for call in (lambda: value_column(f, "auto"), lambda: read_csv_series(f, "value")):
        with pytest.raises(SeqlabError) as e:
            call()
        assert str(e.value) == (f"CSV file {str(f)!r}: its first line, 0, is ambiguous: pandas' label of an unnamed "
                                "series (Series.to_csv writes it) or the first value? add a header line such as value "
                                "above the first value (or replace the label 0 by it); --column 0 reads the 0 as the "
                                "header")
    assert read_csv_series(f, "0").x.tolist() == np.loadtxt(f, skiprows=1).tolist()  # named: the label
    g = _csv(tmp_path, "value\n0\n1.5\n", "g.csv")  # the advice, taken for a first value 0
    assert read_csv_series(g, "value").x.tolist() == [0.0, 1.5]


def test_a_name_that_is_a_cell_and_a_position_is_refused_as_ambiguous(tmp_path):
    f = _csv(tmp_path, "1,2\n3,4\n5,6\n")
    for column, date_column, flag, n in (("2", None, "--column", "2"), ("value", "1", "--date-column", "1")):
        with pytest.raises(SeqlabError) as e:
            read_csv_series(f, column, date_column)
        if flag == "--column":
            assert str(e.value) == (
                f"CSV file {str(f)!r}: --column 2 is ambiguous: the first line (1,2) is all numbers, 2 one of them (if "
                "that line is the header: the column named 2) and a position (if it is values: column 2 counted from "
                "1); to read it as values, add a header line above it (e.g. value1,value2) and give --column by that "
                "name; to read it as the header, name its columns with words")
        assert str(e.value).startswith(f"CSV file {str(f)!r}: {flag} {n} is ambiguous")
    # the advice, both ways: the first line as values under a header line, or as the header, its columns named
    values = _csv(tmp_path, "value1,value2\n1,2\n3,4\n5,6\n", "v.csv")
    assert read_csv_series(values, "value2").x.tolist() == np.loadtxt(f, delimiter=",", usecols=1).tolist()
    header = _csv(tmp_path, "one,two\n3,4\n5,6\n", "h.csv")
    assert read_csv_series(header, "two").x.tolist() == np.loadtxt(f, delimiter=",", skiprows=1, usecols=1).tolist()
