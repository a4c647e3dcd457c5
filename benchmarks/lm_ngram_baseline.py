"""Counting baselines on the book's Time Machine setting: trained on the first 10,000
characters (what `d2l.load_data_time_machine` gives), scored on the held-out last 10%.

    python benchmarks/lm_ngram_baseline.py
"""

import argparse
import json

import torch

from seqlab import d2l
from seqlab.data.corpora import load_lm_corpus
from seqlab.models.ngram import NGramLM, uniform_perplexity


def main() -> None:
    train_iter, vocab = d2l.load_data_time_machine(32, 35)
    train = torch.tensor(train_iter.corpus)
    heldout = load_lm_corpus("timemachine", level="char", vocab=vocab).valid
    out = {"uniform": uniform_perplexity(len(vocab))}
    for order in (1, 2):
        for k in (1.0, 0.1):
            out[f"{'unigram' if order == 1 else 'bigram'}_k{k}"] = NGramLM(len(vocab), order, k).fit(train).perplexity(heldout)
    print(json.dumps(out))


if __name__ == "__main__":
    # no options; --help prints this instead of running
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
