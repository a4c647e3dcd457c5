"""--resume-from best (SPEC §6) in the folders a run leaves behind when something went wrong: a
rewind where the log stops at best's epoch (a kill between an epoch's checkpoint and its log row), a
folder with best alone, one with last alone, one whose run a killed --overwrite moved aside, and a
run whose rate changed after best's epoch. Each is checked against what a user could work out by
hand or against a twin run that went the plain --resume way."""

import pytest

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.run_folder import ASIDE
from run_review import make_inputs
from run_review import argv as review_argv

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("fx"))


def _ok(argv, capsys):
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    return captured


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

