"""Training and evaluating an encoder-decoder translator: teacher forcing, the epoch loop, BLEU,
and the run behind `seqlab train translate` (`fit`).

The loss averages cross-entropy over the *real* target tokens of a batch (those before
padding), unlike the book's `MaskedSoftmaxCELoss`: translate_loss.py.
"""

from __future__ import annotations

import math
import time
from typing import Iterable

import torch
from torch import nn

from seqlab.data.user_files import file_fingerprint
from seqlab.models.seq2seq import decoder_takes_targets, forward_takes_targets
from seqlab.runtime import eval_mode
from seqlab.training import distributed as D
from seqlab.training.bleu import corpus_bleu
from seqlab.training.common import clip_gradients, device_for
from seqlab.training.metrics import perplexity_of_mean
from seqlab.training.translate_loss import (MaskedSoftmaxCELoss,  # noqa: F401 (public here)
                                           masked_ce, sequence_mask)
from seqlab.training.translate_report import (UNK_WARN, bleu_signature, cut_note,  # noqa: F401 (public here)
                                             multi_ref_bleu, multi_ref_nrefs, source_groups, spread_subset,
                                             subset_note, unk_note)
from seqlab.training.run_folder import releases_run_folder


def teacher_forcing_input(Y: torch.Tensor, bos: int) -> torch.Tensor:
    """Decoder input: <bos> followed by the target shifted right by one, (B, T)."""
    bos_col = torch.full((Y.shape[0], 1), bos, dtype=Y.dtype, device=Y.device)
    return torch.cat([bos_col, Y[:, :-1]], dim=1)


def batch_token_loss(model: nn.Module, X: torch.Tensor, X_len: torch.Tensor, Y: torch.Tensor,
                     Y_len: torch.Tensor, bos: int) -> torch.Tensor:
    """Summed cross-entropy of one teacher-forced batch over its real target tokens.

    seqlab's decoders (`takes_targets`) compute the per-token loss themselves, with the output
    layer (seqlab.models.fused_loss on the CPU), when the model passes `targets=` on to them (seqlab's
    EncoderDecoder; the book's 9.6 one, `forward(enc_X, dec_X, *args)`, does not); any other
    decoder or model (a subclass of d2l.Seq2SeqDecoder with the book's forward(X, state) too): its
    logits and `masked_ce`. `model` is what is called (DDP-wrapped under torchrun)."""
    dec_X = teacher_forcing_input(Y, bos)
    inner = D.unwrap(model)
    decoder = getattr(inner, "decoder", None)
    if decoder is not None and decoder_takes_targets(decoder) and forward_takes_targets(type(inner)):
        ce, _ = model(X, dec_X, X_len, targets=Y)  # (B, T)
        return sequence_mask(ce, Y_len).sum()
    logits, _ = model(X, dec_X, X_len)  # (B, T, V)
    return masked_ce(logits, Y, Y_len).sum()


def train_epoch(model: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer, *, bos: int,
                clip: float, device: torch.device | str | None = None, deadline: float | None = None, stop=None,
                guard=None, dist: D.Dist = D.Dist()) -> dict:
    """One pass of teacher-forced training; returns loss_sum (nats), tokens, seconds, and
    `stopped`: whether it ended early at `deadline` (a `time.perf_counter()` value).

    `stop` (a StopSignals) ends the pass between steps; `guard` (a StepGuard) checks each
    step's loss and gradient norm and may skip the step. Under torchrun (`dist`) `model` is
    DDP-wrapped, each rank trains on its share of every global batch, the loss is the mean over
    the global batch's real tokens, and the returned sums are over all ranks. `device`: "cpu",
    "cuda", a torch.device, or None for the model's own."""
    device = device_for(model, device)
    model.train()
    loss_sum, n_tokens, start = torch.zeros((), device=device), 0, time.perf_counter()
    stopped = False
    for step, batch in enumerate(batches, start=1):
        # every rank must stop at the same step: the time limit is checked on all of them at once
        if deadline is not None and n_tokens and D.broadcast_flag(time.perf_counter() >= deadline, device, dist):
            stopped = True
            break
        count = int(batch[3].sum())  # real target tokens of the whole global batch
        share = D.shard_rows(batch, dist)
        if share is None:
            break  # a last batch smaller than the world size: every rank skips it
        if device.type == "cuda" and not share[0].is_cuda:  # a copy from pageable memory waits for the GPU
            share = tuple(t.pin_memory() for t in share)
        X, X_len, Y, Y_len = (t.to(device, non_blocking=True) for t in share)
        token_loss = batch_token_loss(model, X, X_len, Y, Y_len, bos)
        optimizer.zero_grad(set_to_none=True)
        D.ddp_loss(token_loss, max(count, 1), dist).backward()
        norm = clip_gradients(model, clip)
        if guard is not None and not guard.ok(step, token_loss, norm, optimizer.param_groups[0]["lr"]):
            optimizer.zero_grad(set_to_none=True)
            continue
        optimizer.step()
        loss_sum += token_loss.detach()
        n_tokens += int(share[3].sum())  # read on the host: Y_len's would wait for the GPU
        if D.stop_requested(stop, device, dist):
            break
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    loss_total, n_tokens = D.all_reduce_sum([float(loss_sum), n_tokens], device, dist)
    return {"loss_sum": loss_total, "tokens": int(n_tokens), "seconds": time.perf_counter() - start,
            "stopped": stopped}


