"""Pixel-by-pixel MNIST (784 steps x 1 feature): accuracy and time, CPU-reduced or full GPU size.

    PYTHONPATH=. SEQLAB_DATA=... python benchmarks/mnist_pixels.py --quick          # CPU, reduced
    PYTHONPATH=. SEQLAB_DATA=... python benchmarks/mnist_pixels.py --device cuda    # GPU, full size

Runs `seqlab train classify --mode pixels` (the same code path as the CLI) and prints
one JSON line with the settings, final valid/test accuracy, wall time and images/s.
The full recipe (LSTM 1 x 128, Adam 1e-3, clip 1, cosine, batch 128, 10 epochs, all
55,000 training images) is the GPU figure still owed when no GPU was lent.
"""

from __future__ import annotations

import argparse
import json
import time

from seqlab.cli import main as seqlab

FULL = ["--hidden", "128", "--layers", "1", "--lr", "0.001", "--batch-size", "128", "--epochs", "10"]
QUICK = ["--hidden", "64", "--layers", "1", "--lr", "0.002", "--batch-size", "128", "--epochs", "2",
         "--train-limit", "10000", "--valid-size", "1000", "--test-limit", "2000"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="CPU-sized: 9,000 training images, 2 epochs, hidden 64")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default="runs/mnist_pixels")
    ap.add_argument("extra", nargs="*", help="more `seqlab train classify` flags (after --)")
    args = ap.parse_args()
    argv = ["train", "classify", "--dataset", "mnist", "--mode", "pixels", "--device", args.device,
            "--out", args.out, "--no-progress", *(QUICK if args.quick else FULL), *args.extra]
    tic = time.perf_counter()
    rc = seqlab(argv)
    wall = time.perf_counter() - tic
    with open(f"{args.out}/metrics.jsonl") as fh:
        last = [json.loads(line) for line in fh][-1]
    print(json.dumps({"rc": rc, "argv": argv[2:], "wall_s": wall, "epochs": last["epoch"],
                      "valid_accuracy": last["valid_accuracy"], "test_accuracy": last["test_accuracy"],
                      "images_per_sec": last["images_per_sec"], "tokens_per_sec": last["tokens_per_sec"]}))


if __name__ == "__main__":
    main()
