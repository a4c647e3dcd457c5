"""Forecasters on the book's sine (seed 002): held-out k-step MSE against the noise floor 0.04.

    PYTHONPATH=. python benchmarks/ts_forecasters.py [--quick] [--only NAME ...] [--seeds 0 1 2] [--out DIR]

Each entry trains with `seqlab.training.forecast.train_forecaster` (the same code as
`seqlab train forecast`) and prints one row per seed: 1/4/16/64-step MSE, their ratio to
the floor 0.04, multi-step MSE from t = 605, the training time, and the "oracle" MSE
of the noise-free sin(0.01 t) on the same held-out targets (the floor as realised by
that seed's noise). A seed sets both the model seed and the series' noise seed.
`--quick` runs 2 epochs each (a smoke run, not the reported figures).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from seqlab.config import replace
from seqlab.data.timeseries import sine_series
from seqlab.training.forecast import ForecastConfig, train_forecaster

# name -> changes to the default config (the default is the book's recipe)
RECIPES = {
    "book-mlp": dict(),
    "mlp-tau32": dict(tau=32, hidden=32, epochs=30),
    "gru-tau32": dict(model="gru", tau=32, hidden=32, epochs=30),
    "lstm-tau32": dict(model="lstm", tau=32, hidden=32, epochs=30),
    "gru-tau128": dict(model="gru", tau=128, hidden=32, epochs=20),
    "mlp-tau128-rollout32": dict(tau=128, hidden=32, epochs=30, lr=0.003, rollout=32),
    "mlp-tau128-rollout32-wd3": dict(tau=128, hidden=32, epochs=60, lr=0.003, rollout=32, optimizer="adamw",
                                     weight_decay=3.0),
}


def oracle_mse(seed: int, first: int = 604) -> float:
    t, x = sine_series(1000, seed=seed)
    return ((x[first:] - torch.sin(0.01 * t[first:])) ** 2).mean().item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 epochs each (smoke run)")
    ap.add_argument("--only", nargs="*", help="recipe names to run (default: all)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--out", default="runs/ts_forecasters")
    args = ap.parse_args()
    print("| recipe | seed | 1-step | 4-step | 16-step | 64-step | ratio 1 / 64 | multi-step | oracle | train s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.only or list(RECIPES):
        for seed in args.seeds:
            changes = dict(RECIPES[name])
            if args.quick:
                changes["epochs"] = 2
            out = f"{args.out}/{name}-s{seed}"
            cfg = replace(ForecastConfig(), out=out, seed=seed, series_seed=seed, **changes)
            tic = time.perf_counter()
            r = train_forecaster(cfg, log=lambda *a, **k: None)
            secs = time.perf_counter() - tic
            k = {key: v["mse"] for key, v in r["k_step"].items()}
            floor = r["noise_floor"]
            print(f"| {name} | {seed} | {k['1']:.4f} | {k['4']:.4f} | {k['16']:.4f} | {k['64']:.4f} | "
                  f"{k['1'] / floor:.3f} / {k['64'] / floor:.3f} | {r['multistep_mse']:.4f} | "
                  f"{oracle_mse(seed):.4f} | {secs:.1f} |", flush=True)
            with open(f"{out}/changes.json", "w") as fh:
                json.dump(changes, fh)


if __name__ == "__main__":
    main()
