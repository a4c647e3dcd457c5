"""Property tests (hypothesis) of `fill_gaps` against a plain reference: a dict from grid position to
value, filled step by step (linear: on the line between the known neighbours; ffill: the last known
value), with the counts `Filled` reports recomputed from it."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from seqlab.data.fill import MOST, fill_gaps
from seqlab.errors import SeqlabError

NAN = float("nan")
values = st.one_of(st.just(NAN), st.integers(-1000, 1000).map(float), st.floats(-1e6, 1e6, allow_nan=False))


@st.composite
def rows(draw):
    """(positions strictly increasing, values with NaN for empty cells), the last value known."""
    gaps = draw(st.lists(st.integers(1, 4), min_size=0, max_size=25))
    positions = [draw(st.integers(-5, 5))]
    for g in gaps:
        positions.append(positions[-1] + g)
    vals = draw(st.lists(values, min_size=len(positions), max_size=len(positions)))
    vals[-1] = draw(st.integers(-1000, 1000).map(float))
    return positions, vals


def reference(positions, vals, method):
    """(values, observed, first, dropped, missing_dates, longest run of filled positions) of the grid."""
    known = {p: v for p, v in zip(positions, vals) if not math.isnan(v)}
    first, last = min(known), max(known)
    out, observed, carried, runs = [], [], None, []
    for p in range(first, last + 1):
        if p in known:
            out.append(known[p])
            observed.append(True)
            carried = known[p]
            continue
        if method == "ffill":
            out.append(carried)
        else:
            lo = max(q for q in known if q < p)
            hi = min(q for q in known if q > p)
            out.append(known[lo] + (known[hi] - known[lo]) * (p - lo) / (hi - lo))
        observed.append(False)
        if runs and runs[-1][1] == p - 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    longest = None
    for a, b in runs:  # the first of the longest
        if longest is None or b - a > longest[1] - longest[0]:
            longest = (a, b)
    dropped = sum(p < first for p in positions)
    missing_dates = sum(p not in positions for p in range(first, last + 1))
    return out, observed, first, dropped, missing_dates, longest


@settings(max_examples=300, deadline=None)
@given(rows(), st.sampled_from(["linear", "ffill"]))
def test_fill_gaps_matches_a_step_by_step_reference(series, method):
    positions, vals = series
    out, observed, first, dropped, missing_dates, longest = reference(positions, vals, method)
    filled = observed.count(False)
    if filled > MOST * len(out):
        with pytest.raises(SeqlabError, match="more than half"):
            fill_gaps(positions, vals, method)
        return
    done = fill_gaps(positions, vals, method)
    assert done.observed == observed
    assert done.values == pytest.approx(out, rel=1e-12, abs=1e-9)
    # observed values are kept exactly, never recomputed
    assert [v for v, seen in zip(done.values, observed) if seen] == [v for v in vals if not math.isnan(v)]
    assert (done.first, done.dropped, done.filled, done.missing_dates, done.longest) == (
        first, dropped, filled, missing_dates, longest)
    assert len(done.values) == positions[-1] - first + 1


@settings(max_examples=200, deadline=None)
@given(rows(), st.sampled_from(["linear", "ffill"]), st.integers(1, 4))
def test_max_gap_refuses_exactly_the_runs_longer_than_it(series, method, max_gap):
    positions, vals = series
    out, observed, *_ = reference(positions, vals, method)
    assume(observed.count(False) <= MOST * len(out))
    runs, run = [], 0
    for seen in observed:
        run = 0 if seen else run + 1
        runs.append(run)
    if max(runs) > max_gap:
        with pytest.raises(SeqlabError, match="--max-gap"):
            fill_gaps(positions, vals, method, max_gap=max_gap)
    else:
        assert fill_gaps(positions, vals, method, max_gap=max_gap).observed == observed


@settings(max_examples=100, deadline=None)
@given(rows(), st.sampled_from(["linear", "ffill"]), st.integers(1, 3))
def test_trailing_empty_values_are_refused(series, method, trailing):
    positions, vals = series
    positions = positions + [positions[-1] + k for k in range(1, trailing + 1)]
    with pytest.raises(SeqlabError, match="last"):
        fill_gaps(positions, vals + [NAN] * trailing, method)
