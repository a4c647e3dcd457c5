"""A series file's delimiter (`seqlab.data.csv_columns`): a ';'-separated export with decimal commas
whose header holds a comma (the review of users' own files: it was read split at its commas, the
series the digits after the decimal comma), and a .tsv file read tab-separated, as classify reads one."""

import datetime

import numpy as np
import pytest

from seqlab import SeqlabError
from seqlab.data.csv_columns import value_column
from seqlab.data.timeseries import read_csv_series

from cli_errors import expect_bad_input  # tests/reliability, on the test path

DAY0 = datetime.date(2024, 1, 1)
SALES = [10.701, 12.464, 13.175, 11.177, 8.376, 6.921, 7.382, 9.5]


def _euro(tmp_path, header="date;sales, EUR", name="euro.csv"):
    """The review's euro_hdrcomma.csv: Excel's German CSV (';', decimal commas), a comma in the header."""
    f = tmp_path / name
    f.write_text(header + "\n" + "".join(f"{DAY0 + datetime.timedelta(days=i)};{str(v).replace('.', ',')}\n"
                                         for i, v in enumerate(SALES)))
    return f


SEMICOLON = "its delimiter is probably ';'; seqlab reads comma-separated files"


@pytest.mark.parametrize("column, date_column", [
    ("EUR", "auto"),           # the column it was read as, the fraction after the decimal comma
    ("date;sales", "none"),    # the first cell, '2024-01-01;10', was a number's line
    ("EUR", "date;sales"),     # a date column '2024-01-01;10' was read as 10:00; refused only at line 6
])
def test_a_semicolon_file_whose_header_holds_a_comma_is_refused(tmp_path, column, date_column):
    f = _euro(tmp_path)
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, column, date_column)
    assert SEMICOLON in str(e.value) and "each hold 1 ';'" in str(e.value)
    with pytest.raises(SeqlabError, match=SEMICOLON):
        value_column(f)  # (--column left out: it took 'EUR', "the file's only value column")


def test_the_reviews_file_is_refused_by_the_cli(tmp_path, capsys):
    f = _euro(tmp_path, "Datum;Preis (EUR, brutto)")
    expect_bad_input(["train", "forecast", "--data", str(f), "--epochs", "1", "--out", str(tmp_path / "run")],
                     SEMICOLON, capsys, "save it as comma-separated (with '.' as the decimal point)")
    assert not (tmp_path / "run").exists()


def test_a_semicolon_file_with_a_quoted_semicolon_in_a_cell_is_refused(tmp_path):
    # a note column whose text holds ';' in quotes, as a spreadsheet writes it: the raw count of ';'
    # differs on that row (3 against the header's 2), the split at ';' does not
    f = tmp_path / "notes.csv"
    notes = ['"rain; wind"' if i == 3 else "dry" for i in range(len(SALES))]
    f.write_text("date;note;sales, EUR\n" + "".join(
        f"{DAY0 + datetime.timedelta(days=i)};{note};{str(v).replace('.', ',')}\n"
        for i, (note, v) in enumerate(zip(notes, SALES))))
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "EUR", "auto")
    assert SEMICOLON in str(e.value) and "each hold 2 ';'" in str(e.value)


@pytest.mark.parametrize("text", [
    "date,note,value\n2024-01-01,a;b,1\n2024-01-02,c;d,2\n",    # a ';' in the rows' text, none in the header
    "date,value;x\n2024-01-01,1\n2024-01-02,2\n",               # one in the header, none in the rows
    "date;x,value\n2024-01-01;a,1\n2024-01-02,2\n",             # not in every row
])
def test_a_semicolon_in_some_cells_of_a_comma_separated_file_is_read(tmp_path, text):
    f = tmp_path / "s.csv"
    f.write_text(text)
    value = text.split("\n")[0].split(",")[-1]
    assert read_csv_series(f, value, "none").x.tolist() == [1.0, 2.0]


def _series(tmp_path, delimiter, name):
    rng = np.random.default_rng(0)
    values = np.round(10 + rng.normal(size=40).cumsum(), 3)
    rows = [f"{DAY0 + datetime.timedelta(days=i)}{delimiter}{i}{delimiter}{v}" for i, v in enumerate(values)]
    f = tmp_path / name
    f.write_text(f"date{delimiter}step{delimiter}sales\n" + "\n".join(rows) + "\n")
    return f


