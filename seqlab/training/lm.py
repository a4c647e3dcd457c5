"""Language-model training: one epoch and the whole run (held-out evaluation: lm_eval.py).

State handling (SPEC §6): with sequential sampling batch i+1 continues batch i row by
row, so the state is carried across batches and detached (truncated BPTT); with
random sampling neighbouring batches are unrelated and the state starts from zeros
each batch.

Optimisers: `sgd` is `torch.optim.SGD` on the mean token loss, which is the book's
update (`d2l.sgd(params, lr, batch_size=1)` after `l.mean().backward()`: p -= lr * g);
`adam` and `adamw` are PyTorch's. The learning rate is multiplied by `lr_decay` each
time the validation loss fails to improve (1.0 turns that off); with `schedule = "step"`
it is multiplied by `lr_decay` after every epoch past `decay_start` instead (Zaremba et
al. 2014's schedule: `configs/ptb_small.toml`).

Recipe options (`seqlab.training.lm_regularized`): AR/TAR penalties, variable-length
BPTT, `schedule = "cosine"` with warm-up (per batch), and `optimizer = "nt-asgd"`
(SGD until the validation loss stalls for `nonmono` epochs, then averaged SGD; the
averaged weights are the ones evaluated, and the ones `model_from_checkpoint` serves from
best.safetensors, which keeps the raw ones and the average as last.safetensors does).
"""

from __future__ import annotations

import dataclasses
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import torch
from torch import nn

from seqlab.config import PathText, RunConfig, to_dict, validated
from seqlab.data.corpora import LMCorpus
from seqlab.data.sampling import LMBatches
from seqlab.errors import SeqlabError
from seqlab.models.accel import autocast, fuse_optimizer
from seqlab.models.lm import ModelConfig, build_lm, describe
from seqlab.models.ngram import heldout_baselines
from seqlab.runtime import rng_state, set_rng_state
from seqlab.training.checkpoint import (Checkpoint, as_checkpoint, check_vocab_fits, load_weights, save_epoch,
                                        task_config)
from seqlab.training.checkpoint_resume import check_resume_config, load_optimizer, resume_checkpoint
from seqlab.training import common
from seqlab.training.common import check_count, clip_gradients, detach_state, make_optimizer, warn
from seqlab.training import distributed as D
from seqlab.training import lm_regularized as reg
from seqlab.training.lm_data import (DATA_RECORDED, UNK_WARN, UNSEEN_WARN, check_compatible,  # noqa: F401 (public here)
                                     check_same_data, count_note, data_config_for, data_warnings, folder_note,
                                     load_corpus, split_sizes, unk_rates, unk_warning, vocab_from_checkpoint)
from seqlab.training.lm_records import (baseline_line, chosen_of, chosen_of_records, epoch_line, plot_perplexity,
                                       selection_loss, write_report)
from seqlab.training.lm_eval import evaluate_lm  # (also importable from here, as the README does)
from seqlab.training.guard import (StepGuard, StopSignals, all_skipped, check_finite, interrupted,
                                   resumed_note)
from seqlab.training.metrics import perplexity
from seqlab.training.progress import progress
from seqlab.training.run_folder import check_run_folder, open_run_folder, releases_run_folder
from seqlab.training.schedules import NTASGDTrigger, scaled_step, swap_in_average


@dataclass
class DataConfig:
    dataset: str | None = None  # a registered data set: timemachine, tinyshakespeare, ptb, wikitext-2
    data: PathText | None = None  # a UTF-8 text file (its last 10% held out) or a folder of train/valid[/test].txt
    level: Literal["char", "word"] = "char"  # tokens: characters or whitespace-separated words (not for Chinese)
    max_tokens: int | None = None  # keep the first N tokens of the training split only (the book uses 10000; valid, test and the vocabulary come from the whole splits); none or -1: all of them
    min_freq: int = 0  # rarer training tokens become <unk>
    max_vocab: int | None = None  # cap the vocabulary at N tokens besides <unk> and <eos> (rarer tokens become <unk>)


