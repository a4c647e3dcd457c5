"""BLEU: the book's worked example, short predictions (SPEC §13), corpus BLEU vs sacrebleu."""

import math
import random

import numpy as np
import pytest

from seqlab.errors import SeqlabError
from seqlab.training import bleu as bleu_module
from seqlab.training.bleu import bleu, corpus_bleu, corpus_bleu_multi, corpus_stats


def test_worked_example_precisions_and_score():
    s = corpus_stats(["A B B C D"], ["A B C D E F"], max_n=4)
    assert [c / t for c, t in zip(s["correct"], s["total"])] == pytest.approx([4 / 5, 3 / 4, 1 / 3, 0])
    expected = math.exp(1 - 6 / 5) * (4 / 5) ** 0.5 * (3 / 4) ** 0.25
    assert bleu("A B B C D", "A B C D E F", 2) == pytest.approx(expected)
    assert bleu("A B B C D", "A B C D E F", 2) == pytest.approx(0.68147, abs=1e-5)
    assert bleu("A B B C D", "A B C D E F", 4) == 0.0  # p4 = 0


def test_book_examples_and_token_lists():
    assert bleu("va !", "va !", 2) == 1.0
    assert bleu("je suis chez moi .", "je suis chez moi .", 2) == 1.0
    # p1: il est . match (3/4); p2: "il est" matches, "est riche", "riche ." do not (1/3)
    expected = (3 / 4) ** 0.5 * (1 / 3) ** 0.25  # the book prints 0.658 for this pair
    assert bleu("il est riche .", "il est calme .", 2) == pytest.approx(expected)
    assert round(expected, 3) == 0.658
    assert bleu(["il", "est", "riche", "."], ["il", "est", "calme", "."], 2) == pytest.approx(expected)


@pytest.mark.parametrize("pred, label, k", [("a", "a b c", 2), ("", "a b", 2), ("a b", "a b c d", 4), ([], "x", 1)])
def test_short_or_empty_prediction_scores_zero_not_zerodivision(pred, label, k):
    assert bleu(pred, label, k) == 0.0


def test_corpus_bleu_matches_sacrebleu_on_same_tokens():
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = random.Random(0)
    words = "le la un une chat chien est sur table . ! ?".split()
    for trial in range(30):
        refs, hyps = [], []
        for _ in range(rng.randint(1, 12)):
            ref = [rng.choice(words) for _ in range(rng.randint(1, 12))]
            hyp = [t for t in ref if rng.random() < 0.8] + [rng.choice(words) for _ in range(rng.randint(0, 3))]
            rng.shuffle(hyp) if rng.random() < 0.3 else None
            refs.append(" ".join(ref))
            hyps.append(" ".join(hyp))
        ours = corpus_bleu(hyps, refs)
        theirs = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score
        assert ours == pytest.approx(theirs, abs=0.01), (trial, hyps, refs)


def test_corpus_bleu_edge_cases():
    assert corpus_bleu(["a b c d e"], ["a b c d e"]) == pytest.approx(100.0)
    assert corpus_bleu([""], ["a b"]) == 0.0
    assert corpus_bleu(["x y z w"], ["a b c d"], smooth="none") == 0.0
    with pytest.raises(ValueError):
        corpus_bleu(["a"], ["a", "b"])


def test_corpus_bleu_is_sacrebleus_without_any_match_and_with_extra_spaces():
    sacrebleu = pytest.importorskip("sacrebleu")
    from hypothesis import given, settings, strategies as st

    sentence = st.lists(st.sampled_from("abcd"), max_size=8).flatmap(
        lambda ws: st.lists(st.sampled_from([" ", "  ", "\t"]), min_size=len(ws), max_size=len(ws)).map(
            lambda seps: "".join(s + w for s, w in zip(seps, ws))))

    @settings(max_examples=400, deadline=None, database=None)
    @given(st.lists(st.tuples(sentence, sentence), min_size=1, max_size=4))
    def agrees(pairs):
        hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
        theirs = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score
        assert corpus_bleu(hyps, refs) == pytest.approx(theirs, abs=1e-9), (hyps, refs)

    agrees()
    # the two cases the review found: no unigram in common (smoothing gave 4.06 and 7.99), and a
    # double space read as an empty token (42.7 for a perfect match)
    assert corpus_bleu(["d c c d c b"], ["a a"]) == 0.0
    assert corpus_bleu(["a b c d"], [""]) == 0.0
    assert corpus_bleu(["the  cat sat on"], ["the cat sat on"]) == pytest.approx(100.0)


def test_multi_reference_worked_example():
    # hyp "the cat the cat" against "the cat sat" and "the the cat": "the" counts 2 (its most in one
    # reference, the second), "cat" 1; bigrams: "the cat" 1 of 2, "cat the" 0; reference length 3
    # (both are 3 long)
    s = bleu_module._stats(["the cat the cat"], [["the cat sat", "the the cat"]], max_n=2)
    assert s == {"correct": [3, 1], "total": [4, 3], "sys_len": 4, "ref_len": 3}
    # the closest reference length, the shorter on a tie: |4-3| = |4-5| -> 3
    assert bleu_module._stats(["a b c d"], [["a b c d e", "x y z"]], max_n=1)["ref_len"] == 3
    assert bleu_module._stats(["a b"], [["a b c d e", "x y z"]], max_n=1)["ref_len"] == 3


