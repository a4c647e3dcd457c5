"""Autoregressive forecasting (seed 002): config, the training loop, checkpoints.

The series a run reads (`Series`, `load_series`) are in `seqlab.training.forecast_series`; the
predictions, baselines, report and plots of a trained forecaster are in
`seqlab.training.forecast_eval` (both also importable from here).

Indices below are 0-based positions in the series x_0 .. x_{T-1} (the book's time t
is position + 1). With tau = 4 and 600 training rows the training labels are
x_4 .. x_603, and everything from position n_train + tau = 604 on is held out: the
book's multi-step prediction starts there on its own outputs.

MSEs are in the series' own units. A CSV series is standardised with the mean and
std of its training window for the model, and its predictions mapped back.
The held-out part is the only other split (as in the book): the epoch with the
lowest held-out one-step MSE is kept as best.safetensors, so the held-out figures of best
also chose it (the report says so: `selected_on`; `evaluate --which last` scores the last epoch).
Beside each figure the report gives the naive forecast's (the last observed value) and, with
--season M, the seasonal-naive one's (the value whole seasons back), on the same targets.

A CSV's date column (`--date-column`, or one named date/time/timestamp/datetime, or pandas' unnamed index) must be
strictly increasing and evenly spaced; its start and step are kept in the checkpoints, and
`seqlab forecast` names the dates it predicts. The checkpoints keep the CSV's sha256:
--resume refuses a file that changed since the run started.

metrics.jsonl: `train_loss` is the book's `evaluate_loss` over the training rows after the
epoch (one-step MSE), `valid_loss` the one-step MSE over the held-out targets, and
`tokens_per_sec` the predictions trained on per second. Training runs on the CPU unless a device
is asked for (`forecast_device`: --device auto means the CPU here).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from seqlab.config import RunConfig, to_dict, validated
from seqlab.data.dates import DateIndex
from seqlab.data.timeseries import lag_features
from seqlab.data.user_files import file_fingerprint
from seqlab.errors import SeqlabError
from seqlab.fileio import to_json
from seqlab.models.forecaster import RNNForecaster, build_forecaster
from seqlab.runtime import check_seed, resolve_device, rng_state, seed_everything, set_rng_state
from seqlab.training import distributed as D
from seqlab.training.checkpoint import bad_checkpoint, load_checkpoint, load_weights, save_epoch, task_config
from seqlab.training.checkpoint_resume import check_resume_config, load_optimizer, resume_checkpoint
from seqlab.training.common import grad_norm, make_optimizer
from seqlab.training.guard import StepGuard, StopSignals, all_skipped, interrupted, resumed_note
from seqlab.training.run_folder import check_run_folder, open_run_folder, releases_run_folder

from seqlab.training.forecast_series import (Series, SeriesData, check_same_series, load_series, named_column,
                                            resume_series_data)
from seqlab.training.forecast_eval import (K_STEPS, baseline, baseline_mses, evaluate_loss,  # noqa: F401 (public here)
                                          fitting_k_steps, heldout_mse, heldout_scored, k_step_predictions,
                                          k_step_table, multistep, one_step, plot_predictions, report)


@dataclass
class ForecastModel:
    model: Literal["mlp", "gru", "lstm"] = "mlp"  # mlp: the book's; gru/lstm read the tau values in order
    hidden: int = 10  # hidden units (per layer)
    layers: int = 1  # recurrent layers (gru/lstm)


@dataclass
class ForecastTrain:
    epochs: int = 5  # passes over the training rows
    lr: float = 0.01  # learning rate
    batch_size: int = 16  # rows per batch
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"  # the optimiser
    weight_decay: float | None = None  # L2 penalty (decoupled for adamw); none: the optimiser's default, 0.01 for adamw (as torch.optim.AdamW) and 0 for the others
    rollout: int = 1  # >1: train on the model's own k-step predictions, k = 1..rollout (1: the book)
    skip_nonfinite: bool = False  # skip steps whose loss/gradient is NaN/inf instead of stopping


@dataclass
class ForecastConfig:
    series: SeriesData = field(default_factory=SeriesData)
    model: ForecastModel = field(default_factory=ForecastModel)
    train: ForecastTrain = field(default_factory=ForecastTrain)
    run: RunConfig = field(default_factory=RunConfig)


# ---- training ----

def _loss_sum(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Sum over the batch of squared errors, as the book's `l.sum()`. A recurrent model is
    trained on every position of the window (targets: the window shifted by one)."""
    if isinstance(net, RNNForecaster):
        targets = torch.cat([X[:, 1:], y], dim=1)  # (B, tau)
        return ((net.forward_all(X) - targets) ** 2).mean(dim=1).sum()
    return ((net(X) - y) ** 2).sum()


