"""Never lose work: a new run refuses a folder that holds another (--resume continues it,
--overwrite replaces it), --resume refuses settings other than the run's, and a checkpoint
whose JSON metadata was edited (the checksum covers the tensors only) is a one-line error."""

import hashlib
import sys

import numpy as np
import pytest

from seqlab.cli import build_parser, main
from seqlab.errors import SeqlabError
from seqlab.training.run_folder import ASIDE
from checkpoint_edit import edit_meta  # tests/reliability, on the test path
from cli_errors import expect_bad_input, write_digits
from run_review import argv as review_argv

TEXT = "the time machine by h g wells\n" * 40
PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("I lost.", "J'ai perdu."),
         ("I'm home.", "Je suis chez moi."), ("He's calm.", "Il est calme.")]
TASKS = ("lm", "translate", "forecast", "classify")

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    
    root = tmp_path_factory.mktemp("fx")
    (root / "tiny.txt").write_text(TEXT, encoding="utf-8")
    (root / "pairs.txt").write_text("\n".join(f"{a}\t{b}" for a, b in PAIRS * 8) + "\n", encoding="utf-8")
    (root / "series.csv").write_text("t,value\n" + "".join(f"{i},{np.sin(i / 7):.4f}\n" for i in range(300)))
    digits = root / "digits"
    digits.mkdir()
    write_digits(digits)
    return root


def _argv(task, fx, out, *extra):
    """A run of a second or so of `task` into `out` (sgd for lm: its default)."""
    return review_argv(task, fx, out, "--epochs", "1", *extra)  # (a later --epochs in `extra` wins)


def _ok(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]


def _bad(argv, capsys, fragment, *more):
    return expect_bad_input(argv, fragment, capsys, *more)


def _snapshot(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _refused_untouched(out, argv, capsys, *fragments):
    """`_bad(argv, ...)`, and every file in the run folder `out` byte for byte as before."""
    before = _snapshot(out)
    err = _bad(argv, capsys, *fragments)
    assert _snapshot(out) == before, err
    return err


@pytest.fixture(scope="module")
def runs(fx, tmp_path_factory):
    """One finished 1-epoch run per task (each test that changes a folder copies it first)."""
    root = tmp_path_factory.mktemp("runs")
    for task in TASKS:
        assert main(_argv(task, fx, root / task)) == 0
    return root


@pytest.fixture
def run_copy(runs, tmp_path):
    import shutil

    def copy(task):
        dst = tmp_path / task
        shutil.copytree(runs / task, dst)
        return dst
    return copy


# --- 1. a new run into a folder that holds one ----------------------------------------------

@pytest.mark.parametrize("task", TASKS)
def test_new_run_refuses_a_folder_holding_a_run_and_touches_nothing(task, fx, run_copy, capsys):
    out = run_copy(task)
    _refused_untouched(out, _argv(task, fx, out, "--seed", "5"), capsys,
                       f"{str(out)!r} already holds a run (last.safetensors, epoch 1): pass --resume to continue it, "
                       "--overwrite to replace it, or choose another --out")


def test_a_failing_rerun_leaves_the_run_whole(fx, run_copy, capsys):
    # before: the rerun truncated metrics.jsonl to 0 bytes, then failed, keeping the old checkpoints
    out = run_copy("lm")
    _refused_untouched(out, _argv("lm", fx, out, "--lr", "1e30"), capsys, "already holds a run")


@pytest.mark.parametrize("task", TASKS)
def test_overwrite_replaces_the_run(task, fx, run_copy, capsys):
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.metrics import read_metrics

    out = run_copy(task)
    old = load_checkpoint(out, "last").model
    (out / "notes.txt").write_text("mine")
    _ok(_argv(task, fx, out, "--seed", "5", "--overwrite"), capsys)
    new = load_checkpoint(out, "last")
    assert new.meta["config"]["run"]["seed"] == 5
    assert any(not np.array_equal(old[k].numpy(), new.model[k].numpy()) for k in old)
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1]
    assert (out / "notes.txt").read_text() == "mine"  # only the run's own files are replaced
    assert not (out / ASIDE).exists()  # the old run, moved aside at start-up, went with the first checkpoint


