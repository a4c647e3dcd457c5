"""Univariate time series: the book's noisy sine, tau-lag features, and a column of a CSV file.

Lag features (seed 002). For a series x_0 .. x_{T-1} and embedding length tau, row i
of the features holds the tau values before label x_{i+tau}:

    features[i] = [x_i, x_{i+1}, ..., x_{i+tau-1}]   (T - tau, tau)
    labels[i]   =  x_{i+tau}                          (T - tau, 1)

The first `n_train` rows train (labels x_tau .. x_{n_train+tau-1}); every label after
that is held out.

A CSV series may carry a date/time column (`load_csv_series`): its ISO 8601 timestamps must be
strictly increasing and evenly spaced (a fixed step, whole calendar months, or business days:
weekdays only, the weekends skipped, as pandas' freq "B"), and are kept as
a `DateIndex` (start + step) that also names the timestamps after the series' end. Missing
dates and empty/NaN cells are refused, or with `fill` filled (`seqlab.data.fill`); `read_csv_series`
says which values were filled (`CsvSeries.observed`).
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path

import torch

from seqlab.data.csv_columns import (MISSING_CELLS, column_index, date_named, named_as_date, open_csv, quoted,
                                     trimmed)
from seqlab.data.csv_delimiters import bad_row
from seqlab.data.date_steps import UnevenDates
from seqlab.data.dates import DateIndex, parse_timestamp
from seqlab.data.dates import show_cell as _show
from seqlab.data.fill import FILLS, Filled, check_max_gap, fill_gaps, fill_lines
from seqlab.errors import SeqlabError, check_positive_int

# the least magnitude that becomes inf as a float32: halfway between the largest finite float32
# (2**128 - 2**104, torch.finfo(torch.float32).max) and 2**128, which rounds to even, i.e. up
FLOAT32_OVERFLOW = 2.0**128 - 2.0**103
NOISE_STD = 0.2  # the book's noise: x_t = sin(0.01 t) + N(0, 0.2)


def sine_series(T: int = 1000, *, noise: float = NOISE_STD, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The book's series: time 1..T and x_t = sin(0.01 t) + N(0, noise^2), from its own generator."""
    T = check_positive_int("the series length T", T)
    if T >= 2**61:  # its float32 values' bytes (4 * T) past int64, which torch counts them in; and near 2**63
        # arange's length rounds past int64, a traceback on every torch (2.2: "Overflow when unpacking long")
        raise SeqlabError(f"the series length T must be below 2**61 (its 4-byte values' size must count in 64 bits, "
                          f"as torch counts it), got {T}: give a shorter series")
    if not math.isfinite(noise) or noise < 0:  # (NaN passes `noise < 0`, and would make every value NaN)
        raise SeqlabError(f"noise must be a finite number >= 0 (the noise's standard deviation), got {noise}")
    gen = torch.Generator().manual_seed(seed)
    time = torch.arange(1, T + 1, dtype=torch.float32)
    x = torch.sin(0.01 * time) + noise * torch.randn(T, generator=gen)
    return time, x


def check_series(x: torch.Tensor, tau: int, *, name: str = "series") -> torch.Tensor:
    """A 1-D float series of at least tau + 1 finite values, else a SeqlabError saying what is wrong."""
    tau = check_positive_int("tau", tau, " (a number of lags)")
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() != 1:
        raise SeqlabError(f"{name} must be one-dimensional, got shape {tuple(x.shape)}")
    bad = ~torch.isfinite(x)
    if bad.any():
        i = int(bad.nonzero()[0])
        raise SeqlabError(f"{name} holds {int(bad.sum())} NaN/inf value(s), the first at position {i} "
                          f"({x[i].item()}): clean or interpolate the series first")
    if len(x) < tau + 1:
        raise SeqlabError(f"{name} has {len(x)} values; with tau = {tau} it needs at least {tau + 1} "
                          "(tau inputs and one target)")
    return x


