"""`seqlab forecast --data NEWER.csv` (forecast after a newer file, with the run's training scaler)
and `--interval P` (empirical quantiles of the held-out h-step errors)."""

import dataclasses
import datetime
import json
import math
import random

import numpy as np
import pytest
import torch

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.forecast import from_checkpoint

DAY0 = datetime.date(2024, 1, 1)


def _daily(path, values, first=0, header="date,sales"):
    path.write_text(header + "\n" + "".join(f"{DAY0 + datetime.timedelta(days=first + i)},{v!r}\n"
                                            for i, v in enumerate(values)))
    return path


def _values(n, seed=0):
    rng = random.Random(seed)
    return [round(10 + 3 * math.sin(i / 5) + rng.gauss(0, 0.3), 4) for i in range(n)]


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory, one_thread):
    """A daily CSV run: 200 values from 2024-01-01, tau = 4, held out from position 120 (80 values)."""
    folder = tmp_path_factory.mktemp("newdata")
    csv = _daily(folder / "train.csv", _values(200))
    out = folder / "run"
    assert main(["train", "forecast", "--data", str(csv), "--column", "sales", "--epochs", "3", "--out",
                 str(out)]) == 0
    return out, csv


@pytest.fixture(scope="module")
def sine_run(long_sine_run):
    return long_sine_run  # (tests/cli/conftest.py: trained once for both files)


def _forecast(capsys, *argv):
    capsys.readouterr()
    code = main(["forecast", *map(str, argv)])
    return code, capsys.readouterr()


def test_the_runs_own_csv_as_data_gives_the_same_lines(csv_run, capsys):
    run, csv = csv_run
    for extra in ([], ["--start", "150"], ["--interval", "0.8"], ["--start", "190", "--interval", "0.9"]):
        code, plain = _forecast(capsys, "--checkpoint", run, "--steps", 6, *extra)
        assert code == 0
        code, again = _forecast(capsys, "--checkpoint", run, "--steps", 6, "--data", csv, *extra)
        assert code == 0 and again.out == plain.out and plain.out.startswith("2024-")
    assert "2024-07-19\t" in _forecast(capsys, "--checkpoint", run, "--steps", 1)[1].out  # after 2024-07-18


def test_a_sine_run_reads_data_with_column_and_matches_its_own_forecast(sine_run, tmp_path, capsys):
    series = load_checkpoint(sine_run, "best").extra["series"]
    csv = tmp_path / "sine.csv"
    csv.write_text("x\n" + "".join(f"{v!r}\n" for v in series.tolist()))  # float32 values, read back exactly
    plain = _forecast(capsys, "--checkpoint", sine_run, "--steps", 5)[1].out
    code, again = _forecast(capsys, "--checkpoint", sine_run, "--steps", 5, "--data", csv, "--column", "x")
    assert code == 0 and again.out == plain and plain.startswith("3001\t")
    assert "extrapolation" not in again.err


def test_shifted_data_is_read_with_the_training_scaler(csv_run, tmp_path, capsys):
    run, _ = csv_run
    shifted = [v + 100.0 for v in _values(60, seed=1)]  # far above anything the run saw
    csv = _daily(tmp_path / "shifted.csv", shifted, first=300)
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 3, "--data", csv, "--json")
    assert code == 0
    first = json.loads(printed.out)["predictions"][0]
    # by hand: the last tau values, standardised with the mean and std the checkpoint kept
    ckpt = load_checkpoint(run, "best")
    net, _, cfg = from_checkpoint(ckpt)
    mean, std, tau = ckpt.meta["mean"], ckpt.meta["std"], cfg.series.tau
    x = torch.tensor(shifted, dtype=torch.float32)
    with torch.no_grad():
        by_hand = net(((x[-tau:] - mean) / std).reshape(1, tau)).item() * std + mean
        window = x[:int(0.6 * len(x))]  # what a scaler re-fitted on the new file would have used
        refit = net(((x[-tau:] - window.mean()) / window.std()).reshape(1, tau)).item() * window.std().item() \
            + window.mean().item()
    assert first == pytest.approx(by_hand, rel=1e-6)
    assert abs(by_hand - refit) > 1  # (so that the test tells the two apart)


