"""Run `seqlab train ...` as 1 process or under torchrun with N CPU processes (gloo), and compare
two runs: the tests in tests/reliability/test_distributed_*.py load this file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(**extra) -> dict:
    """This checkout on PYTHONPATH, one thread, a short collective timeout, no torchrun variables."""
    e = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", SEQLAB_DIST_TIMEOUT="60")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        e.pop(k, None)
    return e | extra


def run(args: list[str], nproc: int = 1) -> subprocess.CompletedProcess:
    """`python -m seqlab ARGS` (nproc 1) or `torchrun --nproc_per_node=N -m seqlab ARGS`; must succeed."""
    launcher = ([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                 f"--master_port={free_port()}", "-m", "seqlab"] if nproc > 1 else [sys.executable, "-m", "seqlab"])
    p = subprocess.run(launcher + args, env=env(), capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    return p


def assert_same_run(a: Path, b: Path, keys: tuple[str, ...], epochs: int, rel: float = 1e-5) -> None:
    """Same epochs, the same figures under `keys` (to `rel`), and close final weights (no DDP prefix)."""
    ra, rb = read_metrics(a / "metrics.jsonl"), read_metrics(b / "metrics.jsonl")
    assert [r["epoch"] for r in ra] == [r["epoch"] for r in rb] == list(range(1, epochs + 1))
    for x, y in zip(ra, rb):
        for k in keys:
            assert x[k] == pytest.approx(y[k], rel=rel), (x["epoch"], k)
    wa, wb = load_checkpoint(a, "last").model, load_checkpoint(b, "last").model
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5)


def assert_cross_resume(args, single: Path, tmp: Path, keys: tuple[str, ...], epochs: int = 3) -> None:
    """A 2-process run resumed in 1 process, and a 1-process run resumed in 2, both end as `single`.

    `args(out, epochs, *extra)` is the command line of a run of `epochs` epochs writing to `out`.
    """
    a, b = tmp / "a", tmp / "b"
    run(args(a, epochs - 1), nproc=2)
    run(args(a, epochs, "--resume"))
    assert_same_run(a, single, keys, epochs)
    run(args(b, 1))
    run(args(b, epochs, "--resume"), nproc=2)
    assert_same_run(b, single, keys, epochs)
