"""Scratch layers and cells (recurrent.py, cells.py) and the LMs over them: what they refuse, and
how they say it (findings of an API review: each was a deep torch error or a silent result)."""

import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.errors import SeqlabError
from seqlab.models.cells import GRUCell, LSTMCell, PeepholeLSTMCell, RNNCell, make_cell
from seqlab.models.lm import ModelConfig, build_lm
from seqlab.models.recurrent import ScratchRNN, make_rnn_layer
from seqlab.models.seq2seq import build_seq2seq
from seqlab.training.metrics import perplexity


def _layers():
    torch.manual_seed(0)
    yield "scratch lstm", ScratchRNN("lstm", 3, 4)
    plain = ScratchRNN("lstm", 3, 4)
    plain.fast = False
    yield "scratch lstm, fast off", plain
    yield "peephole", ScratchRNN("peephole", 3, 4)
    yield "gru cell, reset before", GRUCell(3, 4, reset_after=False)
    yield "peephole cell", PeepholeLSTMCell(3, 4)


@pytest.mark.parametrize("dtype", [torch.float64, torch.int64])
def test_a_state_of_another_dtype_is_refused_on_every_path(dtype):
    # was: cast silently on the fast path (an int64 state too), "mat1 and mat2 must have the same dtype"
    # from deep inside on the plain one, a peephole cell or the book's GRU
    X = torch.randn(5, 2, 3)
    for name, layer in _layers():
        state = layer.begin_state(2)
        bad = tuple(s.to(dtype) for s in state) if isinstance(state, tuple) else state.to(dtype)
        with pytest.raises(SeqlabError, match=f"the state is {dtype} but the model's weights are torch.float32"):
            layer(X, bad)
        layer(X, state)  # its own dtype: runs
    unbatched = ScratchRNN("gru", 3, 4)
    with pytest.raises(SeqlabError, match="the state is torch.float64"):
        unbatched(torch.randn(5, 3), torch.zeros(1, 4, dtype=torch.float64))


@pytest.mark.parametrize("impl", ["scratch", "fused"])
def test_a_regularised_lm_refuses_a_state_of_another_dtype(impl):
    # was a RuntimeError from deep inside torch.nn.modules.rnn (fused) or a silent cast (scratch)
    net = build_lm(ModelConfig(cell="lstm", impl=impl, hidden=6, embed=4, layers=2, dropout_output=0.2), 20)
    net = net.double()
    state = [tuple(t.float() for t in s) for s in net.begin_state(2)]
    with pytest.raises(SeqlabError, match="the state is torch.float32 but the model's weights are torch.float64"):
        net(torch.tensor([[1, 2], [3, 4]]), state)
    net(torch.tensor([[1, 2], [3, 4]]), net.begin_state(2))
    plain = build_lm(ModelConfig(cell="gru", impl=impl, hidden=6, embed=4), 20)  # the plain LM too
    with pytest.raises(SeqlabError, match="the state is torch.float64"):
        plain(torch.tensor([[1, 2]]), plain.begin_state(1).double())


