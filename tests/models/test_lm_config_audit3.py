"""LM config audit (round 3): each AWD option alone selects the regularised model (and keeps its
value), and a bidirectional regularised config is told to drop --bidirectional, not to change --embed."""

import pytest

from seqlab.errors import SeqlabError
from seqlab.models.lm import ModelConfig, RegularizedRNNModel, RNNModel, build_lm
from seqlab.models.lm_config import is_regularized

V = 11
AWD = ("dropout_input", "dropout_hidden", "dropout_output", "dropout_embed", "weight_drop")


@pytest.mark.parametrize("option", AWD)
def test_each_awd_option_alone_builds_the_regularised_model_with_it(option):
    config = ModelConfig(embed=8, hidden=8, **{option: 0.3})
    assert is_regularized(config)
    net = build_lm(config, V)
    assert isinstance(net, RegularizedRNNModel)
    p = {"dropout_input": net.lock_in.p, "dropout_hidden": net.lock_hidden.p, "dropout_output": net.lock_out.p,
         "dropout_embed": net.dropout_embed, "weight_drop": getattr(net.rnns[0], "p", 0.0)}
    assert p == {k: (0.3 if k == option else 0.0) for k in AWD}


def test_no_awd_option_builds_the_plain_model():
    assert not is_regularized(ModelConfig(embed=8, hidden=8, dropout=0.3))
    assert isinstance(build_lm(ModelConfig(embed=8, hidden=8, dropout=0.3), V), RNNModel)


def test_a_tied_bidirectional_regularised_config_is_told_to_drop_bidirectional():
    # --embed 8 is not 2 x --hidden, but setting --embed 16 would not help: the regularised LM is
    # left-to-right, and that is the advice
    config = ModelConfig(hidden=8, embed=8, layers=2, bidirectional=True, tie_weights=True, dropout_input=0.2)
    with pytest.raises(SeqlabError, match="is left-to-right: drop --bidirectional"):
        build_lm(config, V)


def test_one_tied_bidirectional_layer_of_embed_2_x_hidden_is_a_new_model_that_builds():
    # the "--hidden is unused" rule is for one left-to-right layer: a bidirectional one has
    # --hidden units per direction, and its 2 x --hidden outputs are the embedding's size
    net = build_lm(ModelConfig(hidden=8, embed=16, layers=1, bidirectional=True, tie_weights=True), V)
    assert isinstance(net, RNNModel) and net.linear.weight is net.embedding.weight
    assert net.linear.weight.shape == (V, 16)


def test_a_word_level_vocabulary_read_one_hot_is_refused():
    # WikiText-2's 33,278 word types as one-hot vectors: every batch (T, B, 33278) floats
    with pytest.raises(SeqlabError, match="one-hot input over a vocabulary of 33,278 tokens .* e.g. --embed 200"):
        build_lm(ModelConfig(embed=0, hidden=4), 33278)
    assert build_lm(ModelConfig(embed=200, hidden=4), 33278).embedding.weight.shape == (33278, 200)


def test_an_untied_model_with_embed_other_than_hidden_is_the_plain_model():
    net = build_lm(ModelConfig(embed=6, hidden=10, layers=2), V)
    assert isinstance(net, RNNModel) and net.linear.weight.shape == (V, 10)


def test_a_tied_model_with_embed_larger_than_hidden_gets_a_last_layer_of_embed_units():
    # AWD-LSTM's rule holds both ways: the last layer has the embedding's size, 12 > --hidden 8 here
    net = build_lm(ModelConfig(embed=12, hidden=8, layers=2, tie_weights=True), V)
    assert net.sizes == [8, 12] and net.linear.weight is net.embedding.weight


def test_tied_bidirectional_with_embed_larger_than_both_directions_is_refused():
    config = ModelConfig(hidden=8, embed=24, layers=2, bidirectional=True, tie_weights=True)
    with pytest.raises(SeqlabError, match=r"2 x --hidden = 16; got --embed 24: set --embed 16 \(or --hidden 12\)"):
        build_lm(config, V)
