"""English-French sentence pairs (fra-eng): the book's pipeline (9.5) and a held-out split.

The book's steps, kept exact (SPEC §8 reference values are tests):

    raw text --preprocess_nmt--> "go .\tva !\n..."  (nbsp -> space, lower case,
                                                      a space before , . ! ?)
             --tokenize_nmt-->  source [['go', '.'], ...], target [['va', '!'], ...]
             --Vocab(min_freq=2, reserved <pad> <bos> <eos>)-->
             --build_array_nmt--> (N, num_steps) indices, each line + <eos>,
                                   truncated or padded with <pad>; valid lengths

Beyond the book: `split_pairs` makes a deterministic train/valid/test split of the
pairs, grouped by source sentence so that no English sentence of the test split was
seen in training (fra-eng repeats a sentence with several translations), and
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

from seqlab.data import token_ids
from seqlab.data.corpora import dataset_file
from seqlab.data.text import gc_paused, read_text
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


def check_pair_lines(text: str, where: str | Path) -> None:
    """Every non-empty line of a user's pair file is `source<TAB>target`, both sides with a word
    (tokenize_nmt, as the book, skips any other line without a word, which could drop a whole file:
    e.g. manythings.org's three-column files; and would train on a pair with nothing on one side)."""
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.count("\t") + 1
        if fields != 2 and line.strip():
            hint = (" (manythings.org's files add a third, the attribution: keep the first two with "
                    "`cut -f1,2 FILE > pairs.txt`)" if fields > 2 else "")
            plural = "s" if fields > 1 else ""
            raise SeqlabError(f"{str(where)!r} line {number} has {fields} tab-separated field{plural}, not 2: "
                              f"every line must be `source<TAB>target`{hint}")
        if fields == 2:
            source, target = line.split("\t")
            empty = [side for side, words in (("source", source), ("target", target)) if not words.strip()]
            if empty:
                raise SeqlabError(f"{str(where)!r} line {number} has an empty {' and '.join(empty)} side{'s' if len(empty) > 1 else ''}: "
                                  "every line must be `source<TAB>target` with words on both sides")


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


# --- held-out splits -----------------------------------------------------------------------

Pairs = list[tuple[list[str], list[str]]]


def split_pairs(source: Sequence[list[str]], target: Sequence[list[str]], valid_frac: float = 0.05,
                test_frac: float = 0.05, seed: int = 0) -> dict[str, Pairs]:
    """A deterministic train/valid/test split, grouped by source sentence.

    The distinct source sentences are shuffled with `seed` (its own generator, so the
    split does not depend on the global RNG); the first `test_frac` of them (and all
    their pairs) go to test, the next `valid_frac` to valid, the rest to train.
    The pairs hold the lines given (lists), not copies.
    """
    if not (0 <= valid_frac < 1 and 0 <= test_frac < 1 and valid_frac + test_frac < 1):
        raise SeqlabError(f"valid_frac ({valid_frac}) and test_frac ({test_frac}) must be in [0, 1) "
                          "and leave some pairs for training")
    sentences = token_ids.first_seen_index()  # each distinct source sentence numbered in first-seen order
    sentence_of = list(map(sentences.__getitem__, map(tuple, source)))
    order = torch.randperm(len(sentences), generator=torch.Generator().manual_seed(seed)).tolist()
    n_test = round(len(sentences) * test_frac)
    n_valid = round(len(sentences) * valid_frac)
    which = [""] * len(sentences)
    for rank, k in enumerate(order):
        which[k] = "test" if rank < n_test else "valid" if rank < n_test + n_valid else "train"
    out: dict[str, Pairs] = {"train": [], "valid": [], "test": []}
    for k, src, tgt in zip(sentence_of, source, target):  # keep file order inside each split
        out[which[k]].append((_as_list(src), _as_list(tgt)))
    if not out["train"]:
        raise SeqlabError("no training pairs left after the split: use more examples or smaller fractions")
    return out


def _as_list(line: Sequence[str]) -> list[str]:
    return line if type(line) is list else list(line)


@dataclass
class TranslationData:
    """Pairs of each split and the vocabularies (built on the training split)."""

    splits: dict[str, Pairs]
    src_vocab: Vocab
    tgt_vocab: Vocab
    num_steps: int

    def arrays(self, split: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(src (N, T), src_valid_len (N,), tgt (N, T), tgt_valid_len (N,)) of a split."""
        pairs = self.splits[split]
        if not pairs:
            raise SeqlabError(f"the {split} split is empty: raise its fraction or use more examples")
        src, src_len = build_array_nmt([p[0] for p in pairs], self.src_vocab, self.num_steps)
        tgt, tgt_len = build_array_nmt([p[1] for p in pairs], self.tgt_vocab, self.num_steps)
        return src, src_len, tgt, tgt_len


# How a --data pair file is tokenised, kept in translate checkpoints ("pair_tokens"): 2 drops ''
# tokens and reads <pad>/<bos>/<eos> written as words as <unk>; a checkpoint without the key was
# trained on the file's tokens as they were (`legacy_tokens`).
PAIR_TOKENS = 2


def legacy_pair_tokens(meta: dict) -> bool:
    """Whether a translate checkpoint's run read its --data file before PAIR_TOKENS."""
    return "pair_tokens" not in meta


def read_pairs(data: str | Path | None = None, *, num_examples: int | None = None, strict: bool = True,
               legacy_tokens: bool = False) -> tuple[list[list[str]], list[list[str]]]:
    """The source and target tokens of a pair file's lines, in file order: fra-eng (`data` None) as
    the book reads it, a user's --data file as training reads it (`load_translation`, whose
    `strict` and `legacy_tokens` these are); an error if it holds no pair."""
    text = preprocess_nmt(read_data_nmt(data) if data is not None else read_data_nmt())
    if data is not None and strict:
        check_pair_lines(text, data)
    # a user's file (strict or not: a run is evaluated as it was trained): no '' tokens, and a
    # control token written as a word is <unk>; fra-eng is read exactly as the book reads it
    user_file = data is not None and not legacy_tokens
    source, target = tokenize_nmt(text, num_examples, drop_empty=user_file)
    if user_file:
        source, target = unreserve(source), unreserve(target)
    if not source:
        where = repr(str(data)) if data is not None else "the fra-eng file"
        raise SeqlabError(f"{where} holds no `source<TAB>target` lines")
    return source, target


def load_translation(*, dataset: str = "fra-eng", data: str | Path | None = None, num_examples: int | None = None,
                     num_steps: int = 10, valid_frac: float = 0.05, test_frac: float = 0.05,
                     split_seed: int = 0, min_freq: int = 2, strict: bool = True,
                     legacy_tokens: bool = False) -> TranslationData:
    """Read, preprocess and split the pairs; vocabularies from the training split. `strict`: a
    --data file's lines must all be pairs (check_pair_lines); False reads a file as runs trained
    before that check did (such lines skipped), to resume or evaluate them. `legacy_tokens`: a
    --data file tokenised as runs trained before PAIR_TOKENS were (same vocabulary and split)."""
    if num_steps < 2:
        raise SeqlabError(f"num_steps must be at least 2 (a word and <eos>), got {num_steps}")
    if dataset != "fra-eng" and data is None:
        raise SeqlabError(f"unknown translation dataset {dataset!r}: use fra-eng, or --data FILE "
                          "(lines of `source<TAB>target`)")
    # millions of small lists, none in a reference cycle: the collector would walk them all again
    # and again as they are made (17 of 43 s on fra-eng x5)
    with gc_paused():
        source, target = read_pairs(data, num_examples=num_examples, strict=strict, legacy_tokens=legacy_tokens)
        splits = split_pairs(source, target, valid_frac, test_frac, split_seed)
        del source, target  # (the splits hold their lines)
        train = splits["train"]
        src_vocab, tgt_vocab = build_vocabs([p[0] for p in train], [p[1] for p in train], min_freq)
        # every split's sources as `seqlab translate` and `evaluate` read them: the arrays, the log's
        # <unk> shares and evaluate's then count the same words
        splits = {name: sources_in_vocab_form(pairs, src_vocab) for name, pairs in splits.items()}
    return TranslationData(splits, src_vocab, tgt_vocab, num_steps)


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


def sources_in_vocab_form(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab: Vocab) -> list:
    """`pairs` with each source read by `in_vocab_form` (the targets as written): the form `seqlab
    evaluate` scores pairs in, and the training log counts its <unk> shares in. A source list whose
    words the vocabulary all holds is kept as it is, not copied."""
    known = src_vocab.token_to_idx.__contains__ if isinstance(src_vocab, Vocab) else src_vocab.__contains__
    return [(src if type(src) is list and all(map(known, src)) else in_vocab_form(src, src_vocab), tgt)
            for src, tgt in pairs]


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


def cut_counts(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], num_steps: int) -> dict:
    """How many pairs `build_array_nmt` cuts: a side of `num_steps` tokens or more loses its <eos>
    (and words past num_steps), as the book's `truncate_pad` does. Counts of pairs whose source,
    target, or either side is cut, out of `pairs`; and `fits_99`: the smallest num_steps that would
    cut at most 1% of them."""
    lengths = sorted(max(len(s), len(t)) + 1 for s, t in pairs)  # with <eos>
    return {"pairs": len(pairs), "source": sum(len(s) + 1 > num_steps for s, _ in pairs),
            "target": sum(len(t) + 1 > num_steps for _, t in pairs),
            "either": sum(n > num_steps for n in lengths),
            "fits_99": lengths[-(-99 * len(lengths) // 100) - 1] if lengths else num_steps}


def unk_counts(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab: Vocab, tgt_vocab: Vocab,
               num_steps: int) -> dict:
    """How many of the words the model reads (source) and is scored on (target) are <unk>, each side:
    `src_words`, `src_unk`, `tgt_words`, `tgt_unk`. The words are each side's first `num_steps`, as
    `build_array_nmt` cuts them (a side of num_steps words or more loses its <eos> and the words past
    them; <eos> is not a word); a word is <unk> when the vocabulary reads it as <unk>'s id (so a
    "<unk>" written in the data counts, as the model reads it so). The one definition behind the
    training log's <unk> shares and `seqlab evaluate`'s src_unk_rate / tgt_unk_rate (both over pairs
    of `sources_in_vocab_form`): a figure next to a loss counts the words that loss is over,
    not words the arrays cut off."""
    check_num_steps(num_steps)
    counts = {}
    for side, lines, vocab in (("src", (p[0] for p in pairs), src_vocab), ("tgt", (p[1] for p in pairs), tgt_vocab)):
        words = [w for line in lines for w in line[:num_steps]]
        counts[f"{side}_words"] = len(words)
        counts[f"{side}_unk"] = sum(i == vocab.unk for i in vocab[words])
    return counts


def unk_shares(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab: Vocab, tgt_vocab: Vocab,
               num_steps: int) -> tuple[float, float]:
    """(source, target): the shares of `unk_counts`, 0 for a side without words."""
    c = unk_counts(pairs, src_vocab, tgt_vocab, num_steps)
    return c["src_unk"] / max(c["src_words"], 1), c["tgt_unk"] / max(c["tgt_words"], 1)
