"""Second mutation audit of seqlab.data.csv_columns: the tests that killed mutants the other tests let
through, each against a worked example of the documented reading."""

from seqlab.data.csv_columns import open_csv, value_column
from seqlab.data.timeseries import read_csv_series


def _csv(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_row_ending_in_a_blank_cell_has_no_field_too_many(tmp_path):
    # "1, " is one value and a trailing cell of spaces: trailing empty cells count for nothing
    # (`trimmed`), blank or not, as a trailing comma does
    f = _csv(tmp_path, "date,value\n2024-01-01,1, \n2024-01-02,2,\n2024-01-03,3,\t\n")
    assert read_csv_series(f, "value").x.tolist() == [1.0, 2.0, 3.0]


def test_the_delimiter_check_peeks_at_fifty_rows_not_fifty_lines(tmp_path):
    # a blank line after each row: the reader's `peeked` still holds the first 50 rows that are not blank
    f = _csv(tmp_path, "value\n" + "".join(f"{i}\n\n" for i in range(80)))
    with open_csv(f) as (reader, header, header_line, _):
        filled = [r for r in reader.peeked if any(c.strip() for c in r)]
        assert header == ["value"] and header_line == 1
        assert [r[0] for r in filled] == [str(i) for i in range(50)]
        assert [r[0] for r in reader if r][:60] == [str(i) for i in range(60)]  # the replay, then the file


def test_half_the_first_rows_without_a_number_is_still_a_series(tmp_path):
    # "does not look like a series" needs *most* rows without a number: one of two is not most
    assert value_column(_csv(tmp_path, "x\n1\nhello\n"), "auto") == "x"
    assert value_column(_csv(tmp_path, "x\n1\nhello\n2\nworld\n"), "auto") == "x"
