"""`seqlab stats --plot`: the log-log figure has all three curves (SPEC §1: "frequency vs rank for
unigrams, bigrams, trigrams on a log-log plot"), each the frequency table of the Time Machine as the
book tokenises it, counted here independently with collections.Counter."""

import collections
import re

import seqlab.plotting
from seqlab.cli import main


def book_tokens(path):
    """d2l 8.2's read_time_machine + tokenize(..., 'word'), flattened into one corpus as 8.3 does."""
    with open(path) as f:
        lines = f.readlines()
    lines = [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in lines]
    return [token for line in lines for token in line.split()]


def test_stats_plot_draws_unigram_bigram_trigram_frequencies(data_dir, tmp_path, monkeypatch):
    calls = []
    real = seqlab.plotting.plot_curves

    def spy(path, x, series, **kwargs):
        calls.append((series, kwargs))
        return real(path, x, series, **kwargs)

    monkeypatch.setattr(seqlab.plotting, "plot_curves", spy)
    png = tmp_path / "zipf.png"
    assert main(["stats", "--dataset", "timemachine", "--level", "word", "--plot", str(png)]) == 0
    assert len(calls) == 1 and png.is_file()
    series, kwargs = calls[0]
    corpus = book_tokens(data_dir / "timemachine.txt")
    want = {label: sorted(collections.Counter(zip(*(corpus[i:] for i in range(n)))).values(), reverse=True)
            for n, label in ((1, "unigram"), (2, "bigram"), (3, "trigram"))}
    assert [w[0] for w in want.values()] == [2261, 309, 59]  # the SPEC's and the book's top counts
    assert list(series) == ["unigram", "bigram", "trigram"]
    assert {label: list(ys) for label, ys in series.items()} == want
    # each curve against its own ranks 1..len, on log-log axes
    assert {label: list(r) for label, r in kwargs["xs"].items()} == {
        label: list(range(1, len(f) + 1)) for label, f in want.items()}
    assert kwargs["logx"] and kwargs["logy"]
