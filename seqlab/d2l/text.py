"""The book's names for text, vocabularies, corpus statistics and minibatches (8.2-8.3).

Differences from d2l 0.17.6, each a fix of a reported defect:
- `tokenize(lines, 'bogus')` raises ValueError (the book prints and returns None).
- `seq_data_iter_sequential` draws its offset from [0, num_steps - 1] (the book's
  `randint(0, num_steps)` includes num_steps, wasting a subsequence; d2l-zh #1301).
- A corpus too short for one batch raises ValueError instead of yielding nothing.
- `download` checks the sha1 of what it downloads too (the book keeps any reply), and an entry
  it cannot fetch or verify is an error saying where to put the file.
"""

import hashlib
import os
import sys
import tarfile
import zipfile

from seqlab.data.corpora import load_corpus_time_machine, read_time_machine
from seqlab.data.registry import dataset_file, fetch_verified
from seqlab.data.sampling import (SeqDataLoader, load_data_time_machine, seq_data_iter_random,
                                  seq_data_iter_sequential)
from seqlab.data.text import tokenize
from seqlab.data.vocab import Vocab, count_corpus
from seqlab.errors import SeqlabError
from seqlab.fileio import write_error_advice

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
DATA_HUB = {"time_machine": (DATA_URL + "timemachine.txt", "090b5e7e70c295757f55df93cb0a180b9691891a"),
            "fra-eng": (DATA_URL + "fra-eng.zip", "94646ad1522d915e7b0f9296181140edcf86a4f5")}
_DATASETS = {"time_machine": "timemachine", "fra-eng": "fra-eng"}  # the book's names -> seqlab's registry
_BUILT_IN = dict(DATA_HUB)  # the entries seqlab's registry serves, while a reader leaves them as they are

__all__ = ["read_time_machine", "tokenize", "Vocab", "count_corpus", "load_corpus_time_machine",
           "seq_data_iter_random", "seq_data_iter_sequential", "SeqDataLoader",
           "load_data_time_machine", "DATA_HUB", "DATA_URL", "download", "download_extract"]


def download(name: str, cache_dir: str | None = None) -> str:
    """The local path of a file of `DATA_HUB`, as the book's `download`.

    The book's chapter 8-9 data sets (`time_machine`: timemachine.txt; `fra-eng`: fra.txt, already out
    of its zip) come from seqlab's registry ($SEQLAB_DATA, then its cache, else a download checked
    against its sha256); `cache_dir` is not used for them. An entry a reader adds (or changes),
    `DATA_HUB[name] = (url, sha1)`, is fetched as the book does: the file `cache_dir` (default
    ../data) / the url's last part is used when its sha1 matches, with no network; else it is
    downloaded there, and kept only when its sha1 matches."""
    if _built_in(name):
        return str(dataset_file(_DATASETS[name]))
    hub = _hub()
    if name not in hub:
        raise SeqlabError(f"{name!r} is not one of the book's chapter 8-9 data sets here ({', '.join(_DATASETS)}) "
                          f"nor in d2l.DATA_HUB: add it as the book does, d2l.DATA_HUB[{name!r}] = (url, sha1), "
                          "or open your file directly (seqlab's own data sets: seqlab.data.registry.DATASETS)")
    return _fetch(name, hub[name], os.path.join("..", "data") if cache_dir is None else cache_dir)


def download_extract(name: str, folder: str | None = None) -> str:
    """The folder holding the book's data set `name` after extraction (`fra-eng`: the folder with
    fra.txt, which the book's `read_data_nmt` opens). An entry a reader adds to `DATA_HUB` is a
    zip or tar file, extracted beside the download as the book does: its folder (the file's name
    without the extension), or `folder` within the download's folder."""
    fname = download(name)
    base_dir = os.path.dirname(fname)
    if _built_in(name):  # (fra.txt, already out of its zip)
        return base_dir
    data_dir, ext = os.path.splitext(fname)
    try:
        if ext == ".zip":
            with zipfile.ZipFile(fname, "r") as fp:
                fp.extractall(base_dir)
        elif ext in (".tar", ".gz"):
            with tarfile.open(fname, "r") as fp:
                # (the "data" filter refuses members that would land outside base_dir; Python >= 3.11.4)
                fp.extractall(base_dir, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        else:
            raise SeqlabError(f"download_extract extracts zip and tar files only, and {fname!r} is neither: "
                              f"read it with d2l.download({name!r}), which returns its path")
    except (zipfile.BadZipFile, tarfile.TarError) as exc:
        raise SeqlabError(f"cannot extract {fname!r}: {exc}; delete it and check DATA_HUB[{name!r}]") from None
    return os.path.join(base_dir, folder) if folder else data_dir


def _built_in(name: str) -> bool:
    """Whether DATA_HUB[name] is one of the book's own entries, left as it is: seqlab's registry serves it."""
    return name in _DATASETS and _hub().get(name) == _BUILT_IN[name]


def _hub() -> dict:
    # the package's name is what a reader writes (`d2l.DATA_HUB = {...}` rebinds it there, not here)
    hub = getattr(sys.modules.get("seqlab.d2l"), "DATA_HUB", DATA_HUB)
    return hub if isinstance(hub, dict) else DATA_HUB


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _fetch(name: str, entry, cache_dir: str) -> str:
    """The book's download of DATA_HUB[name] = (url, sha1) into cache_dir; the sha1 checked both ways."""
    if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
        raise SeqlabError(f"DATA_HUB[{name!r}] must be (url, sha1), two strings, not {entry!r}")
    url, sha1 = entry
    fname = os.path.join(cache_dir, url.split("/")[-1])
    found = None
    if os.path.isfile(fname):
        try:
            with open(fname, "rb") as f:
                found = _sha1(f.read())
        except OSError as exc:
            raise SeqlabError(f"cannot read {fname!r}: {exc.strerror or exc}") from None
        if found == sha1:
            return fname  # the cached copy: no network
    print(f"Downloading {fname} from {url}...")

    def unreachable(exc: BaseException) -> SeqlabError:
        reason = getattr(exc, "reason", None) or exc
        there = (f"{fname!r} has sha1 {found}, not DATA_HUB's {sha1}, " if found is not None
                 else f"{fname!r} is not there, ")
        return SeqlabError(f"{there}and the download from {url} failed ({reason}): put the file at {fname!r} "
                           f"(cache_dir={cache_dir!r}), or correct DATA_HUB[{name!r}] = (url, sha1)")

    fetch_verified(
        url, fname, sha1, hash_name="sha1", unreachable=unreachable,
        mismatch=lambda got: SeqlabError(
            f"the download of {name!r} from {url} has sha1 {got}, not DATA_HUB's {sha1}; nothing was kept: "
            f"correct the sha1 in DATA_HUB[{name!r}] if this is the file you want"),
        unsaved=lambda exc: SeqlabError(
            f"cannot save the download of {name!r} to {fname!r}: {exc.strerror or exc}; "
            f"{write_error_advice(exc, 'pass download(name, cache_dir=...) a writable folder')}"))
    return fname
