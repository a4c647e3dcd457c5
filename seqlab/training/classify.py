"""Sequence classification (seed 003): config, the training loop, evaluation. MNIST read as
sequences (its data in classify_images.py), or labelled text (`data`: seqlab.data.labelled_text;
its pieces in classify_text.py).

Splits. MNIST has a train and a test set. By default the last `valid_size` training
images are held out as the validation split (it picks `best.safetensors`); the test
set is scored every epoch as well, and never used to choose anything. With
`valid_size = 0` (the seed's setting: all 60,000 images train) the test set is
the validation split, as in the seed.

Speed. `tokens_per_sec` in metrics.jsonl counts sequence steps per second: an image
is 28 steps in rows mode and 784 in pixels mode; a text, its tokens.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Literal

import torch
from torch import nn

from seqlab.config import PathText, RunConfig, to_dict, validated
from seqlab.errors import SeqlabError, check_positive_int
from seqlab.models.classifier import SequenceClassifier
from seqlab.runtime import check_seed, eval_mode, rng_state, seed_everything, set_rng_state
from seqlab.training import distributed as D
from seqlab.training.checkpoint import load_weights, save_epoch, task_config
from seqlab.training.checkpoint_resume import check_resume_config, load_optimizer, resume_checkpoint
from seqlab.training.common import clip_gradients, make_optimizer
from seqlab.training.guard import (StepGuard, StopSignals, all_skipped, interrupted,
                                   resumed_note)
from seqlab.training.progress import progress
from seqlab.training.run_folder import check_run_folder, open_run_folder, releases_run_folder
from seqlab.training.schedules import cosine_span_note

NUM_CLASSES = 10


@dataclass
class ClassifyData:
    dataset: Literal["mnist"] | None = "mnist"  # the data set (none with --data)
    mode: Literal["rows", "pixels"] = "rows"  # rows: 28 steps of 28 pixels; pixels: 784 steps of 1
    data_dir: PathText | None = None  # a folder holding the four idx files; default: the data registry
    train_limit: int = 0  # use only the first N training images (0: all)
    test_limit: int = 0  # use only the first N test images (0: all)
    valid_size: int = 5000  # held out from the end of the training images; 0: validate on test
    # labelled text instead of MNIST (the format: seqlab.data.labelled_text)
    data: PathText | None = None  # a .csv/.tsv/.txt file of label and text columns, or a folder of train/valid[/test] files
    valid_fraction: float = 0.1  # one --data file: the share of each label's rows held out for validation
    level: Literal["word", "char"] = "word"  # text tokens: words or characters
    split_punct: bool = True  # word level: punctuation marks are tokens of their own (great! -> great !)
    label_column: str = "label"  # the header name of the labels' column
    text_column: str = "text"  # the header name of the texts' column
    lowercase: bool = True  # lower-case texts before cutting them into tokens
    min_freq: int = 2  # rarer training tokens become <unk> (the model then learns what an unseen word is)
    max_vocab: int | None = None  # cap the vocabulary at N tokens besides <unk> and <pad> (rarer tokens become <unk>)
    max_len: int = 400  # longer texts keep their first max_len tokens


@dataclass
class ClassifierModel:
    cell: Literal["lstm", "gru"] = "lstm"  # the recurrent cell
    hidden: int = 128  # hidden units per layer
    layers: int = 2  # stacked recurrent layers
    dropout: float = 0.0  # dropout between layers (text: on the embeddings and the last state too)
    embed: int = 128  # text: token embedding size
    bidirectional: bool = False  # text: read each text both ways


@dataclass
class ClassifyTrain:
    epochs: int = 15  # passes over the training examples
    lr: float = 0.002  # learning rate (MNIST's recipe; text trains faster at 0.01)
    batch_size: int = 128  # examples per batch
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"  # the optimiser
    momentum: float = 0.0  # sgd momentum
    weight_decay: float | None = None  # L2 penalty (decoupled for adamw); none: the optimiser's default, 0.01 for adamw (as torch.optim.AdamW) and 0 for the others
    clip: float = 1.0  # gradient clipping: the largest global gradient norm kept; 0: no clipping
    schedule: Literal["none", "cosine"] = "cosine"  # learning-rate schedule over the epochs
    eval_batch_size: int = 1000  # examples per batch during evaluation
    skip_nonfinite: bool = False  # skip steps whose loss/gradient is NaN/inf instead of stopping
    class_weights: Literal["none", "balanced"] = "none"  # text: balanced: each training text's loss term times n / (k x n_label) (n training texts, k labels, n_label its label's count: scikit-learn's 'balanced'), in the training step only; train_loss and valid_loss in metrics.jsonl stay the plain mean cross-entropy, so that runs with and without weights compare
    select: Literal["accuracy", "macro_f1"] = "accuracy"  # text: best.safetensors is the epoch of highest valid_accuracy, or of highest valid_macro_f1 (a better pick with --class-weights balanced, whose gain on rare labels accuracy hides)
    bucket: bool = False  # text: --bucket batches texts of similar length (pools of 50 batches sorted by length, the batches shuffled) for less padding and a faster epoch on large sets; on a set of few pools the batches repeat from epoch to epoch and, where length goes with the label, hold one label each, which can cost accuracy


@dataclass
class ClassifyConfig:
    data: ClassifyData = field(default_factory=ClassifyData)
    model: ClassifierModel = field(default_factory=ClassifierModel)
    train: ClassifyTrain = field(default_factory=ClassifyTrain)
    run: RunConfig = field(default_factory=RunConfig)


def check_config(cfg: ClassifyConfig) -> None:
    t, d = cfg.train, cfg.data
    check_seed(cfg.run.seed)
    for name, value in (("epochs", t.epochs), ("batch-size", t.batch_size), ("eval-batch-size", t.eval_batch_size),
                        ("hidden", cfg.model.hidden), ("layers", cfg.model.layers)):
        if value <= 0:
            raise SeqlabError(f"--{name} must be positive, got {value}")
    for name, value in (("train-limit", d.train_limit), ("test-limit", d.test_limit), ("valid-size", d.valid_size),
                        ("min-freq", d.min_freq)):
        if value < 0:
            raise SeqlabError(f"--{name} must be >= 0, got {value}")
    for name, value in (("max-len", d.max_len), ("embed", cfg.model.embed),
                        ("max-vocab", 1 if d.max_vocab is None else d.max_vocab)):
        if value <= 0:
            raise SeqlabError(f"--{name} must be positive, got {value}")
    if not 0.0 < d.valid_fraction < 1.0:
        raise SeqlabError(f"--valid-fraction must be between 0 and 1 (exclusive), got {d.valid_fraction}")
    if d.data is None and d.dataset is None:
        raise SeqlabError("give --dataset mnist, or --data FILE for labelled text")
    if not t.clip >= 0:  # NaN too: it turned clipping off silently
        raise SeqlabError(f"--clip must be >= 0 (0 turns clipping off), got {t.clip}")
    if d.data is None and (t.class_weights != "none" or t.select != "accuracy"):
        raise SeqlabError("--class-weights and --select macro_f1 are for labelled text (--data FILE), not MNIST")


@dataclass
class RunData:
    """What the loop needs of a task's data: each split, the model, and what checkpoints keep."""

    # classify_images.ImageSequences or classify_text.TextBatches: len(), device, to(), epoch_order(),
    # batch(), evaluate()
    train: Any
    valid: Any
    test: Any  # None: no test split (a text run without a test file)
    valid_is_test: bool
    net: nn.Module
    meta: dict = field(default_factory=dict)  # beside the config in every checkpoint (text: vocab, labels)
    check_resume: Callable = lambda ckpt: None  # refuses a --resume on other data
    result: dict = field(default_factory=dict)  # added to the run's result
    class_weights: torch.Tensor | None = None  # (C,): each label's weight in the training loss (None: 1)


