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
from typing import Hashable, Sequence

import numpy as np

from seqlab.data.text import unsegmented_note
from seqlab.errors import SeqlabError


def ngram_freqs(tokens: Sequence[Hashable], n: int) -> list[tuple[Hashable, int]]:
    """(n-gram, count) by descending count, ties in first-seen order; unigrams are tokens,
    longer n-grams tuples — as the book's `Vocab(bigram_tokens).token_freqs`."""
    if n < 1:
        raise SeqlabError(f"n-gram order must be >= 1, got {n}")
    items = tokens if n == 1 else zip(*(tokens[i:] for i in range(n)))
    return sorted(collections.Counter(items).items(), key=lambda kv: kv[1], reverse=True)


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
    out = {"tokens": len(tokens), "warning": None, "ngrams": {}}
    for n in range(1, max_n + 1):
        table = ngram_freqs(tokens, n)
        if n == 1:
            out["warning"] = unsegmented_note(table)
        fit = fit_zipf([c for _, c in table]) if len(table) >= 2 else None
        out["ngrams"][n] = {
            "types": len(table),
            "top": [(format_gram(g), c) for g, c in table[:top]],
            "zipf_alpha": None if fit is None else round(fit.alpha, 4),
            "zipf_ranks": None if fit is None else [fit.first_rank, fit.last_rank],
            "freqs": [c for _, c in table],
        }
    return out


def _fmt_alpha(a: float | None) -> str:
    return "n/a" if a is None or math.isnan(a) else f"{a:.3f}"
