"""Forecasting from a newer CSV file with a trained run (`seqlab forecast --data`): the file read
the run's way, and a warning when its values lie far from what the model was trained on."""

from __future__ import annotations

import dataclasses
import sys

from seqlab.data.timeseries import MissingColumn, load_csv_series
from seqlab.errors import SeqlabError
from seqlab.training.forecast import Series

FAR_STD = 5.0  # a window this many training std from the training mean is an extrapolation


def new_data_series(path: str, column: str | None, date_column: str | None, trained: Series, cfg, run: str, log,
                    fill: str | None = None, say=None) -> Series:
    """The series of CSV file `path` for forecasting with a trained run (`seqlab forecast --data`).

    Its column (`column`, else the run's) is read as the run's CSV was: the same reader and
    checks. It keeps the run's TRAINING mean and std: the model reads windows on the scale it was
    trained on (a scaler re-fitted on this file would shift and stretch every input). When the run
    had dates, the file's are read strictly from `date_column` (default: the run's resolved date
    column), as training reads an explicit --date-column: a gap, uneven spacing or a cell that is
    not ISO 8601 is refused, as is a step other than the run's (reading the rows as consecutive
    steps across a gap would forecast from the wrong inputs and print the wrong dates). "none"
    reads the rows as steps, as does a run without dates. `log` hears notes (the dates read).

    `fill` (none, linear, ffill; default: the run's --fill) fills the file's missing dates and
    empty cells as training did; `say` hears what it filled, as whole stderr lines. Both hear
    nothing when the file is refused (a refusal stays one line)."""
    tau, notes = trained.tau, []  # (who hears it, what), said once nothing is refused
    fill = cfg.series.fill if fill is None else fill
    own_column = column is None
    if own_column:
        if cfg.series.column is None:
            raise SeqlabError(f"the run in {run!r} was trained on the book's sine, so its checkpoint names no CSV "
                              "column: give --column NAME, the column of --data to forecast")
        column = cfg.series.column
    if date_column is None:
        date_column = trained.dates.column if trained.dates else None
    elif date_column.lower() == "none":
        date_column = None
    elif trained.dates is None:  # no step to continue or check the file's dates against
        raise SeqlabError(f"--date-column {date_column}: the run in {run!r} has no dates, so it reads the rows of "
                          "--data as steps; leave --date-column out")
    elif date_column.lower() == "auto":
        raise SeqlabError(f"--date-column auto is for training: forecast reads the run's date column "
                          f"({trained.dates.column!r}) unless --date-column names another (or none)")
    try:
        x, dates = load_csv_series(path, column, date_column, log=lambda n: notes.append((log, n)), fill=fill,
                                   say=lambda line: notes.append((say or _stderr, line)))
    except MissingColumn as exc:
        if exc.delimiter:  # the file is probably not comma-separated: that message says so
            raise
        columns = ", ".join(exc.header)
        if exc.flag == "--column":
            whose = " (the run's column)" if own_column else ""
            raise SeqlabError(f"CSV file {path!r} has no column {exc.column!r}{whose}; its columns are: {columns}: "
                              "name the column to forecast with --column NAME") from None
        raise SeqlabError(f"CSV file {path!r} has no column {exc.column!r}, the run's date column; its columns are: "
                          f"{columns}: name the file's date column with --date-column NAME (or --date-column none "
                          "to read the rows as steps without dates)") from None
    if len(x) < tau:
        raise SeqlabError(f"column {column!r} of CSV file {path!r} has {len(x)} value{'s' if len(x) != 1 else ''}: "
                          f"the model reads the last tau = {tau}, so it needs at least {tau}")
    if dates is not None and (dates.months, dates.step) != (trained.dates.months, trained.dates.step):
        raise SeqlabError(f"CSV file {path!r} has one value every {dates.every}, the run in {run!r} one every "
                          f"{trained.dates.every}: the model forecasts one step of {trained.dates.every} at a time; "
                          f"resample the file to one value every {trained.dates.every}")
    if trained.dates is not None and dates is None and len(x) > 1:
        notes.append((log, f"the run's series had dates, none were read from CSV file {path!r}: the times printed "
                           "are positions in the file (from 1)"))
    for hear, note in notes:
        hear(note)
    # every window of the file is an input; none of it is held out (first_heldout is its end)
    return dataclasses.replace(trained, x=x, n_train=max(len(x) - tau, 0), noise_floor=None, dates=dates)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def far_from_training(series, trained, start: int, path: str, column: str | None) -> str | None:
    """A warning when the tau values the forecast starts from lie over FAR_STD std from the mean of
    the run's training window (in its units): the model never saw such inputs. None otherwise."""
    window, seen = series.x[start - series.tau:start], trained.x[:trained.first_heldout]
    mean, std = seen.mean().item(), seen.std().item() if len(seen) > 1 else 0.0
    if not std > 0:
        return None
    far = abs(window.mean().item() - mean) / std
    if far <= FAR_STD:
        return None
    where = (f"the last {len(window)} values" if start == len(series.x) else
             f"the {len(window)} values before --start {start}")
    which = f"column {column!r}" if column else "the column"
    return (f"{where} of CSV file {path!r} (mean {window.mean().item():.4g}) lie {far:.1f} training std from "
            f"the run's training mean ({mean:.4g}, std {std:.4g}): the model never saw values like these: its "
            f"forecast is an extrapolation; is {which} the run's series (--column names the one to forecast)?")
