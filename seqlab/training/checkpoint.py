"""Checkpoints: one `.safetensors` file of tensors plus JSON metadata, written atomically.

Layout of a file (all tensors live in the safetensors body; everything else is
plain JSON in its header metadata, so loading never unpickles anything):

    model/<name>            the model's state_dict
    optim/<param>/<key>     the optimiser's per-parameter tensors (e.g. Adam's exp_avg)
    extra/<name>            any other tensors a task wants to keep
    metadata["seqlab"]      JSON: format version, task, config, vocabulary, epoch,
                            RNG state, the optimiser's non-tensor state, ...
    metadata["checksum"]    sha256 over every tensor's name, dtype, shape and bytes

A training run keeps `best.safetensors` and `last.safetensors` in its output folder (run_folder.py:
refusing to train over another run, and --overwrite), each written whole, optimiser state included
(`save_epoch`): best is the last file of its epoch.

The checksum covers the tensors only, so the JSON metadata is checked where it is read:
`task_config` (loading a model) and `check_resume_config` (--resume) refuse a missing or
mistyped key, and rebuild the config through the task's typed dataclasses. How the JSON is
written (non-finite floats), and reading it from a file's header alone: checkpoint_meta.py.
Continuing a run from its `last` or `best` file (--resume, --resume-from): checkpoint_resume.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from seqlab.config import from_dict
from seqlab.errors import SeqlabError
from seqlab.fileio import atomic_write_bytes, write_error_advice
from seqlab.training.checkpoint_meta import read_meta, tag_nonfinite

FORMAT = "seqlab-checkpoint"
FORMAT_VERSION = 1
NAMES = ("best", "last")

_NUMBER = (int, float)
_NONE = type(None)
# What loading each task's model reads from the metadata, and the JSON kind of each value.
MODEL_META = {
    "lm": {"config": dict, "vocab": dict},
    "translate": {"config": dict, "src_vocab": dict, "tgt_vocab": dict},
    "forecast": {"config": dict, "n_train": int, "mean": _NUMBER, "std": _NUMBER, "noise_floor": _NUMBER + (_NONE,)},
    "classify": {"config": dict},
}
# ... and what --resume reads on top of that.
RESUME_META = {
    "lm": {"epoch": int, "best_valid_loss": _NUMBER, "rng": dict, "batch_rng": list, "scheduler": (dict, _NONE)},
    "translate": {"epoch": int, "best_valid_loss": _NUMBER, "rng": dict},
    "forecast": {"epoch": int, "best_valid_loss": _NUMBER, "rng": dict},
    "classify": {"epoch": int, "best_valid_accuracy": _NUMBER, "rng": dict},
}


@dataclass
class Checkpoint:
    """What a checkpoint file holds, as plain tensors and data."""

    model: dict[str, torch.Tensor]
    meta: dict[str, Any]
    optimizer: dict | None = None
    extra: dict[str, torch.Tensor] = field(default_factory=dict)
    path: Path | None = None
    resuming: bool = False  # read by --resume: a damaged file's advice cannot be "use the other one"


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
    RNG state from `seqlab.runtime.rng_state()`, a scheduler's `state_dict()`, ...). Its key
    "optimizer" is the optimiser's state (`optimizer`), which loading reads back: refused in `meta`.
    So are "format" and "format_version", which say what the file is, unless they say what this
    writer writes (as in a loaded checkpoint's `meta`, saved again).
    """
    path = Path(path).expanduser()
    return _write(path, _encode(path, model, meta, optimizer, extra))


def save_epoch(out: str | Path, *, is_best: bool, model: torch.nn.Module | dict[str, torch.Tensor],
               meta: dict[str, Any], optimizer: torch.optim.Optimizer,
               extra: dict[str, torch.Tensor] | None = None) -> None:
    """A training epoch's checkpoints in the run folder `out`: last.safetensors, and best.safetensors
    too when `is_best`, both the same file (`save_checkpoint`'s), optimiser state included, so that a
    run goes on from either (SPEC §6: --resume-from, checkpoint_resume.py).

    best is written before last: a kill between the two leaves last at the previous epoch, which
    then replays (the epoch's best is written again, alike)."""
    out = Path(out).expanduser()
    blob = _encode(out / "last.safetensors", model, meta, optimizer, extra)
    if is_best:
        _write(out / "best.safetensors", blob)
    _write(out / "last.safetensors", blob)