def _stop_at_once(monkeypatch):
    """Every trainer sees SIGINT at its first check: the new run stops before any checkpoint."""
    from seqlab.training.guard import StopSignals

    monkeypatch.setattr(StopSignals, "requested", property(lambda self: True))


@pytest.mark.parametrize("task", TASKS)
def test_overwrite_stopped_before_its_first_checkpoint_keeps_the_old_run(task, fx, run_copy, capsys, monkeypatch):
    # before: --overwrite deleted the old checkpoints and log at start-up, so a Ctrl-C in epoch 1 lost them
    from seqlab.training.checkpoint import load_checkpoint

    out = run_copy(task)
    (out / "notes.txt").write_text("mine")
    before = _snapshot(out)
    assert any(name.endswith(".png") for name in before)  # the old run's plots come back with it
    _stop_at_once(monkeypatch)
    assert main(_argv(task, fx, out, "--seed", "5", "--overwrite")) == 130
    err = capsys.readouterr().err
    assert "stopped by" in err and "Traceback" not in err
    assert f"the new run in {out} stopped before its first checkpoint, so the run it was to replace " \
           "(last.safetensors, epoch 1) is put back there" in err
    assert _snapshot(out) == before and not (out / ASIDE).exists()
    assert load_checkpoint(out, "last").meta["config"]["run"]["seed"] == 0


def test_overwrite_that_fails_keeps_the_old_run_whole(fx, run_copy, capsys, monkeypatch):
    from seqlab.training import lm
    from seqlab.training.guard import NonFiniteLoss

    def diverge(*args, **kwargs):  # the new run fails during its first epoch
        raise NonFiniteLoss("the loss became nan at epoch 1 step 2")

    out = run_copy("lm")
    before = _snapshot(out)
    monkeypatch.setattr(lm, "_epoch", diverge)
    _bad(_argv("lm", fx, out, "--overwrite"), capsys, "the loss became nan")  # the put-back note goes after it
    monkeypatch.undo()
    # all of the old run, nothing of the new: no metrics of one run beside weights of another
    assert _snapshot(out) == before and not (out / ASIDE).exists()
    _refused_untouched(out, _argv("lm", fx, out), capsys, "already holds a run (last.safetensors, epoch 1)")
    _ok(_argv("lm", fx, out, "--epochs", "2", "--resume"), capsys)  # and it can be continued


def test_overwrite_stopped_after_its_first_checkpoint_holds_the_new_run_alone(fx, run_copy, capsys, monkeypatch):
    from seqlab.training import lm
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.guard import TrainingInterrupted
    from seqlab.training.metrics import read_metrics

    epoch = lm._epoch

    def stop_in_epoch_2(*args, **kwargs):
        if args[8] == 2:  # (cfg, net, corpus, batches, optimizer, scheduler, metrics, device, epoch, ...)
            raise TrainingInterrupted("stopped by SIGINT during epoch 2")
        return epoch(*args, **kwargs)

    out = run_copy("lm")
    assert (out / "perplexity.png").exists()
    monkeypatch.setattr(lm, "_epoch", stop_in_epoch_2)
    assert main(_argv("lm", fx, out, "--seed", "5", "--epochs", "2", "--overwrite")) == 130
    assert "put back" not in capsys.readouterr().err
    assert load_checkpoint(out, "last").meta["config"]["run"]["seed"] == 5
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1]
    # the new run writes its plot at its end: the old run's is not left beside the new log
    assert sorted(p.name for p in out.iterdir()) == ["best.safetensors", "last.safetensors", "metrics.jsonl"]


