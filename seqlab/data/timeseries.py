"""Univariate time series: the book's noisy sine, tau-lag features, and a column of a CSV file.

Lag features (seed 002). For a series x_0 .. x_{T-1} and embedding length tau, row i
of the features holds the tau values before label x_{i+tau}:

    features[i] = [x_i, x_{i+1}, ..., x_{i+tau-1}]   (T - tau, tau)
    labels[i]   =  x_{i+tau}                          (T - tau, 1)

The first `n_train` rows train (labels x_tau .. x_{n_train+tau-1}); every label after
that is held out.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from seqlab.errors import SeqlabError

NOISE_STD = 0.2  # the book's noise: x_t = sin(0.01 t) + N(0, 0.2)


def sine_series(T: int = 1000, *, noise: float = NOISE_STD, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The book's series: time 1..T and x_t = sin(0.01 t) + N(0, noise^2), from its own generator."""
    if T <= 0:
        raise SeqlabError(f"series length must be positive, got {T}")
    if noise < 0:
        raise SeqlabError(f"noise must be >= 0, got {noise}")
    gen = torch.Generator().manual_seed(seed)
    time = torch.arange(1, T + 1, dtype=torch.float32)
    x = torch.sin(0.01 * time) + noise * torch.randn(T, generator=gen)
    return time, x


def check_series(x: torch.Tensor, tau: int, *, name: str = "series") -> torch.Tensor:
    """A 1-D float series of at least tau + 1 finite values, else a SeqlabError saying what is wrong."""
    if tau <= 0:
        raise SeqlabError(f"tau must be a positive number of lags, got {tau}")
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


def load_csv_column(path: str | Path, column: str) -> torch.Tensor:
    """The numbers of one named column of a CSV file with a header row, in file order."""
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"CSV file {str(path)!r} not found")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise SeqlabError(f"CSV file {str(path)!r} is empty: it needs a header row naming its columns")
            header = [h.strip() for h in header]
            if column not in header:
                raise SeqlabError(f"CSV file {str(path)!r} has no column {column!r}; "
                                  f"its columns are: {', '.join(header)}")
            if header.count(column) > 1:
                raise SeqlabError(f"CSV file {str(path)!r} has {header.count(column)} columns named {column!r} "
                                  f"(columns {', '.join(str(i + 1) for i, h in enumerate(header) if h == column)}): "
                                  "rename them so that --column names one")
            col = header.index(column)
            values: list[float] = []
            for line_no, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue  # blank line
                cell = row[col].strip() if col < len(row) else ""
                try:
                    value = float(cell)
                except ValueError:
                    raise SeqlabError(f"CSV file {str(path)!r}, line {line_no}, column {column!r}: "
                                      f"{cell!r} is not a number") from None
                if not math.isfinite(value):
                    raise SeqlabError(f"CSV file {str(path)!r}, line {line_no}, column {column!r}: "
                                      f"{cell!r} is NaN/inf; clean or interpolate the series first")
                values.append(value)
    except UnicodeDecodeError:
        raise SeqlabError(f"CSV file {str(path)!r} is not UTF-8 text") from None
    if not values:
        raise SeqlabError(f"CSV file {str(path)!r} has no values in column {column!r}")
    return torch.tensor(values, dtype=torch.float32)
