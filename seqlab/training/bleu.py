"""BLEU: the book's sentence score (9.7) and the standard corpus score.

Sentence BLEU as the book defines it:

    exp(min(0, 1 - len_label / len_pred)) * prod_{n=1..k} p_n ** (1 / 2**n)

with p_n the clipped n-gram precision of the prediction. The book divides by
`len_pred - n + 1`, which is zero or negative for a prediction shorter than k tokens
(or empty) and raises ZeroDivisionError (SPEC §13); such a prediction has no n-grams
of that order, so its p_n is 0 and its BLEU is 0.

Corpus BLEU is Papineni et al.'s: clipped n-gram matches and totals summed over
the whole corpus, the geometric mean of p_1..p_4, one brevity penalty for the
corpus, on a 0-100 scale; it agrees with `sacrebleu.corpus_bleu(..., tokenize='none')`
on the same tokens (including its default 'exp' smoothing of zero counts, and its 0 for a
corpus without a single matching unigram), with one reference per sentence (`corpus_bleu`)
or several (`corpus_bleu_multi`: a source that has several translations, as fra-eng's often do).

A sentence is read whole: every token of a list, every column of a 2-D tensor's row. A batch of
ids carries padding (and tokens after its <eos>), which would count as matching n-grams; `pad=ID`
drops every pad token and `eos=ID` cuts each sentence at its first eos (fairseq's scorer strips
both), in hypotheses and references alike, before any counting.
"""

from __future__ import annotations

import collections
import math
import numbers
import sys
import warnings
from typing import Sequence

from seqlab.errors import SeqlabError, check_positive_int

Tokens = Sequence[str]

# A token holds none of these: the pair files' tokens never do (lines cut at \n, \r read as \n, sides
# at a tab, words at spaces), so one that does is a sentence where a token belongs. Other spaces may
# sit in a token: fra-eng's French has 'moi\u2009' (a thin space before '?' or '!') as a word of
# its own, which the model writes and the references hold.
_ASCII_SPACE = frozenset(" \t\n\r")
_SACREBLEU_LAYOUT = ("sacrebleu's layout, a list of reference streams (sacrebleu.corpus_bleu(hyps, [refs])), "
                     "is corpus_bleu(hyps, refs) here, and several streams corpus_bleu_multi(hyps, "
                     "list(zip(*streams)))")


def _tokens(seq: str | Tokens, book: bool = True) -> list[str]:
    """A sentence's tokens: a str split on single spaces (`book`: as the book's `bleu`) or on runs
    of whitespace (corpus BLEU, as sacrebleu), or a sequence of words or integer ids; a tensor or
    array of ids becomes a list of ints (tensor elements hash by identity, so two equal tensors
    would share no n-gram)."""
    if isinstance(seq, str):
        if not book:
            return seq.split()
        return [] if seq == "" else seq.split(" ")
    if hasattr(seq, "tolist"):  # torch.Tensor, numpy array
        seq = seq.tolist()
    if not isinstance(seq, (list, tuple)):
        raise SeqlabError(f"a sentence must be a string or a list of tokens, not {type(seq).__name__}")
    for t in seq:
        if not isinstance(t, (str, numbers.Integral)):
            raise SeqlabError(f"a sentence's tokens must be strings or integer ids, not {type(t).__name__} ({t!r})")
        if isinstance(t, str) and not _ASCII_SPACE.isdisjoint(t):
            raise SeqlabError(f"a token holds whitespace ({t!r}): a list of strings is one sentence's tokens, "
                              "so a sentence in a list was read as one token. A sentence is a string or a list "
                              "of tokens, with one reference per hypothesis (corpus_bleu(hyps, refs)) or one "
                              f"list of references per hypothesis (corpus_bleu_multi); {_SACREBLEU_LAYOUT}")
    return list(seq)


def _check_order(name: str, k) -> None:
    check_positive_int(name, k, " (the largest n-gram order)")


def _sentences(name: str, seqs, cut: bool = False) -> list:
    """A corpus: a list of sentences (a 2-D tensor or array: one sentence per row). `cut`: the
    caller strips padding (pad= or eos= given), so a padded-looking batch needs no warning."""
    if isinstance(seqs, str):  # iterating it would give one-character sentences
        raise SeqlabError(f"{name} must be a list of sentences, not one string (for one sentence: [sentence])")
    if hasattr(seqs, "tolist"):
        seqs = seqs.tolist()
        if not cut:
            _warn_if_padded(name, seqs)
    if not isinstance(seqs, (list, tuple)):
        raise SeqlabError(f"{name} must be a list of sentences, not {type(seqs).__name__}")
    if not cut and seqs and all(hasattr(s, "tolist") for s in seqs):
        # a list of id rows (a batch unbound, or rows cut from one): as padded as the batch was
        _warn_if_padded(name, [s.tolist() for s in seqs])
    return list(seqs)


