"""ScratchRNN.to_fused: a scratch layer as its nn.RNN/GRU/LSTM twin (the inverse of from_fused), float64."""

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.recurrent import ScratchRNN

T, B, D, H = 6, 3, 5, 4

CASES = [
    ("rnn-tanh", lambda bias=True: nn.RNN(D, H, 2, bias=bias, bidirectional=True)),
    ("rnn-relu", lambda bias=True: nn.RNN(D, H, 2, bias=bias, nonlinearity="relu", bidirectional=True)),
    ("gru", lambda bias=True: nn.GRU(D, H, 2, bias=bias, bidirectional=True)),
    ("lstm", lambda bias=True: nn.LSTM(D, H, 2, bias=bias, bidirectional=True)),
]


def _state(layer, seed=1):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(4, B, H, dtype=torch.float64, generator=g)  # (layers*dirs, B, H)
    return (h, torch.randn(4, B, H, dtype=torch.float64, generator=g)) if isinstance(layer, nn.LSTM) else h


def _run(layer, X, state):
    """Outputs and final state, after a backward of all of them (weight gradients in .grad)."""
    layer.zero_grad()
    Y, s = layer(X, state)
    parts = [Y, *s] if isinstance(s, tuple) else [Y, s]
    sum((p * torch.linspace(-1, 1, p.numel(), dtype=p.dtype).view_as(p)).sum() for p in parts).backward()
    return [p.detach() for p in parts]


def _weight_grads(fused):
    return {name: p.grad for name, p in fused.named_parameters() if name.startswith("weight")}


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_from_fused_then_to_fused_gives_the_original_layer(name, make, bias):
    torch.manual_seed(0)
    original = make(bias).double()
    back = ScratchRNN.from_fused(original).to_fused()
    assert type(back) is type(original) and back.mode == original.mode
    for attr in ("input_size", "hidden_size", "num_layers", "bidirectional", "bias", "batch_first"):
        assert getattr(back, attr) == getattr(original, attr), attr
    assert back.weight_ih_l0.dtype == torch.float64
    X = torch.randn(T, B, D, dtype=torch.float64)
    want = _run(original, X, _state(original))
    got = _run(back, X, _state(back))
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)
    want_grads, got_grads = _weight_grads(original), _weight_grads(back)
    assert got_grads.keys() == want_grads.keys()
    for key in want_grads:
        torch.testing.assert_close(got_grads[key], want_grads[key], msg=key)


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_a_trained_scratch_layer_runs_the_same_as_its_fused_twin(mode):
    torch.manual_seed(0)
    scratch = ScratchRNN(mode, D, H, 2, bidirectional=True, dropout=0.3, dtype=torch.float64)
    X = torch.randn(T, B, D, dtype=torch.float64)
    opt = torch.optim.SGD(scratch.parameters(), lr=0.5)
    for _ in range(3):  # biases of their own, b (and a GRU's b_h) no longer PyTorch's init
        opt.zero_grad()
        scratch(X)[0].pow(2).mean().backward()
        opt.step()
    scratch.eval()
    fused = scratch.to_fused()
    assert fused.dropout == 0.3 and not fused.training and fused.bias
    with torch.no_grad():
        want, got = scratch(X, scratch.begin_state(B)), fused(X)
    torch.testing.assert_close(got[0], want[0])
    torch.testing.assert_close(got[1], want[1])


def test_one_layer_with_dropout_gets_no_dropout_warning():
    # nn.LSTM warns about dropout with one layer, where it does nothing (as in the scratch layer)
    import warnings

    with pytest.warns(UserWarning, match="expects num_layers > 1"):  # (the scratch layer warns as nn.LSTM does)
        scratch = ScratchRNN("lstm", D, H, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scratch.to_fused().dropout == 0.0


def test_biases_frozen_but_not_zero_are_kept():
    scratch = ScratchRNN("lstm", D, H, dtype=torch.float64)
    scratch.cells[0].b.requires_grad_(False)  # frozen, but an LSTM's learnt bias
    fused = scratch.to_fused()
    assert fused.bias
    X = torch.randn(T, B, D, dtype=torch.float64)
    torch.testing.assert_close(fused(X)[0], scratch(X)[0])


def test_layers_without_a_fused_twin_are_refused():
    with pytest.raises(SeqlabError, match="the peephole LSTM has no fused twin"):
        ScratchRNN("peephole", D, H).to_fused()
    gru = ScratchRNN("gru", D, H)
    gru.cells[0].reset_after = False  # the book's candidate formula
    with pytest.raises(SeqlabError, match="reset_after=False .* has no fused twin"):
        gru.to_fused()
