"""Text generation from a language model: functions over a model and its state.

Every model here has `forward(X (B, T), state) -> (logits (T*B, V), state)`, so the
functions below work for scratch and fused models alike.

- `predict_ch8`: the book's semantics. Warm up on the prefix (the state absorbs it;
  no prediction is kept), then take the arg-max token `num_preds` times, each fed
  back as the next input. Returns the prefix followed by the predictions.
- `generate`: greedy by default; with `temperature` and/or `top_k`, sample from
  `softmax(logits / T)` restricted to the k most likely tokens, with a seeded
  `torch.Generator` for reproducibility. (Seed 004 samples from `exp(logits)`, which
  overflows to inf above ~88 in float32; softmax of scaled logits cannot.)
"""

from __future__ import annotations

from typing import Hashable, Sequence

import torch

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError


def check_prefix(tokens: Sequence[Hashable], vocab: Vocab, level: str = "char") -> list[int]:
    """Indices of the prefix tokens; a token outside the vocabulary is a clear error."""
    if len(tokens) == 0:
        raise SeqlabError("the prefix is empty: give at least one token to start from")
    missing = sorted({t for t in tokens if t not in vocab}, key=str)
    if missing:
        what = "characters" if level == "char" else "words"
        shown = ", ".join(repr(t) for t in missing[:20])
        hint = " (this vocabulary is lower-case: try a lower-case prefix)" if any(
            isinstance(t, str) and t.lower() != t and t.lower() in vocab for t in missing) else ""
        raise SeqlabError(f"the prefix has {what} not in the model's vocabulary: {shown}{hint}")
    return [vocab.token_to_idx[t] for t in tokens]


def check_sampling(temperature: float | None, top_k: int | None) -> None:
    if temperature is not None and not temperature > 0:
        raise SeqlabError(f"temperature must be > 0 (small: nearly greedy; 1: the model's distribution), "
                          f"got {temperature}")
    if top_k is not None and top_k <= 0:
        raise SeqlabError(f"top-k must be a positive number of candidate tokens, got {top_k}")


def _device_of(net) -> torch.device:
    return next(iter(net.parameters())).device


@torch.no_grad()
def warm_up(net, prefix_ids: Sequence[int], device=None):
    """Feed the whole prefix once; returns (logits after the last prefix token (V,), state)."""
    device = device or _device_of(net)
    state = net.begin_state(batch_size=1, device=device)
    X = torch.tensor([list(prefix_ids)], device=device)  # (1, T)
    logits, state = net(X, state)  # (T, V) time-major with B = 1
    return logits[-1], state


def next_token(logits: torch.Tensor, temperature: float | None = None, top_k: int | None = None,
               generator: torch.Generator | None = None) -> int:
    """Greedy (no temperature, no top-k), else a sample from softmax(logits / T) over the top k."""
    if temperature is None and top_k is None:
        return int(logits.argmax())
    logits = logits.double() / (temperature or 1.0)
    if top_k is not None and top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs.cpu(), 1, generator=generator))


@torch.no_grad()
def generate_ids(net, prefix_ids: Sequence[int], num_tokens: int, *, temperature: float | None = None,
                 top_k: int | None = None, seed: int | None = None, device=None) -> list[int]:
    """The prefix ids followed by `num_tokens` generated ids."""
    check_sampling(temperature, top_k)
    if num_tokens < 0:
        raise SeqlabError(f"the number of tokens to generate must be >= 0, got {num_tokens}")
    device = device or _device_of(net)
    was_training = net.training
    net.eval()
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    logits, state = warm_up(net, prefix_ids, device)
    out = list(prefix_ids)
    for _ in range(num_tokens):
        y = next_token(logits, temperature, top_k, gen)
        out.append(y)
        logits, state = net(torch.tensor([[y]], device=device), state)
        logits = logits[-1]
    net.train(was_training)
    return out


def generate(net, vocab: Vocab, prefix: Sequence[Hashable], num_tokens: int, *, level: str = "char",
             temperature: float | None = None, top_k: int | None = None, seed: int | None = None,
             device=None) -> list[Hashable]:
    """Tokens: the prefix followed by `num_tokens` generated ones."""
    ids = generate_ids(net, check_prefix(list(prefix), vocab, level), num_tokens, temperature=temperature,
                       top_k=top_k, seed=seed, device=device)
    return vocab.to_tokens(ids)


def predict_ch8(prefix: str, num_preds: int, net, vocab: Vocab, device=None) -> str:
    """The book's greedy character generation: prefix + num_preds arg-max characters."""
    ids = generate_ids(net, check_prefix(list(prefix), vocab, "char"), num_preds, device=device)
    return "".join(vocab.idx_to_token[i] for i in ids)
