"""Run seqlab code on a faked 'cuda' device (FakeTensorMode) in a CPU-only torch build.

Host reads (.item(), .tolist(), bool(t)) do not raise: each is logged with the seqlab frame that made it,
and gets a stand-in value. backward() runs (fake_cuda.install: no-op CUDA guards and hooks).
"""
import contextlib
import os
import sys
from unittest import mock
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
import fake_cuda

fake_cuda.install()
import torch._subclasses.fake_tensor as _ft
_ft.CONSTANT_NUMEL_LIMIT = 0  # no real constants: a real CUDA copy of one cannot be made here
# CUDA-only fused cell kernels (nn.GRUCell/LSTMCell on CUDA) have no meta kernel: shapes only
_lib = torch.library.Library("aten", "IMPL")
_lib.impl("_thnn_fused_gru_cell", lambda ig, hg, hx, ib=None, hb=None: (hx.new_empty(hx.shape), hx.new_empty(hx.shape[0], 5 * hx.shape[1])), "Meta")
_lib.impl("_thnn_fused_gru_cell_backward", lambda g, ws, has_bias: (
    ws.new_empty(g.shape[0], 3 * g.shape[1]), ws.new_empty(g.shape[0], 3 * g.shape[1]), g.new_empty(g.shape),
    ws.new_empty(3 * g.shape[1]) if has_bias else None, ws.new_empty(3 * g.shape[1]) if has_bias else None), "Meta")
_lib.impl("_thnn_fused_lstm_cell_backward_impl", lambda ghy, gcy, cx, cy, ws, has_bias: (
    ws.new_empty(ws.shape), cx.new_empty(cx.shape), ws.new_empty(ws.shape[1]) if has_bias else None), "Meta")
_lib.impl("_fused_sgd_", lambda *a, **k: None, "Meta")  # in place: nothing to compute for shapes
_lib.impl("_thnn_fused_lstm_cell", lambda ig, hg, cx, ib=None, hb=None: (cx.new_empty(cx.shape), cx.new_empty(cx.shape), cx.new_empty(cx.shape[0], 4 * cx.shape[1])), "Meta")
SYNCS = []


class LoggingFake(FakeTensorMode):
    def dispatch(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            t = args[0]
            SYNCS.append((fake_cuda.caller_line(), str(t.device)))
            if t.dtype == torch.bool:
                return True
            return 1 if not t.dtype.is_floating_point else 0.5
        return super().dispatch(func, types, args, kwargs)


_real_to = torch.nn.Module.to


def _module_to(self, *args, **kwargs):
    device, dtype, _, _ = torch._C._nn._parse_to(*args, **kwargs)
    if device is None or dtype is not None:
        return _real_to(self, *args, **kwargs)
    memo = {}
    for m in self.modules():
        for k, p in list(m._parameters.items()):
            if p is not None:
                if id(p) not in memo:
                    memo[id(p)] = torch.nn.Parameter(p.detach().to(device), requires_grad=p.requires_grad)
                m._parameters[k] = memo[id(p)]
        for k, b in list(m._buffers.items()):
            if b is not None:
                m._buffers[k] = b.to(device)
        if hasattr(m, '_init_flat_weights'):
            m._init_flat_weights()
    return self


@contextlib.contextmanager
def fake_cuda_device():
    mode = LoggingFake(allow_non_fake_inputs=True)
    with mode, contextlib.ExitStack() as st:
        fake_cuda.patch_torch_cuda(st)
        # Module.to() swaps a fake parameter for its moved copy, which a converter's weakref forbids
        st.enter_context(mock.patch.object(torch.nn.Module, 'to', _module_to))
        yield mode
