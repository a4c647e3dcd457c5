"""The backward's step product on a transposed view of W_h vs on a row-major copy (CPU).

    PYTHONPATH=. python benchmarks/backward_layout.py [--threads 2] [--rounds 15]

Each backward step of fast_cells.py multiplies the (B, G*H) gate gradient by W_h^T (G*H, H).
For the book's shapes (batch 32: RNN-512, GRU-256, LSTM-256) this times `addmm` with W_h.T as
a view (what the backward had) and as a contiguous copy (what `_stepper` now makes once per
sequence), interleaved, 100 products per timing; prints the medians and the paired ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

SHAPES = {"RNN-512": (512, 512), "GRU-256": (768, 256), "LSTM-256": (1024, 256)}  # (G*H, H)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch 32")
    for name, (K, N) in SHAPES.items():
        W_h = torch.randn(N, K)  # (H, G*H)
        g, add, out = torch.randn(32, K), torch.randn(32, N), torch.empty(32, N)
        copy = W_h.T.contiguous()
        variants = {"view": lambda: torch.addmm(add, g, W_h.T, out=out),
                    "copy": lambda: torch.addmm(add, g, copy, out=out)}
        us: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.rounds):
            for k, f in variants.items():
                for _ in range(10):
                    f()
                t0 = time.perf_counter()
                for _ in range(100):
                    f()
                us[k].append((time.perf_counter() - t0) / 100 * 1e6)
        ratio = statistics.median(a / b for a, b in zip(us["view"], us["copy"]))
        print(f"{name} (32x{K})@({K}x{N}): view {statistics.median(us['view']):.1f} us, "
              f"copy {statistics.median(us['copy']):.1f} us, view/copy paired median {ratio:.3f}")


if __name__ == "__main__":
    main()
