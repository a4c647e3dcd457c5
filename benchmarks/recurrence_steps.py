"""The fast recurrences alone (seqlab/models/fast_cells.py): kernels a step and time, forward + backward.

    PYTHONPATH=. python benchmarks/recurrence_steps.py [--device cpu|cuda] [--threads N]
        [--shapes 8x64,32x256,...] [--against OTHER_CHECKOUT] [--repeats 60]

For each cell (rnn, gru, lstm) and batch x hidden shape, over T = 35 steps from projections XW
given: one forward and backward of the cell's autograd.Function, timed as the best of `--repeats`
(CUDA: synchronised), and the number of aten/mkl kernels it runs, divided by T (torch.profiler, at
the first shape). `--against DIR` loads DIR's seqlab (another checkout, e.g. a `git worktree` of an
older commit) into the same process and times both in alternation: an A/B on a shared machine, where
times of separate runs are not comparable. Kernels a step matter most on a GPU, where each is a launch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

T = 35


def load_fast_cells(root: Path):
    """seqlab.models.fast_cells imported from checkout `root`, apart from any other seqlab loaded."""
    for name in [m for m in sys.modules if m == "seqlab" or m.startswith("seqlab.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        import seqlab.models.fast_cells as fast_cells
    finally:
        sys.path.remove(str(root))
    return fast_cells


def one_run(fast_cells, cell: str, B: int, H: int, device: torch.device):
    """A closure running the cell's recurrence forward and backward once, on fixed random inputs."""
    g = torch.Generator().manual_seed(0)
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    XW = torch.randn(T, B, G * H, generator=g).to(device).requires_grad_()
    W = (torch.randn(H, G * H, generator=g) * H ** -0.5).to(device).requires_grad_()
    h0 = torch.zeros(B, H, device=device)
    if cell == "rnn":
        def run():
            fast_cells._RNNRecurrence.apply(XW, h0, W, False)[0].sum().backward()
    elif cell == "gru":
        b = torch.randn(G * H, generator=g).to(device).requires_grad_()

        def run():
            fast_cells._GRURecurrence.apply(XW, h0, W, b)[0].sum().backward()
    else:
        def run():
            fast_cells._LSTMRecurrence.apply(XW, h0, h0.clone(), W)[0].sum().backward()
    return run


def kernels_a_step(run) -> float:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    n = sum(e.count for e in prof.key_averages() if e.key.startswith(("aten::", "mkl::", "mkldnn::"))
            and e.key not in ("aten::empty", "aten::unbind", "aten::select", "aten::slice", "aten::as_strided",
                              "aten::view", "aten::unsqueeze", "aten::t", "aten::transpose", "aten::expand",
                              "aten::unflatten", "aten::reshape", "aten::alias", "aten::empty_like",
                              "aten::empty_strided", "aten::resize_", "aten::detach", "aten::lift_fresh"))
    return n / T


def best_time(runs: dict, repeats: int, device: torch.device) -> dict[str, float]:
    best = {k: float("inf") for k in runs}
    for r in range(repeats):
        for name, run in (runs.items() if r % 2 else reversed(list(runs.items()))):  # alternate the order
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            run()
            if device.type == "cuda":
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--shapes", default="8x64,32x128,32x256,64x512", help="BxH, comma-separated")
    ap.add_argument("--against", default="", help="another checkout's root, timed beside this one")
    ap.add_argument("--repeats", type=int, default=60)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    here = Path(__file__).resolve().parent.parent
    trees = {"this": load_fast_cells(here)}
    if args.against:
        trees["other"] = load_fast_cells(Path(args.against).resolve())
    shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} threads, T = {T}; "
          f"this = {here}" + (f", other = {Path(args.against).resolve()}" if args.against else ""))
    for cell in ("rnn", "gru", "lstm"):
        B, H = shapes[0]
        counts = {k: kernels_a_step(one_run(fc, cell, B, H, device)) for k, fc in trees.items()}
        print(f"{cell}: kernels a step " + ", ".join(f"{k} {v:.1f}" for k, v in counts.items()))
        for B, H in shapes:
            runs = {k: one_run(fc, cell, B, H, device) for k, fc in trees.items()}
            for run in runs.values():
                for _ in range(3):
                    run()
            best = best_time(runs, args.repeats, device)
            ratio = f"  this/other {best['this'] / best['other']:.3f}" if "other" in best else ""
            print(f"  B {B:3d} H {H:4d}: " + ", ".join(f"{k} {v * 1e3:8.3f} ms" for k, v in best.items()) + ratio)


if __name__ == "__main__":
    main()
