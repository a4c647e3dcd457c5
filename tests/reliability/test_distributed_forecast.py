"""`seqlab train forecast` under torchrun with 2 CPU processes (gloo): each rank trains on its
share of every global batch of windows (a recurrent forecaster through its whole-window loss),
so the curve equals the 1-process run; rank 0 alone writes and reports; checkpoints cross-resume.
(A world size that does not divide --batch-size: tests/reliability/test_bad_inputs.py.)"""

import pytest

from seqlab.training.metrics import read_metrics

import ddp_harness as h


KEYS = ("train_loss", "valid_loss")


def _args(out, epochs, *extra):
    # 599 training rows in batches of 14: the last batch of 11 splits 6 + 5 over the ranks. SGD, not
    # Adam: a gradient off by a constant factor (the world size) would not change an Adam step
    return ["train", "forecast", "--model", "gru", "--hidden", "8", "--n-train", "599", "--batch-size", "14",
            "--optimizer", "sgd", "--epochs", str(epochs), "--seed", "3", "--out", str(out), *extra]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("forecast") / "single"
    h.run(_args(out, 3))
    return out


@pytest.mark.slow  # (CI time: the fast set runs 2 processes for `train lm` and the gloo unit tests)
def test_two_processes_match_one_process(single, tmp_path):
    out = tmp_path / "run"
    p = h.run(_args(out, 3), nproc=2)
    assert p.stdout.count("1-step MSE on the held-out part") == 1  # rank 0 alone reports
    h.assert_same_run(out, single, KEYS, 3)
    assert sorted(x.name for x in out.iterdir()) == ["best.safetensors", "k_step.png", "last.safetensors",
                                                     "metrics.jsonl", "multistep.png", "one_step.png", "report.json"]
    assert len(read_metrics(out / "metrics.jsonl")) == 3


@pytest.mark.slow
def test_checkpoints_cross_resume(single, tmp_path):
    h.assert_cross_resume(_args, single, tmp_path, KEYS)


@pytest.mark.slow
def test_fill_notes_are_said_once(tmp_path):
    # every rank reads the CSV; rank 0 alone says what --fill filled
    csv = tmp_path / "s.csv"
    csv.write_text("date,sales\n" + "".join(f"2024-01-{d:02d},{d % 7}\n" for d in range(1, 32) if d not in (9, 10)))
    p = h.run(["train", "forecast", "--data", str(csv), "--column", "sales", "--fill", "linear", "--epochs", "1",
               "--out", str(tmp_path / "run")], nproc=2)
    assert p.stderr.count("seqlab: note: --fill linear filled 2 missing values (2 missing dates, the longest gap 2 "
                          "steps, at 2024-01-09..2024-01-10)") == 1
