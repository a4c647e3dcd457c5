"""A CSV series file's header (`seqlab.data.csv_columns`): the value column taken when --column is
left out, a file without a header row, and the date column a reader without dates leaves unread."""

import pytest

from seqlab import SeqlabError
from seqlab.data.csv_columns import auto_date_column, headerless, value_column
from seqlab.data.timeseries import read_csv_series


def _csv(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, date_column, column", [
    ("date,load\n2024-01-01,1\n", "auto", "load"),
    ("load\n1\n", "auto", "load"),  # a one-column file
    ("Timestamp,load,\n2024-01-01,1,\n", "auto", "load"),  # any case; a trailing comma names nothing
    ("d,load\n2024-01-01,1\n", "d", "load"),  # the column --date-column names
    ("time,load\n1,1\n", "none", "load"),  # a column named as dates is never the series, even without dates
    ("date,time,load\n2024-01-01,00:00,1\n", "auto", "load"),  # (two date-like columns: neither)
])
def test_the_only_value_column_is_taken_and_said(tmp_path, text, date_column, column):
    said = []
    assert value_column(_csv(tmp_path, text), date_column, said.append) == column
    assert said == [f"column {column!r}: the file's only value column"]


def test_several_value_columns_or_none_are_refused_naming_them(tmp_path):
    f = _csv(tmp_path, "date,a,b,c\n2024-01-01,1,2,3\n")
    with pytest.raises(SeqlabError) as e:
        value_column(f, "auto")
    assert str(e.value) == (f"CSV file {str(f)!r} has 3 value columns, so --data needs --column NAME to say which "
                            "holds the series; its value columns are: 'a', 'b', 'c': give --column NAME")
    with pytest.raises(SeqlabError) as e:  # no dates: the date-like column is left out all the same
        value_column(_csv(tmp_path, "a,date,b\n1,2024-01-01,2\n"), "none")
    assert str(e.value).endswith("has 2 value columns, so --data needs --column NAME to say which holds the series; "
                                 "its value columns are: 'a', 'b': give --column NAME")
    f = _csv(tmp_path, "date\n2024-01-01\n")
    with pytest.raises(SeqlabError) as e:
        value_column(f, "auto")
    assert str(e.value) == (f"CSV file {str(f)!r} has no column of values beside its dates (its columns are: 'date'): "
                            "add the series' column")
    with pytest.raises(SeqlabError, match="is empty: it needs a header row"):  # (the reader's refusals)
        value_column(_csv(tmp_path, ""), "auto")


@pytest.mark.parametrize("header, column, flag, example", [
    (["50.00"], "load", "--column", "load"),
    (["2024-01-01", "50.00"], "load", "--column", "date,load"),
    (["2024-01-01T00:00", "1", "2e3", ""], "load", "--column", "date,load,value2"),  # (a trailing comma)
    (["1", "2"], None, "--column", "value1,value2"),
    (["2024-01-01", "5"], "day", "--date-column", "day,value"),
])
def test_a_first_line_of_numbers_and_dates_reads_as_no_header(header, column, flag, example):
    first = ",".join(h for h in header if h)
    assert headerless(header, column, flag) == (f"the first line ({first}) is read as the header: the file seems to "
                                                f"have none; add a header line naming the columns (e.g. {example})")


@pytest.mark.parametrize("header", [["date", "50.00"], ["nan"], ["2024-01-01", "load"], ["1", "", "2"], ["load"]])
def test_a_header_with_a_name_is_a_header(header):
    assert headerless(header, "load") == ""


def test_a_file_without_a_header_row_is_said_so(tmp_path):
    f = _csv(tmp_path, "50.00\n51.00\n52.00\n")  # a first line of numbers is values (test_csv_no_header.py)
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "load")
    assert str(e.value) == (f"CSV file {str(f)!r} has no column 'load'; its columns are: 'value': the file has no "
                            "header row (its first line is a number), so its one column is named 'value': --column "
                            "value names it (or add a header line naming it)")
    f = _csv(tmp_path, "2024-01-01,50.00\n2024-01-02,51.00\n", "dated.csv")
    with pytest.raises(SeqlabError) as e:  # --column left out: not its first value taken as the column
        value_column(f, "auto")
    assert str(e.value) == (f"CSV file {str(f)!r} needs a header row: the first line (2024-01-01,50.00) is read as the "
                            "header: the file seems to have none; add a header line naming the columns (e.g. "
                            "date,value)")
    with pytest.raises(SeqlabError) as e:  # a named column that is not there: the columns are listed, as before
        read_csv_series(_csv(tmp_path, "date,sales\n2024-01-01,1\n", "named.csv"), "load")
    assert str(e.value).endswith("has no column 'load'; its columns are: 'date', 'sales'")


@pytest.mark.parametrize("text, column, found", [
    ("date,load\n2024-01-01,1\n", "load", "date"),
    ("load,Time\n\n1,2024-01-01T10:00\n", "load", "Time"),  # (its first row, past blank lines)
    ("time,load\n1,1\n", "load", None),  # not ISO dates: auto reads none
    ("date,time,load\n2024-01-01,2024-01-01,1\n", "load", None),  # two date-like columns: auto reads none
    ("date,load\n2024-01-01,1\n", "date", None),  # (the value column itself)
])
def test_the_date_column_auto_would_read(tmp_path, text, column, found):
    assert auto_date_column(_csv(tmp_path, text), column) == found


