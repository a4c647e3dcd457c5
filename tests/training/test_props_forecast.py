"""Property tests (hypothesis) of the forecast predictions and their baselines: the book's k-step table
(all start rows at once) against `multistep` from each start (one window rolled on its own outputs),
one-step against the table's first column, k_step_predictions' positions, and the naive baseline
MSEs against a loop over the held-out targets."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.models.forecaster import build_forecaster
from seqlab.training.forecast_eval import (baseline_mses, k_step_predictions, k_step_table, multistep, one_step)
from seqlab.training.forecast_series import Series

pytestmark = pytest.mark.usefixtures("one_thread")


def _series(T, tau, seed, n_train, observed=None):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(T, generator=gen, dtype=torch.float64) * 2 + 1
    return Series(x=x, tau=tau, n_train=n_train, mean=0.5, std=1.5, observed=observed)


@settings(max_examples=40, deadline=None, database=None)
@given(model=st.sampled_from(["mlp", "gru", "lstm"]), tau=st.integers(1, 4), extra=st.integers(1, 8),
       k=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))
def test_the_k_step_table_is_multistep_from_each_start(model, tau, extra, k, seed):
    T = tau + extra
    series = _series(T, tau, seed, n_train=1)
    torch.manual_seed(seed)
    net = build_forecaster(model, tau, 5).double().eval()
    table = k_step_table(net, series, k)  # (T - tau, tau + k)
    assert table.shape == (T - tau, tau + k)
    for r in range(T - tau):
        torch.testing.assert_close(table[r, :tau], series.x[r:r + tau], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(table[r, tau:], multistep(net, series, r + tau, k), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(one_step(net, series), table[:, tau], rtol=1e-10, atol=1e-10)
    if k <= T - tau:
        positions, preds = k_step_predictions(net, series, k)
        assert positions.tolist() == list(range(tau + k - 1, T))
        torch.testing.assert_close(preds, table[:len(positions), tau + k - 1], rtol=1e-10, atol=1e-10)


@settings(max_examples=60, deadline=None, database=None)
@given(tau=st.integers(1, 4), T=st.integers(6, 20), seed=st.integers(0, 2**31 - 1), data=st.data())
def test_naive_baselines_are_the_last_value_observed_then(tau, T, seed, data):
    n_train = data.draw(st.integers(1, T - tau - 1))
    start = n_train + tau
    observed = torch.tensor(data.draw(st.lists(st.booleans(), min_size=T, max_size=T)))
    observed[-1] = True  # (a series ends in an observed value)
    series = _series(T, tau, seed, n_train, observed)
    x = series.x.tolist()
    steps = [k for k in (1, 2, 3, 5) if k <= T - tau]
    got = baseline_mses(series, steps)
    for k in steps:
        targets = [t for t in range(max(start, tau + k - 1), T) if observed[t]]
        want = sum((x[t] - x[t - k]) ** 2 for t in targets) / len(targets) if targets else math.nan
        have = got["k_step_naive_mse"][str(k)]
        assert (math.isnan(have) and math.isnan(want)) or have == pytest.approx(want, rel=1e-12)
    targets = [t for t in range(start, T) if observed[t]]
    want = sum((x[t] - x[start - 1]) ** 2 for t in targets) / len(targets)  # from the training window's end
    assert got["multistep_naive_mse"] == pytest.approx(want, rel=1e-12)


@settings(max_examples=20, deadline=None, database=None)
@given(model=st.sampled_from(["mlp", "gru"]), tau=st.integers(1, 3), n_train=st.integers(1, 5),
       n_held=st.integers(20, 30), steps=st.integers(1, 6), level=st.sampled_from([0.5, 0.8, 0.9]),
       seed=st.integers(0, 2**31 - 1), data=st.data())
def test_interval_offsets_are_quantiles_of_each_origins_multistep_error(model, tau, n_train, n_held, steps, level,
                                                                        seed, data):
    import numpy as np

    from seqlab.training.forecast_interval import heldout_errors, interval_offsets, max_interval_steps

    T = n_train + tau + n_held
    steps = min(steps, max_interval_steps(n_held))
    observed = torch.ones(T, dtype=torch.bool)
    if data.draw(st.booleans()):  # a few filled-in targets (never the last)
        observed[torch.tensor(data.draw(st.lists(st.integers(0, T - 2), max_size=3)), dtype=torch.long)] = False
    series = _series(T, tau, seed, n_train, observed)
    torch.manual_seed(seed)
    net = build_forecaster(model, tau, 5).double().eval()
    start = series.first_heldout
    errors = heldout_errors(net, series, steps)
    x = series.x
    for h in range(1, steps + 1):
        want = [float(x[o + h - 1] - multistep(net, series, o, h)[-1]) for o in range(start, T - h + 1)
                if observed[o + h - 1]]
        assert errors[h - 1].tolist() == pytest.approx(want, rel=1e-10, abs=1e-10)
    if min(map(len, errors)) < 20:
        return  # (refused: too few observed errors)
    lower, upper, median, samples = interval_offsets(net, series, steps, level)
    q = [(1 - level) / 2, 0.5, (1 + level) / 2]
    raw = np.array([np.quantile(e.numpy(), q) for e in errors])  # numpy's default (linear) interpolation
    np.testing.assert_allclose(median.numpy(), raw[:, 1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lower.numpy(), np.minimum.accumulate(raw[:, 0]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(upper.numpy(), np.maximum.accumulate(raw[:, 2]), rtol=1e-12, atol=1e-12)
    assert samples == [len(e) for e in errors]
