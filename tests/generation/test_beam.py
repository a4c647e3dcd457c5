"""Decoding: hand-computed scores, beam 1 == greedy, a wide beam == exhaustive search, bad input."""

import math

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.translate import beam_search, decode, exhaustive_search, greedy_decode
from seqlab.models.seq2seq import Decoder, Encoder, EncoderDecoder, build_seq2seq

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
    b = beam_search(model, src, src_len, BOS, EOS, beam_size=2, max_len=2, n_best=3)[0]
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
    (dict(beam_size=0, max_len=5), "beam size must be at least 1"),
    (dict(beam_size=-2, max_len=5), "beam size must be at least 1"),
    (dict(beam_size=2, max_len=0), "max length must be at least 1"),
])
def test_bad_search_settings_are_clear_errors(kwargs, message):
    model = table_model(GREEDY_TRAP)
    src, src_len = _src()
    with pytest.raises(SeqlabError, match=message):
        decode(model, src, src_len, BOS, EOS, **kwargs)