@dataclass
class TrainConfig:
    batch_size: int = 32  # sequences per batch
    num_steps: int = 35  # time steps per batch (truncated BPTT length)
    epochs: int = 10  # passes over the training tokens
    lr: float = 1.0  # learning rate
    optimizer: Literal["sgd", "adam", "adamw", "nt-asgd"] = "sgd"  # nt-asgd: SGD, then averaged SGD on a stall
    sampling: Literal["sequential", "random"] = "sequential"  # sequential carries the state across batches
    clip: float = 1.0  # gradient clipping: the largest global gradient norm kept; 0: no clipping
    weight_decay: float | None = None  # L2 penalty (decoupled for adamw); none: the optimiser's default, 0.01 for adamw (as torch.optim.AdamW) and 0 for the others
    lr_decay: float = 1.0  # plateau: multiply lr by this when validation loss stops improving; step: every epoch
    eval_batch_size: int = 10  # columns of the held-out stream during validation
    skip_nonfinite: bool = False  # skip steps whose loss/gradient is NaN/inf instead of stopping
    # recipe options (seqlab.training.lm_regularized)
    schedule: Literal["none", "plateau", "cosine", "step"] = "plateau"  # plateau: x lr_decay on a stall; step: every epoch
    decay_start: int = 0  # step: epochs at the full lr before it is multiplied by lr_decay after each epoch
    warmup_steps: int = 0  # cosine: linear warm-up over this many batches
    min_lr_ratio: float = 0.1  # cosine: final lr = min_lr_ratio * lr
    ar_alpha: float = 0.0  # activation regularisation (AR) weight
    tar_beta: float = 0.0  # temporal activation regularisation (TAR) weight
    variable_bptt: bool = False  # AWD-LSTM's variable window length around num_steps
    bptt_sd: float = 5.0  # variable BPTT: standard deviation of the window length
    nonmono: int = 5  # nt-asgd: epochs without improvement before averaging starts


@dataclass
class LMConfig:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    run: RunConfig = dataclasses.field(default_factory=RunConfig)


def train_epoch(net: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer,
                device: torch.device | str | None = None, *,
                clip: float, carry_state: bool, total: int | None = None, desc: str = "train",
                stop: StopSignals | None = None, fast: bool = True, guard: StepGuard | None = None,
                dist: D.Dist = D.Dist(), show_progress: bool | None = None) -> tuple[float, int, float]:
    """One pass over `batches`; returns (sum of token losses, tokens, seconds), summed over ranks.

    No host sync per batch on CUDA: the loss sum stays on the device until the end. `fast`: bf16
    autocast on a CUDA device (seqlab.models.accel; a no-op on the CPU).

    Stops early (between steps) when `stop.requested`: the caller decides what to keep.
    `guard` checks each step's loss and gradient norm (a skipped step restarts the carried
    state). Under torchrun (`dist`) each rank trains on its contiguous block of rows of every
    global batch (so its carried state stays right) and `net` is DDP-wrapped. `device`: "cpu",
    "cuda", a torch.device, or None for the model's own. `show_progress`: the bar (rank 0's alone)
    on, off, or None: on a terminal only.
    """
    device = common.device_for(net, device)
    net.train()
    model = D.unwrap(net)
    state, loss_sum, n, t0 = None, torch.zeros((), device=device), 0, time.perf_counter()
    lr = optimizer.param_groups[0]["lr"]
    step = 0
    bar = progress(batches, total=total, desc=desc, enabled=show_progress if dist.is_main else False)
    for step, (X, Y) in enumerate(bar, start=1):
        X, Y = D.shard_columns(X, dist).to(device), D.shard_columns(Y, dist).to(device)
        if state is None or not carry_state:
            state = model.begin_state(batch_size=X.shape[0], device=device)
        else:
            state = detach_state(state)
        with autocast(device, fast):
            total_loss, state = common.lm_batch_loss(net, model, X, Y, state)
        optimizer.zero_grad(set_to_none=True)
        (total_loss / Y.numel()).backward()
        norm = clip_gradients(net, clip)
        if guard is not None and not guard.ok(step, total_loss, norm, lr):
            optimizer.zero_grad(set_to_none=True)
            state = None
        else:
            scaled_step(optimizer)  # (ASGD: at this step's rate, a plateau decay included)
            loss_sum += total_loss.detach()
            n += Y.numel()
        if D.stop_requested(stop, device, dist):
            break
    if step == 0:  # said here: the caller reads n == 0 as "every step was skipped"
        raise common.no_batches()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    loss_total, n = D.all_reduce_sum([float(loss_sum), n], device, dist)
    return loss_total, int(n), time.perf_counter() - t0


