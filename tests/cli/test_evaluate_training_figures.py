"""`seqlab evaluate` prints the checkpoint epoch's training figures beside the held-out ones."""

import json
import shutil

import pytest

from seqlab.cli import main
from seqlab.training.metrics import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


def test_evaluate_gives_the_training_figures_of_the_checkpoints_epoch(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 40, encoding="utf-8")
    out = tmp_path / "run"
    assert main(["train", "lm", "--data", str(text), "--hidden", "8", "--embed", "4", "--batch-size", "4",
                 "--num-steps", "8", "--epochs", "3", "--lr", "0.01", "--optimizer", "adam", "--out", str(out)]) == 0
    rows = {r["epoch"]: r for r in read_metrics(out / "metrics.jsonl")}
    for which in ("best", "last"):
        capsys.readouterr()
        assert main(["evaluate", "--checkpoint", str(out), "--which", which]) == 0
        ev = json.loads(capsys.readouterr().out)
        row = rows[ev["epoch"]]
        assert (ev["train_loss"], ev["train_ppl"]) == (row["train_loss"], row["train_ppl"])
    # a checkpoint copied out of its run folder: the figures its own record holds
    alone = tmp_path / "alone.safetensors"
    shutil.copy(out / "last.safetensors", alone)
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(alone)]) == 0
    assert json.loads(capsys.readouterr().out)["train_ppl"] == rows[3]["train_ppl"]


def test_a_checkpoint_in_another_runs_folder_gets_none_of_that_runs_figures(tmp_path):
    # a checkpoint without its own record (translate, forecast, classify) took the metrics.jsonl line of
    # its epoch beside it: copied into another run's folder, it printed that run's training figures
    from types import SimpleNamespace

    from seqlab.cli import training_figures

    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "metrics.jsonl").write_text(json.dumps({"epoch": 2, "train_loss": 1.5, "valid_loss": 2.5}) + "\n")
    own = SimpleNamespace(path=folder / "last.safetensors", meta={"epoch": 2, "valid_loss": 2.5})
    assert training_figures(own) == {"train_loss": 1.5}
    stranger = SimpleNamespace(path=folder / "a.safetensors", meta={"epoch": 2, "valid_loss": 3.25})
    assert training_figures(stranger) == {}
    recorded = SimpleNamespace(path=folder / "a.safetensors", meta={"epoch": 2, "metrics": {"train_ppl": 9.0}})
    assert training_figures(recorded) == {"train_ppl": 9.0}  # its own record first
