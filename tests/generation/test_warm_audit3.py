"""State joining edges a hand mutation audit (session 31) found unpinned: each test here failed with one small
change to warm.py that every other generation test passed. The twin: each prompt generated alone."""

import pytest
import torch
from torch import nn

from seqlab.generation.sampling import generate_batch


class _OddState(nn.Module):
    """A user's GRU LM over 7 ids whose state is (h (1, B, 4), extra): `extra` a dict holding a (B, 4) tensor
    (map_state does not reach inside a dict), or a (B, 2B) tensor (two dimensions grow with the batch). Neither
    can be joined row by row on one batch dimension: generation must run such a model in lock step."""

    def __init__(self, kind):
        super().__init__()
        torch.manual_seed(0)
        self.kind = kind
        self.emb, self.rnn, self.out = nn.Embedding(7, 5), nn.GRU(5, 4), nn.Linear(4, 7)

    def begin_state(self, batch_size=1, device=None):
        h = torch.zeros(1, batch_size, 4, device=device)
        if self.kind == "dict":
            return h, {"steps": torch.zeros(batch_size, 4, device=device)}
        return h, torch.zeros(batch_size, 2 * batch_size, device=device)

    def forward(self, X, state):  # X (B, T) -> logits (T*B, V), time-major
        h, extra = state
        B = X.shape[0]
        kept = extra["steps"] if self.kind == "dict" else extra
        assert kept.shape == ((B, 4) if self.kind == "dict" else (B, 2 * B)), "a state of another batch's rows"
        Y, h = self.rnn(self.emb(X.t()), h)
        kept = kept + X.shape[1]
        return self.out(Y).reshape(-1, 7), (h, {"steps": kept} if self.kind == "dict" else kept)


@pytest.mark.parametrize("kind", ["dict", "two batch dimensions"])
def test_a_state_that_cannot_be_joined_on_one_batch_dimension_generates_in_lock_step(kind):
    net = _OddState("dict" if kind == "dict" else "square")
    prefixes = [[1, 2, 3], [4], [1, 2, 3]]
    alone = [generate_batch(net, [p], 5)[0] for p in prefixes]
    assert generate_batch(net, prefixes, 5) == alone
    sampled = generate_batch(net, prefixes, 5, num_samples=2, temperature=1.0, seed=4)
    # prefix 0 draws from (seed, 0, s) in both: its samples are those it gets alone
    assert sampled[:2] == generate_batch(net, prefixes[:1], 5, num_samples=2, temperature=1.0, seed=4)
