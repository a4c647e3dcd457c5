"""One-step forecasters: the book's MLP and a GRU/LSTM, all mapping a window of tau past values
to the next one, so every prediction routine (one-step, multi-step, k-step) works on any of them.

    forward(window (B, tau)) -> next value (B, 1)

The recurrent ones also predict the next value after every position of the window,
`forward_all(window) -> (B, tau)`, which trains them on all tau targets at once.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.training.common import check_stack_fits


def check_windows(x, tau: int | None = None) -> None:
    """A batch of windows (B, tau) of floats; `tau`: the window the model reads (the MLP's is fixed,
    a recurrent forecaster reads any)."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = f"a {x.dtype} tensor" if isinstance(x, torch.Tensor) else f"a {type(x).__name__}"
        raise SeqlabError(f"the forecaster reads a batch of windows (B, tau) of floats, got {got}")
    if x.dim() != 2:
        raise SeqlabError(f"the forecaster reads a batch of windows (B, tau), got shape {tuple(x.shape)}"
                          + (": one window is x[None]" if x.dim() == 1 else ""))
    if tau is not None and x.shape[1] != tau:
        raise SeqlabError(f"the forecaster reads windows of tau={tau} values, got {x.shape[1]} (shape "
                          f"{tuple(x.shape)}): give the last {tau} values, or build it with tau={x.shape[1]}")


def _xavier(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)


class MLPForecaster(nn.Module):
    """The book's net: Linear(tau, hidden) -> ReLU -> Linear(hidden, 1), Xavier-uniform weights."""

    def __init__(self, tau: int = 4, hidden: int = 10):
        super().__init__()
        if tau <= 0 or hidden <= 0:
            raise SeqlabError(f"tau and hidden must be positive, got tau={tau}, hidden={hidden}")
        self.tau = tau
        self.net = nn.Sequential(nn.Linear(tau, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.net.apply(_xavier)  # biases keep torch's default init, as in the book

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_windows(x, self.tau)
        return self.net(x)  # (B, tau) -> (B, 1)


class RNNForecaster(nn.Module):
    """GRU or LSTM read over the window, one value per step; a linear head on each hidden state."""

    def __init__(self, cell: Literal["gru", "lstm"] = "gru", hidden: int = 32, layers: int = 1):
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}.get(cell)
        if rnn is None:
            raise SeqlabError(f"unknown recurrent cell {cell!r}: use gru or lstm")
        if hidden <= 0 or layers <= 0:
            raise SeqlabError(f"hidden and layers must be positive, got hidden={hidden}, layers={layers}")
        check_stack_fits(layers, hidden)
        self.rnn = rnn(1, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward_all(self, x: torch.Tensor) -> torch.Tensor:
        """Window (B, tau) -> the prediction of the value after each position (B, tau)."""
        check_windows(x)
        out, _ = self.rnn(x.unsqueeze(-1))  # (B, tau, 1) -> (B, tau, H)
        return self.head(out).squeeze(-1)  # (B, tau)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[:, -1:]  # (B, 1)


def build_forecaster(model: str, tau: int, hidden: int, layers: int = 1) -> nn.Module:
    if model == "mlp":
        if layers != 1:
            raise SeqlabError("the MLP forecaster has one hidden layer; --layers applies to gru/lstm")
        return MLPForecaster(tau, hidden)
    if model in ("gru", "lstm"):
        return RNNForecaster(model, hidden, layers)
    raise SeqlabError(f"unknown forecaster {model!r}: use mlp, gru or lstm")
