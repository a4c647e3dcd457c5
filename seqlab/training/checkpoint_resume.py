"""--resume: a run's `last` (or, --resume-from, `best`) checkpoint read back to continue the run
(`resume_checkpoint`; going on from best sets the later epochs aside: `rewind_to_best`), the
settings a resumed run may change (RESUMABLE, `check_resume_config`; those it keeps unless a flag
changes them: RUN_KEEPS), and its optimiser's and schedule's state at the rate of a new --lr
(`load_optimizer`). The file format, and reading a checkpoint's metadata for a task: checkpoint.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

import torch

from seqlab.config import flat_dict
from seqlab.errors import SeqlabError
from seqlab.fileio import atomic_write_bytes, replace_file
from seqlab.training.checkpoint import (NAMES, RESUME_META, Checkpoint, _check_meta, expect_task, load_checkpoint,
                                       task_config)
from seqlab.training.checkpoint_meta import peek_epoch, peek_meta
from seqlab.training.schedules import rescale_lr

# The settings a resumed run may change: how long it trains, where and how fast it runs, what it
# logs. Any other one (data, model, optimiser, schedule, seed) would silently train another run.
# lr and clip may change too (e.g. lower after a non-finite stop): from the resumed epoch on, see
# schedules.rescale_lr.
RESUMABLE = frozenset({"epochs", "device", "fast", "out", "resume", "resume_from", "overwrite", "time_limit_s",
                       "skip_nonfinite", "bleu_every", "bleu_sentences", "lr", "clip"})
# Of those, the ones of how the run learns stay the run's unless a flag of the resuming command
# changes them: left out, the run's (not the default); set in its --config file alone, the run's
# too, said (`kept_note`: the CLI's train_config). A run resumed at a lower --lr after a NaN, or with
# --skip-nonfinite, must not go back to the config's rate, or stop again, on its next plain --resume.
# The others are this command's (how long it trains, where, what it logs) and are read as any
# command reads them: a config's epochs is the length it asks for.
RUN_KEEPS = ("lr", "clip", "skip_nonfinite")
# Settings that may not change, which a resume that leaves them out (no flag, no config key) takes from
# the run rather than from the defaults: a run saved before weight_decay could be unset (none: the
# optimiser's default) holds 0.0, which an adamw resume must not read as 0.01.
RUN_FILLS = ("weight_decay",)


def resume_checkpoint(out: str | Path, task: str, which: str = "last") -> Checkpoint:
    """The run folder's `which` checkpoint (last or best: --resume-from), to continue the run (--resume).

    Both hold the optimiser's state (checkpoint.save_epoch), except a best written by a seqlab
    before they did, which is refused with what to do. A run stopped between writing its first
    epoch's best and last files has best alone: a plain --resume is told of --resume-from best.
    """
    if which not in NAMES:
        raise SeqlabError(f"--resume-from {which}: give last or best")
    out = Path(out)
    path = out / f"{which}.safetensors"
    if not path.is_file():
        raise _missing(out, which)
    try:
        ckpt = load_checkpoint(path, resuming=True)
    except SeqlabError as exc:
        raise SeqlabError(f"--resume: {exc}") from None
    expect_task(ckpt, task)
    if ckpt.optimizer is None:
        raise _no_optimizer(out, which)
    return ckpt


def _missing(out: Path, which: str) -> SeqlabError:
    """The error for a run folder without its `which` checkpoint."""
    other = "best" if which == "last" else "last"
    if which == "last" and (out / "best.safetensors").is_file():
        if holds_optimizer(out / "best.safetensors"):
            return SeqlabError(f"--resume: {str(out)!r} has best.safetensors but no last.safetensors (the run stopped "
                               "while writing an epoch's checkpoints): continue from best with --resume-from best, "
                               "or train again with --overwrite")
        return SeqlabError(f"--resume: {str(out)!r} has best.safetensors but no last.safetensors (the run stopped "
                           "while writing its first epoch's checkpoints), and best, written by an older seqlab, holds "
                           "no optimiser state to continue from: train again with --overwrite instead of --resume")
    if (out / f"{other}.safetensors").is_file():
        flag = "--resume" if other == "last" else "--resume-from best"
        return SeqlabError(f"--resume-from {which}: {str(out)!r} has no {which}.safetensors: continue from "
                           f"{other}.safetensors with {flag}, or train again with --overwrite")
    return SeqlabError(f"--resume given but there is no checkpoint in {str(out)!r} to resume from: "
                       "train without --resume first (or point --out at an earlier run)")


def _no_optimizer(out: Path, which: str) -> SeqlabError:
    """The error for a `which` checkpoint that holds no optimiser state (a best written before
    best held one, or a file saved by hand): a run cannot go on from weights alone."""
    path = str(out / f"{which}.safetensors")
    if which == "best":
        fix = ("resume from last.safetensors with --resume instead" if (out / "last.safetensors").is_file()
               else "train again with --overwrite")
        return SeqlabError(f"--resume-from best: {path!r} holds no optimiser state (an earlier seqlab wrote best "
                           f"with the weights alone), so the run cannot go on from it: {fix}")
    return SeqlabError(f"{path!r} holds no optimiser state: it cannot be resumed; train again without --resume")


def holds_optimizer(path: Path) -> bool:
    """Whether the checkpoint at `path` holds optimiser state (read from its header alone)."""
    return "optimizer" in (peek_meta(path) or {})


# Where --resume-from best sets aside what the run did after best's epoch (`rewind_to_best`): its log
# and its last checkpoint, by name
SET_ASIDE = ("metrics.jsonl.bak", "last.safetensors.bak")
_BACKUP = dict(zip(("metrics.jsonl", "last.safetensors"), SET_ASIDE))


def rewind_to_best(out: str | Path) -> None:
    """--resume-from best, once the resume is accepted (run_folder.open_run_folder): the run in `out`
    goes back to best's epoch, and what it did after that epoch is set aside, not lost.

    A metrics.jsonl with rows after best's epoch is copied whole to metrics.jsonl.bak (the trainer's
    log then drops those rows, as every resume drops the rows after its checkpoint's epoch); a last
    of another epoch (or a damaged one) is moved to last.safetensors.bak, and best copied to last.
    Each step is atomic and leaves a run at a known epoch: killed after the last one, the folder is
    a run at best's epoch that a plain --resume continues; killed before, --resume-from best again."""
    from seqlab.training.common import warn

    out = Path(out)
    best, last, metrics = (out / name for name in ("best.safetensors", "last.safetensors", "metrics.jsonl"))
    epoch, last_epoch, later, moved = _rewind_plan(out)
    if last_epoch == epoch and not later:
        return  # best is the run's last epoch: nothing to set aside
    log_bytes = metrics.read_bytes() if later else None
    _refuse_replacing_a_backup(out, epoch, log_bytes, moved)
    try:
        if later:
            atomic_write_bytes(out / _BACKUP[metrics.name], log_bytes)
        if moved:
            replace_file(last, out / _BACKUP[last.name])
        if last_epoch != epoch:
            atomic_write_bytes(last, best.read_bytes())
    except OSError as exc:
        raise SeqlabError(f"--resume-from best: cannot set aside the epochs after best's in {str(out)!r} "
                          f"({exc.strerror or exc}): free the space or fix the permissions, then try again") from None
    what = [f"metrics.jsonl's rows of epochs {_span(later)} (the whole file is copied to metrics.jsonl.bak)"] if later \
        else []
    if moved:
        held = "a damaged file" if last_epoch is None else f"epoch {last_epoch}"
        what.append(f"last.safetensors ({held}, moved to last.safetensors.bak)")
    if what:
        warn(f"--resume-from best goes on from epoch {epoch}, best.safetensors; set aside: {' and '.join(what)}")


