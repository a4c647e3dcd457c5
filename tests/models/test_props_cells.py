"""Property tests (hypothesis) of the scratch layers against nn.RNN / nn.GRU / nn.LSTM with copied weights
over random shapes (layers, hidden, batch, steps including 1, directions, relu), in float64: outputs,
final states and the gradients of the input, the initial state and every weight, on the fast path
and the plain one; and token ids as the one-hot input, step by step as the whole sequence."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from seqlab.models.recurrent import ScratchRNN

pytestmark = pytest.mark.usefixtures("one_thread")

FUSED = {"rnn": nn.RNN, "rnn_relu": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}

shapes = dict(mode=st.sampled_from(sorted(FUSED)), D=st.integers(1, 4), H=st.integers(1, 4), L=st.integers(1, 3),
              bi=st.booleans(), B=st.integers(1, 3), T=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))


def _pair(mode, D, H, L, bi, bias=True):
    kwargs = {"nonlinearity": "relu"} if mode == "rnn_relu" else {}
    fused = FUSED[mode](D, H, L, bidirectional=bi, bias=bias, dtype=torch.float64, **kwargs)
    with torch.no_grad():
        for p in fused.parameters():  # larger than torch's init: saturated and relu-dead units too
            p.uniform_(-1.5, 1.5)
    return fused, ScratchRNN.from_fused(fused)


def _state(mode, L, bi, B, H, gen):
    shape = (L * (2 if bi else 1), B, H)
    h = torch.randn(shape, dtype=torch.float64, generator=gen)
    return (h, torch.randn(shape, dtype=torch.float64, generator=gen)) if mode == "lstm" else h


def _leaves(state):
    return tuple(s.clone().requires_grad_() for s in state) if isinstance(state, tuple) else \
        state.clone().requires_grad_()


def _flat(state):
    return state if isinstance(state, tuple) else (state,)


def _run(net, X, state, weights):
    """Outputs, final states and the gradients of (X, the initial state, weights) of a random loss."""
    X, state = X.clone().requires_grad_(), _leaves(state)
    Y, new = net(X, state)
    gen = torch.Generator().manual_seed(1)
    loss = (Y * torch.randn(Y.shape, dtype=Y.dtype, generator=gen)).sum()
    for s in _flat(new):
        loss = loss + (s * torch.randn(s.shape, dtype=s.dtype, generator=gen)).sum()
    grads = torch.autograd.grad(loss, [X, *_flat(state), *weights], allow_unused=True, materialize_grads=True)
    return Y.detach(), [s.detach() for s in _flat(new)], grads


def _fused_weights(fused):
    return [p for _, p in fused.named_parameters()]


def _scratch_weights(scratch):
    return [p for c in scratch.cells for p in c.parameters()]


def _fused_grads_as_scratch(fused, grads, mode):
    """The fused layer's weight gradients in the scratch cells' layout and order (W_x, W_h, b[, b_h])."""
    by_name = dict(zip([n for n, _ in fused.named_parameters()], grads))
    out = []
    for layer in range(fused.num_layers):
        for d in range(2 if fused.bidirectional else 1):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            out += [by_name["weight_ih" + sfx].T, by_name["weight_hh" + sfx].T]
            if mode == "gru":
                out += [by_name["bias_ih" + sfx], by_name["bias_hh" + sfx]]
            else:  # b = b_ih + b_hh: its gradient is each one's
                out += [by_name["bias_ih" + sfx]]
    return out


@settings(max_examples=40, deadline=None, database=None)
@given(**shapes, fast=st.booleans())
def test_scratch_layer_equals_the_fused_one(mode, D, H, L, bi, B, T, seed, fast):
    fused, scratch = _pair(mode, D, H, L, bi)
    scratch.fast = fast
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(T, B, D, dtype=torch.float64, generator=gen)
    state = _state(mode, L, bi, B, H, gen)
    Yf, sf, gf = _run(fused, X, state, _fused_weights(fused))
    Ys, ss, gs = _run(scratch, X, state, _scratch_weights(scratch))
    tol = dict(rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(Ys, Yf, **tol)
    for a, b in zip(ss, sf):
        torch.testing.assert_close(a, b, **tol)
    n_in = 1 + len(_flat(state))
    for a, b in zip(gs[:n_in], gf[:n_in]):  # the input's and the initial state's
        torch.testing.assert_close(a, b, **tol)
    want = _fused_grads_as_scratch(fused, gf[n_in:], mode)
    got = [g for g, p in zip(gs[n_in:], _scratch_weights(scratch))]
    assert len(got) == len(want)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **tol)


@settings(max_examples=40, deadline=None, database=None)
@given(cell=st.sampled_from(["rnn", "gru", "lstm", "peephole"]), V=st.integers(1, 5), H=st.integers(1, 4),
       L=st.integers(1, 2), bi=st.booleans(), B=st.integers(1, 3), T=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1))
def test_token_ids_are_one_hot_and_fast_is_plain(cell, V, H, L, bi, B, T, seed):
    torch.manual_seed(seed)
    net = ScratchRNN(cell, V, H, L, bidirectional=bi, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, V, (T, B), generator=gen)
    one_hot = nn.functional.one_hot(ids, V).double()
    state = _state("lstm" if cell in ("lstm", "peephole") else cell, L, bi, B, H, gen)
    weights = list(net.parameters())
    net.fast = True
    Y1, s1, g1 = _run(net, one_hot, state, weights)
    net.fast = False
    Y2, s2, g2 = _run(net, one_hot, state, weights)
    Y3, s3 = net(ids, state)
    tol = dict(rtol=1e-10, atol=1e-10)
    for a, b in zip([Y1, *s1, *g1], [Y2, *s2, *g2]):
        torch.testing.assert_close(a, b, **tol)
    for a, b in zip([Y3, *_flat(s3)], [Y2, *s2]):
        torch.testing.assert_close(a.detach(), b, **tol)


@settings(max_examples=40, deadline=None, database=None)
@given(cell=st.sampled_from(["rnn", "gru", "lstm", "peephole"]), D=st.integers(1, 4), H=st.integers(1, 4),
       L=st.integers(1, 3), B=st.integers(1, 3), T=st.integers(1, 5), seed=st.integers(0, 2**31 - 1),
       fast=st.booleans())
def test_step_by_step_is_the_whole_sequence_and_begin_state_fits(cell, D, H, L, B, T, seed, fast):
    torch.manual_seed(seed)
    net = ScratchRNN(cell, D, H, L, dtype=torch.float64)
    net.fast = fast
    state = net.begin_state(B)
    lstm = cell in ("lstm", "peephole")
    for s in _flat(state):
        assert s.shape == (L, B, H) and s.dtype == torch.float64 and not s.any()
    assert isinstance(state, tuple) == lstm
    X = torch.randn(T, B, D, dtype=torch.float64)
    with torch.no_grad():
        Y, whole = net(X, state)
        ys, s = [], state
        for t in range(T):
            y, s = net(X[t:t + 1], s)
            ys.append(y)
    torch.testing.assert_close(torch.cat(ys), Y, rtol=1e-12, atol=1e-12)
    for a, b in zip(_flat(s), _flat(whole)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def _book_params(fused, mode, W_hq, b_q):
    """The book's parameter list for a one-layer nn.RNN/LSTM (input-major, gates as the book lists them)."""
    H = fused.hidden_size
    w_ih, w_hh = fused.weight_ih_l0.detach(), fused.weight_hh_l0.detach()
    b = (fused.bias_ih_l0 + fused.bias_hh_l0).detach()
    gates = {"rnn": [0], "lstm": [0, 1, 3, 2]}[mode]  # torch's i, f, g, o -> the book's i, f, o, c
    params = []
    for g in gates:
        rows = slice(g * H, (g + 1) * H)
        params += [w_ih[rows].T.clone(), w_hh[rows].T.clone(), b[rows].clone()]
    return params + [W_hq, b_q]


