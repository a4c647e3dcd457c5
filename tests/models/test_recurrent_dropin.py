"""ScratchRNN dropped into code written for nn.RNN/GRU/LSTM: the calls such code makes on the layer
(rnn(x, hx=h), rnn.flatten_parameters(), rnn.dropout = p after building), each against the fused twin
in float64 with the same weights (ScratchRNN.from_fused)."""

import copy

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.cells import make_cell
from seqlab.models.recurrent import ScratchRNN

B, T, D, H = 3, 5, 4, 6
FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _twins(mode, layers=1, dropout=0.0):
    torch.manual_seed(0)
    fused = FUSED[mode](D, H, layers, dropout=dropout, dtype=torch.float64)
    return fused, ScratchRNN.from_fused(fused)


def _assert_same(got, want):
    got, want = (got[0], *got[1]) if isinstance(got[1], tuple) else got, \
        (want[0], *want[1]) if isinstance(want[1], tuple) else want
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_the_state_given_as_hx_is_the_state_as_nn_lstm_names_it(mode):
    # was TypeError "forward() got an unexpected keyword argument 'hx'" (nn.LSTM.forward(input, hx=None))
    fused, scratch = _twins(mode, layers=2)
    X = torch.randn(T, B, D, dtype=torch.float64)
    state = fused(X)[1]
    _assert_same(scratch(X, hx=state), fused(X, hx=state))
    _assert_same(scratch(X, hx=state), scratch(X, state))
    with pytest.raises(SeqlabError, match="the state is given twice, as state and as hx="):
        scratch(X, state, hx=state)


def test_flatten_parameters_changes_nothing_as_nn_lstm_on_a_cpu():
    # was AttributeError: code written for nn.LSTM calls it in forward (a DataParallel habit)
    fused, scratch = _twins("lstm", layers=2)
    X = torch.randn(T, B, D, dtype=torch.float64)
    weights = [p.clone() for p in scratch.parameters()]
    assert scratch.flatten_parameters() is None is fused.flatten_parameters()
    _assert_same(scratch(X), fused(X))
    for p, w in zip(scratch.parameters(), weights):
        torch.testing.assert_close(p, w, rtol=0, atol=0)


@pytest.mark.parametrize("built, set_to", [(0.0, 0.5), (0.2, 0.9)])
@pytest.mark.parametrize("mode", ["gru", "lstm"])
def test_dropout_set_after_building_drops_at_that_rate_as_nn_lstm(mode, built, set_to):
    # the rate built with was kept (an nn.Dropout made in __init__): rnn.dropout = 0.5 on a layer built
    # without dropout dropped nothing, 0.2 -> 0.9 dropped at 0.2. The fused layer reads .dropout at each
    # call, and draws its masks between layers as the scratch one does: the same seed, the same outputs.
    fused, scratch = _twins(mode, layers=3, dropout=built)
    fused.dropout = scratch.dropout = set_to
    X = torch.randn(T, B, D, dtype=torch.float64)
    torch.manual_seed(1)
    want = fused(X)
    torch.manual_seed(1)
    _assert_same(scratch(X), want)


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_without_biases_the_parameters_train_as_nn_s_in_word_language_models_loop(mode):
    # pytorch/examples' word_language_model steps every parameter by hand (p.data.add_(p.grad)) after
    # clip_grad_norm_, and a fine-tuning script unfreezes all with requires_grad_(True). bias=False kept
    # zero biases as frozen parameters: p.grad was None there (TypeError), and unfrozen they trained,
    # giving the layer biases nn's has not. They are zero buffers now, parameters() nn's.
    torch.manual_seed(0)
    fused = FUSED[mode](D, H, 2, bias=False, dtype=torch.float64)
    twins = (fused, ScratchRNN.from_fused(fused), ScratchRNN(mode, D, H, 2, bias=False, dtype=torch.float64))
    with torch.no_grad():
        for name in ("W_x", "W_h"):
            for built, copied in zip(twins[2].cells, twins[1].cells):
                getattr(built, name).copy_(getattr(copied, name))
    X = torch.randn(T, B, D, dtype=torch.float64)
    for net in twins:
        for step in range(2):
            if step == 1:
                net.requires_grad_(True)
            net.zero_grad()
            net(X)[0].square().sum().backward()
            nn.utils.clip_grad_norm_(net.parameters(), 0.25)
            for p in net.parameters():
                p.data.add_(p.grad, alpha=-0.5)
    want = fused(X)
    for net in twins[1:]:
        assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in fused.parameters())
        assert not net.bias and not net.to_fused().bias
        _assert_same(net(X), want)


def _inplace_edit_grads(layer, X):
    """The output and the gradients (input, every weight) of a loss on the layer's output edited in
    place, as code after an nn.LSTM does: masked_fill_ (padding), relu_ (F.relu(inplace=True))."""
    X = X.clone().requires_grad_()
    layer.zero_grad()
    Y = layer(X)[0]
    Y.masked_fill_(torch.arange(Y.numel()).view_as(Y) % 3 == 0, 0.0).relu_()
    (Y * torch.linspace(-1, 1, Y.numel(), dtype=Y.dtype).view_as(Y)).sum().backward()
    return [Y.detach(), X.grad]


@pytest.mark.parametrize("batch_first", [False, True], ids=["time-major", "batch-first"])
@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_the_output_may_be_edited_in_place_before_backward_as_nn_s(mode, batch_first):
    # was RuntimeError "Output 0 of _LSTMRecurrence is a view and is being modified inplace" at the
    # user's own line: the fast recurrence's output is a view of the buffer its backward reads
    torch.manual_seed(0)
    fused = FUSED[mode](D, H, 2, batch_first=batch_first, dtype=torch.float64)
    scratch = ScratchRNN.from_fused(fused)
    assert scratch.fast
    X = torch.randn(B, T, D, dtype=torch.float64)
    for got, want in zip(_inplace_edit_grads(scratch, X), _inplace_edit_grads(fused, X)):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(scratch.cells[1].W_h.grad, fused.weight_hh_l1.grad.T)
    torch.testing.assert_close(scratch.cells[0].W_x.grad, fused.weight_ih_l0.grad.T)


@pytest.mark.parametrize("ids", [False, True], ids=["features", "token-ids"])
@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_a_bare_cells_output_may_be_edited_in_place_as_its_plain_loops(mode, ids):
    # a ScratchCell used alone (not through ScratchRNN) returned the fast recurrence's Y, a view of the
    # buffer its backward reads: relu_ on it raised "Output 0 of _GRURecurrence is a view and is being
    # modified inplace"; the plain loop's Y (a stack) may be edited, and the fast cell's now must give the same
    torch.manual_seed(0)
    fast = make_cell(mode, D, H, dtype=torch.float64)
    plain = copy.deepcopy(fast)
    plain.fast = False
    X = torch.randint(0, D, (T, B)) if ids else torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    results = []
    for cell in (fast, plain):
        Y, state = cell(X)
        h = state[0] if isinstance(state, tuple) else state
        h_before = h.detach().clone()
        Y.masked_fill_(torch.arange(Y.numel()).view_as(Y) % 3 == 0, 0.0).relu_()
        (Y * torch.linspace(-1, 1, Y.numel(), dtype=Y.dtype).view_as(Y) + h.sum()).sum().backward()
        torch.testing.assert_close(h.detach(), h_before)  # the edit left the state alone
        results.append([Y.detach(), *(p.grad for p in cell.parameters())] + ([] if ids else [X.grad.clone()]))
        if not ids:
            X.grad = None
    for got, want in zip(*results):
        torch.testing.assert_close(got, want)
