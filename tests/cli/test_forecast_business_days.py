"""A business-day series (weekdays only, as pandas' freq "B") through the CLI: trained with its dates,
kept in the checkpoint (and on --resume), forecast on business days, and a newer file read on them."""

import datetime

import pytest

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint


def _weekdays(path, first, last, skip=(), header="date,sales"):
    """Every weekday from `first` to `last` but those in `skip`, with a weekly pattern and a trend."""
    rows, day, i = [], first, 0
    while day <= last:
        if day.weekday() < 5 and day not in skip:
            rows.append(f"{day},{100 + 10 * (day.weekday() - 2) + 0.1 * i:.2f}\n")
        day += datetime.timedelta(days=1)
        i += 1
    path.write_text(header + "\n" + "".join(rows))
    return str(path)


@pytest.fixture(scope="module")
def business_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("business")
    # Monday 2024-01-01 .. Friday 2024-03-01: 45 weekdays
    data = _weekdays(folder / "s.csv", datetime.date(2024, 1, 1), datetime.date(2024, 3, 1))
    out = folder / "run"
    argv = ["train", "forecast", "--data", data, "--column", "sales", "--epochs", "1", "--hidden", "4"]
    assert main([*argv, "--out", str(out)]) == 0
    return out, argv


def _dates(capsys, *argv):
    code = main(["forecast", *map(str, argv)])
    printed = capsys.readouterr()
    return code, [line.split("\t")[0] for line in printed.out.splitlines()], printed.err


def test_training_keeps_the_business_days_and_forecasts_skip_the_weekend(business_run, capsys):
    out, _ = business_run
    dates = load_checkpoint(out, "best").meta["dates"]
    assert dates["step"] == {"days": 1, "seconds": 0, "microseconds": 0, "business": True}
    assert (dates["start"], dates["last"], dates["length"], dates["every"]) == ("2024-01-01", "2024-03-01", 45,
                                                                                "1 business day")
    code, printed, _ = _dates(capsys, "--checkpoint", out, "--steps", 3)
    assert code == 0 and printed == ["2024-03-04", "2024-03-05", "2024-03-06"]  # Friday's next: Monday
    # inside the series: position 4 is Friday 2024-01-05, 5 the Monday after
    code, printed, _ = _dates(capsys, "--checkpoint", out, "--steps", 2, "--start", 4)
    assert code == 0 and printed[:2] == ["2024-01-05", "2024-01-08"]


def test_training_says_the_dates_are_business_days(business_run, tmp_path, capsys):
    _, argv = business_run
    assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    assert ("dates from column 'date' (found by its name; --date-column none reads the rows without dates): 45 "
            "values from 2024-01-01 to 2024-03-01, one every 1 business day (Mon-Fri, weekends skipped, as pandas' "
            "freq 'B')") in capsys.readouterr().out


def test_a_resumed_run_keeps_its_business_days(business_run, tmp_path, capsys):
    _, argv = business_run
    out = tmp_path / "run"
    assert main([*argv, "--out", str(out)]) == 0
    assert main([*argv[:-4], "--epochs", "2", "--hidden", "4", "--resume", "--out", str(out)]) == 0
    capsys.readouterr()
    assert load_checkpoint(out, "last").meta["dates"]["step"]["business"] is True
    code, printed, _ = _dates(capsys, "--checkpoint", out, "--which", "last", "--steps", 3)
    assert code == 0 and printed == ["2024-03-04", "2024-03-05", "2024-03-06"]


def test_a_newer_file_is_read_on_business_days(business_run, tmp_path, capsys):
    out, _ = business_run
    # Monday 2024-03-04 .. Friday 2024-03-29, Friday 2024-03-15 missing (a holiday)
    newer = _weekdays(tmp_path / "newer.csv", datetime.date(2024, 3, 4), datetime.date(2024, 3, 29),
                      skip={datetime.date(2024, 3, 15)})
    code, printed, err = _dates(capsys, "--checkpoint", out, "--steps", 2, "--data", newer)
    assert code == 2 and "a gap (1 missing business day) between line 10 (2024-03-14) and line 11 (2024-03-18)" in err
    code, printed, err = _dates(capsys, "--checkpoint", out, "--steps", 2, "--data", newer, "--fill", "linear")
    assert code == 0 and printed == ["2024-04-01", "2024-04-02"]
    assert "--fill linear filled 1 missing value (1 missing date, the longest gap 1 step, at 2024-03-15)" in err
    # --start counts business days in the file, the filled Friday included: 10 is Monday 2024-03-18
    code, printed, _ = _dates(capsys, "--checkpoint", out, "--steps", 1, "--data", newer, "--fill", "linear",
                              "--start", 10)
    assert code == 0 and printed[0] == "2024-03-18"
    # calendar days (weekends in it) for a business-day run: refused, saying why
    daily = tmp_path / "daily.csv"
    daily.write_text("date,sales\n" + "".join(f"{datetime.date(2024, 3, 4) + datetime.timedelta(days=i)},{i}\n"
                                              for i in range(20)))
    code, _, err = _dates(capsys, "--checkpoint", out, "--steps", 1, "--data", daily)
    assert code == 2 and err.endswith("line 7: 2024-03-09 is a Saturday, off the run's business days (Monday to "
                                      "Friday, the weekends skipped) (one of 5 weekend rows: the file has one value "
                                      "every day, the run one every business day; resample it to business days)\n")
    assert err.count("\n") == 1


