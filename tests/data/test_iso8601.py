"""The timestamps Python 3.11's `datetime.fromisoformat` reads and 3.10's does not (the basic format,
week dates, +00 and +0100 offsets, fractions of any length) read alike on both: on 3.11 the tests
stand a 3.10-strict `fromisoformat` in for the real one."""

import re
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from seqlab.data import dates, iso8601
from seqlab.data.iso8601 import extended_form

# Python 3.10's fromisoformat grammar: YYYY-MM-DD[*HH[:MM[:SS[.fff[fff]]]][+HH:MM[:SS[.ffffff]]]]
_PY310_DATE = r"\d{4}-\d{2}-\d{2}"
_PY310 = re.compile(_PY310_DATE + r"(?:.\d{2}(?::\d{2}(?::\d{2}(?:\.\d{3}|\.\d{6})?)?)?"
                                  r"(?:[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d{6})?)?)?)?", re.DOTALL)


class _Datetime310(datetime):
    @classmethod
    def fromisoformat(cls, text):
        if not _PY310.fullmatch(text):
            raise ValueError(f"Invalid isoformat string: {text!r}")
        return datetime.fromisoformat(text)


class _Date310(date):
    @classmethod
    def fromisoformat(cls, text):
        if not re.fullmatch(_PY310_DATE, text):
            raise ValueError(f"Invalid isoformat string: {text!r}")
        return date.fromisoformat(text)


@pytest.fixture
def py310(monkeypatch):
    """The fromisoformat that reads a cell (iso8601.py's) as strict as Python 3.10's."""
    monkeypatch.setattr(iso8601, "datetime", _Datetime310)
    monkeypatch.setattr(iso8601, "date", _Date310)


