"""A CSV series with a date column: checked when read, kept in the checkpoints, and the dates
`seqlab forecast` predicts for; a series without one prints positions as before."""

import datetime
import json
import math

import pytest

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint


def _csv(path, days=120, newest_first=False, header="date,sales"):
    start = datetime.date(2024, 1, 1)
    rows = [f"{start + datetime.timedelta(days=i)},{100 + 10 * ((i % 7) - 3) + 0.1 * i:.2f}\n" for i in range(days)]
    path.write_text(header + "\n" + "".join(reversed(rows) if newest_first else rows))
    return str(path)


@pytest.fixture(scope="module")
def dated_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dated")
    out = folder / "run"
    assert main(["train", "forecast", "--data", _csv(folder / "s.csv"), "--column", "sales", "--tau", "7",
                 "--hidden", "4", "--epochs", "2", "--season", "7", "--out", str(out)]) == 0
    return out


def test_training_reads_the_dates_and_keeps_them(dated_run):
    meta = load_checkpoint(dated_run, "best").meta
    assert meta["dates"] == {"column": "date", "start": "2024-01-01", "last": "2024-04-29", "every": "1 day",
                             "step": {"days": 1, "seconds": 0, "microseconds": 0}, "length": 120,
                             "date_only": True, "month_only": False}
    report = json.loads((dated_run / "report.json").read_text())
    # held out from position 72 (60% of 120 values): the book's time t = 73, the 73rd day
    assert (report["heldout_from"], report["heldout_from_time"], report["heldout_from_date"]) == \
        (72, 73, "2024-03-13")


def test_training_says_where_the_dates_come_from(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "forecast", "--data", _csv(tmp_path / "s.csv"), "--column", "sales", "--tau", "7",
                 "--hidden", "4", "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert ("dates from column 'date' (found by its name; --date-column none reads the rows without dates): 120 "
            "values from 2024-01-01 to 2024-04-29, one every 1 day") in printed
    assert "multi-step MSE from t = 73 (2024-03-13): " in printed


