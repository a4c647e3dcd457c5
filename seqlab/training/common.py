"""Small helpers shared by every training loop: clipping, state detaching, optimisers."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from seqlab.errors import SeqlabError

State = torch.Tensor | tuple | list | None


def _params(net: nn.Module | Iterable[torch.Tensor]) -> list[torch.Tensor]:
    if isinstance(net, nn.Module):
        params = net.parameters()
    elif hasattr(net, "params"):  # the book's RNNModelScratch keeps a list of tensors
        params = net.params
    else:
        params = net
    return [p for p in params if p.requires_grad and p.grad is not None]


def grad_clipping(net: nn.Module | Iterable[torch.Tensor], theta: float) -> torch.Tensor:
    """Clip gradients by their global norm: g <- min(1, theta / ||g||) g.

    Returns the norm before clipping, as a tensor (no host sync: the scaling is
    computed on the device, as the book's formula asks, without a Python `if`).
    """
    params = _params(net)
    if not params:
        return torch.zeros(())
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))
    scale = torch.clamp(theta / (norm + 1e-12), max=1.0)
    for p in params:
        p.grad.mul_(scale)
    return norm


def detach_state(state: State) -> State:
    """Cut the graph behind a carried hidden state (a tensor, or a tuple such as LSTM's (h, c))."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return type(state)(detach_state(s) for s in state)


def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """The book's minibatch SGD: p <- p - lr * grad / batch_size."""
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad / batch_size
            p.grad.zero_()


def make_optimizer(name: str, params: Iterable[torch.Tensor], lr: float, *, weight_decay: float = 0.0,
                   momentum: float = 0.0) -> torch.optim.Optimizer:
    """sgd | adam | adamw, by name."""
    if lr <= 0:
        raise SeqlabError(f"learning rate must be > 0, got {lr}")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise SeqlabError(f"unknown optimizer {name!r}: use sgd, adam or adamw")
