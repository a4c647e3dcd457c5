"""Forecast training: the book's run, held-out report, resume, CSV series."""

import json
import math

import pytest
import torch

from seqlab import SeqlabError
from seqlab.config import replace
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.forecast import (ForecastConfig, Series, heldout_mse, k_step_predictions, load_series,
                                      multistep, train_forecaster)
from seqlab.training.metrics import read_metrics

KEYS = {"epoch", "train_loss", "valid_loss", "tokens_per_sec", "lr", "wall_s"}


def quiet(*a, **k):
    pass


def test_book_mlp_run(tmp_path):
    cfg = replace(ForecastConfig(), out=str(tmp_path))
    result = train_forecaster(cfg, log=quiet)
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2, 3, 4, 5] and KEYS <= set(records[0])
    assert records[-1]["train_loss"] < records[0]["train_loss"] and records[-1]["train_loss"] < 0.07
    floor = result["noise_floor"]
    assert floor == pytest.approx(0.04)
    k = {int(key): v["mse"] for key, v in result["k_step"].items()}
    # no predictor beats the noise floor (396 held-out targets: allow sampling slack),
    # and errors grow with the horizon as the book shows
    assert 0.9 * floor < k[1] < 2 * floor and k[1] < k[16] < k[64]
    assert result["k_step"]["1"]["tokens"] == 396 and result["k_step"]["64"]["tokens"] == 396
    best = load_checkpoint(tmp_path, "best").meta
    assert k[1] == pytest.approx(best["valid_loss"], rel=1e-5)  # report = held-out loss of the kept epoch
    for name in ("one_step.png", "multistep.png", "k_step.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["heldout_from"] == 604 and saved["heldout_from_time"] == 605  # 0-based position, the book's t
    assert saved["heldout_from_date"] is None and saved["season"] is None


def test_resume_continues_exactly(tmp_path):
    base = replace(ForecastConfig(), model="gru", hidden=8, tau=8, epochs=4)
    straight = train_forecaster(replace(base, out=str(tmp_path / "a")), log=quiet)
    train_forecaster(replace(base, out=str(tmp_path / "b"), epochs=2), log=quiet)
    resumed = train_forecaster(replace(base, out=str(tmp_path / "b"), resume=True), log=quiet)
    a = read_metrics(tmp_path / "a" / "metrics.jsonl")
    b = read_metrics(tmp_path / "b" / "metrics.jsonl")
    assert [r["epoch"] for r in b] == [1, 2, 3, 4]
    for ra, rb in zip(a, b):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-6)
    assert straight["k_step"]["4"]["mse"] == pytest.approx(resumed["k_step"]["4"]["mse"], rel=1e-6)


