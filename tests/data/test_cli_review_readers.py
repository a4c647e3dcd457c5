"""Readers' fixes from a CLI review: long labelled texts, evaluate's missing-column fix, a row of too few
fields, and the forecast CSV reader's overflowing values, non-finite noise and date columns by content."""

import csv

import pytest
import torch

from seqlab import SeqlabError
from seqlab.data.csv_columns import value_column
from seqlab.data.labelled_rows import read_rows
from seqlab.data.labelled_text import encode_file, load_labelled_text
from seqlab.data.timeseries import read_csv_series, sine_series


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name, sep", [("d.csv", ","), ("d.tsv", "\t"), ("d.txt", "\t")])
def test_a_text_longer_than_csvs_default_field_limit_is_read_and_cut_to_max_len(tmp_path, name, sep):
    long = " ".join(["word"] * 40_000)  # 199,999 characters: over csv's default limit of 131,072
    rows = [("pos", long), ("neg", "bad film"), ("pos", "good film"), ("neg", "awful plot")] * 3
    f = write(tmp_path / name, f"label{sep}text\n" + "".join(f"{lab}{sep}{text}\n" for lab, text in rows))
    before = csv.field_size_limit()
    assert max(len(t) for t in read_rows(f).texts) == len(long)
    assert csv.field_size_limit() == before  # (the process-wide limit is put back)
    data = load_labelled_text(f, max_len=50)
    assert int(data.train.lengths.max()) == 50 and data.train.cut + data.valid.cut == 3


def test_an_unclosed_quote_in_a_long_file_is_still_named(tmp_path):
    body = "".join(f"{'pos' if i % 2 else 'neg'},text number {i}\n" for i in range(20_000))  # > 131,072 chars
    f = write(tmp_path / "d.csv", 'label,text\npos,"opened\n' + body)
    with pytest.raises(SeqlabError, match="line 2: a quoted field opened here is never closed"):
        read_rows(f)


def test_evaluates_missing_column_says_to_rename_to_the_runs_columns(tmp_path):
    # evaluate has no --label-column / --text-column: the run's names are fixed
    f = write(tmp_path / "d.csv", "sentiment,review\npos,fine\n")
    with pytest.raises(SeqlabError) as exc:
        encode_file(f, None, ["neg", "pos"], label_column="label", text_column="body")
    message = str(exc.value)
    assert "no column 'label'" in message and "--label-column" not in message
    assert "its labels from column 'label' and its texts from column 'body'" in message
    assert "rename the file's columns to those" in message


@pytest.mark.parametrize("content, name, match, unmatch", [
    ("label\ttext\na\tb\nc d\n", "d.tsv", r"line 3 has 1 field where the header has 2 \(a missing tab between its "
     r"fields\? or is the line separated by spaces\?", "unquoted tab"),
    ("label\ttext\na\tb\nc,d\n", "d.tsv", r"line 3 has 1 field .*separated by commas\?", "unquoted tab"),
    ("label\ttext\na\tb\ncd\n", "d.txt", r"line 3 has 1 field where .*\(a missing tab between its fields\?\)$",
     "inside a text"),
    ("label,text,id\na,b,1\nc\td,2\n", "d.csv", r"line 3 has 2 fields where the header has 3 \(a missing comma",
     "unquoted comma"),
    ("label    text\na    b\n", "d.tsv", "no column 'label' .*is the file separated by spaces", None),
])
def test_a_row_of_too_few_fields_gets_a_hint_that_fits(tmp_path, content, name, match, unmatch):
    with pytest.raises(SeqlabError, match=match) as exc:
        read_rows(write(tmp_path / name, content))
    assert unmatch is None or unmatch not in str(exc.value)


def test_a_value_beyond_float32_is_named_by_its_line(tmp_path):
    lines = [f"2024-01-{d:02d},{d}.5" for d in range(1, 29)]
    lines[20] = "2024-01-21,1e39"  # line 22 of the file
    f = write(tmp_path / "s.csv", "date,value\n" + "\n".join(lines) + "\n")
    with pytest.raises(SeqlabError, match=r"line 22, column 'value': '?1e39'? overflows float32 \(beyond its largest value, about 3\.40282e38\)"):
        read_csv_series(f, "value")
    lines[20] = "2024-01-21,-3e38"  # within float32's range: read
    assert read_csv_series(write(tmp_path / "t.csv", "date,value\n" + "\n".join(lines) + "\n"), "value").x[20] < -1e38
    # just above float32's largest finite value but nearer it than 2**128: the float32 is that value, not inf
    lines[20] = "2024-01-21,3.40282356e38"
    kept = read_csv_series(write(tmp_path / "u.csv", "date,value\n" + "\n".join(lines) + "\n"), "value").x[20]
    assert kept == torch.finfo(torch.float32).max
    lines[20] = "2024-01-21,-3.4028235677973366e38"  # halfway to 2**128: rounds to inf, refused
    with pytest.raises(SeqlabError, match="line 22, column 'value'.*overflows float32"):
        read_csv_series(write(tmp_path / "v.csv", "date,value\n" + "\n".join(lines) + "\n"), "value")


@pytest.mark.parametrize("noise", [float("nan"), float("inf"), -0.1])
def test_sine_noise_must_be_finite_and_not_negative(noise):
    with pytest.raises(SeqlabError, match="noise must be a finite number >= 0"):
        sine_series(100, noise=noise)


def test_a_column_of_dates_not_named_as_dates_is_no_value_column(tmp_path):
    f = write(tmp_path / "m.csv", "month,value\n2000-01,10.1\n2000-02,10.9\n2000-03,11.2\n")
    said = []
    assert value_column(f, "auto", said.append) == "value"
    assert said == ["column 'value': the file's only value column (column 'month' holds dates: --date-column month "
                    "reads them as the series' dates)"]
    assert value_column(f, "month") == "value"
    with pytest.raises(SeqlabError, match="has 2 value columns"):  # numbers are still values
        value_column(write(tmp_path / "n.csv", "year,value\n2000,10.1\n2001,10.9\n"), "auto")