def _rollout_loss_sum(net: nn.Module, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Free-running loss: from observed windows X (B, tau) the model predicts Y (B, K) on its own
    outputs (backpropagating through the recursion); mean over the K steps, summed over the batch."""
    tau, buf, preds = X.shape[1], X, []
    for _ in range(Y.shape[1]):
        p = net(buf[:, -tau:])  # (B, 1)
        preds.append(p)
        buf = torch.cat([buf, p], dim=1)
    return ((torch.cat(preds, dim=1) - Y) ** 2).mean(dim=1).sum()


class _StepLoss(nn.Module):
    """A forecaster and its training loss as one module, so that DDP wraps the whole step (a
    recurrent forecaster trains through `forward_all`, which a DDP wrapper would not see)."""

    def __init__(self, net: nn.Module, loss_sum):
        super().__init__()
        self.net, self.loss_sum = net, loss_sum

    def forward(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.loss_sum(self.net, X, y)


def _check(cfg: ForecastConfig) -> None:
    t = cfg.train
    check_seed(cfg.run.seed)
    check_seed(cfg.series.series_seed, "--series-seed")
    for name, value in (("epochs", t.epochs), ("batch-size", t.batch_size), ("hidden", cfg.model.hidden),
                        ("layers", cfg.model.layers), ("rollout", t.rollout)):
        if value <= 0:
            raise SeqlabError(f"--{name} must be positive, got {value}")


def build_model(cfg: ForecastConfig) -> nn.Module:
    m = cfg.model
    return build_forecaster(m.model, cfg.series.tau, m.hidden, m.layers)


def forecast_device(name: str | torch.device | None = "auto") -> torch.device:
    """The device a forecaster runs on for --device `name`: `auto` (or None) is the CPU, not the GPU
    that other tasks' `auto` picks. The book's forecaster (an MLP of 10 hidden units on 4 lags, ~60
    parameters) trains in batches of 16 rows: on a GPU every such step would be a few kernel launches
    and a host sync (the step guard reads each loss) for a few hundred multiply-adds, so a GPU is used
    only when asked for (--device cuda, e.g. for a wide or deep gru/lstm on a long series). Anything
    else is read as every task reads it (`resolve_device`: cuda on a machine without one is refused)."""
    if name is None or (isinstance(name, str) and name == "auto"):
        return torch.device("cpu")
    return resolve_device(name)


@releases_run_folder
def train_forecaster(cfg: ForecastConfig, *, device: str | torch.device | None = None, log=print,
                     notes: tuple[str, ...] = ()) -> dict:
    """Train (or resume) per `cfg` on `device` (None: `forecast_device(cfg.run.device)`, the CPU for
    `auto`); writes metrics.jsonl, checkpoints, plots and report.json, and returns the report. The
    model and every batch are on the device; the series, the baselines and the report stay on the CPU.

    Under torchrun (gloo; NCCL on CUDA) each rank trains on its share of every global batch, rank 0 alone
    writes and reports (the other ranks return an empty dict). `notes`: lines said once a --resume is
    accepted (the CLI's: what the run keeps over its --config file)."""
    cfg = validated(cfg)
    _check(cfg)
    device = forecast_device(cfg.run.device if device is None else device)
    dist, device, log = D.join(cfg.train.batch_size, device, log)  # (under torchrun: this rank's GPU)
    out = Path(cfg.run.out)
    check_run_folder(cfg.run, log)  # another run there is refused before anything is written
    ckpt, read = None, cfg.series
    if cfg.run.resume:  # the series must be the one the run was trained on (a changed CSV is refused)
        ckpt = resume_checkpoint(out, "forecast", cfg.run.resume_from)
        read = resume_series_data(cfg.series, ckpt, out)
    read = named_column(read, log)  # (--column left out: the file's only value column, kept in the config)
    cfg = replace(cfg, series=replace(cfg.series, column=read.column))
    if ckpt is not None:
        saved = check_resume_config(ckpt, cfg, out)  # names each setting that differs from the run's
    # the --fill notes go to stderr, from rank 0 alone under torchrun
    series = load_series(read, log=log, say=None if dist.is_main else (lambda line: None))
    if ckpt is not None and read.data is not None:  # what was read (the file, or how it is read, may differ)
        check_same_series(series, ckpt, out, same_file=isinstance(ckpt.meta.get("data_file"), dict))
    for k, why in fitting_k_steps(series)[1].items():  # said before training, and kept in report.json
        log(f"the k-step report leaves out k = {k}: {why}")
    features, labels = lag_features(series.scaled(), series.tau)
    n = series.n_train
    seed_everything(cfg.run.seed)
    net = build_model(cfg).to(device)  # (initialised on the CPU, then moved: the same weights on any device)
    t = cfg.train
    opt = make_optimizer(t.optimizer, net.parameters(), t.lr, weight_decay=t.weight_decay)
    train_set = torch.utils.data.TensorDataset(features[:n], labels[:n])
    if t.rollout > 1:  # row r: window x_r.. x_{r+tau-1}, targets x_{r+tau} .. x_{r+tau+K-1}, all in training
        if t.rollout > n:
            raise SeqlabError(f"--rollout {t.rollout} exceeds the {n} training rows")
        targets = series.scaled()[series.tau:].unfold(0, t.rollout, 1)[: n - t.rollout + 1]
        train_iter = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(features[: n - t.rollout + 1], targets), t.batch_size, shuffle=True)
        loss_sum = _rollout_loss_sum
    else:
        train_iter = torch.utils.data.DataLoader(train_set, t.batch_size, shuffle=True)
        loss_sum = _loss_sum
    train_eval = torch.utils.data.DataLoader(train_set, 1024)
    scored = heldout_scored(series, log)  # filled targets neither count in the held-out MSE nor choose best
    held = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(features[n:][scored], labels[n:][scored]), 1024)
    start_epoch, best = 0, float("inf")
    if ckpt is not None:
        load_weights(net, ckpt)
        load_optimizer(ckpt, opt, saved.train.lr, t.lr, log, notes=notes)
        start_epoch, best = ckpt.meta["epoch"], ckpt.meta["best_valid_loss"]
        set_rng_state(ckpt.meta["rng"])
        log(resumed_note(out, start_epoch, t.epochs, from_best=cfg.run.resume_from == "best"))
    if dist.is_main:
        open_run_folder(cfg.run, log)
    metrics = D.metrics_log(out / "metrics.jsonl", dist, keep_until_epoch=start_epoch if cfg.run.resume else None)
    step_loss = D.wrap(_StepLoss(net, loss_sum), dist, device)
    mse = nn.MSELoss(reduction="none")
    unit = series.std ** 2  # losses are reported in the series' units
    started = time.perf_counter() - (metrics.records[-1]["wall_s"] if metrics.records else 0.0)
    meta = {"task": "forecast", "config": to_dict(cfg), "mean": series.mean, "std": series.std,
            "n_train": n, "noise_floor": series.noise_floor, "offset": series.offset,
            "data_file": file_fingerprint(read.data) if read.data is not None else None,
            "dates": series.dates.to_meta() if series.dates else None}
    with StopSignals() as stop:
        for epoch in range(start_epoch, t.epochs):
            net.train()
            tic = time.perf_counter()
            # eager on the CPU alone: on a GPU a read per step would wait for the device (no --clip here)
            guard = StepGuard(skip=t.skip_nonfinite, eager=device.type == "cpu", epoch=epoch + 1, lr=t.lr)
            for step, batch in enumerate(train_iter, start=1):
                share = D.shard_rows(batch, dist)
                if share is None:
                    break  # a last batch smaller than the world size: every rank skips it
                share = tuple(part.to(device) for part in share)  # (the loaders draw on the CPU, as they did)
                opt.zero_grad()
                loss = step_loss(*share)  # the sum over this rank's rows (the book's l.sum())
                D.ddp_loss(loss, 1, dist).backward()
                if guard.ok(step, loss, grad_norm(net), opt.param_groups[0]["lr"]):
                    opt.step()
                if D.stop_requested(stop, device, dist):
                    raise interrupted(stop, epoch + 1, cfg.run)
            guard.finish(opt.param_groups[0]["lr"])  # a bad step the device recorded: said before any save
            if guard.skipped == len(train_iter):
                raise all_skipped(epoch + 1, t.lr, rate=opt.param_groups[0]["lr"])
            train_s = time.perf_counter() - tic
            net.eval()
            losses = D.from_main([evaluate_loss(net, train_eval, mse) * unit, evaluate_loss(net, held, mse) * unit],
                                 dist)
            record = dict(epoch=epoch + 1, train_loss=losses[0], valid_loss=losses[1],
                          tokens_per_sec=len(train_iter.dataset) * t.rollout / train_s,
                          lr=opt.param_groups[0]["lr"], wall_s=time.perf_counter() - started)
            if guard.skipped:
                record["skipped_steps"] = guard.skipped
            metrics.write(**record)
            improved = record["valid_loss"] < best
            best = min(best, record["valid_loss"])
            meta.update(epoch=epoch + 1, best_valid_loss=best, valid_loss=record["valid_loss"], rng=rng_state())
            extra = {"series": series.x, **({"observed": series.observed} if series.observed is not None else {})}
            if dist.is_main:  # rank 0 alone writes
                save_epoch(out, is_best=improved, model=net, meta=meta, optimizer=opt, extra=extra)
            # said once the epoch is saved: a print that fails (a closed stdout) must not lose its checkpoint
            log(f"epoch {epoch + 1}, loss: {record['train_loss']:f}, held-out 1-step MSE: {record['valid_loss']:f}")
    if not dist.is_main:
        return {}
    best_ckpt = load_checkpoint(out, "best")
    net.load_state_dict(best_ckpt.model)
    result = report(net, series)
    # the figures are best's, the epoch of lowest held-out one-step MSE: the held-out part that
    # they are measured on also chose the epoch (there is no third split, as in the book)
    last = metrics.records[-1]
    result.update(epochs=[{"epoch": r["epoch"], "train_loss": r["train_loss"], "valid_loss": r["valid_loss"]}
                          for r in metrics.records], best_epoch=best_ckpt.meta["epoch"],
                  epoch=best_ckpt.meta["epoch"], selected_on="heldout", last_epoch=last["epoch"],
                  last_epoch_one_step_mse=last["valid_loss"],
                  plots=[str(p) for p in plot_predictions(net, series, out)])
    try:
        (out / "report.json").write_text(to_json(result, indent=1))
    except OSError as exc:  # training is done and its checkpoints are written: say so, not a traceback
        raise SeqlabError(f"cannot write {str(out / 'report.json')!r}: {exc.strerror or exc}; the run's "
                          "checkpoints are kept (`seqlab evaluate --checkpoint` reports on them)") from None
    return result