@releases_run_folder
def fit_lm(cfg: LMConfig, corpus: LMCorpus | None = None, device: torch.device | str | None = None, *,
           log=print, notes: tuple[str, ...] = (), show_progress: bool | None = None) -> dict:
    """Train, evaluate on the validation split each epoch, checkpoint, log (first the counting
    baselines' valid perplexity: `heldout_baselines`), write report.json (the result and those
    baselines); returns the last record, with `best_epoch` and `best_valid_ppl`: the epoch
    best.safetensors holds and its validation perplexity (None without a validation split: the
    epoch is then chosen on the training loss).

    `corpus`: by default the one `cfg.data` names (`load_corpus`); `device`: by default
    `cfg.run.device`. Seeds Python's, NumPy's and torch's generators with `cfg.run.seed` first,
    so two calls with one config train alike (a resumed run then restores the saved states).
    The trained model is in `cfg.run.out` (`model_from_checkpoint`). `notes`: lines said once a
    --resume is accepted (the CLI's: what the run keeps over its --config file). `show_progress`:
    the progress bar on, off, or None: on a terminal only (the CLI's --no-progress: False).
    """
    from seqlab.runtime import resolve_device, seed_everything

    cfg = validated(cfg)  # a value its own checkpoint's loader would refuse: refused before anything is read
    corpus = load_corpus(cfg) if corpus is None else corpus
    check_vocab_fits(corpus.vocab)
    out = Path(cfg.run.out)
    if not cfg.run.resume:
        # (a config that describes other data: refused before anything is written; and what the corpus
        # gave it checked as the rest: a level 'words' made checkpoints their loader refused)
        cfg = validated(data_config_for(cfg, corpus))
    device = resolve_device(cfg.run.device if device is None else device)
    check_run_folder(cfg.run, log)  # another run there is refused before anything is written
    # (read after check_run_folder, which puts back a run a killed --overwrite had moved aside)
    ckpt = resume_checkpoint(out, "lm", cfg.run.resume_from) if cfg.run.resume else None
    if ckpt is not None:
        cfg = data_config_for(cfg, corpus, ckpt)
    # a run that began before corpora recorded their build options keeps saying so: its cfg.data is its own
    data_recorded = ckpt is None or bool(ckpt.meta.get(DATA_RECORDED))
    if not cfg.run.resume:
        reg.check_new_run(cfg)
    tc = cfg.train
    dist, device, log = D.join(tc.batch_size, device, log)
    seed_everything(cfg.run.seed)
    net = build_lm(cfg.model, len(corpus.vocab), trained=cfg.run.resume).to(device)
    reg.check_options(tc)
    trigger = NTASGDTrigger(tc.nonmono) if tc.optimizer == "nt-asgd" else None
    optimizer = make_optimizer("sgd" if trigger else tc.optimizer, net.parameters(), tc.lr,
                               weight_decay=tc.weight_decay)
    optimizer = fuse_optimizer(optimizer, device, cfg.model.fast)  # fused=True on CUDA
    if not 0 < tc.lr_decay <= 1:
        raise SeqlabError(f"lr_decay must be in (0, 1], got {tc.lr_decay}")
    if not tc.clip >= 0:  # NaN too
        raise SeqlabError(f"--clip must be >= 0 (0 turns clipping off), got {tc.clip}")
    if tc.epochs <= 0:
        raise SeqlabError(f"--epochs must be positive, got {tc.epochs}")
    check_count(tc.eval_batch_size, "eval_batch_size")
    batch_rng = random.Random(cfg.run.seed)
    batches = LMBatches(corpus.train, tc.batch_size, tc.num_steps, tc.sampling, rng=batch_rng, device=device)
    steps = (reg.expected_batches(len(corpus.train), tc.batch_size, tc.num_steps) if tc.variable_bptt
             else len(batches))
    scheduler = reg.make_scheduler(tc, optimizer, steps)
    note = reg.warmup_note(tc, steps)
    if note:
        log(note)
    if tc.variable_bptt:
        batches = reg.VariableBatches(batches.corpus, tc, batch_rng, steps)  # the copy on the device
    start, best = 0, math.inf
    chosen = {"best_epoch": None, "best_valid_ppl": None}  # the epoch best.safetensors holds
    if ckpt is not None:
        saved = task_config(ckpt, LMConfig, "lm")  # the vocabulary and config below are there and well-formed
        check_compatible(ckpt, corpus)  # first: another vocabulary is told which data options to keep
        # before the weights: another model is told which settings differ (load_state_dict's size
        # mismatch named a tensor); past it, weights that do not fit mean a damaged checkpoint
        check_resume_config(ckpt, cfg, out, saved, say_model=True)
        load_weights(net, ckpt)
        check_same_data(ckpt, corpus)
        if trigger is not None and ckpt.meta.get("ntasgd"):
            trigger.load_state_dict(ckpt.meta["ntasgd"])
            if trigger.triggered:  # averaging had started: resume the averaged SGD and its average
                optimizer = reg.averaged_sgd(net.parameters(), tc.lr, weight_decay=tc.weight_decay)
        load_optimizer(ckpt, optimizer, saved.train.lr, tc.lr, log, scheduler, clip=(saved.train.clip, tc.clip),
                       notes=notes)
        # then the cosine at its scale:
        note = reg.restretch_cosine(tc, saved.train.epochs, ckpt.meta["epoch"], optimizer, scheduler)
        if note:
            log(note)
        start, best = ckpt.meta["epoch"], ckpt.meta["best_valid_loss"]
        chosen = chosen_of(ckpt.meta)
        set_rng_state(ckpt.meta["rng"])
        v, internal, g = ckpt.meta["batch_rng"]
        batch_rng.setstate((v, tuple(internal), g))
        note = resumed_note(out, start, tc.epochs, from_best=cfg.run.resume_from == "best")
        log(f"{note} (best valid loss {best:.4f})")
    if dist.is_main:
        open_run_folder(cfg.run, log)
    metrics = D.metrics_log(out / "metrics.jsonl", dist, keep_until_epoch=start if cfg.run.resume else None)
    if ckpt is not None and chosen["best_epoch"] is None:  # a run saved before checkpoints kept it
        chosen = chosen_of_records(metrics.records)
    n_params = sum(p.numel() for p in net.parameters())
    rates = unk_rates(corpus)
    held_out = "" if rates["valid_unk_rate"] is None else f", {rates['valid_unk_rate']:.1%} of held-out"
    log(f"lm: {cfg.model.cell}/{cfg.model.impl}, {describe(net)}, {n_params:,} parameters, "
        f"vocab {len(corpus.vocab)}, {split_sizes(corpus)}, <unk> {rates['train_unk_rate']:.1%} of "
        f"training{held_out}, device {device}" + (f", {dist.world_size} ranks" if dist.enabled else ""))
    for note in (folder_note(corpus), count_note(corpus)):
        if note:
            log(note)
    baseline = None  # SPEC §4: what the model has to beat, once at the start (counting: cheap)
    if dist.is_main and corpus.valid is not None and len(corpus.valid) >= 2:
        baseline = heldout_baselines(corpus.train, corpus.valid, len(corpus.vocab))
        log(baseline_line(baseline))
    for note in data_warnings(corpus):
        warn(note)
    wrapped = D.wrap(net, dist, device)
    record: dict = metrics.records[-1] if metrics.records else {}
    wall0 = time.perf_counter() - (record.get("wall_s") or 0.0)
    with StopSignals() as stop:
        for epoch in range(start + 1, tc.epochs + 1):
            record = _epoch(cfg, wrapped, corpus, batches, optimizer, scheduler, metrics, device, epoch, stop,
                            wall0, dist, show_progress)
            # the epoch's lines are said once it is saved: a print that fails (a closed stdout) must not lose
            # its checkpoint; nt-asgd's note, which comes before the save, still follows the epoch's line
            lines = [epoch_line(record)]
            optimizer = reg.start_averaging(net, optimizer, trigger, record["valid_loss"], tc.weight_decay,
                                            lines.append)
            best, chosen = _save(cfg, out, net, corpus, optimizer, scheduler, batch_rng, record, epoch, best, dist,
                                 trigger=trigger, data_recorded=data_recorded, chosen=chosen)
            for line in lines:
                log(line)
    if metrics.records and dist.is_main:
        plot_perplexity(out, metrics.records)
        write_report(out, dict(record, **chosen, baseline=baseline))
    return dict(record, **chosen)


