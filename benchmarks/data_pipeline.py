"""Issue 3 benchmark: the data pipeline against the book's list-based code (d2l 0.17.6).

Two measurements on WikiText-2's training file (2,088,628 tokens with <eos>):

1. read + tokenize + vocabulary + index as a tensor. The anchor is the book's
   chapter-8 recipe applied to this file: `d2l.tokenize(lines, 'word')`, `d2l.Vocab`,
   `[vocab[t] for line in tokens for t in line]`, then `torch.tensor`. Ours is
   `seqlab.data.corpora.encode_text(text, 'word', 'raw')`. Each side runs in a fresh
   subprocess; peak memory is the rise of the peak RSS above the process's RSS after
   imports (so torch's own footprint is not counted on either side). Wall and CPU seconds
   are both recorded: on a shared machine CPU time is the steadier of the two.
2. one epoch of sequential minibatches (batch 32, 35 steps): `d2l.seq_data_iter_sequential`
   over the Python list against `seqlab.data.sampling.seq_data_iter_sequential` over the
   tensor, each consuming every batch.

Run:  SEQLAB_DATA=../shared/data python benchmarks/data_pipeline.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _pipeline(side: str) -> dict:
    import torch

    from seqlab.data.corpora import dataset_file

    path = dataset_file("wikitext-2", "train.txt")
    if side == "book":
        sys.path.insert(0, str(HERE))
        from anchor_d2l import load_d2l

        d2l = load_d2l()
    base = _rss_mb()
    t0, cpu0 = time.perf_counter(), time.process_time()
    if side == "book":
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        tokens = d2l.tokenize(lines, "word")
        vocab = d2l.Vocab(tokens)
        corpus = torch.tensor([vocab[tok] for line in tokens for tok in line])
        n_vocab = len(vocab)
    else:
        from seqlab.data.corpora import encode_text
        from seqlab.data.text import read_text

        corpus, vocab = encode_text(read_text(path), "word", "raw")
        n_vocab = len(vocab)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"side": side, "seconds": seconds, "cpu": cpu, "peak_mb": _rss_mb() - base, "tokens": len(corpus),
            "vocab": n_vocab}


def _batches(repeats: int) -> dict:
    import random

    import torch

    sys.path.insert(0, str(HERE))
    from anchor_d2l import load_d2l

    from seqlab.data.corpora import dataset_file, encode_text
    from seqlab.data.sampling import seq_data_iter_sequential
    from seqlab.data.text import read_text

    d2l = load_d2l()
    ids, _ = encode_text(read_text(dataset_file("wikitext-2", "train.txt")), "word", "raw")
    as_list = ids.tolist()
    out = {"book": [], "ours": [], "batches": None}
    for _ in range(repeats):
        random.seed(0)
        t0 = time.perf_counter()
        n_book = sum(1 for _ in d2l.seq_data_iter_sequential(as_list, 32, 35))
        out["book"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        n_ours = sum(1 for _ in seq_data_iter_sequential(ids, 32, 35, random.Random(0)))
        out["ours"].append(time.perf_counter() - t0)
        out["batches"] = (n_book, n_ours)
    del torch
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=("book", "ours"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_pipeline(args.child)))
        return
    runs: dict[str, list[dict]] = {"book": [], "ours": []}
    for _ in range(args.repeats):
        for side in ("book", "ours"):  # interleaved, so machine noise hits both alike
            res = subprocess.run([sys.executable, __file__, "--child", side], capture_output=True, text=True,
                                 check=True, env=os.environ)
            runs[side].append(json.loads(res.stdout))
    best = {s: min(r["seconds"] for r in runs[s]) for s in runs}
    best_cpu = {s: min(r["cpu"] for r in runs[s]) for s in runs}
    peak = {s: max(r["peak_mb"] for r in runs[s]) for s in runs}
    print("1. WikiText-2 train: read + tokenize + vocab + index tensor")
    for s in ("book", "ours"):
        r = runs[s][0]
        secs = ", ".join(f"{x['seconds']:.2f}" for x in runs[s])
        cpu = ", ".join(f"{x['cpu']:.2f}" for x in runs[s])
        print(f"   {s:5s} tokens {r['tokens']:,} vocab {r['vocab']:,}  seconds [{secs}]  "
              f"cpu seconds [{cpu}]  peak rise {peak[s]:.0f} MB")
    # CPU time leaves out the time a process waits for a core: on a shared machine it is the
    # steadier figure; both are single-threaded, so on an idle machine the two agree.
    print(f"   speed-up (best of {args.repeats}): {best['book'] / best['ours']:.1f}x wall, "
          f"{best_cpu['book'] / best_cpu['ours']:.1f}x cpu   "
          f"peak memory ratio ours/book: {peak['ours'] / peak['book']:.2f}")
    b = _batches(args.repeats)
    print("2. one epoch of sequential batches (32 x 35)")
    print(f"   batches book/ours: {b['batches']}")
    print(f"   book seconds {[round(x, 4) for x in b['book']]}  ours seconds {[round(x, 4) for x in b['ours']]}")
    print(f"   speed-up (best of {args.repeats}): {min(b['book']) / min(b['ours']):.1f}x")


if __name__ == "__main__":
    main()
