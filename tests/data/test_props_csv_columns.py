"""Property tests (hypothesis) of reading a CSV series' header and column (seqlab.data.csv_columns with
seqlab.data.timeseries.read_csv_series) against Python's own csv module: on files csv.writer writes (headers
of any text, quoted or not, a BOM or none, CRLF or LF line ends), the header names and the column read are
csv.reader's (a first line of numbers being values, its columns named by position); a file in another
delimiter, or any bytes at all, is read or refused with a SeqlabError, never another exception."""

import csv
import io
import math
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seqlab.data.csv_columns import open_csv, value_column
from seqlab.data.timeseries import read_csv_series
from seqlab.errors import SeqlabError

FIXTURE = [HealthCheck.function_scoped_fixture]
# Python 3.10's csv module holds no NUL in a cell: its writer cannot write one ("need to escape, but no
# escapechar set") nor its reader read one (seqlab refuses such a file in one line there:
# test_a_nul_in_a_cell_is_read_as_csv_reader_reads_it); 3.11's does both
CSV_HAS_NUL = sys.version_info >= (3, 11)
name_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="" if CSV_HAS_NUL else "\x00"),
                    min_size=1, max_size=8)
values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=6)


def written(rows, delimiter=",", crlf=False, bom=False) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def reference(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def all_numbers(cells: list[str]) -> bool:
    """Every cell up to the last non-blank one a finite number: a first line of values, no header."""
    cells = [c.strip() for c in cells]
    while cells and not cells[-1]:
        cells.pop()

    def number(c):
        try:
            return math.isfinite(float(c))
        except ValueError:
            return False
    return bool(cells) and all(map(number, cells))


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(st.lists(name_text, min_size=1, max_size=4), st.booleans(), st.booleans())
def test_the_header_is_what_csv_reader_reads_stripped(tmp_path, names, crlf, bom):
    data = written([names, ["1"] * len(names)], crlf=crlf, bom=bom)
    path = tmp_path / "s.csv"
    path.write_bytes(data)
    want = reference(data)  # (python 3.11's writer leaves a lone \r unquoted, which its reader reads as a line end)
    if not any(h.strip() for h in want[0]):
        with pytest.raises(SeqlabError, match="first line is blank"):
            with open_csv(path):
                pass
        return
    cells = [h.strip() for h in want[0]]
    while cells and not cells[-1]:
        cells.pop()
    if cells == ["0"]:  # pandas' label of an unnamed series, or a first value: refused
        with pytest.raises(SeqlabError, match="its first line, 0, is ambiguous"):
            with open_csv(path):
                pass
        return
    pandas = len(cells) > 1 and cells == [str(i) for i in range(len(cells))]  # its unnamed frame's: a header
    if all_numbers(want[0]) and not pandas:  # values: the columns named by position
        n = max(i + 1 for i, h in enumerate(want[0]) if h.strip())  # (trailing blank cells name nothing)
        with open_csv(path) as (reader, header, header_line, delimiter):
            assert header == (["value"] if n == 1 else [str(i + 1) for i in range(n)]) + [""] * (len(want[0]) - n)
            assert list(reader) == want and header_line == 0
        return
    with open_csv(path) as (reader, header, header_line, delimiter):
        assert header == [h.strip() for h in want[0]]
        assert list(reader) == want[1:]
    lines = io.StringIO(data.decode("utf-8-sig"), newline="").readlines()
    assert header_line == next(n for n in range(1, len(lines) + 1)
                               if list(csv.reader(lines[:n])) == want[:1])


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(st.lists(name_text, min_size=1, max_size=4), st.data(), values, st.booleans(), st.booleans())
def test_a_named_column_reads_csv_readers_cells_as_numbers(tmp_path, names, data, column_values, crlf, bom):
    stripped = [n.strip() for n in names]
    assume(all(stripped))  # (a blank trailing name is no column)
    col = data.draw(st.integers(0, len(names) - 1))
    assume(stripped.count(stripped[col]) == 1 and stripped[col].lower() not in ("date", "time", "timestamp",
                                                                                  "datetime"))
    rows = [[repr(v) if i == col else f"x{j}" for i in range(len(names))] for j, v in enumerate(column_values)]
    raw = written([names, *rows], crlf=crlf, bom=bom)
    path = tmp_path / "s.csv"
    path.write_bytes(raw)
    header = reference(raw)[0]
    assume(header == names)  # (python 3.11's writer leaves a lone \r unquoted: another header, read as csv reads it)
    # a header of numbers is one where the column asked for is one of them, but a position ("1": values)
    assume(not all_numbers(names) or stripped[col] not in [str(i + 1) for i in range(len(names))] + ["value"])
    got = read_csv_series(path, stripped[col], date_column=None)
    want = [float(r[col]) for r in reference(raw)[1:]]
    assert got.x.tolist() == pytest.approx(want, rel=1e-6, abs=1e-6)


def test_a_nul_in_a_cell_is_read_as_csv_reader_reads_it(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"a\x00b,c\n1.5,2\n3,4\n")
    if CSV_HAS_NUL:
        assert reference(path.read_bytes())[0] == ["a\x00b", "c"]
        assert read_csv_series(path, "a\x00b", date_column=None).x.tolist() == [1.5, 3.0]
        return
    with pytest.raises(csv.Error, match="line contains NUL"):
        reference(path.read_bytes())
    with pytest.raises(SeqlabError, match=r"line 1: not readable as CSV \(line contains NUL\)$"):
        read_csv_series(path, "c", date_column=None)


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(st.lists(name_text, min_size=2, max_size=4), st.sampled_from([";", "\t", "|"]), values)
def test_another_delimiter_is_read_or_refused_in_one_line(tmp_path, names, delimiter, column_values):
    raw = written([names, *[[repr(v)] * len(names) for v in column_values]], delimiter=delimiter)
    path = tmp_path / "s.csv"
    path.write_bytes(raw)
    for call in (lambda: value_column(path), lambda: read_csv_series(path, names[0].strip(), date_column="auto")):
        try:
            call()
        except SeqlabError as exc:
            assert "\n" not in str(exc).strip() or any("\n" in n or "\r" in n for n in names)


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE)
@given(st.one_of(st.binary(max_size=40),
                 st.lists(st.sampled_from([b"a", b"1", b"2024-01-0", b"1", b",", b";", b'"', b"\n", b"\r",
                                           b"\xef\xbb\xbf", b"\xff", b"\x00", b" ", b"date", b"nan", b"\t"]),
                          max_size=20).map(b"".join)),
       st.sampled_from(["a", "1", "date", "value"]), st.sampled_from(["auto", None, "date"]))
def test_any_bytes_are_read_or_refused_with_a_seqlab_error(tmp_path, raw, column, date_column):
    path = tmp_path / "s.csv"
    path.write_bytes(raw)
    for call in (lambda: value_column(path), lambda: read_csv_series(path, column, date_column=date_column),
                 lambda: read_csv_series(path, column, date_column=date_column, fill="linear")):
        try:
            call()
        except SeqlabError:
            pass


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(st.integers(1, 4).flatmap(lambda width: st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False),
                                                                   min_size=width, max_size=width),
                                                          min_size=1, max_size=5)),
       st.data(), st.booleans(), st.booleans())
def test_a_file_of_numbers_reads_its_columns_by_position(tmp_path, rows, data, crlf, bom):
    raw = written([[repr(v) for v in row] for row in rows], crlf=crlf, bom=bom)
    path = tmp_path / "s.csv"
    path.write_bytes(raw)
    width = len(rows[0])
    col = data.draw(st.integers(0, width - 1))
    name = "value" if width == 1 else str(col + 1)
    assert read_csv_series(path, name, date_column=None).x.tolist() == pytest.approx(
        [float(r[col]) for r in reference(raw)], rel=1e-6, abs=1e-6)
    if width == 1:
        assert value_column(path) == "value"
