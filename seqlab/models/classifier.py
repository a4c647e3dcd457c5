"""Sequence classifiers: a recurrent stack read to the end, its last hidden state -> linear. Seed 003's
over MNIST rows (`SequenceClassifier`), and over token ids of padded texts (`TextClassifier`)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from seqlab.errors import SeqlabError, check_positive_int, is_int
from seqlab.torch_compat import recorded_by_tracer, tracing
from seqlab.training.common import check_model_input, check_stack_fits


def check_features(x, input_size: int) -> None:
    """Refuse what a SequenceClassifier cannot read, with a message instead of a deep torch error (or,
    for a 2-D input, nn.LSTM's unbatched reading and logits without a batch dimension): features
    (B, T, D) batch-first, D = input_size, with B, T >= 1 (another dtype: nn.LSTM's own clear error)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = f"{x.dtype} tensor" if isinstance(x, torch.Tensor) else type(x).__name__
        raise SeqlabError(f"the classifier reads float features (B, T, D), got a {got}")
    if x.dim() != 3:
        hint = ": one sequence is x[None]" if x.dim() == 2 else ""
        raise SeqlabError(f"the classifier reads a batch of sequences (B, T, D), got shape {tuple(x.shape)}{hint}")
    if x.shape[-1] != input_size:
        raise SeqlabError(f"the input has {x.shape[-1]} features per step but the classifier reads {input_size} "
                          "(its input_size): check the input's layout (batch-first: (B, T, D))")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise SeqlabError(f"the input of shape {tuple(x.shape)} is empty: it needs at least one sequence and "
                          "one time step")


def check_lengths(lengths, tokens: torch.Tensor) -> torch.Tensor | None:
    """A TextClassifier batch's lengths (B,), each in 1..T, as the CPU int64 tensor packing wants;
    a tensor, or a list/tuple of ints (as pack_padded_sequence takes); None stays None (every text
    T long: nothing to pack)."""
    B, T = tokens.shape
    if lengths is None:
        return None
    if isinstance(lengths, (list, tuple)) and all(map(is_int, lengths)):
        lengths = torch.tensor([int(n) for n in lengths], dtype=torch.long)
    if (not isinstance(lengths, torch.Tensor) or lengths.is_floating_point() or lengths.is_complex()
            or lengths.dtype == torch.bool):
        got = f"{lengths.dtype} tensor" if isinstance(lengths, torch.Tensor) else repr(lengths)
        raise SeqlabError(f"lengths must be each text's token count, integers (a tensor, list or tuple), got {got}")
    if lengths.shape != (B,):
        raise SeqlabError(f"lengths must have one entry per text, shape ({B},), got {tuple(lengths.shape)}")
    lengths = lengths.cpu()  # (packing reads them on the host anyway)
    lo, hi = int(lengths.min()), int(lengths.max())
    if lo < 1 or hi > T:
        raise SeqlabError(f"a length of {lo if lo < 1 else hi} is out of range: each text has 1..{T} tokens "
                          f"(the batch's {T} steps, padding after each text's end)")
    return lengths.long()


class SequenceClassifier(nn.Module):
    """LSTM (or GRU) over a whole sequence; the top layer's final hidden state feeds a linear layer.

    Input (B, T, D) batch-first, output logits (B, num_classes). Seed 003's model is
    `SequenceClassifier(28, 10, hidden=10, layers=2)` over row-MNIST.
    """

    def __init__(self, input_size: int, num_classes: int, *, hidden: int = 128, layers: int = 2,
                 cell: Literal["lstm", "gru"] = "lstm", dropout: float = 0.0):
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        check_positive_int("num_classes", num_classes)
        if hidden <= 0 or layers <= 0:
            raise SeqlabError(f"hidden and layers must be positive, got hidden={hidden}, layers={layers}")
        check_stack_fits(layers, hidden)
        if not 0.0 <= dropout < 1.0:
            raise SeqlabError(f"dropout must be in [0, 1), got {dropout}")
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell)
        if rnn is None:
            raise SeqlabError(f"unknown cell {cell!r}: use lstm or gru")
        self.cell = cell
        # dropout between stacked layers only (torch warns when given with one layer)
        self.rnn = rnn(input_size, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.fc = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not recorded_by_tracer():  # (fx passes a Proxy; under torch.compile the check runs, on guards)
            check_features(x, self.input_size)  # (B, T, D)
        _, state = self.rnn(x)
        h_n = state[0] if self.cell == "lstm" else state  # (layers, B, H)
        return self.fc(h_n[-1])  # (B, H) -> (B, C)


class TextClassifier(nn.Module):
    """Embedding -> LSTM (or GRU) stack -> the state at each text's last real token -> linear.

    Input: token ids (B, T) batch-first, padded after each text's end, and the lengths (B,)
    (None: no padding, every text T tokens long); output logits (B, num_classes). The padded
    batch is packed (pack_padded_sequence), so the recurrence stops at each text's own end:
    padding never reaches the state that is classified, and a text gets the same logits alone as
    beside a longer one. Bidirectional: the forward direction's state after the last token beside
    the backward direction's after the first (each has read the whole text). `dropout` acts on the
    embeddings, between layers and on the classified state.

    Under torch.compile/export, jit.trace and fx (`tracing()`), which cannot follow packing or
    read the lengths' values: the input checks stand aside, and a left-to-right model reads the
    padded batch whole and takes the top layer's output after each text's last token (the same
    state: nothing after a step reaches it); a bidirectional one runs each layer's directions
    apart, the backward one over each text's tokens reversed (`_directions_at_lengths`). Without
    lengths nothing is packed either way.
    """

    def __init__(self, vocab_size: int, num_classes: int, *, embed: int = 128, hidden: int = 128, layers: int = 1,
                 cell: Literal["lstm", "gru"] = "lstm", dropout: float = 0.0, bidirectional: bool = False):
        super().__init__()
        if min(vocab_size, num_classes, embed, hidden, layers) <= 0:
            raise SeqlabError(f"vocab_size, num_classes, embed, hidden and layers must be positive, got "
                              f"{vocab_size}, {num_classes}, {embed}, {hidden}, {layers}")
        check_stack_fits(layers, hidden)
        if not 0.0 <= dropout < 1.0:
            raise SeqlabError(f"dropout must be in [0, 1), got {dropout}")
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cell)
        if rnn is None:
            raise SeqlabError(f"unknown cell {cell!r}: use lstm or gru")
        self.cell, self.bidirectional = cell, bidirectional
        self.embedding = nn.Embedding(vocab_size, embed)
        self.drop = nn.Dropout(dropout)
        self.rnn = rnn(embed, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0,
                       bidirectional=bidirectional)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), num_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if not recorded_by_tracer():  # (fx passes Proxies; under torch.compile the check runs, on guards)
            check_model_input(tokens, self.embedding.num_embeddings)
        traced = tracing()
        if not traced:  # (it reads the lengths' values: a graph break, a data-dependent export error)
            lengths = check_lengths(lengths, tokens)  # None: no padding, each row is a whole text
        elif isinstance(lengths, (list, tuple)):  # (as packing takes them)
            lengths = torch.tensor(lengths)
        emb = self.drop(self.embedding(tokens))  # (B, T) -> (B, T, E)
        if lengths is None:  # every row a whole text: nothing to pack (the same state as packed)
            _, state = self.rnn(emb)
        elif traced and not self.bidirectional:
            out, _ = self.rnn(emb)  # (B, T, H), the top layer's: padding read too, but no earlier step sees it
            return self.fc(self.drop(_at_lengths(out, lengths)))  # (B, C)
        elif traced:
            return self.fc(self.drop(_directions_at_lengths(self.rnn, emb, lengths)))  # (B, C)
        else:
            # lengths on the CPU, as packing wants them; enforce_sorted=False: the state comes back in batch order
            packed = nn.utils.rnn.pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
            _, state = self.rnn(packed)
        h_n = state[0] if self.cell == "lstm" else state  # (layers * directions, B, H), the top layer last
        last = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]  # (B, directions * H)
        return self.fc(self.drop(last))  # (B, C)


