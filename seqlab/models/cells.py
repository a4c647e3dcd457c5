"""Recurrent cells from scratch, with explicit parameters and the book's formulas.

Layout: inputs are time-major, `X` of shape (T, B, D); a cell returns its outputs
(T, B, H) and its final state. The state of an RNN or GRU cell is one tensor H of
shape (B, H); an LSTM's (or peephole LSTM's) is the pair (H, C).

Speed: the input projections `X W_x + b` of every time step are one matrix product
done before the loop (T*B rows at once), or a row lookup when X is token ids (one-hot
input); only the recurrent product `H W_h` is done step by step, one product for all
gates. By default the loop itself runs in `fast_cells.py` (the same formulas with a
hand-written backward, one weight-gradient product for all steps); `cell.fast = False`
keeps the plain autograd loop below, which is what the parity tests compare against, and
what torch.compile/export and torch.jit.trace record and torch.func transforms (grad, vmap) run
whatever `fast` says (see fast_cells.recurrence).

Weights are stored "input-major" as the book writes them (`X @ W_xh`, W_xh of shape
(D, H)); `nn.RNN`/`nn.GRU`/`nn.LSTM` store the transpose. `copy_from_fused` loads a
fused layer's weights so that the two give the same outputs and gradients.

Gate order inside the stacked weights follows PyTorch (so copying is a transpose):
GRU r, z, n; LSTM i, f, g, o.

GRU has two published candidate-state formulas:
  book (reset_after=False):  n = tanh(X W_xn + (R * H) W_hn + b_n)
  cuDNN/PyTorch (reset_after=True):  n = tanh(X W_xn + b_xn + R * (H W_hn + b_hn))
The default is PyTorch's so that scratch and fused models are interchangeable; the
book's is available and is what `seqlab.d2l.gru` computes.

Peephole LSTM (seed 003, the forget-gate peephole form): the gates read the previous
memory cell c_{t-1} instead of the hidden state, and the candidate reads only x_t:
  f = s(W_f x + U_f c_{t-1} + b_f), i = s(W_i x + U_i c_{t-1} + b_i),
  o = s(W_o x + U_o c_{t-1} + b_o), c_t = f * c_{t-1} + i * tanh(W_c x + b_c),
  h_t = o * tanh(c_t).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from seqlab.errors import SeqlabError
from seqlab.models.fast_cells import recurrence
from seqlab.torch_compat import autocast_enabled, recorded_by_tracer, tracing
from seqlab.training.common import check_count, check_state, ids_readable_here, out_of_range_id

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]

CELLS = ("rnn", "gru", "lstm", "peephole")


def _uniform(shape: tuple[int, ...], hidden: int, dtype, device) -> nn.Parameter:
    # PyTorch's init for recurrent layers: U(-1/sqrt(H), 1/sqrt(H)).
    bound = 1.0 / math.sqrt(hidden)
    return nn.Parameter(torch.empty(shape, dtype=dtype, device=device).uniform_(-bound, bound))


def check_sequence(X, input_size: int, weight: torch.Tensor, what: str = "the input",
                   batch_first: bool = False) -> None:
    """Refuse what a scratch layer cannot read, with a message instead of an error from deep inside
    torch: time-major features X (T, B, D) with D = input_size in the weights' dtype (any dtype
    under autocast), or token ids (T, B) standing for their one-hot vectors, below input_size
    (the range is checked on the CPU only, as `check_model_input` explains), with T, B >= 1;
    `batch_first`: (B, T, D) and (B, T), as the messages say. Not under jit.trace/fx
    (`recorded_by_tracer`)."""
    if recorded_by_tracer():
        return
    if batch_first:
        layout, features, ids, time, batch = "batch-major (batch_first=True)", "(B, T, D)", "(B, T)", 1, 0
    else:
        layout, features, ids, time, batch = "time-major", "(T, B, D)", "(T, B)", 0, 1
    if isinstance(X, PackedSequence):  # (a ScratchRNN reads one before it checks the padded sequence)
        raise SeqlabError(f"{what} is a PackedSequence, which a scratch cell does not read: a ScratchRNN layer "
                          "does (each sequence to its own length, as nn.LSTM), or pass the padded time-major tensor, "
                          "torch.nn.utils.rnn.pad_packed_sequence(X)[0] (the outputs before each length are then "
                          "the packed run's, Y[length - 1, b] each last one; the final state is the one after the "
                          "padding)")
    if not isinstance(X, torch.Tensor):
        raise SeqlabError(f"{what} must be a torch.Tensor: features {features} or token ids {ids}, "
                          f"got {type(X).__name__}")
    if X.is_floating_point():
        if X.dim() != 3:
            step = ": one time step of a batch, x (B, D), goes through cell.step(x, state)" if X.dim() == 2 else ""
            raise SeqlabError(f"{what} must be {layout} features {features} or integer token ids {ids}, "
                              f"got floats of shape {tuple(X.shape)}{step}")
        if X.shape[-1] != input_size:
            raise SeqlabError(f"{what} has {X.shape[-1]} features per step but the layer reads {input_size} "
                              f"(its input_size): build the layer with input_size={X.shape[-1]} or check the "
                              f"input's layout ({layout}: {features})")
        if X.dtype != weight.dtype and not autocast_enabled(X.device.type):
            raise SeqlabError(f"{what} is {X.dtype} but the layer's weights are {weight.dtype}: convert one "
                              f"(X.to({weight.dtype}) or layer.to({X.dtype}))")
    elif X.dtype == torch.bool or X.is_complex() or X.dim() != 2:
        raise SeqlabError(f"{what} must be {layout} features {features} or integer token ids {ids}, "
                          f"got {X.dtype} of shape {tuple(X.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise SeqlabError(f"{what} of shape {tuple(X.shape)} is empty: it needs at least one time step "
                          f"(dim {time}) and one sequence (dim {batch})")
    bad = None if X.is_floating_point() or not ids_readable_here(X) else out_of_range_id(X, input_size)
    if bad is not None:
        raise SeqlabError(f"token id {bad} is out of range: the layer reads one-hot vectors of {input_size} "
                          f"(ids 0..{input_size - 1})")


def editable(Y: torch.Tensor) -> torch.Tensor:
    """Y itself, or a copy where Y is the fast recurrence's output: a view of the buffer its backward
    reads, which autograd refuses to let code edit in place. Code after nn.LSTM may (relu_, masked_fill_)."""
    return Y.clone() if Y.requires_grad and not tracing() and Y._is_view() else Y  # (_is_view breaks a graph)


class ScratchCell(nn.Module):
    """Base: `forward(X (T, B, D), state) -> (Y (T, B, H), state)`, `begin_state`, `step`."""

    gates = 1
    has_cell = False
    fast = True  # use fast_cells' recurrence where the cell has one; False: the plain loop below

    def __init__(self, input_size: int, hidden_size: int, *, dtype=None, device=None):
        super().__init__()
        self.input_size = check_count(input_size, "input_size")
        self.hidden_size = check_count(hidden_size, "hidden_size")
        g, h = self.gates, hidden_size
        self.W_x = _uniform((input_size, g * h), h, dtype, device)  # (D, G*H)
        self.W_h = _uniform((self._recurrent_in(), g * h), h, dtype, device)  # (H, G*H)
        self.b = _uniform((g * h,), h, dtype, device)  # (G*H,)

    def _recurrent_in(self) -> int:
        return self.hidden_size

    def extra_repr(self) -> str:  # the sizes, as nn.LSTMCell's: LSTMCell(3, 4)
        return f"{self.input_size}, {self.hidden_size}"

    def begin_state(self, batch_size: int, device=None, dtype=None) -> State:
        dtype = dtype or self.W_x.dtype
        batch_size = check_count(batch_size, "batch_size")
        z = torch.zeros(batch_size, self.hidden_size, device=device or self.W_x.device, dtype=dtype)
        return (z, z.clone()) if self.has_cell else z

    def project(self, X: torch.Tensor) -> torch.Tensor:
        """Input projections of all steps at once: (T, B, D) -> (T, B, G*H).

        Integer X (T, B) is read as token ids of a one-hot input: one-hot(X) W_x + b is row X
        of W_x + b, so a lookup replaces the (T*B, V) x (V, G*H) product of mostly zeros, and
        the bias is added to the V rows of the table instead of to all T*B rows of the result.
        """
        if not X.is_floating_point():
            return F.embedding(X, self.W_x + self.b)  # (T, B, G*H)
        return torch.addmm(self.b, X.reshape(-1, X.shape[-1]), self.W_x).view(*X.shape[:-1], -1)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One time step: x (B, D) -> h (B, H)."""
        Y, state = self.forward(x.unsqueeze(0), state)
        return Y[0], state

    def forward(self, X: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        check_sequence(X, self.input_size, self.W_x)
        if state is None:
            state = self.begin_state(X.shape[1], X.device, X.dtype if X.is_floating_point() else None)
        else:
            shape = (X.shape[1], self.hidden_size)  # (B, H)
            check_state(state, (shape, shape) if self.has_cell else shape, X.shape[1], self.W_x.dtype)
        Y, state = self._run(self.project(X), state)
        return editable(Y), state

    def _run(self, XW: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The recurrence over the input projections XW (T, B, G*H) of `project`, from `state` (both
        as `forward` checks them): (Y (T, B, H), state)."""
        if self.fast:  # the same maths with a hand-written BPTT (fast_cells.py)
            out = recurrence(self, XW, state)
            if out is not None:
                return out
        Y, state = self._loop(XW, state)
        # an RNN's state is its last output, which tanh/relu saved for their backward: a copy, as the fast
        # path's and nn.RNN's h_n, so that zeroing it in place (a document boundary) leaves the backward alone
        return Y, (state if self.has_cell else state.clone())

    def _loop(self, XW: torch.Tensor, state: State, cell_states: list | None = None) -> tuple[torch.Tensor, State]:
        """The plain loop of `recur` over XW (T, B, G*H): (Y (T, B, H), the last state). An LSTM's
        cell state after each step is appended to `cell_states` when one is given."""
        outputs = []
        # unbind, not XW[t]: its backward is one stack, where T separate selects would each
        # scatter into a fresh (T, B, G*H) zero tensor
        for xw in XW.unbind(0):
            h, state = self.recur(xw, state)
            outputs.append(h)
            if cell_states is not None:
                cell_states.append(state[1])
        return torch.stack(outputs), state  # (T, B, H)

    def recur(self, xw: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        raise NotImplementedError


class RNNCell(ScratchCell):
    """H_t = phi(X_t W_xh + H_{t-1} W_hh + b_h), phi = tanh (default) or relu."""

    def __init__(self, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh", dtype=None,
                 device=None):
        super().__init__(input_size, hidden_size, dtype=dtype, device=device)
        if nonlinearity not in ("tanh", "relu"):
            raise SeqlabError(f"nonlinearity must be 'tanh' or 'relu' (the RNN cell's activation), "
                              f"got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self._act = torch.tanh if nonlinearity == "tanh" else torch.relu

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")

    def recur(self, xw, H):
        H = self._act(torch.addmm(xw, H, self.W_h))  # (B, H)
        return H, H


class GRUCell(ScratchCell):
    """Reset gate R, update gate Z, candidate N; H_t = Z * H_{t-1} + (1 - Z) * N."""

    gates = 3

    def __init__(self, input_size: int, hidden_size: int, *, reset_after: bool = True, dtype=None,
                 device=None):
        super().__init__(input_size, hidden_size, dtype=dtype, device=device)
        self.reset_after = reset_after
        # PyTorch keeps a separate recurrent bias, inside the reset product for n.
        self.b_h = _uniform((3 * hidden_size,), hidden_size, dtype, device)

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.reset_after else ", reset_after=False")

    def recur(self, xw, H):
        h = self.hidden_size
        if self.reset_after:
            xr, xz, xn = xw.view(-1, 3, h).unbind(1)  # each (B, H)
            hr, hz, hn = torch.addmm(self.b_h, H, self.W_h).view(-1, 3, h).unbind(1)
            r = torch.sigmoid(xr + hr)
            z = torch.sigmoid(xz + hz)
            n = torch.tanh(xn + r * hn)
        else:  # the book: reset the state before the recurrent product
            rz = torch.sigmoid(xw[:, :2 * h] + H @ self.W_h[:, :2 * h] + self.b_h[:2 * h])
            r, z = rz[:, :h], rz[:, h:]
            n = torch.tanh(xw[:, 2 * h:] + (r * H) @ self.W_h[:, 2 * h:] + self.b_h[2 * h:])
        H = z * H + (1 - z) * n
        return H, H


class LSTMCell(ScratchCell):
    """Gates I, F, O and candidate G; C_t = F * C_{t-1} + I * G; H_t = O * tanh(C_t)."""

    gates = 4
    has_cell = True

    def recur(self, xw, state):
        H, C = state
        h = self.hidden_size
        gates = torch.addmm(xw, H, self.W_h)  # (B, 4H): i, f, g, o
        i, f, g, o = gates.view(-1, 4, h).unbind(1)  # each (B, H)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        C = f * C + i * g
        H = o * torch.tanh(C)
        return H, (H, C)


class PeepholeLSTMCell(ScratchCell):
    """Seed 003's peephole LSTM: gates i, f, o read c_{t-1}; the candidate reads x_t only.

    W_x holds i, f, g, o for the input (D, 4H); W_h is U, of shape (H, 3H), applied to
    c_{t-1} for the three gates i, f, o.
    """

    gates = 4
    has_cell = True

    def __init__(self, input_size: int, hidden_size: int, *, dtype=None, device=None):
        super().__init__(input_size, hidden_size, dtype=dtype, device=device)
        self.W_h = _uniform((hidden_size, 3 * hidden_size), hidden_size, dtype, device)  # U: (H, 3H)

    def recur(self, xw, state):
        _, C = state
        h = self.hidden_size
        xi, xf, xg, xo = xw.view(-1, 4, h).unbind(1)  # each (B, H)
        pi, pf, po = (C @ self.W_h).view(-1, 3, h).unbind(1)  # U_i c, U_f c, U_o c
        i, f, o = torch.sigmoid(xi + pi), torch.sigmoid(xf + pf), torch.sigmoid(xo + po)
        g = torch.tanh(xg)
        C = f * C + i * g
        H = o * torch.tanh(C)
        return H, (H, C)


def make_cell(cell: str, input_size: int, hidden_size: int, *, nonlinearity: str = "tanh", dtype=None,
              device=None) -> ScratchCell:
    """The scratch cell named `cell` (one of CELLS); `nonlinearity` is the rnn cell's."""
    if cell != "rnn" and cell in CELLS and nonlinearity != "tanh":  # (it was ignored silently)
        raise SeqlabError(f"nonlinearity={nonlinearity!r} is for the 'rnn' cell only: the {cell} cell's gates have "
                          "fixed activations (sigmoid, tanh); leave it out, as nn.GRU and nn.LSTM take none")
    if cell == "rnn":
        return RNNCell(input_size, hidden_size, nonlinearity=nonlinearity, dtype=dtype, device=device)
    if cell == "gru":
        return GRUCell(input_size, hidden_size, dtype=dtype, device=device)
    if cell == "lstm":
        return LSTMCell(input_size, hidden_size, dtype=dtype, device=device)
    if cell == "peephole":
        return PeepholeLSTMCell(input_size, hidden_size, dtype=dtype, device=device)
    raise SeqlabError(f"unknown cell {cell!r}: use one of {', '.join(CELLS)}")


NO_FUSED_PEEPHOLE = ("the peephole LSTM has no fused twin (nn.LSTM's gates read h_{t-1}, the peephole's c_{t-1}): "
                     "it runs as a scratch layer only")


@torch.no_grad()
def copy_from_fused(cell: ScratchCell, fused: nn.RNNBase, layer: int = 0, reverse: bool = False) -> None:
    """Load one layer (and direction) of an nn.RNN/GRU/LSTM into a scratch cell. A layer built with
    bias=False gives zero biases: the same outputs and weight gradients (ScratchRNN.from_fused makes
    them zero buffers, so that they stay zero in training)."""
    if isinstance(cell, PeepholeLSTMCell):
        raise SeqlabError(NO_FUSED_PEEPHOLE)
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    w_ih = getattr(fused, "weight_ih" + sfx)  # (G*H, D)
    w_hh = getattr(fused, "weight_hh" + sfx)  # (G*H, H)
    if fused.bias:
        b_ih, b_hh = getattr(fused, "bias_ih" + sfx), getattr(fused, "bias_hh" + sfx)
    else:
        b_ih = b_hh = torch.zeros_like(cell.b)
    cell.W_x.copy_(w_ih.T)
    cell.W_h.copy_(w_hh.T)
    if isinstance(cell, GRUCell):
        cell.b.copy_(b_ih)
        cell.b_h.copy_(b_hh)
    else:
        cell.b.copy_(b_ih + b_hh)


@torch.no_grad()
def copy_to_fused(cell: ScratchCell, fused: nn.RNNBase, layer: int = 0, reverse: bool = False) -> None:
    """The inverse of `copy_from_fused`: load a scratch cell into one layer (and direction) of an
    nn.RNN/GRU/LSTM of its mode and sizes. The weights are transposed (W_x (D, G*H) -> weight_ih
    (G*H, D)); a GRU's two biases go to their twins (b_h sits inside the reset product), an RNN's
    or LSTM's one bias b = b_ih + b_hh all to bias_ih, with bias_hh zero. A fused layer built with
    bias=False takes a cell whose biases are zero."""
    if isinstance(cell, PeepholeLSTMCell):
        raise SeqlabError(NO_FUSED_PEEPHOLE)
    if isinstance(cell, GRUCell) and not cell.reset_after:
        raise SeqlabError("a GRU cell with reset_after=False (the book's candidate, reset before the recurrent "
                          "product) has no fused twin: nn.GRU resets after it")
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    getattr(fused, "weight_ih" + sfx).copy_(cell.W_x.T)  # (G*H, D)
    getattr(fused, "weight_hh" + sfx).copy_(cell.W_h.T)  # (G*H, H)
    b_hh = cell.b_h if isinstance(cell, GRUCell) else torch.zeros_like(cell.b)
    if fused.bias:
        getattr(fused, "bias_ih" + sfx).copy_(cell.b)
        getattr(fused, "bias_hh" + sfx).copy_(b_hh)
    elif cell.b.any() or b_hh.any():
        raise SeqlabError("the fused layer has no biases (bias=False) but the scratch cell's are not zero: "
                          "build it with bias=True")
