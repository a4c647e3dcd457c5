"""A labelled text file's (label, text) rows (`read_rows`), each with the line it starts on, for
labelled_text.py to split, tokenise and encode.

Format. A header row naming the columns, one of them `label` and one `text` (other names with
`label_column` / `text_column`; other columns are ignored). The extension says how the file is
split into fields:

    .csv    commas  } CSV quoting (as pandas' to_csv writes and read_csv reads, with sep="\t" for
    .tsv    tabs    } .tsv): a field that starts with a double quote runs to the next lone quote and
                      may hold the delimiter, line breaks and doubled quotes: "great, really",
                      "a ""fine"" day"; a quote later in a field is an ordinary character
    .txt    tabs, no quoting: one row per line, quotes read as they are

Blank lines are skipped; an empty label or text is an error naming its line.
"""

from __future__ import annotations

import csv
import io
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.data.text import read_text
from seqlab.errors import SeqlabError

DELIMITERS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
QUOTED = (".csv", ".tsv")  # read with CSV quoting; .txt without


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
    """The indices of the label and the text column in `header`; else a SeqlabError naming every
    column that is missing at once, and the exact flags where one matches in another case only
    (`Text,Label`: --text-column Text --label-column Label; never taken without them)."""
    wanted = (("--text-column", text_column), ("--label-column", label_column))
    for _, name in wanted:
        if header.count(name) > 1:
            raise SeqlabError(f"{where} has {header.count(name)} columns named {name!r}: rename one")
    missing = [(option, name) for option, name in wanted if name not in header]
    if missing:
        raise SeqlabError(f"{where} has no column {' and no column '.join(repr(n) for _, n in missing)} (its columns: "
                          f"{', '.join(map(repr, header))}): {missing_fix or _name_them(missing, header)}"
                          f"{_one_field(header, delimiter)}")
    return header.index(label_column), header.index(text_column)


def _name_them(missing: list[tuple[str, str]], header: list[str]) -> str:
    """What to give for the `missing` (flag, name) columns: the flag with the one column of `header`
    that matches the name in another case, else the flag to name it with."""
    flags, others = [], []
    for option, name in missing:
        cased = [h for h in header if h.casefold() == name.casefold()]
        if len(cased) == 1:
            flags.append(f"{option} {shlex.quote(cased[0])}")
        else:
            others.append(option)
    name = f"name the column{'s' if len(others) > 1 else ''} with {' and '.join(others)}" if others else ""
    if not flags:
        return name
    return f"give {' '.join(flags)} (the file's names differ in case only)" + (f", and {name}" if name else "")


def _one_field(header: list[str], delimiter: str) -> str:
    """A hint when the header is one field holding another delimiter or spaces, else ''."""
    other = "tab" if delimiter == "," else "comma"
    if len(header) == 1 and ";" in header[0]:
        return "; its header is one field: is the file semicolon-separated? save it with commas (.csv) or tabs (.tsv)"
    if len(header) == 1 and ("\t" in header[0] or "," in header[0]):
        return f"; its header is one field: is the file {other}-separated? (.csv: commas; .tsv/.txt: tabs)"
    if len(header) == 1 and " " in header[0].strip():
        return "; its header is one field: is the file separated by spaces? (.csv: commas; .tsv/.txt: tabs)"
    return ""


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