def build_model(cfg: ClassifyConfig, input_size: int) -> SequenceClassifier:
    m = cfg.model
    return SequenceClassifier(input_size, NUM_CLASSES, hidden=m.hidden, layers=m.layers, cell=m.cell,
                              dropout=m.dropout)


def loss_sum(logits: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Summed cross-entropy of a batch (the trainer divides by the global batch size, weighted or
    not); with `weight` (C,), each example's term times its label's weight: sum_i w[y_i] * CE_i.
    (F.cross_entropy's weighted *mean* divides by sum_i w[y_i] instead; the trainer keeps the
    batch size, as Keras' class_weight does: under DDP a rank needs no other rank's sum of weights,
    and balanced weights average 1 over the training split.)"""
    return loss_sums(logits, labels, weight)[0]


def loss_sums(logits: torch.Tensor, labels: torch.Tensor,
              weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss_sum's sum, weighted if `weight` (C,) is given; the plain summed cross-entropy) of a batch
    (logits (B, C), labels (B,)), both from one per-example cross-entropy (B,): the training step's
    objective and its train_loss. Without `weight` the two are the same tensor."""
    ce = nn.functional.cross_entropy(logits, labels, reduction="none")  # (B,)
    plain = ce.sum()
    return (plain if weight is None else (weight[labels] * ce).sum()), plain


@torch.no_grad()
def evaluate_accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device,
                      batch_size: int = 1000) -> dict:
    """Mean cross-entropy, accuracy and count over (x (N, T, D), y (N,))."""
    batch_size = check_positive_int("batch_size", batch_size)  # 0 raised from range(); -1 scored 0.0
    total, correct = 0.0, 0
    with eval_mode(net):
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
            logits = net(xb)
            total += loss_sum(logits, yb).item()
            correct += (logits.argmax(dim=1) == yb).sum().item()
    n = len(x)
    return {"loss": total / max(n, 1), "accuracy": correct / max(n, 1), "count": n}