def test_forecast_data_reads_a_few_weekdays_on_the_runs_business_days(business_run, tmp_path, capsys):
    # Monday .. Friday alone has no weekend between its rows (on its own: calendar days, and refused as
    # another step); a business run reads it on its business days, without --fill too
    out, _ = business_run
    week = _weekdays(tmp_path / "week.csv", datetime.date(2024, 3, 4), datetime.date(2024, 3, 8))
    code, printed, err = _dates(capsys, "--checkpoint", out, "--steps", 3, "--data", week)
    assert code == 0 and printed == ["2024-03-11", "2024-03-12", "2024-03-13"], err
    # a stray Saturday: the refusal names it as off the run's business days (not "resample", nor --fill)
    stray = tmp_path / "stray.csv"
    _weekdays(stray, datetime.date(2024, 3, 4), datetime.date(2024, 3, 22))
    lines = stray.read_text().splitlines()
    stray.write_text("\n".join([*lines[:11], "2024-03-16,104", *lines[11:]]) + "\n")  # after Friday the 15th
    for fill in ([], ["--fill", "linear"]):
        code, printed, err = _dates(capsys, "--checkpoint", out, "--steps", 2, "--data", stray, *fill)
        assert code == 2 and err == (f"seqlab: error: CSV file {str(stray)!r}, column 'date', line 12: 2024-03-16 is "
                                     "a Saturday, off the run's business days (Monday to Friday, the weekends "
                                     "skipped): drop it\n"), err


def test_weekdays_for_a_run_on_calendar_days_are_read_with_fill_their_weekends_filled(tmp_path, capsys):
    # a run on calendar days (every day of January and February 2024), then a file of weekdays only:
    # refused without --fill (one value every business day), the refusal naming --fill; with --fill
    # linear each weekend is two missing days, filled, and the forecast continues on calendar days
    data = tmp_path / "daily.csv"
    data.write_text("date,sales\n" + "".join(f"{datetime.date(2024, 1, 1) + datetime.timedelta(days=i)},{i % 7}\n"
                                              for i in range(60)))
    out = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(data), "--column", "sales", "--epochs", "1", "--hidden", "4",
                 "--out", str(out)]) == 0
    # Monday 2024-03-04 .. Friday 2024-03-22: 15 weekdays, two weekends missing
    newer = _weekdays(tmp_path / "newer.csv", datetime.date(2024, 3, 4), datetime.date(2024, 3, 22))
    capsys.readouterr()
    code, _, err = _dates(capsys, "--checkpoint", out, "--steps", 2, "--data", newer)
    assert code == 2 and err.endswith("has one value every 1 business day, the run in " + repr(str(out)) + " one "
                                      "every 1 day: the model forecasts one step of 1 day at a time; resample the "
                                      "file to one value every 1 day (or --fill linear or --fill ffill reads it on "
                                      "the run's calendar days, its weekends filled)\n"), err
    code, printed, err = _dates(capsys, "--checkpoint", out, "--steps", 2, "--data", newer, "--fill", "linear")
    assert code == 0 and printed == ["2024-03-23", "2024-03-24"], err  # Friday's next: Saturday
    assert "--fill linear filled 4 missing values (4 missing dates, the longest gap 2 steps, at 2024-03-09.." in err
    # positions count calendar days: 5 is Saturday 2024-03-09, 6 Sunday, both filled
    code = main(["forecast", "--checkpoint", str(out), "--data", newer, "--fill", "linear", "--steps", "2",
                 "--start", "5"])
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()[:2]]
    assert code == 0 and [row[0] for row in rows] == ["2024-03-09", "2024-03-10"]
    assert [row[2] for row in rows] == ["filled", "filled"]
