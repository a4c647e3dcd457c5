"""The book's small utilities: devices, timers, accumulators, plotting, data arrays."""

from __future__ import annotations

import time
from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils import data

from seqlab.errors import SeqlabError
from seqlab.training.common import sgd

__all__ = ["try_gpu", "try_all_gpus", "Timer", "Accumulator", "load_array", "sgd", "plot", "use_svg_display",
           "set_figsize", "set_axes", "Animator", "show_list_len_pair_hist"]


def try_gpu(i: int = 0) -> torch.device:
    """GPU i if it exists, else the CPU."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device("cpu")]


class Timer:
    """Record several running times."""

    def __init__(self):
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        self.tik = time.perf_counter()

    def stop(self) -> float:
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        return sum(self.times)

    def cumsum(self) -> list[float]:
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """Sums over n variables."""

    def __init__(self, n: int):
        self.data = [0.0] * n

    def add(self, *args) -> None:
        # (detached: the book adds `l * y.numel()`, a tensor that requires grad, and float() of it warns)
        self.data = [a + float(b.detach() if isinstance(b, torch.Tensor) else b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def check_reiterable(batches, name: str, num_epochs: int, instead: str) -> None:
    """Refuse a one-pass iterator (a generator) for more than one epoch before any training: the
    epochs after the first would have no batches."""
    if num_epochs > 1 and isinstance(batches, Iterator):  # (iter(DataLoader) would draw from torch's RNG)
        raise SeqlabError(f"{name} is a generator (or another one-pass iterator): it is used up after one epoch, "
                          f"so the other {num_epochs - 1} of the {num_epochs} epochs would have no batches. Pass "
                          f"something that can be iterated again each epoch: {instead}, or a list")


def load_array(data_arrays: Sequence[torch.Tensor], batch_size: int, is_train: bool = True) -> data.DataLoader:
    """A PyTorch data iterator over tensors."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def use_svg_display() -> None:
    """Figures shown as SVG in a notebook, as the book's (set_figsize and Animator call it, as
    there); outside a Jupyter kernel there is nothing to show, so nothing to do."""
    if not _in_notebook():
        return
    try:
        from matplotlib_inline import backend_inline  # (IPython's inline backend, with ipykernel)
    except ImportError:
        return
    backend_inline.set_matplotlib_formats("svg")


class QuietTuple(tuple):
    """A tuple a notebook does not show as a cell's Out[]: what the book's functions that return
    nothing return here (train_ch8's (ppl, speed)), so that their cells look as the book's."""

    def _ipython_display_(self) -> None:
        pass


class QuietList(list):
    """A list a notebook does not show as a cell's Out[] (train_seq2seq's losses; see QuietTuple)."""

    def _ipython_display_(self) -> None:
        pass


def _pyplot():
    import matplotlib.pyplot as plt  # the user's backend: inline in a notebook, Agg without a display

    return plt


def set_figsize(figsize=(3.5, 2.5)) -> None:
    """The size of the figures pyplot makes next (the book's 2.4)."""
    use_svg_display()
    _pyplot().rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend) -> None:
    """Labels, limits, scales and legend of one matplotlib axes (the book's 2.4)."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    if xlim:
        axes.set_xlim(xlim)
    if ylim:
        axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def _has_one_axis(v) -> bool:
    return (hasattr(v, "ndim") and v.ndim == 1) or (isinstance(v, list) and not hasattr(v[0], "__len__"))


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
         yscale="linear", fmts=("-", "m--", "g-.", "r:"), figsize=(3.5, 2.5), axes=None,
         path: str | None = None):
    """The book's `plot`: draws on `axes` (pyplot's current axes by default, cleared first, so a
    notebook shows it under the cell); also saves to `path` (PNG) when given. Returns None, as the
    book's (a notebook shows no Out[] under the figure): the axes drawn on are `axes` or `plt.gca()`."""
    if axes is None:
        set_figsize(figsize)
        axes = _pyplot().gca()
    if _has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
    if path:
        from seqlab.plotting import save_figure

        save_figure(axes.figure, path)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Animator:
    """The book's live plot of curves that grow point by point (2.4 / 3.6).

    In a Jupyter kernel each `add` redraws the figure under the cell, as the book's does; elsewhere
    the figure is only kept (`self.fig`), and `save(path)` writes it as a PNG.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1, ncols=1, figsize=(3.5, 2.5)):
        use_svg_display()
        self.fig, axes = _pyplot().subplots(nrows, ncols, figsize=figsize)
        self.axes = [axes] if nrows * ncols == 1 else list(np.ravel(axes))
        self._axes_args = (xlabel, ylabel, xlim, ylim, xscale, yscale, legend or [])
        self.X: list[list] | None = None
        self.Y: list[list] | None = None
        self.fmts = fmts

    def config_axes(self) -> None:
        set_axes(self.axes[0], *self._axes_args)

    def add(self, x, y) -> None:
        """One point of each curve: `y` a number or one per curve; `x` shared or one per curve;
        a None in either skips that curve's point."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if self.X is None:
            self.X, self.Y = [[] for _ in range(n)], [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(float(a))
                self.Y[i].append(float(b))
        self.axes[0].cla()
        for xs, ys, fmt in zip(self.X, self.Y, self.fmts):
            self.axes[0].plot(xs, ys, fmt)
        self.config_axes()
        if _in_notebook():
            from IPython import display

            display.display(self.fig)
            display.clear_output(wait=True)

    def save(self, path: str) -> None:
        from seqlab.plotting import save_figure

        save_figure(self.fig, path)


def show_list_len_pair_hist(legend, xlabel, ylabel, xlist, ylist):
    """Histogram of the lengths of paired lists (the book's 9.5: source vs target sentence lengths);
    the second series is hatched (on pyplot's current axes, `plt.gca()`). Returns None, as the book's:
    a notebook shows no Out[] under the figure."""
    set_figsize()
    plt = _pyplot()
    _, _, patches = plt.hist([[len(seq) for seq in xlist], [len(seq) for seq in ylist]])
    plt.xlabel(xlabel)
    plt.ylabel(ylabel)
    for patch in patches[1].patches:
        patch.set_hatch("/")
    plt.legend(legend)
