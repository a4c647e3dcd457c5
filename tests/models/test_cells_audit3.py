"""Scratch cell audit (round 3): PyTorch's init range, an LSTM's begin state as two tensors, and a
GRU's recurrent bias refused by a fused layer without biases."""

import math

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.cells import GRUCell, LSTMCell, PeepholeLSTMCell, RNNCell, copy_to_fused


@pytest.mark.parametrize("make", [RNNCell, GRUCell, LSTMCell, PeepholeLSTMCell])
def test_every_parameter_is_drawn_from_pytorchs_range_plus_minus_one_over_sqrt_h(make):
    # nn.LSTM's reset_parameters: U(-1/sqrt(H), 1/sqrt(H)); H = 16 gives 0.25
    torch.manual_seed(0)
    cell = make(60, 16)
    for name, p in cell.named_parameters():
        assert p.abs().max() <= 0.25, name
        if p.numel() >= 900:  # the weights: thousands of draws reach near the bound
            assert p.abs().max() > 0.24, name
    lstm = nn.LSTM(60, 16)
    assert max(p.abs().max() for p in lstm.parameters()) <= 1 / math.sqrt(16)


def test_an_lstms_begin_state_is_two_tensors_so_setting_h_leaves_c_at_zero():
    H, C = LSTMCell(3, 4).begin_state(2)
    H.fill_(1.0)  # an initial hidden state written in place (an encoder's, say)
    assert torch.equal(C, torch.zeros(2, 4))


def test_a_gru_whose_recurrent_bias_is_not_zero_is_refused_by_a_fused_layer_without_biases():
    cell = GRUCell(3, 4)
    with torch.no_grad():
        cell.b.zero_()  # only b_h, inside the reset product, is left
    with pytest.raises(SeqlabError, match=r"no biases \(bias=False\) but the scratch cell's are not zero"):
        copy_to_fused(cell, nn.GRU(3, 4, bias=False))
    with torch.no_grad():
        cell.b_h.zero_()
    fused = nn.GRU(3, 4, bias=False)
    copy_to_fused(cell, fused)
    torch.testing.assert_close(fused.weight_hh_l0, cell.W_h.T)
