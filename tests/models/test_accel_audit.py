"""Mutation-audit tests of accel.py: what the other accel tests left open (bf16 as autocast's dtype,
a driver error, the fallback warning's words and where it points, the rebuilt optimiser's groups
fused), with CUDA simulated as in test_fast_accel.py."""

import warnings

import pytest
import torch

from seqlab.models import accel


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(accel, "_warned", set())


def _ampere(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (8, 0))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


def test_autocast_on_an_ampere_gpu_is_bfloat16(monkeypatch):
    _ampere(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (torch's own, about the simulated device)
        ctx = accel.autocast("cuda")
    assert isinstance(ctx, torch.autocast) and ctx.device == "cuda" and ctx.fast_dtype == torch.bfloat16


def test_a_driver_error_is_a_noop_with_one_warning_that_points_at_the_caller(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def broken(*args, **kwargs):
        raise RuntimeError("simulated: CUDA driver error")
    monkeypatch.setattr(torch.cuda, "get_device_capability", broken)
    with pytest.warns(RuntimeWarning, match="bf16 autocast is not available on cuda; falling back to the plain path") \
            as caught:
        ctx = accel.autocast("cuda")
    assert not isinstance(ctx, torch.autocast)
    assert [w.filename for w in caught] == [__file__]  # the caller's line, not seqlab's


@pytest.mark.skipif(tuple(map(int, torch.__version__.split(".")[:2])) < (2, 4),
                    reason="fused optimisers for CPU tensors (the stand-in for CUDA here) came in torch 2.4")
def test_every_group_of_the_rebuilt_optimiser_is_fused_even_one_built_with_foreach():
    # each group carries its own fused/foreach (None by default): a group's None would override the
    # constructor's fused=True, and foreach=True with fused=True is refused by torch
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    for foreach in (None, True):
        opt = torch.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=0.01, foreach=foreach)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            new = accel.fuse_optimizer(opt, "cuda")
        assert [g["fused"] for g in new.param_groups] == [True, True]
        assert [g["lr"] for g in new.param_groups] == [0.01, 0.1]