def _killed_overwrite(out, monkeypatch):
    """What an --overwrite killed (kill -9) before its first checkpoint leaves: the old run aside."""
    from types import SimpleNamespace

    from seqlab.training import run_folder

    monkeypatch.setattr(run_folder, "_aside_now", {})  # the killed process's own memory
    run_folder.open_run_folder(SimpleNamespace(out=str(out), overwrite=True, resume=False), log=lambda m: None)
    run_folder.release_run_folders()  # the OS drops a killed process's lock, and its memory is gone:
    run_folder._aside_now.clear()       # no end-of-command put-back in this process
    (out / "metrics.jsonl").write_text("")  # the new run's log, opened before its first epoch ended
    assert not (out / "last.safetensors").exists() and (out / ASIDE / "last.safetensors").exists()


def test_the_next_run_puts_back_what_a_killed_overwrite_moved_aside(fx, run_copy, capsys, monkeypatch):
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.metrics import read_metrics

    out = run_copy("lm")
    before = _snapshot(out)
    _killed_overwrite(out, monkeypatch)
    with pytest.raises(SeqlabError, match=r"no checkpoint in .*moved the previous run's files to .*\.overwritten"):
        load_checkpoint(out)  # says where the old run is meanwhile
    # a new run without flags is refused as before the kill, the old run back in place
    _bad(_argv("lm", fx, out), capsys, "already holds a run (last.safetensors, epoch 1): pass --resume")
    assert _snapshot(out) == before and not (out / ASIDE).exists()
    _killed_overwrite(out, monkeypatch)
    _ok(_argv("lm", fx, out, "--epochs", "2", "--resume"), capsys)  # --resume continues the old run
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2]


@pytest.fixture
def held_elsewhere():
    """Lock a folder from another process, as a live training run there holds it."""
    import subprocess
    import sys

    procs = []

    def hold(folder):
        code = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
                "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)")
        proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc
    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="no flock on Windows")
def test_a_folder_a_live_run_holds_is_refused_until_it_ends(fx, run_copy, capsys, held_elsewhere, monkeypatch):
    # two processes on one --out interleaved their checkpoints and log; and a second command started
    # while an --overwrite run was in its first epoch put the old run back under the live one
    out = run_copy("lm")
    live = "another seqlab process is training in"
    holder = held_elsewhere(out)
    for flags in ((), ("--resume", "--epochs", "2"), ("--overwrite",)):
        _refused_untouched(out, _argv("lm", fx, out, *flags), capsys, live, "wait for it to end")
    holder.kill()
    holder.wait()
    _killed_overwrite(out, monkeypatch)  # now the live run is an --overwrite in its first epoch:
    holder = held_elsewhere(out)          # the old run is aside, its folder locked
    before = _snapshot(out / ASIDE)
    _bad(_argv("lm", fx, out, "--resume", "--epochs", "2"), capsys, live)
    assert _snapshot(out / ASIDE) == before and not (out / "last.safetensors").exists()
    holder.kill()
    holder.wait()  # the live run ended (killed): its lock went with it
    _ok(_argv("lm", fx, out, "--resume", "--epochs", "2"), capsys)  # the old run back, and continued
    assert not (out / ASIDE).exists()


@pytest.mark.skipif(sys.platform == "win32", reason="no flock on Windows")
@pytest.mark.parametrize("where, error", [("flock", "EBADF"), ("flock", "ENOLCK"), ("open", "EACCES")])
def test_a_folder_that_cannot_be_locked_trains_unlocked_with_a_warning(where, error, fx, tmp_path, capsys,
                                                                        monkeypatch):
    # NFS refuses an exclusive flock on a folder (EBADF), a lock manager may be down (ENOLCK), a folder
    # may be writable but not readable (EACCES): each was "another seqlab process is training" or a
    # traceback; only EWOULDBLOCK means another process holds it
    import errno
    import os

    from seqlab.training import run_folder

    def fail(*a, **k):
        raise OSError(getattr(errno, error), os.strerror(getattr(errno, error)))
    real_open = os.open

    def open_no_folder(path, *a, **k):  # (the folder itself cannot be opened; its files can)
        return fail() if os.path.isdir(path) else real_open(path, *a, **k)
    if where == "flock":
        monkeypatch.setattr(run_folder.fcntl, "flock", fail)
    else:
        monkeypatch.setattr(run_folder.os, "open", open_no_folder)
    out = tmp_path / "run"
    out.mkdir()
    code = main(_argv("lm", fx, out))  # (the CLI shows seqlab's warnings as one line each: one_line_warnings)
    err = capsys.readouterr().err
    assert code == 0, err[-2000:]
    assert err.count(f"seqlab: warning: cannot lock the output folder {str(out)!r}") == 1
    assert (out / "last.safetensors").exists()


