"""Property tests (hypothesis) of a user's data files (seqlab.data.user_files): a fingerprint is the file's
sha256 as hashlib computes it, so the same bytes match (`same_data` None) and any byte changed, added or cut does
not, file or folder of splits; `split_files` takes a folder exactly when it holds train.txt and valid.txt as
files; `check_not_folder` names the first preferred .txt file the folder holds, else its first by name."""

import hashlib
import os
import shutil

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seqlab.data.user_files import check_not_folder, file_fingerprint, same_data, split_files
from seqlab.errors import SeqlabError

FIXTURE = [HealthCheck.function_scoped_fixture]


def changed(data: bytes, how: str, at: int, byte: int) -> bytes:
    at = at % (len(data) + 1)
    if how == "add":
        return data[:at] + bytes([byte]) + data[at:]
    if how == "cut":
        at = min(at, len(data) - 1)
        return data[:at] + data[at + 1:]
    at = min(at, len(data) - 1)
    return data[:at] + bytes([data[at] ^ (byte or 1)]) + data[at + 1:]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(st.binary(min_size=1, max_size=200), st.sampled_from(["flip", "add", "cut"]), st.integers(0, 300),
       st.integers(0, 255))
def test_a_files_fingerprint_matches_its_bytes_only(tmp_path, data, how, at, byte):
    path, copy = tmp_path / "corpus.txt", tmp_path / "copy.txt"
    path.write_bytes(data)
    kept = file_fingerprint(path)
    assert kept == {"path": str(path.resolve()), "sha256": hashlib.sha256(data).hexdigest()}
    copy.write_bytes(data)
    assert same_data(kept, file_fingerprint(copy)) is None
    other = changed(data, how, at, byte)
    copy.write_bytes(other)
    assert same_data(kept, file_fingerprint(copy)) == "its sha256 differs"


SPLITS = ["train.txt", "valid.txt", "test.txt"]


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(st.dictionaries(st.sampled_from(SPLITS), st.binary(max_size=20), min_size=1), st.sampled_from(SPLITS),
       st.sampled_from(["flip", "add", "cut", "remove", "new"]), st.integers(0, 30))
def test_a_folders_fingerprint_names_the_split_that_differs(tmp_path, files, which, how, at):
    assume(how != "new" or which not in files)
    assume(how == "new" or which in files)
    assume(how not in ("flip", "cut") or files.get(which))
    folder = tmp_path / "d"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    kept = file_fingerprint(folder, sorted(files))
    assert kept["files"] == {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
    assert same_data(kept, file_fingerprint(folder, sorted(files))) is None
    now = dict(files)
    if how == "remove":
        del now[which]
    else:
        now[which] = changed(files.get(which, b""), how if how != "new" else "add", at, 7)
    want = {"remove": f"{which} is missing", "new": f"{which} was added"}.get(how, f"{which} differs")
    for name, data in now.items():
        (folder / name).write_bytes(data)
    assert same_data(kept, file_fingerprint(folder, sorted(now))) == want


NAMES = ["train.txt", "valid.txt", "test.txt", "a.txt", "notes.md", "validation.txt", "Train.txt", "z.txt"]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE)
@given(st.dictionaries(st.sampled_from(NAMES), st.sampled_from(["file", "folder"]), max_size=5),
       st.lists(st.sampled_from(["test.txt", "train.txt", "z.txt", "b.txt"]), max_size=3))
def test_split_files_and_check_not_folder_follow_what_the_folder_holds(tmp_path, held, prefer):
    folder = tmp_path / "data"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for name, kind in held.items():
        (folder / name).mkdir() if kind == "folder" else (folder / name).write_text("x")
    names = set(os.listdir(folder))  # (on a case-insensitive file system Train.txt is train.txt)
    files = {n for n in names if (folder / n).is_file()}
    split_folder = any((folder / n).is_dir() for n in SPLITS)
    if not split_folder and {"train.txt", "valid.txt"} <= files:
        got = split_files(folder)
        assert got == {n[:-4]: folder / n for n in SPLITS if n in files}
    else:
        with pytest.raises(SeqlabError, match="is a folder"):
            split_files(folder)
    txt = sorted(n for n in files if n.endswith(".txt"))
    if not txt:
        check_not_folder(folder, tuple(prefer))
        return
    first = next((p for p in prefer if p in txt), txt[0])
    with pytest.raises(SeqlabError) as exc:
        check_not_folder(folder, tuple(prefer))
    assert str(exc.value).endswith(f"e.g. {str(folder / first)!r}")
    assert split_files(folder / txt[0]) is None  # a file: read as one text
