"""Language models: one interface for every variant.

    forward(X (B, T) token ids, state) -> (logits (T*B, V), state)
    forward(X, state, targets=Y (B, T)) -> (summed cross-entropy, state)   (seqlab's models)
    begin_state(batch_size, device) -> state

The input is batch-major (B, T), as the book's data iterators give it; inside, the
model works time-major (T, B, ...) as the book explains, so the logits come out
time-major and flattened: row t*B + b is step t of sequence b. The matching targets
are `Y.T.reshape(-1)`.

- `RNNModel(rnn_layer, vocab_size)`: the book's concise model over any time-major
  recurrent layer (`nn.RNN/GRU/LSTM` or seqlab's `ScratchRNN`), one-hot input by
  default, or an embedding (`embed_size`), dropout before the output layer, and weight
  tying (the output layer reuses the embedding matrix; needs embed_size == dirs*hidden:
  the layer is one module of equal layers).
- `RNNModelScratch(vocab_size, num_hiddens, device, get_params, init_state, forward_fn)`:
  the book's functional model (parameters as a list of tensors), in lm_book.py.
- `RegularizedRNNModel(...)`: AWD-LSTM's model (Merity et al. 2017): one single-layer
  recurrent module per layer, locked (variational) dropout on the embedding output,
  between layers and on the last output, embedding dropout (whole word types), weight
  drop (DropConnect) on the hidden-to-hidden matrices; with tied weights the last layer
  has the embedding's size, as in AWD-LSTM.
- `build_lm(config, vocab_size)`: the model a `ModelConfig` describes: the regularised
  model as soon as one of its dropouts is set, or when tied weights need a last layer of
  the embedding's size (embed != hidden; its dropouts then 0 and `dropout` the plain one).
  One rule for tying either way: the last layer has `embed` units, the others `hidden`.

The training loss: `forward(X, state, targets=Y)` returns the summed cross-entropy
instead of the logits, computed with the output layer as one autograd step on the CPU
(seqlab.models.fused_loss: no (T*B, V) log-softmax or gradient buffers; `net.fused_loss =
False` turns it off, `net.fast = False` or ModelConfig(fast=False) this and the scratch layers'
fast recurrence). `targets` may also come third positionally,
`forward(X, state, Y)`: the legacy ONNX exporter passes every defaulted parameter that way.
torch.fx traces every parameter as an input, so it traces the loss branch: for the logits,
`torch.fx.symbolic_trace(net, concrete_args={"targets": None})`. That is for fused layers
(`impl="fused"`) only: a scratch layer's time loop is Python control flow, which
symbolic_trace refuses (TraceError); `torch.export.export(net, (X, state))` captures a scratch
LM (its `.module()` is an fx GraphModule too).

AR/TAR: with `keep_outputs = True` a model keeps its last forward pass's last-layer
outputs, `outputs = (raw (T, B, H), dropped (T, B, H))`, for the training loop's
activation penalties (which sets `outputs` back to None when it turns keeping off).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError, is_int
from seqlab.models.cells import ScratchCell
from seqlab.models.lm_book import _UNSET, RNNModelScratch, _state_args  # noqa: F401 (RNNModelScratch: here too)
from seqlab.models.lm_config import (ONE_HOT_LIMIT, ModelConfig, check_new_tying, check_tying,  # noqa: F401
                                      is_regularized, tied_last_layer)  # (ModelConfig, is_regularized: here too)
from seqlab.training.common import check_count, check_model_input, check_stack_fits, check_state, check_targets
from seqlab.models.fused_loss import output_losses
from seqlab.models.recurrent import ScratchRNN, make_rnn_layer
from seqlab.models.regularization import LockedDropout, WeightDrop, _check_p, embedding_dropout


def _zeros(shapes, device, dtype):
    """A state of zeros with the structure of `shapes` (a shape, or a tuple/list of them)."""
    if isinstance(shapes[0], (tuple, list)):
        return type(shapes)(_zeros(s, device, dtype) for s in shapes)
    return torch.zeros(shapes, device=device, dtype=dtype)


def _head(net: RNNModel | RegularizedRNNModel, Y: torch.Tensor, inputs: torch.Tensor,
          targets: torch.Tensor | None) -> torch.Tensor:
    """The output layer over Y (T, B, H): logits (T*B, V), or with targets (B, T) their summed CE."""
    Y = Y.reshape(-1, Y.shape[-1])  # (T*B, H), time-major rows
    if targets is None:
        return net.linear(Y)
    check_targets(targets, inputs, net.vocab_size, "the inputs'")
    # (the fused step reads the layer's weight matrix: not one quantize_dynamic's int8 layer has)
    fused = net.fused_loss and isinstance(net.linear, nn.Linear)
    return output_losses(Y, net.linear, targets.T, fused=fused).sum()


def _check_input_size(net: RNNModel) -> None:
    """Refuse a recurrent layer that does not read RNNModel's input: one-hot of vocab_size, or the
    embedding's vectors. In __init__ for RNNModel itself; in forward for a subclass, whose own
    __init__ may add the embedding after RNNModel's (the book's exercise subclasses RNNModel so,
    and then often overrides forward, which this class's checks never see)."""
    in_size = net.vocab_size if net.embedding is None else getattr(net.embedding, "embedding_dim", None)
    reads = getattr(net.rnn, "input_size", in_size)
    if in_size is not None and reads != in_size:
        given = f"one-hot of {in_size} (the vocabulary)" if net.embedding is None else f"an embedding of {in_size}"
        raise SeqlabError(f"the recurrent layer reads {reads} features but the input is {given}: pass "
                          f"embed_size={reads} for an embedding of {reads} (RNNModel(layer, vocab_size, "
                          f"embed_size={reads})), or build the layer with input size {in_size}")


