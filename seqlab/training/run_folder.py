"""A run's --out folder: what makes one a run, refusing to train over one, and --overwrite.

A new run refuses a folder that holds a run unless --resume continues it or --overwrite replaces
it. --overwrite keeps the run it replaces until the new run has a checkpoint to replace it with
(ASIDE below), so a new run that stops early loses nothing. A training process holds its folder's
lock (`lock_run_folder`) from its first look at it to its end: a second one started on the same
--out, which would interleave two runs' checkpoints and log, or put an --overwrite's old run back
under a live new one, is refused.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from seqlab.errors import SeqlabError
from seqlab.fileio import atomic_write_bytes, probe_writable, replace_file
from seqlab.training.checkpoint import NAMES
from seqlab.training.checkpoint_meta import peek_epoch
from seqlab.training.checkpoint_resume import SET_ASIDE, holds_optimizer, rewind_to_best
from seqlab.training.distributed import is_main_process

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not locked
    fcntl = None

# The files that make a folder a run: a new run refuses such a folder without --resume or --overwrite.
RUN_FILES = ("last.safetensors", "best.safetensors", "metrics.jsonl")
# Every file a run writes in its --out folder (the trainers' plots, forecast's report.json, what
# --resume-from best set aside): what --overwrite moves aside as one, so that a folder never mixes
# one run's plots with another's log.
RUN_OUTPUTS = RUN_FILES + ("report.json", "perplexity.png", "loss.png", "accuracy.png", "one_step.png",
                           "multistep.png", "k_step.png") + SET_ASIDE
# --overwrite keeps the run it replaces until the new run has a checkpoint to replace it with:
#
#   out/                  the new run writes here as usual
#     .overwritten/       the old run's RUN_OUTPUTS, moved here at start-up (open_run_folder)
#       MOVED             written once all of them are in; holds what the old run was
#
# The new run's first checkpoint (save_checkpoint) removes the folder. A run that ends before it
# (a signal, an error, a non-finite stop) has the old files put back by the CLI
# (restore_overwritten), or, after a kill -9, by the next run started on that --out (check_run_folder).
ASIDE = ".overwritten"
_MOVED = "MOVED"
# This process's --out folders whose old run is aside (by resolved path: the folder as given).
_aside_now: dict[Path, Path] = {}
# This process's locked --out folders, by (device, inode): a folder removed and made again is
# another folder. The value is the open descriptor holding the flock.
_locked: dict[tuple[int, int], int] = {}
# The --out folder this process opened last (open_run_folder): the CLI names its metrics.jsonl when
# stdout's reader goes away mid-run (seqlab.cli.console.outlive_readers). Cleared with the locks.
_opened: list[Path] = []


def lock_run_folder(folder: str | Path) -> None:
    """Hold `folder`'s lock (an flock on the folder itself: no file is written) until the training
    function that took it returns (`releases_run_folder`) or this process ends; an existing folder
    only. The OS drops the lock of a process that dies however it dies (kill -9 too), so a stale lock
    cannot block a folder. Where no lock can be taken (NFS refuses flock on a folder, a folder that
    may be written but not read), the run goes on unlocked, with a warning."""
    folder = Path(folder)
    if fcntl is None or not folder.is_dir():
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as exc:
        _cannot_lock(folder, exc)
        return
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) in _locked:
        os.close(fd)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise SeqlabError(f"another seqlab process is training in {str(folder)!r} (it holds the folder's "
                              "lock): wait for it to end or stop it, or choose another --out") from None
        _cannot_lock(folder, exc)
        return
    _locked[(st.st_dev, st.st_ino)] = fd


def _cannot_lock(folder: Path, exc: OSError) -> None:
    warnings.warn(f"seqlab: cannot lock the output folder {str(folder)!r} ({exc.strerror or exc}): a second run "
                  "started on it would not be refused", RuntimeWarning, stacklevel=3)


def release_run_folders() -> None:
    """Let go of every folder this process locked (the CLI calls this when a command ends)."""
    _opened.clear()
    while _locked:
        os.close(_locked.popitem()[1])


def opened_run_folder() -> Path | None:
    """The --out folder this process's training opened last (None before one is opened)."""
    return _opened[-1] if _opened else None


