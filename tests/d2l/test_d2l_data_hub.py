"""`d2l.DATA_HUB[name] = (url, sha1)` then `d2l.download(name)`: the book's way to fetch another text
(8.2's exercise), answered as the book's `download` answers it (written out below from d2l 0.17.6, and
d2l 0.17.6 itself where installed). seqlab's one difference: a download whose sha1 is not the entry's is
not kept (the book keeps any reply)."""

import hashlib
import io
import os
import urllib.error
import urllib.request
import zipfile

import pytest

from d2l_0176 import import_real_d2l
from seqlab import d2l
from seqlab.errors import SeqlabError

TEXT = b"First Citizen:\nBefore we proceed any further, hear me speak.\n"
SHA1 = hashlib.sha1(TEXT).hexdigest()
URL = "https://example.invalid/files/input.txt"


def book_download(name, DATA_HUB, requests, cache_dir=os.path.join('..', 'data')):  # d2l 0.17.6, verbatim
    """Download a file inserted into DATA_HUB, return the local filename."""
    assert name in DATA_HUB, f"{name} does not exist in {DATA_HUB}."
    url, sha1_hash = DATA_HUB[name]
    os.makedirs(cache_dir, exist_ok=True)
    fname = os.path.join(cache_dir, url.split('/')[-1])
    if os.path.exists(fname):
        sha1 = hashlib.sha1()
        with open(fname, 'rb') as f:
            while True:
                data = f.read(1048576)
                if not data:
                    break
                sha1.update(data)
        if sha1.hexdigest() == sha1_hash:
            return fname  # Hit cache
    print(f'Downloading {fname} from {url}...')
    r = requests.get(url, stream=True, verify=True)
    with open(fname, 'wb') as f:
        f.write(r.content)
    return fname


def book_download_extract(name, DATA_HUB, requests, folder=None):  # d2l 0.17.6, verbatim (zip and tar)
    """Download and extract a zip/tar file."""
    fname = book_download(name, DATA_HUB, requests)
    base_dir = os.path.dirname(fname)
    data_dir, ext = os.path.splitext(fname)
    if ext == '.zip':
        fp = zipfile.ZipFile(fname, 'r')
    else:
        assert False, 'Only zip/tar files can be extracted.'
    fp.extractall(base_dir)
    return os.path.join(base_dir, folder) if folder else data_dir


class Web:
    """The network, for both: `requests.get` for the book's, `urlopen` for seqlab's; None: offline."""

    def __init__(self, monkeypatch, files=None):
        self.files, self.asked = files, []
        monkeypatch.setattr(urllib.request, "urlopen", self.urlopen)  # (seqlab.d2l.text reads it there)

    def urlopen(self, url, timeout=None):
        self.asked.append(url)
        if self.files is None or url not in self.files:
            raise urllib.error.URLError("offline")
        return io.BytesIO(self.files[url])

    def get(self, url, **kw):  # requests.get
        self.asked.append(url)
        if self.files is None or url not in self.files:
            raise ConnectionError("offline")
        return type("Response", (), {"content": self.files[url]})()


@pytest.fixture
def work(tmp_path, monkeypatch):
    """The book's layout: the notebook runs in work/, its cache is ../data."""
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path


def test_an_added_entry_is_read_from_the_books_cache_without_network(work, monkeypatch, capsys):
    # SeqlabError: 'shakespeare' is not one of the book's chapter 8-9 data sets here: time_machine, fra-eng
    (work / "data").mkdir()
    (work / "data" / "input.txt").write_bytes(TEXT)
    web = Web(monkeypatch)
    monkeypatch.setitem(d2l.DATA_HUB, "shakespeare", (URL, SHA1))
    got = d2l.download("shakespeare")
    assert got == book_download("shakespeare", d2l.DATA_HUB, web) == os.path.join("..", "data", "input.txt")
    other = work / "elsewhere"
    other.mkdir()
    (other / "input.txt").write_bytes(TEXT)
    assert d2l.download("shakespeare", cache_dir=str(other)) == str(other / "input.txt")
    assert web.asked == [] and capsys.readouterr().out == ""
    with open(got, encoding="utf-8") as f:  # what the exercise does next
        assert d2l.Vocab(d2l.tokenize([f.read()], "word"))["Citizen:\nBefore"] == 0  # (<unk>: one token a line)