def test_multi_reference_bleu_matches_sacrebleu_with_a_varying_number_of_references():
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = random.Random(1)
    words = "le la un une chat chien est sur table . ! ?".split()
    for trial in range(30):
        hyps, sets = [], []
        for _ in range(rng.randint(1, 10)):
            refs = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 10))) for _ in range(rng.randint(1, 4))]
            base = refs[0].split()
            hyp = [t for t in base if rng.random() < 0.8] + [rng.choice(words) for _ in range(rng.randint(0, 3))]
            hyps.append(" ".join(hyp))
            sets.append(refs)
        # None where a set has fewer (sacrebleu reads '' as a reference of length 0)
        streams = [[refs[k] if k < len(refs) else None for refs in sets] for k in range(max(map(len, sets)))]
        theirs = sacrebleu.corpus_bleu(hyps, streams, tokenize="none").score
        assert corpus_bleu_multi(hyps, sets) == pytest.approx(theirs, abs=1e-9), (trial, hyps, sets)


def test_one_reference_each_is_corpus_bleu_and_an_empty_set_is_refused():
    hyps, refs = ["a b c d", "x y z"], ["a b c e", "x y z w"]
    assert corpus_bleu_multi(hyps, [[r] for r in refs]) == corpus_bleu(hyps, refs)
    with pytest.raises(SeqlabError, match="without a reference"):
        corpus_bleu_multi(["a b"], [[]])


def test_a_short_hypothesis_takes_its_closest_reference_length_among_a_varying_number():
    # sacrebleu 2.6 reads a '' reference as length 0, closest to a short hypothesis: None is "no reference"
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = ["a dog ran", "the cat sat on the mat"]
    sets = [["a dog ran in the big green park"], ["the cat sat on the mat", "the cat sat on a mat"]]
    s = bleu_module._stats(hyps, sets, max_n=4)
    assert (s["sys_len"], s["ref_len"]) == (9, 8 + 6)
    theirs = sacrebleu.corpus_bleu(hyps, [[sets[0][0], sets[1][0]], [None, sets[1][1]]], tokenize="none")
    assert corpus_bleu_multi(hyps, sets) == pytest.approx(theirs.score, abs=1e-9)
    assert corpus_bleu_multi(hyps, sets) == pytest.approx(100 * math.exp(1 - 14 / 9), abs=1e-9)  # all n-grams match


def test_reference_sets_in_the_wrong_layout_are_refused():
    with pytest.raises(SeqlabError, match="one list of references per hypothesis"):
        corpus_bleu_multi([[1, 2, 3]], [[1, 2, 3]])  # ids where a set of references belongs
    with pytest.raises(SeqlabError, match="not one string"):
        corpus_bleu_multi(["a b"], ["a b"])


def test_sacrebleus_reference_streams_are_refused_not_scored_zero():
    # [["a b c d"]] is sacrebleu's layout (one stream); here the inner list was one sentence whose one
    # token was "a b c d": 0.0, silently, where sacrebleu gives 100
    with pytest.raises(SeqlabError, match=r"a token holds whitespace \('a b c d'\).*sacrebleu's layout"):
        corpus_bleu(["a b c d"], [["a b c d"]])
    with pytest.raises(SeqlabError, match=r"2 hypotheses but 1 references.*sacrebleu's layout"):
        corpus_bleu(["a b", "c d"], [["a b", "c d"]])
    for bad in (["a b"], ["a\tb"], ["a\n"]):
        with pytest.raises(SeqlabError, match="a token holds whitespace"):
            bleu(bad, "a b", 2)
    # what the message says to do instead gives sacrebleu's score
    streams = [["a b c d", "x y z"], ["a b c e", "x y z w"]]
    hyps = ["a b c d", "x y z"]
    assert corpus_bleu(hyps, streams[0]) == pytest.approx(100.0)
    sacrebleu = pytest.importorskip("sacrebleu")
    theirs = sacrebleu.corpus_bleu(hyps, streams, tokenize="none").score
    assert corpus_bleu_multi(hyps, list(zip(*streams))) == pytest.approx(theirs, abs=1e-9)


def test_a_token_may_hold_a_thin_space_as_fra_engs_french_does():
    # fra-eng writes 'moi\u2009' ('moi ?' with a thin space before the ?) as one word: the model's
    # vocabulary holds it, and its BLEU against such references must not be refused
    tokens = ["excuse", "moi\u2009", "?"]
    assert corpus_bleu([tokens], [tokens], max_n=3) == pytest.approx(100.0)


