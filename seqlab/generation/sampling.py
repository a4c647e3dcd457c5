"""Text generation from a language model: functions over a model and its state.

Every model here has `forward(X (B, T), state) -> (logits (T*B, V), state)`, so the
functions below work for scratch and fused models alike.

- `predict_ch8`: the book's semantics. Warm up on the prefix (the state absorbs it;
  no prediction is kept), then take the arg-max token `num_preds` times, each fed
  back as the next input. Returns the prefix followed by the predictions.
- `generate`: greedy by default; with `temperature`, `top_k` and/or `top_p`, sample from
  `softmax(logits / T)` restricted to the k most likely tokens and then to the nucleus
  (the fewest most likely tokens whose probabilities reach p; Holtzman et al. 2020, as
  Hugging Face's `top_p`), with a seeded `torch.Generator` for reproducibility. (Seed 004 samples from `exp(logits)`, which
  overflows to inf above ~88 in float32; softmax of scaled logits cannot.)
- `generate_batch`: the same for several prompts (any lengths) and several samples of
  each, as one batch. Ids stay on the model's device (arg-max or a draw there, each sample
  from its own seeded numbers: sample s is the same whatever the number of samples) and reach
  the host once, at the end; `generate_ids` is its one-row case. Each distinct prompt warms up
  once, in calls of at most WARM_UP_CHUNK ids (warm.py): memory does not grow with its length.
- `generate_stream`: generate_batch's ids as they come, every so many steps (`seqlab generate`
  writes a sample as it grows).

A prefix token outside the vocabulary is refused with a hint on what to type: prefix.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Hashable, Sequence

import numpy as np
import torch

from seqlab.data.vocab import Vocab, holds_words
from seqlab.errors import SeqlabError, is_int
from seqlab.generation.prefix import check_prefix
from seqlab.generation.warm import WARM_UP_CHUNK, batch_dims, feed, join_states, state_shapes
from seqlab.generation.warm import check_logits_layout  # noqa: F401 (this module's before: imported from here too)
from seqlab.runtime import eval_mode
from seqlab.training.common import device_for


def check_sampling(temperature: float | None, top_k: int | None, top_p: float | None = None) -> None:
    if temperature is not None and not temperature > 0:
        # (temperature 0 means greedy in some tools: say how to ask for it here)
        raise SeqlabError(f"temperature must be > 0 (small: nearly greedy; 1: the model's distribution), "
                          f"got {temperature}; for greedy decoding (the most likely token at each step) leave the "
                          "temperature out")
    if top_k is not None and not (is_int(top_k) and top_k > 0):
        raise SeqlabError(f"top-k must be a positive integer (a number of candidate tokens), got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not 0 < top_p <= 1):
        raise SeqlabError(f"top-p must be in (0, 1] (the probability mass to sample from; 1: all tokens), "
                          f"got {top_p}")


def check_vocab_size(net, vocab: Vocab) -> None:
    """Refuse a model whose output layer has another size than the vocabulary (ids would be misread)."""
    size = getattr(net, "vocab_size", None)
    if size is not None and size != len(vocab):
        raise SeqlabError(f"the model predicts {size} tokens but the vocabulary has {len(vocab)}: generate "
                          "with the vocabulary the model was trained on")


def is_bidirectional(net) -> bool:
    """Whether the model's recurrent layer also reads right to left (its next-token guesses then see
    the future in training, and generating from it gives noise: the book's 9.4)."""
    return getattr(net, "num_directions", 1) == 2 or bool(getattr(getattr(net, "rnn", None), "bidirectional", False))


def check_generates(net) -> None:
    if is_bidirectional(net):
        raise SeqlabError("this is a bidirectional model: it cannot generate text (its training read each "
                          "next token from the right-to-left pass); train one without --bidirectional")


def _id_rows(prefixes) -> list[list[int]]:
    """The prefixes as lists of int ids (a tensor or array row too). A batch that is one prefix
    ([1, 2, 3]), text, or an id that is not an integer (2.7, True: torch would truncate or cast it)
    is refused."""
    if isinstance(prefixes, (str, bytes)) or not isinstance(prefixes, Iterable):
        raise SeqlabError(f"the prefixes must be a list of prefixes, each a list of token ids, got {prefixes!r}")
    rows = []
    for p in prefixes:
        p = p.tolist() if hasattr(p, "tolist") else p  # torch.Tensor, numpy array
        if isinstance(p, (str, bytes)) or not isinstance(p, Iterable):
            raise SeqlabError(f"the prefixes must be a list of prefixes, each a list of token ids, got {p!r} where a "
                              "prefix belongs: for one prefix, pass [prefix] (or call generate_ids)")
        row = list(p)
        bad = next((t for t in row if not is_int(t)), None)
        if bad is not None:
            raise SeqlabError(f"token ids must be integers, got {bad!r} ({type(bad).__name__}): pass vocabulary "
                              "indices, e.g. vocab[tokens]")
        rows.append([int(t) for t in row])
    return rows


