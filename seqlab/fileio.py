"""Writing files so that a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file in the same folder: write, flush,
    fsync, rename over `path`, fsync the folder. On any failure the temporary file is
    removed, `path` keeps its old content, and the error (e.g. OSError) propagates."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


def probe_writable(folder: str | Path) -> None:
    """Make and remove a temporary file in `folder`: OSError if the folder takes no new files.
    (Checked before long work, so that its result is not lost to a folder it cannot write.)"""
    fd, probe = tempfile.mkstemp(prefix=".seqlab-write-check.", dir=folder)
    os.close(fd)
    os.unlink(probe)


def _finite_or_null(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value


def to_json(obj: Any, **kwargs: Any) -> str:
    """Standard JSON of `obj`, as every JSON line or file seqlab writes for users: a NaN or infinite
    float (a perplexity past exp(700), a diverged loss) becomes null, as JavaScript's JSON.stringify
    writes it; Python's json.dumps would write `Infinity`/`NaN`, which other parsers refuse."""
    return json.dumps(_finite_or_null(obj), allow_nan=False, **kwargs)
