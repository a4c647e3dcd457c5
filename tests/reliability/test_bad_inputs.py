"""A battery of bad inputs across the CLI and the API: each gives one clear message (a
SeqlabError; exit code 2 from the CLI), no traceback, and leaves no output folder behind."""

import errno
import os
import pickle

import pytest
import torch

from seqlab.cli import main
from seqlab.errors import SeqlabError

from cli_errors import expect_bad_input  # tests/reliability, on the test path

TEXT = "the time machine by h g wells\n" * 40


@pytest.fixture
def files(tmp_path):
    f = {}
    f["tiny"] = tmp_path / "tiny.txt"
    f["tiny"].write_text(TEXT, encoding="utf-8")
    f["other"] = tmp_path / "other.txt"
    f["other"].write_text("zyxwvu qponm\n" * 80, encoding="utf-8")
    f["latin"] = tmp_path / "latin.txt"
    f["latin"].write_bytes("café été\n".encode("latin-1") * 20)
    f["binary"] = tmp_path / "binary.txt"
    f["binary"].write_bytes(bytes(range(256)) * 8)
    f["empty"] = tmp_path / "empty.txt"
    f["empty"].write_bytes(b"")
    f["afile"] = tmp_path / "afile"
    f["afile"].write_text("x")
    f["badtoml"] = tmp_path / "bad.toml"
    f["badtoml"].write_text("garbage = [\n")
    f["unknown_key"] = tmp_path / "unknown.toml"
    f["unknown_key"].write_text("[train]\nno_such_option = 3\n")
    f["lm_config"] = tmp_path / "lm.toml"  # a language model's config, as in configs/timemachine_lstm.toml
    f["lm_config"].write_text("[data]\ndataset = \"timemachine\"\n\n[model]\ncell = \"lstm\"\n")
    f["noise"] = tmp_path / "noise.safetensors"
    f["noise"].write_bytes(os.urandom(300))
    f["pairs_notab"] = tmp_path / "pairs.txt"
    f["pairs_notab"].write_text("no tab on this line\nnor here\n" * 10, encoding="utf-8")
    f["tiny_pairs"] = tmp_path / "tiny_pairs.txt"
    f["tiny_pairs"].write_text("".join(f"go {i} .\tva {i} !\n" for i in range(60)), encoding="utf-8")
    f["csv"] = tmp_path / "series.csv"
    f["csv"].write_text("t,value\n" + "".join(f"{i},{i * 0.1}\n" for i in range(300)))
    f["notidx"] = tmp_path / "images.idx"
    f["notidx"].write_bytes(b"not an idx file at all")
    return f


LM = ["train", "lm", "--level", "char", "--hidden", "8", "--epochs", "1", "--batch-size", "2", "--num-steps", "5",
      "--device", "cpu"]

