"""`seqlab train lm` under torchrun with 2 CPU processes (gloo): the loss curve equals the
1-process run with the same global batch, checkpoints resume across world sizes, and a
dead rank makes the other exit with a message instead of hanging."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqlab.training.metrics import read_metrics

import ddp_harness as h


TEXT = "the time traveller for so it will be convenient to speak of him\n" * 16


def _args(text: Path, out: Path, epochs: int, *extra: str) -> list[str]:
    # sequential sampling: every rank carries the state of its own rows; no dropout (its masks
    # are drawn per rank, so they could not match the 1-process run)
    return ["train", "lm", "--data", str(text), "--level", "char", "--cell", "lstm", "--impl", "scratch",
            "--hidden", "16", "--batch-size", "4", "--num-steps", "8", "--epochs", str(epochs), "--lr", "0.01",
            "--optimizer", "adam", "--sampling", "sequential", "--device", "cpu", "--seed", "0", "--out", str(out),
            *extra]


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("ddp") / "tiny.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def single(text, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "run"
    h.run(_args(text, out, 3))
    return out


def _assert_same_run(a: Path, b: Path) -> None:
    h.assert_same_run(a, b, ("train_loss", "valid_loss"), 3)


# the AWD-LSTM options that must agree across ranks: AR/TAR, variable-length BPTT (the same window
# lengths on every rank) and the per-batch cosine schedule with warm-up (the same steps on every rank)
AWD = ("--ar-alpha", "2", "--tar-beta", "1", "--variable-bptt", "--bptt-sd", "2", "--schedule", "cosine",
       "--warmup-steps", "3")


def test_two_processes_match_one_process(text, tmp_path):
    one, out = tmp_path / "one", tmp_path / "run"
    h.run(_args(text, one, 3, *AWD))
    p = h.run(_args(text, out, 3, *AWD), nproc=2)
    h.assert_same_run(out, one, ("train_loss", "valid_loss", "lr"), 3)
    assert "2 ranks" in p.stdout
    assert p.stdout.count('"train_ppl"') == 1  # only rank 0 prints the result
    assert sorted(x.name for x in out.iterdir()) == ["best.safetensors", "last.safetensors", "metrics.jsonl",
                                                     "perplexity.png", "report.json"]
    assert len(read_metrics(out / "metrics.jsonl")) == 3  # written once, by rank 0


@pytest.mark.slow  # (CI time: the fast set's 2-process run is the char LM above, with the AWD options)
def test_two_processes_match_one_process_for_a_word_model_with_the_fused_loss(tmp_path):
    # 1,200 word types (>= fused_loss.MIN_VOCAB): the output layer and its loss run as one autograd
    # step inside DDP's forward; its weight gradients must be all-reduced like the others
    import random

    rng = random.Random(0)
    words = [f"w{i}" for i in range(1200)] * 3
    rng.shuffle(words)
    path = tmp_path / "words.txt"
    path.write_text(" ".join(words) + "\n", encoding="utf-8")

    def args(out):
        return ["train", "lm", "--data", str(path), "--level", "word", "--cell", "lstm", "--hidden", "8",
                "--embed", "8", "--batch-size", "4", "--num-steps", "8", "--epochs", "2", "--lr", "0.01",
                "--optimizer", "adam", "--sampling", "sequential", "--device", "cpu", "--seed", "0",
                "--out", str(out)]

    h.run(args(tmp_path / "one"))
    p = h.run(args(tmp_path / "two"), nproc=2)
    assert "vocab 1202" in p.stdout  # 1,200 words, <unk> and <eos>: the fused path's size
    h.assert_same_run(tmp_path / "two", tmp_path / "one", ("train_loss", "valid_loss"), 2)


@pytest.mark.slow
def test_two_process_checkpoint_resumes_in_one_process(text, single, tmp_path):
    out = tmp_path / "run"
    h.run(_args(text, out, 2), nproc=2)
    h.run(_args(text, out, 3, "--resume"))
    _assert_same_run(out, single)


@pytest.mark.slow
def test_one_process_checkpoint_resumes_in_two_processes(text, single, tmp_path):
    out = tmp_path / "run"
    h.run(_args(text, out, 1))
    h.run(_args(text, out, 3, "--resume"), nproc=2)
    _assert_same_run(out, single)


def test_a_dead_rank_stops_the_other_with_a_message(text, tmp_path):
    out = tmp_path / "run"
    port = h.free_port()
    procs = []
    for rank in range(2):
        env = h.env(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), SEQLAB_DIST_TIMEOUT="20")
        procs.append(subprocess.Popen([sys.executable, "-m", "seqlab", *_args(text, out, 500)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=h.ROOT))
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