@torch.no_grad()
def evaluate_loss(model: nn.Module, batches: Iterable, *, bos: int, device: torch.device | str | None = None) -> dict:
    """Teacher-forced loss over held-out batches: loss_sum (nats) and tokens (in eval mode; the
    model's mode is restored). `device`: by default the model's."""
    device = device_for(model, device)
    loss_sum, n_tokens = 0.0, 0
    with eval_mode(model):
        for X, X_len, Y, Y_len in batches:
            X, X_len, Y, Y_len = (t.to(device) for t in (X, X_len, Y, Y_len))
            logits, _ = model(X, teacher_forcing_input(Y, bos), X_len)
            loss_sum += float(masked_ce(logits, Y, Y_len).sum())
            n_tokens += int(Y_len.sum())
    return {"loss_sum": loss_sum, "tokens": n_tokens}


@torch.no_grad()
def translate_pairs(model: nn.Module, pairs, data, *, device: torch.device | str | None = None, beam_size: int = 1,
                    max_len: int | None = None, batch_size: int = 256) -> list[list[str]]:
    """Translate the source side of (src_tokens, tgt_tokens) pairs; target tokens per pair (in eval
    mode; the model's mode is restored). `device`: by default the model's."""
    from seqlab.data.translation import BOS, EOS, build_array_nmt
    from seqlab.generation.translate import decode

    device = device_for(model, device)
    tgt_vocab = data.tgt_vocab
    max_len = max_len or data.num_steps
    out: list[list[str]] = []
    with eval_mode(model):
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i:i + batch_size]
            src, src_len = build_array_nmt([p[0] for p in chunk], data.src_vocab, data.num_steps)
            hyps = decode(model, src.to(device), src_len.to(device), tgt_vocab[BOS], tgt_vocab[EOS],
                          beam_size=beam_size, max_len=max_len)
            out.extend(tgt_vocab.to_tokens(h.tokens) for h in hyps)
    return out


def bleu_on(model: nn.Module, pairs, data, *, device: torch.device | str | None = None, beam_size: int = 1,
            max_len: int | None = None, batch_size: int = 256) -> dict:
    """Corpus BLEU (0-100) of the model's translations against each pair's full reference."""
    hyps = translate_pairs(model, pairs, data, device=device, beam_size=beam_size, max_len=max_len,
                           batch_size=batch_size)
    refs = [p[1] for p in pairs]
    return {"bleu": corpus_bleu(hyps, refs), "tokens": sum(len(h) for h in hyps), "sentences": len(pairs),
            "hypotheses": hyps}


# --- the training run behind `seqlab train translate` ----------------------------------------

