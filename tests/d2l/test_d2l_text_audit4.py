"""Mutation audit 4 of seqlab.d2l.text: the book's DATA_HUB helpers beyond the plain zip. A reader's
.tar.gz and .tar, `download_extract`'s folder argument, where a zip lands, a damaged archive's error,
an own entry under one of the book's names, a DATA_HUB that is not a dict, and the advice of the
download's error. No network: archives are built in tmp_path and put in the book's cache, ../data."""

import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.request
import zipfile

import pytest

from seqlab import d2l
from seqlab.errors import SeqlabError

TEXT = b"Va !\tGo.\nCours !\tRun.\n"
URL = "https://example.invalid/files/"


@pytest.fixture
def work(tmp_path, monkeypatch):
    """The book's layout: the notebook runs in work/, its cache is ../data; the network is off."""
    (tmp_path / "work").mkdir()
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path / "work")

    def offline(url, timeout=None):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return tmp_path


def cached(work, monkeypatch, name, filename, payload):
    """`payload` in ../data/filename, and DATA_HUB[name] naming it with its sha1 (read with no network)."""
    (work / "data" / filename).write_bytes(payload)
    monkeypatch.setitem(d2l.DATA_HUB, name, (URL + filename, hashlib.sha1(payload).hexdigest()))


def a_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def a_tar(members, mode):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("filename, mode", [("poems.tar.gz", "w:gz"), ("poems.tar", "w")])
def test_a_tar_is_extracted_beside_the_download_as_the_book_does(work, monkeypatch, filename, mode):
    cached(work, monkeypatch, "poems", filename, a_tar({"poems/input.txt": TEXT}, mode))
    got = d2l.download_extract("poems")
    # the book: os.path.splitext of the file's path, so a .tar.gz gives '../data/poems.tar'
    assert got == os.path.join("..", "data", filename[:-len(".gz")] if filename.endswith(".gz") else "poems")
    assert (work / "data" / "poems" / "input.txt").read_bytes() == TEXT  # extracted into ../data itself
    assert not (work / "data" / "poems" / "poems").exists()
    assert d2l.download_extract("poems", "poems") == os.path.join("..", "data", "poems")


def test_a_zip_is_extracted_into_the_downloads_folder_not_into_one_named_after_it(work, monkeypatch):
    cached(work, monkeypatch, "poems", "poems.zip", a_zip({"poems/input.txt": TEXT, "README": b"hi\n"}))
    assert d2l.download_extract("poems") == os.path.join("..", "data", "poems")
    assert (work / "data" / "poems" / "input.txt").read_bytes() == TEXT
    assert (work / "data" / "README").read_bytes() == b"hi\n"
    assert not (work / "data" / "poems" / "poems").exists()


def test_the_folder_argument_names_a_folder_of_the_downloads_folder(work, monkeypatch):
    # the book's return: os.path.join(base_dir, folder) if folder else data_dir
    cached(work, monkeypatch, "pairs", "pairs.zip", a_zip({"fra-eng/fra.txt": TEXT}))
    got = d2l.download_extract("pairs", "fra-eng")
    assert got == os.path.join("..", "data", "fra-eng")
    with open(os.path.join(got, "fra.txt"), "rb") as f:
        assert f.read() == TEXT
    assert d2l.download_extract("pairs") == os.path.join("..", "data", "pairs")


def test_a_damaged_archive_is_a_seqlab_error_that_says_which_file(work, monkeypatch):
    cached(work, monkeypatch, "broken", "broken.zip", b"this is not a zip file")
    with pytest.raises(SeqlabError, match=r"cannot extract '\.\./data/broken\.zip'.*delete it and check "
                                          r"DATA_HUB\['broken'\]"):
        d2l.download_extract("broken")
    cached(work, monkeypatch, "broken_tar", "broken.tar", b"this is not a tar file either" * 40)
    with pytest.raises(SeqlabError, match=r"cannot extract '\.\./data/broken\.tar'"):
        d2l.download_extract("broken_tar")


