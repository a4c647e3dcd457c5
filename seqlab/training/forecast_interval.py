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

Horizon h's errors come only from origins o <= T - h: as h grows they are fewer and more of them
are the same few paths over the series' tail (at h = n_heldout - 19, twenty paths that overlap in
all but their first steps), whose quantiles say little about a fresh stretch. So an interval at h
needs errors from at least max(MIN_ERRORS, ceil(n_heldout / 2)) origins, i.e.

    h <= H = n_heldout - max(MIN_ERRORS, ceil(n_heldout / 2)) + 1     (`max_interval_steps`)

and asking for more steps is refused (hold more out), as is a held-out part with fewer than
MIN_ERRORS values. The bounds are then made monotone in h,

    lower_h = min(lower_h, lower_{h-1}),    upper_h = max(upper_h, upper_{h-1}),

so an interval never narrows as the horizon grows (a forecast further ahead is not surer; a
narrower quantile at a larger h is the few overlapping paths' luck).

The quantiles are of the errors as they are: when the model is biased on the held-out part (its
median error at h is not ~0), the interval is shifted by that bias and may not contain the point
forecast itself (`Interval.median` says by how much; `seqlab forecast` says so on stderr).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.runtime import eval_mode
from seqlab.training.forecast_eval import k_step_table, observed_mask

if TYPE_CHECKING:
    from seqlab.training.forecast import Series

MIN_ERRORS = 20  # fewer errors than this make a 5% or 95% quantile little more than the extreme error


def max_interval_steps(n_heldout: int) -> int:
    """H of the module docstring: the longest horizon with errors from enough origins (<= 0: none)."""
    return n_heldout - max(MIN_ERRORS, math.ceil(n_heldout / 2)) + 1


class Interval(NamedTuple):
    """Per horizon h = 1..K (index h - 1): what to add to the prediction, and where it came from."""

    lower: torch.Tensor  # (K,) float64, the (1 - P) / 2 quantile of the errors, made monotone (never rising)
    upper: torch.Tensor  # (K,) float64, the (1 + P) / 2 quantile, made monotone (never falling)
    median: torch.Tensor  # (K,) float64, the median error: the model's bias at h (~0 for an unbiased one)
    samples: list[int]  # how many errors each h used: n_heldout - h + 1 (less the filled targets under --fill)


def heldout_errors(net: nn.Module, series: Series, max_steps: int) -> list[torch.Tensor]:
    """errors[h - 1]: the n_heldout - h + 1 errors e_h(o) of the module docstring, float64 in the
    series' units, for h = 1 .. min(max_steps, n_heldout); of a series read with --fill, only those
    whose target was observed."""
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
    # a target --fill filled in is not an error the model made on data: left out (its inputs may be)
    seen = observed_mask(series)[start:]
    return [(held[h - 1:] - table[:n - h + 1, tau + h - 1]).double()[seen[h - 1:]] for h in range(1, steps + 1)]


def interval_offsets(net: nn.Module, series: Series, steps: int, level: float) -> Interval:
    """The P = `level` interval's offsets for horizons 1..`steps` from the held-out errors of `series`
    (the run's own series: its held-out part); see the module docstring."""
    if not 0 < level < 1:
        raise SeqlabError(f"--interval must be a coverage between 0 and 1 (e.g. 0.9), got {level}")
    n = len(series.x) - series.first_heldout
    if n < MIN_ERRORS:
        raise SeqlabError(f"the run's held-out part has {n} values, so fewer than {MIN_ERRORS} one-step errors: too "
                          "few for an interval from its empirical quantiles; hold more out (retrain with a smaller "
                          "--n-train, or on a longer series)")
    top = max_interval_steps(n)
    if steps > top:
        need = max(MIN_ERRORS, math.ceil(n / 2))
        raise SeqlabError(f"the run's held-out part ({n} values) gives intervals up to {top} "
                          f"step{'s' if top != 1 else ''} ahead (horizon h's errors come from its origins up to "
                          f"T - h, and an interval needs them from at least {need}: half the held-out part, and at "
                          f"least {MIN_ERRORS}): use --steps {top} or fewer with --interval, or hold out more "
                          "(retrain with a smaller --n-train)")
    errors = heldout_errors(net, series, steps)
    few = [h for h, e in enumerate(errors, start=1) if len(e) < MIN_ERRORS]
    if few:
        h, got = few[0], len(errors[few[0] - 1])
        fix = (f"use --steps {h - 1} or fewer with --interval, or retrain" if h > 1 else
               "no interval can be given: retrain")  # (not "--steps 0", which is refused)
        raise SeqlabError(f"--fill filled so many of the run's held-out values that horizon {h} has {got} "
                          f"error{'s' if got != 1 else ''} on observed values, fewer than {MIN_ERRORS}: {fix} on a "
                          "series with fewer gaps, or hold more out (a smaller --n-train)")
    q = torch.tensor([(1 - level) / 2, 0.5, (1 + level) / 2], dtype=torch.float64)
    bounds = torch.stack([torch.quantile(e, q) for e in errors])  # (steps, 3)
    # an interval never narrows as the horizon grows (module docstring)
    lower, upper = bounds[:, 0].cummin(0).values, bounds[:, 2].cummax(0).values
    return Interval(lower, upper, bounds[:, 1], [len(e) for e in errors])
