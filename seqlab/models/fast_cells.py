"""Fast recurrences for the scratch cells: the same formulas with a hand-written BPTT.

The plain path (`ScratchCell.forward` in cells.py) runs every time step through autograd:
each step records ~10 tiny graph nodes and the backward replays them one by one, and the
recurrent weight's gradient is accumulated as T separate (H, G*H) products. Here each
recurrence is one `torch.autograd.Function`:

- forward: the loop runs without a graph; the activations every step needs for the
  backward are written into preallocated (T, B, ...) buffers, and every per-step result
  (step product, gate math) lands in place (`out=`): nothing is allocated per step (but the
  GRU's step product, its bias added by the product's kernel, which keeps its own tensor);
- backward: a loop over reversed time carries only the state gradients (dh, dc); each gate's
  gradient is one of them times a factor of its step alone, computed for all steps before the
  loop, so a step costs the fewest kernels; the per-step gate gradients land in one
  (T, B, G*H) buffer, so the weight gradient is ONE product over all T*B rows,
  `H_prev^T @ dGates`, and the input-projection gradient is that same buffer (autograd takes
  it back through `project`, the one matmul before the loop).

The maths is the cell's own, so the results are exact up to float rounding (parity
tests in float64 against the plain path: outputs, final state, and the gradients of the
inputs, the initial state and every weight). The layouts match cells.py:

    XW (T, B, G*H): the input projections X W_x + b of every step (gates stacked)
    W_h (H, G*H):   recurrent weights, input-major (h @ W_h)
    RNN: one gate; GRU (reset after the product, PyTorch's form): r, z, n;
    LSTM: i, f, g, o.

`recurrence(cell, XW, state)` returns `(Y (T, B, H), state)` or None when the cell has no
fast path (the book's reset-before GRU, the peephole LSTM), or torch.compile/export, torch.jit.trace
or a torch.func transform runs the code, or forward-mode AD: the caller then runs the plain loop.
"""

from __future__ import annotations

import functools

import torch
from torch.autograd.function import once_differentiable

from seqlab.errors import SeqlabError
from seqlab.models.step_products import _mm, _stepper
from seqlab.torch_compat import custom_bwd_cuda, float32_fwd, plain_autograd_only

# Under autocast (CUDA's, or a user's CPU autocast) the inputs arrive in bf16/fp16: the recurrence
# (a long product of gates, where low precision compounds) runs in float32 with autocast off
# (`float32_fwd` on each forward); the big matmuls around it (input projection, output layer) keep
# the autocast precision.


def first_order_only(what: str, way_out: str, plain: str):
    """Decorates a hand-written backward (outside `once_differentiable`, if used): refuse to run it
    under create_graph=True, where autograd runs backwards with grad mode on, naming `what` it is,
    `way_out` (how to turn it off) and the `plain` path that gives exact higher-order gradients.
    Run anyway, it returns a gradient graph that misses its own computation (here the second-order
    gradient of W_h came back None, W_x's wrong), silently."""
    def decorate(backward):
        @functools.wraps(backward)
        def wrapper(ctx, *grads):
            if torch.is_grad_enabled():
                raise SeqlabError(f"second-order gradients (create_graph=True: gradient penalties, Hessian-vector "
                                  f"products) are not supported by {what} (a hand-written first-order backward): "
                                  f"turn it off with {way_out}; {plain} exact higher-order gradients")
            return backward(ctx, *grads)
        return wrapper
    return decorate


_recurrence_first_order_only = first_order_only(
    "the scratch cells' fast recurrence", "net.fast = False on the language model, ScratchRNN or cell "
    "(ModelConfig(fast=False) or --no-fast when building one)", "the plain autograd loop gives")


