"""Scratch cells vs PyTorch's fused layers (float64, copied weights): outputs AND gradients."""

import math

import pytest
import torch
from torch import nn

from seqlab.models.cells import GRUCell, PeepholeLSTMCell, copy_from_fused
from seqlab.models.cells_book import get_params, init_rnn_state, rnn
from seqlab.models.lm import RNNModel, RNNModelScratch
from seqlab.models.recurrent import ScratchRNN

T, B, D, H = 7, 3, 5, 4


def _pair(fused):
    torch.manual_seed(0)
    fused = fused.double()
    scratch = ScratchRNN.from_fused(fused)
    return fused, scratch


def _state(fused, batch):
    n = fused.num_layers * (2 if fused.bidirectional else 1)
    g = torch.Generator().manual_seed(1)
    h = torch.randn(n, batch, fused.hidden_size, dtype=torch.float64, generator=g)
    if isinstance(fused, nn.LSTM):
        return (h, torch.randn(n, batch, fused.hidden_size, dtype=torch.float64, generator=g))
    return h


def _grads(module):
    return [p.grad.clone() for p in module.parameters()]


CASES = [
    ("rnn-tanh", lambda: nn.RNN(D, H)),
    ("rnn-relu", lambda: nn.RNN(D, H, nonlinearity="relu")),
    ("gru", lambda: nn.GRU(D, H)),
    ("lstm", lambda: nn.LSTM(D, H)),
    ("deep-bi-lstm", lambda: nn.LSTM(D, H, num_layers=2, bidirectional=True)),
    ("deep-bi-gru", lambda: nn.GRU(D, H, num_layers=3, bidirectional=True)),
    ("deep-rnn", lambda: nn.RNN(D, H, num_layers=2)),
]


@pytest.mark.parametrize("name, make", CASES, ids=[c[0] for c in CASES])
def test_scratch_matches_fused_outputs_and_gradients(name, make):
    torch.manual_seed(0)
    fused, scratch = _pair(make())
    X = torch.randn(T, B, D, dtype=torch.float64)
    X1, X2 = X.clone().requires_grad_(), X.clone().requires_grad_()
    s0 = _state(fused, B)
    y_f, s_f = fused(X1, s0)
    y_s, s_s = scratch(X2, s0)
    torch.testing.assert_close(y_s, y_f, rtol=1e-10, atol=1e-12)
    for a, b in zip(s_s if isinstance(s_s, tuple) else (s_s,), s_f if isinstance(s_f, tuple) else (s_f,)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    # a loss that touches outputs and final state, with non-uniform weights
    w = torch.linspace(-1, 1, y_f.numel(), dtype=torch.float64).view_as(y_f)
    def loss(y, s):
        last = s[0] if isinstance(s, tuple) else s
        return (y * w).sum() + (last ** 2).sum()
    loss(y_f, s_f).backward()
    loss(y_s, s_s).backward()
    torch.testing.assert_close(X2.grad, X1.grad, rtol=1e-9, atol=1e-12)
    # parameter gradients: scratch W_x is fused weight_ih transposed, per layer/direction
    dirs = 2 if fused.bidirectional else 1
    for layer in range(fused.num_layers):
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            cell = scratch.cells[layer * dirs + d]
            torch.testing.assert_close(cell.W_x.grad, getattr(fused, "weight_ih" + sfx).grad.T, rtol=1e-9, atol=1e-12)
            torch.testing.assert_close(cell.W_h.grad, getattr(fused, "weight_hh" + sfx).grad.T, rtol=1e-9, atol=1e-12)
            torch.testing.assert_close(cell.b.grad, getattr(fused, "bias_ih" + sfx).grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "peephole"])
