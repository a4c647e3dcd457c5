"""Regularisers of AWD-LSTM (Merity et al. 2017) for recurrent language models.

- `LockedDropout`: variational dropout — one mask per sequence, the same at every time
  step (Gal & Ghahramani 2016), for inputs, outputs and between layers.
- `embedding_dropout`: drops whole word types (rows of the embedding matrix).
- `WeightDrop`: DropConnect on the hidden-to-hidden matrices of an `nn.LSTM`/`nn.GRU`/
  `nn.RNN`; the fused kernel still runs, on a dropped copy of its weights.
- `activation_reg` / `temporal_activation_reg`: AR and TAR penalties.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from seqlab.errors import SeqlabError


def _check_p(p: float, name: str) -> float:
    if not 0.0 <= p < 1.0:
        raise SeqlabError(f"{name} must be in [0, 1), got {p}")
    return float(p)


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence, shared by all time steps.

    Input (T, B, H) with `time_dim=0` (or (B, T, H) with `time_dim=1`); identity in eval.
    """

    def __init__(self, p: float = 0.5, time_dim: int = 0):
        super().__init__()
        self.p = _check_p(p, "locked dropout")
        self.time_dim = time_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        shape = list(x.shape)
        shape[self.time_dim] = 1  # (1, B, H): the same units dropped at every step
        mask = x.new_empty(shape).bernoulli_(1.0 - self.p) / (1.0 - self.p)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


def embedding_dropout(embed: nn.Embedding, words: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Look up `words` in `embed` with whole rows (word types) dropped with probability p
    and the kept rows scaled by 1/(1-p): a dropped word is zero wherever it occurs."""
    _check_p(p, "embedding dropout")
    weight = embed.weight
    if training and p > 0:
        mask = weight.new_empty((weight.shape[0], 1)).bernoulli_(1.0 - p) / (1.0 - p)  # (V, 1)
        weight = weight * mask
    return F.embedding(words, weight, embed.padding_idx, embed.max_norm, embed.norm_type,
                       embed.scale_grad_by_freq, embed.sparse)


class WeightDrop(nn.Module):
    """DropConnect on the recurrent (hidden-to-hidden) weights of a fused RNN layer.

    Each forward pass in training draws a dropout mask over `weight_hh_l*` and runs the
    wrapped module with the dropped weights through `torch.func.functional_call`; the
    gradient reaches the original parameters. In eval the module runs unchanged.
    """

    def __init__(self, module: nn.RNNBase, p: float = 0.5):
        super().__init__()
        if not isinstance(module, nn.RNNBase):
            raise SeqlabError(f"WeightDrop wraps nn.RNN/nn.GRU/nn.LSTM, got {type(module).__name__}")
        self.module = module
        self.p = _check_p(p, "weight drop")
        self.names = [n for n, _ in module.named_parameters() if n.startswith("weight_hh")]

    def forward(self, *args, **kwargs):
        if not self.training or self.p == 0.0:
            return self.module(*args, **kwargs)
        dropped = {n: F.dropout(getattr(self.module, n), self.p, training=True) for n in self.names}
        return functional_call(self.module, dropped, args, kwargs)

    def extra_repr(self) -> str:
        return f"p={self.p}, weights={self.names}"


def activation_reg(output: torch.Tensor, alpha: float) -> torch.Tensor:
    """AR: alpha * mean(h^2) over the (dropped) outputs of the last layer."""
    return alpha * output.pow(2).mean()


def temporal_activation_reg(output: torch.Tensor, beta: float, time_dim: int = 0) -> torch.Tensor:
    """TAR: beta * mean((h_t - h_{t-1})^2) over the (undropped) last-layer outputs."""
    T = output.shape[time_dim]
    if T < 2:
        return output.new_zeros(())
    diff = output.narrow(time_dim, 1, T - 1) - output.narrow(time_dim, 0, T - 1)
    return beta * diff.pow(2).mean()
