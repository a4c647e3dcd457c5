"""Held-out evaluation of a language model: `evaluate_lm` scores every token of a split with the
state carried across windows (fit_lm's validation each epoch, `seqlab evaluate`, the d2l layer's
perplexity). Training: lm.py."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.runtime import eval_mode
from seqlab.training import common
from seqlab.training import distributed as D
from seqlab.training.common import check_count, check_token_batch


def _token_losses(logits: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    # Per-token losses in the model's precision, summed in float64 by the caller: a long
    # split's total stays exact without paying for a float64 softmax over the vocabulary.
    return F.cross_entropy(logits, Y.T.reshape(-1).long(), reduction="none")


def _vocab_size(net: nn.Module) -> int | None:
    """The model's vocabulary size (its `vocab_size`, else its last Linear layer's width), if known."""
    model = D.unwrap(net)
    size = getattr(model, "vocab_size", None)
    if size is None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        size = linears[-1].out_features if linears else None
    return None if size is None else int(size)


def _row(state, b: int):
    """The state of batch row b only: (L, B, H) -> (L, 1, H); the book's (B, H) -> (1, H)."""
    if isinstance(state, (tuple, list)):
        return type(state)(_row(s, b) for s in state)
    return state[:, b:b + 1] if state.dim() == 3 else state[b:b + 1]


@torch.no_grad()
def evaluate_lm(net: nn.Module, stream: torch.Tensor, batch_size: int = 10, num_steps: int = 35,
                device: torch.device | str | None = None) -> tuple[float, int]:
    """Statefully score every token of `stream` after its first: (sum of losses, N - 1).

    `device`: where to run ("cpu", "cuda", a torch.device), by default the model's.

    The stream is cut into `batch_size` rows read in windows of `num_steps` with the state
    carried (each row's first token is the last target of the row before); the few tokens
    left over after the last full row are read by continuing the last row's state.
    """
    device = common.device_for(net, device)
    batch_size, num_steps = check_count(batch_size, "batch_size"), check_count(num_steps, "num_steps")
    if not isinstance(stream, torch.Tensor) or stream.dim() != 1:
        raise SeqlabError("evaluate_lm reads a 1-D tensor of token ids (a corpus split)")
    if stream.numel() == 0:  # before the dtype check: an empty list becomes a float tensor
        raise SeqlabError("the held-out token ids are empty: give a split with at least two tokens")
    check_token_batch(stream[None], _vocab_size(net), what="held-out token ids")
    stream = stream.to(device).long()
    n_pred = len(stream) - 1
    if n_pred < 1:
        raise SeqlabError(f"a held-out split of {len(stream)} tokens has nothing to predict")
    B = min(batch_size, n_pred)
    L = n_pred // B
    rows = stream[:B * L].view(B, L)  # (B, L): row b is contiguous text
    targets = stream[1:B * L + 1].view(B, L)
    with eval_mode(net):
        state = net.begin_state(batch_size=B, device=device)
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        for i in range(0, L, num_steps):
            logits, state = net(rows[:, i:i + num_steps], state)
            loss_sum += _token_losses(logits, targets[:, i:i + num_steps]).sum(dtype=torch.float64)
        rest = n_pred - B * L
        if rest:
            state = _row(state, B - 1)
            for i in range(B * L, n_pred, num_steps):
                j = min(i + num_steps, n_pred)
                logits, state = net(stream[i:j][None], state)
                loss_sum += _token_losses(logits, stream[i + 1:j + 1][None]).sum(dtype=torch.float64)
    return float(loss_sum), n_pred
