"""Minibatches of subsequences from one long token stream, built on tensor views.

Both partitionings cut the corpus (after a random offset) into subsequences of
`num_steps` tokens; the target Y is X shifted by one token.

Random sampling: subsequences in shuffled order; neighbouring batches are unrelated,
so a model's state is re-initialised each batch.

Sequential partitioning: the corpus becomes `batch_size` rows, read left to right,
so row b of batch i+1 continues row b of batch i and the state can be carried::

    corpus  a b c d e f g h i j k l m n o p q r s t u v w x ...
    rows    row 0: a b c d e f g h i j      batch 0   batch 1
            row 1: k l m n o p q r s t      [a b c]   [d e f]  ...
                                            [k l m]   [n o p]

The offset is drawn from [0, num_steps - 1]: the book's `randint(0, num_steps)` also
allows `num_steps`, which gives the same windows as 0 minus one (d2l-zh #1301), so we
exclude it. The offset is also capped so that one full batch always fits: any corpus
of at least `batch_size * num_steps + 1` tokens yields at least one batch per epoch.
"""

from __future__ import annotations

import math
import random as _random
from typing import Iterator, Sequence

import numpy as np
import torch

from seqlab.errors import SeqlabError, check_positive_int, is_int

Batch = tuple[torch.Tensor, torch.Tensor]


def _as_tensor(corpus: Sequence[int] | torch.Tensor) -> torch.Tensor:
    if isinstance(corpus, torch.Tensor):
        if corpus.dim() != 1 or corpus.is_floating_point() or corpus.is_complex():
            raise SeqlabError(f"a corpus must be a 1-D tensor of integer token ids, got {corpus.dim()}-D "
                              f"{corpus.dtype}")
        return corpus.long()
    if isinstance(corpus, np.ndarray):
        if corpus.ndim != 1 or corpus.dtype.kind not in "iu":
            raise SeqlabError(f"a corpus must be a 1-D array of integer token ids, got {corpus.ndim}-D "
                              f"{corpus.dtype}")
        return torch.from_numpy(corpus.astype(np.int64))
    if isinstance(corpus, (str, bytes)):
        raise SeqlabError("a corpus must be a sequence of integer token ids, got text: encode it first, "
                          "e.g. corpus, vocab = load_corpus_time_machine() or [vocab[t] for t in tokens]")
    ids = list(corpus)
    bad = next((t for t in ids if not is_int(t)), None)
    if bad is not None:
        raise SeqlabError(f"a corpus must hold integer token ids, got {bad!r} ({type(bad).__name__}): "
                          "pass vocab indices, e.g. vocab[tokens]")
    return torch.as_tensor(ids, dtype=torch.long)


def _positive_int(value, name: str) -> int:
    """value as an int if it is a positive integer (Python, numpy or 0-d torch), else a clear error."""
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_floating_point():
        value = value.item()
    return check_positive_int(name, value)


def _check_shape(batch_size: int, num_steps: int) -> tuple[int, int]:
    return _positive_int(batch_size, "batch_size"), _positive_int(num_steps, "num_steps")


def check_fits(n_tokens: int, batch_size: int, num_steps: int) -> None:
    """Raise a clear error unless one batch of (batch_size, num_steps) fits in n_tokens."""
    _check_shape(batch_size, num_steps)
    need = batch_size * num_steps + 1
    if n_tokens < need:
        raise SeqlabError(f"a corpus of {n_tokens} tokens is too short for one batch: batch_size "
                          f"{batch_size} x num_steps {num_steps} needs at least {need} tokens "
                          "(+1 for the shifted target); lower batch_size or num_steps, or use more text")


def _offset(n: int, batch_size: int, num_steps: int, rng) -> int:
    check_fits(n, batch_size, num_steps)
    return rng.randint(0, min(num_steps - 1, n - 1 - batch_size * num_steps))


