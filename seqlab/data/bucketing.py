"""Length-bucketed batch order for training on sequences of varying length (torchtext's
BucketIterator): less padding in each batch, still a random epoch."""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError

BUCKET_POOL = 50  # batches per pool of bucket_order


def bucket_order(lengths: torch.Tensor, batch_size: int, pool: int = BUCKET_POOL,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """A training epoch's order of sequences (texts) of `lengths` (N,) whose consecutive `batch_size` slices
    are batches of texts of similar length (torchtext's BucketIterator): a random permutation cut
    into pools of `pool` batches, each pool sorted by length, cut into batches, the batches shuffled.

        shuffled   [ 5 2 9 4 | 7 1 8 3 | 6 ]        (lengths; batch_size 2, pool 2 batches)
        sorted     [ 2 4 5 9 | 1 3 7 8 | 6 ]        each pool by length (stable: ties keep the shuffle)
        batches    (2 4)(5 9)(1 3)(7 8)(6)
        shuffled   (7 8)(2 4)(1 3)(5 9)(6)          the short last batch stays last

    Every text once; each batch a random draw among texts of about one length, and the batches in
    random order (an epoch does not run from short texts to long ones). A padded batch is as long as
    its longest text, so its padding shrinks. Drawn from `generator` (None: torch's global one, as
    randperm): the same seed, the same batches.
    """
    n = len(lengths)
    if batch_size < 1 or pool < 1:
        raise SeqlabError(f"batch_size and pool must be positive, got {batch_size}, {pool}")
    order = torch.randperm(n, generator=generator)
    span = batch_size * pool  # a whole number of batches: no batch straddles two pools
    pools = [order[i:i + span] for i in range(0, n, span)]
    order = torch.cat([p[lengths[p].sort(stable=True).indices] for p in pools]) if pools else order
    full = n // batch_size
    batches = order[:full * batch_size].view(full, batch_size)  # (batches, batch_size)
    batches = batches[torch.randperm(full, generator=generator)]
    return torch.cat([batches.reshape(-1), order[full * batch_size:]])
