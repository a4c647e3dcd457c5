"""torch_compat, mutation audit 4: every tracer that `tracing` names is seen (torch.fx's too),
`float32_fwd` itself casts under a CPU autocast, a tensor on another device is left as torch's
cast_inputs leaves it, and torch < 2.4's autocast query tells the devices apart (run here by
standing in torch 2.2's one-argument-less `is_autocast_enabled`)."""

import pytest
import torch

from seqlab import torch_compat


class Ctx:
    """A stand-in for an autograd Function's ctx (torch's decorator writes attributes on it)."""


def _probe(ctx, x, *, y=None):
    return x.dtype, None if y is None else y.dtype, torch_compat.autocast_enabled("cpu")


def test_fx_symbolic_trace_is_a_tracer_for_every_question():
    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            seen.append((torch_compat.tracing(), torch_compat.recorded_by_tracer(),
                         torch_compat.plain_autograd_only(None)))
            return x + 1

    Probe()(torch.zeros(1))
    torch.fx.symbolic_trace(Probe())
    assert seen == [(False, False, False), (True, True, True)]


def test_float32_fwd_casts_under_a_cpu_autocast_and_leaves_other_devices_tensors():
    fwd = torch_compat.float32_fwd(_probe)
    x = torch.ones(2, dtype=torch.bfloat16)
    assert fwd(Ctx(), x) == (torch.bfloat16, None, False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert fwd(Ctx(), x) == (torch.float32, None, False)
        on_meta = torch.ones(2, dtype=torch.float16, device="meta")  # not a CPU tensor: torch's _cast leaves it
        assert fwd(Ctx(), x, y=on_meta) == (torch.float32, torch.float16, False)
        assert torch_compat._cpu_fp32_fwd(_probe)(Ctx(), x, y=on_meta) == (torch.float32, torch.float16, False)


@pytest.mark.filterwarnings("ignore:torch.is_autocast_cpu_enabled:DeprecationWarning")
def test_the_torch_2_2_autocast_query_tells_cpu_cuda_and_other_devices_apart(monkeypatch):
    # torch 2.2: torch.is_autocast_enabled() takes no device and answers for CUDA; here a CUDA autocast is on
    monkeypatch.setattr(torch_compat, "_NEW_AUTOCAST_API", False)
    current = torch.is_autocast_enabled  # (torch.autocast itself asks it with a device)
    monkeypatch.setattr(torch, "is_autocast_enabled", lambda *device: current(*device) if device else True)
    assert torch_compat.autocast_enabled("cuda") is True
    assert torch_compat.autocast_enabled("cpu") is False  # torch.is_autocast_cpu_enabled(): no CPU autocast
    assert torch_compat.autocast_enabled("meta") is False
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch_compat.autocast_enabled("cpu") is True