def _register_float_like(net: nn.Module) -> None:
    """`net._float_like`: an empty tensor of the model's float dtype and device, for `_float_ref`
    where quantize_dynamic swapped the output layer for an int8 one (whose `weight` is a method:
    there is no weight to read the dtype from). A buffer follows .to()/.double()/.half() as the
    weights do and stays float32 under quantize_dynamic. Non-persistent: not in state_dict, so
    checkpoints keep their keys and older ones load."""
    net.register_buffer("_float_like", torch.empty(0), persistent=False)


def _float_ref(net: nn.Module) -> torch.Tensor:
    """A tensor of the dtype and device the model's state and one-hot input take: its output layer's
    weight (which follows load_state_dict(assign=True), functional_call and a per-layer .double()),
    or `_float_like` where that layer is quantized."""
    weight = getattr(net.linear, "weight", None)
    return weight if isinstance(weight, torch.Tensor) else net._float_like


TIED_INIT_RANGE = 0.1  # a tied embedding/output matrix starts U(-0.1, 0.1) (pytorch/examples, AWD-LSTM)


class _FastSwitch:
    """`net.fast`: the fast paths of a language model at once -- its scratch layers' fast recurrence
    and the fused output layer + loss (`ModelConfig(fast=...)`, `--no-fast`); True while all are on."""

    def _switched_layers(self) -> list:
        return [layer for layer in self._recurrent_layers() if hasattr(layer, "fast")]  # (fused nn.RNNBase: none)

    @property
    def fast(self) -> bool:
        return bool(self.fused_loss) and all(layer.fast for layer in self._switched_layers())

    @fast.setter
    def fast(self, enabled: bool) -> None:
        self.fused_loss = bool(enabled)
        for layer in self._switched_layers():
            layer.fast = bool(enabled)