def test_an_added_entry_is_downloaded_and_checked(work, monkeypatch, capsys):
    web = Web(monkeypatch, {URL: TEXT})
    monkeypatch.setitem(d2l.DATA_HUB, "shakespeare", (URL, SHA1))
    got = d2l.download("shakespeare")
    assert open(got, "rb").read() == TEXT
    said = capsys.readouterr().out
    os.remove(got)
    assert book_download("shakespeare", d2l.DATA_HUB, web) == got and open(got, "rb").read() == TEXT
    assert said == capsys.readouterr().out == f"Downloading {got} from {URL}...\n"
    d2l.DATA_HUB["shakespeare"] = (URL, "0" * 40)  # a wrong sha1: the book keeps the file, seqlab refuses it
    os.remove(got)
    with pytest.raises(SeqlabError, match=f"has sha1 {SHA1}, not DATA_HUB's 0000.*nothing was kept"):
        d2l.download("shakespeare")
    assert not os.path.exists(got)


def test_a_cached_file_that_fails_its_sha1_offline_says_where_and_what(work, monkeypatch, capsys):
    (work / "data").mkdir()
    (work / "data" / "input.txt").write_bytes(TEXT + b"edited\n")
    Web(monkeypatch)
    monkeypatch.setitem(d2l.DATA_HUB, "shakespeare", (URL, SHA1))
    with pytest.raises(SeqlabError, match=r"'\.\./data/input\.txt' has sha1 [0-9a-f]{40}, not DATA_HUB's "
                                          f"{SHA1}, and the download from {URL} failed"):
        d2l.download("shakespeare")
    monkeypatch.setitem(d2l.DATA_HUB, "nowhere", (URL.replace("input", "nowhere"), SHA1))
    with pytest.raises(SeqlabError, match=r"'\.\./data/nowhere\.txt' is not there.*put the file at"):
        d2l.download("nowhere")
    for entry in ((URL,), (URL, None), URL):
        monkeypatch.setitem(d2l.DATA_HUB, "bad", entry)
        with pytest.raises(SeqlabError, match=r"DATA_HUB\['bad'\] must be \(url, sha1\)"):
            d2l.download("bad")
    with pytest.raises(SeqlabError, match=r"not one of the book's .* nor in d2l.DATA_HUB: add it"):
        d2l.download("kaggle_house_train")


def test_download_extract_of_an_added_zip_as_the_books(work, monkeypatch, capsys):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("poems/input.txt", TEXT)
    payload = buf.getvalue()
    url = "https://example.invalid/poems.zip"
    web = Web(monkeypatch, {url: payload})
    monkeypatch.setitem(d2l.DATA_HUB, "poems", (url, hashlib.sha1(payload).hexdigest()))
    got = d2l.download_extract("poems")
    assert got == book_download_extract("poems", d2l.DATA_HUB, web) == os.path.join("..", "data", "poems")
    assert open(os.path.join(got, "input.txt"), "rb").read() == TEXT
    assert d2l.download_extract("poems", "poems") == os.path.join("..", "data", "poems")
    assert web.asked == [url]  # seqlab's first call only: the book's and seqlab's second read the cached zip


def test_the_books_own_entries_are_seqlabs_data_sets_still_and_an_entry_of_the_package_name_counts(
        work, monkeypatch, capsys):
    Web(monkeypatch)
    monkeypatch.setitem(d2l.DATA_HUB, "shakespeare", (URL, SHA1))
    path = d2l.download("time_machine")  # from $SEQLAB_DATA (or the copy in the package), not ../data
    assert os.path.basename(path) == "timemachine.txt" and os.path.getsize(path) == 178979
    assert not os.path.exists(os.path.join("..", "data"))
    # a reader who replaces the dict (`d2l.DATA_HUB = {...}`) rebinds the package's name
    (work / "data").mkdir()
    (work / "data" / "input.txt").write_bytes(TEXT)
    monkeypatch.setattr(d2l, "DATA_HUB", {"mine": (URL, SHA1)})
    assert d2l.download("mine") == os.path.join("..", "data", "input.txt")


def test_as_d2l_0176_itself(work, monkeypatch, capsys):
    book = import_real_d2l()
    (work / "data").mkdir()
    (work / "data" / "input.txt").write_bytes(TEXT)
    Web(monkeypatch)
    monkeypatch.setitem(book.DATA_HUB, "shakespeare", (URL, SHA1))
    monkeypatch.setitem(d2l.DATA_HUB, "shakespeare", (URL, SHA1))
    assert d2l.download("shakespeare") == book.download("shakespeare") == os.path.join("..", "data", "input.txt")
    cache = str(work / "data")
    assert d2l.download("shakespeare", cache) == book.download("shakespeare", cache)
