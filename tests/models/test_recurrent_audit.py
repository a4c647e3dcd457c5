"""Mutation-audit tests of recurrent.py: what the other layer tests left open (h and c as two
tensors, to_fused with one bias frozen at zero), against torch.zeros and the scratch layer itself."""

import torch

from seqlab.models.recurrent import ScratchRNN


def test_begin_state_gives_h_and_c_as_two_tensors():
    # an in-place edit of h (zeroing rows at a document boundary) must leave c alone, as with two
    # torch.zeros of the state's shape
    h, c = ScratchRNN("lstm", 3, 4, num_layers=2).begin_state(2)
    h.fill_(1.0)
    assert torch.equal(c, torch.zeros(2, 2, 4))


def test_to_fused_keeps_the_biases_when_only_some_are_frozen_at_zero():
    # bias=False only when every bias is frozen at zero (from_fused of a bias=False layer): one
    # frozen bias among trained ones is a zero bias of a layer built with bias=True
    torch.manual_seed(0)
    scratch = ScratchRNN("gru", 3, 4, dtype=torch.float64)
    with torch.no_grad():
        scratch.cells[0].b.zero_()
    scratch.cells[0].b.requires_grad_(False)
    fused = scratch.to_fused()
    assert fused.bias
    X = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(fused(X)[0], scratch(X)[0])
