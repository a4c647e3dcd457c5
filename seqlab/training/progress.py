"""A progress bar (tqdm) that stays quiet when stderr is not a terminal (CI, logs)."""

from __future__ import annotations

from typing import Iterable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "", leave: bool = False,
             enabled: bool | None = None) -> tqdm:
    """Wrap an iterable; `enabled=None` shows the bar only on a terminal."""
    return tqdm(iterable, total=total, desc=desc, leave=leave, dynamic_ncols=True,
                disable=None if enabled is None else not enabled, mininterval=0.5)
