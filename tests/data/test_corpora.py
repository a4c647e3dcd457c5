"""Data registry (SPEC §10): resolution order, checksums, offline errors, LM corpora."""

import errno
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
import torch

from seqlab import SeqlabError
from seqlab.data import corpora, registry, user_files
from seqlab.data.corpora import DATASETS, RemoteFile, dataset_file, load_lm_corpus

TM_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"


class Response(io.BytesIO):
    """What urlopen gives: the payload, as a context manager."""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_registry_covers_the_six_datasets_with_urls_and_checksums():
    assert set(DATASETS) == {"timemachine", "tinyshakespeare", "ptb", "wikitext-2", "fra-eng", "mnist"}
    for ds in DATASETS.values():
        for f in ds.files.values():
            assert f.url.startswith("http") and len(f.sha256) == 64


def test_embedded_time_machine_works_offline(offline):
    path = dataset_file("timemachine")
    assert hashlib.sha1(path.read_bytes()).hexdigest() == TM_SHA1  # d2l's published SHA-1


def test_offline_and_missing_names_file_and_place(offline):
    with pytest.raises(SeqlabError, match=r"ptb file 'ptb/test.txt' is not on this machine.*put it at"):
        dataset_file("ptb", "test.txt")


def test_a_data_folder_that_is_not_there_is_named(offline, monkeypatch):
    # SEQLAB_DATA misspelt: the refusal said "set SEQLAB_DATA to a folder that holds it" while it was set,
    # to a folder that does not exist
    monkeypatch.setenv("SEQLAB_DATA", str(offline / "shared" / "dta"))
    with pytest.raises(SeqlabError) as e:
        dataset_file("ptb", "test.txt")
    assert str(e.value).endswith(f"; $SEQLAB_DATA is {str(offline / 'shared' / 'dta')!r}, which is not a folder on "
                                 "this machine: check the path")
    (offline / "shared" / "dta").mkdir(parents=True)  # a folder that lacks the file: the plain refusal
    with pytest.raises(SeqlabError, match=r"set SEQLAB_DATA to a folder that holds it\)$"):
        dataset_file("ptb", "test.txt")


def test_unknown_dataset_and_file():
    # each known one named with the command that reads it (review r-docs: `train lm --dataset nosuch` listed
    # fra-eng and mnist among its choices, which it then refuses)
    with pytest.raises(SeqlabError, match=r"unknown dataset 'imdb'; known: timemachine, tinyshakespeare, ptb, "
                                          r"wikitext-2 \(train lm\); fra-eng \(train translate\); mnist \(train "
                                          r"classify\) \(or give a file of your own with --data PATH\)$"):
        dataset_file("imdb")
    with pytest.raises(SeqlabError, match="has no file 'dev.txt'"):
        dataset_file("ptb", "dev.txt")


def test_data_folder_has_priority_and_checksum_is_enforced(offline, monkeypatch):
    folder = offline / "data"
    (folder).mkdir()
    (folder / "timemachine.txt").write_text("tampered text\n")
    monkeypatch.setenv("SEQLAB_DATA", str(folder))
    with pytest.raises(SeqlabError, match="fails its checksum"):
        dataset_file("timemachine")


def test_explicit_path_is_verified(tmp_path):
    other = tmp_path / "tm.txt"
    other.write_text("not the time machine\n")
    with pytest.raises(SeqlabError, match="fails its checksum"):
        dataset_file("timemachine", path=other)
    with pytest.raises(SeqlabError, match="not found"):
        dataset_file("timemachine", path=tmp_path / "missing.txt")


def test_download_verifies_and_extracts_zip_member(offline, monkeypatch):
    payload = b"hello world\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pkg/decoy.txt", b"another member, listed first\n")  # only the named member counts
        zf.writestr("pkg/inner.txt", payload)
    good = RemoteFile("toy/inner.txt", hashlib.sha256(payload).hexdigest(), "http://example.invalid/toy.zip",
                      "pkg/inner.txt")
    monkeypatch.setitem(DATASETS, "toy", registry.Dataset("toy", {"inner.txt": good}, "inner.txt", "toy"))

    monkeypatch.setattr(registry.urllib.request, "urlopen", lambda url, timeout: Response(buf.getvalue()))
    path = dataset_file("toy")
    assert path.read_bytes() == payload and path.is_relative_to(offline / "cache")
    bad = RemoteFile("toy/bad.txt", "0" * 64, "http://example.invalid/toy.zip", "pkg/inner.txt")
    monkeypatch.setitem(DATASETS, "toy", registry.Dataset("toy", {"bad.txt": bad}, "bad.txt", "toy"))
    with pytest.raises(SeqlabError, match="fails its checksum.*nothing was kept"):
        dataset_file("toy")
    assert not (offline / "cache" / "toy" / "bad.txt").exists()


