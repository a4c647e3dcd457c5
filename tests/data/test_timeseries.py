"""Time-series data: the book's sine, lag features, CSV columns, and bad input."""


import pytest
import torch

from seqlab import SeqlabError
from seqlab.data.timeseries import check_series, lag_features, load_csv_column, sine_series


def test_sine_series_is_seeded_and_has_the_books_noise():
    t, x = sine_series(1000, seed=3)
    assert t[0] == 1 and t[-1] == 1000 and x.shape == (1000,)
    torch.testing.assert_close(x, sine_series(1000, seed=3)[1])
    assert not torch.equal(x, sine_series(1000, seed=4)[1])
    noise = x - torch.sin(0.01 * t)
    assert abs(noise.std().item() - 0.2) < 0.015 and abs(noise.mean().item()) < 0.02
    _, clean = sine_series(10, noise=0.0)
    torch.testing.assert_close(clean, torch.sin(0.01 * torch.arange(1, 11.0)))


def test_lag_features_match_the_books_loop():
    x = torch.arange(10.0)
    tau = 4
    features, labels = lag_features(x, tau)
    book = torch.zeros((10 - tau, tau))
    for i in range(tau):
        book[:, i] = x[i: 10 - tau + i]
    torch.testing.assert_close(features, book)
    torch.testing.assert_close(labels, x[tau:].reshape(-1, 1))
    assert features[0].tolist() == [0, 1, 2, 3] and labels[0].item() == 4