def _padded_batch(rows, width, pad, eos, rng):
    """Rows of ids as a decoder's batch holds them: each sentence, <eos>, then padding (or stray ids
    after the eos, as a batch decoded to a fixed length has) out to `width`."""
    out = []
    for r in rows:
        tail = [rng.choice([pad, 4, 5]) for _ in range(width - len(r) - 1)] if rng.random() < 0.3 else \
            [pad] * (width - len(r) - 1)
        out.append(r + [eos] + tail)
    return out


def test_padded_id_batches_with_pad_and_eos_score_as_sacrebleu_on_the_sentences():
    # every column of a row was a token: two hypotheses sharing no word with their references
    # scored 59.9 on their padding, where sacrebleu on the sentences gives 0
    sacrebleu = pytest.importorskip("sacrebleu")
    torch = pytest.importorskip("torch")
    PAD, EOS = 1, 2
    hyp = torch.tensor([[5, 6, 7, EOS, PAD, PAD, PAD, PAD], [8, 9, EOS, PAD, PAD, PAD, PAD, PAD]])
    ref = torch.tensor([[10, 11, 12, EOS, PAD, PAD, PAD, PAD], [13, 14, EOS, PAD, PAD, PAD, PAD, PAD]])
    assert corpus_bleu(hyp, ref, pad=PAD, eos=EOS) == 0.0
    assert sacrebleu.corpus_bleu(["5 6 7", "8 9"], [["10 11 12", "13 14"]], tokenize="none").score == 0.0
    rng = random.Random(1)
    for trial in range(40):
        refs, hyps = [], []
        for _ in range(rng.randint(1, 8)):
            ref = [rng.randint(3, 12) for _ in range(rng.randint(1, 10))]
            hyp = [t for t in ref if rng.random() < 0.8] + [rng.randint(3, 12) for _ in range(rng.randint(0, 3))]
            refs.append(ref)
            hyps.append(hyp)
        theirs = sacrebleu.corpus_bleu([" ".join(map(str, h)) for h in hyps],
                                       [[" ".join(map(str, r)) for r in refs]], tokenize="none").score
        H = _padded_batch(hyps, 16, PAD, EOS, rng)
        R = _padded_batch(refs, 14, PAD, EOS, rng)
        assert corpus_bleu(torch.tensor(H), np.array(R), pad=PAD, eos=EOS) == pytest.approx(theirs, abs=1e-9)
        assert corpus_bleu_multi(torch.tensor(H), [[r] for r in R], pad=PAD, eos=EOS) == pytest.approx(theirs, abs=1e-9)
        # eos alone cuts every row at its end, padding and strays after it included
        assert corpus_bleu(H, R, eos=EOS) == pytest.approx(theirs, abs=1e-9)
    # pad alone: rows padded straight after the sentence; token lists too
    words = [["le", "chat", "<pad>", "<pad>"], ["un", "chien", "est", "<pad>"]]
    assert corpus_bleu(words, words, pad="<pad>") == pytest.approx(
        sacrebleu.corpus_bleu(["le chat", "un chien est"], [["le chat", "un chien est"]], tokenize="none").score)


def test_a_padded_looking_id_batch_without_pad_or_eos_warns_with_the_id():
    torch = pytest.importorskip("torch")
    hyp = torch.tensor([[5, 6, 1, 1], [5, 6, 7, 8]])
    with pytest.warns(UserWarning, match=r"hypotheses ends in a repeated id \(1\).*pass pad=1"):
        corpus_bleu(hyp, [[5, 6], [5, 6, 7, 8]])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corpus_bleu(hyp, [[5, 6], [5, 6, 7, 8]], pad=1)  # told: no warning
        corpus_bleu(torch.tensor([[5, 6, 7], [5, 6, 8]]), torch.tensor([[5, 6, 7], [5, 6, 8]]))  # no repeat at the end
        corpus_bleu([[5, 6, 1, 1]], [[5, 6, 1, 1]])  # a list is a sentence the caller wrote: as given
    # a list of the batch's rows (list(hyp), hyp.unbind(0)) is as padded as the batch
    for rows in (list(hyp), list(hyp.numpy())):
        with pytest.warns(UserWarning, match=r"hypotheses ends in a repeated id \(1\).*pass pad=1"):
            corpus_bleu(rows, [[5, 6], [5, 6, 7, 8]])


def test_pad_and_eos_of_the_wrong_kind_are_refused():
    torch = pytest.importorskip("torch")
    for one in (torch.tensor(1), torch.tensor([1]), np.array([1]), np.int64(1)):  # one-element: its id
        assert corpus_bleu([[5, 6, 1]], [[5, 6, 1]], pad=one) == corpus_bleu([[5, 6]], [[5, 6]])
    with pytest.raises(SeqlabError, match="pad must be a token id"):
        corpus_bleu([[5, 6, 1]], [[5, 6, 1]], pad=torch.tensor([1, 2]))
    for bad in ([1], 1.5, True):
        with pytest.raises(SeqlabError, match="pad must be a token id"):
            corpus_bleu([[5, 6, 1]], [[5, 6, 1]], pad=bad)
