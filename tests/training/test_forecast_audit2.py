"""Forecast training and evaluation, checked against plain-loop twins (mutation audit, 2026-12-03):
the recurrent and rollout losses one SGD step applies, the choice of best on a tie, and the
multi-step, k-step and baseline figures on hand-computed series."""

import pytest
import torch

from seqlab.config import replace
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.forecast import ForecastConfig, load_series, train_forecaster
from seqlab.training.metrics import read_metrics


def quiet(*a, **k):
    pass


def _one_sgd_step(tmp_path, monkeypatch, cfg, loss_of):
    """Train `cfg` (SGD, one epoch, one batch) and compare its weights after the step with one SGD
    step on `loss_of(net, x)` taken from the same initial weights."""
    import seqlab.training.forecast as fc
    from seqlab.runtime import seed_everything

    monkeypatch.setattr(fc, "plot_predictions", lambda *a, **k: [])
    series = load_series(cfg.series)
    seed_everything(cfg.run.seed)
    net = fc.build_model(cfg)  # the trainer's initial weights
    loss_of(net, series.x).backward()
    want = {k: (p - cfg.train.lr * p.grad).detach() for k, p in net.named_parameters()}
    train_forecaster(cfg, log=quiet)
    got = load_checkpoint(tmp_path, "last").model
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-4, atol=1e-7)


def test_a_recurrent_forecaster_steps_on_every_position_of_its_window(tmp_path, monkeypatch):
    # row r reads x_r .. x_{r+tau-1}; after reading x_r .. x_{r+j} its output predicts x_{r+j+1}
    # (the last one the label x_{r+tau}): the squared errors' mean over the tau positions, summed over rows
    tau, n = 4, 12
    cfg = replace(ForecastConfig(), model="gru", hidden=3, tau=tau, length=30, n_train=n, optimizer="sgd",
                  lr=0.05, batch_size=n, epochs=1, out=str(tmp_path))

    def loss_of(net, x):
        total = 0
        for r in range(n):
            for j in range(tau):
                pred = net(x[r:r + j + 1].reshape(1, -1)).reshape(())  # reads the prefix only
                total = total + (pred - x[r + j + 1]) ** 2 / tau
        return total

    _one_sgd_step(tmp_path, monkeypatch, cfg, loss_of)


@pytest.mark.parametrize("n", [12, 3])  # 3: --rollout as long as the training rows, a single row
def test_rollout_training_steps_on_its_own_k_step_predictions(tmp_path, monkeypatch, n):
    # row r: from the observed x_r .. x_{r+tau-1} the model predicts x_{r+tau} .. x_{r+tau+K-1}, each
    # from its own earlier outputs; rows r = 0 .. n - K, so that every target is a training label
    tau, K = 4, 3
    cfg = replace(ForecastConfig(), tau=tau, hidden=5, length=30, n_train=n, rollout=K, optimizer="sgd",
                  lr=0.02, batch_size=n, epochs=1, out=str(tmp_path))

    def loss_of(net, x):
        total = 0
        for r in range(n - K + 1):
            window = list(x[r:r + tau])
            for k in range(K):
                pred = net(torch.stack(window[-tau:]).reshape(1, -1)).reshape(())
                total = total + (pred - x[r + tau + k]) ** 2 / K
                window.append(pred)
        return total

    _one_sgd_step(tmp_path, monkeypatch, cfg, loss_of)


def test_rollout_loss_feeds_the_models_own_outputs_not_the_truth():
    from seqlab.training.forecast import _rollout_loss_sum

    class SumOfWindow(torch.nn.Module):
        def forward(self, x):
            return x.sum(dim=1, keepdim=True)

    # window [1, 2]: predictions 3, then 2 + 3 = 5, then 3 + 5 = 8; targets 3, 4, 5
    X, Y = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0, 5.0]])
    assert _rollout_loss_sum(SumOfWindow(), X, Y).item() == pytest.approx((0 + 1 + 9) / 3)