def _warn_if_padded(name: str, rows) -> None:
    """Warn when a row of an id tensor or array ends in a run of one id: the mark of a padded batch,
    whose padding would count as matches (two hypotheses sharing no word with their references
    scored 59.9 for it). A real sentence may end in a repeat too, hence a warning, not an error."""
    for row in rows:
        if (isinstance(row, list) and len(row) >= 2 and isinstance(row[-1], numbers.Integral)
                and row[-1] == row[-2]):
            warnings.warn(f"seqlab: a row of {name} ends in a repeated id ({row[-1]}), as padding does: every "
                          f"column counts as a token, padding included; if it is padding, pass pad={row[-1]} "
                          "(or eos=ID to cut each row at its end of sentence)", UserWarning, stacklevel=_outside())
            return


def _outside() -> int:
    """The stacklevel (for our caller's warnings.warn) of the first frame outside this module: the
    warning names the user's line, whichever of corpus_bleu/corpus_stats/... it came through."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def _cutter(pad, eos):
    """Each sentence's tokens cut at the first `eos` and without any `pad` (None: not given)."""
    if pad is None and eos is None:
        return lambda tokens: tokens
    pad, eos = _token_arg("pad", pad), _token_arg("eos", eos)

    def cut(tokens: list) -> list:
        if eos is not None and eos in tokens:
            tokens = tokens[:tokens.index(eos)]
        return [t for t in tokens if t != pad] if pad is not None else tokens
    return cut


def _token_arg(name: str, value):
    """`pad`/`eos` as the tokens compare: an id (an int, or a one-element tensor's or array's), a str, or None."""
    if value is not None and hasattr(value, "item") and getattr(value, "size", None) is not None and (
            (value.numel() if callable(getattr(value, "numel", None)) else value.size) == 1):
        value = value.item()
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, numbers.Integral))):
        raise SeqlabError(f"{name} must be a token id (an int) or a token (a str), not {type(value).__name__} "
                          f"({value!r})")
    return value


def bleu(pred_seq: str | Tokens, label_seq: str | Tokens, k: int) -> float:
    """The book's BLEU of one prediction against one label (strings of space-separated tokens)."""
    _check_order("k", k)
    pred_tokens, label_tokens = _tokens(pred_seq), _tokens(label_seq)
    len_pred, len_label = len(pred_tokens), len(label_tokens)
    if len_pred == 0:
        return 0.0
    score = math.exp(min(0.0, 1 - len_label / len_pred))
    for n in range(1, k + 1):
        if len_pred - n + 1 <= 0:
            return 0.0
        label_subs: collections.Counter = collections.Counter(
            tuple(label_tokens[i:i + n]) for i in range(len_label - n + 1))
        num_matches = 0
        for i in range(len_pred - n + 1):
            gram = tuple(pred_tokens[i:i + n])
            if label_subs[gram] > 0:
                num_matches += 1
                label_subs[gram] -= 1
        score *= math.pow(num_matches / (len_pred - n + 1), math.pow(0.5, n))
    return score


def _ngrams(tokens: list[str], n: int) -> collections.Counter:
    return collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def corpus_stats(hypotheses: Sequence[str | Tokens], references: Sequence[str | Tokens], max_n: int = 4, *,
                 pad=None, eos=None) -> dict:
    """Summed clipped matches and totals per order, hypothesis and reference lengths."""
    references = _sentences("references", references, pad is not None or eos is not None)
    return _stats(hypotheses, [[r] for r in references], max_n, pad, eos)


