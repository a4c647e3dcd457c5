"""nn.RNN / nn.GRU against the same weights through seqlab's fast scratch recurrence, on a CPU.

Asks whether `--impl fused` RNN/GRU layers should run fast_cells' recurrence on a CPU. Each row
times one layer on float input (T, B, D) in training (forward + backward of Y.sum(), `--reps`
timings of 3 steps, best of 3 medians) and in inference (torch.no_grad, 10 calls); the scratch
twin is `ScratchRNN.from_fused(layer)` (the same weights and formulas, PyTorch's reset-after GRU).

    PYTHONPATH=$PWD python benchmarks/fused_layer_vs_fast.py --threads 2
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from seqlab.models.recurrent import ScratchRNN

TRAIN = [(m, h, b) for m in ("gru", "rnn") for h in (128, 256, 512) for b in (20, 64, 128)]
INFER = [("gru", 256, 32, 35), ("gru", 256, 32, 1), ("rnn", 256, 1, 1), ("gru", 650, 20, 35)]


def median_time(f, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def pair(mode: str, hidden: int, batch: int, steps: int, train: bool, reps: int) -> tuple[float, float]:
    torch.manual_seed(0)
    fused = {"gru": nn.GRU, "rnn": nn.RNN}[mode](hidden, hidden)
    twin = ScratchRNN.from_fused(fused)
    X = torch.randn(steps, batch, hidden)

    def runner(layer):
        def f():
            if train:
                for _ in range(3):
                    layer(X)[0].sum().backward()
            else:
                with torch.no_grad():
                    for _ in range(10):
                        layer(X)
        return f

    a, b = [], []
    for _ in range(3):  # interleaved: a slow stretch of the machine hits both
        a.append(median_time(runner(fused), reps))
        b.append(median_time(runner(twin), reps))
    return min(a), min(b)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=7)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, {torch.backends.cpu.get_cpu_capability()}")
    print("mode hidden batch steps  kind       nn ms   fast ms   nn/fast")
    for mode, hidden, batch in TRAIN:
        f, s = pair(mode, hidden, batch, 35, True, args.reps)
        print(f"{mode:4} {hidden:6} {batch:5} {35:5}  train  {f * 1e3 / 3:9.2f} {s * 1e3 / 3:9.2f} {f / s:9.2f}", flush=True)
    for mode, hidden, batch, steps in INFER:
        f, s = pair(mode, hidden, batch, steps, False, args.reps)
        print(f"{mode:4} {hidden:6} {batch:5} {steps:5}  infer  {f * 1e2:9.3f} {s * 1e2:9.3f} {f / s:9.2f}", flush=True)


if __name__ == "__main__":
    main()
