"""Recurrent layers with one interface, scratch or fused.

`ScratchRNN` stacks scratch cells (deep, bidirectional, dropout between layers) with the
call of `nn.RNN`/`nn.GRU`/`nn.LSTM`:

    forward(X (T, B, D), state) -> (Y (T, B, dirs*H), state)
    state: (layers*dirs, B, H), or the pair (h, c) of such tensors for LSTMs

and, as theirs, `batch_first=True` reads X (B, T, D) and gives Y (B, T, dirs*H), the state
unchanged (layers*dirs, B, H); `bias=False` builds it without biases (zero buffers); a
PackedSequence (`pack_padded_sequence`) gives a PackedSequence of the same layout, each sequence
read to its own length: the final state is the one after its last step (the reverse direction's
after its first), and no step it keeps reads padding (`_packed`, `_by_lengths`).

What is the same: given the same weights (`ScratchRNN.from_fused(layer)` copies a fused layer's;
`scratch.to_fused()` is the way back: a scratch-trained layer run as nn.LSTM, for cuDNN, ONNX's
recurrent ops, quantize_dynamic), the outputs, final states and gradients (of the input, the initial
state and every weight) are the fused layer's up to float rounding, deep, bidirectional and unbatched
(T, D) input included (the parity tests). So `make_rnn_layer(..., impl="scratch")` and `impl="fused"`
are interchangeable inside `RNNModel`.

What is not (code written for nn.LSTM meets these):
- no proj_size; not an nn.RNNBase (isinstance, quantize_dynamic's {nn.LSTM}: to_fused() first), and
  `mode` is the cell's name, 'lstm', not nn's 'LSTM';
- no all_weights (flatten_parameters() is there, doing nothing), and the parameters are the book's
  (cells.0.W_x (D, G*H), ...), not weight_ih_l0: a fused layer's state_dict does not load (from_fused
  converts), and code that picks parameters by name ('weight' in name, 'bias' in name: inits, weight
  decay groups) picks none;
- an rnn or lstm cell has one bias b where nn has bias_ih + bias_hh: the same outputs, and b's gradient
  is each of theirs, but nn's layer counts it twice (clip_grad_norm_'s norm, the parameter count) and an
  optimiser step moves its sum twice as far, so training runs apart after the first step (a gru cell
  has both, as nn.GRU);
- an empty batch (B = 0) is refused, where nn's gives empty outputs; torch.jit.trace unrolls the loop,
  so the trace runs the traced length T only (torch.compile, or a trace of to_fused(), runs any), and
  torch.jit.script does not compile it; second-order gradients (create_graph=True) need fast = False
  (a SeqlabError says so); under CPU autocast the outputs are float32 (the recurrence runs in float32),
  nn.LSTM's bfloat16;
- as nn.LSTM: dropout > 0 with one layer warns (it drops between layers only) and nonlinearity= other
  than tanh is for the rnn cell only (a SeqlabError for gru/lstm, where nn.GRU raises a TypeError).

Unlike the fused layers it also reads token ids (T, B), or (B, T) with batch_first, as one-hot input
(a row lookup, see `ScratchCell.project`).
"""
from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from seqlab.errors import SeqlabError
from seqlab.models.cells import (CELLS, NO_FUSED_PEEPHOLE, LSTMCell, check_sequence, copy_from_fused, copy_to_fused,
                                 editable, make_cell)
from seqlab.models.fast_cells import lstm_cell_states
from seqlab.models.regularization import _check_p
from seqlab.torch_compat import autocast_enabled
from seqlab.training.common import check_count, check_state

