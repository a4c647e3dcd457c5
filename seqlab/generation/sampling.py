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
  the host once, at the end; `generate_ids` is its one-row case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Hashable, Sequence

import numpy as np
import torch

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError, is_int
from seqlab.runtime import eval_mode
from seqlab.training.common import device_for


def check_prefix(tokens: Sequence[Hashable], vocab: Vocab, level: str = "char") -> list[int]:
    """Indices of the prefix tokens; a token outside the vocabulary is a clear error.

    At level "word" the prefix is a list of words: a string is refused rather than read as
    characters (the word tokenizer of the corpus, not `str.split`, decides what a word is).
    """
    if level == "word" and isinstance(tokens, str):
        raise SeqlabError(f"at level 'word' the prefix is a list of words, got the string {tokens!r}: "
                          f"pass e.g. {tokens!r}.split()")
    if len(tokens) == 0:
        raise SeqlabError("the prefix is empty: give at least one token to start from")
    # membership through token_to_idx, which seqlab's and the book's Vocab both have: the book's has no
    # __contains__, so `t in vocab` would try vocab[0], vocab[1], ... for ever (each index reads as <unk>)
    known = getattr(vocab, "token_to_idx", None)
    if known is None:
        raise SeqlabError(f"the vocabulary must map tokens to ids in `token_to_idx`, as seqlab's and the book's "
                          f"Vocab do: a {type(vocab).__name__} has none")
    missing = sorted({t for t in tokens if t not in known}, key=str)
    if missing:
        what = "characters" if level == "char" else "words"
        shown = ", ".join(repr(t) for t in missing[:20])
        hints_vocab = vocab
        if not isinstance(vocab, Vocab):  # the hints ask `t in vocab`: ask a seqlab Vocab of the same tokens
            try:
                hints_vocab = Vocab.from_dict({"idx_to_token": list(vocab.idx_to_token),
                                               "token_freqs": list(getattr(vocab, "token_freqs", []))})
            except (SeqlabError, AttributeError, TypeError):  # (no idx_to_token, or index 0 is not <unk>)
                hints_vocab = None
        hint = "" if hints_vocab is None else _missing_hint(missing, tokens, hints_vocab, level)
        raise SeqlabError(f"the prefix has {what} not in the model's vocabulary: {shown}{hint}")
    return [known[t] for t in tokens]


def _missing_hint(missing: list, tokens: Sequence[Hashable], vocab: Vocab, level: str) -> str:
    """What to type instead, as " (...)", or "": the lower-case words, the corpus's way of writing
    punctuation and numbers (`_corpus_spelling`), <unk> for a word the model cannot know, the
    Unicode form."""
    hints, left = [], [t for t in missing if isinstance(t, str)]
    cased = {t: next((v for v in _cases(t) if v in vocab), None) for t in left}  # 'GAME' -> 'Game'
    lower_case = any(v is not None and v == t.lower() for t, v in cased.items())
    left = [t for t in left if cased[t] is None]
    spelt = {}
    for t in left if level == "word" else ():  # as typed, else in another case ('Yesterday,' -> yesterday ,)
        spelt[t] = _corpus_spelling(t, vocab)
        for v in _cases(t) if spelt[t] is None else ():
            spelt[t] = _corpus_spelling(v, vocab)
            if spelt[t] is not None:
                lower_case = lower_case or v == t.lower()
                break
    if lower_case and _all_lower(vocab):
        hints.append("this vocabulary is lower-case: try a lower-case prefix")
    elif any(v is not None for v in cased.values()):  # (a cased corpus: WikiText's 'Game', 'Valkyria')
        hints.append("in the vocabulary's letter case: " + ", ".join(
            f"{v!r} for {t!r}" for t, v in cased.items() if v is not None))
    if level == "word":
        found = {t: s for t, s in spelt.items() if s}  # word -> (the corpus's words, the marks it lacks)
        numbers = {t: words for t, (words, _) in found.items() if NUMBER_WORD in words and _NUMBER.search(t)}
        if numbers:  # ('1990' -> N, '$5' -> $ N)
            hints.append(f"this corpus writes numbers as {NUMBER_WORD}: type " + ", ".join(
                f"{' '.join(words)!r} for {t!r}" for t, words in list(numbers.items())[:8]))
        split = [words for t, (words, absent) in found.items() if not absent and t not in numbers]
        if split:
            at = sorted({w for words in split for w in words if len(w) == 3 and w[0] == "@" == w[-1]})
            inside = f" (and {' '.join(w[1] for w in at)} inside a word as {' '.join(at)})" if at else ""
            hints.append(f"this corpus writes punctuation as separate words{inside}: "
                         + ", ".join(repr(" ".join(words)) for words in split[:8]))
        absent = sorted({c for _, marks in filter(None, spelt.values()) for c in marks})
        if absent:
            them = "it" if len(absent) == 1 else "them"
            hints.append(f"this corpus has no {', '.join(map(repr, absent))}: leave {them} out")
        left = [t for t in left if not spelt[t]]
        if left and _learned_unk(vocab):
            hints.append("the model read its training text's rare words as <unk>: type <unk> in place of "
                         + ", ".join(repr(t) for t in left[:8]))
    if not hints:
        return _normal_form_hint(tokens, vocab, level)
    return f" ({'; '.join(hints)})"


