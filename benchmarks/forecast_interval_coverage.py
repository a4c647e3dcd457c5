"""How well `seqlab forecast --interval P` covers: the interval comes from the quantiles of the
model's held-out h-step errors; here it is checked on fresh noise draws of the same series.

Trains the book's MLP on a longer noisy sine (T = 3000, noise 0.2, tau 8, the last third held
out) through the CLI, takes the interval offsets for horizons 1..H from its checkpoint (H: the
longest horizon `--interval` allows, 501 for 1,000 held-out values), then runs the model on
--draws new series (the same sine, other noise seeds: what "the future looks like the held-out
part" means at its best) from every origin, and counts how many h-step errors fall inside.

    SEQLAB_DATA=../shared/data python benchmarks/forecast_interval_coverage.py --draws 5

Prints the h = 1 width against the noise's own 2 * z * sigma; per draw, the coverage at h = 1, 4
and 16; then, over all draws, the coverage and mean width by band of horizons up to H. Coverage on
the held-out part itself is P by construction (before the bounds are made monotone).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from seqlab.data.timeseries import sine_series
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.forecast import from_checkpoint
from seqlab.training.forecast_interval import heldout_errors, interval_offsets, max_interval_steps

HORIZONS = (1, 4, 16)
BANDS = ((1, 16), (17, 64), (65, 128), (129, 256), (257, None))  # None: up to H


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--level", type=float, default=0.9)
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--length", type=int, default=3000)
    args = ap.parse_args()
    noise, tau = 0.2, 8
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        subprocess.run([sys.executable, "-m", "seqlab", "train", "forecast", "--length", str(args.length),
                        "--tau", str(tau), "--n-train", str(2 * args.length // 3 - tau), "--epochs",
                        str(args.epochs), "--seed", "0", "--out", str(out)], check=True, capture_output=True)
        net, series, _ = from_checkpoint(load_checkpoint(out, "best"))
    steps = max_interval_steps(len(series.x) - series.first_heldout)  # H
    iv = interval_offsets(net, series, steps, args.level)
    z = statistics.NormalDist().inv_cdf((1 + args.level) / 2)
    width = iv.upper - iv.lower
    print(f"level {args.level}: h=1 width {width[0]:.4f}, noise's 2*z*sigma {2 * z * noise:.4f} "
          f"(ratio {width[0] / (2 * z * noise):.3f}); held-out errors per horizon: {iv.samples[0]}..{iv.samples[-1]} "
          f"(h = 1..{steps})")
    inside = []  # per draw: (errors inside or not) per horizon
    for seed in range(1, args.draws + 1):
        _, x = sine_series(args.length, noise=noise, seed=1000 + seed)
        # the fresh draw, all of it held out: every origin from tau on
        fresh = dataclasses.replace(series, x=x, n_train=0, dates=None)
        errors = heldout_errors(net, fresh, steps)
        inside.append([(e >= iv.lower[h]) & (e <= iv.upper[h]) for h, e in enumerate(errors)])
        rmse = float(errors[0].pow(2).mean().sqrt())
        print(f"draw {seed}: coverage " + ", ".join(f"h={h} {inside[-1][h - 1].double().mean():.3f}"
                                                    for h in HORIZONS)
              + f"; one-step error std {rmse / noise:.3f} sigma")
    for lo, hi in BANDS:
        hi = steps if hi is None else min(hi, steps)
        if lo > hi:
            continue
        hits = torch.cat([d[h - 1] for d in inside for h in range(lo, hi + 1)]).double().mean()
        print(f"h {lo}-{hi}: coverage {hits:.3f} over {len(inside)} draws, mean width "
              f"{width[lo - 1:hi].mean():.3f}")

if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
