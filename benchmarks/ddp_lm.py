"""`seqlab train lm` under torchrun with N processes against 1 process, same global batch.

    python benchmarks/ddp_lm.py --quick                 # CPU, gloo, 2 processes, tiny (about a minute)
    python benchmarks/ddp_lm.py --device cuda --nproc 2 # the GPU figure: NCCL, one GPU per process
                                                        # (needs 2 GPUs; on a 1-GPU machine use --nproc 1
                                                        # for the baseline, or --device cpu)

Prints one JSON line per run (processes, per-epoch train/valid loss, tokens/s, wall time)
and a last line with the largest relative difference of the N-process curve from the
1-process one.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(nproc: int, args: list[str], out: Path) -> dict:
    launcher = ([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                 f"--master_port={_port()}", "-m", "seqlab"] if nproc > 1 else [sys.executable, "-m", "seqlab"])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    p = subprocess.run(launcher + args + ["--out", str(out)], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if p.returncode:
        sys.exit(p.stderr[-3000:])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {"nproc": nproc, "wall_s": round(wall, 2),
            "train_loss": [r["train_loss"] for r in rows], "valid_loss": [r["valid_loss"] for r in rows],
            "tokens_per_sec": [round(r["tokens_per_sec"]) for r in rows]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="tiny CPU run (the test-sized check)")
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dataset", default="timemachine")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=-1)
    a = ap.parse_args()
    if a.quick:
        a.device, a.hidden, a.batch_size, a.epochs, a.max_tokens = "cpu", 64, 16, 2, 20000
    args = ["train", "lm", "--dataset", a.dataset, "--level", "char", "--cell", "lstm", "--impl", "fused",
            "--hidden", str(a.hidden), "--batch-size", str(a.batch_size), "--num-steps", "35", "--epochs", str(a.epochs),
            "--lr", "0.002", "--optimizer", "adam", "--sampling", "sequential", "--max-tokens", str(a.max_tokens),
            "--device", a.device, "--seed", "0"]
    with tempfile.TemporaryDirectory() as tmp:
        one = run(1, args, Path(tmp) / "one")
        many = run(a.nproc, args, Path(tmp) / "many")
    print(json.dumps(one))
    print(json.dumps(many))
    diff = max(abs(x - y) / abs(y) for k in ("train_loss", "valid_loss") for x, y in zip(many[k], one[k]))
    print(json.dumps({"max_rel_diff_vs_1_process": diff, "device": a.device, "nproc": a.nproc}))


if __name__ == "__main__":
    main()