def test_autocast_leaves_the_state_dtype_alone():
    # (the project skips the state-dtype check under autocast, which casts both)
    layer = ScratchRNN("lstm", 3, 4)
    state = tuple(s.bfloat16() for s in layer.begin_state(2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layer(torch.randn(5, 2, 3), state)


def test_sizes_and_dropout_are_checked_as_make_rnn_layer_checks_them():
    with pytest.raises(SeqlabError, match=r"dropout must be in \[0, 1\), got 1.5"):  # was nn.Dropout's error
        ScratchRNN("lstm", 3, 4, dropout=1.5)
    with pytest.raises(SeqlabError, match="input_size must be a positive integer, got 0"):  # were torch errors
        make_rnn_layer("lstm", "fused", 0, 4)
    with pytest.raises(SeqlabError, match="hidden_size must be a positive integer, got 2.5"):
        make_rnn_layer("lstm", "fused", 3, 2.5)
    with pytest.raises(SeqlabError, match="src_vocab_size must be a positive integer, got 0"):  # built Embedding(0, 4)
        build_seq2seq(0, 7, embed=4, hidden=4, layers=1)
    with pytest.raises(SeqlabError, match="--hidden must be a positive integer, got 4.5"):  # torch's TypeError
        build_seq2seq(5, 7, embed=4, hidden=4.5, layers=1)


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_from_fused_copies_a_layer_without_biases(mode):
    # was AttributeError 'bias_ih_l0': zero biases give the layer's outputs and weight gradients
    torch.manual_seed(0)
    fused = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[mode](3, 4, 2, bias=False).double()
    scratch = ScratchRNN.from_fused(fused)
    X = torch.randn(5, 2, 3, dtype=torch.float64)
    want, got = fused(X)[0], scratch(X)[0]
    torch.testing.assert_close(got, want)
    want.sum().backward()
    got.sum().backward()
    torch.testing.assert_close(scratch.cells[1].W_h.grad, fused.weight_hh_l1.grad.T)
    # the zero biases do not train (they did: requires_grad, so a step moved them off zero)
    trained = sum(p.numel() for p in scratch.parameters() if p.requires_grad)
    assert trained == sum(p.numel() for p in fused.parameters())
    for net in (fused, scratch):
        torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.5).step()
    torch.testing.assert_close(scratch(X)[0], fused(X)[0])


def test_an_unbatched_state_of_another_shape_names_the_unbatched_shape():
    # was "the state has shape (2, 1, 1, 4) but the model expects (2, 1, 4): start from net.begin_state(1)"
    layer = ScratchRNN("lstm", 3, 4, 2)
    X = torch.randn(5, 3)  # one sequence, no batch dimension
    with pytest.raises(SeqlabError, match=r"without a batch dimension: \(h, c\), two tensors of shape \(2, 4\).*"
                                          r"got a tuple of \(2, 1, 4\), \(2, 1, 4\)"):
        layer(X, layer.begin_state(1))
    with pytest.raises(SeqlabError, match=r"two tensors of shape \(2, 4\).*got one tensor of shape \(2, 4\)"):
        layer(X, torch.zeros(2, 4))
    h = torch.zeros(2, 4)
    assert layer(X, (h, h))[0].shape == (5, 4)


def test_a_cell_given_one_step_points_to_step():
    cell = LSTMCell(3, 4)
    with pytest.raises(SeqlabError, match=r"\(T, B, D\).*got floats of shape \(5, 3\).*cell\.step\(x, state\)"):
        cell(torch.randn(5, 3))
    y, _ = cell.step(torch.randn(5, 3), cell.begin_state(5))
    assert y.shape == (5, 4)


def test_reprs_show_the_sizes_as_torchs_do():
    assert repr(LSTMCell(3, 4)) == "LSTMCell(3, 4)"
    assert repr(RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity='relu')"
    assert repr(GRUCell(3, 4, reset_after=False)) == "GRUCell(3, 4, reset_after=False)"
    assert repr(ScratchRNN("lstm", 3, 4, 2, bidirectional=True, dropout=0.5)).startswith(
        "ScratchRNN(\n  'lstm', 3, 4, num_layers=2, dropout=0.5, bidirectional=True\n")
    assert repr(ScratchRNN("gru", 3, 4)).startswith("ScratchRNN(\n  'gru', 3, 4\n")


@pytest.mark.parametrize("call, message", [
    (lambda: ScratchRNN("lstn", 3, 4), "unknown cell 'lstn': use one of rnn, gru, lstm, peephole"),
    (lambda: make_cell("lstn", 3, 4), "unknown cell 'lstn': use one of rnn, gru, lstm, peephole"),
    (lambda: RNNCell(3, 4, nonlinearity="sigmoid"), "nonlinearity must be 'tanh' or 'relu'.*got 'sigmoid'"),
    (lambda: ScratchRNN.from_fused(nn.LSTM(3, 4, proj_size=2)), r"projections \(proj_size=2\).*proj_size=0"),
    (lambda: ScratchRNN.from_fused(nn.LSTMCell(3, 4)), "copies an nn.RNN, nn.GRU or nn.LSTM layer, got LSTMCell"),
    (lambda: perplexity(12.5, 0), "perplexity needs n_tokens >= 1.*got 0"),
])
def test_bad_arguments_are_seqlab_errors_naming_what_is_allowed(call, message):
    # were ValueErrors (or, for a cell, an AttributeError 'mode'), which `except SeqlabError` missed
    # although make_rnn_layer refused the same cell name with one; a SeqlabError is still a ValueError
    with pytest.raises(SeqlabError, match=message) as caught:
        call()
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("cell", ["gru", "lstm", "peephole"])
def test_a_nonlinearity_for_a_gated_cell_is_refused_as_nn_gru_refuses_it(cell):
    # was ignored silently (nn.GRU(3, 4, nonlinearity="relu") raises a TypeError)
    with pytest.raises(TypeError):
        nn.GRU(3, 4, nonlinearity="relu")
    for build in (lambda: ScratchRNN(cell, 3, 4, nonlinearity="relu"),
                  lambda: make_cell(cell, 3, 4, nonlinearity="relu")):
        with pytest.raises(SeqlabError, match=f"nonlinearity='relu' is for the 'rnn' cell only: the {cell} cell"):
            build()
    # a ModelConfig's layer leaves it out, as before (runs trained before the CLI refused it still load)
    assert isinstance(make_rnn_layer(cell, "scratch", 3, 4, nonlinearity="relu"), ScratchRNN)
    assert ScratchRNN("rnn", 3, 4, nonlinearity="relu").cells[0].nonlinearity == "relu"


def _warnings(build):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build()
    return [(w.category, str(w.message)) for w in caught]


def test_dropout_with_one_layer_warns_as_nn_lstm_does():
    # was ignored silently; nn.LSTM's own warning is the twin
    assert [c for c, _ in _warnings(lambda: nn.LSTM(3, 4, dropout=0.5))] == [UserWarning]
    [(category, message)] = _warnings(lambda: ScratchRNN("lstm", 3, 4, dropout=0.5))
    assert category is UserWarning and "expects num_layers > 1, got dropout=0.5 and num_layers=1" in message
    assert _warnings(lambda: ScratchRNN("lstm", 3, 4, 2, dropout=0.5)) == []
    assert _warnings(lambda: make_rnn_layer("lstm", "scratch", 3, 4, dropout=0.5)) == []  # as for impl="fused"
    assert _warnings(lambda: make_rnn_layer("lstm", "fused", 3, 4, dropout=0.5)) == []
    fused = []
    _warnings(lambda: fused.append(nn.LSTM(3, 4, dropout=0.5)))  # (warns once, itself)
    assert _warnings(lambda: ScratchRNN.from_fused(fused[0])) == []


def test_a_cell_given_a_packed_sequence_points_to_the_layer_and_the_padded_run_is_the_packed_ones():
    torch.manual_seed(0)
    fused = nn.LSTM(4, 6, 1)
    scratch = ScratchRNN.from_fused(fused)
    X, lengths = torch.randn(5, 3, 4), torch.tensor([5, 3, 2])
    packed = pack_padded_sequence(X, lengths)
    with pytest.raises(SeqlabError, match=r"a PackedSequence, which a scratch cell does not read: a ScratchRNN layer "
                                          r"does.*pad_packed_sequence\(X\)\[0\]"):
        scratch.cells[0](packed)
    # what the message says: before each length the outputs are the packed run's, the last at Y[length - 1, b]
    Y_packed, (h, _) = fused(packed)
    want = pad_packed_sequence(Y_packed)[0]
    got = scratch.cells[0](pad_packed_sequence(packed)[0])[0]
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(got[:n, b], want[:n, b])
        torch.testing.assert_close(got[n - 1, b], h[-1, b])
