"""State joining edges a hand mutation audit (session 31) found unpinned: each test here failed with one small
change to warm.py that every other generation test passed. The twin: each prompt generated alone."""

import weakref

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.sampling import generate_batch
from seqlab.generation.warm import feed


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


class _Scalar(nn.Module):
    """A user's model whose forward returns a 0-d tensor (a loss, say) where logits belong."""

    def begin_state(self, batch_size=1, device=None):
        return torch.zeros(1, batch_size, 2, device=device)

    def forward(self, X, state):
        return torch.tensor(0.5), state


def test_a_0d_tensor_is_no_logits_even_for_one_id():
    # one id of one row: (steps*rows, V) = (1, V); a 0-d tensor has no V, and was read as a vocabulary of one
    with pytest.raises(SeqlabError, match=r"returned logits of shape \(\); generation reads"):
        feed(_Scalar(), torch.tensor([[3]]), _Scalar().begin_state())


class _Freed(nn.Module):
    """A GRU LM that, at each call, says whether the logits it returned at the call before are still alive."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb, self.rnn, self.out = nn.Embedding(9, 4), nn.GRU(4, 4), nn.Linear(4, 9)
        self.before, self.alive = None, []

    def begin_state(self, batch_size=1, device=None):
        return torch.zeros(1, batch_size, 4, device=device)

    def forward(self, X, state):
        self.alive.append(self.before is not None and self.before() is not None)
        Y, state = self.rnn(self.emb(X.t()), state)
        logits = self.out(Y).reshape(-1, 9)
        self.before = weakref.ref(logits)
        return logits, state


def test_a_warm_up_calls_logits_are_freed_before_its_next_call():
    # feed keeps a copy of the last step's rows only: one call's (chunk, V) logits alive at a time
    net = _Freed()
    with torch.no_grad():
        feed(net, torch.randint(0, 9, (2, 10)), net.begin_state(batch_size=2), chunk=4)
    assert len(net.alive) == 5 and not any(net.alive)  # 5 calls of 4 // 2 = 2 steps each
