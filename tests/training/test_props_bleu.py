"""Property tests (hypothesis) of BLEU: corpus BLEU equals sacrebleu's (tokenize="none") for every
max_n in 1..5 and both smoothings, on random token corpora with empty hypotheses and references,
with one reference each or a varying number (sacrebleu's streams padded with None); lists of
integer ids score as their strings do; the book's sentence BLEU never grows with k."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.training.bleu import bleu, corpus_bleu, corpus_bleu_multi

sacrebleu = pytest.importorskip("sacrebleu")

words = st.lists(st.integers(0, 4), max_size=7)
checks = settings(max_examples=150, deadline=None, database=None)


def _text(ids):
    return " ".join(f"w{i}" for i in ids)


def _theirs(hyps, streams, max_n, smooth):
    metric = sacrebleu.metrics.BLEU(tokenize="none", max_ngram_order=max_n, smooth_method=smooth)
    return metric.corpus_score(hyps, streams).score


@checks
@given(st.lists(st.tuples(words, words), min_size=1, max_size=5), st.integers(1, 5), st.sampled_from(["exp", "none"]))
def test_corpus_bleu_is_sacrebleus_for_any_order_and_smoothing(pairs, max_n, smooth):
    hyps, refs = [_text(h) for h, _ in pairs], [_text(r) for _, r in pairs]
    ours = corpus_bleu(hyps, refs, max_n=max_n, smooth=smooth)
    assert ours == pytest.approx(_theirs(hyps, [refs], max_n, smooth), abs=1e-9), (hyps, refs)
    # the same sentences as lists of integer ids
    assert corpus_bleu([h for h, _ in pairs], [r for _, r in pairs], max_n=max_n, smooth=smooth) == ours


@checks
@given(st.lists(st.tuples(words, st.lists(words, min_size=1, max_size=3)), min_size=1, max_size=4),
       st.integers(1, 4), st.sampled_from(["exp", "none"]))
def test_multi_reference_bleu_is_sacrebleus(items, max_n, smooth):
    hyps = [_text(h) for h, _ in items]
    sets = [[_text(r) for r in rs] for _, rs in items]
    most = max(map(len, sets))
    streams = [[s[i] if i < len(s) else None for s in sets] for i in range(most)]
    ours = corpus_bleu_multi(hyps, sets, max_n=max_n, smooth=smooth)
    assert ours == pytest.approx(_theirs(hyps, streams, max_n, smooth), abs=1e-9), (hyps, sets)


@checks
@given(words, words, st.integers(1, 5))
def test_book_bleu_never_grows_with_k_and_is_1_on_itself(pred, label, k):
    p, lab = _text(pred), _text(label)
    assert 0.0 <= bleu(p, lab, k + 1) <= bleu(p, lab, k) <= 1.0
    assert bleu(p, p, k) == (1.0 if len(pred) >= k else 0.0)
