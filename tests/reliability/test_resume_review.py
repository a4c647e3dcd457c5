"""A new user's review of --resume: a --config file's lr and clip undid a resume's change on the
next plain --resume, and a refused resume first said what it would change."""

import pytest

from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics
from run_review import TASKS, argv as _argv, make_inputs, run as _run  # tests/reliability, on the test path

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("fx"))


# the run's first settings, in its config file; forecast has no --clip (its resume keeps --skip-nonfinite)
FIRST = {"lm": {"lr": 0.05, "clip": 1.0}, "translate": {"lr": 0.01, "clip": 1.0},
         "forecast": {"lr": 0.01, "skip_nonfinite": False}, "classify": {"lr": 0.02, "clip": 1.0}}
LATER = {"lm": ["--lr", "0.025", "--clip", "0.5"], "translate": ["--lr", "0.005", "--clip", "0.5"],
         "forecast": ["--lr", "0.005", "--skip-nonfinite"], "classify": ["--lr", "0.01", "--clip", "0.5"]}


def _toml(path, settings):
    path.write_text("".join(f"{k} = {str(v).lower() if isinstance(v, bool) else v}\n" for k, v in settings.items()))
    return path


@pytest.mark.parametrize("task", TASKS)
def test_a_config_files_values_do_not_undo_a_resumes_change(task, fx, tmp_path, capsys):
    # README: "left out, --lr and --clip stay the run's". The run was resumed with --lr 0.025
    # --clip 0.5 (the NaN advice); the next plain resume with the same --config went back to its
    # lr 0.05 and clip 1 ("--lr 0.05 instead of the run's 0.025"): its metrics read 0.05, 0.025, 0.05
    config, out = _toml(tmp_path / "c.toml", FIRST[task]), tmp_path / "run"
    _run(_argv(task, fx, out, "--config", str(config), "--epochs", "1"), capsys)
    _run(_argv(task, fx, out, "--config", str(config), "--epochs", "2", "--resume", *LATER[task]), capsys)
    changed = load_checkpoint(out, "last").meta["config"]["train"]
    said = _run(_argv(task, fx, out, "--config", str(config), "--epochs", "3", "--resume"), capsys)
    train = load_checkpoint(out, "last").meta["config"]["train"]
    assert train["epochs"] == 3 and all(train[k] == changed[k] != v for k, v in FIRST[task].items())
    if task in ("lm", "translate"):  # (classify's per-epoch cosine moves the rate)
        assert [r["lr"] for r in read_metrics(out / "metrics.jsonl")][1:] == [changed["lr"]] * 2
    assert "instead of the run's" not in said.out + said.err
    lr = FIRST[task]["lr"]
    assert (f"seqlab: note: --resume keeps the run's lr {changed['lr']:g}, not the config file's {lr:g}: give "
            f"--lr {lr:g} to change it\n") in said.err
    if "clip" in FIRST[task]:
        assert "--resume keeps the run's clip 0.5, not the config file's 1: give --clip 1 to change it" in said.err
    else:
        assert ("--resume keeps the run's skip_nonfinite true, not the config file's false: give "
                "--no-skip-nonfinite to change it") in said.err
    # a flag still changes them, as the note says
    _run(_argv(task, fx, out, "--config", str(config), "--epochs", "4", "--resume", "--lr", f"{lr:g}"), capsys)
    assert load_checkpoint(out, "last").meta["config"]["train"]["lr"] == lr


def test_a_refused_resume_says_no_change_before_its_error(fx, tmp_path, capsys):
    # "--clip 0.5 instead of the run's 1: gradients are clipped at the new threshold from here on",
    # then the refusal of --batch-size 16: a change that never happened
    out = tmp_path / "run"
    _run(_argv("lm", fx, out, "--epochs", "1"), capsys)
    refused = _run(_argv("lm", fx, out, "--epochs", "2", "--resume", "--clip", "0.5", "--lr", "0.5", "--batch-size",
                         "16"), capsys, code=2)
    assert refused.err.startswith("seqlab: error: --resume: the run in")
    assert "batch_size 2; now batch_size 16" in refused.err
    assert refused.out == ""  # nothing changed: nothing said
    said = _run(_argv("lm", fx, out, "--epochs", "2", "--resume", "--clip", "0.5"), capsys)  # accepted: said
    assert "--clip 0.5 instead of the run's 1: gradients are clipped at the new threshold from here on" in said.out


