"""Why the scratch cells' step products go through oneDNN on a CPU, and the layers alone.

    PYTHONPATH=. python benchmarks/step_products.py [--threads 1]

1. GFLOP/s of the step product (32 x 256) @ (256 x 1024) and of the weight-gradient product
   (256 x 1120) @ (1120 x 1024): torch.addmm/mm (MKL sgemm) vs oneDNN's linear kernel.
2. Forward + backward of one (35, 32, 28) float32 batch through nn.LSTM/GRU/RNN (with and
   without oneDNN) and through seqlab's ScratchRNN with fast paths on and off.
"""

import argparse
import time

import torch

from seqlab.models.recurrent import ScratchRNN


def best_us(f, n=200, repeats=3):
    for _ in range(10):
        f()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def products():
    lin = torch.ops.mkldnn._linear_pointwise
    B, H, G, TB = 32, 256, 1024, 1120
    h, W, xw = torch.randn(B, H), torch.randn(H, G), torch.randn(B, G)
    Wt = W.T.contiguous()
    fl = 2 * B * H * G
    print(f"step product (32x256)@(256x1024): addmm {fl / best_us(lambda: torch.addmm(xw, h, W)) / 1e3:.0f} "
          f"GFLOP/s, oneDNN {fl / best_us(lambda: lin(h, Wt, None, 'none', [], '').add_(xw)) / 1e3:.0f} GFLOP/s")
    hs, dG = torch.randn(TB, H), torch.randn(TB, G)
    fl = 2 * TB * H * G
    print(f"weight gradient (256x1120)@(1120x1024): mm {fl / best_us(lambda: hs.T @ dG, 20) / 1e3:.0f} GFLOP/s, "
          f"oneDNN {fl / best_us(lambda: lin(hs.T.contiguous(), dG.T.contiguous(), None, 'none', [], ''), 20) / 1e3:.0f}"
          " GFLOP/s (transposed copies included)")


def layers():
    T, B, D, H = 35, 32, 28, 256
    X = torch.randn(T, B, D)
    for cls in (torch.nn.LSTM, torch.nn.GRU, torch.nn.RNN):
        fused = cls(D, H)
        scratch = ScratchRNN.from_fused(fused)

        def run(m):
            y, _ = m(X)
            y.sum().backward()
        a = best_us(lambda: run(fused), 10, 5) / 1e3
        with torch.backends.mkldnn.flags(enabled=False):
            b = best_us(lambda: run(fused), 10, 5) / 1e3
        c = best_us(lambda: run(scratch), 10, 5) / 1e3
        scratch.fast = False
        d = best_us(lambda: run(scratch), 10, 5) / 1e3
        print(f"{cls.__name__} {H}: fused {a:.1f} ms, fused oneDNN off {b:.1f} ms, scratch fast {c:.1f} ms, "
              f"scratch plain {d:.1f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    products()
    layers()
