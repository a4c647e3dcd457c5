import numpy as np
import pytest
import torch

from seqlab.cli import main

PAIRS = [("Va !", "Go."), ("Salut !", "Hi."), ("Je suis calme.", "I'm calm."), ("Il est chez lui.", "He's home.")]
LM_TEXT = "the time traveller for so it will be convenient to speak of him\n" * 12


@pytest.fixture
def text(tmp_path):
    """A tiny character corpus (the book's first line, 12 times) as a file: the LM CLI tests' --data."""
    path = tmp_path / "tiny.txt"
    path.write_text(LM_TEXT)
    return path


@pytest.fixture(scope="session")
def long_sine_run(tmp_path_factory):
    """A forecast run on the book's sine (noise 0.2) at 3000 values, tau 8, held out from position
    2000 (1000 values: intervals up to H = 501), trained once for the interval and --data tests."""
    out = tmp_path_factory.mktemp("long_sine") / "run"
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", "forecast", "--length", "3000", "--n-train", "1992", "--tau", "8", "--epochs", "10",
                     "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(n)
    return out


@pytest.fixture(scope="module")
def task_data(tmp_path_factory):
    """One tiny data set of each training task's kind in one folder: tiny.txt (lm), pairs.txt
    (translate), MNIST-format train/t10k files of 40 and 5 random images (classify)."""
    from seqlab.data.mnist import write_idx

    root = tmp_path_factory.mktemp("tasks")
    (root / "tiny.txt").write_text("the time machine by h g wells\n" * 20, encoding="utf-8")
    (root / "pairs.txt").write_text("".join(f"{a}\t{b}\n" for a, b in PAIRS * 6), encoding="utf-8")
    rng = np.random.default_rng(0)
    for name, n in (("train", 40), ("t10k", 5)):
        write_idx(root / f"{name}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)).astype(np.uint8))
        write_idx(root / f"{name}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    return root


@pytest.fixture
def evaluate_cpu(capsys):
    """`seqlab evaluate --device cpu ARGS...` in this process: (exit code, stdout, stderr) of that call alone."""
    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["evaluate", "--device", "cpu", *argv])
        got = capsys.readouterr()
        return code, got.out, got.err
    return run