def _rewind_plan(out: Path) -> tuple[int, int | None, list[int], bool]:
    """What a rewind of `out` to best would do: best's epoch, last's (None: missing or damaged), the
    logged epochs after best's, and whether last is moved aside."""
    from seqlab.training.metrics import read_metrics

    best, last, metrics = (out / name for name in ("best.safetensors", "last.safetensors", "metrics.jsonl"))
    epoch = peek_epoch(best)
    last_epoch = peek_epoch(last) if last.is_file() else None
    later = ([r.get("epoch") for r in read_metrics(metrics) if isinstance(r.get("epoch"), int) and r["epoch"] > epoch]
             if metrics.is_file() else [])
    return epoch, last_epoch, later, last.is_file() and last_epoch != epoch


def check_rewind(out: str | Path) -> bool:
    """Whether --resume-from best would set anything aside in `out`, refusing (as rewind_to_best does)
    one that would replace an earlier rewind's backups. Reads only: every process of a torchrun run
    asks it before rank 0 rewinds, so that they all stop alike."""
    out = Path(out)
    epoch, last_epoch, later, moved = _rewind_plan(out)
    if not later and not moved:
        return False
    _refuse_replacing_a_backup(out, epoch, (out / "metrics.jsonl").read_bytes() if later else None, moved)
    return True


def _refuse_replacing_a_backup(out: Path, epoch: int, log_bytes: bytes | None, moved: bool) -> None:
    """A second --resume-from best must not replace what the first set aside (the epochs after an
    earlier best would be lost). A metrics.jsonl.bak equal to the log it would hold is this rewind's own,
    from a try killed before its last step: that one is written again."""
    needed = ((_BACKUP["metrics.jsonl"], log_bytes is not None), (_BACKUP["last.safetensors"], moved))
    held = [name for name, writes in needed if writes and (out / name).exists()]
    if held and held[0] == _BACKUP["metrics.jsonl"] and (out / held[0]).read_bytes() == log_bytes:
        held = held[1:]
    if held:
        names = " and ".join(held)
        raise SeqlabError(f"--resume-from best would set aside the epochs after epoch {epoch} into {names} in "
                          f"{str(out)!r}, which already hold{'s' if len(held) == 1 else ''} what an earlier "
                          f"--resume-from best set aside: move {'it' if len(held) == 1 else 'them'} out of the "
                          "folder first (or delete, if not needed), then run the command again")


