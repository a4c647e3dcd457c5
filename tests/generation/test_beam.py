"""Decoding: hand-computed scores, beam 1 == greedy, a wide beam == exhaustive search, the device-side
decoders == the old host loops (reference_decode.py), batch == per-sentence loop, bad input."""

import math

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.generation.translate import beam_search, decode, decode_n_best, exhaustive_search, greedy_decode
from seqlab.models.seq2seq import Decoder, Encoder, EncoderDecoder, build_seq2seq

import reference_decode as reference


beam_search_ref, greedy_decode_ref = reference.beam_search_ref, reference.greedy_decode_ref

X, Y, EOS, BOS = 0, 1, 2, 3

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU



class _NoEncoder(Encoder):
    def forward(self, X, *args):
        return X


class _TableDecoder(Decoder):
    """p(y_t | y_{t-1}) from a fixed table: the next token depends only on the previous one."""

    def __init__(self, probs):
        super().__init__()
        self.logp = torch.log(torch.tensor(probs, dtype=torch.float32))  # (V, V): row = previous token

    def init_state(self, enc_outputs, *args):
        return torch.zeros(enc_outputs.shape[0], 1)

    def forward(self, X, state):
        return self.logp[X], state  # (B, T, V): log-probs are valid logits

    def reorder_state(self, state, index):
        return state.index_select(0, index)


def table_model(probs):
    return EncoderDecoder(_NoEncoder(), _TableDecoder(probs))


def _src(b=1):
    return torch.zeros(b, 3, dtype=torch.long), torch.full((b,), 3)


# after <bos>: x .5, y .4; after x: x .35 (greedy keeps going), eos .25; after y: eos .97
GREEDY_TRAP = [[0.35, 0.30, 0.25, 0.10], [0.01, 0.01, 0.97, 0.01], [0.25] * 4, [0.50, 0.40, 0.05, 0.05]]


def test_scores_match_hand_computation():
    model = table_model(GREEDY_TRAP)
    src, src_len = _src()
    g = greedy_decode(model, src, src_len, BOS, EOS, max_len=2)[0]
    # greedy: x (0.5) then x (0.35), no <eos> within 2 steps: L = 2
    assert g.tokens == [X, X] and g.length == 2
    assert g.sum_logp == pytest.approx(math.log(0.5) + math.log(0.35), abs=1e-5)
    assert g.score == pytest.approx((math.log(0.5) + math.log(0.35)) / 2 ** 0.75, abs=1e-5)
    b = beam_search(model, src, src_len, BOS, EOS, beam_size=2, max_len=2, n_best=2)[0]
    # beam 2 keeps y, whose <eos> (0.97) wins: (log .4 + log .97) / 2^0.75 = -0.5630
    assert b[0].tokens == [Y] and b[0].length == 2
    assert b[0].score == pytest.approx((math.log(0.4) + math.log(0.97)) / 2 ** 0.75, abs=1e-5)
    assert b[0].score == pytest.approx(-0.5630, abs=1e-4) and b[0].score > g.score
    # the runner-up is also the hand-computable [x, x]
    assert [h.tokens for h in b[1:2]] == [[X, X]]


def test_exhaustive_on_table_model_lists_every_candidate():
    model = table_model(GREEDY_TRAP)
    src, src_len = _src()
    every = exhaustive_search(model, src, src_len, BOS, EOS, max_len=2)
    # L=1: [eos]; L=2: 3 non-eos first tokens x 4 second tokens
    assert len(every) == 1 + 3 * 4
    best = every[0]
    assert best.tokens == [Y] and best.score == pytest.approx((math.log(0.4) + math.log(0.97)) / 2 ** 0.75, abs=1e-5)
    eos_only = [h for h in every if h.length == 1][0]
    assert eos_only.tokens == [] and eos_only.score == pytest.approx(math.log(0.05), abs=1e-5)



def test_decode_dispatches_on_the_beam_size_and_passes_alpha():
    model = table_model(GREEDY_TRAP)
    src, src_len = _src()
    # beam 1 is greedy: x x (no <eos> within 2 steps, L = 2); alpha = 1 divides the sum by L = 2
    g = decode(model, src, src_len, BOS, EOS, beam_size=1, max_len=2, alpha=1.0)[0]
    assert g.tokens == [X, X] and g.score == pytest.approx((math.log(0.5) + math.log(0.35)) / 2, abs=1e-5)
    # alpha = 0: no length normalisation, the score is the plain sum
    g0 = decode(model, src, src_len, BOS, EOS, beam_size=1, max_len=2, alpha=0.0)[0]
    assert g0.score == pytest.approx(math.log(0.5) + math.log(0.35), abs=1e-5)
    # beam 2 keeps y, whose <eos> wins (see test_scores_match_hand_computation): not greedy's answer
    b = decode(model, src, src_len, BOS, EOS, beam_size=2, max_len=2, alpha=1.0)[0]
    assert b.tokens == [Y] and b.score == pytest.approx((math.log(0.4) + math.log(0.97)) / 2, abs=1e-5)