# (id, argv with {placeholders}, a fragment the one-line message must contain)
CLI_CASES = [
    ("missing corpus", LM + ["--data", "{tmp}/nope.txt"], "not found"),
    ("non-UTF-8 corpus", LM + ["--data", "{latin}"], "not UTF-8"),
    ("binary corpus", LM + ["--data", "{binary}"], "binary"),
    ("empty corpus", LM + ["--data", "{empty}"], "empty"),
    ("relu gru", LM + ["--data", "{tiny}", "--cell", "gru", "--nonlinearity", "relu"], "applies to --cell rnn only"),
    ("negative warm-up", LM + ["--data", "{tiny}", "--warmup-steps", "-1"], "warmup_steps >= 0"),  # was ignored
    ("images as a corpus", LM + ["--dataset", "mnist"], "train classify --dataset mnist"),  # said "looks binary"
    ("pairs as a corpus", LM + ["--dataset", "fra-eng"], "train translate --dataset fra-eng"),  # trained on it
    ("stats of images", ["stats", "--dataset", "mnist", "--level", "word"], "not text"),
    ("huge num_steps", LM + ["--data", "{tiny}", "--num-steps", "1000000000"], "too short for one batch"),
    ("zero num_steps", LM + ["--data", "{tiny}", "--num-steps", "0"], "num_steps must be a positive"),
    ("zero batch size", LM + ["--data", "{tiny}", "--batch-size", "0"], "batch_size must be a positive"),
    ("negative learning rate", LM + ["--data", "{tiny}", "--lr", "-1"], "learning rate must be a finite number > 0"),
    ("zero epochs", LM + ["--data", "{tiny}", "--epochs", "0"], "--epochs must be positive"),
    ("zero hidden", LM + ["--data", "{tiny}", "--hidden", "0"], "hidden must be a positive integer"),
    ("dropout out of range", LM + ["--data", "{tiny}", "--dropout", "1.5"], "dropout must be in"),
    ("no data source", LM, "give exactly one of --dataset"),
    ("unknown dataset", LM + ["--dataset", "nosuch"], "unknown dataset 'nosuch'"),
    ("unknown device", LM + ["--data", "{tiny}", "--device", "tpu9"], "device"),
    ("unwritable --out", LM + ["--data", "{tiny}", "--out", "{afile}/run"], "afile' is a file, not a folder"),
    ("--out is a file", LM + ["--data", "{tiny}", "--out", "{afile}"], "afile' is a file, not a folder"),
    ("--resume without a checkpoint", LM + ["--data", "{tiny}", "--resume"], "no checkpoint"),
    ("missing config file", LM + ["--data", "{tiny}", "--config", "{tmp}/nope.toml"], "not found"),
    ("malformed config file", LM + ["--data", "{tiny}", "--config", "{badtoml}"], "not valid TOML"),
    ("unknown config key", LM + ["--data", "{tiny}", "--config", "{unknown_key}"], "no_such_option"),
    ("evaluate: missing checkpoint", ["evaluate", "--checkpoint", "{tmp}/nothere"], "not found"),
    ("evaluate: random bytes as checkpoint", ["evaluate", "--checkpoint", "{noise}"], "corrupted or truncated"),
    ("evaluate: empty run folder", ["evaluate", "--checkpoint", "{tmp}"], "no checkpoint in"),
    ("generate: missing checkpoint", ["generate", "--checkpoint", "{tmp}/nothere", "--prefix", "a"], "not found"),
    ("translate: nothing to translate", ["translate", "--checkpoint", "{tmp}/nothere"], "nothing to translate"),
    ("train translate: empty pairs file", ["train", "translate", "--data", "{empty}"], "empty"),
    ("train translate: binary pairs file", ["train", "translate", "--data", "{binary}"], "binary"),
    ("train translate: no tab-separated pairs", ["train", "translate", "--data", "{pairs_notab}"], "source<TAB>target"),
    ("train translate: negative clip", ["train", "translate", "--clip", "-1"],
     "--clip must be >= 0 (0 turns clipping off)"),
    ("train translate: negative time limit", ["train", "translate", "--time-limit-s", "-1"], "--time-limit-s must be"),
    ("NaN learning rate", LM + ["--data", "{tiny}", "--lr", "nan"], "learning rate must be a finite number"),
    ("infinite learning rate", LM + ["--data", "{tiny}", "--lr", "inf"], "learning rate must be a finite number"),
    ("NaN clip", LM + ["--data", "{tiny}", "--clip", "nan"], "--clip must be >= 0 (0 turns clipping off)"),
    # out of range whether or not their schedule/optimizer is the run's (they were kept silently)
    ("NaN min lr ratio under plateau", LM + ["--data", "{tiny}", "--schedule", "plateau", "--min-lr-ratio", "nan"],
     "--min-lr-ratio must be in [0, 1]"),
    ("negative decay start without step", LM + ["--data", "{tiny}", "--decay-start", "-1"],
     "--decay-start must be >= 0"),
    ("zero nonmono without nt-asgd", LM + ["--data", "{tiny}", "--nonmono", "0"], "--nonmono must be >= 1"),
    ("negative weight decay", LM + ["--data", "{tiny}", "--weight-decay", "-1"], "weight_decay must be a finite"),
    ("NaN weight decay (adam)", LM + ["--data", "{tiny}", "--optimizer", "adam", "--weight-decay", "nan"],
     "weight_decay must be a finite"),
    ("negative embedding dropout", LM + ["--data", "{tiny}", "--embed", "8", "--dropout-embed", "-1"],
     "--dropout-embed must be in [0, 1)"),
    ("negative variable-BPTT spread", LM + ["--data", "{tiny}", "--variable-bptt", "--bptt-sd", "-1"],
     "--bptt-sd must be >= 0"),
    ("train forecast: a language model's config", ["train", "forecast", "--config", "{lm_config}"],
     "lm.toml is a config for `seqlab train lm` or `seqlab train classify` (its keys cell, dataset are lm's and "
     "classify's), not for `seqlab train forecast`"),  # (was: "is the file a config for another task?")
    ("train forecast: series too short for the lags", ["train", "forecast", "--length", "5"],
     "too short for tau = 4 lags"),
    ("train forecast: NaN learning rate", ["train", "forecast", "--lr", "nan"], "learning rate must be a finite"),
    # above float32's largest number: a traceback from inside the optimiser's step (exit 1)
    ("learning rate past float32", LM + ["--data", "{tiny}", "--lr", "1e39"], "at most 3.403e+38, got 1e+39"),
    ("learning rate past float32 once scaled by variable BPTT",  # (a traceback from the step, exit 1)
     LM + ["--data", "{tiny}", "--sampling", "sequential", "--variable-bptt", "--lr", "3.4e38"], "with variable BPTT"),
    ("train forecast: learning rate past float32", ["train", "forecast", "--lr", "1e300"], "learning rate must be"),
    ("train translate: learning rate past float32", ["train", "translate", "--data", "{tiny_pairs}", "--lr", "1e300"],
     "learning rate must be"),
    ("train classify: weight decay past float32", ["train", "classify", "--weight-decay", "1e39"],
     "weight_decay must be a finite number >= 0 (0 turns it off) and at most"),
    ("train forecast: negative weight decay", ["train", "forecast", "--weight-decay", "-1"], "weight_decay must be"),
    ("train classify: negative momentum", ["train", "classify", "--optimizer", "sgd",
                                           "--momentum", "-1"], "momentum must be a finite"),
    ("train classify: NaN clip", ["train", "classify", "--clip", "nan"], "--clip must be >= 0"),
    ("train forecast: zero lags", ["train", "forecast", "--tau", "0"], "--tau must be a positive"),
    ("train forecast: missing CSV column", ["train", "forecast", "--data", "{csv}", "--column", "nope"], "nope"),
    ("forecast: negative steps", ["forecast", "--checkpoint", "{tmp}/nothere", "--steps", "-1"], "--steps must be"),
    ("train classify: missing MNIST folder", ["train", "classify", "--data-dir", "{tmp}/nope"], "not found"),
    ("classify: missing checkpoint", ["classify", "--checkpoint", "{tmp}/nothere", "--images", "{notidx}"],
     "not found"),
    ("train forecast: a folder as the CSV", ["train", "forecast", "--data", "{tmp}", "--column", "value"],
     "is a folder, not a CSV file"),
    ("train classify: a file as the MNIST folder", ["train", "classify", "--data-dir", "{afile}"],
     "is a file, not a folder"),
    ("--max-vocab 0 names the flag", LM + ["--data", "{tiny}", "--max-vocab", "0"], "--max-vocab"),
]


