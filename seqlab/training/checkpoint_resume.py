"""--resume: a run's `last` checkpoint read back to continue the run (`resume_checkpoint`), the
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
from seqlab.training.checkpoint import RESUME_META, Checkpoint, _check_meta, expect_task, load_checkpoint, task_config
from seqlab.training.schedules import rescale_lr

# The settings a resumed run may change: how long it trains, where and how fast it runs, what it
# logs. Any other one (data, model, optimiser, schedule, seed) would silently train another run.
# lr and clip may change too (e.g. lower after a non-finite stop): from the resumed epoch on, see
# schedules.rescale_lr.
RESUMABLE = frozenset({"epochs", "device", "fast", "out", "resume", "overwrite", "time_limit_s",
                       "skip_nonfinite", "bleu_every", "bleu_sentences", "lr", "clip"})
# Of those, the ones of how the run learns stay the run's unless a flag of the resuming command
# changes them: left out, the run's (not the default); set in its --config file alone, the run's
# too, said (`kept_note`: the CLI's train_config). A run resumed at a lower --lr after a NaN, or with
# --skip-nonfinite, must not go back to the config's rate, or stop again, on its next plain --resume.
# The others are this command's (how long it trains, where, what it logs) and are read as any
# command reads them: a config's epochs is the length it asks for.
RUN_KEEPS = ("lr", "clip", "skip_nonfinite")


def resume_checkpoint(out: str | Path, task: str) -> Checkpoint:
    """The run folder's `last` checkpoint, to continue the run (--resume).

    Only `last` will do: `best` holds no optimiser state. A run stopped between writing its
    first epoch's best and last files has best alone; that is refused with what to do.
    """
    out = Path(out)
    last = out / "last.safetensors"
    if not last.is_file():
        if (out / "best.safetensors").is_file():
            raise SeqlabError(f"--resume: {str(out)!r} has best.safetensors but no last.safetensors (the run "
                              "stopped while writing its first epoch's checkpoints), and best holds no optimiser "
                              "state to continue from: train again with --overwrite instead of --resume")
        raise SeqlabError(f"--resume given but there is no checkpoint in {str(out)!r} to resume from: "
                          "train without --resume first (or point --out at an earlier run)")
    try:
        ckpt = load_checkpoint(last, resuming=True)
    except SeqlabError as exc:
        raise SeqlabError(f"--resume: {exc}") from None
    expect_task(ckpt, task)
    if ckpt.optimizer is None:
        raise SeqlabError(f"{str(last)!r} holds no optimiser state: it cannot be resumed; train again without "
                          "--resume")
    return ckpt


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
    before, now = flat_dict(saved), flat_dict(cfg)
    changed = [k for k in now if k not in RESUMABLE and before.get(k) != now[k]]
    if changed:
        was = ", ".join(f"{k} {_show(before.get(k))}" for k in changed)
        new = ", ".join(f"{k} {_show(now[k])}" for k in changed)
        other = " (a different model)" if say_model and any(k in flat_dict(cfg.model) for k in changed) else ""
        raise SeqlabError(f"--resume: the run in {str(out)!r} was trained with {was}; now {new}{other}. Resume with "
                          "the run's settings, or start a new run (another --out, or --overwrite)")
    return saved


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
