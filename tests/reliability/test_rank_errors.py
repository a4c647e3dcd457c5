"""Under torchrun a bad-input error that every rank stops on, before joining (`--batch-size 31` on 2
ranks) or after (a refused --resume-from best), is said once, by rank 0, where each rank printed it;
every rank still exits 2, and a rank whose error is its own still says it. So is a stop by SIGTERM
(every rank still exits 143) and running out of memory. The ranks are simulated by
torchrun's variables in this process and a key-value store standing in for the torchrun agent's (no
process group is started), and run under torchrun in the slow tests."""

import datetime
import signal

import pytest
import torch.distributed as dist

from seqlab.cli import main
from seqlab.training import distributed
from seqlab.training.guard import TrainingInterrupted

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
    # (a rank-specific error is said after this wait; whole seconds: torch 2.2's store rounds 0.5 s down to 0)
    monkeypatch.setattr(distributed, "SAME_ERROR_WAIT_S", 1.0)
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


def test_on_two_machines_each_says_the_shared_error_once(agent_store, tmp_path, capsys, monkeypatch):
    # 2 machines x 2 ranks (torchrun --nnodes 2): each node's output shows the line once, by its first rank
    monkeypatch.setenv("WORLD_SIZE", "4")
    text = tmp_path / "tiny.txt"
    text.write_text(TEXT, encoding="utf-8")
    said = {}
    for rank, (node, local) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        monkeypatch.setenv("GROUP_RANK", str(node))
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("LOCAL_RANK", str(local))
        code = main(["train", "lm", "--data", str(text), "--level", "char", "--hidden", "8", "--epochs", "1",
                     "--num-steps", "5", "--batch-size", "30", "--out", str(tmp_path / f"run{rank}")])
        assert code == 2
        said[rank] = capsys.readouterr().err
    line = SAID.replace("31", "30").replace("world size 2", "world size 4").replace("multiple of 2", "multiple of 4")
    assert said == {0: line, 1: "", 2: line, 3: ""}


# The other lines a run stops on, which every rank printed alike: a stop by a signal (torchrun forwards it
# to every rank, and they stop at the same step) and running out of memory (the same sizes on every rank)
STOP = ("the checkpoint of epoch 2 (last.safetensors) is kept in runs/x: continue with the same command and "
        "--resume (epoch 3 restarts from its beginning)")
OOM = RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you "
                   "tried to allocate 160000000000 bytes. Error code 12 (Cannot allocate memory)")
OOM_SAID = ("seqlab: error: out of memory: the run needs more memory than this machine has (one allocation of "
            "160000000000 bytes); reduce the sizes (--hidden, --embed, --layers, --batch-size, --num-steps, ...); "
            "checkpoints already written are kept\n")


def _stopping_as(rank: int, exc: BaseException, code: int, tmp_path, capsys, monkeypatch) -> str:
    """Rank `rank`'s stderr when its run stops on `exc` (raised where it would join the others)."""
    def stop(*args, **kwargs):
        raise exc
    monkeypatch.setattr(distributed, "join", stop)
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("LOCAL_RANK", str(rank))
    text = tmp_path / "tiny.txt"
    text.write_text(TEXT, encoding="utf-8")
    assert main(["train", "lm", "--data", str(text), "--level", "char", "--hidden", "8", "--epochs", "1",
                 "--num-steps", "5", "--batch-size", "4", "--out", str(tmp_path / f"run{rank}")]) == code
    return capsys.readouterr().err


def test_a_stop_by_a_signal_every_rank_has_is_said_by_rank_0_alone(agent_store, tmp_path, capsys, monkeypatch):
    def sigterm(epoch):
        return TrainingInterrupted(f"stopped by SIGTERM during epoch {epoch}", STOP, signal.SIGTERM)

    said = f"seqlab: stopped by SIGTERM during epoch 3; {STOP}\n"
    assert _stopping_as(0, sigterm(3), 143, tmp_path, capsys, monkeypatch) == said
    assert _stopping_as(1, sigterm(3), 143, tmp_path, capsys, monkeypatch) == ""  # (still 128 + SIGTERM)
    # ranks that stopped apart (another epoch): each says its own
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    assert _stopping_as(0, sigterm(3), 143, tmp_path, capsys, monkeypatch) == said
    assert _stopping_as(1, sigterm(4), 143, tmp_path, capsys, monkeypatch) == said.replace("epoch 3;", "epoch 4;")