def test_dates_continue_from_the_new_files_last_date(csv_run, tmp_path, capsys):
    run, _ = csv_run
    csv = _daily(tmp_path / "newer.csv", _values(50, seed=2), first=250)  # 2024-09-07 .. 2024-10-26
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 3, "--data", csv)
    assert code == 0
    assert [line.split("\t")[0] for line in printed.out.splitlines()] == ["2024-10-27", "2024-10-28", "2024-10-29"]
    assert "50 values from 2024-09-07 to 2024-10-26, one every 1 day" in printed.err
    # --start indexes the new file: its own dates, and its values as the actual ones
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 2, "--data", csv, "--start", 10)
    lines = printed.out.splitlines()
    assert code == 0 and lines[0].startswith("2024-09-17\t") and lines[1].split("\t")[2] == f"{_values(50, 2)[11]:.6f}"
    # a file without the run's date column: refused, unless --date-column none reads its rows as steps
    plain = tmp_path / "nodates.csv"
    plain.write_text("sales\n" + "".join(f"{v}\n" for v in _values(50, seed=2)))
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 2, "--data", plain)
    assert code == 2 and "has no column 'date', the run's date column" in printed.err
    assert "--date-column NAME" in printed.err and printed.err.count("\n") == 1
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 2, "--data", plain, "--date-column", "none")
    assert code == 0 and printed.out.startswith("51\t") and "none were read from CSV file" in printed.err
    # a renamed date column, named by --date-column: read strictly, its dates continued
    renamed = _daily(tmp_path / "renamed.csv", _values(50, seed=2), first=250, header="day,sales")
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 1, "--data", renamed, "--date-column", "day")
    assert code == 0 and printed.out.startswith("2024-10-27\t")


def _lines(path, rows, header="date,sales"):
    path.write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows))
    return path


def test_a_dated_runs_new_file_has_its_dates_read_strictly(csv_run, tmp_path, capsys):
    # the run's dates were found by their name (auto); the new file's are read as if --date-column
    # named the run's date column: a gap or a date that is not ISO 8601 is refused naming its line,
    # never read as consecutive steps (which would forecast from the wrong inputs, with exit 0)
    run, _ = csv_run
    days = [DAY0 + datetime.timedelta(days=300 + i) for i in range(30)]
    values = _values(30, seed=4)
    gap = _lines(tmp_path / "gap.csv", [(d, v) for d, v in zip(days[:25] + days[27:], values)])  # 2 days missing
    european = _lines(tmp_path / "eu.csv", [(d.strftime("%d/%m/%Y"), v) for d, v in zip(days, values)])
    slash = _lines(tmp_path / "slash.csv", [(d.strftime("%Y/%m/%d"), v) for d, v in zip(days, values)])
    for csv, message in ((gap, "a gap (2 missing values) between line 26 (2024-11-20) and line 27 (2024-11-23)"),
                         (european, "line 2: '27/10/2024' is not an ISO 8601 date"),
                         (slash, "line 2: '2024/10/27' is not an ISO 8601 date")):
        code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 3, "--data", csv)
        assert code == 2 and printed.out == "" and message in printed.err, printed.err
        assert printed.err.count("\n") == 1 and "Traceback" not in printed.err
        # --date-column none: the rows as steps, said
        code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 1, "--data", csv, "--date-column", "none")
        after = len(csv.read_text().splitlines())  # the header and n values: position n + 1
        assert code == 0 and printed.out.startswith(f"{after}\t") and "none were read from CSV file" in printed.err


def test_missing_columns_say_which_flag_names_them(csv_run, sine_run, tmp_path, capsys):
    run, _ = csv_run
    renamed = _daily(tmp_path / "revenue.csv", _values(20), header="date,revenue")
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 1, "--data", renamed)
    assert code == 2 and "has no column 'sales' (the run's column); its columns are: 'date', 'revenue': name the " \
                         "column to forecast with --column NAME" in printed.err
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 1, "--data", renamed, "--column", "revenue")
    assert code == 0 and printed.out.startswith("2024-01-21\t")
    # --date-column applies to a dated run's --data only
    for folder, extra, message in (
            (run, ["--date-column", "date"], "--date-column names a column of --data FILE.csv: give --data too"),
            (sine_run, ["--data", renamed, "--column", "revenue", "--date-column", "date"],
             "has no dates, so it reads the rows of --data as steps; leave --date-column out"),
            (run, ["--data", renamed, "--date-column", "auto"], "--date-column auto is for training")):
        code, printed = _forecast(capsys, "--checkpoint", folder, "--steps", 1, *extra)
        assert code == 2 and message in printed.err and printed.err.count("\n") == 1, printed.err


