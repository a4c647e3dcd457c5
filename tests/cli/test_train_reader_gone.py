"""A training run outlives stdout's reader (`seqlab train lm ... | head -1`): its lines on stdout are a
view of the work, which goes on to the end, checkpoints and metrics.jsonl written, with one note on
stderr (review r-owndata, finding 1: it stopped at epoch 1's line, exit 0, with no checkpoint)."""

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

from seqlab import fileio
from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics

ROOT = Path(__file__).resolve().parents[2]
EPOCHS = 3


def _argv(text, out):
    return ["train", "lm", "--data", str(text), "--hidden", "8", "--batch-size", "4", "--num-steps", "10",
            "--epochs", str(EPOCHS), "--device", "cpu", "--out", str(out)]


def _whole_run(out):
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == list(range(1, EPOCHS + 1))
    assert load_checkpoint(out, "last").meta["epoch"] == EPOCHS
    assert (out / "best.safetensors").is_file()


def test_a_pipe_closed_after_the_first_line(text, tmp_path):
    out = tmp_path / "run"
    # unbuffered: each line reaches the pipe as it is printed, as on a terminal or with `python -u`
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    proc = subprocess.Popen([sys.executable, "-m", "seqlab", *_argv(text, out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    err = proc.stderr.read().decode("utf-8", "replace")
    assert proc.wait(timeout=300) == 0, err
    assert first.startswith(b"lm: ")
    _whole_run(out)
    assert err.strip() == (f"seqlab: note: stdout's reader went away: the rest of the log is not printed; it is "
                           f"in {out / 'metrics.jsonl'}"), err


class _Gone(io.TextIOWrapper):
    """A stream whose reader went away (without a file descriptor, which the CLI cannot point at os.devnull)."""

    def write(self, s=None):
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    flush = write

    def close(self):  # (at garbage collection: not the test's business)
        pass


def test_stdout_and_stderr_both_gone_is_silent_and_the_run_still_ends(text, tmp_path, monkeypatch, one_thread):
    # `seqlab train lm ... 2>&1 | head -1`: the note has nowhere to go either
    monkeypatch.setattr(fileio, "WINDOWS", False)
    out_stream, err_stream = _Gone(io.BytesIO(), encoding="utf-8"), _Gone(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out_stream)
    monkeypatch.setattr(sys, "stderr", err_stream)
    assert main(_argv(text, tmp_path / "run")) == 0
    assert (sys.stdout, sys.stderr) == (out_stream, err_stream)  # given back
    _whole_run(tmp_path / "run")



def test_no_stdout_and_no_stderr_at_all(text, tmp_path, monkeypatch, one_thread):
    # `seqlab train lm ... >&- 2>&-`, pythonw: Python's sys.stdout and sys.stderr are None, where print() is a
    # no-op; the run is the same as with them (review r-diff, finding 1: it failed as a bug at the first line)
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    assert main(_argv(text, tmp_path / "run")) == 0
    assert (sys.stdout, sys.stderr) == (None, None)  # given back
    _whole_run(tmp_path / "run")
