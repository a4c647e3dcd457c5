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
    for k in ("1", "64"):  # beside each figure, the naive forecast's on the same targets
        mse, naive = report["k_step"][k]["mse"], report["k_step_naive_mse"][k]
        assert (f"{k}-step MSE on the held-out part: {mse:.4f} ({mse / 0.04:.3f} x noise floor 0.04); "
                f"naive (last value): {naive:.4f}\n") in out
    assert (f"multi-step MSE from t = 605: {report['multistep_mse']:.4f}; naive (last value): "
            f"{report['multistep_naive_mse']:.4f}\n") in out
    # which epoch the figures are, and that the held-out part chose it
    assert (f"figures of epoch {report['epoch']} (best.safetensors), the epoch of lowest held-out one-step MSE: "
            "the held-out part also chose it") in out
    # and the last line is the report's figures as one JSON object (as every trainer ends)
    last = json.loads(out.strip().splitlines()[-1])
    assert last["multistep_mse"] == report["multistep_mse"] and last["noise_floor"] == pytest.approx(0.04)
    assert last["k_step_mse"] == {k: v["mse"] for k, v in report["k_step"].items()}
    assert last["k_step_naive_mse"] == report["k_step_naive_mse"] and last["season"] is None
    assert (last["epoch"], last["selected_on"]) == (report["epoch"], "heldout")


def test_evaluate_prints_mse_and_tokens(run_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir)]) == 0
    result = json.loads(capsys.readouterr().out)
    report = json.loads((run_dir / "report.json").read_text())
    assert result["tokens"] == 396 and result["mse"] == pytest.approx(report["one_step_mse"])
    assert set(result["k_step_mse"]) == {"1", "4", "16", "64"}
    # the naive forecast on the same targets, and which epoch this is and what chose it
    assert result["naive_mse"] == pytest.approx(report["one_step_naive_mse"])
    assert result["k_step_naive_mse"] == pytest.approx(report["k_step_naive_mse"])
    assert result["multistep_naive_mse"] == pytest.approx(report["multistep_naive_mse"])
    assert result["season"] is None and result["seasonal_naive_mse"] is None
    assert result["epoch"] == report["epoch"] and result["selected_on"] == "heldout"


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
                 "--hidden", "4", "--tau", "7", "--epochs", "1", "--season", "7", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "MSE on the held-out part" in printed and (out / "best.safetensors").is_file()
    # an exact weekly cycle: seasonal naive is exact, naive is not
    assert "; naive (last value): " in printed and "seasonal naive (7): 0.0000\n" in printed
    assert json.loads(printed.strip().splitlines()[-1])["k_step_seasonal_naive_mse"] == {
        "1": 0.0, "4": 0.0, "16": 0.0, "64": 0.0}


@pytest.mark.parametrize("argv, message", [
    (["forecast", "--steps", "0"], "--steps must be positive"),
    (["forecast", "--steps", "3", "--start", "2"], "prediction must start between position 4"),
    (["forecast", "--steps", "3", "--plot", "x.jpg"], "must name a .png"),
])
def test_bad_forecast_input_exits_2(run_dir, argv, message, capsys):
    assert main(argv[:1] + ["--checkpoint", str(run_dir)] + argv[1:]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_steps_past_the_memory_are_refused_before_any_work(run_dir, capsys, monkeypatch):
    # --steps 10**9: torch allocated its 4 GB, then the loop ran for hours (~30 us a step) before the lists
    # of predictions and times (72 bytes a step at the least) ran out of memory
    from seqlab.training import common

    monkeypatch.setattr(common, "physical_memory", lambda: 2**20)  # a 1 MiB machine: 14,563 steps of 72 bytes
    assert main(["forecast", "--checkpoint", str(run_dir), "--steps", "14564"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqlab: error: --steps 14,564 would need more than 0.00098 GiB for its predictions "
                          "alone (at least 72 bytes a step), past this machine's 0.00098 GiB of memory: ask for "
                          "fewer steps") and err.count("\n") == 1
    assert main(["forecast", "--checkpoint", str(run_dir), "--steps", "14563"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 14563
    monkeypatch.setattr(common, "physical_memory", lambda: None)  # (Windows: not known, nothing refused)
    assert main(["forecast", "--checkpoint", str(run_dir), "--steps", "14564"]) == 0
    capsys.readouterr()
    monkeypatch.undo()  # this machine: no memory holds 10**15 steps
    assert main(["forecast", "--checkpoint", str(run_dir), "--steps", str(10**15)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqlab: error: --steps 1,000,000,000,000,000 would need more than 67,055,225 GiB")


def test_bad_training_input_exits_2(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    csv.write_text("a,b\n1,2\n2,nan\n3,4\n4,5\n5,6\n6,7\n")
    short = tmp_path / "short.csv"
    short.write_text("b\n1\n2\n3\n")
    days = tmp_path / "days.csv"
    days.write_text("d,b\n2024-01-01,1\n" + "".join(f"{i},{i}\n" for i in range(2, 12)))
    cases = [
        (["--data", str(csv), "--column", "c"], "no column 'c'; its columns are: 'a', 'b'"),
        (["--data", str(csv), "--column", "b"], "NaN/inf"),
        (["--data", str(short), "--column", "b"], "needs at least 5"),
        (["--data", str(csv)], "needs --column NAME"),
        (["--tau", "0"], "--tau must be a positive"),
        (["--season", "1"], "--season must be at least 2"),
        (["--date-column", "date"], "--date-column needs --data FILE.csv"),
        (["--data", str(days), "--column", "b", "--date-column", "d"], "column 'd', line 3: '2' is not an ISO 8601"),
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
    last = json.loads(capsys.readouterr().out)
    assert last["epoch"] == 99 and last["selected_on"] is None  # the last epoch: not chosen on the held-out part
    assert main(["evaluate", "--checkpoint", str(folder)]) == 0
    best_result = json.loads(capsys.readouterr().out)
    assert best_result["epoch"] == best.meta["epoch"] and best_result["selected_on"] == "heldout"
    assert last["naive_mse"] == best_result["naive_mse"]  # the baseline does not depend on the model
