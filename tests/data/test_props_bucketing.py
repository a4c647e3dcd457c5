"""Property tests (hypothesis) of `bucket_order` (torchtext's BucketIterator): every text exactly once per
epoch, each full batch drawn from one pool and sorted by length within it, the short batch last, and the
same generator seed giving the same order."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.bucketing import bucket_order


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=70), st.integers(1, 7), st.integers(1, 4), st.integers(0, 2**31))
def test_bucket_order_is_a_permutation_of_length_sorted_batches_from_one_pool(lengths, batch_size, pool, seed):
    n = len(lengths)
    lengths_t = torch.tensor(lengths, dtype=torch.long)
    order = bucket_order(lengths_t, batch_size, pool, torch.Generator().manual_seed(seed))
    assert sorted(order.tolist()) == list(range(n))  # every text once
    assert torch.equal(order, bucket_order(lengths_t, batch_size, pool, torch.Generator().manual_seed(seed)))
    # the pools are the same random permutation's consecutive slices: replay it to know each text's pool
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    pool_of = {text: k // (batch_size * pool) for k, text in enumerate(perm)}
    full = n // batch_size
    for b in range(full):
        batch = order[b * batch_size:(b + 1) * batch_size].tolist()
        assert len({pool_of[t] for t in batch}) == 1  # no batch straddles two pools
        assert [lengths[t] for t in batch] == sorted(lengths[t] for t in batch)
        # within its pool, a batch holds a run of the pool's sorted lengths: none of the pool's other texts
        # lies strictly between its shortest and longest
        others = [lengths[t] for t in pool_of if pool_of[t] == pool_of[batch[0]] and t not in batch]
        lo, hi = lengths[batch[0]], lengths[batch[-1]]
        assert not any(lo < x < hi for x in others)
    rest = order[full * batch_size:].tolist()  # the short batch: the last pool's longest texts, last
    assert len(rest) == n % batch_size
    if rest:
        last_pool = [t for t in pool_of if pool_of[t] == pool_of[perm[-1]]]
        assert set(rest) <= set(last_pool)
        assert min(lengths[t] for t in rest) >= max((lengths[t] for t in last_pool if t not in rest), default=0)
