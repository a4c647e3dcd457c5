"""Mutation-audit tests of recurrent.py: what the other layer tests left open (h and c as two
tensors, begin_state's dtype, to_fused with one bias frozen at zero, the unbatched dtype message),
against torch.zeros and the scratch layer itself."""

import pytest
import torch

from seqlab.errors import SeqlabError
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


def test_begin_state_takes_the_dtype_asked_for():
    h, c = ScratchRNN("lstm", 3, 4).begin_state(2, dtype=torch.float64)
    assert h.dtype == c.dtype == torch.float64
    assert torch.equal(h, torch.zeros(1, 2, 4, dtype=torch.float64))


def test_an_unbatched_state_of_another_dtype_is_told_the_cast_without_the_batched_advice():
    # begin_state(1) makes a batched (layers, 1, H) state, the wrong advice for an unbatched (T, D) input
    net = ScratchRNN("lstm", 3, 4)
    state = tuple(torch.zeros(1, 4, dtype=torch.float64) for _ in range(2))
    want = "the state is torch.float64 but the model's weights are torch.float32"
    with pytest.raises(SeqlabError, match=want) as err:
        net(torch.randn(5, 3), state)
    assert "begin_state" not in str(err.value)
