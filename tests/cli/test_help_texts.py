"""Every option of every `seqlab` command says what it does in --help, and its default where it has one;
the benchmarks' --help prints help (a new-user review found options with no help at all, a help that
named a Python function, and a benchmark that ran when asked for --help)."""

import argparse
import re
import runpy
import sys
from pathlib import Path

import pytest

from seqlab.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _options(parser: argparse.ArgumentParser, name: str = "seqlab"):
    """(command, option) for every option of every (sub-)command, --help left out."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, subparser in action.choices.items():
                yield from _options(subparser, f"{name} {sub}")
        elif action.option_strings and not isinstance(action, argparse._HelpAction):
            yield name, action


def test_every_option_has_a_help_that_shows_its_default():
    options = list(_options(build_parser()))
    assert len(options) > 200 and {c for c, _ in options} >= {  # all of them walked
        "seqlab evaluate", "seqlab generate", "seqlab translate", "seqlab forecast", "seqlab classify",
        "seqlab stats", "seqlab train lm", "seqlab train translate", "seqlab train forecast", "seqlab train classify"}
    bad = []
    for command, action in options:
        flag, text = action.option_strings[-1], action.help or ""
        if text == argparse.SUPPRESS or not re.sub(r"\(default:[^)]*\)", "", text).strip():
            bad.append(f"{command} {flag}: no help")  # (a config leaf without a comment: its default alone)
        elif action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            bad.append(f"{command} {flag}: its default {action.default!r} is not shown")
        if re.search(r"\bseqlab\.\w+\.\w+|\bissue \d", text):
            bad.append(f"{command} {flag}: names a Python function or an issue: {text!r}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("argv, fragment", [
    (["generate", "--help"], "how many tokens to generate after the prefix (default: 50)"),
    (["stats", "--help"], "count words or characters (default: word; train lm's is char)"),
    (["train", "translate", "--help"], "share of the distinct source sentences held out for validation"),
    (["classify", "--help"], "auto (CUDA if available), cpu, cuda or cuda:N (default: auto)"),
])
def test_help_says_it(argv, fragment, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 0
    assert fragment in " ".join(capsys.readouterr().out.split())  # (argparse wraps the lines)


@pytest.mark.parametrize("script", ["small_model_threads.py", "lm_ngram_baseline.py", "quality_lm.py"])
def test_a_benchmarks_help_prints_help_and_runs_nothing(script, monkeypatch, capsys):
    # run as `python benchmarks/SCRIPT --help` would run it, in this process (CI time: a process each took 2-3 s)
    monkeypatch.setattr(sys, "argv", [script, "--help"])
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(ROOT / "benchmarks" / script), run_name="__main__")
    out, err = capsys.readouterr()
    assert stop.value.code in (0, None), err
    assert out.startswith("usage: ") and err == ""
    # not what running prints (small_model_threads: "median 0.52 ms"; lm_ngram_baseline: a JSON line), and no
    # issue numbers
    assert not re.search(r"median [0-9.]+ ms|^\{|\bissue\b", out, re.MULTILINE), out
