"""Prediction intervals for a forecaster's K-step forecasts (`seqlab forecast --interval P`): the
empirical quantiles of its held-out h-step errors, added to the point forecast.

For each horizon h = 1..K the errors are the model's, run on its own outputs (as
`forecast_eval.k_step_table` runs it) from every origin o in the held-out part of the run's series
(o >= first_heldout = n_train + tau):

    observed: x_{o-tau} .. x_{o-1} | predicted: xhat_o, xhat_{o+1}, ..., xhat_{o+h-1}
    e_h(o) = x_{o+h-1} - xhat_{o+h-1},      o = first_heldout .. T - h

so every predicted value of a path is held out, and horizon h has n_heldout - h + 1 errors. (The
report's k-step MSE also counts paths that start in the training window and end in the held-out
part.) The interval at h is [prediction + q_lo(e_h), prediction + q_hi(e_h)], q at (1 - P) / 2 and
(1 + P) / 2 with numpy.quantile's default (linear) interpolation: the split-conformal-style
interval. It holds only as far as the held-out errors are representative of the future (the same
noise, no drift); the held-out part also chose best's epoch, so it leans narrow.

A horizon with fewer than MIN_ERRORS errors uses those of the largest horizon that has MIN_ERRORS
(`Interval.from_horizon`); a held-out part with fewer than MIN_ERRORS one-step errors gets none.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.runtime import eval_mode
from seqlab.training.forecast_eval import k_step_table

if TYPE_CHECKING:
    from seqlab.training.forecast import Series

MIN_ERRORS = 20  # fewer errors than this make a 5% or 95% quantile little more than the extreme error


class Interval(NamedTuple):
    """Per horizon h = 1..K (index h - 1): what to add to the prediction, and where it came from."""

    lower: torch.Tensor  # (K,) float64, the (1 - P) / 2 quantile of the errors (usually negative)
    upper: torch.Tensor  # (K,) float64, the (1 + P) / 2 quantile
    from_horizon: list[int]  # the horizon whose errors each h used: h itself when it has MIN_ERRORS
    samples: list[int]  # how many errors each h used


def heldout_errors(net: nn.Module, series: Series, max_steps: int) -> list[torch.Tensor]:
    """errors[h - 1]: the n_heldout - h + 1 errors e_h(o) of the module docstring, float64 in the
    series' units, for h = 1 .. min(max_steps, n_heldout)."""
    start, tau = series.first_heldout, series.tau
    n = len(series.x) - start
    steps = min(max_steps, n)
    if steps <= 0:
        return []
    # the series from x_{start-tau} on: row r of its k-step table starts at origin o = start + r
    #   row r: [x_{o-tau} .. x_{o-1} | xhat_o .. xhat_{o+steps-1}]    (n, tau + steps)
    view = dataclasses.replace(series, x=series.x[start - tau:], n_train=1, dates=None)
    with eval_mode(net):
        table = k_step_table(net, view, steps)
    held = series.x[start:]
    return [(held[h - 1:] - table[:n - h + 1, tau + h - 1]).double() for h in range(1, steps + 1)]


def interval_offsets(net: nn.Module, series: Series, steps: int, level: float) -> Interval:
    """The P = `level` interval's offsets for horizons 1..`steps` from the held-out errors of `series`
    (the run's own series: its held-out part); see the module docstring."""
    if not 0 < level < 1:
        raise SeqlabError(f"--interval must be a coverage between 0 and 1 (e.g. 0.9), got {level}")
    n = len(series.x) - series.first_heldout
    if n < MIN_ERRORS:
        raise SeqlabError(f"the run's held-out part has {n} values, so fewer than {MIN_ERRORS} one-step errors: too "
                          "few for an interval from its empirical quantiles; hold more out (a smaller --n-train, "
                          "or a longer series)")
    usable = n - MIN_ERRORS + 1  # horizon h has n - h + 1 errors
    errors = heldout_errors(net, series, min(steps, usable))
    q = torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64)
    bounds = torch.stack([torch.quantile(e, q) for e in errors])  # (min(steps, usable), 2)
    from_horizon = [min(h, usable) for h in range(1, steps + 1)]
    pick = torch.tensor(from_horizon) - 1
    return Interval(bounds[pick, 0], bounds[pick, 1], from_horizon, [len(errors[h - 1]) for h in from_horizon])
