"""The few PyTorch calls whose form changed between torch 2.2 (the oldest release pyproject admits)
and today: each is written once here with its older form, so the rest of the code reads as for
current PyTorch and still imports and runs on 2.2 / 2.3.

- `torch.is_autocast_enabled(device_type)` takes a device from 2.4 on (before: no argument for
  CUDA, `torch.is_autocast_cpu_enabled()` for the CPU);
- `torch.compiler.is_compiling()` arrived in 2.3 (2.2: `torch._dynamo.is_compiling()`);
- `torch.amp.custom_fwd/custom_bwd(device_type=...)` arrived in 2.4 (before: CUDA's own
  `torch.cuda.amp.custom_fwd/custom_bwd`, and nothing for a CPU autocast, done here by hand);
- `torch._C._functorch.is_functorch_wrapped_tensor` (private, in 2.2 to 2.13) may go: then
  `functorch_wrapped` says False;
- `torch.autograd.forward_ad._current_level` (private, in 2.2 to 2.13) may go: then
  `forward_ad_dual` asks each tensor.
"""

from __future__ import annotations

import functools

import torch
from torch.autograd import forward_ad as _forward_ad

_NEW_AUTOCAST_API = hasattr(torch.amp, "custom_fwd")  # torch >= 2.4


def autocast_enabled(device_type: str) -> bool:
    """Whether an autocast region is active for `device_type` ("cpu" or "cuda"; False for a device
    that has no autocast, such as "meta")."""
    if _NEW_AUTOCAST_API:
        try:
            return torch.is_autocast_enabled(device_type)
        except RuntimeError:  # "unknown device type for autocast"
            return False
    if device_type == "cpu":
        return torch.is_autocast_cpu_enabled()
    return device_type == "cuda" and torch.is_autocast_enabled()


if hasattr(torch.compiler, "is_compiling"):
    is_compiling = torch.compiler.is_compiling
else:  # torch 2.2
    def is_compiling() -> bool:
        """Whether the code runs while torch.compile traces it."""
        return torch._dynamo.is_compiling()


_fx = torch.fx._symbolic_trace
if hasattr(_fx, "is_fx_symbolic_tracing"):  # newer torch: is_fx_tracing() warns, and is also up under export
    def _fx_tracing() -> bool:
        """Whether torch.fx.symbolic_trace runs the code."""
        return _fx.is_fx_symbolic_tracing()
else:  # torch 2.2
    def _fx_tracing() -> bool:
        """Whether torch.fx.symbolic_trace runs the code."""
        return _fx.is_fx_tracing()


def tracing() -> bool:
    """Whether a tracer or compiler runs the code: torch.compile / torch.export, torch.jit.trace,
    torch.fx.symbolic_trace. A model's input checks that read tensor values (a host sync, a graph
    break, a data-dependent export error) or test Python types (fx passes Proxies) stand aside there."""
    return is_compiling() or torch.jit.is_tracing() or _fx_tracing()


def recorded_by_tracer() -> bool:
    """Whether torch.jit.trace or torch.fx.symbolic_trace records this run. A model's input checks
    stand aside there: fx passes Proxies, whose type, shape and values no check can read, and
    jit.trace would record each comparison of a size as a constant, with a TracerWarning; the
    example input a tracer runs is one the model reads anyway. Under torch.compile they run: dynamo
    compares sizes symbolically (guards, no graph break), so a wrong input is still refused with its
    message.

    Not `tracing() and not is_compiling()`: when a check raises, dynamo runs the frame eagerly and
    compiles the small functions it calls as frames of their own, with is_compiling() baked in as
    True, so `tracing()` said True in eager code and the check stood aside."""
    return torch.jit.is_tracing() or _fx_tracing()


# (torch/csrc/functorch/init.cpp binds it, as `maybe_get_level(t) != -1`, in releases older than 2.2 and in 2.13)
_is_functorch_wrapped = getattr(getattr(torch._C, "_functorch", None), "is_functorch_wrapped_tensor", None)


def functorch_wrapped(*tensors) -> bool:
    """Whether a torch.func transform (grad, vmap, jacrev, jvp, functional per-sample gradients)
    runs over one of `tensors` (None entries are skipped): it hands in wrapped tensors (GradTracking,
    Batched). The fast paths' autograd.Functions (fast_cells, fused_loss) stand aside there for the
    plain autograd ops, which every transform supports: they have no setup_context or vmap rule, and
    torch raises "it must override the setup_context staticmethod" from inside the transform.
    One C call per tensor, no host sync; a torch that lacks the call says False."""
    if _is_functorch_wrapped is None:
        return False
    return any(t is not None and _is_functorch_wrapped(t) for t in tensors)


def forward_ad_dual(*tensors) -> bool:
    """Whether one of `tensors` (None entries are skipped) carries a forward-mode AD tangent
    (`torch.autograd.forward_ad.make_dual` inside `dual_level()`). The fast paths' autograd.Functions
    stand aside there too: they have no jvp, and torch raises "You must implement the jvp function
    for custom autograd.Function to use it with forward mode AD" from them. (torch.func.jvp hands in
    wrapped tensors: `functorch_wrapped`.)

    A tangent lives only while a dual level is entered (leaving it drops them), and the level is a
    module global: outside one, every other call, this is that read and a comparison; inside,
    `unpack_dual` of each tensor. A torch without the global asks each tensor always."""
    if getattr(_forward_ad, "_current_level", None) == -1:
        return False
    return any(t is not None and _forward_ad.unpack_dual(t).tangent is not None for t in tensors)


def plain_autograd_only(*tensors) -> bool:
    """Whether seqlab's own autograd.Functions (the fast recurrence, the fused output loss) must stand
    aside for plain autograd ops over `tensors`: under a tracer or compiler (`tracing`), a torch.func
    transform (`functorch_wrapped`) or forward-mode AD's dual tensors (`forward_ad_dual`)."""
    return tracing() or functorch_wrapped(*tensors) or forward_ad_dual(*tensors)


def _to_float32(value):
    """As torch's own cast_inputs: CPU floating tensors but float64, which is left as it is."""
    if (isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype is not torch.float64
            and value.device.type == "cpu"):
        return value.float()
    return value


def _cpu_fp32_fwd(forward):
    """torch < 2.4's missing `custom_fwd(device_type="cpu", cast_inputs=float32)`: under a CPU
    autocast, the forward gets its floating-point CPU tensors in float32 and runs with the autocast
    off (outside one, it runs as it is)."""
    @functools.wraps(forward)
    def wrapper(ctx, *args, **kwargs):
        if not autocast_enabled("cpu"):
            return forward(ctx, *args, **kwargs)
        with torch.autocast("cpu", enabled=False):
            return forward(ctx, *map(_to_float32, args),
                           **{k: _to_float32(v) for k, v in kwargs.items()})
    return wrapper


if _NEW_AUTOCAST_API:
    _fwd_cuda = torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)
    _fwd_cpu = torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)
    custom_bwd_cuda = torch.amp.custom_bwd(device_type="cuda")
else:  # torch 2.2 / 2.3
    _fwd_cuda = torch.cuda.amp.custom_fwd(cast_inputs=torch.float32)
    _fwd_cpu = _cpu_fp32_fwd
    custom_bwd_cuda = torch.cuda.amp.custom_bwd


def float32_fwd(forward):
    """Decorates an autograd Function's forward: under a CUDA or CPU autocast its floating inputs
    arrive in float32 and it runs with the autocast off (pair its backward with `custom_bwd_cuda`)."""
    return _fwd_cuda(_fwd_cpu(forward))