def _random_model(seed, attention, vocab=5):
    torch.manual_seed(seed)
    model = build_seq2seq(7, vocab, embed=6, hidden=8, layers=2, dropout=0.0, attention=attention)
    for p in model.parameters():  # sharpen the distributions so search paths diverge
        p.data.mul_(3.0)
    return model.eval()


@pytest.mark.parametrize("attention", [False, True])
def test_beam_1_equals_greedy_batched(attention):
    model = _random_model(1, attention, vocab=12)
    torch.manual_seed(0)
    src = torch.randint(0, 7, (16, 6))
    src_len = torch.randint(1, 7, (16,))
    g = greedy_decode(model, src, src_len, 1, 2, max_len=8)
    b = beam_search(model, src, src_len, 1, 2, beam_size=1, max_len=8)
    assert [h.tokens for h in g] == [h[0].tokens for h in b]
    assert [h.score for h in g] == pytest.approx([h[0].score for h in b], abs=1e-5)


@pytest.mark.parametrize("attention", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_beam_equals_exhaustive(seed, attention):
    vocab, max_len, eos = 4, 3, 2
    model = _random_model(seed, attention, vocab=vocab)
    src = torch.tensor([[3, 5, 1, 0]])
    src_len = torch.tensor([4])
    every = exhaustive_search(model, src, src_len, 1, eos, max_len=max_len)
    n_candidates = len(every)
    assert n_candidates == 1 + 3 + 9 * 4
    beam = beam_search(model, src, src_len, 1, eos, beam_size=n_candidates, max_len=max_len, n_best=5)[0]
    assert beam[0].tokens == every[0].tokens
    assert [h.score for h in beam] == pytest.approx([h.score for h in every[:5]], abs=1e-5)


def test_beam_is_batch_invariant():
    model = _random_model(3, True, vocab=15)
    torch.manual_seed(1)
    src = torch.randint(0, 7, (5, 6))
    src_len = torch.tensor([6, 3, 1, 5, 2])
    together = beam_search(model, src, src_len, 1, 2, beam_size=3, max_len=7)
    alone = [beam_search(model, src[i:i + 1], src_len[i:i + 1], 1, 2, beam_size=3, max_len=7)[0] for i in range(5)]
    assert [h[0].tokens for h in together] == [h[0].tokens for h in alone]


@pytest.mark.parametrize("kwargs, message", [
    (dict(beam_size=0, max_len=5), "beam size must be a positive integer"),
    (dict(beam_size=-2, max_len=5), "beam size must be a positive integer"),
    (dict(beam_size=2.5, max_len=5), "beam size must be a positive integer"),  # was a TypeError from torch
    (dict(beam_size=2, max_len=0), "max length must be a positive integer"),
    (dict(beam_size=2, max_len=4.0), "max length must be a positive integer"),
    (dict(beam_size=True, max_len=5), "beam size must be a positive integer"),  # was greedy (True == 1)
    (dict(beam_size=1, max_len=5, alpha=float("nan")), "alpha must be a finite number >= 0"),  # NaN scores
    (dict(beam_size=2, max_len=5, alpha=float("nan")), "alpha must be a finite number >= 0"),
    (dict(beam_size=2, max_len=5, alpha=float("inf")), "alpha must be a finite number >= 0"),
    (dict(beam_size=1, max_len=5, alpha=-0.5), "alpha must be a finite number >= 0"),
])
def test_bad_search_settings_are_clear_errors(kwargs, message):
    model = table_model(GREEDY_TRAP)
    src, src_len = _src()
    with pytest.raises(SeqlabError, match=message):
        decode(model, src, src_len, BOS, EOS, **kwargs)
    with pytest.raises(SeqlabError, match=message):
        decode_n_best(model, src, src_len, BOS, EOS, n_best=1, **kwargs)


# --- the device-side decoders return exactly what the host-loop ones (reference_decode.py) did ---

def _sources(B, seed=0):
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(0, 7, (B, 6), generator=gen)
    return src, torch.randint(1, 7, (B,), generator=gen)  # sources of different lengths


@pytest.mark.parametrize("attention", [False, True])
@pytest.mark.parametrize("K, n_best, max_len, sync_every", [
    (1, 1, 8, None), (2, 1, 6, 1), (3, 2, 7, 3), (4, 4, 9, 100), (5, 5, 5, 2), (5, 3, 12, None)])
def test_beam_search_identical_to_the_host_loop(attention, K, n_best, max_len, sync_every):
    model = _random_model(4 + K, attention, vocab=9)
    src, src_len = _sources(11, seed=K)
    ours = beam_search(model, src, src_len, 1, 2, K, max_len, 0.6, n_best, sync_every=sync_every)
    assert ours == beam_search_ref(model, src, src_len, 1, 2, K, max_len, 0.6, n_best)
    assert [len(h) for h in ours] == [min(n_best, len(h)) for h in ours] and all(ours)


@pytest.mark.parametrize("K, n_best", [(1, 1), (3, 2), (5, 3), (6, 6)])
def test_beam_search_ties_keep_the_host_loops_order(K, n_best):
    """Uniform tables: every candidate of a length ties; order must still be the reference's."""
    src, src_len = _src(3)
    for probs in ([[0.25] * 4] * 4, GREEDY_TRAP, [[0.3, 0.3, 0.1, 0.3]] * 4):
        model = table_model(probs)
        ours = beam_search(model, src, src_len, BOS, EOS, K, 4, n_best=n_best)
        assert ours == beam_search_ref(model, src, src_len, BOS, EOS, K, 4, n_best=n_best)


@pytest.mark.parametrize("attention", [False, True])
@pytest.mark.parametrize("max_len, sync_every", [(1, None), (8, 1), (8, 3), (10, 64)])
def test_greedy_identical_to_the_host_loop(attention, max_len, sync_every):
    model = _random_model(2, attention, vocab=10)
    src, src_len = _sources(13, seed=5)
    ours = greedy_decode(model, src, src_len, 1, 2, max_len, 0.75, sync_every=sync_every)
    assert ours == greedy_decode_ref(model, src, src_len, 1, 2, max_len, 0.75)


@pytest.mark.parametrize("attention", [False, True])
def test_batch_equals_a_per_sentence_loop(attention):
    model = _random_model(6, attention, vocab=11)
    src, src_len = _sources(6, seed=3)
    together = beam_search(model, src, src_len, 1, 2, beam_size=3, max_len=8, n_best=3)
    alone = [beam_search(model, src[i:i + 1], src_len[i:i + 1], 1, 2, beam_size=3, max_len=8, n_best=3)[0]
             for i in range(6)]
    assert [[h.tokens for h in hs] for hs in together] == [[h.tokens for h in hs] for hs in alone]
    assert [[h.score for h in hs] for hs in together] == [pytest.approx([h.score for h in hs], abs=1e-5)
                                                          for hs in alone]


def test_wide_beam_equals_exhaustive_for_each_source_of_a_batch():
    vocab, max_len, eos = 4, 3, 2
    model = _random_model(7, True, vocab=vocab)
    src = torch.tensor([[3, 5, 1, 0], [6, 2, 0, 0], [4, 0, 0, 0]])
    src_len = torch.tensor([4, 2, 1])
    beams = beam_search(model, src, src_len, 1, eos, beam_size=40, max_len=max_len, n_best=6)
    for i, beam in enumerate(beams):
        every = exhaustive_search(model, src[i:i + 1], src_len[i:i + 1], 1, eos, max_len=max_len)
        assert [h.tokens for h in beam] == [h.tokens for h in every[:6]]
        assert [h.score for h in beam] == pytest.approx([h.score for h in every[:6]], abs=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda m, s, l: beam_search(m, s, l, BOS, EOS, 2, 3, n_best=0), "n_best must be a positive integer"),
    # returned 2 hypotheses without a word
    (lambda m, s, l: beam_search(m, s, l, BOS, EOS, 2, 3, n_best=3), r"n_best \(3\) cannot exceed the beam size \(2\)"),
    (lambda m, s, l: beam_search(m, s, l, BOS, EOS, 2, 3, sync_every=0), "sync_every must be at least 1"),
    (lambda m, s, l: greedy_decode(m, s, l, BOS, EOS, 3, sync_every=-1), "sync_every must be at least 1"),
])
def test_bad_decoder_options_are_clear_errors(call, message):
    src, src_len = _src()
    with pytest.raises(SeqlabError, match=message):
        call(table_model(GREEDY_TRAP), src, src_len)


