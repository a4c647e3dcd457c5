"""Counting baselines (SPEC §4): what the neural language models have to beat.

- uniform: every token 1/V, so perplexity = V exactly;
- unigram: p(w) = (count(w) + k) / (N + k V);
- bigram with add-k smoothing: p(w | u) = (count(u, w) + k) / (count(u) + k V).

Perplexity is exp(mean negative log-likelihood) over every prediction of a held-out
stream: for the bigram model the first token has no predecessor and is not predicted,
so a stream of N tokens gives N - 1 predictions, as the neural evaluation does.
"""

from __future__ import annotations

import math

import torch

from seqlab.errors import SeqlabError, check_positive_int
from seqlab.training.common import check_token_batch


class NGramLM:
    """Unigram (order=1) or bigram (order=2) counts over token ids, add-k smoothed."""

    def __init__(self, vocab_size: int, order: int = 2, k: float = 1.0):
        vocab_size = check_positive_int("vocab_size", vocab_size, " (the number of token ids)")
        if order not in (1, 2):
            raise SeqlabError(f"order must be 1 (unigram) or 2 (bigram), got {order}")
        if k <= 0:
            raise SeqlabError(f"add-k smoothing needs k > 0 (else unseen tokens get probability 0), got {k}")
        self.vocab_size, self.order, self.k = vocab_size, order, k
        self.unigram = torch.zeros(vocab_size, dtype=torch.float64)
        self.bigram = torch.zeros(vocab_size * vocab_size, dtype=torch.float64) if order == 2 else None
        # count(u) as a predecessor (the last token of a stream is none)
        self.context = torch.zeros(vocab_size, dtype=torch.float64) if order == 2 else None

    def fit(self, stream: torch.Tensor) -> "NGramLM":
        """Add the counts of one stream; call again to add more streams (no pair spans two)."""
        stream = self._check(stream)
        self.unigram += torch.bincount(stream, minlength=self.vocab_size).double()
        if self.order == 2:
            pairs = stream[:-1] * self.vocab_size + stream[1:]
            self.bigram += torch.bincount(pairs, minlength=self.vocab_size ** 2).double()
            self.context += torch.bincount(stream[:-1], minlength=self.vocab_size).double()
        return self

    def _check(self, stream: torch.Tensor) -> torch.Tensor:
        if not isinstance(stream, torch.Tensor) or stream.dim() != 1:
            raise SeqlabError("an n-gram model reads a 1-D tensor of token ids (a corpus split)")
        if len(stream):  # an empty stream adds no counts; checked before .long(), which truncates 1.9 to 1
            check_token_batch(stream[None], self.vocab_size, what="the stream's token ids")
        return stream.long()

    def log_probs(self, stream: torch.Tensor) -> torch.Tensor:
        """log p of each predicted token of `stream` (all N for unigram, the last N-1 for bigram)."""
        stream = self._check(stream)
        V, k = self.vocab_size, self.k
        if self.order == 1:
            return torch.log((self.unigram[stream] + k) / (self.unigram.sum() + k * V))
        prev, nxt = stream[:-1], stream[1:]
        return torch.log((self.bigram[prev * V + nxt] + k) / (self.context[prev] + k * V))

    def perplexity(self, stream: torch.Tensor) -> float:
        lp = self.log_probs(stream)
        if lp.numel() == 0:
            need = "one token" if self.order == 1 else "two tokens (the first is only context)"
            raise SeqlabError(f"nothing to predict in a stream of {len(stream)} tokens: a {self.order}-gram "
                              f"perplexity needs at least {need}")
        return math.exp(-lp.mean().item())


def uniform_perplexity(vocab_size: int) -> float:
    """A model that knows nothing: perplexity equals the vocabulary size."""
    return float(vocab_size)
