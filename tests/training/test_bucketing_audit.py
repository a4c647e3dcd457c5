"""Mutation audit of `bucket_order`: pools of whole batches, ties left in the shuffle's order, the
batches in random order (the last full one too), and a bad pool refused."""

import pytest
import torch

from seqlab.data.bucketing import bucket_order
from seqlab.errors import SeqlabError


def _batches(order, batch_size):
    return [frozenset(order[i:i + batch_size].tolist()) for i in range(0, len(order), batch_size)]


def test_a_batch_holds_texts_of_one_pool_only():
    # batch_size 2, pool 2: each pool is 4 consecutive texts of the epoch's random permutation
    lengths = torch.randint(1, 100, (12,), generator=torch.Generator().manual_seed(0))
    for seed in range(5):
        plain = torch.randperm(12, generator=torch.Generator().manual_seed(seed))
        pools = [set(plain[i:i + 4].tolist()) for i in range(0, 12, 4)]
        order = bucket_order(lengths, 2, pool=2, generator=torch.Generator().manual_seed(seed))
        assert all(any(batch <= pool for pool in pools) for batch in _batches(order, 2)), seed


def test_texts_of_one_length_keep_the_shuffles_order():
    # every text 7 tokens long: sorting a pool (stably) changes nothing, so the batches are the permutation's
    lengths = torch.full((100,), 7)
    plain = torch.randperm(100, generator=torch.Generator().manual_seed(4))
    order = bucket_order(lengths, 4, generator=torch.Generator().manual_seed(4))
    assert sorted(_batches(order, 4), key=min) == sorted(_batches(plain, 4), key=min)


def test_the_batches_are_shuffled_the_last_full_one_too():
    # lengths 0..63 in one pool: its batches are {0..3}, {4..7}, ..., each once, in a random order
    lengths = torch.arange(64)
    chunks = [frozenset(range(k, k + 4)) for k in range(0, 64, 4)]
    lasts = set()
    for seed in range(6):
        batches = _batches(bucket_order(lengths, 4, generator=torch.Generator().manual_seed(seed)), 4)
        assert sorted(batches, key=min) == chunks
        assert batches != chunks  # not short to long
        lasts.add(batches[-1])
    assert len(lasts) > 1  # the longest texts' batch is not always the last


def test_a_pool_of_no_batches_is_refused():
    with pytest.raises(SeqlabError, match="batch_size and pool must be positive, got 4, 0"):
        bucket_order(torch.tensor([1, 2, 3]), 4, pool=0)
