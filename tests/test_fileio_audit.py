"""Mutation-audit additions for seqlab.fileio: what the existing tests let through."""

import errno
import os
import stat

import pytest

from seqlab import fileio


def test_atomic_write_syncs_the_whole_file_then_the_renamed_entry(tmp_path, monkeypatch):
    # durability, as a crash would test it: fsync of the temporary file once all of it is in the OS (not
    # still in Python's buffer), then, after the rename, of the folder that holds the new name
    path, data = tmp_path / "ckpt.bin", b"x" * 100  # (less than a buffer: held by Python until flushed)
    path.write_bytes(b"old")
    synced, real_fsync = [], os.fsync

    def spy(fd):
        st = os.fstat(fd)
        synced.append(("folder", path.read_bytes() == data) if stat.S_ISDIR(st.st_mode) else ("file", st.st_size))
        return real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", spy)
    fileio.atomic_write_bytes(path, data)
    assert synced == [("file", len(data)), ("folder", True)]


@pytest.mark.skipif(fileio.WINDOWS or os.geteuid() != 0, reason="set-user-ID bits: POSIX, and set by root here")
def test_a_replaced_file_keeps_its_permission_bits_but_not_set_user_id(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    path.chmod(0o4750)
    fileio.atomic_write_bytes(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o750


def test_a_full_quota_is_told_to_free_space_as_a_full_disk_is():
    quota = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
    assert fileio.write_error_advice(quota, "choose another --out") == "free some space or choose another --out"


def test_the_writable_probe_leaves_nothing_behind(tmp_path):
    (tmp_path / "kept.txt").write_text("x")
    fileio.probe_writable(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]
