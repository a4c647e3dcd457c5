"""Mutation-audit tests of warm.py's logits layout check and its one-row probe (session 32): each failed with one
small change to warm.py that every other generation test passed. The twins: a user's nn.GRU LM's own greedy
loop, and call counts worked out by hand."""

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.sampling import generate_batch
from seqlab.generation.warm import feed

V, H = 7, 8


class _UserLM(nn.Module):
    """A user's nn.GRU LM returning logits `layout`: 'flat' (T*B, V), 'time' (T, B, V), 'batch' (B, T, V), or
    'scores' (B, T) (no vocabulary dimension); it counts its calls."""

    def __init__(self, layout):
        super().__init__()
        torch.manual_seed(0)
        self.layout, self.calls = layout, 0
        self.emb, self.rnn, self.out = nn.Embedding(V, H), nn.GRU(H, H, batch_first=True), nn.Linear(H, V)

    def begin_state(self, batch_size=1, device=None):
        return torch.zeros(1, batch_size, H, device=device)

    def forward(self, X, state):  # X (B, T)
        self.calls += 1
        Y, state = self.rnn(self.emb(X), state)
        logits = self.out(Y)  # (B, T, V)
        if self.layout == "flat":
            logits = logits.transpose(0, 1).reshape(-1, V)
        elif self.layout == "time":
            logits = logits.transpose(0, 1)
        elif self.layout == "scores":
            logits = logits.amax(-1)
        return logits, state


@torch.no_grad()
def _greedy(net, prefix, n):
    """The model's own greedy loop over one prefix: its logits are (1, T, V), batch-major."""
    logits, state = net(torch.tensor([prefix]), net.begin_state(1))
    ids = list(prefix)
    for _ in range(n):
        ids.append(int(logits[0, -1].argmax()))
        logits, state = net(torch.tensor([[ids[-1]]]), state)
    return ids


@pytest.mark.parametrize("layout, shape, calls", [
    ("time", (1, 1), 1), ("flat", (3, 3), 1), ("time", (2, 3), 1),  # one layout the shape tells: no probe
    ("time", (3, 3), 2)])  # (T, B, V) with T == B: one more call, on one row and two steps
def test_the_one_row_probe_runs_only_when_the_shape_cannot_tell_the_layouts_apart(layout, shape, calls):
    net = _UserLM(layout)
    feed(net, torch.randint(0, V, shape), net.begin_state(shape[0]))
    assert net.calls == calls


def test_a_batch_major_model_warming_up_prefixes_of_one_id_generates_its_own_greedy_ids():
    # one step: (B, 1, V) batch-major is (T*B, V)'s order, read right (one call of two rows)
    net = _UserLM("batch")
    prefixes = [[1], [4]]
    assert generate_batch(net, prefixes, 4) == [_greedy(net, p, 4) for p in prefixes]


def test_logits_without_a_vocabulary_dimension_are_not_called_batch_major():
    # (B, T) scores have the batch-major (B, T) in front but no V: the advice to transpose (B, T, V) is wrong
    net = _UserLM("scores")
    with pytest.raises(SeqlabError, match=r"returned logits of shape \(2, 3\); generation reads") as err:
        feed(net, torch.randint(0, V, (2, 3)), net.begin_state(2))
    assert "batch-major" not in str(err.value)