def test_csv_series_is_standardised_and_reported_in_its_own_units(tmp_path):
    t = torch.arange(400.0)
    values = 1000 + 50 * torch.sin(0.05 * t) + torch.randn(400, generator=torch.Generator().manual_seed(0))
    csv = tmp_path / "s.csv"
    csv.write_text("t,load\n" + "".join(f"{int(i)},{v:.4f}\n" for i, v in zip(t, values)))
    cfg = replace(ForecastConfig(), data=str(csv), column="load", tau=8, epochs=30, lr=0.01,
                  out=str(tmp_path / "run"))
    series = load_series(cfg.series)
    assert series.n_train == 240 - 8 and series.mean == pytest.approx(values[:240].mean().item(), rel=1e-5)
    # the std too comes from the training window alone (the whole series' std would leak the held-out part)
    assert series.std == pytest.approx(values[:240].std().item(), rel=1e-4)
    result = train_forecaster(cfg, log=quiet)
    naive = ((values[240:] - values[239:-1]) ** 2).mean().item()  # "tomorrow = today"
    assert result["noise_floor"] is None and result["k_step"]["1"]["mse"] < naive
    # metrics.jsonl is in the series' units too: the kept epoch's valid_loss is the report's one-step MSE
    valid = [r["valid_loss"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl")]
    assert result["one_step_mse"] == pytest.approx(min(valid), rel=1e-4)


def test_multistep_and_heldout_mse_on_a_known_model():
    class Mean(torch.nn.Module):  # predicts the mean of its window
        def forward(self, x):
            return x.mean(dim=1, keepdim=True)

    s = Series(torch.tensor([1.0, 3.0, 5.0, 7.0, 9.0]), tau=2, n_train=1)
    assert multistep(Mean(), s, 2, 3).tolist() == [2.0, 2.5, 2.25]
    assert multistep(Mean(), s, 5, 1).tolist() == [8.0]  # past the end of the series
    pos, preds = k_step_predictions(Mean(), s, 2)
    assert pos.tolist() == [3, 4] and preds.tolist() == [2.5, 4.5]
    mse, n = heldout_mse(pos, preds, s)  # held out from position n_train + tau = 3
    assert n == 2 and mse == pytest.approx(((2.5 - 7) ** 2 + (4.5 - 9) ** 2) / 2)
    with pytest.raises(SeqlabError, match="must be positive"):
        multistep(Mean(), s, 2, 0)
    with pytest.raises(SeqlabError, match="k must be positive"):
        k_step_predictions(Mean(), s, 0)
    with pytest.raises(SeqlabError, match="too large"):
        k_step_predictions(Mean(), s, 5)


def test_predictions_are_mapped_back_to_the_series_units():
    # a standardised series (mean 10, std 2): the model reads (x - 10) / 2 and its outputs are
    # mapped back by * 2 + 10. A model that adds 1 to the last scaled value predicts last + 2.
    from seqlab.training.forecast import one_step

    class LastPlusOne(torch.nn.Module):
        def forward(self, x):
            return x[:, -1:] + 1

    s = Series(torch.tensor([10.0, 12.0, 14.0, 16.0, 18.0]), tau=2, n_train=1, mean=10.0, std=2.0)
    assert one_step(LastPlusOne(), s).tolist() == [14.0, 16.0, 18.0]
    assert multistep(LastPlusOne(), s, 2, 3).tolist() == [14.0, 16.0, 18.0]  # its own outputs: +2 each
    assert k_step_predictions(LastPlusOne(), s, 2)[1].tolist() == [16.0, 18.0]


def test_training_steps_on_the_summed_squared_error(tmp_path, monkeypatch):
    # the book backpropagates l.sum() (not the mean): one SGD step over all 600 rows in one batch
    # moves each weight by lr * d/dw sum_i (net(x_i) - y_i)^2, written out here
    import seqlab.training.forecast as fc
    from seqlab.data.timeseries import lag_features
    from seqlab.runtime import seed_everything

    monkeypatch.setattr(fc, "plot_predictions", lambda *a, **k: [])
    cfg = replace(ForecastConfig(), optimizer="sgd", lr=0.001, batch_size=600, epochs=1, out=str(tmp_path))
    series = load_series(cfg.series)
    features, labels = lag_features(series.x, 4)
    seed_everything(cfg.run.seed)
    net = fc.build_model(cfg)  # the same initial weights as the trainer's
    ((net(features[:600]) - labels[:600]) ** 2).sum().backward()
    want = {k: (p - 0.001 * p.grad).detach() for k, p in net.named_parameters()}
    train_forecaster(cfg, log=quiet)
    got = load_checkpoint(tmp_path, "last").model
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-4, atol=1e-6)


def test_stop_signal_ends_the_run_keeping_the_last_finished_epoch(tmp_path, monkeypatch):
    import os
    import signal

    import seqlab.training.forecast as fc
    from seqlab.training.guard import TrainingInterrupted

    monkeypatch.setattr(fc, "plot_predictions", lambda *a, **k: [])
    cfg = replace(ForecastConfig(), length=300, epochs=4, out=str(tmp_path))

    def log(line):  # SIGTERM right after epoch 1 is logged (its checkpoints are saved before)
        if line.startswith("epoch 1,"):
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted, match="SIGTERM during epoch 2; the checkpoint of epoch 1"):
        train_forecaster(cfg, log=log)
    assert load_checkpoint(tmp_path, "last").meta["epoch"] == 1
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 1


