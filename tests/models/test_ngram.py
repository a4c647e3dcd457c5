"""The counting baseline's bad input: a vocabulary size that is not a positive integer, token ids
that are not integers (torch's .long() truncated them before the range check)."""

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models.ngram import NGramLM


@pytest.mark.parametrize("vocab_size", [0, -1, 2.5, True])  # 0 was accepted, -1 and 2.5 torch errors
def test_the_vocabulary_size_must_be_a_positive_integer(vocab_size):
    with pytest.raises(SeqlabError, match="vocab_size must be a positive integer"):
        NGramLM(vocab_size)


@pytest.mark.parametrize("stream", [torch.tensor([1.5, 2.9, 3.99]), torch.tensor([True, False])])
def test_ids_that_are_not_integers_are_refused_not_truncated(stream):
    model = NGramLM(5)
    with pytest.raises(SeqlabError, match="must be integers"):  # 1.5, 2.9, 3.99 were counted as 1, 2, 3
        model.fit(stream)
    with pytest.raises(SeqlabError, match="must be integers"):
        model.log_probs(stream)
    assert model.unigram.sum() == 0


def test_integer_ids_of_any_width_are_counted():
    a = NGramLM(5).fit(torch.tensor([1, 2, 3], dtype=torch.int32))
    b = NGramLM(5).fit(torch.tensor([1, 2, 3]))
    assert torch.equal(a.unigram, b.unigram) and torch.equal(a.pair_codes, b.pair_codes)
    assert torch.equal(a.pair_counts, b.pair_counts)
    assert NGramLM(5).fit(torch.tensor([], dtype=torch.long)).unigram.sum() == 0  # an empty stream adds nothing
