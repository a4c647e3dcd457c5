"""`seqlab train classify` under torchrun with 2 CPU processes (gloo): each rank trains on its
share of every global batch; the curve equals the 1-process run; checkpoints cross-resume."""

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics

_spec = importlib.util.spec_from_file_location("kill_resume", Path(__file__).with_name("kill_resume.py"))
kr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kr)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args, nproc=1):
    env = dict(os.environ, PYTHONPATH=str(kr.ROOT), OMP_NUM_THREADS="1", SEQLAB_DIST_TIMEOUT="60")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    launcher = ([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                 f"--master_port={_port()}", "-m", "seqlab"] if nproc > 1 else [sys.executable, "-m", "seqlab"])
    p = subprocess.run(launcher + args, env=env, capture_output=True, text=True, timeout=300, cwd=kr.ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    return p


def _args(fx, out, epochs, *extra):
    args = kr.argv("classify", fx, out)
    args[args.index("--epochs") + 1] = str(epochs)
    return args + ["--schedule", "none", *extra]  # the cosine schedule depends on --epochs: off, to resume longer


def _same(a, b):
    ra, rb = read_metrics(a / "metrics.jsonl"), read_metrics(b / "metrics.jsonl")
    assert [r["epoch"] for r in ra] == [r["epoch"] for r in rb] == [1, 2, 3]
    for x, y in zip(ra, rb):
        for k in ("train_loss", "valid_loss", "train_accuracy", "valid_accuracy", "test_accuracy"):
            assert x[k] == pytest.approx(y[k], rel=1e-5), k
    wa, wb = load_checkpoint(a, "last").model, load_checkpoint(b, "last").model
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cls")
    fx = kr.make_fixtures(root / "fx")
    single = root / "single"
    _run(_args(fx, single, 3))
    return fx, single


@pytest.mark.slow
def test_two_processes_match_one_process(setup, tmp_path):
    fx, single = setup
    out = tmp_path / "run"
    p = _run(_args(fx, out, 3), nproc=2)
    assert p.stdout.count('"best_valid_accuracy"') == 1  # rank 0 alone prints and writes
    _same(out, single)


@pytest.mark.slow
def test_checkpoints_cross_resume(setup, tmp_path):
    fx, single = setup
    a, b = tmp_path / "a", tmp_path / "b"
    _run(_args(fx, a, 2), nproc=2)
    _run(_args(fx, a, 3, "--resume"))
    _same(a, single)
    _run(_args(fx, b, 1))
    _run(_args(fx, b, 3, "--resume"), nproc=2)
    _same(b, single)
