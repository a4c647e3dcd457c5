"""English-French sentence pairs (fra-eng): the book's pipeline (9.5), minibatches, and one sentence as
the encoder reads it (`read_source`).

The book's steps, kept exact (SPEC §8 reference values are tests):

    raw text --preprocess_nmt--> "go .\tva !\n..."  (nbsp -> space, lower case,
                                                      a space before , . ! ?)
             --tokenize_nmt-->  source [['go', '.'], ...], target [['va', '!'], ...]
             --Vocab(min_freq=2, reserved <pad> <bos> <eos>)-->
             --build_array_nmt--> (N, num_steps) indices, each line + <eos>,
                                   truncated or padded with <pad>; valid lengths

Beyond the book, in translation_splits.py: `split_pairs` makes a deterministic train/valid/test
split of the pairs, grouped by source sentence so that no English sentence of the test split
was seen in training (fra-eng repeats a sentence with several translations), and
`load_translation` builds the vocabularies on the training split only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import chain, islice, repeat
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from seqlab.data.corpora import dataset_file
from seqlab.data.text import read_text
from seqlab.data.vocab import UNK, Vocab
from seqlab.errors import SeqlabError, check_positive_int

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
RESERVED = [PAD, BOS, EOS]
_RESERVED_SET = frozenset(RESERVED)

# The place before a punctuation mark that follows a character other than a space. The
# look-behind reads the original text, exactly like the book's `no_space(char, text[i - 1])`,
# and cannot match at position 0 (the book's `i > 0`). Empty, so that a plain " " is put
# there: a replacement with a group (r" \1") ran Python code for each mark, 1.6 M in fra-eng x5.
_NO_SPACE = re.compile(r"(?<=[^ ])(?=[,.!?])")


def read_data_nmt(path: str | Path | None = None) -> str:
    """The raw fra-eng text (tab-separated `english<TAB>french` lines)."""
    return read_text(path if path is not None else dataset_file("fra-eng"))


def preprocess_nmt(text: str) -> str:
    """Non-breaking spaces -> spaces, lower case, a space before , . ! ? (the book's 9.5)."""
    text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
    return _NO_SPACE.sub(" ", text)


def tokenize_nmt(text: str, num_examples: int | None = None, *, drop_empty: bool = False
                 ) -> tuple[list[list[str]], list[list[str]]]:
    """Word tokens of each pair (`split(' ')`, as the book).

    The book's split makes a '' token of two spaces in a row (fra.txt has 17 such lines, from a
    narrow no-break space before a space: its vocabulary of 17,851 French tokens counts ''); a
    user's pair file is read with `drop_empty=True`, which drops them, as `encode_source` does.

    Like the book, `num_examples=n` stops *after* line n, i.e. keeps the pairs of the
    first n + 1 lines (the book's `if num_examples and i > num_examples: break`); the
    SPEC's reference vocabulary sizes (184 / 201 for 600) depend on that.
    """
    source, target = [], []
    # one str object per distinct word, shared by the lines that have it: as objects of their own,
    # fra-eng x5's 11 M words (41 k distinct) took 0.6 GB
    words: dict[str, str] = {}
    shared = words.setdefault
    for i, line in enumerate(text.split("\n")):
        if num_examples and i > num_examples:
            break
        parts = line.split("\t")
        if len(parts) == 2:
            src, tgt = parts[0].split(" "), parts[1].split(" ")
            if drop_empty:
                src, tgt = list(filter(None, src)), list(filter(None, tgt))
            source.append(list(map(shared, src, src)))
            target.append(list(map(shared, tgt, tgt)))
    return source, target


def unreserve(lines: list[list[str]]) -> list[list[str]]:
    """`lines` with each word that is a control token (<pad>, <bos>, <eos>) written as <unk>: a
    "<eos>" typed in a user's pair file is a word the model does not know, not the end of the line
    (nor a <pad> that the loss would skip)."""
    if _RESERVED_SET.isdisjoint(chain.from_iterable(lines)):
        return lines
    return [[UNK if t in _RESERVED_SET else t for t in line] for line in lines]


def check_num_steps(num_steps: int) -> None:
    # a negative num_steps would slice from the end ([1, 2, 3][:-2] == [1]), a float fail inside slicing
    check_positive_int("num_steps", num_steps, " (the length of every padded line)")


def special_id(vocab: Vocab, token: str) -> int:
    """The id of a reserved token; an error if the vocabulary lacks it (it would silently be <unk>, id 0)."""
    # through token_to_idx, which seqlab's and the book's Vocab both have: the book's has no __contains__,
    # so `token in vocab` would try vocab[0], vocab[1], ... for ever (each index reads as <unk>)
    known = getattr(vocab, "token_to_idx", None)
    if known is None and not hasattr(type(vocab), "__contains__"):
        raise SeqlabError(f"the vocabulary must map tokens to ids in `token_to_idx`, as seqlab's and the book's "
                          f"Vocab do: a {type(vocab).__name__} has none")
    if token not in (vocab if known is None else known):
        raise SeqlabError(f"the vocabulary has no {token!r}: build it with reserved_tokens={RESERVED!r}")
    return vocab[token]


def truncate_pad(line: Sequence, num_steps: int, padding_token) -> list:
    """Cut `line` to `num_steps` items or pad it with `padding_token` up to that length."""
    check_num_steps(num_steps)
    return _truncate_pad(line, num_steps, padding_token)


def _truncate_pad(line: Sequence, num_steps: int, padding_token) -> list:  # num_steps checked by the caller
    if len(line) > num_steps:
        return list(line[:num_steps])
    return list(line) + [padding_token] * (num_steps - len(line))


def build_array_nmt(lines: Sequence[Sequence[str]], vocab: Vocab, num_steps: int
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, num_steps) int64 indices of `line + <eos>`, truncated/padded; (N,) int64 valid lengths
    (the book's int32 count, summed by torch into int64)."""
    check_num_steps(num_steps)
    pad, eos = special_id(vocab, PAD), special_id(vocab, EOS)
    text = next((line for line in lines if isinstance(line, str)), None)
    if text is not None:  # list(text) would make each character a token
        raise SeqlabError(f"build_array_nmt reads lines of tokens (lists of words), got the string {text!r}: "
                          f"tokenize it first, e.g. {text!r}.split() (tokenize_nmt does a file's lines)")
    # the words that fit, looked up one after the other into one flat array, then laid into the rows:
    #   lines  [a b] [c d e f g] [h]     num_steps 4, so c d e f fit of the second (and no <eos>)
    #   ids    a b c d e f h
    #   array  a b <eos> <pad> | c d e f | h <eos> <pad> <pad>
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    fit = np.minimum(lengths, num_steps)
    words = chain.from_iterable(map(islice, lines, repeat(num_steps)))
    known = getattr(vocab, "token_to_idx", None)  # a word's id as vocab[word] gives it, without its call
    ids = map(known.get, words, repeat(vocab.unk)) if known is not None else map(vocab.__getitem__, words)
    array = np.full((len(lines), num_steps), pad, dtype=np.int64)
    array[np.arange(num_steps) < fit[:, None]] = np.fromiter(ids, dtype=np.int64, count=int(fit.sum()))
    short = np.flatnonzero(lengths < num_steps)
    array[short, lengths[short]] = eos
    # positions, not non-<pad> ids (the book's count): the same for a line without a <pad> word
    valid_len = np.minimum(lengths + 1, num_steps)
    return torch.from_numpy(array), torch.from_numpy(valid_len)


def build_vocabs(source: Sequence[Sequence[str]], target: Sequence[Sequence[str]], min_freq: int = 2
                 ) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies with the book's settings."""
    return (Vocab(source, min_freq=min_freq, reserved_tokens=RESERVED),
            Vocab(target, min_freq=min_freq, reserved_tokens=RESERVED))


def load_data_nmt(batch_size: int, num_steps: int, num_examples: int = 600):
    """The book's iterator over (X, X_valid_len, Y, Y_valid_len) minibatches, and the vocabularies.

    `num_examples=None` reads every pair (the book's falsy 0 did too; here 0 is an error).
    """
    from torch.utils import data

    check_positive_int("batch_size", batch_size)
    if num_examples is not None:
        check_positive_int("num_examples", num_examples, " (or None for every pair)")
    check_num_steps(num_steps)
    text = preprocess_nmt(read_data_nmt())
    source, target = tokenize_nmt(text, num_examples)
    src_vocab, tgt_vocab = build_vocabs(source, target)
    src_array, src_valid_len = build_array_nmt(source, src_vocab, num_steps)
    tgt_array, tgt_valid_len = build_array_nmt(target, tgt_vocab, num_steps)
    dataset = data.TensorDataset(src_array, src_valid_len, tgt_array, tgt_valid_len)
    return data.DataLoader(dataset, batch_size, shuffle=True), src_vocab, tgt_vocab


def batches(arrays: Sequence[torch.Tensor], batch_size: int, *, shuffle: bool = False,
            generator: torch.Generator | None = None):
    """Minibatches of aligned tensors (first dimension), optionally in a seeded random order."""
    batch_size = check_positive_int("batch_size", batch_size)
    sizes = [a.shape[0] for a in arrays]
    if not sizes:
        raise SeqlabError("batches needs at least one tensor to cut into minibatches")
    if len(set(sizes)) > 1:
        raise SeqlabError(f"batches needs aligned tensors, one row per example in each, got first dimensions "
                          f"{', '.join(map(str, sizes))}: give every tensor the same number of rows")
    # (checked here, at the call, not at the first batch)
    return _batches(arrays, batch_size, sizes[0], shuffle, generator)


def _batches(arrays: Sequence[torch.Tensor], batch_size: int, n: int, shuffle: bool,
             generator: torch.Generator | None):
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        yield tuple(a[idx] for a in arrays)


def in_vocab_form(tokens: Sequence[str], vocab: Vocab) -> list[str]:
    """`tokens` with each word the vocabulary lacks, but holds in another Unicode normal form, written
    in that form: "désolé" typed decomposed (e + U+0301, as macOS and some editors write it) is the
    vocabulary's composed "désolé", and the reverse. For `seqlab translate`, `evaluate` and
    `load_translation`'s splits (the vocabulary itself comes from the training sources as written)."""
    out = list(tokens)
    for i, t in enumerate(out):
        if t not in vocab:
            for form in ("NFC", "NFD"):
                other = unicodedata.normalize(form, t)
                if other != t and other in vocab:
                    out[i] = other
                    break
    return out


@dataclass
class SourceLine:
    """A sentence as the encoder reads it (`read_source`)."""

    ids: list[int]  # (num_steps,) the words' ids, <eos>, then <pad>
    length: int  # valid length, <eos> included
    unknown: list[str]  # the words (as preprocessed) read as <unk>, in order


def read_source(sentence: str, src_vocab: Vocab, num_steps: int, *, normal_forms: bool = True) -> SourceLine:
    """One raw sentence -> its padded ids, valid length and unknown words, with the checks a user needs.

    The sentence is preprocessed like the training data ("Go." -> "go ."); `normal_forms`: a word
    the vocabulary holds in another Unicode normal form is read as that form (`in_vocab_form`).
    Empty input, input of unknown words only, and input longer than `num_steps - 1` tokens
    (no room for <eos>) are errors rather than silent nonsense.
    """
    if not isinstance(sentence, str):
        raise SeqlabError(f"the sentence must be a string, not {type(sentence).__name__} "
                          "(for a list of words, join them: ' '.join(words))")
    check_num_steps(num_steps)
    pad, eos = special_id(src_vocab, PAD), special_id(src_vocab, EOS)
    typed = [t for t in preprocess_nmt(sentence.strip()).split(" ") if t]
    tokens = unreserve([typed])[0]
    if not tokens:
        raise SeqlabError("empty sentence: give some words to translate")
    if normal_forms:
        tokens = in_vocab_form(tokens, src_vocab)
    ids = src_vocab[tokens]
    unknown = [word for word, i in zip(typed, ids) if i == src_vocab.unk]
    if len(unknown) == len(ids):
        raise SeqlabError(f"every word of {sentence!r} is unknown to the model's vocabulary "
                          f"({len(src_vocab)} words): nothing to translate")
    if len(ids) + 1 > num_steps:
        raise SeqlabError(f"{sentence!r} has {len(ids)} tokens but the model reads at most {num_steps - 1} "
                          f"(num_steps={num_steps}, one step is <eos>): shorten it or retrain with larger --num-steps")
    ids = ids + [eos]
    return SourceLine(_truncate_pad(ids, num_steps, pad), len(ids), unknown)


def encode_source(sentence: str, src_vocab: Vocab, num_steps: int) -> tuple[list[int], int]:
    """One raw sentence -> (padded indices, valid length): `read_source` as the book's
    `predict_seq2seq` reads it (each word as typed, no Unicode normal form matched)."""
    line = read_source(sentence, src_vocab, num_steps, normal_forms=False)
    return line.ids, line.length
