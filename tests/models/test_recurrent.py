"""Scratch layers and cells (recurrent.py, cells.py) and the LMs over them: what they refuse, and
how they say it (findings of an API review: each was a deep torch error or a silent result)."""

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.cells import GRUCell, PeepholeLSTMCell
from seqlab.models.lm import ModelConfig, build_lm
from seqlab.models.recurrent import ScratchRNN


def _layers():
    torch.manual_seed(0)
    yield "scratch lstm", ScratchRNN("lstm", 3, 4)
    plain = ScratchRNN("lstm", 3, 4)
    plain.fast = False
    yield "scratch lstm, fast off", plain
    yield "peephole", ScratchRNN("peephole", 3, 4)
    yield "gru cell, reset before", GRUCell(3, 4, reset_after=False)
    yield "peephole cell", PeepholeLSTMCell(3, 4)


@pytest.mark.parametrize("dtype", [torch.float64, torch.int64])
def test_a_state_of_another_dtype_is_refused_on_every_path(dtype):
    # was: cast silently on the fast path (an int64 state too), "mat1 and mat2 must have the same dtype"
    # from deep inside on the plain one, a peephole cell or the book's GRU
    X = torch.randn(5, 2, 3)
    for name, layer in _layers():
        state = layer.begin_state(2)
        bad = tuple(s.to(dtype) for s in state) if isinstance(state, tuple) else state.to(dtype)
        with pytest.raises(SeqlabError, match=f"the state is {dtype} but the model's weights are torch.float32"):
            layer(X, bad)
        layer(X, state)  # its own dtype: runs
    unbatched = ScratchRNN("gru", 3, 4)
    with pytest.raises(SeqlabError, match="the state is torch.float64"):
        unbatched(torch.randn(5, 3), torch.zeros(1, 4, dtype=torch.float64))


@pytest.mark.parametrize("impl", ["scratch", "fused"])
def test_a_regularised_lm_refuses_a_state_of_another_dtype(impl):
    # was a RuntimeError from deep inside torch.nn.modules.rnn (fused) or a silent cast (scratch)
    net = build_lm(ModelConfig(cell="lstm", impl=impl, hidden=6, embed=4, layers=2, dropout_output=0.2), 20)
    net = net.double()
    state = [tuple(t.float() for t in s) for s in net.begin_state(2)]
    with pytest.raises(SeqlabError, match="the state is torch.float32 but the model's weights are torch.float64"):
        net(torch.tensor([[1, 2], [3, 4]]), state)
    net(torch.tensor([[1, 2], [3, 4]]), net.begin_state(2))
    plain = build_lm(ModelConfig(cell="gru", impl=impl, hidden=6, embed=4), 20)  # the plain LM too
    with pytest.raises(SeqlabError, match="the state is torch.float64"):
        plain(torch.tensor([[1, 2]]), plain.begin_state(1).double())


def test_autocast_leaves_the_state_dtype_alone():
    # (the project skips the state-dtype check under autocast, which casts both)
    layer = ScratchRNN("lstm", 3, 4)
    state = tuple(s.bfloat16() for s in layer.begin_state(2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layer(torch.randn(5, 2, 3), state)
