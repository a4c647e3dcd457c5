"""Matplotlib figures saved as PNG (the Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def save_figure(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_curves(path: str | Path, x: Sequence[float], series: dict[str, Sequence[float]], *,
                xlabel: str, ylabel: str, title: str = "", logx: bool = False,
                logy: bool = False, xs: dict[str, Sequence[float]] | None = None) -> Path:
    """Line plot of named series against `x` (or each against its own `xs[name]`)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, ys in series.items():
        ax.plot((xs or {}).get(name, x), ys, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    if len(series) > 1 or any(series):
        ax.legend()
    return save_figure(fig, path)
