"""Mutation audit of stats.py: what the earlier tests left open (n-gram keys too large to pack beside
their positions, a Zipf fit of one count, and the fit of exactly two types)."""

import math

import numpy as np
import pytest

from seqlab import SeqlabError
from seqlab.data.stats import describe, fit_zipf, ngram_freqs, ngram_tables


def test_ngram_tables_of_ids_too_large_to_pack_match_a_counter():
    # 6 tokens: positions take 3 bits, and 2**61 << 3 wraps to 0 << 3 in an int64: the two must stay apart
    ids = np.array([2**61, 0, 2**61, 2**60, 0, 7], dtype=np.int64)
    (first, counts), = ngram_tables(ids, 2**61 + 1, max_n=1)
    twin = ngram_freqs(ids.tolist(), 1)  # collections.Counter, sorted stably by count
    assert [(int(ids[f]), int(c)) for f, c in zip(first, counts)] == twin == [(2**61, 2), (0, 2), (2**60, 1), (7, 1)]


def test_a_zipf_fit_needs_two_distinct_items():
    with pytest.raises(SeqlabError, match=r"too few distinct items to fit Zipf's law \(need at least 2\)"):
        fit_zipf([5])


def test_two_types_get_a_zipf_fit_worked_by_hand():
    # counts 2, 1 at ranks 1, 2: log n falls by log 2 over log 2 of rank, alpha = 1
    table = describe(["a", "a", "b"], max_n=1)["ngrams"][1]
    assert table["zipf_ranks"] == [1, 2]
    assert math.isclose(table["zipf_alpha"], 1.0)