@releases_run_folder
def fit(cfg, *, log=print, notes: tuple[str, ...] = (), show_progress: bool | None = None) -> dict:
    """Train per `cfg` (seqlab.cli.translate.TranslateConfig); writes metrics.jsonl,
    best/last checkpoints and a loss plot into `cfg.run.out`. Returns the last record.

    Under torchrun each rank trains on its share of every global batch (`train_epoch`), every
    rank evaluates, the figures of rank 0 are the ones kept, and rank 0 alone writes. The returned
    record also holds `best_epoch`: the epoch best.safetensors holds (lowest valid loss).
    `notes`: lines said once a --resume is accepted (the CLI's: what the run keeps over its --config file).
    `show_progress`: the progress bar on, off, or None: on a terminal only (the CLI's --no-progress: False)."""
    from pathlib import Path

    from seqlab.config import to_dict, validated
    from seqlab.data.translation import BOS, batches
    from seqlab.data.translation_splits import PAIR_TOKENS, cut_counts, legacy_pair_tokens, load_translation
    from seqlab.errors import SeqlabError
    from seqlab.models.seq2seq import build_seq2seq, init_seq2seq
    from seqlab.plotting import plot_curves
    from seqlab.runtime import check_seed, resolve_device, rng_state, seed_everything, set_rng_state
    from seqlab.training.checkpoint import check_vocab_fits, load_weights, save_epoch
    from seqlab.training.checkpoint_resume import check_resume_config, load_optimizer, resume_checkpoint
    from seqlab.training.run_folder import check_run_folder, open_run_folder
    from seqlab.training.common import make_optimizer, warn
    from seqlab.training.guard import StepGuard, StopSignals, all_skipped, interrupted, resumed_note
    from seqlab.training.progress import progress

    cfg = validated(cfg)
    d, m, tr, run = cfg.data, cfg.model, cfg.train, cfg.run
    check_seed(run.seed)
    check_seed(d.split_seed, "--split-seed")
    for name, value in (("batch_size", tr.batch_size), ("epochs", tr.epochs)):
        if value <= 0:
            raise SeqlabError(f"--{name.replace('_', '-')} must be positive, got {value}")
    if d.num_examples is not None and d.num_examples <= 0:
        raise SeqlabError(f"--num-examples must be positive, got {d.num_examples}")
    if not tr.clip >= 0:  # checked here, not at the first step of training (NaN too)
        raise SeqlabError(f"--clip must be >= 0 (0 turns clipping off), got {tr.clip}")
    if tr.bleu_every < 0:  # (it read as "never", silently)
        raise SeqlabError(f"--bleu-every must be >= 0 (epochs between valid BLEU figures; 0: never), "
                          f"got {tr.bleu_every}")
    if tr.bleu_every > 0 and tr.bleu_sentences <= 0:
        raise SeqlabError(f"--bleu-sentences must be at least 1 (or --bleu-every 0 for no valid BLEU), "
                          f"got {tr.bleu_sentences}")
    if tr.time_limit_s is not None and not tr.time_limit_s > 0:
        raise SeqlabError(f"--time-limit-s must be > 0 seconds (leave it out for no limit), got {tr.time_limit_s}")
    dist, device, log = D.join(tr.batch_size, resolve_device(run.device), log)
    seed_everything(run.seed)
    out = Path(run.out)
    check_run_folder(run, log)  # another run there is refused before anything is written
    ckpt = resume_checkpoint(out, "translate", run.resume_from) if run.resume else None
    # a run trained before PAIR_TOKENS reads its file as it was trained, and stays so marked
    legacy = ckpt is not None and legacy_pair_tokens(ckpt.meta)
    data = load_translation(dataset=d.dataset, data=d.data, num_examples=d.num_examples, num_steps=d.num_steps,
                            valid_frac=d.valid_frac, test_frac=d.test_frac, split_seed=d.split_seed,
                            min_freq=d.min_freq, strict=not run.resume, legacy_tokens=legacy)
    if not data.splits["valid"]:
        raise SeqlabError("the valid split is empty: raise --valid-frac or use more examples")
    check_vocab_fits(data.src_vocab, data.tgt_vocab)
    train_arrays, valid_arrays = data.arrays("train"), data.arrays("valid")
    model = build_seq2seq(len(data.src_vocab), len(data.tgt_vocab), embed=m.embed, hidden=m.hidden,
                          layers=m.layers, dropout=m.dropout, attention=m.attention, bidirectional=m.bidirectional,
                          pack=m.pack, fast=m.fast)
    model.apply(init_seq2seq)
    model.to(device)
    optimizer = make_optimizer(tr.optimizer, model.parameters(), tr.lr)
    bos = data.tgt_vocab[BOS]
    start_epoch, best, best_epoch = 0, math.inf, None
    if ckpt is not None:
        saved = check_resume_config(ckpt, cfg, out)  # names each setting that differs from the run's
        load_weights(model, ckpt)
        load_optimizer(ckpt, optimizer, saved.train.lr, tr.lr, log, clip=(saved.train.clip, tr.clip), notes=notes)
        start_epoch, best = ckpt.meta["epoch"], ckpt.meta["best_valid_loss"]
        best_epoch = ckpt.meta.get("best_epoch")  # None in a run saved before it was kept: see below
        set_rng_state(ckpt.meta["rng"])
        log(resumed_note(out, start_epoch, tr.epochs, from_best=run.resume_from == "best"))
    if dist.is_main:
        open_run_folder(run, log)
    metrics = D.metrics_log(out / "metrics.jsonl", dist, keep_until_epoch=start_epoch if run.resume else None)
    wrapped = D.wrap(model, dist, device)  # DDP under torchrun; `model` is what is evaluated and saved
    if ckpt is not None and best_epoch is None and metrics.records:  # the epoch best.safetensors holds
        best_epoch = _first_lowest(metrics.records)
    # an even spread, not the first N: a file sorted by length (fra.txt) begins with its shortest pairs
    bleu_pairs = spread_subset(data.splits["valid"], tr.bleu_sentences) if tr.bleu_every > 0 else []
    n_params = sum(p.numel() for p in model.parameters())
    log(f"{len(data.splits['train']):,} train / {len(data.splits['valid']):,} valid / "
        f"{len(data.splits['test']):,} test pairs; vocab src {len(data.src_vocab):,} tgt {len(data.tgt_vocab):,}; "
        f"{n_params:,} parameters; device {device}" + (f"; {dist.world_size} ranks" if dist.enabled else ""))
    cut = cut_counts(data.splits["train"], d.num_steps)
    log(cut_note(cut, d.num_steps))
    note = unk_note(data)
    if note.startswith("warning: "):  # many words read as <unk>: stderr, as all warnings
        warn(note.removeprefix("warning: "))
    else:
        log(note)
    if bleu_pairs:
        log(f"valid BLEU (greedy) on {subset_note(len(bleu_pairs), len(data.splits['valid']))}")
    meta_base = {"task": "translate", "config": to_dict(cfg), **({} if legacy else {"pair_tokens": PAIR_TOKENS}),
                 "src_vocab": data.src_vocab.to_dict(),
                 "tgt_vocab": data.tgt_vocab.to_dict(),
                 "data_file": file_fingerprint(cfg.data.data) if cfg.data.data is not None else None,
                 "cut_pairs": {"train": cut}}
    record: dict = {}
    wall0 = time.perf_counter()  # this invocation's start: --time-limit-s counts from it
    wall_before = (metrics.records[-1].get("wall_s") or 0.0) if metrics.records else 0.0  # a resumed run's
    n_batches = math.ceil(train_arrays[0].shape[0] / tr.batch_size)
    with StopSignals() as stop:
        for epoch in range(start_epoch + 1, tr.epochs + 1):
            gen = torch.Generator().manual_seed((run.seed * 100_003 + epoch) % 2**64)  # order depends on (seed, epoch) only
            train_iter = progress(batches(train_arrays, tr.batch_size, shuffle=True, generator=gen),
                                  total=n_batches, desc=f"epoch {epoch}/{tr.epochs}",
                                  enabled=show_progress if dist.is_main else False)
            deadline = wall0 + tr.time_limit_s if tr.time_limit_s else None
            guard = StepGuard(skip=tr.skip_nonfinite, eager=device.type == "cpu", epoch=epoch, lr=tr.lr,
                              clip=tr.clip)
            t = train_epoch(wrapped, train_iter, optimizer, bos=bos, clip=tr.clip, device=device,
                            deadline=deadline, stop=stop, guard=guard, dist=dist)
            if D.stop_requested(stop, device, dist):  # nothing of this epoch is saved: replayed on --resume
                raise interrupted(stop, epoch, run)
            guard.finish(optimizer.param_groups[0]["lr"])  # before anything is saved
            if t["tokens"] == 0:
                raise all_skipped(epoch, tr.lr, rate=optimizer.param_groups[0]["lr"], clip=tr.clip)
            v = D.from_main(evaluate_loss(model, batches(valid_arrays, 256), bos=bos, device=device), dist)
            train_loss, valid_loss = t["loss_sum"] / t["tokens"], v["loss_sum"] / v["tokens"]
            record = {"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss,
                      "tokens_per_sec": t["tokens"] / t["seconds"], "lr": optimizer.param_groups[0]["lr"],
                      "wall_s": wall_before + time.perf_counter() - wall0, "train_ppl": perplexity_of_mean(train_loss),
                      "valid_ppl": perplexity_of_mean(valid_loss)}
            if guard.skipped:
                record["skipped_steps"] = guard.skipped
            if tr.bleu_every > 0 and (epoch % tr.bleu_every == 0 or epoch == tr.epochs):
                record["valid_bleu"] = D.from_main(bleu_on(model, bleu_pairs, data, device=device)["bleu"], dist)
                record["valid_bleu_sentences"] = len(bleu_pairs)  # (a sample: --bleu-sentences, spread_subset)
            else:  # an epoch --bleu-every skips: null, so that every row has the key (SPEC §12)
                record["valid_bleu"] = None
            if t["stopped"]:
                record["partial_epoch"] = True  # --time-limit-s ended it early; training stops here
            record["wall_s"] = wall_before + time.perf_counter() - wall0
            metrics.write(**record)
            if valid_loss < best:
                best_epoch = epoch
            meta = dict(meta_base, epoch=epoch, rng=rng_state(), best_valid_loss=min(best, valid_loss),
                        valid_loss=valid_loss, best_epoch=best_epoch)
            if dist.is_main:  # rank 0 alone writes
                save_epoch(out, is_best=valid_loss < best, model=model, meta=meta, optimizer=optimizer)
            best = min(best, valid_loss)
            bleu_txt = f", valid BLEU {record['valid_bleu']:.1f}" if record["valid_bleu"] is not None else ""
            log(f"epoch {epoch}: train loss {train_loss:.3f}, valid loss {valid_loss:.3f}{bleu_txt}, "
                f"{record['tokens_per_sec']:,.0f} tokens/s, {record['wall_s']:.0f} s")
            if t["stopped"]:
                log(f"time limit of {tr.time_limit_s:g} s reached during epoch {epoch}: stopping")
                break
    if not record and ckpt is not None:  # --epochs left nothing to train: the run's results, as it stands
        last = metrics.records[-1] if metrics.records else {}
        if last.get("epoch") == start_epoch:  # the checkpoint's epoch's line
            record = dict(last)
        else:  # (a metrics.jsonl lost or cut short): what the checkpoint holds
            valid_loss = ckpt.meta.get("valid_loss")
            record = {"epoch": start_epoch, "valid_loss": valid_loss,
                      "valid_ppl": None if valid_loss is None else perplexity_of_mean(valid_loss)}
    recs = metrics.records
    if recs and dist.is_main:
        xs = [r["epoch"] for r in recs]
        plot_curves(out / "loss.png", xs, {"train": [r["train_loss"] for r in recs],
                                           "valid": [r["valid_loss"] for r in recs]},
                    xlabel="epoch", ylabel="cross-entropy per token", title="translate")
    return dict(record, best_epoch=best_epoch) if record else record