@pytest.mark.parametrize("error,advice", [
    (PermissionError(errno.EACCES, "Permission denied"), "fix the folder's permissions or set SEQLAB_CACHE"),
    (OSError(errno.ENOSPC, "No space left on device"), "free some space or set SEQLAB_CACHE"),
    (OSError(errno.EROFS, "Read-only file system"), "; set SEQLAB_CACHE to a writable folder"),
])
def test_a_download_that_cannot_be_saved_gets_advice_for_its_cause(offline, monkeypatch, error, advice):
    # every failed save was told to "free some space", a permission error too
    payload = b"hello world\n"
    good = RemoteFile("toy/t.txt", hashlib.sha256(payload).hexdigest(), "http://example.invalid/t.txt")
    monkeypatch.setitem(DATASETS, "toy", registry.Dataset("toy", {"t.txt": good}, "t.txt", "toy"))

    def cannot_write(*a, **k):
        raise error

    monkeypatch.setattr(registry.urllib.request, "urlopen", lambda url, timeout: Response(payload))
    monkeypatch.setattr(registry, "atomic_write_bytes", cannot_write)
    with pytest.raises(SeqlabError, match="cannot save the download of 'toy/t.txt'") as exc:
        dataset_file("toy")
    assert advice in str(exc.value) and error.strerror in str(exc.value)


