"""Property test (hypothesis) of ScratchRNN with every option nn.RNN/GRU/LSTM takes at once, against the
fused layer with the same weights (ScratchRNN.from_fused), in float64: random sizes, layers, directions,
relu, bias=False, batch_first, a PackedSequence of random lengths (sorted or not) or a plain batch, with
or without an initial state, on the fast recurrence and the plain loop. Compared: the output (the packed
data itself, in the input's layout), the final state, and the gradients of the input, the initial state
and every weight and bias."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from seqlab.models.recurrent import ScratchRNN

pytestmark = pytest.mark.usefixtures("one_thread")

FUSED = {"rnn": nn.RNN, "rnn_relu": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
TOL = dict(rtol=1e-10, atol=1e-10)


def _twins(mode, D, H, L, bi, bias, batch_first, fast):
    kwargs = {"nonlinearity": "relu"} if mode == "rnn_relu" else {}
    fused = FUSED[mode](D, H, L, bidirectional=bi, bias=bias, batch_first=batch_first, dtype=torch.float64,
                        **kwargs)
    with torch.no_grad():
        for p in fused.parameters():  # larger than torch's init: saturated and relu-dead units too
            p.uniform_(-1.5, 1.5)
    scratch = ScratchRNN.from_fused(fused)
    scratch.fast = fast
    return fused, scratch


def _run(layer, X, state, weights):
    """(every output part, the gradients of the input, the initial state and `weights`) after a loss
    weighting each place of each part differently (a transposed or misplaced value would tell)."""
    packed = isinstance(X, PackedSequence)
    data = (X.data if packed else X).clone().requires_grad_()
    given_ = None if state is None else [s.clone().requires_grad_() for s in state]
    hx = None if state is None else (tuple(given_) if len(given_) == 2 else given_[0])
    Y, s = layer(X._replace(data=data) if packed else data, hx)
    parts = [Y.data if packed else Y, *(s if isinstance(s, tuple) else (s,))]
    gen = torch.Generator().manual_seed(7)
    loss = sum((p * torch.randn(p.shape, dtype=p.dtype, generator=gen)).sum() for p in parts)
    grads = torch.autograd.grad(loss, [data, *(given_ or []), *weights], allow_unused=True, materialize_grads=True)
    return [p.detach() for p in parts], grads


def _weights(fused, scratch, mode, bias):
    """The fused layer's weights and the scratch cells' matching ones, paired in one order (scratch W is
    the fused weight transposed; an RNN/LSTM cell's one bias b is bias_ih + bias_hh, so its gradient is
    each one's; a GRU cell keeps both)."""
    pairs = []
    for layer in range(fused.num_layers):
        for d in range(2 if fused.bidirectional else 1):
            cell = scratch.cells[layer * (2 if fused.bidirectional else 1) + d]
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            pairs += [(getattr(fused, "weight_ih" + sfx), cell.W_x, True),
                      (getattr(fused, "weight_hh" + sfx), cell.W_h, True)]
            if bias:
                pairs.append((getattr(fused, "bias_ih" + sfx), cell.b, False))
                if mode == "gru":
                    pairs.append((getattr(fused, "bias_hh" + sfx), cell.b_h, False))
    return pairs


@settings(max_examples=60, deadline=None, database=None)
@given(mode=st.sampled_from(sorted(FUSED)), D=st.integers(1, 4), H=st.integers(1, 4), L=st.integers(1, 3),
       bi=st.booleans(), bias=st.booleans(), batch_first=st.booleans(), fast=st.booleans(),
       packed=st.booleans(), sorted_=st.booleans(), with_state=st.booleans(), seed=st.integers(0, 2**31 - 1),
       lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_scratch_rnn_gives_the_fused_layers_numbers_with_all_of_nn_s_options(
        mode, D, H, L, bi, bias, batch_first, fast, packed, sorted_, with_state, seed, lengths):
    fused, scratch = _twins(mode, D, H, L, bi, bias, batch_first, fast)
    if sorted_:
        lengths = sorted(lengths, reverse=True)
    B, T = len(lengths), max(lengths)
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn((B, T, D) if batch_first else (T, B, D), dtype=torch.float64, generator=gen)
    if packed:
        X = pack_padded_sequence(X, lengths, batch_first=batch_first, enforce_sorted=sorted_)
    state = None
    if with_state:
        shape = (L * (2 if bi else 1), B, H)
        state = [torch.randn(shape, dtype=torch.float64, generator=gen) for _ in range(2 if mode == "lstm" else 1)]
    pairs = _weights(fused, scratch, mode, bias)
    want_parts, want_grads = _run(fused, X, state, [f for f, _, _ in pairs])
    got_parts, got_grads = _run(scratch, X, state, [s for _, s, _ in pairs])
    assert len(got_parts) == len(want_parts)
    for got, want in zip(got_parts, want_parts):
        torch.testing.assert_close(got, want, **TOL)
    n_in = 1 + (len(state) if state else 0)
    for got, want in zip(got_grads[:n_in], want_grads[:n_in]):  # the input's and the initial state's
        torch.testing.assert_close(got, want, **TOL)
    for (_, _, transposed), got, want in zip(pairs, got_grads[n_in:], want_grads[n_in:]):
        torch.testing.assert_close(got, want.T if transposed else want, **TOL)