class RNNModel(_FastSwitch, nn.Module):
    """Embedding or one-hot -> recurrent layer -> dropout -> linear."""

    keep_outputs = False  # True: keep (raw, dropped) last-layer outputs in self.outputs (AR/TAR)
    outputs = None
    takes_targets = True  # forward(X, state, targets=Y) -> (summed CE, state)
    fused_loss = True  # ... with the output layer + CE in one step where it pays (fused_loss.py)

    def __init__(self, rnn_layer: nn.Module, vocab_size: int, *, embed_size: int = 0, dropout: float = 0.0,
                 tie_weights: bool = False, **kwargs):
        super().__init__(**kwargs)  # (the book's signature: its **kwargs go to nn.Module)
        if not isinstance(rnn_layer, (nn.RNNBase, ScratchRNN)):
            cell = " (a cell: use its layer, nn.LSTM for nn.LSTMCell, ScratchRNN for seqlab's cells)" if isinstance(
                rnn_layer, (nn.RNNCellBase, ScratchCell)) else ""
            raise SeqlabError(f"RNNModel runs a recurrent layer over whole sequences: nn.RNN, nn.GRU, nn.LSTM or "
                              f"seqlab's ScratchRNN (make_rnn_layer builds either), got "
                              f"{type(rnn_layer).__name__}{cell}")
        check_count(vocab_size, "vocab_size")
        if not is_int(embed_size) or embed_size < 0:
            raise SeqlabError(f"embed_size must be 0 (one-hot input) or a positive integer, got {embed_size!r}")
        _check_p(dropout, "dropout")
        if getattr(rnn_layer, "batch_first", False) or getattr(rnn_layer, "proj_size", 0):
            raise SeqlabError("RNNModel runs its recurrent layer time-major (T, B, ...) and reads its full hidden "
                              "state: build the layer without batch_first=True and without proj_size")
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = rnn_layer.hidden_size
        _register_float_like(self)
        self.num_directions = 2 if rnn_layer.bidirectional else 1
        # plain attributes, read per batch (each self.rnn goes through nn.Module.__getattr__)
        self._state_rows = self.num_directions * rnn_layer.num_layers  # (layers*dirs, B, H)
        self._has_cell = isinstance(rnn_layer, nn.LSTM) or getattr(rnn_layer, "has_cell", False)
        self.embedding = nn.Embedding(vocab_size, embed_size) if embed_size else None
        if type(self) is RNNModel:  # (a subclass may bring its own input: forward checks the one it uses)
            _check_input_size(self)
        self.drop = nn.Dropout(dropout)
        out_in = self.num_hiddens * self.num_directions
        self.linear = nn.Linear(out_in, vocab_size)
        if tie_weights:
            if self.embedding is None or embed_size != out_in:
                # (build_lm, --tie-weights: a last layer of the embedding's size instead; this class
                # holds one module of equal layers)
                size = "its hidden size" if self.num_directions == 1 else f"2 directions x {self.num_hiddens}"
                raise SeqlabError(f"weight tying needs an embedding of the recurrent output's size ({out_in}: "
                                  f"{size}); got embed_size {embed_size}: use embed_size={out_in}")
            self.linear.weight = self.embedding.weight  # (V, E) shared
            # pytorch/examples' and AWD-LSTM's U(-0.1, 0.1), bias 0: N(0, 1) as an output layer
            # gives logits of std ~sqrt(E) / 2 (train ppl 13,821 vs 1,789 after 60k PTB tokens)
            init_embedding_and_output(self, TIED_INIT_RANGE)

    def forward(self, inputs: torch.Tensor, state=None, targets: torch.Tensor | None = None):
        check_model_input(inputs, self.vocab_size)
        if type(self) is not RNNModel:  # (RNNModel itself was checked in __init__: not again per batch)
            _check_input_size(self)
        if state is not None:  # of the weights' dtype, scratch and fused layers alike
            check_state(state, self._state_shapes(inputs.shape[0]), inputs.shape[0], _float_ref(self).dtype)
        if self.embedding is not None:
            X = self.drop(self.embedding(inputs.T.long()))  # (T, B, E); nn.Embedding reads int64/int32 only
        elif getattr(self.rnn, "fast", False):  # a scratch layer looks the rows up: no one-hot tensor
            X = inputs.T.long()  # (T, B) ids
        else:
            X = F.one_hot(inputs.T.long(), self.vocab_size).to(_float_ref(self).dtype)  # (T, B, V)
        Y_raw, state = self.rnn(X, state)  # (T, B, dirs*H)
        Y = self.drop(Y_raw)
        if self.keep_outputs:  # (only then: an attribute set in forward is a side effect torch.export warns of)
            self.outputs = (Y_raw, Y)
        return _head(self, Y, inputs, targets), state

    def _state_shapes(self, batch_size: int):
        shape = (self._state_rows, batch_size, self.num_hiddens)
        return (shape, shape) if self._has_cell else shape  # (h, c) for LSTMs

    def _recurrent_layers(self) -> list:
        return [self.rnn]

    def begin_state(self, size_or_device=_UNSET, /, device=None, batch_size=_UNSET):
        batch_size, device = _state_args(size_or_device, device, batch_size)
        shapes = self._state_shapes(check_count(batch_size, "batch_size"))
        ref = _float_ref(self)
        return _zeros(shapes, device or ref.device, ref.dtype)


