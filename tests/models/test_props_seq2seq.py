"""Property tests (hypothesis) of the seq2seq models, the ground beam search stands on: the decoders
give the same logits teacher-forced (the whole target at once) as fed one token per call; the
training loss (targets=) is the cross-entropy of those logits; `reorder_state` moves rows as the
index says; and a packed encoder gives each source of a padded batch what it gives it alone
(so decoding, attention included, never reads the padding)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.models.seq2seq import build_seq2seq

pytestmark = pytest.mark.usefixtures("one_thread")

SRC_V, TGT_V = 7, 6


def _model(attention, bidirectional, layers, seed, pack=True):
    torch.manual_seed(seed)
    return build_seq2seq(SRC_V, TGT_V, embed=3, hidden=4, layers=layers, attention=attention,
                         bidirectional=bidirectional, pack=pack).double().eval()


models = dict(attention=st.booleans(), bidirectional=st.booleans(), layers=st.integers(1, 2),
              seed=st.integers(0, 2**31 - 1))


@settings(max_examples=30, deadline=None, database=None)
@given(**models, lengths=st.lists(st.integers(1, 5), min_size=1, max_size=3), T=st.integers(1, 4))
def test_teacher_forced_logits_are_the_step_by_step_ones(attention, bidirectional, layers, seed, lengths, T):
    model = _model(attention, bidirectional, layers, seed)
    B, S = len(lengths), max(lengths)
    gen = torch.Generator().manual_seed(seed)
    src, lens = torch.randint(0, SRC_V, (B, S), generator=gen), torch.tensor(lengths)
    tgt = torch.randint(0, TGT_V, (B, T), generator=gen)
    labels = torch.randint(0, TGT_V, (B, T), generator=gen)
    with torch.no_grad():
        state = model.decoder.init_state(model.encoder(src, lens), lens)
        whole, _ = model.decoder(tgt, state)  # (B, T, V)
        steps, s = [], state
        for t in range(T):
            out, s = model.decoder(tgt[:, t:t + 1], s)
            steps.append(out)
        ce = model.decoder(tgt, state, targets=labels)[0]  # (B, T)
        # the state rows reversed, decoded, read back in order: the same logits
        rev = torch.arange(B - 1, -1, -1)
        back = model.decoder(tgt[rev], model.decoder.reorder_state(state, rev))[0][rev]
    torch.testing.assert_close(torch.cat(steps, 1), whole, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ce, F.cross_entropy(whole.transpose(1, 2), labels, reduction="none"),
                               rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(back, whole, rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None, database=None)
@given(**models, lengths=st.lists(st.integers(1, 5), min_size=2, max_size=3), pad=st.integers(0, 2),
       T=st.integers(1, 3))
def test_a_packed_source_decodes_as_it_does_alone(attention, bidirectional, layers, seed, lengths, pad, T):
    model = _model(attention, bidirectional, layers, seed)
    B, S = len(lengths), max(lengths) + pad
    gen = torch.Generator().manual_seed(seed)
    src, lens = torch.randint(0, SRC_V, (B, S), generator=gen), torch.tensor(lengths)  # padding: any ids
    tgt = torch.randint(0, TGT_V, (B, T), generator=gen)
    with torch.no_grad():
        batch = model(src, tgt, lens)[0]  # (B, T, V)
        alone = torch.cat([model(src[b:b + 1, :n], tgt[b:b + 1], torch.tensor([n]))[0]
                           for b, n in enumerate(lengths)])
    torch.testing.assert_close(batch, alone, rtol=1e-10, atol=1e-10)


@settings(max_examples=30, deadline=None, database=None)
@given(layers=st.integers(1, 3), pack=st.booleans(), seed=st.integers(0, 2**31 - 1),
       lengths=st.lists(st.integers(1, 5), min_size=1, max_size=3), pad=st.integers(0, 2))
def test_a_bidirectional_encoders_state_is_each_layers_two_final_states(layers, pack, seed, lengths, pad):
    model = _model(False, True, layers, seed, pack=pack)
    B, S = len(lengths), max(lengths) + pad
    gen = torch.Generator().manual_seed(seed)
    src, lens = torch.randint(0, SRC_V, (B, S), generator=gen), torch.tensor(lengths)
    with torch.no_grad():
        out, state = model.encoder(src, lens)  # (S, B, H), (L, B, H)
    assert out.shape == (S, B, 4) and state.shape == (layers, B, 4)
    ends = lens - 1 if pack else torch.full((B,), S - 1)  # the last step read left to right
    for b in range(B):
        # the top layer's: left to right after the last step read, right to left after step 0
        torch.testing.assert_close(state[-1, b], torch.cat([out[ends[b], b, :2], out[0, b, 2:]]),
                                   rtol=1e-12, atol=1e-12)
        if pack:  # nothing after a source's end
            assert not out[lengths[b]:, b].any()
