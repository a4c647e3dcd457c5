"""Counting baselines on held-out text.

    python benchmarks/lm_ngram_baseline.py                 # the book's Time Machine setting
    python benchmarks/lm_ngram_baseline.py --corpora       # what `train lm` prints, on each word corpus

The book's setting: trained on the first 10,000 characters (what `d2l.load_data_time_machine`
gives), scored on the held-out last 10%. `--corpora`: `heldout_baselines` (uniform, add-k unigram
and bigram, each k the best on the valid split) on PTB, WikiText-2 and the Time Machine's words and
characters, with the seconds it takes (corpus loading not counted; best of --repeats).
"""

import argparse
import json
import time

import torch

from seqlab import d2l
from seqlab.data.corpora import load_lm_corpus
from seqlab.models.ngram import NGramLM, heldout_baselines, uniform_perplexity

CORPORA = (("ptb", "word"), ("wikitext-2", "word"), ("timemachine", "word"), ("timemachine", "char"))


def book_setting() -> dict:
    train_iter, vocab = d2l.load_data_time_machine(32, 35)
    train = torch.tensor(train_iter.corpus)
    heldout = load_lm_corpus("timemachine", level="char", vocab=vocab).valid
    out = {"uniform": uniform_perplexity(len(vocab))}
    for order in (1, 2):
        for k in (1.0, 0.1):
            out[f"{'unigram' if order == 1 else 'bigram'}_k{k}"] = NGramLM(len(vocab), order, k).fit(train).perplexity(heldout)
    return out


def corpora(repeats: int) -> None:
    for dataset, level in CORPORA:
        corpus = load_lm_corpus(dataset, level=level)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = heldout_baselines(corpus.train, corpus.valid, len(corpus.vocab))
            seconds.append(round(time.perf_counter() - start, 4))
        print(json.dumps({"dataset": dataset, "level": level, "vocab": len(corpus.vocab),
                          "train_tokens": len(corpus.train), "seconds": seconds} | result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpora", action="store_true", help="the baselines train lm prints, on each corpus")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.corpora:
        corpora(args.repeats)
    else:
        print(json.dumps(book_setting()))