def _lr_at(t: ClassifyTrain, epoch: int) -> float:
    """Cosine decay per epoch from lr to lr/20 (epoch counts from 0)."""
    if t.schedule == "none" or t.epochs == 1:
        return t.lr
    frac = epoch / (t.epochs - 1)
    return t.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))


@releases_run_folder
def train_classifier(cfg: ClassifyConfig, *, device: torch.device, show_progress: bool | None = None,
                     log=print, notes: tuple[str, ...] = ()) -> dict:
    """Train (or resume) per `cfg`; writes metrics.jsonl, best/last checkpoints and a plot under cfg.run.out.
    With `cfg.data.data` (labelled text) `cfg.data.dataset` is set to None (the CLI refuses both given).
    `notes`: lines said once a --resume is accepted (the CLI's: what the run keeps over its --config file)."""
    cfg = validated(cfg)
    if cfg.data.data is not None and cfg.data.dataset is not None:
        cfg = replace(cfg, data=replace(cfg.data, dataset=None))
    check_config(cfg)
    t, out = cfg.train, Path(cfg.run.out)
    check_run_folder(cfg.run, log)  # another run there is refused before anything is written
    dist, device, log = D.join(t.batch_size, device, log)
    seed_everything(cfg.run.seed)
    if cfg.data.data is not None:
        from seqlab.training.classify_text import text_data

        data = text_data(cfg, log)
    else:
        from seqlab.training.classify_images import mnist_data

        data = mnist_data(cfg)
    net = data.net.to(device)
    opt = make_optimizer(t.optimizer, net.parameters(), t.lr, weight_decay=t.weight_decay, momentum=t.momentum)
    start_epoch, best, chosen_accuracy = 0, -1.0, -1.0  # best: the selected metric's (t.select) best so far
    if cfg.run.resume:
        ckpt = resume_checkpoint(out, "classify", cfg.run.resume_from)
        if cfg.data.data is not None:  # a text run from before bucketing drew plain batches: it was bucket = false
            ckpt.meta["config"].setdefault("train", {}).setdefault("bucket", False)  # (whatever today's default)
        saved = check_resume_config(ckpt, cfg, out)  # names each setting that differs from the run's
        data.check_resume(ckpt)
        load_weights(net, ckpt)
        # each epoch's rate then comes from t.lr (_lr_at)
        load_optimizer(ckpt, opt, saved.train.lr, t.lr, log, clip=(saved.train.clip, t.clip), notes=notes)
        done = ckpt.meta["epoch"]
        if t.schedule == "cosine" and done < t.epochs:  # a new --epochs re-draws the cosine: say where the rate jumps
            # the rate the run would use next, or (a finished run) the one of its last epoch: its
            # cosine ends there, and read past its end it climbs back to lr (at the new lr's scale)
            was = _lr_at(replace(t, epochs=saved.train.epochs), min(done, saved.train.epochs - 1))
            note = cosine_span_note(t.epochs, saved.train.epochs, done, was, _lr_at(t, done))
            if note:
                log(note)
        start_epoch, chosen_accuracy = ckpt.meta["epoch"], ckpt.meta["best_valid_accuracy"]
        best = chosen_accuracy if t.select == "accuracy" else ckpt.meta.get(f"best_valid_{t.select}", -1.0)
        set_rng_state(ckpt.meta["rng"])
        log(resumed_note(out, start_epoch, t.epochs, from_best=cfg.run.resume_from == "best"))
    if dist.is_main:
        open_run_folder(cfg.run, log)
    log_file = D.metrics_log(out / "metrics.jsonl", dist, keep_until_epoch=start_epoch if cfg.run.resume else None)
    model = D.wrap(net, dist, device)  # DDP under torchrun; `net` itself is what is evaluated and saved
    train = data.train.to(device)
    weight = None if data.class_weights is None else data.class_weights.to(device)
    started = time.perf_counter() - (log_file.records[-1]["wall_s"] if log_file.records else 0.0)
    with StopSignals() as stop:
        for epoch in range(start_epoch, t.epochs):
            lr = _lr_at(t, epoch)
            for group in opt.param_groups:
                group["lr"] = lr
            net.train()
            # rank 0's order: with dropout and an uneven last batch the ranks' RNGs drift apart,
            # and their shares of each batch must still be disjoint
            order = D.from_main(train.epoch_order(t.batch_size), dist).to(train.device)
            n_batches = math.ceil(len(train) / t.batch_size)
            # summed on the device (float64: as exact as the Python sum of each batch's float32 was);
            # read once, after the epoch: a read per step waited for the GPU
            loss_total = torch.zeros((), dtype=torch.float64, device=device)
            correct = torch.zeros((), dtype=torch.int64, device=device)
            seen, steps, tic = 0, 0, time.perf_counter()
            bar = progress(range(n_batches), desc=f"epoch {epoch + 1}/{t.epochs}",
                           enabled=show_progress if dist.is_main else False)
            guard = StepGuard(skip=t.skip_nonfinite, eager=torch.device(device).type == "cpu", epoch=epoch + 1, lr=t.lr,
                              clip=t.clip)
            for b in bar:
                idx = order[b * t.batch_size:(b + 1) * t.batch_size]
                share = D.shard_rows((idx,), dist)
                if share is None:
                    break  # a last batch smaller than the world size: every rank skips it
                global_n, idx = len(idx), share[0]  # this rank's share (all of it on one)
                inputs, yb, n_steps = train.batch(idx, device)
                logits = model(*inputs)  # (B, C)
                objective, ce_sum = loss_sums(logits, yb, weight)  # (train_loss: unweighted, as valid_loss)
                loss = D.ddp_loss(objective, global_n, dist)  # the global batch mean
                opt.zero_grad(set_to_none=True)
                loss.backward()
                norm = clip_gradients(net, t.clip)
                if not guard.ok(b + 1, loss, norm, lr):
                    continue
                opt.step()
                loss_total += ce_sum.detach()
                correct += (logits.argmax(1) == yb).sum()
                seen += len(idx)
                steps += n_steps
                if b % 20 == 0:  # (one read of the device every 20 steps)
                    bar.set_postfix(loss=f"{float(loss_total) / seen:.3f}")
                if D.stop_requested(stop, device, dist):
                    raise interrupted(stop, epoch + 1, cfg.run)
            guard.finish(lr)  # off the CPU the guard records a bad step on the device: said here, before any save
            loss_total, seen, correct, steps = D.all_reduce_sum([float(loss_total), seen, int(correct), steps],
                                                                device, dist)
            seen, correct = int(seen), int(correct)
            if seen == 0:
                raise all_skipped(epoch + 1, t.lr, rate=lr, clip=t.clip)
            train_s = time.perf_counter() - tic
            valid = data.valid.evaluate(net, device, t.eval_batch_size)
            test = (valid if data.valid_is_test else None if data.test is None
                    else data.test.evaluate(net, device, t.eval_batch_size))
            tested = {} if test is None else {"test_loss": test["loss"], "test_accuracy": test["accuracy"]}
            record = dict(epoch=epoch + 1, train_loss=loss_total / seen, valid_loss=valid["loss"],
                          tokens_per_sec=steps / train_s, lr=lr, wall_s=time.perf_counter() - started,
                          train_accuracy=correct / seen, valid_accuracy=valid["accuracy"],
                          **({"valid_macro_f1": valid["macro_f1"]} if "macro_f1" in valid else {}), **tested,
                          **{f"{train.unit}_per_sec": seen / train_s}, epoch_s=train_s)
            if guard.skipped:
                record["skipped_steps"] = guard.skipped
            log_file.write(**record)
            improved = record[f"valid_{t.select}"] > best  # (a tie keeps the earlier epoch)
            if improved:
                best, chosen_accuracy = record[f"valid_{t.select}"], valid["accuracy"]
            # best_valid_accuracy: the best epoch's (the highest, unless --select picks by another figure)
            meta = {"task": "classify", "config": to_dict(cfg), "epoch": epoch + 1,
                    "best_valid_accuracy": chosen_accuracy, **({} if t.select == "accuracy" else
                                                               {f"best_valid_{t.select}": best}),
                    "valid_accuracy": valid["accuracy"], "test_accuracy": test and test["accuracy"], "rng": rng_state(),
                    "device": str(device), **data.meta}
            if dist.is_main:
                save_epoch(out, is_best=improved, model=net, meta=meta, optimizer=opt)
            # said once the epoch is saved: a print that fails (a closed stdout) must not lose its checkpoint
            tested = "" if test is None else f"test acc {test['accuracy']:.4f} | "
            f1 = f" macro-F1 {valid['macro_f1']:.4f}" if "macro_f1" in valid else ""
            log(f"epoch {epoch + 1}: train loss {record['train_loss']:.4f} acc {record['train_accuracy']:.4f} | "
                f"valid acc {valid['accuracy']:.4f}{f1} | {tested}{seen / train_s:.0f} {train.unit}/s "
                f"({train_s:.1f} s)")
    if dist.is_main:
        _plot(log_file.records, out / "accuracy.png")
    # the test accuracy of the epoch best.safetensors holds (what evaluate and classify use), and
    # the last epoch's beside it: the two are different checkpoints
    records = log_file.records
    # best.safetensors is replaced only on a strictly higher figure: a tie keeps the first epoch
    chosen = next((r for r in records if r.get(f"valid_{t.select}") == best), None)
    last = records[-1] if records else {}
    # best_valid_X: the highest X of any epoch; best_epoch_valid_accuracy: the selected epoch's (the
    # same figure unless --select macro_f1 chose another epoch). The keys do not change with --select.
    highest = {f"best_valid_{k}": max(r[f"valid_{k}"] for r in records) if records else None
               for k in ("accuracy", "macro_f1") if not records or f"valid_{k}" in records[0]}
    return {"epochs": len(records), "best_epoch": chosen and chosen["epoch"], **highest,
            "best_epoch_valid_accuracy": chosen_accuracy,
            "test_accuracy": chosen and chosen.get("test_accuracy"), "last_test_accuracy": last.get("test_accuracy"),
            "train_accuracy": chosen and chosen["train_accuracy"], **data.result, "out": str(out)}