def test_a_training_function_called_directly_lets_its_folder_go(fx, tmp_path):
    # the lock was held until the Python process ended: a notebook that trained once kept every other
    # process off that folder, even after a refused configuration
    from seqlab.config import replace
    from seqlab.data.corpora import load_lm_corpus
    from seqlab.training import run_folder
    from seqlab.training.lm import LMConfig, TrainConfig, fit_lm
    import torch

    corpus = load_lm_corpus(data=str(fx / "tiny.txt"), level="char", max_tokens=400)
    cfg = LMConfig(train=TrainConfig(batch_size=2, num_steps=5, epochs=1, lr=0.5))
    cfg = replace(cfg, hidden=8, out=str(tmp_path / "api"))
    fit_lm(cfg, corpus, torch.device("cpu"), log=lambda *a: None)
    assert run_folder._locked == {}
    with pytest.raises(SeqlabError, match="lr_decay"):
        fit_lm(replace(cfg, overwrite=True, lr_decay=2.0), corpus, torch.device("cpu"), log=lambda *a: None)
    assert run_folder._locked == {}


def test_half_done_moves_are_settled_by_the_next_run(fx, run_copy, capsys):
    out = run_copy("lm")
    before = _snapshot(out)
    # killed while moving the old run aside (no MOVED yet): the moved files go back
    (out / ASIDE).mkdir()
    for name in ("best.safetensors", "metrics.jsonl"):
        (out / name).rename(out / ASIDE / name)
    _bad(_argv("lm", fx, out), capsys, "already holds a run (last.safetensors, epoch 1)")
    assert _snapshot(out) == before and not (out / ASIDE).exists()
    # killed after the new run's first checkpoint, before the old run was removed: it is removed now
    (out / ASIDE).mkdir()
    (out / ASIDE / "perplexity.png").write_bytes(b"old plot")
    (out / ASIDE / "MOVED").write_text("last.safetensors, epoch 1")
    _bad(_argv("lm", fx, out), capsys, "already holds a run (last.safetensors, epoch 1)")
    assert _snapshot(out) == before and not (out / ASIDE).exists()