def _encode(path: Path, model: torch.nn.Module | dict[str, torch.Tensor], meta: dict[str, Any],
            optimizer: torch.optim.Optimizer | None, extra: dict[str, torch.Tensor] | None) -> bytes:
    """A checkpoint file's bytes (`save_checkpoint`); `path` names it in an error."""
    if "optimizer" in meta:  # (was written, and then every load of the file failed in _join_optimizer)
        raise SeqlabError("checkpoint metadata cannot hold a key 'optimizer': the checkpoint keeps the optimiser's "
                          "state there (pass the optimiser as optimizer=...); give that entry another name")
    for key, ours in (("format", FORMAT), ("format_version", FORMAT_VERSION)):
        if key in meta and (meta[key] != ours or type(meta[key]) is not type(ours)):  # (was overwritten silently)
            raise SeqlabError(f"checkpoint metadata cannot hold a key {key!r} ({meta[key]!r}): the checkpoint "
                              f"keeps its own there ({ours!r}, what loading checks); give that entry another name")
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
        header = {"seqlab": json.dumps(tag_nonfinite(meta), allow_nan=False), "checksum": _tensor_checksum(tensors)}
    except TypeError as exc:
        raise TypeError(f"checkpoint metadata must be plain JSON data: {exc}") from None
    _check_header_size(len(header["seqlab"]), f"cannot write checkpoint {str(path)!r}")  # (ASCII)
    return st_save(tensors, metadata=header)


def _write(path: Path, blob: bytes) -> Path:
    """`blob` written to `path` atomically; a best or last file there ends an --overwrite's wait."""
    try:
        atomic_write_bytes(path, blob)
    except OSError as exc:
        raise SeqlabError(f"cannot write checkpoint {str(path)!r}: {exc.strerror or exc} (the previous checkpoint, "
                          f"if any, is kept); {write_error_advice(exc, 'choose a writable --out folder')}") from None
    if path.name in {f"{n}.safetensors" for n in NAMES}:
        from seqlab.training.run_folder import drop_replaced_run  # (run_folder reads checkpoints)

        drop_replaced_run(path.parent)
    return path


# safetensors refuses a header of over 100,000,000 bytes (HeaderTooLarge); the tensors' entries take
# the rest of it (about 100 bytes each)
META_LIMIT = 90_000_000


def _check_header_size(size: int, what: str) -> None:
    if size > META_LIMIT:
        raise SeqlabError(f"{what}: its metadata would be {size / 1e6:.0f} MB, over the {META_LIMIT // 10**6} MB a "
                          "checkpoint's header holds, the vocabulary most of it: keep fewer tokens (--max-vocab, "
                          "--min-freq)")


def check_vocab_fits(*vocabs) -> None:
    """Refuse, before a run trains, vocabularies whose checkpoints could not be written (each epoch's
    save would fail: `save_checkpoint`'s size check)."""
    size = sum(len(json.dumps(v.to_dict())) for v in vocabs)  # (ASCII: json.dumps escapes the rest)
    _check_header_size(size, "the run's checkpoints could not be written")


def find_checkpoint(path: str | Path, which: str = "best") -> Path:
    """A checkpoint file, or the `best` (falling back to `last`) one in a run folder."""
    if which not in NAMES:
        raise SeqlabError(f"which={which!r}: a run folder holds the checkpoints {' and '.join(NAMES)}")
    if not str(path).strip():  # Path("") is the current folder
        raise SeqlabError("the checkpoint path is empty: give a training run's --out folder or its best.safetensors")
    path = Path(path).expanduser()  # (~ as the CLI's --checkpoint reads it)
    if path.is_file():
        if path.suffix != ".safetensors" and not _safetensors_start(path):  # a text file given by mistake, say
            raise SeqlabError(f"{str(path)!r} is not a checkpoint: give a training run's --out folder or its "
                              "best.safetensors")
        return path
    if path.is_dir():
        for name in (which, *[n for n in NAMES if n != which]):
            candidate = path / f"{name}.safetensors"
            if candidate.is_file():
                return candidate
        from seqlab.training.run_folder import aside_note

        raise SeqlabError(f"no checkpoint in {str(path)!r}: expected best.safetensors or "
                          f"last.safetensors there (the --out folder of a training run){aside_note(path)}")
    raise SeqlabError(f"checkpoint {str(path)!r} not found: give a training run's --out folder "
                      "or a .safetensors file")


def _safetensors_start(path: Path) -> bool:
    """Whether a file begins as a safetensors file does: an 8-byte little-endian header length that
    fits in the file, then the header's JSON '{'. (A file of another name may be a renamed
    checkpoint; one that does not begin so is no checkpoint, damaged or not.)"""
    try:
        with open(path, "rb") as fh:
            start = fh.read(9)
        size = path.stat().st_size
    except OSError:
        return True  # load_checkpoint says why it cannot be read
    return len(start) == 9 and 2 <= int.from_bytes(start[:8], "little") <= size - 8 and start[8:] == b"{"


_OTHER_FILE = "use the other of best/last, or retrain"


def _no_resume(path: Path | None) -> str:
    """What --resume can do when the checkpoint at `path` is damaged: go on from the run's other one
    (both hold the optimiser's state: save_epoch), or start again."""
    other = "--resume (from last.safetensors)" if path is not None and path.name == "best.safetensors" else \
        "--resume-from best"
    return (f"continue from the run's other checkpoint with {other}, or train again with --overwrite or into a new "
            "--out")


