"""Decoding an encoder-decoder model: greedy, exhaustive (tiny vocabularies) and beam search.

All three score a finished candidate y_1..y_L the same way (the book's 9.8):

    score = (1 / L**alpha) * sum_{t=1..L} log p(y_t | y_<t, source),   alpha = 0.75

where L counts the generated tokens *including* the final <eos> (whose probability
is part of the sum); a candidate that reaches `max_len` without <eos> ends there and
L = max_len. A candidate stops at its first <eos>. The returned tokens exclude <eos>.

Beam search stops a source once K (the beam size) of its candidates have finished, as fairseq
does, even where a longer candidate still alive could have scored higher after the length
normalisation. So a wider beam is not guaranteed a translation that scores above greedy's (or
above a narrower beam's) by the model's own score; it usually does.

The model is any `EncoderDecoder` whose decoder follows `seqlab.models.seq2seq.Decoder`
(`init_state`, `forward(X (B, 1), state) -> (B, 1, V)`, `reorder_state`). Each search runs
in eval mode (no dropout: the same source gives the same output right after training too) and
gives every submodule back its mode.
"""

from __future__ import annotations

import functools
import itertools
import numbers
from dataclasses import dataclass

import torch
from torch import nn

from seqlab.errors import SeqlabError, check_positive_int, is_int
from seqlab.models.seq2seq import ID_DTYPES, Decoder, check_tokens, no_reorder_state
from seqlab.runtime import eval_mode


@dataclass
class Hypothesis:
    tokens: list[int]  # without <eos>
    score: float  # length-normalised: sum_logp / L**alpha
    sum_logp: float
    length: int  # L, counting <eos> when the candidate ended with it


def _in_eval_mode(search):
    """Run `search(model, ...)` with the model in eval mode, its modes restored after."""
    @functools.wraps(search)
    def run(model, *args, **kwargs):
        with eval_mode(model):
            return search(model, *args, **kwargs)
    return run


def _check(beam_size: int, max_len: int, alpha: float) -> None:
    check_positive_int("the beam size", beam_size)
    check_positive_int("the max length", max_len)
    # the CLI's rule for --alpha; a NaN fails the comparison too (it gave NaN scores)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha < float("inf"):
        raise SeqlabError(f"alpha must be a finite number >= 0 (the length-normalisation exponent; 0: none), "
                          f"got {alpha!r}")


def _vocab_size(module: nn.Module) -> int | None:
    embedding = getattr(module, "embedding", None)
    return embedding.num_embeddings if isinstance(embedding, nn.Embedding) else None


def _check_special(model: nn.Module, bos: int, eos: int) -> None:
    """<bos> and <eos> must be ids of the target vocabulary (an <eos> past it never ends a candidate)."""
    tgt_vocab = _vocab_size(model.decoder)
    for name, token in (("bos", bos), ("eos", eos)):
        if not is_int(token):
            raise SeqlabError(f"{name} must be an integer token id, not {token!r}")
        if tgt_vocab is not None and not 0 <= token < tgt_vocab:
            raise SeqlabError(f"{name} id {token} is out of range for a target vocabulary of {tgt_vocab} tokens")


def _check_source(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor) -> None:
    """What would fail deep inside torch, or decode silently wrong (NaN attention on a length of 0).
    The host reads the small source tensors once per call."""
    check_tokens(src, "the source")
    B, S = src.shape
    if not torch.is_tensor(src_valid_len) or src_valid_len.shape != (B,):
        shape = tuple(src_valid_len.shape) if torch.is_tensor(src_valid_len) else type(src_valid_len).__name__
        raise SeqlabError(f"src_valid_len must be a tensor with one length per source, shape ({B},), not {shape}")
    if src_valid_len.dtype not in ID_DTYPES:
        raise SeqlabError(f"src_valid_len must hold integer lengths, not {src_valid_len.dtype}")
    if B == 0:
        raise SeqlabError("no source sentence to decode (a batch of 0)")
    len_min, len_max, id_min, id_max = torch.stack(  # one host read
        [*torch.aminmax(src_valid_len.long()), *torch.aminmax(src.long())]).tolist()
    if len_min < 1 or len_max > S:
        raise SeqlabError(f"source valid lengths must be in 1..{S} (the source's steps; <eos> at least), "
                          f"got {len_min}..{len_max}")
    src_vocab = _vocab_size(model.encoder)
    if src_vocab is not None and (id_min < 0 or id_max >= src_vocab):
        raise SeqlabError(f"source ids must be in 0..{src_vocab - 1} (the source vocabulary), got {id_min}..{id_max}")


