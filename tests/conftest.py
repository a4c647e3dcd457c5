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


@pytest.fixture
def tiny_mnist_run(tmp_path) -> tuple[Path, Path]:
    """(run folder, its t10k images file): a one-epoch row-MNIST classifier trained on random idx files
    (60 training images, 10 of them validation; 6 test images) in tmp_path."""
    import numpy as np

    from seqlab.cli import main
    from seqlab.data.mnist import write_idx

    rng = np.random.default_rng(0)
    for name, n in (("train", 60), ("t10k", 6)):
        write_idx(tmp_path / f"{name}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)).astype(np.uint8))
        write_idx(tmp_path / f"{name}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    out = tmp_path / "mnist"
    assert main(["train", "classify", "--dataset", "mnist", "--data-dir", str(tmp_path), "--valid-size", "10",
                 "--hidden", "4", "--layers", "1", "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    return out, tmp_path / "t10k-images-idx3-ubyte.gz"
