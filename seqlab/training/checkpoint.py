"""Checkpoints: one `.safetensors` file of tensors plus JSON metadata, written atomically.

Layout of a file (all tensors live in the safetensors body; everything else is
plain JSON in its header metadata, so loading never unpickles anything):

    model/<name>            the model's state_dict
    optim/<param>/<key>     the optimiser's per-parameter tensors (e.g. Adam's exp_avg)
    extra/<name>            any other tensors a task wants to keep
    metadata["seqlab"]      JSON: format version, task, config, vocabulary, epoch,
                            RNG state, the optimiser's non-tensor state, ...
    metadata["checksum"]    sha256 over every tensor's name, dtype, shape and bytes

A training run keeps `best.safetensors` and `last.safetensors` in its output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from seqlab.errors import SeqlabError
from seqlab.fileio import atomic_write_bytes

FORMAT = "seqlab-checkpoint"
FORMAT_VERSION = 1
NAMES = ("best", "last")


@dataclass
class Checkpoint:
    """What a checkpoint file holds, as plain tensors and data."""

    model: dict[str, torch.Tensor]
    meta: dict[str, Any]
    optimizer: dict | None = None
    extra: dict[str, torch.Tensor] = field(default_factory=dict)
    path: Path | None = None


def _tensor_checksum(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name]
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _plain(t: torch.Tensor) -> torch.Tensor:
    # safetensors refuses tensors that share storage (tied weights): store copies.
    return t.detach().to("cpu").contiguous().clone()


def _split_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    rest: dict[str, dict] = {}
    for pid, pstate in state["state"].items():
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{pid}/{key}"] = _plain(value)
            else:
                rest.setdefault(str(pid), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": rest}


def _join_optimizer(tensors: dict[str, torch.Tensor], info: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        _, pid, key = name.split("/", 2)
        state.setdefault(int(pid), {})[key] = value
    for pid, scalars in info["scalars"].items():
        state.setdefault(int(pid), {}).update(scalars)
    return {"state": state, "param_groups": info["param_groups"]}


def save_checkpoint(path: str | Path, *, model: torch.nn.Module | dict[str, torch.Tensor],
                    meta: dict[str, Any], optimizer: torch.optim.Optimizer | None = None,
                    extra: dict[str, torch.Tensor] | None = None) -> Path:
    """Write a checkpoint atomically: a crash leaves the old file or the new one, never half.

    `meta` must be JSON-able (config as a dict, vocabulary as `Vocab.to_dict()`, epoch,
    RNG state from `seqlab.runtime.rng_state()`, a scheduler's `state_dict()`, ...).
    """
    path = Path(path)
    state = model.state_dict() if isinstance(model, torch.nn.Module) else model
    tensors = {f"model/{k}": _plain(v) for k, v in state.items()}
    meta = dict(meta)
    if optimizer is not None:
        opt_tensors, meta["optimizer"] = _split_optimizer(optimizer.state_dict())
        tensors.update(opt_tensors)
    for k, v in (extra or {}).items():
        tensors[f"extra/{k}"] = _plain(v)
    meta["format"], meta["format_version"] = FORMAT, FORMAT_VERSION
    try:
        header = {"seqlab": json.dumps(meta), "checksum": _tensor_checksum(tensors)}
    except TypeError as exc:
        raise TypeError(f"checkpoint metadata must be plain JSON data: {exc}") from None
    blob = st_save(tensors, metadata=header)
    try:
        atomic_write_bytes(path, blob)
    except OSError as exc:
        raise SeqlabError(f"cannot write checkpoint {str(path)!r}: {exc.strerror or exc} (the previous "
                          "checkpoint, if any, is kept); free some space or choose a writable --out folder") from None
    return path


def check_writable(folder: str | Path) -> Path:
    """Make sure a run can write into `folder` (created if missing), before it starts training."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".seqlab-write-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SeqlabError(f"cannot write to the output folder {str(folder)!r} ({exc.strerror or exc}): "
                          "choose a writable --out") from None
    return folder


def find_checkpoint(path: str | Path, which: str = "best") -> Path:
    """A checkpoint file, or the `best` (falling back to `last`) one in a run folder."""
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        for name in (which, *[n for n in NAMES if n != which]):
            candidate = path / f"{name}.safetensors"
            if candidate.is_file():
                return candidate
        raise SeqlabError(f"no checkpoint in {str(path)!r}: expected best.safetensors or "
                          "last.safetensors there (the --out folder of a training run)")
    raise SeqlabError(f"checkpoint {str(path)!r} not found: give a training run's --out folder "
                      "or a .safetensors file")


def load_checkpoint(path: str | Path, which: str = "best") -> Checkpoint:
    """Read and verify a checkpoint (a file, or a run folder: `which` of best/last)."""
    path = find_checkpoint(path, which)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise SeqlabError(f"cannot read checkpoint {str(path)!r}: {exc.strerror}") from None
    broken = SeqlabError(f"checkpoint {str(path)!r} is corrupted or truncated (or not a seqlab "
                         "checkpoint); use the other of best/last, or retrain")
    if len(blob) < 8:
        raise broken
    header_len = int.from_bytes(blob[:8], "little")
    if header_len <= 0 or header_len > len(blob) - 8:
        raise broken
    try:
        header = json.loads(blob[8:8 + header_len])
        tensors = st_load(blob)
    except (SafetensorError, ValueError, UnicodeDecodeError):
        raise broken from None
    info = header.get("__metadata__") or {}
    if "seqlab" not in info or "checksum" not in info:
        raise broken
    try:
        meta = json.loads(info["seqlab"])
    except ValueError:
        raise broken from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise broken
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise SeqlabError(f"checkpoint {str(path)!r} has format version {meta['format_version']}, "
                          f"newer than this seqlab reads ({FORMAT_VERSION}): upgrade seqlab")
    if _tensor_checksum(tensors) != info["checksum"]:
        raise SeqlabError(f"checkpoint {str(path)!r} fails its checksum: the file is corrupted; "
                          "use the other of best/last, or retrain")
    model = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    optim = {k: v for k, v in tensors.items() if k.startswith("optim/")}
    extra = {k[len("extra/"):]: v for k, v in tensors.items() if k.startswith("extra/")}
    optimizer = _join_optimizer(optim, meta.pop("optimizer")) if "optimizer" in meta else None
    return Checkpoint(model=model, meta=meta, optimizer=optimizer, extra=extra, path=path)


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
                              "state to continue from: train again without --resume")
        raise SeqlabError(f"--resume given but there is no checkpoint in {str(out)!r} to resume from: "
                          "train without --resume first (or point --out at an earlier run)")
    ckpt = load_checkpoint(last)
    expect_task(ckpt, task)
    if ckpt.optimizer is None:
        raise SeqlabError(f"{str(last)!r} holds no optimiser state: it cannot be resumed; train again without "
                          "--resume")
    return ckpt


def expect_task(ckpt: Checkpoint, *tasks: str) -> None:
    """Refuse a checkpoint of another kind of model with a clear message."""
    task = ckpt.meta.get("task")
    if task not in tasks:
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} holds a {task or 'unknown'} model, "
                          f"not a {' or '.join(tasks)} model")
