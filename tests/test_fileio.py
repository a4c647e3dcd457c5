"""Atomic writes on Windows: a rename refused while another program has the file open is tried
again; and what a failed checkpoint write tells the user to do, by its cause."""

import errno
import os
import time
from pathlib import Path

import pytest

from seqlab import SeqlabError, fileio
from seqlab.training.checkpoint import save_checkpoint


def refuse(times, monkeypatch):
    """os.replace refused `times` times (Windows' answer while a reader has the target open), then
    done; returns the calls and the waits between them."""
    calls, waits, real = [], [], os.replace

    def replace(src, dst):
        calls.append(dst)
        if len(calls) <= times:
            raise PermissionError(errno.EACCES, "Permission denied")
        real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", replace)
    monkeypatch.setattr(time, "sleep", waits.append)
    return calls, waits


def test_windows_tries_the_rename_again_while_another_program_has_the_file_open(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio, "WINDOWS", True, raising=False)
    path = tmp_path / "best.safetensors"
    path.write_bytes(b"old")
    calls, waits = refuse(2, monkeypatch)
    fileio.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and len(calls) == 3 and waits == [0.05, 0.1]
    assert [p.name for p in tmp_path.iterdir()] == ["best.safetensors"]


def test_windows_gives_up_after_five_tries_and_keeps_the_old_file(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio, "WINDOWS", True, raising=False)
    path = tmp_path / "best.safetensors"
    path.write_bytes(b"old")
    calls, waits = refuse(99, monkeypatch)
    with pytest.raises(PermissionError):
        fileio.atomic_write_bytes(path, b"new")
    assert len(calls) == 5 and waits == [0.05, 0.1, 0.2, 0.4]
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["best.safetensors"]


def test_elsewhere_a_permission_error_is_not_tried_again(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio, "WINDOWS", False, raising=False)
    path = tmp_path / "best.safetensors"
    path.write_bytes(b"old")
    calls, waits = refuse(2, monkeypatch)
    with pytest.raises(PermissionError):
        fileio.atomic_write_bytes(path, b"new")
    assert len(calls) == 1 and waits == [] and path.read_bytes() == b"old"


@pytest.mark.parametrize("windows", [True, False])
@pytest.mark.parametrize("error, says, not_says", [
    (PermissionError(errno.EACCES, "Permission denied"), "Permission denied", "free some space"),
    (OSError(errno.ENOSPC, "No space left on device"), "kept); free some space or choose a writable --out folder",
     "another program"),
    (OSError(errno.EIO, "Input/output error"), "Input/output error (the previous checkpoint, if any, is kept); "
                                               "choose a writable --out folder", "free some space"),
], ids=["in-use", "disk-full", "other"])
def test_a_failed_checkpoint_write_names_its_cause(error, says, not_says, windows, tmp_path, monkeypatch):
    def fail(*args):
        raise error

    monkeypatch.setattr(fileio, "WINDOWS", windows, raising=False)
    monkeypatch.setattr(time, "sleep", lambda s: None)
    monkeypatch.setattr(fileio.os, "replace", fail)
    with pytest.raises(SeqlabError) as exc:
        save_checkpoint(tmp_path / "best.safetensors", model={}, meta={"task": "lm"})
    message = str(exc.value)
    assert says in message and not_says not in message and "\n" not in message
    if isinstance(error, PermissionError):
        assert ("another program may have the file open" in message) == windows


def test_overwrite_moves_the_old_run_aside_through_the_same_retries(tmp_path, monkeypatch):
    # --overwrite moved the old run's files with a bare os.replace: on Windows one refusal while a
    # `seqlab evaluate` read best.safetensors ended the new run before it began
    from types import SimpleNamespace

    from seqlab.training.run_folder import open_run_folder

    monkeypatch.setattr(fileio, "WINDOWS", True, raising=False)
    out = tmp_path / "run"
    out.mkdir()
    for name in ("best.safetensors", "last.safetensors", "metrics.jsonl"):
        (out / name).write_bytes(name.encode())
    calls, waits = refuse(1, monkeypatch)
    open_run_folder(SimpleNamespace(out=str(out), overwrite=True, resume=False), log=lambda *a: None)
    assert waits == [0.05] and len(calls) >= 4  # the refused move, tried again, and the others
    assert not (out / "best.safetensors").exists()  # moved aside for the new run


def test_a_data_or_cache_folder_given_with_a_tilde_is_under_home(tmp_path, monkeypatch):
    # SEQLAB_DATA="~/data" (quoted, so the shell left the ~) named a folder "~" in the current one
    from seqlab.data import registry
    from seqlab.data.corpora import dataset_file

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    bundled = Path(registry.__file__).parent / "resources" / "timemachine.txt"
    (tmp_path / "data" / "timemachine.txt").write_bytes(bundled.read_bytes())
    monkeypatch.setenv("SEQLAB_DATA", "~/data")
    assert dataset_file("timemachine") == tmp_path / "data" / "timemachine.txt"
    monkeypatch.setenv("SEQLAB_CACHE", "~/cache")
    assert registry.cache_dir() == tmp_path / "cache"


@pytest.fixture
def umask():
    """Set the process's umask for the test (os.umask), then put back the one it had."""
    before = os.umask(0o022)
    yield os.umask
    os.umask(before)


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.skipif(os.name == "nt", reason="a Windows mode says only read-only")
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002], ids=oct)
def test_a_new_file_gets_the_mode_open_gives_it(mask, umask, tmp_path):
    # tempfile.mkstemp made checkpoints 0o600 whatever the umask, where the plots beside them were 0o644:
    # the twin is a file made by open() under the same umask
    umask(mask)
    fileio.atomic_write_bytes(tmp_path / "last.safetensors", b"new")
    (tmp_path / "by_open.png").write_bytes(b"plot")
    assert _mode(tmp_path / "last.safetensors") == _mode(tmp_path / "by_open.png") == 0o666 & ~mask
    assert {p.name for p in tmp_path.iterdir()} == {"last.safetensors", "by_open.png"}  # no temporary file left


@pytest.mark.skipif(os.name == "nt", reason="a Windows mode says only read-only")
@pytest.mark.parametrize("mask, before", [(0o022, 0o640), (0o077, 0o644), (0o022, 0o600), (0o022, 0o444)],
                         ids=["022-640", "077-644", "022-600", "022-444"])
def test_a_replaced_file_keeps_its_mode(mask, before, umask, tmp_path):
    # as editors keep it: a metrics.jsonl made group-readable (or private) stays so when a --resume rewrites it
    umask(mask)
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"old")
    os.chmod(path, before)
    fileio.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == before


def test_windows_leaves_the_mode_alone(tmp_path, monkeypatch):
    # (a Windows mode is only read-only; a read-only file copied onto the new one could not be replaced later)
    monkeypatch.setattr(fileio, "WINDOWS", True, raising=False)
    chmods = []
    monkeypatch.setattr(fileio.os, "fchmod", lambda *a: chmods.append(a), raising=False)
    path = tmp_path / "best.safetensors"
    path.write_bytes(b"old")
    fileio.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and chmods == []
