"""Labelled text for classification: a CSV or TSV file of labelled texts (or a folder of split
files) -> token ids of each text, a vocabulary of the training split, and label ids.

Format: a header row naming the columns, one of them `label` and one `text`; .csv, .tsv or .txt
(labelled_rows.py reads a file's rows, and says how each extension is split into fields).

Splits. A folder holds train.EXT and valid.EXT, and optionally test.EXT (EXT one of the above),
as `seqlab train lm --data DIR` takes train/valid/test.txt. One file: the validation split is
held out label by label (stratified): of each label's rows, a fixed pseudo-random
round(valid_fraction x rows) (the same rows on every run, whatever --seed: runs compare on one
split), at most all but one, none of a label with a single row. So every label of the validation
split has training rows, each label is held out in proportion (a file sorted by label splits as a
shuffled one does), and a label of few rows may have no validation rows (at 10%: 5 rows or
fewer; the log counts them). A file so small that this holds out nothing holds out one row of its
commonest label. Each split keeps file order.

Tokens. Words or characters, lower-cased unless `lowercase=False`. Words are runs of letters,
digits and underscores (any script), and each other non-space character is a token of its own
("Great!" -> "great", "!"; "don't" -> "don", "'", "t"), much as torchtext's basic_english cuts
them; `split_punct=False`: whitespace-separated words (seqlab.data.text.tokenize; punctuation
stays on its word). Texts
longer than `max_len` tokens keep their first `max_len`. The vocabulary comes from the training
split: index 0 `<unk>`, 1 `<pad>`. Labels are strings, their ids in the order of the training
split's labels: numeric when every label is an integer (1, 2, ..., 10), else sorted strings; a
label the training split lacks is an error.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqlab.data.labelled_rows import DELIMITERS, Rows, read_rows
from seqlab.data.text import tokenize
from seqlab.data.user_files import file_fingerprint
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError

SPLITS = ("train", "valid", "test")
VALID_FRACTION = 0.1
SPLIT_SEED = 0  # the held-out rows of a single file: fixed, not the run's --seed
PAD = "<pad>"
WORD = re.compile(r"\w+|[^\w\s]")  # a run of letters/digits/_ (any script), or one other non-space character


def split_files(path: str | Path) -> dict[str, Path] | None:
    """A --data folder's split files (train.EXT, valid.EXT, optional test.EXT); None for a file."""
    path = Path(path)
    if not path.is_dir():
        return None
    files = {}
    for split in SPLITS:
        found = [path / f"{split}{ext}" for ext in DELIMITERS if (path / f"{split}{ext}").is_file()]
        if len(found) > 1:
            raise SeqlabError(f"{str(path)!r} holds {' and '.join(p.name for p in found)}: keep one {split} file")
        if found:
            files[split] = found[0]
    missing = [s for s in ("train", "valid") if s not in files]
    if missing:
        head = f"{str(path)!r} is a folder without {' and '.join(missing)} files"
        takes = ("--data takes a labelled text file (.csv/.tsv/.txt) or a folder of train, valid and optionally "
                 "test files of that format")
        found, fix = _one_text_per_file(path) if not files else ("", "")
        if fix:
            raise SeqlabError(f"{head}: {found}, one text per .txt file labelled by its folder's name (aclImdb's "
                              f"layout), which seqlab does not read; {takes}: {fix}")
        raise SeqlabError(f"{head}{f' ({found})' if found else ''}: {takes}")
    return files