def _span(epochs: list[int]) -> str:
    lo, hi = min(epochs), max(epochs)
    return f"{lo}-{hi}" if hi > lo else str(lo)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def check_resume_config(ckpt: Checkpoint, cfg: Any, out: str | Path, saved: Any = None, *,
                        say_model: bool = False) -> Any:
    """Refuse to resume the run in `out` with settings other than those it was trained with.

    Only the RESUMABLE ones may change (e.g. --epochs, to train longer). Every task's --resume
    calls this before loading the optimiser state, which would otherwise crash on another
    optimiser (a KeyError) or silently keep the old learning rate. Returns the run's config
    (`saved`, when the caller already has it from `task_config`). `say_model`: a change in
    `cfg.model` is called "a different model" (the LM's --resume said so before it said which).
    """
    task = ckpt.meta.get("task")
    _check_meta(ckpt, RESUME_META.get(task, {}))
    if saved is None:
        saved = task_config(ckpt, type(cfg), task)
    before, now = _decay_resolved(flat_dict(saved)), _decay_resolved(flat_dict(cfg))
    changed = [k for k in now if k not in RESUMABLE and before.get(k) != now[k]]
    if changed:
        was = ", ".join(f"{k} {_show(before.get(k))}" for k in changed)
        new = ", ".join(f"{k} {_show(now[k])}" for k in changed)
        other = " (a different model)" if say_model and any(k in flat_dict(cfg.model) for k in changed) else ""
        raise SeqlabError(f"--resume: the run in {str(out)!r} was trained with {was}; now {new}{other}. Resume with "
                          "the run's settings, or start a new run (another --out, or --overwrite)")
    return saved


def _decay_resolved(settings: dict) -> dict:
    """`settings` with weight_decay as the decay its optimiser applies: unset (none) and the optimiser's
    default are one setting (a run from before none existed holds 0.0 for sgd and adam)."""
    if "weight_decay" in settings and "optimizer" in settings:
        from seqlab.training.common import resolved_weight_decay

        settings["weight_decay"] = resolved_weight_decay(settings["optimizer"], settings["weight_decay"])
    return settings


def kept_note(key: str, asked: Any, run: Any) -> str:
    """The line saying that a --resume keeps the run's `run` for `key` (one of RUN_KEEPS), where the
    command's --config file sets `asked`, and which flag would change it."""
    flag = "--" + key.replace("_", "-")
    if isinstance(asked, bool):
        return (f"--resume keeps the run's {key} {_show(run)}, not the config file's {_show(asked)}: give "
                f"{flag if asked else '--no-' + flag[2:]} to change it")
    return (f"--resume keeps the run's {key} {run:g}, not the config file's {asked:g}: give {flag} {asked:g} "
            "to change it")


def load_optimizer(ckpt: Checkpoint, optimizer: torch.optim.Optimizer, was: float, now: float, log,
                   scheduler=None, *, clip: tuple[float, float] | None = None, notes: Iterable[str] = ()) -> None:
    """--resume: the optimiser's (and the schedule's) state from `ckpt`, at the rate of a new --lr.

    `was` is the run's --lr, `now` this command's: schedules.rescale_lr scales the loaded state
    by now / was (the schedule keeps its course) and its note goes to `log`; `clip`, (the run's
    --clip, this command's), where the task has one: a change is said first, after `notes` (the
    CLI's kept_note lines, which its train_config hands the trainer), each a `seqlab: note:` on
    stderr. The trainers call this once every refusal of the resume is past: what changes is said
    only of a run that goes on (a refused resume says its error alone, SPEC §12).

    How the step runs is this command's, not the run's: load_state_dict would put back the saved
    groups' `fused` / `foreach` / `capturable` (a CUDA run's fused=True resumed on the CPU or with
    --no-fast, where torch < 2.4 has no such kernel; a CPU run resumed on CUDA not fused)."""
    for line in notes:
        print(f"seqlab: note: {line}", file=sys.stderr)
    state = dict(ckpt.optimizer)
    how = ("fused", "foreach", "capturable", "differentiable")
    if len(state.get("param_groups", ())) == len(optimizer.param_groups):  # (else torch's own error)
        state["param_groups"] = [{**saved, **{k: now_g[k] for k in how if k in now_g}}
                                 for saved, now_g in zip(state["param_groups"], optimizer.param_groups)]
    optimizer.load_state_dict(state)
    if scheduler is not None:
        scheduler.load_state_dict(ckpt.meta["scheduler"])
    if clip is not None and clip[0] != clip[1]:
        then = "gradients are not clipped" if clip[1] == 0 else "gradients are clipped at the new threshold"
        log(f"--clip {clip[1]:g} instead of the run's {clip[0]:g}: {then} from here on")
    note = rescale_lr(optimizer, scheduler, was, now)
    if note:
        log(note)