@torch.no_grad()
def warm_up(net, prefix_ids: Sequence[int], device=None):
    """Feed the whole prefix (in calls of at most WARM_UP_CHUNK ids; a bidirectional model's in one,
    as its right-to-left pass reads it); returns (logits after the last prefix token (V,), state)."""
    ids = _id_rows([prefix_ids])[0]
    if not ids:
        raise SeqlabError("the prefix is empty: give at least one token id to start from")
    device = device_for(net, device)
    X = torch.tensor([ids], device=device)  # (1, T)
    logits, state = feed(net, X, net.begin_state(batch_size=1, device=device),
                          len(ids) if is_bidirectional(net) else WARM_UP_CHUNK)
    return logits[0], state


def choose(logits: torch.Tensor, temperature: float | None = None, top_k: int | None = None,
           generator: torch.Generator | None = None, top_p: float | None = None, *,
           uniforms: torch.Tensor | None = None) -> torch.Tensor:
    """Next ids (N,) for logits (N, V), on their device: greedy (no temperature, top-k or top-p),
    else one sample per row from softmax(logits / T) over the row's top k, then over its nucleus:
    the most likely tokens, in order, until their probabilities sum to `top_p` (the one that
    crosses it included; the most likely always kept). Float64, so no overflow. A sample is
    torch.multinomial's (with `generator`), or with `uniforms` (N,) in [0, 1) the inverse of
    each row's cumulative distribution at its own number (generate_batch's seeded rows)."""
    check_sampling(temperature, top_k, top_p)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise SeqlabError(f"choose reads logits of shape (N, V), one row per sequence, got {shape}: for one row "
                          "(V,) call next_token, or pass logits.unsqueeze(0)")
    return _choose(logits, temperature, top_k, generator, top_p, uniforms=uniforms)


def _choose(logits: torch.Tensor, temperature: float | None, top_k: int | None, generator: torch.Generator | None,
            top_p: float | None, *, uniforms: torch.Tensor | None = None) -> torch.Tensor:
    """`choose` without its checks: generate_batch checks once, not at every token."""
    if temperature is None and top_k is None and top_p is None:
        return logits.argmax(dim=-1)
    logits = logits.double()
    # the top k of the logits as given: after the shift below two distinct ones may round to a tie
    # (0 and 1e-44 less a largest of 1), and top-k would keep k + 1
    outside_k = None
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]  # (N, 1)
        outside_k = logits < kth
    # shifted so that each row's largest is 0 before the division: a tiny temperature (1e-320) then
    # gives -inf for the others (arg-max sampling) instead of inf - inf = NaN probabilities
    logits = (logits - logits.amax(dim=-1, keepdim=True)) / (1.0 if temperature is None else temperature)
    if outside_k is not None:
        logits = logits.masked_fill(outside_k, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        before = sorted_p.cumsum(dim=-1) - sorted_p  # the mass of the more likely tokens
        outside = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, before >= top_p)
        probs = probs.masked_fill(outside, 0.0)  # multinomial renormalises
    if uniforms is None:
        return torch.multinomial(probs, 1, generator=generator).squeeze(1)
    cdf = probs.cumsum(dim=-1)  # (N, V), not renormalised: each row's total is its last entry
    total = cdf[:, -1:]
    # below the total (u * total may round up to it), so the first entry past it is a token of
    # positive probability: a token outside the top k or the nucleus adds nothing to the sum
    x = torch.minimum(uniforms.to(cdf.dtype).unsqueeze(1) * total, torch.nextafter(total, torch.zeros_like(total)))
    # (a row of non-finite logits has a NaN total and lands past the end: kept a valid id, which
    # generate_batch refuses at the end; a NaN-blind id here would fail as "out of range" next step)
    return torch.searchsorted(cdf, x, right=True).squeeze(1).clamp_max(probs.shape[-1] - 1)


def next_token(logits: torch.Tensor, temperature: float | None = None, top_k: int | None = None,
               generator: torch.Generator | None = None, top_p: float | None = None) -> int:
    """`choose` for one row of logits (V,), as a Python int."""
    if not isinstance(logits, torch.Tensor) or logits.dim() != 1:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise SeqlabError(f"next_token reads one row of logits, shape (V,), got {shape}: for rows (N, V) call choose")
    return int(choose(logits.unsqueeze(0), temperature, top_k, generator, top_p)[0])


