"""`seqlab train forecast`, `seqlab forecast`, `seqlab evaluate` on forecast runs; bad input exits 2."""

import json

import pytest

from seqlab.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("fc") / "run"
    assert main(["train", "forecast", "--epochs", "2", "--out", str(out)]) == 0
    return out


def test_train_prints_k_step_mse_against_the_floor(run_dir, capsys):
    assert main(["train", "forecast", "--model", "lstm", "--tau", "6", "--hidden", "4", "--epochs", "1",
                 "--out", str(run_dir.parent / "lstm")]) == 0
    out = capsys.readouterr().out
    assert "64-step MSE on the held-out part" in out and "x noise floor 0.04" in out
    assert (run_dir.parent / "lstm" / "k_step.png").is_file()
    # each line: the MSE and its ratio to the floor 0.04; the multi-step part starts at position 604,
    # the book's time t = 605
    report = json.loads((run_dir.parent / "lstm" / "report.json").read_text())
    for k in ("1", "64"):
        mse = report["k_step"][k]["mse"]
        assert f"{k}-step MSE on the held-out part: {mse:.4f} ({mse / 0.04:.3f} x noise floor 0.04)" in out
    assert f"multi-step MSE from t = 605: {report['multistep_mse']:.4f}" in out
    # and the last line is the report's figures as one JSON object (as every trainer ends)
    last = json.loads(out.strip().splitlines()[-1])
    assert last["multistep_mse"] == report["multistep_mse"] and last["noise_floor"] == pytest.approx(0.04)
    assert last["k_step_mse"] == {k: v["mse"] for k, v in report["k_step"].items()}


def test_evaluate_prints_mse_and_tokens(run_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    report = json.loads((run_dir / "report.json").read_text())
    assert result["tokens"] == 396 and result["mse"] == pytest.approx(report["one_step_mse"])
    assert set(result["k_step_mse"]) == {"1", "4", "16", "64"}


def test_forecast_future_and_inside_the_series(run_dir, capsys, tmp_path):
    assert main(["forecast", "--checkpoint", str(run_dir), "--steps", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1001", "1002", "1003", "1004", "1005"]
    png = tmp_path / "f.png"
    assert main(["forecast", "--checkpoint", str(run_dir), "--steps", "396", "--start", "604", "--json",
                 "--plot", str(png)]) == 0
    result = json.loads(capsys.readouterr().out)
    report = json.loads((run_dir / "report.json").read_text())
    assert result["tokens"] == 396 and result["mse"] == pytest.approx(report["multistep_mse"], rel=1e-5)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_train_on_a_csv_column(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    csv.write_text("day,value\n" + "".join(f"{i},{(i % 7) * 1.5}\n" for i in range(120)))
    out = tmp_path / "csv"
    assert main(["train", "forecast", "--data", str(csv), "--column", "value", "--model", "gru",
                 "--hidden", "4", "--tau", "7", "--epochs", "1", "--out", str(out)]) == 0
    assert "MSE on the held-out part" in capsys.readouterr().out and (out / "best.safetensors").is_file()


@pytest.mark.parametrize("argv, message", [
    (["forecast", "--steps", "0"], "--steps must be positive"),
    (["forecast", "--steps", "3", "--start", "2"], "prediction must start between position 4"),
    (["forecast", "--steps", "3", "--plot", "x.jpg"], "must name a .png"),
])
def test_bad_forecast_input_exits_2(run_dir, argv, message, capsys):
    assert main(argv[:1] + ["--checkpoint", str(run_dir)] + argv[1:]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_training_input_exits_2(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    csv.write_text("a,b\n1,2\n2,nan\n3,4\n4,5\n5,6\n6,7\n")
    short = tmp_path / "short.csv"
    short.write_text("b\n1\n2\n3\n")
    cases = [
        (["--data", str(csv), "--column", "c"], "no column 'c'; its columns are: a, b"),
        (["--data", str(csv), "--column", "b"], "NaN/inf"),
        (["--data", str(short), "--column", "b"], "needs at least 5"),
        (["--data", str(csv)], "needs --column NAME"),
        (["--tau", "0"], "--tau must be a positive"),
    ]
    for extra, message in cases:
        assert main(["train", "forecast", "--out", str(tmp_path / "o")] + extra) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_forecast_refuses_a_missing_checkpoint(tmp_path, capsys):
    assert main(["forecast", "--checkpoint", str(tmp_path), "--steps", "3"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_which_last_reads_last_safetensors(run_dir, capsys, tmp_path):
    # a run folder whose last.safetensors holds an all-zero MLP (epoch 99): it predicts exactly
    # 0 everywhere (the sine is not standardised: mean 0, std 1), while best is the trained model
    import shutil

    import torch

    from seqlab.training.checkpoint import load_checkpoint, save_checkpoint

    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(run_dir / "best.safetensors", folder / "best.safetensors")
    best = load_checkpoint(run_dir, "best")
    zero = {k: torch.zeros_like(v) for k, v in best.model.items()}
    save_checkpoint(folder / "last.safetensors", model=zero, meta=dict(best.meta, epoch=99), extra=best.extra)
    capsys.readouterr()
    for which in ("best", "last"):
        assert main(["forecast", "--checkpoint", str(folder), "--steps", "3", "--json", "--which", which]) == 0
        preds = json.loads(capsys.readouterr().out)["predictions"]
        assert (preds == [0.0, 0.0, 0.0]) is (which == "last")
    assert main(["evaluate", "--checkpoint", str(folder), "--which", "last"]) == 0
    assert json.loads(capsys.readouterr().out)["epoch"] == 99
    assert main(["evaluate", "--checkpoint", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out)["epoch"] == best.meta["epoch"]