@pytest.mark.parametrize("changes, message", [
    (dict(column="x"), "--column needs --data"),
    (dict(tau=0), "--tau must be a positive"),
    (dict(n_train=996), "training rows must be between 1 and 995"),
    (dict(length=4), "needs at least 5"),
])
def test_bad_series_options(changes, message):
    with pytest.raises(SeqlabError, match=message):
        load_series(replace(ForecastConfig(), **changes).series)


def test_rollout_training_uses_only_the_training_window_and_learns(tmp_path):
    from seqlab.training.forecast import _rollout_loss_sum

    class Last(torch.nn.Module):  # repeats the last value: its K-step rollout is constant
        def forward(self, x):
            return x[:, -1:]

    X, Y = torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0, 4.0, 2.0]])
    assert _rollout_loss_sum(Last(), X, Y).item() == pytest.approx((0 + 4 + 0) / 3)
    cfg = replace(ForecastConfig(), tau=16, hidden=16, epochs=3, rollout=8, lr=0.003, out=str(tmp_path))
    r = train_forecaster(cfg, log=quiet)
    assert r["k_step"]["16"]["mse"] < 0.5  # a constant-zero forecast scores ~0.5 on the sine
    with pytest.raises(SeqlabError, match="exceeds the 588 training rows"):
        train_forecaster(replace(cfg, rollout=1000, out=str(tmp_path / "other")), log=quiet)  # not the run above


def test_ready_sine_configs_parse():
    from pathlib import Path

    from seqlab.config import build_config

    root = Path(__file__).resolve().parents[2] / "configs"
    book = build_config(ForecastConfig, {"config": str(root / "sine_mlp_book.toml")})
    assert book == ForecastConfig()  # the defaults are the book's recipe
    for name in ("sine_gru.toml", "sine_mlp_rollout.toml"):
        cfg = build_config(ForecastConfig, {"config": str(root / name)})
        assert load_series(cfg.series).first_heldout == 604  # same training window as the book


@pytest.mark.slow
def test_best_sine_recipe_reaches_its_measured_quality(tmp_path):
    """configs/sine_mlp_rollout.toml on seed 0 (benchmarks/RESULTS.md: 1.111x / 1.220x the floor)."""
    from pathlib import Path

    from seqlab.config import build_config

    config = Path(__file__).resolve().parents[2] / "configs" / "sine_mlp_rollout.toml"
    cfg = replace(build_config(ForecastConfig, {"config": str(config)}), out=str(tmp_path))
    r = train_forecaster(cfg, log=quiet)
    assert r["k_step"]["1"]["mse"] / 0.04 < 1.15 and r["k_step"]["64"]["mse"] / 0.04 < 1.26
    assert r["multistep_mse"] < 0.06  # the book's MLP drifts to ~0.9 here


def test_report_is_on_the_kept_best_epoch_not_the_last(tmp_path, monkeypatch):
    import seqlab.training.forecast as fc

    monkeypatch.setattr(fc, "plot_predictions", lambda *a, **k: [])  # figures are not under test here
    # a high learning rate: the held-out loss rises again in the last epoch
    cfg = replace(ForecastConfig(), length=300, epochs=6, lr=0.1, out=str(tmp_path))
    result = train_forecaster(cfg, log=quiet)
    valid = [r["valid_loss"] for r in read_metrics(tmp_path / "metrics.jsonl")]
    best_epoch = valid.index(min(valid)) + 1
    assert best_epoch < len(valid)  # the premise: best != last
    assert result["best_epoch"] == best_epoch
    # the report's held-out one-step MSE is the kept (best) epoch's held-out loss
    assert result["one_step_mse"] == pytest.approx(min(valid), rel=1e-5)
    # and it says so: the held-out part chose that epoch; the last epoch's figure is beside it
    assert result["epoch"] == best_epoch and result["selected_on"] == "heldout"
    assert result["last_epoch"] == 6 and result["last_epoch_one_step_mse"] == pytest.approx(valid[-1])
    saved = json.loads((tmp_path / "report.json").read_text())
    assert (saved["epoch"], saved["selected_on"]) == (best_epoch, "heldout")