def releases_run_folder(fit):
    """Decorates a training function: the folders it locked are let go when it returns or fails
    (a notebook that trained once must not keep every other process off that folder)."""
    @functools.wraps(fit)
    def wrapper(*args, **kwargs):
        before = set(_locked)
        try:
            return fit(*args, **kwargs)
        finally:
            for key in set(_locked) - before:
                os.close(_locked.pop(key))
    return wrapper


def check_writable(folder: str | Path) -> Path:
    """Make sure a run can write into `folder` (created if missing), before it starts training."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe_writable(folder)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.is_file()), None)
        why = f"{str(blocker)!r} is a file, not a folder" if blocker else exc.strerror or exc
        raise SeqlabError(f"cannot write to the output folder {str(folder)!r} ({why}): "
                          "choose a writable --out") from None
    return folder


def holds_aside(folder: Path) -> bool:
    """Whether an --overwrite moved the run in `folder` aside and has not yet dropped or restored it."""
    return (folder / ASIDE / _MOVED).exists()


def aside_checkpoint(folder: Path, which: str = "last") -> Path | None:
    """The `which` checkpoint (last or best) of the run an --overwrite moved aside in `folder` (None
    if there is none). With MOVED or without it (killed mid-move, or while putting the run back), what
    is aside goes back into the folder when the next run settles it (_settle_aside): it is the run's."""
    path = folder / ASIDE / f"{which}.safetensors"
    return path if path.is_file() else None


def aside_note(folder: Path) -> str:
    """What find_checkpoint adds when `folder` has no checkpoint because an --overwrite moved its run aside."""
    if not (folder / ASIDE / _MOVED).exists():
        return ""
    return (f" (an --overwrite run moved the previous run's files to {str(folder / ASIDE)!r} until it saves its "
            "first checkpoint)")


def _logged_epochs(path: Path) -> int:
    """How many non-empty lines a metrics.jsonl holds (0 if it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    except OSError:
        return 0


def describe_run(folder: str | Path) -> str | None:
    """What makes `folder` a run ("last.safetensors, epoch 3"), or None where it holds none.

    An empty metrics.jsonl is no run: a run stopped during its first epoch leaves one, and
    says to rerun without --resume.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    for name in ("last.safetensors", "best.safetensors"):
        if (folder / name).exists():
            epoch = peek_epoch(folder / name)
            return name if epoch is None else f"{name}, epoch {epoch}"
    logged = _logged_epochs(folder / "metrics.jsonl") if (folder / "metrics.jsonl").is_file() else 0
    if logged:
        return f"metrics.jsonl, {logged} epoch{'s' if logged > 1 else ''} logged"
    return None


def check_run_folder(run: Any, log=print) -> None:
    """Before anything is written: refuse a new run in an --out that holds one (a RunConfig `run`).

    Training there would replace the other run's checkpoints and log; --resume continues it,
    --overwrite replaces it on purpose. A run an earlier --overwrite had moved aside, whose
    process was killed before the new run's first checkpoint, is put back first (see ASIDE).
    """
    if getattr(run, "resume_from", "last") == "best" and not run.resume:  # (from Python: the CLI's flag implies it)
        raise SeqlabError("resume_from='best' continues the run in out from its best.safetensors: set resume=True "
                          "too (RunConfig(resume=True, resume_from='best'); the CLI's --resume-from implies --resume)")
    if run.resume and run.overwrite:
        flag = "--resume-from best" if getattr(run, "resume_from", "last") == "best" else "--resume"
        raise SeqlabError(f"{flag} continues the run in --out and --overwrite replaces it: give one of them")
    if is_main_process() and Path(run.out).is_dir():  # rank 0 alone writes (the others may read meanwhile)
        lock_run_folder(run.out)  # first: the aside below may be a live run's
        _settle_aside(Path(run.out), log)
    if run.resume or run.overwrite:
        return
    held = describe_run(run.out)
    if held is None:
        return
    # without last.safetensors, best alone is resumed from, where it holds the optimiser's state (a
    # best of an earlier seqlab does not: see resume_checkpoint)
    out = Path(run.out)
    fix = ("pass --resume to continue it, --overwrite to replace it" if (out / "last.safetensors").exists() else
           "pass --resume-from best to continue it, --overwrite to replace it"
           if holds_optimizer(out / "best.safetensors") else "pass --overwrite to replace it")
    raise SeqlabError(f"{str(run.out)!r} already holds a run ({held}): {fix}, or choose another --out "
                      "(from Python: RunConfig's resume, overwrite or out)")


