"""Guards every training loop shares: stop signals and non-finite losses.

    with StopSignals() as stop:
        for step, batch in ...:
            loss = ...
            if not check_finite(loss, epoch=e, step=step, skip=cfg.skip_nonfinite, lr=cfg.lr, rate=rate):
                continue                      # skipped, as asked
            ...
            if stop.requested:
                raise interrupted(stop, epoch, cfg.run)   # the last checkpoint is the previous epoch's
"""

from __future__ import annotations

import math
import signal
import threading
import time
from pathlib import Path
from types import FrameType

import torch

from seqlab.errors import SeqlabError


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM arrived between steps; the checkpoints of the finished epochs are kept.

    `what` says what stopped, `advice` how to go on (`str(self)` is both). The CLI prints
    `line(notes)` and exits `exit_code`: 128 + the signal's number, the code a shell gives a
    process that signal ended (130 for SIGINT, 143 for SIGTERM; 130 where none is known)."""

    def __init__(self, what: str, advice: str = "", signum: int | None = None) -> None:
        super().__init__(f"{what}; {advice}" if advice else what)
        self.what, self.advice, self.signum = what, advice, signum

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum or signal.SIGINT)

    def line(self, notes=()) -> str:
        """The one line the CLI prints: what stopped, `notes` (an --overwrite's old run put back,
        which the advice then takes as said), how to go on."""
        return "; ".join([self.what, *notes, *([self.advice] if self.advice else [])])


class StoppedAtOnce(KeyboardInterrupt):
    """A second SIGINT/SIGTERM: the run stops at once, mid-step (nothing more is saved).
    A KeyboardInterrupt, as Ctrl-C's; `signum` gives the CLI its exit code (128 + it)."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.signum = signum


class NonFiniteLoss(SeqlabError):
    """The loss or the gradient norm became NaN or infinite."""


