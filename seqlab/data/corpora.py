"""Language-model corpora: text -> token-id streams with a vocabulary, split for training
and held-out evaluation. Where the files come from is `seqlab.data.registry`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Iterator, Literal

import numpy as np
import torch

from seqlab.data import token_ids
from seqlab.data.registry import (DATASETS, Dataset, RemoteFile, cache_dir,  # noqa: F401 (re-exported)
                                  dataset_file, get_dataset)
from seqlab.data.text import TextBlocks, book_lines, gc_paused, read_text, read_text_utf8, tokenize
from seqlab.data.user_files import file_fingerprint, split_files
from seqlab.data.vocab import EOS, UNK, Vocab  # noqa: F401 (EOS re-exported)
from seqlab.errors import SeqlabError

# How text becomes a token stream ("style"):
#   book: the book's cleaning (letters only, lower case; `preprocess_line`), words or
#         characters of each line concatenated with nothing between lines, exactly as
#         `load_corpus_time_machine` does. Used for the Time Machine.
#   raw:  the text as it is; words are `line.split()` plus one "<eos>" per line (the
#         pytorch/examples and literature convention for PTB and WikiText-2); characters
#         are every character, newlines included (char-rnn / nanoGPT convention).

Style = Literal["book", "raw"]
_STYLE = {"timemachine": "book"}
_SPLIT_FILES = {"ptb", "wikitext-2"}
HELDOUT_FRACTION = 0.1


def text_style(dataset: str | None) -> Style:
    """How a corpus's text becomes tokens: the registered data set's style (the Time Machine's is
    the book's), "raw" for any other text (a --data file or folder)."""
    return _STYLE.get(dataset or "", "raw")


def data_name(data: str | Path) -> str:
    """A --data file's or folder's name, as a corpus is named: its last part, or for a path ending
    in '.' or '..' (`--data .`) the name of the folder it resolves to."""
    path = Path(data)
    if path.name not in ("", ".."):
        return path.name
    folder = path.resolve()
    return folder.name or str(folder)  # (the root has no name)


def read_time_machine() -> list[str]:
    """The Time Machine as the book reads it: 3,221 cleaned lines."""
    return book_lines(read_text(dataset_file("timemachine")))


def token_chunks(text: str | bytes | TextBlocks, level: str, style: Style = "raw", *, line_ends: bool = True
                 ) -> Iterator[list[str]]:
    """The token stream of `text` (a str, its UTF-8 bytes as `read_text_utf8` gives them, or a file's
    `TextBlocks`), in chunks (lists of tokens), without ever holding all of it.

    `line_ends=False` leaves out the "<eos>" that raw words put at each line end, and only
    those: a word "<eos>" written in the text is kept (the text's own tokens, for statistics).
    """
    if level not in ("word", "char"):
        tokenize([], level)  # raises the standard error
    if style == "book":
        for block in token_ids.str_blocks(text):
            yield [tok for line in tokenize(book_lines(block), level) for tok in line]
    elif style == "raw" and level == "char":
        for block in token_ids.str_blocks(text):
            yield list(block)
    elif style == "raw" and not line_ends:
        for block in token_ids.str_blocks(text):
            yield block.split()  # "\n" is whitespace: the words of each line, one after the other
    elif style == "raw":
        for block in token_ids.str_blocks(text or "\n"):  # (an empty text is one empty line)
            words = block.replace("\n", f" {EOS} ").split()
            # the last line ends with <eos> whether or not the file ends in a newline (blocks but the
            # last end in one): added to its block, not to a copy of the whole text
            yield words if block.endswith("\n") else words + [EOS]
    else:
        raise SeqlabError(f"unknown text style {style!r}: use 'book' or 'raw'")


def index_text(text: str | bytes | TextBlocks, level: str, style: Style, *, line_ends: bool = True
               ) -> tuple[np.ndarray, list[Hashable]]:
    """Dense ids (int32, in first-seen order) of the tokens of `text` (`token_chunks`': a str, its
    UTF-8 bytes or `TextBlocks`; `read_indexed_text` reads a file as fits), and the tokens by id.
    `line_ends` False (`seqlab stats`): no <eos> at line ends, a word "<eos>" written in the text kept."""
    # the fast path ends each line with <eos>: without line ends those go, right only when the text
    # writes no "<eos>" of its own (else the plain path keeps those)
    eos = EOS if isinstance(text, str) else EOS.encode()
    if (level == "word" and style == "raw" and not isinstance(text, TextBlocks)
            and (line_ends or eos not in text)):
        fast = token_ids.index_raw_words(text)
        if fast is not None:
            ids, words = fast
            return (ids, words) if line_ends else _without_token(ids, words, words.index(EOS))
    index = token_ids.first_seen_index()
    ids = token_ids.concat_ids(np.fromiter(map(index.__getitem__, c), dtype=np.int32, count=len(c))
                               for c in token_chunks(text, level, style, line_ends=line_ends))
    return ids, list(index)


def read_indexed_text(path: str | Path, level: str, style: Style) -> bytes | TextBlocks:
    """Text file `path` as `index_text` reads it best: raw words from its UTF-8 bytes (`read_text_utf8`:
    the fast path cuts words in the bytes, never decoding them whole), other tokens from its
    `TextBlocks` (each block decoded once, as it is tokenized). Refused as `read_text` refuses it."""
    return read_text_utf8(path) if level == "word" and style == "raw" else TextBlocks(path)


def _without_token(ids: np.ndarray, tokens: list[Hashable], k: int) -> tuple[np.ndarray, list[Hashable]]:
    """`ids` and `tokens` less token `k` (its ids dropped, the later ids one lower): the ids and tokens
    of the same stream without that token, as if it had never been seen."""
    ids = ids[ids != k]
    ids[ids > k] -= 1
    return ids, tokens[:k] + tokens[k + 1:]


def _vocab_of(ids: np.ndarray, tokens: list[Hashable], **options) -> Vocab:
    """The vocabulary of the tokens `ids` refer to, as `Vocab(tokens_in_order)` builds it."""
    counts = token_ids.id_counts(ids, len(tokens))
    order = np.argsort(-counts, kind="stable")  # by count, ties in first-seen order (as Vocab)
    order = order[counts[order] > 0]
    return Vocab(counter=dict(zip(map(tokens.__getitem__, order.tolist()), counts[order].tolist())),
                 **options)


def _vocab_ids(ids: np.ndarray, tokens: list[Hashable], vocab: Vocab) -> torch.Tensor:
    """`ids` (indices into `tokens`) as int64 indices of `vocab`."""
    get, unk = vocab.token_to_idx.get, vocab.unk
    lut = np.fromiter((get(t, unk) for t in tokens), dtype=np.int64, count=len(tokens))
    return torch.from_numpy(lut[ids])


def encode_text(text: str, level: str, style: Style = "raw", *, vocab: Vocab | None = None,
                min_freq: int = 0, max_size: int | None = None,
                reserved_tokens: list[str] | None = None) -> tuple[torch.Tensor, Vocab]:
    """Token ids (1-D int64) of `text`, and the vocabulary (built on this text unless given)."""
    with gc_paused():
        ids, tokens = index_text(text, level, style)
        if vocab is None:
            vocab = _vocab_of(ids, tokens, min_freq=min_freq, max_size=max_size,
                              reserved_tokens=reserved_tokens)
        return _vocab_ids(ids, tokens, vocab), vocab


@dataclass
class ScoredIds:
    """Text as ids of a vocabulary it was not built on (`encode_with_vocab`)."""

    ids: torch.Tensor  # (N,) int64 ids of the vocabulary; a token outside it is <unk>
    written_unk: int  # how many targets (every token after the first) are the word "<unk>" written in the text
    unknown: dict  # each token outside the vocabulary -> how many targets it is (what the text lost to <unk>)


def encode_with_vocab(text: str | bytes | TextBlocks, level: str, style: Style, vocab: Vocab) -> ScoredIds:
    """A text (a file's, as `read_text` or `read_indexed_text` gives it) in `style`'s tokens, as ids of
    `vocab`; with how many of its targets are the word "<unk>" written in the text
    (`LMCorpus.written_unk`), and which tokens outside `vocab` its targets hold."""
    with gc_paused():
        ids, tokens = index_text(text, level, style)
        counts = token_ids.id_counts(ids[1:], len(tokens))
        known, counted = vocab.token_to_idx, np.flatnonzero(counts).tolist()
        unknown = {tokens[i]: int(counts[i]) for i in counted if tokens[i] not in known}
        return ScoredIds(_vocab_ids(ids, tokens, vocab), _written_unk(ids, tokens), unknown)


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
    source: dict | None = None  # a --data file's (or folder's) fingerprint (None for a registered data set)
    # per split, how many of its targets are the word "<unk>" written in the text itself (PTB and
    # WikiText-2 write one for each rare word): the rest of its <unk> are words outside the vocabulary
    written_unk: dict[str, int] | None = None
    # how load_lm_corpus built it: max_tokens (None: all), min_freq, max_size (None for a corpus built
    # otherwise, or read with a given vocabulary)
    built_with: dict | None = None

    def split(self, name: str) -> torch.Tensor:
        stream = getattr(self, name, None) if name in ("train", "valid", "test") else None
        if stream is None:
            have = [s for s in ("train", "valid", "test") if getattr(self, s) is not None]
            raise SeqlabError(f"{self.name} has no {name!r} split; it has: {', '.join(have)}")
        return stream

    def unk_rate(self, name: str) -> float:
        """The share of the split's targets (every token after its first, what a perplexity averages
        over) that are <unk>: words outside the vocabulary, and "<unk>" written in the text."""
        return unk_shares(self.split(name), self.vocab.unk)[0]

    def oov_rate(self, name: str) -> float:
        """`unk_rate` less the "<unk>" written in the text: the share of the split's targets that
        are <unk> because the vocabulary (--max-vocab, --min-freq, the training split) lacks them."""
        return unk_shares(self.split(name), self.vocab.unk, (self.written_unk or {}).get(name, 0))[1]


def unk_shares(stream: torch.Tensor, unk: int, written: int = 0) -> tuple[float, float]:
    """(unk_rate, oov_rate) of a token-id stream (`LMCorpus.unk_rate`, `.oov_rate`): the share of its
    targets that are `unk`, and that share less the `written` "<unk>" of the text itself."""
    targets = stream[1:]
    if not len(targets):
        return 0.0, 0.0
    share = float((targets == unk).sum()) / len(targets)
    return share, max(share - written / len(targets), 0.0)


TEXT_DATASETS = ("timemachine", "tinyshakespeare", "ptb", "wikitext-2")
_NOT_TEXT = {
    "mnist": "mnist holds images of digits, not text: classify them with `seqlab train classify --dataset mnist`",
    "fra-eng": "fra-eng holds English-French sentence pairs: train a translator with `seqlab train translate "
               "--dataset fra-eng` (for a language model of the raw pair file, give it with --data)",
}


def check_text_dataset(dataset: str | None) -> None:
    """Refuse a registered data set that is not a text corpus, saying what it is for."""
    if dataset in _NOT_TEXT:
        raise SeqlabError(f"{_NOT_TEXT[dataset]}; the text corpora are {', '.join(TEXT_DATASETS)}")


def load_lm_corpus(dataset: str | None = None, data: str | Path | None = None, level: str = "char", *,
                   style: Style | None = None, max_tokens: int | None = None, min_freq: int = 0,
                   max_size: int | None = None, vocab: Vocab | None = None, held_out_only: bool = False
                   ) -> LMCorpus:
    """Load a registered data set (`dataset=`), any UTF-8 text file (`data=`), or a folder of
    splits (`data=`: train.txt, valid.txt and optionally test.txt, pytorch/examples' layout).

    Splits: PTB, WikiText-2 and a folder of splits have their own valid/test files; every other
    corpus keeps its last 10% of tokens as the validation split (as nanoGPT does for Tiny
    Shakespeare). The vocabulary is built on the training split, unless one is given (e.g. from
    a checkpoint). `max_tokens` keeps the first tokens of the training split only. `held_out_only`
    (with a `vocab`: a run's evaluation): a training split of its own file is not read (its stream
    is empty); a single text is read whole, its held-out part being its end.
    """
    if (dataset is None) == (data is None):
        raise SeqlabError("give exactly one of a dataset name (--dataset) or a text file (--data)")
    check_text_dataset(dataset)
    if level not in ("word", "char"):
        tokenize([], level)
    if max_tokens is not None and max_tokens == 0:
        raise SeqlabError("max_tokens must be positive (or none/-1 for the whole corpus)")
    if held_out_only and vocab is None:
        raise SeqlabError("held_out_only needs the vocabulary the held-out splits are read with (vocab=)")
    given_vocab = vocab
    name = dataset or data_name(data)
    style = style or text_style(dataset)
    extra = [EOS] if level == "word" and style == "raw" else None
    folder = split_files(data) if data is not None else None  # None: `data` is a file
    built = vocab is None
    with gc_paused():
        if dataset in _SPLIT_FILES or folder is not None:
            files = folder or {s: dataset_file(dataset, f"{s}.txt") for s in ("train", "valid", "test")}
            # (held out only: WikiText-103's 100M training tokens indexed to score 245k test ones)
            indexed = {s: index_text(read_indexed_text(path, level, style), level, style)
                       if not (held_out_only and s == "train")
                       else (np.empty(0, dtype=np.int64), []) for s, path in files.items()}
            for split, (ids, _) in indexed.items():
                if split != "train" and len(ids) < 2:
                    raise SeqlabError(f"{str(files[split])!r} holds {len(ids)} {level} token(s): a held-out "
                                      "split needs at least 2 (one to predict)")
            if built:
                vocab = _vocab_of(indexed["train"][0], indexed["train"][1], min_freq=min_freq,
                                  max_size=max_size, reserved_tokens=extra)
        else:
            ids, tokens = index_text(read_indexed_text(dataset_file(dataset) if dataset else data, level, style),
                                     level, style)
            n_valid = int(round(len(ids) * HELDOUT_FRACTION))
            if len(ids) - n_valid < 2 or n_valid < 2:
                raise SeqlabError(f"{name!r} has only {len(ids)} {level} tokens: too short to hold out "
                                  f"{HELDOUT_FRACTION:.0%} for validation; give a longer text")
            if built:
                vocab = _vocab_of(ids[:-n_valid], tokens, min_freq=min_freq, max_size=max_size,
                                  reserved_tokens=extra)
            indexed = {"train": (ids[:-n_valid], tokens), "valid": (ids[-n_valid:], tokens)}
        if built and len(vocab) <= 1 + len(extra or []):
            raise SeqlabError(f"min_freq={min_freq}, max_size={max_size} leave no {level} of {name!r} in the "
                              "vocabulary (every token would be <unk>): lower min_freq or raise max_size "
                              "(from the command line: --min-freq, --max-vocab)")
        if max_tokens is not None and max_tokens > 0:
            ids, tokens = indexed["train"]
            indexed["train"] = (ids[:max_tokens], tokens)
        streams = {s: _vocab_ids(ids, tokens, vocab) for s, (ids, tokens) in indexed.items()}
    written = {s: _written_unk(ids, tokens) for s, (ids, tokens) in indexed.items()}
    source = None if data is None else file_fingerprint(data, [p.name for p in folder.values()] if folder else None)
    built = {"max_tokens": max_tokens if max_tokens is not None and max_tokens > 0 else None,
             "min_freq": min_freq, "max_size": max_size} if given_vocab is None else None
    return LMCorpus(name=name, level=level, vocab=vocab, train=streams["train"], valid=streams["valid"],
                    test=streams.get("test"), source=source, written_unk=written, built_with=built)


def _written_unk(ids: np.ndarray, tokens: list[Hashable]) -> int:
    """How many of a split's targets (`ids[1:]`) are the word "<unk>" written in the text."""
    try:
        k = tokens.index(UNK)
    except ValueError:
        return 0
    targets, step = ids[1:], 1 << 22  # (a slice at a time: a bool array of every target is 104 MB at 104 M tokens)
    return sum(int(np.count_nonzero(targets[s:s + step] == k)) for s in range(0, len(targets), step))