@pytest.mark.parametrize("content", [None, "notes.txt", "empty metrics.jsonl"])
def test_a_folder_without_a_run_is_fine(content, fx, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    if content == "notes.txt":
        (out / "notes.txt").write_text("keep me")
    elif content == "empty metrics.jsonl":  # what a run stopped during its first epoch leaves
        (out / "metrics.jsonl").write_text("")
    _ok(_argv("lm", fx, out), capsys)
    assert (out / "last.safetensors").exists()
    if content == "notes.txt":
        assert (out / "notes.txt").read_text() == "keep me"


def test_a_folder_with_best_alone_or_a_log_alone_offers_overwrite_not_resume(fx, run_copy, capsys):
    # best holds the optimiser's state (SPEC §6): a folder with best alone (a run killed between its
    # epoch's two writes) goes on with --resume-from best; one of an earlier seqlab's bests cannot
    out = run_copy("lm")
    (out / "last.safetensors").unlink()
    _bad(_argv("lm", fx, out), capsys, "already holds a run (best.safetensors, epoch 1): pass --resume-from best "
                                       "to continue it, --overwrite to replace it")
    # a plain --resume says the way out
    _bad(_argv("lm", fx, out, "--resume"), capsys, "has best.safetensors but no last.safetensors",
         "continue from best with --resume-from best, or train again with --overwrite")
    from seqlab.training.checkpoint import load_checkpoint, save_checkpoint

    best = load_checkpoint(out, "best")
    save_checkpoint(out / "best.safetensors", model=best.model, meta=best.meta)  # as an earlier seqlab wrote it
    err = _bad(_argv("lm", fx, out), capsys, "already holds a run (best.safetensors, epoch 1): pass --overwrite")
    assert "--resume" not in err
    _bad(_argv("lm", fx, out, "--resume"), capsys, "has best.safetensors but no last.safetensors",
         "holds no optimiser state", "--overwrite")
    (out / "best.safetensors").unlink()
    _bad(_argv("lm", fx, out), capsys, "already holds a run (metrics.jsonl, 1 epoch logged): pass --overwrite")


def test_resume_and_overwrite_together_are_refused(fx, run_copy, capsys):
    out = run_copy("lm")
    _refused_untouched(out, _argv("lm", fx, out, "--resume", "--overwrite"), capsys, "give one of them")


@pytest.mark.parametrize("task", TASKS)
def test_every_train_command_has_overwrite(task):
    args = build_parser().parse_args(["train", task, "--overwrite"])
    assert args.overwrite is True


# --- 2. --resume with settings other than the run's ------------------------------------------

RESUME_CASES = [
    ("lm", ["--optimizer", "adam"], "was trained with optimizer 'sgd'; now optimizer 'adam'"),
    ("lm", ["--schedule", "cosine"], "schedule 'plateau'; now schedule 'cosine'"),
    ("lm", ["--lr-decay", "0.5", "--optimizer", "adam"], "was trained with optimizer 'sgd', lr_decay 1.0; now "
                                                        "optimizer 'adam', lr_decay 0.5"),
    ("lm", ["--lr", "0.1", "--optimizer", "adam"], "was trained with optimizer 'sgd'; now optimizer 'adam'. "),
    ("lm", ["--seed", "4"], "seed 0; now seed 4"),
    # another model: each setting named, not load_state_dict's size mismatch (its advice named five options)
    ("lm", ["--hidden", "16"], "was trained with hidden 8; now hidden 16 (a different model). "),
    ("lm", ["--layers", "2"], "was trained with layers 1; now layers 2 (a different model). "),
    ("lm", ["--embed", "8", "--tie-weights"], "was trained with embed 0, tie_weights false; now embed 8, "
                                              "tie_weights true (a different model). "),
    ("lm", ["--cell", "gru", "--bidirectional"], "cell 'lstm', bidirectional false; now cell 'gru', "
                                                "bidirectional true (a different model). "),
    ("translate", ["--optimizer", "sgd"], "optimizer 'adam'; now optimizer 'sgd'"),
    ("translate", ["--hidden", "16"], "hidden 8; now hidden 16"),
    ("forecast", ["--tau", "8"], "tau 4; now tau 8"),
    ("forecast", ["--model", "gru"], "model 'mlp'; now model 'gru'"),
    ("forecast", ["--optimizer", "sgd"], "optimizer 'adam'; now optimizer 'sgd'"),
    ("forecast", ["--data", "{csv}", "--column", "value"], "data none, column none; now data "),
    ("classify", ["--mode", "pixels"], "mode 'rows'; now mode 'pixels'"),
    ("classify", ["--hidden", "16"], "hidden 4; now hidden 16"),
    ("classify", ["--schedule", "none"], "schedule 'cosine'; now schedule 'none'"),
    ("classify", ["--optimizer", "sgd"], "optimizer 'adam'; now optimizer 'sgd'"),
]


@pytest.mark.parametrize("case", RESUME_CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in RESUME_CASES])
def test_resume_with_changed_settings_is_refused(case, fx, run_copy, capsys):
    task, extra, fragment = case
    out = run_copy(task)
    extra = [e.format(csv=fx / "series.csv") for e in extra]
    _refused_untouched(out, _argv(task, fx, out, "--resume", "--epochs", "2", *extra), capsys,
                       f"--resume: the run in {str(out)!r} was trained with", fragment,
                       "Resume with the run's settings, or start a new run (another --out, or --overwrite)")


