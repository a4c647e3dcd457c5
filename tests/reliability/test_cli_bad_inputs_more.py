"""More bad input from a CLI review: evaluate's --batch-size and --split for every task, generate
on a bidirectional LM, devices torch parses but the machine lacks, unwritable --plot paths, an
empty --out, two translate data sources, a non-finite --alpha. Each is exit code 2 with one
`seqlab: error: ...` line and no traceback."""

import json
from pathlib import Path

import pytest
import torch

from seqlab.cli import main

from cli_errors import PAIRS, TEXT, expect_bad_input, write_digits  # tests/reliability, on the test path

LM = ["train", "lm", "--level", "char", "--hidden", "8", "--epochs", "1", "--batch-size", "2", "--num-steps", "5",
      "--device", "cpu"]

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU


# ---- tiny runs, one per task (module scope: trained once) ----

@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("more")
    (root / "tiny.txt").write_text(TEXT, encoding="utf-8")
    (root / "afile").write_text("x")
    (root / "d.png").mkdir()
    return root


@pytest.fixture(scope="module")
def lm_run(root):
    out = root / "lm"
    assert main(LM + ["--data", str(root / "tiny.txt"), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def bi_run(root):
    out = root / "bi"
    assert main(LM + ["--data", str(root / "tiny.txt"), "--bidirectional", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def nmt_run(root):
    pairs = root / "pairs.txt"
    pairs.write_text("\n".join(f"{a}\t{b}" for a, b in PAIRS * 6) + "\n", encoding="utf-8")
    out = root / "nmt"
    assert main(["train", "translate", "--data", str(pairs), "--num-steps", "6", "--embed", "8", "--hidden", "8",
                 "--layers", "1", "--dropout", "0", "--batch-size", "16", "--epochs", "1", "--valid-frac", "0.2",
                 "--test-frac", "0", "--min-freq", "1", "--device", "cpu", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def mnist_run(root):
    digits = root / "digits"
    digits.mkdir()
    write_digits(digits, seed=1)
    out = root / "mn"
    assert main(["train", "classify", "--dataset", "mnist", "--mode", "rows", "--data-dir", str(digits),
                 "--hidden", "4", "--layers", "1", "--batch-size", "20", "--epochs", "1", "--valid-size", "0",
                 "--device", "cpu", "--out", str(out), "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def sine_run(root):
    out = root / "sine"
    assert main(["train", "forecast", "--epochs", "1", "--out", str(out)]) == 0
    return out


RUNS = ("lm_run", "nmt_run", "mnist_run", "sine_run")


# ---- 1. evaluate: --batch-size and --split ----

@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("size", ["-1", "0"])
def test_evaluate_refuses_a_batch_size_below_one(run, size, request, capsys):
    out = request.getfixturevalue(run)
    expect_bad_input(["evaluate", "--checkpoint", str(out), "--batch-size", size, "--device", "cpu"],
                      f"--batch-size must be a positive integer, got {size}", capsys)


def test_evaluate_a_split_the_run_does_not_have_names_the_ones_it_has(lm_run, nmt_run, mnist_run, capsys):
    # a --data LM keeps its last 10% as valid; there is no test split
    err = expect_bad_input(["evaluate", "--checkpoint", str(lm_run), "--split", "test", "--device", "cpu"],
                            "no test split", capsys)
    assert "--split valid" in err
    # trained with --test-frac 0
    err = expect_bad_input(["evaluate", "--checkpoint", str(nmt_run), "--split", "test", "--device", "cpu"],
                            "no test split", capsys)
    assert "test_frac" in err and "--split valid" in err
    # trained with --valid-size 0: it validated on the test set (this used to answer "split": "test")
    err = expect_bad_input(["evaluate", "--checkpoint", str(mnist_run), "--split", "valid", "--device", "cpu"],
                            "no valid split", capsys)
    assert "valid_size = 0" in err and "--split test" in err


def test_evaluate_without_split_picks_the_one_there_is(lm_run, nmt_run, mnist_run, capsys):
    for run, split in ((lm_run, "valid"), (nmt_run, "valid"), (mnist_run, "test")):
        capsys.readouterr()
        assert main(["evaluate", "--checkpoint", str(run), "--device", "cpu"]) == 0
        assert json.loads(capsys.readouterr().out)["split"] == split


@pytest.mark.parametrize("split", ["valid", "test"])
def test_evaluate_forecast_refuses_split(sine_run, split, capsys):
    expect_bad_input(["evaluate", "--checkpoint", str(sine_run), "--split", split],
                      "a forecast run has no valid or test split", capsys)
    assert main(["evaluate", "--checkpoint", str(sine_run), "--batch-size", "8"]) == 0  # read at once: no effect


# ---- 2. generate on a bidirectional LM ----

def test_generate_refuses_a_bidirectional_model(bi_run, capsys):
    expect_bad_input(["generate", "--checkpoint", str(bi_run), "--prefix", "the", "--num-tokens", "5",
                       "--device", "cpu"], "bidirectional model: it cannot generate text", capsys)


# ---- 3. devices torch parses but this machine lacks ----

@pytest.mark.parametrize("device", ["meta", "xpu", "cpu:1", "cuda:-1"])
def test_train_refuses_a_device_this_machine_lacks(device, root, tmp_path, capsys):
    out = tmp_path / "run"
    expect_bad_input(LM + ["--data", str(root / "tiny.txt"), "--device", device, "--out", str(out)],
                      f"unknown device {device!r}: use cpu, cuda, cuda:N or auto", capsys)
    assert not out.exists()


@pytest.mark.parametrize("mps", [True, False])
def test_mps_is_refused_up_front_on_every_machine(mps, lm_run, root, tmp_path, monkeypatch, capsys):
    # MPS has no float64, in which seqlab sums losses and probabilities: a Mac's run failed at its
    # first evaluation, a whole epoch in; now before anything is read or written
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    no_mps = "Apple's MPS backend is not supported yet: seqlab sums losses and probabilities in float64"
    expect_bad_input(["generate", "--checkpoint", str(lm_run), "--prefix", "the", "--device", "mps"], no_mps, capsys)
    out = tmp_path / "run"
    err = expect_bad_input(LM[:-1] + ["mps:0", "--data", str(root / "tiny.txt"), "--out", str(out)], no_mps, capsys)
    assert err.endswith("use --device cpu (from Python: device='cpu')") and not out.exists()
    expect_bad_input(["evaluate", "--checkpoint", str(lm_run), "--device", "xpu"], "unknown device 'xpu'", capsys)


def test_a_gpu_index_past_the_last_gpu_is_refused(root, tmp_path, monkeypatch, capsys):
    from seqlab.runtime import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    out = tmp_path / "run"
    expect_bad_input(LM + ["--data", str(root / "tiny.txt"), "--device", "cuda:5", "--out", str(out)],
                      "cuda:5 is not available: this machine has 1 GPU (cuda:0)", capsys)
    assert not out.exists()
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(Exception, match=r"has 2 GPUs \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:2")


# ---- 4. --plot to a path that cannot be written ----

def _plot_cases(root):
    cases = [(str(root / "afile" / "x.png"), "is a file, not a folder"),
             (str(root / "afile" / "sub" / "x.png"), "is a file, not a folder"),
             (str(root / "d.png"), "it is a folder")]
    if Path("/proc/self").is_dir():  # /proc takes no new files, not even from root
        cases.append(("/proc/x.png", "cannot write the plot to '/proc/x.png'"))
    return cases


def test_stats_plot_to_an_unwritable_path(root, capsys):
    for path, fragment in _plot_cases(root):
        err = expect_bad_input(["stats", "--data", str(root / "tiny.txt"), "--plot", path], fragment, capsys)
        assert f"cannot write the plot to {path!r}" in err and err.endswith("choose a writable path")


def test_forecast_plot_to_an_unwritable_path(root, sine_run, capsys):
    for path, fragment in _plot_cases(root):
        err = expect_bad_input(["forecast", "--checkpoint", str(sine_run), "--steps", "3", "--plot", path],
                                fragment, capsys)
        assert f"cannot write the plot to {path!r}" in err
    new = root / "plots" / "deeper" / "f.png"  # missing folders are fine: they are made
    assert main(["forecast", "--checkpoint", str(sine_run), "--steps", "3", "--plot", str(new)]) == 0
    assert new.is_file()


def test_save_figure_turns_a_late_os_error_into_a_message(root):
    from seqlab.errors import SeqlabError
    from seqlab.plotting import plot_curves

    with pytest.raises(SeqlabError, match="cannot write the plot to .*it is a folder"):
        plot_curves(root / "d.png", [1, 2], {"a": [1, 2]}, xlabel="x", ylabel="y")


# ---- 5. smaller ones ----

@pytest.mark.parametrize("out", ["", "  "])
def test_train_refuses_an_empty_out(out, root, capsys):
    expect_bad_input(LM + ["--data", str(root / "tiny.txt"), "--out", out], "--out is empty", capsys)
    expect_bad_input(["train", "forecast", "--epochs", "1", "--out", out], "--out is empty", capsys)


def test_train_translate_refuses_two_sources(root, tmp_path, capsys):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("Go.\tVa !\n" * 20, encoding="utf-8")
    out = tmp_path / "run"
    expect_bad_input(["train", "translate", "--data", str(pairs), "--dataset", "fra-eng", "--out", str(out)],
                      "give exactly one of --dataset NAME or --data FILE", capsys)
    assert not out.exists()


@pytest.mark.parametrize("alpha", ["nan", "inf", "-0.5"])
def test_translate_refuses_a_bad_alpha(alpha, nmt_run, capsys):
    expect_bad_input(["translate", "--checkpoint", str(nmt_run), "--alpha", alpha, "--beam", "2", "Go."],
                      "--alpha must be a finite number >= 0", capsys)


def test_resume_on_another_tasks_run_names_the_task(lm_run, mnist_run, capsys):
    # forecast has no --clip: the classify run's clip was copied into its config ("unknown config key 'clip'")
    expect_bad_input(["train", "forecast", "--epochs", "3", "--out", str(mnist_run), "--resume"],
                      "holds a classifier, not a forecasting model", capsys)
    expect_bad_input(["train", "forecast", "--epochs", "3", "--out", str(lm_run), "--resume"],
                      "holds a language model, not a forecasting model", capsys)


def test_train_translate_refuses_a_negative_bleu_every(root, capsys):
    # (it read as "never", silently)
    expect_bad_input(["train", "translate", "--data", str(root / "pairs.txt"), "--bleu-every", "-1", "--epochs", "1",
                      "--out", str(root / "never")], "--bleu-every must be >= 0", capsys)


def test_an_empty_checkpoint_path_is_refused_not_read_as_the_current_folder(capsys):
    expect_bad_input(["evaluate", "--checkpoint", ""], "the checkpoint path is empty", capsys)


@pytest.mark.parametrize("argv, message", [
    (["train", "lm", "--lr"], "seqlab train lm: error: argument --lr: expected one argument (see `seqlab train lm "
                              "--help`)"),
    (["trian"], "seqlab: error: argument COMMAND: invalid choice: 'trian'"),
    (["generate", "--num-tokens", "3"], "seqlab generate: error: the following arguments are required: "
                                        "--checkpoint"),
])
def test_a_usage_error_is_one_line_not_the_usage_text(argv, message, capsys):
    # SPEC 12: exit 2 with a one-line message (argparse printed the whole usage first: 31 lines for train lm)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and err.startswith(message), err
