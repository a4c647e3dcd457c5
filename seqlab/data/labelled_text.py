"""Labelled text for classification: a CSV or TSV file of labelled texts (or a folder of split
files) -> token ids of each text, a vocabulary of the training split, and label ids.

Format. A header row naming the columns, one of them `label` and one `text` (other names with
`label_column` / `text_column`; other columns are ignored). The extension says how the file is
split into fields:

    .csv    commas  } CSV quoting (as pandas' to_csv writes and read_csv reads, with sep="\t" for
    .tsv    tabs    } .tsv): a field that starts with a double quote runs to the next lone quote and
                      may hold the delimiter, line breaks and doubled quotes: "great, really",
                      "a ""fine"" day"; a quote later in a field is an ordinary character
    .txt    tabs, no quoting: one row per line, quotes read as they are

Blank lines are skipped; an empty label or text is an error naming its line.

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

import csv
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqlab.data.text import read_text, tokenize
from seqlab.data.user_files import file_fingerprint
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError

DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
QUOTED = (".csv", ".tsv")  # read with CSV quoting; .txt without
SPLITS = ("train", "valid", "test")
VALID_FRACTION = 0.1
SPLIT_SEED = 0  # the held-out rows of a single file: fixed, not the run's --seed
PAD = "<pad>"
WORD = re.compile(r"\w+|[^\w\s]")  # a run of letters/digits/_ (any script), or one other non-space character


@dataclass
class Rows:
    """One file's labelled texts, each with the line it starts on (for messages)."""

    path: str
    labels: list[str]
    texts: list[str]
    lines: list[int]

    def take(self, index: np.ndarray) -> "Rows":
        pick = index.tolist()
        return Rows(self.path, [self.labels[i] for i in pick], [self.texts[i] for i in pick],
                    [self.lines[i] for i in pick])


def read_rows(path: str | Path, label_column: str = "label", text_column: str = "text", *,
              missing_fix: str | None = None) -> Rows:
    """The (label, text) rows of a CSV/TSV file (see the module's docstring for the format).
    `missing_fix`: what to do when a column is missing, instead of naming it with --label-column
    / --text-column (evaluate has neither: the run's names are fixed)."""
    path = Path(path)
    where = repr(str(path))
    delimiter = DELIMITERS.get(path.suffix.lower())
    if delimiter is None:
        raise SeqlabError(f"{where}: a labelled text file must be .csv (comma-separated) or .tsv/.txt "
                          "(tab-separated), so that its fields can be told apart")
    if label_column == text_column:
        raise SeqlabError(f"the label and text columns are both {label_column!r}: name two columns")
    text = read_text(path)  # UTF-8, not binary, not empty; \r\n read as \n
    quoted = path.suffix.lower() in QUOTED
    # QUOTE_MINIMAL: a quote is special only at the start of a field; strict: text after a closing
    # quote, or a quote never closed, is an error rather than a silently merged field
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
                        strict=True)
    labels, texts, lines = [], [], []
    start = 1  # the line the row being read starts on
    # a text may be as long as the file (csv's default limit of 131,072 characters would refuse a long
    # text that --max-len cuts anyway); an unclosed quote still runs to the file's end, where strict
    # csv says "unexpected end of data". (At most 2**31 - 1: a C long of 32 bits.)
    old_limit = csv.field_size_limit(max(csv.field_size_limit(), min(len(text) + 1, 2**31 - 1)))
    try:
        header = [name.strip() for name in next(reader)]
        columns = _columns(header, label_column, text_column, where, delimiter, missing_fix)
        start = reader.line_num + 1
        for row in reader:
            if row:  # (a blank line reads as [])
                _take(row, header, columns, start, where, delimiter, quoted, labels, texts, lines)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SeqlabError(_csv_error(exc, where, start, reader.line_num, path.suffix.lower())) from None
    finally:
        csv.field_size_limit(old_limit)
    if not texts:
        raise SeqlabError(f"{where} has a header but no rows of labelled text")
    return Rows(str(path), labels, texts, lines)


