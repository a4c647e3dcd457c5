"""Data sets: where each file comes from, and how to find it on this machine.

Resolution order for a registered file (SPEC §10):

1. an explicit path given by the caller (`path=`);
2. the data folder named by `$SEQLAB_DATA`, laid out like this:

       $SEQLAB_DATA/
         timemachine.txt
         tinyshakespeare/input.txt
         ptb/{train,valid,test}.txt
         wikitext-2/{train,valid,test}.txt
         fra-eng/fra.txt
         mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz

3. the user cache (`$SEQLAB_CACHE`, else `$XDG_CACHE_HOME/seqlab`, else `~/.cache/seqlab`),
   same layout;
4. a copy shipped inside the package (Time Machine only, so the book's examples run
   on a fresh machine with no network);
5. a download from the canonical URL into the user cache, checked against the sha256
   below before it is kept.

Every file found is checked against its sha256 (once per process); a file that fails
is refused with a message saying which file and what to do.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

from seqlab.data.user_files import is_file, sha256_of, unreadable
from seqlab.errors import SeqlabError
from seqlab.fileio import atomic_write_bytes, write_error_advice

ENV_DATA = "SEQLAB_DATA"
ENV_CACHE = "SEQLAB_CACHE"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: where it lives in the data folder, its sha256, and its source.

    `member` names the file inside a zip archive at `url`, when the canonical source is one.
    """

    relpath: str
    sha256: str
    url: str
    member: str | None = None

    @property
    def is_text(self) -> bool:
        """A text file (its name ends in .txt), read by `read_text`, which reads \\r\\n as \\n; the
        others (MNIST's .gz) are binary, checked byte for byte."""
        return self.relpath.endswith(".txt")


@dataclass(frozen=True)
class Dataset:
    name: str
    files: dict[str, RemoteFile]  # short name -> file
    default: str
    description: str
    command: str = "train lm"  # the training command that reads it (`get_dataset`'s list of the known ones)


