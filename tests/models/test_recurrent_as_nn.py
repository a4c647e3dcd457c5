"""ScratchRNN with nn.RNN/GRU/LSTM's options: batch_first=, bias= and PackedSequence input, each against
the fused twin in float64 (outputs, final states and the gradients of the input, the initial state and
every weight), on the fast recurrence and the plain loop; and what a batch-first layer says of input it
cannot read. A packed batch: each sequence read to its own length, the output packed in the input's
layout, the final state after each sequence's last step (the reverse direction's after its first)."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence

from seqlab.errors import SeqlabError
from seqlab.models.lm import RNNModel
from seqlab.models.recurrent import ScratchRNN

B, T, D, H = 3, 6, 5, 4
FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _twins(mode, fast, batch_first=True):
    torch.manual_seed(0)
    fused = FUSED[mode](D, H, 2, batch_first=batch_first, bidirectional=True).double()
    scratch = ScratchRNN.from_fused(fused)
    scratch.fast = fast
    return fused, scratch


def _state(mode, batch=B, seed=1):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(4, batch, H, dtype=torch.float64, generator=g)  # (layers*dirs, B, H): batch_first leaves it
    return (h, torch.randn(4, batch, H, dtype=torch.float64, generator=g)) if mode == "lstm" else h


def _run(layer, X, state):
    """Outputs (a tensor, or a PackedSequence's data) and final state, and the gradients of the input
    and the state, after a weighted sum of them all is taken back (each place weighted differently, so
    a transposed output would tell); the weights' gradients are left in .grad."""
    packed = X if isinstance(X, nn.utils.rnn.PackedSequence) else None
    data = (X.data if packed else X).clone().requires_grad_()
    given = [s.clone().requires_grad_() for s in state] if isinstance(state, tuple) else \
        [state.clone().requires_grad_()]
    layer.zero_grad()
    Y, s = layer(packed._replace(data=data) if packed else data, tuple(given) if isinstance(state, tuple) else given[0])
    parts = [Y.data if packed else Y, *s] if isinstance(s, tuple) else [Y.data if packed else Y, s]
    weights = [torch.linspace(-1, 1, p.numel(), dtype=p.dtype, device=p.device).view_as(p) for p in parts]
    sum((p * w).sum() for p, w in zip(parts, weights)).backward()
    return Y, [p.detach() for p in parts], [data.grad, *(g.grad for g in given)]


def _assert_weight_grads(scratch, fused):
    """Every cell's weight gradients are the fused layer's (scratch W (in, G*H) is its weight (G*H, in) transposed)."""
    for layer in range(fused.num_layers):
        for d, suffix in enumerate(("", "_reverse")[:2 if fused.bidirectional else 1]):
            cell = scratch.cells[layer * (2 if fused.bidirectional else 1) + d]
            torch.testing.assert_close(cell.W_h.grad, getattr(fused, f"weight_hh_l{layer}{suffix}").grad.T)
            torch.testing.assert_close(cell.W_x.grad, getattr(fused, f"weight_ih_l{layer}{suffix}").grad.T)


# --- batch_first, bias ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_batch_first_gives_the_fused_layers_outputs_states_and_gradients(mode, fast):
    fused, scratch = _twins(mode, fast)
    assert scratch.batch_first
    X = torch.randn(B, T, D, dtype=torch.float64)  # (B, T, D)
    _, want, want_in = _run(fused, X, _state(mode))
    _, got, got_in = _run(scratch, X, _state(mode))
    assert got[0].shape == (B, T, 2 * H)
    for g, w in zip(got + got_in, want + want_in):
        torch.testing.assert_close(g, w)
    _assert_weight_grads(scratch, fused)


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


# --- PackedSequence input ---------------------------------------------------------------------------

@pytest.mark.parametrize("sorted_", [False, True], ids=["unsorted", "sorted"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_a_packed_batch_gives_the_fused_layers_outputs_states_and_gradients(mode, fast, sorted_):
    fused, scratch = _twins(mode, fast, batch_first=False)
    # lengths with a tie and a sequence of one step; sorted: longest first, as enforce_sorted wants
    lengths = [7, 5, 5, 2, 1] if sorted_ else [2, 7, 5, 1, 5]
    X = torch.randn(7, len(lengths), D, dtype=torch.float64)
    packed = pack_padded_sequence(X, torch.tensor(lengths), enforce_sorted=sorted_)
    state = _state(mode, len(lengths))
    want_Y, want, want_in = _run(fused, packed, state)
    got_Y, got, got_in = _run(scratch, packed, state)
    assert torch.equal(got_Y.batch_sizes, want_Y.batch_sizes)
    for index in ("sorted_indices", "unsorted_indices"):
        assert (getattr(got_Y, index) is None) == sorted_ and (sorted_ or torch.equal(
            getattr(got_Y, index), getattr(want_Y, index)))
    for g, w in zip(got + got_in, want + want_in):
        torch.testing.assert_close(g, w)
    _assert_weight_grads(scratch, fused)


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_a_packed_batch_on_cuda_gives_the_fused_layers_outputs_states_and_gradients(mode):
    # the CUDA branches of the fast recurrences (the LSTM's every-step cell states among them) against cuDNN's
    # packed run, in float64 (cuDNN's double kernels)
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    fused, scratch = (layer.cuda() for layer in _twins(mode, True, batch_first=False))
    lengths = [2, 7, 5, 1, 5]
    X = torch.randn(7, len(lengths), D, dtype=torch.float64, device="cuda")
    packed = pack_padded_sequence(X, torch.tensor(lengths), enforce_sorted=False)
    state = _state(mode, len(lengths))
    state = tuple(s.cuda() for s in state) if isinstance(state, tuple) else state.cuda()
    _, want, want_in = _run(fused, packed, state)
    _, got, got_in = _run(scratch, packed, state)
    for g, w in zip(got + got_in, want + want_in):
        torch.testing.assert_close(g, w)
    _assert_weight_grads(scratch, fused)


def test_without_a_state_and_batch_first_the_packed_run_is_the_fused_ones():
    # (a packed sequence has no layout: batch_first changes nothing; the state starts at zeros)
    torch.manual_seed(0)
    fused = nn.GRU(D, H, 1, batch_first=True).double()
    scratch = ScratchRNN.from_fused(fused)
    packed = pack_sequence([torch.randn(n, D, dtype=torch.float64) for n in (2, 6, 4)], enforce_sorted=False)
    (Y, h), (want_Y, want_h) = scratch(packed), fused(packed)
    torch.testing.assert_close(Y.data, want_Y.data)
    torch.testing.assert_close(h, want_h)
    # each sequence alone: the same outputs and final state as in the batch (no padding read)
    padded, lengths = pad_packed_sequence(Y, batch_first=True)
    inputs = pad_packed_sequence(packed, batch_first=True)[0]
    for b, n in enumerate(lengths.tolist()):
        alone, h_alone = scratch(inputs[b:b + 1, :n])
        torch.testing.assert_close(alone[0], padded[b, :n])
        torch.testing.assert_close(h_alone[:, 0], h[:, b])


def test_equal_lengths_packed_are_the_plain_batch():
    _, scratch = _twins("lstm", True, batch_first=False)
    X = torch.randn(5, 3, D, dtype=torch.float64)
    Y, (h, c) = scratch(pack_padded_sequence(X, torch.tensor([5, 5, 5])))
    want_Y, (want_h, want_c) = scratch(X)
    torch.testing.assert_close(pad_packed_sequence(Y)[0], want_Y)
    torch.testing.assert_close(h, want_h)
    torch.testing.assert_close(c, want_c)


def test_a_state_of_the_wrong_batch_size_is_refused_naming_it():
    _, scratch = _twins("lstm", True, batch_first=False)
    packed = pack_padded_sequence(torch.randn(5, 3, D, dtype=torch.float64), torch.tensor([5, 4, 2]))
    with pytest.raises(SeqlabError, match=r"start from net.begin_state\(3\)"):
        scratch(packed, scratch.begin_state(2, dtype=torch.float64))
    unsorted = pack_padded_sequence(torch.randn(5, 3, D, dtype=torch.float64), torch.tensor([2, 5, 4]),
                                    enforce_sorted=False)
    with pytest.raises(SeqlabError, match=r"start from net.begin_state\(3\)"):  # (was an index error)
        scratch(unsorted, scratch.begin_state(2, dtype=torch.float64))


def test_packed_token_ids_are_their_one_hot_rows_and_bad_data_is_refused():
    torch.manual_seed(0)
    layer = ScratchRNN("lstm", 7, H, bidirectional=True).double()
    ids = torch.randint(0, 7, (6, 3))
    lengths = torch.tensor([3, 6, 4])
    Y, (h, c) = layer(pack_padded_sequence(ids, lengths, enforce_sorted=False))
    one_hot = nn.functional.one_hot(ids, 7).double()
    want_Y, (want_h, want_c) = layer.to_fused()(pack_padded_sequence(one_hot, lengths, enforce_sorted=False))
    for g, w in ((Y.data, want_Y.data), (h, want_h), (c, want_c)):
        torch.testing.assert_close(g, w)
    with pytest.raises(SeqlabError, match=r"token id 9 is out of range: the layer reads one-hot vectors of 7"):
        layer(pack_padded_sequence(torch.full((4, 2), 9), torch.tensor([4, 2])))
    with pytest.raises(SeqlabError, match=r"has 5 features per step but the layer reads 7"):
        layer(pack_padded_sequence(torch.randn(4, 2, 5, dtype=torch.float64), torch.tensor([4, 2])))


@pytest.mark.parametrize("mode", ["peephole", "lstm"])
def test_a_packed_batch_gives_each_sequence_what_it_gives_alone(mode):
    # the peephole LSTM has no fused twin; alone, a sequence reads no padding. The gradients: a loss that is
    # a sum over the sequences (squares of every output and final state) is the sum of their losses alone
    torch.manual_seed(0)
    layer = ScratchRNN(mode, D, H, 2, bidirectional=True).double()
    sequences = [torch.randn(n, D, dtype=torch.float64) for n in (3, 7, 1, 7, 4)]
    Y, (h, c) = layer(pack_sequence(sequences, enforce_sorted=False))
    (Y.data.square().sum() + h.square().sum() + c.square().sum()).backward()
    packed_grads = [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad()
    padded, lengths = pad_packed_sequence(Y)
    for b, x in enumerate(sequences):
        alone, (h_alone, c_alone) = layer(x.unsqueeze(1))
        torch.testing.assert_close(padded[:len(x), b], alone[:, 0])
        torch.testing.assert_close(h[:, b], h_alone[:, 0])
        torch.testing.assert_close(c[:, b], c_alone[:, 0])
        (alone.square().sum() + h_alone.square().sum() + c_alone.square().sum()).backward()
    assert lengths.tolist() == [3, 7, 1, 7, 4]
    for got, want in zip(packed_grads, (p.grad for p in layer.parameters())):
        torch.testing.assert_close(got, want)