def _csv_error(exc: csv.Error, where: str, start: int, line: int, suffix: str) -> str:
    """A strict csv reader's error as what to fix, at the line it concerns."""
    plain = "; to read quotes as ordinary characters, save the file tab-separated as .txt" if suffix == ".tsv" else ""
    if "unexpected end of data" in str(exc):  # raised at the end of the file: the row began at `start`
        return (f"{where} line {start}: a quoted field opened here is never closed (a field that starts with a double "
                f"quote runs to the next lone one; double a quote inside it: \"\"){plain}")
    if "field larger than field limit" in str(exc):
        return (f"{where} line {start}: a field over {csv.field_size_limit():,} characters starts here: a quoted field "
                f"never closed?{plain}")
    if "expected after" in str(exc):
        return (f"{where} line {line}: text after the closing quote of a quoted field ({exc}): a field that starts "
                f"with a double quote must end with one, its inner quotes doubled{plain}")
    return f"{where} line {line}: not readable as CSV ({exc})"


def _columns(header: list[str], label_column: str, text_column: str, where: str, delimiter: str,
             missing_fix: str | None = None) -> tuple[int, int]:
    found = []
    for option, name in (("--label-column", label_column), ("--text-column", text_column)):
        if header.count(name) > 1:
            raise SeqlabError(f"{where} has {header.count(name)} columns named {name!r}: rename one")
        if name not in header:
            other = "tab" if delimiter == "," else "comma"
            hint = ""
            if len(header) == 1 and ";" in header[0]:
                hint = ("; its header is one field: is the file semicolon-separated? save it with commas (.csv) or "
                        "tabs (.tsv)")
            elif len(header) == 1 and ("\t" in header[0] or "," in header[0]):
                hint = f"; its header is one field: is the file {other}-separated? (.csv: commas; .tsv/.txt: tabs)"
            elif len(header) == 1 and " " in header[0].strip():
                hint = "; its header is one field: is the file separated by spaces? (.csv: commas; .tsv/.txt: tabs)"
            raise SeqlabError(f"{where} has no column {name!r} (its columns: {', '.join(map(repr, header))}): "
                              f"{missing_fix or f'name the column with {option}'}{hint}")
        found.append(header.index(name))
    return found[0], found[1]


def _take(row, header, columns, line, where, delimiter, quoted, labels, texts, lines) -> None:
    if len(row) != len(header):
        sep = "comma" if delimiter == "," else "tab"
        if len(row) > len(header):  # a separator too many: one inside a text
            cause = (f"an unquoted {sep} in a text? write such texts in double quotes" if quoted else
                     "a tab inside a text? replace it with a space, or save the file as .tsv with CSV quoting")
        else:  # a separator too few: missing, or the line separated by something else
            cells = "".join(row)
            other = [said for char, said in (("\t", "tabs"), (",", "commas"), (" ", "spaces"))
                     if char != delimiter and char in cells]
            cause = f"a missing {sep} between its fields?"
            if other and len(row) == 1:
                cause += (f" or is the line separated by {' or '.join(other[:2])}? this file's fields are separated by "
                          f"{sep}s ({'.csv' if delimiter == ',' else '.tsv/.txt'})")
        fields = f"{len(row)} field{'s' if len(row) != 1 else ''}"
        raise SeqlabError(f"{where} line {line} has {fields} where the header has {len(header)} ({cause})")
    label, text = row[columns[0]].strip(), row[columns[1]].strip()
    if not label:
        raise SeqlabError(f"{where} line {line}: empty label")
    if not text:
        raise SeqlabError(f"{where} line {line}: empty text (a text needs at least one token)")
    labels.append(label)
    texts.append(text)
    lines.append(line)


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
        raise SeqlabError(f"{str(path)!r} is a folder without {' and '.join(missing)} files: --data takes a "
                          "labelled text file (.csv/.tsv/.txt) or a folder of train, valid and optionally test "
                          "files of that format")
    return files


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
