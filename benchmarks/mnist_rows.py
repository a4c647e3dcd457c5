"""Row-by-row MNIST (28 steps x 28 features): the seed's recipe and the strong one.

    PYTHONPATH=. SEQLAB_DATA=... python benchmarks/mnist_rows.py [--quick] [--device cuda] [--only seed|strong]

Trains `configs/mnist_rows_seed.toml` (seed 003: LSTM 2 x 10, SGD 0.01 momentum 0.5,
batch 64, 20 epochs) and `configs/mnist_rows_strong.toml` (LSTM 2 x 128, Adam 2e-3
cosine, clip 1, 15 epochs) through the CLI and prints one JSON line each: epochs,
final and best accuracies, wall time, images/s. `--quick` runs 1 epoch of each.
"""

from __future__ import annotations

import argparse
import json
import time

from seqlab.cli import main as seqlab

CONFIGS = {"seed": "configs/mnist_rows_seed.toml", "strong": "configs/mnist_rows_strong.toml"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 epoch each (smoke run)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--only", choices=sorted(CONFIGS), nargs="*")
    ap.add_argument("--out", default="runs/mnist_rows")
    args = ap.parse_args()
    for name in args.only or list(CONFIGS):
        out = f"{args.out}/{name}"
        argv = ["train", "classify", "--config", CONFIGS[name], "--device", args.device, "--out", out,
                "--no-progress"] + (["--epochs", "1"] if args.quick else [])
        tic = time.perf_counter()
        rc = seqlab(argv)
        wall = time.perf_counter() - tic
        with open(f"{out}/metrics.jsonl") as fh:
            records = [json.loads(line) for line in fh]
        print(json.dumps({"recipe": name, "rc": rc, "device": args.device, "wall_s": wall,
                          "epochs": records[-1]["epoch"], "test_accuracy": records[-1]["test_accuracy"],
                          "best_valid_accuracy": max(r["valid_accuracy"] for r in records),
                          "images_per_sec": sum(r["images_per_sec"] for r in records) / len(records)}))


if __name__ == "__main__":
    main()