def _stats(hypotheses, reference_sets: list, max_n: int, pad=None, eos=None) -> dict:
    """`corpus_stats` against one set of references per hypothesis: an n-gram's count is clipped to
    its most in any one reference, and a hypothesis's reference length is that of the reference
    closest to its own length (the shorter on a tie): Papineni et al.'s rules, and sacrebleu's."""
    _check_order("max_n", max_n)
    hypotheses = _sentences("hypotheses", hypotheses, pad is not None or eos is not None)
    cut = _cutter(pad, eos)
    if len(hypotheses) != len(reference_sets):
        raise SeqlabError(f"{len(hypotheses)} hypotheses but {len(reference_sets)} references: give one "
                          f"reference (or one set of references) each; {_SACREBLEU_LAYOUT}")
    correct, total = [0] * max_n, [0] * max_n
    sys_len = ref_len = 0
    for hyp, refs in zip(hypotheses, reference_sets):
        h, rs = cut(_tokens(hyp, book=False)), [cut(_tokens(r, book=False)) for r in refs]
        if not rs:
            raise SeqlabError(f"a hypothesis without a reference ({' '.join(map(str, h))!r}): give each at least one")
        sys_len += len(h)
        ref_len += min((len(r) for r in rs), key=lambda n: (abs(n - len(h)), n))
        for n in range(1, max_n + 1):
            most: collections.Counter = collections.Counter()
            for r in rs:
                most |= _ngrams(r, n)  # | keeps each n-gram's largest count
            correct[n - 1] += sum(min(c, most[g]) for g, c in _ngrams(h, n).items())
            total[n - 1] += max(len(h) - n + 1, 0)
    return {"correct": correct, "total": total, "sys_len": sys_len, "ref_len": ref_len}


def corpus_bleu(hypotheses: Sequence[str | Tokens], references: Sequence[str | Tokens], max_n: int = 4,
                smooth: str = "exp", *, pad=None, eos=None) -> float:
    """Corpus BLEU (0-100) of tokenised hypotheses against one reference each.

    smooth="exp" (sacrebleu's default): an order with no match counts as
    1 / (2^m * total) for its m-th such order, unless no order has a match at all (then 0, as
    sacrebleu); smooth="none": any order without a match gives 0. A string sentence is split on
    whitespace, as sacrebleu's tokenize="none" does.

    Each sentence is read whole, so give a padded batch of ids (a 2-D tensor or array, one
    sentence per row) with `pad=` its padding id, and `eos=` its end-of-sentence id to cut each
    row there (the eos and all after it dropped); both apply to the references too, and to token
    lists (pad="<pad>"). Rows of ids that end in a repeated id, with neither given, get a warning.
    """
    return _bleu(corpus_stats(hypotheses, references, max_n, pad=pad, eos=eos), max_n, smooth)


def corpus_bleu_multi(hypotheses: Sequence[str | Tokens], reference_sets: Sequence[Sequence[str | Tokens]],
                      max_n: int = 4, smooth: str = "exp", *, pad=None, eos=None) -> float:
    """Corpus BLEU (0-100) of tokenised hypotheses against a set of references each (any number,
    at least one): each n-gram clipped to its most in one reference, the reference length the
    closest to the hypothesis's (the shorter on a tie). Equals sacrebleu's corpus BLEU with
    tokenize="none" and the sets given as reference streams, None where a set has fewer (sacrebleu
    reads '' as a reference of length 0).

    The layout is one set per hypothesis, `[[ref_a1, ref_a2], [ref_b1]]`, not sacrebleu's streams
    (one list per reference number), each reference a string or a list of tokens. A set that is a
    string, or a list of integer ids where a set belongs, is refused; a list of word tokens where a
    set belongs cannot be told from a set of one-word references: wrap one, `[tokens]`. `pad`, `eos`:
    as `corpus_bleu`'s."""
    given = pad is not None or eos is not None
    sets = _sentences("reference_sets", reference_sets, True)  # (its rows are sets, not sentences)
    sets = [_sentences("a set of references", refs, given) for refs in sets]
    for refs in sets:
        for ref in refs:
            if not isinstance(ref, (str, list, tuple)) and not hasattr(ref, "tolist"):
                raise SeqlabError(f"a reference must be a string or a list of tokens, not {type(ref).__name__} "
                                  f"({ref!r}): give reference_sets as one list of references per hypothesis, "
                                  "[[ref_a1, ref_a2], [ref_b1]]")
    return _bleu(_stats(hypotheses, sets, max_n, pad, eos), max_n, smooth)


def _bleu(s: dict, max_n: int, smooth: str) -> float:
    """BLEU from `corpus_stats`'s sums."""
    if smooth not in ("exp", "none"):
        raise SeqlabError(f"smooth must be 'exp' or 'none', not {smooth!r}")
    if s["sys_len"] == 0 or not any(s["correct"]):
        return 0.0
    log_sum, m = 0.0, 1.0
    for correct, total in zip(s["correct"], s["total"]):
        if total == 0:
            return 0.0
        if correct == 0:
            if smooth == "none":
                return 0.0
            m *= 2
            log_sum += math.log(1.0 / (m * total))
        else:
            log_sum += math.log(correct / total)
    bp = 1.0 if s["sys_len"] >= s["ref_len"] else math.exp(1 - s["ref_len"] / s["sys_len"])
    return 100.0 * bp * math.exp(log_sum / max_n)