def _epoch(cfg, net, corpus, batches, optimizer, scheduler, metrics, device, epoch, stop, wall0, dist=D.Dist(),
           show_progress=None):
    """Train one epoch, evaluate, write its metrics.jsonl line; returns the epoch's record."""
    tc = cfg.train
    lr = optimizer.param_groups[0]["lr"]
    guard = StepGuard(skip=tc.skip_nonfinite, eager=device.type == "cpu", epoch=epoch, lr=tc.lr, clip=tc.clip)
    if reg.uses_regularized_epoch(tc):
        loss_sum, n, secs = reg.train_epoch_regularized(
            net, batches, optimizer, device, clip=tc.clip, carry_state=tc.sampling == "sequential",
            bptt=tc.num_steps, ar_alpha=tc.ar_alpha, tar_beta=tc.tar_beta,
            scheduler=scheduler if tc.schedule == "cosine" else None, total=len(batches),
            desc=f"epoch {epoch}/{tc.epochs}", stop=stop, guard=guard, dist=dist, fast=cfg.model.fast,
            show_progress=show_progress)
    else:
        loss_sum, n, secs = train_epoch(net, batches, optimizer, device, clip=tc.clip,
                                        carry_state=tc.sampling == "sequential", total=len(batches),
                                        desc=f"epoch {epoch}/{tc.epochs}", stop=stop, fast=cfg.model.fast,
                                        guard=guard, dist=dist, show_progress=show_progress)
    if D.stop_requested(stop, device, dist):  # nothing of this epoch is saved: last is the previous one
        raise interrupted(stop, epoch, cfg.run)
    guard.finish(lr)  # before anything is saved
    if n == 0:
        raise all_skipped(epoch, tc.lr, rate=lr, clip=tc.clip)
    check_finite(loss_sum, epoch=epoch, lr=tc.lr, rate=lr, clip=tc.clip)
    train_loss = loss_sum / n
    rates = unk_rates(corpus)
    record = {"epoch": epoch, "train_loss": train_loss, "train_ppl": perplexity(loss_sum, n),
              "train_unk_rate": rates["train_unk_rate"]}
    if guard.skipped:
        record["skipped_steps"] = guard.skipped
    if corpus.valid is not None:
        with reg.averaged_weights(optimizer):  # nt-asgd: evaluate the averaged weights
            # rank 0's figures on every rank: the plateau and NT-ASGD decisions must be the same everywhere
            v_sum, v_n = D.from_main(evaluate_lm(D.unwrap(net), corpus.valid, tc.eval_batch_size, tc.num_steps,
                                                 device), dist)
        record.update(valid_loss=v_sum / v_n, valid_ppl=perplexity(v_sum, v_n))
    else:  # no held-out data: checkpoints are selected on the training loss
        record.update(valid_loss=None, valid_ppl=None)
    record["valid_unk_rate"] = rates["valid_unk_rate"]
    record.update(tokens_per_sec=n / secs, lr=lr, wall_s=time.perf_counter() - wall0)
    if tc.schedule == "plateau" and tc.lr_decay < 1:
        scheduler.step(selection_loss(record))
    elif tc.schedule == "step":
        scheduler.step()
    metrics.write(**record)
    return record