class RegularizedRNNModel(_FastSwitch, nn.Module):
    """Embedding -> [locked dropout -> layer (weight-dropped)] x L -> locked dropout -> linear.

    State: a list with one entry per layer, each the layer's own state ((1, B, H_l) or
    an (h, c) pair of those), since the layers may differ in size.

    `dropout`: the plain model's dropout (a fresh mask per step) at the same places, for a
    tied model without the AWD options whose last layer is the embedding's size (`build_lm`).
    """

    keep_outputs = False
    outputs = None
    takes_targets = True
    fused_loss = True

    def __init__(self, cell: str, impl: str, vocab_size: int, embed_size: int, hidden: int, layers: int, *,
                 dropout_input: float = 0.0, dropout_hidden: float = 0.0, dropout_output: float = 0.0,
                 dropout_embed: float = 0.0, weight_drop: float = 0.0, tie_weights: bool = False,
                 nonlinearity: str = "tanh", dropout: float = 0.0):
        super().__init__()
        if embed_size <= 0:
            raise SeqlabError("the regularised LM (locked/embedding dropout, weight drop) reads an embedding: "
                              "set --embed, e.g. --embed 400")
        if layers < 1:
            raise SeqlabError(f"layers must be >= 1, got {layers}")
        self.vocab_size, self.num_hiddens, self.cell = vocab_size, hidden, cell
        _register_float_like(self)
        self.dropout_embed = _check_p(dropout_embed, "dropout_embed")
        self.embedding = nn.Embedding(vocab_size, embed_size)
        # the last layer has the embedding's size when the output layer reuses the embedding
        sizes = [hidden] * (layers - 1) + [embed_size if tie_weights else hidden]
        rnns = []
        for k, size in enumerate(sizes):
            layer = make_rnn_layer(cell, impl, embed_size if k == 0 else sizes[k - 1], size, 1,
                                   nonlinearity=nonlinearity)
            if weight_drop > 0:
                if not isinstance(layer, nn.RNNBase):
                    raise SeqlabError("weight drop runs on the fused layers: use --impl fused with --weight-drop")
                layer = WeightDrop(layer, weight_drop)
            rnns.append(layer)
        self.rnns = nn.ModuleList(rnns)
        self.sizes = sizes
        self.lock_in = LockedDropout(dropout_input)
        self.lock_hidden = LockedDropout(dropout_hidden)
        self.lock_out = LockedDropout(dropout_output)
        self.drop = nn.Dropout(_check_p(dropout, "dropout"))  # (no parameters: checkpoints unchanged)
        self.linear = nn.Linear(sizes[-1], vocab_size)
        nn.init.zeros_(self.linear.bias)
        if tie_weights:  # AWD-LSTM's U(-0.1, 0.1): the shared matrix is also the output layer
            self.linear.weight = self.embedding.weight  # (V, E) shared
            init_embedding_and_output(self, TIED_INIT_RANGE)
        # untied: nn.Embedding's N(0, 1), a strong input signal from the first step (char models)

    def forward(self, inputs: torch.Tensor, state=None, targets: torch.Tensor | None = None):
        check_model_input(inputs, self.vocab_size)
        if state is not None:
            check_state(state, self._state_shapes(inputs.shape[0]), inputs.shape[0], _float_ref(self).dtype)
        words = inputs.T.long()  # (T, B)
        X = embedding_dropout(self.embedding, words, self.dropout_embed, self.training)  # (T, B, E)
        X = self.drop(self.lock_in(X))
        if state is None:
            state = self.begin_state(inputs.shape[0], inputs.device)
        new_state = []
        for k, rnn in enumerate(self.rnns):
            X, s = rnn(X, state[k])  # (T, B, H_k)
            new_state.append(s)
            raw = X
            X = self.drop(self.lock_hidden(X) if k < len(self.rnns) - 1 else self.lock_out(X))
        if self.keep_outputs:
            self.outputs = (raw, X)
        return _head(self, X, inputs, targets), new_state

    def _state_shapes(self, batch_size: int) -> list:
        shapes = [(1, batch_size, size) for size in self.sizes]
        return [(s, s) if self.cell in ("lstm", "peephole") else s for s in shapes]

    def _recurrent_layers(self) -> list:
        return list(self.rnns)

    def begin_state(self, size_or_device=_UNSET, /, device=None, batch_size=_UNSET):
        batch_size, device = _state_args(size_or_device, device, batch_size)
        shapes = self._state_shapes(check_count(batch_size, "batch_size"))
        ref = _float_ref(self)
        return _zeros(shapes, device or ref.device, ref.dtype)


def layer_sizes(net: RNNModel | RegularizedRNNModel) -> list[int]:
    """Each recurrent layer's units (per direction) of a built LM, first to last."""
    if isinstance(net, RegularizedRNNModel):
        return list(net.sizes)
    return [net.num_hiddens] * net.rnn.num_layers