def load_checkpoint(path: str | Path, which: str = "best", *, resuming: bool = False) -> Checkpoint:
    """Read and verify a checkpoint (a file, or a run folder: `which` of best/last). `resuming`: read
    by --resume, so a damaged file's advice is what --resume can do (`Checkpoint.resuming`)."""
    path = find_checkpoint(path, which)
    fix = _no_resume(path) if resuming else _OTHER_FILE
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise SeqlabError(f"cannot read checkpoint {str(path)!r}: {exc.strerror}") from None
    broken = SeqlabError(f"checkpoint {str(path)!r} is corrupted or truncated (or not a seqlab "
                         f"checkpoint); {fix}")
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
        meta = read_meta(info["seqlab"])
    except ValueError:
        raise broken from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise broken
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise SeqlabError(f"checkpoint {str(path)!r} has format version {meta['format_version']}, "
                          f"newer than this seqlab reads ({FORMAT_VERSION}): upgrade seqlab")
    if _tensor_checksum(tensors) != info["checksum"]:
        raise SeqlabError(f"checkpoint {str(path)!r} fails its checksum: the file is corrupted; {fix}")
    model = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    optim = {k: v for k, v in tensors.items() if k.startswith("optim/")}
    extra = {k[len("extra/"):]: v for k, v in tensors.items() if k.startswith("extra/")}
    optimizer = _join_optimizer(optim, meta.pop("optimizer")) if "optimizer" in meta else None
    return Checkpoint(model=model, meta=meta, optimizer=optimizer, extra=extra, path=path, resuming=resuming)


def as_checkpoint(ckpt: Checkpoint | str | Path, which: str = "best") -> Checkpoint:
    """A loaded checkpoint as it is; a run folder or checkpoint file loaded (`load_checkpoint`):
    the models' loaders take either."""
    if isinstance(ckpt, Checkpoint):
        return ckpt
    if isinstance(ckpt, (str, Path)):
        return load_checkpoint(ckpt, which)
    raise SeqlabError(f"expected a checkpoint (load_checkpoint's), a run folder or a .safetensors file, "
                      f"got {type(ckpt).__name__}")


def expect_task(ckpt: Checkpoint, *tasks: str) -> None:
    """Refuse a checkpoint of another kind of model with a clear message."""
    task = ckpt.meta.get("task")
    if task not in tasks:
        held = f"a {TASK_MODELS.get(task, f'{task} model')}" if task else \
            "a model of no known kind (its metadata has no 'task')"
        wanted = " or ".join(TASK_MODELS.get(t, f"{t} model") for t in tasks)
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} holds {held}, not a {wanted}")


TASK_MODELS = {"lm": "language model", "translate": "translation model", "forecast": "forecasting model",
               "classify": "classifier"}  # what a task's checkpoint holds, in words


def _json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def bad_checkpoint(ckpt: Checkpoint, problem: str) -> SeqlabError:
    """The error for a checkpoint whose metadata or tensors are not what its task's loader reads."""
    return SeqlabError(f"{'--resume: ' if ckpt.resuming else ''}checkpoint {str(ckpt.path)!r} is corrupted or not "
                       f"a seqlab checkpoint: {problem}; {_no_resume(ckpt.path) if ckpt.resuming else _OTHER_FILE}")


def _check_meta(ckpt: Checkpoint, kinds: dict[str, Any]) -> None:
    """Refuse metadata that lacks one of `kinds`' keys or holds another kind of value there."""
    for key, kind in kinds.items():
        if key not in ckpt.meta:
            raise bad_checkpoint(ckpt, f"its metadata has no {key!r}")
        value, kinds = ckpt.meta[key], kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):  # true is no number
            raise bad_checkpoint(ckpt, f"its metadata's {key!r} is {_json_kind(value)} ({str(value)[:40]!r})")


def task_config(ckpt: Checkpoint, cls: type, task: str) -> Any:
    """The run's config as `cls`, after checking the task and the metadata its loaders read.

    The config is rebuilt through the typed dataclasses (a key left out takes its default, as
    in checkpoints older than that setting; an unknown key or a wrong type is refused), and
    `ckpt.meta["config"]` is replaced by the rebuilt one, so that later reads of it are safe.
    """
    expect_task(ckpt, task)
    _check_meta(ckpt, MODEL_META[task])
    try:
        cfg = from_dict(cls, ckpt.meta["config"], where="its config", any_section=True)
    except SeqlabError as exc:
        raise bad_checkpoint(ckpt, str(exc)) from None
    ckpt.meta["config"] = dataclasses.asdict(cfg)
    return cfg


def load_weights(net: torch.nn.Module, ckpt: Checkpoint) -> None:
    """`net.load_state_dict(ckpt.model)`, where `net` was built from the checkpoint's own config:
    weights that do not fit it mean edited metadata, refused as a damaged checkpoint."""
    try:
        net.load_state_dict(ckpt.model)
    except RuntimeError as exc:
        lines = str(exc).strip().splitlines()
        detail = (lines[1] if len(lines) > 1 else lines[0]).strip()[:160]
        raise bad_checkpoint(ckpt, f"its weights do not fit the model its config describes ({detail})") from None