_D2L = "http://d2l-data.s3-accelerate.amazonaws.com/"
_WT2 = "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-2-v1.zip"
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset("timemachine", {
            "timemachine.txt": RemoteFile(
                "timemachine.txt", "8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516",
                _D2L + "timemachine.txt"),
        }, "timemachine.txt", "H. G. Wells, The Time Machine (the d2l book's copy; 178,979 bytes)"),
        Dataset("tinyshakespeare", {
            "input.txt": RemoteFile(
                "tinyshakespeare/input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"),
        }, "input.txt", "Tiny Shakespeare (karpathy/char-rnn; 1,115,394 characters)"),
        Dataset("ptb", {
            split + ".txt": RemoteFile(f"ptb/{split}.txt", sha, _D2L + "ptb.zip", f"ptb/ptb.{split}.txt")
            for split, sha in [
                ("train", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
                ("valid", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
                ("test", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
            ]
        }, "train.txt", "Penn Treebank, Mikolov's preprocessing (10k words)"),
        Dataset("wikitext-2", {
            split + ".txt": RemoteFile(f"wikitext-2/{split}.txt", sha, _WT2, f"wikitext-2/wiki.{split}.tokens")
            for split, sha in [
                ("train", "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f"),
                ("valid", "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
                ("test", "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0"),
            ]
        }, "train.txt", "WikiText-2 (tokenized, v1), as in pytorch/examples"),
        Dataset("fra-eng", {
            "fra.txt": RemoteFile(
                "fra-eng/fra.txt", "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104",
                _D2L + "fra-eng.zip", "fra-eng/fra.txt"),
        }, "fra.txt", "English-French sentence pairs (Tatoeba / manythings.org, 167,130 pairs)", "train translate"),
        Dataset("mnist", {
            name: RemoteFile(f"mnist/{name}", sha, _MNIST + name)
            for name, sha in [
                ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
                ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
                ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
                ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
            ]
        }, "train-images-idx3-ubyte.gz", "MNIST handwritten digits (LeCun et al.; IDX files)", "train classify"),
    ]
}

_EMBEDDED = {"timemachine.txt": "timemachine.txt"}
_VERIFIED: set[tuple[str, int, float]] = set()


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()  # (a quoted "~/x" reaches us unexpanded)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "seqlab"


def get_dataset(name: str) -> Dataset:
    if name not in DATASETS:
        by_command: dict[str, list[str]] = {}
        for d in DATASETS.values():
            by_command.setdefault(d.command, []).append(d.name)
        known = "; ".join(f"{', '.join(names)} ({command})" for command, names in by_command.items())
        raise SeqlabError(f"unknown dataset {name!r}; known: {known} (or give a file of your own with --data PATH)")
    return DATASETS[name]


def _verify(path: Path, remote: RemoteFile, bundled: bool = False) -> Path:
    """`path`, once its sha256 is the registry's (a text file's also with its line ends read as \\n);
    else a one-line error saying what to do: replace the file, or for the copy `bundled` inside
    the package, which is not the user's to delete, reinstall seqlab."""
    try:
        info = path.stat()
        key = (str(path.resolve()), info.st_size, info.st_mtime)
    except OSError as exc:
        raise unreadable(path, exc) from None
    if key in _VERIFIED:
        return path
    digest = sha256_of(path)
    if digest != remote.sha256 and not (remote.is_text and _crlf_digest(path) == remote.sha256):
        fix = (f"reinstall seqlab (in a git clone: git checkout -- {str(path)!r}), or put the file from "
               f"{remote.url} at ${ENV_DATA}/{remote.relpath}") if bundled else \
            f"delete it, or replace it with the file from {remote.url}"
        raise SeqlabError(f"{str(path)!r} fails its checksum (sha256 {digest[:12]}..., expected "
                          f"{remote.sha256[:12]}...): the file is corrupted or another version; {fix}")
    _VERIFIED.add(key)
    return path


def _crlf_digest(path: Path) -> str | None:
    """The sha256 of a text file with its \\r\\n and lone \\r line ends read as \\n, None when it has
    none: a copy checked out by Git for Windows (core.autocrlf), saved by a Windows editor or by an
    old Mac one holds the same text, and `read_text` reads them all alike."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from None
    if b"\r" not in raw:
        return None
    return hashlib.sha256(raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")).hexdigest()


def dataset_file(name: str, file: str | None = None, *, path: str | Path | None = None,
                 download: bool = True) -> Path:
    """A verified local copy of one file of a registered data set."""
    dataset = get_dataset(name)
    file = file or dataset.default
    if file not in dataset.files:
        raise SeqlabError(f"dataset {name!r} has no file {file!r}; it has: {', '.join(dataset.files)}")
    remote = dataset.files[file]
    if path is not None:
        path = Path(path)
        if not is_file(path):
            what = "is a folder, not a file" if path.is_dir() else "not found"
            raise SeqlabError(f"{str(path)!r} {what} (given as the {name} file {file})")
        return _verify(path, remote)
    candidates = []
    if os.environ.get(ENV_DATA):
        candidates.append(Path(os.environ[ENV_DATA]).expanduser() / remote.relpath)
    candidates.append(cache_dir() / remote.relpath)
    for candidate in candidates:
        if is_file(candidate):
            return _verify(candidate, remote)
    if remote.relpath in _EMBEDDED:
        embedded = resources.files("seqlab.data") / "resources" / _EMBEDDED[remote.relpath]
        with resources.as_file(embedded) as p:
            return _verify(Path(p), remote, bundled=True)
    target = cache_dir() / remote.relpath
    if not download:
        raise _missing(name, remote, target)
    _download(remote, target, name)
    return _verify(target, remote)


def _missing(name: str, remote: RemoteFile, target: Path) -> SeqlabError:
    data = os.environ.get(ENV_DATA)
    where = f"${ENV_DATA}/{remote.relpath}" if data else str(target)
    # a $SEQLAB_DATA that names no folder (a typo, or a path of another machine) is the likelier fault
    typo = (f"; ${ENV_DATA} is {data!r}, which is not a folder on this machine: check the path"
            if data and not Path(data).expanduser().is_dir() else "")
    return SeqlabError(f"the {name} file {remote.relpath!r} is not on this machine and could not be "
                       f"downloaded from {remote.url}: put it at {where} (or set {ENV_DATA} to a "
                       f"folder that holds it){typo}")


def fetch_verified(url: str, target: str | Path, digest: str, *, hash_name: str,
                   unreachable: Callable[[BaseException], SeqlabError], mismatch: Callable[[str], SeqlabError],
                   unsaved: Callable[[OSError], SeqlabError],
                   extract: Callable[[bytes], bytes] | None = None) -> None:
    """Download `url` (the file `extract` takes out of the reply, where given), and save it at `target`
    only if its `hash_name` (a hashlib name: "sha256", the book's "sha1") hex digest is `digest`: a
    temporary file moved into place, so no half-written or unchecked file is ever left there. Each
    failure is the caller's own one-line error: `unreachable(exc)` when no reply came, `mismatch(got)`
    with the digest the reply had, `unsaved(exc)` when it could not be written."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise unreachable(exc) from None
    if extract is not None:
        payload = extract(payload)
    got = hashlib.new(hash_name, payload).hexdigest()
    if got != digest:
        raise mismatch(got)
    try:
        atomic_write_bytes(target, payload)  # (makes the folders above it)
    except OSError as exc:
        raise unsaved(exc) from None


def _download(remote: RemoteFile, target: Path, name: str) -> None:
    """Fetch (and unzip) into a temporary file, check the sha256, then move into place."""
    def member(payload: bytes) -> bytes:
        try:
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                return archive.read(remote.member)
        except (zipfile.BadZipFile, KeyError):
            raise SeqlabError(f"{remote.url} did not hold {remote.member!r} as expected; put the file "
                              f"at {target} by hand") from None

    fetch_verified(
        remote.url, target, remote.sha256, hash_name="sha256",
        extract=member if remote.member is not None else None,
        unreachable=lambda exc: _missing(name, remote, target),
        mismatch=lambda got: SeqlabError(f"the download of {remote.relpath!r} from {remote.url} fails its checksum "
                                         f"(sha256 {got[:12]}...); nothing was kept. Put a good copy at {target}"),
        unsaved=lambda exc: SeqlabError(
            f"cannot save the download of {remote.relpath!r} to {target}: {exc.strerror or exc}; "
            f"{write_error_advice(exc, 'set SEQLAB_CACHE to a writable folder')}"))
