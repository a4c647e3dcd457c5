"""Mutation audit of the data registry: a CRLF copy verifies only where its \\r\\n alone differ, and
a file is hashed once per process."""

import hashlib

import pytest

from seqlab import SeqlabError
from seqlab.data import registry
from seqlab.data.corpora import DATASETS, RemoteFile, dataset_file
from seqlab.data.text import read_text


def _toy(monkeypatch, payload: bytes) -> None:
    remote = RemoteFile("toy/a.txt", hashlib.sha256(payload).hexdigest(), "http://example.invalid/a.txt")
    monkeypatch.setitem(DATASETS, "toy", registry.Dataset("toy", {"a.txt": remote}, "a.txt", "toy"))


def test_a_crlf_copy_with_a_stray_carriage_return_fails_its_checksum(tmp_path, monkeypatch):
    payload = b"the time traveller\nfor so it will be convenient\n"
    _toy(monkeypatch, payload)
    good, stray = tmp_path / "good.txt", tmp_path / "stray.txt"
    good.write_bytes(payload.replace(b"\n", b"\r\n"))
    assert dataset_file("toy", path=good) == good
    # one more \r inside a line: read_text reads it as a line end, so this is other text
    stray.write_bytes(payload.replace(b"\n", b"\r\n").replace(b"time ", b"time \r", 1))
    assert read_text(stray) != payload.decode()
    with pytest.raises(SeqlabError, match="fails its checksum"):
        dataset_file("toy", path=stray)


def test_a_copy_with_old_mac_line_ends_verifies_as_read_text_reads_it(tmp_path, monkeypatch):
    payload = b"the time traveller\nfor so it will be convenient\n"
    _toy(monkeypatch, payload)
    mac, mixed = tmp_path / "mac.txt", tmp_path / "mixed.txt"
    mac.write_bytes(payload.replace(b"\n", b"\r"))
    mixed.write_bytes(b"the time traveller\r\nfor so it will be convenient\r")
    for copy in (mac, mixed):
        assert read_text(copy) == payload.decode()  # the same text to every loader
        assert dataset_file("toy", path=copy) == copy
    mac.write_bytes(payload.replace(b"\n", b"\r").replace(b"time ", b"times ", 1))  # other text: still refused
    registry._VERIFIED.clear()
    with pytest.raises(SeqlabError, match="fails its checksum"):
        dataset_file("toy", path=mac)


def test_a_verified_file_is_hashed_once(tmp_path, monkeypatch):
    payload = b"a b c\n"
    _toy(monkeypatch, payload)
    path = tmp_path / "a.txt"
    path.write_bytes(payload)
    hashed = []
    real = registry.sha256_of
    monkeypatch.setattr(registry, "sha256_of", lambda p: hashed.append(p) or real(p))
    for _ in range(3):
        assert dataset_file("toy", path=path) == path
    assert hashed == [path]
