"""Findings of a CLI review, each now one `seqlab: error: ...` line with exit code 2 (or the run's
own results): running out of memory, a seed torch cannot take, a metrics.jsonl cut short or not
writable, an unwritable report.json, Ctrl-C while the parser is built; and classify's note on a
re-drawn cosine schedule, translate's results when --resume has nothing to train."""

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

import seqlab.cli
import seqlab.runtime
import seqlab.training.forecast
import seqlab.training.metrics
from seqlab.cli import main

from cli_errors import PAIRS, TEXT, expect_bad_input, write_digits  # tests/reliability, on the test path

TOO_BIG = str(2**64)
TOO_SMALL = str(-2**63 - 1)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    (root / "tiny.txt").write_text(TEXT, encoding="utf-8")
    (root / "pairs.txt").write_text("\n".join(f"{a}\t{b}" for a, b in PAIRS * 6) + "\n", encoding="utf-8")
    digits = root / "digits"
    digits.mkdir()
    write_digits(digits, seed=1)
    return root


def _nmt(root):
    return ["train", "translate", "--data", str(root / "pairs.txt"), "--num-steps", "6", "--embed", "8",
            "--hidden", "8", "--layers", "1", "--dropout", "0", "--batch-size", "16", "--valid-frac", "0.2",
            "--test-frac", "0", "--min-freq", "1", "--device", "cpu"]


def _mnist(root):
    return ["train", "classify", "--dataset", "mnist", "--mode", "rows", "--data-dir", str(root / "digits"),
            "--hidden", "4", "--layers", "1", "--batch-size", "20", "--valid-size", "0", "--device", "cpu",
            "--no-progress"]


def _lm(root):
    return ["train", "lm", "--level", "char", "--hidden", "8", "--epochs", "1", "--batch-size", "2",
            "--num-steps", "5", "--device", "cpu", "--data", str(root / "tiny.txt")]


def _records(out):
    return [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines() if line.strip()]


# ---- 1. out of memory ----

def _raises(exc):
    def fail(*args, **kwargs):
        raise exc
    return fail


@pytest.mark.parametrize("where, exc", [
    ("forecast", RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                              "memory: you tried to allocate 160000000000 bytes. Error code 12 (Cannot allocate memory)")),
    ("translate", MemoryError()),
    # (torch.cuda's name: torch 2.2 has no torch.OutOfMemoryError)
    ("forecast", torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")),
])
def test_out_of_memory_is_one_line_that_says_to_reduce_the_sizes(where, exc, root, tmp_path, monkeypatch, capsys):
    if where == "forecast":  # (imported by name there; translate imports it from seqlab.runtime when it runs)
        monkeypatch.setattr(seqlab.training.forecast, "seed_everything", _raises(exc))
        argv = ["train", "forecast", "--epochs", "1"]
    else:
        monkeypatch.setattr(seqlab.runtime, "seed_everything", _raises(exc))
        argv = _nmt(root) + ["--epochs", "1"]
    err = expect_bad_input(argv + ["--out", str(tmp_path / "o")], "more memory than this machine has", capsys)
    assert "--hidden" in err and "--batch-size" in err and "checkpoints already written are kept" in err


