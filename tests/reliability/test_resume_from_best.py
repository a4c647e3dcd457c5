"""SPEC §6: checkpoints best and last hold weights, optimiser, config, vocabulary, epoch and RNG
state; a run resumes from either (`--resume-from best`). Going on from best is exact: it ends as a
run that stopped at best's epoch and was resumed from there; what the run did after best's epoch
is set aside in metrics.jsonl.bak and last.safetensors.bak, not lost."""

import json

import pytest
import torch
from safetensors import safe_open

from seqlab.cli import build_parser
from seqlab.training.checkpoint import load_checkpoint, save_checkpoint
from cli_errors import expect_bad_input
from run_review import TASKS, make_inputs
from run_review import argv as review_argv
from run_review import run as _run  # (exit 0 asserted, its output returned)

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU

TEXT = "the time traveller for so it will be convenient to speak of him\n" * 20
N = 6  # epochs of the fixture run (`_best_before_last`); its best is at an earlier one (asserted)
K = 3  # the epochs it trains at a good rate before a far too high one


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    root = make_inputs(tmp_path_factory.mktemp("fx"))
    (root / "traveller.txt").write_text(TEXT, encoding="utf-8")
    return root


def _lm(fx, out, *extra):
    """A second-long LM run that draws on every RNG (dropout, random sampling); at this rate its
    valid perplexity falls for the first epochs (about 15, 8, 4)."""
    return ["train", "lm", "--data", str(fx / "traveller.txt"), "--level", "char", "--cell", "lstm", "--impl",
            "scratch", "--hidden", "16", "--layers", "2", "--dropout", "0.3", "--batch-size", "4", "--num-steps", "8",
            "--lr", "0.03", "--optimizer", "adam", "--sampling", "random", "--device", "cpu", "--seed", "3",
            "--no-progress", "--out", str(out), *extra]


def _best_before_last(fx, run, capsys):
    """Train `run` for N epochs, best at epoch K, on every CPU: K epochs at _lm's rate, then the rest
    resumed at a rate 30x too high (valid perplexity about 20 there, against 4 at K; at one steady
    rate, the epoch best falls on changed with the CPU's rounding). Returns best's epoch."""
    _run(_lm(fx, run, "--epochs", str(K)), capsys)
    _run(_lm(fx, run, "--epochs", str(N), "--resume", "--lr", "1"), capsys)
    k = load_checkpoint(run, "best").meta["epoch"]
    assert k == K, f"the fixture run must be best at epoch {K} of {N}, before its last (best at {k})"
    return k


def _rows(out, name="metrics.jsonl"):
    # the figures of each epoch, without its timings (which differ from run to run)
    rows = [json.loads(line) for line in (out / name).read_text().splitlines() if line.strip()]
    return [{k: v for k, v in r.items() if k not in ("wall_s", "tokens_per_sec")} for r in rows]


def _state(out, which):
    ckpt = load_checkpoint(out, which)
    tensors = {f"model/{k}": v for k, v in ckpt.model.items()}
    for pid, state in ckpt.optimizer["state"].items():
        tensors.update({f"optim/{pid}/{k}": v for k, v in state.items() if isinstance(v, torch.Tensor)})
    return tensors, ckpt.meta


def _equal(a, b):
    return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def test_resume_from_best_equals_a_run_stopped_at_best_and_resumed(fx, tmp_path, capsys):
    run = tmp_path / "run"
    k = _best_before_last(fx, run, capsys)
    full_log, full_last = (run / "metrics.jsonl").read_bytes(), (run / "last.safetensors").read_bytes()
    # go on from best at another rate, so that the epochs after k differ from the first run's: only the
    # state of epoch k (weights, Adam's moments, every RNG) makes them come out as the twin's
    err = _run(_lm(fx, run, "--epochs", str(N + 1), "--resume-from", "best", "--lr", "0.1"), capsys).err
    twin = tmp_path / "twin"
    _run(_lm(fx, twin, "--epochs", str(k)), capsys)
    _run(_lm(fx, twin, "--epochs", str(N + 1), "--resume", "--lr", "0.1"), capsys)

    for which in ("last", "best"):
        (ours, meta), (theirs, twin_meta) = _state(run, which), _state(twin, which)
        assert _equal(ours, theirs), which
        assert (meta["epoch"], meta["rng"], meta["batch_rng"]) == (twin_meta["epoch"], twin_meta["rng"],
                                                                   twin_meta["batch_rng"])
    rows = _rows(run)
    assert rows == _rows(twin) and [r["epoch"] for r in rows] == list(range(1, N + 2))
    assert rows[k:N] != _rows(run, "metrics.jsonl.bak")[k:N]  # the epochs after k were trained again, otherwise
    # what was set aside is the first run's, whole, and the warning says so
    assert (run / "metrics.jsonl.bak").read_bytes() == full_log
    assert (run / "last.safetensors.bak").read_bytes() == full_last
    assert f"seqlab: warning: --resume-from best goes on from epoch {k}" in err
    assert f"metrics.jsonl's rows of epochs {k + 1}-{N} (" in err and f"last.safetensors (epoch {N}" in err
    # they are the run's files: --overwrite replaces them with the rest of it
    _run(_lm(fx, run, "--epochs", "1", "--overwrite"), capsys)
    assert not (run / "metrics.jsonl.bak").exists() and not (run / "last.safetensors.bak").exists()


