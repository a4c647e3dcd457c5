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
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from seqlab.errors import SeqlabError

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


@dataclass(frozen=True)
class Dataset:
    name: str
    files: dict[str, RemoteFile]  # short name -> file
    default: str
    description: str


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
        }, "fra.txt", "English-French sentence pairs (Tatoeba / manythings.org, 167,130 pairs)"),
        Dataset("mnist", {
            name: RemoteFile(f"mnist/{name}", sha, _MNIST + name)
            for name, sha in [
                ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
                ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
                ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
                ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
            ]
        }, "train-images-idx3-ubyte.gz", "MNIST handwritten digits (LeCun et al.; IDX files)"),
    ]
}

_EMBEDDED = {"timemachine.txt": "timemachine.txt"}
_VERIFIED: set[tuple[str, int, float]] = set()


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seqlab"


def get_dataset(name: str) -> Dataset:
    if name not in DATASETS:
        raise SeqlabError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)} "
                          "(or give a text file with --data PATH)")
    return DATASETS[name]


def _verify(path: Path, remote: RemoteFile) -> Path:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime)
    if key in _VERIFIED:
        return path
    digest = sha256_of(path)
    if digest != remote.sha256:
        raise SeqlabError(f"{str(path)!r} fails its checksum (sha256 {digest[:12]}..., expected "
                          f"{remote.sha256[:12]}...): the file is corrupted or another version; "
                          f"delete it, or replace it with the file from {remote.url}")
    _VERIFIED.add(key)
    return path


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
        if not path.is_file():
            raise SeqlabError(f"{str(path)!r} not found (given as the {name} file {file})")
        return _verify(path, remote)
    candidates = []
    if os.environ.get(ENV_DATA):
        candidates.append(Path(os.environ[ENV_DATA]) / remote.relpath)
    candidates.append(cache_dir() / remote.relpath)
    for candidate in candidates:
        if candidate.is_file():
            return _verify(candidate, remote)
    if remote.relpath in _EMBEDDED:
        embedded = resources.files("seqlab.data") / "resources" / _EMBEDDED[remote.relpath]
        with resources.as_file(embedded) as p:
            return _verify(Path(p), remote)
    target = cache_dir() / remote.relpath
    if not download:
        raise _missing(name, remote, target)
    _download(remote, target, name)
    return _verify(target, remote)


def _missing(name: str, remote: RemoteFile, target: Path) -> SeqlabError:
    where = f"${ENV_DATA}/{remote.relpath}" if os.environ.get(ENV_DATA) else str(target)
    return SeqlabError(f"the {name} file {remote.relpath!r} is not on this machine and could not be "
                       f"downloaded from {remote.url}: put it at {where} (or set {ENV_DATA} to a "
                       "folder that holds it)")