def test_a_decoder_without_reorder_state_is_told_what_beam_search_needs():
    # was a bare NotImplementedError() from Decoder.reorder_state (greedy decoding needs none)
    class NoReorder(_TableDecoder):
        reorder_state = Decoder.reorder_state

    model, (src, src_len) = EncoderDecoder(_NoEncoder(), NoReorder(GREEDY_TRAP)), _src()
    assert [h.tokens for h in greedy_decode(model, src, src_len, BOS, EOS, 3)] == [[X, X, X]]  # greedy needs none
    needs = (r"beam search needs the decoder's reorder_state\(state, index\), which NoReorder does not define: "
             r".*row i is the old state's row index\[i\]")
    for call in (lambda: beam_search(model, src, src_len, BOS, EOS, 2, 3), lambda: decode(model, src, src_len, BOS,
                 EOS, beam_size=2, max_len=3)):
        with pytest.raises(SeqlabError, match=needs):
            call()
    with pytest.raises(NotImplementedError, match=needs):  # called directly, the interface's own method says it
        model.decoder.reorder_state(torch.zeros(1, 1), torch.tensor([0, 0]))


class _Counting:
    """The model, counting decoder steps (how soon a search stops is behaviour too)."""

    def __init__(self, model):
        self.encoder, self.decoder, self.inner, self.calls = model.encoder, self, model.decoder, 0
        self.init_state, self.reorder_state = self.inner.init_state, self.inner.reorder_state

    def __call__(self, X, state):
        self.calls += 1
        return self.inner(X, state)


