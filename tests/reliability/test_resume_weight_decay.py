"""--weight-decay left out means the optimiser's default (adamw 0.01, as torch.optim.AdamW; the others 0).
A run saved with a number (every run from before that, which held 0.0) resumes without the flag, at its
own decay: unset and the same effective decay are one setting, another decay is still refused."""

import pytest

from seqlab.cli import main
from seqlab.config import replace
from seqlab.errors import SeqlabError
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.lm import LMConfig, fit_lm
from cli_errors import expect_bad_input

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU

TEXT = "the time traveller for so it will be convenient to speak of him\n" * 10


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def _lm(text, out, optimizer, epochs, *extra):
    return ["train", "lm", "--data", str(text), "--level", "char", "--cell", "gru", "--impl", "fused", "--hidden", "8",
            "--batch-size", "4", "--num-steps", "8", "--lr", "0.01", "--optimizer", optimizer, "--epochs", str(epochs),
            "--device", "cpu", "--no-progress", "--out", str(out), *extra]


def _decay(out):
    ckpt = load_checkpoint(out, "last")
    return ckpt.meta["config"]["train"]["weight_decay"], [g["weight_decay"] for g in ckpt.optimizer["param_groups"]]


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_a_run_saved_with_weight_decay_0_resumes_without_the_flag_at_its_own(text, tmp_path, optimizer):
    out = tmp_path / "run"
    assert main(_lm(text, out, optimizer, 1, "--weight-decay", "0")) == 0  # as every run saved before 'none'
    assert main(_lm(text, out, optimizer, 2, "--resume")) == 0  # refused before: "0.0; now weight_decay none"
    assert _decay(out) == (0.0, [0.0])  # its own, not adamw's default 0.01
    assert load_checkpoint(out, "last").meta["epoch"] == 2


def test_the_default_decay_given_as_a_number_is_the_same_setting_and_another_is_refused(text, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_lm(text, out, "adamw", 1)) == 0
    assert _decay(out) == (None, [0.01])  # left out: torch's AdamW default
    assert main(_lm(text, out, "adamw", 2, "--resume", "--weight-decay", "0.01")) == 0
    expect_bad_input(_lm(text, out, "adamw", 3, "--resume", "--weight-decay", "0.1"), "weight_decay 0.01; now "
                     "weight_decay 0.1", capsys)


def test_from_python_unset_is_the_optimisers_default_checked_against_the_run(text, tmp_path):
    # no flag to leave out in Python: None asks for the default, which an adamw run at 0.0 does not have
    runs = {}
    for optimizer in ("adam", "adamw"):
        out = tmp_path / optimizer
        assert main(_lm(text, out, optimizer, 1, "--weight-decay", "0")) == 0
        runs[optimizer] = out
    cfg = LMConfig()
    cfg = replace(cfg, data=str(text), level="char", cell="gru", impl="fused", hidden=8, batch_size=4, num_steps=8,
                  lr=0.01, epochs=2, device="cpu", resume=True)
    fit_lm(replace(cfg, optimizer="adam", out=str(runs["adam"])), log=lambda *a: None, show_progress=False)
    assert load_checkpoint(runs["adam"], "last").meta["epoch"] == 2
    with pytest.raises(SeqlabError, match=r"weight_decay 0\.0; now weight_decay 0\.01"):
        fit_lm(replace(cfg, optimizer="adamw", out=str(runs["adamw"])), log=lambda *a: None, show_progress=False)


def test_a_config_file_that_sets_another_decay_is_refused_not_kept_over(text, tmp_path, capsys):
    # the run's decay fills in only what neither a flag nor the file sets: a file asking for 0.01 on a
    # run at 0.0 is another run, refused as any changed setting (lr and clip are kept over it, and said)
    out = tmp_path / "run"
    assert main(_lm(text, out, "adamw", 1, "--weight-decay", "0")) == 0
    config = tmp_path / "c.toml"
    config.write_text("[train]\nweight_decay = 0.01\n", encoding="utf-8")
    expect_bad_input(_lm(text, out, "adamw", 2, "--resume", "--config", str(config)),
                     "was trained with weight_decay 0.0; now weight_decay 0.01", capsys)
    config.write_text("[train]\nweight_decay = 0.0\n", encoding="utf-8")
    assert main(_lm(text, out, "adamw", 2, "--resume", "--config", str(config))) == 0
    assert _decay(out) == (0.0, [0.0])
