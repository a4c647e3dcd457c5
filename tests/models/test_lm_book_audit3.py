"""The book's scratch language model audit (round 3): net.params behaves as the book's plain list for
negative indices and for the view one holds, cannot be set shorter, and begin_state converts only the
floating tensors of a state."""

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models.cells_book import get_params, init_rnn_state, rnn
from seqlab.models.lm_book import RNNModelScratch


def _net():
    torch.manual_seed(0)
    return RNNModelScratch(6, 4, "cpu", get_params, init_rnn_state, rnn)


def test_a_negative_index_replaces_a_parameter_as_in_a_plain_list():
    net = _net()
    b_q = torch.full((6,), 0.5)
    net.params[-1] = b_q  # lst[-1] = t: the last of W_xh, W_hh, b_h, W_hq, b_q
    net.params[-5] = torch.zeros(6, 4)  # lst[-5]: the first
    got = net.params
    assert torch.equal(got[4], b_q) and torch.equal(got[0], torch.zeros(6, 4))
    assert [torch.equal(p, q) for p, q in zip(net.parameters(), got)] == [True] * 5
    with pytest.raises(IndexError):
        net.params[-6] = b_q


def test_the_view_one_holds_is_the_models_parameters_after_an_assignment():
    # the book's sgd(params, ...) over a list kept from net.params: each entry must be the tensor
    # that backward fills, the registered parameter, not the plain tensor that was assigned
    net = _net()
    params = net.params
    params[2] = torch.ones(4)
    assert [p is q for p, q in zip(params, net.parameters())] == [True] * 5
    logits, _ = net(torch.tensor([[1, 2, 3]]), None)
    logits.sum().backward()
    assert params[2].grad is not None and params[2].grad.abs().sum() > 0


def test_params_cannot_be_set_to_fewer_tensors_than_get_params_made():
    net = _net()
    with pytest.raises(SeqlabError, match="at least the 5 tensors of get_params' list, got 4"):
        net.params = list(net.params)[:4]


def test_begin_state_gives_floating_tensors_the_models_dtype_and_leaves_integer_ones():
    def init_state(batch_size, num_hiddens, device):  # a state with a step count beside H
        return torch.zeros(batch_size, num_hiddens, device=device), torch.zeros((), dtype=torch.long, device=device)

    net = RNNModelScratch(6, 4, "cpu", get_params, init_state, rnn).double()
    H, steps = net.begin_state(2, "cpu")
    assert H.dtype == torch.float64 and steps.dtype == torch.long
