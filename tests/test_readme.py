"""README.md stays true as the code changes: its Python blocks compile and import, its `seqlab`
commands parse with the CLI's own parser, the files it names exist, and its library snippets run
(shrunk) and do what their comments say. Each check takes the text, so that a broken copy can be
shown to fail it (BROKEN): a check that passes on anything would protect nothing."""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import io
import json
import math
import random
import re
import shlex
from pathlib import Path

import pytest
import torch

from seqlab.cli import build_parser, main, train_config
from seqlab.cli.config_task import TASKS

ROOT = Path(__file__).resolve().parents[1]


def readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(text: str, lang: str) -> list[tuple[int, str]]:
    """(line number of the block's first line, its source) of each ```lang block."""
    found, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"```{lang}":
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            found.append((i + 2, "\n".join(lines[i + 1:end])))
    return found


# ---- 1. Python blocks: they compile, and what they import (and read off an imported module) exists

def resolve(dotted: str, where: str):
    """The object `dotted` names, as `from a.b import c` finds it: the longest prefix that is a module,
    then attributes; a missing one fails naming `where`."""
    parts = dotted.split(".")
    for cut in range(len(parts), 1, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
            break
        except ModuleNotFoundError as exc:
            if exc.name != ".".join(parts[:cut]):  # a module that is there but fails to import: its own error
                raise
    else:
        obj, cut = importlib.import_module(parts[0]), 1
    for i in range(cut, len(parts)):
        assert hasattr(obj, parts[i]), f"{where}: {'.'.join(parts[:i])} has no {parts[i]}"
        obj = getattr(obj, parts[i])
    return obj


def check_python_blocks(text: str) -> int:
    """Compile each block and resolve its imports and `module.name` reads; returns the blocks checked."""
    checked = blocks(text, "python")
    for line, src in checked:
        tree = compile(src, f"README.md block at line {line}", "exec", ast.PyCF_ONLY_AST)
        imported = {}  # the names a block binds to what it imports
        for node in ast.walk(tree):
            where = f"README.md line {line + getattr(node, 'lineno', 1) - 1}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                module = f"{node.module}." if isinstance(node, ast.ImportFrom) else ""
                for alias in node.names:
                    imported[alias.asname or alias.name] = resolve(module + alias.name, where)
            # d2l.train_ch8: a renamed book function fails here (ast.walk meets top-level imports first)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported:
                assert hasattr(imported[node.value.id], node.attr), f"{where}: {node.value.id} has no {node.attr}"
    return len(checked)


def check_dotted_names(text: str) -> int:
    """Every backticked `seqlab.a.b.name` (the library table, the step-products switch) resolves."""
    names = sorted(set(re.findall(r"`(seqlab(?:\.\w+)+)", text)))
    for dotted in names:
        resolve(dotted, f"README.md names {dotted}")
    return len(names)


def test_python_blocks_compile_and_their_imports_resolve():
    assert check_python_blocks(readme()) >= 5
    assert check_dotted_names(readme()) >= 5


# ---- 2. `seqlab` command lines parse with the CLI's parser; their --config files load

# Placeholders that stand for a number, given one so that an int option parses (the others, NAME,
# DIR, FILE, F, T, DATE, are strings to the parser and parse as they stand).
NUMBER_PLACEHOLDERS = {"N": "3", "K": "3", "M": "7"}
# What a command line may hold that is no argument: `...` (more options), a `|` between two options
# (`--dataset NAME | --data FILE`: either; the parser takes both, the run refuses that) and the
# brackets of an optional part (`[--column NAME]`: parsed with it).
NOT_ARGUMENTS = {"...", "|"}


def variants(command: str) -> list[list[str]]:
    """The argument lists a README command line stands for: each `a|b` alternative in turn (variant i
    takes the i-th alternative of every token that has one, the last where it has fewer)."""
    words = [w.strip("[]") for w in shlex.split(command.replace("\\|", "|"), comments=True)]
    words = [NUMBER_PLACEHOLDERS.get(w, w) for w in words if w not in NOT_ARGUMENTS]
    options = [w.split("|") if "|" in w and " " not in w else [w] for w in words]
    count = max(len(o) for o in options)
    return [[o[min(i, len(o) - 1)] for o in options] for i in range(count)]


def bash_commands(text: str) -> list[tuple[int, str]]:
    """(line, `seqlab` argument string) of each seqlab and `torchrun ... -m seqlab` line of the bash blocks."""
    found = []
    for start, src in blocks(text, "bash"):
        for m in re.finditer(r"^(seqlab|torchrun) (?:.*\\\n)*.*", src, re.MULTILINE):  # with its continued lines
            command = m[0].replace("\\\n", " ")
            found.append((start + src.count("\n", 0, m.start()), command.split("seqlab ", 1)[1]))
    return found


def table_commands(text: str) -> list[tuple[int, str]]:
    """(line, argument string) of each backticked `seqlab ...` command in a table row, and of
    each backticked `--option ...` there, read as an option of the row's last command before it (the
    translate row's `--n-best N`, after `seqlab translate --checkpoint runs/nmt ...`)."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        last = None
        for code in re.findall(r"`((?:seqlab |--)[^`]*)`", line.replace("\\|", "\x00")):
            code = code.replace("\x00", "\\|")
            if code.startswith("seqlab "):
                last = code[len("seqlab "):]
                found.append((number, last))
            elif last is not None:
                found.append((number, f"{last.split(' --')[0]} {code}"))
    return found


def all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and its sub-commands' parsers (train, train lm, generate, ...)."""
    found = [parser]
    for p in found:  # (grows as it goes)
        found += [sub for a in p._actions if isinstance(a, argparse._SubParsersAction) for sub in a.choices.values()]
    return found


def cli_parser(required: bool = True) -> argparse.ArgumentParser:
    """The CLI's parser; `required=False` lets required options be left out, as the table's short
    forms do (`seqlab evaluate`, `seqlab stats --split valid`)."""
    parser = build_parser()
    for p in [] if required else all_parsers(parser):
        for action in p._actions:
            action.required = action.required and not action.option_strings
        for group in p._mutually_exclusive_groups:  # stats' --dataset or --data
            group.required = False
    return parser


def parse(parser: argparse.ArgumentParser, number: int, argv: list[str]) -> argparse.Namespace:
    """`seqlab argv` read by `parser`; a failure names the README line and argparse's message."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return parser.parse_args(argv)
    except SystemExit:
        raise AssertionError(f"README.md line {number}: `seqlab {shlex.join(argv)}`: {err.getvalue().strip()}") \
            from None


def check_commands(text: str) -> int:
    """Parse every README command line (each alternative of each); load each `seqlab train --config` as
    its task's config; returns the argument lists parsed."""
    strict, relaxed = cli_parser(), cli_parser(required=False)
    lines = [(n, c, strict) for n, c in bash_commands(text)] + [(n, c, relaxed) for n, c in table_commands(text)]
    parsed = 0
    for number, command, parser in lines:
        for argv in variants(command):
            args = parse(parser, number, argv)
            parsed += 1
            if getattr(args, "config", None):  # (every shipped config loads: test_config.py; this is the pairing)
                train_config(resolve(".".join(TASKS[args.task]), f"README.md line {number}"), args)
    return parsed


# backticked spans of other programs, whose options are theirs (`sacrebleu --tokenize none`)
OTHER_PROGRAMS = ("sacrebleu ", "pip ", "python ", "torchrun ")


def check_option_names(text: str) -> int:
    """Every `--option` the prose names in backticks (`--resume-from best`, `--skip-nonfinite`) is an
    option of some `seqlab` command: a renamed one fails here even where no full command line shows it."""
    known = {option for p in all_parsers(build_parser()) for a in p._actions for option in a.option_strings}
    prose = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)  # (blocks: check_commands)
    named = 0
    for span in re.findall(r"`([^`]+)`", prose):
        for option in [] if span.startswith(OTHER_PROGRAMS) else re.findall(r"(?<![\w-])--[a-z][\w-]*", span):
            assert option in known, f"README.md names {option} (in `{span}`): no seqlab command has it"
            named += 1
    return named