def _cases(word: str) -> list[str]:
    """The other letter cases a typed word may have in a corpus: lower, Capitalised, UPPER."""
    return [v for v in dict.fromkeys((word.lower(), word.capitalize(), word.upper())) if v != word]


def _all_lower(vocab: Vocab) -> bool:
    return not any(isinstance(t, str) and t != t.lower() for t in vocab.idx_to_token)


_CONTRACTIONS = ("n't", "'s", "'re", "'ve", "'ll", "'d", "'m", "'t")  # endings PTB / WikiText write apart
_PUNCT = "\"'.,;:!?()[]{}«»“”‘’-…$%"
NUMBER_WORD = "N"  # PTB's word for every number ('in N the', '$ N billion')
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")  # 1990, 1,000, 3.5


def _numbers_are_n(vocab: Vocab) -> bool:
    """Whether the corpus writes each number as N: N is one of its words and no number is (PTB;
    WikiText has both N and the numbers)."""
    return NUMBER_WORD in vocab and not any(isinstance(t, str) and _NUMBER.fullmatch(t) for t in vocab.idx_to_token)


def _corpus_spelling(word: str, vocab: Vocab) -> tuple[list[str], str] | None:
    """How a tokenized corpus (PTB, WikiText) writes `word`, when `word` is none of its words: the
    words, and the punctuation marks at its edges the corpus has none of (to leave out). Punctuation
    split off ('game,' -> game ,), an ending ("don't" -> do n't, or don 't), WikiText's @-@ for a
    hyphen inside a word ('well-known' -> well @-@ known; @,@ and @.@ in numbers), PTB's N for a
    number ('1,000' -> N, '$5' -> $ N, '20%' -> N N). None when the
    word's letters are not the corpus's words either way. A typographic apostrophe (don’t) is
    read as the corpora's '."""
    word = word.replace("\u2019", "'")
    lead = len(word) - len(word.lstrip(_PUNCT))
    trail = len(word) - len(word.rstrip(_PUNCT))
    if lead == len(word):  # punctuation alone ('?!', '...')
        return _split_punct(word, vocab)
    core, tail = word[lead:len(word) - trail], word[len(word) - trail:]
    middle = _split_core(core, vocab)
    if middle is None:
        return None
    if "%" in tail and "%" not in vocab and _NUMBER.fullmatch(core) and middle == [NUMBER_WORD]:
        middle, tail = [NUMBER_WORD, NUMBER_WORD], tail.replace("%", "", 1)  # PTB: 'rose N N' for 'rose 20%'
    (before, absent_before), (after, absent_after) = (_split_punct(word[:lead], vocab), _split_punct(tail, vocab))
    return [*before, *middle, *after], absent_before + absent_after


