"""AWD-LSTM regularisers: masks shared over time, DropConnect through the fused kernel."""

import pytest
import torch
from torch import nn

from seqlab import SeqlabError
from seqlab.models.regularization import (LockedDropout, WeightDrop, activation_reg, embedding_dropout,
                                          temporal_activation_reg)


def test_locked_dropout_same_mask_at_every_step_and_identity_in_eval():
    torch.manual_seed(0)
    drop = LockedDropout(0.5)
    x = torch.ones(7, 3, 100)  # (T, B, H)
    y = drop(x)
    assert torch.equal(y, y[:1].expand_as(y))  # every step identical
    assert set(y.unique().tolist()) == {0.0, 2.0}  # kept units scaled by 1/(1-p)
    assert 0.35 < (y[0] == 0).float().mean() < 0.65
    drop.eval()
    assert torch.equal(drop(x), x)
    with pytest.raises(SeqlabError, match=r"in \[0, 1\)"):
        LockedDropout(1.0)


def test_embedding_dropout_drops_word_types_everywhere():
    torch.manual_seed(1)
    emb = nn.Embedding(10, 4)
    words = torch.tensor([[1, 2, 1, 3, 1, 2]] * 4)
    out = embedding_dropout(emb, words, 0.5)
    zero = (out == 0).all(-1)
    for w in (1, 2, 3):  # a word is dropped at all its occurrences or at none
        assert zero[words == w].all() or not zero[words == w].any()
    kept = ~zero
    assert torch.allclose(out[kept], 2 * emb(words)[kept])
    assert torch.equal(embedding_dropout(emb, words, 0.5, training=False), emb(words))


def test_weight_drop_equals_lstm_with_masked_recurrent_weights():
    torch.manual_seed(2)
    lstm = nn.LSTM(3, 5, num_layers=2)
    wd = WeightDrop(lstm, p=0.4)
    x = torch.randn(6, 2, 3)
    torch.manual_seed(9)
    out, _ = wd(x)
    torch.manual_seed(9)  # the same masks, drawn in the same order
    masked = {n: nn.functional.dropout(getattr(lstm, n), 0.4, training=True) for n in wd.names}
    twin = nn.LSTM(3, 5, num_layers=2)
    twin.load_state_dict({**lstm.state_dict(), **{n: w.detach() for n, w in masked.items()}})
    assert torch.allclose(out, twin(x)[0], atol=1e-6)
    out.sum().backward()
    assert lstm.weight_hh_l1.grad is not None and lstm.weight_hh_l1.grad.abs().sum() > 0
    wd.eval()
    assert torch.allclose(wd(x)[0], lstm(x)[0])  # eval: the module as it is
    assert wd.names == ["weight_hh_l0", "weight_hh_l1"]


def test_ar_and_tar_hand_values():
    h = torch.tensor([[[1.0, 2.0]], [[3.0, 2.0]], [[3.0, 4.0]]])  # (T=3, B=1, H=2)
    assert activation_reg(h, 2.0).item() == pytest.approx(2.0 * (1 + 4 + 9 + 4 + 9 + 16) / 6)
    # differences: (2, 0), (0, 2) -> mean of squares = 8 / 4 = 2
    assert temporal_activation_reg(h, 1.5).item() == pytest.approx(3.0)
    assert temporal_activation_reg(h[:1], 1.5).item() == 0.0
