"""How well `seqlab forecast --interval P` covers: the interval comes from the quantiles of the
model's held-out h-step errors; here it is checked on fresh noise draws of the same series.

Trains the book's MLP on a longer noisy sine (T = 3000, noise 0.2, tau 8, the last third held
out) through the CLI, takes the interval offsets for horizons 1..16 from its checkpoint, then runs
the model on --draws new series (the same sine, other noise seeds: what "the future looks like the
held-out part" means at its best) and counts how many h-step errors fall inside, per horizon.

    SEQLAB_DATA=../shared/data python benchmarks/forecast_interval_coverage.py --draws 5

Prints the h = 1 width against the noise's own 2 * z * sigma and, per draw, the coverage at
h = 1, 4 and 16. Coverage on the held-out part itself is P by construction.
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
from seqlab.training.forecast_interval import heldout_errors, interval_offsets

HORIZONS = (1, 4, 16)


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
    steps = max(HORIZONS)
    iv = interval_offsets(net, series, steps, args.level)
    z = statistics.NormalDist().inv_cdf((1 + args.level) / 2)
    width = float(iv.upper[0] - iv.lower[0])
    print(f"level {args.level}: h=1 width {width:.4f}, noise's 2*z*sigma {2 * z * noise:.4f} "
          f"(ratio {width / (2 * z * noise):.3f}); held-out errors per horizon: {iv.samples[0]}..{iv.samples[-1]}")
    for seed in range(1, args.draws + 1):
        _, x = sine_series(args.length, noise=noise, seed=1000 + seed)
        # the fresh draw, all of it held out: every origin from tau on
        fresh = dataclasses.replace(series, x=x, n_train=0, dates=None)
        errors = heldout_errors(net, fresh, steps)
        cover = {h: float(((errors[h - 1] >= iv.lower[h - 1]) & (errors[h - 1] <= iv.upper[h - 1]))
                          .double().mean()) for h in HORIZONS}
        rmse = float(errors[0].pow(2).mean().sqrt())
        print(f"draw {seed}: coverage " + ", ".join(f"h={h} {c:.3f}" for h, c in cover.items())
              + f"; one-step error std {rmse / noise:.3f} sigma")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
