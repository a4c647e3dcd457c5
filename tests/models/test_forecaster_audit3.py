"""Forecaster audit (round 3): the options build_forecaster passes on, the defaults, and the checks
on a recurrent stack's size."""

import pytest
import torch
from torch import nn

from seqlab import SeqlabError
from seqlab.models.forecaster import MLPForecaster, RNNForecaster, build_forecaster
from seqlab.training import common


def test_build_forecaster_gives_the_mlp_its_hidden_size():
    net = build_forecaster("mlp", 6, 16)
    assert (net.net[0].in_features, net.net[0].out_features, net.net[2].in_features) == (6, 16, 16)


def test_the_default_mlp_is_the_books_net_of_4_inputs_and_10_hidden_units():
    torch.manual_seed(3)
    book = nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 1))
    nn.init.xavier_uniform_(book[0].weight)
    nn.init.xavier_uniform_(book[2].weight)
    torch.manual_seed(3)
    ours = MLPForecaster()
    x = torch.randn(5, 4)
    torch.testing.assert_close(ours(x), book(x))


def test_the_default_recurrent_forecaster_is_a_seeded_one_layer_gru_of_32():
    torch.manual_seed(4)
    net = RNNForecaster()
    torch.manual_seed(4)
    rnn, head = nn.GRU(1, 32, 1, batch_first=True), nn.Linear(32, 1)
    x = torch.randn(2, 5)
    torch.testing.assert_close(net.forward_all(x), head(rnn(x.unsqueeze(-1))[0]).squeeze(-1))


@pytest.mark.parametrize("layers", [0, -1])
def test_a_recurrent_forecaster_of_no_layers_is_refused(layers):
    with pytest.raises(SeqlabError, match="must be positive"):
        RNNForecaster("gru", hidden=4, layers=layers)


def test_a_recurrent_stack_past_the_machines_memory_is_refused_before_it_is_built(monkeypatch):
    monkeypatch.setattr(common, "physical_memory", lambda: 2**20)  # a 1 MiB machine
    # 100 layers of 64: 100 * (4 * 64 * 65 + 1024) bytes, about 1.7 MiB by the bound
    with pytest.raises(SeqlabError, match="--layers 100 of --hidden 64 would need more than"):
        RNNForecaster("lstm", hidden=64, layers=100)
    RNNForecaster("lstm", hidden=8, layers=2)  # 2 * (4 * 8 * 9 + 1024) bytes fit


def test_no_hidden_units_are_refused_with_the_options_named():
    with pytest.raises(SeqlabError, match="hidden and layers must be positive, got hidden=0"):
        RNNForecaster("gru", hidden=0)
    with pytest.raises(SeqlabError, match="tau and hidden must be positive, got tau=4, hidden=0"):
        MLPForecaster(4, 0)


def test_a_model_build_forecaster_does_not_know_is_refused_with_its_three_models_named():
    # ("rnn" is a recurrent cell, but not one of the forecasters: the message lists those)
    with pytest.raises(SeqlabError, match="unknown forecaster 'rnn': use mlp, gru or lstm"):
        build_forecaster("rnn", 4, 10)
