"""A small model's step under the process's thread settings: run it beside another job.

    python benchmarks/small_model_threads.py                          # torch's default threads
    OMP_NUM_THREADS=1 python benchmarks/small_model_threads.py
    OMP_WAIT_POLICY=PASSIVE python benchmarks/small_model_threads.py

Times one evaluation window of a hidden-16 LSTM (35 steps, batch 10, 28 inputs: a tiny
character model, as `seqlab evaluate` reads it), no gradient, median of 20 after a warm-up.
Alone on the machine the three settings are close; beside a job that keeps every core busy,
OpenMP's spinning threads wait for each other's time slices (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch


def main() -> None:
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(28, 16).eval()
    x = torch.randn(35, 10, 28)
    times = []
    with torch.no_grad():
        lstm(x)
        for _ in range(20):
            t = time.perf_counter()
            lstm(x)
            times.append(time.perf_counter() - t)
    env = {k: os.environ.get(k, "-") for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {env}: "
          f"median {statistics.median(times) * 1e3:.2f} ms, min {min(times) * 1e3:.2f} ms")


if __name__ == "__main__":
    # no options: the thread settings are the environment's; --help says so instead of running
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
