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
LM_LOSS = ("seqlab.training.common", "lm_batch_loss")  # both LM loops: plain and the recipes' (AR/TAR, ...)
TARGETS = {"lm": LM_LOSS, "lm-recipe": LM_LOSS, "translate": ("seqlab.training.translate", "batch_token_loss"),
           "forecast": ("seqlab.training.forecast", "_loss_sum"), "classify": ("seqlab.training.classify", "loss_sums")}


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
            if calls[0] in bad_calls:  # lm_batch_loss gives (loss, state)
                return (value[0] * float("nan"), value[1]) if isinstance(value, tuple) else value * float("nan")
        return value

    monkeypatch.setattr(owner, name, poisoned)


def _args(task, fx, out, epochs):
    # lm-recipe: the same run through the recipes' loop (lm_regularized), AR/TAR and variable BPTT on
    args = kr.argv("lm" if task == "lm-recipe" else task, fx, out)
    if task == "lm-recipe":
        args[args.index("--sampling") + 1] = "sequential"  # variable BPTT reads the stream in order
        args += ["--ar-alpha", "1", "--tar-beta", "1", "--variable-bptt"]
    args[args.index("--epochs") + 1] = str(epochs)
    return args


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return kr.make_fixtures(tmp_path_factory.mktemp("fx"))


@pytest.mark.parametrize("task", ["lm", "lm-recipe"] + [pytest.param(t, marks=pytest.mark.slow) for t in kr.TASKS[1:]])
def test_nan_stops_naming_the_step_and_keeps_the_last_good_checkpoint(task, fx, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(_args(task, fx, out, 1)) == 0
    before = (out / "last.safetensors").read_bytes()
    capsys.readouterr()
    _poison(monkeypatch, task, {3})
    assert main(_args(task, fx, out, 2) + ["--resume"]) == 2
    err = capsys.readouterr().err
    assert "epoch 2 step 3; the checkpoint of epoch 1 (last.safetensors) is kept: continue from it with the same " \
           "command plus --resume (not --overwrite) and a lower --lr" in err and "--skip-nonfinite" in err
    assert "Traceback" not in err
    assert (out / "last.safetensors").read_bytes() == before
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1]


@pytest.mark.parametrize("task", ["lm", "lm-recipe"] + [pytest.param(t, marks=pytest.mark.slow) for t in kr.TASKS[1:]])
def test_skip_nonfinite_skips_and_trains_on(task, fx, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    _poison(monkeypatch, task, {2, 3})
    assert main(_args(task, fx, out, 2) + ["--skip-nonfinite"]) == 0
    rows = read_metrics(out / "metrics.jsonl")
    assert [r.get("skipped_steps") for r in rows] == [2, None]
    ckpt = load_checkpoint(out, "last")
    assert ckpt.meta["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt.model.values() if v.is_floating_point())


@pytest.mark.parametrize("task", ["lm", "lm-recipe"] + [pytest.param(t, marks=pytest.mark.slow) for t in kr.TASKS[1:]])
def test_after_a_nan_stop_resume_with_a_lower_lr_goes_on(task, fx, tmp_path, monkeypatch, capsys):
    # what the stop's message says to do works: the same command, --resume and a lower --lr
    # trains on from the last good checkpoint, at the run's schedule scaled by the new rate
    ref, out = tmp_path / "ref", tmp_path / "run"
    assert main(_args(task, fx, ref, 2)) == 0
    assert main(_args(task, fx, out, 1)) == 0
    lr = load_checkpoint(out, "last").meta["config"]["train"]["lr"]
    with monkeypatch.context() as m:
        _poison(m, task, {3})
        assert main(_args(task, fx, out, 2) + ["--resume"]) == 2
    capsys.readouterr()
    assert main(_args(task, fx, out, 2) + ["--resume", "--lr", str(lr / 4)]) == 0  # what the message says
    captured = capsys.readouterr()
    assert f"--lr {lr / 4:g} instead of the run's {lr:g}" in captured.out + captured.err
    rows, ref_rows = read_metrics(out / "metrics.jsonl"), read_metrics(ref / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2]
    def untimed(row):
        return {k: v for k, v in row.items() if not (k.endswith("_s") or k.endswith("per_sec"))}

    assert untimed(rows[0]) == untimed(ref_rows[0])  # epoch 1 is the run's own
    assert rows[1]["lr"] == pytest.approx(ref_rows[1]["lr"] / 4, rel=1e-9)
    assert rows[1]["train_loss"] != ref_rows[1]["train_loss"]  # it did train at the lower rate
    saved = load_checkpoint(out, "last")
    assert saved.meta["epoch"] == 2 and saved.meta["config"]["train"]["lr"] == lr / 4  # a later --resume: this lr


def test_a_nan_stop_after_resume_from_best_says_to_resume_from_last(fx, tmp_path, monkeypatch, capsys):
    # "the same command plus --resume" would keep --resume-from best, going back to best's epoch again
    out = tmp_path / "run"
    assert main(_args("lm", fx, out, 2)) == 0
    _poison(monkeypatch, "lm", {3})
    assert main(_args("lm", fx, out, 4) + ["--resume-from", "best"]) == 2
    err = capsys.readouterr().err
    assert "plus --resume (not --overwrite)" in err
    assert "use --resume in place of --resume-from best" in err and "Traceback" not in err


def test_a_nan_stop_after_a_config_files_resume_from_best_says_how_to_resume_from_last(fx, tmp_path, monkeypatch,
                                                                                       capsys):
    out, config = tmp_path / "run", tmp_path / "c.toml"
    config.write_text('[run]\nresume_from = "best"\n', encoding="utf-8")
    assert main(_args("lm", fx, out, 2)) == 0
    _poison(monkeypatch, "lm", {3})
    assert main(_args("lm", fx, out, 4) + ["--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert 'set resume_from = "last" in the config file (or give --resume-from last)' in err
    assert "Traceback" not in err
