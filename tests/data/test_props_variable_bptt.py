"""Property test (hypothesis) of AWD-LSTM's variable-length BPTT windows (`variable_bptt`) for any spread: the
windows are contiguous, read every position of the stream once (each X's next is its Y), and each is within
[min_len, max_len] but the last, which ends the stream. An sd near a float's limit, or infinite, draws lengths
past a float's range: those are clipped like any other long draw (they were an OverflowError: exit 1)."""

import math
import random

import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.data.sampling import longest_window, variable_bptt


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 80), st.integers(1, 3), st.integers(1, 12),
       st.one_of(st.floats(0, 1e308), st.just(math.inf)), st.integers(0, 2**32))
@example(60, 2, 6, math.inf, 0)
@example(60, 2, 6, 1e308, 0)
def test_windows_cover_the_stream_in_order_within_their_bounds(n, batch, bptt, sd, seed):
    stream = torch.arange(n * batch).view(n, batch)  # (N, B): every position a different number
    windows = list(variable_bptt(stream, bptt, random.Random(seed), sd=sd))
    assert torch.equal(torch.cat([X for X, _, _ in windows]), stream[:-1])
    assert torch.equal(torch.cat([Y for _, Y, _ in windows]), stream[1:])
    for k, (X, Y, seq_len) in enumerate(windows):
        assert X.shape == Y.shape == (seq_len, batch)
        if k < len(windows) - 1:
            assert min(5, n - 1) <= seq_len <= longest_window(bptt)
