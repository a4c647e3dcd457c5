"""Property tests (hypothesis) of TextClassifier with lengths: a padded batch gives each text the logits
it gets alone and unpadded, whatever sits in the padding; and the tracer's path (no packing:
`_at_lengths` / `_directions_at_lengths`, run here eagerly by making `tracing()` say True) gives the
packed path's logits, for LSTM and GRU, deep and bidirectional stacks."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import seqlab.models.classifier as classifier_module
from seqlab.models.classifier import TextClassifier

pytestmark = pytest.mark.usefixtures("one_thread")

V = 9


@settings(max_examples=40, deadline=None, database=None)
@given(cell=st.sampled_from(["lstm", "gru"]), layers=st.integers(1, 3), bi=st.booleans(),
       seed=st.integers(0, 2**31 - 1), lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4),
       pad=st.integers(0, 2),
       as_list=st.booleans())
def test_each_text_of_a_padded_batch_is_that_text_alone(cell, layers, bi, seed, lengths, pad, as_list):
    torch.manual_seed(seed)
    net = TextClassifier(V, 3, embed=4, hidden=5, layers=layers, cell=cell, bidirectional=bi).double().eval()
    T = max(lengths) + pad
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, V, (len(lengths), T), generator=gen)  # the padding: arbitrary ids
    lens = lengths if as_list else torch.tensor(lengths)
    with torch.no_grad():
        batch = net(tokens, lens)
        alone = torch.cat([net(tokens[b:b + 1, :n]) for b, n in enumerate(lengths)])
        alone_len = torch.cat([net(tokens[b:b + 1, :n], torch.tensor([n])) for b, n in enumerate(lengths)])
    assert batch.shape == (len(lengths), 3)
    torch.testing.assert_close(batch, alone, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(alone_len, alone, rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None, database=None)
@given(cell=st.sampled_from(["lstm", "gru"]), layers=st.integers(1, 3), bi=st.booleans(),
       seed=st.integers(0, 2**31 - 1), lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4),
       pad=st.integers(0, 2))
def test_the_tracers_path_gives_the_packed_paths_logits(cell, layers, bi, seed, lengths, pad):
    torch.manual_seed(seed)
    net = TextClassifier(V, 3, embed=4, hidden=5, layers=layers, cell=cell, bidirectional=bi).double().eval()
    T = max(lengths) + pad
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, V, (len(lengths), T), generator=gen)
    lens = torch.tensor(lengths)
    with torch.no_grad():
        packed = net(tokens, lens)
        real = classifier_module.tracing
        classifier_module.tracing = lambda: True
        try:
            traced = net(tokens, lens)
        finally:
            classifier_module.tracing = real
    torch.testing.assert_close(traced, packed, rtol=1e-10, atol=1e-10)
