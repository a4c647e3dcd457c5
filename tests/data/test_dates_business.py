"""Business days (pandas' freq "B"): daily dates on weekdays only are dated, five steps a week, the
weekends skipped; a missing weekday (a holiday) is a missing date, refused or filled like any other."""

from datetime import datetime, timedelta

import pytest

from seqlab import SeqlabError
from seqlab.data.date_steps import business_number
from seqlab.data.dates import DateIndex
from seqlab.data.timeseries import read_csv_series


def _business(start, length=3, **kw):
    return DateIndex("date", start, length, step=timedelta(days=1), business=True, **kw)


def _csv(tmp_path, rows, name="s.csv"):
    f = tmp_path / name
    f.write_text("date,v\n" + "".join(f"{a},{b}\n" for a, b in rows))
    return f


def _read(path, fill="none", date_column="date", **kw):
    said = []
    read = read_csv_series(path, "v", date_column, fill=fill, say=said.append, **kw)
    return read.x.tolist(), read.dates, said


def _refusal(path, **kw) -> str:
    """The message `_read` refuses `path` with."""
    with pytest.raises(SeqlabError) as e:
        _read(path, **kw)
    return str(e.value)


# ---- positions and dates ----

def test_positions_skip_weekends_across_months_and_years():
    friday = _business(datetime(2024, 3, 1))  # the series' end a Friday: its future starts on Monday
    assert [friday.iso(p) for p in range(7)] == ["2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06",
                                                 "2024-03-07", "2024-03-08", "2024-03-11"]
    monday = _business(datetime(2024, 1, 8))
    assert monday.iso(5) == "2024-01-15" and monday.iso(10) == "2024-01-22"  # 5 positions: the next Monday
    assert monday.iso(-1) == "2024-01-05"  # (before it: the Friday)
    # across a month and a leap day, and a year's end
    assert [_business(datetime(2024, 2, 28)).iso(p) for p in range(4)] == ["2024-02-28", "2024-02-29",
                                                                           "2024-03-01", "2024-03-04"]
    assert [_business(datetime(2024, 12, 27)).iso(p) for p in range(7)] == [
        "2024-12-27", "2024-12-30", "2024-12-31", "2025-01-01", "2025-01-02", "2025-01-03", "2025-01-06"]
    # a time of day is kept
    timed = _business(datetime(2024, 3, 1, 16, 30), date_only=False)
    assert timed.iso(1) == "2024-03-04T16:30:00" and timed.every == "1 business day"


def test_two_thousand_positions_match_a_day_by_day_walk_over_weekdays():
    start = datetime(2023, 11, 15)  # a Wednesday
    walked, day = [], start
    while len(walked) < 2000:  # the trusted twin: every calendar day, the weekends left out
        if day.weekday() < 5:
            walked.append(day)
        day += timedelta(days=1)
    index = _business(start, 2000)
    assert [index.at(p) for p in range(2000)] == walked
    # the inverse that places rows on the grid: a weekday's business number counts the same steps
    assert [business_number(t) - business_number(start) for t in walked] == list(range(2000))


def test_the_checkpoint_keeps_business_days_and_older_ones_read_as_before():
    index = _business(datetime(2024, 2, 26), 5)
    meta = index.to_meta()
    assert meta["step"] == {"days": 1, "seconds": 0, "microseconds": 0, "business": True}
    assert meta["last"] == "2024-03-01" and meta["every"] == "1 business day"
    assert DateIndex.from_meta(meta) == index and DateIndex.from_meta(meta).iso(5) == "2024-03-04"
    # a checkpoint from before business days (no key): calendar days, as before
    old = dict(meta, step={"days": 1, "seconds": 0, "microseconds": 0}, every="1 day", last="2024-03-01")
    assert DateIndex.from_meta(old).iso(5) == "2024-03-02"
    # edited to start on a Saturday: refused in one line
    with pytest.raises(SeqlabError, match="are not a start, a step and a last date that agree"):
        DateIndex.from_meta(dict(meta, start="2024-03-02"))


# ---- reading a CSV ----

# Wed 01-03, Thu 01-04, [Fri 01-05 holiday], Mon 01-08, Tue 01-09: business positions 0, 1, (2), 3, 4
HOLIDAY = [("2024-01-03", 7), ("2024-01-04", 10), ("2024-01-08", 16), ("2024-01-09", 20)]


def test_a_holiday_is_a_missing_business_day_refused_without_fill(tmp_path):
    f = _csv(tmp_path, HOLIDAY)
    assert _refusal(f) == (f"CSV file {str(f)!r}, column 'date': a gap (1 missing business day) between line 3 "
                           "(2024-01-04) and line 4 (2024-01-08): 2 business days apart where the series steps by "
                           "1 business day; a forecast needs an evenly spaced series: fill the gaps (--fill linear "
                           "or --fill ffill) or resample it first")


