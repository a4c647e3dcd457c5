"""Samplers (SPEC §2): property tests over corpus length, batch size and num_steps."""

import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab import SeqlabError
from seqlab.data.sampling import (LMBatches, batchify, check_fits, eval_batches, seq_data_iter_random,
                                  seq_data_iter_sequential)

# (corpus length, batch_size, num_steps) with at least one batch fitting.
shapes = st.tuples(st.integers(1, 6), st.integers(1, 8)).flatmap(
    lambda bt: st.tuples(st.integers(bt[0] * bt[1] + 1, bt[0] * bt[1] * 4 + 10), st.just(bt[0]), st.just(bt[1])))


def _corpus(n):
    return torch.arange(n) * 7 % 1009  # distinct-ish values: position is recoverable


@settings(max_examples=150, deadline=None)
@given(shapes, st.integers(0, 2**32))
def test_sequential_properties(shape, seed):
    n, b, t = shape
    corpus = torch.arange(n)  # value == position
    batches = list(seq_data_iter_sequential(corpus, b, t, random.Random(seed)))
    assert batches, "one batch must always fit"
    offset = batches[0][0][0, 0].item()
    assert 0 <= offset <= t - 1
    for X, Y in batches:
        assert X.shape == Y.shape == (b, t)
        assert torch.equal(Y, X + 1)  # Y is X shifted by one
        assert X.max() < n and Y.max() < n and X.min() >= 0
    for (X0, _), (X1, _) in zip(batches, batches[1:]):
        assert torch.equal(X1[:, 0], X0[:, -1] + 1)  # each row continues the previous batch's row


@settings(max_examples=150, deadline=None)
@given(shapes, st.integers(0, 2**32))
def test_random_properties(shape, seed):
    n, b, t = shape
    corpus = torch.arange(n)
    batches = list(seq_data_iter_random(corpus, b, t, random.Random(seed)))
    assert batches
    starts = torch.cat([X[:, 0] for X, _ in batches]).tolist()
    assert len(starts) == len(set(starts))  # each subsequence at most once per epoch
    offset = min(starts) % t
    assert all((s - offset) % t == 0 for s in starts)  # disjoint, aligned subsequences
    for X, Y in batches:
        assert X.shape == Y.shape == (b, t)
        assert torch.equal(Y, X + 1)
        assert torch.equal(X, X[:, :1] + torch.arange(t))  # contiguous text
        assert Y.max() < n


@given(st.integers(0, 200), st.integers(-2, 6), st.integers(-2, 6))
def test_too_short_or_bad_sizes_raise_value_error(n, b, t):
    if b > 0 and t > 0 and n >= b * t + 1:
        check_fits(n, b, t)
        return
    for fn in (seq_data_iter_random, seq_data_iter_sequential):
        with pytest.raises(ValueError):
            next(fn(torch.arange(n), b, t))


def test_error_messages_say_what_to_do():
    with pytest.raises(SeqlabError, match="too short for one batch.*needs at least 11 tokens"):
        list(seq_data_iter_sequential(list(range(10)), 2, 5))
    with pytest.raises(SeqlabError, match="batch_size must be a positive integer"):
        list(seq_data_iter_random(list(range(10)), 0, 5))
    with pytest.raises(SeqlabError, match="1-D tensor of integer"):
        LMBatches(torch.rand(100), 2, 5)


def test_offset_never_equals_num_steps():
    # d2l's randint(0, num_steps) draws num_steps ~1/(T+1) of the time (SPEC §13).
    offsets = {next(seq_data_iter_sequential(torch.arange(1000), 2, 5, random.Random(s)))[0][0, 0].item()
               for s in range(300)}
    assert offsets == {0, 1, 2, 3, 4}


def test_eval_batches_predict_every_token_once_per_row():
    corpus = torch.arange(101)
    ys = torch.cat([Y.reshape(-1) for _, Y in eval_batches(corpus, 1, 7)])
    assert torch.equal(ys, torch.arange(1, 101))  # all 100 targets with batch size 1
    batches = list(eval_batches(corpus, 4, 7))
    assert batches[-1][0].shape[1] == 25 % 7  # the last, partial window is kept
    assert sum(Y.numel() for _, Y in batches) == 4 * 25


def test_batchify_matches_pytorch_examples_layout():
    data = torch.arange(26)
    out = batchify(data, 4)
    assert out.shape == (6, 4)
    assert out[:, 0].tolist() == [0, 1, 2, 3, 4, 5] and out[:, 1].tolist() == [6, 7, 8, 9, 10, 11]


def test_lmbatches_on_device_and_len():
    loader = LMBatches(torch.arange(1000), 4, 10, sampling="sequential", rng=random.Random(0), device="cpu")
    assert len(loader) == 24
    assert len(list(loader)) in (23, 24)
    loader = LMBatches(torch.arange(1000), 4, 10, sampling="random", rng=random.Random(0))
    assert len(list(loader)) in (len(loader) - 1, len(loader))
    with pytest.raises(SeqlabError, match="unknown sampling"):
        LMBatches(torch.arange(1000), 4, 10, sampling="shuffled")


def test_list_corpus_accepted_like_the_book():
    X, Y = next(seq_data_iter_sequential(list(range(35)), 2, 5, random.Random(0)))
    assert X.dtype == torch.int64