IMPLS = ("scratch", "fused")
_FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class ScratchRNN(nn.Module):
    """A stack of scratch cells with `nn.RNN`'s call; what differs: the module docstring."""

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 bidirectional: bool = False, dropout: float = 0.0, nonlinearity: str = "tanh",
                 batch_first: bool = False, bias: bool = True, dtype=None, device=None):
        super().__init__()
        for value, name in ((input_size, "input_size"), (hidden_size, "hidden_size"), (num_layers, "num_layers")):
            check_count(value, name)
        if _check_p(dropout, "dropout") > 0 and num_layers == 1:  # nn.LSTM's warning (it was ignored silently)
            warnings.warn(f"dropout is applied between recurrent layers (after all but the last), so dropout > 0 "
                          f"expects num_layers > 1, got dropout={dropout} and num_layers=1: it has no effect "
                          "(RNNModel's dropout= drops the layer's output)", UserWarning, stacklevel=2)
        self.mode, self.input_size, self.hidden_size = cell, input_size, hidden_size
        self.num_layers, self.bidirectional, self.dropout = num_layers, bidirectional, _check_p(dropout, "dropout")
        self.num_directions = 2 if bidirectional else 1
        self.has_cell = cell in ("lstm", "peephole")
        cells = []
        for layer in range(num_layers):
            d_in = input_size if layer == 0 else hidden_size * self.num_directions
            for _ in range(self.num_directions):
                cells.append(make_cell(cell, d_in, hidden_size, nonlinearity=nonlinearity, dtype=dtype,
                                       device=device))
        self.cells = nn.ModuleList(cells)  # layer-major: l0, l0_reverse, l1, ...
        self.batch_first = bool(batch_first)
        if not bias:  # zero buffers, not parameters: nn's layer has none to train, count, clip or unfreeze
            for c, name in self._bias_slots():
                zero = getattr(c, name).detach().zero_()
                delattr(c, name)
                c.register_buffer(name, zero)  # (read as before; state_dict keeps its name)

    def extra_repr(self) -> str:  # as nn.LSTM's: ScratchRNN('lstm', 3, 4, num_layers=2, bidirectional=True)
        s = f"{self.mode!r}, {self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s + (", bidirectional=True" if self.bidirectional else "")

    @property
    def bias(self) -> bool:
        """False when every bias is frozen at zero (bias=False, or from_fused of a layer without them)."""
        return not all(not b.requires_grad and not b.any() for b in self._biases())

    def begin_state(self, batch_size: int, device=None, dtype=None):
        ref = self.cells[0].W_x
        batch_size = check_count(batch_size, "batch_size")
        z = torch.zeros(self.num_layers * self.num_directions, batch_size, self.hidden_size,
                        device=device or ref.device, dtype=dtype or ref.dtype)
        return (z, z.clone()) if self.has_cell else z

    def flatten_parameters(self) -> None:
        """Nothing to do, for code written for nn.LSTM that calls it (after .cuda(), DataParallel): there it
        packs the weights into cuDNN's one buffer; the scratch cells run on their own tensors."""

    @property
    def fast(self) -> bool:
        """Whether the cells run fast_cells' recurrence (see cells.py); settable."""
        return all(c.fast for c in self.cells)

    @fast.setter
    def fast(self, enabled: bool) -> None:
        for c in self.cells:
            c.fast = bool(enabled)

    def forward(self, X: torch.Tensor, state=None, *, hx=None):
        """X (T, B, D) floats, or token ids (T, B) standing for their one-hot vectors (D = vocab), (B, T, D)
        and (B, T) with batch_first; floats (T, D) are one unbatched sequence, whose state has no batch
        dimension (as nn.RNN, whatever batch_first). A PackedSequence gives one (`_packed`). `hx` is
        nn.LSTM's name for the state, for code that calls rnn(x, hx=h)."""
        if hx is not None:
            if state is not None:
                raise SeqlabError("the state is given twice, as state and as hx= (nn.LSTM's name for it): give one")
            state = hx
        if isinstance(X, PackedSequence):
            return self._packed(X, state)
        if isinstance(X, torch.Tensor) and X.is_floating_point() and X.dim() == 2:  # unbatched
            if state is not None:
                self._check_unbatched_state(state)
            batched = None if state is None else (
                tuple(s.unsqueeze(1) for s in state) if self.has_cell else state.unsqueeze(1))
            Y, state = self._time_major(X.unsqueeze(1), batched)
            return Y.squeeze(1), (tuple(s.squeeze(1) for s in state) if self.has_cell else state.squeeze(1))
        if self.batch_first:  # (the state is (layers*dirs, B, H) either way, as nn.LSTM's)
            check_sequence(X, self.input_size, self.cells[0].W_x, batch_first=True)
            Y, state = self._time_major(X.transpose(0, 1), state)
            return Y.transpose(0, 1), state
        return self._time_major(X, state)

    def _time_major(self, X: torch.Tensor, state, lengths: list[int] | None = None):
        """`forward` of a batched time-major X; `lengths` (`_packed`'s): each row's steps, longest
        first, and the rows' final states are taken after their own last steps."""
        check_sequence(X, self.input_size, self.cells[0].W_x)
        if state is None:
            state = self.begin_state(X.shape[1], X.device, X.dtype if X.is_floating_point() else None)
        else:
            shape = (self.num_layers * self.num_directions, X.shape[1], self.hidden_size)
            check_state(state, (shape, shape) if self.has_cell else shape, X.shape[1], self.cells[0].W_x.dtype)
        order = _reversed_within(lengths, X.device) if lengths is not None and self.bidirectional else None
        hs, cs = (state if self.has_cell else (state, None))
        new_h, new_c = [], []
        out = X  # (T, B, D)
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout and self.training:  # (read here: setting .dropout later counts, as nn's)
                out = nn.functional.dropout(out, self.dropout)
            ys = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                s = (hs[k], cs[k]) if self.has_cell else hs[k]
                if lengths is None:
                    inp = out if d == 0 else out.flip(0)  # the reverse direction reads time backwards
                    y, s = self.cells[k](inp, s)  # (T, B, H)
                    ys.append(y if d == 0 else y.flip(0))
                else:  # each row's own steps backwards, its padding after them
                    y, s = _by_lengths(self.cells[k], out if d == 0 else _gather_steps(out, order), s, lengths)
                    ys.append(y if d == 0 else _gather_steps(y, order))
                if self.has_cell:
                    new_h.append(s[0])
                    new_c.append(s[1])
                else:
                    new_h.append(s)
            out = ys[0] if len(ys) == 1 else torch.cat(ys, dim=-1)  # (T, B, dirs*H)
        out = editable(out)  # by lengths, the recurrence's own Y (a cell's forward copies its own)
        h = torch.stack(new_h)  # (layers*dirs, B, H)
        return out, ((h, torch.stack(new_c)) if self.has_cell else h)

    def _packed(self, packed: PackedSequence, state):
        """`forward` of a PackedSequence of features or token ids, as nn.LSTM's: read sorted longest first
        (its sorted_indices), the state given and returned in the batch's own order (unsorted_indices)."""
        sizes = packed.batch_sizes  # (T,) rows still running at each step, a non-increasing count (CPU)
        T, B = len(sizes), int(sizes[0])
        running = torch.arange(B) < sizes.view(-1, 1)  # (T, B): row b runs at step t (rows sorted)
        lengths = running.sum(0).tolist()  # the sorted rows' lengths, longest first
        # the packed rows' places in (T, B), step by step: packed data is that order's running rows
        steps = running.flatten().nonzero().squeeze(1).to(packed.data.device)
        data = packed.data  # (N, D) features, or (N,) token ids
        X = data.new_zeros((T * B, *data.shape[1:])).index_copy(0, steps, data)
        X = X.view(T, B, *data.shape[1:])  # (T, B, D) or (T, B), sorted, zeros after each length
        sort, unsort = packed.sorted_indices, packed.unsorted_indices
        if state is not None and sort is not None:  # (checked first: a wrong batch is no index error)
            shape = (self.num_layers * self.num_directions, B, self.hidden_size)
            check_state(state, (shape, shape) if self.has_cell else shape, B, self.cells[0].W_x.dtype)
            state = tuple(s.index_select(1, sort) for s in state) if self.has_cell else state.index_select(1, sort)
        Y, state = self._time_major(X, state, lengths)
        if unsort is not None:
            state = tuple(s.index_select(1, unsort) for s in state) if self.has_cell else state.index_select(1, unsort)
        data = Y.reshape(-1, Y.shape[-1]).index_select(0, steps)
        return PackedSequence(data, packed.batch_sizes, sort, unsort), state

    def _check_unbatched_state(self, state) -> None:
        """The state of one unbatched sequence: (layers*dirs, H), an (h, c) pair of them for LSTMs, without
        the batch dimension (check_state's messages would name the one forward adds, and begin_state(1))."""
        shape = (self.num_layers * self.num_directions, self.hidden_size)
        pair = isinstance(state, (tuple, list))
        parts = state if pair else (state,)
        if pair == self.has_cell and len(parts) == (2 if pair else 1) and all(
                isinstance(t, torch.Tensor) and t.shape == shape for t in parts):
            dtype = self.cells[0].W_x.dtype
            wrong = next((t for t in parts if t.dtype != dtype), None)
            if wrong is not None and not autocast_enabled(wrong.device.type):
                raise SeqlabError(f"the state is {wrong.dtype} but the model's weights are {dtype}: cast each of "
                                  f"its tensors with .to({dtype})")
            return
        if pair:
            got = f"a {type(state).__name__} of " + ", ".join(
                str(tuple(t.shape)) if isinstance(t, torch.Tensor) else type(t).__name__ for t in parts)
        else:
            got = f"one tensor of shape {tuple(state.shape)}" if isinstance(state, torch.Tensor) else \
                f"a {type(state).__name__}"
        want = f"(h, c), two tensors of shape {shape}" if self.has_cell else f"one tensor of shape {shape}"
        raise SeqlabError(f"an unbatched sequence (T, D) takes a state without a batch dimension: {want} "
                          f"(layers*directions, hidden), got {got}: start from zeros of that shape, or give the "
                          "input a batch dimension (X.unsqueeze(1)) and start from net.begin_state(1)")

    @classmethod
    def from_fused(cls, fused: nn.RNNBase) -> "ScratchRNN":
        """A scratch layer with the weights of `fused`, an nn.RNN/GRU/LSTM (without proj_size), and its
        batch_first."""
        if not isinstance(fused, nn.RNNBase):
            cell = " (for a cell, nn.LSTMCell: copy_from_fused into one scratch cell)" if isinstance(
                fused, nn.RNNCellBase) else ""
            raise SeqlabError(f"from_fused copies an nn.RNN, nn.GRU or nn.LSTM layer, got {type(fused).__name__}{cell}")
        if getattr(fused, "proj_size", 0):
            raise SeqlabError(f"an LSTM with projections (proj_size={fused.proj_size}) has no scratch twin: "
                              "copy a layer built with proj_size=0")
        mode = {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "GRU": "gru", "LSTM": "lstm"}[fused.mode]
        ref = fused.weight_ih_l0
        net = cls(mode, fused.input_size, fused.hidden_size, fused.num_layers, bidirectional=fused.bidirectional,
                  dropout=fused.dropout if fused.num_layers > 1 else 0.0,  # (nn.LSTM warned of one layer's already)
                  nonlinearity="relu" if fused.mode == "RNN_RELU" else "tanh", batch_first=fused.batch_first,
                  bias=fused.bias, dtype=ref.dtype, device=ref.device)
        for layer in range(net.num_layers):
            for d in range(net.num_directions):
                copy_from_fused(net.cells[layer * net.num_directions + d], fused, layer, reverse=d == 1)
        return net

    def _bias_slots(self) -> list[tuple[nn.Module, str]]:
        """(cell, attribute name) of every bias: b, and the GRU's b_h."""
        return [(c, name) for c in self.cells for name in ("b", "b_h") if hasattr(c, name)]

    def _biases(self) -> list[torch.Tensor]:
        return [getattr(c, name) for c, name in self._bias_slots()]

    def to_fused(self) -> nn.RNNBase:
        """This layer as an nn.RNN/GRU/LSTM with its weights (the inverse of `from_fused`): the same
        mode, nonlinearity, sizes, layers, directions, dropout, batch_first, dtype and device, and the same outputs
        and weight gradients (cells.copy_to_fused). A layer whose biases are all frozen at zero (from_fused
        of a bias=False layer) gives one built with bias=False. The peephole LSTM has no fused twin."""
        if self.mode == "peephole":
            raise SeqlabError(NO_FUSED_PEEPHOLE)
        ref = self.cells[0].W_x
        kwargs = {"nonlinearity": self.cells[0].nonlinearity} if self.mode == "rnn" else {}
        fused = _FUSED[self.mode](self.input_size, self.hidden_size, self.num_layers, bias=self.bias,
                                  batch_first=self.batch_first, bidirectional=self.bidirectional,
                                  dropout=self.dropout if self.num_layers > 1 else 0.0,  # (as make_rnn_layer)
                                  dtype=ref.dtype, device=ref.device, **kwargs)
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                copy_to_fused(self.cells[layer * self.num_directions + d], fused, layer, reverse=d == 1)
        return fused.train(self.training)