# models whose searches stop well before max_len; (27, 9, 3, *) stop by the bound rule (14 steps without it)
@pytest.mark.parametrize("seed, B, K, n_best", [(9, 1, 1, 1), (9, 9, 4, 4), (27, 9, 3, 1), (27, 9, 3, 2),
                                                (15, 1, 3, 1)])
def test_stops_at_the_same_step_as_the_host_loop(seed, B, K, n_best):
    model = _random_model(seed, True, vocab=9)
    src, src_len = _sources(B, seed=1)
    ours, ref = _Counting(model), _Counting(model)
    beam_search(ours, src, src_len, 1, 2, K, 14, n_best=n_best, sync_every=1)
    beam_search_ref(ref, src, src_len, 1, 2, K, 14, n_best=n_best)
    assert ours.calls == ref.calls < 14
    later = _Counting(model)  # checking every 5 steps may only run the steps up to the next check
    assert beam_search(later, src, src_len, 1, 2, K, 14, n_best=n_best, sync_every=5) == \
        beam_search_ref(model, src, src_len, 1, 2, K, 14, n_best=n_best)
    assert later.calls == min(14, -(-ref.calls // 5) * 5)
    g, g_ref = _Counting(model), _Counting(model)
    greedy_decode(g, src, src_len, 1, 2, 14, sync_every=1)
    greedy_decode_ref(g_ref, src, src_len, 1, 2, 14)
    assert g.calls == g_ref.calls


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("sync_every", [None, 1, 3])
def test_on_cuda_the_same_as_the_host_loop_there(sync_every):
    model = _random_model(5, True, vocab=9).cuda()
    src, src_len = (t.cuda() for t in _sources(17, seed=2))
    ours = beam_search(model, src, src_len, 1, 2, 4, 9, n_best=3, sync_every=sync_every)
    assert ours == beam_search_ref(model, src, src_len, 1, 2, 4, 9, n_best=3)
    assert greedy_decode(model, src, src_len, 1, 2, 9, sync_every=sync_every) == \
        greedy_decode_ref(model, src, src_len, 1, 2, 9)


@pytest.mark.parametrize("K", [12, 24])
def test_wide_beams_keep_the_host_loops_order_of_ties(K):
    """Beams over 8: the finished buffers (K + max(K, n_best) slots) pass 16 scores, where torch's
    unstable CPU sort reorders ties; tied candidates must stay in the order they finished."""
    src, src_len = _src(2)
    for probs in ([[0.25] * 4] * 4, [[0.3, 0.3, 0.1, 0.3]] * 4):
        model = table_model(probs)
        ours = beam_search(model, src, src_len, BOS, EOS, K, 5, n_best=K)
        assert ours == beam_search_ref(model, src, src_len, BOS, EOS, K, 5, n_best=K)
        assert len(ours[0]) == K
