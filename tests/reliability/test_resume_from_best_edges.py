"""--resume-from best (SPEC §6) in the folders a run leaves behind when something went wrong: a
rewind where the log stops at best's epoch (a kill between an epoch's checkpoint and its log row), a
folder with best alone, one with last alone, one whose run a killed --overwrite moved aside, and a
run whose rate changed after best's epoch. Each is checked against what a user could work out by
hand or against a twin run that went the plain --resume way."""

import json
import shutil

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.training.checkpoint import load_checkpoint, save_checkpoint
from seqlab.training.checkpoint_resume import resume_checkpoint, rewind_to_best
from seqlab.training.run_folder import ASIDE
from run_review import make_inputs
from run_review import argv as review_argv
from run_review import run as _ok  # (exit 0 asserted, its output returned)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("fx"))


def _weights(out, which="last"):
    ckpt = load_checkpoint(out, which)
    return ckpt.model, ckpt.meta


def _same_run(a, b):
    (wa, ma), (wb, mb) = _weights(a), _weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert (ma["epoch"], ma["rng"], ma["config"]["train"]) == (mb["epoch"], mb["rng"], mb["config"]["train"])


def _checkpoint(path, epoch):
    """A small checkpoint of `epoch` (what a rewind reads of it: its header's epoch, its bytes)."""
    w = torch.nn.Parameter(torch.full((2,), float(epoch)))
    opt = torch.optim.SGD([w], lr=0.1)
    save_checkpoint(path, model={"w": w.detach()}, meta={"task": "lm", "epoch": epoch}, optimizer=opt)


def _log(out, epochs):
    (out / "metrics.jsonl").write_text("".join(json.dumps({"epoch": e, "valid_loss": 1.0 / e}) + "\n"
                                               for e in epochs))


def test_a_last_past_best_is_set_aside_even_where_the_log_stops_at_best(tmp_path, capsys):
    # best of epoch 2, last of epoch 3 whose log row was never written (killed between the two): the
    # log has nothing to set aside, but last does, and last must become best's epoch for a plain
    # --resume to go on from it
    _checkpoint(tmp_path / "best.safetensors", 2)
    _checkpoint(tmp_path / "last.safetensors", 3)
    _log(tmp_path, [1, 2])
    best, last = (tmp_path / "best.safetensors").read_bytes(), (tmp_path / "last.safetensors").read_bytes()
    rewind_to_best(tmp_path)
    assert (tmp_path / "last.safetensors.bak").read_bytes() == last
    assert (tmp_path / "last.safetensors").read_bytes() == best
    assert not (tmp_path / "metrics.jsonl.bak").exists()  # best's own row is not "after best"
    err = capsys.readouterr().err
    assert "last.safetensors (epoch 3, moved to last.safetensors.bak)" in err and "metrics.jsonl's rows" not in err


def test_one_epoch_after_best_is_named_as_one(tmp_path, capsys):
    _checkpoint(tmp_path / "best.safetensors", 2)
    _checkpoint(tmp_path / "last.safetensors", 3)
    _log(tmp_path, [1, 2, 3])
    rewind_to_best(tmp_path)
    assert "metrics.jsonl's rows of epochs 3 (the whole file" in capsys.readouterr().err  # not "3-3"


def test_resume_from_best_of_a_folder_without_best_names_the_plain_resume(tmp_path):
    _checkpoint(tmp_path / "last.safetensors", 3)
    with pytest.raises(SeqlabError, match=r"--resume-from best: .* has no best\.safetensors: continue from "
                                          r"last\.safetensors with --resume, or train again with --overwrite"):
        resume_checkpoint(tmp_path, "lm", "best")


def test_best_alone_goes_on_with_resume_from_best_as_a_plain_resume_would(fx, tmp_path, capsys):
    # what the refusal of a plain --resume says to do (run_folder_safety): a run killed between its
    # epoch's two writes has best alone; going on from it is a plain --resume from that epoch
    run, twin = tmp_path / "run", tmp_path / "twin"
    _ok(review_argv("lm", fx, run, "--epochs", "1", "--optimizer", "adam"), capsys)
    shutil.copytree(run, twin)
    (run / "last.safetensors").unlink()
    err = _ok(review_argv("lm", fx, run, "--epochs", "2", "--optimizer", "adam", "--resume-from", "best"), capsys).err
    _ok(review_argv("lm", fx, twin, "--epochs", "2", "--optimizer", "adam", "--resume"), capsys)
    _same_run(run, twin)
    assert "warning" not in err and not (run / "last.safetensors.bak").exists()