def from_checkpoint(ckpt, device: str | torch.device | None = None) -> tuple[nn.Module, Series, ForecastConfig]:
    """The model (on `device`, read as `forecast_device` reads it: None or auto is the CPU), its series
    (as trained on, on the CPU) and its config, from a forecast checkpoint: a loaded one, a run folder
    (its best.safetensors) or a checkpoint file."""
    from seqlab.training.checkpoint import as_checkpoint

    ckpt = as_checkpoint(ckpt)
    cfg = task_config(ckpt, ForecastConfig, "forecast")  # checks the metadata and the config's types
    if "series" not in ckpt.extra:
        raise bad_checkpoint(ckpt, "it holds no series tensor")
    net = build_model(cfg)
    load_weights(net, ckpt)
    net.to(forecast_device(device)).eval()
    dates = None
    if ckpt.meta.get("dates") is not None:  # (runs from before dates, and runs without, have none)
        try:
            dates = DateIndex.from_meta(ckpt.meta["dates"])
        except SeqlabError as exc:
            raise bad_checkpoint(ckpt, str(exc)) from None
        if dates.length != len(ckpt.extra["series"]):
            raise bad_checkpoint(ckpt, f"its dates are for {dates.length} values, its series has "
                                       f"{len(ckpt.extra['series'])}")
    observed = ckpt.extra.get("observed")  # (runs from before it, and runs without --fill, have none)
    if observed is not None and (observed.dtype != torch.bool or observed.shape != ckpt.extra["series"].shape):
        raise bad_checkpoint(ckpt, f"its observed mask ({observed.dtype}, {tuple(observed.shape)}) does not match "
                                   "its series")
    series = Series(ckpt.extra["series"], cfg.series.tau, ckpt.meta["n_train"], ckpt.meta["mean"],
                    ckpt.meta["std"], ckpt.meta["noise_floor"], dates, cfg.series.season, observed,
                    int(ckpt.meta.get("offset", 0)))  # (runs from before it dropped nothing)
    return net, series, cfg

