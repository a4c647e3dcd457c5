"""Device resolution, RNG state capture (used by checkpoints and --resume), eval mode."""

import json
import random

import numpy as np
import pytest
import torch

from seqlab import SeqlabError
from seqlab.runtime import eval_mode, resolve_device, rng_state, seed_everything, set_rng_state


def draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_state_round_trips_through_json():
    seed_everything(3)
    draws()
    state = json.loads(json.dumps(rng_state()))
    expected = draws()
    draws()
    set_rng_state(state)
    assert draws() == expected


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(SeqlabError, match="unknown device"):
        resolve_device("tpu9")
    if not torch.cuda.is_available():
        # (resolve_device serves library calls too: review r-docs, finding 4)
        with pytest.raises(SeqlabError, match=r"no CUDA GPU: use --device cpu \(from Python: device='cpu'\)$"):
            resolve_device("cuda")


@pytest.mark.parametrize("device", ["mps", "mps:0", "mps:1", torch.device("mps")])
def test_mps_is_refused_and_auto_never_picks_it(device, monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)  # an Apple GPU
    with pytest.raises(SeqlabError, match="MPS backend is not supported yet: .* float64, which MPS lacks; "
                                          r"use --device cpu \(from Python: device='cpu'\)$"):
        resolve_device(device)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == resolve_device(None) == torch.device("cpu")


def _modes(net):
    return [m.training for m in net.modules()]


def test_eval_mode_turns_dropout_off_and_gives_back_mixed_modes():
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5), torch.nn.Sequential(torch.nn.Dropout(0.5)))
    net.train()
    net[2].eval()  # a part the caller froze in eval mode
    before = _modes(net)
    assert before == [True, True, True, False, False]
    x = torch.ones(2, 4)
    with eval_mode(net) as m:
        assert m is net and not any(_modes(net))
        assert torch.equal(net(x), net(x))  # dropout off
    assert _modes(net) == before  # not net.train(True), which would wake the frozen part


def test_eval_mode_restores_the_modes_when_the_block_raises():
    net = torch.nn.Sequential(torch.nn.Dropout(0.5))
    net.train()
    with pytest.raises(ValueError, match="boom"):
        with eval_mode(net):
            raise ValueError("boom")
    assert _modes(net) == [True, True]
