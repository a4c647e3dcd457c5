"""The CLI's output never fails on a character its console's encoding lacks (cli/console.py):
redirected output is UTF-8, a terminal shows "?" instead, and the streams are given back as they were."""

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab import fileio
from seqlab.cli import console, main

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.TextIOWrapper):
    def isatty(self):
        return True


def stream(encoding, cls=io.TextIOWrapper):
    return cls(io.BytesIO(), encoding=encoding)


def written(s) -> bytes:
    s.flush()
    return s.buffer.getvalue()


@pytest.fixture
def spaced(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a b a c a b\n" * 5)
    return path


def test_redirected_output_is_utf8_whatever_the_locale_says(data_dir, monkeypatch):
    # cp1252 (a Windows console's code page) has no "␣", stats' mark for a space: the output went
    # nowhere before, exit 1 "a bug"; a file someone reads back is UTF-8, as seqlab's inputs are
    out, err = stream("cp1252"), stream("cp1252")
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["stats", "--dataset", "timemachine", "--level", "char"]) == 0
    assert "␣" in written(out).decode("utf-8")
    assert (out.encoding, out.errors, err.encoding) == ("cp1252", "strict", "cp1252")  # given back


def test_help_text_is_written_too(monkeypatch):
    # the « » of translate's help are printed while the arguments are parsed, before any command runs
    out = stream("ascii")
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(SystemExit) as exc:
        main(["translate", "--help"])
    assert exc.value.code == 0 and "«" in written(out).decode("utf-8")
    assert out.encoding == "ascii"


def test_a_terminal_keeps_its_encoding_and_shows_what_it_cannot_as_a_question_mark(spaced, monkeypatch):
    out = stream("ascii", Terminal)
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["stats", "--data", str(spaced), "--level", "char"]) == 0
    text = written(out).decode("ascii")
    assert "25  ?" in text and "top unigrams" in text  # the 25 spaces, "␣" where the console has it
    assert (out.encoding, out.errors) == ("ascii", "strict")


def test_captured_output_is_left_as_it_is(spaced, capsys):
    # pytest's capture (like a StringIO) is not reconfigured, and reads the same after a command
    before = (sys.stdout, sys.stdout.encoding, sys.stdout.errors)
    assert main(["stats", "--data", str(spaced), "--level", "char"]) == 0
    assert "␣" in capsys.readouterr().out
    assert (sys.stdout, sys.stdout.encoding, sys.stdout.errors) == before
    print("ā «»")
    assert capsys.readouterr().out == "ā «»\n"


def test_a_real_cp1252_console_redirected_to_a_file(data_dir, tmp_path):
    target = tmp_path / "out.txt"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="cp1252", OMP_NUM_THREADS="1",
               SEQLAB_DATA=str(data_dir))
    with open(target, "wb") as fh:
        proc = subprocess.run([sys.executable, "-m", "seqlab", "stats", "--dataset", "timemachine", "--level", "char"],
                              stdout=fh, stderr=subprocess.PIPE, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert "␣" in target.read_bytes().decode("utf-8")


class ClosedPipe(io.TextIOWrapper):
    """stdout whose reader went away, as Windows says it: OSError EINVAL, not BrokenPipeError."""
    code = errno.EINVAL

    def write(self, s=None):
        raise OSError(self.code, os.strerror(self.code))  # (EPIPE makes a BrokenPipeError)

    flush = write

    def close(self):  # (at garbage collection: not the test's business)
        pass


def test_a_reader_gone_on_windows_is_not_a_failure(spaced, monkeypatch, capsys):
    # `seqlab stats ... | head` in Git Bash: was exit 1, "a bug", with a traceback
    monkeypatch.setattr(fileio, "WINDOWS", True)
    monkeypatch.setattr(sys, "stdout", stream("utf-8", ClosedPipe))
    assert main(["stats", "--data", str(spaced), "--level", "char"]) == 0
    assert capsys.readouterr().err == ""


def test_a_broken_pipe_is_not_a_failure_anywhere(spaced, monkeypatch, capsys):
    monkeypatch.setattr(fileio, "WINDOWS", False)
    monkeypatch.setattr(ClosedPipe, "code", errno.EPIPE)
    monkeypatch.setattr(sys, "stdout", stream("utf-8", ClosedPipe))
    assert main(["stats", "--data", str(spaced), "--level", "char"]) == 0
    assert capsys.readouterr().err == ""


def test_only_stdouts_own_einval_is_a_reader_gone(monkeypatch):
    einval = OSError(errno.EINVAL, "Invalid argument")
    monkeypatch.setattr(fileio, "WINDOWS", True)
    monkeypatch.setattr(sys, "stdout", stream("utf-8"))  # takes output: the EINVAL was something else's
    assert not console.reader_gone(einval)
    monkeypatch.setattr(sys, "stdout", stream("utf-8", ClosedPipe))
    assert console.reader_gone(einval)
    assert not console.reader_gone(OSError(errno.EINVAL, "Invalid argument", "runs/a:b"))  # a bad file name
    assert not console.reader_gone(OSError(errno.EIO, "Input/output error"))
    monkeypatch.setattr(fileio, "WINDOWS", False)
    assert not console.reader_gone(einval)



def test_a_file_name_of_undecodable_bytes_is_printed_as_its_bytes(tmp_path, monkeypatch):
    # Python keeps a name that is not UTF-8 (b"t\xff.txt") as surrogates; a UTF-8 stdout with the
    # strict handler failed on it ("a bug", exit 1) where stats names its file
    if sys.platform == "win32":
        pytest.skip("Windows file names are UTF-16, never undecodable bytes")
    path = os.fsencode(tmp_path) + b"/t\xff.txt"
    with open(path, "wb") as fh:
        fh.write(b"a b a c a b\n" * 5)
    out = stream("utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["stats", "--data", os.fsdecode(path), "--level", "word"]) == 0
    assert written(out).startswith(path + b" (word level")  # the name's own bytes
    assert (out.encoding, out.errors) == ("utf-8", "strict")  # given back


@pytest.mark.parametrize("encoding, errors, bytes_out", [
    ("utf-8", "strict", b"t\xff \xc3\xa9\n"),  # the name's own bytes (Python's default stdout)
    ("utf-8", "surrogateescape", b"t\xff \xc3\xa9\n"),  # (PYTHONUTF8=1, or the C locale)
    ("cp1252", "backslashreplace", b"t\xff \xc3\xa9\n"),  # not UTF-8: made UTF-8 with surrogateescape
    ("utf-8", "backslashreplace", b"t\\udcff \xc3\xa9\n"),  # stderr's default: escaped, the log stays UTF-8
    ("utf-8", "replace", b"t? \xc3\xa9\n"),  # PYTHONIOENCODING=utf-8:replace, as the user chose
    ("utf-8", "ignore", b"t \xc3\xa9\n"),
])
def test_an_undecodable_byte_goes_out_as_the_streams_handler_says(monkeypatch, encoding, errors, bytes_out):
    # the module's rule: a redirected stream is UTF-8 with the bytes kept, unless it is UTF-8 already with a
    # handler that is not strict (stderr's backslashreplace, or the user's), which is left as it is
    for name in ("stdout", "stderr"):
        s = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors=errors)
        monkeypatch.setattr(sys, name, s)
        with console.console_streams():
            print("t\udcff é", file=getattr(sys, name))  # (0xff as Python keeps an undecodable byte)
        assert written(s) == bytes_out and (s.encoding, s.errors) == (encoding, errors)
