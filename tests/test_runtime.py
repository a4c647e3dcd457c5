"""Device resolution and RNG state capture (used by checkpoints and --resume)."""

import json
import random

import numpy as np
import pytest
import torch

from seqlab import SeqlabError
from seqlab.runtime import resolve_device, rng_state, seed_everything, set_rng_state


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
        with pytest.raises(SeqlabError, match="no CUDA GPU"):
            resolve_device("cuda")
