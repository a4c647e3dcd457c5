"""`registry.fetch_verified`: the one download-check-save that seqlab's registry (sha256, a zip member)
and the book's `d2l.download` (sha1) share, each with its own messages (pinned in test_corpora.py and
tests/d2l/test_d2l_data_hub.py). Network-free: urlopen is replaced."""

import errno
import hashlib
import io
import urllib.error
import urllib.request
import zipfile

import pytest

from seqlab import d2l
from seqlab.d2l import text as d2l_text
from seqlab.data import registry
from seqlab.data.registry import fetch_verified
from seqlab.errors import SeqlabError

PAYLOAD = b"the time machine\nby h g wells\n"
URL = "https://example.invalid/files/tm.txt"


def errors():
    """The callers' own errors, told apart by their first word."""
    return dict(unreachable=lambda exc: SeqlabError(f"unreachable: {exc!r}"),
                mismatch=lambda got: SeqlabError(f"mismatch: {got}"),
                unsaved=lambda exc: SeqlabError(f"unsaved: {exc.strerror}"))


@pytest.fixture
def web(monkeypatch):
    replies = {URL: PAYLOAD}

    def urlopen(url, timeout=None):
        if url not in replies:
            raise urllib.error.URLError("offline")
        return io.BytesIO(replies[url])

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return replies


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_a_matching_download_is_saved_and_a_wrong_one_leaves_the_target_as_it_was(tmp_path, web, hash_name):
    target = tmp_path / "new" / "folder" / "tm.txt"
    want = hashlib.new(hash_name, PAYLOAD).hexdigest()
    fetch_verified(URL, target, want, hash_name=hash_name, **errors())
    assert target.read_bytes() == PAYLOAD and [p.name for p in target.parent.iterdir()] == ["tm.txt"]
    target.write_bytes(b"an older copy\n")
    with pytest.raises(SeqlabError, match=f"^mismatch: {want}$"):  # the digest the reply had, for the message
        fetch_verified(URL, target, "0" * len(want), hash_name=hash_name, **errors())
    assert target.read_bytes() == b"an older copy\n" and [p.name for p in target.parent.iterdir()] == ["tm.txt"]


def test_the_digest_is_of_the_extracted_file_and_each_failure_is_the_callers_error(tmp_path, web, monkeypatch):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("tm/tm.txt", PAYLOAD)
    web["https://example.invalid/tm.zip"] = archive.getvalue()
    target = tmp_path / "tm.txt"
    fetch_verified("https://example.invalid/tm.zip", target, hashlib.sha256(PAYLOAD).hexdigest(), hash_name="sha256",
                   extract=lambda raw: zipfile.ZipFile(io.BytesIO(raw)).read("tm/tm.txt"), **errors())
    assert target.read_bytes() == PAYLOAD
    with pytest.raises(SeqlabError, match=r"^unreachable: URLError\('offline'\)$"):
        fetch_verified("https://example.invalid/gone.txt", tmp_path / "gone.txt", "0", hash_name="sha1", **errors())
    assert not (tmp_path / "gone.txt").exists()

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(registry, "atomic_write_bytes", full)
    with pytest.raises(SeqlabError, match="^unsaved: No space left on device$"):
        fetch_verified(URL, tmp_path / "x.txt", hashlib.sha1(PAYLOAD).hexdigest(), hash_name="sha1", **errors())


def test_the_registry_and_the_books_download_both_fetch_through_it(tmp_path, web, monkeypatch):
    used = []
    for module in (registry, d2l_text):
        monkeypatch.setattr(module, "fetch_verified", lambda *a, hash_name, **k: used.append(hash_name)
                            or fetch_verified(*a, hash_name=hash_name, **k))
    monkeypatch.delenv("SEQLAB_DATA", raising=False)
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "cache"))
    toy = registry.RemoteFile("toy/tm.txt", hashlib.sha256(PAYLOAD).hexdigest(), URL)
    monkeypatch.setitem(registry.DATASETS, "toy", registry.Dataset("toy", {"tm.txt": toy}, "tm.txt", "toy"))
    assert registry.dataset_file("toy").read_bytes() == PAYLOAD
    monkeypatch.setitem(d2l.DATA_HUB, "tm", (URL, hashlib.sha1(PAYLOAD).hexdigest()))
    assert open(d2l.download("tm", cache_dir=str(tmp_path / "book")), "rb").read() == PAYLOAD
    assert used == ["sha256", "sha1"]
