"""A `~` at the start of a path is the user's home folder, in every path option and config key: a
POSIX shell expands `--out ~/run`, but not a quoted "~/run", `--out=~/run`, a TOML file's value,
nor Windows' cmd and PowerShell."""

import argparse

import pytest

from seqlab.cli import build_parser, main
from seqlab.cli.translate import TranslateConfig
from seqlab.config import build_config, flat_dict, leaves, validated
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.classify import ClassifyConfig
from seqlab.training.forecast import ForecastConfig
from seqlab.training.lm import DataConfig, LMConfig

TINY = ["--embed", "4", "--hidden", "8", "--batch-size", "4", "--num-steps", "5", "--epochs", "1", "--device", "cpu"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder in tmp_path (HOME, and USERPROFILE, which Windows' expanduser reads), holding a
    small text, and a working folder elsewhere."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "t.txt").write_text("the time traveller for so it will be convenient to speak of him\n" * 12)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return home


def test_out_with_a_tilde_is_under_the_home_folder(home, tmp_path):
    assert main(["train", "lm", "--data", str(home / "t.txt"), "--out", "~/x", *TINY]) == 0
    assert (home / "x" / "best.safetensors").is_file()
    assert not (tmp_path / "cwd" / "~").exists()  # not ./~/x


def test_data_with_a_tilde_is_read_and_recorded_expanded(home, tmp_path):
    assert main(["train", "lm", "--data=~/t.txt", "--out", str(home / "y"), *TINY]) == 0
    meta = load_checkpoint(home / "y").meta
    assert meta["config"]["data"]["data"] == str(home / "t.txt")  # the run records where its data is
    assert meta["data_file"]["path"] == str((home / "t.txt").resolve())


def test_a_config_files_paths_and_the_config_itself_may_start_with_a_tilde(home, tmp_path):
    (home / "c.toml").write_text('data = "~/t.txt"\n[run]\nout = "~/runs/c"\n')
    assert main(["train", "lm", "--config", "~/c.toml", *TINY]) == 0
    meta = load_checkpoint(home / "runs" / "c").meta
    assert meta["config"]["data"]["data"] == str(home / "t.txt")
    assert meta["config"]["run"]["out"] == str(home / "runs" / "c")
    assert not (tmp_path / "cwd" / "~").exists()


def test_the_commands_path_options_take_a_tilde(home, capsys):
    assert main(["train", "lm", "--data", str(home / "t.txt"), "--out", str(home / "run"), *TINY]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", "~/run", "--data", "~/t.txt"]) == 0
    assert f'"data": "{home / "t.txt"}"' in capsys.readouterr().out
    assert main(["generate", "--checkpoint", "~/run", "--prefix", "the", "--num-tokens", "3"]) == 0
    assert main(["stats", "--data", "~/t.txt", "--plot", "~/p.png"]) == 0
    assert (home / "p.png").is_file()


def _path_options(parser: argparse.ArgumentParser, where: str = "seqlab"):
    """Each option naming a file or folder, but a training command's config keys (built by build_config)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _path_options(sub, f"{where} {name}")
        elif action.metavar in ("FILE", "DIR", "FILE.csv", "FILE.png"):
            yield f"{where} {action.option_strings[0]}", action


def test_every_path_option_expands_a_tilde():
    from seqlab.config import user_path

    options = dict(_path_options(build_parser()))
    assert {"seqlab evaluate --checkpoint", "seqlab evaluate --data", "seqlab train lm --config", "seqlab stats --plot",
            "seqlab classify --images", "seqlab classify --labels", "seqlab classify --file", "seqlab translate --file",
            "seqlab forecast --data", "seqlab forecast --plot", "seqlab generate --checkpoint"} <= set(options)
    for name, action in options.items():
        assert action.type is user_path, name


@pytest.mark.parametrize("cls", [LMConfig, ClassifyConfig, ForecastConfig, TranslateConfig])
def test_every_path_config_key_expands_a_tilde(cls, home):
    table = leaves(cls)
    keys = [k for k in ("out", "data", "data_dir") if k in table]
    cfg = flat_dict(build_config(cls, {k: "~/x" for k in keys}))
    assert keys and all(cfg[k] == str(home / "x") for k in keys)


def test_configs_built_in_python_expand_their_paths(home):
    from seqlab.config import user_path

    cfg = validated(LMConfig(data=DataConfig(data="~/t.txt")))
    assert cfg.data.data == str(home / "t.txt") and cfg.run.out == "runs/latest"
    assert build_config(ClassifyConfig, {"data_dir": "~/mnist"}).data.data_dir == str(home / "mnist")
    assert build_config(ForecastConfig, {"data": "~/s.csv"}).series.data == str(home / "s.csv")
    assert user_path("a/~b") == "a/~b" and user_path("-") == "-"  # only a leading ~; standard input stays
    assert build_config(LMConfig, {"dataset": "~x", "device": "~"}).data.dataset == "~x"  # not a path: as given


def test_the_library_readers_and_writers_take_a_tilde_as_the_cli_does(home, tmp_path):
    """load_checkpoint("~/run"), read_text("~/t.txt"), a CSV, an idx file, a vocabulary and a TOML
    file named from the home folder, as pandas' readers and the CLI's options take them."""
    import numpy as np
    import torch

    from seqlab.config import load_toml
    from seqlab.data.mnist import read_idx
    from seqlab.data.text import read_text
    from seqlab.data.timeseries import load_csv_column
    from seqlab.data.vocab import Vocab
    from seqlab.training.checkpoint import save_checkpoint

    saved = save_checkpoint("~/run/best.safetensors", model={"w": torch.arange(3.0)}, meta={"task": "x"})
    assert saved == home / "run" / "best.safetensors" and saved.is_file()
    assert torch.equal(load_checkpoint("~/run").model["w"], torch.arange(3.0))
    assert read_text("~/t.txt").startswith("the time traveller")
    (home / "s.csv").write_text("value\n1.5\n2.5\n")
    assert load_csv_column("~/s.csv", "value").tolist() == [1.5, 2.5]
    (home / "l.idx1").write_bytes(b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + np.array([7, 1, 9], np.uint8).tobytes())
    assert read_idx("~/l.idx1", "labels").tolist() == [7, 1, 9]
    Vocab(["a", "b", "a"]).save("~/v.json")
    assert Vocab.load("~/v.json").idx_to_token == Vocab(["a", "b", "a"]).idx_to_token
    (home / "c.toml").write_text("[train]\nepochs = 3\n")
    assert load_toml("~/c.toml") == {"train": {"epochs": 3}}
    assert not (tmp_path / "cwd" / "~").exists()  # nothing written under a folder named ~