def _fill(argv, files, tmp_path):
    names = {k: str(v) for k, v in files.items()} | {"tmp": str(tmp_path)}
    return [a.format(**names) for a in argv]


def _expect_bad_input(argv, fragment, capsys, out):
    return expect_bad_input(argv + ([] if "--out" in argv or argv[0] != "train" else ["--out", str(out)]),
                            fragment, capsys)


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input(case, files, tmp_path, capsys):
    _, argv, fragment = case
    out = tmp_path / "run"
    _expect_bad_input(_fill(argv, files, tmp_path), fragment, capsys, out)
    assert not out.exists()  # no partial output


def _train_tiny(files, out, *extra):
    assert main(LM + ["--data", str(files["tiny"]), "--out", str(out), *extra]) == 0


def test_vocab_mismatch_between_checkpoint_and_data(files, tmp_path, capsys):
    out = tmp_path / "run"
    _train_tiny(files, out)
    before = sorted(p.name for p in out.iterdir())
    mtime = (out / "last.safetensors").stat().st_mtime_ns
    capsys.readouterr()
    err = _expect_bad_input(LM + ["--data", str(files["other"]), "--out", str(out), "--resume", "--epochs", "2"],
                            "another vocabulary", capsys, out)
    assert "--level" in err
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "last.safetensors").stat().st_mtime_ns == mtime


