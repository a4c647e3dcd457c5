"""A trainer saves an epoch's checkpoints before it prints the epoch's line: a print that fails (stdout's
reader gone, a full disk under a redirect) must not lose the epoch it reports (review r-owndata, finding 1:
`train lm ... | head -1` left a metrics.jsonl line of epoch 1 and no checkpoint)."""

import numpy as np
import pytest
import torch

from seqlab.config import replace
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics


def _fails_at_epoch_1(prefix):
    def log(*args, **kwargs):
        if str(args[0]).startswith(prefix):
            raise BrokenPipeError(32, "Broken pipe")
    return log


def _kept_epoch_1(out):
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1]
    for which in ("best", "last"):  # (epoch 1 is always the best so far)
        assert load_checkpoint(out, which).meta["epoch"] == 1


def test_lm(tmp_path):
    from seqlab.data.vocab import Vocab
    from seqlab.training.lm import DataConfig, LMConfig, LMCorpus, ModelConfig, RunConfig, TrainConfig, fit_lm

    text = "abcab " * 60
    vocab = Vocab(list(text))
    ids = vocab.encode(list(text))
    cfg = LMConfig(data=DataConfig(), model=ModelConfig(cell="gru", hidden=8, embed=4),
                   train=TrainConfig(batch_size=4, num_steps=8, epochs=2, lr=0.1), run=RunConfig(out=str(tmp_path)))
    with pytest.raises(BrokenPipeError):
        fit_lm(cfg, LMCorpus("tiny", "char", vocab, ids[:300], ids[300:]), torch.device("cpu"),
               log=_fails_at_epoch_1("epoch 1:"))
    _kept_epoch_1(tmp_path)


def test_classify(tmp_path):
    from seqlab.data.mnist import write_idx
    from seqlab.training.classify import ClassifyConfig, train_classifier

    rng = np.random.default_rng(0)
    for name, n in (("train", 60), ("t10k", 10)):
        write_idx(tmp_path / f"{name}-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)).astype(np.uint8))
        write_idx(tmp_path / f"{name}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    cfg = replace(ClassifyConfig(), data_dir=str(tmp_path), valid_size=10, hidden=4, layers=1, epochs=2,
                  batch_size=25, out=str(tmp_path / "run"))
    with pytest.raises(BrokenPipeError):
        train_classifier(cfg, device="cpu", show_progress=False, log=_fails_at_epoch_1("epoch 1:"))
    _kept_epoch_1(tmp_path / "run")


def test_forecast(tmp_path):
    from seqlab.training.forecast import ForecastConfig, train_forecaster

    cfg = replace(ForecastConfig(), length=300, epochs=2, out=str(tmp_path))
    with pytest.raises(BrokenPipeError):
        train_forecaster(cfg, log=_fails_at_epoch_1("epoch 1,"))
    _kept_epoch_1(tmp_path)
