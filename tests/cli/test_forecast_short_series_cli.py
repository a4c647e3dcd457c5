"""`seqlab train forecast` and `seqlab evaluate` on short CSV series."""

import json
import math

import pytest

from seqlab.cli import main


def test_a_short_csv_trains_reports_the_k_steps_that_fit_and_evaluates(tmp_path, capsys):
    # 40 values: k = 64 needs 68. Training used to fail after its epoch (exit 2, no report.json),
    # and evaluate on its checkpoints always failed the same way
    csv = tmp_path / "s40.csv"
    csv.write_text("v\n" + "".join(f"{math.sin(i / 3):.3f}\n" for i in range(40)))
    out = tmp_path / "s40"
    assert main(["train", "forecast", "--data", str(csv), "--column", "v", "--epochs", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "the k-step report leaves out k = 64: a 64-step prediction needs tau + k = 68 values" in printed
    assert "16-step MSE on the held-out part" in printed and "64-step MSE" not in printed
    report = json.loads((out / "report.json").read_text())
    assert main(["evaluate", "--checkpoint", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["k_step_mse"]) == {"1", "4", "16"} and set(result["k_step_left_out"]) == {"64"}
    assert result["mse"] == pytest.approx(report["one_step_mse"]) and result["tokens"] == 40 - 24


def test_an_eight_value_csv_trains_with_or_without_n_train(tmp_path, capsys):
    csv = tmp_path / "s8.csv"
    csv.write_text("v\n1\n2\n3\n4\n5\n6\n7\n8\n")
    base = ["train", "forecast", "--data", str(csv), "--column", "v", "--epochs", "1"]
    # no --n-train: the default split (60% of 8 values minus tau = 0 rows) is clamped to 1 row, not refused
    assert main(base + ["--out", str(tmp_path / "a")]) == 0
    assert json.loads((tmp_path / "a" / "report.json").read_text())["heldout_from"] == 5
    assert main(base + ["--n-train", "2", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "b")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["k_step_mse"]) == {"1", "4"} and set(result["k_step_left_out"]) == {"16", "64"}
    assert result["tokens"] == 2


def test_a_series_too_short_for_one_step_is_refused_before_training(tmp_path, capsys):
    csv = tmp_path / "s5.csv"
    csv.write_text("v\n1\n2\n3\n4\n5\n")
    out = tmp_path / "run"
    assert main(["train", "forecast", "--data", str(csv), "--column", "v", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "has 5 values, too short for tau = 4 lags: it needs at least tau + 2 = 6" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (out / "last.safetensors").exists() and not (out / "metrics.jsonl").exists()


def test_a_given_n_train_out_of_range_is_named(tmp_path, capsys):
    csv = tmp_path / "s8.csv"
    csv.write_text("v\n1\n2\n3\n4\n5\n6\n7\n8\n")
    assert main(["train", "forecast", "--data", str(csv), "--column", "v", "--n-train", "4",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "the training rows must be between 1 and 3 to leave a held-out part, got --n-train 4" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_season_longer_than_the_data_before_the_held_out_part_prints_n_a(tmp_path, capsys):
    # 40 values, held out from position 24: a season of 30 has no value a season before x_24, so the
    # seasonal-naive figures are n/a (null in JSON, with why), while the naive ones are there
    csv = tmp_path / "s40.csv"
    csv.write_text("v\n" + "".join(f"{math.sin(i / 3):.3f}\n" for i in range(40)))
    out = tmp_path / "s40"
    assert main(["train", "forecast", "--data", str(csv), "--column", "v", "--epochs", "1", "--season", "30",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1-step MSE on the held-out part" in printed and "seasonal naive (30): n/a\n" in printed
    last = json.loads(printed.strip().splitlines()[-1])
    assert last["k_step_seasonal_naive_mse"] == {"1": None, "4": None, "16": None}
    assert last["multistep_seasonal_naive_mse"] is None and last["k_step_naive_mse"]["16"] > 0
    report = json.loads((out / "report.json").read_text())
    assert report["seasonal_naive_left_out"]["1"] == ("the first held-out 1-step target (position 24) has no "
                                                      "value 30 steps (whole seasons of 30) before it")
    assert main(["train", "forecast", "--data", str(csv), "--column", "v", "--season", "40",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--season 40 is as long as column 'v'" in capsys.readouterr().err
