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