def _plot(records: list[dict], path: Path) -> None:
    if not records:
        return
    from seqlab.plotting import plot_curves

    epochs = [r["epoch"] for r in records]
    curves = {"train": [r["train_accuracy"] for r in records], "valid": [r["valid_accuracy"] for r in records]}
    if "test_accuracy" in records[0]:
        curves["test"] = [r["test_accuracy"] for r in records]
    plot_curves(path, epochs, curves,
                xlabel="epoch", ylabel="accuracy", title="sequence classification")


def model_from_checkpoint(ckpt, device: torch.device | str = "cpu") -> tuple[nn.Module, ClassifyConfig]:
    """The checkpoint's classifier (MNIST's SequenceClassifier, or a TextClassifier) and its config,
    from a loaded checkpoint, a run folder (its best.safetensors) or a checkpoint file. For a text
    classifier, classify_text.TextPredictor.from_checkpoint also tokenises raw texts as the run did."""
    from seqlab.runtime import resolve_device
    from seqlab.training.checkpoint import as_checkpoint

    ckpt, device = as_checkpoint(ckpt), resolve_device(device)
    cfg = task_config(ckpt, ClassifyConfig, "classify")  # checks the metadata and the config's types
    if cfg.data.data is not None:
        from seqlab.training.classify_text import text_model

        return text_model(ckpt, cfg, device)[0], cfg
    input_size = 28 if cfg.data.mode == "rows" else 1
    net = build_model(cfg, input_size)
    load_weights(net, ckpt)
    return net.to(device).eval(), cfg


def __getattr__(name: str):
    """MNIST's data moved to classify_images.py: its old names here still import."""
    if name in ("Splits", "load_splits", "ImageSequences"):
        from seqlab.training import classify_images

        return getattr(classify_images, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
