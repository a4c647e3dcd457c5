"""Sequence classifier (seed 003): a recurrent stack read to the end, its last hidden state -> linear."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from seqlab.errors import SeqlabError


class SequenceClassifier(nn.Module):
    """LSTM (or GRU) over a whole sequence; the top layer's final hidden state feeds a linear layer.

    Input (B, T, D) batch-first, output logits (B, num_classes). Seed 003's model is
    `SequenceClassifier(28, 10, hidden=10, layers=2)` over row-MNIST.
    """

    def __init__(self, input_size: int, num_classes: int, *, hidden: int = 128, layers: int = 2,
                 cell: Literal["lstm", "gru"] = "lstm", dropout: float = 0.0):
        super().__init__()
        if hidden <= 0 or layers <= 0:
            raise SeqlabError(f"hidden and layers must be positive, got hidden={hidden}, layers={layers}")
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
        # x: (B, T, D)
        _, state = self.rnn(x)
        h_n = state[0] if self.cell == "lstm" else state  # (layers, B, H)
        return self.fc(h_n[-1])  # (B, H) -> (B, C)
