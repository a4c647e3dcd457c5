"""Property tests (hypothesis) of sampling: `choose` draws from softmax(logits / T) restricted to the
top k and then to the nucleus (checked on a stratified grid of uniforms against numpy), and
`generate_batch` gives each row what one row alone, stepped by hand with the same numbers, gives:
whatever the other prefixes and their lengths (no padding reaches a state), greedy or sampled."""

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.generation.sampling import choose, generate_batch, is_bidirectional, row_uniforms
from seqlab.models.lm import ModelConfig, build_lm

pytestmark = pytest.mark.usefixtures("one_thread")

GRID = 4000  # uniforms (i + 0.5) / GRID: each token's share of them is its probability +- 1 / GRID


def _restricted(logits, temperature, top_k, top_p):
    """numpy twin: softmax(l / T) in float64, the top k (ties at the k-th value kept, as Hugging Face's
    top-k warper), renormalised, then the nucleus in descending order (the token that crosses p kept)."""
    z = np.asarray(logits, dtype=np.float64) / (1.0 if temperature is None else temperature)
    if top_k is not None and top_k < len(z):
        z = np.where(z >= np.sort(z)[::-1][top_k - 1], z, -np.inf)
    p = np.exp(z - z.max())
    p /= p.sum()
    if top_p is not None and top_p < 1:
        order = np.argsort(-p, kind="stable")
        keep, mass = np.zeros(len(p), bool), 0.0
        for i in order:
            keep[i] = True
            mass += p[i]
            if mass >= top_p:
                break
        p = np.where(keep, p, 0.0)
        p /= p.sum()
    return p


def _shares(logits, temperature, top_k, top_p):
    u = (torch.arange(GRID, dtype=torch.float64) + 0.5) / GRID
    rows = torch.tensor(logits, dtype=torch.float32).expand(GRID, -1)
    chosen = choose(rows, temperature, top_k, None, top_p, uniforms=u)
    return np.bincount(chosen.numpy(), minlength=len(logits)) / GRID


# -inf: a token banned by a mask (at least one stays finite)
logit_lists = st.lists(st.one_of(st.floats(-8, 8, allow_nan=False, width=32), st.just(float("-inf"))),
                       min_size=1, max_size=7).filter(lambda xs: any(x > float("-inf") for x in xs))


@settings(max_examples=150, deadline=None, database=None)
@given(logit_lists, st.one_of(st.none(), st.sampled_from([0.25, 0.7, 1.0, 3.0])),
       st.one_of(st.none(), st.integers(1, 8)), st.one_of(st.none(), st.sampled_from([0.05, 0.3, 0.5, 0.9, 1.0])))
@example([0.0, 1.0, 7.006492321624085e-45], None, 2, None)  # 1e-44 - 1 rounded to 0 - 1: top-2 sampled 3 tokens
def test_choose_samples_the_restricted_softmax(logits, temperature, top_k, top_p):
    if temperature is None and top_k is None and top_p is None:
        assert int(choose(torch.tensor([logits]))[0]) == int(np.argmax(logits))  # greedy: the first arg-max
        return
    want = _restricted(logits, temperature, top_k, top_p)
    # a nucleus boundary within rounding of p may fall either side: skip those draws
    if top_p is not None and top_p < 1:
        p = _restricted(logits, temperature, top_k, None)
        csum = np.cumsum(np.sort(p)[::-1])
        if np.min(np.abs(csum - top_p)) < 1e-6:
            return
    got = _shares(logits, temperature, top_k, top_p)
    assert np.all(got[want == 0] == 0), (got, want)  # never outside the support
    np.testing.assert_allclose(got, want, atol=1.5 / GRID)
    # torch.multinomial's path has the same support
    gen = torch.Generator().manual_seed(0)
    drawn = choose(torch.tensor([logits] * 200), temperature, top_k, gen, top_p)
    assert np.all(want[drawn.numpy()] > 0)


def _nets(V):
    torch.manual_seed(0)
    return [build_lm(ModelConfig(cell="lstm", impl="fused", hidden=6, embed=4, layers=2), V),
            build_lm(ModelConfig(cell="gru", impl="scratch", hidden=6), V),
            build_lm(ModelConfig(cell="peephole", impl="scratch", hidden=5, embed=3), V),
            build_lm(ModelConfig(cell="rnn", impl="scratch", hidden=5, layers=2, fast=False), V),
            build_lm(ModelConfig(cell="gru", impl="fused", hidden=4, bidirectional=True), V)]


V = 7
NETS = _nets(V)
prefix = st.lists(st.integers(0, V - 1), min_size=1, max_size=5)