def test_out_of_memory_on_every_rank_is_said_by_rank_0_alone(agent_store, tmp_path, capsys, monkeypatch):
    assert _stopping_as(0, OOM, 2, tmp_path, capsys, monkeypatch) == OOM_SAID
    assert _stopping_as(1, OOM, 2, tmp_path, capsys, monkeypatch) == ""
    # rank 0 did not run out of memory (it waits in the process group): rank 1 says it after the wait
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "1")
    assert _stopping_as(1, OOM, 2, tmp_path, capsys, monkeypatch) == OOM_SAID


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


@pytest.mark.slow
def test_under_torchrun_a_refusal_after_joining_is_said_once(tmp_path, capsys):
    # --resume-from best is refused after the ranks joined (every rank checks the run folder before rank 0
    # rewinds it): a second rewind would replace what the first set aside in metrics.jsonl.bak
    import shutil
    import subprocess
    import sys

    from ddp_harness import ROOT, env, free_port

    text, run = tmp_path / "tiny.txt", tmp_path / "run"
    text.write_text(TEXT, encoding="utf-8")

    def lm(epochs, *extra):
        return _long_lm(text, run, epochs, *extra)

    # a run whose best is epoch 1 and last epoch 2 (as when epoch 2 validated worse), and a backup an
    # earlier rewind left that differs from the log the next one would write
    assert main(lm(1)) == 0
    shutil.copy(run / "best.safetensors", tmp_path / "epoch1.safetensors")
    assert main(lm(2, "--resume")) == 0
    shutil.copy(tmp_path / "epoch1.safetensors", run / "best.safetensors")
    (run / "metrics.jsonl.bak").write_text('{"epoch": 1}\n', encoding="utf-8")
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    capsys.readouterr()
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                        f"--master_port={free_port()}", "-m", "seqlab", *lm(3, "--resume-from", "best")],
                       env=env(), capture_output=True, text=True, timeout=120, cwd=ROOT)
    said = (f"seqlab: error: --resume-from best would set aside the epochs after epoch 1 into metrics.jsonl.bak in "
            f"{str(run)!r}, which already holds what an earlier --resume-from best set aside: move it out of the "
            "folder first (or delete, if not needed), then run the command again")
    assert p.returncode != 0
    assert [line for line in p.stderr.splitlines() if line.startswith("seqlab:")] == [said], p.stderr[-3000:]
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files  # refused before rank 0 rewound


def _training_under_torchrun(tmp_path):
    """torchrun training 2 ranks for long, in a session of its own (as a terminal's foreground job), once
    epoch 1's checkpoint is there: (the torchrun process, its run folder, {rank: pid})."""
    import subprocess
    import sys
    import time

    from ddp_harness import ROOT, env, free_port

    text, run = tmp_path / "tiny.txt", tmp_path / "run"
    text.write_text(TEXT, encoding="utf-8")
    p = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                          f"--master_port={free_port()}", "-m", "seqlab", *_long_lm(text, run)],
                         env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                         start_new_session=True)
    try:
        t0 = time.time()
        while p.poll() is None and not (run / "last.safetensors").exists() and time.time() - t0 < 120:
            time.sleep(0.05)
        assert p.poll() is None, p.communicate()[1][-3000:]
        return p, run, _ranks(p.pid)
    except BaseException:
        _end(p)
        raise


def _long_lm(text, run, epochs=1000, *extra):
    return ["train", "lm", "--data", str(text), "--level", "char", "--hidden", "8", "--num-steps", "5",
            "--batch-size", "4", "--device", "cpu", "--no-progress", "--epochs", str(epochs), "--out", str(run),
            *extra]


def _ranks(pid: int) -> dict[int, int]:
    """The ranks torchrun `pid` started: {RANK: pid}."""
    ranks = _children(pid)
    assert sorted(ranks) == [0, 1], ranks
    return ranks


def _children(pid: int) -> dict[int, int]:
    """The ranks torchrun `pid` started that are still there: {RANK: pid} (Linux: /proc)."""
    from pathlib import Path

    ranks = {}
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                env = dict(v.split("=", 1) for v in (proc / "environ").read_text().split("\0") if "=" in v)
                ranks[int(env["RANK"])] = int(proc.name)
        except (OSError, KeyError, ValueError):  # (ended meanwhile)
            continue
    return ranks