UTC, CET = timezone.utc, timezone(timedelta(hours=1))
READ = [  # what 3.11 reads them as
    ("2024-01-31 13:00:00+00", datetime(2024, 1, 31, 13, tzinfo=UTC)),  # PostgreSQL's export
    ("2024-01-31T13:00:00-00", datetime(2024, 1, 31, 13, tzinfo=UTC)),
    ("2024-01-31T13:00:00+0100", datetime(2024, 1, 31, 13, tzinfo=CET)),
    ("2024-01-31T13:00:00-0530", datetime(2024, 1, 31, 13, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    ("2024-01-31T13:00:00+010030", datetime(2024, 1, 31, 13, tzinfo=timezone(timedelta(hours=1, seconds=30)))),
    ("20240131", datetime(2024, 1, 31)),
    ("20240131T1300", datetime(2024, 1, 31, 13)),
    ("20240131T130000Z", datetime(2024, 1, 31, 13, tzinfo=UTC)),
    ("20240131T130000+0100", datetime(2024, 1, 31, 13, tzinfo=CET)),
    ("20240131 13:00", datetime(2024, 1, 31, 13)),
    ("2024-01-31T1300", datetime(2024, 1, 31, 13)),
    ("2024-01-31T1300Z", datetime(2024, 1, 31, 13, tzinfo=UTC)),
    ("2024-01-31 13:00:00.5", datetime(2024, 1, 31, 13, 0, 0, 500000)),
    ("2024-01-31 13:00:00.50", datetime(2024, 1, 31, 13, 0, 0, 500000)),
    ("2024-01-31 13:00:00.5000", datetime(2024, 1, 31, 13, 0, 0, 500000)),
    ("2024-01-31 13:00:00.123456789", datetime(2024, 1, 31, 13, 0, 0, 123456)),  # cut, not rounded
    ("2024-01-31 13:00:00,5", datetime(2024, 1, 31, 13, 0, 0, 500000)),
    ("2024-01-31T13:00:00.5+01", datetime(2024, 1, 31, 13, 0, 0, 500000, tzinfo=CET)),
    ("2024-W05-3", datetime(2024, 1, 31)),
    ("2024W053", datetime(2024, 1, 31)),
    ("2024-W05", datetime(2024, 1, 29)),  # a week alone: its Monday
    ("2020-W53-1", datetime(2020, 12, 28)),
    ("2024-W05-3T13:00", datetime(2024, 1, 31, 13)),
]
DATE_ONLY = {"20240131", "2024-W05-3", "2024W053", "2024-W05", "2020-W53-1"}
REFUSED = ["2024-031", "2024", "202401", "2024-W53-1", "2024-W01-8", "2024-01-31T24:00", "2024-01-31T13:00:00+24:00",
           "2024-01-31T13:00:00+1", "2024-0131", "2024-W053", "2024-01-31T13:0000", "2024-01-31T13:00:00+0100:30",
           "20240230", "20240131T", "2024-01-31T13:00:00.", "not a date",
           "\u0662\u0660\u0662\u0664-W05-3", "\u0662\u0660\u0662\u0664\u0660\u0661\u0663\u0661",  # Arabic-Indic digits:
           "2024-01-31T\u0661\u0663:00"]  # \d matched them and int() read them (3.11's fromisoformat refuses)


@pytest.mark.parametrize("cell, read", READ)
def test_python_3_11_forms_read_alike_on_a_3_10_strict_fromisoformat(py310, cell, read):
    got = dates.parse_timestamp(cell)
    assert got == read and got.utcoffset() == read.utcoffset()
    assert dates._is_date_only(cell) == (cell in DATE_ONLY)  # (a forecast writes these dates as YYYY-MM-DD)


@pytest.mark.parametrize("cell, read", READ)
def test_the_real_fromisoformat_reads_them_as_before(cell, read):
    """On this Python (3.11+) the forms are read by fromisoformat itself, as before the rewrite; on 3.10 the
    rewrite reads them the same."""
    got = dates.parse_timestamp(cell)
    assert got == read and got.utcoffset() == read.utcoffset()


@pytest.mark.parametrize("cell", REFUSED)
def test_forms_3_11_refuses_stay_refused(py310, cell):
    assert dates.parse_timestamp(cell) is None
    assert not dates._is_date_only(cell)


def test_extended_form_writes_what_3_10_reads():
    assert extended_form("2024-01-31 13:00:00+00") == "2024-01-31 13:00:00+00:00"
    assert extended_form("20240131T130000.1234567+010030,5") == "2024-01-31T13:00:00.123456+01:00:30.500000"
    assert extended_form("2024-W05-3") == "2024-01-31"
    assert extended_form("2024-01-31T13") == "2024-01-31T13:00:00"
    assert extended_form("2024-01") is None  # (a month: parse_timestamp's own YYYY-MM, before this)
    for cell, _ in READ:
        assert _PY310.fullmatch(extended_form(cell.replace("Z", "+00:00")))


def test_a_postgres_export_is_a_dated_series_on_a_3_10_strict_fromisoformat(py310, tmp_path):
    """The reviewer's case: 3.10 read a date column of +00 timestamps as undated steps."""
    from seqlab.data.timeseries import load_csv_series

    f = tmp_path / "pg.csv"
    f.write_text("time,v\n" + "".join(f"2024-01-31 {h:02d}:00:00+00,{h}\n" for h in range(5)))
    _, index = load_csv_series(f, "v")  # --date-column auto
    assert index is not None and index.every == "1 hour" and index.iso(5) == "2024-01-31T05:00:00+00:00"
    basic = tmp_path / "basic.csv"
    basic.write_text("date,v\n" + "".join(f"202401{d:02d},{d}\n" for d in range(1, 6)))
    _, index = load_csv_series(basic, "v")
    assert index.date_only and index.every == "1 day" and index.iso(5) == "2024-01-06"


SEPARATED_OTHERWISE = ["2024-01-01;10", "2024-01-01x10:00", "2024-01-01,10", "2024-01-01|10", "2024-01-01\t10:30",
                       "20240131;1300", "2024-W05-3;13:00", "2024-01-31_13:00:00+01:00"]


@pytest.mark.parametrize("cell", SEPARATED_OTHERWISE)
def test_only_t_or_a_space_separates_the_date_and_the_time(cell):
    """ISO 8601 (and pandas' ISO reading) has 'T', or a space, between the date and the time;
    fromisoformat takes any one character, so a ';'-separated row read as one cell was a date."""
    if sys.version_info >= (3, 11) or _PY310.fullmatch(cell):
        assert datetime.fromisoformat(cell).hour in (10, 13)  # (Python's reading, which seqlab must not copy)
    else:  # 3.10's reads no basic form (20240131) or week date at all, whatever the separator
        with pytest.raises(ValueError, match="Invalid isoformat string"):
            datetime.fromisoformat(cell)
    assert dates.parse_timestamp(cell) is None
    assert not dates._is_date_only(cell)


@pytest.mark.parametrize("cell", SEPARATED_OTHERWISE)
def test_other_separators_are_refused_on_a_3_10_strict_fromisoformat_too(py310, cell):
    assert dates.parse_timestamp(cell) is None


@pytest.mark.parametrize("sep", ["T", "t", " "])
def test_t_lower_case_t_and_a_space_separate_a_time(sep):
    # (a lower-case t as RFC 3339 allows it, as the trailing z read as UTC)
    assert dates.parse_timestamp(f"2024-01-01{sep}10:30") == datetime(2024, 1, 1, 10, 30)
    assert dates.parse_timestamp(f"20240131{sep}1300") == datetime(2024, 1, 31, 13)


@pytest.mark.parametrize("strict", [False, True])
def test_a_z_on_a_date_alone_is_midnight_utc(request, tmp_path, strict):
    # review r-diff, finding 5: 2024-01-01Z stopped reading as a date (the Z became "+00:00", refused as no
    # separator before a time); ISO 8601 has no zone on a date: read as a Z after a time is, UTC
    if strict:
        request.getfixturevalue("py310")
    for cell in ("2024-01-31Z", "2024-01-31z", "20240131Z", "2024-W05-3Z"):
        assert dates.parse_timestamp(cell) == datetime(2024, 1, 31, tzinfo=UTC) == \
            dates.parse_timestamp("2024-01-31T00:00:00Z")
    assert dates.parse_timestamp("2024-01-31+01:00") is None  # (another offset on a date alone: no ISO 8601)
    from seqlab.data.timeseries import read_csv_series

    zoned, twin = tmp_path / "z.csv", tmp_path / "t.csv"
    zoned.write_text("date,value\n" + "".join(f"2024-01-0{d}Z,{d}\n" for d in range(1, 5)))
    twin.write_text("date,value\n" + "".join(f"2024-01-0{d}T00:00Z,{d}\n" for d in range(1, 5)))
    for date_column in ("auto", "date"):
        got, want = read_csv_series(zoned, "value", date_column).dates, read_csv_series(twin, "value", "date").dates
        assert got.every == want.every == "1 day"
        assert [got.iso(i) for i in range(6)] == [want.iso(i) for i in range(6)]