def test_model_mismatch_on_resume(files, tmp_path, capsys):
    out = tmp_path / "run"
    _train_tiny(files, out)
    capsys.readouterr()
    _expect_bad_input(LM + ["--data", str(files["tiny"]), "--out", str(out), "--resume", "--hidden", "12"],
                      "different model", capsys, out)


def test_checkpoint_of_another_task_is_refused(files, tmp_path, capsys):
    out = tmp_path / "run"
    _train_tiny(files, out)
    capsys.readouterr()
    _expect_bad_input(["translate", "--checkpoint", str(out), "go ."], "holds a language model, not a translation model",
                      capsys, out)


class _Payload:
    """Unpickling this runs `open(marker, 'w')`: proof that a file was executed."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("command", ["evaluate", "generate", "resume"])
def test_planted_pickle_is_refused_not_executed(files, tmp_path, capsys, command):
    run = tmp_path / "run"
    run.mkdir()
    marker = tmp_path / "pwned"
    for name in ("best.safetensors", "last.safetensors"):
        (run / name).write_bytes(pickle.dumps(_Payload(str(marker))))
        torch.save({"x": _Payload(str(marker))}, run / "also.pt")  # a torch.save pickle next to it
    argv = {"evaluate": ["evaluate", "--checkpoint", str(run)],
            "generate": ["generate", "--checkpoint", str(run), "--prefix", "a"],
            "resume": LM + ["--data", str(files["tiny"]), "--out", str(run), "--resume"]}[command]
    _expect_bad_input(argv, "corrupted or truncated", capsys, run)
    assert not marker.exists()
    pickle.loads((run / "last.safetensors").read_bytes())  # the payload is live: it would have run
    assert marker.exists()


def test_disk_full_while_checkpointing(files, tmp_path, capsys, monkeypatch):
    from seqlab import fileio

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fileio.os, "fsync", full)  # the fsync of atomic_write_bytes, under every checkpoint
    out = tmp_path / "run"
    err = _expect_bad_input(LM + ["--data", str(files["tiny"]), "--out", str(out)], "No space left on device",
                            capsys, out)
    assert "best.safetensors" in err  # the first file written at an epoch end (best before last)
    leftovers = [p.name for p in out.iterdir()] if out.exists() else []
    assert not [n for n in leftovers if n.endswith(".tmp") or n.endswith(".safetensors")]


def test_disk_full_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    from seqlab import fileio
    from seqlab.training import checkpoint

    path = tmp_path / "last.safetensors"
    checkpoint.save_checkpoint(path, model={"w": torch.ones(3)}, meta={"task": "lm", "epoch": 1})
    monkeypatch.setattr(fileio.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(SeqlabError, match="previous checkpoint, if any, is kept"):
        checkpoint.save_checkpoint(path, model={"w": torch.zeros(3)}, meta={"task": "lm", "epoch": 2})
    monkeypatch.undo()
    ckpt = checkpoint.load_checkpoint(path)
    assert ckpt.meta["epoch"] == 1 and torch.equal(ckpt.model["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.safetensors"]


def test_atomic_write_replaces_the_file_never_writes_into_it(tmp_path, monkeypatch):
    from seqlab import fileio

    path = tmp_path / "last.safetensors"
    path.write_bytes(b"old")
    os.link(path, tmp_path / "reader")  # the old file as a reader that opened it sees it
    fileio.atomic_write_bytes(path, b"new content")
    # a rename over `path` leaves the old inode alone; a write into `path` would change the reader's bytes
    assert path.read_bytes() == b"new content" and (tmp_path / "reader").read_bytes() == b"old"
    # a crash at the last moment (the rename) leaves the previous file whole and no temporary file
    monkeypatch.setattr(fileio.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.EIO, "crash")))
    with pytest.raises(OSError):
        fileio.atomic_write_bytes(path, b"newer")
    assert path.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.safetensors", "reader"]


# --- the API -------------------------------------------------------------------------------

def _lm(embed=0, impl="fused"):
    from seqlab.models.lm import ModelConfig, build_lm

    return build_lm(ModelConfig(cell="gru", impl=impl, hidden=8, embed=embed), 10)


@pytest.mark.parametrize("stream,fragment", [
    (torch.tensor([1, 2, 30]), "token id 30 is out of range for a vocabulary of 10"),
    (torch.tensor([1, -1, 3]), "token id -1 is out of range"),
    (torch.zeros(5), "must be integers"),
    (torch.zeros(2, 3, dtype=torch.long), "1-D tensor"),
    (torch.tensor([4]), "nothing to predict"),
    (torch.zeros(0, dtype=torch.long), "empty"),
], ids=["id too large", "negative id", "float dtype", "2-D shape", "one token", "zero-length"])
def test_evaluate_lm_bad_streams(stream, fragment):
    from seqlab.training.lm_eval import evaluate_lm

    with pytest.raises(SeqlabError, match=fragment):
        evaluate_lm(_lm(), stream)


@pytest.mark.parametrize("X,fragment", [
    (torch.zeros(2, 3), "must be integers"),
    (torch.zeros(2, 3, dtype=torch.bool), "must be integers"),
    (torch.zeros(3, dtype=torch.long), r"shape \(batch, time\)"),
    (torch.zeros(2, 0, dtype=torch.long), "empty"),
    (torch.full((2, 3), 10), "token id 10 is out of range"),
    ([[1, 2]], "torch.Tensor"),
], ids=["float", "bool", "1-D", "zero time steps", "id = vocab size", "a list"])
def test_token_batch_checks(X, fragment):
    from seqlab.training.common import check_token_batch

    with pytest.raises(SeqlabError, match=fragment):
        check_token_batch(X, 10)
    check_token_batch(torch.zeros(2, 3, dtype=torch.long), 10)  # a good batch passes


@pytest.mark.parametrize("command", ["lm", "translate", "forecast", "classify"])
def test_world_size_not_dividing_the_batch(command, files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "0")
    out = tmp_path / "run"
    argv = {"lm": LM + ["--data", str(files["tiny"])], "translate": ["train", "translate", "--data", str(files["tiny"])],
            "forecast": ["train", "forecast"], "classify": ["train", "classify", "--data-dir", str(tmp_path)]}[command]
    _expect_bad_input(argv + ["--batch-size", "4", "--out", str(out)],
                      "batch size 4 is not divisible by the world size 3", capsys, out)
    assert not out.exists()


def test_unparseable_torchrun_variables(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "two")
    out = tmp_path / "run"
    _expect_bad_input(LM + ["--data", str(files["tiny"]), "--out", str(out)], "must be integers", capsys, out)


def _digits(root):
    from seqlab.data.mnist import write_idx

    rng = torch.Generator().manual_seed(0)
    for name, n in (("train", 60), ("t10k", 20)):
        write_idx(root / f"{name}-images-idx3-ubyte.gz", torch.randint(0, 255, (n, 28, 28), generator=rng,
                                                                        dtype=torch.uint8).numpy())
        write_idx(root / f"{name}-labels-idx1-ubyte.gz", torch.randint(0, 10, (n,), generator=rng,
                                                                        dtype=torch.uint8).numpy())
    return root


@pytest.mark.parametrize("task", ["lm", "forecast", "classify", "translate"])
def test_resume_from_a_run_that_wrote_only_best(task, files, tmp_path, capsys):
    # a run killed between its first epoch's two writes (best, then last) has best alone; one an
    # earlier seqlab wrote holds no optimiser state: --resume used to fall back to it and crash
    # inside load_state_dict, and --resume-from best cannot go on from it either
    from seqlab.training.checkpoint import save_checkpoint

    out = tmp_path / "run"
    out.mkdir()
    save_checkpoint(out / "best.safetensors", model={"w": torch.ones(2)}, meta={"task": task, "epoch": 1})
    before = (out / "best.safetensors").read_bytes()
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("".join(f"go {i} .\tva {i} !\n" for i in range(60)), encoding="utf-8")
    argv = {"lm": LM + ["--data", str(files["tiny"])],
            "forecast": ["train", "forecast", "--epochs", "1"],
            "classify": ["train", "classify", "--data-dir", str(_digits(tmp_path)), "--valid-size", "10",
                         "--epochs", "1", "--no-progress"],
            "translate": ["train", "translate", "--data", str(pairs), "--epochs", "1", "--min-freq", "1"]}[task]
    expect_bad_input(argv + ["--out", str(out), "--resume"], "has best.safetensors but no last.safetensors",
                     capsys, "holds no optimiser state", "train again with --overwrite")
    expect_bad_input(argv + ["--out", str(out), "--resume-from", "best"],
                     f"--resume-from best: {str(out / 'best.safetensors')!r} holds no optimiser state (an earlier "
                     "seqlab wrote best with the weights alone), so the run cannot go on from it: train again with "
                     "--overwrite", capsys)
    assert sorted(p.name for p in out.iterdir()) == ["best.safetensors"]
    assert (out / "best.safetensors").read_bytes() == before


def test_resume_checkpoint_needs_last_of_the_task_with_its_optimiser(tmp_path):
    from seqlab.training.checkpoint import save_checkpoint
    from seqlab.training.checkpoint_resume import resume_checkpoint

    with pytest.raises(SeqlabError, match="no checkpoint in .* to resume from"):
        resume_checkpoint(tmp_path, "lm")
    save_checkpoint(tmp_path / "last.safetensors", model={"w": torch.ones(2)}, meta={"task": "lm", "epoch": 1})
    with pytest.raises(SeqlabError, match="holds no optimiser state"):
        resume_checkpoint(tmp_path, "lm")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(2))], lr=0.1)
    save_checkpoint(tmp_path / "last.safetensors", model={"w": torch.ones(2)}, meta={"task": "lm", "epoch": 3},
                    optimizer=opt)
    with pytest.raises(SeqlabError, match="holds a language model, not a forecasting model"):
        resume_checkpoint(tmp_path, "forecast")
    save_checkpoint(tmp_path / "best.safetensors", model={"w": torch.zeros(2)}, meta={"task": "lm", "epoch": 2})
    assert resume_checkpoint(tmp_path, "lm").meta["epoch"] == 3  # last, never best


def test_a_run_holding_an_out_of_range_unused_option_still_resumes(tmp_path, capsys):
    # runs trained before the range checks could hold --min-lr-ratio 2 or --decay-start -3 under another schedule;
    # neither they nor the schedule change on --resume, so refusing them there would strand the run
    from checkpoint_edit import edit_meta  # tests/reliability, on the test path

    from seqlab.cli import main

    text = tmp_path / "t.txt"
    text.write_text("the time traveller for so it will be convenient to speak of him\n" * 8)
    argv = ["train", "lm", "--data", str(text), "--level", "char", "--hidden", "8", "--batch-size", "4",
            "--num-steps", "5", "--schedule", "plateau", "--device", "cpu", "--out", str(tmp_path / "run")]
    assert main(argv + ["--epochs", "1"]) == 0
    for name in ("best.safetensors", "last.safetensors"):
        edit_meta(tmp_path / "run" / name,
                  lambda meta: meta["config"]["train"].update(min_lr_ratio=2.0, decay_start=-3, nonmono=0))
    capsys.readouterr()
    held = ["--min-lr-ratio", "2", "--decay-start", "-3", "--nonmono", "0"]  # the run's own (resume asks for them)
    assert main(argv + held + ["--epochs", "2", "--resume"]) == 0, capsys.readouterr().err
    # a new run is refused them
    assert main(argv[:-1] + [str(tmp_path / "new"), "--epochs", "1", "--min-lr-ratio", "2"]) == 2
