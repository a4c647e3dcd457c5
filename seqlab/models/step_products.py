"""The step products of the fast recurrences (fast_cells.py): one small (B, K) block times the same
weight at every time step, and the one large weight-gradient product per sequence, each through the
CPU kernel that runs it fastest on the machine (oneDNN's, MKL's packed-weight sgemm, or addmm)."""

from __future__ import annotations

import platform

import torch

from seqlab.torch_compat import is_compiling, recorded_by_tracer

# --- the step products ------------------------------------------------------------------
# Every step multiplies a small (B, K) block by the same weight. On an AMD CPU with AVX-512,
# oneDNN's linear kernel runs these at about twice the FLOP rate of the default sgemm (MKL); on
# an AVX2-only one it is slower (AMD EPYC, 1 thread: 47 vs 57 GFLOP/s for the step product, 50 vs
# 79 for the weight gradient), and on an Intel one with AVX-512, where MKL takes its own fast
# paths, slower too (Xeon, 2 threads: 172 vs 246 and 188 vs 305 GFLOP/s; the scratch cells 1.1-1.2x
# d2l's with it, 1.4-1.7x without; benchmarks/RESULTS.md). So float32 CPU products go through
# oneDNN where ATen reports AVX-512 on an AMD CPU (`ONEDNN = None`, the default); `True` / `False`
# force it on / off. Anything else (float64, CUDA) uses addmm.
ONEDNN: bool | None = None
_onednn_state: list[bool] = []  # [works?] once probed


def _onednn_pays() -> bool:
    """True on an AMD CPU whose vector units ATen drives with AVX-512."""
    avx512 = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")().startswith("AVX512")
    return avx512 and cpu_vendor() == "AuthenticAMD"


def cpu_vendor() -> str:
    """The x86 CPU's vendor string (GenuineIntel, AuthenticAMD), '' where it cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:  # Linux
            for line in f:
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    text = platform.processor()  # Windows: "AMD64 Family 25 Model 97 Stepping 2, AuthenticAMD"
    return next((v for v in ("GenuineIntel", "AuthenticAMD") if v in text), "")


# Read once: a call per sequence would also break a torch.compile graph (it returns a str).
_ONEDNN_PAYS = _onednn_pays()


def _onednn_linear(x: torch.Tensor, w_nk: torch.Tensor) -> torch.Tensor:
    """x (M, K) @ w_nk (N, K)^T -> (M, N), by oneDNN."""
    return torch.ops.mkldnn._linear_pointwise(x, w_nk, None, "none", [], "")


def _use_onednn(t: torch.Tensor) -> bool:
    # not under torch.compile: inductor lowers oneDNN's linear only for constant (frozen) weights
    # and fails an assertion on a trained one (AVX-512 CPUs, where this path is the default); not
    # under torch.jit.trace: the tracer cannot record the op's empty list argument ("unsupported
    # input list type"), and a probe run there would turn oneDNN off for the whole process
    if ONEDNN is False or t.device.type != "cpu" or t.dtype != torch.float32 or is_compiling() \
            or recorded_by_tracer():
        return False
    return (ONEDNN or _ONEDNN_PAYS) and _onednn_works()


# On an Intel CPU with AVX-512 the step product runs faster still through MKL's sgemm with its weight
# packed once per sequence (torch.ops.mkl._mkl_linear, as inductor's CPU backend runs linear layers):
# RNN-512's (32x512)@(512x512) at 300 vs addmm's 210 GFLOP/s, its training step 1.49-1.57x d2l's
# with it, 1.46-1.47x without (benchmarks/RESULTS.md). `MKL_PACKED = None` (the default) takes it
# there; `True` / `False` force it on / off. A build without MKL falls back with one warning.
MKL_PACKED: bool | None = None
_mkl_state: list[bool] = []


def _mkl_packed_pays() -> bool:
    """True on an Intel CPU whose vector units ATen drives with AVX-512."""
    avx512 = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")().startswith("AVX512")
    return avx512 and cpu_vendor() == "GenuineIntel"


_MKL_PACKED_PAYS = _mkl_packed_pays()


def _use_mkl_packed(t: torch.Tensor) -> bool:
    # (not under torch.compile or a tracer, as oneDNN's products)
    if MKL_PACKED is False or t.device.type != "cpu" or t.dtype != torch.float32 or is_compiling() \
            or recorded_by_tracer():
        return False
    return (MKL_PACKED or _MKL_PACKED_PAYS) and _mkl_packed_works()


def _mkl_packed_works() -> bool:
    """Whether this PyTorch build has MKL's packed-weight linear kernel (probed once; one warning if not)."""
    if not _mkl_state:
        try:
            a = torch.arange(6.0).view(2, 3)
            packed = torch.ops.mkl._mkl_reorder_linear_weight(a, 2)
            ok = torch.allclose(torch.ops.mkl._mkl_linear(a, packed, a, None, 2), a @ a.T)
        except Exception:  # noqa: BLE001 (a build without MKL: ARM, some source builds)
            ok = False
        if not ok:
            from seqlab.models.accel import warn_once

            warn_once("mkl-packed", "MKL's packed-weight linear kernel is not available in this PyTorch build")
        _mkl_state.append(ok)
    return _mkl_state[0]