class _Last(torch.nn.Module):  # repeats the last value of its window: the naive forecast, as a model
    def forward(self, x):
        return x[:, -1:]


def test_report_gives_the_naive_and_seasonal_naive_baselines_on_the_same_targets():
    from seqlab.training.forecast import report

    # a season of 3 on a rising level; held out from position n_train + tau = 6
    s = Series(torch.tensor([1.0, 5, 2, 2, 6, 3, 3, 7, 4, 4, 8, 5]), tau=2, n_train=4, season=3)
    r = report(_Last(), s, steps=[1, 4, 7])
    # naive: x_t from x_{t-k}; the model repeating its last value is that forecast, on the same targets
    assert r["k_step_naive_mse"] == pytest.approx({"1": 50 / 6, "4": 10.0, "7": 42 / 4})
    assert r["k_step_naive_mse"] == pytest.approx({k: v["mse"] for k, v in r["k_step"].items()})
    assert r["one_step_naive_mse"] == pytest.approx(50 / 6)
    assert r["multistep_naive_mse"] == pytest.approx(r["multistep_mse"]) == pytest.approx(47 / 6)
    # seasonal naive (m = 3): x_t from x_{t - 3 ceil(k / 3)}, one level below: 1 at k = 1 (x_{t-3}), 4 at
    # k = 4 (x_{t-6}); k = 7 needs x_{t-9}, and its first held-out target, x_8, has none
    assert r["season"] == 3 and r["one_step_seasonal_naive_mse"] == pytest.approx(1.0)
    assert r["k_step_seasonal_naive_mse"] == {"1": pytest.approx(1.0), "4": pytest.approx(4.0), "7": None}
    assert r["seasonal_naive_left_out"] == {"7": "the first held-out 7-step target (position 8) has no value 9 "
                                                 "steps (whole seasons of 3) before it"}
    # the multi-step forecast from x_5 on: the last season observed, x_3 x_4 x_5, repeated
    assert r["multistep_seasonal_naive_mse"] == pytest.approx(15 / 6)
    # no --season: the same keys, None
    r = report(_Last(), Series(s.x, tau=2, n_train=4), steps=[1])
    assert r["season"] is None and r["k_step_seasonal_naive_mse"] is None and r["seasonal_naive_left_out"] == {}
    assert r["one_step_seasonal_naive_mse"] is None and r["multistep_seasonal_naive_mse"] is None


def test_the_book_run_reports_the_naive_baseline_beside_its_figures():
    # the book's sine: naive (x_t = x_{t-k}) beats the book's MLP at k = 64 (0.327 vs 0.357)
    from seqlab.training.forecast import report

    series = load_series(ForecastConfig().series)
    r = report(_Last(), series)
    x = series.x
    assert r["k_step_naive_mse"]["1"] == pytest.approx(((x[604:] - x[603:-1]) ** 2).mean().item())
    assert r["k_step_naive_mse"]["64"] == pytest.approx(((x[604:] - x[540:-64]) ** 2).mean().item())
    assert r["k_step_naive_mse"]["64"] == pytest.approx(0.3272, abs=1e-4)


@pytest.mark.parametrize("season, message", [(1, "--season must be at least 2"), (0, "--season must be at least 2"),
                                             (1000, "--season 1000 is as long as the sine series")])
def test_bad_season(season, message):
    with pytest.raises(SeqlabError, match=message):
        load_series(replace(ForecastConfig(), season=season).series)


def test_multistep_plot_title_uses_the_books_time_like_every_other_output(monkeypatch, tmp_path):
    # the first held-out value is at position n_train + tau = 6: the book's time t = 7, as the CLI's
    # "multi-step MSE from t = 7" and the plots' x axis (position + 1)
    import seqlab.plotting
    from seqlab.training.forecast import plot_predictions

    titles = {}
    monkeypatch.setattr(seqlab.plotting, "plot_curves", lambda path, *a, **k: titles.update({path.name: k}) or path)
    s = Series(torch.arange(12.0), tau=2, n_train=4)
    plot_predictions(_Last(), s, tmp_path, steps=[1])
    assert titles["multistep.png"]["title"] == "multi-step prediction from t = 7"
    assert titles["multistep.png"]["xlabel"] == "time"


