"""make_optimizer against torch's own optimisers: adamw decays by default (torch's 0.01), adam does not."""

import pytest
import torch

from seqlab.config import replace
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.common import make_optimizer
from seqlab.training.forecast import ForecastConfig, train_forecaster


def _one_step(make) -> torch.Tensor:
    """The weights after one step from a fixed start and gradient."""
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(4, 3) * 3)
    opt = make([w])
    w.grad = torch.randn(4, 3)
    opt.step()
    return w.detach().clone()


def test_adamw_without_a_weight_decay_is_torchs_adamw_with_its_default_decay():
    ours = _one_step(lambda p: make_optimizer("adamw", p, 0.01))
    assert torch.equal(ours, _one_step(lambda p: torch.optim.AdamW(p, lr=0.01)))  # torch's default: 0.01
    assert not torch.equal(ours, _one_step(lambda p: torch.optim.Adam(p, lr=0.01)))  # (was: equal to Adam)
    assert isinstance(make_optimizer("adamw", [torch.nn.Parameter(torch.ones(1))], 0.1), torch.optim.AdamW)


@pytest.mark.parametrize("name, twin", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                        ("sgd", torch.optim.SGD)])
def test_a_given_weight_decay_reaches_the_optimiser(name, twin):
    ours = _one_step(lambda p: make_optimizer(name, p, 0.01, weight_decay=0.5))
    assert torch.equal(ours, _one_step(lambda p: twin(p, lr=0.01, weight_decay=0.5)))


def test_adam_and_sgd_default_to_no_decay():
    for name, twin in (("adam", torch.optim.Adam), ("sgd", torch.optim.SGD)):
        assert torch.equal(_one_step(lambda p: make_optimizer(name, p, 0.01)), _one_step(lambda p: twin(p, lr=0.01)))
    # L2 inside Adam is not decoupled decay: the two names stay different optimisers at the same setting
    assert not torch.equal(_one_step(lambda p: make_optimizer("adam", p, 0.01, weight_decay=0.5)),
                           _one_step(lambda p: make_optimizer("adamw", p, 0.01, weight_decay=0.5)))


def _weights(tmp_path, name, **train):
    cfg = replace(ForecastConfig(), out=str(tmp_path / name), epochs=2, **train)
    train_forecaster(cfg, log=lambda *a, **k: None)
    return load_checkpoint(tmp_path / name, "last").model


def test_a_forecast_run_with_adamw_differs_from_adam_unless_its_decay_is_zero(tmp_path):
    # the review's reproduction: two runs that differed only in adam/adamw wrote identical metrics
    adam = _weights(tmp_path, "adam", optimizer="adam", lr=0.01)
    adamw = _weights(tmp_path, "adamw", optimizer="adamw", lr=0.01)
    adamw0 = _weights(tmp_path, "adamw0", optimizer="adamw", lr=0.01, weight_decay=0.0)
    assert adam.keys() == adamw.keys()
    assert any(not torch.equal(adam[k], adamw[k]) for k in adam)
    assert all(torch.equal(adam[k], adamw0[k]) for k in adam)
