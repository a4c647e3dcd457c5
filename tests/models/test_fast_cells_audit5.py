"""Mutation-audit tests of fast_cells.py (session 32): what the float64 parity tests left open, each against
the plain autograd loop (fast off, the same weights), the fused layer or a finite difference. An in-place edit
of the final state a cell returns; an LSTM whose h0 alone is trained; forward-mode AD whose tangent is on the
initial state or the GRU's recurrent bias only (the fast path has no jvp); the packed LSTM's every-step cell
states under forward AD; a recurrence of no step; a loss summing the final cell state."""

import copy

import pytest
import torch
import torch.autograd.forward_ad as fwAD
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from seqlab.models.cells import GRUCell, LSTMCell, RNNCell, copy_from_fused
from seqlab.models.fast_cells import lstm_cell_states, recurrence
from seqlab.models.recurrent import ScratchRNN

T, B, D, H = 5, 3, 4, 6
TOL = dict(rtol=1e-10, atol=1e-12)
CELLS = {"rnn": lambda: RNNCell(D, H, dtype=torch.float64), "gru": lambda: GRUCell(D, H, dtype=torch.float64),
         "lstm": lambda: LSTMCell(D, H, dtype=torch.float64)}
FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _twins(name):
    """One cell twice (the same weights): fast on, fast off; an input; an initial state."""
    torch.manual_seed(0)
    fast = CELLS[name]()
    plain = copy.deepcopy(fast)
    plain.fast = False
    X = torch.randn(T, B, D, dtype=torch.float64)
    state = tuple(torch.randn(B, H, dtype=torch.float64) for _ in range(2 if fast.has_cell else 1))
    return fast, plain, X, state


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
@pytest.mark.parametrize("name", list(CELLS))
def test_zeroing_a_cells_returned_final_state_in_place_leaves_its_outputs_and_gradients_alone(name, fast):
    # a document boundary zeroes the carried state in place (state.zero_(), or rows of it), as nn.RNN/GRU/LSTM
    # allow: the final state a cell returns must be a tensor of its own, not a view into the outputs its
    # backward saved (was, without the fast path's clone: "Output 1 of _RNNRecurrence is a view and is being
    # modified inplace"; the plain loop's RNN state was its last tanh's output, saved for the backward: "one
    # of the variables needed for gradient computation has been modified by an inplace operation"). The twin:
    # the fused layer with the same weights.
    torch.manual_seed(0)
    fused = FUSED[name](D, H).double()
    cell = CELLS[name]()
    cell.fast = fast
    copy_from_fused(cell, fused)
    X = torch.randn(T, B, D, dtype=torch.float64)
    results = []
    for net in (cell, fused):
        x = X.clone().requires_grad_()
        Y, s = net(x)
        before = Y.detach().clone()
        for t in (s if isinstance(s, tuple) else (s,)):
            t.zero_()
        torch.testing.assert_close(Y.detach(), before, rtol=0, atol=0)
        (Y * torch.linspace(-1, 2, Y.numel(), dtype=torch.float64).view_as(Y)).sum().backward()
        results.append([Y.detach(), x.grad, next(p for p in net.parameters()).grad])
    results[1][2] = results[1][2].T  # (weight_ih (G*H, D) is W_x (D, G*H) transposed)
    for got, want in zip(*results):
        torch.testing.assert_close(got, want, **TOL)


def test_an_lstms_trained_h0_gets_its_gradient_when_c0_is_not_trained():
    # a learned initial hidden state with a zero (untrained) cell state: the backward's dh_0 product is
    # needed for h0, whatever c0 needs
    fast, plain, X, (h0, c0) = _twins("lstm")
    grads = []
    for cell in (fast, plain):
        h = h0.clone().requires_grad_()
        Y, (hT, cT) = cell(X, (h, c0))
        (Y.square().sum() + hT.sum() + 2 * cT.sum()).backward()
        grads.append(h.grad)
    assert grads[1] is not None
    torch.testing.assert_close(grads[0], grads[1], **TOL)


def _jvp(cell, X, state, tangents):
    """The tangent of the outputs and final state of `cell` with dual tensors made of `tangents`, a dict of
    'state' (a tuple) and/or a parameter's name."""
    with fwAD.dual_level():
        if "state" in tangents:
            state = tuple(fwAD.make_dual(s, v) for s, v in zip(state, tangents["state"]))
        params = {k: fwAD.make_dual(p.detach(), tangents[k]) if k in tangents else p.detach()
                  for k, p in cell.named_parameters()}
        Y, s = torch.func.functional_call(cell, params, (X, state if cell.has_cell else state[0]))
        return [fwAD.unpack_dual(t).tangent for t in (Y, *(s if cell.has_cell else (s,)))]


@pytest.mark.parametrize("name", list(CELLS))
def test_a_jvp_in_the_initial_state_only_is_the_plain_loops(name):
    # only the state carries a tangent (the input and the weights are plain): the fast path, which has
    # no jvp, must stand aside for it too
    fast, plain, X, state = _twins(name)
    g = torch.Generator().manual_seed(5)
    tangents = {"state": tuple(torch.randn(B, H, dtype=torch.float64, generator=g) for _ in state)}
    want = _jvp(plain, X, state, tangents)
    assert want[0].abs().sum() > 0
    for got, w in zip(_jvp(fast, X, state, tangents), want):
        torch.testing.assert_close(got, w, **TOL)


