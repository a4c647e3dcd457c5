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


def test_a_forecaster_trains_on_cuda_as_on_the_cpu(tmp_path):
    # train forecast --device cuda (the CPU tests check the plumbing with CUDA faked): the book's MLP
    # on the GPU gives the CPU run's figures up to float rounding, and its checkpoint serves on the CPU
    import json

    runs = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / device
        assert main(["train", "forecast", "--model", "gru", "--epochs", "2", "--device", device, "--out", str(out),
                     "--no-progress"]) == 0
        runs[device] = json.loads((out / "report.json").read_text())
    cpu, gpu = runs["cpu"]["k_step"]["1"]["mse"], runs["cuda"]["k_step"]["1"]["mse"]
    assert gpu == pytest.approx(cpu, rel=1e-3)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "cuda"), "--device", "cpu"]) == 0
