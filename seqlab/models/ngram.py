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
    """Unigram (order=1) or bigram (order=2) counts over token ids, add-k smoothed.

    The bigram counts are kept sparse, as the sorted codes u * V + w of the pairs seen
    (`pair_codes`) and their counts (`pair_counts`): a dense V x V table is 8.7 GB of float64
    at WikiText-2's 33,278 words, where its 2 M training tokens hold fewer than 2 M pairs."""

    def __init__(self, vocab_size: int, order: int = 2, k: float = 1.0):
        vocab_size = check_positive_int("vocab_size", vocab_size, " (the number of token ids)")
        if order not in (1, 2):
            raise SeqlabError(f"order must be 1 (unigram) or 2 (bigram), got {order}")
        if k <= 0:
            raise SeqlabError(f"add-k smoothing needs k > 0 (else unseen tokens get probability 0), got {k}")
        self.vocab_size, self.order, self.k = vocab_size, order, k
        self.unigram = torch.zeros(vocab_size, dtype=torch.float64)
        self.pair_codes = torch.zeros(0, dtype=torch.long) if order == 2 else None
        self.pair_counts = torch.zeros(0, dtype=torch.float64) if order == 2 else None
        # count(u) as a predecessor (the last token of a stream is none)
        self.context = torch.zeros(vocab_size, dtype=torch.float64) if order == 2 else None

    def fit(self, stream: torch.Tensor) -> "NGramLM":
        """Add the counts of one stream; call again to add more streams (no pair spans two)."""
        stream = self._check(stream)
        self.unigram += torch.bincount(stream, minlength=self.vocab_size).double()
        if self.order == 2:
            codes, counts = torch.unique(stream[:-1] * self.vocab_size + stream[1:], return_counts=True)
            # merged with the pairs of the streams fitted before (sorted: torch.unique sorts)
            self.pair_codes, where = torch.unique(torch.cat([self.pair_codes, codes]), return_inverse=True)
            self.pair_counts = torch.zeros(len(self.pair_codes), dtype=torch.float64).index_add_(
                0, where, torch.cat([self.pair_counts, counts.double()]))
            self.context += torch.bincount(stream[:-1], minlength=self.vocab_size).double()
        return self

    def pair_count(self, prev: torch.Tensor, nxt: torch.Tensor) -> torch.Tensor:
        """count(prev[i], nxt[i]) for each i (float64; 0 for a pair never seen)."""
        codes = prev.long() * self.vocab_size + nxt.long()
        if len(self.pair_codes) == 0:
            return torch.zeros(codes.shape, dtype=torch.float64)
        at = torch.searchsorted(self.pair_codes, codes).clamp(max=len(self.pair_codes) - 1)
        return torch.where(self.pair_codes[at] == codes, self.pair_counts[at], 0.0)

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
        return torch.log((self.pair_count(prev, nxt) + k) / (self.context[prev] + k * V))

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


# the add-k values `heldout_baselines` tries: k = 1 (Laplace) is far too flat for words (WikiText-2's
# bigram: 2019 at k = 1, 540 at k = 0.01), and the best k differs between unigram and bigram
ADD_K = (1.0, 0.1, 0.01, 0.001)


def heldout_baselines(train: torch.Tensor, heldout: torch.Tensor, vocab_size: int, ks=ADD_K) -> dict:
    """The counting baselines' perplexities on `heldout`, fitted on `train`, over the tokens a neural
    LM's held-out perplexity averages (`evaluate_lm`): every token of `heldout` after its first, the
    bigram's first context being the first token. Each model's k is the one of `ks` it does best
    with on `heldout` itself (a tuned baseline is the harder one to beat), given as unigram_k and
    bigram_k. Counting only: WikiText-2's 2 M training tokens take a fraction of a second."""
    heldout = torch.as_tensor(heldout)
    if heldout.dim() != 1 or len(heldout) < 2:
        raise SeqlabError(f"a baseline perplexity needs a held-out split of at least two tokens, got "
                          f"{tuple(heldout.shape)}")
    out = {"uniform": uniform_perplexity(vocab_size), "tokens": len(heldout) - 1}
    for name, order, scored in (("unigram", 1, heldout[1:]), ("bigram", 2, heldout)):
        model = NGramLM(vocab_size, order, ks[0]).fit(train)  # (the counts do not depend on k)
        best = None
        for k in ks:
            model.k = k
            ppl = model.perplexity(scored)
            if best is None or ppl < best[0]:
                best = (ppl, k)
        out[name], out[f"{name}_k"] = best
    return out