@pytest.mark.parametrize("values, tau, message", [
    ([1.0, float("nan"), 2.0, 3.0, 4.0, 5.0], 2, "NaN/inf value(s), the first at position 1"),
    ([1.0, 2.0, float("inf"), 3.0, 4.0], 2, "NaN/inf"),
    ([1.0, 2.0, 3.0, 4.0], 4, "needs at least 5"),
    ([1.0, 2.0, 3.0], 0, "tau must be a positive"),
    ([1.0, 2.0, 3.0, 4.0], 2.5, "tau must be a positive integer (a number of lags), got 2.5"),  # a torch TypeError
    ([1.0, 2.0, 3.0, 4.0], True, "tau must be a positive integer"),
])
def test_bad_series_are_refused(values, tau, message):
    with pytest.raises(SeqlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        lag_features(torch.tensor(values), tau)


@pytest.mark.parametrize("T", [0, -3, 10.5, True])  # 10.5 was a torch TypeError
def test_sine_series_length_must_be_a_positive_integer(T):
    with pytest.raises(SeqlabError, match="the series length T must be a positive integer"):
        sine_series(T)


def test_series_of_exactly_tau_plus_one_values_gives_one_row():
    features, labels = lag_features(torch.tensor([1.0, 2.0, 3.0]), 2)
    assert features.tolist() == [[1.0, 2.0]] and labels.tolist() == [[3.0]]
    with pytest.raises(SeqlabError, match="one-dimensional"):
        check_series(torch.zeros(3, 2), 1)


def test_csv_column(tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("date,temp,rain\n2020-01-01,1.5,0\n2020-01-02, -2.25 ,1\n\n2020-01-03,3e1,0\n")
    assert load_csv_column(f, "temp").tolist() == [1.5, -2.25, 30.0]
    with pytest.raises(SeqlabError, match="no column 'Temp'; its columns are: 'date', 'temp', 'rain'"):
        load_csv_column(f, "Temp")


@pytest.mark.parametrize("body, message", [
    ("a,b\n1,2\n3,x\n", "line 3, column 'b': 'x' is not a number"),
    ("a,b\n1,2\n3,nan\n", "NaN/inf"),
    ("a,b\n1,2\n3,\n", "line 3, column 'b': the cell is empty: --fill linear or --fill ffill fills missing values"),
    ("a,b\n1,2\n3,NA\n", "line 3, column 'b': 'NA' marks a missing value: --fill linear or --fill ffill"),
    ("a,b\n1,2\n3,inf\n", r"'inf' is NaN/inf; clean the series first \(--fill fills missing values, not infinite"),
    ("", "is empty"),
    ("a,b\n", "no values in column 'b'"),
    ("b,a,b\n1,2,3\n", r"2 columns named 'b' \(columns 1, 3\)"),  # read the first without a word
])
def test_bad_csv_is_refused(tmp_path, body, message):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    with pytest.raises(SeqlabError, match=message):
        load_csv_column(f, "b")


def test_missing_csv(tmp_path):
    with pytest.raises(SeqlabError, match="not found"):
        load_csv_column(tmp_path / "none.csv", "x")


def test_csv_with_byte_order_mark_and_spaced_header(tmp_path):
    # Excel's "CSV UTF-8" starts with a BOM; headers often have spaces after the commas
    f = tmp_path / "excel.csv"
    f.write_bytes("\ufeffvalue, other\n1,2\n3,4\n".encode("utf-8"))
    assert load_csv_column(f, "value").tolist() == [1.0, 3.0]
    assert load_csv_column(f, "other").tolist() == [2.0, 4.0]


# --- rows, delimiters and files the reader used to take wrongly (data review) -----------------------

@pytest.mark.parametrize("body, message", [
    # an unquoted thousands separator: every value was read as 1.0
    ("date,value\n2020-01-01,1,500\n2020-01-02,1,519\n",
     "line 2 has 3 fields but the header has 2: an unquoted thousands separator"),
    ("date,value\n2020-01-01,5\n2020-01-02,5,6\n", "line 3 has 3 fields but the header has 2"),
    ("date,value\n2020-01-01,5\n2020-01-02\n", "line 3 has 1 field but the header has 2: a missing field"),
    # a quoted field over two lines: the row after it starts on line 4 of the file
    ('note,value\n"a\nb",1\n2020-01-02,1,2\n', "line 4 has 3 fields"),
])
def test_rows_with_another_number_of_fields_are_refused(tmp_path, body, message):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    with pytest.raises(SeqlabError, match=message):
        load_csv_column(f, "value")


@pytest.mark.parametrize("body, said", [("date;value\n2020-01-01;1,5\n", "';'"),
                                        ("date\tvalue\n2020-01-01\t1.5\n", "a tab")])
def test_another_delimiter_is_named(tmp_path, body, said):
    f = tmp_path / "semi.csv"
    f.write_text(body)
    with pytest.raises(SeqlabError, match=f"delimiter is probably {said}; seqlab reads comma-separated files"):
        load_csv_column(f, "value")


def test_a_blank_first_line_is_not_an_empty_file(tmp_path):
    f = tmp_path / "blank.csv"
    f.write_text("\ndate,value\n2020-01-01,1\n")
    with pytest.raises(SeqlabError, match="its first line is blank") as info:
        load_csv_column(f, "value")
    assert "is empty" not in str(info.value)


@pytest.mark.parametrize("body", [
    "t,value\n1,0.5,\n2,0.6,\n",      # a trailing comma on the rows only
    "t,value,\n1,0.5\n2,0.6\n",       # ... on the header only
    "t,value,\n1,0.5,\n2,0.6,\n",     # ... on every line
    "t,value,note\n1,0.5\n2,0.6,x\n",  # a last column left empty on a row
])
def test_trailing_empty_fields_count_for_nothing(tmp_path, body):
    # as read before the field-count check (a file read then could no longer be read back)
    f = tmp_path / "ok.csv"
    f.write_text(body)
    assert load_csv_column(f, "value").tolist() == pytest.approx([0.5, 0.6])


def test_a_field_past_csvs_default_limit_is_read_and_the_limit_restored(tmp_path):
    import csv

    f = tmp_path / "long.csv"
    f.write_text("note,value\n" + "x" * 200_000 + ",1.5\nn,2\n")  # was _csv.Error, a traceback
    before = csv.field_size_limit()
    assert load_csv_column(f, "value").tolist() == [1.5, 2.0]
    assert csv.field_size_limit() == before


def test_a_long_bad_cell_is_shown_cut_short(tmp_path):
    f = tmp_path / "long.csv"
    f.write_text("note,value\nn," + "9" * 1000 + "x\n")
    with pytest.raises(SeqlabError, match=r"\(1,001 characters\) is not a number") as info:
        load_csv_column(f, "value")
    assert len(str(info.value)) < 300


def test_unreadable_csv_and_a_folder_are_one_line_errors(tmp_path, monkeypatch):
    from seqlab.data import csv_columns  # (where the file is opened)

    f = tmp_path / "s.csv"
    f.write_text("value\n1\n")
    with pytest.raises(SeqlabError, match="is a folder, not a CSV file"):
        load_csv_column(tmp_path, "value")

    def denied(*args, **kwargs):  # as chmod 000 does for a user other than root
        raise PermissionError(13, "Permission denied", str(f))

    monkeypatch.setattr(csv_columns, "open", denied, raising=False)
    with pytest.raises(SeqlabError, match="cannot read CSV file .*: Permission denied"):
        load_csv_column(f, "value")


def test_utf16_csv_says_so(tmp_path):
    f = tmp_path / "u.csv"
    f.write_bytes("date,value\n1,2\n".encode("utf-16"))
    with pytest.raises(SeqlabError, match="not UTF-8 text: it looks like UTF-16"):
        load_csv_column(f, "value")


# ---- dates (--date-column) ----

def _dated(tmp_path, stamps, header="date,v", name="d.csv"):
    f = tmp_path / name
    f.write_text(header + "\n" + "".join(f"{s},{i}\n" for i, s in enumerate(stamps)))
    return f


@pytest.mark.parametrize("stamps, every, future", [
    (["2023-12-30", "2023-12-31"], "1 day", ["2024-01-01", "2024-01-02"]),
    (["2024-01-01 22:00", "2024-01-01 23:00"], "1 hour", ["2024-01-02T00:00:00", "2024-01-02T01:00:00"]),
    (["2024-01-01T00:00Z", "2024-01-01T00:15Z"], "15 minutes", ["2024-01-01T00:30:00+00:00",
                                                                "2024-01-01T00:45:00+00:00"]),
    (["2023-11-01", "2023-12-01"], "1 month", ["2024-01-01", "2024-02-01"]),  # 30 and 31 days apart
    (["2023-11-30", "2023-12-31"], "1 month", ["2024-01-31", "2024-02-29"]),  # month ends
    (["2023-06-15", "2023-09-15", "2023-12-15"], "3 months", ["2024-03-15", "2024-06-15"]),
    (["2022-03-01", "2023-03-01"], "1 year", ["2024-03-01", "2025-03-01"]),  # not 365 days: 2024 is a leap year
    (["2024-01-01", "2024-01-08"], "1 week", ["2024-01-15", "2024-01-22"]),
    (["1960-11", "1960-12"], "1 month", ["1961-01", "1961-02"]),  # months (AirPassengers' 1949-01): refused before
])
def test_a_date_column_gives_the_series_dates_and_its_future(tmp_path, stamps, every, future):
    from seqlab.data.dates import DateIndex, parse_timestamp
    from seqlab.data.timeseries import load_csv_series

    x, dates = load_csv_series(_dated(tmp_path, stamps), "v", "date")
    assert x.tolist() == list(range(len(stamps))) and dates.every == every
    assert [dates.at(p) for p in range(len(stamps))] == [parse_timestamp(s) for s in stamps]
    assert [dates.iso(len(stamps) + i) for i in range(2)] == future
    assert DateIndex.from_meta(dates.to_meta()) == dates  # the checkpoint's plain-data copy reads back


@pytest.mark.parametrize("stamps, message", [
    (["2024-01-03", "2024-01-02", "2024-01-01"],
     "column 'date' runs newest first (2024-01-03 on line 2, 2024-01-02 on line 3): sort the file by its dates "
     "in ascending order (oldest first)"),
    (["2024-01-01", "2024-01-03", "2024-01-02"],
     "line 4 (2024-01-02) comes before line 3 (2024-01-03): the timestamps must be strictly increasing"),
    (["2024-01-01", "2024-01-01", "2024-01-02"],
     "line 3 repeats the timestamp 2024-01-01 of line 2; a forecast reads one series per file (a long-format "
     "file with several series"),
    (["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-06"],
     "a gap (2 missing values) between line 3 (2024-01-02) and line 4 (2024-01-05): 3 days apart where the "
     "series steps by 1 day; a forecast needs an evenly spaced series: fill the gaps (--fill linear or --fill ffill) "
     "or resample it first"),
    (["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:30", "2024-01-01 03:30"],
     "uneven spacing between line 3 (2024-01-01 01:00) and line 4 (2024-01-01 02:30): 90 minutes apart where the "
     "series steps by 1 hour; a forecast needs an evenly spaced series: resample it first (--fill fills only whole "
     "missing steps)"),
    (["2024-01-01", "2024-03-01", "2024-04-01", "2024-05-01"],
     "a gap (1 missing value) between line 2 (2024-01-01) and line 3 (2024-03-01): 2 months apart where the "
     "series steps by 1 month"),
    (["2024-01-01", "01/02/2024"],
     "line 3: '01/02/2024' is not an ISO 8601 date or date-time (e.g. 2024-01-31 or 2024-01-31 13:00)"),
    (["2024-01-01T00:00+01:00", "2024-01-01T01:00"],
     "line 3: '2024-01-01T01:00' has no UTC offset, unlike line 2's '2024-01-01T00:00+01:00'"),
])
def test_a_date_column_that_is_not_an_evenly_spaced_increasing_series_is_refused(tmp_path, stamps, message):
    from seqlab.data.timeseries import load_csv_series

    with pytest.raises(SeqlabError) as e:
        load_csv_series(_dated(tmp_path, stamps), "v", "date")
    assert message in str(e.value) and "\n" not in str(e.value)
    assert "--date-column none" not in str(e.value)  # named explicitly: no hint to drop it


def test_auto_takes_the_one_column_named_for_dates_and_says_so(tmp_path):
    from seqlab.data.timeseries import load_csv_series

    lines = []
    _, dates = load_csv_series(_dated(tmp_path, ["2024-01-01", "2024-01-02"], "Timestamp,v"), "v", log=lines.append)
    assert dates.column == "Timestamp" and dates.iso(2) == "2024-01-03"
    assert lines == ["dates from column 'Timestamp' (found by its name; --date-column none reads the rows without "
                     "dates): 2 values from 2024-01-01 to 2024-01-02, one every 1 day"]
    # found by its name, a gap reads the rows as steps without dates, saying so, as before dates were read
    # (such files trained then); named with --date-column, it is refused
    lines.clear()
    gapped = _dated(tmp_path, ["2024-01-05", "2024-01-06", "2024-01-09", "2024-01-10"])  # (a Saturday: not weekdays)
    x, dates = load_csv_series(gapped, "v", log=lines.append)
    assert dates is None and x.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert lines == ["CSV file " + repr(str(gapped)) + ", column 'date': a gap (2 missing values) between line 3 "
                     "(2024-01-06) and line 4 (2024-01-09): 3 days apart where the series steps by 1 day: the rows "
                     "are read as evenly spaced steps without dates (--date-column NAME insists on the dates; --fill linear or "
                     "--fill ffill fills the missing dates)"]
    with pytest.raises(SeqlabError, match=r"fill the gaps \(--fill linear or --fill ffill\) or resample it first$"):
        load_csv_series(gapped, "v", "date")
    # found by its name, dates newest first or repeated are still refused (a file read backwards, or two series)
    with pytest.raises(SeqlabError, match="newest first.*\\(oldest first\\)"):
        load_csv_series(_dated(tmp_path, ["2024-01-03", "2024-01-02", "2024-01-01"]), "v")
    # none (flag or TOML), or another name: no dates
    for off in (None, "none", "NONE"):
        assert load_csv_series(_dated(tmp_path, ["2024-01-02", "2024-01-01"]), "v", off)[1] is None
    assert load_csv_series(_dated(tmp_path, ["2024-01-02", "2024-01-01"], "day,v"), "v")[1] is None


def test_auto_leaves_a_date_named_column_of_other_values_and_several_such_columns(tmp_path):
    from seqlab.data.timeseries import load_csv_series

    lines = []
    f = _dated(tmp_path, ["0.5", "1.0", "0.7"], "time,v")  # seconds, not dates
    x, dates = load_csv_series(f, "v", log=lines.append)
    assert dates is None and x.tolist() == [0.0, 1.0, 2.0]
    assert lines == ["column 'time' does not hold ISO dates (line 2: '0.5'): the rows are read as evenly spaced "
                     "steps without dates (--date-column NAME names a date column)"]
    f = tmp_path / "two.csv"
    f.write_text("date,time,v\n2024-01-01,10:00,1\n2024-01-01,11:00,2\n")
    lines.clear()
    assert load_csv_series(f, "v", log=lines.append)[1] is None
    assert lines == [f"CSV file {str(f)!r} has several date-like columns ('date', 'time'): none is used; name one "
                     "with --date-column"]
    with pytest.raises(SeqlabError, match="--date-column and --column both name 'v'"):
        load_csv_series(f, "v", "v")
    with pytest.raises(SeqlabError, match="no column 'day'; its columns are: 'date', 'time', 'v'"):
        load_csv_series(f, "v", "day")


def test_date_index_from_an_edited_checkpoint_is_refused():
    from seqlab.data.dates import DateIndex

    good = {"column": "date", "start": "2024-01-01", "last": "2024-01-03", "every": "1 day",
            "step": {"days": 1, "seconds": 0, "microseconds": 0}, "length": 3, "date_only": True}
    assert DateIndex.from_meta(good).iso(3) == "2024-01-04"
    for bad in (dict(good, last="2024-01-09"), dict(good, step={"days": 0, "seconds": 0, "microseconds": 0}),
                dict(good, start="soon"), {k: v for k, v in good.items() if k != "step"}, dict(good, length="3")):
        with pytest.raises(SeqlabError, match="are not a start, a step and a last date that agree"):
            DateIndex.from_meta(bad)


@pytest.mark.parametrize("stamps, future", [
    # one day of the month throughout, a month end only by chance (April 30, February 29): not month ends
    (["2024-04-30", "2024-05-30", "2024-06-30"], "2024-07-30"),
    (["2024-02-29", "2024-03-29", "2024-04-29"], "2024-05-29"),
    # month ends (the day changes with the month)
    (["2024-02-29", "2024-03-31", "2024-04-30"], "2024-05-31"),
    # the 30th, clamped to February's end on the way (pandas' monthly offsets from a 30th)
    (["2023-01-30", "2023-02-28", "2023-03-30"], "2023-04-30"),
    (["2024-01-30", "2024-02-29", "2024-03-30"], "2024-04-30"),
    # from a shorter month's end: the day is the later rows' (refused as uneven spacing before)
    (["2023-02-28", "2023-03-30", "2023-04-30"], "2023-05-30"),
    (["2024-02-29", "2024-03-30", "2024-04-30"], "2024-05-30"),
    (["2023-02-28", "2023-03-29", "2023-04-29"], "2023-05-29"),
])
def test_a_monthly_series_on_a_late_day_keeps_its_day(tmp_path, stamps, future):
    # the 30th of April read as a month end moved every later date to its month's end (2024-05-30 -> 05-31)
    from seqlab.data.timeseries import load_csv_series

    _, dates = load_csv_series(_dated(tmp_path, stamps), "v", "date")
    assert [dates.iso(i) for i in range(4)] == stamps + [future]


def test_local_times_across_a_daylight_saving_change_are_read_on_the_wall_clock(tmp_path):
    # pandas writes a tz-aware index with each row's offset: daily and monthly series across a DST change
    # were refused ("23 hours apart", "31 days apart where the series steps by 29 days")
    from seqlab.data.timeseries import load_csv_series

    daily = ["2024-03-09 00:00:00-05:00", "2024-03-10 00:00:00-05:00", "2024-03-11 00:00:00-04:00",
             "2024-03-12 00:00:00-04:00"]
    _, dates = load_csv_series(_dated(tmp_path, daily), "v", "date")
    # one every day on the wall clock; each row printed in its own offset, the future in the last row's
    assert dates.every == "1 day" and [dates.iso(p) for p in range(6)] == [
        "2024-03-09T00:00:00-05:00", "2024-03-10T00:00:00-05:00", "2024-03-11T00:00:00-04:00",
        "2024-03-12T00:00:00-04:00", "2024-03-13T00:00:00-04:00",
        "2024-03-14T00:00:00-04:00"]
    monthly = ["2024-01-01T00:00:00-05:00", "2024-02-01T00:00:00-05:00", "2024-03-01T00:00:00-05:00",
               "2024-04-01T00:00:00-04:00"]
    _, dates = load_csv_series(_dated(tmp_path, monthly), "v", "date")
    assert dates.every == "1 month" and dates.iso(2) == "2024-03-01T00:00:00-05:00"
    assert dates.iso(4) == "2024-05-01T00:00:00-04:00"
    # hourly with offsets is even in absolute time already
    hourly = ["2024-03-10T00:00:00-05:00", "2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00"]
    assert load_csv_series(_dated(tmp_path, hourly), "v", "date")[1].every == "1 hour"
    # offsets that are not one daylight-saving change (UTC and UTC+5) stay absolute times: refused as uneven
    mixed = ["2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+05:00", "2024-01-03T00:00:00+00:00"]
    with pytest.raises(SeqlabError, match="uneven spacing"):
        load_csv_series(_dated(tmp_path, mixed), "v", "date")
    # naive local hours repeat one at the autumn change: the message names that cause too
    naive = ["2024-11-03T00:00", "2024-11-03T01:00", "2024-11-03T01:00", "2024-11-03T02:00"]
    with pytest.raises(SeqlabError, match="repeats the timestamp.*daylight-saving change"):
        load_csv_series(_dated(tmp_path, naive), "v", "date")


def test_a_monthly_series_from_a_clamped_day_keeps_its_day_in_a_checkpoint_and_after_dropped_values(tmp_path):
    from seqlab.data.dates import DateIndex
    from seqlab.data.timeseries import load_csv_series, read_csv_series

    _, dates = load_csv_series(_dated(tmp_path, ["2023-02-28", "2023-03-30", "2023-04-30"]), "v", "date")
    meta = dates.to_meta()
    assert meta["step"]["day"] == 30 and DateIndex.from_meta(meta).iso(3) == "2023-05-30"
    # 28: the start's own day is written as no key; a day on a month-end index, or from an unclamped start
    for step in (dict(meta["step"], day=28), dict(meta["step"], day="30"), dict(meta["step"], day=32),
                 dict(meta["step"], month_end=True)):
        with pytest.raises(SeqlabError, match="are not a start, a step and a last date that agree"):
            DateIndex.from_meta(dict(meta, step=step, length=1, last="2023-02-28"))
    mid = dict(meta, start="2023-03-15", last="2023-03-15", length=1, step=dict(meta["step"], day=20))
    with pytest.raises(SeqlabError, match="are not a start, a step and a last date that agree"):
        DateIndex.from_meta(mid)
    for bad in (28, "30", 32):
        with pytest.raises(SeqlabError, match="are not a start, a step and a last date that agree"):
            DateIndex.from_meta(dict(meta, step=dict(meta["step"], day=bad)))
    assert "day" not in load_csv_series(_dated(tmp_path, ["2023-01-30", "2023-02-28"]), "v", "date")[1].to_meta()["step"]
    # leading empty values dropped: the first value falls on Feb 29 of a series of the 30th (refused before:
    # "its day is lost")
    f = tmp_path / "lead.csv"
    f.write_text("date,v\n2024-01-30,\n2024-02-29,5\n2024-03-30,6\n2024-04-30,7\n")
    read = read_csv_series(f, "v", "date", fill="linear", say=[].append)
    assert read.x.tolist() == [5.0, 6.0, 7.0] and [read.dates.iso(p) for p in range(4)] == [
        "2024-02-29", "2024-03-30", "2024-04-30", "2024-05-30"]


def test_a_newer_file_of_a_run_on_the_29th_is_read_on_its_grid_from_february(tmp_path):
    # the run's index predicts 2001-02-28, 2001-03-29: a file continuing it from February was refused as "not on
    # one day of each month" on the run's grid, and as uneven spacing on its own
    from seqlab.data.timeseries import load_csv_series, read_csv_series

    _, run = load_csv_series(_dated(tmp_path, ["2000-12-29", "2001-01-29"], name="run.csv"), "v", "date")
    assert [run.iso(p) for p in range(4)] == ["2000-12-29", "2001-01-29", "2001-02-28", "2001-03-29"]
    f = _dated(tmp_path, ["2001-02-28", "2001-03-29", "2001-04-29"], name="new.csv")
    read = read_csv_series(f, "v", "date", fill="linear", say=[].append, grid=run)
    assert read.dates.months == 1 and [read.dates.iso(p) for p in range(4)] == [
        "2001-02-28", "2001-03-29", "2001-04-29", "2001-05-29"]