def generate_batch(net, prefixes: Sequence[Sequence[int]], num_tokens: int, *, num_samples: int = 1,
                   temperature: float | None = None, top_k: int | None = None, seed: int | None = None,
                   device=None, top_p: float | None = None) -> list[list[int]]:
    """`num_samples` continuations of each prefix, generated as one batch: a list of
    len(prefixes) * num_samples id lists (prefix 0's samples first), each the prefix
    followed by `num_tokens` generated ids.

    The ids stay on the device until the single host copy at the end (`generate_stream` gives
    them as they come). Each distinct prefix warms up once, on its own length (prefixes of one
    length together), in calls of at most WARM_UP_CHUNK ids that keep only the last step's
    logits; the states are then joined, one row per sample, and every row takes one step per
    generated id, so no padding enters a state and memory does not grow with the prompt:

        prefix 0:  p p p p p | g g g      warm-up: alone, in calls of <= WARM_UP_CHUNK ids
        prefix 1:  p p       | g g g      (each sample of a prefix starts from its state)
                   warm-up   `- joined: one step per id, all rows -'

    Joining needs each state tensor's batch dimension, read from begin_state(batch_size=1)
    against batch_size=2. A model whose state has none that is clear (a flat or shared tensor),
    and a bidirectional one (the book's loop feeds it one id per call, so that its right-to-left
    pass reads the same one-id sequences as the book's), run all rows in lock step instead:
    together on the first m ids (m the shortest length; 1 for a bidirectional model), then one
    id at a time, a row still inside its prefix feeding its own next id and ignoring the choice
    (the same ids, slower when lengths differ):

        column:  0   1   2   3   4   5   6
        row 0:   p   p   g   g   g   x   x    prefix 2 + 3 ids (x: generated, then cut off)
        row 1:   p   p   p   p   g   g   g    prefix 4 + 3 ids: the batch runs 7 columns
                 warm-up `-- one step per column --'
    """
    base, seed = _checked(prefixes, num_tokens, num_samples, temperature, top_k, top_p, seed)
    chunks = list(_stream(net, base, num_tokens, num_samples, (temperature, top_k, top_p), seed,
                          device_for(net, device), None))
    # (after the stream: it refuses a huge num_samples before a list of that many rows is built)
    return [base[i // num_samples] + [t for chunk in chunks for t in chunk[i]]
            for i in range(len(base) * num_samples)]


def generate_stream(net, prefixes: Sequence[Sequence[int]], num_tokens: int, *, num_samples: int = 1,
                    temperature: float | None = None, top_k: int | None = None, seed: int | None = None,
                    device=None, top_p: float | None = None, every: int | None = 128) -> Iterator[list[list[int]]]:
    """`generate_batch`'s generated ids as they come: an iterator of lists, one per row (prefix 0's
    samples first), each of the ids a row generated since the previous one; the lists of the ids
    through the end are generate_batch's rows less their prefixes. The ids reach the host after
    every `every` steps (None: once, at the end), so a long sample can be shown while it grows;
    an interruption loses the ids since the last list. The arguments are checked at once."""
    base, seed = _checked(prefixes, num_tokens, num_samples, temperature, top_k, top_p, seed)
    if every is not None and not (is_int(every) and every > 0):
        raise SeqlabError(f"every must be a positive integer (steps between host copies) or None, got {every!r}")
    return _stream(net, base, num_tokens, num_samples, (temperature, top_k, top_p), seed, device_for(net, device),
                   every)


def _checked(prefixes, num_tokens, num_samples, temperature, top_k, top_p, seed):
    """The request checked: (the prefixes as lists of ids, the seed as an int or None)."""
    check_sampling(temperature, top_k, top_p)
    if seed is not None and not is_int(seed):
        raise SeqlabError(f"the seed must be an integer, got {seed!r}")
    seed = None if seed is None else int(seed)  # (numpy's int64 overflowed in seed % 2**63)
    if not (is_int(num_tokens) and num_tokens >= 0):
        raise SeqlabError(f"the number of tokens to generate must be >= 0 (an integer), got {num_tokens!r}")
    if not (is_int(num_samples) and num_samples > 0):
        raise SeqlabError(f"the number of samples must be at least 1 (an integer), got {num_samples!r}")
    base = _id_rows(prefixes)
    if not base or min(len(r) for r in base) == 0:
        raise SeqlabError("a prefix is empty (or none was given): give each at least one token to start from")
    return base, seed


@torch.no_grad()
def _stream(net, base, num_tokens, num_samples, sampling, seed, device, every):
    temperature, top_k, top_p = sampling
    N, longest = len(base) * num_samples, max(map(len, base))
    # row i's prefix length (repeated as tensors: a list of N rows was built first, and a huge
    # --num-samples filled the memory before any refusal)
    lengths = torch.tensor([len(r) for r in base]).repeat_interleave(num_samples)
    out = torch.zeros((N, num_tokens), dtype=torch.long, device=device)  # the generated ids
    sampled = temperature is not None or top_k is not None or top_p is not None
    uniforms = row_uniforms(len(base), num_samples, longest + num_tokens, seed, device) if sampled else None
    if num_tokens == 0:
        return
    with eval_mode(net):
        start = None if is_bidirectional(net) else _joined(net, base, num_samples, device)
        if start is None:
            yield from _lock_step(net, base, num_samples, out, sampling, uniforms, device, every)
            return
        logits, state = start
        if uniforms is not None:  # column t of a row decides its token at position t: its own prefix's length on
            uniforms = uniforms.gather(1, lengths.to(device)[:, None] + torch.arange(num_tokens, device=device))
        finite = torch.ones((), dtype=torch.bool, device=device)  # read once per `every`: no sync per step
        shown, every = 0, every or num_tokens
        for j in range(num_tokens):
            finite = finite & torch.isfinite(logits).all()
            out[:, j] = _choose(logits, temperature, top_k, None, top_p,
                                uniforms=uniforms[:, j] if uniforms is not None else None)
            if j + 1 - shown == every or j + 1 == num_tokens:
                _check_finite(finite)
                yield out[:, shown:j + 1].tolist()
                shown = j + 1
            if j + 1 < num_tokens:
                logits, state = net(out[:, j:j + 1], state)
                logits = logits.reshape(N, -1)  # (N, V); a (T, B, V) model's (1, N, V)


def _joined(net, base, num_samples, device):
    """(logits (N, V), state) after each row's prefix: each distinct prefix warmed up once (those of
    one length as one batch), then joined row by row; None where the state's batch dimensions are
    not clear (see generate_batch)."""
    groups: dict[int, dict[tuple[int, ...], None]] = {}  # length -> its distinct prefixes, as first seen
    for r in base:
        groups.setdefault(len(r), {})[tuple(r)] = None
    order = [p for group in groups.values() for p in group]
    dims = None
    if len(groups) > 1 or len(order) < len(base) or num_samples > 1:  # rows to join or repeat
        dims = batch_dims(net, device)
        if dims is None:
            return None
    lasts, states = [], []
    for group in groups.values():
        begin = net.begin_state(batch_size=len(group), device=device)
        logits, state = feed(net, torch.tensor(list(group), device=device), begin)
        if dims is not None and state_shapes(state) != state_shapes(begin):  # (a state of another make after a call)
            return None
        lasts.append(logits)
        states.append(state)
    if dims is None:  # one batch of distinct prefixes in their order, one sample each: it is the batch
        return lasts[0], states[0]
    where = {p: i for i, p in enumerate(order)}
    index = torch.tensor([where[tuple(r)] for r in base]).repeat_interleave(num_samples).to(device)
    return torch.cat(lasts).index_select(0, index), join_states(states, dims, index)


def _lock_step(net, base, num_samples, out, sampling, uniforms, device, every):
    """generate_batch's lock-step path (see its docstring): all rows together, column by column."""
    temperature, top_k, top_p = sampling
    N, num_tokens = out.shape
    shortest, longest = min(map(len, base)), max(map(len, base))
    m = 1 if is_bidirectional(net) else shortest
    total = longest + num_tokens
    ids = torch.zeros((len(base), longest), dtype=torch.long)
    for i, r in enumerate(base):
        ids[i, :len(r)] = torch.tensor(r)
    ids = ids.repeat_interleave(num_samples, dim=0).to(device)  # (N, longest): the prefixes, each sample's row
    lengths = torch.tensor([len(r) for r in base]).repeat_interleave(num_samples).to(device)  # row i: t < this
    finite = torch.ones((), dtype=torch.bool, device=device)  # read once per `every`: no sync per step
    logits, state = feed(net, ids[:, :m], net.begin_state(batch_size=N, device=device))
    shown, every, rows = m, every or total, torch.arange(N, device=device)
    host_lengths = lengths.tolist()
    for t in range(m, total):
        finite = finite & torch.isfinite(logits).all()
        chosen = _choose(logits, temperature, top_k, None, top_p,
                         uniforms=uniforms[:, t] if uniforms is not None else None)
        inside = t < lengths
        given = ids[:, min(t, longest - 1)]
        token = torch.where(inside, given, chosen)
        at = (t - lengths).clamp(0, num_tokens - 1)  # the row's generated position (written over while inside)
        out[rows, at] = torch.where(inside | (t - lengths >= num_tokens), out[rows, at], token)
        if t + 1 - shown == every or t + 1 == total:
            _check_finite(finite)
            # row i's generated positions shown - n .. t - n (n its prefix's length), within [0, num_tokens)
            lo, hi = min(max(shown - longest, 0), num_tokens), min(max(t + 1 - shortest, 0), num_tokens)
            if hi > lo:  # (while every row is still reading its prompt there is nothing to give)
                got = out[:, lo:hi].tolist()
                yield [row[min(max(shown - n, 0), num_tokens) - lo:min(max(t + 1 - n, 0), num_tokens) - lo]
                       for row, n in zip(got, host_lengths)]
            shown = t + 1
        if t + 1 < total:
            logits, state = net(token[:, None], state)
            logits = logits.reshape(N, -1)  # (N, V); a (T, B, V) model's (1, N, V)


def _check_finite(finite: torch.Tensor) -> None:
    if not bool(finite):
        raise SeqlabError("the model's output is not finite (NaN or inf logits): its weights have diverged or "
                          "the checkpoint is damaged; use the run's other checkpoint (best/last), or retrain with "
                          "a lower --lr")


def row_uniforms(num_prefixes: int, num_samples: int, steps: int, seed: int | None, device) -> torch.Tensor:
    """(num_prefixes * num_samples, steps) float64 numbers in [0, 1), one row per sample: column t
    decides the token at position t. With a seed, sample s of prefix p draws its row from its own
    generator, seeded from (seed, p, s): it is the same text whatever --num-samples or --num-tokens
    (as nanoGPT's sample.py, which draws one sample after another), and samples do not share draws.
    Without one, torch's global generator fills them."""
    if seed is None:
        return torch.rand((num_prefixes * num_samples, steps), dtype=torch.float64, device=device)
    rows = []
    for p in range(num_prefixes):
        for s in range(num_samples):
            row_seed = int(np.random.SeedSequence((seed % 2**63, p, s)).generate_state(1, np.uint64)[0])
            gen = torch.Generator(device=device).manual_seed(row_seed)
            rows.append(torch.rand(steps, dtype=torch.float64, device=device, generator=gen))
    return torch.stack(rows)


def generate_ids(net, prefix_ids: Sequence[int], num_tokens: int, *, temperature: float | None = None,
                 top_k: int | None = None, seed: int | None = None, device=None,
                 top_p: float | None = None) -> list[int]:
    """The prefix ids followed by `num_tokens` generated ids."""
    return generate_batch(net, [prefix_ids], num_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                          seed=seed,
                          device=device)[0]


def generate(net, vocab: Vocab, prefix: Sequence[Hashable], num_tokens: int, *, level: str = "char",
             temperature: float | None = None, top_k: int | None = None, seed: int | None = None,
             device=None, top_p: float | None = None) -> list[Hashable]:
    """Tokens: the prefix (a sequence of tokens: a str is one of characters) followed by
    `num_tokens` generated ones. A bidirectional model is refused (`predict_ch8` runs it, as the
    book's 9.4 does, to show the noise)."""
    check_vocab_size(net, vocab)
    check_generates(net)
    if isinstance(prefix, str) and level == "char" and holds_words(vocab):
        # a one-letter word ('a', 'i') would otherwise be read as a character, silently
        raise SeqlabError(f"this model's vocabulary holds words, and level='char' reads the prefix {prefix!r} as "
                          f"characters: pass level='word' and a list of words, e.g. {prefix!r}.split()")
    tokens = prefix if isinstance(prefix, str) else list(prefix)
    ids = generate_ids(net, check_prefix(tokens, vocab, level), num_tokens, temperature=temperature,
                       top_k=top_k, top_p=top_p, seed=seed, device=device)
    return vocab.to_tokens(ids)


def predict_ch8(prefix: str, num_preds: int, net, vocab: Vocab, device=None) -> str:
    """The book's greedy character generation: prefix + num_preds arg-max characters."""
    check_vocab_size(net, vocab)
    ids = generate_ids(net, check_prefix(list(prefix), vocab, "char"), num_preds, device=device)
    return "".join(vocab.idx_to_token[i] for i in ids)