def _sales_csv(path, days=120, extra=0):
    """Daily sales from 2024-01-01: a weekly cycle on a rising level; `extra` days appended."""
    import datetime

    start = datetime.date(2024, 1, 1)
    rows = [f"{start + datetime.timedelta(days=i)},{100 + 10 * ((i % 7) - 3) + 0.1 * i:.2f}\n"
            for i in range(days + extra)]
    path.write_text("date,sales\n" + "".join(rows))
    return str(path)


def test_resume_refuses_a_csv_that_changed_since_the_run_started(tmp_path, monkeypatch):
    import seqlab.training.forecast as fc

    monkeypatch.setattr(fc, "plot_predictions", lambda *a, **k: [])
    csv = tmp_path / "s.csv"
    _sales_csv(csv)
    cfg = replace(ForecastConfig(), data=str(csv), column="sales", tau=7, hidden=4, epochs=1, out=str(tmp_path / "r"))
    train_forecaster(cfg, log=quiet)
    kept = load_checkpoint(tmp_path / "r", "last").meta["data_file"]
    assert set(kept) == {"path", "sha256"} and kept["path"] == str(csv.resolve())
    _sales_csv(csv, extra=30)  # the daily update: 30 more days appended
    with pytest.raises(SeqlabError) as e:
        train_forecaster(replace(cfg, epochs=2, resume=True), log=quiet)
    assert "has changed since the run in" in str(e.value) and "restore the file the run was trained on, or train "\
        "on the new file as a new run (another --out, or --overwrite)" in str(e.value)
    assert [r["epoch"] for r in read_metrics(tmp_path / "r" / "metrics.jsonl")] == [1]  # nothing written
    csv.rename(tmp_path / "moved.csv")
    with pytest.raises(SeqlabError, match="the run's CSV file .* is not there any more: put it back"):
        train_forecaster(replace(cfg, epochs=2, resume=True), log=quiet)
    _sales_csv(csv)  # the file the run was trained on, back: the run goes on, on the same split and scaling
    before = load_checkpoint(tmp_path / "r", "last").meta
    train_forecaster(replace(cfg, epochs=2, resume=True), log=quiet)
    after = load_checkpoint(tmp_path / "r", "last").meta
    assert after["epoch"] == 2 and (after["n_train"], after["mean"], after["std"]) == (before["n_train"],
                                                                                      before["mean"], before["std"])


def test_resume_of_a_run_from_before_fingerprints_compares_the_series(tmp_path, monkeypatch):
    # its checkpoints keep no sha256 (nor dates, nor the new settings): the CSV is read as then (no
    # dates) and its series compared with the one the run kept
    import types

    import seqlab.training.forecast as fc
    from seqlab.training.checkpoint import save_checkpoint

    monkeypatch.setattr(fc, "plot_predictions", lambda *a, **k: [])
    csv = tmp_path / "s.csv"
    _sales_csv(csv)
    cfg = replace(ForecastConfig(), data=str(csv), column="sales", tau=7, hidden=4, epochs=1, out=str(tmp_path / "r"))
    train_forecaster(cfg, log=quiet)
    last = load_checkpoint(tmp_path / "r", "last")
    meta = {k: v for k, v in last.meta.items() if k not in ("data_file", "dates", "format", "format_version",
                                                            "optimizer")}
    meta["config"]["series"] = {k: v for k, v in meta["config"]["series"].items() if k not in ("date_column",
                                                                                                "season")}
    save_checkpoint(tmp_path / "r" / "last.safetensors", model=last.model, meta=meta, extra=last.extra,
                    optimizer=types.SimpleNamespace(state_dict=lambda: last.optimizer))
    _sales_csv(csv, extra=30)
    with pytest.raises(SeqlabError, match=r"the series read from the CSV file \(150 values\) is not the one the run "
                                          r"in .* was trained on \(120 values\)"):
        train_forecaster(replace(cfg, epochs=2, resume=True), log=quiet)
    _sales_csv(csv)
    train_forecaster(replace(cfg, epochs=2, resume=True), log=quiet)
    assert load_checkpoint(tmp_path / "r", "last").meta["epoch"] == 2


