"""A checkpoint's JSON metadata: written as standard JSON (non-finite floats tagged), read back, and
read from a file's header alone, without its tensors (run_folder's epoch of a run set aside, and the
settings --resume keeps: `run_settings`). Saving and loading whole checkpoints: checkpoint.py."""

from __future__ import annotations

import json
import math
from pathlib import Path

from safetensors import SafetensorError, safe_open

from seqlab.config import leaf_items

# The metadata is standard JSON: a float that is not finite (a run's best loss before its first
# epoch, inf; a diverged loss, nan) is written as {"$float": "inf"} ("-inf", "nan") and read back
# as the float. (json.dumps would write a bare Infinity / NaN, which other JSON parsers refuse;
# checkpoints written so still load.) A caller's own dict whose one key is "$float" is written
# as {"$float": {"$escaped": value}}, so that it reads back as itself.
_FLOAT_TAG, _ESCAPED = "$float", "$escaped"
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def tag_nonfinite(value):
    """`value` with each non-finite float tagged, for json.dumps(allow_nan=False)."""
    if isinstance(value, float) and not math.isfinite(value):  # (numpy's float64 too: a float)
        return {_FLOAT_TAG: "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"}
    if isinstance(value, dict):
        tagged = {k: tag_nonfinite(v) for k, v in value.items()}
        return {_FLOAT_TAG: {_ESCAPED: tagged[_FLOAT_TAG]}} if list(tagged) == [_FLOAT_TAG] else tagged
    if isinstance(value, (list, tuple)):
        return [tag_nonfinite(v) for v in value]
    return value


def _untag(obj: dict):
    if list(obj) == [_FLOAT_TAG]:
        inner = obj[_FLOAT_TAG]
        if isinstance(inner, str) and inner in _NONFINITE:
            return _NONFINITE[inner]
        if isinstance(inner, dict) and list(inner) == [_ESCAPED]:
            return {_FLOAT_TAG: inner[_ESCAPED]}
    return obj


def read_meta(text: str):
    """The metadata JSON `text` as written, each tagged float (or a bare Infinity / NaN) a float again."""
    return json.loads(text, object_hook=_untag)


def peek_meta(path: Path) -> dict | None:
    """A checkpoint's metadata from its header, without reading its tensors (None if unreadable)."""
    try:
        with safe_open(path, framework="pt") as f:  # parses the header only
            meta = read_meta(f.metadata()["seqlab"])
        return meta if isinstance(meta, dict) else None
    except (OSError, SafetensorError, ValueError, KeyError, TypeError, AttributeError):
        return None


def peek_epoch(path: Path) -> int | None:
    """The epoch in a checkpoint's header (None if unreadable)."""
    epoch = (peek_meta(path) or {}).get("epoch")
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None


def run_settings(out: str | Path, names: tuple[str, ...], which: str = "last") -> dict[str, float | bool]:
    """The number and true/false settings `names` of the run in `out` (the config of its `which`
    checkpoint, last or best: the one --resume goes on from; by leaf name).

    What --resume keeps when the command's flags leave them out; {} where the run cannot be read
    (the resume itself then says why)."""
    path = Path(out) / f"{which}.safetensors"
    # an --overwrite killed before its first checkpoint: the run is aside until check_run_folder puts it
    # back, best too (read as missing, --resume-from best went on at the defaults' lr and decay)
    if not path.exists():
        from seqlab.training.run_folder import aside_checkpoint

        path = aside_checkpoint(Path(out), which) or path
    config = (peek_meta(path) or {}).get("config")
    if not isinstance(config, dict):
        return {}
    return {key: value for key, value in leaf_items(config) if key in names and isinstance(value, (int, float))}