def test_notes_name_only_flags_that_forecast_has(csv_run, sine_run, tmp_path, capsys):
    import re

    from seqlab.cli import build_parser

    forecast = build_parser()._subparsers._group_actions[0].choices["forecast"]
    flags = {opt for action in forecast._actions for opt in action.option_strings}
    run, _ = csv_run
    days = [DAY0 + datetime.timedelta(days=300 + i) for i in range(30)]
    gap = _lines(tmp_path / "gap.csv", [(d, v) for d, v in zip(days[:25] + days[27:], _values(30))])
    odd = _lines(tmp_path / "odd.csv", [(f"day {i}", v) for i, v in enumerate(_values(30))])
    two = tmp_path / "two.csv"  # two date-like columns
    two.write_text("date,time,sales\n" + "".join(f"{d},{d},{v}\n" for d, v in zip(days, _values(30))))
    far = _lines(tmp_path / "far.csv", [(d, v + 100) for d, v in zip(days, _values(30))])
    said = []
    for folder, extra in ((run, ["--data", gap, "--date-column", "none"]), (run, ["--data", odd, "--date-column",
                                                                                  "none"]),
                          (run, ["--data", two]), (run, ["--data", far, "--interval", 0.9]),
                          (sine_run, ["--data", gap, "--column", "sales"]), (sine_run, ["--data", two, "--column",
                                                                                         "sales"])):
        code, printed = _forecast(capsys, "--checkpoint", folder, "--steps", 3, *extra)
        assert code == 0, printed.err
        said += [line for line in printed.err.splitlines() if not line.startswith("seqlab: error")]
    assert any("extrapolation" in line for line in said)
    for line in said:
        assert set(re.findall(r"--[a-z][a-z-]*", line)) <= flags, line


def test_a_file_far_from_the_training_values_is_warned_about(sine_run, tmp_path, capsys):
    far = tmp_path / "far.csv"
    far.write_text("value\n" + "".join(f"{10 + 7 * i / 59:.3f}\n" for i in range(60)))  # 10..17, trained on +-1
    code, printed = _forecast(capsys, "--checkpoint", sine_run, "--steps", 2, "--data", far, "--column", "value")
    assert code == 0 and len(printed.out.splitlines()) == 2
    warned = [line for line in printed.err.splitlines() if "extrapolation" in line]
    assert len(warned) == 1 and warned[0].startswith("seqlab: warning: the last 8 values of CSV file")
    assert "the model never saw values like these" in warned[0]
    assert "training std from the run's training mean" in warned[0] and "is column 'value' the run's series" \
        in warned[0]
    # the window before --start is the one the model reads: the start of the file is still far
    code, printed = _forecast(capsys, "--checkpoint", sine_run, "--steps", 2, "--data", far, "--column", "value",
                              "--start", 30)
    assert code == 0 and "the 8 values before --start 30 of CSV file" in printed.err


def test_refusals_are_one_line(csv_run, sine_run, tmp_path, capsys):
    run, _ = csv_run
    short = _daily(tmp_path / "short.csv", [1.0, 2.0, 3.0])
    monthly = tmp_path / "monthly.csv"
    monthly.write_text("date,sales\n" + "".join(f"2024-{m:02d},{m}\n" for m in range(1, 13)))
    other = _daily(tmp_path / "other.csv", _values(20), header="date,revenue")
    nan = _daily(tmp_path / "nan.csv", [1.0, 2.0, float("nan"), 4.0, 5.0])
    ok = _daily(tmp_path / "ok.csv", _values(20))
    short_run = tmp_path / "s40"  # 40 values: held out from position 24, 16 values
    csv40 = _daily(tmp_path / "s40.csv", _values(40))
    assert main(["train", "forecast", "--data", str(csv40), "--column", "sales", "--epochs", "1",
                 "--out", str(short_run)]) == 0
    cases = [
        (run, ["--data", other], "has no column 'sales' (the run's column); its columns are: 'date', 'revenue'"),
        (run, ["--data", ok, "--column", "price"], "has no column 'price'; its columns are: 'date', 'sales'"),
        (run, ["--data", short], "has 3 values: the model reads the last tau = 4, so it needs at least 4"),
        (run, ["--data", monthly], "has one value every 1 month, the run in"),
        (run, ["--data", nan], "NaN/inf"),
        (run, ["--data", ok, "--start", 30], "prediction must start between position 4"),
        (run, ["--column", "sales"], "--column names a column of --data FILE.csv: give --data too"),
        (sine_run, ["--data", ok], "was trained on the book's sine, so its checkpoint names no CSV column: give "
                                   "--column NAME"),
        (run, ["--interval", "1.5"], "--interval must be a coverage between 0 and 1"),
        (run, ["--interval", "0"], "--interval must be a coverage between 0 and 1"),
        (short_run, ["--interval", "0.9"], "held-out part has 16 values, so fewer than 20 one-step errors"),
    ]
    for folder, extra, message in cases:
        code, printed = _forecast(capsys, "--checkpoint", folder, "--steps", 3, *extra)
        assert code == 2 and printed.out == "", (extra, printed)
        assert message in printed.err and printed.err.count("\n") == 1 and "Traceback" not in printed.err, \
            (extra, printed.err)


