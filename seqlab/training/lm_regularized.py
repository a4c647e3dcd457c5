"""The regularised LM epoch (AWD-LSTM's recipe pieces), next to the plain `train_epoch`.

One epoch over the training stream with, as configured:
- AR/TAR: `loss = CE + alpha * mean(dropped_out^2) + beta * mean((raw_t - raw_{t-1})^2)`
  on the last layer (Merity et al. 2017); the logged training loss is the CE alone;
- variable-length BPTT (`seqlab.data.sampling.variable_bptt`), the step's learning rate
  scaled by `seq_len / bptt` so that every token weighs the same;
- a per-batch schedule (`scheduler.step()` after each optimiser step: warm-up + cosine).

The NT-ASGD switch and evaluation with averaged weights are in `start_averaging` and
`averaged_weights`, used by `seqlab.training.lm.fit_lm` between epochs.

Under torchrun every rank draws the same window lengths (the batch RNG is seeded alike on
all of them), so the ranks stay in step; each trains on its equal block of rows, so DDP's
average of the ranks' CE/AR/TAR means is the mean over the global batch; `fit_lm` takes the
NT-ASGD and plateau decisions from rank 0's validation loss (`distributed.from_main`).
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import torch
from torch import nn

from seqlab.data.sampling import batchify, longest_window, variable_bptt
from seqlab.errors import SeqlabError
from seqlab.models.accel import autocast
from seqlab.models.lm_config import check_new_tying
from seqlab.models.regularization import activation_reg, temporal_activation_reg
from seqlab.training import distributed as D
from seqlab.training import common
from seqlab.training.common import clip_gradients, detach_state, device_for
from seqlab.training.progress import progress
from seqlab.training.schedules import (NTASGDTrigger, averaged_sgd, cosine_span_note, restore_weights, scaled_step,
                                       swap_in_average, warmup_cosine)


def variable_batches(train: torch.Tensor, batch_size: int, bptt: int, rng: random.Random,
                     sd: float = 5.0) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """(X (B, T), Y (B, T), T) windows of variable length T over the batchified stream."""
    for X, Y, seq_len in variable_bptt(batchify(train, batch_size), bptt, rng, sd=sd):
        yield X.T, Y.T, seq_len  # (seq_len, B) -> (B, seq_len), as the models read


class VariableBatches:
    """An epoch-iterable of variable-length BPTT windows (X, Y, seq_len) for `fit_lm`."""

    def __init__(self, train: torch.Tensor, tc, rng: random.Random, steps: int):
        self.train, self.tc, self.rng, self.steps = train, tc, rng, steps

    def __len__(self) -> int:  # an estimate, for the progress bar and the cosine's length
        return self.steps

    def __iter__(self):
        return variable_batches(self.train, self.tc.batch_size, self.tc.num_steps, self.rng, self.tc.bptt_sd)


def expected_batches(n_tokens: int, batch_size: int, bptt: int) -> int:
    """About how many windows one epoch of variable BPTT has (for the cosine schedule)."""
    return max(1, math.ceil((n_tokens // batch_size - 1) / bptt))


def train_epoch_regularized(net: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer,
                            device: torch.device | str | None = None, *, clip: float, carry_state: bool,
                            bptt: int,
                            ar_alpha: float = 0.0, tar_beta: float = 0.0, scheduler=None,
                            total: int | None = None, desc: str = "train", stop=None,
                            guard=None, dist: D.Dist = D.Dist(), fast: bool = True,
                            show_progress: bool | None = None) -> tuple[float, int, float]:
    """One pass over `batches` of (X, Y) or (X, Y, seq_len); returns (sum of CE losses, tokens, seconds),
    summed over ranks.

    `guard` (a `seqlab.training.guard.StepGuard`) checks each step as in `train_epoch`: a skipped
    step changes no weight and restarts the carried state. Under torchrun (`dist`) `net` is
    DDP-wrapped and each rank trains on its contiguous block of rows of every global batch. `fast`:
    bf16 autocast on CUDA, as in `lm.train_epoch` (a no-op on the CPU). `device`: by default the model's.
    `show_progress`: the bar (rank 0's alone) on, off, or None: on a terminal only."""
    device = device_for(net, device)
    net.train()
    model = D.unwrap(net)  # the LM itself: it records the outputs AR/TAR read
    model.keep_outputs = ar_alpha > 0 or tar_beta > 0
    state, loss_sum, n, t0 = None, torch.zeros((), device=device), 0, time.perf_counter()
    step = 0
    try:
        bar = progress(batches, total=total, desc=desc, enabled=show_progress if dist.is_main else False)
        for step, batch in enumerate(bar, start=1):
            X, Y = D.shard_columns(batch[0], dist).to(device), D.shard_columns(batch[1], dist).to(device)
            seq_len = batch[2] if len(batch) > 2 else X.shape[1]
            if state is None or not carry_state:
                state = model.begin_state(batch_size=X.shape[0], device=device)
            else:
                state = detach_state(state)
            with autocast(device, fast):
                ce, state = common.lm_batch_loss(net, model, X, Y, state)
                loss = ce / Y.numel()
                if model.keep_outputs:
                    raw, dropped = model.outputs  # (T, B, H) each
                    if ar_alpha > 0:
                        loss = loss + activation_reg(dropped, ar_alpha)
                    if tar_beta > 0:
                        loss = loss + temporal_activation_reg(raw, tar_beta)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = clip_gradients(net, clip)
            if guard is not None and not guard.ok(step, loss, norm, optimizer.param_groups[0]["lr"]):
                optimizer.zero_grad(set_to_none=True)
                state = None
            else:
                scaled_step(optimizer, seq_len / bptt)  # scale 1 for fixed windows
                if scheduler is not None:
                    scheduler.step()
                loss_sum += ce.detach()
                n += Y.numel()
            if D.stop_requested(stop, device, dist):
                break
    finally:
        model.keep_outputs, model.outputs = False, None
    if step == 0:  # said here, as train_epoch does: the caller reads n == 0 as "every step was skipped"
        raise common.no_batches("lower batch_size or num_steps; variable BPTT needs 2 tokens or more in each of "
                                "the batch_size rows")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    loss_total, n = D.all_reduce_sum([float(loss_sum), n], device, dist)
    return loss_total, int(n), time.perf_counter() - t0


def uses_regularized_epoch(tc) -> bool:
    return tc.ar_alpha > 0 or tc.tar_beta > 0 or tc.variable_bptt or tc.schedule == "cosine"


def check_new_run(cfg) -> None:
    """Settings a new run refuses that runs trained before these checks may hold (they were
    ignored then): such a run can still be evaluated, generated from and resumed."""
    if cfg.model.nonlinearity != "tanh" and cfg.model.cell != "rnn":  # GRU/LSTM gates have fixed activations
        raise SeqlabError(f"--nonlinearity {cfg.model.nonlinearity} applies to --cell rnn only, not {cfg.model.cell}")
    tc = cfg.train
    if tc.warmup_steps < 0:
        raise SeqlabError(f"need warmup_steps >= 0, got {tc.warmup_steps}")
    # out of range whether or not the run's schedule/optimizer uses them (they were kept silently; a run
    # holding one still resumes: neither they nor --schedule/--optimizer change on --resume)
    if not 0 <= tc.min_lr_ratio <= 1:
        raise SeqlabError(f"--min-lr-ratio must be in [0, 1] (the cosine schedule's last lr over --lr), got "
                          f"{tc.min_lr_ratio}")
    if tc.decay_start < 0:
        raise SeqlabError(f"--decay-start must be >= 0 (epochs at the full lr before --schedule step decays it), "
                          f"got {tc.decay_start}")
    if tc.nonmono < 1:
        raise SeqlabError(f"--nonmono must be >= 1 (checks without improvement before nt-asgd averages), got "
                          f"{tc.nonmono}")
    check_new_tying(cfg.model)  # (build_lm applies it too, to a new model of the library's)
    max_tokens = cfg.data.max_tokens
    if max_tokens is not None and max_tokens < -1:  # (-1 is the documented "all of them")
        raise SeqlabError(f"--max-tokens {max_tokens}: give a positive number of training tokens to keep, "
                          "or -1 (or none) for all of them")


def check_options(tc) -> None:
    """Refuse combinations that cannot work, with what to change."""
    if not tc.bptt_sd >= 0:
        raise SeqlabError(f"--bptt-sd must be >= 0 (the spread of variable BPTT lengths), got {tc.bptt_sd}")
    if not (tc.ar_alpha >= 0 and tc.tar_beta >= 0):
        raise SeqlabError(f"--ar-alpha and --tar-beta must be >= 0 (0 turns them off), got {tc.ar_alpha} "
                          f"and {tc.tar_beta}")
    if tc.variable_bptt and tc.sampling != "sequential":
        raise SeqlabError("variable-length BPTT reads the stream in order: use --sampling sequential")
    if tc.variable_bptt:  # a window's step is at lr x its length / bptt, up to its longest window's
        longest = longest_window(tc.num_steps) / tc.num_steps
        top = torch.finfo(torch.float32).max / longest
        if not tc.lr <= top:
            raise SeqlabError(f"--lr {tc.lr:g} with variable BPTT steps at up to {longest:.3g}x that rate, past "
                              f"float32's largest number: use --lr at most {top:.4g}")
    if tc.optimizer == "nt-asgd" and (tc.schedule in ("cosine", "step")
                                      or (tc.schedule == "plateau" and tc.lr_decay < 1)):
        raise SeqlabError("nt-asgd keeps a constant learning rate (it averages instead): use --schedule none")
    if tc.schedule == "step" and (tc.lr_decay >= 1 or tc.decay_start < 0):
        raise SeqlabError(f"--schedule step multiplies the lr by --lr-decay after each epoch past --decay-start: "
                          f"need lr_decay < 1 and decay_start >= 0, got {tc.lr_decay} and {tc.decay_start} "
                          f"(e.g. --lr-decay 0.5 --decay-start 4)")
    if tc.schedule == "cosine" and (tc.warmup_steps < 0 or not 0 <= tc.min_lr_ratio <= 1):
        raise SeqlabError(f"need warmup_steps >= 0 and 0 <= min_lr_ratio <= 1, got {tc.warmup_steps} "
                          f"and {tc.min_lr_ratio}")


def make_scheduler(tc, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    """The per-batch schedule (cosine) or a per-epoch one (plateau, step); None for none."""
    if tc.schedule == "cosine":
        total = tc.epochs * steps_per_epoch
        return warmup_cosine(optimizer, min(tc.warmup_steps, total), total, tc.min_lr_ratio)
    if tc.schedule == "plateau":
        # lr_decay 1.0 means no decay: the scheduler is then never stepped (its factor must be < 1)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=tc.lr_decay if tc.lr_decay < 1 else 0.5,
                                                          patience=0)
    if tc.schedule == "step":  # epoch e (from 1) trains at lr * lr_decay ** max(0, e - decay_start)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, _StepDecay(tc.lr_decay, tc.decay_start))
    return None


def warmup_note(tc, steps_per_epoch: int) -> str | None:
    """The line to log when the cosine's warm-up is longer than the run (`make_scheduler` caps it)."""
    total = tc.epochs * steps_per_epoch
    if tc.schedule != "cosine" or tc.warmup_steps <= total:
        return None
    return (f"note: --warmup-steps {tc.warmup_steps:,} is more than the run's {total:,} steps ({tc.epochs} epochs "
            f"x {steps_per_epoch:,} batches): the warm-up uses {total:,}, so the learning rate rises for the "
            "whole run and never decays; lower --warmup-steps for a cosine decay")


def restretch_cosine(tc, saved_epochs: int, done: int, optimizer: torch.optim.Optimizer,
                     scheduler) -> str | None:
    """A resumed cosine schedule when --epochs changed: the cosine spans the run's epochs, so it is
    re-drawn, and the learning rate jumps where the run resumes (e.g. from the floor of a finished
    anneal back up). The new curve's rate is set now, for the first step after the resume (the
    scheduler moves only after a step). Returns the line to log (None: nothing moved).
    """
    if tc.schedule != "cosine" or saved_epochs == tc.epochs:
        return None
    was = optimizer.param_groups[0]["lr"]
    for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
        group["lr"] = base * factor(scheduler.last_epoch)
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    return cosine_span_note(tc.epochs, saved_epochs, done, was, optimizer.param_groups[0]["lr"])


@dataclass
class _StepDecay:
    """LambdaLR's factor for epoch `done + 1`; a dataclass, so the scheduler's state_dict keeps it."""

    decay: float
    start: int

    def __call__(self, done: int) -> float:
        return self.decay ** max(0, done + 1 - self.start)


def start_averaging(net: nn.Module, optimizer: torch.optim.Optimizer, trigger: NTASGDTrigger | None,
                    valid_loss: float | None, weight_decay: float | None, log=print) -> torch.optim.Optimizer:
    """NT-ASGD: after an epoch, switch SGD to averaged SGD when the trigger fires."""
    if trigger is None or valid_loss is None or isinstance(optimizer, torch.optim.ASGD):
        return optimizer
    if trigger.update(valid_loss):
        lr = optimizer.param_groups[0]["lr"]
        log(f"nt-asgd: validation loss {valid_loss:.4f} is no better than {trigger.nonmono} checks ago: "
            f"averaging from now on (lr {lr:g})")
        return averaged_sgd(net.parameters(), lr, weight_decay=weight_decay)
    return optimizer


@contextlib.contextmanager
def averaged_weights(optimizer: torch.optim.Optimizer):
    """Within the block the model holds ASGD's averaged weights (nothing for other optimisers)."""
    if not isinstance(optimizer, torch.optim.ASGD):
        yield
        return
    saved = swap_in_average(optimizer)
    try:
        yield
    finally:
        restore_weights(saved)