def open_run_folder(run: Any, log=print) -> Path:
    """Make `run.out` ready to write (see check_writable); with --overwrite, move the files of the
    run it held aside (ASIDE) until this run's first checkpoint replaces them; with --resume-from
    best, set aside the epochs after best's (checkpoint_resume.rewind_to_best)."""
    folder = check_writable(run.out)
    lock_run_folder(folder)  # (a no-op where check_run_folder locked it: a folder made just now)
    _opened[:] = [folder]
    if run.resume and getattr(run, "resume_from", "last") == "best":
        rewind_to_best(folder)
    if not (run.overwrite and not run.resume):
        return folder
    _settle_aside(folder, log)  # an earlier --overwrite's leftovers (open_run_folder called alone)
    held = [name for name in RUN_OUTPUTS if (folder / name).exists()]
    if not held:
        return folder
    what = describe_run(folder) or ", ".join(held)
    aside = folder / ASIDE
    try:
        aside.mkdir()
        for name in held:
            replace_file(folder / name, aside / name)
        atomic_write_bytes(aside / _MOVED, what.encode())  # only now may the new run write
    except OSError as exc:
        try:
            _settle_aside(folder, log)  # what moved goes back
        except OSError:
            pass
        raise SeqlabError(f"--overwrite: cannot move the run in {str(folder)!r} aside to {str(aside)!r} "
                          f"({exc.strerror or exc}): remove its files yourself or choose another --out") from None
    _aside_now[folder.resolve()] = folder
    log(f"--overwrite: the run in {folder} ({what}) is moved to {aside} and removed when this run saves its "
        "first checkpoint; if this run stops before that, it is put back")
    return folder


def restore_overwritten(log=print) -> None:
    """Put back each run an --overwrite of this process moved aside, where the new run ended
    before its first checkpoint (the CLI calls this when a command ends, however it ends)."""
    for key in list(_aside_now):
        folder = _aside_now.pop(key)
        try:
            _settle_aside(folder, log)
        except OSError as exc:
            log(f"--overwrite: cannot put back the run moved to {str(folder / ASIDE)!r} ({exc.strerror or exc}): "
                f"its files are there; move them back into {str(folder)!r} yourself")


def _has_checkpoint(folder: Path) -> bool:
    return any((folder / f"{name}.safetensors").exists() for name in NAMES)


def _settle_aside(folder: Path, log) -> None:
    """Finish what an --overwrite left in `folder`: a new checkpoint there replaces the run aside
    (removed); without one, the run aside is put back and the new run's log and plots removed.

    Each step leaves a state this resolves the same way when run again after a crash: MOVED is
    written after the last file went in, and removed before the first one comes back."""
    aside = folder / ASIDE
    if not aside.is_dir():
        return
    marker, what = aside / _MOVED, None
    if marker.exists():
        if _has_checkpoint(folder):
            drop_replaced_run(folder)
            return
        what = marker.read_text(errors="replace")
        for name in RUN_OUTPUTS:  # the new run's, none a checkpoint: no epoch of it was saved
            (folder / name).unlink(missing_ok=True)
        marker.unlink()
    for path in aside.iterdir():  # without MOVED the folder holds none of these names
        replace_file(path, folder / path.name)
    aside.rmdir()
    if what is not None:
        log(f"--overwrite: the new run in {folder} stopped before its first checkpoint, so the run it was to "
            f"replace ({what}) is put back there")


def drop_replaced_run(folder: Path) -> None:
    """The new run in `folder` saved a checkpoint: remove the run it replaces (MOVED last)."""
    aside = folder / ASIDE
    marker = aside / _MOVED
    if not marker.exists():
        return
    _aside_now.pop(folder.resolve(), None)
    try:
        for path in aside.iterdir():
            if path.name != _MOVED:
                path.unlink()
        marker.unlink()
        aside.rmdir()
    except OSError as exc:  # the new checkpoint is safe; only the old files stay behind
        print(f"seqlab: warning: cannot remove {str(aside)!r}, the files of the run --overwrite replaced "
              f"({exc.strerror or exc}): remove it yourself", file=sys.stderr)