def _save(cfg, out, net, corpus, optimizer, scheduler, batch_rng, record, epoch, best, dist=D.Dist(),
          trigger=None, data_recorded=True, chosen=None) -> tuple[float, dict | None]:
    """Write last (and best, if it is) checkpoint (rank 0 only); returns the best selection loss so far
    and `chosen`, the best_epoch and best_valid_ppl the checkpoints keep (this epoch's when it is best)."""
    loss = selection_loss(record)
    is_best = loss < best
    best = min(best, loss)
    if is_best:
        chosen = {"best_epoch": epoch, "best_valid_ppl": record.get("valid_ppl")}
    if not dist.is_main:
        return best, chosen
    meta = {"task": "lm", "config": to_dict(cfg), "vocab": corpus.vocab.to_dict(), "epoch": epoch,
            "best_valid_loss": best, "metrics": record, "rng": rng_state(),
            "batch_rng": [list(x) if isinstance(x, tuple) else x for x in batch_rng.getstate()],
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "ntasgd": trigger.state_dict() if trigger is not None else None, "data_file": corpus.source,
            DATA_RECORDED: data_recorded, **(chosen or {})}
    # best is last's file: an averaging nt-asgd run's raw SGD weights with its average in the optimiser
    # state, which model_from_checkpoint swaps in (the weights that were evaluated)
    save_epoch(out, is_best=is_best, model=net, meta=meta, optimizer=optimizer)
    return best, chosen