def test_step_by_step_equals_whole_sequence(cell):
    torch.manual_seed(0)
    net = ScratchRNN(cell, D, H, num_layers=2, dtype=torch.float64)
    X = torch.randn(T, B, D, dtype=torch.float64)
    y_all, s_all = net(X)
    s, ys = None, []
    for t in range(T):
        y, s = net(X[t:t + 1], s)
        ys.append(y)
    torch.testing.assert_close(torch.cat(ys), y_all, rtol=0, atol=1e-13)
    for a, b in zip(s if isinstance(s, tuple) else (s,), s_all if isinstance(s_all, tuple) else (s_all,)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


def test_peephole_one_step_by_hand():
    # D = H = 1: every weight a scalar, so the seed's formulas can be evaluated by hand.
    cell = PeepholeLSTMCell(1, 1, dtype=torch.float64)
    with torch.no_grad():
        cell.W_x.copy_(torch.tensor([[0.5, -0.3, 0.8, 0.2]], dtype=torch.float64))  # W_i, W_f, W_c, W_o
        cell.b.copy_(torch.tensor([0.1, 0.2, -0.1, 0.05], dtype=torch.float64))
        cell.W_h.copy_(torch.tensor([[0.7, -0.4, 0.9]], dtype=torch.float64))  # U_i, U_f, U_o (read c_{t-1})
    x, h0, c0 = 1.5, 0.25, -0.6
    s = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    i = s(0.5 * x + 0.7 * c0 + 0.1)
    f = s(-0.3 * x - 0.4 * c0 + 0.2)
    o = s(0.2 * x + 0.9 * c0 + 0.05)
    c = f * c0 + i * math.tanh(0.8 * x - 0.1)
    h = o * math.tanh(c)
    y, (h1, c1) = cell(torch.tensor([[[x]]], dtype=torch.float64),
                       (torch.tensor([[h0]], dtype=torch.float64), torch.tensor([[c0]], dtype=torch.float64)))
    assert abs(h1.item() - h) < 1e-14 and abs(c1.item() - c) < 1e-14 and abs(y.item() - h) < 1e-14
    # h_{t-1} plays no part in the seed's peephole formulas
    _, (h2, _) = cell(torch.tensor([[[x]]], dtype=torch.float64),
                      (torch.tensor([[9.0]], dtype=torch.float64), torch.tensor([[c0]], dtype=torch.float64)))
    assert h2.item() == h1.item()


def test_book_gru_formula_is_reset_before():
    # reset_after=False is the book's candidate tanh(X W + (R*H) W_h + b): check against it directly
    torch.manual_seed(0)
    cell = GRUCell(D, H, reset_after=False, dtype=torch.float64)
    x = torch.randn(B, D, dtype=torch.float64)
    h0 = torch.randn(B, H, dtype=torch.float64)
    Wx, Wh, b, bh = cell.W_x, cell.W_h, cell.b, cell.b_h
    r = torch.sigmoid(x @ Wx[:, :H] + b[:H] + h0 @ Wh[:, :H] + bh[:H])
    z = torch.sigmoid(x @ Wx[:, H:2 * H] + b[H:2 * H] + h0 @ Wh[:, H:2 * H] + bh[H:2 * H])
    n = torch.tanh(x @ Wx[:, 2 * H:] + b[2 * H:] + (r * h0) @ Wh[:, 2 * H:] + bh[2 * H:])
    h1, _ = cell.step(x, h0)
    torch.testing.assert_close(h1, z * h0 + (1 - z) * n)
    # and it is a different function from PyTorch's (reset after the product)
    fused = nn.GRU(D, H).double()
    copy_from_fused(cell, fused)
    out, _ = fused(x[None], h0[None])
    assert not torch.allclose(cell.step(x, h0)[0], out[0])
    cell.reset_after = True
    torch.testing.assert_close(cell.step(x, h0)[0], out[0])


def test_functional_rnn_scratch_equals_rnnmodel_over_nn_rnn():
    # The book's RNNModelScratch(get_params, init_rnn_state, rnn) with weights copied into
    # RNNModel(nn.RNN) gives the same logits: the two models are interchangeable.
    torch.manual_seed(0)
    V, Hh = 11, 6
    scratch = RNNModelScratch(V, Hh, "cpu", get_params, init_rnn_state, rnn).double()
    scratch.params = list(scratch._plist)
    layer = nn.RNN(V, Hh).double()
    model = RNNModel(layer, V).double()
    W_xh, W_hh, b_h, W_hq, b_q = scratch.params
    with torch.no_grad():
        layer.weight_ih_l0.copy_(W_xh.T)
        layer.weight_hh_l0.copy_(W_hh.T)
        layer.bias_ih_l0.copy_(b_h)
        layer.bias_hh_l0.zero_()
        model.linear.weight.copy_(W_hq.T)
        model.linear.bias.copy_(b_q)
    X = torch.randint(0, V, (2, 5))
    y1, (h1,) = scratch(X, tuple(s.double() for s in scratch.begin_state(2, "cpu")))
    y2, h2 = model(X, model.begin_state(batch_size=2, device="cpu"))
    assert y1.shape == y2.shape == (5 * 2, V)
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(h1, h2[0])


def test_dropout_between_layers_matches_nn_lstm_in_training():
    # nn.LSTM drops the outputs of every layer but the last (not the input); with the same RNG
    # stream the scratch stack and the fused layer built by make_rnn_layer draw the same masks
    from seqlab.models.recurrent import make_rnn_layer

    torch.manual_seed(0)
    ref = nn.LSTM(D, H, num_layers=2, dropout=0.5).double()
    torch.manual_seed(0)
    fused = make_rnn_layer("lstm", "fused", D, H, 2, dropout=0.5).double()
    scratch = ScratchRNN.from_fused(ref)
    X = torch.randn(T, B, D, dtype=torch.float64)
    with torch.no_grad():
        torch.manual_seed(7)
        want = ref(X)[0]
        assert not torch.allclose(want, ref.eval()(X)[0])  # the dropout is active in training
        ref.train()
        for net in (fused, scratch):
            torch.manual_seed(7)
            torch.testing.assert_close(net.train()(X)[0], want, rtol=1e-10, atol=1e-12)
        with pytest.warns(UserWarning, match="expects num_layers > 1"):  # as nn.LSTM warns
            one = ScratchRNN("lstm", D, H, 1, dropout=0.5).double()  # one layer: nothing to drop
        torch.testing.assert_close(one.train()(X)[0], one.eval()(X)[0], rtol=0, atol=0)


def test_peephole_stack_is_built_from_peephole_cells():
    # make_cell("peephole") / ScratchRNN("peephole"): h_{t-1} plays no part, c_{t-1} does
    from seqlab.models.cells import make_cell

    cell = make_cell("peephole", D, H, dtype=torch.float64)
    assert isinstance(cell, PeepholeLSTMCell) and cell.W_h.shape == (H, 3 * H)
    torch.manual_seed(0)
    net = ScratchRNN("peephole", D, H, 2, dtype=torch.float64)
    X = torch.randn(T, B, D, dtype=torch.float64)
    h0, c0 = torch.randn(2, 2, B, H, dtype=torch.float64)
    y, _ = net(X, (h0, c0))
    torch.testing.assert_close(net(X, (torch.zeros_like(h0), c0))[0], y, rtol=0, atol=0)
    assert not torch.allclose(net(X, (h0, torch.zeros_like(c0)))[0], y)
