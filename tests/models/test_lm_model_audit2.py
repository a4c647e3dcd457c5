"""Mutation audit (2) of seqlab.models.lm: the last-layer outputs a model keeps for AR/TAR."""

import pytest
import torch
from torch import nn

from seqlab.models.lm import RegularizedRNNModel, RNNModel


def _plain(seed=0):
    torch.manual_seed(seed)
    return RNNModel(nn.LSTM(5, 6), 9, embed_size=5, dropout=0.5).double()


def _awd(seed=0):
    torch.manual_seed(seed)
    return RegularizedRNNModel("lstm", "fused", 9, 5, 6, 1, dropout_output=0.5).double()


def _plain_last_layer(net, X):
    """(raw, dropped) last-layer outputs (T, B, H) of the plain model, drawn in its own RNG order:
    dropout on the embedding, the layer, dropout on its output."""
    raw, _ = net.rnn(net.drop(net.embedding(X.T)), net.begin_state(X.shape[0]))
    return raw, net.drop(raw)


def _awd_last_layer(net, X):
    """... of the one-layer AWD model: embedding -> layer -> locked dropout on the output."""
    raw, _ = net.rnns[0](net.embedding(X.T), net.begin_state(X.shape[0])[0])
    return raw, net.lock_out(raw)


@pytest.mark.parametrize("make, last_layer", [(_plain, _plain_last_layer), (_awd, _awd_last_layer)],
                         ids=["plain", "awd"])
def test_keep_outputs_holds_the_raw_and_the_dropped_last_layer_outputs(make, last_layer):
    # AR reads the dropped outputs, TAR the raw ones: with dropout on they differ, and each must be
    # the one the model computed from the same random draws
    net = make()
    X = torch.randint(0, 9, (2, 5), generator=torch.Generator().manual_seed(3))
    net.keep_outputs = True
    torch.manual_seed(4)
    net(X, net.begin_state(2))
    torch.manual_seed(4)
    raw, dropped = last_layer(net, X)
    torch.testing.assert_close(net.outputs[0], raw)
    torch.testing.assert_close(net.outputs[1], dropped)
    assert not torch.allclose(raw, dropped)


def test_a_tied_model_with_a_smaller_last_layer_drops_out_where_the_plain_model_does():
    # without the AWD options, `dropout` is the plain model's (a fresh mask per element): on the
    # embedding output, between the layers and on the last output -- by hand, in the same RNG order
    import torch.nn.functional as F

    torch.manual_seed(0)
    net = RegularizedRNNModel("lstm", "fused", 9, 4, 6, 2, tie_weights=True, dropout=0.5).double()
    net.train()
    X = torch.randint(0, 9, (3, 5), generator=torch.Generator().manual_seed(1))
    state = net.begin_state(3)
    torch.manual_seed(2)
    logits, _ = net(X, state)
    torch.manual_seed(2)
    H = F.dropout(net.embedding(X.T), 0.5, training=True)  # (T, B, E)
    for rnn, s in zip(net.rnns, state):
        H = F.dropout(rnn(H, s)[0], 0.5, training=True)
    torch.testing.assert_close(logits, net.linear(H.reshape(-1, H.shape[-1])))
