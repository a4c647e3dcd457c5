"""seqlab.torch_compat: the older-PyTorch forms behave as the current API they stand in for.

CI runs one PyTorch (2.13), so the torch 2.2 / 2.3 branches are exercised here by calling them
directly; `bash .ci/oldest` runs the whole suite on torch 2.2.0 (README, "Supported versions")."""

import pytest
import torch

from seqlab import torch_compat


class Ctx:
    """A stand-in for an autograd Function's ctx (torch's decorator writes attributes on it)."""


def _probe(ctx, x, *, y=None):
    """What a decorated forward sees: its inputs' dtypes and whether the CPU autocast is on."""
    return x.dtype, None if y is None else y.dtype, torch_compat.autocast_enabled("cpu")


def test_cpu_float32_forward_casts_only_under_a_cpu_autocast():
    fwd = torch_compat._cpu_fp32_fwd(_probe)
    x = torch.ones(2, dtype=torch.bfloat16)
    ids = torch.ones(2, dtype=torch.int64)
    assert fwd(Ctx(), x, y=ids) == (torch.bfloat16, torch.int64, False)  # outside: as it is
    with torch.autocast("cpu", dtype=torch.bfloat16):
        # inside: floats in float32 (ids untouched), the autocast off for the forward's body
        assert fwd(Ctx(), x, y=ids) == (torch.float32, torch.int64, False)
        assert fwd(Ctx(), ids)[0] == torch.int64
        assert fwd(Ctx(), x.double())[0] == torch.float64  # as torch's cast_inputs: float64 left as it is
        assert torch_compat.autocast_enabled("cpu")  # and back on after it


@pytest.mark.skipif(not hasattr(torch.amp, "custom_fwd"), reason="torch < 2.4 has no torch.amp.custom_fwd")
def test_cpu_float32_forward_agrees_with_the_current_api():
    # torch >= 2.4's own decorator, on the same inputs, inside and outside a CPU autocast
    current = torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)(_probe)
    ours = torch_compat._cpu_fp32_fwd(_probe)
    x = torch.ones(3, dtype=torch.bfloat16)
    for y in (torch.ones(3, dtype=torch.float16), torch.ones(3, dtype=torch.float64)):  # float64: kept
        assert ours(Ctx(), x, y=y) == current(Ctx(), x, y=y)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert ours(Ctx(), x, y=y) == current(Ctx(), x, y=y)


def test_autocast_enabled_per_device():
    assert not torch_compat.autocast_enabled("cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch_compat.autocast_enabled("cpu")
        assert not torch_compat.autocast_enabled("cuda")
    assert torch_compat.is_compiling() is False


def test_functorch_wrapped_tells_tensors_inside_torch_func_transforms(monkeypatch):
    seen = []

    def f(x):
        seen.append((torch_compat.functorch_wrapped(None, x), torch_compat.functorch_wrapped(None)))
        return x.sum()

    x = torch.ones(2, 3)
    f(x)
    torch.func.vmap(f)(x)
    torch.func.grad(f)(x)
    assert seen == [(False, False), (True, False), (True, False)]
    monkeypatch.setattr(torch_compat, "_is_functorch_wrapped", None)  # a torch without the private call
    torch.func.vmap(f)(x)
    assert seen[-1] == (False, False)


def test_forward_ad_dual_tells_tensors_that_carry_a_tangent(monkeypatch):
    import types

    import torch.autograd.forward_ad as fwAD

    x, t = torch.ones(2, 3), torch.zeros(2, 3)
    for with_global in (True, False):  # (False: a torch without the private level global asks every tensor)
        if not with_global:
            monkeypatch.setattr(torch_compat, "_forward_ad", types.SimpleNamespace(unpack_dual=fwAD.unpack_dual))
        assert not torch_compat.forward_ad_dual(x, None)
        with fwAD.dual_level():
            dual = fwAD.make_dual(x, t)
            assert torch_compat.forward_ad_dual(None, x, dual) and torch_compat.forward_ad_dual(dual * 2)
            assert not torch_compat.forward_ad_dual(x, None) and not torch_compat.forward_ad_dual()
        assert not torch_compat.forward_ad_dual(x)