def _start(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor):
    _check_source(model, src, src_valid_len)
    enc_outputs = model.encoder(src, src_valid_len)
    return model.decoder.init_state(enc_outputs, src_valid_len)


def _sync_every(sync_every: int | None, device: torch.device) -> int:
    """Steps between the host checks for "every source done" (None: 1 on the CPU, where a check is
    free; 8 on an accelerator, where each one stalls the queue of kernels)."""
    if sync_every is None:
        return 1 if device.type == "cpu" else 8
    if sync_every <= 0:
        raise SeqlabError(f"sync_every must be at least 1 (steps between checks), got {sync_every}")
    return sync_every


@torch.no_grad()
@_in_eval_mode
def greedy_decode(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor, bos: int, eos: int,
                  max_len: int, alpha: float = 0.75, *, sync_every: int | None = None) -> list[Hypothesis]:
    """Batched greedy decoding of (B, S) sources: the most probable token at each step.

    The step loop stays on the device: tokens and log-probabilities go into (B, max_len)
    buffers, and the host looks at `done` only every `sync_every` steps (to stop early).
    Steps run after every source is done change nothing: the sums are taken over the
    steps until the last source ended (log-probabilities after a source's end are 0).
    """
    _check(1, max_len, alpha)
    _check_special(model, bos, eos)
    state = _start(model, src, src_valid_len)
    device = src.device
    every = _sync_every(sync_every, device)
    B = src.shape[0]
    y = torch.full((B, 1), bos, dtype=torch.long, device=device)
    tokens = torch.zeros((B, max_len), dtype=torch.long, device=device)
    logps = torch.zeros((B, max_len), device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    for t in range(max_len):  # max_len >= 1: t is always bound after the loop
        logits, state = model.decoder(y, state)  # (B, 1, V)
        logp = torch.log_softmax(logits[:, -1].float(), dim=-1)  # (B, V)
        best_logp, y1 = logp.max(dim=-1)
        tokens[:, t] = y1
        logps[:, t] = best_logp.masked_fill(done, 0.0)
        done = done | (y1 == eos)
        if (t + 1) % every == 0 and bool(done.all()):
            break
        y = y1.unsqueeze(1)
    rows = tokens[:, :t + 1].tolist()  # host reads at the end: the tokens, then the sums
    lengths = [row.index(eos) + 1 if eos in row else len(row) for row in rows]
    # summing exactly the columns up to the last source's end, as a (B, n) tensor, keeps the sums bit-identical
    sums = logps[:, :max(lengths, default=0)].contiguous().sum(dim=1).tolist()
    return [Hypothesis(row[:L - 1] if eos in row else row[:L], s / L ** alpha, s, L)
            for row, L, s in zip(rows, lengths, sums)]


@torch.no_grad()
@_in_eval_mode
def beam_search(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor, bos: int, eos: int,
                beam_size: int, max_len: int, alpha: float = 0.75, n_best: int = 1, *,
                sync_every: int | None = None) -> list[list[Hypothesis]]:
    """Batched beam search over (B, S) sources; for each, the `n_best` best finished candidates.

    Every step extends the `beam_size` alive candidates of each source by every token
    and ranks the B x (K * V) extensions by their log-probability sum. Among the top K,
    those ending in <eos> are finished (scored with the length normalisation); the
    best K that do not are the next alive candidates. A source is done when it has K
    finished candidates, or when no alive candidate can beat its `n_best`-th finished
    one (an alive sum s < 0 can at best reach s / max_len**alpha), or at `max_len`, where
    the alive candidates finish without <eos>. With K = 1 this is greedy decoding; with
    K at least the number of candidates it is exhaustive search.

    Everything stays on the device; the host reads the results once at the end, and
    looks at `done` every `sync_every` steps (None: every step on the CPU, 8 elsewhere) to
    stop when every source is done. Finished candidates live in per-source buffers of
    max(K, n_best) slots, kept sorted best first (ties in the order they finished), empty
    slots scored -inf: "K finished" is a finite slot K, the n_best-th finished is slot n_best.
    """
    _check(beam_size, max_len, alpha)
    check_positive_int("n_best", n_best)
    if n_best > beam_size:
        raise SeqlabError(f"n_best ({n_best}) cannot exceed the beam size ({beam_size}): a beam keeps {beam_size} "
                          f"candidates per source; use a beam of at least {n_best}")
    _check_special(model, bos, eos)
    reorder = getattr(model.decoder, "reorder_state", None)
    if reorder is None or getattr(reorder, "__func__", None) is Decoder.reorder_state:  # before the encoder runs
        raise SeqlabError(no_reorder_state(model.decoder))
    state = _start(model, src, src_valid_len)
    device = src.device
    every = _sync_every(sync_every, device)
    B, K, F = src.shape[0], beam_size, max(beam_size, n_best)
    state = model.decoder.reorder_state(state, torch.arange(B, device=device).repeat_interleave(K))
    sums = torch.full((B, K), float("-inf"), device=device)
    sums[:, 0] = 0.0  # one live candidate (<bos>) per source at the start
    # alive and finished candidates: tokens (B, K | F, max_len), -1 in the columns not reached (a
    # finished one's length L is its used columns, <eos> included); a finished one's sum, and its
    # score in float64 (the score the host computed from the float32 sum before, bit for bit)
    alive_toks = torch.full((B, K, max_len), -1, dtype=torch.long, device=device)
    fin_toks = torch.full((B, F, max_len), -1, dtype=torch.long, device=device)
    fin_sum = torch.zeros((B, F), device=device)
    fin_score = torch.full((B, F), float("-inf"), dtype=torch.float64, device=device)
    row0 = torch.arange(B, device=device).unsqueeze(1) * K  # (B, 1): each source's first row in the B*K
    y = torch.full((B * K, 1), bos, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    bound_den = max_len ** alpha
    ranks = None
    for t in range(1, max_len + 1):
        logits, state = model.decoder(y, state)  # (B*K, 1, V)
        V = logits.shape[-1]
        logp = torch.log_softmax(logits[:, -1].float(), dim=-1).view(B, K, V)
        cand = _extensions(sums, logp, done)  # (B, K*V)
        n = min(2 * K, K * V)
        if ranks is None:  # 0..n-1: the alive extensions' ranks; n..2n-1: the others' (made once)
            ranks = torch.arange(2 * n, device=device).view(2, 1, n).expand(2, B, n)
        top, pos = cand.topk(n, dim=1)  # (B, n), best first
        beam, tok = pos // V, pos % V
        valid = torch.isfinite(top)
        last = t == max_len
        # the n extensions' tokens: their parent's, then the new one at column t-1
        ext = alive_toks.gather(1, beam.unsqueeze(2).expand(B, n, max_len))  # (B, n, max_len)
        ext[:, :, t - 1] = tok
        # finish: only the top K ranks may (so K = 1 is greedy), merged into the sorted buffers
        ends = valid[:, :K] if last else valid[:, :K] & (tok[:, :K] == eos)
        new_score = (top[:, :K].double() / t ** alpha).masked_fill(~ends, float("-inf"))
        fin_score, order = torch.cat([fin_score, new_score], 1).sort(dim=1, descending=True, stable=True)
        fin_score, order = fin_score[:, :F], order[:, :F]
        fin_sum = torch.cat([fin_sum, top[:, :K]], 1).gather(1, order)
        fin_toks = torch.cat([fin_toks, ext[:, :K]], 1).gather(1, order.unsqueeze(2).expand(B, F, max_len))
        if last:
            break
        # the next alive candidates: the best K extensions that did not end
        alive = valid & (tok != eos)
        # (B, K) positions in `top`, alive first (n >= K always)
        keep = torch.where(alive, ranks[0], ranks[1]).argsort(dim=1)[:, :K]
        kept_alive = alive.gather(1, keep)
        sums = top.gather(1, keep).masked_fill(~kept_alive, float("-inf"))
        alive_toks = ext.gather(1, keep.unsqueeze(2).expand(B, K, max_len))
        src_rows = (row0 + beam.gather(1, keep)).view(-1)
        state = model.decoder.reorder_state(state, src_rows)
        y = tok.gather(1, keep).view(-1, 1)
        # which sources are done: K finished, nothing alive, or no alive one can beat the n_best-th
        best_alive = sums.max(dim=1).values
        beaten = fin_score[:, n_best - 1] >= best_alive.double() / bound_den  # an empty (-inf) slot beats nothing alive
        done = done | torch.isfinite(fin_score[:, K - 1]) | ~torch.isfinite(best_alive) | beaten
        if t % every == 0 and bool(done.all()):
            break
    return _hypotheses(fin_toks[:, :n_best], fin_sum[:, :n_best], fin_score[:, :n_best], eos)


def _extensions(sums: torch.Tensor, logp: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
    """The (B, K*V) sums of every alive candidate (sums (B, K)) extended by every token (logp
    (B, K, V)), -inf for a done source. The (B, K) sums are masked before the add, not the (B, K*V)
    result: -inf + a finite or -inf logp is -inf, the same values, and the broadcast masked_fill
    over (B, K*V) took ~20% of a beam-16 decode on the CPU. (Where logp is NaN, a done source's
    entries are NaN instead of -inf: both are not finite, so nothing of a done source is kept.)"""
    B, K, V = logp.shape
    return (sums.masked_fill(done.unsqueeze(1), float("-inf")).unsqueeze(2) + logp).view(B, K * V)


def _hypotheses(toks, sums, scores, eos: int) -> list[list[Hypothesis]]:
    """The finished buffers, read once by the host, as sorted `Hypothesis` lists (<eos> dropped)."""
    out = []
    for rows, ss, cs in zip(toks.tolist(), sums.tolist(), scores.tolist()):
        hyps = []
        for row, s, score in zip(rows, ss, cs):
            if score != float("-inf"):  # a filled slot
                L = len(row) - row.count(-1)  # the columns it reached
                hyps.append(Hypothesis(row[:L - 1] if row[L - 1] == eos else row[:L], score, s, L))
        out.append(hyps)
    return out


@torch.no_grad()
@_in_eval_mode
def exhaustive_search(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor, bos: int, eos: int,
                      max_len: int, alpha: float = 0.75, limit: int = 200_000) -> list[Hypothesis]:
    """Score every candidate of one source (1, S) and return them all, best first.

    Candidates: every token sequence that ends at its first <eos>, or reaches `max_len`.
    Only for tiny vocabularies (tests): refuses more than `limit` candidates.
    """
    _check(1, max_len, alpha)
    _check_special(model, bos, eos)
    state0 = _start(model, src, src_valid_len)
    if src.shape[0] != 1:
        raise SeqlabError("exhaustive search takes one source sentence at a time")
    V = model.decoder(torch.full((1, 1), bos, device=src.device), state0)[0].shape[-1]
    non_eos = [v for v in range(V) if v != eos]
    count = sum((V - 1) ** (L - 1) for L in range(1, max_len)) + (V - 1) ** (max_len - 1) * V
    if count > limit:
        raise SeqlabError(f"exhaustive search would score {count:,} candidates (over {limit:,}): "
                          "use a smaller vocabulary or max length, or beam search")
    out = []
    for L in range(1, max_len + 1):
        lasts = range(V) if L == max_len else [eos]
        for prefix in itertools.product(non_eos, repeat=L - 1):
            for last in lasts:
                seq = list(prefix) + [last]
                dec_in = torch.tensor([[bos] + seq[:-1]], device=src.device)
                logits, _ = model.decoder(dec_in, state0)  # (1, L, V): teacher-forced scores
                logp = torch.log_softmax(logits[0].float(), dim=-1)
                s = float(logp[torch.arange(L), torch.tensor(seq)].sum())
                toks = seq[:-1] if last == eos else seq
                out.append(Hypothesis(toks, s / L ** alpha, s, L))
    return sorted(out, key=lambda h: h.score, reverse=True)


def decode(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor, bos: int, eos: int, *,
           beam_size: int = 1, max_len: int, alpha: float = 0.75) -> list[Hypothesis]:
    """Greedy for beam 1, else beam search; one best hypothesis per source."""
    _check(beam_size, max_len, alpha)  # before `beam_size == 1`, which True passes
    if beam_size == 1:
        return greedy_decode(model, src, src_valid_len, bos, eos, max_len, alpha)
    return [h[0] for h in beam_search(model, src, src_valid_len, bos, eos, beam_size, max_len, alpha)]


def decode_n_best(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor, bos: int, eos: int, *,
                  beam_size: int, n_best: int, max_len: int, alpha: float = 0.75) -> list[list[Hypothesis]]:
    """The `n_best` best hypotheses per source, best first, each list's first `decode`'s: beam
    search's n-best lists (`beam_search`), or greedy's one hypothesis at beam 1 (n_best 1 only).

    The hypotheses of a source are distinct token sequences (an ended one is shorter than
    `max_len`, one cut there is not). A list is shorter than `n_best` only where fewer candidates
    exist than that (e.g. `max_len` 1 over a vocabulary of fewer than `n_best` tokens)."""
    _check(beam_size, max_len, alpha)
    check_positive_int("n_best", n_best)
    if beam_size == 1:
        if n_best > 1:
            raise SeqlabError(f"n_best ({n_best}) needs beam search: greedy decoding (a beam of 1) finds one "
                              f"hypothesis; use a beam of at least {n_best}")
        return [[h] for h in greedy_decode(model, src, src_valid_len, bos, eos, max_len, alpha)]
    return beam_search(model, src, src_valid_len, bos, eos, beam_size, max_len, alpha, n_best)