@pytest.mark.parametrize("task", TASKS)
def test_best_holds_the_optimiser_state_last_holds(task, fx, tmp_path, capsys):
    # a one-epoch run's best is its last epoch: the two files are one and the same, optimiser included
    out = tmp_path / task
    adam = ["--optimizer", "adam"] if task == "lm" else []  # (the LM's default, plain SGD, keeps no tensors)
    _run(review_argv(task, fx, out, "--epochs", "1", *adam), capsys)
    with safe_open(out / "best.safetensors", framework="pt") as f:
        meta, keys = json.loads(f.metadata()["seqlab"]), list(f.keys())
    assert "optimizer" in meta and any(key.startswith("optim/") for key in keys)
    assert (out / "best.safetensors").read_bytes() == (out / "last.safetensors").read_bytes()


def _old_best(out):
    """`out`'s best.safetensors as seqlab wrote it before best held the optimiser state."""
    best = load_checkpoint(out, "best")
    save_checkpoint(out / "best.safetensors", model=best.model, meta=best.meta, extra=best.extra)


def test_an_old_best_is_refused_with_what_to_do(fx, tmp_path, capsys):
    out = tmp_path / "run"
    _run(review_argv("lm", fx, out, "--epochs", "1"), capsys)
    _old_best(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    expect_bad_input(review_argv("lm", fx, out, "--epochs", "2", "--resume-from", "best"),
                     f"--resume-from best: {str(out / 'best.safetensors')!r} holds no optimiser state (an earlier "
                     "seqlab wrote best with the weights alone), so the run cannot go on from it: resume from "
                     "last.safetensors with --resume instead", capsys)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    _run(review_argv("lm", fx, out, "--epochs", "2", "--resume"), capsys)  # which works


def test_resume_from_implies_resume_and_is_refused_with_its_opposites(fx, tmp_path, capsys):
    out = tmp_path / "run"
    _run(review_argv("lm", fx, out, "--epochs", "1"), capsys)
    expect_bad_input(review_argv("lm", fx, out, "--resume-from", "best", "--no-resume"),
                     "--resume-from best continues the run in --out, which --no-resume", capsys)
    expect_bad_input(review_argv("lm", fx, out, "--resume-from", "best", "--overwrite"),
                     "--resume-from best continues the run in --out and --overwrite replaces it", capsys)
    # best is the last epoch here: nothing is set aside, no warning
    err = _run(review_argv("lm", fx, out, "--epochs", "2", "--resume-from", "last"), capsys).err
    assert "warning" not in err
    assert [r["epoch"] for r in _rows(out)] == [1, 2]
    assert not (out / "metrics.jsonl.bak").exists() and not (out / "last.safetensors.bak").exists()


@pytest.mark.parametrize("task", TASKS)
def test_every_train_command_has_resume_from(task):
    args = build_parser().parse_args(["train", task, "--resume-from", "best"])
    assert args.resume_from == "best"


def test_a_run_resumed_from_best_and_stopped_is_told_to_resume_from_last(tmp_path):
    # --resume-from best again would go back to best, setting aside the epochs saved since
    from seqlab.config import RunConfig
    from seqlab.training.guard import StopSignals, interrupted

    stop = StopSignals()
    run = RunConfig(out=str(tmp_path), resume=True, resume_from="best")
    assert "the same command with --resume in place of --resume-from best" in str(interrupted(stop, 4, run))


def test_the_run_settings_kept_are_those_of_the_checkpoint_resumed_from(tmp_path):
    # a run resumed at a lower --lr after its best epoch: going on from best is going on at best's rate
    from seqlab.training.checkpoint_meta import run_settings

    for name, lr in (("best", 0.3), ("last", 0.1)):
        save_checkpoint(tmp_path / f"{name}.safetensors", model={"w": torch.ones(1)},
                        meta={"task": "lm", "config": {"train": {"lr": lr, "clip": 1.0}}})
    assert run_settings(tmp_path, ("lr",), "best") == {"lr": 0.3}
    assert run_settings(tmp_path, ("lr",)) == {"lr": 0.1}


def test_a_second_rewind_never_replaces_what_the_first_set_aside(fx, tmp_path, capsys):
    from seqlab.errors import SeqlabError
    from seqlab.training.checkpoint_resume import rewind_to_best

    run = tmp_path / "run"
    _best_before_last(fx, run, capsys)
    full_log, full_last = (run / "metrics.jsonl").read_bytes(), (run / "last.safetensors").read_bytes()
    rewind_to_best(run)
    assert (run / "metrics.jsonl.bak").read_bytes() == full_log
    assert (run / "last.safetensors.bak").read_bytes() == full_last
    rewind_to_best(run)  # a try killed before its trainer cut the log: the same backup, written again
    assert (run / "metrics.jsonl.bak").read_bytes() == full_log
    # the run went on and logged other epochs, or its last is of a later epoch again: a second rewind
    # would replace the first's backups, the only copy of epochs k+1..N
    (run / "metrics.jsonl").write_bytes(full_log + full_log.splitlines(keepends=True)[-1])
    with pytest.raises(SeqlabError, match=r"metrics\.jsonl\.bak in .* already holds what an earlier "
                                          r"--resume-from best set aside: move it out"):
        rewind_to_best(run)
    (run / "metrics.jsonl").write_bytes(full_log)
    (run / "last.safetensors").write_bytes(full_last)
    with pytest.raises(SeqlabError, match=r"last\.safetensors\.bak in .* already holds"):
        rewind_to_best(run)
    assert (run / "metrics.jsonl.bak").read_bytes() == full_log
    assert (run / "last.safetensors.bak").read_bytes() == full_last
    # moved out of the way, the rewind goes on
    (run / "last.safetensors.bak").rename(tmp_path / "first-rewind-last.safetensors")
    rewind_to_best(run)
    assert (run / "last.safetensors.bak").read_bytes() == full_last


def test_resume_from_best_with_nothing_to_train_is_refused_before_anything_moves(fx, tmp_path, capsys):
    run = tmp_path / "run"
    k = _best_before_last(fx, run, capsys)
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    expect_bad_input(_lm(fx, run, "--epochs", str(k), "--resume-from", "best"),
                     f"--resume-from best goes on after best's epoch {k} and --epochs is {k}: nothing would train",
                     capsys, f"give --epochs above {k}")
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files  # no .bak, log whole


def test_from_python_resume_from_best_without_resume_is_refused_not_ignored(tmp_path):
    # the CLI's --resume-from implies --resume; a RunConfig with resume_from='best' alone trained a new run
    from seqlab.config import replace
    from seqlab.errors import SeqlabError
    from seqlab.training.lm import LMConfig, fit_lm

    cfg = replace(LMConfig(), dataset="timemachine", max_tokens=500, hidden=8, epochs=1, device="cpu",
                  out=str(tmp_path / "new"), resume_from="best")
    with pytest.raises(SeqlabError, match=r"resume_from='best' continues the run .* set resume=True too"):
        fit_lm(cfg, log=lambda *a: None, show_progress=False)
    assert not (tmp_path / "new").exists()


def test_the_checks_before_a_rewind_read_only_and_run_where_every_process_runs(fx, tmp_path, capsys):
    # resumed_note runs on every torchrun process, open_run_folder (the rewind) on rank 0 alone: the
    # backup refusal is asked there too, so that the other ranks stop with the same line, not a
    # collective's failure; and nothing to train with nothing to set aside is the plain resume's note
    from seqlab.errors import SeqlabError
    from seqlab.training.checkpoint_resume import rewind_to_best
    from seqlab.training.guard import resumed_note

    run = tmp_path / "run"
    k = _best_before_last(fx, run, capsys)
    rewind_to_best(run)
    log = (run / "metrics.jsonl").read_bytes()
    (run / "metrics.jsonl").write_bytes(log + log.splitlines(keepends=True)[-1])
    files = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    with pytest.raises(SeqlabError, match=r"metrics\.jsonl\.bak in .* already holds"):
        resumed_note(run, k, N + 1, from_best=True)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == files
    one = tmp_path / "one"  # best is the last epoch: nothing is set aside, nothing to train is a note
    _run(_lm(fx, one, "--epochs", "1"), capsys)
    out = _run(_lm(fx, one, "--epochs", "1", "--resume-from", "best"), capsys).out
    assert "has trained 1 epochs and --epochs is 1: nothing to train" in out


def test_a_config_file_listing_the_defaults_starts_a_new_run(fx, tmp_path, capsys):
    # resume_from = "last" (the default) in a file asks for no resume; "best" there means one, as the flag does
    config = tmp_path / "c.toml"
    config.write_text('[run]\nresume = false\nresume_from = "last"\n', encoding="utf-8")
    _run(_lm(fx, tmp_path / "new", "--epochs", "1", "--config", str(config)), capsys)
    config.write_text('[run]\nresume_from = "last"\n', encoding="utf-8")
    _run(_lm(fx, tmp_path / "new2", "--epochs", "1", "--config", str(config)), capsys)
    config.write_text('[run]\nresume_from = "best"\n', encoding="utf-8")
    _run(_lm(fx, tmp_path / "new2", "--epochs", "2", "--config", str(config)), capsys)
    assert load_checkpoint(tmp_path / "new2", "last").meta["epoch"] == 2  # went on from best (epoch 1)
