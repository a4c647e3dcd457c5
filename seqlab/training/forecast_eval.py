"""What a trained forecaster predicts, and how well: functions over any model mapping (B, tau)
windows to (B, 1), and a `Series` (seqlab.training.forecast).

- `one_step`, `multistep`, `k_step_table` / `k_step_predictions`: the book's predictions
  (8.1), in the series' own units; a multi-step or k-step prediction reads only its own
  outputs after the observed window.
- `report`: held-out MSEs (one-step, multi-step from the end of the training window, k-step)
  beside the naive and seasonal-naive forecasts' on the same targets (`baseline_mses`). Targets
  that --fill filled in (`Series.observed`) are left out of every MSE: a filled value is the
  filler's guess, not an observation (`heldout_scored`; the report says how many: `heldout_filled`).
- `plot_predictions`: the book's three figures.

Prediction intervals from the held-out h-step errors are in `seqlab.training.forecast_interval`.

Every function runs in the model's precision, in eval mode (`report` gives the mode back), on the
model's device (a forecaster trained with --device cuda): the series is moved there and the
predictions come back to the CPU, where the series, its mask and the baselines are.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.runtime import eval_mode
from seqlab.training.common import model_device

if TYPE_CHECKING:
    from seqlab.training.forecast import Series

K_STEPS = (1, 4, 16, 64)  # the book's horizons; a short series reports those that fit (fitting_k_steps)


def _scaled(net: nn.Module, series: Series) -> torch.Tensor:
    """The standardised series in the model's precision (a float64 series with a float32 model, or the
    reverse, met in a dtype error inside nn.Linear), on the model's device."""
    dtype = next((p.dtype for p in net.parameters()), torch.float32)
    return series.scaled().to(model_device(net), dtype)


@torch.no_grad()
def one_step(net: nn.Module, series: Series) -> torch.Tensor:
    """Predictions of x_tau .. x_{T-1}, each from the observed tau values before it, (T - tau,)."""
    scaled = _scaled(net, series)
    features = scaled.unfold(0, series.tau, 1)[:len(scaled) - series.tau].contiguous()  # lag_features' rows
    return (net(features).reshape(-1) * series.std + series.mean).cpu()


@torch.no_grad()
def multistep(net: nn.Module, series: Series, start: int, steps: int) -> torch.Tensor:
    """x_start .. x_{start+steps-1} predicted on the model's own outputs after x_{start-1}, (steps,).

    Only x_{start-tau} .. x_{start-1} are observed; `start + steps` may run past the series' end.
    """
    if steps <= 0:
        raise SeqlabError(f"the number of steps to predict must be positive, got {steps}")
    if not series.tau <= start <= len(series.x):
        raise SeqlabError(f"prediction must start between position {series.tau} (tau values observed) and "
                          f"{len(series.x)} (the series' end), got {start}")
    scaled = _scaled(net, series)
    buf = torch.cat([scaled[start - series.tau:start], scaled.new_zeros(steps)])
    for i in range(steps):
        buf[series.tau + i] = net(buf[i:i + series.tau].reshape(1, -1)).reshape(())
    return (buf[series.tau:] * series.std + series.mean).cpu()


@torch.no_grad()
def k_step_table(net: nn.Module, series: Series, max_steps: int) -> torch.Tensor:
    """The book's table, for every start row: column tau + k - 1 of row r predicts x_{r+tau+k-1}
    from observed x_r .. x_{r+tau-1} and k - 1 of its own outputs. Shape (T - tau, tau + max_steps);
    entries whose target lies past the series' end are computed but meaningless."""
    if max_steps <= 0:
        raise SeqlabError(f"k must be positive, got {max_steps}")
    x, tau = _scaled(net, series), series.tau
    rows = len(x) - tau
    padded = torch.cat([x, x.new_zeros(tau)])  # observed columns only read x[r : r + tau]
    table = x.new_zeros(rows, tau + max_steps)
    table[:, :tau] = padded.unfold(0, tau, 1)[:rows]
    for i in range(tau, tau + max_steps):
        table[:, i] = net(table[:, i - tau:i]).reshape(-1)
    return (table * series.std + series.mean).cpu()


def fitting_k_steps(series: Series, steps: Sequence[int] = K_STEPS) -> tuple[list[int], dict[str, str]]:
    """The horizons of `steps` that fit the series, and for each one left out, why.

    k fits when T >= tau + k: the first k-step target is x_{tau+k-1}. The last target x_{T-1} is
    always held out (n_train < T - tau), so every k that fits has a held-out MSE."""
    tau, T = series.tau, len(series.x)
    kept = [k for k in steps if k <= T - tau]
    left_out = {str(k): f"a {k}-step prediction needs tau + k = {tau + k} values, the series has {T}"
                for k in steps if k > T - tau}
    return kept, left_out