def test_another_runtime_error_is_still_a_bug(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(seqlab.training.forecast, "seed_everything", _raises(RuntimeError("something else")))
    assert main(["train", "forecast", "--epochs", "1", "--out", str(tmp_path / "o")]) == 1
    assert "unexpected failure" in capsys.readouterr().err


# ---- 6. Ctrl-C while the parser is built ----

def test_ctrl_c_while_the_parser_is_built_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(seqlab.cli, "build_parser", _raises(KeyboardInterrupt()))
    try:
        code = main(["train", "forecast"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main (a traceback at the command line)")
    assert code == 130
    assert capsys.readouterr().err.strip() == "seqlab: interrupted"


# ---- 2. seeds torch cannot take ----

@pytest.mark.parametrize("task, flag, seed", [
    ("forecast", "--seed", TOO_BIG), ("forecast", "--seed", TOO_SMALL), ("forecast", "--series-seed", TOO_BIG),
    ("translate", "--seed", TOO_BIG), ("translate", "--split-seed", TOO_BIG),
    ("classify", "--seed", TOO_BIG), ("lm", "--seed", TOO_BIG),
])
def test_a_seed_out_of_torchs_range_is_refused_with_the_range(task, flag, seed, root, tmp_path, capsys):
    argv = {"forecast": ["train", "forecast", "--epochs", "1"], "translate": _nmt(root) + ["--epochs", "1"],
            "classify": _mnist(root) + ["--epochs", "1"], "lm": _lm(root)}[task]
    err = expect_bad_input(argv + [flag, seed, "--out", str(tmp_path / "o")], f"{flag} must be an integer from", capsys)
    assert str(2**64 - 1) in err and str(-2**63) in err
    assert not (tmp_path / "o" / "last.safetensors").exists()


def test_translate_trains_with_the_largest_seed(root, tmp_path, capsys):
    """(Its batch order's seed, seed * 100003 + epoch, overflowed torch's range for a seed past 2**64 / 100003.)"""
    assert main(_nmt(root) + ["--epochs", "1", "--seed", str(2**64 - 1), "--out", str(tmp_path / "o")]) == 0


# ---- 3. metrics.jsonl and report.json ----

@pytest.fixture(scope="module")
def sine_run(root):
    out = root / "sine"
    assert main(["train", "forecast", "--epochs", "2", "--out", str(out)]) == 0
    return out


def test_resume_drops_a_last_metrics_line_cut_short(sine_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(sine_run, out)
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"epoch": 3, "train_lo')  # a kill (or a full disk) in the middle of epoch 3's line
    capsys.readouterr()
    assert main(["train", "forecast", "--epochs", "3", "--resume", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "line (3) is cut short" in err
    assert [r["epoch"] for r in _records(out)] == [1, 2, 3]


def test_resume_names_a_bad_metrics_line_in_the_middle(sine_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(sine_run, out)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    (out / "metrics.jsonl").write_text("\n".join(["{oops"] + lines[1:]) + "\n")
    err = expect_bad_input(["train", "forecast", "--epochs", "3", "--resume", "--out", str(out)], "line 1 is not",
                            capsys)
    assert "metrics.jsonl" in err
    assert (out / "metrics.jsonl").read_text().startswith("{oops")  # left as it was


def test_an_unwritable_metrics_jsonl_is_one_line(tmp_path, monkeypatch, capsys):
    real_open = open

    def no_append(file, mode="r", *args, **kwargs):
        if "a" in mode:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(seqlab.training.metrics, "open", no_append, raising=False)
    err = expect_bad_input(["train", "forecast", "--epochs", "1", "--out", str(tmp_path / "o")],
                            "Permission denied", capsys)
    assert "metrics.jsonl" in err and "checkpoints already written are kept" in err


def test_an_unwritable_report_json_is_one_line_and_keeps_the_checkpoints(tmp_path, monkeypatch, capsys):
    real_write_text = Path.write_text

    def refuse_report(self, *args, **kwargs):
        if self.name == "report.json":
            raise PermissionError(13, "Permission denied", str(self))
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", refuse_report)
    out = tmp_path / "o"
    err = expect_bad_input(["train", "forecast", "--epochs", "1", "--out", str(out)], "report.json", capsys)
    assert "checkpoints are kept" in err
    assert (out / "best.safetensors").exists() and (out / "last.safetensors").exists()


# ---- 4. classify: the note on a re-drawn cosine schedule ----

@pytest.fixture(scope="module")
def mnist_run(root):
    out = root / "mn"
    assert main(_mnist(root) + ["--epochs", "2", "--lr", "0.01", "--out", str(out)]) == 0
    return out


def _cosine_note(err):
    m = re.search(r"the learning rate goes from (\S+) to (\S+) where", err)
    return m and (float(m.group(1)), float(m.group(2)))


def test_classify_cosine_note_matches_the_rates_used(root, mnist_run, tmp_path, capsys):
    same = tmp_path / "same"
    shutil.copytree(mnist_run, same)
    capsys.readouterr()
    assert main(_mnist(root) + ["--epochs", "3", "--lr", "0.01", "--resume", "--out", str(same)]) == 0
    captured = capsys.readouterr()
    rates = [r["lr"] for r in _records(same)]
    assert rates[2] == pytest.approx(rates[1], rel=1e-3)  # the 2-epoch cosine ended at lr/20: so does the 3-epoch one
    assert _cosine_note(captured.out + captured.err) is None, captured.out + captured.err

    longer = tmp_path / "longer"
    shutil.copytree(mnist_run, longer)
    assert main(_mnist(root) + ["--epochs", "4", "--lr", "0.01", "--resume", "--out", str(longer)]) == 0
    captured = capsys.readouterr()
    note = _cosine_note(captured.out + captured.err)
    rates = [r["lr"] for r in _records(longer)]
    assert note is not None, captured.out + captured.err
    assert note == (pytest.approx(rates[1], rel=1e-3), pytest.approx(rates[2], rel=1e-3))  # epoch 2's, epoch 3's

    assert main(_mnist(root) + ["--epochs", "3", "--lr", "0.01", "--resume", "--out", str(longer)]) == 0
    captured = capsys.readouterr()
    assert "nothing to train" in captured.out + captured.err
    assert "cosine schedule" not in captured.out + captured.err


# ---- 5. translate --resume with nothing to train ----

def test_translate_resume_with_nothing_to_train_prints_the_runs_results(root, tmp_path, capsys):
    out = tmp_path / "nmt"
    assert main(_nmt(root) + ["--epochs", "2", "--out", str(out)]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(_nmt(root) + ["--epochs", "1", "--resume", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "nothing to train" in captured.out + captured.err
    again = json.loads(captured.out.strip().splitlines()[-1])
    assert again["epoch"] == 2 and again["valid_ppl"] is not None
    assert {k: again[k] for k in ("epoch", "train_ppl", "valid_ppl", "best_epoch")} == \
        {k: trained[k] for k in ("epoch", "train_ppl", "valid_ppl", "best_epoch")}
