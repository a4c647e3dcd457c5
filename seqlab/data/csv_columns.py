"""The header of a CSV series file (`seqlab.data.timeseries.read_csv_series`): opening the file
with its one-line refusals, finding a named column, and which column holds the values when
--column is left out.

A file whose first line is all numbers (`np.loadtxt`'s and `np.savetxt`'s files, one number per
line or several) has no header row: that line is values, and its columns are named by position,
"1", "2", ... (`numbered`), or "value" when it has one column. A header of numbers ("2019,2020") is
then read as values, unless --column or --date-column names one of its cells by a name that is not
a position (`--column 2020`: a header, as before). Exceptions, where a line of numbers is as likely a
header (`_no_header`):
- exactly 0,1,...,n-1 (n >= 2) is the header pandas' to_csv writes for an unnamed frame
  (`index=False`): a header, its columns named 0 to n-1 (`--column 1` is the second);
- a lone 0 in a one-column file is pandas' header of an unnamed series or the first value: refused
  as ambiguous, unless --column 0 names it (a header);
- a name asked for that is both a cell of the line and a position (`--column 2` of "1,2"): refused
  as ambiguous, saying both readings and how to choose (a header line).
A first line of dates and numbers ("2024-01-01,50.00") is still read as the header, and every
refusal about a missing column says the file seems to have none, and how to add the header line.

A .tsv file is read tab-separated (as `seqlab train classify` reads one), any other comma-separated
(`csv_delimiters.delimiter_of`). A file separated by another delimiter (';', with decimal commas, from
a European spreadsheet) is refused saying so, when its header is one column holding it and so do its
first rows (`other_delimiter`: a comma inside a .tsv file's one column name, 'sales, EUR', is no
delimiter), or when its header and its first rows each hold the same number of that delimiter
(`delimiter_in_rows`: a header such as "date;sales, EUR" splits at its comma into two columns, and
read so the series was the digits after the decimal comma).
"""

from __future__ import annotations

import csv
import math
from contextlib import contextmanager
from pathlib import Path

from seqlab.data.csv_delimiters import delimiter_in_rows, delimiter_of, other_delimiter
from seqlab.data.dates import parse_timestamp
from seqlab.data.text import utf16_encoding
from seqlab.errors import SeqlabError

_PEEK = 50  # the data rows open_csv looks at for another delimiter (and value_column at for its columns)
_FIELD_LIMIT = 1 << 30  # csv's default of 131,072 characters refuses a long text column beside the numbers
DATE_NAMES = ("date", "time", "timestamp", "datetime")  # the column names "auto" takes for dates (any case)


@contextmanager
def open_csv(path: Path, names: dict | None = None):
    """(reader, header, header_line, delimiter) of CSV file `path` (a .tsv file: tab-separated,
    `delimiter_of`): its csv.reader past the header row (its `peeked`: the first rows, which the
    refusals look at), the header's names (stripped), the line the header ends on and the delimiter
    it is read with. A first line of numbers is no header unless `names` (the columns asked for, {flag: name})
    holds one of its cells that is not a position (see the module's docstring): the reader then starts at that line,
    the names are positions (`numbered`) and header_line is 0. A missing, empty or unreadable file,
    a blank first line, a file that is not UTF-8 or not CSV (also while the caller reads its rows),
    or one whose header and first rows show another delimiter (`delimiter_in_rows`), is a
    SeqlabError."""
    name = repr(str(path))
    try:
        if path.is_dir():
            raise SeqlabError(f"{name} is a folder, not a CSV file: give the CSV file itself")
        if not path.exists():
            raise SeqlabError(f"CSV file {name} not found")
    except OSError as exc:  # a folder on the way without search permission
        raise SeqlabError(f"cannot read CSV file {name}: {exc.strerror or exc}") from None
    old_limit = csv.field_size_limit(_FIELD_LIMIT)
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            delimiter = delimiter_of(path)
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise SeqlabError(f"CSV file {name} is empty: it needs a header row naming its columns")
            if not header or all(not h.strip() for h in header):
                raise SeqlabError(f"CSV file {name}: its first line is blank; the first line must be the header "
                                  "row naming the columns (remove the blank line)")
            raw, header = header, [h.strip() for h in header]
            if _no_header(header, names or {}, name):
                yield _Replay(reader, [(header, reader.line_num)]), numbered(header), 0, delimiter
            else:
                header_line, rows = reader.line_num, _peek(reader, _PEEK)
                other = delimiter_in_rows(raw, [r for r, _ in rows], delimiter) if len(trimmed(header)) > 1 else ""
                if other:
                    raise SeqlabError(f"CSV file {name}: {other}")
                yield _Replay(reader, rows), header, header_line, delimiter
    except UnicodeDecodeError:
        with open(path, "rb") as fh:
            utf16 = utf16_encoding(fh.read(4096))
        hint = (f": it looks like {utf16[:6].upper()}; convert it, e.g. `iconv -f {utf16} -t utf-8 FILE > FILE8`"
                if utf16 else "")
        raise SeqlabError(f"CSV file {name} is not UTF-8 text{hint}") from None
    except csv.Error as exc:
        raise SeqlabError(f"CSV file {name}, line {reader.line_num}: not readable as CSV ({exc})") from None
    except OSError as exc:
        raise SeqlabError(f"cannot read CSV file {name}: {exc.strerror or exc}") from None
    finally:
        csv.field_size_limit(old_limit)


