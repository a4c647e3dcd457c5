"""Beam search's step masks a done source's (B, K) sums before adding the log-probabilities, not the
(B, K*V) candidate scores after (the broadcast masked_fill was ~20% of a beam-16 decode): the same
scores, -inf + a finite or -inf log-probability being -inf, and the same search where logits are NaN.
The old formula is written out here as the twin. (A wrong mask is also caught by the host-loop twins
in test_beam.py, e.g. test_beam_search_identical_to_the_host_loop with sync_every > 1, where done
sources keep stepping.)"""

import pytest
import torch

import seqlab.generation.translate as translate
from seqlab.generation.translate import beam_search
from seqlab.models.seq2seq import Decoder, EncoderDecoder, build_seq2seq

pytestmark = pytest.mark.usefixtures("one_thread")


def old_extensions(sums, logp, done):
    """The step as it was: add, then mask the (B, K*V) scores of the done sources."""
    B, K, V = logp.shape
    cand = (sums.unsqueeze(2) + logp).view(B, K * V)
    return cand.masked_fill(done.unsqueeze(1), float("-inf"))


def _inputs(B, K, V, seed, forbid=0.2):
    gen = torch.Generator().manual_seed(seed)
    sums = -torch.rand(B, K, generator=gen) * 10
    sums[torch.rand(B, K, generator=gen) < 0.3] = float("-inf")  # dead candidates (as at the first step)
    logits = torch.randn(B * K, V, generator=gen) * 3
    logits[torch.rand(B * K, V, generator=gen) < forbid] = float("-inf")  # tokens a model never emits
    logits[:, 0] = logits[:, 0].nan_to_num(neginf=0.0)  # (a row of all -inf is NaN: the test below)
    logp = torch.log_softmax(logits, dim=-1).view(B, K, V)
    done = torch.rand(B, generator=gen) < 0.4
    done[0], done[-1] = True, False
    sums[-1, 0] = -1.0  # an alive candidate in a source not done
    return sums, logp, done


@pytest.mark.parametrize("B, K, V, seed", [(2, 1, 1, 0), (7, 3, 5, 1), (16, 4, 37, 2), (5, 16, 200, 3)])
def test_the_step_equals_the_old_formula_with_some_sources_done(B, K, V, seed):
    sums, logp, done = _inputs(B, K, V, seed)
    assert logp.isinf().any() or V == 1
    new = translate._extensions(sums, logp, done)
    assert new.shape == (B, K * V) and torch.equal(new, old_extensions(sums, logp, done))
    assert new[done].eq(float("-inf")).all() and torch.isfinite(new[~done]).any()


def test_where_logp_is_nan_only_a_done_sources_entries_differ_and_none_is_finite():
    # NaN log-probabilities (NaN or +inf logits, or all -inf) in a done source's rows: NaN + -inf is NaN where the
    # old code wrote -inf. Both are not finite, and beam search keeps nothing of a score that is not finite.
    sums, logp, done = _inputs(9, 3, 11, 4)
    logp[torch.rand(logp.shape, generator=torch.Generator().manual_seed(5)) < 0.2] = float("nan")
    logp[0, 1] = float("nan")  # a whole candidate of a done source
    new, old = translate._extensions(sums, logp, done), old_extensions(sums, logp, done)
    torch.testing.assert_close(new[~done], old[~done], rtol=0, atol=0, equal_nan=True)
    nan = logp.isnan().view(9, -1)
    assert not torch.isfinite(new[done]).any() and old[done].eq(float("-inf")).all()
    assert torch.equal(new[done].isnan(), nan[done]) and nan[done].any()


class _NaNAfter(Decoder):
    """A seq2seq decoder whose logits are NaN after one token (`bad`): a source that reaches it gets NaN
    log-probabilities, whether or not it is done."""

    def __init__(self, decoder, bad):
        super().__init__()
        self.inner, self.bad = decoder, bad

    def init_state(self, enc_outputs, *args):
        return self.inner.init_state(enc_outputs, *args)

    def forward(self, X, state):
        logits, state = self.inner(X, state)
        return logits.masked_fill((X == self.bad).unsqueeze(2), float("nan")), state

    def reorder_state(self, state, index):
        return self.inner.reorder_state(state, index)


@pytest.mark.parametrize("attention", [False, True])
def test_beam_search_gives_what_the_old_step_gave_with_nan_logits_and_done_sources(attention, monkeypatch):
    torch.manual_seed(3)
    base = build_seq2seq(7, 9, embed=6, hidden=8, layers=2, dropout=0.0, attention=attention)
    for p in base.parameters():  # sharp distributions: candidates end at different steps
        p.data.mul_(3.0)
    gen = torch.Generator().manual_seed(0)
    src, src_len = torch.randint(0, 7, (12, 6), generator=gen), torch.randint(1, 7, (12,), generator=gen)
    nan_in_done, new_step = [], translate._extensions

    def spy(sums, logp, done):
        nan_in_done.append(bool((logp.isnan() & done[:, None, None]).any()))
        return new_step(sums, logp, done)

    for bad in (3, 4, 5):
        model = EncoderDecoder(base.encoder, _NaNAfter(base.decoder, bad)).eval()
        for K, n_best, sync_every in ((2, 1, 1), (3, 2, 100), (5, 5, 4)):
            args = (model, src, src_len, 1, 2, K, 10, 0.75, n_best)
            monkeypatch.setattr(translate, "_extensions", old_extensions)
            old = beam_search(*args, sync_every=sync_every)
            monkeypatch.setattr(translate, "_extensions", spy)
            assert beam_search(*args, sync_every=sync_every) == old
            assert any(old)  # (some source found a translation)
    assert any(nan_in_done)  # the case was met: a done source's log-probabilities were NaN