def test_forecast_prints_the_dates_it_predicts(dated_run, capsys):
    assert main(["forecast", "--checkpoint", str(dated_run), "--steps", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["2024-04-30", "2024-05-01", "2024-05-02"]
    assert main(["forecast", "--checkpoint", str(dated_run), "--steps", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["date"] == ["2024-04-30", "2024-05-01"] and result["time"] == [121, 122]
    # inside the series: the dates of those positions, beside the actual values
    assert main(["forecast", "--checkpoint", str(dated_run), "--steps", "2", "--start", "72"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines[:2]] == ["2024-03-13", "2024-03-14"]
    assert len(lines[0].split("\t")) == 3 and lines[-1].startswith("MSE over the 2 observed values")



def _across_dst(path, hourly):
    """60 hourly (from 2024-03-30 00:00) or daily (from 2024-03-01 noon) Paris times, each with its UTC
    offset (+01:00, then +02:00 from 2024-03-31 01:00 UTC), as pandas writes a tz-aware index."""
    utc = datetime.timezone.utc
    if hourly:
        times = [datetime.datetime(2024, 3, 29, 23, tzinfo=utc) + datetime.timedelta(hours=i) for i in range(60)]
    else:  # noon on the wall clock: 11:00 UTC before the change, 10:00 UTC after
        times = [datetime.datetime(2024, 3, 1, 11, tzinfo=utc) + datetime.timedelta(days=i) for i in range(60)]
        times = [t if t < datetime.datetime(2024, 3, 31, 1, tzinfo=utc) else t - datetime.timedelta(hours=1)
                 for t in times]
    change = datetime.datetime(2024, 3, 31, 1, tzinfo=utc)
    rows = [t.astimezone(datetime.timezone(datetime.timedelta(hours=1 if t < change else 2))).isoformat()
            for t in times]
    path.write_text("date,v\n" + "".join(f"{r},{math.sin(i / 3):.4f}\n" for i, r in enumerate(rows)))
    return str(path)


@pytest.mark.parametrize("hourly, future, inside", [
    (True, ["2024-04-01T13:00:00+02:00", "2024-04-01T14:00:00+02:00"],  # after 2024-04-01T12:00:00+02:00
     ["2024-03-31T00:00:00+01:00", "2024-03-31T01:00:00+01:00", "2024-03-31T03:00:00+02:00"]),  # (02:00 skipped)
    (False, ["2024-04-30T12:00:00+02:00", "2024-05-01T12:00:00+02:00"],  # one a day on the wall clock
     ["2024-03-30T12:00:00+01:00", "2024-03-31T12:00:00+02:00", "2024-04-01T12:00:00+02:00"]),
])
def test_forecasts_across_a_daylight_saving_change_are_dated_in_the_last_rows_offset(tmp_path, capsys, hourly,
                                                                                      future, inside):
    out = tmp_path / "run"
    assert main(["train", "forecast", "--data", _across_dst(tmp_path / "s.csv", hourly), "--column", "v",
                 "--hidden", "4", "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["forecast", "--checkpoint", str(out), "--steps", "2"]) == 0
    got = capsys.readouterr()
    assert [line.split("\t")[0] for line in got.out.strip().splitlines()] == future
    assert got.err == ("seqlab: note: the dates carry UTC offsets +01:00 and +02:00; forecasts are dated in the "
                       "last row's +02:00 (offsets name no time zone, so a later daylight-saving change is not "
                       "foreseen)\n")
    assert main(["forecast", "--checkpoint", str(out), "--steps", "3", "--start", "24" if hourly else "29"]) == 0
    got = capsys.readouterr()  # inside the series: each row in its own offset, and nothing to say
    assert [line.split("\t")[0] for line in got.out.strip().splitlines()[:3]] == inside and got.err == ""


def test_without_a_date_column_the_output_is_positions_as_before(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "forecast", "--data", _csv(tmp_path / "s.csv"), "--column", "sales", "--date-column",
                 "none", "--tau", "7", "--hidden", "4", "--epochs", "1", "--out", str(out)]) == 0
    assert "dates from column" not in capsys.readouterr().out
    assert load_checkpoint(out, "best").meta["dates"] is None
    assert main(["forecast", "--checkpoint", str(out), "--steps", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out).keys() == {"time", "predictions"}
    assert main(["forecast", "--checkpoint", str(out), "--steps", "2"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()] == ["121", "122"]


def test_evaluate_gives_the_baselines_and_the_season(dated_run, capsys):
    assert main(["evaluate", "--checkpoint", str(dated_run)]) == 0
    result = json.loads(capsys.readouterr().out)
    report = json.loads((dated_run / "report.json").read_text())
    assert result["season"] == 7 and result["selected_on"] == "heldout"
    assert result["naive_mse"] == pytest.approx(report["one_step_naive_mse"])
    assert result["seasonal_naive_mse"] == pytest.approx(report["one_step_seasonal_naive_mse"])
    assert result["k_step_seasonal_naive_mse"] == pytest.approx(report["k_step_seasonal_naive_mse"])
    # the weekly cycle repeats exactly on a level rising 0.1 a day: seasonal naive is off by 0.7 a week back
    assert result["seasonal_naive_mse"] == pytest.approx(0.49, abs=1e-3)


def _long(path):
    """Two stores' sales in one file (long format): each date twice."""
    path.write_text("Date,store,sales\n" + "".join(f"2024-01-{d:02d},{store},{d}\n" for d in range(1, 12)
                                                   for store in "AB"))
    return str(path)


@pytest.mark.parametrize("make, message", [
    (lambda p: _csv(p, newest_first=True), "column 'date' runs newest first (2024-04-29 on line 2, 2024-04-28 on "
                                           "line 3): sort the file by its dates in ascending order (oldest first)"),
    (lambda p: _long(p), "line 3 repeats the timestamp 2024-01-01 of line 2; a forecast reads one series per file"),
])
def test_a_file_whose_dates_are_out_of_order_exits_2(tmp_path, capsys, make, message):
    assert main(["train", "forecast", "--data", make(tmp_path / "s.csv"), "--column", "sales", "--epochs", "1",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_checkpoint_with_edited_dates_is_refused_in_one_line(dated_run, tmp_path, capsys):
    from seqlab.training.checkpoint import save_checkpoint

    best = load_checkpoint(dated_run, "best")
    meta = dict(best.meta, dates=dict(best.meta["dates"], last="2031-01-01"))
    save_checkpoint(tmp_path / "best.safetensors", model=best.model, meta=meta, extra=best.extra)
    assert main(["forecast", "--checkpoint", str(tmp_path / "best.safetensors"), "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "its dates" in err and err.count("\n") == 1 and "Traceback" not in err