def _end(p) -> str:
    """torchrun's stderr once it ended (killed with its ranks after 120 s)."""
    import os

    try:
        return p.communicate(timeout=120)[1]
    finally:
        if p.poll() is None:
            # torchrun starts each rank in a session of its own: killing torchrun's group alone would
            # leave them training (1000 epochs) on a machine other tests share
            for rank in _children(p.pid).values():
                try:
                    os.killpg(rank, signal.SIGKILL)
                except ProcessLookupError:  # (ended meanwhile)
                    pass
            os.killpg(p.pid, signal.SIGKILL)


def _stop_lines(err: str, run, name: str = "SIGTERM") -> tuple[list[str], list[str], int]:
    """The `seqlab:` lines said, the one line expected (a stop after epoch 1's checkpoint), its epoch."""
    import re

    lines = [line for line in err.splitlines() if line.startswith("seqlab:")]
    epoch = re.search(rf"seqlab: stopped by {name} during epoch (\d+);", err)
    assert epoch and int(epoch.group(1)) > 1, err[-3000:]  # (after epoch 1's checkpoint)
    e = int(epoch.group(1))
    return lines, [f"seqlab: stopped by {name} during epoch {e}; the checkpoint of epoch {e - 1} (last.safetensors) "
                   f"is kept in {run}: continue with the same command and --resume (epoch {e} restarts from its "
                   "beginning)"], e


@pytest.mark.slow
def test_under_torchrun_a_stop_by_sigterm_is_said_once(tmp_path):
    # `kill <torchrun>`: torchrun forwards SIGTERM to every rank, which all stop at the same step
    import os

    p, run, _ = _training_under_torchrun(tmp_path)
    os.kill(p.pid, signal.SIGTERM)
    lines, said, _ = _stop_lines(_end(p), run)
    assert lines == said


@pytest.mark.slow
def test_under_torchrun_ctrl_c_stops_every_rank_at_one_step_said_once(tmp_path):
    # a terminal's Ctrl-C: SIGINT to its foreground process group, torchrun's (each rank is in a session of
    # its own, started by torchrun), which passes it on to each rank's group in turn
    import os
    import subprocess
    import sys

    from ddp_harness import ROOT, env

    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.metrics import read_metrics

    p, run, _ = _training_under_torchrun(tmp_path)
    os.killpg(p.pid, signal.SIGINT)
    err = _end(p)
    lines, said, e = _stop_lines(err, run, "SIGINT")
    assert lines == said, err[-3000:]  # (and no `seqlab: interrupted`)
    assert load_checkpoint(run, "last").meta["epoch"] == e - 1
    # the command it says goes on from there (in one process: it resumes a run of any world size)
    done = subprocess.run([sys.executable, "-m", "seqlab", *_long_lm(tmp_path / "tiny.txt", run, e, "--resume")],
                          env=env(), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [r["epoch"] for r in read_metrics(run / "metrics.jsonl")] == list(range(1, e + 1))


@pytest.mark.slow
def test_under_torchrun_a_rank_whose_copy_of_the_signal_comes_late_stops_in_order(tmp_path):
    # torchrun's agent signals the ranks one after another (measured up to 55 ms apart on a busy machine):
    # a rank can leave the loop on the other's stop (the flag is reduced) before its own copy comes; here
    # rank 0's copy comes 0.3 s late. Each rank still names SIGINT (said once by rank 0), and the late copy
    # still finds the handlers: no rank ends by it (torchrun reports such a rank as `exitcode: -2`; its
    # line was already said, so the lines alone cannot tell). The late rank is rank 0 so that nothing but
    # its copy ends its wait: rank 1 runs until it reads rank 0's line (`said_by_main`), and torchrun,
    # which got no signal here, ends the ranks left with SIGTERM only once one has exited. Late on rank 1
    # instead, rank 0 may exit first and torchrun's SIGTERM end rank 1's wait before the copy comes.
    import os
    import re
    import time

    p, run, ranks = _training_under_torchrun(tmp_path)
    os.killpg(ranks[1], signal.SIGINT)
    time.sleep(0.3)
    os.killpg(ranks[0], signal.SIGINT)
    err = _end(p)
    lines, said, _ = _stop_lines(err, run, "SIGINT")
    assert lines == said, err[-3000:]
    assert not re.search(r"exitcode\s*:\s*-2\b", err), err[-3000:]
