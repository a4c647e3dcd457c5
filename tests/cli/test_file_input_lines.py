"""`translate --file F` and `classify --file F` read F line by line as the batches take it (they read the
whole file first: about 3x its size in memory, and nothing done until all of it was read), with what
`read_text(F, lines=True)` read and refused: the twin here. A FIFO shows the reading is lazy."""

import os
import threading

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from seqlab.cli.input_lines import Unreadable, input_lines
from seqlab.data.text import read_text
from seqlab.errors import SeqlabError


def _read_text_lines(path):
    """The lines as the code before read them, or its error."""
    try:
        rows = read_text(path, lines=True).split("\n")
    except SeqlabError as exc:
        return str(exc)
    return rows[:-1] if rows[-1] == "" else rows


def _ours(path):
    try:
        got = list(input_lines([], str(path), "translate"))
    except SeqlabError as exc:
        return str(exc)
    assert [where for where, _ in got] == [f"{path} line {n}" for n in range(1, len(got) + 1)]
    return [text for _, text in got]


pieces = st.sampled_from(["a", "é", " ", "\t", "\n", "\r\n", "\r", "\ufeff", "\u2028", "\x85", "\x0c", "\U0001f600"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(pieces, max_size=12), st.booleans())
@example([], True)  # a byte order mark alone: empty
@example(["\n"], True)
@example(["a", "\r", "\r\n"], False)  # a \r before the \r\n stays in its line
@example(["a", "\r"], False)  # and a \r that ends the file
def test_a_files_lines_are_what_read_text_read(tmp_path, parts, bom):
    path = tmp_path / "in.txt"
    path.write_bytes(("\ufeff" * bom + "".join(parts)).encode("utf-8"))
    assert _ours(path) == _read_text_lines(path)


def _utf16le_without_bom(path):
    path.write_bytes("va !\nsalut !\n".encode("utf-16-le"))


@pytest.mark.parametrize("make", [
    lambda p: None,  # missing
    lambda p: p.mkdir(),
    lambda p: p.write_bytes(b""),
    lambda p: p.write_bytes(b"\xef\xbb\xbf"),  # a byte order mark alone
    lambda p: p.write_bytes("va !\n".encode("utf-16")),
    _utf16le_without_bom,
    lambda p: p.write_bytes("va !\n".encode("utf-32")),
    lambda p: p.write_bytes(b"va !\nsa\x00lut\n"),
    lambda p: p.write_bytes(b"va !\n" * 800 + b"\x00"),  # a NUL in the first 4 KB (4,000)
    lambda p: p.write_bytes(b"va !\n" * 819 + b"\x00"),  # the last byte of the first 4 KB (4,095)
], ids=["missing", "folder", "empty", "bom-only", "utf16", "utf16le", "utf32", "nul", "nul-at-4000", "nul-at-4095"])
def test_a_bad_file_fails_before_the_first_line_in_read_texts_words(tmp_path, make):
    path = tmp_path / "in.txt"
    make(path)
    want = _read_text_lines(path)
    assert isinstance(want, str)  # read_text refused it
    with pytest.raises(SeqlabError) as error:
        input_lines([("argument 1", "va !")], str(path), "translate")  # when called, not when iterated
    assert str(error.value) == want


def test_unreadable_files_name_the_path_as_read_text_did(tmp_path):
    (tmp_path / "a.txt").write_text("va !\n")
    path = tmp_path / "a.txt" / "in.txt"  # a file taken for a folder
    assert _ours(path) == _read_text_lines(path) == f"cannot read {str(path)!r}: Not a directory"
    if os.geteuid() != 0:  # (root reads a file of mode 000)
        path = tmp_path / "secret.txt"
        path.write_text("va !\n")
        path.chmod(0)
        assert _ours(path) == _read_text_lines(path) == f"cannot read {str(path)!r}: Permission denied"


def test_a_line_that_is_not_utf8_is_warned_about_by_line_the_others_read(tmp_path):
    # read_text refused the whole file (after reading all of it); a file read as it comes finds the line
    # only when it gets there, so it is treated as standard input's: that line unreadable, the others read
    path = tmp_path / "in.txt"
    head = b"va !\n\xef\xbb\xbfok\r\nva \xe9\r\nsalut !\n"
    path.write_bytes(head)
    assert "is not UTF-8 text (bad byte at offset 15)" in _read_text_lines(path)
    path.write_bytes(head + b"x" * 5000 + b"\x00\nfin")  # and a NUL past the first 4 KB
    assert "looks binary (it holds NUL bytes, the first at offset 5,026)" in _read_text_lines(path)
    got = list(input_lines([], str(path), "translate"))
    assert [text for _, text in got] == ["va !", "\ufeffok", "", "salut !", "", "fin"]  # (a BOM only starts a file)
    bad, nul = got[2][1], got[4][1]
    assert isinstance(bad, Unreadable) and got[2][0] == f"{path} line 3"
    assert bad.reason == ("not UTF-8 text (bad byte at offset 3 of the line, 15 of the file): convert the file, e.g. "
                          "`iconv -f latin1 -t utf-8 FILE > FILE8`")
    assert isinstance(nul, Unreadable) and nul.reason.startswith("holds a NUL byte (at offset 5,026 of the file)")
    assert not any(isinstance(text, Unreadable) for _, text in got[:2] + got[3:4] + got[5:])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_lines_are_taken_as_they_come_not_after_the_whole_file(tmp_path):
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    taken, released = threading.Event(), []

    def writer():
        with open(fifo, "wb") as f:
            f.write(b"one\ntwo\n")
            f.flush()
            released.append(taken.wait(10))  # False: the reader waited for the end of the file
            f.write(b"three\n")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    lines = input_lines([("argument 1", "zero")], str(fifo), "translate")
    first = [next(lines) for _ in range(3)]
    taken.set()
    rest = list(lines)
    thread.join(10)
    assert first + rest == [("argument 1", "zero"), (f"{fifo} line 1", "one"), (f"{fifo} line 2", "two"),
                            (f"{fifo} line 3", "three")]
    assert released == [True]  # the first lines were read before the writer wrote the rest
