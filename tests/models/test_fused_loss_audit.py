"""Mutation-audit tests of fused_loss.py: what the other fused-loss tests left open (a layer whose
dtype changes between calls, a half-precision model outside autocast), against F.cross_entropy."""

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.fused_loss import linear_cross_entropy, output_losses


def test_a_layer_converted_to_float64_gets_a_buffer_of_its_new_dtype():
    # the kept buffer belongs to the weight Parameter, which .double() converts in place: the next
    # call must not write float64 products into the float32 buffer of the calls before
    torch.manual_seed(0)
    linear, y = nn.Linear(4, 9), torch.randint(0, 9, (5,))
    h = torch.randn(5, 4, requires_grad=True)
    linear_cross_entropy(h, linear.weight, linear.bias, y).sum().backward()
    linear.double()
    h64 = h.detach().double().requires_grad_()
    got = linear_cross_entropy(h64, linear.weight, linear.bias, y)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, F.cross_entropy(linear(h64), y, reduction="none"))


def test_a_bfloat16_model_gets_float32_losses_outside_autocast_too():
    # logits of a model cast to bf16 (no autocast, which would lift the loss itself): the loss is
    # taken of the float32 logits, not computed in bf16 with its 8-bit mantissa
    torch.manual_seed(0)
    linear, y = nn.Linear(6, 50).bfloat16(), torch.randint(0, 50, (8,))
    h = torch.randn(8, 6).bfloat16()
    got = output_losses(h, linear, y)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, F.cross_entropy(linear(h).float(), y, reduction="none"))
