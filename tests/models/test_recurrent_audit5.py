"""Mutation-audit tests of recurrent.py's PackedSequence path and nn.LSTM-like options (session 32): what the
other layer tests left open. A packed LSTM with `fast` off runs the plain loop (exact second-order gradients,
as nn.LSTM's), with it on the fast recurrence; the repr names batch_first as nn.LSTM's does."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from seqlab.errors import SeqlabError
from seqlab.models.cells import LSTMCell
from seqlab.models.recurrent import ScratchRNN

T, D, H = 5, 3, 4
LENGTHS = torch.tensor([2, 5, 3])


def _packed():
    torch.manual_seed(0)
    fused = nn.LSTM(D, H, bidirectional=True).double()
    X = torch.randn(T, len(LENGTHS), D, dtype=torch.float64, requires_grad=True)
    return fused, X


def _penalty_grads(layer, X, weights):
    """A gradient penalty's gradient in `weights`: the packed run's outputs and final state, their gradient in
    X (create_graph), and that gradient's squared norm taken back."""
    Y, (h, c) = layer(pack_padded_sequence(X, LENGTHS, enforce_sorted=False))
    g, = torch.autograd.grad(Y.data.pow(2).sum() + h.pow(2).sum() + c.pow(2).sum(), X, create_graph=True)
    return torch.autograd.grad(g.pow(2).sum(), weights)


def test_a_packed_lstm_with_fast_off_gives_nn_lstms_second_order_gradients():
    # fast = False is the documented way to exact higher-order gradients: the packed path too
    fused, X = _packed()
    scratch = ScratchRNN.from_fused(fused)
    scratch.fast = False
    cells = scratch.cells
    got = _penalty_grads(scratch, X, [cells[0].W_h, cells[1].W_h, cells[0].W_x])
    want = _penalty_grads(fused, X, [fused.weight_hh_l0, fused.weight_hh_l0_reverse, fused.weight_ih_l0])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w.T)
    # and with it on, the packed LSTM runs the fast recurrence, whose first-order backward refuses
    scratch.fast = True
    with pytest.raises(SeqlabError, match="second-order"):
        _penalty_grads(scratch, X, [cells[0].W_h])


def test_a_packed_lstm_runs_the_fast_recurrence_unless_fast_is_off(monkeypatch):
    # a test of the switch, not of the maths (test_recurrent_as_nn compares both with nn.LSTM): with fast
    # on, the packed run never calls the plain per-step `recur`
    _, X = _packed()
    layer = ScratchRNN("lstm", D, H, bidirectional=True, dtype=torch.float64)
    calls = []
    real = LSTMCell.recur
    monkeypatch.setattr(LSTMCell, "recur", lambda self, xw, s: calls.append(1) or real(self, xw, s))
    packed = pack_padded_sequence(X.detach(), LENGTHS, enforce_sorted=False)
    layer(packed)
    assert calls == []
    layer.fast = False
    layer(packed)
    assert len(calls) == 2 * T  # each direction over the longest row's steps


@pytest.mark.parametrize("kwargs", [dict(batch_first=True), dict(num_layers=2, batch_first=True, bias=False,
                                                                   dropout=0.5, bidirectional=True)])
def test_the_repr_names_the_options_as_nn_lstms_does(kwargs):
    fused = nn.LSTM(D, H, **kwargs)
    assert ScratchRNN("lstm", D, H, **kwargs).extra_repr() == f"'lstm', {fused.extra_repr()}"


def test_zero_biases_that_still_train_are_biases():
    # bias=False means biases frozen at zero; zeroed ones that train (an init, say) stay: to_fused keeps them,
    # and one SGD step moves the scratch and fused layers alike
    torch.manual_seed(0)
    scratch = ScratchRNN("gru", D, H, dtype=torch.float64)
    with torch.no_grad():
        for p in (scratch.cells[0].b, scratch.cells[0].b_h):
            p.zero_()
    assert scratch.bias and "bias=False" not in scratch.extra_repr()
    fused = scratch.to_fused()
    assert fused.bias
    X = torch.randn(T, 2, D, dtype=torch.float64)
    for net in (scratch, fused):
        net(X)[0].sum().backward()
        torch.optim.SGD(net.parameters(), lr=0.5).step()
    torch.testing.assert_close(scratch(X)[0], fused(X)[0])
