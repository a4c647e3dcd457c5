"""The book's chapter-8 text code runs unchanged through `from seqlab import d2l`."""

import random

import torch

from seqlab import d2l


def test_book_text_pipeline():
    lines = d2l.read_time_machine()
    tokens = d2l.tokenize(lines)
    vocab = d2l.Vocab(tokens)
    assert list(vocab.token_to_idx.items())[:3] == [("<unk>", 0), ("the", 1), ("i", 2)]
    corpus, vocab = d2l.load_corpus_time_machine()
    assert (len(corpus), len(vocab)) == (170580, 28)


def test_book_bigram_vocab():
    tokens = d2l.tokenize(d2l.read_time_machine())
    corpus = [token for line in tokens for token in line]
    bigram_tokens = [pair for pair in zip(corpus[:-1], corpus[1:])]
    bigram_vocab = d2l.Vocab(bigram_tokens)
    assert bigram_vocab.token_freqs[0] == (("of", "the"), 309)


def test_book_sampling_example():
    my_seq = list(range(35))
    random.seed(0)
    batches = list(d2l.seq_data_iter_sequential(my_seq, batch_size=2, num_steps=5))
    assert all(X.shape == (2, 5) for X, _ in batches)
    assert len(list(d2l.seq_data_iter_random(my_seq, batch_size=2, num_steps=5))) == 3
    train_iter, vocab = d2l.load_data_time_machine(32, 35)
    X, Y = next(iter(train_iter))
    assert X.shape == (32, 35) and X.dtype == torch.int64 and len(vocab) == 28
    assert d2l.DATA_HUB["time_machine"][1] == "090b5e7e70c295757f55df93cb0a180b9691891a"


def test_load_data_time_machine_uses_the_books_sampler_and_10000_tokens():
    # the book: SeqDataLoader picks seq_data_iter_random if use_random_iter else the sequential one,
    # over the first max_tokens=10000 characters
    full, _ = d2l.load_corpus_time_machine()
    for use_random_iter, sampler in [(False, d2l.seq_data_iter_sequential), (True, d2l.seq_data_iter_random)]:
        train_iter, _ = d2l.load_data_time_machine(4, 5, use_random_iter=use_random_iter)
        assert train_iter.corpus == full[:10000]
        random.seed(1)
        got = list(train_iter)
        random.seed(1)
        want = list(sampler(full[:10000], 4, 5))
        assert len(got) == len(want)
        assert all(torch.equal(X, X2) and torch.equal(Y, Y2) for (X, Y), (X2, Y2) in zip(got, want))
