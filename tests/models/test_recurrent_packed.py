"""ScratchRNN reads a PackedSequence as nn.RNN/GRU/LSTM do: each sequence to its own length, the output
packed in the input's layout, the final state after each sequence's last step (the reverse direction's
after its first). Parity with the fused twin in float64: outputs, final states, and the gradients of the
packed data, the initial state and every weight, on the fast recurrence and the plain loop."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence

from seqlab.errors import SeqlabError
from seqlab.models.recurrent import ScratchRNN

D, H = 3, 4
FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _twins(mode, fast, layers=2, bidirectional=True):
    torch.manual_seed(0)
    fused = FUSED[mode](D, H, layers, bidirectional=bidirectional).double()
    scratch = ScratchRNN.from_fused(fused)
    scratch.fast = fast
    return fused, scratch


def _run(layer, packed, state):
    """The packed output and final state, and the gradients of the packed data and the state, after a
    weighted sum of them all is taken back (each place weighted differently)."""
    data = packed.data.clone().requires_grad_()
    packed = packed._replace(data=data)
    given = [s.clone().requires_grad_() for s in state] if isinstance(state, tuple) else \
        [state.clone().requires_grad_()]
    layer.zero_grad()
    Y, s = layer(packed, tuple(given) if isinstance(state, tuple) else given[0])
    parts = [Y.data, *s] if isinstance(s, tuple) else [Y.data, s]
    sum((p * torch.linspace(-1, 1, p.numel(), dtype=p.dtype).view_as(p)).sum() for p in parts).backward()
    return Y, [p.detach() for p in parts], [data.grad, *(g.grad for g in given)]


def _state(mode, rows, B, seed=1):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(rows, B, H, dtype=torch.float64, generator=g)
    return (h, torch.randn(rows, B, H, dtype=torch.float64, generator=g)) if mode == "lstm" else h


@pytest.mark.parametrize("sorted_", [False, True], ids=["unsorted", "sorted"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_a_packed_batch_gives_the_fused_layers_outputs_states_and_gradients(mode, fast, sorted_):
    fused, scratch = _twins(mode, fast)
    # lengths with a tie and a sequence of one step; sorted: longest first, as enforce_sorted wants
    lengths = [7, 5, 5, 2, 1] if sorted_ else [2, 7, 5, 1, 5]
    X = torch.randn(7, len(lengths), D, dtype=torch.float64)
    packed = pack_padded_sequence(X, torch.tensor(lengths), enforce_sorted=sorted_)
    state = _state(mode, 4, len(lengths))
    want_Y, want, want_in = _run(fused, packed, state)
    got_Y, got, got_in = _run(scratch, packed, state)
    assert torch.equal(got_Y.batch_sizes, want_Y.batch_sizes)
    for index in ("sorted_indices", "unsorted_indices"):
        assert (getattr(got_Y, index) is None) == sorted_ and (sorted_ or torch.equal(
            getattr(got_Y, index), getattr(want_Y, index)))
    for g, w in zip(got + got_in, want + want_in):
        torch.testing.assert_close(g, w)
    for layer in range(2):
        for d, suffix in enumerate(("", "_reverse")):
            cell = scratch.cells[2 * layer + d]
            torch.testing.assert_close(cell.W_h.grad, getattr(fused, f"weight_hh_l{layer}{suffix}").grad.T)
            torch.testing.assert_close(cell.W_x.grad, getattr(fused, f"weight_ih_l{layer}{suffix}").grad.T)


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
    _, scratch = _twins("lstm", True)
    X = torch.randn(5, 3, D, dtype=torch.float64)
    Y, (h, c) = scratch(pack_padded_sequence(X, torch.tensor([5, 5, 5])))
    want_Y, (want_h, want_c) = scratch(X)
    torch.testing.assert_close(pad_packed_sequence(Y)[0], want_Y)
    torch.testing.assert_close(h, want_h)
    torch.testing.assert_close(c, want_c)


def test_a_state_of_the_wrong_batch_size_is_refused_naming_it():
    _, scratch = _twins("lstm", True)
    packed = pack_padded_sequence(torch.randn(5, 3, D, dtype=torch.float64), torch.tensor([5, 4, 2]))
    with pytest.raises(SeqlabError, match=r"start from net.begin_state\(3\)"):
        scratch(packed, scratch.begin_state(2, dtype=torch.float64))


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
