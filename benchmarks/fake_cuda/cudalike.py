"""A 'cuda' device with real values in a CPU-only torch build: whole commands (data, training,
checkpoints, generation) run, and every tensor on the device is a CudaLike that holds its values on
the CPU but says cuda:0, so code that reads `.device` takes its CUDA branches.

What a GPU would refuse is refused here too (the checks torch makes on CUDA):
- an op mixing a CudaLike with a CPU tensor of one or more dims (0-dim CPU scalars are allowed, as
  on CUDA; so is indexing a CUDA tensor with CPU indices, and copy_/to between devices);
- a CPU torch.Generator given to an op on the device, or a device one to a CPU op;
- .numpy() of a device tensor.
Host reads of a device tensor (.item(), .tolist(), bool(), .cpu()) are logged (SYNCS) with the
seqlab line that made them. Not checked: kernels CUDA lacks for a dtype (ops run on the CPU's).
"""
import contextlib
import os
import sys
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from torch.utils import _pytree as pytree  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import fake_cuda  # noqa: E402

fake_cuda.install()
CUDA = torch.device("cuda", 0)
SYNCS: list[tuple[str, str]] = []
_CUDA_GENERATORS: list = []  # the generators asked for on cuda (CPU ones here)
aten = torch.ops.aten
# ops that may take tensors of both devices
_CROSS_OK = {aten.copy_.default, aten._to_copy.default, aten._copy_from.default, aten.index.Tensor,
             aten.index_put_.default, aten.index_put.default, aten._index_put_impl_.default,
             aten.lift_fresh.default, aten.lift_fresh_copy.default, aten.detach.default, aten.alias.default,
             aten.set_.source_Tensor, aten.is_pinned.default,
             # packed sequences: their lengths / batch_sizes live on the CPU whatever the data's device
             aten._pack_padded_sequence.default, aten._pad_packed_sequence.default,
             aten._pack_padded_sequence_backward.default, aten.lstm.data, aten.gru.data, aten.rnn_tanh.data,
             aten.rnn_relu.data}


class CudaLike(torch.Tensor):
    @staticmethod
    def __new__(cls, inner: torch.Tensor):
        assert type(inner) is torch.Tensor and inner.device.type == "cpu", type(inner)
        t = torch.Tensor._make_wrapper_subclass(cls, inner.size(), strides=inner.stride(),
                                                storage_offset=inner.storage_offset(), dtype=inner.dtype,
                                                layout=inner.layout, device=CUDA, requires_grad=False)
        t.inner = inner
        return t

    def __repr__(self, **kwargs):
        return f"CudaLike({self.inner!r})"

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
                        "tensor to host memory first.")

    def tolist(self):  # (torch refuses .tolist() of a subclass)
        SYNCS.append((fake_cuda.caller_line(), "tolist"))
        return self.inner.tolist()

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


def _on_cuda(gen) -> bool:
    """Whether `gen` (a new Python object for the generator each time it crosses the dispatcher) is one
    of _CUDA_GENERATORS: reseeding that one changes gen's state."""
    state = gen.get_state()
    for g in _CUDA_GENERATORS:
        if not torch.equal(g.get_state(), state):
            continue
        kept = g.get_state()
        g.manual_seed(g.initial_seed() + 1)
        same = not torch.equal(gen.get_state(), state)
        g.set_state(kept)
        if same:
            return True
    return False


def _is_cuda_device(d) -> bool:
    return d is not None and torch.device(d).type == "cuda"


def _run(func, args, kwargs):
    flat = pytree.tree_leaves((args, kwargs))
    on_dev = any(isinstance(a, CudaLike) for a in flat)
    if func is aten._local_scalar_dense.default and on_dev:
        SYNCS.append((fake_cuda.caller_line(), "item"))
    if func is aten._to_copy.default and on_dev and not _is_cuda_device(kwargs.get("device", CUDA)):
        SYNCS.append((fake_cuda.caller_line(), "to host"))
    if func not in _CROSS_OK and on_dev:
        cpu = [a for a in flat if type(a) is torch.Tensor and a.device.type == "cpu" and a.dim() > 0]
        if cpu:
            raise RuntimeError(f"{func}: Expected all tensors to be on the same device, but found at least "
                               f"two devices, cuda:0 and cpu! (cudalike)")
    if func is aten.index.Tensor and not isinstance(args[0], CudaLike) and on_dev:
        raise RuntimeError("indices should be either on cpu or on the same device as the indexed tensor (cpu) "
                           "(cudalike)")
    to_dev = _is_cuda_device(kwargs.get("device"))
    target_dev = to_dev or (on_dev and "device" not in kwargs) or (
        on_dev and func is not aten._to_copy.default)
    gen = kwargs.get("generator")
    if gen is not None:
        if target_dev and not _on_cuda(gen):
            raise RuntimeError("Expected a 'cuda' device type for generator but found 'cpu' (cudalike)")
        if not target_dev and _on_cuda(gen):
            raise RuntimeError("Expected a 'cpu' device type for generator but found 'cuda' (cudalike)")
    back = {}

    def unwrap(a):
        if isinstance(a, CudaLike):
            if a.shape != a.inner.shape or a.stride() != a.inner.stride():  # a harness bug, not seqlab's
                raise AssertionError(f"cudalike: wrapper {tuple(a.shape)} {a.stride()} over "
                                     f"{tuple(a.inner.shape)} {a.inner.stride()} (before {func})")
            back[id(a.inner)] = a
            return a.inner
        if isinstance(a, torch.device) and a.type == "cuda":
            return torch.device("cpu")
        return a

    uargs, ukwargs = pytree.tree_map(unwrap, (args, kwargs))
    if "device" in ukwargs and _is_cuda_device(kwargs.get("device")):
        ukwargs["device"] = torch.device("cpu")
    if ukwargs.get("pin_memory"):
        ukwargs["pin_memory"] = False
    out = _CUDA_ONLY[func](*uargs, **ukwargs) if func in _CUDA_ONLY else func(*uargs, **ukwargs)
    if torch.Tag.inplace_view in func.tags and isinstance(args[0], CudaLike):
        # transpose_, squeeze_, ...: the wrapper's own sizes and strides change too (as torch's
        # return_and_correct_aliasing does it: the op run on its metadata alone)
        with torch.utils._mode_utils.no_dispatch():
            meta = torch._C._meta_in_tls_dispatch_include()
            torch._C._set_meta_in_tls_dispatch_include(True)
            try:
                func(*args, **kwargs)
            finally:
                torch._C._set_meta_in_tls_dispatch_include(meta)
    if func is aten._to_copy.default:
        wrap_out = to_dev or (on_dev and "device" not in kwargs)
    else:
        wrap_out = on_dev or to_dev

    def wrap(o):
        if type(o) is torch.Tensor:
            if id(o) in back:
                return back[id(o)]
            return CudaLike(o) if wrap_out else o
        return o

    if func in _CPU_OUTPUTS:  # (a CUDA kernel gives these outputs on the CPU)
        return tuple(o if i in _CPU_OUTPUTS[func] else wrap(o) for i, o in enumerate(out))
    return pytree.tree_map(wrap, out)


