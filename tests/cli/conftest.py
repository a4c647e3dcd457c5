import pytest
import torch

from seqlab.cli import main

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