@pytest.mark.parametrize("first", ["", "Unnamed: 0"])
def test_an_unnamed_first_column_of_dates_is_pandas_index(tmp_path, first):
    # df.to_csv() writes an unnamed index as an empty first header cell ('Unnamed: 0' once read and
    # written again): dates there are read as a column named date would be; integers are not dates
    dated = _csv(tmp_path, f"{first},close\n2024-01-01,1\n2024-01-02,2\n2024-01-03,4\n")
    said = []
    read = read_csv_series(dated, value_column(dated), log=said.append)
    assert read.dates.column == first and read.dates.iso(3) == "2024-01-04"
    assert any("the unnamed first column, as pandas' to_csv writes an index" in line for line in said)
    numbered = _csv(tmp_path, f"{first},close\n0,1\n1,2\n2,4\n", name="n.csv")
    assert read_csv_series(numbered, "close").dates is None


@pytest.mark.parametrize("text, said", [
    # pandas' to_csv of a frame with a date column and its default index: the named column holds the dates
    (",date,value\n0,2024-01-01,1\n1,2024-01-02,2\n2,2024-01-03,3\n", "date"),
    (",value\n0,1\n1,2\n2,3\n", None),  # a RangeIndex: no dates, and nothing said about it
])
def test_pandas_default_index_is_no_value_and_no_date(tmp_path, text, said):
    f = _csv(tmp_path, text)
    logged = []
    read = read_csv_series(f, value_column(f), log=logged.append)
    assert (read.dates.column if read.dates else None) == said and read.x.tolist() == [1.0, 2.0, 3.0]
    assert not any("column ''" in line for line in logged), logged


@pytest.mark.parametrize("text, message", [
    (",b\n10,0\n11,1\n", "has 2 value columns, so --data needs --column NAME to say which holds the series; its "
                         "value columns are: (the unnamed first), 'b': give --column NAME"),  # an unnamed VALUE column
    ("date,a,a\n2024-01-01,1,2\n", "its value columns are: 'a', 'a': give --column NAME"),
    ("date;value\n2024-01-01;1\n", ": its header 'date;value' has no comma, and its delimiter is probably ';'"),
])
def test_the_value_column_is_not_guessed_where_it_is_unclear(tmp_path, text, message):
    f = _csv(tmp_path, text)
    with pytest.raises(SeqlabError) as e:
        value_column(f)
    assert message in str(e.value)


BOOK = "The Time Machine, by H. G. Wells [1898]\n\n\n\n\n I\n\n\n The Time Traveller (for so it will be convenient\n"


@pytest.mark.parametrize("text", [
    BOOK * 3,  # a new-user review: "has 2 value columns ... its value columns are: The Time Machine, by H. G. ..."
    "label,text\npos,a fine film\nneg,dull\npos,\"great, really\"\n",  # a classifier's labelled text
])
def test_a_file_that_is_no_series_is_said_so_not_asked_for_a_column(tmp_path, text):
    f = _csv(tmp_path, text, "book.txt")
    with pytest.raises(SeqlabError) as e:
        value_column(f, "auto")
    assert str(e.value).startswith(f"--data {str(f)!r} does not look like a series: neither its first line nor ")
    assert str(e.value).endswith("--data takes a CSV file of numbers with a header row naming its columns (e.g. "
                                 "date,value), or one number per line under a header line (e.g. value)")
    assert "--column" not in str(e.value)


def test_a_series_with_words_in_it_is_still_a_series(tmp_path):
    # one number per line under a header (a .txt too); nan: a missing value
    assert value_column(_csv(tmp_path, "value\n1.5\n2.5\nnan\n3\n", "series.txt"), "auto") == "value"
    f = _csv(tmp_path, "note,value\nstart,1\nx,2\ny,3\n")  # a text column beside the numbers: --column picks
    with pytest.raises(SeqlabError, match="has 2 value columns, so --data needs --column NAME"):
        value_column(f, "auto")
    assert read_csv_series(f, "value").x.tolist() == [1.0, 2.0, 3.0]



@pytest.mark.parametrize("missing", ["NA", "null", "#N/A", "n/a"])
def test_a_series_whose_start_is_mostly_missing_values_is_a_series_for_fill(tmp_path, missing):
    # (a first check counted only nan as a missing value: 30 of the first 50 rows NA read as prose,
    # "does not look like a series", where --fill linear fills them)
    rows = [missing if i < 50 and i % 5 < 3 else str(i) for i in range(400)]
    f = _csv(tmp_path, "value\n" + "\n".join(rows) + "\n")
    assert value_column(f, "auto") == "value"
    series = read_csv_series(f, "value", fill="linear")
    # the leading gap is dropped (nothing before it to fill from), the others filled on the line i -> i
    assert series.x.tolist() == [float(i) for i in range(3, 400)]


def test_column_names_in_a_list_are_quoted(tmp_path):
    # a name holding a comma ("a, b", quoted in the file) listed bare read as three columns: a, b, c
    f = _csv(tmp_path, '"a, b",c\n1,2\n3,4\n')
    with pytest.raises(SeqlabError) as e:
        value_column(f, "auto")
    assert str(e.value).endswith("has 2 value columns, so --data needs --column NAME to say which holds the series; "
                                 "its value columns are: 'a, b', 'c': give --column NAME")
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "x")
    assert str(e.value).endswith("has no column 'x'; its columns are: 'a, b', 'c'")
