"""Mutation audit of csv_delimiters.py: what the earlier tests left open (a '|'-separated file, one
row's message, a blank line among a one-column file's first rows, a ';' inside a column name of a
comma-separated file, and what a row of too few fields is told)."""

import pytest

from seqlab import SeqlabError
from seqlab.data.csv_delimiters import other_delimiter
from seqlab.data.timeseries import read_csv_series


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path, column):
    with pytest.raises(SeqlabError) as exc:
        read_csv_series(path, column)
    return str(exc.value)


def test_a_pipe_separated_file_is_refused_naming_the_pipe(tmp_path):
    f = write(tmp_path / "d.csv", "date|sales, EUR\n2024-01-01|10,25\n2024-01-02|11,5\n")
    assert "its header and its first 2 rows each hold 1 '|'" in refusal(f, "EUR")


def test_one_rows_refusal_says_row_and_quotes_it_whole(tmp_path):
    row = "2024-01-01 00:00:00;1234567,25"  # 30 characters: under the 60 quoted
    f = write(tmp_path / "d.csv", f"date;sales, EUR\n{row}\n")
    assert f"its header and its first 1 row each hold 1 ';' (e.g. {row!r})" in refusal(f, "EUR")


def test_a_blank_line_among_the_first_rows_does_not_hide_the_semicolons(tmp_path):
    f = write(tmp_path / "d.csv", "date;value\n2024-01-01;1,5\n\n2024-01-02;2,5\n2024-01-03;3,5\n")
    assert "its header 'date;value' has no comma, and its delimiter is probably ';'" in refusal(f, "value")


def test_a_semicolon_in_a_column_name_of_a_comma_separated_file_is_no_delimiter(tmp_path):
    # two columns at the commas; the ';' counts differ from row to row: a name's and the cells' own
    f = write(tmp_path / "d.csv", "code;sub,value\n1;2,5\n1;2;3,6\n4;5,7\n")
    assert read_csv_series(f, "value", None).x.tolist() == [5.0, 6.0, 7.0]
    assert refusal(f, "sales").endswith("has no column 'sales'; its columns are: 'code;sub', 'value'")


def test_a_one_column_header_is_another_delimiters_only_when_every_row_holds_it_too():
    assert other_delimiter(["sales; EUR"], ",", [["5"], ["7;8"]]) == ""
    assert "probably ';'" in other_delimiter(["date;sales"], ",", [["1;5"], ["2;7"]])


@pytest.mark.parametrize("name, sep, said", [("d.csv", ",", "comma"), ("d.tsv", "\t", "tab")])
def test_a_row_of_too_few_fields_names_the_delimiter_in_words(tmp_path, name, sep, said):
    f = write(tmp_path / name, f"a{sep}b{sep}value\n1{sep}2{sep}3\n4{sep}5\n")
    assert refusal(f, "value").endswith(f"line 3 has 2 fields but the header has 3: a missing field, or a "
                                        f"delimiter other than a {said} on that line?")
