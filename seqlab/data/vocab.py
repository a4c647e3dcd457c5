"""Vocabulary: tokens <-> indices, ordered by frequency, saved as JSON."""

from __future__ import annotations

import collections
import itertools
import json
import numbers
import operator
from pathlib import Path
from typing import Any, Hashable, Iterable, Iterator, Sequence

import numpy as np
import torch

from seqlab.errors import SeqlabError, is_int

UNK = "<unk>"
EOS = "<eos>"  # the end-of-line token of raw words and of translation sentences
# to_dict keeps this many of the counted tokens a vocabulary left out (the most frequent), and the
# number of the others: a corpus of millions of rare word types made every checkpoint's header
# tens of MB (seconds to write each epoch), and past safetensors' 100 MB one no checkpoint was written
SAVED_LEFT_OUT = 100_000


def count_corpus(tokens: Iterable) -> collections.Counter:
    """Count tokens of a 1-D list, or of a 2-D list of lines (flattened); any iterable of either (a
    generator of lines, as torchtext's build_vocab_from_iterator takes) is read into a list first. A
    tensor, or tensors as tokens, is refused: each hashes by identity, a token of its own never seen again."""
    if isinstance(tokens, torch.Tensor):
        raise _tensor_key("Vocab(...)", tokens)
    if not (hasattr(tokens, "__len__") and hasattr(tokens, "__getitem__")):
        tokens = list(tokens)
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    if len(tokens) and not isinstance(tokens[0], str) and isinstance(tokens[0], torch.Tensor):  # (the first: cheap)
        raise _tensor_key("Vocab(...)", tokens[0])
    return collections.Counter(tokens)


_END = object()  # (encode's marker of an empty input: None may be a token)


def _tensor_key(call: str, tensor: torch.Tensor) -> SeqlabError:
    """The error for a tensor where tokens belong: it hashes by identity, so it would be <unk> (or, counted, a
    token of its own), silently."""
    return SeqlabError(f"{call} takes tokens, not a tensor (a {tensor.dim()}-D {tensor.dtype} one): a tensor is "
                       "never a token (it would look up as <unk>, or count as a new token each time). For the tokens "
                       "of ids use vocab.to_tokens(ids); to look a tensor's values up as tokens, pass ids.tolist()")


def _lines(first: list, rest: Iterator) -> Iterator[Hashable]:
    """The tokens of `first` and of each line after it, refusing a token among the lines (a str's
    characters would otherwise be read as its tokens)."""
    yield from first
    for line in rest:
        if not isinstance(line, list):
            raise SeqlabError(f"vocab.encode read a list of lines (lists of tokens), and then {line!r}, which is "
                              "not a line: give tokens, or lines of tokens, not a mix of them")
        yield from line


def holds_words(vocab: Any) -> bool:
    """Whether a vocabulary holds words: a str token longer than one character that is not a <...>
    special (<unk>, <pad>, <eos>). Any object with `idx_to_token` (the book's own Vocab class too):
    generation reads a str prefix as characters only where this is False."""
    return any(isinstance(t, str) and len(t) > 1 and not (t[0] == "<" and t[-1] == ">") for t in vocab.idx_to_token)


# the tensor types whose .tolist() gives Python ints (or bools, which the per-id path takes as 0 and 1)
_INT_DTYPES = frozenset({torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool})


def _ids_in_range(ids: torch.Tensor | np.ndarray, size: int) -> bool:
    """Whether an array of ids is of an integer (or bool) type with every id in [0, size); False sends it
    down the per-id path, which refuses the first bad id as it always did."""
    if isinstance(ids, torch.Tensor):
        if ids.dtype not in _INT_DTYPES:
            return False
        return ids.numel() == 0 or (int(ids.min()) >= 0 and int(ids.max()) < size)
    if ids.dtype.kind not in "iub":  # (an object array holds anything: per id)
        return False
    return ids.size == 0 or (int(ids.min()) >= 0 and int(ids.max()) < size)


