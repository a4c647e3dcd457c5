"""Property tests (hypothesis) of the decoders against brute force: a toy decoder whose next-token
distribution depends on the whole history (and on the source), over a tiny vocabulary and short
lengths, so that `exhaustive_search` (teacher-forced scores of every candidate) is the twin.

- a beam at least as wide as the number of candidates is exhaustive search (n-best included);
- every hypothesis any decoder returns carries the score, sum and length that exhaustive search
  gives its tokens (the documented scoring: L counts <eos>, a cut candidate has L = max_len);
- n-best lists are sorted and distinct; beam 1 is greedy; a batch is its sources one by one.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.generation.translate import beam_search, exhaustive_search, greedy_decode
from seqlab.models.seq2seq import Decoder, Encoder, EncoderDecoder

pytestmark = pytest.mark.usefixtures("one_thread")

P = 1009  # history codes are folded modulo this prime into the logit table's rows


class _SourceEncoder(Encoder):
    def forward(self, X, *args):
        return X


class _HistoryDecoder(Decoder):
    """Logits from a fixed random table indexed by a code of (source, every token so far): the
    next-token distribution depends on the whole prefix, as a recurrent decoder's does. Some
    entries may be -inf (a token the model never emits after that history)."""

    def __init__(self, vocab: int, seed: int, sharp: float, forbid: float, ties: bool = False):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.table = torch.randn(P, vocab, generator=gen) * sharp  # (P, V)
        if ties:  # whole numbers: many equal log-probabilities, sums and scores
            self.table = self.table.round()
        if forbid:
            self.table[torch.rand(P, vocab, generator=gen) < forbid] = float("-inf")
            self.table[:, 0] = self.table[:, 0].nan_to_num(neginf=0.0)  # a row keeps a finite entry

    def init_state(self, enc_outputs, *args):
        # (B, 1) code of the source sentence
        return (enc_outputs.long() * torch.tensor([7, 13, 31, 61])[:enc_outputs.shape[1]]).sum(1, keepdim=True) % P

    def forward(self, X, state):
        out = []
        for x in X.T:  # (B,) one step at a time: the code absorbs each input token
            state = (state * 37 + x[:, None] + 1) % P
            out.append(self.table[state[:, 0]])  # (B, V)
        return torch.stack(out, 1), state  # (B, T, V)

    def reorder_state(self, state, index):
        return state.index_select(0, index)


def _model(vocab, seed, sharp=2.0, forbid=0.0, ties=False):
    return EncoderDecoder(_SourceEncoder(), _HistoryDecoder(vocab, seed, sharp, forbid, ties)).eval()


def _source(code: int, B: int = 1):
    src = torch.tensor([[(code + b) % 5, (code // 5 + b) % 5, 1] for b in range(B)])  # (B, 3)
    return src, torch.full((B,), 3)


settings_fast = settings(max_examples=100, deadline=None, database=None)
decoding = dict(V=st.integers(1, 4), max_len=st.integers(1, 4), eos_at=st.integers(0, 3), bos=st.integers(0, 3),
                alpha=st.sampled_from([0.0, 0.5, 0.75, 1.0, 2.0]), seed=st.integers(0, 10_000),
                code=st.integers(0, 24))


def _by_key(every):
    """exhaustive candidates by (tokens, length): the key a hypothesis has."""
    return {(tuple(h.tokens), h.length): h for h in every}


def _matches(h, ref):
    return (h.length == ref.length and h.sum_logp == pytest.approx(ref.sum_logp, abs=1e-4)
            and h.score == pytest.approx(ref.score, abs=1e-4))


@settings_fast
@given(**decoding, n_best=st.integers(1, 5), forbid=st.sampled_from([0.0, 0.3]), ties=st.booleans())
def test_a_beam_as_wide_as_the_candidates_is_exhaustive_search(V, max_len, eos_at, bos, alpha, seed, code,
                                                                n_best, forbid, ties):
    eos, bos = eos_at % V, bos % V
    model = _model(V, seed, forbid=forbid, ties=ties)
    src, src_len = _source(code)
    every = exhaustive_search(model, src, src_len, bos, eos, max_len=max_len, alpha=alpha)
    finite = [h for h in every if math.isfinite(h.score)]
    K = len(every)
    n_best = min(n_best, K)
    beam = beam_search(model, src, src_len, bos, eos, beam_size=K, max_len=max_len, alpha=alpha, n_best=n_best)[0]
    # every finite candidate is reachable, so the n-best are exhaustive search's first n_best (or all the finite)
    assert len(beam) == min(n_best, len(finite))
    assert [h.score for h in beam] == pytest.approx([h.score for h in finite[:len(beam)]], abs=1e-4)
    ref = _by_key(every)
    for h in beam:
        assert _matches(h, ref[tuple(h.tokens), h.length])


@settings_fast
@given(**decoding, K=st.integers(1, 6), n_best=st.integers(1, 6), ties=st.booleans())
def test_every_beam_hypothesis_is_scored_as_exhaustive_search_scores_it(V, max_len, eos_at, bos, alpha, seed,
                                                                         code, K, n_best, ties):
    eos, bos = eos_at % V, bos % V
    n_best = min(n_best, K)
    model = _model(V, seed, ties=ties)
    src, src_len = _source(code)
    ref = _by_key(exhaustive_search(model, src, src_len, bos, eos, max_len=max_len, alpha=alpha))
    beam = beam_search(model, src, src_len, bos, eos, beam_size=K, max_len=max_len, alpha=alpha, n_best=n_best)[0]
    assert len(beam) == min(n_best, len(ref))  # (decode_n_best: shorter only where fewer candidates exist)
    keys = [(tuple(h.tokens), h.length) for h in beam]
    assert len(set(keys)) == len(keys)  # distinct candidates
    assert all(a.score >= b.score for a, b in zip(beam, beam[1:]))  # best first
    for h, key in zip(beam, keys):
        assert key in ref, key  # a candidate: ends at its first <eos>, or is cut at max_len
        assert _matches(h, ref[key])
        assert eos not in h.tokens


@settings_fast
@given(**decoding)
def test_greedy_is_beam_1_and_scored_as_exhaustive_search_scores_it(V, max_len, eos_at, bos, alpha, seed, code):
    eos, bos = eos_at % V, bos % V
    model = _model(V, seed)
    src, src_len = _source(code)
    ref = _by_key(exhaustive_search(model, src, src_len, bos, eos, max_len=max_len, alpha=alpha))
    g = greedy_decode(model, src, src_len, bos, eos, max_len=max_len, alpha=alpha)[0]
    assert _matches(g, ref[tuple(g.tokens), g.length])
    b = beam_search(model, src, src_len, bos, eos, beam_size=1, max_len=max_len, alpha=alpha)[0]
    assert [(h.tokens, h.length) for h in b] == [(g.tokens, g.length)]
    # greedy's tokens are the arg-max at each step of the teacher-forced logits
    dec_in = torch.tensor([[bos] + g.tokens])[:, :g.length]
    logits, _ = model.decoder(dec_in, model.decoder.init_state(src))
    assert logits[0].argmax(-1).tolist() == (g.tokens + [eos])[:g.length]


@settings(max_examples=60, deadline=None, database=None)
@given(V=st.integers(1, 5), max_len=st.integers(1, 5), eos_at=st.integers(0, 4), alpha=st.sampled_from([0.0, 0.75]),
       seed=st.integers(0, 10_000), code=st.integers(0, 24), B=st.integers(2, 4), K=st.integers(1, 5),
       n_best=st.integers(1, 5), sync_every=st.integers(1, 4))
def test_a_batch_decodes_as_its_sources_one_by_one(V, max_len, eos_at, alpha, seed, code, B, K, n_best, sync_every):
    """(the batch checked for "all done" every `sync_every` steps, the single sources every step)"""
    eos, bos = eos_at % V, (eos_at + 1) % V
    n_best = min(n_best, K)
    model = _model(V, seed)
    src, src_len = _source(code, B)
    batch = beam_search(model, src, src_len, bos, eos, beam_size=K, max_len=max_len, alpha=alpha, n_best=n_best,
                        sync_every=sync_every)
    greedy = greedy_decode(model, src, src_len, bos, eos, max_len=max_len, alpha=alpha, sync_every=sync_every)
    for b in range(B):
        one = beam_search(model, src[b:b + 1], src_len[b:b + 1], bos, eos, beam_size=K, max_len=max_len,
                          alpha=alpha, n_best=n_best)[0]
        assert [(h.tokens, h.length) for h in batch[b]] == [(h.tokens, h.length) for h in one]
        assert [h.score for h in batch[b]] == pytest.approx([h.score for h in one], abs=1e-6)
        g = greedy_decode(model, src[b:b + 1], src_len[b:b + 1], bos, eos, max_len=max_len, alpha=alpha)[0]
        assert (greedy[b].tokens, greedy[b].length) == (g.tokens, g.length)
