"""The series a forecast run reads (seed 002): the book's noisy sine or a CSV column, its split
into training rows and the held-out part, and its scaling; and, on --resume, the check that a
CSV is still the one the run was trained on. `seqlab.training.forecast` trains on it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from seqlab.config import PathText
from seqlab.data.csv_columns import value_column
from seqlab.data.dates import DateIndex
from seqlab.data.fill import check_max_gap
from seqlab.data.timeseries import NOISE_STD, check_series, read_csv_series, sine_series
from seqlab.data.user_files import sha256_of
from seqlab.errors import SeqlabError


@dataclass
class SeriesData:
    data: PathText | None = None  # a CSV file (comma-separated; a .tsv file tab-separated); none: the book's noisy sine
    column: str | None = None  # the CSV column to forecast; none: the file's only column besides its dates (several are refused, listing them). A file whose first line is all numbers has no header row: its columns are 1, 2, ... by position, its one column 'value' (but 0,1,...,n-1, pandas' labels of an unnamed frame, is a header; a lone 0, or a name that is both a cell of that line and a position, is refused as ambiguous)
    date_column: str | None = "auto"  # CSV column of ISO dates (increasing, evenly spaced); auto: one named date/time/timestamp/datetime, or an unnamed first column (pandas' index); none: no dates
    fill: Literal["none", "linear", "ffill"] = "none"  # a CSV's missing dates and empty/NaN cells: none refuses them; linear interpolates them between their neighbours; ffill carries the last value forward (empty rows before the first value are dropped; after the last, refused)
    max_gap: int | None = None  # with --fill: the longest run of missing values (in steps) it may fill; a longer gap is refused, naming it; none: no limit
    length: int = 1000  # the sine's T
    noise: float = NOISE_STD  # the sine's noise std (its MSE floor is noise^2)
    series_seed: int = 0  # the sine's noise seed (the model's init uses --seed)
    tau: int = 4  # the model sees the last tau values
    n_train: int | None = None  # training rows; none: the first 604 values (sine) / 60% (CSV) minus tau, at least 1
    standardize: bool | None = None  # none: yes for a CSV, no for the sine
    season: int | None = None  # the season's length in steps (7: a weekly cycle of daily data): seasonal-naive baseline


@dataclass
class Series:
    """A series in its own units, plus what the model needs to read it."""

    x: torch.Tensor  # (T,)
    tau: int
    n_train: int  # training rows; held-out targets start at position n_train + tau
    mean: float = 0.0
    std: float = 1.0
    noise_floor: float | None = None  # noise variance, when known (the sine)
    dates: DateIndex | None = None  # the timestamps of positions 0, 1, ..., when the CSV has them
    season: int | None = None  # the seasonal-naive baseline's season, in steps
    observed: torch.Tensor | None = None  # (T,) bool: False where --fill filled the value in (not scored); None: all
    offset: int = 0  # x[0]'s position in its CSV file (empty rows --fill dropped before it): printed times count it

    @property
    def first_heldout(self) -> int:
        return self.n_train + self.tau

    def scaled(self) -> torch.Tensor:
        return (self.x - self.mean) / self.std


def load_series(s: SeriesData, *, log=None, say=None) -> Series:
    """The series `s` names, its split and scaling; `log` hears which date column a CSV's dates
    come from, `say` the --fill notes (whole stderr lines; None: printed to stderr)."""
    if s.tau <= 0:
        raise SeqlabError(f"--tau must be a positive number of lags, got {s.tau}")
    if s.season is not None and s.season < 2:
        raise SeqlabError(f"--season must be at least 2 (the season's length in steps, e.g. 7 for daily data with a "
                          f"weekly cycle), got {s.season}")
    check_max_gap(s.max_gap, s.fill)
    dates, observed, offset = None, None, 0
    if s.data is None:
        if s.column is not None:
            raise SeqlabError("--column needs --data FILE.csv (without --data the book's sine is used)")
        if s.date_column is not None and s.date_column.lower() not in ("auto", "none"):
            raise SeqlabError("--date-column needs --data FILE.csv (the book's sine has no dates)")
        _, x = sine_series(s.length, noise=s.noise, seed=s.series_seed)
        name, floor, default_window = "the sine series", s.noise ** 2, 604
    else:
        s = named_column(s, log)
        read = read_csv_series(s.data, s.column, s.date_column, log=log, fill=s.fill, say=say,
                               max_gap=s.max_gap)
        x, dates, observed = read.x, read.dates, read.observed if s.fill != "none" else None
        offset = read.first
        name, floor, default_window = f"column {s.column!r} of {s.data}{read.dropped_said(s.fill)}", None, None
    x = check_series(x, s.tau, name=name)
    if s.season is not None and s.season >= len(x):
        raise SeqlabError(f"--season {s.season} is as long as {name} ({len(x)} values) or longer: the seasonal-naive "
                          "baseline needs a season shorter than the series")
    rows = len(x) - s.tau
    if rows < 2:  # no split at all, whatever --n-train says (and no 1-step prediction to hold out)
        longer = "a longer series (--length)" if s.data is None else "a longer series (more rows in the CSV)"
        raise SeqlabError(f"{name} has {len(x)} values, too short for tau = {s.tau} lags: it needs at least "
                          f"tau + 2 = {s.tau + 2} (one training row and one held out); use {longer} or fewer "
                          "lags (--tau)")
    if s.n_train is None:
        # the training window is the book's first 604 values (600 rows of tau = 4) for the sine, the
        # first 60% of the values for a CSV, whatever tau is (rows = window - tau). On a short series
        # that window can hold tau values or fewer (60% of 8 is 4): the default is clamped into the
        # valid range 1 .. rows - 1 (not empty: rows >= 2 above) rather than refused, as the user
        # set nothing wrong
        window = default_window if default_window else int(0.6 * len(x))
        n_train = max(1, min(window - s.tau, rows - 1))
    else:
        n_train = s.n_train
        if not 1 <= n_train < rows:
            raise SeqlabError(f"{name} has {len(x)} values, i.e. {rows} rows of tau = {s.tau} lags; the training "
                              f"rows must be between 1 and {rows - 1} to leave a held-out part, got --n-train "
                              f"{n_train}")
    standardize = s.standardize if s.standardize is not None else s.data is not None
    mean, std = 0.0, 1.0
    if standardize:
        window = x[: n_train + s.tau]
        mean, std = window.mean().item(), window.std().item()
        std = std if std > 0 else 1.0
    return Series(x, s.tau, n_train, mean, std, floor, dates, s.season, observed, offset)


def named_column(s: SeriesData, log=None) -> SeriesData:
    """`s` naming its CSV column: --column, else the file's only value column, said to `log`
    (`value_column`: several are refused, listing them). The run keeps the name in its config, so
    that `seqlab forecast --data` and --resume read the same column."""
    if s.data is None or s.column is not None:
        return s
    return dataclasses.replace(s, column=value_column(s.data, s.date_column, log))


def resume_series_data(s: SeriesData, ckpt, out: Path) -> SeriesData:
    """--resume: `s` reading the CSV file the run was trained on. A file that changed (or is gone)
    since is refused: the series would be split and standardised anew under the trained weights,
    and metrics.jsonl would mix two held-out parts. Runs from before the checkpoints kept the
    file's sha256 (or its dates) read it as they did."""
    if s.data is None:
        return s
    kept = ckpt.meta.get("data_file")
    if not isinstance(kept, dict):  # checked after reading (check_same_series); no dates then
        return dataclasses.replace(s, date_column=None) if s.date_column == "auto" else s
    want, at = kept.get("sha256"), kept.get("path")
    found = [p for p in dict.fromkeys([Path(s.data)] + ([Path(at)] if isinstance(at, str) else [])) if p.is_file()]
    for path in found:
        if sha256_of(path) == want:
            return dataclasses.replace(s, data=str(path))
    if not found:
        raise SeqlabError(f"--resume: the run's CSV file {at!r} (--data {s.data}) is not there any more: put it back "
                          f"to resume the run in {str(out)!r}, or train on the file where it is now as a new run "
                          "(another --out, or --overwrite)")
    raise SeqlabError(f"--resume: CSV file {str(found[0])!r} has changed since the run in {str(out)!r} started (its "
                      "sha256 differs): resuming would split and standardise the series anew under the trained "
                      "weights; restore the file the run was trained on, or train on the new file as a new run "
                      "(another --out, or --overwrite)")


def check_same_series(series: Series, ckpt, out: Path, same_file: bool = False) -> None:
    """Refuse to resume on other values than the run was trained on: a changed file, or (`same_file`:
    its fingerprint matched) the same file read otherwise by this seqlab than by the one that trained."""
    kept = ckpt.extra.get("series")
    if kept is not None and not torch.equal(series.x, kept):
        why = ("the file is the one it was trained on, but this seqlab reads it otherwise (since 2026-12-01 a "
               "blank line between the values of a one-column file is an empty cell, filled by --fill); resume "
               "with the seqlab that trained the run" if same_file else "the file changed since; restore it")
        raise SeqlabError(f"--resume: the series read from the CSV file ({len(series.x)} values) is not the one the "
                          f"run in {str(out)!r} was trained on ({len(kept)} values): {why}, or train on it as a new "
                          "run (another --out, or --overwrite)")
