"""The book's names for text, vocabularies, corpus statistics and minibatches (8.2-8.3).

Differences from d2l 0.17.6, each a fix of a reported defect:
- `tokenize(lines, 'bogus')` raises ValueError (the book prints and returns None).
- `seq_data_iter_sequential` draws its offset from [0, num_steps - 1] (the book's
  `randint(0, num_steps)` includes num_steps, wasting a subsequence; d2l-zh #1301).
- A corpus too short for one batch raises ValueError instead of yielding nothing.
"""

import os

from seqlab.data.corpora import load_corpus_time_machine, read_time_machine
from seqlab.data.registry import dataset_file
from seqlab.data.sampling import (SeqDataLoader, load_data_time_machine, seq_data_iter_random,
                                  seq_data_iter_sequential)
from seqlab.data.text import tokenize
from seqlab.data.vocab import Vocab, count_corpus
from seqlab.errors import SeqlabError

DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
DATA_HUB = {"time_machine": (DATA_URL + "timemachine.txt", "090b5e7e70c295757f55df93cb0a180b9691891a"),
            "fra-eng": (DATA_URL + "fra-eng.zip", "94646ad1522d915e7b0f9296181140edcf86a4f5")}
_DATASETS = {"time_machine": "timemachine", "fra-eng": "fra-eng"}  # the book's names -> seqlab's registry

__all__ = ["read_time_machine", "tokenize", "Vocab", "count_corpus", "load_corpus_time_machine",
           "seq_data_iter_random", "seq_data_iter_sequential", "SeqDataLoader",
           "load_data_time_machine", "DATA_HUB", "DATA_URL", "download", "download_extract"]


def download(name: str, cache_dir: str | None = None) -> str:
    """The local path of one of the book's data files (`time_machine`: timemachine.txt; `fra-eng`:
    fra.txt, already out of its zip). seqlab's registry finds it ($SEQLAB_DATA, then its cache) or
    downloads it with a sha256 check; `cache_dir` is accepted for the book's calls and not used."""
    if name not in _DATASETS:
        raise SeqlabError(f"{name!r} is not one of the book's chapter 8-9 data sets here: "
                          f"{', '.join(_DATASETS)} (seqlab's own: seqlab.data.registry.DATASETS)")
    return str(dataset_file(_DATASETS[name]))


def download_extract(name: str, folder: str | None = None) -> str:
    """The folder holding the book's data set `name` after extraction (`fra-eng`: the folder with
    fra.txt, which the book's `read_data_nmt` opens)."""
    return os.path.dirname(download(name))
