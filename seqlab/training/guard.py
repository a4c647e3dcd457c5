"""Guards every training loop shares: stop signals and non-finite losses.

    with StopSignals() as stop:
        for step, batch in ...:
            loss = ...
            if not check_finite(loss, where=f"epoch {e} step {step}", skip=cfg.skip_nonfinite, lr=lr):
                continue                      # skipped, as asked
            ...
            if stop.requested:
                save last checkpoint; raise TrainingInterrupted(stop.name, resume_hint)
"""

from __future__ import annotations

import math
import signal
import threading
from types import FrameType

import torch

from seqlab.errors import SeqlabError


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was saved. The CLI exits 130 with `str(self)`."""


class NonFiniteLoss(SeqlabError):
    """The loss or the gradient norm became NaN or infinite."""


class StopSignals:
    """Turn SIGINT and SIGTERM into a flag the loop checks between steps, so that the
    current step finishes and a checkpoint can be written. A second signal stops at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:  # asked twice: stop now
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


def check_finite(value: torch.Tensor | float, *, where: str, skip: bool = False, lr: float | None = None,
                 what: str = "loss") -> bool:
    """True if `value` is finite. Otherwise False when `skip`, else a NonFiniteLoss that
    names the step and suggests a fix."""
    v = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
    if math.isfinite(v):
        return True
    if skip:
        return False
    lr_text = f" (now {lr:g})" if lr is not None else ""
    raise NonFiniteLoss(f"the {what} became {v} at {where}; the last good checkpoint is kept. "
                        f"Lower the learning rate{lr_text}, clip gradients (--clip), or pass "
                        "--skip-nonfinite to skip such steps")
