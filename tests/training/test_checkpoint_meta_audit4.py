"""checkpoint_meta, mutation audit 4 (the gaps audit 3 left): run_settings, the settings --resume
keeps, reads the checkpoint asked for from a run an --overwrite set aside, only the names asked for,
and nothing from a config that is not a table."""

import torch

from seqlab.training.checkpoint import save_checkpoint
from seqlab.training.checkpoint_meta import run_settings
from seqlab.training.run_folder import ASIDE


def _checkpoint(path, config):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model={"w": torch.zeros(2)}, meta={"task": "lm", "epoch": 1, "config": config})


def test_a_run_set_aside_by_an_overwrite_gives_the_checkpoint_asked_for(tmp_path):
    # an --overwrite killed before its first checkpoint: last and best are in the aside folder; each
    # holds its own config (best's epoch may have run at another --lr than last's)
    _checkpoint(tmp_path / ASIDE / "last.safetensors", {"train": {"lr": 0.5, "clip": 1.0}})
    _checkpoint(tmp_path / ASIDE / "best.safetensors", {"train": {"lr": 2.0, "clip": 0.25}})
    assert run_settings(tmp_path, ("lr", "clip"), "best") == {"lr": 2.0, "clip": 0.25}
    assert run_settings(tmp_path, ("lr", "clip")) == {"lr": 0.5, "clip": 1.0}


def test_only_the_names_asked_for_come_back_and_only_numbers_and_booleans(tmp_path):
    _checkpoint(tmp_path / "last.safetensors",
                {"data": {"dataset": "ptb", "min_freq": 2},
                 "train": {"lr": 0.1, "epochs": 40, "skip_nonfinite": True, "optimizer": "sgd", "weight_decay": None}})
    assert run_settings(tmp_path, ("lr", "skip_nonfinite")) == {"lr": 0.1, "skip_nonfinite": True}
    assert run_settings(tmp_path, ("lr", "optimizer", "weight_decay")) == {"lr": 0.1}
    assert run_settings(tmp_path, ()) == {}


def test_a_config_that_is_not_a_table_gives_nothing(tmp_path):
    for config in ([["lr", 0.1]], "lr = 0.1", 3):
        _checkpoint(tmp_path / "last.safetensors", config)
        assert run_settings(tmp_path, ("lr",)) == {}