def _peek(reader, n: int) -> list[tuple[list[str], int]]:
    """The rows of `reader` up to its `n`th that is not blank, each with the line it ends on."""
    rows, filled = [], 0
    for row in reader:
        rows.append((row, reader.line_num))
        filled += any(c.strip() for c in row)
        if filled == n:
            break
    return rows


class _Replay:
    """A csv.reader with the rows it has read put back, each with the line it ended on (its
    line_num): the rows open_csv looked at, or a first line of values (no header row)."""

    def __init__(self, reader, rows: list[tuple[list[str], int]]) -> None:
        self.reader, self.rows, self.line = reader, rows[::-1], None
        self.peeked = [r for r, _ in rows]

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        if not self.rows:
            self.line = None
            return next(self.reader)
        row, self.line = self.rows.pop()
        return row

    @property
    def line_num(self) -> int:
        return self.reader.line_num if self.line is None else self.line


def _no_header(first: list[str], names: dict, file: str) -> bool:
    """Whether the first line `first` (cells stripped) of CSV file `file` is values, not a header: every
    cell a finite number (`headerless` sees nothing else in it), not pandas' labels (`pandas_labels`),
    and no name in `names` ({flag: name}) one of its cells but a position (a header of numbers that
    --column names, e.g. 2020, stays a header). Where it could be either (a lone 0; a name that is a cell
    and a position), a SeqlabError saying how to choose."""
    cells = trimmed(first)
    if not cells or any(_kind(c) != "number" for c in cells) or pandas_labels(cells):
        return False
    positions = numbered(first)
    asked = {flag: n for flag, n in names.items() if isinstance(n, str) and n in cells}
    for flag, n in asked.items():
        if n in positions:
            example = ",".join(f"value{k}" for k in range(1, len(cells) + 1))
            raise SeqlabError(f"CSV file {file}: {flag} {n} is ambiguous: the first line ({','.join(cells)}) is all "
                              f"numbers, {n} one of them (if that line is the header: the column named {n}) and a "
                              f"position (if it is values: column {n} counted from 1); to read it as values, add a "
                              f"header line above it (e.g. {example}) and give {flag} by that name; to read it as "
                              "the header, name its columns with words")
    if asked:
        return False
    if cells == ["0"]:
        raise SeqlabError(f"CSV file {file}: its first line, 0, is ambiguous: pandas' label of an unnamed series "
                          "(Series.to_csv writes it) or the first value? add a header line such as value above the "
                          "first value (or replace the label 0 by it); --column 0 reads the 0 as the header")
    return True


def pandas_labels(cells: list[str]) -> bool:
    """Whether a first line (`cells`, stripped) is exactly 0,1,...,n-1 with n >= 2: the header pandas' to_csv
    writes for a frame with unnamed columns (`index=False`), not values."""
    return len(cells) >= 2 and cells == [str(i) for i in range(len(cells))]


def numbered(first: list[str]) -> list[str]:
    """The names of the columns of a file without a header row, whose first line is `first`: "1",
    "2", ... by position (as `cut -f` counts them), "value" for a file of one column (trailing
    empty cells name nothing)."""
    n = len(trimmed(first))
    return (["value"] if n == 1 else [str(i) for i in range(1, n + 1)]) + [""] * (len(first) - n)


def numbered_said(header: list[str], flag: str = "--column") -> str:
    """What a message says of the columns of a file without a header row (`numbered` `header`)."""
    if trimmed(header) == ["value"]:
        return ("the file has no header row (its first line is a number), so its one column is named 'value': "
                f"{flag} value names it (or add a header line naming it)")
    return (f"the file has no header row (its first line is numbers), so its columns are named by position, 1 to "
            f"{len(trimmed(header))}: e.g. {flag} 2 names the second (or add a header line naming them)")


