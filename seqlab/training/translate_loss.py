"""The masked cross-entropy an encoder-decoder translator trains on (translate.py's loop).

The loss averages cross-entropy over the *real* target tokens of a batch (those
before padding). The book's `MaskedSoftmaxCELoss` averages each sequence over its
padded length instead (`.mean(dim=1)`), so a short sentence's loss is scaled down by
valid_len / num_steps and the reported loss is too small (SPEC §13, d2l-en #2076);
`book_masked_ce` reproduces that for the test that shows the difference.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from seqlab.errors import SeqlabError


def sequence_mask(X: torch.Tensor, valid_len: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """Set the items of (B, T, ...) `X` at or past each row's `valid_len` (B,) to `value` (a copy).

    As in the book, a length of T or more keeps the whole row. Shapes are checked, values are not
    (that would need a host read on every training step).
    """
    valid_len = torch.as_tensor(valid_len)
    if X.dim() < 2:
        raise SeqlabError(f"X must be (batch, steps, ...), not of shape {tuple(X.shape)}")
    if valid_len.shape != X.shape[:1]:
        raise SeqlabError(f"valid_len must hold one length per sequence: shape ({X.shape[0]},) for a batch of "
                          f"{X.shape[0]}, not {tuple(valid_len.shape)}")
    keep = torch.arange(X.shape[1], device=X.device)[None, :] < valid_len.to(X.device)[:, None]  # (B, T)
    while keep.dim() < X.dim():
        keep = keep.unsqueeze(-1)
    return X.masked_fill(~keep, value)


def masked_ce(logits: torch.Tensor, labels: torch.Tensor, valid_len: torch.Tensor, *,
              weight: torch.Tensor | None = None, ignore_index: int = -100, label_smoothing: float = 0.0
              ) -> torch.Tensor:
    """Per-token cross-entropy (B, T) of (B, T, V) logits, zero at padded positions (`weight`,
    `ignore_index`, `label_smoothing`: F.cross_entropy's, with its defaults)."""
    if logits.dim() != 3 or labels.shape != logits.shape[:2]:
        raise SeqlabError(f"labels of shape {tuple(labels.shape)} do not fit predictions of shape "
                          f"{tuple(logits.shape)}: predictions must be (batch, steps, vocab) and labels (batch, steps)")
    if logits.dtype in (torch.float16, torch.bfloat16):  # (autocast) the softmax in float32; float64 kept
        logits = logits.float()
    weight = None if weight is None else weight.to(logits.dtype)
    ce = F.cross_entropy(logits.permute(0, 2, 1), labels.long(), weight, reduction="none",
                         ignore_index=ignore_index, label_smoothing=label_smoothing)  # (B, T)
    return sequence_mask(ce, valid_len)


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    """Per-sequence cross-entropy (B,), averaged over each sequence's *real* tokens.

    `loss(ones(3, 4, 10), ones(3, 4), [4, 2, 0])` is [2.3026, 2.3026, 0.0] (ln 10 per
    real token; an empty sequence has no loss), where the book gives [2.3026, 1.1513, 0.0].

    A subclass of nn.CrossEntropyLoss, as the book's: `weight`, `ignore_index` and `label_smoothing`
    make each token's loss as there (an ignored token adds 0 and still counts as a real one), so
    each sequence's loss is the book's times num_steps / valid length. The loss is one per sequence
    (the book sets `reduction` to "none" at every call): another reduction, size_average or reduce is refused.

    Each valid length must be an integer in 0..T: one past T would divide T tokens' loss by
    more than T. Checking the values (and the labels' range) costs one host read per call;
    seqlab's own training loop (`train_epoch`) calls `masked_ce`, whose checks are on shapes only.
    """

    def __init__(self, weight: torch.Tensor | None = None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean", label_smoothing: float = 0.0):
        if size_average is not None or reduce is not None or reduction not in ("mean", "none"):
            raise SeqlabError("MaskedSoftmaxCELoss gives one loss per sequence, shape (batch,), as the book's: "
                              "leave out reduction, size_average and reduce, and take .mean() or .sum() of it")
        super().__init__(weight, ignore_index=ignore_index, reduction="none", label_smoothing=label_smoothing)

    def forward(self, pred: torch.Tensor, label: torch.Tensor, valid_len: torch.Tensor) -> torch.Tensor:
        valid_len = torch.as_tensor(valid_len, device=pred.device)
        if valid_len.is_floating_point():
            raise SeqlabError(f"valid_len must hold integer lengths, not {valid_len.dtype}")
        if torch.is_tensor(label) and label.numel() and valid_len.numel():  # the one host read: both ranges
            ids = label.long().masked_fill(label == self.ignore_index, 0)  # (ignored: any id, as in torch)
            lo, hi, len_lo, len_hi = torch.stack([*torch.aminmax(ids), *torch.aminmax(valid_len.long())]).tolist()
        else:
            lo, hi, len_lo, len_hi = 0, 0, 0, 0
        V, T = pred.shape[-1], pred.shape[1]
        if lo < 0 or hi >= V:
            raise SeqlabError(f"label id {lo if lo < 0 else hi} is out of range for predictions over {V} "
                              f"tokens (ids 0..{V - 1}): the labels and the model use different vocabularies")
        ce = masked_ce(pred, label, valid_len, weight=self.weight, ignore_index=self.ignore_index,
                       label_smoothing=self.label_smoothing)  # (B, T); checks the shapes
        if len_lo < 0 or len_hi > T:
            bad = valid_len[(valid_len < 0) | (valid_len > T)]
            raise SeqlabError(f"valid lengths must be in 0..{T} (the steps of the labels), got {bad[:5].tolist()}")
        return ce.sum(dim=1) / valid_len.clamp(min=1).to(pred.dtype)


def book_masked_ce(pred: torch.Tensor, label: torch.Tensor, valid_len: torch.Tensor) -> torch.Tensor:
    """The book's (d2l 0.17) MaskedSoftmaxCELoss: the mean over the padded length. For tests only."""
    return masked_ce(pred, label, torch.as_tensor(valid_len)).mean(dim=1)
