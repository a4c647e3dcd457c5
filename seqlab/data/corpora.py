"""Language-model corpora: text -> token-id streams with a vocabulary, split for training
and held-out evaluation. Where the files come from is `seqlab.data.registry`."""

from __future__ import annotations

import collections
import contextlib
import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Iterable, Iterator, Literal

import numpy as np
import torch

from seqlab.data.registry import (DATASETS, Dataset, RemoteFile, cache_dir,  # noqa: F401 (re-exported)
                                  dataset_file, get_dataset, sha256_of)
from seqlab.data.text import book_lines, read_text, tokenize
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError

# How text becomes a token stream ("style"):
#   book: the book's cleaning (letters only, lower case; `preprocess_line`), words or
#         characters of each line concatenated with nothing between lines, exactly as
#         `load_corpus_time_machine` does. Used for the Time Machine.
#   raw:  the text as it is; words are `line.split()` plus one "<eos>" per line (the
#         pytorch/examples and literature convention for PTB and WikiText-2); characters
#         are every character, newlines included (char-rnn / nanoGPT convention).

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
    with _gc_paused():
        indexer = _Indexer()
        ids = indexer.encode(token_chunks(text, level, style))
        if vocab is None:
            vocab = Vocab(counter=indexer.counter(ids), min_freq=min_freq, max_size=max_size,
                          reserved_tokens=reserved_tokens)
        return indexer.to_vocab_ids(ids, vocab), vocab


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of short-lived token strings
    exist: they hold no cycles, and every collection would walk them all (it costs
    more than half of the encoding time on WikiText-2)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