def date_named(header: list[str], col: int | None = None) -> list[int]:
    """The columns (but `col`) named as dates (DATE_NAMES, any case), else an unnamed first column (the
    index pandas' to_csv writes: '', or 'Unnamed: 0' once read and written again): what --date-column
    auto looks at (it reads dates from one only when its first cell is an ISO date)."""
    named = [i for i, h in enumerate(header) if named_as_date(h) and i != col]
    return named or ([0] if header and col != 0 and unnamed_index(header[0]) else [])


def named_as_date(name: str) -> bool:
    """Whether a column's name is one --date-column auto takes for dates (DATE_NAMES, any case)."""
    return name.lower() in DATE_NAMES


def unnamed_index(name: str) -> bool:
    """Whether a first column's header is that of the index pandas' to_csv writes."""
    return name.strip().lower() in ("", "unnamed: 0")


def value_column(path: str | Path, date_column: str | None = "auto", log=None) -> str:
    """The column of CSV file `path` that holds the series when --column is left out: its only
    column besides its dates (those named as dates, DATE_NAMES, whatever `date_column` says, and
    the column `date_column` names), said to `log`. Several are refused listing them, as is a file
    whose first line reads as dates and values (no header row: `headerless`)."""
    path = Path(path).expanduser()
    name = repr(str(path))
    with open_csv(path, {"--date-column": date_column}) as (reader, header, header_line, delimiter):
        rows = _first_rows(reader, _PEEK)
    row = rows[0] if rows else []
    hint = headerless(header) if header_line else ""  # (a first line of numbers is values: `numbered`)
    if hint:
        raise SeqlabError(f"CSV file {name} needs a header row: {hint}")
    other = other_delimiter(header, delimiter, rows)
    if other:
        raise SeqlabError(f"CSV file {name}: {other}")
    prose = _not_numbers(header, rows)
    if prose:  # (a text file's title line split at its commas is no header of value columns)
        raise SeqlabError(f"--data {name} does not look like a series: {prose}; --data takes a CSV file of numbers "
                          "with a header row naming its columns (e.g. date,value), or one number per line under a "
                          "header line (e.g. value)")
    dates = {h for h in header if named_as_date(h)} | {date_column}  # (never the series, even without dates)
    index = row[:1] and unnamed_index(header[0]) and (parse_timestamp(row[0]) or row[0].strip() == "0")
    values = [h for i, h in enumerate(trimmed(header)) if h not in dates and (h or i == 0) and not (i == 0 and index)]
    # a column whose first cell is an ISO date holds dates, not values, whatever its name ('month', 'day')
    dated = [h for h in values if h and len(row) > header.index(h) and parse_timestamp(row[header.index(h)].strip())]
    values = [h for h in values if h not in dated]
    if not values:
        raise SeqlabError(f"CSV file {name} has no column of values beside its dates (its columns are: "
                          f"{quoted(header)}): add the series' column")
    by_position = ("" if header_line else
                   " (the file has no header row: its first line is numbers, its columns named by position)")
    if len(values) > 1:
        raise SeqlabError(f"CSV file {name} has {len(values)} value columns, so --data needs --column NAME to say "
                          f"which holds the series; its value columns are: "
                          f"{', '.join(repr(v) if v else '(the unnamed first)' for v in values)}{by_position}: give "
                          "--column NAME")
    if log is not None:
        other = (f" (column {dated[0]!r} holds dates: --date-column {dated[0]} reads them as the series' dates)"
                 if len(dated) == 1 and date_column == "auto" else "")
        no_header = (" (the file has no header row: its first line, a number, is its first value)"
                     if not header_line and values == ["value"] else by_position)
        log(f"column {values[0]!r}: the file's only value column{other}{no_header}")
    return values[0]


def auto_date_column(path: str | Path, col: str) -> str | None:
    """The column of CSV file `path` that --date-column auto would read dates from beside value
    column `col` (the one named as dates, its first cell an ISO date), else None."""
    with open_csv(Path(path).expanduser(), {"--column": col}) as (reader, header, _, _):
        named = date_named(header, header.index(col) if col in header else None)
        if len(named) != 1:
            return None
        row = (_first_rows(reader, 1) or [[]])[0]
    return header[named[0]] if len(row) > named[0] and parse_timestamp(row[named[0]]) is not None else None


class MissingColumn(SeqlabError):
    """A column that `flag` (--column, --date-column) names is not in the CSV's header. `header`: its
    columns; `delimiter`: the message says the file is probably not comma-separated instead;
    `headerless`: what to do when the file seems to have no header row (`headerless`), else ''."""

    def __init__(self, message: str, *, column: str, flag: str, header: list[str], delimiter: bool, headerless: str):
        super().__init__(message)
        self.column, self.flag, self.header, self.delimiter = column, flag, header, delimiter
        self.headerless = headerless


