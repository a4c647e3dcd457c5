"""Device, seed and RNG state: resolved once at the entry point and passed down; and the
train/eval mode of a model for the length of an evaluation."""

from __future__ import annotations

import base64
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from torch import nn

from seqlab.errors import SeqlabError


# Losses, perplexities, sampling and beam-search probabilities are summed in float64, which
# MPS does not have: a run would fail at its first evaluation, an epoch in. Refused up front.
USE_CPU = "use --device cpu (from Python: device='cpu')"  # resolve_device serves the CLI and the library
NO_MPS = ("Apple's MPS backend is not supported yet: seqlab sums losses and probabilities in float64, "
          f"which MPS lacks; {USE_CPU}")


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """`"auto"` (or None) picks CUDA when there is one, else the CPU (never Apple's MPS). Otherwise
    only devices this machine has: `cpu`, `cuda`, `cuda:N` (N below the GPU count). torch itself
    parses more (`meta`, `xpu`, `cuda:5` on a 1-GPU machine); those fail much later with a
    traceback, so they are refused here. `mps` is refused on every machine (NO_MPS)."""
    if isinstance(name, torch.device):
        if name.type == "mps":
            raise SeqlabError(NO_MPS)
        return name
    if name in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    unknown = f"unknown device {name!r}: use cpu, cuda, cuda:N or auto"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise SeqlabError(unknown) from None
    if device.type == "mps":
        raise SeqlabError(NO_MPS)
    if device.type == "cpu" and device.index in (None, 0):
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SeqlabError(f"device {name!r} asked for, but this machine has no CUDA GPU: {USE_CPU}")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            have = "cuda:0" if count == 1 else f"cuda:0 to cuda:{count - 1}"
            raise SeqlabError(f"{name} is not available: this machine has {count} GPU{'s' if count != 1 else ''} "
                              f"({have})")
        return device
    raise SeqlabError(unknown)


def same_device(a: torch.device, b: torch.device) -> bool:
    """Whether two devices are one: `cuda` (the current GPU) is `cuda:N` for that N."""
    if a.type != b.type:
        return False
    if a.index is None or b.index is None:
        index = torch.cuda.current_device() if a.type == "cuda" and torch.cuda.is_available() else 0
        return (a.index if a.index is not None else index) == (b.index if b.index is not None else index)
    return a.index == b.index


@contextmanager
def eval_mode(net: nn.Module) -> Iterator[nn.Module]:
    """Run the block with `net` in eval mode (dropout off), then give every submodule back the
    mode it had, also when the block raises. A model whose parts were in mixed modes (a frozen,
    eval-mode encoder under a training decoder) gets exactly those modes back. A model that is
    not an nn.Module (the book's plain-class RNNModelScratch) has no mode: the block just runs."""
    if not isinstance(net, nn.Module):
        yield net
        return
    modes = [(m, m.training) for m in net.modules()]
    net.eval()
    try:
        yield net
    finally:
        for m, training in modes:
            m.training = training


SEED_MIN, SEED_MAX = -2**63, 2**64 - 1  # what torch.manual_seed takes (a negative one wraps around 2**64)


def check_seed(seed: int, flag: str = "--seed") -> int:
    """`seed` if torch can take it, else a SeqlabError naming `flag` and the range (torch's own
    error is a bare 'Overflow when unpacking long long')."""
    if not SEED_MIN <= seed <= SEED_MAX:
        raise SeqlabError(f"{flag} must be an integer from -2**63 to 2**64 - 1 ({SEED_MIN} to {SEED_MAX}, "
                          f"the seeds torch takes), got {seed}")
    return seed


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (all CUDA devices too)."""
    check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _bytes_to_str(t: torch.Tensor) -> str:
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def _str_to_bytes(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8)


def rng_state() -> dict:
    """Every generator's state as JSON-able plain data (for checkpoints)."""
    py = random.getstate()
    np_state = np.random.get_state()
    state = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": _bytes_to_str(torch.get_rng_state()),
    }
    if torch.cuda.is_available():
        state["cuda"] = [_bytes_to_str(s) for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict) -> None:
    """Restore what `rng_state` captured."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(_str_to_bytes(state["torch"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [_str_to_bytes(s) for s in state["cuda"]]
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
