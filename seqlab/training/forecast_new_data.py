"""Forecasting from a newer CSV file with a trained run (`seqlab forecast --data`): the file read
the run's way, and a warning when its values lie far from what the model was trained on."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from seqlab.data.csv_columns import MissingColumn, auto_date_column, quoted
from seqlab.data.timeseries import read_csv_series, to_stderr
from seqlab.errors import SeqlabError
from seqlab.training.forecast_series import Series

FAR_STD = 5.0  # a window this many training std from the training mean is an extrapolation


def new_data_series(path: str, column: str | None, date_column: str | None, trained: Series, cfg, run: str, log,
                    fill: str | None = None, say=None, max_gap: int | str | None = None) -> Series:
    """The series of CSV file `path` for forecasting with a trained run (`seqlab forecast --data`).

    Its column (`column`, else the run's) is read as the run's CSV was: the same reader and
    checks. It keeps the run's TRAINING mean and std: the model reads windows on the scale it was
    trained on (a scaler re-fitted on this file would shift and stretch every input). When the run
    had dates, the file's are read strictly from `date_column` (default: the run's resolved date
    column), as training reads an explicit --date-column: a gap, uneven spacing or a cell that is
    not ISO 8601 is refused, as is a step other than the run's (reading the rows as consecutive
    steps across a gap would forecast from the wrong inputs and print the wrong dates). "none"
    reads the rows as steps, as does a run without dates (`log` hears when the file has a date
    column then, unless "none" said so). `log` hears notes (the dates read).

    `fill` (none, linear, ffill; default: the run's --fill) fills the file's missing dates and
    empty cells as training did, on the run's step when the run had dates (a file every other day
    for a daily run has a day missing between its rows; a business-day run's file has its holidays
    missing, never its weekends); `say` hears what it filled, as whole
    stderr lines. Both hear nothing when the file is refused (a refusal stays one line). The
    series' `observed` marks the values filled in, and its `offset` counts the empty rows dropped
    before its first value (positions in the file: what --start and the printed times count).
    `max_gap` (default: the run's --max-gap, when the file is filled; "none": no limit) refuses a
    longer run of missing values (`read_csv_series`)."""
    tau = trained.tau
    source = " (the run's)" if fill is None else ""
    fill = cfg.series.fill if fill is None else fill
    max_gap_source = " (the run's)" if max_gap is None else ""
    if max_gap is None and fill != "none":
        max_gap = cfg.series.max_gap
    elif max_gap == "none":  # (lifts the run's limit)
        max_gap = None
    own_column = column is None
    if own_column:
        if cfg.series.column is None:
            raise SeqlabError(f"the run in {run!r} was trained on the book's sine, so its checkpoint names no CSV "
                              "column: give --column NAME, the column of --data to forecast")
        column = cfg.series.column
    told_dates = date_column is not None  # (--date-column none: no note about the file's dates)
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
    def read(grid):
        notes = []  # (who hears it, what), said once nothing is refused
        return notes, read_csv_series(path, column, date_column, log=lambda n: notes.append((log, n)), fill=fill,
                                      say=lambda line: notes.append((say or to_stderr, line)), source=source,
                                      warn=False, grid=grid, max_gap=max_gap,
                                      max_gap_source=max_gap_source)

    # on the run's grid when filling, and always for business days (a few weekdays with no weekend
    # between them are as likely calendar days on their own)
    business = trained.dates is not None and trained.dates.business
    on_grid = (fill != "none" or business) and date_column is not None and trained.dates is not None
    try:
        try:
            notes, got = read(trained.dates if on_grid else None)
        except SeqlabError as exc:
            if not on_grid or isinstance(exc, MissingColumn):
                raise
            try:  # on its own step: a file spaced otherwise than the run is refused below, saying so
                notes, got = read(None)
            except SeqlabError:
                raise exc from None
            daily = business and got.dates is not None and not got.dates.months and got.dates.step == timedelta(days=1)
            if got.dates is None or _same_step(got.dates, trained.dates) or daily:
                raise exc from None  # (daily for a business run: the grid's refusal names the weekend row)
    except MissingColumn as exc:
        if exc.delimiter:  # the file is probably not comma-separated: that message says so
            raise
        columns = quoted(exc.header)
        if exc.flag == "--column":
            whose = " (the run's column)" if own_column else ""
            fix = exc.headerless or "name the column to forecast with --column NAME"
            raise SeqlabError(f"CSV file {path!r} has no column {exc.column!r}{whose}; its columns are: {columns}: "
                              f"{fix}") from None
        raise SeqlabError(f"CSV file {path!r} has no column {exc.column!r}, the run's date column; its columns are: "
                          f"{columns}: name the file's date column with --date-column NAME (or --date-column none "
                          "to read the rows as steps without dates)") from None
    x, dates = got.x, got.dates
    if len(x) < tau:
        raise SeqlabError(f"column {column!r} of CSV file {path!r}{got.dropped_said(fill)} has {len(x)} "
                          f"value{'s' if len(x) != 1 else ''}: the model reads the last tau = {tau}, so it needs at "
                          f"least {tau}")
    if dates is not None and not _same_step(dates, trained.dates):
        raise SeqlabError(f"CSV file {path!r} has one value every {dates.every}, the run in {run!r} one every "
                          f"{trained.dates.every}: the model forecasts one step of {trained.dates.every} at a time; "
                          f"resample the file to one value every {trained.dates.every}"
                          f"{_fill_hint(dates, trained.dates, fill)}")
    if trained.dates is not None and dates is None and len(x) > 1:
        notes.append((log, f"the run's series had dates, none were read from CSV file {path!r}: the times printed "
                           "are positions in the file (from 1)"))
    unread = auto_date_column(path, column) if trained.dates is None and not told_dates else None
    if unread:  # (the run has no step to continue them by)
        notes.append((log, f"the run was trained without dates, so {path}'s column {unread!r} is not read: forecasts "
                           "are numbered by position (train with its dates to get dated forecasts)"))
    for hear, note in notes:
        hear(note)
    # every window of the file is an input; none of it is held out (first_heldout is its end)
    return dataclasses.replace(trained, x=x, n_train=max(len(x) - tau, 0), noise_floor=None, dates=dates,
                               observed=got.observed, offset=got.first)


def start_position(start: int | None, series: Series) -> int:
    """The series' position of `--start` (None: its end), which counts positions in the file: the
    empty rows --fill dropped before the first value (`series.offset`) come first."""
    if start is None:
        return len(series.x)
    if series.offset and not series.offset + series.tau <= start <= series.offset + len(series.x):
        raise SeqlabError(f"--start {start}: prediction must start between position {series.offset + series.tau} "
                          f"(--fill dropped the file's first {series.offset} positions, empty; then tau = {series.tau} "
                          f"values observed) and {series.offset + len(series.x)} (the file's end)")
    return start - series.offset


def fill_said(fill: str | None, cfg) -> str:
    """How notes name the fill of `seqlab forecast --data`: "--fill linear (the run's)" when it came
    from the run."""
    return f"--fill {cfg.series.fill} (the run's)" if fill is None else f"--fill {fill}"


def _fill_hint(dates, run, fill: str) -> str:
    """' (or --fill ...)' when the file steps by a whole number of the run's steps: --fill fills in those
    between its rows (on the run's grid, as training's); business days for a daily run: their weekends."""
    if fill != "none" or bool(dates.months) != bool(run.months):
        return ""
    if dates.business != run.business:  # weekdays for a run on calendar days: --fill fills their weekends
        daily = dates.business and run.step == timedelta(days=1)
        return " (or --fill linear or --fill ffill reads it on the run's calendar days, its weekends filled)" \
            if daily else ""
    whole = dates.months % run.months == 0 if run.months else dates.step % run.step == timedelta(0)
    return f" (or --fill linear or --fill ffill fills in the steps of {run.every} between its rows)" if whole else ""


def _same_step(dates, run) -> bool:
    return (dates.months, dates.step, dates.business) == (run.months, run.step, run.business)


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
             f"the {len(window)} values before --start {start + series.offset}")
    which = f"column {column!r}" if column else "the column"
    return (f"{where} of CSV file {path!r} (mean {window.mean().item():.4g}) lie {far:.1f} training std from "
            f"the run's training mean ({mean:.4g}, std {std:.4g}): the model never saw values like these: its "
            f"forecast is an extrapolation; is {which} the run's series (--column names the one to forecast)?")