def _by_hand(net, ids, num_tokens, uniforms, **sampling):
    """One row, one id per call after the prefix (a bidirectional model: from the first id on, as the
    book's loop), choosing with the row's own uniforms."""
    ids = list(ids)
    state = net.begin_state(batch_size=1, device="cpu")
    with torch.no_grad():
        for chunk in ([[i] for i in ids] if is_bidirectional(net) else [ids]):
            logits, state = net(torch.tensor([chunk]), state)  # (T, V)
        logits = logits[-1:]
        for i in range(num_tokens):
            t = len(ids)
            u = None if uniforms is None else uniforms[t:t + 1]
            ids.append(int(choose(logits, **sampling, uniforms=u)[0]) if sampling else int(logits[0].argmax()))
            if i + 1 < num_tokens:
                logits, state = net(torch.tensor([[ids[-1]]]), state)
    return ids


@settings(max_examples=30, deadline=None, database=None)
@given(st.integers(0, len(NETS) - 1), st.lists(prefix, min_size=1, max_size=4), st.integers(0, 6),
       st.integers(1, 2), st.sampled_from([None, dict(temperature=1.0), dict(top_k=3, temperature=0.8),
                                           dict(top_p=0.7)]), st.integers(0, 2**40))
@example(0, [[1, 2, 3], [4]], 3, 1, dict(temperature=1.0), 0)
def test_each_row_of_a_batch_is_that_row_stepped_alone(which, prefixes, num_tokens, num_samples, sampling, seed):
    net = NETS[which].eval()
    sampling = sampling or {}
    out = generate_batch(net, prefixes, num_tokens, num_samples=num_samples, seed=seed, **sampling)
    assert len(out) == len(prefixes) * num_samples
    longest = max(map(len, prefixes))
    uniforms = row_uniforms(len(prefixes), num_samples, longest + num_tokens, seed, "cpu") if sampling else None
    for r, row in enumerate(out):
        p = prefixes[r // num_samples]
        assert row[:len(p)] == p and len(row) == len(p) + num_tokens
        assert row == _by_hand(net, p, num_tokens, None if uniforms is None else uniforms[r], **sampling)


CHARS = "abcde "


def _char_vocab():
    from seqlab.data.vocab import Vocab

    return Vocab(list(CHARS * 2))


@settings(max_examples=30, deadline=None, database=None)
@given(config=st.sampled_from([dict(cell="lstm", impl="fused", hidden=6, layers=2),
                               dict(cell="gru", impl="scratch", hidden=5, bidirectional=True),
                               dict(cell="rnn", impl="fused", hidden=5, bidirectional=True, layers=2),
                               dict(cell="peephole", impl="scratch", hidden=4)]),
       prefix=st.text(st.sampled_from(CHARS), min_size=1, max_size=6), num_preds=st.integers(0, 8),
       seed=st.integers(0, 2**31 - 1))
def test_predict_ch8_is_the_books_loop(config, prefix, num_preds, seed):
    """(bidirectional models too: the book runs them one id per call, 9.4's noise)"""
    from reference_decode import book_predict_ch8  # tests/generation, on the test path

    from seqlab.generation.sampling import predict_ch8

    vocab = _char_vocab()
    torch.manual_seed(seed)
    net = build_lm(ModelConfig(**config), len(vocab)).eval()
    ours = predict_ch8(prefix, num_preds, net, vocab, "cpu")
    assert ours == book_predict_ch8(prefix, num_preds, net, vocab, "cpu")
    assert ours.startswith(prefix)  # (a predicted <unk> is written "<unk>", as the book writes it)


@settings(max_examples=25, deadline=None, database=None)
@given(which=st.integers(0, len(NETS) - 1), prefixes=st.lists(prefix, min_size=1, max_size=3),
       n=st.integers(0, 30), more=st.integers(1, 40), samples=st.integers(1, 3), seed=st.integers(0, 2**40),
       sampling=st.sampled_from([dict(temperature=1.0), dict(top_k=2), dict(top_p=0.8, temperature=1.3)]))
def test_a_seeded_sample_is_the_same_whatever_its_length_or_the_number_of_samples(which, prefixes, n, more, samples,
                                                                                 seed, sampling):
    net = NETS[which].eval()
    short = generate_batch(net, prefixes, n, num_samples=samples, seed=seed, **sampling)
    long = generate_batch(net, prefixes, n + more, num_samples=samples + 1, seed=seed, **sampling)
    for p in range(len(prefixes)):
        for s in range(samples):
            a, b = short[p * samples + s], long[p * (samples + 1) + s]
            assert b[:len(a)] == a
