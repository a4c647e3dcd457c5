"""Property tests (hypothesis) of the book's chapter 8-9 text names (`from seqlab import d2l`) against the
book's own code, written out here from d2l 0.17.6 with SPEC §13's fix (the sequential offset in
[0, num_steps - 1]): seq_data_iter_random gives the book's batches from one seed; seq_data_iter_sequential
gives the book's batches for the offset it draws, each row of a batch continuing that row of the batch
before; every Y is X shifted by one token of the corpus; any corpus of batch_size * num_steps + 1 tokens
gives a batch. Also truncate_pad, tokenize, the book's sentence bleu (never a ZeroDivisionError, §13) and
load_corpus_time_machine (the book's loop over the characters, cut at max_tokens)."""

import random

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab import d2l

from book_sampling import book_seq_data_iter_random  # tests/d2l, on the test path
from seqlab.errors import SeqlabError


def book_sequential(corpus, batch_size, num_steps, offset):  # d2l 0.17.6, 8.3.4.2, the offset given
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[offset: offset + num_tokens])
    Ys = torch.tensor(corpus[offset + 1: offset + 1 + num_tokens])
    Xs, Ys = Xs.reshape(batch_size, -1), Ys.reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i: i + num_steps], Ys[:, i: i + num_steps]


class Recording(random.Random):
    """A generator that records what randint was asked for and gave."""

    def randint(self, a, b):
        value = super().randint(a, b)
        self.asked = (a, b, value)
        return value


shapes = st.tuples(st.integers(1, 5), st.integers(1, 7)).flatmap(
    lambda bt: st.tuples(st.just(bt[0]), st.just(bt[1]), st.integers(bt[0] * bt[1] + 1, bt[0] * bt[1] + 40)))
kinds = st.sampled_from([list, np.array, torch.tensor])


def same(got, want):
    assert [(X.tolist(), Y.tolist()) for X, Y in got] == [(X.tolist(), Y.tolist()) for X, Y in want]


@settings(max_examples=150, deadline=None)
@given(shapes, st.integers(0, 2**32), kinds, st.integers(0, 1000))
@example((1, 5, 6), 0, list, 0)
def test_random_sampling_is_the_books_and_y_is_x_shifted(shape, seed, kind, base):
    batch_size, num_steps, n = shape
    tokens = list(range(base, base + n))  # a token is its position (+ base): Y = X + 1 checks the shift
    random.seed(seed)
    got = list(d2l.seq_data_iter_random(kind(tokens), batch_size, num_steps))
    assert got, "a corpus of batch_size * num_steps + 1 tokens gives a batch"
    if n - 1 - batch_size * num_steps >= num_steps - 1:  # (shorter: the offset is capped, the book's gives none)
        random.seed(seed)
        same(got, book_seq_data_iter_random(tokens, batch_size, num_steps))
    starts = [int(x[0]) for X, Y in got for x in X]
    for X, Y in got:
        assert X.shape == Y.shape == (batch_size, num_steps) and X.dtype == torch.int64
        assert torch.equal(Y, X + 1) and torch.equal(X, X[:, :1] + torch.arange(num_steps))
    assert len(set(starts)) == len(starts) and len({(s - base) % num_steps for s in starts}) == 1
    assert (starts[0] - base) % num_steps <= min(num_steps - 1, n - 1 - batch_size * num_steps)


@settings(max_examples=150, deadline=None)
@given(shapes, st.integers(0, 2**32), kinds, st.integers(0, 1000))
@example((1, 5, 6), 0, list, 0)
def test_sequential_batches_are_the_books_and_continue_each_other(shape, seed, kind, base):
    batch_size, num_steps, n = shape
    tokens = list(range(base, base + n))
    rng = Recording(seed)
    got = list(d2l.seq_data_iter_sequential(kind(tokens), batch_size, num_steps, rng=rng))
    a, b, offset = rng.asked
    assert (a, b) == (0, min(num_steps - 1, n - 1 - batch_size * num_steps))  # SPEC §13: never num_steps
    assert got
    same(got, book_sequential(tokens, batch_size, num_steps, offset))
    for (X, Y), (X2, _) in zip(got, got[1:]):
        assert torch.equal(X2[:, 0], X[:, -1] + 1)  # row b of batch i+1 continues row b of batch i
    for X, Y in got:
        assert torch.equal(Y, X + 1)
    assert int(got[0][0][0, 0]) == base + offset


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 7), st.integers(0, 30))
def test_a_corpus_too_short_for_one_batch_is_an_error_not_nothing(batch_size, num_steps, n):
    tokens = list(range(n))
    for sample in (d2l.seq_data_iter_random, d2l.seq_data_iter_sequential):
        if n >= batch_size * num_steps + 1:
            assert list(sample(tokens, batch_size, num_steps))
        else:
            with pytest.raises(SeqlabError, match="too short for one batch"):
                list(sample(tokens, batch_size, num_steps))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", 1, None]), max_size=10), st.integers(1, 12), st.sampled_from(["<pad>", 0]))
def test_truncate_pad_cuts_or_pads_to_num_steps(line, num_steps, pad):
    got = d2l.truncate_pad(line, num_steps, pad)
    assert len(got) == num_steps
    assert got[:len(line)] == line[:num_steps]
    assert got[len(line):] == [pad] * (num_steps - len(line))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=10), max_size=5))
def test_tokenize_splits_words_on_whitespace_and_chars_one_by_one(lines):
    assert d2l.tokenize(lines) == [line.split() for line in lines]
    assert d2l.tokenize(lines, "char") == [[c for c in line] for line in lines]
    with pytest.raises(ValueError, match="unknown token type"):
        d2l.tokenize(lines, "bogus")


sentences = st.lists(st.sampled_from(["a", "b", "c", ""]), max_size=7).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(sentences, sentences, st.integers(1, 5))
@example("a", "a b c", 2)  # SPEC §13: the book's ZeroDivisionError
@example("", "a", 1)
def test_book_bleu_is_in_0_1_and_1_on_itself_when_long_enough(pred, label, k):
    score = d2l.bleu(pred, label, k)
    assert 0.0 <= score <= 1.0
    if len(pred.split(" ")) < k or pred == "":
        assert score == 0.0
    assert d2l.bleu(label, label, k) == (1.0 if label != "" and len(label.split(" ")) >= k else 0.0)


@pytest.fixture(scope="module")
def time_machine():
    lines = d2l.read_time_machine()
    corpus, vocab = d2l.load_corpus_time_machine()
    return lines, corpus, vocab


@settings(max_examples=8, deadline=None)
@given(st.one_of(st.integers(-3, 0), st.integers(1, 200), st.integers(170_000, 200_000)))
def test_the_time_machine_corpus_is_the_books_loop_over_its_characters(time_machine, max_tokens):
    lines, full, vocab = time_machine
    want = [vocab[token] for line in d2l.tokenize(lines, "char") for token in line]  # the book's 8.2.5
    if max_tokens > 0:
        want = want[:max_tokens]
    corpus, vocab2 = d2l.load_corpus_time_machine(max_tokens)
    assert corpus == want and vocab2.idx_to_token == vocab.idx_to_token
    assert vocab.to_tokens(corpus[:50]) == [c for line in lines for c in line][:min(50, len(corpus))]