@pytest.mark.parametrize("name", ["s.tsv", "S.TSV"])
def test_a_tsv_file_is_read_tab_separated_as_its_csv_twin(tmp_path, name):
    tsv, csv = _series(tmp_path, "\t", name), _series(tmp_path, ",", "s.csv")
    with pytest.raises(SeqlabError, match="its value columns are: 'step', 'sales'"):
        value_column(tsv)  # (its columns split at the tabs)
    got, twin = read_csv_series(tsv, "sales"), read_csv_series(csv, "sales")
    assert got.x.tolist() == twin.x.tolist()
    # numpy's own reading of the tab-separated file, as float32
    assert got.x.tolist() == np.loadtxt(tsv, delimiter="\t", skiprows=1, usecols=2).astype(np.float32).tolist()
    assert got.dates.every == "1 day" and got.dates.iso(0) == "2024-01-01" and got.dates.iso(40) == "2024-02-10"
    assert [got.dates.iso(i) for i in range(40)] == [twin.dates.iso(i) for i in range(40)]


def test_a_tsv_file_and_its_twin_take_the_same_value_column(tmp_path):
    tsv = tmp_path / "one.tsv"
    tsv.write_text("date\tsales\n2024-01-01\t1.5\n2024-01-02\t2.5\n")
    said = []
    assert value_column(tsv, "auto", said.append) == "sales"
    assert said == ["column 'sales': the file's only value column"]
    assert read_csv_series(tsv, "sales").x.tolist() == [1.5, 2.5]


@pytest.mark.parametrize("name, text, message", [
    # a comma-separated file named .tsv, and a tab-separated one named .csv: each says the other name
    ("c.tsv", "date,value\n2024-01-01,1\n", "its header 'date,value' has no tab, and its delimiter is probably a "
                                            "comma; seqlab reads a .tsv file as tab-separated: save it as "
                                            "tab-separated (with '.' as the decimal point), or name it .csv"),
    ("t.csv", "date\tvalue\n2024-01-01\t1\n", "delimiter is probably a tab; seqlab reads comma-separated files "
                                              "(.tsv: tab-separated): save it as comma-separated (with '.' as the "
                                              "decimal point), or name it .tsv"),
    ("semi.tsv", "date\tsales; EUR\n2024-01-01\t1;5\n2024-01-02\t2;5\n", "each hold 1 ';'"),
    ("decimal.tsv", "date\tvalue\n2024-01-01\t1,5\n", "'1,5' is not a number (a decimal comma or a thousands "
                                                     "separator: seqlab reads '.' as the decimal point"),
    ("wide.tsv", "date\tvalue\n2024-01-01\t1\t2\n", "line 2 has 3 fields but the header has 2: a tab too many"),
])
def test_a_tsv_file_is_refused_as_a_csv_file_is(tmp_path, name, text, message):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "value" if "value" in text else "sales; EUR")
    assert message in str(e.value)


def test_a_comma_in_a_one_column_tsv_files_name_is_no_delimiter(tmp_path):
    # review r-diff, finding 4: the review's one.tsv was refused as comma-separated, with advice (name it
    # .csv) that splits its one name in two; a delimiter is one where the rows hold it too
    f = tmp_path / "one.tsv"
    f.write_text("sales, EUR\n10.5\n11.5\n12.5\n13.0\n")
    said = []
    assert value_column(f, "auto", said.append) == "sales, EUR"
    assert said == ["column 'sales, EUR': the file's only value column"]
    assert read_csv_series(f, "sales, EUR").x.tolist() == np.loadtxt(f, skiprows=1).tolist()
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "sales")
    assert str(e.value).startswith(f"CSV file {str(f)!r} has no column 'sales'; its columns are: 'sales, EUR'")
    # where the rows hold it too, the file is another delimiter's (the review-owndata euro files): refused
    for name, text, said in (("c.tsv", "date,value\n2024-01-01,1\n", "delimiter is probably a comma"),
                             ("e.csv", "date;sales\n2024-01-01;10,701\n2024-01-02;12,464\n", SEMICOLON),
                             ("d.csv", "Datum;Umsatz\n01.01.2024;10,701\n", SEMICOLON)):
        g = tmp_path / name
        g.write_text(text)
        with pytest.raises(SeqlabError, match=said):
            value_column(g)


@pytest.mark.parametrize("cell, hinted", [("1,5", True), ("1.234,5", True), ("1,234,567", True), ("-0,25", True),
                                          ("x,5", False), ("1,", False), ("1.5.", False)])
def test_a_number_with_a_comma_is_told_what_the_comma_is(tmp_path, cell, hinted):
    # last session's known-left item: a .tsv (or a quoted .csv cell) of decimal commas got only
    # "'1,5' is not a number"; float() reads neither a decimal comma nor a thousands separator
    f = tmp_path / "s.tsv"
    f.write_text(f"date\tvalue\n2024-01-01\t1.0\n2024-01-02\t{cell}\n")
    with pytest.raises(SeqlabError) as e:
        read_csv_series(f, "value")
    assert f"{cell!r} is not a number" in str(e.value)
    assert ("decimal comma" in str(e.value)) == hinted