def _reversed_within(lengths: list[int], device) -> torch.Tensor:
    """(T, B) step indices: each row's first lengths[b] steps reversed, the rest in place (its own inverse)."""
    T = lengths[0]
    steps = torch.arange(T).view(-1, 1)
    n = torch.tensor(lengths).view(1, -1)
    return torch.where(steps < n, n - 1 - steps, steps).to(device)


def _gather_steps(X: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """X (T, B, F), or token ids (T, B), with row b's step t taken from step order[t, b]."""
    return X.gather(0, order if X.dim() == 2 else order.unsqueeze(2).expand(-1, -1, X.shape[2]))


def _by_lengths(cell, X: torch.Tensor, state, lengths: list[int]):
    """The cell over X (T, B, D), rows sorted longest first, each row for its own lengths[b] steps,
    its padding after them. Returns Y (T, B, H), right up to each length, and each row's state after
    its last step. The cell runs over X once: an RNN's or GRU's state is its output there; an LSTM's
    cell state is read from every step's, the fast recurrence's (`lstm_cell_states`) or the plain
    loop's (`_cell_states`: the peephole LSTM, `fast` off, torch.compile)."""
    B = X.shape[1]
    at = (torch.tensor(lengths, device=X.device) - 1, torch.arange(B, device=X.device))  # each row's last step
    XW = cell.project(X)
    if not isinstance(state, tuple):  # the state is the output
        y, _ = cell._run(XW, state)  # (X and state checked by the layer)
        return y, y[at]
    run = lstm_cell_states(cell, XW, state) if cell.fast and type(cell) is LSTMCell else None
    y, cs = run if run is not None else _cell_states(cell, XW, state)
    return y, (y[at], cs[at])


def _cell_states(cell, XW: torch.Tensor, state) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain loop of an LSTM cell (plain or peephole) over input projections XW (T, B, 4H) from
    state (h, c): (Y (T, B, H), every step's cell state C (T, B, H))."""
    cs = []
    y, _ = cell._loop(XW, state, cs)
    return y, torch.stack(cs)


def make_rnn_layer(cell: str, impl: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                   bidirectional: bool = False, dropout: float = 0.0, nonlinearity: str = "tanh") -> nn.Module:
    """A time-major recurrent layer: `nn.RNN/GRU/LSTM` (fused) or `ScratchRNN` (scratch).

    A ModelConfig's layer: `dropout` with one layer and `nonlinearity` for a gru/lstm cell are left out
    (nothing to drop between layers; fixed gate activations), whichever impl, without a warning or an
    error: a run trained before `--nonlinearity relu --cell gru` was refused still loads."""
    if cell not in CELLS:
        raise SeqlabError(f"unknown cell {cell!r}: use one of {', '.join(CELLS)}")
    if impl not in IMPLS:
        raise SeqlabError(f"unknown impl {impl!r}: use scratch or fused")
    for value, name in ((input_size, "input_size"), (hidden_size, "hidden_size"), (num_layers, "num_layers")):
        check_count(value, name)
    _check_p(dropout, "dropout")
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    dropout = dropout if num_layers > 1 else 0.0
    if impl == "scratch":
        return ScratchRNN(cell, input_size, hidden_size, num_layers, bidirectional=bidirectional, dropout=dropout,
                          **kwargs)
    if cell == "peephole":
        raise SeqlabError("the peephole LSTM has no fused (cuDNN) kernel: use --impl scratch")
    return _FUSED[cell](input_size, hidden_size, num_layers, bidirectional=bidirectional, dropout=dropout, **kwargs)
