"""A user's own data files and folders: a --data folder's split files, a file's sha256 and the
fingerprint a run keeps of its --data, and finding that data again for `seqlab evaluate` and
--resume (`run_data_file`). The registered data sets are found by `seqlab.data.registry`."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from pathlib import Path, PureWindowsPath
from typing import Callable

from seqlab.errors import SeqlabError


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise unreadable(path, exc) from None
    return h.hexdigest()


def unreadable(path: str | Path, exc: OSError) -> SeqlabError:
    """The one-line error for a data file or folder that exists but cannot be read."""
    if isinstance(exc, IsADirectoryError):
        return SeqlabError(f"{str(path)!r} is a folder, not a data file")
    return SeqlabError(f"cannot read {str(path)!r}: {exc.strerror or exc} (check the permissions of the file "
                       "and of the folders above it)")


_NOT_THERE = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG}


def _is_kind(path: Path, kind) -> bool:
    """kind(mode) of `path` (stat.S_ISREG, S_ISDIR), False where nothing is; a path that cannot be
    looked at (a folder on the way without read permission: PermissionError) is a one-line error
    naming it rather than a traceback."""
    try:
        return kind(os.stat(path).st_mode)
    except OSError as exc:
        if exc.errno in _NOT_THERE:
            return False
        raise unreadable(path, exc) from None


def is_file(path: Path) -> bool:
    """Path.is_file(), with a path that cannot be looked at a one-line error (`_is_kind`)."""
    return _is_kind(path, stat.S_ISREG)


def is_dir(path: Path) -> bool:
    """Path.is_dir(), with a path that cannot be looked at a one-line error (`_is_kind`)."""
    return _is_kind(path, stat.S_ISDIR)


SPLIT_NAMES = {"train": "train.txt", "valid": "valid.txt", "test": "test.txt"}  # a --data folder's files
# what other layouts call each split, in a file's name: Hugging Face's validation.txt, val.txt, dev.txt
_SPLIT_WORDS = {"train": "train", "valid": "valid|validation|val|dev", "test": "test"}


def split_files(path: str | Path) -> dict[str, Path] | None:
    """The split files of a --data folder (pytorch/examples' word_language_model layout): train.txt
    and valid.txt, and test.txt when there is one (then the run has a test split); None when `path`
    is not a folder (a text file: read as one text). A folder without train.txt or valid.txt is an
    error naming what it lacks."""
    path = Path(path)
    if not is_dir(path):
        return None  # a file, or nothing there (reading it says "not found")
    for name in SPLIT_NAMES.values():
        if is_dir(path / name):
            raise SeqlabError(f"{str(path / name)!r} is a folder, not a text file: a --data folder holds its "
                              f"splits as the text files train.txt, valid.txt and optionally test.txt")
    files = {split: path / name for split, name in SPLIT_NAMES.items() if is_file(path / name)}
    missing = [SPLIT_NAMES[s] for s in ("train", "valid") if s not in files]
    if missing:
        try:
            held = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
        except OSError:
            held = None
        has = "" if held is None else "; it is empty" if not held else \
            f"; it holds {', '.join(held[:8])}{', ...' if len(held) > 8 else ''}"
        # files named for their split in another layout (WikiText's wiki.train.tokens, Mikolov's
        # ptb.train.txt and ptb.char.train.txt, Hugging Face's validation.txt): say which name each needs
        renames = []
        for split, name in SPLIT_NAMES.items():
            named = [h for h in held or [] if re.search(rf"(^|[^a-z])({_SPLIT_WORDS[split]})([^a-z]|$)", h.lower())
                     and not h.endswith("/")]
            if split not in files and len(named) == 1:
                renames.append(f"{named[0]} to {name}")
        rename = f": rename (or link) {', '.join(renames)}" if renames else ""
        if any(".char." in r for r in renames):  # Mikolov's character files: 'a e r _ b a n k'
            rename += " (their characters stand apart, '_' for a space: read them with --level word)"
        raise SeqlabError(f"{str(path)!r} is a folder without {' and '.join(missing)}: --data takes a text file "
                          f"(its last 10% held out), or a folder of train.txt, valid.txt and optionally test.txt "
                          f"(pytorch/examples' layout){has}{rename}")
    return files


def check_not_folder(path: str | Path, prefer: tuple[str, ...] = ()) -> None:
    """Refuse a folder given where a text file is read, naming a .txt file in it: the first of
    `prefer` that it holds (evaluate: its test.txt; stats: its train.txt), else the first by name.
    A folder without one is left to the reader's own "is a folder" error."""
    folder = Path(path)
    try:
        names = sorted(p.name for p in folder.iterdir() if p.suffix == ".txt" and p.is_file())
    except OSError:  # not a folder (the reader says what it is), or not one we may list
        return
    if names:
        example = next((n for n in prefer if n in names), names[0])
        raise SeqlabError(f"{str(path)!r} is a folder, not a text file: give a file in it, e.g. "
                          f"{str(folder / example)!r}")


def file_fingerprint(path: str | Path, names: list[str] | None = None) -> dict:
    """Where a user's --data file is (absolute: the path as typed was relative to the folder the
    run started in) and its sha256, kept in the run's checkpoints for `run_data_file`. With
    `names` (a --data folder of splits): the folder, and the sha256 of each of those files in it."""
    path = Path(path)
    if names is not None:
        return {"path": str(path.resolve()), "files": {name: sha256_of(path / name) for name in names}}
    return {"path": str(path.resolve()), "sha256": sha256_of(path)}


def same_data(kept: dict | None, now: dict | None) -> str | None:
    """None when `now` (a `file_fingerprint` of the data given) holds the bytes of `kept` (a run's),
    or either is unknown; else what differs, for a message ("its sha256 differs", "valid.txt differs")."""
    if not isinstance(kept, dict) or not isinstance(now, dict):
        return None
    was, new = kept.get("files"), now.get("files")
    if isinstance(was, dict) != isinstance(new, dict):
        return "it was a folder of splits, now a text file" if isinstance(was, dict) else \
            "it was a text file, now a folder of splits"
    if isinstance(was, dict):
        for name in sorted(set(was) | set(new)):
            if name not in new:
                return f"{name} is missing"
            if name not in was:
                return f"{name} was added"
            if was[name] != new[name]:
                return f"{name} differs"
        return None
    return None if not kept.get("sha256") or kept.get("sha256") == now.get("sha256") else "its sha256 differs"


def run_data_file(typed: str, fingerprint: dict | None, run_folder: str | Path | None = None,
                  find_splits: Callable[[Path], dict[str, Path] | None] = split_files) -> str:
    """The path to read a run's --data file again (evaluate: its held-out part), from the
    checkpoint's `file_fingerprint`: its absolute path, else the path as typed (from here, then
    from the run's folder: a project moved or copied elsewhere) holding the same bytes. A file
    moved away or changed since training is a clear error rather than a figure on other text. A
    checkpoint without a fingerprint gives the path as typed. A --data folder of splits likewise:
    the folder whose split files are the run's, each of them; `find_splits` names a folder's split
    files (`split_files`: train/valid/test.txt; labelled text passes its own, of .csv/.tsv/.txt).
    A path typed on Windows (data\\corpus.txt: here one file name, backslashes and all) is also
    tried with its backslashes as folder separators (data/corpus.txt)."""
    if not isinstance(fingerprint, dict) or not isinstance(fingerprint.get("path"), str):
        return typed
    folder = isinstance(fingerprint.get("files"), dict)
    want = fingerprint.get("sha256")
    typed_as = [Path(typed)] + ([Path(PureWindowsPath(typed).as_posix())] if "\\" in typed else [])
    candidates = [Path(fingerprint["path"]), *typed_as]
    if run_folder is not None:
        # the guesses from the run's folder are never that folder itself: --data d4 --out runs/d4, d4
        # moved away, found runs/d4 (its parent / typed) and blamed it as the data "changed since
        # the run was trained"; a run written into its own --data folder is found at its own path
        run = _resolved(run_folder)
        candidates += [p for t in typed_as if not t.is_absolute()
                       for p in (Path(run_folder) / t, Path(run_folder).parent / t) if _resolved(p) != run]
    found = [p for p in dict.fromkeys(candidates) if (is_dir(p) if folder else is_file(p))]
    differs = {}
    for path in found:
        if folder:
            try:
                files = find_splits(path) or {}
            except SeqlabError as exc:  # a split file gone, or one too many: what the folder's error says
                differs[path] = str(exc)
                continue
            differs[path] = same_data(fingerprint, file_fingerprint(path, [p.name for p in files.values()]))
            if differs[path] is None:
                return str(path)
        elif not want or sha256_of(path) == want:
            return str(path)
    what = "folder of splits" if folder else "file"
    if not found:
        raise SeqlabError(f"the run's text {what} {fingerprint['path']!r} (its --data {typed}) is not there any more: "
                          f"the held-out part is read from it; put the {what} back there")
    why = f" ({differs[found[0]]})" if folder else " (its sha256 differs)"
    raise SeqlabError(f"{str(found[0])!r} has changed since the run was trained{why}: its held-out part would not "
                      f"be the run's; restore the {what} the run was trained on")


def _resolved(path: str | Path) -> Path:
    """The absolute path with links resolved, as far as it can be (a folder on the way that cannot
    be read leaves the path as it is)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path).absolute()
