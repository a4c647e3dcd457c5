"""Property test (hypothesis) of `ngram_tables` (n-grams as int64 keys, counted by one sort) against
`ngram_freqs` (a Counter of tuples, the book's way): the same n-grams, counts and order, ties in
first-seen order, on both of its counting paths (packed sort and np.unique)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.stats import ngram_freqs, ngram_tables


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=60), st.sampled_from([0, 1, 2**20, 2**52]), st.integers(1, 4))
def test_ngram_tables_equal_a_counter_of_tuples(ids, extra_types, max_n):
    num_types = (max(ids, default=0) + 1) + extra_types  # unused types too (a large one: np.unique's path)
    tables = list(ngram_tables(np.array(ids, dtype=np.int64), num_types, max_n))
    assert len(tables) == max_n
    for n, (first, counts) in enumerate(tables, start=1):
        want = ngram_freqs(ids, n)
        got = [(ids[f] if n == 1 else tuple(ids[f:f + n]), c) for f, c in zip(first.tolist(), counts.tolist())]
        assert got == want