def _a_refused_resume(fx, tmp_path, capsys):
    """An lm run from a --config file, resumed at a lower lr and clip, then a resume refused (--batch-size
    16): its one line alone. Returns the config file and the run folder."""
    config, out = _toml(tmp_path / "c.toml", FIRST["lm"]), tmp_path / "run"
    _run(_argv("lm", fx, out, "--config", str(config), "--epochs", "1"), capsys)
    _run(_argv("lm", fx, out, "--config", str(config), "--epochs", "2", "--resume", *LATER["lm"]), capsys)
    refused = _run(_argv("lm", fx, out, "--config", str(config), "--epochs", "3", "--resume", "--batch-size", "16"),
                   capsys, code=2)
    assert refused.err.count("\n") == 1 and refused.err.startswith("seqlab: error: --resume: the run in")
    return config, out


def test_a_refused_resume_says_its_error_alone_not_what_the_config_file_would_not_change(fx, tmp_path, capsys):
    # a review of the change: "seqlab: note: --resume keeps the run's lr 0.025, not the config file's
    # 0.05 ..." came before the refusal of --batch-size 16 (two lines, SPEC §12 says one)
    config, out = _a_refused_resume(fx, tmp_path, capsys)
    said = _run(_argv("lm", fx, out, "--config", str(config), "--epochs", "3", "--resume"), capsys)  # accepted
    assert said.err.count("seqlab: note: --resume keeps the run's") == 2  # lr and clip, once each


def test_a_commands_config_file_is_read_once(fx, tmp_path, capsys, monkeypatch):
    # train_config read --config three times (the task check, build_config, and given_keys for a
    # resume's notes): three chances for a file being edited to be read as two different configs
    from types import SimpleNamespace

    from seqlab import config as config_module

    toml, reads = config_module.tomllib, []  # (tomli on Python 3.10)

    def loads(text):
        reads.append(text)
        return toml.loads(text)

    monkeypatch.setattr(config_module, "tomllib", SimpleNamespace(loads=loads, TOMLDecodeError=toml.TOMLDecodeError))
    config, out = _toml(tmp_path / "c.toml", FIRST["lm"]), tmp_path / "run"
    _run(_argv("lm", fx, out, "--config", str(config), "--epochs", "1"), capsys)
    assert len(reads) == 1
    said = _run(_argv("lm", fx, out, "--config", str(config), "--epochs", "2", "--resume", "--lr", "0.025"), capsys)
    assert len(reads) == 2  # one more: the resume's
    assert "--resume keeps the run's clip" not in said.err  # the file's clip 1 is the run's: nothing to say
    said = _run(_argv("lm", fx, out, "--config", str(config), "--epochs", "3", "--resume"), capsys)
    assert len(reads) == 3 and "--resume keeps the run's lr 0.025, not the config file's 0.05" in said.err
    # train classify read it once more for its check of the other kind of data's settings (given_keys)
    _run(_argv("classify", fx, tmp_path / "cl", "--config", str(_toml(tmp_path / "cl.toml", FIRST["classify"])),
               "--epochs", "1"), capsys)
    assert len(reads) == 4


def test_a_refused_resumes_notes_are_not_said_by_a_later_command(fx, tmp_path, capsys):
    # the notes of a refused resume waited in a module-level list for the next load_optimizer, which
    # said them: `seqlab evaluate --which last` of an averaging nt-asgd run (its average is optimiser
    # state) said "--resume keeps the run's lr 0.025 ..." of a resume that never happened
    config, out = _a_refused_resume(fx, tmp_path, capsys)
    nt = tmp_path / "nt"  # (--lr 30: its validation loss rises at the third epoch, and averaging begins)
    _run(_argv("lm", fx, nt, "--optimizer", "nt-asgd", "--nonmono", "1", "--lr", "30", "--epochs", "4"), capsys)
    assert load_checkpoint(nt, "last").meta["ntasgd"]["triggered"]
    said = _run(["evaluate", "--checkpoint", str(nt), "--which", "last"], capsys)
    assert said.err == ""
