"""AWD-LSTM regulariser audit (round 3): drop rates other than 1/2, the range of p for every
regulariser, the padding row of an embedding, and TAR over a batch-major output."""

import pytest
import torch
from torch import nn

from seqlab import SeqlabError
from seqlab.models.regularization import LockedDropout, WeightDrop, embedding_dropout, temporal_activation_reg


def test_locked_dropout_drops_a_fraction_p_of_the_units_and_keeps_the_mean():
    # p = 0.5 cannot tell "drop with probability p" from "keep with probability p"; p = 0.2 can
    torch.manual_seed(0)
    y = LockedDropout(0.2)(torch.ones(3, 50, 200))  # (T, B, H)
    dropped = (y[0] == 0).float().mean().item()
    assert 0.17 < dropped < 0.23
    assert sorted(y.unique().tolist()) == [0.0, pytest.approx(1 / 0.8)]
    assert y.mean().item() == pytest.approx(1.0, abs=0.05)  # E[mask / (1 - p)] = 1


@pytest.mark.parametrize("p", [-0.1, 1.0])
def test_every_regulariser_refuses_p_outside_0_1(p):
    emb = nn.Embedding(5, 3)
    with pytest.raises(SeqlabError, match=r"in \[0, 1\)"):
        LockedDropout(p)
    with pytest.raises(SeqlabError, match=r"in \[0, 1\)"):
        WeightDrop(nn.LSTM(2, 3), p)
    with pytest.raises(SeqlabError, match=r"in \[0, 1\)"):
        embedding_dropout(emb, torch.tensor([[1, 2]]), p)


def test_weight_drop_refuses_a_module_that_is_not_a_recurrent_layer():
    with pytest.raises(SeqlabError, match=r"wraps nn.RNN/nn.GRU/nn.LSTM, got Linear"):
        WeightDrop(nn.Linear(3, 3), 0.5)


def test_embedding_dropout_keeps_the_padding_row_out_of_the_gradient():
    # the twin: nn.Embedding's own lookup, whose padding row gets no gradient
    torch.manual_seed(1)
    emb = nn.Embedding(6, 3, padding_idx=0)
    words = torch.tensor([[0, 2, 0, 3], [1, 0, 2, 5]])
    c = torch.randn(2, 4, 3)  # (a linear loss: the padding row is zero, a square's gradient there would be too)
    (embedding_dropout(emb, words, 0.3, training=False) * c).sum().backward()
    ours, emb.weight.grad = emb.weight.grad, None
    (emb(words) * c).sum().backward()
    torch.testing.assert_close(ours, emb.weight.grad)
    assert ours[0].abs().sum() == 0


def test_tar_over_a_batch_major_output_is_the_time_major_one():
    # (B=1, T=3, H=2): differences along time (2, 0), (0, 2) -> beta * mean of squares = 1.5 * 8 / 4
    h = torch.tensor([[[1.0, 2.0], [3.0, 2.0], [3.0, 4.0]]])
    assert temporal_activation_reg(h, 1.5, time_dim=1).item() == pytest.approx(3.0)
    torch.manual_seed(2)
    x = torch.randn(4, 6, 5)  # (B, T, H)
    loop = sum(((x[:, t] - x[:, t - 1]) ** 2).sum() for t in range(1, 6)) / (4 * 5 * 5)
    assert temporal_activation_reg(x, 2.0, time_dim=1).item() == pytest.approx(2.0 * loop.item())
