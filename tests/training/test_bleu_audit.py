"""Mutation audit of BLEU and the translation report: the n-gram order's mean, the book's single-space
split, the spread of the valid-BLEU subset, the hypothesis multi-reference BLEU reads, and the
report's notes at their thresholds."""

import math
from types import SimpleNamespace

import pytest

from seqlab.data.vocab import Vocab
from seqlab.training import translate_report as rep
from seqlab.training.bleu import bleu, corpus_bleu, corpus_bleu_multi


def test_corpus_bleu_of_a_lower_order_is_the_geometric_mean_of_that_many_precisions():
    # p1 = 3/4, p2 = 2/3, same length: BLEU-2 = sqrt(3/4 * 2/3) = sqrt(1/2) (not the 4th root of it)
    assert corpus_bleu(["a b c d"], ["a b c e"], max_n=2) == pytest.approx(100 * math.sqrt(0.5))
    assert corpus_bleu(["a b c d"], ["a b c e"], max_n=1) == pytest.approx(75.0)
    assert corpus_bleu_multi(["a b c d"], [["a b c e"]], max_n=2) == pytest.approx(70.7107, abs=1e-4)
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, refs = ["a b c d", "x y z"], ["a b c e", "x y w z"]
    for n in (1, 2, 3):
        theirs = sacrebleu.metrics.BLEU(tokenize="none", max_ngram_order=n).corpus_score(hyps, [refs]).score
        assert corpus_bleu(hyps, refs, max_n=n) == pytest.approx(theirs, abs=1e-9), n


def test_the_books_bleu_splits_on_single_spaces_as_the_book_does():
    # the book's `pred_seq.split(' ')`: a double space is an empty token, unmatched in the label
    # (3 tokens, 2 of them matching: p1 = 2/3; the label is shorter, so no brevity penalty)
    assert bleu("a  b", "a b", 1) == pytest.approx(math.sqrt(2 / 3))
    assert bleu("a b", "a b", 1) == 1.0


def test_the_valid_bleu_subset_is_pairs_i_times_len_over_n():
    # pairs[i * 10 // 4] for i < 4: 0, 2, 5, 7 (not every 10 // 4 = 2nd: 0, 2, 4, 6, which leaves the end out)
    assert rep.spread_subset(list(range(10)), 4) == [0, 2, 5, 7]
    assert rep.spread_subset(list(range(7)), 3) == [0, 2, 4]


def test_multi_reference_bleu_scores_each_sources_first_pairs_hypothesis():
    pairs = [(["i", "am", "calm", "."], ["je", "suis", "calme", "."]),
             (["i", "am", "calm", "."], ["je", "suis", "tranquille", "."])]
    hyps = [["je", "suis", "calme", "."], ["il", "est", "la", "."]]
    assert rep.multi_ref_bleu(pairs, hyps) == pytest.approx(100.0)


def test_report_notes_at_their_thresholds():
    assert rep.subset_note(5, 5) == "all 5 valid pairs"
    assert rep.subset_note(4, 10) == "4 of the 10 valid pairs, one in every 2.5 (spread over the split)"
    # fits_99 equal to num_steps: that setting is the one given, no hint to use it
    counts = {"pairs": 100, "source": 1, "target": 0, "either": 1, "fits_99": 6}
    assert "would cut at most 1%" not in rep.cut_note(counts, 6)
    assert "--num-steps 7 would cut at most 1%" in rep.cut_note(dict(counts, fits_99=7), 6)
    # a share of exactly UNK_WARN (1 word of 10) is not warned about; one above it is
    src = Vocab([["a"]], reserved_tokens=["<pad>"])
    tgt = Vocab([["x"]], reserved_tokens=["<pad>"])
    tenth = [(["a"] * 9 + ["q"], ["x"])]
    data = SimpleNamespace(src_vocab=src, tgt_vocab=tgt, num_steps=20, splits={"train": tenth, "valid": tenth})
    assert rep.unk_note(data).startswith("words read as <unk>: train source 10.0%")
    data.splits["train"] = [(["a"] * 8 + ["q", "q"], ["x"])]
    assert rep.unk_note(data).startswith("warning: many words are read as <unk>")