def _first_lowest(records: list[dict]) -> int | None:
    """The epoch whose checkpoint is best.safetensors: the first with the lowest valid loss."""
    best, epoch = math.inf, None
    for r in records:
        if r.get("valid_loss") is not None and r["valid_loss"] < best:
            best, epoch = r["valid_loss"], r["epoch"]
    return epoch


def load_translator(ckpt, device: torch.device | str = "cpu"):
    """(model in eval mode, TranslationData-like holder) from a translate checkpoint: a loaded
    one, a run folder (its best.safetensors) or a checkpoint file; on `device`."""
    from types import SimpleNamespace

    from seqlab.cli.translate import TranslateConfig
    from seqlab.data.vocab import Vocab
    from seqlab.models.seq2seq import build_seq2seq
    from seqlab.runtime import resolve_device
    from seqlab.training.checkpoint import as_checkpoint, load_weights, task_config

    ckpt, device = as_checkpoint(ckpt), resolve_device(device)
    cfg = task_config(ckpt, TranslateConfig, "translate")  # checks the metadata and the config's types
    m = cfg.model
    src_vocab, tgt_vocab = Vocab.from_dict(ckpt.meta["src_vocab"]), Vocab.from_dict(ckpt.meta["tgt_vocab"])
    model = build_seq2seq(len(src_vocab), len(tgt_vocab), embed=m.embed, hidden=m.hidden, layers=m.layers,
                          dropout=m.dropout, attention=m.attention, bidirectional=m.bidirectional, pack=m.pack,
                          fast=m.fast)
    load_weights(model, ckpt)
    model.to(device).eval()
    return model, SimpleNamespace(src_vocab=src_vocab, tgt_vocab=tgt_vocab, num_steps=cfg.data.num_steps)

