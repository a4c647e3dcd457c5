"""Mutation-audit tests of ngram.py: what the other baseline tests left open (k = 0, a stream with
nothing to predict), against counting by hand."""

import math

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models.ngram import NGramLM


@pytest.mark.parametrize("k", [0, 0.0, -0.5])
def test_add_k_smoothing_refuses_k_of_zero_or_less(k):
    # with k = 0 a held-out token never seen in training gets probability 0: perplexity inf
    with pytest.raises(SeqlabError, match="k > 0"):
        NGramLM(5, order=2, k=k)


@pytest.mark.parametrize("order, stream", [(2, [3]), (2, []), (1, [])])
def test_a_stream_with_nothing_to_predict_is_refused_not_nan(order, stream):
    lm = NGramLM(5, order=order).fit(torch.tensor([1, 2, 3, 2]))
    with pytest.raises(SeqlabError, match="nothing to predict"):
        lm.perplexity(torch.tensor(stream, dtype=torch.long))


def test_the_smallest_bigram_stream_is_one_prediction_by_hand():
    # train 1 2 3 2: count(2, 3) = 1; 2 precedes a token once (the last 2 precedes nothing); k = 1, V = 5
    lm = NGramLM(5, order=2, k=1.0).fit(torch.tensor([1, 2, 3, 2]))
    assert lm.perplexity(torch.tensor([2, 3])) == pytest.approx(math.exp(-math.log((1 + 1) / (1 + 5))))
