"""Corpus statistics: n-gram frequency tables and Zipf's law.

Zipf's law says the i-th most frequent item has frequency n_i ∝ 1 / i^α, i.e.
log n_i = -α log i + c: a straight line on a log-log plot. The head (stop words) and
the tail (items seen once or twice, where many ranks share one count and the curve
turns into steps) bend away from it, so α is fitted by least squares on the ranks in
between: from rank `skip_top + 1` to the last rank whose count is at least `min_count`.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Hashable, Iterator, Sequence

import numpy as np

from seqlab.data import token_ids
from seqlab.data.text import unsegmented_note
from seqlab.errors import SeqlabError


def ngram_freqs(tokens: Sequence[Hashable], n: int) -> list[tuple[Hashable, int]]:
    """(n-gram, count) by descending count, ties in first-seen order; unigrams are tokens,
    longer n-grams tuples — as the book's `Vocab(bigram_tokens).token_freqs`."""
    if n < 1:
        raise SeqlabError(f"n-gram order must be >= 1, got {n}")
    items = tokens if n == 1 else zip(*(tokens[i:] for i in range(n)))
    return sorted(collections.Counter(items).items(), key=lambda kv: kv[1], reverse=True)


# --- the same tables on token ids, for corpora of millions of tokens ---------------------------
# A Counter of tuples holds a tuple per distinct n-gram and hashes one per position (WikiText-2 x5,
# 10 M words: 23 of 33 s, 1.5 GB). Here each n-gram is one int64 key, counted by one sort
# (`_first_rank_counts`: np.unique's first positions, ranks and counts):
#
#   ids      a  b  a  b  c            (dense ids, V distinct)
#   bigram   a*V+b  b*V+a  a*V+b  b*V+c          -> the rank of each key among the distinct ones
#   trigram  rank(a b)*V+a  rank(b a)*V+b  ...   -> the (n-1)-gram's rank, not its key, times V: the key
#                                                   stays below N*V (N tokens) for any n
def ngram_tables(ids: np.ndarray, num_types: int, max_n: int = 3) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """For n = 1..max_n, `ngram_freqs`'s table of the tokens `ids` (integers in [0, num_types)) as two
    arrays: where each distinct n-gram first occurs in `ids`, and its count; by descending count,
    ties in first-seen order (as `ngram_freqs`: a stable sort of a Counter, which keeps first-seen
    order). The n-gram at row i is `ids[first[i]:first[i] + n]`."""
    ids = np.asarray(ids, dtype=np.int64)
    key = ids  # the n-gram at each position as one integer; n = 1: its token
    for n in range(1, max_n + 1):
        first, rank, counts = _first_rank_counts(key)
        key = None  # (each array freed as soon as it is done with: they are N long)
        if n < max_n:
            key = rank[:-1] * num_types  # the (n+1)-grams: the n-gram's rank, then the next token
            key += ids[n:]
        rank = None
        order = np.lexsort((first, -counts))  # by count, then by first position
        yield first[order], counts[order]


