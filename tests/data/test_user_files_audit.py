"""Mutation audit of user_files.py: what the earlier tests left open (a folder's sha256, a path under
a file, the listing of a folder of exactly eight entries, which names a rename hint may suggest, and
fingerprints without a sha256)."""

import hashlib
import os

import pytest

from seqlab import SeqlabError
from seqlab.data.user_files import is_dir, is_file, run_data_file, same_data, sha256_of, split_files


def test_the_sha256_of_a_file_is_hashlibs_and_of_a_folder_a_folder_error(tmp_path):
    data = bytes(range(256)) * 5000  # 1.28 MB: two read blocks of 1 MiB
    (tmp_path / "d.bin").write_bytes(data)
    assert sha256_of(tmp_path / "d.bin") == hashlib.sha256(data).hexdigest()
    with pytest.raises(SeqlabError, match=r"is a folder, not a data file$"):
        sha256_of(tmp_path)


def test_a_path_under_a_file_is_nothing_there_as_pathlib_says(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    under = tmp_path / "notes.txt" / "train.txt"  # ENOTDIR, not a permission problem
    assert is_file(under) is under.is_file() is False
    assert is_dir(under) is under.is_dir() is False
    assert split_files(under) is None


def test_a_folder_of_exactly_eight_entries_is_listed_whole(tmp_path):
    for name in "abcdefgh":
        (tmp_path / f"{name}.md").write_text("x")
    with pytest.raises(SeqlabError) as exc:
        split_files(tmp_path)
    listed = ", ".join(sorted(os.listdir(tmp_path)))
    assert str(exc.value).endswith(f"; it holds {listed}")


def split_error(folder):
    with pytest.raises(SeqlabError, match="is a folder without valid.txt") as exc:
        split_files(folder)
    return str(exc.value)


def test_a_rename_hint_needs_a_whole_word_a_file_and_one_candidate(tmp_path):
    (tmp_path / "train.txt").write_text("a b\n")
    (tmp_path / "values.txt").write_text("1\n")  # 'val' inside a longer word: not a validation split
    (tmp_path / "dev").mkdir()  # a folder: cannot be renamed to valid.txt
    assert "rename (or link)" not in split_error(tmp_path)
    (tmp_path / "wiki.valid.tokens").write_text("a\n")
    assert split_error(tmp_path).endswith(": rename (or link) wiki.valid.tokens to valid.txt")
    (tmp_path / "dev.txt").write_text("b\n")  # two candidates: which one is the user's is not ours to guess
    assert "rename (or link)" not in split_error(tmp_path)


def test_a_fingerprint_without_a_sha256_is_unknown_bytes(tmp_path):
    f = tmp_path / "corpus.txt"
    f.write_text("some text\n")
    now = {"path": str(f), "sha256": hashlib.sha256(b"some text\n").hexdigest()}
    assert same_data({"path": str(f)}, now) is None
    assert run_data_file("corpus.txt", {"path": str(f)}) == str(f)
    with pytest.raises(SeqlabError, match="has changed since the run was trained"):
        run_data_file("corpus.txt", {"path": str(f), "sha256": "0" * 64})
