"""Mutation-audit additions for seqlab.cli.console: what the existing tests let through."""

import io
import sys

import pytest

from seqlab.cli import console


@pytest.mark.parametrize("encoding", ["UTF8", "utf_8", "U8"])
def test_a_utf8_stream_by_another_name_keeps_the_handler_its_user_chose(monkeypatch, encoding):
    # the module's rule (a UTF-8 stream whose handler is not strict is left as it is) goes by the codec,
    # not by how the stream spells it: "replace" stays "replace", 0xff is written as "?"
    s = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="replace")
    monkeypatch.setattr(sys, "stdout", s)
    with console.console_streams():
        print("t\udcff é")
    s.flush()
    assert s.buffer.getvalue() == "t? é\n".encode("utf-8") and (s.encoding, s.errors) == (encoding, "replace")


def test_a_seqlab_warning_raised_twice_is_one_line_and_another_text_its_own(capsys):
    # from two places (the run folder's lock is tried when checked and when opened), even where the
    # filters would show each: once a command
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        with console.one_line_warnings():
            for _ in range(2):
                warnings.warn("seqlab: cannot lock 'out'", RuntimeWarning)
            warnings.warn("seqlab: cannot lock 'other'", RuntimeWarning)
    assert capsys.readouterr().err == "seqlab: warning: cannot lock 'out'\nseqlab: warning: cannot lock 'other'\n"


def test_the_one_line_hook_writes_where_it_is_told(capsys):
    # warnings.showwarning's `file` (as Python's own hook honours it): the line goes there, not to stderr
    import warnings

    buf = io.StringIO()
    with console.one_line_warnings():
        warnings.showwarning("seqlab: a fast path fell back", RuntimeWarning, "x.py", 1, file=buf)
    assert buf.getvalue() == "seqlab: warning: a fast path fell back\n" and capsys.readouterr().err == ""


def test_an_einval_whose_flush_fails_otherwise_is_not_a_reader_gone(monkeypatch):
    # on Windows a closed pipe is EINVAL again at the flush; a flush failing with another error (a full
    # disk under `> file`, EIO) is a real failure, to be reported, not muted
    import errno

    from seqlab import fileio

    class FailingFlush(io.TextIOWrapper):
        code = errno.ENOSPC

        def flush(self):
            raise OSError(self.code, "flush failed")

        def close(self):  # (at garbage collection: not the test's business)
            pass

    monkeypatch.setattr(fileio, "WINDOWS", True)
    einval = OSError(errno.EINVAL, "Invalid argument")
    out = FailingFlush(io.BytesIO(), encoding="utf-8")
    assert not console.reader_gone(einval, out)
    out.code = errno.EINVAL
    assert console.reader_gone(einval, out)


def test_a_failed_flush_at_the_end_of_a_training_block_is_not_muted(monkeypatch):
    # `train ... > full-disk/log`: only a reader gone is outlived; ENOSPC at the last flush fails the command,
    # and where the block failed itself, its own error is the one raised
    import errno

    from seqlab import fileio

    class FullDisk(io.TextIOWrapper):
        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):  # (at garbage collection: not the test's business)
            pass

    monkeypatch.setattr(fileio, "WINDOWS", False)
    monkeypatch.setattr(sys, "stdout", FullDisk(io.BytesIO(), encoding="utf-8"))
    with pytest.raises(OSError, match="No space left"):
        with console.outlive_readers(lambda: "never said"):
            print("epoch 1")
    with pytest.raises(KeyError):
        with console.outlive_readers(lambda: "never said"):
            raise KeyError("the block's own")


def test_a_training_block_flushes_stderr_too_before_it_ends(monkeypatch):
    # so that a reader gone after the last write is seen (and outlived) there, not at exit
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", err)
    with console.outlive_readers(lambda: "never said"):
        print("seqlab: note: a line", file=sys.stderr)
    assert err.buffer.getvalue() == b"seqlab: note: a line\n"  # (no flush of ours: the block's)


def test_a_stream_naming_an_encoding_python_does_not_know_is_left_as_it_is(monkeypatch):
    # (a notebook's or an IDE's own stream object): the command goes on, the stream untouched
    class OddStream(io.StringIO):
        encoding, errors, changed = "x-ide-console", "strict", False

        def reconfigure(self, **kw):
            self.changed = True

    s = OddStream()
    monkeypatch.setattr(sys, "stdout", s)
    with console.console_streams():
        print("é")
    assert s.getvalue() == "é\n" and not s.changed