def check_paths(text: str, name: str = "README.md") -> int:
    """Every repository file or folder the text names (`benchmarks/quality_lm.py`, `.ci/run`,
    `configs/{ptb,wikitext2}_awd.toml`: each of ptb, wikitext2) exists."""
    text = re.sub(r"([\w/.-]*)\{([\w,\s]+)\}([\w./-]*)",
                  lambda m: " ".join(m[1] + part.strip() + m[3] for part in m[2].split(",")), text)
    paths = sorted(set(re.findall(r"(?<![\w/.])((?:\.ci|benchmarks|configs|seqlab|tests)/[\w./-]*\w)", text)))
    for path in paths:
        assert (ROOT / path).exists(), f"{name} names {path}: no such file or folder"
    return len(paths)


def test_the_files_the_readme_and_developers_md_name_exist():
    assert check_paths(readme()) >= 12
    assert check_paths((ROOT / "DEVELOPERS.md").read_text(encoding="utf-8"), "DEVELOPERS.md") >= 8


def test_every_command_line_parses_and_its_config_loads(monkeypatch):
    monkeypatch.chdir(ROOT)  # the commands' configs/... paths are the repository's
    assert len(bash_commands(readme())) >= 9 and len(table_commands(readme())) >= 30
    assert check_commands(readme()) >= 45
    assert check_option_names(readme()) >= 200