# CUDA-only kernels nn.LSTM / nn.GRU (and their cells) call on a CUDA device, on the CPU
def _lstm_cell(ig, hg, cx, ib=None, hb=None):
    gates = ig + hg + (ib if ib is not None else 0) + (hb if hb is not None else 0)
    i, f, g, o = gates.chunk(4, 1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    cy = f * cx + i * g
    return o * cy.tanh(), cy, torch.cat([i, f, g, o], 1)


def _lstm_cell_backward(ghy, gcy, cx, cy, ws, has_bias):
    i, f, g, o = ws.chunk(4, 1)
    tc = cy.tanh()
    ghy = torch.zeros_like(cy) if ghy is None else ghy
    gc = (torch.zeros_like(cy) if gcy is None else gcy) + ghy * o * (1 - tc * tc)
    grad = torch.cat([gc * g * i * (1 - i), gc * cx * f * (1 - f), gc * i * (1 - g * g), ghy * tc * o * (1 - o)], 1)
    return grad, gc * f, grad.sum(0) if has_bias else None


def _gru_cell(ig, hg, hx, ib=None, hb=None):
    ig = ig + (ib if ib is not None else 0)
    hg = hg + (hb if hb is not None else 0)
    ir, iz, in_ = ig.chunk(3, 1)
    hr, hz, hn = hg.chunk(3, 1)
    r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
    n = (in_ + r * hn).tanh()
    return (1 - z) * n + z * hx, torch.cat([r, z, n, hx, hn], 1)


def _gru_cell_backward(ghy, ws, has_bias):
    r, z, n, hx, hn = ws.chunk(5, 1)
    gn = ghy * (1 - z) * (1 - n * n)
    gz = ghy * (hx - n) * z * (1 - z)
    gr = gn * hn * r * (1 - r)
    gi, gh = torch.cat([gr, gz, gn], 1), torch.cat([gr, gz, gn * r], 1)
    return gi, gh, ghy * z, gi.sum(0) if has_bias else None, gh.sum(0) if has_bias else None


_CUDA_ONLY = {aten._thnn_fused_lstm_cell.default: _lstm_cell,
              aten._thnn_fused_lstm_cell_backward_impl.default: _lstm_cell_backward,
              aten._thnn_fused_gru_cell.default: _gru_cell,
              aten._thnn_fused_gru_cell_backward.default: _gru_cell_backward}


_CPU_OUTPUTS = {aten._pack_padded_sequence.default: {1}, aten._pad_packed_sequence.default: {1}}


class _Mode(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


_RealGenerator = torch.Generator


class _Generator(_RealGenerator):
    """A CPU generator that remembers it was asked for on cuda (a CUDA build's would be there)."""

    def __new__(cls, device="cpu"):
        g = super().__new__(cls)
        if torch.device(device).type == "cuda":
            _CUDA_GENERATORS.append(g)
        return g

    def __init__(self, device="cpu"):
        super().__init__()


@contextlib.contextmanager
def cuda_like():
    """Run the body with a CudaLike 'cuda' device (see the module's docstring)."""
    SYNCS.clear()
    _CUDA_GENERATORS.clear()
    with contextlib.ExitStack() as st:
        fake_cuda.patch_torch_cuda(st)
        st.enter_context(mock.patch.object(torch, "Generator", _Generator))
        # Module.to(): a new Parameter around the moved tensor (`param.data = moved` would give the
        # Parameter a CudaLike's impl without its Python object)
        was = torch.__future__.get_overwrite_module_params_on_conversion()
        torch.__future__.set_overwrite_module_params_on_conversion(True)
        st.callback(torch.__future__.set_overwrite_module_params_on_conversion, was)
        # torch.tensor(data, device="cuda") builds on the CPU and moves the result (through the mode)
        lift = torch._C._only_lift_cpu_tensors()
        torch._C._set_only_lift_cpu_tensors(True)
        st.callback(torch._C._set_only_lift_cpu_tensors, lift)
        st.enter_context(_Mode())
        yield
