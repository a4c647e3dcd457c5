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


def test_begin_state_takes_the_weights_dtype_unless_told():
    cell = LSTMCell(3, 4, dtype=torch.float64)
    H, C = cell.begin_state(2)
    assert H.dtype == C.dtype == torch.float64
    assert cell.begin_state(2, dtype=torch.float16)[0].dtype == torch.float16


@pytest.mark.parametrize("make, message", [
    (lambda: LSTMCell(0, 4), "input_size must be a positive integer, got 0"),
    (lambda: GRUCell(3, 4).begin_state(0), "batch_size must be a positive integer, got 0"),
    (lambda: RNNCell(3, 4)(torch.ones(5, 2, dtype=torch.bool)),
     r"time-major features \(T, B, D\) or integer token ids \(T, B\), got torch.bool"),
], ids=["input_size", "batch_size", "bool-ids"])
def test_what_a_cell_cannot_be_built_with_or_read_is_a_seqlab_error(make, message):
    with pytest.raises(SeqlabError, match=message):
        make()


def test_begin_state_is_made_on_the_weights_device_unless_told():
    # (the meta device stands in for a GPU: a cell there must not get a CPU state)
    cell = GRUCell(3, 4, device="meta")
    assert cell.begin_state(2).device.type == "meta"
    assert cell.begin_state(2, device="cpu").device.type == "cpu"
