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


@pytest.mark.parametrize("change", [lambda ps: ps.__setitem__(slice(0, 2), [torch.zeros(6, 4), torch.zeros(4, 4)]),
                                    lambda ps: ps.__imul__(2), lambda ps: ps.sort(key=lambda t: t.numel())],
                         ids=["slice", "*=", "sort"])
def test_params_refuses_a_slice_assignment_a_repeat_and_a_sort_with_a_seqlab_error(change):
    # net.params *= 2 would register every parameter twice (and the book's sgd step them twice)
    net = _net()
    with pytest.raises(SeqlabError, match=r"net.params cannot take a (slice assignment|\*=|sort)"):
        change(net.params)
    assert len(net.params) == 5 and len(list(net.parameters())) == 5


def test_an_init_state_that_cannot_run_on_the_meta_device_still_runs_the_model():
    # the state check asks init_state for meta tensors; one that goes through numpy cannot make
    # them, and the model runs unchecked rather than failing
    def init_state(batch_size, num_hiddens, device):
        H = torch.zeros((batch_size, num_hiddens), device=device)
        return (torch.from_numpy(H.numpy() + 0.1).to(device),)  # (a meta tensor has no values for numpy)

    torch.manual_seed(0)
    net = RNNModelScratch(6, 4, "cpu", get_params, init_state, rnn)
    X = torch.tensor([[1, 2, 3], [4, 5, 0]])
    logits, (H,) = net(X, init_state(2, 4, "cpu"))
    expected, _ = rnn(torch.nn.functional.one_hot(X.T, 6).float(), (torch.full((2, 4), 0.1),), list(net.params))
    assert torch.allclose(logits, expected, rtol=1e-5, atol=1e-6)


def test_params_refuses_what_is_not_a_tensor_by_its_type():
    with pytest.raises(SeqlabError, match="net.params holds tensors, got a float"):
        _net().params.append(0.5)


@pytest.mark.parametrize("sizes", [(0, 4), (6, 0)])
def test_a_model_of_no_tokens_or_no_hidden_units_is_refused(sizes):
    with pytest.raises(SeqlabError, match=r"(vocab_size|num_hiddens) must be a positive"):
        RNNModelScratch(*sizes, "cpu", get_params, init_rnn_state, rnn)