def _one_text_per_file(path: Path) -> tuple[str, str]:
    """(what --data folder `path` holds, a one-line way to a CSV of it) where it is laid out one text
    per file (aclImdb's train/pos/*.txt: a folder per label, or train/ and test/ folders of them);
    (its train/, valid/ or test/ folders, '') where it has such folders of no texts; else ('', '').
    (A train/ folder is not the train file the refusal asks for: the refusal says what it is.)"""
    splits = [path / s for s in SPLITS if (path / s).is_dir()]
    found = "; ".join(f"{s.name}/ is a folder{_subfolders(s)}" for s in splits)
    texts = next((s for s in [*splits, path] if any(s.glob("*/*.txt"))), None)
    if texts is None:
        return found, ""
    found = found or f"it holds subfolders{_subfolders(path)[len(' of subfolders'):]}"
    name = texts.resolve().name or "texts"
    code = ("import csv, pathlib, sys; w = csv.writer(sys.stdout); w.writerow(['label', 'text']); "
            "w.writerows([f.parent.name, f.read_text(encoding='utf-8').strip()] for f in "
            f"sorted(pathlib.Path({texts.as_posix()!r}).glob('*/*.txt')))")
    return found, (f"make one CSV of label,text rows of it (a validation split is held out of one file): "
                   f"python -c \"{code}\" > {name}.csv, then --data {name}.csv")


def _subfolders(folder: Path, show: int = 5) -> str:
    """' of subfolders neg/, pos/' (the first `show`, sorted, and how many more), or ''."""
    names = sorted(p.name + "/" for p in folder.iterdir() if p.is_dir())
    more = f" and {len(names) - show} more" if len(names) > show else ""
    return f" of subfolders {', '.join(names[:show])}{more}" if names else ""


