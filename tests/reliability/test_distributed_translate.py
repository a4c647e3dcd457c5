"""`seqlab train translate` under torchrun with 2 CPU processes (gloo): each rank trains on its
share of every global batch of sentence pairs, the loss is the mean over the real target tokens
of the whole batch, so the curve equals the 1-process run; checkpoints cross-resume.
(A world size that does not divide --batch-size: tests/reliability/test_bad_inputs.py.)"""

import functools

import pytest

from seqlab.training.metrics import read_metrics

import ddp_harness as h
import kill_resume as kr


KEYS = ("train_loss", "valid_loss", "valid_bleu")


def _args(fx, out, epochs, *extra):
    # 58 lines give 35 training pairs: batches of 8 and a last one of 3, split 2 + 1 over the ranks,
    # so the global token mean is checked on an uneven split too. No dropout: its masks are per rank.
    # SGD, not Adam: a gradient off by a constant factor (the world size) would not change an Adam step.
    return ["train", "translate", "--data", str(fx["pairs"]), "--num-examples", "58", "--num-steps", "6",
            "--attention", "--embed", "8", "--hidden", "16", "--layers", "2", "--dropout", "0", "--batch-size", "8",
            "--epochs", str(epochs), "--optimizer", "sgd", "--lr", "1", "--valid-frac", "0.2", "--test-frac", "0.2",
            "--min-freq", "1", "--bleu-every", "1", "--device", "cpu", "--seed", "3", "--out", str(out), *extra]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("nmt")
    fx = kr.make_fixtures(root / "fx")
    single = root / "single"
    p = h.run(_args(fx, single, 3))
    assert "35 train" in p.stdout
    return fx, single


@pytest.mark.slow  # (CI time: the fast set runs 2 processes for `train lm` and the gloo unit tests)
def test_two_processes_match_one_process(setup, tmp_path):
    fx, single = setup
    out = tmp_path / "run"
    p = h.run(_args(fx, out, 3), nproc=2)
    assert "2 ranks" in p.stdout and p.stdout.count("epoch 3:") == 1  # rank 0 alone logs
    h.assert_same_run(out, single, KEYS, 3)
    assert sorted(x.name for x in out.iterdir()) == ["best.safetensors", "last.safetensors", "loss.png",
                                                     "metrics.jsonl"]
    assert len(read_metrics(out / "metrics.jsonl")) == 3  # written once, by rank 0


@pytest.mark.slow
def test_checkpoints_cross_resume(setup, tmp_path):
    fx, single = setup
    h.assert_cross_resume(functools.partial(_args, fx), single, tmp_path, KEYS)
