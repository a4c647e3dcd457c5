"""ScratchRNN's batch_first= and bias=, as nn.RNN/GRU/LSTM's: parity with the fused twin in float64
(outputs, final states and the gradients of the input, the initial state and every weight), on the
fast recurrence and the plain loop, and what a batch-first layer says of input it cannot read."""

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.lm import RNNModel
from seqlab.models.recurrent import ScratchRNN

B, T, D, H = 3, 6, 5, 4
FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _twins(mode, fast, **kw):
    torch.manual_seed(0)
    fused = FUSED[mode](D, H, 2, batch_first=True, bidirectional=True, **kw).double()
    scratch = ScratchRNN.from_fused(fused)
    scratch.fast = fast
    return fused, scratch


def _state(mode, seed=1):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(4, B, H, dtype=torch.float64, generator=g)  # (layers*dirs, B, H): batch_first leaves it
    return (h, torch.randn(4, B, H, dtype=torch.float64, generator=g)) if mode == "lstm" else h


def _run(layer, X, state):
    """Outputs and final state, and the gradients of X, the state and the weights after a weighted sum
    of them all is taken back (each weighted differently, so a transposed output would tell)."""
    X = X.clone().requires_grad_()
    state = tuple(s.clone().requires_grad_() for s in state) if isinstance(state, tuple) else \
        state.clone().requires_grad_()
    layer.zero_grad()
    Y, s = layer(X, state)
    parts = [Y, *s] if isinstance(s, tuple) else [Y, s]
    sum((p * torch.linspace(-1, 1, p.numel(), dtype=p.dtype).view_as(p)).sum() for p in parts).backward()
    given = [*state] if isinstance(state, tuple) else [state]
    return [p.detach() for p in parts], [X.grad, *(g.grad for g in given)]


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_batch_first_gives_the_fused_layers_outputs_states_and_gradients(mode, fast):
    fused, scratch = _twins(mode, fast)
    assert scratch.batch_first
    X = torch.randn(B, T, D, dtype=torch.float64)  # (B, T, D)
    want, want_in = _run(fused, X, _state(mode))
    got, got_in = _run(scratch, X, _state(mode))
    assert got[0].shape == (B, T, 2 * H)
    for g, w in zip(got + got_in, want + want_in):
        torch.testing.assert_close(g, w)
    # the weights' gradients: scratch W_h (H, G*H) is the fused weight_hh (G*H, H) transposed
    for layer in range(2):
        for d, suffix in enumerate(("", "_reverse")):
            cell = scratch.cells[2 * layer + d]
            torch.testing.assert_close(cell.W_h.grad, getattr(fused, f"weight_hh_l{layer}{suffix}").grad.T)
            torch.testing.assert_close(cell.W_x.grad, getattr(fused, f"weight_ih_l{layer}{suffix}").grad.T)


def test_batch_first_token_ids_are_their_one_hot_rows():
    torch.manual_seed(0)
    layer = ScratchRNN("gru", 7, H, batch_first=True).double()
    ids = torch.randint(0, 7, (B, T))  # (B, T)
    Y, h = layer(ids)
    want_Y, want_h = layer(nn.functional.one_hot(ids, 7).double())
    torch.testing.assert_close(Y, want_Y)
    torch.testing.assert_close(h, want_h)
    # and a time-major layer with the same weights reads the transposed ids
    time_major = ScratchRNN("gru", 7, H).double()
    time_major.load_state_dict(layer.state_dict())
    torch.testing.assert_close(time_major(ids.T)[0].transpose(0, 1), Y)


def test_an_unbatched_sequence_ignores_batch_first_as_nn_lstm_does():
    fused, scratch = _twins("lstm", True)
    X = torch.randn(T, D, dtype=torch.float64)  # (T, D): one sequence
    (Y, (h, c)), (want_Y, (want_h, want_c)) = scratch(X), fused(X)
    assert Y.shape == (T, 2 * H)
    for g, w in ((Y, want_Y), (h, want_h), (c, want_c)):
        torch.testing.assert_close(g, w)


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_to_fused_and_from_fused_keep_batch_first(mode):
    fused, scratch = _twins(mode, True)
    back = scratch.to_fused()
    assert back.batch_first and ScratchRNN.from_fused(back).batch_first
    X = torch.randn(B, T, D, dtype=torch.float64)
    torch.testing.assert_close(back(X)[0], fused(X)[0])
    assert not ScratchRNN.from_fused(nn.GRU(D, H)).to_fused().batch_first


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_bias_false_builds_nn_s_layer_without_biases(mode):
    torch.manual_seed(0)
    scratch = ScratchRNN(mode, D, H, 2, bias=False).double()
    trainable = sum(p.numel() for p in scratch.parameters() if p.requires_grad)
    assert trainable == sum(p.numel() for p in FUSED[mode](D, H, 2, bias=False).parameters())
    assert not scratch.bias and "bias=False" in repr(scratch)
    fused = scratch.to_fused()
    assert not fused.bias
    X = torch.randn(T, B, D, dtype=torch.float64)
    torch.testing.assert_close(scratch(X)[0], fused(X)[0])
    for net in (scratch, fused):  # a training step moves the weights alike and the zero biases nowhere
        net(X)[0].square().sum().backward()
        torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1).step()
    torch.testing.assert_close(scratch(X)[0], fused(X)[0])
    assert ScratchRNN(mode, D, H).bias  # the default: biases, trained


def test_a_batch_first_lm_layer_is_refused_as_a_fused_one_is():
    for layer in (nn.LSTM(D, H, batch_first=True), ScratchRNN("lstm", D, H, batch_first=True)):
        with pytest.raises(SeqlabError, match=r"time-major \(T, B, \.\.\.\).*without batch_first=True"):
            RNNModel(layer, vocab_size=D)


def test_a_batch_first_layer_names_the_batch_major_layout_in_its_refusals():
    layer = ScratchRNN("lstm", D, H, batch_first=True)
    with pytest.raises(SeqlabError, match=r"has 7 features per step but the layer reads 5.*\(batch-major "
                                          r"\(batch_first=True\): \(B, T, D\)\)"):
        layer(torch.randn(B, T, 7))
    with pytest.raises(SeqlabError, match=r"must be batch-major \(batch_first=True\) features \(B, T, D\) or integer "
                                          r"token ids \(B, T\), got floats of shape \(3, 6, 5, 1\)"):
        layer(torch.randn(B, T, D, 1))
    with pytest.raises(SeqlabError, match=r"is empty: it needs at least one time step \(dim 1\) and one sequence "
                                          r"\(dim 0\)"):
        layer(torch.randn(B, 0, D))
    # a time-major layer's still say time-major
    with pytest.raises(SeqlabError, match=r"time step \(dim 0\) and one sequence \(dim 1\)"):
        ScratchRNN("lstm", D, H)(torch.randn(0, B, D))
