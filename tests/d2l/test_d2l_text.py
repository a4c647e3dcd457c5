"""The book's chapter-8 text code runs unchanged through `from seqlab import d2l`."""

import random

import pytest

import torch

from seqlab import d2l

from book_sampling import book_seq_data_iter_random  # tests/d2l, on the test path


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


@pytest.mark.parametrize("n,batch_size,num_steps,seed", [(35, 2, 5, 0), (35, 2, 5, 3), (1000, 7, 9, 1),
                                                         (10000, 32, 35, 42)])
def test_seq_data_iter_random_gives_the_books_batches_under_the_same_seed(n, batch_size, num_steps, seed):
    corpus = list(range(n))
    random.seed(seed)
    want = list(book_seq_data_iter_random(corpus, batch_size, num_steps))
    random.seed(seed)
    got = list(d2l.seq_data_iter_random(corpus, batch_size, num_steps))
    assert len(got) == len(want) > 0
    assert all(torch.equal(X, X2) and torch.equal(Y, Y2) for (X, Y), (X2, Y2) in zip(got, want))
    assert all(X.shape == (batch_size, num_steps) and X.dtype == torch.int64 for X, _ in got)


def test_seq_data_loader_reads_its_corpus_and_function_at_each_epoch_as_the_books():
    # the book's loader calls self.data_iter_fn(self.corpus, ...) at each epoch: a reader may cut the
    # corpus (it gave 999 batches of the cached whole) or plug in their own 8.3 function (it was given
    # a tensor: "only integer tensors of a single element can be converted to an index")
    it, _ = d2l.load_data_time_machine(2, 5)
    tensor = it._tensor
    assert len(list(it)) == len(list(it)) == 999 and it._tensor is tensor  # seqlab's functions: one tensor
    it.corpus = it.corpus[:11]
    assert len(list(it)) == 1
    it, _ = d2l.load_data_time_machine(2, 5)
    it.corpus[:] = list(range(11))  # the same list, cut in place
    assert [X.tolist() for X, _ in it] == [[[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]]
    it, _ = d2l.load_data_time_machine(2, 5, use_random_iter=True)
    it.data_iter_fn = book_seq_data_iter_random
    random.seed(0)
    got = list(it)
    random.seed(0)
    want = list(book_seq_data_iter_random(it.corpus, 2, 5))
    assert len(got) == len(want) > 0
    assert all(torch.equal(X, X2) and torch.equal(Y, Y2) for (X, Y), (X2, Y2) in zip(got, want))


def test_download_gives_the_books_files():
    import os
    path = d2l.download("time_machine")
    assert os.path.basename(path) == "timemachine.txt" and os.path.getsize(path) == 178979
    folder = d2l.download_extract("fra-eng")
    with open(os.path.join(folder, "fra.txt"), encoding="utf-8") as f:  # the book's read_data_nmt
        assert f.readline().startswith("Go.\tVa !")
    with pytest.raises(Exception, match="not one of the book's"):
        d2l.download("kaggle_house_train")
