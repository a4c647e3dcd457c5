"""Small helpers shared by every training loop: clipping, state detaching, optimisers."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from seqlab.errors import SeqlabError

State = torch.Tensor | tuple | list | None


def lm_loss_sum(logits: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy of a language model's batch: the one training loss of both LM loops.

    logits are time-major (T*B, V), so the targets are Y (B, T) transposed.
    """
    return nn.functional.cross_entropy(logits, Y.T.reshape(-1).long(), reduction="sum")


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


def check_token_batch(X: torch.Tensor, vocab_size: int | None, *, what: str = "token ids") -> None:
    """Refuse what a language model cannot read, with a message instead of a deep torch error:
    a (batch, time) integer tensor with at least one time step and ids in [0, vocab_size)
    (the range is not checked when `vocab_size` is None)."""
    if not isinstance(X, torch.Tensor):
        raise SeqlabError(f"{what} must be a torch.Tensor of shape (batch, time), got {type(X).__name__}")
    if X.dtype.is_floating_point or X.dtype.is_complex or X.dtype == torch.bool:
        raise SeqlabError(f"{what} must be integers (torch.long), got {X.dtype}: pass token indices, "
                          "e.g. vocab[tokens], not features")
    if X.dim() != 2:
        raise SeqlabError(f"{what} must have shape (batch, time), got {tuple(X.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise SeqlabError(f"{what} of shape {tuple(X.shape)} are empty: a batch needs at least one row and "
                          "one time step")
    if vocab_size is None:
        return
    lo, hi = int(X.min()), int(X.max())
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise SeqlabError(f"token id {bad} is out of range for a vocabulary of {vocab_size} tokens "
                          f"(ids 0..{vocab_size - 1}): the data and the model use different vocabularies")
