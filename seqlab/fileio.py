"""Writing files so that a crash leaves the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Windows refuses to replace a file that another process has open (a `seqlab evaluate` reading the
# checkpoint, a virus scanner scanning it) with PermissionError; POSIX replaces it under the reader.
WINDOWS = os.name == "nt"
REPLACE_TRIES, REPLACE_WAIT_S = 5, 0.05  # on Windows: waits 0.05, 0.1, 0.2, 0.4 s between the tries


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file in the same folder: write, flush,
    fsync, rename over `path`, fsync the folder. On any failure the temporary file is
    removed, `path` keeps its old content, and the error (e.g. OSError) propagates. On Windows
    a rename refused because another process has `path` open is tried again for a moment.

    The file gets the permissions a plain open() would give a new one (0o666 less the umask, or what
    the folder's default ACL says), and a file it replaces keeps its own, as editors keep them:
    tempfile.mkstemp's 0o600 made checkpoints unreadable to the group where the plots beside them
    were readable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = _kept_mode(path)
    # created with no more permissions than the file will have: a reader that opened it meanwhile could
    # read what is written after a chmod that took some away
    fd, tmp = _new_temporary(path, 0o666 if kept is None else kept)
    try:
        if kept is not None:
            os.fchmod(fd, kept)  # (the umask may have taken bits the replaced file had)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        replace_file(tmp, path)
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


# tempfile.mkstemp's flags (O_BINARY: Windows would write b"\n" as CRLF), but with the mode given (mkstemp's is
# 0o600), which the OS reduces by the umask as it does open()'s: reading the umask would mean setting it
# (os.umask), process-wide, a race with any other thread that creates a file meanwhile
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _new_temporary(path: Path, mode: int) -> tuple[int, str]:
    """(descriptor, name) of a new file `.NAME.XXXXXXXX.tmp` beside `path`, as mkstemp makes one, with `mode`
    less the umask."""
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, _TEMP_FLAGS, mode), tmp
        except FileExistsError:  # (another writer's temporary file: draw another name)
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path.parent))


def _kept_mode(path: Path) -> int | None:
    """The permission bits of the file `path` that a write replaces, for the new one to keep; None for a new
    file, and on Windows, where a mode only says read-only (and a read-only file cannot be replaced anyway)."""
    if WINDOWS:
        return None
    try:
        return os.stat(path).st_mode & 0o777  # (not set-user-ID and the like: a data file never needs them)
    except OSError:
        return None


def replace_file(src: str | Path, dst: str | Path) -> None:
    """os.replace; on Windows, a PermissionError is tried again REPLACE_TRIES times in all (see WINDOWS)."""
    wait = REPLACE_WAIT_S
    for _ in range(REPLACE_TRIES - 1):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if not WINDOWS:  # (a real permission error: trying again cannot help)
                raise
        time.sleep(wait)
        wait *= 2
    os.replace(src, dst)


def write_error_advice(exc: OSError, otherwise: str) -> str:
    """What to do about a file that could not be written, by the cause `exc` names (its strerror, which
    the caller shows, says what the OS said): a full disk or quota wants space; a permission error
    wants permissions, or on Windows is often another program holding the file open; anything else,
    `otherwise` (e.g. "choose a writable --out folder")."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"free some space or {otherwise}"
    if isinstance(exc, PermissionError) and WINDOWS:
        return ("another program may have the file open (a `seqlab evaluate` reading it, a virus scanner), or "
                f"the folder is read-only: close that program, or {otherwise}")
    if isinstance(exc, PermissionError):
        return f"fix the folder's permissions or {otherwise}"
    return otherwise


def probe_writable(folder: str | Path) -> None:
    """Make and remove a temporary file in `folder`: OSError if the folder takes no new files.
    (Checked before long work, so that its result is not lost to a folder it cannot write.)"""
    fd, probe = tempfile.mkstemp(prefix=".seqlab-write-check.", dir=folder)
    os.close(fd)
    os.unlink(probe)


def _python_scalar(value: Any) -> Any:
    """A numpy scalar (np.float32, np.int64, np.bool_: what numpy's reductions and indexing give) as the
    Python bool, int or float of its value."""
    np = sys.modules["numpy"]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):  # (float(): np.longdouble's .item() stays a numpy scalar)
        return float(value)
    return value


def _key(key: Any, numpy_scalar: type | None) -> Any:
    """A dict key as json.dumps takes it: a non-finite float becomes the text JSON.stringify gives it
    ("NaN", "Infinity", "-Infinity"; json.dumps refuses it with allow_nan=False)."""
    if numpy_scalar is not None and isinstance(key, numpy_scalar):
        key = _python_scalar(key)
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if math.isnan(key) else "Infinity" if key > 0 else "-Infinity"
    return key


def _finite_or_null(value: Any, numpy_scalar: type | None) -> Any:
    if isinstance(value, float):  # (np.float64 is one)
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_key(k, numpy_scalar): _finite_or_null(v, numpy_scalar) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v, numpy_scalar) for v in value]
    if numpy_scalar is not None and isinstance(value, numpy_scalar):
        return _finite_or_null(_python_scalar(value), None)
    return value


def to_json(obj: Any, **kwargs: Any) -> str:
    """Standard JSON of `obj`, as every JSON line or file seqlab writes for users: a NaN or infinite
    float (a perplexity past exp(700), a diverged loss) becomes null, as JavaScript's JSON.stringify
    writes it; Python's json.dumps would write `Infinity`/`NaN`, which other parsers refuse. A NaN or
    infinite key becomes "NaN", "Infinity" or "-Infinity" (JSON.stringify's), and a numpy scalar
    (np.float32, np.int64, np.bool_), which json.dumps refuses, its Python value."""
    numpy = sys.modules.get("numpy")  # (looked up, not imported: no numpy scalar exists unless it was imported)
    return json.dumps(_finite_or_null(obj, numpy.generic if numpy is not None else None), allow_nan=False, **kwargs)