def _first_rank_counts(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(key, return_index=True, return_inverse=True, return_counts=True)` less the values:
    each distinct key's first position and count, each position's key's rank among them.

    np.unique finds first positions with a stable argsort, 10x slower than a sort of int64 (2.4 s
    and 0.2 s for 10 M keys): here one sort of keys packed above their positions does it, when
    both fit in 63 bits (WikiText-2 x5's trigrams take 59); np.unique otherwise.

        packed = key << shift | position   -> sorted: equal keys together, the first one first
    """
    n = len(key)
    shift = max(n - 1, 1).bit_length()
    if n == 0 or key.min() < 0 or int(key.max()) >> (63 - shift):
        _, first, rank, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        return first, rank, counts
    packed = key << shift
    packed |= np.arange(n)
    packed.sort()
    position = packed & ((1 << shift) - 1)
    packed >>= shift  # the keys, sorted
    starts = np.empty(n, dtype=bool)  # where a run of equal keys starts
    starts[0] = True
    np.not_equal(packed[1:], packed[:-1], out=starts[1:])
    sorted_rank = np.cumsum(starts, out=packed)  # (in the sorted keys' memory: they are done with)
    sorted_rank -= 1
    rank = np.empty(n, dtype=np.int64)
    rank[position] = sorted_rank
    del packed, sorted_rank
    starts = np.flatnonzero(starts)
    return position[starts], rank, np.diff(starts, append=n)


@dataclass
class ZipfFit:
    alpha: float       # the exponent: n_i ∝ i^-alpha
    intercept: float   # c in log n_i = -alpha log i + c
    first_rank: int    # the fitted range of ranks (1-based, inclusive)
    last_rank: int


def fit_zipf(freqs: Sequence[int], skip_top: int = 10, min_count: int = 3) -> ZipfFit:
    """Least-squares fit of log n_i = -α log i + c over the straight part of the curve."""
    counts = np.asarray(freqs, dtype=float)
    if counts.ndim != 1 or len(counts) == 0:
        raise SeqlabError("fit_zipf needs a non-empty list of counts")
    last = int(np.searchsorted(-counts, -min_count, side="right"))  # counts are descending
    first = skip_top + 1
    if last - first + 1 < 3:  # short corpus: fall back to every rank
        first, last = 1, len(counts)
    if last - first + 1 < 2:
        raise SeqlabError("too few distinct items to fit Zipf's law (need at least 2)")
    ranks = np.arange(first, last + 1, dtype=float)
    slope, intercept = np.polyfit(np.log(ranks), np.log(counts[first - 1: last]), 1)
    return ZipfFit(alpha=float(-slope), intercept=float(intercept), first_rank=first, last_rank=last)


def plot_zipf(path: str | Path, tables: dict[str, Sequence[int]], title: str = "") -> Path:
    """Log-log plot of frequency against rank, one curve per table (e.g. uni/bi/trigram)."""
    from seqlab.plotting import plot_curves

    xs = {name: range(1, len(f) + 1) for name, f in tables.items()}
    return plot_curves(path, [], {name: list(f) for name, f in tables.items()}, xs=xs,
                       xlabel="rank of token x (log scale)", ylabel="frequency n(x) (log scale)",
                       title=title or "Zipf's law", logx=True, logy=True)


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", " ": "\u2423"}  # a space token shows as ␣


def _visible(token: Hashable) -> str:
    """A token as a table shows it on one line: line breaks, tabs and other control characters
    escaped (\\n, \\r, \\t, \\x07), and a space token as ␣ (the n-grams are joined by spaces)."""
    text = str(token)
    if text.isprintable() and text.strip() == text and text:
        return text
    return "".join(_ESCAPES.get(ch) or (ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii"))
                   for ch in text)


def format_gram(gram: Hashable) -> str:
    return " ".join(map(_visible, gram)) if isinstance(gram, tuple) else _visible(gram)


def describe(tokens: Sequence[Hashable], top: int = 10, max_n: int = 3) -> dict:
    """Top n-grams and Zipf exponents for n = 1..max_n (plain data, JSON-able).

    `warning`: a note when the tokens look like words of text written without spaces (Chinese,
    Japanese: `text.unsegmented_note`), else None."""
    index = token_ids.first_seen_index()
    ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    return describe_ids(ids, list(index), top=top, max_n=max_n)


def describe_ids(ids: np.ndarray, types: Sequence[Hashable], top: int = 10, max_n: int = 3) -> dict:
    """`describe` of the tokens `types[i] for i in ids` (e.g. `corpora.index_text(..., line_ends=False)`)."""
    out = {"tokens": len(ids), "warning": None, "ngrams": {}}
    for n, (first, counts) in enumerate(ngram_tables(ids, len(types), max_n), start=1):
        if n == 1:
            out["warning"] = unsegmented_note(zip(map(types.__getitem__, ids[first].tolist()), counts.tolist()))
        fit = fit_zipf(counts) if len(counts) >= 2 else None
        grams = [[types[i] for i in ids[start:start + n].tolist()] for start in first[:top].tolist()]
        out["ngrams"][n] = {
            "types": len(counts),
            "top": [(format_gram(g[0] if n == 1 else tuple(g)), c) for g, c in zip(grams, counts[:top].tolist())],
            "zipf_alpha": None if fit is None else round(fit.alpha, 4),
            "zipf_ranks": None if fit is None else [fit.first_rank, fit.last_rank],
            "freqs": counts.tolist(),
        }
    return out


def _fmt_alpha(a: float | None) -> str:
    return "n/a" if a is None or math.isnan(a) else f"{a:.3f}"
