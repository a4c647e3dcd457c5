"""Mutation audit of labelled_rows.py: what the earlier tests left open (an upper-case extension,
padded header names, one column named for both, the line of a quote error in a multi-line row,
the hint for a row of too few fields, and the lines a split keeps)."""

import csv
import io

import numpy as np
import pytest

from seqlab import SeqlabError
from seqlab.data.labelled_rows import read_rows


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name, sep", [("D.CSV", ","), ("D.Tsv", "\t")])
def test_an_upper_case_extension_reads_as_its_lower_case_one(tmp_path, name, sep):
    # a quoted field holding the delimiter: read with CSV quoting, as Python's csv module reads it
    content = f'label{sep}text\npos{sep}"good{sep} really"\nneg{sep}"a ""bad"" one"\n'
    twin = list(csv.reader(io.StringIO(content), delimiter=sep))[1:]
    rows = read_rows(write(tmp_path / name, content))
    assert rows.labels == [r[0] for r in twin] and rows.texts == [r[1] for r in twin]
    assert rows.texts == [f"good{sep} really", 'a "bad" one']


def test_header_names_padded_with_spaces_are_found(tmp_path):
    rows = read_rows(write(tmp_path / "d.csv", "label, text\npos, fine film\n"))
    assert rows.labels == ["pos"] and rows.texts == ["fine film"]


def test_one_column_named_as_both_label_and_text_is_refused(tmp_path):
    f = write(tmp_path / "d.csv", "label,text\npos,fine\n")
    with pytest.raises(SeqlabError, match="the label and text columns are both 'text': name two columns"):
        read_rows(f, label_column="text", text_column="text")


def test_text_after_a_closing_quote_names_the_line_it_is_on(tmp_path):
    # the quoted field opens on line 2 and closes on line 3, where the stray text follows it
    f = write(tmp_path / "d.csv", 'label,text\npos,"two\nlines" extra\nneg,ok\n')
    with pytest.raises(SeqlabError, match="line 3: text after the closing quote"):
        read_rows(f)


def test_a_row_of_two_fields_of_three_with_spaces_in_its_text_gets_no_spaces_hint(tmp_path):
    # texts hold spaces; only a one-field row hints that the line may be space-separated
    f = write(tmp_path / "d.csv", "label,text,id\npos,two words\n")
    with pytest.raises(SeqlabError, match=r"line 2 has 2 fields where the header has 3 \(a missing comma between "
                                          r"its fields\?\)$"):
        read_rows(f)


def test_take_keeps_each_rows_own_line(tmp_path):
    rows = read_rows(write(tmp_path / "d.csv", "label,text\na,one\n\nb,two\nc,three\n"))
    assert rows.lines == [2, 4, 5]
    part = rows.take(np.array([2, 0]))
    assert (part.labels, part.texts, part.lines) == (["c", "a"], ["three", "one"], [5, 2])
