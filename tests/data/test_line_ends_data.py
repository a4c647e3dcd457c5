"""A registered text file with Windows line ends (a Git for Windows checkout, core.autocrlf=true)
verifies and reads as its \n copy does; a binary file, or a changed text, still fails its check."""

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from seqlab import SeqlabError
from seqlab.data import corpora, registry
from seqlab.data.corpora import DATASETS, RemoteFile, dataset_file
from seqlab.data.text import read_text

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "seqlab" / "data" / "resources" / "timemachine.txt"


def _crlf_folder(tmp_path: Path, raw: bytes) -> Path:
    """A $SEQLAB_DATA folder holding `raw` as timemachine.txt with \r\n line ends (`sed 's/$/\r/'`)."""
    folder = tmp_path / "data"
    folder.mkdir()
    assert b"\r" not in raw
    (folder / "timemachine.txt").write_bytes(raw.replace(b"\n", b"\r\n"))
    return folder


def test_a_crlf_copy_of_the_time_machine_verifies_and_reads_as_the_lf_copy(offline, monkeypatch, capsys):
    lf = dataset_file("timemachine")  # the bundled copy
    lf_text = read_text(lf)
    lf_corpus = corpora.load_corpus_time_machine()
    folder = _crlf_folder(offline, lf.read_bytes())
    monkeypatch.setenv("SEQLAB_DATA", str(folder))
    path = dataset_file("timemachine")
    assert path == folder / "timemachine.txt"  # the CRLF copy is the one found, and it verifies
    assert read_text(path) == lf_text
    assert corpora.load_corpus_time_machine() == lf_corpus
    from seqlab.cli import main

    assert main(["stats", "--dataset", "timemachine"]) == 0  # the reviewer's repro
    assert "checksum" not in capsys.readouterr().err


def test_a_changed_crlf_copy_still_fails_its_checksum(offline, monkeypatch):
    raw = dataset_file("timemachine").read_bytes()
    folder = _crlf_folder(offline, raw.replace(b"Time Traveller", b"Time Traveler", 1))
    monkeypatch.setenv("SEQLAB_DATA", str(folder))
    with pytest.raises(SeqlabError, match="fails its checksum.*delete it, or replace it"):
        dataset_file("timemachine")


def test_a_binary_file_is_checked_byte_for_byte(tmp_path, monkeypatch):
    payload = b"\x1f\x8b binary\n bytes\n"
    remote = RemoteFile("toy/a.gz", hashlib.sha256(payload).hexdigest(), "http://example.invalid/a.gz")
    monkeypatch.setitem(DATASETS, "toy", registry.Dataset("toy", {"a.gz": remote}, "a.gz", "toy"))
    good, crlf = tmp_path / "good.gz", tmp_path / "crlf.gz"
    good.write_bytes(payload)
    crlf.write_bytes(payload.replace(b"\n", b"\r\n"))
    assert dataset_file("toy", path=good) == good
    with pytest.raises(SeqlabError, match="fails its checksum"):
        dataset_file("toy", path=crlf)


def test_a_bad_bundled_copy_says_to_reinstall_not_to_delete_it(tmp_path):
    bad = tmp_path / "timemachine.txt"
    bad.write_text("not the time machine\n")
    fix = r"fails its checksum.*reinstall seqlab.*\$SEQLAB_DATA/timemachine.txt"
    with pytest.raises(SeqlabError, match=fix) as err:
        registry._verify(bad, DATASETS["timemachine"].files["timemachine.txt"], bundled=True)
    assert "delete it" not in str(err.value)


def test_git_keeps_the_bundled_text_byte_exact():
    """.gitattributes unsets `text` for the bundled data, so core.autocrlf leaves its \n alone."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    inside = subprocess.run([git, "rev-parse", "--is-inside-work-tree"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        pytest.skip("seqlab is not in a git clone here")
    out = subprocess.run([git, "check-attr", "-a", "seqlab/data/resources/timemachine.txt"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "seqlab/data/resources/timemachine.txt: text: unset" in out
    assert BUNDLED.read_bytes().count(b"\r") == 0
    # the shell scripts (CI's .ci/run among them) keep LF: bash reads a \r as part of a command
    for script in (".ci/run", ".ci/oldest", ".ci/newest", "benchmarks/gpu_session.sh"):
        out = subprocess.run([git, "check-attr", "eol", script], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
        assert out.strip() == f"{script}: eol: lf"
