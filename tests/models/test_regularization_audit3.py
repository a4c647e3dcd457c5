"""AWD-LSTM regulariser audit (round 3): drop rates other than 1/2, the range of p for every
regulariser, the padding row of an embedding, and TAR over a batch-major output."""

import copy

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


@pytest.mark.parametrize("options", [dict(padding_idx=0), dict(scale_grad_by_freq=True),
                                     dict(max_norm=1.0, norm_type=1.0)], ids=["padding", "freq", "max-norm"])
def test_embedding_dropout_looks_up_as_the_embeddings_own_options_say(options):
    # the twin: nn.Embedding's own lookup (padding row: no gradient; scale_grad_by_freq: gradients
    # divided by the word's count; max_norm: rows renormed, in the norm_type norm)
    torch.manual_seed(1)
    emb = nn.Embedding(6, 3, **options)
    twin = copy.deepcopy(emb)
    words = torch.tensor([[0, 2, 0, 3], [1, 0, 2, 5]])
    c = torch.randn(2, 4, 3)  # (a linear loss: the padding row is zero, a square's gradient there would be too)
    out = embedding_dropout(emb, words, 0.3, training=False)
    (out * c).sum().backward()
    expected = twin(words)
    (expected * c).sum().backward()
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(emb.weight.grad, twin.weight.grad)


def test_embedding_dropout_drops_a_fraction_p_of_the_word_types():
    torch.manual_seed(3)
    emb = nn.Embedding(4000, 2)
    out = embedding_dropout(emb, torch.arange(4000)[None], 0.2)  # every word once: (1, 4000, 2)
    dropped = (out[0] == 0).all(-1).float().mean().item()
    assert 0.17 < dropped < 0.23
    kept = ~(out[0] == 0).all(-1)
    torch.testing.assert_close(out[0][kept], emb.weight[kept] / 0.8)


def test_weight_drop_passes_keyword_arguments_on_in_training():
    torch.manual_seed(4)
    lstm = nn.LSTM(3, 5)
    wd = WeightDrop(lstm, p=0.3)
    x, h0, c0 = torch.randn(4, 2, 3), torch.randn(1, 2, 5), torch.randn(1, 2, 5)
    torch.manual_seed(9)
    out, _ = wd(x, hx=(h0, c0))
    torch.manual_seed(9)  # the same mask
    twin = copy.deepcopy(lstm)
    twin.weight_hh_l0.data = nn.functional.dropout(lstm.weight_hh_l0, 0.3, training=True).detach()
    torch.testing.assert_close(out, twin(x, (h0, c0))[0])


def test_tar_over_a_batch_major_output_is_the_time_major_one():
    # (B=1, T=3, H=2): differences along time (2, 0), (0, 2) -> beta * mean of squares = 1.5 * 8 / 4
    h = torch.tensor([[[1.0, 2.0], [3.0, 2.0], [3.0, 4.0]]])
    assert temporal_activation_reg(h, 1.5, time_dim=1).item() == pytest.approx(3.0)
    torch.manual_seed(2)
    x = torch.randn(4, 6, 5)  # (B, T, H)
    loop = sum(((x[:, t] - x[:, t - 1]) ** 2).sum() for t in range(1, 6)) / (4 * 5 * 5)
    assert temporal_activation_reg(x, 2.0, time_dim=1).item() == pytest.approx(2.0 * loop.item())