def model_from_checkpoint(ckpt: Checkpoint | str | Path, device: torch.device | str = "cpu"
                          ) -> tuple[nn.Module, LMConfig]:
    """Rebuild an LM and its config from a checkpoint (plain data only, no code): a loaded one, a
    run folder (its best.safetensors) or a checkpoint file; on `device` ("cpu", "cuda", ...).
    Its vocabulary: `vocab_from_checkpoint(ckpt)`."""
    from seqlab.runtime import resolve_device

    ckpt, device = as_checkpoint(ckpt), resolve_device(device)
    cfg = task_config(ckpt, LMConfig, "lm")  # checks the task, the metadata and the config's types
    vocab = vocab_from_checkpoint(ckpt)
    net = build_lm(cfg.model, len(vocab), trained=True)
    load_weights(net, ckpt)
    ntasgd = ckpt.meta.get("ntasgd")
    if isinstance(ntasgd, dict) and ntasgd.get("triggered") and ckpt.optimizer is not None:
        # an averaging nt-asgd run keeps the raw SGD weights in last.safetensors (a resume goes on from
        # them) and their average in its optimiser state: the weights it evaluated, which its log and
        # best.safetensors hold; evaluate and generate score those (last was 845 where the log said 685)
        averaging = reg.averaged_sgd(net.parameters(), cfg.train.lr, weight_decay=cfg.train.weight_decay)
        load_optimizer(ckpt, averaging, cfg.train.lr, cfg.train.lr, lambda *_: None)
        swap_in_average(averaging)
    return net.to(device).eval(), cfg