def lag_features(x: torch.Tensor, tau: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (T - tau, tau), labels (T - tau, 1)) as in the book, without its Python loop."""
    x = check_series(x, tau)
    features = x.unfold(0, tau, 1)[: len(x) - tau].contiguous()  # windows x[i : i + tau]
    labels = x[tau:].reshape(-1, 1)
    return features, labels


# '1,5' or '1.234,5' (a decimal comma) or '1,234' (a thousands separator): float() reads neither
_COMMA_NUMBER = re.compile(r"[+-]?\d[\d.,]*,\d+")
_COMMA_HINT = (" (a decimal comma or a thousands separator: seqlab reads '.' as the decimal point and no "
               "separators, as float() does; save the file with '.' decimals, e.g. 1.5, and no thousands commas)")
_FILL_FIX = "--fill linear or --fill ffill fills missing values, or clean the series first"


def load_csv_column(path: str | Path, column: str) -> torch.Tensor:
    """The numbers of one named column of a comma-separated file (a .tsv file: tab-separated) with a
    header row, in file order; or of a file without one, whose first line is all numbers: its columns
    named by position, "1", "2", ..., or "value" for its one column (`csv_columns.numbered`).

    No row may have more fields than the header (a row with more is usually an unquoted
    thousands separator, "1,500"), nor too few to reach the column; trailing empty fields count for
    nothing (a trailing comma on the rows or the header only); blank lines are skipped (`read_csv_series`
    says how a one-column file's are read). Bad input is a SeqlabError naming the line (the line a row
    starts on, as an editor counts them).
    """
    return load_csv_series(path, column, None, say=lambda line: None)[0]  # (blank lines skipped silently)


def load_csv_series(path: str | Path, column: str, date_column: str | None = "auto", *, log=None,
                    fill: str = "none", say=None) -> tuple[torch.Tensor, DateIndex | None]:
    """`load_csv_column`'s numbers and, when the file has a date column, their `DateIndex`
    (`read_csv_series`' x and dates)."""
    read = read_csv_series(path, column, date_column, log=log, fill=fill, say=say)
    return read.x, read.dates


@dataclasses.dataclass(frozen=True)
class CsvSeries:
    """A CSV column as `read_csv_series` read it."""

    x: torch.Tensor  # (T,) float32, its missing values filled (--fill)
    dates: DateIndex | None  # the timestamps of positions 0 .. T-1, when the file has them
    observed: torch.Tensor  # (T,) bool: False where --fill filled the value in (never score it as observed)
    first: int = 0  # x[0]'s position in the file: its row (from 0), or with dates its step from the first row's
    dropped: int = 0  # empty rows before the first value that --fill dropped (first > 0 then)

    def dropped_said(self, fill: str) -> str:
        """' (after --fill linear dropped its first 2 rows, empty)' when rows were dropped, else ''."""
        n = self.dropped
        return (f" (after --fill {fill} dropped its first {n} rows, empty)" if n > 1 else
                f" (after --fill {fill} dropped its first row, empty)" if n else "")


def read_csv_series(path: str | Path, column: str, date_column: str | None = "auto", *, log=None,
                    fill: str = "none", say=None, source: str = "", warn: bool = True,
                    grid: DateIndex | None = None, max_gap: int | None = None,
                    max_gap_source: str = "") -> CsvSeries:
    """The numbers of a CSV column and, when the file has a date column, their `DateIndex`.

    `date_column`: a column's name (its cells must be ISO 8601 dates or date-times, strictly
    increasing and evenly spaced, else a SeqlabError naming the first line at fault; daily dates on
    weekdays only are business days, a holiday a missing date); "auto": the
    one column named date, time, timestamp or datetime (any case), or unnamed and first (pandas'
    to_csv index: `csv_columns.date_named`), when its first cell is an ISO
    date, said to `log` (a column so named that holds other values is not used, and `log` says
    so); None or "none": no dates. A series of fewer than two values gets no dates (no step).

    `fill`: "none" refuses a missing date (a gap of whole steps) and an empty or NaN cell (NA,
    null, ...), naming its line; "linear" and "ffill" fill them (`seqlab.data.fill.fill_gaps`: the
    dates' positions, or an undated series' rows), drop empty rows before the first value, and
    refuse empty cells after the last. `say` hears what was filled, as whole stderr lines
    ("seqlab: note: --fill linear filled ..."; `source` follows the method's name there: " (the
    run's)"; `warn`: also the warning over a tenth filled, as training hears it); None prints them
    to stderr. A blank line is no row, except between the values of a one-column file, where it is
    an empty cell, as in a file of several columns: a missing value that `fill` fills; without
    `fill` it is skipped (as pandas does), and `say` hears how many were. `grid`: the dates are read on
    that index's step (a run's, as `seqlab forecast --data` reads a newer file when it fills it, or
    for a business-day run: filled on the run's grid, not its own; a few weekdays are its days). `max_gap`: with `fill`, a run of more missing values
    than that is refused, naming it (`fill_gaps`; `max_gap_source` follows the flag: " (the run's)").
    """
    if fill not in FILLS:
        raise SeqlabError(f"--fill {fill}: expected one of {', '.join(FILLS)}")
    check_max_gap(max_gap, fill)
    path = Path(path).expanduser()  # (~ as the CLI and pandas' readers read it)
    name = repr(str(path))
    auto = date_column == "auto"
    if date_column is not None and date_column.lower() == "none":
        date_column = None
    if date_column is not None and date_column == column:
        raise SeqlabError(f"--date-column and --column both name {column!r}: the dates and the values must be "
                          "two columns")
    asked = {"--column": column, "--date-column": date_column}
    with open_csv(path, asked) as (reader, header, header_line, delimiter):  # (a .tsv file's delimiter: a tab)
        numbers = not header_line  # no header row: the first line is values, the columns named by position
        col = column_index(name, header, column, "--column", numbers=numbers, delimiter=delimiter,
                           rows=reader.peeked)
        dcol = None
        if auto:
            named = date_named(header, col)
            if len(named) > 1 and log is not None:
                log(f"CSV file {name} has several date-like columns ({quoted([header[i] for i in named])}): "
                    "none is used; name one with --date-column")
            dcol = named[0] if len(named) == 1 else None
        elif date_column is not None:
            dcol = column_index(name, header, date_column, "--date-column", numbers=numbers, delimiter=delimiter,
                                rows=reader.peeked)
        width = len(trimmed(header))  # (a trailing comma on every line, or on the header or the rows only)
        reach = max(col, -1 if dcol is None else dcol)
        values: list[float] = []  # NaN: a missing value (refused unless filled)
        lines: list[int] = []  # the line of each value
        stamps: list[tuple[int, str]] = []  # (line, cell) of the date column
        blank: list[int] = []  # a one-column file's blank lines since its last value: empty cells
        skipped: list[int] = []  # those read as no row (without --fill)
        end = header_line
        for row in reader:
            line_no, end = end + 1, reader.line_num  # the line the row starts on
            if not row or all(not c.strip() for c in row):
                blank += [line_no] if width == 1 and (values or row) else []  # (an empty line before
                # the first value is nothing; a quoted "" there is an empty cell, which --fill drops)
                continue  # blank line (after the last value: the file's end, never a value)
            if blank and fill != "none":
                values += [math.nan] * len(blank)
                lines += blank
            elif blank:
                skipped += blank
            blank = []
            fields = len(trimmed(row))
            if fields > width or len(row) <= reach:  # a field too many, or too few to reach the column
                raise SeqlabError(bad_row(name, line_no, fields, width, "the first line" if numbers else "the header",
                                          delimiter))
            cell = row[col].strip()
            value = _number(cell, f"CSV file {name}, line {line_no}, column {column!r}", fill)
            values.append(value)
            lines.append(line_no)
            if dcol is not None:
                stamps.append((line_no, row[dcol].strip()))
    if not values:
        raise SeqlabError(f"CSV file {name} has no values in column {column!r}")
    where = f"CSV file {name}"
    say = say if say is not None else to_stderr
    limit = dict(max_gap=max_gap, max_gap_source=max_gap_source)
    undated = dict(fill=fill, where=f"{where}, column {column!r}", say=say, source=source, warn=warn, limit=limit)
    if skipped:  # (a one-column file: no dates)
        n = len(skipped)
        say(f"seqlab: note: CSV file {name}: {n} blank line{'s' if n != 1 else ''} skipped (the first: line "
            f"{skipped[0]}), the values around {'them' if n != 1 else 'it'} read as consecutive steps; a blank line "
            "in a one-column file is an empty cell: --fill linear or --fill ffill fills it as a missing value")
    if dcol is None or len(stamps) < 2:
        return _undated(values, lines, **undated)
    if auto and parse_timestamp(stamps[0][1]) is None:
        if log is not None and named_as_date(header[dcol]):  # (an unnamed index of numbers: nothing to say)
            log(f"column {header[dcol]!r} does not hold ISO dates (line {stamps[0][0]}: {_show(stamps[0][1])}): "
                "the rows are read as evenly spaced steps without dates (--date-column NAME names a date column)")
        return _undated(values, lines, **undated)
    hint = " (or --date-column none to read the rows as evenly spaced steps without dates)" if auto else ""
    try:
        dates, positions = DateIndex.read_cells(stamps, header[dcol], where, hint, gaps=fill != "none",
                                                grid=grid)
    except UnevenDates as exc:
        if not auto:
            raise
        # a column found by its name, in order but unevenly spaced (gaps): the rows are read as steps, as
        # before dates were read; out of order or repeated dates stay refused
        if log is not None:
            fills = "; --fill linear or --fill ffill fills the missing dates" if exc.missing is not None else ""
            log(f"{str(exc).split('; a forecast needs')[0]}: the rows are read as evenly spaced steps without "
                f"dates (--date-column NAME insists on the dates{fills})")
        return _undated(values, lines, **undated)
    observed, first, dropped = [True] * len(values), 0, 0
    if fill != "none":  # (positions on the whole file's dates)
        done, said = _filled(positions, values, fill, f"{where}, column {column!r}", dates.iso, "", source, warn,
                             every=f" (one every {dates.every})", **limit)
        observed, first, dropped = done.observed, done.first, done.dropped
        if done.dropped:  # the dates from the first value on, as the whole file's grid has them
            dates = dates.tail(done.first, len(done.values))
        for line in said:
            say(line)
        values = done.values
    if log is not None:
        how = ("found by its name" if named_as_date(header[dcol]) else
               "the unnamed first column, as pandas' to_csv writes an index")
        found = f" ({how}; --date-column none reads the rows without dates)" if auto else ""
        business = " (Mon-Fri, weekends skipped, as pandas' freq 'B')" if dates.business else ""
        log(f"dates from column {header[dcol]!r}{found}: {len(values)} values from {dates.iso(0)} to "
            f"{dates.iso(len(values) - 1)}, one every {dates.every}{business}")
    return CsvSeries(torch.tensor(values, dtype=torch.float32), dates, torch.tensor(observed), first, dropped)


def _number(cell: str, where: str, fill: str) -> float:
    """The value of a cell: a number, or NaN for a missing one (empty, NaN, NA, ...) when `fill`
    fills those; else a SeqlabError saying what is wrong with it."""
    value = math.nan
    if cell.lower() not in MISSING_CELLS:
        try:
            value = float(cell)
        except ValueError:
            hint = (" (it spans lines: an unclosed quote \" before it?)" if "\n" in cell else
                    _COMMA_HINT if _COMMA_NUMBER.fullmatch(cell.strip()) else "")
            raise SeqlabError(f"{where}: {_show(cell)} is not a number{hint}") from None
    if math.isnan(value):
        if fill != "none":
            return value
        said = ("the cell is empty" if not cell else f"{_show(cell)} is NaN/inf" if cell.lower().endswith("nan")
                else f"{_show(cell)} marks a missing value")
        raise SeqlabError(f"{where}: {said}: {_FILL_FIX}")
    if not math.isfinite(value):
        raise SeqlabError(f"{where}: {_show(cell)} is NaN/inf; clean the series first (--fill fills missing values, "
                          "not infinite ones)")
    if abs(value) >= FLOAT32_OVERFLOW:  # finite here, inf as the float32 the series is kept in
        raise SeqlabError(f"{where}: {_show(cell)} overflows float32 (beyond its largest value, about 3.40282e38), "
                          "in which the series is kept: rescale the series (e.g. divide it by a power of ten) or "
                          "clean the value")
    return value


def _filled(positions: list[int], values: list[float], fill: str, where: str, name, unit: str, source: str,
            warn: bool, every: str = "", **limit) -> tuple[Filled, list[str]]:
    """`fill_gaps` of a column (its refusals prefixed with `where`) and the stderr lines saying what
    it filled (`fill_lines`), for the caller to say once nothing else is refused."""
    try:
        done = fill_gaps(positions, values, fill, name=name, unit=unit, every=every, **limit)
    except SeqlabError as exc:
        raise SeqlabError(f"{where}: {exc}") from None
    return done, fill_lines(fill, done, name, unit, source=source, warn=warn)


def to_stderr(line: str) -> None:
    """Say a whole stderr line ('seqlab: note: ...'): where --fill's notes go unless told otherwise."""
    print(line, file=sys.stderr)


def _undated(values: list[float], lines: list[int], fill: str, where: str, say, source: str, warn: bool,
             limit: dict) -> CsvSeries:
    """A series without dates, its missing values filled by row (`fill` other than none)."""
    if fill == "none":
        return CsvSeries(torch.tensor(values, dtype=torch.float32), None, torch.ones(len(values), dtype=torch.bool))
    done, said = _filled(list(range(len(values))), values, fill, where, lambda p: str(lines[p]), "line", source, warn,
                         **limit)
    for line in said:
        say(line)
    return CsvSeries(torch.tensor(done.values, dtype=torch.float32), None, torch.tensor(done.observed), done.first,
                     done.dropped)
