"""Device-level fast paths for training: torch.compile, bf16 autocast, fused optimisers.

Each is chosen by the device (CUDA) and can be turned off (`enabled=False`, the
CLI's `--no-fast`). One that is unavailable (no CUDA, no bf16
support, a compiler failure, an optimiser without a fused kernel) falls back to the
plain path with ONE warning per kind and process, never an error: a speed feature must
not stop a training run.

On a CPU none of them is used: there the speed comes from fast_cells.py (hand-written
BPTT, oneDNN step products), bf16 would change the numbers of a CPU run, and the
optimiser step is a small share of a CPU step. torch.compile on a CPU (2-core AVX2,
benchmarks/RESULTS.md): the plain scratch loop compiled runs 1.00-1.16x the fast path for
GRU/LSTM-256 and 0.91-0.97x for RNN-512, after 8-85 s of compiling per model and again on a
new batch shape; the fast path compiled was slower (0.87-0.95x: its in-place writes into
strided views break the graph), so under torch.compile/export the scratch cells run the plain
loop whatever their `fast` says (fast_cells.recurrence). Book-size runs last minutes, so the CPU
does not compile.
In training, autocast and the fused optimiser are on by default on CUDA (`--no-fast` turns
them off); `Compiled` is opt-in (benchmarks/train_speed.py's "compiled" entry) until a GPU
measurement shows where it pays.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from typing import Callable

import torch

from seqlab.errors import SeqlabError

_warned: set[str] = set()


def warn_once(kind: str, message: str) -> None:
    """Warn about a fast path that falls back, once per `kind` in this process."""
    if kind not in _warned:
        _warned.add(kind)
        warnings.warn(f"seqlab: {message}; falling back to the plain path", RuntimeWarning, stacklevel=3)


def _is_cuda(device: torch.device | str) -> bool:
    return torch.device(device).type == "cuda"


def autocast(device: torch.device | str, enabled: bool = True):
    """bf16 autocast on a CUDA device that supports it; otherwise a no-op context."""
    if not enabled or not _is_cuda(device):
        return contextlib.nullcontext()
    try:  # bf16 tensor cores: compute capability 8 (Ampere) and up. is_bf16_supported() also says
        # yes on a V100/T4, which emulates bf16 more slowly than it runs float32
        supported = torch.cuda.is_available() and torch.cuda.get_device_capability(torch.device(device))[0] >= 8
    except Exception:  # noqa: BLE001 (a broken driver must not stop training)
        supported = False
    if not supported:
        warn_once("autocast", f"bf16 autocast is not available on {device}")
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16)


def fuse_optimizer(optimizer: torch.optim.Optimizer, device: torch.device | str,
                   enabled: bool = True) -> torch.optim.Optimizer:
    """The same optimiser with `fused=True` (one kernel for all parameters) on CUDA.

    Built from the original's parameter groups and settings, so nothing else changes;
    call it before any step (its state is not carried over).
    """
    if not enabled or not _is_cuda(device):
        return optimizer
    try:
        groups = [dict(g) for g in optimizer.param_groups]
        for g in groups:
            g.pop("fused", None)
            g.pop("foreach", None)
        # each group holds every setting; the constructor takes only its own keywords (torch's AdamW
        # keeps a `decoupled_weight_decay` default that its __init__ refuses)
        accepted = inspect.signature(type(optimizer).__init__).parameters
        defaults = {k: v for k, v in optimizer.defaults.items() if k in accepted and k not in ("fused", "foreach")}
        return type(optimizer)(groups, **defaults, fused=True)
    except Exception as exc:  # noqa: BLE001 (no fused kernel for this optimiser, dtype or device)
        warn_once("fused-optimizer", f"no fused {type(optimizer).__name__} here ({str(exc)[:120]})")
        return optimizer


class Compiled:
    """Call `fn` through `torch.compile` on CUDA (on a CPU too with `cpu=True`); on any failure,
    fall back to `fn` for good.

    Compilation happens lazily, at the first call, so a compiler error shows there: it
    is caught, warned about once, and that call and every later one run `fn` eagerly.
    """

    def __init__(self, fn: Callable, device: torch.device | str, enabled: bool = True, *, cpu: bool = False,
                 **compile_kwargs):
        self.fn = fn
        self._call = fn
        if enabled and (_is_cuda(device) or cpu):
            try:
                self._call = torch.compile(fn, **compile_kwargs)
            except Exception as exc:  # noqa: BLE001
                warn_once("compile", f"torch.compile is unavailable ({str(exc)[:120]})")

    @property
    def compiled(self) -> bool:
        return self._call is not self.fn

    def __call__(self, *args, **kwargs):
        if self._call is self.fn:
            return self.fn(*args, **kwargs)
        try:
            return self._call(*args, **kwargs)
        except SeqlabError:  # the caller's bad input (a state of the wrong shape): not the compiler's
            raise
        except Exception as exc:  # noqa: BLE001 (a compiler failure, not a user error)
            warn_once("compile", f"torch.compile failed ({type(exc).__name__}: {str(exc)[:120]})")
            self._call = self.fn
            return self.fn(*args, **kwargs)
