"""Generation from a user's own language model, written in plain PyTorch: the layout of its logits."""

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.sampling import generate_batch, generate_ids

V, H = 7, 16


class _UserLM(nn.Module):
    """An nn.GRU LM as users write it; `batch_first`: logits (B, T, V), else seqlab's time-major (T*B, V)."""

    def __init__(self, batch_first: bool):
        super().__init__()
        torch.manual_seed(0)
        self.batch_first = batch_first
        self.emb, self.rnn, self.out = nn.Embedding(V, 8), nn.GRU(8, H, batch_first=True), nn.Linear(H, V)

    def begin_state(self, batch_size=1, device=None):
        return torch.zeros(1, batch_size, H, device=device)

    def forward(self, X, state):  # X (B, T)
        Y, state = self.rnn(self.emb(X), state)  # (B, T, H)
        logits = self.out(Y)  # (B, T, V)
        return (logits if self.batch_first else logits.transpose(0, 1).reshape(-1, V)), state


@torch.no_grad()
def _greedy(net, prefix, n):
    """The hand-written greedy loop: the whole prefix, then one arg-max id at a time."""
    logits, state = net(torch.tensor([prefix]), net.begin_state(1))
    ids = list(prefix)
    for _ in range(n):
        ids.append(int(logits.reshape(-1, V)[-1].argmax()))
        logits, state = net(torch.tensor([[ids[-1]]]), state)
    return ids


def test_a_time_major_user_model_generates_the_hand_written_greedy_loops_ids():
    net = _UserLM(batch_first=False)
    prefixes = [[1, 2, 3], [4, 5, 0, 6], [2, 2]]
    assert generate_batch(net, prefixes, 5) == [_greedy(net, p, 5) for p in prefixes]


def test_a_batch_major_user_model_is_told_the_layout_generation_reads():
    # was, with 2+ prefixes, RuntimeError "expand(torch.LongTensor{[2, 2]}, size=[2]): the number of sizes
    # provided (1) must be greater or equal to ..." from an index assignment inside sampling.py
    net, advice = _UserLM(batch_first=True), r"logits\.transpose\(0, 1\)\.reshape\(-1, V\)"
    prefixes = [[1, 2, 3], [4, 5, 0]]
    with pytest.raises(SeqlabError, match=r"\(2, 3, 7\); generation reads seqlab's time-major layout, \(T\*B, V\).*"
                                          r"this is batch-major \(B, T, V\).*" + advice):
        generate_batch(net, prefixes, 4)
    # the advice, taken: the same model returning logits.transpose(0, 1).reshape(-1, V) is the hand-written loop
    followed = _UserLM(batch_first=False)
    assert generate_batch(followed, prefixes, 4) == [_greedy(net, p, 4) for p in prefixes]
    # one prefix, or a shortest prefix of one id (one warm-up step): batch- and time-major are the same order
    assert generate_ids(net, [1, 2, 3], 5) == _greedy(net, [1, 2, 3], 5)
    assert generate_batch(net, [[1], [4, 5]], 4) == [_greedy(net, p, 4) for p in ([1], [4, 5])]


def test_a_batch_major_user_model_is_refused_when_its_prefixes_are_as_many_as_long():
    # (B, T, V) with T == B has the shape of time-major (T, B, V): it was read as time-major, each row
    # starting from another row's logits at another step (greedy here: [1, 2, 3, 0, 5, 5, 5] where its
    # own loop gives [1, 2, 3, 5, 5, 5, 5]); one call on a row and two steps tells the layouts apart
    net = _UserLM(batch_first=True)
    prefixes = [[1, 2, 3], [4, 5, 0], [6, 6, 6]]
    with pytest.raises(SeqlabError, match=r"\(3, 3, 7\); .*this is batch-major \(B, T, V\)"):
        generate_batch(net, prefixes, 4)


class _TimeMajor3D(_UserLM):
    """Logits (T, B, V), as an nn.GRU at its default batch_first=False and a Linear give (no reshape)."""

    def __init__(self):
        super().__init__(batch_first=False)

    def forward(self, X, state):
        Y, state = self.rnn(self.emb(X), state)  # (B, T, H)
        return self.out(Y).transpose(0, 1), state  # (T, B, V)


@pytest.mark.parametrize("prefixes", [[[1, 2, 3], [4, 5, 0]], [[1, 2, 3], [4, 5, 0], [6, 6, 6]]])  # T != B, T == B
def test_a_time_major_3d_user_model_generates_as_its_flat_twin(prefixes):
    # review r-diff, finding 3: (T, B, V) worked before the layout check, which refused it with advice that
    # (taken) mixed the rows; with T == B a call on one row tells it from (B, T, V)
    net, twin = _TimeMajor3D(), _UserLM(batch_first=False)  # (the same weights: both seeded 0)
    assert net(torch.tensor(prefixes), net.begin_state(len(prefixes)))[0].shape[:2] == (3, len(prefixes))
    assert generate_batch(net, prefixes, 5) == generate_batch(twin, prefixes, 5) == [_greedy(twin, p, 5)
                                                                                        for p in prefixes]
    sampled = dict(temperature=0.8, top_k=4, seed=3, num_samples=2)
    assert generate_batch(net, prefixes, 5, **sampled) == generate_batch(twin, prefixes, 5, **sampled)


class _Returns(_UserLM):
    """A time-major model that returns `change(logits)` instead of its logits."""

    def __init__(self, change):
        super().__init__(batch_first=False)
        self.change = change

    def forward(self, X, state):
        logits, state = super().forward(X, state)
        return self.change(logits), state


def test_a_model_whose_logits_have_other_rows_or_are_no_tensor_is_told_what_it_returned():
    with pytest.raises(SeqlabError, match=r"returned logits of shape \(5, 7\); .* = \(6, V\)"):
        generate_batch(_Returns(lambda z: z[:-1]), [[1, 2, 3], [4, 5, 0]], 2)
    with pytest.raises(SeqlabError, match="returned logits of a dict;"):
        generate_batch(_Returns(lambda z: {"logits": z}), [[1, 2, 3], [4, 5, 0]], 2)