def seq_data_iter_random(corpus: Sequence[int] | torch.Tensor, batch_size: int, num_steps: int,
                         rng: _random.Random | None = None) -> Iterator[Batch]:
    """Random sampling: shuffled, disjoint subsequences; each used at most once per epoch.

    The offset and the order come from `rng` (Python's `random` by default) exactly as the book's
    `randint` and `shuffle` draw them, so `random.seed(s)` gives the book's batches in the book's order.
    """
    corpus = _as_tensor(corpus)
    batch_size, num_steps = _check_shape(batch_size, num_steps)
    rng = rng or _random
    offset = _offset(len(corpus), batch_size, num_steps, rng)
    num_subseqs = (len(corpus) - offset - 1) // num_steps
    span = num_subseqs * num_steps
    X = corpus[offset: offset + span].view(num_subseqs, num_steps)  # (S, T): subsequence s
    Y = corpus[offset + 1: offset + 1 + span].view(num_subseqs, num_steps)
    order = list(range(num_subseqs))
    rng.shuffle(order)  # the book shuffles its start positions, s * num_steps: the same permutation
    order = torch.tensor(order, device=corpus.device)
    for i in range(0, (num_subseqs // batch_size) * batch_size, batch_size):
        idx = order[i: i + batch_size]
        yield X[idx], Y[idx]


def seq_data_iter_sequential(corpus: Sequence[int] | torch.Tensor, batch_size: int, num_steps: int,
                             rng: _random.Random | None = None) -> Iterator[Batch]:
    """Sequential partitioning: batch i+1 continues batch i, row by row."""
    corpus = _as_tensor(corpus)
    batch_size, num_steps = _check_shape(batch_size, num_steps)
    offset = _offset(len(corpus), batch_size, num_steps, rng or _random)
    yield from _windows(corpus, batch_size, num_steps, offset, keep_partial=False)


def _windows(corpus: torch.Tensor, batch_size: int, num_steps: int, offset: int,
             keep_partial: bool) -> Iterator[Batch]:
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = corpus[offset: offset + num_tokens].view(batch_size, -1)  # (B, L): row b is contiguous text
    Ys = corpus[offset + 1: offset + 1 + num_tokens].view(batch_size, -1)
    length = Xs.shape[1]
    stop = length if keep_partial else (length // num_steps) * num_steps
    for i in range(0, stop, num_steps):
        yield Xs[:, i: i + num_steps], Ys[:, i: i + num_steps]


def eval_batches(corpus: torch.Tensor, batch_size: int, num_steps: int) -> Iterator[Batch]:
    """Sequential windows from offset 0, the last one possibly shorter, for held-out
    evaluation with a carried state. Each of the `batch_size` rows predicts every token
    after its first; with batch_size 1 that is all `len(corpus) - 1` tokens."""
    corpus = _as_tensor(corpus)
    batch_size, num_steps = _check_shape(batch_size, num_steps)  # checked here, not at the first batch
    check_fits(len(corpus), batch_size, 1)  # every row needs a token and its target
    return _windows(corpus, batch_size, num_steps, 0, keep_partial=True)


def batchify(data: torch.Tensor, batch_size: int) -> torch.Tensor:
    """pytorch/examples' layout: a stream as `batch_size` columns, shape (N, B)::

        a b c d e f g h i j k l m n o p q r s t u v w x   ->   a g m s
                                                                b h n t
                                                                c i o u
                                                                d j p v
                                                                e k q w
                                                                f l r x
    Tokens that do not fill a whole row are dropped.
    """
    data = _as_tensor(data)
    batch_size = _positive_int(batch_size, "batch_size")
    check_fits(len(data), batch_size, 1)
    nbatch = len(data) // batch_size
    return data[: nbatch * batch_size].view(batch_size, -1).t().contiguous()


def longest_window(bptt: int) -> int:
    """The longest window `variable_bptt` draws by default: bptt + 20 (4 sd of the default 5)."""
    return bptt + 20


def variable_bptt(batched: torch.Tensor, bptt: int, rng: _random.Random | None = None,
                  sd: float = 5.0, min_len: int = 5, max_len: int | None = None
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """AWD-LSTM's variable-length BPTT over a batchified `(N, B)` stream.

    Each window's length is drawn around `bptt` (with probability 0.05 around `bptt/2`)
    from N(mean, sd), rounded, and clipped to [min_len, max_len] (default bptt + 20: a rare long
    draw costs memory). AWD-LSTM's code truncates with int() (its windows are half a token
    shorter on average) and has no upper cap. Every token of the stream is used
    once per epoch and windows stay contiguous, so a carried state remains valid. Yields
    `(X, Y, seq_len)` with X, Y of shape (seq_len, B); scale the learning rate by
    `seq_len / bptt` so that long and short windows weigh the same per token.
    """
    if bptt <= 0:
        raise SeqlabError(f"bptt must be positive, got {bptt}")
    min_len = check_positive_int("min_len", min_len, " (the shortest window)")
    max_len = longest_window(bptt) if max_len is None else check_positive_int("max_len", max_len,
                                                                               " (the longest window)")
    if max_len < min_len:
        raise SeqlabError(f"max_len ({max_len}) must be at least min_len ({min_len}): windows are drawn in "
                          "[min_len, max_len]")
    # (checked here, at the call, not at the first window)
    return _variable_windows(batched, bptt, rng or _random, sd, min_len, max_len)


def _variable_windows(batched: torch.Tensor, bptt: int, rng, sd: float, min_len: int, max_len: int
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    i, n = 0, batched.shape[0]
    while i < n - 1:
        mean = bptt if rng.random() < 0.95 else bptt / 2
        draw = rng.gauss(mean, sd)  # (past a float's range for an sd near 1e308 or inf: clipped below, not rounded)
        seq_len = int(min(max(min_len, round(draw) if math.isfinite(draw) else draw), max_len, n - 1 - i))
        yield batched[i: i + seq_len], batched[i + 1: i + 1 + seq_len], seq_len
        i += seq_len


class LMBatches:
    """An epoch-iterable of (X, Y) batches of shape (batch_size, num_steps) over a corpus.

    `sampling` is "sequential" (state may be carried) or "random". The corpus is moved
    to `device` once, so every batch is already on the device. `rng` (a `random.Random`)
    draws each epoch's offset and random order; by default Python's own generator, so that
    `random.seed(n)` fixes the batches as it does the book's iterators.

    Sequential batches are views, not copies (random ones are gathered copies): X and Y share
    memory one token apart, and both share it with the corpus, which is the caller's own tensor
    unless it had to be made int64 or moved. An in-place edit of X (masking inputs with <unk>,
    token dropout) therefore also edits Y and the corpus of every later epoch: clone before
    editing in place (`X = X.clone()`).
    """

    def __init__(self, corpus: torch.Tensor, batch_size: int, num_steps: int,
                 sampling: str = "sequential", rng: _random.Random | None = None,
                 device: torch.device | str | None = None):
        if sampling not in ("sequential", "random"):
            raise SeqlabError(f"unknown sampling {sampling!r}: use 'sequential' or 'random'")
        self.corpus = _as_tensor(corpus)
        if device is not None:
            self.corpus = self.corpus.to(device)
        batch_size, num_steps = _check_shape(batch_size, num_steps)
        check_fits(len(self.corpus), batch_size, num_steps)
        self.batch_size, self.num_steps, self.sampling = batch_size, num_steps, sampling
        self.rng = rng or _random  # Python's generator by default: random.seed(n) fixes the batches

    def __iter__(self) -> Iterator[Batch]:
        fn = seq_data_iter_sequential if self.sampling == "sequential" else seq_data_iter_random
        return fn(self.corpus, self.batch_size, self.num_steps, self.rng)

    def __len__(self) -> int:
        """Batches per epoch at offset 0 (a later offset can give one fewer)."""
        n = len(self.corpus) - 1
        if self.sampling == "sequential":
            return (n // self.batch_size) // self.num_steps
        return (n // self.num_steps) // self.batch_size

    @property
    def tokens_per_batch(self) -> int:
        return self.batch_size * self.num_steps


class SeqDataLoader:
    """The book's iterator over the Time Machine's characters.

    Each epoch reads `self.corpus` (a list of ids, as the book's) and calls `self.data_iter_fn`,
    so a reader may replace either between epochs, as with the book's. seqlab's two functions get
    the corpus as a tensor, made again only when `corpus` is another list or of another length (an
    id changed in place is not seen); any other function (the reader's own `seq_data_iter_random`
    of 8.3) gets the list itself.
    """

    def __init__(self, batch_size: int, num_steps: int, use_random_iter: bool, max_tokens: int):
        from seqlab.data.corpora import load_corpus_time_machine

        self.data_iter_fn = seq_data_iter_random if use_random_iter else seq_data_iter_sequential
        self.corpus, self.vocab = load_corpus_time_machine(max_tokens)
        self._tensor, self._tensor_of = torch.tensor(self.corpus, dtype=torch.long), self.corpus
        batch_size, num_steps = _check_shape(batch_size, num_steps)
        check_fits(len(self._tensor), batch_size, num_steps)
        self.batch_size, self.num_steps = batch_size, num_steps

    def __iter__(self) -> Iterator[Batch]:
        if self.data_iter_fn not in (seq_data_iter_random, seq_data_iter_sequential):
            return self.data_iter_fn(self.corpus, self.batch_size, self.num_steps)  # the book's: the list
        # (the length too: `it.corpus[:] = ...` keeps the list)
        if self._tensor_of is not self.corpus or len(self._tensor) != len(self.corpus):
            self._tensor, self._tensor_of = _as_tensor(self.corpus), self.corpus
        return self.data_iter_fn(self._tensor, self.batch_size, self.num_steps)


def load_data_time_machine(batch_size: int, num_steps: int, use_random_iter: bool = False,
                           max_tokens: int = 10000):
    """The book's (data iterator, vocabulary) for the Time Machine."""
    data_iter = SeqDataLoader(batch_size, num_steps, use_random_iter, max_tokens)
    return data_iter, data_iter.vocab