def _onednn_works() -> bool:
    """Whether this PyTorch build has oneDNN's linear kernel (probed once; one warning if not)."""
    if not _onednn_state:
        try:
            a = torch.arange(6.0).view(2, 3)
            ok = torch.allclose(_onednn_linear(a, a), a @ a.T)
        except Exception:  # noqa: BLE001 (a build without oneDNN)
            ok = False
        if not ok:
            from seqlab.models.accel import warn_once

            warn_once("onednn", "oneDNN's linear kernel is not available in this PyTorch build")
        _onednn_state.append(ok)
    return _onednn_state[0]


def _stepper(W: torch.Tensor, scale: float = 1.0):
    """f(x, add=None, out=None) = scale * (add + x @ W) for many x with the same W (K, N).

    `add` may be None. `out`, when given, receives the result: a loop that writes each step
    into a preallocated buffer allocates nothing per step. `scale` is a power of two (exact).
    """
    if _use_onednn(W):
        w_nk = W.T.contiguous()  # (N, K): oneDNN's weight layout, made once per sequence
        if scale != 1:
            w_nk.mul_(scale)

        def f(x, add=None, out=None):
            y = _onednn_linear(x, w_nk)
            if add is not None:
                return torch.add(y, add, alpha=scale, out=out)
            return y if out is None else out.copy_(y)
        return f
    if _use_mkl_packed(W):
        w_nk = W.T.contiguous()  # (N, K), as oneDNN's; packed for each batch size met (one a sequence)
        if scale != 1:
            w_nk.mul_(scale)
        packed: dict[int, torch.Tensor] = {}

        def f(x, add=None, out=None):
            rows = x.shape[0]
            if rows not in packed:
                packed[rows] = torch.ops.mkl._mkl_reorder_linear_weight(w_nk, rows)
            y = torch.ops.mkl._mkl_linear(x, packed[rows], w_nk, None, rows)
            if add is not None:
                return torch.add(y, add, alpha=scale, out=out)
            return y if out is None else out.copy_(y)
        return f
    if W.device.type == "cpu":
        # The backward passes W_h.T, a transposed view: MKL's sgemm runs the step products 7-10 %
        # faster (RNN-512, GRU-256) and 35 % faster (LSTM-256) on a row-major copy, made once per
        # sequence; the LSTM's whole training step gains ~6 % (benchmarks/RESULTS.md, "Row-major
        # backward weight").
        W = W.contiguous()
    if scale != 1:
        W = W * scale

    def f(x, add=None, out=None):
        if add is None:
            return torch.mm(x, W, out=out)
        return torch.addmm(add, x, W, beta=scale, out=out)
    return f


def _mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (M, K) @ b (K, N), for the one large weight-gradient product per sequence."""
    if _use_onednn(b):
        return _onednn_linear(a.contiguous(), b.T.contiguous())
    return a @ b
