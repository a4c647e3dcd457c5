"""Two versions of seqlab/models/fast_cells.py on the whole training step, paired.

    git show HEAD~1:seqlab/models/fast_cells.py > /tmp/before.py
    PYTHONPATH=. SEQLAB_DATA=../shared/data python benchmarks/ab_recurrence.py /tmp/before.py \
        seqlab/models/fast_cells.py [--rounds 10] [--threads 2] [--only rnn,gru,lstm]

The book's scratch models (RNN 512, GRU 256, LSTM 256; Time Machine, 10,000 characters, batch
32 x 35) trained by seqlab's `train_epoch`, as `train_speed.py`'s "ours" entry, with the fast
recurrences taken from file A or file B. Each round times A and B back to back (the order
alternates), so a slow stretch of the shared machine slows both; the figure to read is the
median over rounds of B's tokens/sec over A's in the same round.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train_speed import ours_runner  # noqa: E402

import seqlab.models.cells as cells  # noqa: E402
from seqlab.data.corpora import load_corpus_time_machine  # noqa: E402

SHAPES = {"rnn": 512, "gru": 256, "lstm": 256}


def load(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="fast_cells.py version A (the baseline)")
    ap.add_argument("b", help="fast_cells.py version B")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=3, help="epochs per timing (8 batches each)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="rnn,gru,lstm")
    args = ap.parse_args()
    unknown = sorted(set(args.only.split(",")) - set(SHAPES))
    if unknown:
        ap.error(f"--only: unknown cell(s) {', '.join(unknown)}; choose from {', '.join(SHAPES)}")
    torch.set_num_threads(args.threads)
    versions = {"A": load(args.a, "fast_cells_a"), "B": load(args.b, "fast_cells_b")}
    corpus, vocab = load_corpus_time_machine(max_tokens=10000)
    corpus_t = torch.tensor(corpus)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; A = {args.a}, B = {args.b}")
    for cell in args.only.split(","):
        run = ours_runner(cell, "scratch", SHAPES[cell], 1, corpus_t, len(vocab), torch.device("cpu"), 32, 35)
        rates: dict[str, list[float]] = {"A": [], "B": []}
        for r in range(args.rounds):
            for v in ("A", "B") if r % 2 == 0 else ("B", "A"):
                cells.recurrence = versions[v].recurrence
                run(1)  # warm-up after the switch
                t0 = time.perf_counter()
                n = run(args.epochs)
                rates[v].append(n / (time.perf_counter() - t0))
        ratios = [b / a for a, b in zip(rates["A"], rates["B"])]
        print(f"{cell}-{SHAPES[cell]}: B/A paired median {statistics.median(ratios):.3f} "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}); best A {max(rates['A']):,.0f}, "
              f"best B {max(rates['B']):,.0f} tokens/s", flush=True)


if __name__ == "__main__":
    main()
