"""Timestamps whose UTC offsets change inside the series (daylight saving): each row is printed in
its own offset, the future in the last row's, and a checkpoint keeps them."""

import pytest


def _dated(tmp_path, stamps, header="date,v", name="d.csv"):
    f = tmp_path / name
    f.write_text(header + "\n" + "".join(f"{s},{i}\n" for i, s in enumerate(stamps)))
    return f


@pytest.mark.parametrize("stamps, printed", [
    # hourly, stepped in absolute time: the row after the change was printed 2024-03-31T02:00:00+01:00 (the
    # first row's offset), an hour that does not exist on a Paris clock
    (["2024-03-31T00:00+01:00", "2024-03-31T01:00+01:00", "2024-03-31T03:00+02:00", "2024-03-31T04:00+02:00"],
     ["2024-03-31T00:00:00+01:00", "2024-03-31T01:00:00+01:00", "2024-03-31T03:00:00+02:00",
      "2024-03-31T04:00:00+02:00", "2024-03-31T05:00:00+02:00", "2024-03-31T06:00:00+02:00"]),
    # daily at noon, stepped on the wall clock: printed without offsets before, the future included
    (["2024-03-30T12:00+01:00", "2024-03-31T12:00+02:00", "2024-04-01T12:00+02:00"],
     ["2024-03-30T12:00:00+01:00", "2024-03-31T12:00:00+02:00", "2024-04-01T12:00:00+02:00",
      "2024-04-02T12:00:00+02:00", "2024-04-03T12:00:00+02:00"]),
    # back in autumn: the future in the last row's offset, +01:00
    (["2024-10-26T12:00+02:00", "2024-10-27T12:00+01:00", "2024-10-28T12:00+01:00"],
     ["2024-10-26T12:00:00+02:00", "2024-10-27T12:00:00+01:00", "2024-10-28T12:00:00+01:00",
      "2024-10-29T12:00:00+01:00", "2024-10-30T12:00:00+01:00"]),
])
def test_rows_are_dated_in_their_own_utc_offsets_and_the_future_in_the_last_rows(tmp_path, stamps, printed):
    from seqlab.data.dates import DateIndex
    from seqlab.data.timeseries import load_csv_series

    _, dates = load_csv_series(_dated(tmp_path, stamps), "v", "date")
    assert [dates.iso(p) for p in range(len(stamps) + 2)] == printed
    first, last = printed[0][-6:], printed[-1][-6:]
    assert dates.offsets_note() == (f"the dates carry UTC offsets {first} and {last}; forecasts are dated in the "
                                    f"last row's {last} (offsets name no time zone, so a later daylight-saving "
                                    "change is not foreseen)")
    assert DateIndex.from_meta(dates.to_meta()) == dates  # the checkpoint's copy keeps the offsets
    one = _dated(tmp_path, ["2024-01-01T12:00+01:00", "2024-01-02T12:00+01:00"], name="one.csv")
    assert load_csv_series(one, "v", "date")[1].offsets_note() is None  # one offset: nothing to say


def test_a_checkpoint_from_before_the_offsets_were_kept_still_reads():
    # runs before kept the start (first offset) and the last date (last offset) only: the rows in between,
    # whose offsets are unknown, print in the first offset (as those runs printed them); the ends and the
    # future as before
    from seqlab.data.dates import DateIndex

    old = {"column": "date", "start": "2024-03-31T00:00:00+01:00", "last": "2024-03-31T04:00:00+02:00",
           "every": "1 hour", "step": {"days": 0, "seconds": 3600, "microseconds": 0}, "length": 4,
           "date_only": False, "month_only": False}
    dates = DateIndex.from_meta(old)
    assert [dates.iso(p) for p in range(5)] == ["2024-03-31T00:00:00+01:00", "2024-03-31T01:00:00+01:00",
                                                "2024-03-31T02:00:00+01:00", "2024-03-31T04:00:00+02:00",
                                                "2024-03-31T05:00:00+02:00"]
    naive = dict(old, start="2024-03-30T12:00:00", last="2024-04-01T12:00:00", every="1 day", length=3,
                 step={"days": 1, "seconds": 0, "microseconds": 0})  # a daily series read on the wall clock
    assert DateIndex.from_meta(naive).iso(3) == "2024-04-02T12:00:00"


def test_a_missing_date_between_two_offsets_is_named_on_its_clock(tmp_path):
    # its own offset is unknown (the change may fall on either side): it is named in the row before's offset,
    # as a carried-forward value (an hourly series: its instant, known; a daily one: its wall-clock time)
    from seqlab.data.timeseries import read_csv_series

    said = []
    daily = _dated(tmp_path, ["2024-03-29T12:00+01:00", "2024-03-30T12:00+01:00", "2024-04-01T12:00+02:00",
                              "2024-04-02T12:00+02:00"])
    read = read_csv_series(daily, "v", "date", fill="linear", say=said.append)
    assert said[0].endswith("the longest gap 1 step, at 2024-03-31T12:00:00+01:00)")
    assert [read.dates.iso(p) for p in (1, 2, 3, 4)] == ["2024-03-30T12:00:00+01:00", "2024-03-31T12:00:00+01:00",
                                                         "2024-04-01T12:00:00+02:00", "2024-04-02T12:00:00+02:00"]
    hourly = _dated(tmp_path, ["2024-03-31T00:00+01:00", "2024-03-31T01:00+01:00", "2024-03-31T04:00+02:00",
                               "2024-03-31T05:00+02:00"], name="h.csv")
    assert read_csv_series(hourly, "v", "date", fill="linear", say=said.append).dates.iso(2) == "2024-03-31T02:00:00+01:00"


def test_an_hour_repeated_in_local_times_hints_at_daylight_saving(tmp_path):
    # the autumn change repeats 02:00 on a clock without offsets (the file starts at 02:00 too: the
    # hint used to ask that the repeated time differ from the first row's); a long-format file whose
    # stores share each date repeats a date a step after nothing: no hint
    from seqlab import SeqlabError
    from seqlab.data.timeseries import read_csv_series

    hint = "the hour a daylight-saving change repeats: write the offsets, or UTC)"
    hours = [f"2024-10-{26 + (2 + h) // 24} {(2 + h) % 24:02d}:00" for h in range(25)]  # 26th 02:00 .. 27th 02:00
    autumn = _dated(tmp_path, [*hours, "2024-10-27 02:00", "2024-10-27 03:00"], header="timestamp,v")
    early = _dated(tmp_path, ["2024-10-27 02:00", "2024-10-27 02:00"], header="timestamp,v", name="e.csv")
    stores = _dated(tmp_path, ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-02"], name="s.csv")
    for f, hinted in ((autumn, True), (early, False), (stores, False)):
        with pytest.raises(SeqlabError, match="repeats the timestamp") as e:
            read_csv_series(f, "v", "timestamp" if f != stores else "date")
        assert str(e.value).endswith(hint) == hinted, str(e.value)
