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


def _avx512_cpu_of(vendor: str) -> bool:
    """True on a CPU of `vendor` ("AuthenticAMD", "GenuineIntel") whose vector units ATen drives with AVX-512."""
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()
    return capability.startswith("AVX512") and cpu_vendor() == vendor


def _onednn_pays() -> bool:
    return _avx512_cpu_of("AuthenticAMD")


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


def _onednn_linear(x: torch.Tensor, w_nk: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x (M, K) @ w_nk (N, K)^T (+ bias (N,)) -> (M, N), by oneDNN."""
    return torch.ops.mkldnn._linear_pointwise(x, w_nk, bias, "none", [], "")


def _eager_cpu_float32(t: torch.Tensor) -> bool:
    """Where a CPU kernel of its own (oneDNN's, MKL's packed) may run the products of weight `t`: a
    float32 CPU tensor, outside torch.compile (inductor lowers oneDNN's linear only for constant,
    frozen weights, and fails an assertion on a trained one) and outside torch.jit.trace / fx (the
    tracer cannot record oneDNN's empty list argument, "unsupported input list type", and a probe
    run there would turn the kernel off for the whole process)."""
    return t.device.type == "cpu" and t.dtype == torch.float32 and not is_compiling() and not recorded_by_tracer()


def _use_onednn(t: torch.Tensor) -> bool:
    return ONEDNN is not False and _eager_cpu_float32(t) and bool(ONEDNN or _ONEDNN_PAYS) and _onednn_works()


# On an Intel CPU with AVX-512 the step product runs faster still through MKL's sgemm with its weight
# packed once per sequence (torch.ops.mkl._mkl_linear, as inductor's CPU backend runs linear layers):
# RNN-512's (32x512)@(512x512) at 300 vs addmm's 210 GFLOP/s, its training step 1.49-1.57x d2l's
# with it, 1.46-1.47x without (benchmarks/RESULTS.md). `MKL_PACKED = None` (the default) takes it
# there; `True` / `False` force it on / off. A build without MKL falls back with one warning.
MKL_PACKED: bool | None = None
_mkl_state: list[bool] = []


def _mkl_packed_pays() -> bool:
    return _avx512_cpu_of("GenuineIntel")


_MKL_PACKED_PAYS = _mkl_packed_pays()


def _use_mkl_packed(t: torch.Tensor) -> bool:
    return (MKL_PACKED is not False and _eager_cpu_float32(t) and bool(MKL_PACKED or _MKL_PACKED_PAYS)
            and _mkl_packed_works())


def _mkl_packed_linear(x: torch.Tensor, w_nk: torch.Tensor, packed: torch.Tensor,
                       bias: torch.Tensor | None = None) -> torch.Tensor:
    """x (M, K) @ w_nk (N, K)^T (+ bias (N,)) -> (M, N), by MKL's sgemm on `packed`, w_nk packed for M rows."""
    return torch.ops.mkl._mkl_linear(x, packed, w_nk, bias, x.shape[0])


def _mkl_packed_works() -> bool:
    """Whether this PyTorch build has MKL's packed-weight linear kernel (probed once; one warning if not)."""
    return _works(_mkl_state, "mkl-packed", "MKL's packed-weight linear kernel",  # (not on ARM, some source builds)
                  lambda a: _mkl_packed_linear(a, a, torch.ops.mkl._mkl_reorder_linear_weight(a, 2)))


def _onednn_works() -> bool:
    """Whether this PyTorch build has oneDNN's linear kernel (probed once; one warning if not)."""
    return _works(_onednn_state, "onednn", "oneDNN's linear kernel", lambda a: _onednn_linear(a, a))


def _works(state: list[bool], name: str, kernel: str, linear) -> bool:
    """Whether `linear(a)`, `a @ a.T` by `kernel`, runs and agrees with matmul in this PyTorch build:
    probed once (the answer kept in `state`), one warning if not."""
    if not state:
        a = torch.arange(6.0).view(2, 3)
        try:
            ok = torch.allclose(linear(a), a @ a.T)
        except Exception:  # noqa: BLE001 (a build without that kernel)
            ok = False
        if not ok:
            from seqlab.models.accel import warn_once

            warn_once(name, f"{kernel} is not available in this PyTorch build")
        state.append(ok)
    return state[0]


def _stepper(W: torch.Tensor, scale: float = 1.0, bias: torch.Tensor | None = None):
    """f(x, add=None, out=None) = scale * (add + x @ W + bias) for many x with the same W (K, N).

    `add` may be None; `bias` (N,), the same at every step, is added by the product's own kernel
    (no kernel of its own per step). `out`, when given, receives the result: a loop that writes each
    step into a preallocated buffer allocates nothing per step (where the kernel has no `out=` form,
    MKL's and oneDNN's, that costs a copy: leave `out` None to take the kernel's own tensor).
    `scale` is a power of two (exact).
    """
    onednn = _use_onednn(W)
    if onednn or _use_mkl_packed(W):
        w_nk = W.T.contiguous()  # (N, K): both kernels' weight layout, made once per sequence
        b = None if bias is None else bias.contiguous()
        if scale != 1:
            w_nk.mul_(scale)
            b = None if b is None else b * scale
        if onednn:
            def linear(x):
                return _onednn_linear(x, w_nk, b)
        else:
            packed: dict[int, torch.Tensor] = {}  # w_nk packed for each batch size met (one a sequence)

            def linear(x):
                rows = x.shape[0]
                if rows not in packed:
                    packed[rows] = torch.ops.mkl._mkl_reorder_linear_weight(w_nk, rows)
                return _mkl_packed_linear(x, w_nk, packed[rows], b)

        def f(x, add=None, out=None):
            y = linear(x)
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
        if bias is not None:
            add = bias if add is None else add + bias
        if add is None:
            return torch.mm(x, W, out=out)
        return torch.addmm(add, x, W, beta=scale, out=out)
    return f


def _mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (M, K) @ b (K, N), for the one large weight-gradient product per sequence."""
    if _use_onednn(b):
        return _onednn_linear(a.contiguous(), b.T.contiguous())
    return a @ b
