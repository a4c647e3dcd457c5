"""Filling the missing values of an evenly spaced series (`--fill linear|ffill`), as pandas'
`df.asfreq(step).interpolate()` / `.ffill()` would, before a forecaster reads it.

A series arrives as (positions, values): each row's place on the series' grid of steps (from its
dates: `DateIndex.read_cells(..., gaps=True)`; an undated series' rows are 0, 1, 2, ...) and its
value, NaN for an empty cell. A position no row has is a missing date. Both are filled alike:

    positions  0    1    2    3    4    5          (row 3 absent: a missing date; row 2 empty)
    values     1.0  2.0  NaN  --   5.0  6.0
    linear     1.0  2.0  3.0  4.0  5.0  6.0        (on the straight line between 2.0 and 5.0:
    ffill      1.0  2.0  2.0  2.0  5.0  6.0         equal steps, so position is time)

Missing values before the first known one cannot be filled from anything: those rows are dropped
(`Filled.first` says where the series now starts, and the reader says so). Missing values after
the last known one are refused for both methods: a forecast starts from the series' last values,
and filling them would invent its starting point.

`Filled.observed` marks the values that were read, not filled: a filled value is never scored as
if observed (held-out MSEs, `seqlab forecast`'s "actual" column).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from seqlab.errors import SeqlabError

FILLS = ("none", "linear", "ffill")
LARGE_SHARE = 0.1  # a larger share of filled values is warned about: the model learns the filler's shape
# more filled values than observed ones is refused: mostly invented, or one date far off (a year's typo)
MOST = 0.5


@dataclass(frozen=True)
class Filled:
    """A filled series: `values[i]` is at grid position `first + i`, one per step, none missing."""

    values: list[float]
    first: int  # the grid position of values[0]: the first known value (rows before it were dropped)
    dropped: int  # rows dropped before the first known value (their values were empty)
    filled: int  # values filled in, missing dates and empty cells together
    missing_dates: int  # of those, grid positions no row had
    longest: tuple[int, int] | None  # grid positions of the first and last value of the longest filled run
    observed: list[bool]  # observed[i]: values[i] was read from the series, not filled in

    @property
    def longest_steps(self) -> int:
        return 0 if self.longest is None else self.longest[1] - self.longest[0] + 1


def _span(name: Callable[[int], str], a: int, b: int, unit: str) -> str:
    """Grid positions a..b in words: '2024-01-03..2024-01-04', 'lines 4..5', 'line 4'."""
    head = f"{unit}{'s' if unit and a != b else ''} " if unit else ""
    return head + (name(a) if a == b else f"{name(a)}..{name(b)}")


def check_max_gap(max_gap: int | None, fill: str) -> None:
    """A SeqlabError for a --max-gap that is not a positive count, or that comes without --fill."""
    if max_gap is None:
        return
    if isinstance(max_gap, bool) or not isinstance(max_gap, int) or max_gap < 1:
        raise SeqlabError(f"--max-gap must be a positive number of steps (the longest run of missing values --fill "
                          f"may fill), got {max_gap}")
    if fill == "none":
        raise SeqlabError(f"--max-gap {max_gap} limits the gaps that --fill fills: give --fill linear or --fill ffill "
                          "too (without --fill, every missing value is refused)")


def fill_gaps(positions: list[int], values: list[float], method: str, *,
              name: Callable[[int], str] = str, unit: str = "position", every: str = "",
              max_gap: int | None = None, max_gap_source: str = "") -> Filled:
    """The series of `values` at grid `positions` (strictly increasing), every step from its first
    known value to its last present, the missing ones filled by `method` (linear: on the straight
    line between the known neighbours, by position; ffill: the last known value carried forward).

    A SeqlabError when no value is known, when the last ones are missing, when a run of missing
    values is longer than `max_gap` steps (None: no limit; as pandas' interpolate(limit=...), but
    refused, not left half-filled: the model needs every value; `max_gap_source` follows the flag
    in the message: " (the run's)"), or when more than half the series would be filled in (`name`
    names a grid position in those messages, after `unit`: a date and "", or a line number and
    "line"; `every` describes the grid: " (one every 1 day)"). A SeqlabError too for a `method`
    other than those two, and for `positions` that do not fit `values`."""
    if method not in ("linear", "ffill"):  # (--fill's own choices are checked by its readers)
        nothing = "; 'none' fills nothing: leave the values as they are" if method == "none" else ""
        raise SeqlabError(f"fill method {method!r}: expected linear or ffill (linear interpolates between the known "
                          f"neighbours, ffill carries the last known value forward){nothing}")
    if len(positions) != len(values):
        raise SeqlabError(f"positions must be strictly increasing, one per value: got {len(positions)} positions for "
                          f"{len(values)} values; give each value its grid position")
    back = next((i for i in range(1, len(positions)) if positions[i] <= positions[i - 1]), None)
    if back is not None:
        raise SeqlabError(f"positions must be strictly increasing, one per value: positions[{back}] = "
                          f"{positions[back]} follows positions[{back - 1}] = {positions[back - 1]}; sort the values "
                          "by position, and keep one value of a repeated position")
    known = [i for i, v in enumerate(values) if not math.isnan(v)]
    if not known:
        raise SeqlabError("it has no values to fill from: every cell is empty or NaN")
    last_known = known[-1]
    if last_known != len(values) - 1:
        trailing = len(values) - 1 - last_known
        span, end = _span(name, positions[last_known + 1], positions[-1], unit), positions[last_known]
        raise SeqlabError(f"its last {trailing} value{'s are' if trailing != 1 else ' is'} empty ({span}): --fill "
                          f"{method} fills only between known values, and a forecast starts from the series' last "
                          f"values (filling them would invent its starting point): delete those rows, so that the "
                          f"series ends at its last known value ({_span(name, end, end, unit)})")
    first = positions[known[0]]
    total = positions[-1] - first + 1
    if max_gap is not None:
        _check_gaps(positions, known, max_gap, f"--max-gap {max_gap}{max_gap_source}", name, unit)
    if total - len(known) > MOST * total:  # (before building it: a typo can make it huge)
        raise SeqlabError(_mostly_filled(positions, known, method, total, name, unit, every))
    out, observed, longest = [values[known[0]]], [True], None
    for a, b in zip(known, known[1:]):  # each pair of known neighbours, and the run of missing steps between
        (pa, va), (pb, vb) = (positions[a], values[a]), (positions[b], values[b])
        for k in range(1, pb - pa):
            out.append(va + (vb - va) * k / (pb - pa) if method == "linear" else va)
        out.append(vb)
        observed += [False] * (pb - pa - 1) + [True]
        if pb - pa > 1 and (longest is None or pb - pa - 1 > longest[1] - longest[0] + 1):
            longest = (pa + 1, pb - 1)
    filled = total - len(known)
    missing_dates = total - (len(positions) - known[0])  # the grid's steps that no row has
    return Filled(out, first, known[0], filled, missing_dates, longest, observed)


def _check_gaps(positions: list[int], known: list[int], max_gap: int, flag: str, name, unit: str) -> None:
    """A SeqlabError naming the first run of missing values (between two known ones) longer than
    `max_gap` steps, and advising a --max-gap that fills the longest such run (one retry fills all)."""
    runs = [(pa + 1, pb - 1) for pa, pb in ((positions[a], positions[b]) for a, b in zip(known, known[1:]))
            if pb - pa - 1 > max_gap]
    if not runs:
        return
    (a, b), n = runs[0], runs[0][1] - runs[0][0] + 1
    head = f"its gap of {n:,} missing value{'s' if n != 1 else ''} ({_span(name, a, b, unit)})"
    if len(runs) == 1:
        raise SeqlabError(f"{head} is longer than {flag} allows: raise --max-gap to {n} or more to fill it, or clean "
                          "the file (resample the series, or cut it to a stretch without that gap)")
    la, lb = max(runs, key=lambda run: run[1] - run[0])  # (the first of equally long ones)
    raise SeqlabError(f"{head} (the first of {len(runs)} such gaps) is longer than {flag} allows: raise --max-gap to "
                      f"{lb - la + 1} or more (the longest of {len(runs)} such gaps, at {_span(name, la, lb, unit)}) "
                      "to fill them, or clean the file (resample the series, or cut it to stretches without those "
                      "gaps)")


def _mostly_filled(positions: list[int], known: list[int], method: str, total: int, name, unit: str,
                   every: str) -> str:
    """Why more than half of the series would be filled: its longest run of unknown values (missing
    dates and empty cells together), and a date typo suspected only when missing dates make it."""
    a, b = max(zip(known, known[1:]), key=lambda ab: positions[ab[1]] - positions[ab[0]])
    run = positions[b] - positions[a] - 1
    empty = b - a - 1  # rows between the two known values: empty cells; the rest of the run has no row
    kinds = [f"{n:,} {what}{'s' if n != 1 else ''}" for n, what in ((run - empty, "missing date"),
                                                                    (empty, "empty cell")) if n]
    steps = kinds[0] if len(kinds) == 1 else f"{run:,} steps ({' and '.join(kinds)})"
    at = _span(name, positions[a] + 1, positions[b] - 1, unit)
    said = (f"--fill {method} would fill {total - len(known):,} of its {total:,} values{every}, more than half (the "
            f"longest run of unknown values: {steps}, at {at})")
    if run - empty > MOST * total:  # one run of dates no row has makes most of it: perhaps a date far off
        return (said + f": is {_span(name, positions[b], positions[b], unit)} a typo (a date far off)? else resample "
                "the series to a coarser step first")
    return said + ": the series would be mostly invented; resample it to a coarser step first"


def fill_lines(method: str, done: Filled, name: Callable[[int], str] = str, unit: str = "position", *,
               source: str = "", warn: bool = True) -> list[str]:
    """What `--fill` did, as whole stderr lines ('seqlab: note: ...', 'seqlab: warning: ...'), none
    when nothing was filled or dropped. `name` names a grid position after `unit` (as `fill_gaps`);
    `source` follows the method's name (" (the run's)"); `warn`: warn when over LARGE_SHARE of the
    values are filled, as training hears it (a forecast's warning is `forecast_lines`')."""
    lines, said = [], f"--fill {method}{source}"
    if done.dropped:
        n = done.dropped
        rows = f"the first {n} rows (their values are" if n != 1 else "the first row (its value is"
        lines.append(f"seqlab: note: {said} dropped {rows} empty, with nothing before to fill from): the "
                     f"series starts at {_span(name, done.first, done.first, unit)}")
    if not done.filled:
        return lines
    empty = done.filled - done.missing_dates
    what = ([f"{done.missing_dates} missing date{'s' if done.missing_dates != 1 else ''}"] if done.missing_dates
            else []) + ([f"{empty} empty cell{'s' if empty != 1 else ''}"] if empty else [])
    at = _span(name, *done.longest, unit)
    k = done.longest_steps
    lines.append(f"seqlab: note: {said} filled {done.filled} missing value{'s' if done.filled != 1 else ''} "
                 f"({' and '.join(what)}, the longest gap {k} step{'s' if k != 1 else ''}, at {at})")
    share = done.filled / len(done.values)
    if warn and share > LARGE_SHARE:
        lines.append(f"seqlab: warning: {done.filled} of the series' {len(done.values)} values ({share:.0%}) "
                     f"{'are' if done.filled != 1 else 'is'} "
                     f"filled in by {said}, not observed: the model learns and forecasts from the filler's "
                     "shape as much as the data's; a series with fewer gaps (or a coarser step) is more faithful")
    return lines


def forecast_lines(observed: list[bool], start: int, tau: int, said: str) -> list[str]:
    """What a forecast from position `start` of a filled series should hear (`said`: "--fill linear"):
    a warning when over LARGE_SHARE of the series is filled, saying whether the tau values the
    forecast starts from (positions start - tau .. start - 1) are among them; else a note when some
    of those are. No lines when neither."""
    filled = observed.count(False)
    inputs = observed[start - tau:start].count(False)
    what = f"the {tau} values the forecast starts from (the last tau = {tau} before its first step)"
    share = filled / len(observed) if observed else 0.0
    if share > LARGE_SHARE:
        reads = (f"{inputs} of {what} {'are' if inputs != 1 else 'is'} filled: it continues invented values"
                 if inputs else f"none of {what} is filled")
        return [f"seqlab: warning: {filled} of the series' {len(observed)} values ({share:.0%}) "
                f"{'are' if filled != 1 else 'is'} filled in by {said}, not observed; {reads}"]
    if inputs:
        return [f"seqlab: note: {inputs} of {what} {'were' if inputs != 1 else 'was'} filled in by {said}: it "
                "continues invented values"]
    return []
