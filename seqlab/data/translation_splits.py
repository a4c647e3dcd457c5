"""A pair file as training reads it, and its held-out splits (beyond the book's 9.5 pipeline in
translation.py):

- `read_pairs`: fra-eng as the book reads it, or a user's --data file, every line a
  `source<TAB>target` pair (`check_pair_lines`; tokens as PAIR_TOKENS says);
- `split_pairs`: a deterministic train/valid/test split of the pairs, grouped by source
  sentence so that no English sentence of the test split was seen in training (fra-eng
  repeats a sentence with several translations);
- `load_translation`: both, and the vocabularies built on the training split only
  (`TranslationData`);
- what the training log and `seqlab evaluate` count of a split: the pairs `build_array_nmt`
  cuts (`cut_counts`) and the words read as <unk> (`unk_counts`, `unk_shares`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from seqlab.data import token_ids
from seqlab.data.text import gc_paused
from seqlab.data.translation import (build_array_nmt, build_vocabs, check_num_steps, in_vocab_form, preprocess_nmt,
                                     read_data_nmt, tokenize_nmt, unreserve)
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError

Pairs = list[tuple[list[str], list[str]]]


def split_pairs(source: Sequence[list[str]], target: Sequence[list[str]], valid_frac: float = 0.05,
                test_frac: float = 0.05, seed: int = 0) -> dict[str, Pairs]:
    """A deterministic train/valid/test split, grouped by source sentence.

    The distinct source sentences are shuffled with `seed` (its own generator, so the
    split does not depend on the global RNG); the first `test_frac` of them (and all
    their pairs) go to test, the next `valid_frac` to valid, the rest to train.
    The pairs hold the lines given (a list line itself, a tuple line as a list), not copies: a
    caller that edits a returned line in place edits its own `source` or `target` too (copy them
    first, `[list(line) for line in source]`, to keep both). The one caller, `load_translation`,
    drops its lists once split; copying every line cost it +26 MB of its 374 MB peak on fra-eng.
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
                raise SeqlabError(f"{str(where)!r} line {number} has an empty {' and '.join(empty)} "
                                  f"side{'s' if len(empty) > 1 else ''}: "
                                  "every line must be `source<TAB>target` with words on both sides")


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


def sources_in_vocab_form(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab: Vocab) -> list:
    """`pairs` with each source read by `in_vocab_form` (the targets as written): the form `seqlab
    evaluate` scores pairs in, and the training log counts its <unk> shares in. A source list whose
    words the vocabulary all holds is kept as it is, not copied."""
    known = src_vocab.token_to_idx.__contains__ if isinstance(src_vocab, Vocab) else src_vocab.__contains__
    return [(src if type(src) is list and all(map(known, src)) else in_vocab_form(src, src_vocab), tgt)
            for src, tgt in pairs]


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