def test_resume_refuses_the_same_file_read_otherwise(tmp_path, monkeypatch):
    # the file's sha256 matches, but the values read are not the run's (a seqlab that reads the file
    # otherwise: before 2026-12-01 a one-column file's blank lines were skipped, not filled)
    import dataclasses

    import seqlab.training.forecast as fc

    monkeypatch.setattr(fc, "plot_predictions", lambda *a, **k: [])
    csv = tmp_path / "one.csv"
    csv.write_text("v\n" + "".join(f"{i % 7}\n" if i % 20 else "\n" for i in range(1, 80)))
    cfg = replace(ForecastConfig(), data=str(csv), column="v", fill="linear", tau=7, hidden=4, epochs=1,
                  out=str(tmp_path / "r"))
    train_forecaster(cfg, log=quiet)
    read = fc.load_series
    monkeypatch.setattr(fc, "load_series", lambda *a, **k: dataclasses.replace(s := read(*a, **k), x=s.x[1:]))
    with pytest.raises(SeqlabError, match=r"\(78 values\) is not the one the run in .* was trained on \(79 values\): "
                                          r"the file is the one it was trained on, but this seqlab reads it otherwise"):
        train_forecaster(replace(cfg, epochs=2, resume=True), log=quiet)
    monkeypatch.setattr(fc, "load_series", read)
    train_forecaster(replace(cfg, epochs=2, resume=True), log=quiet)
    assert [r["epoch"] for r in read_metrics(tmp_path / "r" / "metrics.jsonl")] == [1, 2]


def test_an_outlier_of_1e30_gives_finite_mses_not_inf():
    from seqlab.training.forecast import report

    # the squared error of 1e30 overflows float32 (inf, JSON null): the MSEs are computed in float64
    x = torch.tensor([1.0, 2, 3, 4, 5, 6, 1e30, 8, 9, 10])
    r = report(_Last(), Series(x, tau=2, n_train=4), steps=[1])
    assert r["one_step_mse"] == pytest.approx(2 * 1e60 / 4, rel=1e-6)  # targets 1e30, 8, 9, 10 from 6, 1e30, 8, 9
    for key in ("one_step_mse", "multistep_mse", "one_step_naive_mse", "multistep_naive_mse"):
        assert math.isfinite(r[key]), key


def test_a_bad_step_recorded_on_the_device_stops_the_epoch_before_any_save(tmp_path, monkeypatch):
    # off the CPU the guard records a non-finite step on the device (no host read per step, as every
    # other task's trainer does on a GPU), so the epoch's end must say it before anything is saved. A
    # lazy guard on the CPU stands in for the GPU's
    import seqlab.training.forecast as fc
    from seqlab.training.guard import NonFiniteLoss, StepGuard

    monkeypatch.setattr(fc, "StepGuard", lambda **kw: StepGuard(**{**kw, "eager": False}))
    real, calls = fc._loss_sum, []

    def nan_at_step_3(*a):
        calls.append(1)
        return real(*a) * (float("nan") if len(calls) == 3 else 1.0)
    monkeypatch.setattr(fc, "_loss_sum", nan_at_step_3)
    out = tmp_path / "run"
    cfg = replace(ForecastConfig(), length=200, n_train=120, epochs=2, hidden=6, out=str(out))
    with pytest.raises(NonFiniteLoss, match="non-finite at epoch 1 step 3;"):
        train_forecaster(cfg, device="cpu", log=quiet)
    assert not (out / "last.safetensors").exists() and not (out / "best.safetensors").exists()
