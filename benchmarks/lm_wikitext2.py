"""WikiText-2 word-level LSTM: train, then validation and test perplexity and wall time.

Full run (meant for a GPU; configs/wikitext2_lstm.toml = pytorch/examples' medium model):
    python benchmarks/lm_wikitext2.py --device cuda --out runs/wt2
Reduced CPU run (what this session could afford; small model, part of an epoch):
    python benchmarks/lm_wikitext2.py --quick --device cpu --out runs/wt2_quick
Any config leaf can be overridden: --set hidden=200 --set epochs=2 ...

Prints one JSON line: config, valid/test perplexity over every token of each split
(statefully, N-1 predictions), training wall time, tokens/sec, device.
"""

import argparse
import json
import math
import time

import torch

from seqlab.config import build_config, flat_dict
from seqlab.data.corpora import load_lm_corpus
from seqlab.runtime import resolve_device, seed_everything
from seqlab.training.lm import LMConfig, fit_lm, model_from_checkpoint
from seqlab.training.lm_eval import evaluate_lm
from seqlab.training.checkpoint import load_checkpoint

QUICK = {"hidden": 128, "embed": 128, "layers": 1, "dropout": 0.2, "tie_weights": True, "epochs": 1,
         "max_tokens": 150_000, "lr": 20.0, "batch_size": 20, "num_steps": 35, "eval_batch_size": 10}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/wikitext2_lstm.toml")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="runs/wt2")
    ap.add_argument("--quick", action="store_true", help="small model on the first 150k tokens, 1 epoch")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    overrides = dict(QUICK) if args.quick else {}
    for kv in args.set:
        key, _, value = kv.partition("=")
        overrides[key] = value
    given = {"config": args.config, "out": args.out, "device": args.device, **overrides}
    from seqlab.config import coerce, leaves
    table = leaves(LMConfig)
    given = {k: (coerce(k, table[k][1], v, from_text=True) if k in table else v) for k, v in given.items()}
    cfg = build_config(LMConfig, given)
    device = resolve_device(cfg.run.device)
    seed_everything(cfg.run.seed)
    d = cfg.data
    corpus = load_lm_corpus(d.dataset, d.data, d.level, max_tokens=d.max_tokens, min_freq=d.min_freq,
                            max_size=d.max_vocab)
    t0 = time.perf_counter()
    record = fit_lm(cfg, corpus, device)
    train_wall = time.perf_counter() - t0
    ckpt = load_checkpoint(cfg.run.out, "best")
    net, _ = model_from_checkpoint(ckpt, device)
    result = {"config": flat_dict(cfg), "device": str(device), "vocab": len(corpus.vocab),
              "train_tokens_per_epoch": len(corpus.train), "train_wall_s": train_wall,
              "tokens_per_sec": record["tokens_per_sec"], "train_ppl": record["train_ppl"]}
    # the validation figure of the best epoch was computed in training (same function, same rows)
    result["valid_ppl"], result["valid_tokens"] = ckpt.meta["metrics"]["valid_ppl"], len(corpus.valid) - 1
    result["best_epoch"] = ckpt.meta["epoch"]
    for split in ("test",):
        t1 = time.perf_counter()
        loss_sum, n = evaluate_lm(net, corpus.split(split), cfg.train.eval_batch_size, cfg.train.num_steps, device)
        result[f"{split}_ppl"] = math.exp(loss_sum / n)
        result[f"{split}_tokens"] = n
        result[f"{split}_eval_s"] = time.perf_counter() - t1
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
