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


def test_ngram_freqs_worked_example():
    # "a b a b": bigrams (a,b) (b,a) (a,b); trigrams (a,b,a) (b,a,b), ties in first-seen order
    assert ngram_freqs(list("abab"), 2) == [(("a", "b"), 2), (("b", "a"), 1)]
    assert ngram_freqs(list("abab"), 3) == [(("a", "b", "a"), 1), (("b", "a", "b"), 1)]


def test_zipf_fit_range_includes_counts_equal_to_min_count():
    # ranks 11.. have counts 9, 8, 3, 3, 2, 1: the last rank with count >= 3 is 14
    counts = [100, 50, 33, 25, 20, 17, 14, 12, 11, 10, 9, 8, 3, 3, 2, 1]
    fit = fit_zipf(counts, skip_top=10, min_count=3)
    assert (fit.first_rank, fit.last_rank) == (11, 14)


def test_zipf_fit_falls_back_to_every_rank_on_a_short_list():
    # 120 / i is Zipf with alpha = 1 and c = log 120 exactly; too few ranks after skip_top
    fit = fit_zipf([120, 60, 40, 30], skip_top=10, min_count=3)
    assert (fit.first_rank, fit.last_rank) == (1, 4)
    assert fit.alpha == pytest.approx(1.0) and fit.intercept == pytest.approx(np.log(120))
    # 12 ranks, all counts >= 3: after skip_top only ranks 11 and 12 remain, fewer than 3
    fit = fit_zipf([27720 // i for i in range(1, 13)], skip_top=10, min_count=3)  # 27720 = lcm(1..12)
    assert (fit.first_rank, fit.last_rank) == (1, 12) and fit.alpha == pytest.approx(1.0)


def test_describe_top_n():
    out = describe(list("aabbbc"), top=2, max_n=1)
    assert out["tokens"] == 6 and out["ngrams"][1]["types"] == 3
    assert out["ngrams"][1]["top"] == [("b", 3), ("a", 2)]


def test_char_tables_show_line_breaks_and_spaces_on_one_line():
    # a char-level table printed '\n' and '\r' as they are: the rows broke across lines
    from seqlab.data.stats import format_gram
    assert format_gram("\n") == "\\n" and format_gram(("\r", "\n")) == "\\r \\n"
    assert format_gram(("a", " ", "b")) == "a \u2423 b" and format_gram("\t") == "\\t"
    assert format_gram("\x07") == "\\x07" and format_gram("é") == "é" and format_gram(("of", "the")) == "of the"


def test_stats_counts_a_word_written_eos_and_invents_no_bigram_across_it(tmp_path, capsys):
    # raw words: only the line-end markers are left out; "<eos>" typed in the text is a word
    import json

    from seqlab.cli import main

    text = tmp_path / "t.txt"
    text.write_text("a <eos> b\nc d\n")
    assert main(["stats", "--data", str(text), "--level", "word", "--json", "--top", "20"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tokens"] == 5
    assert ["<eos>", 1] in result["ngrams"]["1"]["top"]
    bigrams = [gram for gram, _ in result["ngrams"]["2"]["top"]]
    assert "a <eos>" in bigrams and "<eos> b" in bigrams and "a b" not in bigrams
    assert "b c" in bigrams  # across a line end, as before


def _counter_describe(tokens, top, max_n):
    # describe as it was before it counted on ids: a Counter of tuples per n (ngram_freqs)
    from seqlab.data.stats import format_gram
    from seqlab.data.text import unsegmented_note

    out = {"tokens": len(tokens), "warning": None, "ngrams": {}}
    for n in range(1, max_n + 1):
        table = ngram_freqs(tokens, n)
        if n == 1:
            out["warning"] = unsegmented_note(table)
        fit = fit_zipf([c for _, c in table]) if len(table) >= 2 else None
        out["ngrams"][n] = {"types": len(table), "top": [(format_gram(g), c) for g, c in table[:top]],
                            "zipf_alpha": None if fit is None else round(fit.alpha, 4),
                            "zipf_ranks": None if fit is None else [fit.first_rank, fit.last_rank],
                            "freqs": [c for _, c in table]}
    return out


@pytest.mark.parametrize("alphabet, length", [(3, 40), (10, 5000), (300, 20000), (2, 1), (1, 0)])
def test_describe_on_ids_is_the_counter_tables_ties_in_first_seen_order(alphabet, length):
    # a small alphabet makes many n-grams of equal count: their order is where each first occurs
    rng = np.random.default_rng(alphabet + length)
    words = [f"w{i}" for i in range(alphabet)] + ["\n", " ", ("a", "tuple")]  # a tuple token is one token
    tokens = [words[i] for i in rng.integers(0, len(words), length)]
    for max_n in (1, 3, 4):
        assert describe(tokens, top=10_000, max_n=max_n) == _counter_describe(tokens, 10_000, max_n)


def test_ngram_tables_worked_example():
    from seqlab.data.stats import ngram_tables

    # "a b a b c" as ids 0 1 0 1 2: bigrams (a b) x2 first at 0, (b a) at 1, (b c) at 3
    (first1, c1), (first2, c2), (first3, c3) = ngram_tables(np.array([0, 1, 0, 1, 2]), 3)
    assert first1.tolist() == [0, 1, 4] and c1.tolist() == [2, 2, 1]
    assert first2.tolist() == [0, 1, 3] and c2.tolist() == [2, 1, 1]
    assert first3.tolist() == [0, 1, 2] and c3.tolist() == [1, 1, 1]


@pytest.mark.parametrize("text", [
    "a <eos> b\nc d\n",                    # "<eos>" written in the text: a word of it, counted
    "a b\nc  d\n\n e",                     # no final newline, blank lines
    "x\u00a0y z\nz x\n",                   # U+00A0: whitespace to str.split() alone (the plain path)
    "a<eos>b c\n",                         # "<eos>" inside a word
    "Hello, World!\nthe end\r\n",
])
@pytest.mark.parametrize("level, style", [("word", "raw"), ("char", "raw"), ("word", "book"), ("char", "book")])
def test_index_text_without_line_ends_gives_the_tokens_of_token_chunks_so(text, level, style):
    from seqlab.data.corpora import index_text, token_chunks

    ids, types = index_text(text, level, style, line_ends=False)
    assert [types[i] for i in ids.tolist()] == [t for c in token_chunks(text, level, style, line_ends=False) for t in c]


@pytest.mark.parametrize("high", [1, 7, 1000, 2**40, 2**55, 2**62])  # 2**55, 2**62: too wide to pack (np.unique)
def test_first_rank_counts_is_np_unique_less_the_values(high):
    from seqlab.data.stats import _first_rank_counts

    rng = np.random.default_rng(high % 1000)
    for n in (0, 1, 2, 5000):
        key = rng.integers(0, high, n, dtype=np.int64)
        _, first, rank, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        got = _first_rank_counts(key)
        assert [a.tolist() for a in got] == [first.tolist(), rank.tolist(), counts.tolist()]
