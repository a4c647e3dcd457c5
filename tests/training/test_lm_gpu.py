"""The same LM pipeline on a GPU (run with -m gpu on a machine that has one)."""

import pytest
import torch
from torch import nn

from seqlab.cli import main
from seqlab.models.recurrent import ScratchRNN

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _needs_cuda():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")


def test_scratch_matches_cudnn_on_gpu():
    torch.manual_seed(0)
    fused = nn.LSTM(5, 8, num_layers=2, bidirectional=True).double().cuda()
    scratch = ScratchRNN.from_fused(fused)
    X = torch.randn(6, 3, 5, dtype=torch.float64, device="cuda")
    y1, _ = fused(X)
    y2, _ = scratch(X)
    torch.testing.assert_close(y2, y1, rtol=1e-9, atol=1e-11)


def test_train_generate_evaluate_on_cuda(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the time traveller for so it will be convenient to speak of him\n" * 12)
    out = tmp_path / "run"
    assert main(["train", "lm", "--data", str(text), "--cell", "gru", "--impl", "scratch", "--hidden", "16",
                 "--batch-size", "4", "--num-steps", "10", "--epochs", "2", "--device", "cuda",
                 "--out", str(out)]) == 0
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--num-tokens", "10",
                 "--device", "cuda", "--temperature", "0.8", "--seed", "1"]) == 0
    assert main(["evaluate", "--checkpoint", str(out), "--device", "cuda"]) == 0