def test_a_readers_own_entry_under_one_of_the_books_names_is_fetched_as_the_book_does(work, monkeypatch):
    # the registry serves time_machine only while DATA_HUB's entry is the book's own
    cached(work, monkeypatch, "time_machine", "my_machine.txt", TEXT)
    assert d2l.download("time_machine") == os.path.join("..", "data", "my_machine.txt")
    cached(work, monkeypatch, "fra-eng", "my-fra-eng.zip", a_zip({"my-fra-eng/fra.txt": TEXT}))
    got = d2l.download_extract("fra-eng")
    assert got == os.path.join("..", "data", "my-fra-eng")
    assert (work / "data" / "my-fra-eng" / "fra.txt").read_bytes() == TEXT


def test_a_data_hub_that_is_not_a_dict_leaves_the_books_entries_working(work, monkeypatch):
    monkeypatch.setattr(d2l, "DATA_HUB", None)
    path = d2l.download("time_machine")
    assert os.path.basename(path) == "timemachine.txt" and os.path.getsize(path) == 178979


def test_a_failed_download_says_why_and_where_to_put_the_file(work, monkeypatch):
    monkeypatch.setitem(d2l.DATA_HUB, "nowhere", (URL + "nowhere.txt", "0" * 40))
    with pytest.raises(SeqlabError) as err:
        d2l.download("nowhere", cache_dir=str(work / "cache"))
    said = str(err.value)
    assert "the download from https://example.invalid/files/nowhere.txt failed (offline)" in said  # the reason
    assert f"(cache_dir={str(work / 'cache')!r})" in said


# round 2: mutants of lines audit 3 left alone

def test_the_books_own_cell_setting_its_entry_again_still_reads_seqlabs_copy(work, monkeypatch):
    # the book's notebook runs `d2l.DATA_HUB['time_machine'] = (d2l.DATA_URL + 'timemachine.txt', '090b...')`:
    # an equal entry (a new tuple) is the book's own, served by the registry, not fetched into ../data
    monkeypatch.setitem(d2l.DATA_HUB, "time_machine",
                        (d2l.DATA_URL + "timemachine.txt", "090b5e7e70c295757f55df93cb0a180b9691891a"))
    path = d2l.download("time_machine")
    assert os.path.getsize(path) == 178979 and not os.listdir(work / "data")


def test_an_entry_of_three_parts_is_refused_as_not_url_and_sha1(work, monkeypatch):
    monkeypatch.setitem(d2l.DATA_HUB, "three", (URL + "three.txt", hashlib.sha1(TEXT).hexdigest(), "extra"))
    with pytest.raises(SeqlabError, match=r"DATA_HUB\['three'\] must be \(url, sha1\), two strings"):
        d2l.download("three")


def test_download_extract_of_a_file_that_is_no_archive_says_to_use_download(work, monkeypatch):
    cached(work, monkeypatch, "plain", "plain.txt", TEXT)
    with pytest.raises(SeqlabError, match=r"extracts zip and tar files only, and '\.\./data/plain\.txt' is neither: "
                                          r"read it with d2l\.download\('plain'\)"):
        d2l.download_extract("plain")


def test_a_damaged_archives_error_gives_the_archive_readers_reason(work, monkeypatch):
    cached(work, monkeypatch, "broken", "broken.zip", b"this is not a zip file")
    with pytest.raises(SeqlabError, match=r"broken\.zip': File is not a zip file; delete it"):  # zipfile's words
        d2l.download_extract("broken")


@pytest.mark.skipif(not hasattr(tarfile, "data_filter"), reason="tarfile's extraction filters: Python >= 3.11.4")
def test_a_tar_member_that_would_land_outside_the_cache_is_refused(work, monkeypatch):
    cached(work, monkeypatch, "evil", "evil.tar", a_tar({"evil/ok.txt": TEXT, "../outside.txt": TEXT}, "w"))
    with pytest.raises(SeqlabError, match=r"cannot extract '\.\./data/evil\.tar'.*outside"):
        d2l.download_extract("evil")
    assert not (work / "outside.txt").exists()