def _zeros_if_none(g: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if g is None else g


def _sigmoid_grad(s: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """sigmoid' read off its output s: s - s^2, in one pass (into `out` if given)."""
    return torch.addcmul(s, s, s, value=-1, out=out)


def _tanh_grad(y: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """tanh' read off its output y: 1 - y^2, in one pass (into `out` if given)."""
    return torch.addcmul(torch.ones((), dtype=y.dtype, device=y.device), y, y, value=-1, out=out)


class _RNNRecurrence(torch.autograd.Function):
    """H_t = phi(XW_t + H_{t-1} W_h), phi = tanh or relu."""

    @staticmethod
    @float32_fwd
    def forward(ctx, XW, h0, W_h, relu: bool):
        ctx.set_materialize_grads(False)  # an output nothing reads gets None, not a zero tensor
        T = XW.shape[0]
        hs = XW.new_empty((T + 1, *h0.shape))  # (T+1, B, H): hs[0] = h0, hs[t+1] = H_t
        hs[0] = h0
        # per-step views made once (unbind): indexing inside the loop costs as much as a small kernel
        hs_, XW_ = hs.unbind(0), XW.unbind(0)
        # ATen's CPU tanh costs twice its sigmoid (41 vs 20 us for 32 x 512): there tanh(p) is
        # 2 sigmoid(2p) - 1, the 2p coming out of the step product itself (2 W_h, beta 2: exact).
        # Its absolute error is a few ulps of 1 (float32: 1.8e-7 vs tanh's 5e-8), too coarse
        # near 0 for bf16/fp16, which keep tanh.
        doubled = not relu and XW.device.type == "cpu" and XW.dtype in (torch.float32, torch.float64)
        step = _stepper(W_h, 2.0 if doubled else 1.0)
        minus_one = XW.new_full((), -1.0)
        for t in range(T):
            p = step(hs_[t], XW_[t], out=hs_[t + 1])  # the pre-activation (doubled), in place
            if relu:
                p.clamp_(min=0)
            elif doubled:
                torch.add(minus_one, p.sigmoid_(), alpha=2, out=p)
            else:
                p.tanh_()
        ctx.relu = relu
        ctx.save_for_backward(hs, W_h)
        return hs[1:], hs[T].clone()

    @staticmethod
    @_recurrence_first_order_only
    @once_differentiable
    @custom_bwd_cuda
    def backward(ctx, dY, dhT):
        hs, W_h = ctx.saved_tensors
        T = hs.shape[0] - 1
        Y = hs[1:]  # (T, B, H)
        dY = _zeros_if_none(dY, Y)
        dP = torch.empty_like(Y)  # (T, B, H): gradient of the pre-activations
        dY_, dP_, Y_ = dY.unbind(0), dP.unbind(0), Y.unbind(0)
        dh = dY_[T - 1] if dhT is None else dY_[T - 1] + dhT
        dh_next = torch.empty_like(Y_[0])  # each step's dh lands here: no allocation per step
        back = _stepper(W_h.T)
        need_h0 = ctx.needs_input_grad[1]  # a carried state is detached: no dh_0 product
        for t in range(T - 1, -1, -1):
            # dh * phi'(pre) in one kernel, phi' read off the output: 1 - Y^2 (tanh), Y > 0 (relu)
            if ctx.relu:
                torch.ops.aten.threshold_backward.grad_input(dh, Y_[t], 0, grad_input=dP_[t])
            else:
                torch.ops.aten.tanh_backward.grad_input(dh, Y_[t], grad_input=dP_[t])
            if t > 0:
                dh = back(dP_[t], dY_[t - 1], out=dh_next)
            else:
                dh = back(dP_[0]) if need_h0 else None
        H = hs.shape[-1]
        dW_h = _mm(hs[:-1].reshape(-1, H).T, dP.reshape(-1, H))  # one product over T*B rows
        return dP, dh, dW_h, None


class _GRURecurrence(torch.autograd.Function):
    """r, z = s(XW_rz + H W_rz + b_rz); n = tanh(XW_n + r * (H W_n + b_n)); H' = n + z (H - n)."""

    @staticmethod
    @float32_fwd
    def forward(ctx, XW, h0, W_h, b_h):
        ctx.set_materialize_grads(False)  # an output nothing reads gets None, not a zero tensor
        T, (B, H) = XW.shape[0], h0.shape
        hs = XW.new_empty((T + 1, B, H))
        hs[0] = h0
        rz = XW.new_empty((T, B, 2 * H))  # activated reset and update gates
        n = XW.new_empty((T, B, H))  # candidates
        hs_, rz_, n_ = hs.unbind(0), rz.unbind(0), n.unbind(0)
        r_, z_ = rz[..., :H].unbind(0), rz[..., H:].unbind(0)
        XW_rz, XW_n = XW[..., :2 * H].unbind(0), XW[..., 2 * H:].unbind(0)
        step = _stepper(W_h, bias=b_h)  # H W_h + b_h, the bias added by the product's kernel
        hn = []  # each step's H W_n + b_n (the reset gate multiplies it): the backward's
        for t in range(T):
            hh = step(hs_[t])  # (B, 3H), the kernel's own tensor (MKL's has no out=: no copy)
            torch.add(XW_rz[t], hh[:, :2 * H], out=rz_[t]).sigmoid_()
            hn.append(hh[:, 2 * H:])
            torch.addcmul(XW_n[t], r_[t], hn[t], out=n_[t]).tanh_()
            torch.lerp(n_[t], hs_[t], z_[t], out=hs_[t + 1])  # n + z (H - n), one kernel
        ctx.save_for_backward(hs, rz, n, torch.stack(hn), W_h)
        return hs[1:], hs[T].clone()

    @staticmethod
    @_recurrence_first_order_only
    @once_differentiable
    @custom_bwd_cuda
    def backward(ctx, dY, dhT):
        hs, rz, n, hn, W_h = ctx.saved_tensors
        T, B, H = n.shape
        dY = _zeros_if_none(dY, n)
        r, z = rz[..., :H], rz[..., H:]
        # What the loop carries back is dh, the gradient of H_t; every gate gradient is dh times a
        # factor of its step alone, computed here for all steps at once:
        #   d pre-n = dh (1 - z) tanh'(n) = dh dn_dh,  d pre-r = d pre-n hn s'(r),  d pre-z = dh (H - n) s'(z)
        #   d hn = d pre-n r
        # so each step costs one product with dh (all three, one (T, B, 3H) factor) and the step product.
        # (each factor in as few passes over (T, B, H) as the ops allow: they cost about what they save)
        dn_dh = _tanh_grad(n).mul_(1 - z)
        by_dh = torch.empty((T, B, 3 * H), dtype=n.dtype, device=n.device)  # d (H W_h + b_h) / dh: r, z, n
        _sigmoid_grad(rz, out=by_dh[..., :2 * H])  # s' of r and z, then times their factors above, in place
        by_dh[..., :H].mul_(dn_dh).mul_(hn)
        by_dh[..., H:2 * H].mul_(hs[:-1] - n)
        torch.mul(dn_dh, r, out=by_dh[..., 2 * H:])  # d hn / dh
        dHH = torch.empty_like(by_dh)  # gradient of H W_h + b_h
        dhs = torch.empty_like(n)  # every step's dh (the n gate's XW gradient is dh dn_dh, after the loop)
        gh, gh3 = dHH.unbind(0), dHH.unflatten(-1, (3, H)).unbind(0)
        dY_, dhs_, z_, by_dh_ = dY.unbind(0), dhs.unbind(0), z.unbind(0), by_dh.unflatten(-1, (3, H)).unbind(0)
        dh = dhs_[T - 1].copy_(dY_[T - 1]) if dhT is None else torch.add(dY_[T - 1], dhT, out=dhs_[T - 1])
        carried = torch.empty_like(dh)  # reused by every step
        back = _stepper(W_h.T)
        need_h0 = ctx.needs_input_grad[1]  # a carried state is detached: no dh_0 product
        for t in range(T - 1, -1, -1):
            torch.mul(dh.unsqueeze(1), by_dh_[t], out=gh3[t])  # d pre-r, d pre-z, d hn: one kernel
            if t > 0:
                dh = back(gh[t], torch.addcmul(dY_[t - 1], dh, z_[t], out=carried), out=dhs_[t - 1])
            else:
                dh = back(gh[0], dh * z_[0]) if need_h0 else None
        dW_h = _mm(hs[:-1].reshape(-1, H).T, dHH.reshape(-1, 3 * H))
        db_h = dHH.sum(dim=(0, 1))
        dXW = dHH  # XW's gradient: r, z as H W_h's; its n part, read above, becomes d pre-n = dh dn_dh
        torch.mul(dhs, dn_dh, out=dXW[..., 2 * H:])
        return dXW, dh, dW_h, db_h


class _LSTMRecurrence(torch.autograd.Function):
    """i, f, o = s(.), g = tanh(.) of XW + H W_h; C' = f C + i g; H' = o tanh(C').

    Returns Y (T, B, H), H_T, C_T and every step's cell state Cs (T, B, H), the packed layer's
    (`recurrent._by_lengths`: a row's final cell state is Cs at its own length); each has a gradient."""

    @staticmethod
    @float32_fwd
    def forward(ctx, XW, h0, c0, W_h):
        ctx.set_materialize_grads(False)  # an output nothing reads gets None, not a zero tensor
        T, (B, H) = XW.shape[0], h0.shape
        hs = XW.new_empty((T + 1, B, H))
        cs = XW.new_empty((T + 1, B, H))
        hs[0], cs[0] = h0, c0
        acts = XW.new_empty((T, B, 4 * H))  # activated gates i, f, g, o
        tc = XW.new_empty((T, B, H))  # tanh(C_t)
        hs_, cs_, acts_, tc_, XW_ = hs.unbind(0), cs.unbind(0), acts.unbind(0), tc.unbind(0), XW.unbind(0)
        i_, f_, g_, o_ = (acts[..., k * H:(k + 1) * H].unbind(0) for k in range(4))
        step = _stepper(W_h)
        gates = XW.new_empty((B, 4 * H))  # reused by every step
        for t in range(T):
            step(hs_[t], XW_[t], out=gates)  # (B, 4H)
            torch.sigmoid(gates, out=acts_[t])
            torch.tanh(gates[:, 2 * H:3 * H], out=g_[t])
            torch.mul(f_[t], cs_[t], out=cs_[t + 1]).addcmul_(i_[t], g_[t])
            torch.tanh(cs_[t + 1], out=tc_[t])
            torch.mul(o_[t], tc_[t], out=hs_[t + 1])
        ctx.save_for_backward(hs, cs, acts, tc, W_h)
        return hs[1:], hs[T].clone(), cs[T].clone(), cs[1:]

    @staticmethod
    @_recurrence_first_order_only
    @once_differentiable
    @custom_bwd_cuda
    def backward(ctx, dY, dhT, dcT, dCs):
        hs, cs, acts, tc, W_h = ctx.saved_tensors
        T, B, H = tc.shape
        dY = _zeros_if_none(dY, tc)
        # What the loop carries back is dh and dc, the gradients of H_t and C_t; every gate gradient is
        # one of them times a factor of its step alone, computed here for all steps at once:
        #   d pre-i = dc g s'(i),  d pre-f = dc C_{t-1} s'(f),  d pre-g = dc i tanh'(g),  d pre-o = dh tanh(C) s'(o)
        # so each step costs two products (and the step product) instead of five kernels.
        # (each factor in as few passes over (T, B, H) as the ops allow: they cost about what they save)
        by_d = _sigmoid_grad(acts)  # s' of i, f, o ...
        i_all, g_all = acts[..., :H], acts[..., 2 * H:3 * H]
        _tanh_grad(g_all, out=by_d[..., 2 * H:3 * H])  # ... tanh' of g
        by_d[..., :H] *= g_all  # then times the factors above, in place
        by_d[..., H:2 * H] *= cs[:-1]
        by_d[..., 2 * H:3 * H] *= i_all
        by_d[..., 3 * H:] *= tc
        o_dtc = _tanh_grad(tc).mul_(acts[..., 3 * H:])  # dC_t / dH_t along H = o tanh(C)
        dG = torch.empty_like(acts)  # (T, B, 4H): gradient of the pre-activations
        dG_ifg, do_ = dG[..., :3 * H].unflatten(-1, (3, H)).unbind(0), dG[..., 3 * H:].unbind(0)
        by_dc_, by_dh_ = by_d[..., :3 * H].unflatten(-1, (3, H)).unbind(0), by_d[..., 3 * H:].unbind(0)
        dY_, dG_, odtc_, f_ = dY.unbind(0), dG.unbind(0), o_dtc.unbind(0), acts[..., H:2 * H].unbind(0)
        dh = dY_[T - 1] if dhT is None else dY_[T - 1] + dhT
        dc = torch.zeros_like(tc[0]) if dcT is None else dcT.clone()
        dh_next = torch.empty_like(dc)  # each step's dh lands here: no allocation per step
        back = _stepper(W_h.T)
        need_h0 = ctx.needs_input_grad[1]  # a carried state is detached: no dh_0 product
        dCs_ = None if dCs is None else dCs.unbind(0)
        for t in range(T - 1, -1, -1):
            if dCs_ is not None:
                dc.add_(dCs_[t])
            dc.addcmul_(dh, odtc_[t])
            torch.mul(dc.unsqueeze(1), by_dc_[t], out=dG_ifg[t])  # d pre-i, d pre-f, d pre-g
            torch.mul(dh, by_dh_[t], out=do_[t])  # d pre-o
            dc.mul_(f_[t])
            if t > 0:
                dh = back(dG_[t], dY_[t - 1], out=dh_next)
            else:
                dh = back(dG_[0]) if need_h0 else None
        dW_h = _mm(hs[:-1].reshape(-1, H).T, dG.reshape(-1, 4 * H))
        return dG, dh, dc, dW_h


def recurrence(cell, XW: torch.Tensor, state):
    """The fast recurrence of `cell` over precomputed projections, or None if it has none.

    XW (T, B, G*H); state as the cell keeps it. Returns (Y (T, B, H), state).

    None under torch.compile/export: the plain loop compiles into one graph (on a CPU it runs
    1.00-1.16x this path's speed, accel.py), while this path's in-place writes into strided views
    (`out=`) break the graph at each of them and strict torch.export refuses them.
    None under torch.jit.trace (and fx): the tracer records the forward's own kernels, not the
    Function, and their `out=` forms cannot be differentiated, so the traced module failed in grad
    mode ("functions with out=... arguments don't support automatic differentiation"); the plain
    loop traces into differentiable ops.
    None under a torch.func transform (grad, vmap, jacrev: `functorch_wrapped`), which refuses an
    autograd.Function without setup_context and a vmap rule, and for forward-mode AD's dual tensors
    (`forward_ad_dual`): the Functions have no jvp.
    """
    from seqlab.models.cells import GRUCell, LSTMCell, RNNCell

    if _plain_loop_only(cell, XW, state):
        return None
    kind = type(cell)
    if kind is RNNCell:
        Y, h = _RNNRecurrence.apply(XW, state, cell.W_h, cell.nonlinearity == "relu")
        return Y, h
    if kind is GRUCell and cell.reset_after:
        Y, h = _GRURecurrence.apply(XW, state, cell.W_h, cell.b_h)
        return Y, h
    if kind is LSTMCell:
        Y, h, c, _ = _LSTMRecurrence.apply(XW, state[0], state[1], cell.W_h)
        return Y, (h, c)
    return None


def lstm_cell_states(cell, XW: torch.Tensor, state) -> tuple[torch.Tensor, torch.Tensor] | None:
    """An LSTMCell's fast run as `recurrence`'s, returning (Y (T, B, H), every step's cell state
    Cs (T, B, H)), or None where `recurrence` gives None (the caller then runs the plain loop)."""
    if _plain_loop_only(cell, XW, state):
        return None
    Y, _, _, Cs = _LSTMRecurrence.apply(XW, state[0], state[1], cell.W_h)
    return Y, Cs


def _plain_loop_only(cell, XW: torch.Tensor, state) -> bool:
    """Whether the cell's run must be the plain loop whatever the cell (`recurrence`'s reasons), or has no step."""
    states = state if isinstance(state, tuple) else (state,)
    return plain_autograd_only(XW, *states, cell.W_h, getattr(cell, "b_h", None)) or XW.shape[0] == 0