@pytest.mark.parametrize("task", TASKS)
def test_resume_may_train_longer_and_change_how_it_runs(task, fx, run_copy, capsys):
    from seqlab.training.checkpoint import load_checkpoint

    out = run_copy(task)
    extra = ["--device", "cpu", "--skip-nonfinite"] + (["--time-limit-s", "600", "--bleu-every", "1"]
                                                       if task == "translate" else [])
    _ok(_argv(task, fx, out, "--resume", "--epochs", "2", *extra), capsys)
    assert load_checkpoint(out, "last").meta["epoch"] == 2


def test_check_resume_config_names_each_difference(tmp_path):
    import torch

    from seqlab.config import replace, to_dict
    from seqlab.training.checkpoint import load_checkpoint, save_checkpoint
    from seqlab.training.checkpoint_resume import check_resume_config
    from seqlab.training.forecast import ForecastConfig

    cfg = ForecastConfig()
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    meta = {"task": "forecast", "config": to_dict(cfg), "n_train": 10, "mean": 0.0, "std": 1.0, "noise_floor": None,
            "epoch": 1, "best_valid_loss": 0.5, "rng": {}}
    save_checkpoint(tmp_path / "last.safetensors", model={"w": torch.ones(2)}, meta=meta, optimizer=opt)
    ckpt = load_checkpoint(tmp_path / "last.safetensors")
    saved = check_resume_config(ckpt, replace(cfg, epochs=9, out="elsewhere", resume=True, skip_nonfinite=True,
                                              lr=0.001), tmp_path)  # lr: lower after a non-finite stop
    assert saved == cfg  # the run's own config, for what may differ (rescale_lr reads its lr)
    with pytest.raises(SeqlabError, match=r"trained with standardize none, hidden 10; now standardize "
                                          r"true, hidden 3\. Resume with the run's settings"):
        check_resume_config(ckpt, replace(cfg, lr=0.5, hidden=3, standardize=True, epochs=9), tmp_path)


# --- 3. checkpoints whose JSON metadata was edited ------------------------------------------

def _drop(key):
    return lambda m: m.pop(key)


def _set(*path_and_value):
    *path, value = path_and_value

    def change(meta):
        node = meta
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


META_CASES = [
    ("lm", "evaluate", _drop("vocab"), "its metadata has no 'vocab'"),
    ("lm", "generate", _drop("vocab"), "its metadata has no 'vocab'"),
    ("lm", "evaluate", _drop("config"), "its metadata has no 'config'"),
    ("lm", "generate", _set("config", "a string"), "its metadata's 'config' is a string"),
    ("lm", "evaluate", _set("config", "train", "num_steps", "ten"), "config key 'num_steps': 'ten' is not a valid int"),
    ("lm", "evaluate", _set("config", "train", "no_such", 1), "unknown key 'no_such' in its config"),
    ("lm", "evaluate", _set("config", "train", "num_steps", 0), "its config's num_steps is 0, not a positive integer"),
    ("lm", "evaluate", _set("config", "train", "eval_batch_size", -2),
     "its config's eval_batch_size is -2, not a positive integer (--batch-size N overrides it)"),
    ("lm", "evaluate", _set("vocab", [1, 2]), "its metadata's 'vocab' is a list"),
    # (as for the other tasks: was "holds a different model than the config asks for ...; use the same
    # --cell/--impl/--hidden/--layers/--embed options", which evaluate and generate do not take)
    ("lm", "evaluate", _set("config", "model", "hidden", 12), "its weights do not fit the model its config"),
    ("lm", "generate", _set("config", "model", "layers", 2), "its weights do not fit the model its config"),
    ("translate", "translate", _drop("src_vocab"), "its metadata has no 'src_vocab'"),
    ("translate", "evaluate", _set("config", "model", "hidden", 12), "its weights do not fit the model its config"),
    ("translate", "evaluate", _set("config", 3), "its metadata's 'config' is a number"),
    ("forecast", "forecast", _drop("mean"), "its metadata has no 'mean'"),
    ("forecast", "evaluate", _set("std", "one"), "its metadata's 'std' is a string"),
    ("forecast", "evaluate", _set("config", "model", "hidden", 7), "its weights do not fit the model its config"),
    ("classify", "classify", _set("config", "x"), "its metadata's 'config' is a string"),
    ("classify", "evaluate", _set("config", "train", "eval_batch_size", 0),  # range() step 0; -1 scored 0.0
     "its config's eval_batch_size is 0, not a positive integer (--batch-size N overrides it)"),
    ("classify", "evaluate", _set("config", "model", "hidden", 16), "its weights do not fit the model its config"),
]