def test_custom_text_file_corpus(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("hello world\nhello there\n" * 20)
    lm = load_lm_corpus(data=path, level="word")
    assert lm.vocab.idx_to_token[:2] == ["<unk>", "<eos>"]
    assert len(lm.train) + len(lm.valid) == 20 * 2 * 3  # two words + <eos> per line
    words = lm.vocab.to_tokens(lm.train[:6].tolist())
    assert words == ["hello", "world", "<eos>", "hello", "there", "<eos>"]
    chars = load_lm_corpus(data=path, level="char")
    assert "".join(chars.vocab.to_tokens(chars.train[:12].tolist())) == "hello world\n"


def test_lm_corpus_rejects_bad_requests(tmp_path):
    with pytest.raises(SeqlabError, match="exactly one"):
        load_lm_corpus()
    with pytest.raises(SeqlabError, match="unknown token type"):
        load_lm_corpus("timemachine", level="byte")
    short = tmp_path / "short.txt"
    short.write_text("ab")
    with pytest.raises(SeqlabError, match="too short"):
        load_lm_corpus(data=short, level="char")


def test_time_machine_holds_out_last_tenth():
    lm = load_lm_corpus("timemachine", level="char")
    assert len(lm.train) + len(lm.valid) == 170580
    assert len(lm.valid) == round(170580 * 0.1)
    assert lm.test is None
    with pytest.raises(SeqlabError, match="no 'test' split"):
        lm.split("test")


@pytest.mark.parametrize("name, counts, types", [
    ("ptb", (929589, 73760, 82430), 10000),
    ("wikitext-2", (2088628, 217646, 245569), 33278),
])
def test_word_corpora_counts_match_the_literature(data_dir, name, counts, types):
    lm = load_lm_corpus(name, level="word")
    assert (len(lm.train), len(lm.valid), len(lm.test)) == counts
    assert len(lm.vocab) == types  # <unk> and <eos> included, as pytorch/examples counts
    assert lm.vocab["<unk>"] == 0
    for split in ("valid", "test"):  # held-out splits are read with the training vocabulary
        words = (data_dir / name / f"{split}.txt").read_text(encoding="utf-8").replace("\n", " <eos> ").split()
        assert lm.vocab.to_tokens(lm.split(split)[:300].tolist()) == words[:300]


def test_tinyshakespeare_chars(data_dir):
    lm = load_lm_corpus("tinyshakespeare", level="char")
    assert len(lm.train) + len(lm.valid) == 1115394
    assert len(lm.vocab) == 66  # 65 characters + <unk>
    assert int(lm.train.max()) < 66 and int(lm.valid.min()) >= 0


def test_all_registered_files_in_data_folder_verify(data_dir):
    for name, ds in DATASETS.items():
        for file in ds.files:
            assert Path(dataset_file(name, file)).is_file()


def test_encode_text_char_raw_keeps_newlines():
    ids, vocab = corpora.encode_text("ab\nba\n", "char", "raw")
    assert "".join(vocab.to_tokens(ids.tolist())) == "ab\nba\n"  # every character, as nanoGPT
    words, wv = corpora.encode_text("a b\nc", "word", "raw")
    assert wv.to_tokens(words.tolist()) == ["a", "b", "<eos>", "c", "<eos>"]
    assert ids.dtype == torch.int64


def _toy(monkeypatch, payload=b"toy data\n"):
    remote = RemoteFile("toy/a.txt", hashlib.sha256(payload).hexdigest(), "http://example.invalid/a.txt")
    monkeypatch.setitem(DATASETS, "toy", registry.Dataset("toy", {"a.txt": remote}, "a.txt", "toy"))
    return payload


def test_data_folder_is_searched_before_the_cache(offline, monkeypatch):
    payload = _toy(monkeypatch)
    for root in ("data", "cache"):  # a good copy in both places
        (offline / root / "toy").mkdir(parents=True)
        (offline / root / "toy" / "a.txt").write_bytes(payload)
    monkeypatch.setenv("SEQLAB_DATA", str(offline / "data"))
    assert dataset_file("toy") == offline / "data" / "toy" / "a.txt"  # SPEC §10: SEQLAB_DATA, then the cache
    monkeypatch.delenv("SEQLAB_DATA")
    assert dataset_file("toy") == offline / "cache" / "toy" / "a.txt"


def test_a_file_changed_after_its_check_is_checked_again(tmp_path, monkeypatch):
    payload = _toy(monkeypatch)
    path = tmp_path / "a.txt"
    path.write_bytes(payload)
    assert dataset_file("toy", path=path) == path
    path.write_bytes(b"replaced by another version of the file\n")
    with pytest.raises(SeqlabError, match="fails its checksum"):
        dataset_file("toy", path=path)


def test_download_false_never_touches_the_network(offline, monkeypatch):
    calls = []
    monkeypatch.setattr(registry.urllib.request, "urlopen", lambda *a, **k: calls.append(a))
    with pytest.raises(SeqlabError, match="is not on this machine.*put it at"):
        dataset_file("ptb", "test.txt", download=False)
    assert calls == []


def test_cache_dir_order(monkeypatch, tmp_path):
    # $SEQLAB_CACHE, else $XDG_CACHE_HOME/seqlab (XDG base directory spec), else ~/.cache/seqlab
    monkeypatch.delenv("SEQLAB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert registry.cache_dir() == tmp_path / "xdg" / "seqlab"
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path / "mine"))
    assert registry.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("SEQLAB_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert registry.cache_dir() == tmp_path / "home" / ".cache" / "seqlab"


def test_max_tokens_cuts_the_training_split_only(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("hello world\nhello there\n" * 20)
    full = load_lm_corpus(data=path, level="word")
    cut = load_lm_corpus(data=path, level="word", max_tokens=5)
    assert cut.train.tolist() == full.train[:5].tolist() and len(full.train) > 5
    assert torch.equal(cut.valid, full.valid) and cut.vocab == full.vocab
    with pytest.raises(SeqlabError, match="max_tokens must be positive"):
        load_lm_corpus(data=path, level="word", max_tokens=0)


@pytest.mark.parametrize("options", [dict(min_freq=10**9), dict(max_size=0)])
def test_a_vocabulary_of_only_unk_is_refused(options):
    # it used to train silently to perplexity 1.0: every input and target was <unk>
    with pytest.raises(SeqlabError, match="every token would be <unk>"):
        load_lm_corpus("timemachine", **options)
    assert len(load_lm_corpus("timemachine", max_size=1).vocab) == 2  # one real token is enough


# --- data files and folders that exist but cannot be read (data review) ---------------------------

def _deny(monkeypatch, under, call="stat"):
    """os.stat / open raise PermissionError for paths under `under`, as chmod 000 does for a user
    other than root (the tests may run as root, whom permissions do not stop)."""
    real = getattr(registry.os, call) if call == "stat" else open

    def denied(path, *args, **kwargs):
        if str(path).startswith(str(under)):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    if call == "stat":
        monkeypatch.setattr(registry.os, "stat", denied)
    else:  # the registry reads its files, and user_files a file's sha256
        for module in (registry, user_files):
            monkeypatch.setattr(module, "open", denied, raising=False)


def test_an_unreadable_data_folder_is_a_one_line_error(offline, monkeypatch):
    folder = offline / "data"
    (folder / "ptb").mkdir(parents=True)
    monkeypatch.setenv("SEQLAB_DATA", str(folder))
    _deny(monkeypatch, folder / "ptb")
    with pytest.raises(SeqlabError, match=r"cannot read '.*ptb/test.txt': Permission denied \(check the permissions"):
        dataset_file("ptb", "test.txt")
    with pytest.raises(SeqlabError, match="cannot read .*: Permission denied"):
        dataset_file("ptb", "test.txt", path=folder / "ptb" / "test.txt")


def test_an_unreadable_data_file_is_a_one_line_error(offline, monkeypatch):
    folder = offline / "data"
    folder.mkdir()
    (folder / "timemachine.txt").write_text("some text\n")
    monkeypatch.setenv("SEQLAB_DATA", str(folder))
    _deny(monkeypatch, folder / "timemachine.txt", call="open")
    with pytest.raises(SeqlabError, match="cannot read '.*timemachine.txt': Permission denied"):
        dataset_file("timemachine")
    with pytest.raises(SeqlabError, match="cannot read '.*timemachine.txt': Permission denied"):
        user_files.file_fingerprint(folder / "timemachine.txt")


def test_a_folder_given_as_a_data_file_says_so(tmp_path):
    with pytest.raises(SeqlabError, match="is a folder, not a file"):
        dataset_file("timemachine", path=tmp_path)