def test_a_holiday_is_filled_on_the_business_day_grid(tmp_path):
    f = _csv(tmp_path, HOLIDAY)
    # linear: Friday halfway between Thursday's 10 and Monday's 16, one business day each side (a calendar-day
    # grid would put Monday 4 days on: 11.5 and the weekend filled too)
    x, dates, said = _read(f, "linear")
    assert x == [7.0, 10.0, 13.0, 16.0, 20.0]
    assert [dates.iso(p) for p in range(7)] == ["2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08",
                                                "2024-01-09", "2024-01-10", "2024-01-11"]
    assert said[0].startswith("seqlab: note: --fill linear filled 1 missing value (1 missing date")
    assert said[0].endswith("at 2024-01-05)")
    assert _read(f, "ffill")[0] == [7.0, 10.0, 10.0, 16.0, 20.0]


def test_weekdays_missing_most_days_are_refused_counting_the_business_days_fill_fills(tmp_path):
    # Thu 01-04, Mon 01-08, Thu 01-11, Mon 01-15, Tue 01-16: mostly 4 days apart, so the refusal reads the
    # finer 1-day grid, which --fill reads as business days: the first gap is Friday alone (it said "3 missing
    # values", the weekend counted, before)
    f = _csv(tmp_path, [("2024-01-04", 1), ("2024-01-08", 2), ("2024-01-11", 3), ("2024-01-15", 4),
                        ("2024-01-16", 5)])
    assert _refusal(f).startswith(f"CSV file {str(f)!r}, column 'date': a gap (1 missing business day) between "
                                  "line 2 (2024-01-04) and line 3 (2024-01-08): 2 business days apart where the "
                                  "series steps by 1 business day")
    x, dates, said = _read(f, "linear")
    assert dates.business and x[:3] == [1.0, 1.5, 2.0]


def test_a_refused_gap_is_the_gap_fill_fills_between_those_rows():
    # Random daily series, on weekdays only or every day, some rows dropped: whenever the refusal without
    # --fill names a gap, --fill reads the series and finds that many missing values between the same rows.
    import random
    import re

    from seqlab.data.date_steps import UnevenDates
    rng = random.Random(7)
    checked = 0
    for _ in range(3000):
        weekdays, day = rng.random() < 0.5, datetime(2024, 1, 1) + timedelta(days=rng.randrange(7))
        days = []
        while len(days) < rng.randrange(5, 30):
            if not weekdays or day.weekday() < 5:
                days.append(day)
            day += timedelta(days=1)
        for _ in range(rng.choice([1, 2, 4, 8])):
            if len(days) > 4:
                days.pop(rng.randrange(1, len(days) - 1))
        cells = [(i + 2, d.date().isoformat()) for i, d in enumerate(days)]
        try:
            DateIndex.read_cells(cells, "date", "f")
            continue
        except UnevenDates as e:
            if e.missing is None:
                continue
            said, message = e.missing, str(e)
        line = int(re.search(r"between line (\d+)", message).group(1))
        index, positions = DateIndex.read_cells(cells, "date", "f", gaps=True)
        i = line - 2
        assert positions[i + 1] - positions[i] - 1 == said, (message, [d.strftime("%a %m-%d") for d in days])
        assert ("business day" in message) == index.business
        checked += 1
    assert checked > 500


def test_max_gap_counts_business_days(tmp_path):
    # Friday and Monday missing: a gap of 2 business days (4 calendar days)
    f = _csv(tmp_path, [("2024-01-03", 7), ("2024-01-04", 10), ("2024-01-09", 19), ("2024-01-10", 22)])
    assert _read(f, "linear", max_gap=2)[0] == [7.0, 10.0, 13.0, 16.0, 19.0, 22.0]
    with pytest.raises(SeqlabError, match=r"its gap of 2 missing values \(2024-01-05\.\.2024-01-08\) is longer than "
                                          r"--max-gap 1 allows"):
        _read(f, "linear", max_gap=1)


def test_a_daily_series_missing_weekend_days_is_still_calendar_days(tmp_path):
    # Thursday .. Saturday, then Monday: a weekend row, so the missing Sunday is a calendar day's gap
    f = _csv(tmp_path, [("2024-01-04", 1), ("2024-01-05", 2), ("2024-01-06", 3), ("2024-01-08", 5)])
    with pytest.raises(SeqlabError, match=r"a gap \(1 missing value\) between line 4 \(2024-01-06\) and line 5 "
                                          r"\(2024-01-08\): 2 days apart where the series steps by 1 day"):
        _read(f)
    x, dates, _ = _read(f, "linear")
    assert x == [1.0, 2.0, 3.0, 4.0, 5.0] and not dates.business and dates.iso(5) == "2024-01-09"
    # two weeks missing one whole weekend, the other kept: calendar days, the weekend filled
    days = [datetime(2024, 1, 1) + timedelta(days=i) for i in range(14) if i not in (5, 6)]
    g = _csv(tmp_path, [(d.date().isoformat(), i) for i, d in enumerate(days)], name="g.csv")
    x, dates, _ = _read(g, "linear")
    assert len(x) == 14 and not dates.business and dates.every == "1 day"


