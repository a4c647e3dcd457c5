"""The AWD-LSTM options of `seqlab train lm` under torchrun with 2 CPU processes (gloo): AR/TAR,
variable-length BPTT (the same window lengths on every rank), the per-batch cosine schedule, and
NT-ASGD (its switch taken from rank 0's validation loss) give the curve of the 1-process run."""

import pytest

import ddp_harness as h


# the validation split is the last 10 %: the sentence spelt backwards, so that the validation loss
# soon rises and NT-ASGD fires
LINE = "the time traveller for so it will be convenient to speak of him"
TEXT = (LINE + "\n") * 14 + (LINE[::-1] + "\n") * 2
KEYS = ("train_loss", "valid_loss", "lr")
SWITCH = "averaging from now on"


def _args(text, out, epochs, *extra):
    # sequential sampling (variable BPTT reads the stream in order); no dropout: its masks are per rank
    return ["train", "lm", "--data", str(text), "--level", "char", "--cell", "lstm", "--impl", "scratch",
            "--hidden", "16", "--batch-size", "4", "--num-steps", "8", "--epochs", str(epochs), "--sampling",
            "sequential", "--ar-alpha", "2", "--tar-beta", "1", "--variable-bptt", "--bptt-sd", "2",
            "--device", "cpu", "--seed", "0", "--out", str(out), *extra]


COSINE = ("--optimizer", "sgd", "--lr", "0.5", "--schedule", "cosine", "--warmup-steps", "3")
# the validation loss rises at epoch 3, so averaging starts after it (checked below)
NTASGD = ("--optimizer", "nt-asgd", "--lr", "2", "--nonmono", "1", "--schedule", "none")


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("awd") / "tiny.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.mark.slow  # (CI time: the fast set has these options in test_distributed_lm's 2-process run, with Adam)
def test_ar_tar_variable_bptt_cosine_two_processes_match_one(text, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    h.run(_args(text, one, 3, *COSINE))
    p = h.run(_args(text, two, 3, *COSINE), nproc=2)
    assert "2 ranks" in p.stdout
    h.assert_same_run(two, one, KEYS, 3)


@pytest.mark.slow
def test_nt_asgd_switches_at_the_same_epoch_and_cross_resumes(text, tmp_path):
    one, two, a, b = tmp_path / "one", tmp_path / "two", tmp_path / "a", tmp_path / "b"
    p1 = h.run(_args(text, one, 4, *NTASGD))
    p2 = h.run(_args(text, two, 4, *NTASGD), nproc=2)
    assert p1.stdout.count(SWITCH) == p2.stdout.count(SWITCH) == 1
    assert p1.stdout.index("epoch 3:") < p1.stdout.index(SWITCH) < p1.stdout.index("epoch 4:")
    h.assert_same_run(two, one, KEYS, 4)
    h.run(_args(text, a, 3, *NTASGD), nproc=2)  # switched in 2 processes, averaging resumed in 1
    h.run(_args(text, a, 4, *NTASGD, "--resume"))
    h.assert_same_run(a, one, KEYS, 4)
    h.run(_args(text, b, 2, *NTASGD))  # 1 process, then 2 that switch
    h.run(_args(text, b, 4, *NTASGD, "--resume"), nproc=2)
    h.assert_same_run(b, one, KEYS, 4)
