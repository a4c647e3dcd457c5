"""`seqlab train lm` under torchrun with 2 CPU processes (gloo): the loss curve equals the
1-process run with the same global batch, checkpoints resume across world sizes, and a
dead rank makes the other exit with a message instead of hanging."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]
TEXT = "the time traveller for so it will be convenient to speak of him\n" * 16


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", SEQLAB_DIST_TIMEOUT="60")
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env | extra


def _args(text: Path, out: Path, epochs: int, *extra: str) -> list[str]:
    # sequential sampling: every rank carries the state of its own rows; no dropout (its masks
    # are drawn per rank, so they could not match the 1-process run)
    return ["train", "lm", "--data", str(text), "--level", "char", "--cell", "lstm", "--impl", "scratch",
            "--hidden", "16", "--batch-size", "4", "--num-steps", "8", "--epochs", str(epochs), "--lr", "0.01",
            "--optimizer", "adam", "--sampling", "sequential", "--device", "cpu", "--seed", "0", "--out", str(out),
            *extra]


def _run(args: list[str], nproc: int = 1) -> subprocess.CompletedProcess:
    launcher = ([sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                 f"--master_port={_port()}", "-m", "seqlab"] if nproc > 1 else [sys.executable, "-m", "seqlab"])
    p = subprocess.run(launcher + args, env=_env(), capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    return p


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("ddp") / "tiny.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def single(text, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "run"
    _run(_args(text, out, 3))
    return out


def _curve(out: Path) -> list[tuple[float, float]]:
    return [(r["train_loss"], r["valid_loss"]) for r in read_metrics(out / "metrics.jsonl")]


def _assert_same_run(a: Path, b: Path) -> None:
    ca, cb = _curve(a), _curve(b)
    assert len(ca) == len(cb) == 3
    for (ta, va), (tb, vb) in zip(ca, cb):
        assert ta == pytest.approx(tb, rel=1e-5) and va == pytest.approx(vb, rel=1e-5)
    wa, wb = load_checkpoint(a, "last").model, load_checkpoint(b, "last").model
    assert wa.keys() == wb.keys()  # no "module." prefix from DDP
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5)


def test_two_processes_match_one_process(text, single, tmp_path):
    out = tmp_path / "run"
    p = _run(_args(text, out, 3), nproc=2)
    _assert_same_run(out, single)
    assert "2 ranks" in p.stdout
    assert p.stdout.count('"train_ppl"') == 1  # only rank 0 prints the result
    assert sorted(x.name for x in out.iterdir()) == ["best.safetensors", "last.safetensors", "metrics.jsonl",
                                                     "perplexity.png"]
    assert len(read_metrics(out / "metrics.jsonl")) == 3  # written once, by rank 0


@pytest.mark.slow
def test_two_process_checkpoint_resumes_in_one_process(text, single, tmp_path):
    out = tmp_path / "run"
    _run(_args(text, out, 2), nproc=2)
    _run(_args(text, out, 3, "--resume"))
    _assert_same_run(out, single)


@pytest.mark.slow
def test_one_process_checkpoint_resumes_in_two_processes(text, single, tmp_path):
    out = tmp_path / "run"
    _run(_args(text, out, 1))
    _run(_args(text, out, 3, "--resume"), nproc=2)
    _assert_same_run(out, single)


def test_a_dead_rank_stops_the_other_with_a_message(text, tmp_path):
    out = tmp_path / "run"
    port = _port()
    procs = []
    for rank in range(2):
        env = _env(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), SEQLAB_DIST_TIMEOUT="20")
        procs.append(subprocess.Popen([sys.executable, "-m", "seqlab", *_args(text, out, 500)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT))
    t0 = time.time()
    while not (out / "metrics.jsonl").exists() and time.time() - t0 < 120:
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(procs[1].pid, signal.SIGKILL)
    t_kill = time.time()
    try:
        err = procs[0].communicate(timeout=90)[1]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert time.time() - t_kill < 60
    assert procs[0].returncode == 2, err[-2000:]
    assert "Traceback" not in err
    assert "another rank died or hung" in err and "--resume" in err