def k_step_predictions(net: nn.Module, series: Series, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(target positions, k-step predictions) for every target x_{tau+k-1} .. x_{T-1}."""
    tau, T = series.tau, len(series.x)
    rows = T - tau - k + 1
    if rows <= 0:
        raise SeqlabError(f"k = {k} is too large for a series of {T} values with tau = {tau}: k can be at most "
                          f"T - tau = {T - tau}")
    col = k_step_table(net, series, k)[:rows, tau + k - 1]
    return torch.arange(tau + k - 1, T), col


def observed_mask(series: Series) -> torch.Tensor:
    """(T,) bool: True where the series' value was observed, False where --fill filled it in."""
    return series.observed if series.observed is not None else torch.ones(len(series.x), dtype=torch.bool)


def heldout_scored(series: Series, log=None) -> torch.Tensor:
    """(T - first_heldout,) bool: the held-out targets that are scored, those observed (never none:
    --fill refuses a series that ends in missing values, so its last, held-out value is observed).
    `log` hears how many were filled in (left out)."""
    scored = observed_mask(series)[series.first_heldout:]
    filled = int((~scored).sum())
    if filled and log is not None:
        log(f"{filled} of the {len(scored)} held-out values were filled in by --fill, not observed: the held-out "
            f"MSEs (and the choice of best) score the other {len(scored) - filled}")
    return scored


def mean_squared_error(preds: torch.Tensor, targets: torch.Tensor) -> float:
    """The mean squared error, in float64: a float32 square overflows to inf beyond |error| 1.8e19 (an
    outlier of 1e30 in a series)."""
    return ((preds.double() - targets.double()) ** 2).mean().item()


def heldout_mse(positions: torch.Tensor, preds: torch.Tensor, series: Series) -> tuple[float, int]:
    """MSE (and count) of the predictions whose target lies after the training window and was
    observed (not filled in by --fill)."""
    keep = (positions >= series.first_heldout) & observed_mask(series)[positions]
    n = int(keep.sum())
    if n == 0:
        return float("nan"), 0
    return mean_squared_error(preds[keep], series.x[positions[keep]]), n


def baseline(x: torch.Tensor, targets: torch.Tensor, ahead, season: int | None = None) -> torch.Tensor:
    """Predictions of x[targets] made `ahead` steps earlier (an int, or one per target) without a
    model: the last value observed then, x[t - ahead] (naive), or with `season` m the latest value
    a whole number of seasons back that was observed then, x[t - m * ceil(ahead / m)] (seasonal
    naive). Every target must have that value (t >= ahead, or m * ceil(ahead / m))."""
    ahead = torch.as_tensor(ahead)
    back = ahead if season is None else season * torch.div(ahead + season - 1, season, rounding_mode="floor")
    return x[targets - back]


def baseline_mses(series: Series, steps: Sequence[int]) -> dict:
    """The naive and (with `series.season`) seasonal-naive held-out MSEs beside `report`'s: for each
    k on the same k-step targets as `heldout_mse`, and for the multi-step forecast
    from the end of the training window. A seasonal figure whose first target has no observed
    value whole seasons back is None, with why in `seasonal_naive_left_out`."""
    x, T, start, m = series.x, len(series.x), series.first_heldout, series.season
    observed = observed_mask(series)
    naive, seasonal, left_out = {}, {}, {}
    for k in steps:
        targets = torch.arange(max(start, series.tau + k - 1), T)  # those of heldout_mse(k_step_predictions)
        targets = targets[observed[targets]]
        naive[str(k)] = mean_squared_error(baseline(x, targets, k), x[targets])
        if m is not None:
            back = m * -(-k // m)
            if len(targets) and targets[0] < back:
                seasonal[str(k)] = None
                left_out[str(k)] = (f"the first held-out {k}-step target (position {int(targets[0])}) has no value "
                                    f"{back} steps (whole seasons of {m}) before it")
            else:
                seasonal[str(k)] = mean_squared_error(baseline(x, targets, k, m), x[targets])
    targets = torch.arange(start, T)
    targets = targets[observed[targets]]
    ahead = targets - (start - 1)  # the multi-step forecast's origin is the training window's last value
    multi_naive = mean_squared_error(baseline(x, targets, ahead), x[targets])
    multi_seasonal = (mean_squared_error(baseline(x, targets, ahead, m), x[targets])
                      if m is not None and start >= m else None)
    return {"one_step_naive_mse": naive.get("1"), "k_step_naive_mse": naive, "multistep_naive_mse": multi_naive,
            "season": m, "one_step_seasonal_naive_mse": seasonal.get("1"),
            "k_step_seasonal_naive_mse": seasonal if m is not None else None,
            "multistep_seasonal_naive_mse": multi_seasonal, "seasonal_naive_left_out": left_out}


def evaluate_loss(net: nn.Module, data_iter, loss) -> float:
    """The book's `d2l.evaluate_loss`: mean of `loss` (reduction='none') over every element of the data
    (each batch moved to the model's device)."""
    total, count, device = 0.0, 0, model_device(net)
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            out = net(X)
            l = loss(out, y.reshape(out.shape))
            total += l.sum().item()
            count += l.numel()
    return total / count


def report(net: nn.Module, series: Series, steps: Sequence[int] | None = None) -> dict:
    """Held-out MSEs: one-step, multi-step from the end of the training window, and k-step, with
    the naive and seasonal-naive baselines' on the same targets (`baseline_mses`).

    `steps` none: the horizons of K_STEPS that fit the series, those left out listed with why in
    `k_step_left_out` (empty when all fit). Given steps must all fit: one that does not is an error.
    `heldout_from` is the 0-based position of the first held-out value in the series, `heldout_from_time`
    the book's time (position + 1, counting the file's empty rows --fill dropped before the series) that
    the printed lines and plots use, `heldout_from_date` its date."""
    with eval_mode(net):
        return _report(net, series, steps)


def _report(net: nn.Module, series: Series, steps: Sequence[int] | None) -> dict:
    steps, left_out = fitting_k_steps(series) if steps is None else (list(steps), {})
    k_mse = {}
    for k in steps:
        mse, n = heldout_mse(*k_step_predictions(net, series, k), series)
        k_mse[str(k)] = {"mse": mse, "tokens": n}
    start = series.first_heldout
    multi = multistep(net, series, start, len(series.x) - start)
    scored = observed_mask(series)[start:]
    multi_mse = mean_squared_error(multi[scored], series.x[start:][scored])
    out = {"one_step_mse": k_mse["1"]["mse"] if "1" in k_mse else None,
           "multistep_mse": multi_mse, "k_step": k_mse, "k_step_left_out": left_out, "heldout_from": start,
           "heldout_filled": int((~scored).sum()),
           "heldout_from_time": series.offset + start + 1, "heldout_from_date": series.dates.iso(start) if series.dates else None,
           "noise_floor": series.noise_floor}
    out.update(baseline_mses(series, steps))
    if series.noise_floor:
        out["k_step_ratio_to_floor"] = {k: v["mse"] / series.noise_floor for k, v in k_mse.items()}
    return out


def plot_predictions(net: nn.Module, series: Series, out: Path, steps: Sequence[int] | None = None) -> list[Path]:
    """The book's three figures: 1-step, 1-step + multi-step, k-step for each k (time from 1).
    `steps` none: the horizons of K_STEPS that fit the series (as in `report`)."""
    from seqlab.plotting import plot_curves

    time = torch.arange(1, len(series.x) + 1).float() + series.offset  # positions in the file, from 1
    tau, start = series.tau, series.first_heldout
    xlabel = f"time (1: {series.dates.iso(0)}, one step: {series.dates.every})" if series.dates else "time"
    on = f" ({series.dates.iso(start)})" if series.dates else ""
    one = one_step(net, series)
    multi = multistep(net, series, start, len(series.x) - start)
    paths = [plot_curves(out / "one_step.png", time, {"data": series.x, "1-step preds": one},
                         xs={"1-step preds": time[tau:]}, xlabel=xlabel, ylabel="x", title="one-step prediction"),
             plot_curves(out / "multistep.png", time,
                         {"data": series.x, "1-step preds": one, "multistep preds": multi},
                         xs={"1-step preds": time[tau:], "multistep preds": time[start:]},
                         xlabel=xlabel, ylabel="x", title=f"multi-step prediction from t = {series.offset + start + 1}{on}")]
    series_k, xs_k = {}, {}
    for k in fitting_k_steps(series)[0] if steps is None else steps:
        pos, preds = k_step_predictions(net, series, k)
        series_k[f"{k}-step preds"], xs_k[f"{k}-step preds"] = preds, time[pos]
    paths.append(plot_curves(out / "k_step.png", time, series_k, xs=xs_k, xlabel=xlabel, ylabel="x",
                             title="k-step predictions"))
    return paths