@pytest.mark.parametrize("case", META_CASES, ids=[f"{c[0]} {c[1]} {c[3][:30]}" for c in META_CASES])
def test_edited_metadata_is_a_clear_error(case, runs, tmp_path, capsys):
    task, command, change, fragment = case
    path = edit_meta(runs / task / "best.safetensors", change, tmp_path / "edited.safetensors")
    argv = {"evaluate": ["evaluate", "--checkpoint", str(path), "--device", "cpu"],
            "generate": ["generate", "--checkpoint", str(path), "--prefix", "the", "--num-tokens", "3"],
            "translate": ["translate", "--checkpoint", str(path), "go ."],
            "forecast": ["forecast", "--checkpoint", str(path), "--steps", "3"],
            "classify": ["classify", "--checkpoint", str(path)]}[command]
    _bad(argv, capsys, f"checkpoint {str(path)!r} is corrupted or not a seqlab checkpoint", fragment,
         "use the other of best/last, or retrain")


@pytest.mark.parametrize("task,key", [("lm", "rng"), ("lm", "batch_rng"), ("translate", "epoch"),
                                      ("forecast", "best_valid_loss"), ("classify", "best_valid_accuracy"),
                                      ("lm", "config")])
def test_resume_from_edited_metadata_is_a_clear_error(task, key, fx, run_copy, capsys):
    out = run_copy(task)
    edit_meta(out / "last.safetensors", _drop(key))
    err = _refused_untouched(out, _argv(task, fx, out, "--resume", "--epochs", "2"), capsys,
                             "is corrupted or not a seqlab checkpoint", f"its metadata has no {key!r}",
                             "continue from the run's other checkpoint with --resume-from best", "--overwrite")
    assert "use the other of best/last" not in err  # what --resume does is said in its own words


