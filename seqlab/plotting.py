"""Matplotlib figures saved as PNG.

The figures are `matplotlib.figure.Figure` objects drawn by their own Agg canvas, not pyplot's:
no display is needed, and the user's pyplot backend and figure list are left alone (importing
this module in a notebook must not switch its backend and hide the user's own plots)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from matplotlib.figure import Figure

from seqlab.errors import SeqlabError
from seqlab.fileio import probe_writable


def _cannot_write(path: str | Path, reason: str) -> SeqlabError:
    return SeqlabError(f"cannot write the plot to {str(path)!r} ({reason}): choose a writable path")


def check_plot_path(path: str | Path) -> Path:
    """Refuse a plot path that cannot be written, before the work that makes the plot: not a .png,
    a folder, under a file, or in a folder that takes no new files (a probe file is made and removed;
    missing folders are not created here)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SeqlabError(f"--plot must name a .png file, got {str(path)!r}")
    if path.is_dir():
        raise _cannot_write(path, "it is a folder")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the nearest folder that exists
        folder = folder.parent
    if not folder.is_dir():
        raise _cannot_write(path, f"{str(folder)!r} is a file, not a folder")
    try:
        probe_writable(folder)
    except OSError as exc:
        raise _cannot_write(path, exc.strerror or str(exc)) from None
    return path


def save_figure(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    except OSError as exc:  # a path checked beforehand can still go away or fill a disk
        reason = "it is a folder" if isinstance(exc, IsADirectoryError) else exc.strerror or str(exc)
        raise _cannot_write(path, reason) from None
    return path


def plot_curves(path: str | Path, x: Sequence[float], series: dict[str, Sequence[float]], *,
                xlabel: str, ylabel: str, title: str = "", logx: bool = False,
                logy: bool = False, xs: dict[str, Sequence[float]] | None = None,
                bands: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float]]] | None = None) -> Path:
    """Line plot of named series against `x` (or each against its own `xs[name]`), with shaded
    bands `bands[name] = (x, lower, upper)` (a prediction interval) behind them."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for name, ys in series.items():
        ax.plot((xs or {}).get(name, x), ys, label=name)
    for name, (band_x, lower, upper) in (bands or {}).items():  # grey, under the lines (zorder 2)
        ax.fill_between(band_x, lower, upper, color="0.5", alpha=0.3, linewidth=0, zorder=1, label=name)
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