def test_interval_width_and_coverage_on_a_noisy_sine(sine_run, capsys):
    code, printed = _forecast(capsys, "--checkpoint", sine_run, "--steps", 16, "--interval", 0.9, "--json")
    assert code == 0
    result = json.loads(printed.out)
    lower, preds, upper = (np.array(result[k]) for k in ("lower", "predictions", "upper"))
    assert result["interval"] == 0.9 and (lower <= preds).all() and (preds <= upper).all()
    # h = 1: the error is the noise (std 0.2) plus the model's own, small on 3000 values; the 5% and
    # 95% quantiles of 1000 errors each have a standard error of ~2% of the width
    width = upper[0] - lower[0]
    assert 0.92 < width / (2 * 1.645 * 0.2) < 1.15
    # coverage on a fresh noise draw of the same sine: one-step predictions at every position.
    # The held-out part also chose best's epoch, so it leans a little narrow (documented)
    from seqlab.data.timeseries import sine_series
    from seqlab.training.forecast_eval import one_step
    from seqlab.training.forecast_interval import interval_offsets

    net, series, _ = from_checkpoint(load_checkpoint(sine_run, "best"))
    band = interval_offsets(net, series, 1, 0.9)
    _, fresh = sine_series(3000, noise=0.2, seed=1)
    errors = (fresh[series.tau:] - one_step(net, dataclasses.replace(series, x=fresh))).double()
    inside = ((band.lower[0] <= errors) & (errors <= band.upper[0])).double().mean().item()
    assert 0.85 < inside < 0.94


def test_interval_quantiles_match_numpy_on_the_held_out_errors(tmp_path, capsys, one_thread):
    # 56 values, tau = 4: held out from position 33, 23 values; h-step paths inside the held-out part:
    # 23 - h + 1 errors, so h = 1..4 have at least 20 (H = 23 - max(20, 12) + 1 = 4) and 5 steps are refused
    csv = _daily(tmp_path / "s56.csv", _values(56, seed=3))
    run = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(csv), "--column", "sales", "--epochs", "2",
                 "--out", str(run)]) == 0
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 5, "--interval", 0.8, "--start", 40)
    assert code == 2 and "held-out part (23 values) gives intervals up to 4 steps ahead" in printed.err
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 4, "--interval", 0.8, "--start", 40, "--json")
    assert code == 0
    result = json.loads(printed.out)
    ckpt = load_checkpoint(run, "best")
    net, _, _ = from_checkpoint(ckpt)
    mean, std, tau, start = ckpt.meta["mean"], ckpt.meta["std"], 4, 33
    x = ckpt.extra["series"]
    errors = {h: [] for h in range(1, 5)}
    with torch.no_grad():
        for origin in range(start, 56):
            window = list(((x[origin - tau:origin] - mean) / std).tolist())
            for h in range(1, min(4, 56 - origin) + 1):  # the model on its own outputs
                window.append(net(torch.tensor(window[-tau:]).reshape(1, tau)).item())
                errors[h].append(x[origin + h - 1].item() - (window[-1] * std + mean))
    assert [len(errors[h]) for h in range(1, 5)] == [23, 22, 21, 20]
    for h in range(1, 5):  # monotone: the widest of horizons 1..h
        lo = min(np.quantile(errors[k], 0.1) for k in range(1, h + 1))
        hi = max(np.quantile(errors[k], 0.9) for k in range(1, h + 1))
        assert result["lower"][h - 1] - result["predictions"][h - 1] == pytest.approx(lo, abs=2e-5)
        assert result["upper"][h - 1] - result["predictions"][h - 1] == pytest.approx(hi, abs=2e-5)


def test_an_outlier_of_1e30_in_the_new_data_gives_a_finite_mse(csv_run, capsys, tmp_path):
    run, _ = csv_run
    values = _values(200)
    values[193] = 1e30  # its squared error overflows float32 (inf): the MSE is taken in float64
    csv = _daily(tmp_path / "outlier.csv", values)
    code, printed = _forecast(capsys, "--checkpoint", run, "--steps", 6, "--start", 190, "--data", csv, "--json")
    assert code == 0
    result = json.loads(printed.out)
    preds, actual = np.array(result["predictions"]), np.array(values[190:196])
    assert result["tokens"] == 6 and math.isfinite(result["mse"])
    assert result["mse"] == pytest.approx(float(np.mean((preds - actual) ** 2)), rel=1e-5)
