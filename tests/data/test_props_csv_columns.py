"""Property tests (hypothesis) of reading a CSV series' header and column (seqlab.data.csv_columns with
seqlab.data.timeseries.read_csv_series) against Python's own csv module: on files csv.writer writes (headers
of any text, quoted or not, a BOM or none, CRLF or LF line ends), the header names and the column read are
csv.reader's; a file in another delimiter, or any bytes at all, is read or refused with a SeqlabError, never
another exception."""

import csv
import io

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seqlab.data.csv_columns import open_csv, value_column
from seqlab.data.timeseries import read_csv_series
from seqlab.errors import SeqlabError

FIXTURE = [HealthCheck.function_scoped_fixture]
name_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=6)


def written(rows, delimiter=",", crlf=False, bom=False) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def reference(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


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
    with open_csv(path) as (reader, header, header_line):
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
    got = read_csv_series(path, stripped[col], date_column=None)
    want = [float(r[col]) for r in reference(raw)[1:]]
    assert got.x.tolist() == pytest.approx(want, rel=1e-6, abs=1e-6)


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