def heldout_rows(labels: list[str], fraction: float = VALID_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """The (train, valid) row indices of a single file whose rows have `labels`, stratified: of
    each label's n rows a fixed pseudo-random round(fraction * n) are held out, at most n - 1 (so
    every held-out label has training rows; none of a single row). Where that holds out no row at
    all (a small file), one row of the label with the most rows is. Each split in file order."""
    if not 0.0 < fraction < 1.0:
        raise SeqlabError(f"valid_fraction must be between 0 and 1 (exclusive), got {fraction}")
    rows: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        rows.setdefault(label, []).append(i)
    # each label's own fixed shuffle (RandomState: the same stream in every numpy), seeded by the label:
    # a label's held-out rows do not change when other labels' rows do
    order = {label: np.asarray(idx)[_shuffle(label, len(idx))] for label, idx in rows.items()}
    take = {label: min(round(fraction * len(idx)), len(idx) - 1) for label, idx in rows.items()}
    if not any(take.values()):
        widest = max(rows, key=lambda label: len(rows[label]))  # the first of the commonest, in file order
        if len(rows[widest]) < 2:
            raise SeqlabError("every label has one row, and a label's only row must train: no row can be held out "
                              "for validation; add rows, or give a folder with a valid file")
        take[widest] = 1
    valid = np.sort(np.concatenate([order[label][:k] for label, k in take.items()])).astype(np.int64)
    train = np.setdiff1d(np.arange(len(labels)), valid)  # (sorted)
    return train, valid


def _shuffle(label: str, n: int) -> np.ndarray:
    return np.random.RandomState([SPLIT_SEED, zlib.crc32(label.encode())]).permutation(n)


def label_order(labels) -> list[str]:
    """The labels in id order: numeric when every one is an integer (1, 2, ..., 10, not 1, 10, 2),
    else sorted strings."""
    labels = set(labels)
    if labels and all(re.fullmatch(r"[+-]?[0-9]+", label) for label in labels):
        return sorted(labels, key=lambda label: (int(label), label))  # ("01" beside "1": the string breaks the tie)
    return sorted(labels)


def text_tokens(texts: list[str], level: str, lowercase: bool = True, split_punct: bool = True) -> list[list[str]]:
    """The tokens of each text: characters, or words, each punctuation mark a token of its own
    (`split_punct`; see WORD), else whitespace-separated (as the language models' tokenize cuts them)."""
    texts = [t.lower() for t in texts] if lowercase else list(texts)
    if level == "word" and split_punct:
        return [WORD.findall(t) for t in texts]
    return tokenize(texts, level)


@dataclass
class EncodedTexts:
    """A split's texts as token ids, one after the other, and their label ids:

        ids      [ a a a | b b | c c c c ]   every text's ids (at most max_len each)
        offsets  [0,      3,    5,       9]   text i is ids[offsets[i]:offsets[i+1]]
        labels   [ 1,     0,    1        ]
    """

    ids: torch.Tensor  # (total,) int64
    offsets: torch.Tensor  # (N + 1,) int64
    labels: torch.Tensor  # (N,) int64
    cut: int = 0  # how many texts were longer than max_len (and were cut)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]  # (N,)

    def padded(self, idx: torch.Tensor, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The texts `idx` (CPU int64) as a (B, T) id matrix padded with `pad_id` to the longest,
        and their lengths (B,)."""
        starts = self.offsets[idx]
        lengths = self.offsets[idx + 1] - starts  # (B,)
        steps = torch.arange(int(lengths.max()) if len(idx) else 0)  # (T,)
        pos = (starts[:, None] + steps[None, :]).clamp_(max=max(len(self.ids) - 1, 0))  # (B, T)
        return self.ids[pos].masked_fill_(steps[None, :] >= lengths[:, None], pad_id), lengths


def encode(tokens: list[list[str]], labels: list[int], vocab: Vocab, max_len: int) -> EncodedTexts:
    """Token ids of each text's first `max_len` tokens (see EncodedTexts)."""
    get, unk = vocab.token_to_idx.get, vocab.unk
    kept = [toks[:max_len] for toks in tokens]
    ids = np.fromiter((get(t, unk) for toks in kept for t in toks), dtype=np.int64)
    offsets = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum([len(toks) for toks in kept], out=offsets[1:])
    return EncodedTexts(torch.from_numpy(ids), torch.from_numpy(offsets), torch.tensor(labels, dtype=torch.long),
                        cut=sum(len(toks) > max_len for toks in tokens))


@dataclass
class LabelledText:
    """A labelled text data set: its splits encoded with one vocabulary and one list of labels."""

    name: str
    vocab: Vocab
    classes: list[str]  # label strings; a label's id is its index
    train: EncodedTexts
    valid: EncodedTexts
    test: EncodedTexts | None
    source: dict  # the file's (or folder's) fingerprint (user_files.file_fingerprint)
    heldout: str  # where the validation split comes from, for the log

    @property
    def pad_id(self) -> int:
        return self.vocab[PAD]


def load_labelled_text(data: str | Path, *, level: str = "word", label_column: str = "label",
                       text_column: str = "text", lowercase: bool = True, split_punct: bool = True,
                       min_freq: int = 1, max_vocab: int | None = None, max_len: int = 400,
                       valid_fraction: float = VALID_FRACTION, vocab: Vocab | None = None,
                       classes: list[str] | None = None) -> LabelledText:
    """Read, split, tokenise and encode `data` (a file or a folder of splits; the module's
    docstring has the format). `vocab` and `classes`: a checkpoint's (evaluate, resume)."""
    if max_len < 1:
        raise SeqlabError(f"max_len must be positive, got {max_len}")
    folder = split_files(data)
    if folder is None:
        rows = read_rows(data, label_column, text_column)
        try:
            train_rows, valid_rows = heldout_rows(rows.labels, valid_fraction)
        except SeqlabError as exc:
            raise SeqlabError(f"{str(data)!r}: {exc}") from None
        splits = {"train": rows.take(train_rows), "valid": rows.take(valid_rows)}
        heldout = (f"{len(valid_rows):,} of the {len(rows.texts):,} rows held out for validation: a fixed "
                   f"pseudo-random {valid_fraction:.0%} of each label's rows, the same on every run")
        unheld = _unheld(rows.labels, splits["valid"].labels)
        if unheld:
            heldout += f"; {unheld}"
        source = file_fingerprint(data)
    else:
        splits = {s: read_rows(p, label_column, text_column) for s, p in folder.items()}
        heldout = f"validation on {folder['valid'].name}"
        if "test" in folder:
            heldout += f", test on {folder['test'].name}"
        source = file_fingerprint(data, [p.name for p in folder.values()])
    tokens = {s: text_tokens(r.texts, level, lowercase, split_punct) for s, r in splits.items()}
    if classes is None:
        classes = label_order(splits["train"].labels)
        if len(classes) < 2:
            raise SeqlabError(f"the training split of {str(data)!r} has one label only ({classes[0]!r}): "
                              "a classifier needs examples of two labels or more")
    for split, r in splits.items():
        check_labels(r, classes, f"{split} split", "the training split's labels",
                     "the model could not predict it; add training examples of it, or drop those rows")
    if vocab is None:
        vocab = Vocab(tokens["train"], min_freq=min_freq, reserved_tokens=[PAD], max_size=max_vocab)
        if len(vocab) <= 2:
            raise SeqlabError(f"min_freq={min_freq}, max_vocab={max_vocab} leave no {level} of the training texts "
                              "in the vocabulary (every token would be <unk>): lower --min-freq or raise --max-vocab")
    label_id = {c: i for i, c in enumerate(classes)}
    encoded = {s: encode(tokens[s], [label_id[lab] for lab in splits[s].labels], vocab, max_len) for s in splits}
    return LabelledText(Path(data).name, vocab, list(classes), encoded["train"], encoded["valid"],
                        encoded.get("test"), source, heldout)


def _unheld(labels: list[str], valid: list[str]) -> str:
    """How many labels have no validation rows, and the first few of them with their row counts."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    held = set(valid)
    none = [label for label in label_order(counts) if label not in held]
    if not none:
        return ""
    shown = ", ".join(f"{label!r} {counts[label]}" for label in none[:5]) + (", ..." if len(none) > 5 else "")
    return (f"{len(none)} of the {len(counts)} labels {'have' if len(none) != 1 else 'has'} too few rows to hold "
            f"any out ({shown} rows): no validation rows, so their accuracy is not measured")


def check_labels(rows: Rows, classes: list[str], split: str | None, whose: str, fix: str) -> None:
    """Refuse a row whose label is not among `classes`, naming it and its line."""
    known = set(classes)
    unseen = next((i for i, lab in enumerate(rows.labels) if lab not in known), None)
    if unseen is not None:
        raise SeqlabError(f"label {rows.labels[unseen]!r} ({rows.path!r} line {rows.lines[unseen]}"
                          f"{'' if split is None else f', {split}'}) is not among {whose} "
                          f"({', '.join(map(repr, classes[:10]))}{', ...' if len(classes) > 10 else ''}): {fix}")


def encode_file(path: str | Path, vocab: Vocab, classes: list[str], *, level: str = "word",
                label_column: str = "label", text_column: str = "text", lowercase: bool = True,
                split_punct: bool = True, max_len: int = 400) -> EncodedTexts:
    """One labelled file encoded with a trained run's vocabulary and labels, read as its training
    files were (columns, tokens); a label outside `classes` is an error naming its line."""
    folder = Path(path)
    if folder.is_dir():  # (not split_files: its message is about a folder to train on)
        example = next((folder / f"test{ext}" for ext in DELIMITERS if (folder / f"test{ext}").is_file()),
                       folder / "test.csv")
        raise SeqlabError(f"{str(path)!r} is a folder: give one labelled text file (e.g. {example})")
    rows = read_rows(path, label_column, text_column,
                     missing_fix=f"the run reads its labels from column {label_column!r} and its texts from column "
                                 f"{text_column!r} (as it was trained): rename the file's columns to those")
    check_labels(rows, classes, None, "the run's labels", "the model never saw it and cannot predict it; drop "
                 "those rows, or train a run with examples of it")
    label_id = {c: i for i, c in enumerate(classes)}
    return encode(text_tokens(rows.texts, level, lowercase, split_punct), [label_id[lab] for lab in rows.labels],
                  vocab, max_len)


def majority_share(labels: torch.Tensor, classes: int) -> tuple[int, float]:
    """The most frequent of a split's label ids (N,) and its share: the accuracy of always predicting it."""
    counts = torch.bincount(labels, minlength=classes)
    return int(counts.argmax()), float(counts.max()) / max(len(labels), 1)