def test_a_tie_in_the_heldout_loss_keeps_the_earlier_epoch_as_best(tmp_path, monkeypatch):
    # best is the epoch of the lowest held-out loss; a later epoch that only equals it is no improvement
    import seqlab.training.forecast as fc

    monkeypatch.setattr(fc, "plot_predictions", lambda *a, **k: [])
    monkeypatch.setattr(fc, "evaluate_loss", lambda *a, **k: 0.25)  # every epoch scores the same
    cfg = replace(ForecastConfig(), length=40, n_train=20, epochs=3, out=str(tmp_path))
    result = train_forecaster(cfg, log=quiet)
    assert [r["valid_loss"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [0.25] * 3
    assert result["best_epoch"] == 1 and load_checkpoint(tmp_path, "best").meta["epoch"] == 1


def test_seasonal_naive_figures_exist_when_the_first_target_is_exactly_a_season_from_the_start():
    # season m = 3, held out from position n_train + tau = 3 = m: the first target x_3 has x_0 a season back
    from seqlab.training.forecast import Series
    from seqlab.training.forecast_eval import baseline_mses

    x = torch.tensor([1.0, 5, 2, 2, 6, 3, 3])
    r = baseline_mses(Series(x, tau=2, n_train=1, season=3), [1])
    # one-step: x_3..x_6 from x_0..x_3, each 1 off
    assert r["one_step_seasonal_naive_mse"] == pytest.approx(1.0) and r["seasonal_naive_left_out"] == {}
    # multi-step from x_2 on: x_3, x_4, x_5 from x_0, x_1, x_2 (one season back), x_6 from x_0 (two)
    assert r["multistep_seasonal_naive_mse"] == pytest.approx((1 + 1 + 1 + 4) / 4)


def _far(trained_x, new_x, tau=2, n_train=1):
    from seqlab.training.forecast import Series
    from seqlab.training.forecast_new_data import far_from_training

    trained = Series(torch.tensor(trained_x), tau=tau, n_train=n_train)
    series = Series(torch.tensor(new_x), tau=tau, n_train=len(new_x) - tau)
    return far_from_training(series, trained, len(new_x), "new.csv", "v")


def test_far_from_training_measures_the_last_tau_values_against_the_training_window_alone():
    # the training window x_0 .. x_{n_train+tau-1} = -1, 0, 1: mean 0, std 1 (n - 1 in the denominator);
    # the held-out 100s after it are not part of it
    trained = [-1.0, 0.0, 1.0, 100.0, 100.0]
    assert _far(trained, [0.0, 5.0, 5.0]) is None  # exactly FAR_STD = 5 std away: not over it
    said = _far(trained, [0.0, 5.0, 6.0])  # the last tau = 2 values, mean 5.5: 5.5 std away
    assert said is not None and "(mean 5.5) lie 5.5 training std from the run's training mean (0, std 1)" in said
    assert _far(trained, [50.0, 1.0, -1.0]) is None  # only the last tau values count


def test_evaluate_loss_is_the_mean_over_every_element_as_the_books():
    # d2l.evaluate_loss (the book's) averages over every element, l.numel(), not over rows: with 3
    # outputs a row, as torch's own mean-reduced MSE over the whole data
    from seqlab.training.forecast_eval import evaluate_loss

    X, y = torch.randn(10, 3, generator=torch.Generator().manual_seed(0)), torch.zeros(10, 3)
    batches = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=4)
    got = evaluate_loss(torch.nn.Identity(), batches, torch.nn.MSELoss(reduction="none"))
    assert got == pytest.approx(torch.nn.functional.mse_loss(X, y).item(), rel=1e-6)


def _csv(path, values):
    path.write_text("v\n" + "".join(f"{v}\n" for v in values))
    return str(path)


def test_the_default_csv_window_is_the_first_60_percent_rounded_down(tmp_path):
    from seqlab.training.forecast_series import SeriesData

    # 60% of 8 values is 4.8: the window is the first 4 values, 2 training rows of tau = 2 (not 5 and 3)
    series = load_series(SeriesData(data=_csv(tmp_path / "s.csv", [1, 4, 2, 8, 5, 7, 3, 6]), tau=2))
    assert (series.n_train, series.first_heldout) == (2, 4)
    assert series.mean == pytest.approx(15 / 4)  # the window's: (1 + 4 + 2 + 8) / 4


def test_a_constant_training_window_is_scaled_by_one_not_by_its_zero_std(tmp_path):
    from seqlab.training.forecast_series import SeriesData

    # the first 60% of 10 values, 6, are all 5: std 0, so the series is only shifted (std 1)
    series = load_series(SeriesData(data=_csv(tmp_path / "s.csv", [5] * 6 + [1, 2, 3, 4]), tau=2))
    assert (series.mean, series.std) == (5.0, 1.0)
    assert series.scaled().tolist() == [0.0] * 6 + [-4.0, -3.0, -2.0, -1.0]


def test_new_data_of_exactly_tau_values_is_forecast_with_the_training_scaler(tmp_path):
    from seqlab.errors import SeqlabError
    from seqlab.training.forecast import Series
    from seqlab.training.forecast_new_data import new_data_series

    cfg = replace(ForecastConfig(), data=str(tmp_path / "train.csv"), column="v", tau=3)
    trained = Series(torch.arange(10.0), tau=3, n_train=4, mean=3.0, std=2.0)
    got = new_data_series(_csv(tmp_path / "new.csv", [7, 8, 9]), None, None, trained, cfg, "run", quiet)
    # the model reads the last tau = 3 values: all of them; every one of them is input, none held out
    assert got.x.tolist() == [7.0, 8.0, 9.0] and got.first_heldout == 3 and (got.mean, got.std) == (3.0, 2.0)
    with pytest.raises(SeqlabError, match="has 2 values: the model reads the last tau = 3, so it needs at least 3"):
        new_data_series(_csv(tmp_path / "short.csv", [8, 9]), None, None, trained, cfg, "run", quiet)


def _dated_run(tmp_path, every_days):
    import datetime

    from seqlab.data.dates import DateIndex
    from seqlab.training.forecast import Series

    dates = DateIndex(column="date", start=datetime.datetime(2024, 1, 1), length=12,
                      step=datetime.timedelta(days=every_days))
    cfg = replace(ForecastConfig(), data=str(tmp_path / "train.csv"), column="v", tau=2)
    return Series(torch.arange(12.0), tau=2, n_train=5, dates=dates), cfg


def _dated_csv(path, days):
    import datetime

    path.write_text("date,v\n" + "".join(f"{datetime.date(2024, 3, 1) + datetime.timedelta(days=d)},{d}\n"
                                         for d in days))
    return str(path)


def test_new_data_on_another_step_is_refused_with_the_fill_hint_only_for_a_whole_number_of_steps(tmp_path):
    from seqlab.errors import SeqlabError
    from seqlab.training.forecast_new_data import new_data_series

    hint = "(or --fill linear or --fill ffill fills in the steps of"
    daily, cfg = _dated_run(tmp_path, 1)
    # a file every other day for a daily run: --fill would fill the day between its rows
    with pytest.raises(SeqlabError, match="one value every 2 days, the run in 'run' one every 1 day") as e:
        new_data_series(_dated_csv(tmp_path / "a.csv", range(0, 20, 2)), None, None, daily, cfg, "run", quiet)
    assert hint in str(e.value)
    # a daily file for a run every other day: no whole number of the run's steps between its rows
    two_days, cfg = _dated_run(tmp_path, 2)
    with pytest.raises(SeqlabError, match="one value every 1 day, the run in 'run' one every 2 days") as e:
        new_data_series(_dated_csv(tmp_path / "b.csv", range(10)), None, None, two_days, cfg, "run", quiet)
    assert hint not in str(e.value)


def test_new_data_on_business_days_is_refused_for_a_calendar_daily_run(tmp_path):
    from seqlab.errors import SeqlabError
    from seqlab.training.forecast_new_data import new_data_series

    daily, cfg = _dated_run(tmp_path, 1)
    weekdays = [d for d in range(21) if d % 7 not in (1, 2)]  # 2024-03-01 is a Friday: no Saturdays, Sundays
    with pytest.raises(SeqlabError, match="one value every 1 business day, the run in 'run' one every 1 day"):
        new_data_series(_dated_csv(tmp_path / "w.csv", weekdays), None, None, daily, cfg, "run", quiet)


def test_interval_offsets_are_numpys_quantiles_of_the_naive_models_heldout_errors():
    # a model repeating its last value: its h-step error from origin o is x_{o+h-1} - x_{o-1}. 24 values
    # held out give H = 24 - max(20, 12) + 1 = 5 steps, horizon 5 from exactly MIN_ERRORS = 20 origins
    import numpy as np

    from seqlab.training.forecast import Series
    from seqlab.training.forecast_interval import interval_offsets

    class Last(torch.nn.Module):
        def forward(self, x):
            return x[:, -1:]

    x = torch.randn(34, generator=torch.Generator().manual_seed(3)).cumsum(0)
    s = Series(x, tau=2, n_train=8)  # held out from position 10: 24 values
    band = interval_offsets(Last(), s, 5, 0.8)
    xs = x.double().numpy()
    raw = np.array([np.quantile([xs[o + h - 1] - xs[o - 1] for o in range(10, 34 - h + 1)], [0.1, 0.5, 0.9])
                    for h in range(1, 6)])
    assert band.samples == [24, 23, 22, 21, 20]
    np.testing.assert_allclose(band.lower.numpy(), np.minimum.accumulate(raw[:, 0]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(band.upper.numpy(), np.maximum.accumulate(raw[:, 2]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(band.median.numpy(), raw[:, 1], rtol=1e-5, atol=1e-5)
