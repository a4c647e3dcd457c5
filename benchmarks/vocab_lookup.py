"""Bulk decoding and encoding with a Vocab: `vocab.to_tokens(ids)` and `vocab[tokens]` on the words of
WikiText-2's training file, against the recursive code they replaced (written out below as the anchor,
as it stood at 5f902d3) and against the plain-Python floor (`[idx_to_token[i] for i in ids]`,
`[token_to_idx.get(t, 0) for t in tokens]`). Every result is checked equal to the plain-Python twin.

CPU seconds (time.process_time) of one call each: on a shared machine the steadier of the clocks.

Run:  SEQLAB_DATA=../shared/data python benchmarks/vocab_lookup.py [--tokens 2000000]
"""

from __future__ import annotations

import argparse
import json
import operator
import time

import numpy as np
import torch

from seqlab.data.registry import dataset_file
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError


def old_to_tokens(vocab: Vocab, indices):
    """Vocab.to_tokens before the flat fast path: one recursive call per id."""
    if isinstance(indices, (torch.Tensor, np.ndarray)) and indices.ndim > 0:
        floating = indices.is_floating_point() if isinstance(indices, torch.Tensor) else indices.dtype.kind in "fc"
        if floating:
            raise SeqlabError(f"token ids must be integers, not an array of {indices.dtype}")
        indices = indices.tolist()
    if isinstance(indices, (list, tuple)):
        return [old_to_tokens(vocab, i) for i in indices]
    try:
        i = operator.index(indices)
    except TypeError:
        raise SeqlabError(f"token ids must be integers, got {indices!r}") from None
    if not 0 <= i < len(vocab.idx_to_token):
        raise SeqlabError(f"id {i} is out of range for a vocabulary of {len(vocab.idx_to_token)} tokens")
    return vocab.idx_to_token[i]


def old_getitem(vocab: Vocab, tokens):
    """Vocab.__getitem__ before the flat fast path: one recursive call per token."""
    if not isinstance(tokens, (list, tuple)):
        i = vocab.token_to_idx.get(tokens)
        return i if i is not None else vocab._unknown(tokens, "vocab[...]")
    return [old_getitem(vocab, token) for token in tokens]


def _cpu(fn):
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=2_000_000)
    args = parser.parse_args()
    with open(dataset_file("wikitext-2", "train.txt"), encoding="utf-8") as f:
        words = f.read().split()[:args.tokens]
    vocab = Vocab(words, min_freq=2)
    itos, stoi = vocab.idx_to_token, vocab.token_to_idx

    seconds = {}
    twin_ids, seconds["encode: [stoi.get(t, 0) for t in words]"] = _cpu(lambda: [stoi.get(t, 0) for t in words])
    old_ids, seconds["encode: old vocab[words]"] = _cpu(lambda: old_getitem(vocab, words))
    new_ids, seconds["encode: new vocab[words]"] = _cpu(lambda: vocab[words])
    assert old_ids == new_ids == twin_ids

    ids_tensor = torch.tensor(twin_ids)
    twin_tokens, seconds["decode: [itos[i] for i in ids]"] = _cpu(lambda: [itos[i] for i in twin_ids])
    old_tokens, seconds["decode: old to_tokens(list)"] = _cpu(lambda: old_to_tokens(vocab, twin_ids))
    new_tokens, seconds["decode: new to_tokens(list)"] = _cpu(lambda: vocab.to_tokens(twin_ids))
    old_t, seconds["decode: old to_tokens(tensor)"] = _cpu(lambda: old_to_tokens(vocab, ids_tensor))
    new_t, seconds["decode: new to_tokens(tensor)"] = _cpu(lambda: vocab.to_tokens(ids_tensor))
    assert old_tokens == new_tokens == old_t == new_t == twin_tokens

    floor = {"encode": seconds["encode: [stoi.get(t, 0) for t in words]"],
             "decode": seconds["decode: [itos[i] for i in ids]"]}
    print(json.dumps({"tokens": len(words), "vocab": len(vocab), "torch_threads": torch.get_num_threads(),
                      "cpu_seconds": {k: round(v, 3) for k, v in seconds.items()},
                      "x_plain_python": {k: round(v / floor[k.split(":")[0]], 2) for k, v in seconds.items()}},
                     indent=1))


if __name__ == "__main__":
    main()
