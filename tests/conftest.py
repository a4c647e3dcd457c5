"""Shared fixtures. Tests that need the real data sets read them from $SEQLAB_DATA
(laid out like ../shared/data); without it they are skipped, unless
SEQLAB_REQUIRE_DATA=1 (as in CI), where a missing data folder is a failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = os.environ.get("SEQLAB_DATA")
    if not root or not Path(root).is_dir():
        if os.environ.get("SEQLAB_REQUIRE_DATA") == "1":
            pytest.fail("SEQLAB_REQUIRE_DATA=1 but SEQLAB_DATA does not name a folder")
        pytest.skip("set SEQLAB_DATA to the data folder (e.g. ../shared/data) to run this test")
    return Path(root)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run faster on one thread, and do not oversubscribe a shared CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
