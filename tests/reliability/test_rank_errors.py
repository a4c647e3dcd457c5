"""Under torchrun a bad-input error that every rank stops on before training (`--batch-size 31` on 2
ranks) is said once, by rank 0, where each rank printed it; every rank still exits 2, and a rank whose
error is its own still says it. The ranks are simulated by torchrun's variables in this process and a
key-value store standing in for the torchrun agent's (no process group is started)."""

import datetime

import pytest
import torch.distributed as dist

from seqlab.cli import main
from seqlab.training import distributed

TEXT = "the time machine by h g wells\n" * 40
SAID = "seqlab: error: batch size 31 is not divisible by the world size 2: use a batch size that is a multiple of 2\n"


@pytest.fixture
def agent_store(monkeypatch):
    """A store as torchrun's agent holds one, and a 2-rank job's variables pointing to it."""
    store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False,
                          timeout=datetime.timedelta(seconds=10))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(store.port))
    monkeypatch.setenv("TORCHELASTIC_USE_AGENT_STORE", "True")
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "0")
    # (a rank-specific error is said after this wait)
    monkeypatch.setattr(distributed, "SAME_ERROR_WAIT_S", 0.5, raising=False)
    return store


def _as_rank(rank: int, batch_size: int, tmp_path, capsys, monkeypatch) -> str:
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("LOCAL_RANK", str(rank))
    text = tmp_path / "tiny.txt"
    text.write_text(TEXT, encoding="utf-8")
    code = main(["train", "lm", "--data", str(text), "--level", "char", "--hidden", "8", "--epochs", "1",
                 "--num-steps", "5", "--batch-size", str(batch_size), "--out", str(tmp_path / f"run{rank}")])
    assert code == 2  # on every rank, said or not
    return capsys.readouterr().err


def test_an_error_every_rank_has_is_said_by_rank_0_alone(agent_store, tmp_path, capsys, monkeypatch):
    assert _as_rank(0, 31, tmp_path, capsys, monkeypatch) == SAID
    assert _as_rank(1, 31, tmp_path, capsys, monkeypatch) == ""


def test_an_error_of_one_rank_is_said_by_that_rank(agent_store, tmp_path, capsys, monkeypatch):
    # rank 0 did not fail (it is waiting in the process group): rank 1 says its error after the wait
    assert _as_rank(1, 31, tmp_path, capsys, monkeypatch) == SAID
    # rank 0 failed otherwise: rank 1 says its own at once
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")  # (a fresh attempt of the job: its keys apart)
    assert _as_rank(0, 33, tmp_path, capsys, monkeypatch) == SAID.replace("31", "33")
    assert _as_rank(1, 31, tmp_path, capsys, monkeypatch) == SAID


def test_without_torchrun_s_store_every_rank_says_its_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("TORCHELASTIC_USE_AGENT_STORE", raising=False)  # (variables set by hand: no store)
    assert _as_rank(1, 31, tmp_path, capsys, monkeypatch) == SAID


@pytest.mark.slow
def test_under_torchrun_the_shared_error_is_said_once(tmp_path):
    import subprocess
    import sys

    from ddp_harness import ROOT, env, free_port

    text = tmp_path / "tiny.txt"
    text.write_text(TEXT, encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                        f"--master_port={free_port()}", "-m", "seqlab", "train", "lm", "--data", str(text),
                        "--level", "char", "--batch-size", "31", "--out", str(tmp_path / "run")],
                       env=env(), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode != 0
    assert [line + "\n" for line in p.stderr.splitlines() if line.startswith("seqlab:")] == [SAID], p.stderr[-2000:]
