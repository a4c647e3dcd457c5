"""--which picks a file of a run folder; given a checkpoint FILE, a --which that names another file is
refused (a new-user review: `generate --checkpoint runs/tm/best.safetensors --which last` used best,
silently, in every command that takes --which)."""

import json

import pytest

from seqlab.cli import main

# each command with --which, and what else it needs to get as far as loading the checkpoint
COMMANDS = {
    "evaluate": [],
    "generate": ["--prefix", "a"],
    "forecast": ["--steps", "3"],
    "classify": [],
    "translate": ["va !"],
}


@pytest.fixture
def run(tmp_path):
    """A run folder's two file names (never read: the refusal comes before the checkpoint loads)."""
    folder = tmp_path / "tm"
    folder.mkdir()
    for name in ("best", "last"):
        (folder / f"{name}.safetensors").write_bytes(b"not read")
    return folder


def _error(argv, capsys) -> str:
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_which_last_with_the_best_file_is_refused_not_ignored(command, run, capsys):
    err = _error([command, "--checkpoint", str(run / "best.safetensors"), "--which", "last", *COMMANDS[command]],
                 capsys)
    assert err == (f"seqlab: error: --which applies to a run folder; you gave the file {run / 'best.safetensors'}: "
                   f"give --checkpoint {run} --which last, or the file {run / 'last.safetensors'}")


def test_which_with_a_file_that_has_no_such_sibling_says_to_leave_it_out(tmp_path, capsys):
    (tmp_path / "model.safetensors").write_bytes(b"not read")
    err = _error(["evaluate", "--checkpoint", str(tmp_path / "model.safetensors"), "--which", "best"], capsys)
    given = tmp_path / "model.safetensors"
    assert err == (f"seqlab: error: --which applies to a run folder; you gave the file {given}: "
                   "give the run folder with --which best, or leave --which out to use this file")


def test_which_naming_the_file_given_or_left_out_loads_it(tiny_mnist_run, capsys):
    out, _ = tiny_mnist_run
    for argv in (["--checkpoint", str(out / "best.safetensors"), "--which", "best"],
                 ["--checkpoint", str(out / "last.safetensors"), "--which", "last"],
                 ["--checkpoint", str(out / "last.safetensors")],
                 ["--checkpoint", str(out), "--which", "last"]):
        capsys.readouterr()
        assert main(["evaluate", *argv]) == 0, capsys.readouterr().err
        assert json.loads(capsys.readouterr().out)["epoch"] == 1