def _split_punct(run: str, vocab: Vocab) -> tuple[list[str], str]:
    """A run of punctuation as the vocabulary's words (whole: '...', else one word a mark), and the
    marks the vocabulary lacks."""
    if not run or run in vocab:
        return [run] if run else [], ""
    return [c for c in run if c in vocab], "".join(c for c in run if c not in vocab)


def _split_core(core: str, vocab: Vocab) -> list[str] | None:
    """A word with its outer punctuation off, as the vocabulary's words: itself, an ending split
    off, or its parts around - , . written @-@ @,@ @.@ (each part split again)."""
    if core in vocab:
        return [core]
    if _NUMBER.fullmatch(core) and _numbers_are_n(vocab):
        return [NUMBER_WORD]
    for ending in _CONTRACTIONS:
        stem = core[:-len(ending)]
        if core.endswith(ending) and stem and stem in vocab and ending in vocab:
            return [stem, ending]
    for mark in "-,.":
        if mark in core and f"@{mark}@" in vocab:
            parts = [_split_core(p, vocab) if p else None for p in core.split(mark)]
            if None not in parts:
                return [w for i, p in enumerate(parts) for w in ([f"@{mark}@"] if i else []) + p]
    return None


def _learned_unk(vocab: Vocab) -> bool:
    """Whether <unk> was a word of the training text (PTB and WikiText write one for each rare word),
    or the vocabulary left training words out (--min-freq, --max-vocab): the model then learned
    where an unknown word goes, and <unk> in a prefix stands for one."""
    unk = vocab.to_tokens(vocab.unk)
    return any(t == unk or t not in vocab for t, _ in vocab.token_freqs)


def _normal_form_hint(tokens: Sequence[Hashable], vocab: Vocab, level: str) -> str:
    """Where the prefix fits the vocabulary once Unicode-normalised ('é' typed as one code point, the
    corpus writing e + a combining accent, or the reverse), say which form the model reads."""
    if level != "char" or not all(isinstance(t, str) for t in tokens):
        return ""
    for form in ("NFC", "NFD"):
        if all(c in vocab for c in unicodedata.normalize(form, "".join(tokens))):
            return (f" (the same text in Unicode form {form} fits it: the corpus writes accents that way; "
                    f"normalise the prefix, e.g. unicodedata.normalize({form!r}, prefix))")
    return ""


def check_sampling(temperature: float | None, top_k: int | None, top_p: float | None = None) -> None:
    if temperature is not None and not temperature > 0:
        raise SeqlabError(f"temperature must be > 0 (small: nearly greedy; 1: the model's distribution), "
                          f"got {temperature}")
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
    """Feed the whole prefix once; returns (logits after the last prefix token (V,), state)."""
    ids = _id_rows([prefix_ids])[0]
    if not ids:
        raise SeqlabError("the prefix is empty: give at least one token id to start from")
    device = device_for(net, device)
    state = net.begin_state(batch_size=1, device=device)
    X = torch.tensor([ids], device=device)  # (1, T)
    logits, state = net(X, state)  # (T, V) time-major with B = 1
    return logits[-1], state


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


