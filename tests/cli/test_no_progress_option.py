"""--no-progress is one option of every `seqlab train` command (only classify had it: `train lm
--no-progress` was "unrecognized argument", though lm and translate draw a bar on a terminal). With
it no bar is drawn even on a terminal; without it the bar is drawn there; forecast draws none either
way, and says so in --help."""

import argparse
import re
import sys

import pytest

from seqlab.cli import build_parser, main

pytestmark = pytest.mark.usefixtures("one_thread")

BAR = re.compile(r"epoch 1/1: +\d+%\|")  # tqdm's "epoch 1/1:  50%|#####     | 1/2 [...]"


def _train(task, data, out, *extra):
    task, *recipe = task.split()  # "lm --schedule cosine": the regularized epoch's own bar
    base = {"lm": ["--data", str(data / "tiny.txt"), "--level", "char", "--hidden", "8", "--batch-size", "2",
                   "--num-steps", "5", "--device", "cpu"],
            "translate": ["--data", str(data / "pairs.txt"), "--num-steps", "6", "--embed", "4", "--hidden", "8",
                          "--layers", "1", "--batch-size", "8", "--valid-frac", "0.25", "--test-frac", "0",
                          "--min-freq", "1", "--bleu-every", "0", "--device", "cpu"],
            "classify": ["--data-dir", str(data), "--valid-size", "10", "--hidden", "4", "--layers", "1",
                         "--device", "cpu"],
            "forecast": ["--length", "200", "--tau", "4"]}[task]
    return main(["train", task, *base, *recipe, "--epochs", "1", "--out", str(out), *extra])


@pytest.mark.parametrize("task", ["lm", "lm --schedule cosine", "translate", "classify", "forecast"])
def test_no_progress_turns_off_the_bar_a_terminal_gets(task, task_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # (tqdm draws on a terminal only)
    assert _train(task, task_data, tmp_path / "bar") == 0
    drawn = capsys.readouterr().err
    assert bool(BAR.search(drawn)) is (task != "forecast"), drawn  # forecast draws none
    assert _train(task, task_data, tmp_path / "quiet", "--no-progress") == 0
    quiet = capsys.readouterr().err
    assert not BAR.search(quiet) and "%|" not in quiet, quiet


def test_no_progress_has_one_help_in_every_train_command():
    commands = {a.dest: a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)}
    train = next(a for a in commands["command"].choices["train"]._actions if isinstance(a, argparse._SubParsersAction))
    helps = {task: next((a.help for a in parser._actions if "--no-progress" in a.option_strings), None)
             for task, parser in train.choices.items()}
    assert set(helps) == {"lm", "translate", "forecast", "classify"}
    assert helps.pop("forecast") == "no progress bar, even on a terminal: forecast draws none anyway"
    assert set(helps.values()) == {"no progress bar, even on a terminal"}, helps