def test_resume_from_best_keeps_the_rate_best_was_trained_at(fx, tmp_path, capsys):
    # a run resumed at --lr 0.1 after its best epoch (trained at 0.3): going on from best without --lr
    # is going on at best's 0.3, as the run stopped at best's epoch and resumed would
    run, twin = tmp_path / "run", tmp_path / "twin"
    _ok(review_argv("lm", fx, run, "--epochs", "1", "--lr", "0.3"), capsys)
    shutil.copytree(run, twin)
    best = (run / "best.safetensors").read_bytes()
    _ok(review_argv("lm", fx, run, "--epochs", "2", "--resume", "--lr", "0.1"), capsys)
    (run / "best.safetensors").write_bytes(best)  # epoch 2 was worse (as the second run could have been)
    _ok(review_argv("lm", fx, run, "--epochs", "2", "--resume-from", "best"), capsys)
    _ok(review_argv("lm", fx, twin, "--epochs", "2", "--resume"), capsys)
    _same_run(run, twin)
    assert _weights(run)[1]["config"]["train"]["lr"] == 0.3


def test_resume_from_best_after_a_killed_overwrite_keeps_the_runs_rate_and_decay(fx, tmp_path, capsys):
    # an --overwrite killed before its first checkpoint leaves the run aside (run_folder.ASIDE) until
    # the next command puts it back; the settings a resume keeps were read from the folder before that,
    # where best was missing: the resume went on at the default rate, and an adamw run at decay 0 was
    # refused ("weight_decay 0.0; now weight_decay 0.01"). Best's settings, not last's: last went on at
    # --lr 0.1 after best's epoch
    run = tmp_path / "run"
    adamw = ("--optimizer", "adamw", "--weight-decay", "0")
    _ok(review_argv("lm", fx, run, "--epochs", "1", *adamw, "--lr", "0.3"), capsys)
    best = (run / "best.safetensors").read_bytes()
    _ok(review_argv("lm", fx, run, "--epochs", "2", *adamw, "--resume", "--lr", "0.1"), capsys)
    (run / "best.safetensors").write_bytes(best)  # epoch 2 was worse
    (run / ASIDE).mkdir()
    for path in list(run.iterdir()):
        if path.name != ASIDE:
            path.rename(run / ASIDE / path.name)
    (run / ASIDE / "MOVED").write_text("last.safetensors, epoch 2")
    _ok(review_argv("lm", fx, run, "--epochs", "2", "--optimizer", "adamw", "--resume-from", "best"), capsys)
    ckpt = load_checkpoint(run, "last")
    assert ckpt.meta["epoch"] == 2 and not (run / ASIDE).exists()
    train = ckpt.meta["config"]["train"]
    assert (train["lr"], train["weight_decay"]) == (0.3, 0.0)
    assert [g["weight_decay"] for g in ckpt.optimizer["param_groups"]] == [0.0]


def _forecast(out, *extra):
    # at this rate the run's valid MSE goes up and down: best is before its last epoch (asserted)
    return ["train", "forecast", "--hidden", "4", "--lr", "0.1", "--seed", "0", "--out", str(out), *extra]


def test_forecast_goes_on_from_best_as_a_run_stopped_at_best_and_resumed(tmp_path, capsys):
    from cli_errors import expect_bad_input

    run, twin = tmp_path / "run", tmp_path / "twin"
    _ok(_forecast(run, "--epochs", "6"), capsys)
    k = load_checkpoint(run, "best").meta["epoch"]
    assert 1 < k < 6, f"best at {k} of 6"
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    # a plain --resume with nothing to train is a note, as ever (the refusal below is --resume-from best's)
    assert "has trained 6 epochs and --epochs is 6: nothing to train" in _ok(_forecast(run, "--epochs", "6",
                                                                                       "--resume"), capsys).out
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files
    expect_bad_input(_forecast(run, "--epochs", str(k), "--resume-from", "best"),
                     f"--resume-from best goes on after best's epoch {k} and --epochs is {k}: nothing would train",
                     capsys)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files  # nothing set aside
    _ok(_forecast(run, "--epochs", "7", "--resume-from", "best", "--lr", "0.05"), capsys)
    _ok(_forecast(twin, "--epochs", str(k)), capsys)
    _ok(_forecast(twin, "--epochs", "7", "--resume", "--lr", "0.05"), capsys)
    _same_run(run, twin)
    assert (run / "metrics.jsonl.bak").read_bytes() == files["metrics.jsonl"]
    assert (run / "last.safetensors.bak").read_bytes() == files["last.safetensors"]