def describe(net: RNNModel | RegularizedRNNModel) -> str:
    """A built LM's shape for a run's log: "3 layers 1150/1150/400, embedding 400 tied to the output"."""
    sizes = layer_sizes(net)
    shape = f"{len(sizes)} layer{'s' if len(sizes) > 1 else ''} {'/'.join(map(str, sizes))}"
    if getattr(net, "num_directions", 1) == 2:
        shape += " per direction (bidirectional)"
    if net.embedding is None:
        return f"{shape}, one-hot input"
    tied = " tied to the output" if net.linear.weight is net.embedding.weight else ""
    return f"{shape}, embedding {net.embedding.embedding_dim}{tied}"


def build_lm(config: ModelConfig, vocab_size: int, *, trained: bool = False) -> RNNModel | RegularizedRNNModel:
    """The language model a config describes (scratch and fused layers alike).

    A new model is held to the rules `seqlab train lm` sets a new run (`check_new_tying`);
    `trained=True`: the config is a trained run's (its checkpoint's, a resumed run's), built as
    it was even where a later rule refuses it, so that older runs still load."""
    check_count(vocab_size, "vocab_size")
    check_count(config.hidden, "hidden")
    check_count(config.layers, "layers")
    check_stack_fits(config.layers, config.hidden)
    if not trained:
        check_new_tying(config)
    if config.init_range < 0:
        raise SeqlabError(f"init_range must be >= 0 (0 keeps PyTorch's initialisation), got {config.init_range}")
    net = _build(config, vocab_size)
    net.fast = config.fast  # the scratch layers' recurrence and the fused output layer + loss
    if config.init_range > 0:
        init_embedding_and_output(net, config.init_range)
    return net


def init_embedding_and_output(net: RNNModel | RegularizedRNNModel, r: float) -> None:
    """pytorch/examples' `init_weights`: embedding and output weights U(-r, r), output bias 0.

    (A tied matrix is both, drawn once.) PyTorch's own defaults are N(0, 1) for an embedding
    and U(+-1/sqrt(fan_in)) for a linear layer; the recurrent layers keep theirs either way.
    """
    with torch.no_grad():
        if net.embedding is not None:
            net.embedding.weight.uniform_(-r, r)
        if net.linear.weight is not getattr(net.embedding, "weight", None):
            net.linear.weight.uniform_(-r, r)
        net.linear.bias.zero_()


def _build(config: ModelConfig, vocab_size: int) -> RNNModel | RegularizedRNNModel:
    for name in ("dropout_input", "dropout_hidden", "dropout_output", "dropout_embed", "weight_drop"):
        _check_p(getattr(config, name), "--" + name.replace("_", "-"))  # a negative one would just turn it off
    check_tying(config)
    if is_regularized(config) or tied_last_layer(config):
        if config.bidirectional:
            raise SeqlabError("the regularised LM (locked/embedding dropout, weight drop) is left-to-right: "
                              "drop --bidirectional")
        if config.dropout and is_regularized(config):
            raise SeqlabError("--dropout is the plain model's dropout; with the AWD options use "
                              "--dropout-output (and --dropout-input/--dropout-hidden) instead")
        net = RegularizedRNNModel(config.cell, config.impl, vocab_size, config.embed, config.hidden,
                                  config.layers, dropout_input=config.dropout_input,
                                  dropout_hidden=config.dropout_hidden, dropout_output=config.dropout_output,
                                  dropout_embed=config.dropout_embed, weight_drop=config.weight_drop,
                                  tie_weights=config.tie_weights, nonlinearity=config.nonlinearity,
                                  dropout=config.dropout)
        return net
    if config.embed < 0:
        raise SeqlabError(f"embed must be 0 (one-hot input) or positive, got {config.embed}")
    if config.embed == 0 and vocab_size > ONE_HOT_LIMIT:
        raise SeqlabError(f"one-hot input over a vocabulary of {vocab_size:,} tokens would make every batch "
                          f"(T, B, {vocab_size}) floats: give an embedding instead, e.g. --embed 200")
    layer = make_rnn_layer(config.cell, config.impl, config.embed or vocab_size, config.hidden, config.layers,
                           bidirectional=config.bidirectional, dropout=config.dropout,
                           nonlinearity=config.nonlinearity)
    return RNNModel(layer, vocab_size, embed_size=config.embed, dropout=config.dropout,
                    tie_weights=config.tie_weights)
