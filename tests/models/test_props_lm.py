"""Property tests (hypothesis) of the language models over random configurations: the training loss
`forward(X, state, targets=Y)` (fused output layer where the vocabulary is a word-level one) is
F.cross_entropy of the logits, summed, with the same gradients; and a sequence read in two pieces,
the state carried between them, gives the logits and state of reading it whole."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.models.lm import ModelConfig, build_lm

pytestmark = pytest.mark.usefixtures("one_thread")

configs = st.sampled_from([
    dict(cell="lstm", impl="fused", hidden=5, embed=4, layers=2),
    dict(cell="gru", impl="scratch", hidden=4),
    dict(cell="rnn", impl="scratch", hidden=4, layers=2, fast=False),
    dict(cell="peephole", impl="scratch", hidden=3, embed=3),
    dict(cell="lstm", impl="scratch", hidden=4, embed=4, tie_weights=True),
    dict(cell="lstm", impl="fused", hidden=4, embed=3, layers=2, tie_weights=True),  # regularised: last layer 3
    dict(cell="gru", impl="fused", hidden=4, embed=4, dropout_output=0.3, dropout_hidden=0.2, layers=2),
])


def _net(config, V, seed):
    torch.manual_seed(seed)
    net = build_lm(ModelConfig(**config), V).double()
    return net


@settings(max_examples=30, deadline=None, database=None)
@given(config=configs, V=st.sampled_from([3, 7, 1000]), B=st.integers(1, 3), T=st.integers(1, 4),
       seed=st.integers(0, 2**31 - 1))
def test_the_training_loss_is_the_summed_cross_entropy_of_the_logits(config, V, B, T, seed):
    net = _net(config, V, seed).float().eval()  # float32: the fused path's dtype (V = 1000 takes it)
    gen = torch.Generator().manual_seed(seed)
    X, Y = torch.randint(0, V, (B, T), generator=gen), torch.randint(0, V, (B, T), generator=gen)
    state = net.begin_state(B, "cpu")
    params = [p for p in net.parameters() if p.requires_grad]
    loss, s1 = net(X, state, targets=Y)
    g1 = torch.autograd.grad(loss, params)
    logits, s2 = net(X, state)
    want = F.cross_entropy(logits, Y.T.reshape(-1), reduction="sum")  # time-major rows
    g2 = torch.autograd.grad(want, params)
    torch.testing.assert_close(loss, want, rtol=1e-5, atol=1e-4)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def _flat(state):
    if isinstance(state, (tuple, list)):
        return [t for s in state for t in _flat(s)]
    return [state]


@settings(max_examples=30, deadline=None, database=None)
@given(config=configs, V=st.sampled_from([3, 7]), B=st.integers(1, 3), T=st.integers(2, 6), data=st.data())
def test_reading_in_two_pieces_is_reading_whole(config, V, B, T, data):
    net = _net(config, V, data.draw(st.integers(0, 2**31 - 1))).eval()
    cut = data.draw(st.integers(1, T - 1))
    X = torch.randint(0, V, (B, T))
    with torch.no_grad():
        whole, s_whole = net(X, net.begin_state(B, "cpu"))
        first, s = net(X[:, :cut], net.begin_state(B, "cpu"))
        second, s = net(X[:, cut:], s)
    torch.testing.assert_close(torch.cat([first, second]), whole, rtol=1e-10, atol=1e-10)  # (T*B, V) time-major
    begin = net.begin_state(B, "cpu")  # the state's structure, shapes and dtype are begin_state's
    assert [(t.shape, t.dtype) for t in _flat(begin)] == [(t.shape, t.dtype) for t in _flat(s_whole)]
    assert type(begin) is type(s_whole) and not any(t.any() for t in _flat(begin))
    for a, b in zip(_flat(s), _flat(s_whole)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None, database=None)
@given(cell=st.sampled_from(["rnn", "gru", "lstm"]), embed=st.sampled_from([0, 3]), layers=st.integers(1, 2),
       bi=st.booleans(), fast=st.booleans(), B=st.integers(1, 3), T=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_a_scratch_layer_is_interchangeable_with_the_fused_one_in_an_lm(cell, embed, layers, bi, fast, B, T, seed):
    from seqlab.models.lm import RNNModel
    from seqlab.models.recurrent import ScratchRNN, make_rnn_layer

    V = 6
    torch.manual_seed(seed)
    fused = RNNModel(make_rnn_layer(cell, "fused", embed or V, 4, layers, bidirectional=bi), V,
                     embed_size=embed).double()
    layer = ScratchRNN.from_fused(fused.rnn)
    layer.fast = fast
    scratch = RNNModel(layer, V, embed_size=embed).double()
    scratch.load_state_dict({k: v for k, v in fused.state_dict().items() if not k.startswith("rnn.")}, strict=False)
    X, Y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
    out = []
    for net in (fused, scratch):
        loss, state = net(X, net.begin_state(B, "cpu"), targets=Y)
        grads = torch.autograd.grad(loss, [net.linear.weight, net.linear.bias])
        out.append((loss, *grads, *_flat(state)))
    for a, b in zip(*out):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