def _download(remote: RemoteFile, target: Path, name: str) -> None:
    """Fetch (and unzip) into a temporary file, check the sha256, then move into place."""
    try:
        with urllib.request.urlopen(remote.url, timeout=30) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError, ValueError):
        raise _missing(name, remote, target) from None
    if remote.member is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(payload)) as archive:
                payload = archive.read(remote.member)
        except (zipfile.BadZipFile, KeyError):
            raise SeqlabError(f"{remote.url} did not hold {remote.member!r} as expected; put the file "
                              f"at {target} by hand") from None
    digest = hashlib.sha256(payload).hexdigest()
    if digest != remote.sha256:
        raise SeqlabError(f"the download of {remote.relpath!r} from {remote.url} fails its checksum "
                          f"(sha256 {digest[:12]}...); nothing was kept. Put a good copy at {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
    shutil.move(tmp, target)


# --- language-model corpora -------------------------------------------------------------
#
# How text becomes a token stream ("style"):
#   book: the book's cleaning (letters only, lower case; `preprocess_line`), words or
#         characters of each line concatenated with nothing between lines, exactly as
#         `load_corpus_time_machine` does. Used for the Time Machine.
#   raw:  the text as it is; words are `line.split()` plus one "<eos>" per line (the
#         pytorch/examples and literature convention for PTB and WikiText-2); characters
#         are every character, newlines included (char-rnn / nanoGPT convention).

import collections  # noqa: E402
from typing import Hashable, Iterable, Iterator, Literal  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from seqlab.data.text import book_lines, read_text, tokenize  # noqa: E402
from seqlab.data.vocab import Vocab  # noqa: E402

EOS = "<eos>"
Style = Literal["book", "raw"]
_STYLE = {"timemachine": "book"}
_SPLIT_FILES = {"ptb", "wikitext-2"}
HELDOUT_FRACTION = 0.1
_BLOCK = 1 << 20  # characters per encoding block: bounds peak memory on large corpora


def read_time_machine() -> list[str]:
    """The Time Machine as the book reads it: 3,221 cleaned lines."""
    return book_lines(read_text(dataset_file("timemachine")))


def _blocks(text: str) -> Iterator[str]:
    """Consecutive pieces of `text`, each ending at a newline (or the end)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _BLOCK)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def token_chunks(text: str, level: str, style: Style = "raw") -> Iterator[list[str]]:
    """The token stream of `text`, in chunks (lists of tokens), without ever holding all of it."""
    if level not in ("word", "char"):
        tokenize([], level)  # raises the standard error
    if style == "book":
        for block in _blocks(text):
            yield [tok for line in tokenize(book_lines(block), level) for tok in line]
    elif style == "raw" and level == "char":
        for block in _blocks(text):
            yield list(block)
    elif style == "raw":
        if not text.endswith("\n"):
            text += "\n"  # the last line ends with <eos> whether or not the file ends in a newline
        for block in _blocks(text):
            yield block.replace("\n", f" {EOS} ").split()
    else:
        raise SeqlabError(f"unknown text style {style!r}: use 'book' or 'raw'")


class _Indexer:
    """Tokens -> dense ids in first-seen order, with counts; C-speed via a defaultdict."""

    def __init__(self) -> None:
        self.ids: collections.defaultdict = collections.defaultdict()
        self.ids.default_factory = self.ids.__len__

    def encode(self, chunks: Iterable[list[Hashable]]) -> np.ndarray:
        parts = [np.fromiter(map(self.ids.__getitem__, c), dtype=np.int32, count=len(c)) for c in chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)

    def counter(self, ids: np.ndarray) -> collections.Counter:
        counts = np.bincount(ids, minlength=len(self.ids)) if len(ids) else np.zeros(len(self.ids), int)
        return collections.Counter({tok: int(n) for tok, n in zip(self.ids, counts) if n > 0})

    def to_vocab_ids(self, ids: np.ndarray, vocab: Vocab) -> torch.Tensor:
        lut = np.fromiter((vocab.token_to_idx.get(t, vocab.unk) for t in self.ids), dtype=np.int64,
                          count=len(self.ids))
        return torch.from_numpy(lut[ids]) if len(ids) else torch.zeros(0, dtype=torch.int64)


def encode_text(text: str, level: str, style: Style = "raw", *, vocab: Vocab | None = None,
                min_freq: int = 0, max_size: int | None = None,
                reserved_tokens: list[str] | None = None) -> tuple[torch.Tensor, Vocab]:
    """Token ids (1-D int64) of `text`, and the vocabulary (built on this text unless given)."""
    indexer = _Indexer()
    ids = indexer.encode(token_chunks(text, level, style))
    if vocab is None:
        vocab = Vocab(counter=indexer.counter(ids), min_freq=min_freq, max_size=max_size,
                      reserved_tokens=reserved_tokens)
    return indexer.to_vocab_ids(ids, vocab), vocab


def load_corpus_time_machine(max_tokens: int = -1) -> tuple[list[int], Vocab]:
    """The book's character corpus of the Time Machine (a list of ids) and its vocabulary.

    Ref: 170,580 characters, 28 symbols (26 letters, space, `<unk>`).
    """
    corpus, vocab = encode_text(read_text(dataset_file("timemachine")), "char", "book")
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus.tolist(), vocab


@dataclass
class LMCorpus:
    """A language-modelling corpus: id streams for each split and one vocabulary."""

    name: str
    level: str
    vocab: Vocab
    train: torch.Tensor
    valid: torch.Tensor | None
    test: torch.Tensor | None = None

    def split(self, name: str) -> torch.Tensor:
        stream = getattr(self, name, None) if name in ("train", "valid", "test") else None
        if stream is None:
            have = [s for s in ("train", "valid", "test") if getattr(self, s) is not None]
            raise SeqlabError(f"{self.name} has no {name!r} split; it has: {', '.join(have)}")
        return stream


def load_lm_corpus(dataset: str | None = None, data: str | Path | None = None, level: str = "char", *,
                   style: Style | None = None, max_tokens: int | None = None, min_freq: int = 0,
                   max_size: int | None = None, vocab: Vocab | None = None) -> LMCorpus:
    """Load a registered data set (`dataset=`) or any UTF-8 text file (`data=`).

    Splits: PTB and WikiText-2 have their own valid/test files; every other corpus keeps
    its last 10% of tokens as the validation split (as nanoGPT does for Tiny Shakespeare).
    The vocabulary is built on the training split, unless one is given (e.g. from a
    checkpoint). `max_tokens` keeps the first tokens of the training split only.
    """
    if (dataset is None) == (data is None):
        raise SeqlabError("give exactly one of a dataset name (--dataset) or a text file (--data)")
    if level not in ("word", "char"):
        tokenize([], level)
    if max_tokens is not None and max_tokens == 0:
        raise SeqlabError("max_tokens must be positive (or none/-1 for the whole corpus)")
    name = dataset or Path(data).name
    style = style or _STYLE.get(dataset or "", "raw")
    extra = [EOS] if level == "word" and style == "raw" else None
    if dataset in _SPLIT_FILES:
        texts = {s: read_text(dataset_file(dataset, f"{s}.txt")) for s in ("train", "valid", "test")}
        train, vocab = encode_text(texts["train"], level, style, vocab=vocab, min_freq=min_freq,
                                   max_size=max_size, reserved_tokens=extra)
        valid, _ = encode_text(texts["valid"], level, style, vocab=vocab)
        test, _ = encode_text(texts["test"], level, style, vocab=vocab)
    else:
        text = read_text(dataset_file(dataset) if dataset else data)
        indexer = _Indexer()
        ids = indexer.encode(token_chunks(text, level, style))
        n_valid = int(round(len(ids) * HELDOUT_FRACTION))
        if len(ids) - n_valid < 2 or n_valid < 2:
            raise SeqlabError(f"{name!r} has only {len(ids)} {level} tokens: too short to hold out "
                              f"{HELDOUT_FRACTION:.0%} for validation; give a longer text")
        if vocab is None:
            vocab = Vocab(counter=indexer.counter(ids[:-n_valid]), min_freq=min_freq, max_size=max_size,
                          reserved_tokens=extra)
        stream = indexer.to_vocab_ids(ids, vocab)
        train, valid, test = stream[:-n_valid], stream[-n_valid:], None
    if max_tokens is not None and max_tokens > 0:
        train = train[:max_tokens]
    return LMCorpus(name=name, level=level, vocab=vocab, train=train, valid=valid, test=test)