# ---- each check fails on a README that has gone wrong

BROKEN = [  # (what to change in the README, the check that must then fail, what its message names:
    # {line}, the README line the change is on)
    ("--num-tokens 50", "--num-tokenz 50", check_commands, "README.md line {line}: "),
    ('--beam 4 "i lost ."', '--bean 4 "i lost ."', check_commands, "--bean"),
    ("`--n-best N`", "`--nbest N`", check_commands, "--nbest"),
    ("--level char\\|word", "--level char\\|words", check_commands, "words"),
    ("--nproc_per_node=2 -m seqlab train forecast --batch-size 16",
     "--nproc_per_node=2 -m seqlab train forecast --batchsize 16", check_commands, "--batchsize"),
    ("(or `--skip-nonfinite`)", "(or `--skip-non-finite`)", check_option_names, "--skip-non-finite"),
    ("configs/fra_eng_book.toml", "configs/sine_mlp_book.toml", check_commands, "seqlab train forecast"),
    ("configs/{ptb,wikitext2,", "configs/{ptb,wikitext3,", check_paths, "configs/wikitext3_awd.toml"),
    ("`benchmarks/quality_lm.py`", "`benchmarks/lm_quality.py`", check_paths, "benchmarks/lm_quality.py"),
    ("fit_lm, model_from_checkpoint", "fit_lm_run, model_from_checkpoint", check_python_blocks, "fit_lm_run"),
    ("d2l.train_ch8(net", "d2l.train_ch9(net", check_python_blocks, "train_ch9"),
    ("`seqlab.training.lm.LMConfig`", "`seqlab.training.lm.LmConfig`", check_dotted_names, "LmConfig"),
]


@pytest.mark.parametrize("old,new,check,named", BROKEN, ids=[b[1] for b in BROKEN])
def test_a_broken_readme_fails_its_check(old, new, check, named, monkeypatch):
    monkeypatch.chdir(ROOT)
    text = readme()
    assert old in text, f"the README no longer has {old!r}: pick another line to break"
    named = named.replace("{line}", str(text[:text.index(old)].count("\n") + 1))
    with pytest.raises(Exception, match=re.escape(named)):
        check(text.replace(old, new))


# ---- 3. the library snippets run, shrunk by the substitutions listed here, and do what they say

def block(text: str, marker: str) -> str:
    """The one ```python block that holds `marker`."""
    found = [src for _, src in blocks(text, "python") if marker in src]
    assert len(found) == 1, f"README.md has {len(found)} python blocks holding {marker!r}"
    return found[0]


def shrunk(src: str, substitutions: list[tuple[str, str]]) -> str:
    """`src` with each (old, new) replaced; an old that is gone fails, rather than run the full size."""
    for old, new in substitutions:
        assert old in src, f"the README block no longer holds {old!r}: update this test's substitutions"
        src = src.replace(old, new)
    return src


def run_block(src: str, namespace: dict) -> list:
    """Run a block statement by statement, in `namespace`; returns the values of its bare expressions
    (`p.labels`, `d2l.predict_ch8(...)`), which a reader of the README sees in a notebook or REPL."""
    values = []
    for stmt in ast.parse(src).body:
        if isinstance(stmt, ast.Expr):
            values.append(eval(compile(ast.Expression(stmt.value), "README.md", "eval"), namespace))
        else:
            exec(compile(ast.Module([stmt], []), "README.md", "exec"), namespace)
    return values