class StopSignals:
    """Turn SIGINT and SIGTERM into a flag the loop checks between steps, so that the
    current step finishes and a checkpoint can be written. A second signal stops at once.

    Under torchrun the agent passes a signal it gets on to each rank's process group in turn, so one
    rank can learn of the stop from another (`join`, through the reduced flag) and leave the loop
    before its own copy arrives. That copy is not a second signal: `__exit__` waits for it, at most
    FORWARDED_WAIT_S seconds, with the handlers still set; without the wait it would come after they
    were restored and end the process as a plain Ctrl-C or `kill` does (`seqlab: interrupted`, or no
    line at all for SIGTERM) while the other ranks stop in order."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    # the agent signals the ranks one after another in a loop: milliseconds apart (measured 1-55 ms on a
    # busy 2-core machine); a rank that another rank's signal alone stopped (`kill -INT <one rank>`)
    # leaves this much later
    FORWARDED_WAIT_S = 2.0

    def __init__(self) -> None:
        self.signum: int | None = None  # the signal the run stops for: this process's, or another rank's
        self.received: int | None = None  # the one this process got
        self._old: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def join(self, signum: int) -> None:
        """Another rank got `signum`: stop for it too (this process's own signal, if any, comes first)."""
        if self.signum is None:
            self.signum = int(signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None:  # asked twice: stop now
            raise StoppedAtOnce(signum)
        self.received = signum
        if self.signum is None:
            self.signum = signum

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self._old and self.signum is not None and self.received is None:  # (only ever after a `join`)
                deadline = time.monotonic() + self.FORWARDED_WAIT_S
                while self.received is None and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            for sig, old in self._old.items():
                signal.signal(sig, old)
            self._old.clear()


def nonfinite_advice(epoch: int, lr: float | None = None, *, rate: float | None = None,
                     clip: float | None = None, skipping: bool = False) -> str:
    """How to go on after a stop for a non-finite loss in `epoch` (from 1): what to change, from where.

    `lr` is the run's --lr and `rate` the learning rate its schedule had reached (--lr scales
    the whole schedule on --resume: schedules.rescale_lr); `clip` the run's --clip (0: off;
    None: the task has none); `skipping`: --skip-nonfinite was on already. Checkpoints are
    written at epoch ends and a bad epoch writes none, so the previous epoch's is the last good one.
    """
    if lr is None:
        lower = "a lower --lr"
    elif rate is None or math.isclose(rate, lr, rel_tol=1e-6):
        lower = f"a lower --lr (now {lr:g})"
    else:
        lower = f"a lower --lr (the run's is {lr:g}, which its schedule had brought to {rate:.3g} here)"
    fixes = [lower]
    if clip is not None:
        fixes.append(f"a smaller --clip (now {clip:g})" if clip > 0 else "--clip 1 to clip gradients (now off)")
    fixes += [] if skipping else ["--skip-nonfinite to skip such steps"]
    options = ", ".join(fixes[:-1]) + f" or {fixes[-1]}" if len(fixes) > 1 else fixes[0]
    if epoch > 1:
        return (f"the checkpoint of epoch {epoch - 1} (last.safetensors) is kept: continue from it with the same "
                f"command plus --resume (not --overwrite) and {options}")
    return f"no epoch had finished, so there is no checkpoint: rerun the same command with {options}"


def all_skipped(epoch: int, lr: float | None = None, *, rate: float | None = None,
                clip: float | None = None) -> NonFiniteLoss:
    """The error for an epoch whose every step --skip-nonfinite skipped (nothing was learnt)."""
    return NonFiniteLoss(f"every step of epoch {epoch} was non-finite and skipped; "
                         f"{nonfinite_advice(epoch, lr, rate=rate, clip=clip, skipping=True)}")


def check_finite(value: torch.Tensor | float, *, epoch: int, step: int | None = None, skip: bool = False,
                 lr: float | None = None, rate: float | None = None, clip: float | None = None,
                 what: str = "loss") -> bool:
    """True if `value` is finite. Otherwise False when `skip`, else a NonFiniteLoss that
    names the step and says how to go on (nonfinite_advice: `lr`, `rate`, `clip`)."""
    v = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
    if math.isfinite(v):
        return True
    if skip:
        return False
    where = f"epoch {epoch}" + (f" step {step}" if step is not None else "")
    raise NonFiniteLoss(f"the {what} became {v} at {where}; "
                        f"{nonfinite_advice(epoch, lr, rate=rate, clip=clip)}")


class StepGuard:
    """Per-step check of the loss and gradient norm, for one epoch of a training loop.

        guard = StepGuard(skip=cfg.skip_nonfinite, eager=device.type == "cpu", epoch=e, lr=cfg.lr, clip=cfg.clip)
        ...
        loss.backward(); norm = clip_gradients(net, clip)
        if not guard.ok(step, loss, norm, rate):     # rate: the scheduled learning rate of this step
            optimizer.zero_grad(); continue         # skipped (only with skip=True)
        optimizer.step()
        ...
        guard.finish(rate)                           # before anything is saved

    With `skip`, a bad step is skipped (counted in `skipped`); this needs a host sync per
    step. Without it, `eager` stops at once naming the step (a sync per step: free on the
    CPU); otherwise the first bad step is recorded on the device and `finish` stops the
    run at the end of the epoch, naming it, before any checkpoint is written.
    """

    def __init__(self, *, skip: bool, eager: bool, epoch: int, lr: float | None = None,
                 clip: float | None = None) -> None:
        self.skip, self.eager, self.epoch = skip, eager, epoch
        self.lr, self.clip = lr, clip  # the run's --lr and --clip (None: the task has none), for the advice
        self.skipped = 0
        self._first: torch.Tensor | None = None  # lazily: first bad step, -1 if none
        self._rate: float | None = None

    def ok(self, step: int, loss: torch.Tensor, norm: torch.Tensor | None = None, rate: float | None = None) -> bool:
        """False when the step must be skipped; raises NonFiniteLoss (eager) when it must stop."""
        if self.skip or self.eager:
            for value, what in ((loss, "loss"), (norm, "gradient norm")):
                if value is not None and not check_finite(value, epoch=self.epoch, step=step, skip=self.skip,
                                                          lr=self.lr, rate=rate, clip=self.clip, what=what):
                    self.skipped += 1
                    return False
            return True
        finite = torch.isfinite(loss.detach())
        if norm is not None:
            finite = finite & torch.isfinite(norm.detach())
        if self._first is None:
            self._first = torch.full((), -1, dtype=torch.long, device=loss.device)
        self._first = torch.where((self._first < 0) & ~finite, torch.full_like(self._first, step), self._first)
        self._rate = rate
        return True

    def finish(self, rate: float | None = None) -> None:
        """Raise NonFiniteLoss naming the first bad step recorded lazily (no-op otherwise)."""
        if self._first is not None and int(self._first) >= 0:
            advice = nonfinite_advice(self.epoch, self.lr, rate=self._rate if rate is None else rate, clip=self.clip)
            raise NonFiniteLoss(f"the loss or gradient became non-finite at epoch {self.epoch} step "
                                f"{int(self._first)}; {advice}")


def interrupted(stop: StopSignals, epoch: int, run) -> TrainingInterrupted:
    """What a trainer raises after SIGINT/SIGTERM during `epoch` (from 1) of the run `run` (its
    RunConfig: out, resume, overwrite): which checkpoint is kept and how to go on.

    Checkpoints are written at epoch ends, with every RNG state, so the interrupted epoch
    is replayed from its beginning exactly as it ran: the resumed run ends bitwise-equal."""
    out = run.out
    if epoch > 1:  # (a resumed run is always here: it goes on after a saved epoch)
        # the same command again: a resumed one has --resume; an --overwrite's would now refuse the
        # run it saved ("give one of them"): --resume replaces it
        # (--resume-from best again would go back to best's epoch, setting aside what was saved since)
        how = ("the same command with --resume in place of --resume-from best"
               if run.resume and getattr(run, "resume_from", "last") == "best" else
               "the same command" if run.resume else
               "the same command with --resume in place of --overwrite" if run.overwrite else
               "the same command and --resume")
        advice = (f"the checkpoint of epoch {epoch - 1} (last.safetensors) is kept in {out}: continue with {how} "
                  f"(epoch {epoch} restarts from its beginning)")
    elif run.overwrite and _run_aside(out):
        # not "no checkpoint in out": the run it was to replace comes back there (the CLI's note
        # before this advice says so; from Python, the next run started on `out` puts it back)
        advice = "rerun the same command (with --overwrite) to start the new run again"
    else:
        advice = f"no epoch had finished, so there is no checkpoint in {out}: rerun the same command without --resume"
    return TrainingInterrupted(f"stopped by {stop.name or 'a signal'} during epoch {epoch}", advice, stop.signum)


def _run_aside(out) -> bool:
    from seqlab.training.run_folder import holds_aside  # (run_folder reads checkpoints: imported when needed)

    return holds_aside(Path(out))


def resumed_note(out, done: int, epochs: int, *, from_best: bool = False) -> str:
    """The line a resumed run logs: where it goes on from, or that --epochs leaves nothing to train.
    `from_best` (--resume-from best, said on every process before rank 0 rewinds the folder): a rewind
    that would replace an earlier one's backups is refused, and so is nothing to train where the
    rewind would set epochs aside (and train none again)."""
    from seqlab.training.checkpoint_resume import check_rewind

    if from_best and check_rewind(out) and done >= epochs:
        raise SeqlabError(f"--resume-from best goes on after best's epoch {done} and --epochs is {epochs}: "
                          f"nothing would train (and the later epochs would be set aside): give --epochs above "
                          f"{done}; nothing in {str(out)!r} was changed")
    if done >= epochs:
        return (f"the run in {str(out)!r} has trained {done} epochs and --epochs is {epochs}: nothing to train "
                f"(give --epochs above {done} to go on)")
    left = f"epoch {epochs}" if done + 1 == epochs else f"epochs {done + 1}-{epochs}"
    return f"resuming {str(out)!r} after epoch {done}: {left} to train"
