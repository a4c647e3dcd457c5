"""Mutation-audit additions for seqlab.training.run_folder: what the existing tests let through."""

import pytest

from seqlab.errors import SeqlabError
from seqlab.training import run_folder

fcntl = pytest.importorskip("fcntl")  # (the run-folder lock is POSIX's flock)


def test_a_second_seqlab_locking_the_same_folder_is_refused(tmp_path, monkeypatch):
    # two seqlab processes taking the lock as lock_run_folder takes it: the second must be refused (a
    # shared lock would let both train into one folder). A second process is this one without its
    # record of the first lock: flock treats each open() of the folder on its own
    run_folder.lock_run_folder(tmp_path)
    try:
        with monkeypatch.context() as m:
            m.setattr(run_folder, "_locked", {})
            try:
                with pytest.raises(SeqlabError, match="another seqlab process is training in"):
                    run_folder.lock_run_folder(tmp_path)
            finally:
                run_folder.release_run_folders()  # (the second's, where it took one)
    finally:
        run_folder.release_run_folders()


def test_a_training_function_lets_go_of_its_own_locks_only(tmp_path, monkeypatch):
    # the CLI holds --out's lock around a training function, which locks the folder too (a no-op) or others:
    # when the function returns, the locks it took go, the one held before it stays
    held, taken = tmp_path / "held", tmp_path / "taken"
    held.mkdir()
    taken.mkdir()

    @run_folder.releases_run_folder
    def fit():
        run_folder.lock_run_folder(held)
        run_folder.lock_run_folder(taken)

    run_folder.lock_run_folder(held)
    try:
        fit()
        with monkeypatch.context() as m:  # a second process
            m.setattr(run_folder, "_locked", {})
            try:
                run_folder.lock_run_folder(taken)  # free again
                with pytest.raises(SeqlabError, match="another seqlab process"):
                    run_folder.lock_run_folder(held)
            finally:
                run_folder.release_run_folders()
    finally:
        run_folder.release_run_folders()


def test_an_out_that_is_a_file_is_named_as_a_file(tmp_path):
    out = tmp_path / "results.txt"
    out.write_text("not a folder")
    with pytest.raises(SeqlabError, match=f"cannot write to the output folder {str(out)!r} "
                                          f"\\({str(out)!r} is a file, not a folder\\): choose a writable --out"):
        run_folder.check_writable(out)


def test_a_logs_blank_lines_are_no_epochs(tmp_path):
    # a metrics.jsonl of blank lines is no run; between rows, a blank line is no epoch
    (tmp_path / "metrics.jsonl").write_bytes(b"\n\n")
    assert run_folder.describe_run(tmp_path) is None
    (tmp_path / "metrics.jsonl").write_bytes(b'{"epoch": 1}\n\n{"epoch": 2}\n\n')
    assert run_folder.describe_run(tmp_path) == "metrics.jsonl, 2 epochs logged"


def _overwrite_run(out):
    from types import SimpleNamespace

    return SimpleNamespace(out=str(out), resume=False, overwrite=True, resume_from="last")


def test_a_stopped_overwrite_leaves_none_of_the_new_runs_files(tmp_path):
    # killed before its first checkpoint: the next run on that --out puts the old run back, and the new
    # run's log and plots go, also those the old run never had (its loss.png beside the old perplexity.png)
    aside = tmp_path / run_folder.ASIDE
    aside.mkdir()
    for name, data in (("last.safetensors", b"old last"), ("metrics.jsonl", b'{"epoch": 1}\n'),
                       ("perplexity.png", b"old plot")):
        (aside / name).write_bytes(data)
    (aside / "MOVED").write_text("last.safetensors, epoch 1")
    (tmp_path / "metrics.jsonl").write_bytes(b"")  # the new run's, stopped in its first epoch
    (tmp_path / "loss.png").write_bytes(b"new plot")
    said = []
    run_folder.check_run_folder(_overwrite_run(tmp_path), log=said.append)
    run_folder.release_run_folders()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.safetensors", "metrics.jsonl", "perplexity.png"]
    assert (tmp_path / "metrics.jsonl").read_bytes() == b'{"epoch": 1}\n' and len(said) == 1


def test_resume_reads_the_settings_of_a_run_a_killed_overwrite_was_still_moving_aside(tmp_path):
    # killed mid-move (before MOVED was written; or while putting the run back, after MOVED was removed):
    # whatever is aside goes back into the folder when the next run starts, so it is the run's checkpoint,
    # and --resume must keep its lr (read as missing, the resume went on at the defaults' rate)
    import torch

    from seqlab.training.checkpoint import save_checkpoint
    from seqlab.training.checkpoint_meta import run_settings

    aside = tmp_path / run_folder.ASIDE
    aside.mkdir()
    save_checkpoint(aside / "last.safetensors", model={"w": torch.ones(1)},
                    meta={"epoch": 2, "config": {"train": {"lr": 7.5}}})
    assert run_settings(tmp_path, ("lr",)) == {"lr": 7.5}
    run_folder.check_run_folder(_overwrite_run(tmp_path), log=lambda line: None)  # the next run: put back
    run_folder.release_run_folders()
    assert run_settings(tmp_path, ("lr",)) == {"lr": 7.5} and not aside.exists()


def test_an_overwrite_whose_move_fails_midway_keeps_every_file_of_the_old_run(tmp_path, monkeypatch):
    # MOVED is written after the last file went aside: written first, the settling that follows a failed
    # move took the files not yet moved for the new run's and removed them
    old = {"last.safetensors": b"old last", "metrics.jsonl": b'{"epoch": 1}\n', "perplexity.png": b"old plot"}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    real, calls = run_folder.replace_file, []

    def second_move_fails(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(run_folder, "replace_file", second_move_fails)
    try:
        with pytest.raises(SeqlabError, match="--overwrite: cannot move the run"):
            run_folder.open_run_folder(_overwrite_run(tmp_path), log=lambda line: None)
    finally:
        run_folder.release_run_folders()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == old
