"""Property-based tests (hypothesis) for issue 8 item 7 that were still missing: BLEU bounds
and identity, beam 1 = greedy on random models and sources, masked loss ignores padding.
(Tokenizer, vocabulary round trip and samplers: tests/data/test_text_vocab.py, test_sampling.py.)"""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.generation.translate import beam_search, greedy_decode
from seqlab.models.seq2seq import build_seq2seq
from seqlab.training.bleu import bleu, corpus_bleu
from seqlab.training.translate_loss import MaskedSoftmaxCELoss, masked_ce

words = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=0, max_size=12)


@given(st.lists(st.tuples(words, words), min_size=1, max_size=6), st.sampled_from(["exp", "none"]))
@settings(max_examples=150, deadline=None)
def test_corpus_bleu_is_between_0_and_100(pairs, smooth):
    score = corpus_bleu([h for h, _ in pairs], [r for _, r in pairs], smooth=smooth)
    assert 0.0 <= score <= 100.0 + 1e-9


@given(st.lists(words.filter(lambda w: len(w) >= 4), min_size=1, max_size=6))
@settings(max_examples=100, deadline=None)
def test_identical_sentences_give_bleu_100(sentences):
    assert math.isclose(corpus_bleu(sentences, sentences), 100.0, rel_tol=1e-12)


@given(words, words, st.integers(1, 4))
@settings(max_examples=200, deadline=None)
def test_book_bleu_is_between_0_and_1_and_1_on_identity(pred, label, k):
    assert 0.0 <= bleu(pred, label, k) <= 1.0 + 1e-12
    if len(pred) >= k:
        assert math.isclose(bleu(pred, pred, k), 1.0, rel_tol=1e-12)


@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 6), st.booleans())
@settings(max_examples=25, deadline=None)
def test_beam_1_equals_greedy(seed, batch, src_len, attention):
    torch.manual_seed(seed)
    model = build_seq2seq(9, 7, embed=4, hidden=8, layers=1, attention=attention).eval()
    src = torch.randint(3, 9, (batch, src_len))
    lens = torch.randint(1, src_len + 1, (batch,))
    g = greedy_decode(model, src, lens, 1, 2, max_len=6)
    b = beam_search(model, src, lens, 1, 2, beam_size=1, max_len=6)
    assert [h.tokens for h in g] == [hs[0].tokens for hs in b]


@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 6), st.integers(1, 5), st.data())
@settings(max_examples=60, deadline=None)
def test_padding_never_changes_the_masked_loss(seed, B, T, extra, data):
    gen = torch.Generator().manual_seed(seed)
    V = 5
    lens = torch.tensor(data.draw(st.lists(st.integers(0, T), min_size=B, max_size=B)))
    logits = torch.randn(B, T, V, generator=gen)
    labels = torch.randint(0, V, (B, T), generator=gen)
    # pad every sequence with `extra` more positions of arbitrary logits and labels
    pad_logits = torch.cat([logits, 100 * torch.randn(B, extra, V, generator=gen)], dim=1)
    pad_labels = torch.cat([labels, torch.randint(0, V, (B, extra), generator=gen)], dim=1)
    loss = MaskedSoftmaxCELoss()
    torch.testing.assert_close(loss(pad_logits, pad_labels, lens), loss(logits, labels, lens), rtol=0, atol=1e-6)
    per_token = masked_ce(pad_logits, pad_labels, lens)  # (B, T + extra): the same tokens, zeros after
    # the same values up to the last bits (a vectorised kernel rounds by a row's position in its lanes)
    torch.testing.assert_close(per_token[:, :T], masked_ce(logits, labels, lens), rtol=1e-6, atol=1e-6)
    assert not per_token[:, T:].any()
    # and changing what sits in the padding changes nothing either
    noisy = logits.clone()
    keep = torch.arange(T)[None, :] < lens[:, None]
    noisy[~keep] = torch.randn(int((~keep).sum()), V, generator=gen)
    torch.testing.assert_close(loss(noisy, labels, lens), loss(logits, labels, lens), rtol=0, atol=0)
