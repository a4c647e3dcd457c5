"""A non-finite loss stops every trainer naming the step, before anything is saved (the last
good checkpoint stays as it was); --skip-nonfinite skips such steps and trains on."""

import importlib

import pytest
import torch

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics

import kill_resume as kr


# where each trainer computes its training loss
TARGETS = {"lm": ("seqlab.training.lm", "_loss_sum"), "translate": ("seqlab.training.translate", "masked_ce"),
           "forecast": ("seqlab.training.forecast", "_loss_sum"), "classify": ("seqlab.training.classify", "_loss_sum")}


def _poison(monkeypatch, task, bad_calls):
    """Make the training loss NaN on the given (1-based) calls made with gradients on."""
    owner, name = TARGETS[task]
    owner = importlib.import_module(owner)
    real = getattr(owner, name)
    calls = [0]

    def poisoned(*args, **kwargs):
        value = real(*args, **kwargs)
        if torch.is_grad_enabled():
            calls[0] += 1
            if calls[0] in bad_calls:
                return value * float("nan")
        return value

    monkeypatch.setattr(owner, name, poisoned)


def _args(task, fx, out, epochs):
    args = kr.argv(task, fx, out)
    args[args.index("--epochs") + 1] = str(epochs)
    return args


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return kr.make_fixtures(tmp_path_factory.mktemp("fx"))


@pytest.mark.parametrize("task", ["lm"] + [pytest.param(t, marks=pytest.mark.slow) for t in kr.TASKS[1:]])
def test_nan_stops_naming_the_step_and_keeps_the_last_good_checkpoint(task, fx, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(_args(task, fx, out, 1)) == 0
    before = (out / "last.safetensors").read_bytes()
    capsys.readouterr()
    _poison(monkeypatch, task, {3})
    assert main(_args(task, fx, out, 2) + ["--resume"]) == 2
    err = capsys.readouterr().err
    assert "epoch 2 step 3" in err and "last good checkpoint is kept" in err and "--skip-nonfinite" in err
    assert "Traceback" not in err
    assert (out / "last.safetensors").read_bytes() == before
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1]


@pytest.mark.parametrize("task", ["lm"] + [pytest.param(t, marks=pytest.mark.slow) for t in kr.TASKS[1:]])
def test_skip_nonfinite_skips_and_trains_on(task, fx, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    _poison(monkeypatch, task, {2, 3})
    assert main(_args(task, fx, out, 2) + ["--skip-nonfinite"]) == 0
    rows = read_metrics(out / "metrics.jsonl")
    assert [r.get("skipped_steps") for r in rows] == [2, None]
    ckpt = load_checkpoint(out, "last")
    assert ckpt.meta["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt.model.values() if v.is_floating_point())
