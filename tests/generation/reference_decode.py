"""The decoders as they were before issue 7 item 4 (host round-trips every step), frozen verbatim,
and the book's `predict_ch8` loop (one token per call).

Test-only twins: the device-side `greedy_decode` / `beam_search` must return exactly what these
return (same tokens, scores, sums, lengths and order), so the two are compared in test_beam.py;
`predict_ch8` must give the book's text (test_sampling.py, tests/d2l/test_d2l_lm.py); `generate_batch`
must give the ids of its whole-prompt, lock-step loop of ad0b9b0, `generate_batch_ref` (test_long_prompts.py).
"""

from __future__ import annotations

import torch
from torch import nn

from seqlab.generation.translate import Hypothesis, _check, _start


@torch.no_grad()
def greedy_decode_ref(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor, bos: int, eos: int,
                  max_len: int, alpha: float = 0.75) -> list[Hypothesis]:
    """Batched greedy decoding of (B, S) sources: the most probable token at each step."""
    _check(1, max_len, alpha)
    B = src.shape[0]
    state = _start(model, src, src_valid_len)
    y = torch.full((B, 1), bos, dtype=torch.long, device=src.device)
    steps, logps = [], []
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        logits, state = model.decoder(y, state)  # (B, 1, V)
        logp = torch.log_softmax(logits[:, -1].float(), dim=-1)  # (B, V)
        best_logp, y1 = logp.max(dim=-1)
        steps.append(y1)
        logps.append(best_logp.masked_fill(done, 0.0))
        done = done | (y1 == eos)
        if bool(done.all()):
            break
        y = y1.unsqueeze(1)
    tokens = torch.stack(steps, dim=1).tolist()  # (B, t)
    sums = torch.stack(logps, dim=1).sum(dim=1).tolist()
    out = []
    for row, s in zip(tokens, sums):
        length = row.index(eos) + 1 if eos in row else len(row)
        out.append(Hypothesis(row[:length - 1] if eos in row else row, s / length ** alpha, s, length))
    return out


@torch.no_grad()
def beam_search_ref(model: nn.Module, src: torch.Tensor, src_valid_len: torch.Tensor, bos: int, eos: int,
                beam_size: int, max_len: int, alpha: float = 0.75, n_best: int = 1) -> list[list[Hypothesis]]:
    """Batched beam search over (B, S) sources; for each, the `n_best` best finished candidates.

    Every step extends the `beam_size` alive candidates of each source by every token
    and ranks the B x (K * V) extensions by their log-probability sum. Among the top K,
    those ending in <eos> are finished (scored with the length normalisation); the
    best K that do not are the next alive candidates. A source is done when it has K
    finished candidates, or when no alive candidate can beat its `n_best`-th finished
    one (an alive sum s < 0 can at best reach s / max_len**alpha), or at `max_len`, where
    the alive candidates finish without <eos>. With K = 1 this is greedy decoding; with
    K at least the number of candidates it is exhaustive search.
    """
    _check(beam_size, max_len, alpha)
    device = src.device
    B, K = src.shape[0], beam_size
    state = _start(model, src, src_valid_len)
    state = model.decoder.reorder_state(state, torch.arange(B, device=device).repeat_interleave(K))
    sums = torch.full((B, K), float("-inf"), device=device)
    sums[:, 0] = 0.0  # one live candidate (<bos>) per source at the start
    history = torch.zeros((B * K, 0), dtype=torch.long, device=device)
    y = torch.full((B * K, 1), bos, dtype=torch.long, device=device)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = torch.zeros(B, dtype=torch.bool)
    bound_den = max_len ** alpha
    for t in range(1, max_len + 1):
        logits, state = model.decoder(y, state)  # (B*K, 1, V)
        V = logits.shape[-1]
        logp = torch.log_softmax(logits[:, -1].float(), dim=-1).view(B, K, V)
        cand = (sums.unsqueeze(2) + logp).view(B, K * V)  # (B, K*V)
        cand[done.to(device)] = float("-inf")
        n = min(2 * K, K * V)
        top, pos = cand.topk(n, dim=1)  # (B, n), best first
        beam, tok = pos // V, pos % V
        valid = torch.isfinite(top)
        last = t == max_len
        ends = valid & ((tok == eos) | last)
        ends[:, K:] = False  # only the top K ranks may finish (so K = 1 is greedy)
        ended = ends.nonzero().tolist()
        if ended:  # one device->host copy per step, not one per hypothesis
            hist_rows = history.reshape(B, K, history.shape[1]).cpu()
            top_c, beam_c, tok_c = top.cpu(), beam.cpu(), tok.cpu()
        for b, r in ended:
            if done[b]:
                continue
            prev = hist_rows[b, beam_c[b, r]].tolist()
            s = float(top_c[b, r])
            toks = prev if tok_c[b, r] == eos else prev + [int(tok_c[b, r])]
            finished[b].append(Hypothesis(toks, s / t ** alpha, s, t))
        if last:
            break
        # the next alive candidates: the best K extensions that did not end
        alive = valid & (tok != eos)
        rank = torch.where(alive, torch.arange(n, device=device).expand(B, n), n + torch.arange(n, device=device))
        keep = rank.argsort(dim=1)[:, :K]  # (B, K) positions in `top`, alive first (n >= K always)
        kept_alive = alive.gather(1, keep)
        new_sums = top.gather(1, keep).masked_fill(~kept_alive, float("-inf"))
        src_rows = (torch.arange(B, device=device).unsqueeze(1) * K + beam.gather(1, keep)).view(-1)
        new_tok = tok.gather(1, keep).view(-1, 1)
        history = torch.cat([history.index_select(0, src_rows), new_tok], dim=1)
        state = model.decoder.reorder_state(state, src_rows)
        sums, y = new_sums, new_tok
        # which sources are done
        best_alive = sums.max(dim=1).values.cpu()
        for b in range(B):
            if done[b]:
                continue
            fin = finished[b]
            if len(fin) >= K or not torch.isfinite(best_alive[b]):
                done[b] = True
            elif len(fin) >= n_best and sorted((h.score for h in fin), reverse=True)[n_best - 1] \
                    >= float(best_alive[b]) / bound_den:
                done[b] = True
        if bool(done.all()):
            break
    return [sorted(f, key=lambda h: h.score, reverse=True)[:n_best] for f in finished]


