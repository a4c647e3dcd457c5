"""The book's names for text, vocabularies, corpus statistics and minibatches (8.2-8.3).

Differences from d2l 0.17.6, each a fix of a reported defect:
- `tokenize(lines, 'bogus')` raises ValueError (the book prints and returns None).
- `seq_data_iter_sequential` draws its offset from [0, num_steps - 1] (the book's
  `randint(0, num_steps)` includes num_steps, wasting a subsequence; d2l-zh #1301).
- A corpus too short for one batch raises ValueError instead of yielding nothing.
"""

from seqlab.data.corpora import load_corpus_time_machine, read_time_machine
from seqlab.data.sampling import (SeqDataLoader, load_data_time_machine, seq_data_iter_random,
                                  seq_data_iter_sequential)
from seqlab.data.text import tokenize
from seqlab.data.vocab import Vocab, count_corpus

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
DATA_HUB = {"time_machine": (DATA_URL + "timemachine.txt", "090b5e7e70c295757f55df93cb0a180b9691891a")}

__all__ = ["read_time_machine", "tokenize", "Vocab", "count_corpus", "load_corpus_time_machine",
           "seq_data_iter_random", "seq_data_iter_sequential", "SeqDataLoader",
           "load_data_time_machine", "DATA_HUB", "DATA_URL"]