@settings(max_examples=30, deadline=None, database=None)
@given(mode=st.sampled_from(["rnn", "lstm"]), V=st.integers(1, 5), H=st.integers(1, 4), B=st.integers(1, 3),
       T=st.integers(1, 5), seed=st.integers(0, 2**31 - 1))
def test_the_books_functional_cells_equal_the_fused_layers(mode, V, H, B, T, seed):
    from seqlab.models import cells_book

    fused, _ = _pair(mode, V, H, 1, False)
    gen = torch.Generator().manual_seed(seed)
    W_hq, b_q = torch.randn(H, V, dtype=torch.float64, generator=gen), torch.randn(V, dtype=torch.float64,
                                                                                   generator=gen)
    X = nn.functional.one_hot(torch.randint(0, V, (T, B), generator=gen), V).double()
    h0 = torch.randn(1, B, H, dtype=torch.float64, generator=gen)
    c0 = torch.randn(1, B, H, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        if mode == "lstm":
            Y, (h, c) = fused(X, (h0, c0))
            logits, state = cells_book.lstm(X, (h0[0], c0[0]), _book_params(fused, mode, W_hq, b_q))
            torch.testing.assert_close(state[1], c[0], rtol=1e-10, atol=1e-10)
        else:
            Y, h = fused(X, h0)
            logits, state = cells_book.rnn(X, (h0[0],), _book_params(fused, mode, W_hq, b_q))
    torch.testing.assert_close(state[0], h[0], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(logits, Y.reshape(-1, H) @ W_hq + b_q, rtol=1e-10, atol=1e-10)  # (T*B, V)


@settings(max_examples=30, deadline=None, database=None)
@given(V=st.integers(1, 5), H=st.integers(1, 4), B=st.integers(1, 3), T=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1))
def test_the_books_gru_is_the_reset_before_scratch_cell(V, H, B, T, seed):
    from seqlab.models import cells_book
    from seqlab.models.cells import GRUCell

    torch.manual_seed(seed)
    cell = GRUCell(V, H, reset_after=False, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    W_hq, b_q = torch.randn(H, V, dtype=torch.float64, generator=gen), torch.randn(V, dtype=torch.float64,
                                                                                   generator=gen)
    X = nn.functional.one_hot(torch.randint(0, V, (T, B), generator=gen), V).double()
    h0 = torch.randn(B, H, dtype=torch.float64, generator=gen)
    params = []
    with torch.no_grad():
        b = cell.b + cell.b_h  # the scratch cell's two biases are one in the book's
        for g in (1, 0, 2):  # the cell's r, z, n -> the book's z, r, h
            cols = slice(g * H, (g + 1) * H)
            params += [cell.W_x[:, cols].clone(), cell.W_h[:, cols].clone(), b[cols].clone()]
        Y, h = cell(X, h0)
        logits, (h_book,) = cells_book.gru(X, (h0,), params + [W_hq, b_q])
    torch.testing.assert_close(h_book, h, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(logits, Y.reshape(-1, H) @ W_hq + b_q, rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None, database=None)
@given(mode=st.sampled_from(sorted(FUSED)), D=st.integers(1, 3), H=st.integers(1, 3), L=st.integers(1, 2),
       bi=st.booleans(), T=st.integers(1, 4), seed=st.integers(0, 2**31 - 1), with_state=st.booleans())
def test_an_unbatched_sequence_reads_as_the_fused_layer_reads_it(mode, D, H, L, bi, T, seed, with_state):
    fused, scratch = _pair(mode, D, H, L, bi)
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(T, D, dtype=torch.float64, generator=gen)  # (T, D): no batch dimension
    state = None
    if with_state:
        state = _state(mode, L, bi, 1, H, gen)
        state = tuple(s[:, 0] for s in state) if isinstance(state, tuple) else state[:, 0]  # (L*dirs, H)
    with torch.no_grad():
        Yf, sf = fused(X, state)
        Ys, ss = scratch(X, state)
    torch.testing.assert_close(Ys, Yf, rtol=1e-10, atol=1e-10)
    for a, b in zip(_flat(ss), _flat(sf)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
