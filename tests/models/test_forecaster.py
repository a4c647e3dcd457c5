"""Forecasters: the book's MLP exactly, and causal GRU/LSTM window readers."""

import pytest
import torch
from torch import nn

from seqlab import SeqlabError
from seqlab.models.forecaster import MLPForecaster, RNNForecaster, build_forecaster


def book_get_net():
    def init_weights(m):
        if type(m) == nn.Linear:
            nn.init.xavier_uniform_(m.weight)

    net = nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 1))
    net.apply(init_weights)
    return net


def test_mlp_is_the_books_net_with_the_same_seeded_init():
    torch.manual_seed(7)
    book = book_get_net()
    torch.manual_seed(7)
    ours = MLPForecaster(4, 10)
    for (_, a), (_, b) in zip(book.state_dict().items(), ours.net.state_dict().items()):
        torch.testing.assert_close(a, b)
    x = torch.randn(5, 4)
    assert ours(x).shape == (5, 1)
    torch.testing.assert_close(ours(x), book(x))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_rnn_forecaster_is_causal_and_forward_is_the_last_position(cell):
    torch.manual_seed(0)
    net = RNNForecaster(cell, hidden=8, layers=2)
    x = torch.randn(3, 6, requires_grad=True)
    all_preds = net.forward_all(x)
    assert all_preds.shape == (3, 6)
    torch.testing.assert_close(net(x), all_preds[:, -1:])
    # the prediction after position 2 must not see positions 3..5
    all_preds[:, 2].sum().backward()
    assert x.grad[:, 3:].abs().max() == 0 and x.grad[:, :3].abs().max() > 0


def test_rnn_forecaster_matches_a_manual_nn_gru():
    torch.manual_seed(1)
    net = RNNForecaster("gru", hidden=5)
    x = torch.randn(2, 7)
    out, h_n = net.rnn(x.unsqueeze(-1))
    torch.testing.assert_close(net(x), net.head(h_n[-1]))


def test_stacked_rnn_forecaster_is_a_seeded_stacked_nn_gru():
    # --layers 2: a 2-layer GRU (same seeded init as nn.GRU(1, H, 2) then the head)
    torch.manual_seed(2)
    net = build_forecaster("gru", 4, 5, 2)
    torch.manual_seed(2)
    rnn, head = nn.GRU(1, 5, 2, batch_first=True), nn.Linear(5, 1)
    x = torch.randn(3, 7)
    out, _ = rnn(x.unsqueeze(-1))
    torch.testing.assert_close(net.forward_all(x), head(out).squeeze(-1))


def test_build_forecaster_and_bad_options():
    assert isinstance(build_forecaster("mlp", 4, 10), MLPForecaster)
    assert isinstance(build_forecaster("lstm", 4, 10, 2), RNNForecaster)
    with pytest.raises(SeqlabError, match="use mlp, gru or lstm"):
        build_forecaster("transformer", 4, 10)
    with pytest.raises(SeqlabError, match="one hidden layer"):
        build_forecaster("mlp", 4, 10, 2)
    with pytest.raises(SeqlabError, match="must be positive"):
        MLPForecaster(0, 10)


def test_windows_of_another_length_or_shape_are_refused():
    net = MLPForecaster(4, 10)
    with pytest.raises(SeqlabError, match=r"windows of tau=4 values, got 5 .*build it with tau=5"):
        net(torch.randn(3, 5))  # was "mat1 and mat2 shapes cannot be multiplied"
    with pytest.raises(SeqlabError, match=r"one window is x\[None\]"):
        net(torch.randn(4))
    with pytest.raises(SeqlabError, match="of floats"):
        net(torch.ones(3, 4, dtype=torch.long))
    with pytest.raises(SeqlabError, match=r"\(B, tau\), got shape \(3, 4, 1\)"):
        RNNForecaster("gru", hidden=4)(torch.randn(3, 4, 1))
    assert net(torch.randn(3, 4)).shape == (3, 1)