@pytest.mark.parametrize("task", TASKS)
def test_resume_from_a_truncated_last_says_what_resume_can_do(task, fx, run_copy, capsys):
    # "use the other of best/last, or retrain" is evaluate's advice: --resume is told its own flag
    out = run_copy(task)
    blob = (out / "last.safetensors").read_bytes()
    (out / "last.safetensors").write_bytes(blob[:len(blob) // 2])
    err = _refused_untouched(out, _argv(task, fx, out, "--resume", "--epochs", "2"), capsys,
                             "--resume: checkpoint", "is corrupted or truncated",
                             "continue from the run's other checkpoint with --resume-from best", "--overwrite")
    assert "use the other of best/last" not in err


def test_batch_size_flag_overrides_an_edited_eval_batch_size(runs, tmp_path, capsys):
    # what the message above says: --batch-size replaces the checkpoint's eval_batch_size
    path = edit_meta(runs / "lm" / "best.safetensors", _set("config", "train", "eval_batch_size", -2),
                     tmp_path / "edited.safetensors")
    _ok(["evaluate", "--checkpoint", str(path), "--device", "cpu", "--batch-size", "2"], capsys)


@pytest.mark.parametrize("task", ["lm", "translate", "classify"])
def test_resume_keeps_the_runs_lr_and_clip_when_the_command_leaves_them_out(task, fx, tmp_path, capsys):
    # --resume may change --lr and --clip; left out, they are the run's own, not the defaults
    # (a run trained at --lr 0.05 went on at the default without a word)
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.metrics import read_metrics

    out = tmp_path / "run"
    _ok(_argv(task, fx, out, "--lr", "0.05", "--clip", "0.5"), capsys)
    _ok(_argv(task, fx, out, "--resume", "--epochs", "2"), capsys)
    train = load_checkpoint(out, "last").meta["config"]["train"]
    assert (train["lr"], train["clip"]) == (0.05, 0.5)
    if task != "classify":  # classify's per-epoch cosine moves the rate
        assert [r["lr"] for r in read_metrics(out / "metrics.jsonl")] == [0.05, 0.05]
    # given, they change, and the change is said
    _ok(_argv(task, fx, out, "--resume", "--epochs", "3", "--clip", "0.25", "--lr", "0.025"), capsys)
    train = load_checkpoint(out, "last").meta["config"]["train"]
    assert (train["lr"], train["clip"]) == (0.025, 0.25)


def test_resume_says_a_changed_clip_and_lr(fx, tmp_path, capsys):
    from seqlab.cli import main as cli_main

    out = tmp_path / "run"
    _ok(_argv("lm", fx, out, "--lr", "0.5"), capsys)
    assert cli_main(_argv("lm", fx, out, "--resume", "--epochs", "2", "--clip", "0.25", "--lr", "0.25")) == 0
    printed = capsys.readouterr().out
    assert "--clip 0.25 instead of the run's 1: gradients are clipped at the new threshold from here on" in printed
    assert "--lr 0.25 instead of the run's 0.5: the learning rate goes from 0.5 to 0.25" in printed


def test_given_keys_are_the_flags_and_the_config_files(tmp_path):
    import argparse

    from seqlab.config import given_keys

    toml = tmp_path / "c.toml"
    toml.write_text('[train]\nlr = 20.0\n[model]\nhidden = 8\n')
    assert given_keys(argparse.Namespace(config=str(toml), epochs=3)) == {"lr", "hidden", "epochs"}
    assert given_keys(argparse.Namespace(clip=0.5)) == {"clip"}


def test_resume_says_clipping_turned_off(fx, tmp_path, capsys):
    from seqlab.cli import main as cli_main

    out = tmp_path / "run"
    _ok(_argv("classify", fx, out), capsys)
    assert cli_main(_argv("classify", fx, out, "--resume", "--epochs", "2", "--clip", "0")) == 0
    assert "--clip 0 instead of the run's 1: gradients are not clipped from here on" in capsys.readouterr().out
    # the LM's --clip 0 is clipping off too (it was refused, after saying "gradients are not clipped")
    _ok(_argv("lm", fx, tmp_path / "lm"), capsys)
    assert cli_main(_argv("lm", fx, tmp_path / "lm", "--resume", "--epochs", "2", "--clip", "0")) == 0
    assert "--clip 0 instead of the run's 1: gradients are not clipped from here on" in capsys.readouterr().out


def test_resume_after_a_killed_overwrite_keeps_the_runs_lr(fx, tmp_path, capsys, monkeypatch):
    # --resume reads the run's --lr before the old run is put back: it found no last.safetensors and
    # went on at the default rate, saying "--lr 1 instead of the run's 0.25"
    from seqlab.training.metrics import read_metrics

    out = tmp_path / "lr_run"
    _ok(_argv("lm", fx, out, "--lr", "0.25"), capsys)
    _killed_overwrite(out, monkeypatch)
    code = main(_argv("lm", fx, out, "--epochs", "2", "--resume"))
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    assert "instead of the run's" not in captured.out + captured.err
    assert [r["lr"] for r in read_metrics(out / "metrics.jsonl")] == [0.25, 0.25]
