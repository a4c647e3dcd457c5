"""The book's own sampling code (d2l 0.17.6, section 8.3, as the seeds quote it): the twin the d2l layer's
samplers are checked against, shared by tests/d2l/test_d2l_text.py and test_props_d2l_text.py."""

import random

from seqlab import d2l


def book_seq_data_iter_random(corpus, batch_size, num_steps):  # d2l 0.17.6 (8.3), verbatim: its d2l.tensor
    corpus = corpus[random.randint(0, num_steps - 1):]
    num_subseqs = (len(corpus) - 1) // num_steps
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    random.shuffle(initial_indices)

    def data(pos):
        return corpus[pos: pos + num_steps]

    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        initial_indices_per_batch = initial_indices[i: i + batch_size]
        X = [data(j) for j in initial_indices_per_batch]
        Y = [data(j + 1) for j in initial_indices_per_batch]
        yield d2l.tensor(X), d2l.tensor(Y)
