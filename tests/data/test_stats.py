"""Corpus statistics (SPEC §1): reference n-gram counts and the Zipf fit."""

import numpy as np
import pytest

from seqlab import SeqlabError
from seqlab.data.corpora import read_time_machine
from seqlab.data.stats import describe, fit_zipf, ngram_freqs
from seqlab.data.text import tokenize


@pytest.fixture(scope="module")
def words():
    return [t for line in tokenize(read_time_machine()) for t in line]


def test_reference_ngrams(words):
    assert ngram_freqs(words, 1)[:4] == [("the", 2261), ("i", 1267), ("and", 1245), ("of", 1155)]
    assert ngram_freqs(words, 2)[0] == (("of", "the"), 309)
    assert ngram_freqs(words, 3)[0] == (("the", "time", "traveller"), 59)


def test_zipf_fit_recovers_a_known_exponent():
    ranks = np.arange(1, 5001)
    counts = np.round(1e6 * ranks ** -1.3)
    fit = fit_zipf(counts.tolist(), skip_top=10, min_count=3)
    assert fit.alpha == pytest.approx(1.3, abs=0.01)
    assert fit.first_rank == 11


def test_zipf_exponent_of_time_machine_is_near_one(words):
    alpha = describe(words)["ngrams"][1]["zipf_alpha"]
    assert 0.9 < alpha < 1.2  # Zipf's law for English words: alpha close to 1


def test_bad_inputs():
    with pytest.raises(SeqlabError):
        fit_zipf([])
    with pytest.raises(SeqlabError):
        ngram_freqs(["a"], 0)