def test_the_own_training_loop_block_trains_and_generates(tmp_path, monkeypatch, capsys, one_thread):
    monkeypatch.chdir(tmp_path)
    src = shrunk(block(readme(), "LMBatches("), [("range(2)", "range(1)"), ("hidden=128", "hidden=32")])
    namespace = {}
    run_block(src, namespace)
    epoch_line, text = capsys.readouterr().out.splitlines()
    epoch, ppl = epoch_line.split()
    # a char model after one epoch: far below the uniform guess over the vocabulary (28 characters)
    assert epoch == "0" and math.isfinite(float(ppl)) and 1 < float(ppl) < len(namespace["corpus"].vocab) / 2
    assert text.startswith("time traveller") and len(text) == len("time traveller") + 40


def test_the_fit_lm_and_vocab_blocks_make_a_run_seqlab_generate_reads_alike(tmp_path, monkeypatch, capsys, one_thread):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    run_block(shrunk(block(readme(), "fit_lm(cfg)"), [("epochs=20", "epochs=1"), ("hidden=256", "hidden=32")]),
              namespace)
    report = json.loads((tmp_path / "runs/tm-lib/report.json").read_text())
    assert namespace["cfg"].model.hidden == 32 and math.isfinite(report["best_valid_ppl"])
    capsys.readouterr()
    run_block(block(readme(), "vocab_from_checkpoint("), namespace)
    text = capsys.readouterr().out
    assert text.startswith("time traveller") and len(text.rstrip("\n")) == len("time traveller") + 40
    # "as `seqlab generate` does": the command's greedy text from the same run is the same
    assert main(["generate", "--checkpoint", "runs/tm-lib", "--prefix", "time traveller", "--num-tokens", "40"]) == 0
    assert capsys.readouterr().out == text


def test_the_books_block_trains_and_predicts(tmp_path, monkeypatch, capsys, one_thread):
    monkeypatch.chdir(tmp_path)  # (where a live plot would be saved)
    random.seed(0)  # the block leaves seeding to its reader; seeded, its batches and weights are one run's
    torch.manual_seed(0)
    src = shrunk(block(readme(), "d2l.train_ch8("),
                 [("num_epochs=500", "num_epochs=1"), ("LSTM(len(vocab), 256)", "LSTM(len(vocab), 32)")])
    namespace = {}
    *_, prediction = run_block(src, namespace)
    ppl = float(re.search(r"perplexity ([\d.]+|inf|nan), ", capsys.readouterr().out).group(1))
    assert math.isfinite(ppl) and 1 < ppl <= len(namespace["vocab"])  # one epoch: about a uniform guess, no worse
    assert prediction.startswith("time traveller") and len(prediction) == len("time traveller") + 50


def test_the_text_predictor_block_labels_texts_of_a_tiny_run(tmp_path, monkeypatch, one_thread):
    monkeypatch.chdir(tmp_path)
    good, bad, things = ("fine", "great", "lovely"), ("dull", "awful", "bad"), ("film", "movie", "story")
    rows = [f"{label},a {word} {thing}" for label, words in (("pos", good), ("neg", bad))
            for word in words for thing in things for _ in range(4)]
    Path("reviews.csv").write_text("label,text\n" + "\n".join(rows) + "\n")
    assert main(["train", "classify", "--data", "reviews.csv", "--embed", "8", "--hidden", "8", "--layers", "1",
                 "--lr", "0.3", "--epochs", "8", "--out", "runs/reviews", "--no-progress"]) == 0
    labels, predicted, proba, top = run_block(block(readme(), "TextPredictor"), {})
    # "fine" is a positive review's word, "!" one the run never read (<unk>); at --lr 0.3 p(pos) was 0.99
    assert labels == ["neg", "pos"] and predicted == ["pos"]
    assert proba.shape == (1, 2) and abs(proba.sum().item() - 1) < 1e-6
    assert [label for label, _ in top[0]] == ["pos", "neg"]
    assert [p for _, p in top[0]] == pytest.approx([proba[0, 1].item(), proba[0, 0].item()])