class Vocab:
    """Index 0 is `<unk>`, then `reserved_tokens`, then the tokens by descending
    frequency (ties in first-seen order), keeping those seen at least `min_freq`
    times and at most `max_size` of them.

    `tokens`: a list of tokens or of lines (lists of tokens), or any iterable of either (a
    generator). Tokens are strings or tuples (e.g. bigrams). `vocab[token]` and
    `vocab[list_or_tuple_of_tokens]` (recursively) give indices; unknown tokens map
    to `unk` (0). In a vocabulary of tuples (bigrams) a tuple of tokens is a token: its id,
    or `unk`; a tuple of tuples, or any tuple in a vocabulary of strings, is looked up
    element-wise, as the book does (the book read a bigram element-wise too, as <unk>s). A
    tensor is refused (ids to tokens is `to_tokens`).
    """

    _unsaved_left_out = 0  # counted tokens left out whose counts to_dict did not keep (read back by from_dict)
    _kept: tuple | None = None  # to_dict's pick of the counts: (tables read, their sizes, pairs kept, unsaved)

    def __init__(self, tokens: Iterable | None = None, min_freq: int = 0,
                 reserved_tokens: Sequence[str] | None = None, *, max_size: int | None = None,
                 counter: collections.Counter | dict | None = None):
        # a bare str would be split into its characters ('<', 'p', ...)
        reserved = None if isinstance(reserved_tokens, str) else list(reserved_tokens or [])
        if reserved is None or not all(isinstance(t, str) for t in reserved):
            raise SeqlabError(f"reserved_tokens must be a list of strings, e.g. ['<pad>', '<bos>', '<eos>'], "
                              f"not {reserved_tokens!r}")
        if isinstance(min_freq, bool) or not isinstance(min_freq, numbers.Real):
            raise SeqlabError(f"min_freq must be a number (tokens seen fewer times are <unk>), not {min_freq!r}")
        if max_size is not None and not is_int(max_size):
            raise SeqlabError(f"max_size must be an integer >= 1 (or None for no limit), not {max_size!r} "
                              "(from the command line: --max-vocab)")
        if max_size is not None and max_size < 1:
            raise SeqlabError(f"max_size={max_size} keeps no token, so every token would be <unk>: "
                              "use max_size >= 1 (on the command line: --max-vocab 1 or more), or None "
                              "(no --max-vocab) for no limit")
        if counter is None:
            counter = count_corpus(tokens if tokens is not None else [])
        # sorted() is stable and Counter keeps first-seen order: ties stay first-seen.
        self._token_freqs = sorted(counter.items(), key=lambda kv: kv[1], reverse=True)
        # a reserved token listed twice gets one id (dict.fromkeys keeps the first-listed order)
        self.idx_to_token: list[Hashable] = [UNK] + [t for t in dict.fromkeys(reserved) if t != UNK]
        self.token_to_idx: dict[Hashable, int] = {t: i for i, t in enumerate(self.idx_to_token)}
        added = 0
        for token, freq in self._token_freqs:
            if freq < min_freq or (max_size is not None and added >= max_size):
                break
            if token not in self.token_to_idx:
                self.token_to_idx[token] = len(self.idx_to_token)
                self.idx_to_token.append(token)
                added += 1

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __contains__(self, token: Hashable) -> bool:
        return token in self.token_to_idx

    def __getitem__(self, tokens: Any) -> Any:
        if not isinstance(tokens, (list, tuple)):
            i = self.token_to_idx.get(tokens)
            # (the hot path: one dict lookup, the miss path checks the rest)
            return i if i is not None else self._unknown(tokens, "vocab[...]")
        if isinstance(tokens, tuple) and (i := self._tuple_token(tokens)) is not None:
            return i  # a bigram's vocabulary: the tuple is a token (the book read it element-wise, as <unk>s)
        flat = self._flat_indices(tokens)
        return flat if flat is not None else [self.__getitem__(token) for token in tokens]

    def _tuple_token(self, tokens: tuple) -> int | None:
        """The id of a tuple that is itself a token (a bigram), else None: then it is a tuple of tokens.
        In a vocabulary of tuples, a tuple of plain tokens that it does not hold is an unknown token
        (`unk`, as encode reads it), not a tuple of unknown tokens ([unk, unk])."""
        try:
            i = self.token_to_idx.get(tokens)
        except TypeError:  # a tuple holding a list is no token (unhashable): read element-wise
            return None
        if i is None and tokens and self._holds_tuples() and not any(isinstance(t, (list, tuple, torch.Tensor))
                                                                     for t in tokens):  # (a tensor: refused element-wise)
            return self.unk
        return i

    def _holds_tuples(self) -> bool:
        """Whether some token is a tuple (a bigram vocabulary); kept per vocabulary size (a miss asks it)."""
        size = len(self.idx_to_token)
        if getattr(self, "_tuples_at", (None,))[0] != size:
            self._tuples_at = (size, any(isinstance(t, tuple) for t in self.idx_to_token))
        return self._tuples_at[1]

    def _flat_indices(self, tokens: list | tuple) -> list[int] | None:
        """`vocab[tokens]` of a list holding no list or tuple (looked up element-wise, recursively), in
        C-level passes rather than a call per token; None for the recursion to do it."""
        if any(issubclass(t, (list, tuple)) for t in set(map(type, tokens))):
            return None
        try:
            ids = list(map(self.token_to_idx.get, tokens))
        except Exception:  # noqa: BLE001 (an unhashable token: the recursion raises what it raised, in its order)
            return None
        k = -1
        for _ in range(ids.count(None)):  # the misses (found in C): <unk>, or a tensor refused, in order
            k = ids.index(None, k + 1)
            ids[k] = self._unknown(tokens[k], "vocab[...]")
        return ids

    def _unknown(self, token: Any, call: str) -> int:
        """A token not in the vocabulary: `unk`, unless it is a tensor (refused: it hashes by identity, so
        it is never found). A str is ruled out first: torch.Tensor's isinstance goes through a Python-level
        metaclass check."""
        if not isinstance(token, str) and isinstance(token, torch.Tensor):
            raise _tensor_key(call, token)
        return self.unk

    def to_tokens(self, indices: Any) -> Any:
        """The token of an id, or a list of tokens for a list/tuple/array/tensor of ids (nested: recursively)."""
        if isinstance(indices, (torch.Tensor, np.ndarray)) and indices.ndim > 0:
            floating = indices.is_floating_point() if isinstance(indices, torch.Tensor) else indices.dtype.kind in "fc"
            if floating:  # .tolist() would give floats, each refused below: say it once, for the whole array
                raise SeqlabError(f"token ids must be integers, not an array of {indices.dtype}: "
                                  "convert it with .long()")
            if _ids_in_range(indices, len(self.idx_to_token)):  # (checked in one vectorised pass)
                return self._take(indices.tolist(), indices.ndim)
            indices = indices.tolist()
        if isinstance(indices, (list, tuple)):
            flat = self._flat_tokens(indices)
            return flat if flat is not None else [self.to_tokens(i) for i in indices]
        try:
            # int, numpy integer, one-element integer tensor; a negative id would silently wrap around
            i = operator.index(indices)
        except TypeError:
            raise SeqlabError(f"token ids must be integers, got {indices!r}") from None
        if not 0 <= i < len(self.idx_to_token):
            raise SeqlabError(f"id {i} is out of range for a vocabulary of {len(self.idx_to_token)} tokens")
        return self.idx_to_token[i]

    def _flat_tokens(self, ids: list | tuple) -> list[Hashable] | None:
        """The tokens of a flat list of integer ids all in range, checked once for the whole list (types,
        min, max) and indexed in C: the per-id recursion cost ~1 us an id, 15-25x plain indexing. None for anything
        else (nested, a float, a bad id, a 0-d tensor among them...): the recursion then answers, and
        refuses, exactly as it did."""
        if not ids:
            return []
        if not all(t is int or t is bool or issubclass(t, np.integer) for t in set(map(type, ids))):
            return None  # (bool: operator.index takes it, as the recursion does; numpy's bool it refuses)
        table = self.idx_to_token
        if min(ids) < 0 or max(ids) >= len(table):
            return None
        return list(map(table.__getitem__, ids))

    def _take(self, ids: list, ndim: int) -> list:
        """The tokens of `ndim`-deep nested lists of ids already known to be integers in range."""
        if ndim == 1:
            return list(map(self.idx_to_token.__getitem__, ids))
        return [self._take(row, ndim - 1) for row in ids]

    @property
    def unk(self) -> int:
        return 0

    @property
    def token_freqs(self) -> list[tuple[Hashable, int]]:
        """(token, count) of the counted tokens, most frequent first; read back from `to_dict`, of the
        tokens outside the vocabulary only the SAVED_LEFT_OUT most frequent (`left_out` counts all).
        The vocabulary's own list, as the book's: read it, do not edit it in place (`to_dict` keeps
        its walk of the counts until a table is replaced or changes size; replace the list instead)."""
        return self._token_freqs

    @property
    def left_out(self) -> int:
        """How many distinct counted tokens the vocabulary left out (--min-freq, --max-vocab)."""
        return sum(t not in self.token_to_idx for t, _ in self._token_freqs) + self._unsaved_left_out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.idx_to_token == other.idx_to_token

    def __hash__(self) -> int:  # equal vocabularies hash alike (a dict key, lru_cache), as the book's is hashable
        return hash((len(self.idx_to_token), tuple(self.idx_to_token[:64])))

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.idx_to_token[:6])
        return f"Vocab(size={len(self)}, [{head}{', ...' if len(self) > 6 else ''}])"

    def encode(self, tokens: Iterable[Hashable]) -> torch.Tensor:
        """A 1-D int64 tensor of indices (fast path for long token streams). Lines (lists of
        tokens, as `Vocab()` takes) are encoded as one stream, line after line, as the book's
        corpus is (`[vocab[t] for line in lines for t in line]`)."""
        if isinstance(tokens, torch.Tensor):
            raise _tensor_key("vocab.encode(...)", tokens)
        rest = iter(tokens)
        first = next(rest, _END)
        stream = () if first is _END else _lines(first, rest) if isinstance(first, list) else \
            itertools.chain((first,), rest)
        get, unknown = self.token_to_idx.get, self._unknown

        def ids() -> Iterator[int]:
            for t in stream:
                i = get(t)
                yield i if i is not None else unknown(t, "vocab.encode(...)")  # (a tensor: refused on its miss)

        try:
            return torch.from_numpy(np.fromiter(ids(), dtype=np.int64))
        except TypeError as exc:  # an unhashable token: a list among tokens, or a line in a line
            raise SeqlabError(f"vocab.encode takes tokens, or lines (lists) of tokens, not a mix of them ({exc})") \
                from None

    # --- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain data: the index order (tuples as lists) and the frequency table, of the tokens left
        out of the vocabulary the SAVED_LEFT_OUT most frequent and the number of the others."""
        # Which counts to keep is found once: every checkpoint saves this, and the walk over the
        # counted tokens took 1 s at 3M word types (a cache miss per token, so not made faster by
        # numpy). A vocabulary is not changed once built; one whose tables were replaced, or grew or
        # shrank, is walked again (an edit in place of the same size is not seen: token_freqs says so).
        # The lists are made anew at each call: the caller's own.
        tables = (self.idx_to_token, self.token_to_idx, self._token_freqs)
        sizes = (*map(len, tables), self._unsaved_left_out)
        held = self._kept
        if held is None or held[1] != sizes or any(a is not b for a, b in zip(held[0], tables)):
            self._kept = held = (tables, sizes, *self._kept_counts())
        kept, unsaved = held[2:]
        data = {"idx_to_token": [list(t) if isinstance(t, tuple) else t for t in self.idx_to_token],
                "token_freqs": [[list(t) if isinstance(t, tuple) else t, f] for t, f in kept]}
        if unsaved:
            data["unsaved_left_out"] = unsaved
        return data

    def _kept_counts(self) -> tuple[list[tuple[Hashable, int]], int]:
        """The (token, count) pairs `to_dict` keeps, and how many left-out tokens' counts it does not."""
        kept, outside = [], 0
        for pair in self._token_freqs:
            if pair[0] not in self.token_to_idx:
                outside += 1
                if outside > SAVED_LEFT_OUT:
                    continue
            kept.append(pair)
        return kept, max(outside - SAVED_LEFT_OUT, 0) + self._unsaved_left_out

    @classmethod
    def from_dict(cls, data: dict) -> "Vocab":
        try:
            def restore(t: Any) -> Hashable:
                return tuple(t) if isinstance(t, list) else t

            vocab = cls.__new__(cls)
            vocab.idx_to_token = [restore(t) for t in data["idx_to_token"]]
            vocab._token_freqs = [(restore(t), int(f)) for t, f in data.get("token_freqs", [])]
            vocab._unsaved_left_out = int(data.get("unsaved_left_out", 0))
        except (KeyError, TypeError, ValueError):
            raise SeqlabError("not a seqlab vocabulary: expected an object with 'idx_to_token'") from None
        if not vocab.idx_to_token or vocab.idx_to_token[0] != UNK:
            raise SeqlabError(f"not a seqlab vocabulary: index 0 must be {UNK!r}")
        vocab.token_to_idx = {t: i for i, t in enumerate(vocab.idx_to_token)}
        if len(vocab.token_to_idx) != len(vocab.idx_to_token):
            raise SeqlabError("not a seqlab vocabulary: a token appears twice")
        return vocab

    def save(self, path: str | Path) -> None:
        Path(path).expanduser().write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        try:
            data = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SeqlabError(f"vocabulary file {str(path)!r} not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SeqlabError(f"vocabulary file {str(path)!r} is not valid JSON") from None
        return cls.from_dict(data)
