"""`seqlab train classify` under torchrun with 2 CPU processes (gloo): each rank trains on its
share of every global batch; the curve equals the 1-process run; checkpoints cross-resume."""

import functools

import pytest

import ddp_harness as h
import kill_resume as kr


KEYS = ("train_loss", "valid_loss", "train_accuracy", "valid_accuracy", "test_accuracy")


def _args(fx, out, epochs, *extra):
    args = kr.argv("classify", fx, out)
    args[args.index("--epochs") + 1] = str(epochs)
    return args + ["--schedule", "none", *extra]  # the cosine schedule depends on --epochs: off, to resume longer


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("cls")
    fx = kr.make_fixtures(root / "fx")
    single = root / "single"
    h.run(_args(fx, single, 3))
    return fx, single


@pytest.mark.slow  # (CI time: the fast set runs 2 processes for `train lm` and the gloo unit tests)
def test_two_processes_match_one_process(setup, tmp_path):  # fast, as lm's, forecast's, translate's (17 s)
    fx, single = setup
    out = tmp_path / "run"
    p = h.run(_args(fx, out, 3), nproc=2)
    assert p.stdout.count('"best_valid_accuracy"') == 1  # rank 0 alone prints and writes
    h.assert_same_run(out, single, KEYS, 3)


@pytest.mark.slow
def test_checkpoints_cross_resume(setup, tmp_path):
    fx, single = setup
    h.assert_cross_resume(functools.partial(_args, fx), single, tmp_path, KEYS)
