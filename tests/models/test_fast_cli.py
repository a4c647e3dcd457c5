"""`seqlab train lm` with the fast paths (default) and with --no-fast: the same training run."""

import pytest

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics

TEXT = "the time traveller for so it will be convenient to speak of him\n" * 12


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_fast_and_no_fast_train_the_same_model(tmp_path, cell):
    text = tmp_path / "tiny.txt"
    text.write_text(TEXT)
    rows = {}
    for flag in ("--fast", "--no-fast"):
        out = tmp_path / flag
        argv = ["train", "lm", "--data", str(text), "--level", "char", "--cell", cell, "--impl", "scratch",
                "--hidden", "16", "--layers", "2", "--batch-size", "4", "--num-steps", "10", "--epochs", "2",
                "--lr", "0.01", "--optimizer", "adam", "--device", "cpu", "--seed", "0", "--out", str(out), flag]
        assert main(argv) == 0
        rows[flag] = read_metrics(out / "metrics.jsonl")
        assert load_checkpoint(out, "last").meta["config"]["model"]["fast"] is (flag == "--fast")
    for a, b in zip(rows["--fast"], rows["--no-fast"]):
        assert a["tokens_per_sec"] > 0 and b["tokens_per_sec"] > 0
        # float32, same seed and data: only rounding separates the two paths
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["valid_loss"] == pytest.approx(b["valid_loss"], rel=1e-4)
