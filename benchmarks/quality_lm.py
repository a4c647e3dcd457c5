"""Model-quality recipes: train a recipe, print held-out perplexity and wall time.

GPU (what the recipes are designed for: each within 10 minutes on one H100):
    python benchmarks/quality_lm.py --dataset ptb --device cuda
    python benchmarks/quality_lm.py --dataset wikitext-2 --device cuda
    python benchmarks/quality_lm.py --dataset tinyshakespeare --device cuda
    python benchmarks/quality_lm.py --dataset timemachine --device cuda --compare-book
Reduced CPU check of the same recipe (smaller model, fewer tokens; see QUICK):
    python benchmarks/quality_lm.py --dataset ptb --quick --device cpu
A time budget instead of the config's epochs (epochs estimated from a short timing probe;
on a shared, noisy machine the probe can miss by 2x: there prefer --set epochs=N and read
the measured train_wall_s):
    python benchmarks/quality_lm.py --dataset timemachine --budget-s 150 --compare-book
Any config leaf can be overridden: --set hidden=512 --set epochs=3 ...

Prints one JSON line per run: dataset, config file, epochs, train wall time, best epoch,
validation and test perplexity/loss over every token of each split (test with batch 1 for
PTB and WikiText-2, as the literature counts), predictions counted, device. With
--compare-book (Time Machine) also the book's concise LSTM (configs/timemachine_lstm.toml)
trained for the same budget, and the relative held-out perplexity reduction.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import time
from pathlib import Path

import torch

from seqlab.config import build_config, coerce, flat_dict, leaves, load_toml
from seqlab.data.corpora import load_lm_corpus
from seqlab.data.sampling import LMBatches
from seqlab.models.lm import build_lm
from seqlab.runtime import resolve_device, seed_everything
from seqlab.training import lm_regularized as reg
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.common import make_optimizer
from seqlab.training.lm import LMConfig, fit_lm, model_from_checkpoint
from seqlab.training.lm_eval import evaluate_lm

RECIPES = {"ptb": "configs/ptb_awd.toml", "wikitext-2": "configs/wikitext2_awd.toml",
           "tinyshakespeare": "configs/tinyshakespeare_awd.toml", "timemachine": "configs/timemachine_awd.toml"}
BOOK = "configs/timemachine_lstm.toml"

# What --quick reduces (a CPU can afford minutes, not an H100's 10 minutes): model size,
# training tokens and epochs; the regularisers, optimiser and schedule stay the recipe's.
QUICK = {
    "ptb": {"hidden": 256, "embed": 128, "layers": 2, "max_tokens": 200_000, "epochs": 2, "batch_size": 20,
            "warmup_steps": 20},
    "wikitext-2": {"hidden": 256, "embed": 128, "layers": 2, "max_tokens": 200_000, "epochs": 2,
                   "batch_size": 20, "warmup_steps": 20},
    # a model 10x smaller than the recipe's overfits far less: lighter dropout, no weight drop
    "tinyshakespeare": {"hidden": 256, "embed": 64, "layers": 2, "epochs": 2, "batch_size": 64,
                        "num_steps": 100, "warmup_steps": 20, "dropout_input": 0.0, "dropout_hidden": 0.1,
                        "dropout_output": 0.1, "weight_drop": 0.0},
    "timemachine": {"epochs": 3},
}
AWD_ONLY = {"dropout_input", "dropout_hidden", "dropout_output", "weight_drop", "warmup_steps"}


def overrides_for(dataset: str, config: str, quick: bool, sets: list[str]) -> dict:
    """The config leaves to override: QUICK's reductions (with another config than the dataset's
    AWD recipe, a plain model, only its sizes; a tied plain model keeps embed = hidden), then
    every --set KEY=VALUE."""
    reduced = QUICK[dataset] if quick else {}
    if reduced and config != RECIPES[dataset]:
        reduced = {k: v for k, v in reduced.items() if k not in AWD_ONLY}
        if load_toml(config).get("model", {}).get("tie_weights") and "hidden" in reduced:
            reduced["embed"] = reduced["hidden"]
    overrides = dict(reduced)
    for kv in sets:
        key, _, value = kv.partition("=")
        overrides[key] = value
    return overrides


def make_config(config: str, out: str, device: str, overrides: dict) -> LMConfig:
    table = leaves(LMConfig)
    # each run of the benchmark is a fresh run: it replaces what an earlier one left in `out`
    given = {"config": config, "out": out, "device": device, "overwrite": True}
    for k, v in overrides.items():
        given[k] = coerce(k, table[k][1], v, from_text=isinstance(v, str)) if k in table else v
    return build_config(LMConfig, given)


def load_corpus(cfg: LMConfig):
    d = cfg.data
    max_tokens = None if d.max_tokens is not None and d.max_tokens < 0 else d.max_tokens
    return load_lm_corpus(d.dataset, d.data, d.level, max_tokens=max_tokens, min_freq=d.min_freq,
                          max_size=d.max_vocab)


def estimate_epochs(cfg: LMConfig, corpus, device: torch.device, budget_s: float, probe_batches: int = 8) -> int:
    """How many epochs of this config fit in `budget_s`: time a few training batches on a
    throwaway model, and the validation pass on a slice, then scale to one epoch."""
    tc = cfg.train
    net = build_lm(cfg.model, len(corpus.vocab)).to(device)
    opt = make_optimizer("sgd" if tc.optimizer == "nt-asgd" else tc.optimizer, net.parameters(), tc.lr)
    batches = LMBatches(corpus.train, tc.batch_size, tc.num_steps, "sequential", rng=random.Random(0))
    steps = len(batches)
    probe = [b for _, b in zip(range(probe_batches + 1), batches)]
    run = (lambda bs: reg.train_epoch_regularized(net, bs, opt, device, clip=tc.clip, carry_state=True,
                                                  bptt=tc.num_steps, ar_alpha=tc.ar_alpha, tar_beta=tc.tar_beta))
    run(probe[:1])  # warm-up (kernels, allocator)
    _, _, secs = run(probe[1:])
    train_s = secs / max(1, len(probe) - 1) * steps
    eval_s = 0.0
    if corpus.valid is not None:
        part = corpus.valid[:20_000]
        t0 = time.perf_counter()
        evaluate_lm(net, part, tc.eval_batch_size, tc.num_steps, device)
        eval_s = (time.perf_counter() - t0) * len(corpus.valid) / len(part)
    return max(1, int(budget_s // (train_s + eval_s)))


def run_recipe(name: str, config: str, args, overrides: dict, out: str) -> dict:
    cfg = make_config(config, out, args.device, overrides)
    device = resolve_device(cfg.run.device)
    seed_everything(cfg.run.seed)
    corpus = load_corpus(cfg)
    if args.budget_s:
        cfg.train.epochs = estimate_epochs(cfg, corpus, device, args.budget_s)
        seed_everything(cfg.run.seed)
    t0 = time.perf_counter()
    fit_lm(cfg, corpus, device, log=lambda m: print(m, flush=True))
    train_wall = time.perf_counter() - t0
    ckpt = load_checkpoint(cfg.run.out, "best")
    net, _ = model_from_checkpoint(ckpt, device)
    result = {"run": name, "config_file": config, "overrides": overrides, "device": str(device),
              "epochs": cfg.train.epochs, "best_epoch": ckpt.meta["epoch"], "train_wall_s": round(train_wall, 1),
              "vocab": len(corpus.vocab), "train_tokens": len(corpus.train),
              "params": sum(p.numel() for p in net.parameters())}
    tc = cfg.train
    for split in ("valid", "test"):
        stream = getattr(corpus, split)
        if stream is None:
            continue
        # the literature's test figure: batch 1 (every token scored from all the text before it)
        bs = 1 if split == "test" else tc.eval_batch_size
        t1 = time.perf_counter()
        loss, n = evaluate_lm(net, stream, bs, max(tc.num_steps, 70), device)
        result.update({f"{split}_loss": loss / n, f"{split}_ppl": math.exp(loss / n), f"{split}_tokens": n,
                       f"{split}_eval_batch": bs, f"{split}_eval_s": round(time.perf_counter() - t1, 1)})
    result["config"] = flat_dict(cfg)
    print(json.dumps(result), flush=True)
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "result.json").write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", required=True, choices=sorted(RECIPES), help="the data set whose recipe to train")
    ap.add_argument("--config", default=None, help="recipe config (default: the dataset's configs/*_awd.toml)")
    ap.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N (default: auto)")
    ap.add_argument("--out", default=None, help="run folder (default runs/quality_<dataset>)")
    ap.add_argument("--quick", action="store_true", help="reduced size for a CPU check (see QUICK)")
    ap.add_argument("--budget-s", type=float, default=0.0, dest="budget_s",
                    help="train for about this many seconds (epochs estimated) instead of the config's epochs")
    ap.add_argument("--compare-book", action="store_true", dest="compare_book",
                    help="timemachine: also train the book's concise LSTM for the same wall time")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config leaf (repeatable), e.g. --set epochs=3")
    args = ap.parse_args()
    config = args.config or RECIPES[args.dataset]
    overrides = overrides_for(args.dataset, config, args.quick, args.set)
    out = args.out or f"runs/quality_{args.dataset}"
    ours = run_recipe("recipe" if config in RECIPES.values() else Path(config).stem, config, args, overrides, out)
    if args.compare_book:
        if args.dataset != "timemachine":
            raise SystemExit("--compare-book is for --dataset timemachine")
        book_args = copy.copy(args)
        book_args.budget_s = ours["train_wall_s"]  # the wall time the recipe took
        book = run_recipe("book", BOOK, book_args, {}, out + "_book")
        print(json.dumps({"recipe_valid_ppl": ours["valid_ppl"], "book_valid_ppl": book["valid_ppl"],
                          "reduction": 1 - ours["valid_ppl"] / book["valid_ppl"],
                          "recipe_wall_s": ours["train_wall_s"], "book_wall_s": book["train_wall_s"]}))


if __name__ == "__main__":
    main()