def _at_lengths(out: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """`out` (B, T, H) at each row's step lengths[b] - 1: (B, H)."""
    last = (lengths.long() - 1).clamp(min=0).to(out.device)  # (B,); (a traced length 0 is no index -1)
    return out.gather(1, last.view(-1, 1, 1).expand(-1, 1, out.shape[2])).squeeze(1)  # (B, 1, H) -> (B, H)


_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # one layer and direction's, in torch.lstm's order


def _directions_at_lengths(rnn: nn.LSTM | nn.GRU, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """What a bidirectional, batch-first `rnn` gives packed (the forward direction's top-layer
    state after each row's last real step beside the backward one's after its first, (B, 2H)),
    computed without packing, for a tracer: layer by layer, each direction as a one-layer
    recurrence with that direction's weights (torch.lstm / torch.gru, the op nn.LSTM runs), the
    backward one over each row's real steps in reverse order with its padding after them. Neither
    reads padding before a real step, so the real steps' outputs, and the next layer's inputs
    there, are the packed run's."""
    B, T, _ = x.shape
    n = lengths.long().clamp(min=1).to(x.device).view(-1, 1)  # (B, 1); (a traced length 0 reads step 0)
    steps = torch.arange(T, device=x.device).view(1, -1)
    order = torch.where(steps < n, n - 1 - steps, steps)  # (B, T): the real steps reversed; its own inverse

    def flip(y: torch.Tensor) -> torch.Tensor:
        return y.gather(1, order.unsqueeze(2).expand(-1, -1, y.shape[2]))

    lstm = isinstance(rnn, nn.LSTM)
    h0 = x.new_zeros(1, B, rnn.hidden_size)
    for k in range(rnn.num_layers):
        outs = []
        for suffix, inputs in (("", x), ("_reverse", flip(x))):
            weights = [getattr(rnn, f"{name}_l{k}{suffix}") for name in _WEIGHTS]
            if lstm:
                y = torch.lstm(inputs, [h0, h0], weights, True, 1, 0.0, False, False, True)[0]  # (B, T, H)
            else:
                y = torch.gru(inputs, h0, weights, True, 1, 0.0, False, False, True)[0]
            outs.append(flip(y) if suffix else y)
        x = torch.cat(outs, dim=2)  # (B, T, 2H), each step's two directions, as nn.LSTM gives them
        if k < rnn.num_layers - 1:
            x = nn.functional.dropout(x, rnn.dropout, rnn.training)
    H = rnn.hidden_size
    return torch.cat([_at_lengths(x[..., :H], lengths), x[:, 0, H:]], dim=1)  # (B, 2H)