@given(st.integers(10, 400), st.integers(1, 4), st.integers(5, 40), st.integers(0, 2**32))
def test_variable_bptt_covers_the_stream_once_in_order(n, b, bptt, seed):
    from seqlab.data.sampling import variable_bptt

    data = torch.arange(n * b).view(n, b)
    seen = []
    for X, Y, seq_len in variable_bptt(data, bptt, random.Random(seed)):
        assert X.shape == (seq_len, b) and torch.equal(Y, X + b)  # Y is X shifted one row
        assert 1 <= seq_len <= bptt + 20
        seen.append(X)
    assert torch.equal(torch.cat(seen), data[:-1])


def test_random_sampler_order_comes_from_its_rng_only():
    # The shuffle is drawn from the given `rng`: the same rng seed gives the same epoch
    # whatever the global torch seed, so a run is reproducible from its own seed.
    def epoch(torch_seed, rng_seed):
        torch.manual_seed(torch_seed)
        return [X.tolist() for X, _ in seq_data_iter_random(torch.arange(200), 3, 5, random.Random(rng_seed))]

    assert epoch(0, 7) == epoch(1, 7)
    assert epoch(0, 7) != epoch(0, 8)


def test_variable_bptt_window_lengths_follow_awd_lstm():
    from seqlab.data.sampling import variable_bptt

    # AWD-LSTM: bptt = args.bptt if random() < 0.95 else args.bptt / 2; seq_len = max(5, N(bptt, sd)).
    # With sd = 0 the length is exactly bptt or bptt / 2, the latter about 5% of the time.
    data = torch.arange(70_000).view(-1, 1)
    lengths = [n for _, _, n in variable_bptt(data, 70, random.Random(0), sd=0.0)][:-1]  # last: the stream's end
    assert set(lengths) == {70, 35}
    assert 0.03 < lengths.count(35) / len(lengths) < 0.07
    # a wide spread never gives a window shorter than min_len (except the stream's last) or longer than max_len
    lengths = [n for _, _, n in variable_bptt(torch.arange(4000).view(-1, 2), 10, random.Random(1), sd=1000.0)]
    assert all(5 <= n <= 30 for n in lengths[:-1]) and min(lengths[:-1]) == 5 and max(lengths) == 30


@pytest.mark.parametrize("kwargs, message", [
    ({"min_len": 0}, "min_len must be a positive integer"),  # windows of length 0, forever
    ({"min_len": -2}, "min_len must be a positive integer"),  # negative lengths, the index moving back
    ({"min_len": 2.5}, "min_len must be a positive integer"),
    ({"max_len": 0}, "max_len must be a positive integer"),  # was the default, bptt + 20
    ({"min_len": 8, "max_len": 6}, r"max_len \(6\) must be at least min_len \(8\)"),  # was max_len silently
])
def test_variable_bptt_refuses_bad_window_bounds_at_the_call(kwargs, message):
    from seqlab.data.sampling import variable_bptt

    with pytest.raises(SeqlabError, match=message):
        variable_bptt(torch.arange(200).view(-1, 2), 10, random.Random(0), **kwargs)
    lengths = [n for _, _, n in variable_bptt(torch.arange(200).view(-1, 2), 10, random.Random(0), sd=50.0,
                                              min_len=6, max_len=6)]
    assert set(lengths[:-1]) == {6} and sum(lengths) == 99


def test_eval_batches_too_short_raises():
    with pytest.raises(SeqlabError, match="too short for one batch"):
        list(eval_batches(torch.arange(4), 4, 3))  # 4 rows need at least 5 tokens


@pytest.mark.parametrize("batch_size, num_steps, name", [(2, -1, "num_steps"), (2, 0, "num_steps"),
                                                         (0, 5, "batch_size"), (2.5, 5, "batch_size")])
def test_eval_batches_refuses_a_bad_shape_on_a_long_corpus(batch_size, num_steps, name):
    # these were only checked on a short corpus: a long one yielded nothing (num_steps -1) or
    # failed inside range() / with a ZeroDivisionError, at the first batch
    with pytest.raises(SeqlabError, match=f"{name} must be a positive integer"):
        eval_batches(torch.arange(100), batch_size, num_steps)


@pytest.mark.parametrize("corpus, what", [([0.5, 1.5, 2.5, 3.5, 4.5], "integer token ids, got 0.5"),
                                          ("abcdefgh", "got text"),
                                          ([0, 1, True, 2, 3], "got True"),
                                          (np.array([0.0, 1.0, 2.0, 3.0]), "1-D array of integer")])
def test_a_corpus_that_is_not_token_ids_is_refused_not_truncated(corpus, what):
    # a float list used to be cast to int silently; a str failed inside torch
    for sampler in (seq_data_iter_sequential, seq_data_iter_random):
        with pytest.raises(SeqlabError, match=what):
            list(sampler(corpus, 1, 2))


def test_integer_scalars_of_numpy_and_torch_are_sizes_and_bools_are_not():
    corpus = np.arange(40)
    X, Y = next(iter(seq_data_iter_sequential(corpus, np.int64(2), torch.tensor(3), rng=random.Random(0))))
    assert X.shape == (2, 3) and torch.equal(Y, X + 1)
    assert batchify(torch.arange(10), np.int32(2)).shape == (5, 2)
    with pytest.raises(SeqlabError, match="batch_size must be a positive integer, got True"):
        list(seq_data_iter_sequential(corpus, True, 3))
    with pytest.raises(SeqlabError, match="num_steps must be a positive integer, got 2.0"):
        LMBatches(torch.arange(40), 2, 2.0)
