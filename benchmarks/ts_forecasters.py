"""Forecasters on the book's sine (seed 002): held-out k-step MSE against the noise floor 0.04.

    PYTHONPATH=. python benchmarks/ts_forecasters.py [--quick] [--only NAME ...] [--out DIR]

Each entry trains with `seqlab.training.forecast.train_forecaster` (the same code as
`seqlab train forecast`) and prints one row: 1/4/16/64-step MSE, their ratio to the
floor, multi-step MSE from t = n_train + tau + 1, and the training time. `--quick`
runs fewer epochs (a smoke run, not the reported figures).
"""

from __future__ import annotations

import argparse
import json
import time

from seqlab.config import replace
from seqlab.training.forecast import ForecastConfig, train_forecaster

# name -> (changes to the default config); the first is the book's recipe
RECIPES = {
    "book-mlp": dict(),
    "mlp-tau32": dict(tau=32, hidden=32, epochs=30),
    "gru-tau32": dict(model="gru", tau=32, hidden=32, epochs=30),
    "lstm-tau32": dict(model="lstm", tau=32, hidden=32, epochs=30),
    "gru-tau128": dict(model="gru", tau=128, hidden=32, epochs=20),
    "mlp-tau128-rollout32": dict(tau=128, hidden=32, epochs=30, lr=0.003, rollout=32),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 epochs each (smoke run)")
    ap.add_argument("--only", nargs="*", help="recipe names to run (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/ts_forecasters")
    args = ap.parse_args()
    names = args.only or list(RECIPES)
    print("| recipe | 1-step | 4-step | 16-step | 64-step | ratio 1 / 64 | multi-step | train s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        changes = dict(RECIPES[name])
        if args.quick:
            changes["epochs"] = 2
        cfg = replace(ForecastConfig(), out=f"{args.out}/{name}", seed=args.seed, **changes)
        tic = time.perf_counter()
        r = train_forecaster(cfg, log=lambda *a, **k: None)
        secs = time.perf_counter() - tic
        k = {key: v["mse"] for key, v in r["k_step"].items()}
        floor = r["noise_floor"]
        print(f"| {name} | {k['1']:.4f} | {k['4']:.4f} | {k['16']:.4f} | {k['64']:.4f} | "
              f"{k['1'] / floor:.3f} / {k['64'] / floor:.3f} | {r['multistep_mse']:.4f} | {secs:.1f} |", flush=True)
        with open(f"{args.out}/{name}/changes.json", "w") as fh:
            json.dump(changes, fh)


if __name__ == "__main__":
    main()