def book_predict_ch8(prefix, num_preds, net, vocab, device):
    """The book's code (8.5), verbatim apart from names."""
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]
    get_input = lambda: torch.tensor([outputs[-1]], device=device).reshape((1, 1))  # noqa: E731
    for y in prefix[1:]:
        _, state = net(get_input(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join([vocab.idx_to_token[i] for i in outputs])


@torch.no_grad()
def generate_batch_ref(net, prefixes, num_tokens, *, num_samples=1, temperature=None, top_k=None, seed=None,
                       top_p=None, device="cpu"):
    """`generate_batch` as it was at ad0b9b0 (review r-infer, findings 1 and 2), its checks left out: every
    sample's row holds the whole prompt, all rows warm up together on the shortest prompt's m ids in ONE call
    ((m*N, V) logits; m = 1 for a bidirectional model), then step one id per call, a row inside its prompt
    feeding its own next id. The twin that the chunked, joined warm-up must give the same ids as."""
    from seqlab.generation.sampling import _choose, check_logits_layout, is_bidirectional, row_uniforms
    from seqlab.runtime import eval_mode

    base = [list(map(int, p)) for p in prefixes]
    N, m, longest = len(base) * num_samples, min(map(len, base)), max(map(len, base))
    if is_bidirectional(net):
        m = 1
    total = longest + num_tokens
    ids = torch.zeros((len(base), total), dtype=torch.long)
    for i, r in enumerate(base):
        ids[i, :len(r)] = torch.tensor(r)
    ids = ids.repeat_interleave(num_samples, dim=0).to(device)
    in_prefix = torch.tensor([len(r) for r in base]).repeat_interleave(num_samples).to(device)
    sampled = temperature is not None or top_k is not None or top_p is not None
    uniforms = row_uniforms(len(prefixes), num_samples, total, seed, device) if sampled else None
    with eval_mode(net):
        logits, state = net(ids[:, :m], net.begin_state(batch_size=N, device=device))
        check_logits_layout(logits, m, N)
        logits = logits.reshape(m, N, -1)[-1]
        for t in range(m, total):
            chosen = _choose(logits, temperature, top_k, None, top_p,
                             uniforms=uniforms[:, t] if uniforms is not None else None)
            ids[:, t] = torch.where(t < in_prefix, ids[:, t], chosen)
            if t + 1 < total:
                logits, state = net(ids[:, t:t + 1], state)
                logits = logits.reshape(N, -1)
    return [row[:n + num_tokens] for row, n in zip(ids.tolist(), in_prefix.tolist())]