@torch.no_grad()
def generate_batch(net, prefixes: Sequence[Sequence[int]], num_tokens: int, *, num_samples: int = 1,
                   temperature: float | None = None, top_k: int | None = None, seed: int | None = None,
                   device=None, top_p: float | None = None) -> list[list[int]]:
    """`num_samples` continuations of each prefix, generated as one batch: a list of
    len(prefixes) * num_samples id lists (prefix 0's samples first), each the prefix
    followed by `num_tokens` generated ids.

    The ids stay on the device until the single host copy at the end. Prefixes may differ in
    length: all rows warm up on the first m ids (m the shortest length; 1 for a bidirectional
    model, which the book's loop feeds one id per call, so that its right-to-left pass reads the
    same one-id sequences as the book's) in one call, then step
    one id at a time; a row still inside its prefix feeds its own next id and ignores the
    choice, so every row sees exactly its own tokens (no padding enters a state):

        column:  0   1   2   3   4   5   6
        row 0:   p   p   g   g   g   x   x    prefix 2 + 3 ids (x: generated, then cut off)
        row 1:   p   p   p   p   g   g   g    prefix 4 + 3 ids: the batch runs 7 columns
                 warm-up `-- one step per column --'
    """
    check_sampling(temperature, top_k, top_p)
    if seed is not None and not is_int(seed):
        raise SeqlabError(f"the seed must be an integer, got {seed!r}")
    seed = None if seed is None else int(seed)  # (numpy's int64 overflowed in seed % 2**63)
    if not (is_int(num_tokens) and num_tokens >= 0):
        raise SeqlabError(f"the number of tokens to generate must be >= 0 (an integer), got {num_tokens!r}")
    if not (is_int(num_samples) and num_samples > 0):
        raise SeqlabError(f"the number of samples must be at least 1 (an integer), got {num_samples!r}")
    rows = [r for r in _id_rows(prefixes) for _ in range(num_samples)]
    if not rows or min(len(r) for r in rows) == 0:
        raise SeqlabError("a prefix is empty (or none was given): give each at least one token to start from")
    device = device_for(net, device)
    N, m, longest = len(rows), min(map(len, rows)), max(map(len, rows))
    if is_bidirectional(net):
        m = 1
    total = longest + num_tokens
    ids = torch.zeros((N, total), dtype=torch.long)  # (N, total): prefix, then generated ids
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
    ids = ids.to(device)
    in_prefix = torch.tensor([len(r) for r in rows], device=device)  # row i reads its prefix while t < this
    sampled = temperature is not None or top_k is not None or top_p is not None
    uniforms = row_uniforms(len(prefixes), num_samples, total, seed, device) if sampled else None
    finite = torch.ones((), dtype=torch.bool, device=device)  # read once, at the end: no sync per step
    with eval_mode(net):
        logits, state = net(ids[:, :m], net.begin_state(batch_size=N, device=device))  # (m*N, V), time-major
        logits = logits.view(m, N, -1)[-1]  # (N, V) after each row's m-th id
        for t in range(m, total):
            finite = finite & torch.isfinite(logits).all()
            chosen = _choose(logits, temperature, top_k, None, top_p,
                            uniforms=uniforms[:, t] if uniforms is not None else None)
            ids[:, t] = torch.where(t < in_prefix, ids[:, t], chosen)
            if t + 1 < total:
                logits, state = net(ids[:, t:t + 1], state)  # (N, V)
    if not bool(finite):
        raise SeqlabError("the model's output is not finite (NaN or inf logits): its weights have diverged or "
                          "the checkpoint is damaged; use the run's other checkpoint (best/last), or retrain with "
                          "a lower --lr")
    return [row[:len(r) + num_tokens] for row, r in zip(ids.tolist(), rows)]


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
    if isinstance(prefix, str) and level == "char" and _holds_words(vocab):
        # a one-letter word ('a', 'i') would otherwise be read as a character, silently
        raise SeqlabError(f"this model's vocabulary holds words, and level='char' reads the prefix {prefix!r} as "
                          f"characters: pass level='word' and a list of words, e.g. {prefix!r}.split()")
    tokens = prefix if isinstance(prefix, str) else list(prefix)
    ids = generate_ids(net, check_prefix(tokens, vocab, level), num_tokens, temperature=temperature,
                       top_k=top_k, top_p=top_p, seed=seed, device=device)
    return vocab.to_tokens(ids)


def _holds_words(vocab: Vocab) -> bool:
    """Whether a vocabulary holds tokens longer than one character other than <unk>-like specials."""
    return any(isinstance(t, str) and len(t) > 1 and not (t[0] == "<" and t[-1] == ">") for t in vocab.idx_to_token)


def predict_ch8(prefix: str, num_preds: int, net, vocab: Vocab, device=None) -> str:
    """The book's greedy character generation: prefix + num_preds arg-max characters."""
    check_vocab_size(net, vocab)
    ids = generate_ids(net, check_prefix(list(prefix), vocab, "char"), num_preds, device=device)
    return "".join(vocab.idx_to_token[i] for i in ids)