def test_a_runs_grid_keeps_business_and_calendar_days_apart(tmp_path):
    run = _business(datetime(2024, 1, 1), 20)
    f = _csv(tmp_path, HOLIDAY)
    x, dates, _ = _read(f, "linear", grid=run)
    assert x == [7.0, 10.0, 13.0, 16.0, 20.0] and dates.business
    weekend = _csv(tmp_path, [("2024-01-04", 1), ("2024-01-05", 2), ("2024-01-06", 3)], name="w.csv")
    with pytest.raises(SeqlabError, match=r"line 4: 2024-01-06 is a Saturday, off the run's business days \(Monday "
                                          r"to Friday, the weekends skipped\): drop it$"):
        _read(weekend, "linear", grid=run)
    daily = DateIndex("date", datetime(2024, 1, 1), 20, step=timedelta(days=1))
    with pytest.raises(SeqlabError, match=r"its dates are business days \(every row a weekday, the weekends "
                                          r"missing\), the run's are one every 1 day$"):
        _read(f, "none", grid=daily)
    # filled, on the run's calendar days: Friday the 5th (a holiday) and the weekend are three missing days
    # between Thursday's 10 and Monday's 16
    x, dates, said = _read(f, "linear", grid=daily)
    assert x == [7.0, 10.0, 11.5, 13.0, 14.5, 16.0, 20.0] and not dates.business
    assert said[0] == ("seqlab: note: --fill linear filled 3 missing values (3 missing dates, the longest gap 3 "
                       "steps, at 2024-01-05..2024-01-07)"), said


def test_a_stray_weekend_row_among_business_days_is_named(tmp_path):
    # weekdays of four weeks and one Saturday: read as calendar days, every other weekend would be a gap
    # (and --fill the advice); the refusal names the Saturday and both readings
    days = [datetime(2024, 3, 4) + timedelta(days=k) for k in range(28)]
    rows = [(d.date(), i) for i, d in enumerate(days) if d.weekday() < 5 or d.day == 16]  # Sat 16 March
    f = _csv(tmp_path, rows)
    assert _refusal(f) == (f"CSV file {str(f)!r}, column 'date': line 12 (2024-03-16) is a Saturday in a series "
                           "otherwise on weekdays, the weekends missing: drop it to read business days (as pandas' "
                           "asfreq('B') would), or give --fill linear or --fill ffill to read calendar days, every "
                           "other weekend filled")
    x, dates, said = _read(f, fill="linear")  # --fill: calendar days, the other weekends filled
    assert not dates.business and len(x) == dates.length == 26 and dates.iso(26) == "2024-03-30"
    without = _csv(tmp_path, [r for r in rows if str(r[0]) != "2024-03-16"], name="b.csv")
    assert _read(without)[1].business
    # a calendar-daily series with its weekends (more than one weekend row in 50): not taken for strays
    full = _csv(tmp_path, [(d.date(), i) for i, d in enumerate(days)], name="full.csv")
    assert not _read(full)[1].business


def test_two_rows_on_one_business_day_are_uneven_spacing_not_a_crash(tmp_path):
    # weekdays of two weeks and Wednesday's row twice, at midnight and at 02:00: 0 business days apart. The
    # search for a finer grid divided by that 0 (ZeroDivisionError: "seqlab: unexpected failure (a bug)")
    days = [datetime(2024, 1, 1) + timedelta(days=k) for k in range(14)]
    rows = [(d.date(), i) for i, d in enumerate(days) if d.weekday() < 5]
    rows.insert(3, ("2024-01-03 02:00", 99))
    f = _csv(tmp_path, rows)
    assert _refusal(f) == (f"CSV file {str(f)!r}, column 'date': uneven spacing between line 4 (2024-01-03) and "
                           "line 5 (2024-01-03 02:00): 0 business days apart where the series steps by 1 business "
                           "day; a forecast needs an evenly spaced series: resample it first (--fill fills only "
                           "whole missing steps)")
    said = []  # a column found by its name: read as undated steps, as any unevenly spaced one
    x = read_csv_series(f, "v", "auto", log=said.append).x.tolist()
    assert x == [float(v) for _, v in rows] and "0 business days apart" in said[0]
    # an hourly file on a run's business days (forecast --data), with --fill or without
    hourly = _csv(tmp_path, [(f"2024-01-0{d} {h:02d}:00", h) for d in (2, 3) for h in (9, 10, 11)], name="h.csv")
    for fill in ("none", "linear"):
        assert (" uneven spacing between line 2 (2024-01-02 09:00) and line 3 (2024-01-02 10:00): 0 business days "
                "apart where the series steps by 1 business day;") in _refusal(hourly, fill=fill, grid=_business(
                    datetime(2024, 1, 1), 20))