def test_a_jvp_in_the_grus_recurrent_bias_only_is_the_plain_loops_and_a_finite_difference():
    # b_h is read by the recurrence alone (not by the input projection): a tangent on it alone
    fast, plain, X, state = _twins("gru")
    v = torch.randn(3 * H, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    want = _jvp(plain, X, state, {"b_h": v})
    for got, w in zip(_jvp(fast, X, state, {"b_h": v}), want):
        torch.testing.assert_close(got, w, **TOL)
    eps = 1e-6
    with torch.no_grad():
        b = plain.b_h.clone()
        plain.b_h.copy_(b + eps * v)
        up = plain(X, state[0])[0]
        plain.b_h.copy_(b - eps * v)
        down = plain(X, state[0])[0]
    torch.testing.assert_close(want[0], (up - down) / (2 * eps), rtol=0, atol=1e-7)


def test_a_jvp_through_a_packed_lstm_layer_is_the_plain_loops():
    # the packed LSTM reads every step's cell state (lstm_cell_states): under forward AD it stands aside
    torch.manual_seed(0)
    fast = ScratchRNN("lstm", D, H, bidirectional=True, dtype=torch.float64)
    plain = copy.deepcopy(fast)
    plain.fast = False
    packed = pack_padded_sequence(torch.randn(T, B, D, dtype=torch.float64), torch.tensor([5, 2, 3]),
                                  enforce_sorted=False)
    v = torch.randn_like(packed.data)
    results = []
    for layer in (fast, plain):
        with fwAD.dual_level():
            Y, (h, c) = layer(packed._replace(data=fwAD.make_dual(packed.data, v)))
            results.append([fwAD.unpack_dual(t).tangent for t in (Y.data, h, c)])
    for got, want in zip(*results):
        torch.testing.assert_close(got, want, **TOL)


@pytest.mark.parametrize("name", list(CELLS))
def test_a_recurrence_of_no_step_is_left_to_the_plain_loop(name):
    # (T = 0: the layers refuse an empty input; called directly, the fast path has nothing to run)
    cell, _, _, state = _twins(name)
    XW = torch.zeros(0, B, cell.W_h.shape[1], dtype=torch.float64)
    assert recurrence(cell, XW, state if cell.has_cell else state[0]) is None
    if cell.has_cell:
        assert lstm_cell_states(cell, XW, state) is None


def test_a_loss_summing_the_lstms_final_cell_state_is_the_plain_loops():
    # c_T.sum(): the gradient the backward gets for c_T is one value broadcast (no memory of its own per
    # place); the backward must not accumulate into it in place
    fast, plain, X, state = _twins("lstm")
    grads = []
    for cell in (fast, plain):
        x = X.clone().requires_grad_()
        _, (_, c) = cell(x, state)
        c.sum().backward()
        grads.append([x.grad, *(p.grad for p in cell.parameters())])
    for got, want in zip(*grads):
        torch.testing.assert_close(got, want, **TOL)


def test_a_relu_rnn_whose_outputs_are_tiny_positives_passes_their_gradient_on():
    # relu' is 1 for every positive pre-activation, however small (outputs ~1e-6 here): nn.RNN's gradients
    torch.manual_seed(0)
    fused = nn.RNN(D, H, nonlinearity="relu").double()
    with torch.no_grad():
        fused.weight_ih_l0.abs_().mul_(1e-6)
        fused.weight_hh_l0.abs_().mul_(1e-3)
        fused.bias_ih_l0.zero_()
        fused.bias_hh_l0.zero_()
    cell = RNNCell(D, H, nonlinearity="relu", dtype=torch.float64)
    copy_from_fused(cell, fused)
    X = torch.rand(T, B, D, dtype=torch.float64)  # positive: every pre-activation is a tiny positive
    grads = []
    for net in (cell, fused):
        x = X.clone().requires_grad_()
        Y, _ = net(x)
        assert 0 < Y.min() and Y.max() < 1e-4
        Y.sum().backward()
        grads.append(x.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=0)


def test_each_fast_recurrence_passes_gradcheck_in_every_input_and_for_every_output():
    # a twin independent of the plain loop: finite differences of each output (the LSTM's four: Y, h_T, c_T
    # and every step's cell state) in each input, the full Jacobian (no weighted sum for errors to cancel in)
    from seqlab.models.fast_cells import _GRURecurrence, _LSTMRecurrence, _RNNRecurrence

    g = torch.Generator().manual_seed(0)

    def rand(*shape):
        return (0.5 * torch.randn(*shape, dtype=torch.float64, generator=g)).requires_grad_()

    t, b, h = 3, 2, 2
    assert torch.autograd.gradcheck(lambda *a: _RNNRecurrence.apply(*a, False), (rand(t, b, h), rand(b, h), rand(h, h)))
    assert torch.autograd.gradcheck(_GRURecurrence.apply, (rand(t, b, 3 * h), rand(b, h), rand(h, 3 * h), rand(3 * h)))
    assert torch.autograd.gradcheck(_LSTMRecurrence.apply, (rand(t, b, 4 * h), rand(b, h), rand(b, h), rand(h, 4 * h)))