def column_index(name: str, header: list[str], column: str, flag: str, *, numbers: bool = False,
                 delimiter: str = ",", rows: list[list[str]] | None = None) -> int:
    """The index of `column` in `header`, else a MissingColumn; a name given twice is a SeqlabError.
    `numbers`: the file has no header row, its columns named by position (`numbered`); `delimiter`:
    the file's (`delimiter_of`); `rows`: its first rows (`other_delimiter`)."""
    if column not in header:
        message = no_column(name, column, header, delimiter, rows)
        hint = numbered_said(header, flag) if numbers else headerless(header, column, flag)
        raise MissingColumn(message + (f": {hint}" if hint else ""), column=column, flag=flag, header=header,
                            delimiter="its columns are:" not in message, headerless=hint)
    if header.count(column) > 1:
        raise SeqlabError(f"CSV file {name} has {header.count(column)} columns named {column!r} "
                          f"(columns {', '.join(str(i + 1) for i, h in enumerate(header) if h == column)}): "
                          f"rename them so that {flag} names one")
    return header.index(column)


def no_column(name: str, column: str, header: list[str], delimiter: str = ",",
              rows: list[list[str]] | None = None) -> str:
    other = other_delimiter(header, delimiter, rows)
    if other:
        return f"CSV file {name} has no column {column!r}: {other}"
    return f"CSV file {name} has no column {column!r}; its columns are: {quoted(header)}"


def quoted(names: list[str]) -> str:
    """Column names for a message, each quoted: a name may hold a comma or a space ('by H. G. Wells')."""
    return ", ".join(map(repr, names))


# cells that mean "no value" (pandas' default na_values, any case): refused, or filled by --fill
MISSING_CELLS = frozenset(("", "nan", "-nan", "na", "n/a", "#n/a", "#n/a n/a", "#na", "<na>", "null", "none",
                           "1.#ind", "-1.#ind", "1.#qnan", "-1.#qnan"))


def _first_rows(reader, n: int) -> list[list[str]]:
    """The first `n` rows of `reader` that are not blank."""
    rows = []
    for r in reader:
        if any(c.strip() for c in r):
            rows.append(r)
            if len(rows) == n:
                break
    return rows


def _not_numbers(header: list[str], rows: list[list[str]]) -> str:
    """Why `header` and `rows` (a file's first rows) are no series, where neither the header nor most
    rows hold a number or a date in any cell (prose, a labelled text file), else ''. (A missing-value
    cell, NA or nan, counts as a number: a series with gaps, for --fill.)"""
    if not rows or any(_kind(c.strip()) or _nan(c) for c in header):
        return ""
    bare = [r for r in rows if not any(_kind(c.strip()) or _nan(c) for c in r)]
    if 2 * len(bare) <= len(rows):
        return ""
    return (f"neither its first line nor {len(bare)} of the {len(rows)} rows after it hold a number in any column "
            f"(e.g. {','.join(bare[0]).strip()[:60]!r})")


def _nan(cell: str) -> bool:
    """A cell that marks a missing value of a series (NA, null, nan, ...: what --fill fills); not an
    empty one, which prose has too (a line ending in a comma)."""
    text = cell.strip().lower()
    return bool(text) and (text in MISSING_CELLS or text == "+nan")


def headerless(header: list[str], column: str | None = None, flag: str = "--column") -> str:
    """When every name in `header` reads as a number or an ISO date, the file has no header row, it
    seems: what to add (an example header naming `column`, which `flag` looked for), else ''."""
    cells = trimmed(header)
    kinds = [_kind(c) for c in cells]
    if not cells or None in kinds or pandas_labels(cells):  # (pandas' labels: a header, `_no_header`)
        return ""
    numbers, names, k = kinds.count("number"), [], 0
    for kind in kinds:  # dates: "date"; values: `column` (--column's) first, then value2, value3, ...
        if kind == "date":
            names.append(column if flag == "--date-column" and column else "date")
            continue
        k += 1
        names.append(column if flag == "--column" and column and k == 1 else
                     "value" if numbers == 1 else f"value{k}")
    return (f"the first line ({','.join(cells)}) is read as the header: the file seems to have none; add a header "
            f"line naming the columns (e.g. {','.join(names)})")


def _kind(cell: str) -> str | None:
    try:
        return "number" if math.isfinite(float(cell)) else None
    except ValueError:
        return "date" if cell and parse_timestamp(cell) is not None else None


def trimmed(cells: list[str]) -> list[str]:
    """The cells up to the last one that is not empty: trailing empty fields count for nothing."""
    n = len(cells)
    while n and not cells[n - 1].strip():
        n -= 1
    return cells[:n]
