"""The CLI's stdout and stderr: what a command prints must never fail on a character.

seqlab prints text from its inputs (words, translations, paths) and its own marks ("␣" for a
space in `stats --level char`, « » in help texts). Python writes stdout in the locale's encoding
(cp1252 on many Windows machines, or whatever PYTHONIOENCODING says) and, by default, fails on a
character that encoding lacks. For the length of a command (`console_streams`):

- a stream that is not a terminal (`seqlab translate --file fr.txt > en.txt`, a pipe) is written
  in UTF-8 (also where PYTHONIOENCODING names another encoding): the output is a file someone reads
  back, and seqlab's own readers take UTF-8 only; a name that came in as undecodable bytes (a file
  name from the command line, kept by Python as surrogates) goes out as those bytes;
- except a UTF-8 stream whose error handler is not strict, which is left as it is: such a byte is
  written as its handler says (stderr's default, backslashreplace: the six characters "\\udcff" for
  the byte 0xff; PYTHONIOENCODING=utf-8:replace: "?"). That is stderr, the messages, unless the user
  chose a handler: Python escapes there so that a log of them stays UTF-8 text (as GNU tools quote a
  file name in their messages), and seqlab's messages quote names with repr, which escapes them
  anyway. The bytes themselves go to stdout (strict by default, or surrogateescape), the data;
- a terminal keeps its encoding, and a character it cannot show is printed as "?".

Streams without `reconfigure` (pytest's capture, a StringIO) are left alone, and the streams get
their encoding and error handler back when the command ends (`main` may be called in-process).
`reader_gone` tells an output error that is only the reader going away (`| head`) from a failure;
`outlive_readers` lets a training run go on when that happens (its log on stdout is a view of the work).
`one_line_warnings` shows seqlab's own `warnings.warn` warnings as the CLI's other warnings read.
"""

from __future__ import annotations

import codecs
import errno
import os
import sys
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator

from seqlab import fileio


@contextmanager
def console_streams() -> Iterator[None]:
    """Run the block with sys.stdout and sys.stderr set up as the module says, then put back
    the encoding and error handler each had (also when the block raises or exits)."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        before = _never_fail(stream)
        if before is not None:
            changed.append((stream, before))
    try:
        yield
    finally:
        for stream, (encoding, errors) in reversed(changed):
            try:
                stream.reconfigure(encoding=encoding, errors=errors)
            except (OSError, ValueError):  # the reader went away (the flush before it failed), or closed
                pass


# How seqlab's library code starts the text of a warning it raises through `warnings` (a run folder it cannot
# lock, a fast path falling back: seqlab.training.run_folder, seqlab.models.accel)
SEQLAB_PREFIX = "seqlab: "


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Run the block with seqlab's own warnings (`warnings.warn` texts that start "seqlab: ") shown once, as one
    line, `seqlab: warning: TEXT`, as the CLI's other warnings are, not as Python shows them
    (`/path/run_folder.py:87: RuntimeWarning: seqlab: TEXT` and the source line under it). Other libraries'
    warnings (torch's) are left to the hook that was there; `warnings.catch_warnings` puts it and the
    filters back when the block ends, so the library API outside the CLI shows warnings as Python does."""
    with warnings.catch_warnings():
        shown, said = warnings.showwarning, set()

        def show(message, category, filename, lineno, file=None, line=None):
            text = str(message)
            if not text.startswith(SEQLAB_PREFIX):
                return shown(message, category, filename, lineno, file, line)
            if text in said:  # once a command: Python's "default" shows one per place it is raised from
                return None  # (the run folder's lock is tried when it is checked and when it is opened)
            said.add(text)
            try:
                print(f"seqlab: warning: {text[len(SEQLAB_PREFIX):]}", file=sys.stderr if file is None else file)
            except (OSError, ValueError, AttributeError):  # no stderr, or a closed one: as Python's own hook,
                pass  # a warning never fails the command

        warnings.showwarning = show
        yield


def _never_fail(stream) -> tuple[str, str] | None:
    """Reconfigure `stream` (UTF-8 with surrogateescape unless a terminal, else errors="replace"); its
    (encoding, errors) before, or None where nothing was changed."""
    if getattr(stream, "reconfigure", None) is None:
        return None
    try:
        before = (stream.encoding, stream.errors)
        if stream.isatty():
            if stream.errors != "strict":  # stderr's backslashreplace already never fails
                return None
            stream.reconfigure(errors="replace")
        else:
            if codecs.lookup(stream.encoding).name == "utf-8" and stream.errors != "strict":
                return None  # (surrogateescape already, or a handler that never fails: see the module's doc)
            stream.reconfigure(encoding="utf-8", errors="surrogateescape")
    except (OSError, ValueError, LookupError):  # closed, or a stream that cannot be changed: as it was
        return None
    return before


def reader_gone(exc: BaseException, stream=None) -> bool:
    """Whether `exc` says that the reader of `stream` (default: stdout) went away (`seqlab generate ... | head`),
    which is not an error: a BrokenPipeError, or on Windows an OSError EINVAL that the stream's own flush raises
    again. (Windows also gives EINVAL for a bad file name, which carries the name: that one, or any EINVAL
    while the stream still takes output, is not this.)"""
    if isinstance(exc, BrokenPipeError):
        return True
    # (on Windows a closed pipe is an OSError EINVAL, not a BrokenPipeError)
    if not fileio.WINDOWS or not isinstance(exc, OSError) or exc.errno != errno.EINVAL or exc.filename is not None:
        return False
    try:
        (sys.stdout if stream is None else stream).flush()  # what could not be written is still in its buffer
    except OSError as again:
        return again.errno == errno.EINVAL
    except (AttributeError, ValueError):  # no stdout (pythonw), or a closed one
        return False
    return False


@contextmanager
def outlive_readers(note: Callable[[], str]) -> Iterator[None]:
    """Run the block (a training command) with a sys.stdout and sys.stderr that go on when their reader goes
    away (`seqlab train lm ... | head -3`, a pager quit, a `tee` that died): the run is the work, its lines
    are a view of it, and stopping there lost the epoch being saved. stdout says `note()` on stderr when that
    happens; stderr goes quiet without a word (where would it go?). Both are flushed before the block ends,
    so that a reader gone after the last write is seen here, not as a failed flush at exit."""
    out, err = _Outliving(sys.stdout, lambda: _say(note())), _Outliving(sys.stderr)
    sys.stdout, sys.stderr = out, err
    ended = False
    try:
        yield
        ended = True
    finally:
        try:
            out.flush()
            err.flush()
        except Exception:
            if ended:  # (else the block's own exception is the one to report)
                raise
        finally:
            sys.stdout, sys.stderr = out.stream, err.stream


def _say(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):  # a closed stderr: nowhere to say it
        pass


class _Outliving:
    """`stream` with its writes going on after its reader went away (`outlive_readers`): the first write or
    flush that fails so points the stream's file descriptor at os.devnull, as Python's documentation on
    SIGPIPE does, so that its buffer, the writes after it and the flush at exit go nowhere without failing;
    then calls `gone`. A stream without a descriptor to point there drops its writes instead."""

    def __init__(self, stream, gone: Callable[[], None] = lambda: None):
        # no stream at all (pythonw, `>&-`: sys.stdout is None) drops its writes, as print() does then;
        # there is no reader to lose, so no note
        self.stream, self._gone, self._dropping = stream, gone, stream is None

    def write(self, text: str) -> int:
        if not self._dropping:
            try:
                return self.stream.write(text)
            except Exception as exc:
                if not self._muted(exc):
                    raise
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self._dropping:
            try:
                self.stream.flush()
            except Exception as exc:
                if not self._muted(exc):
                    raise

    def __getattr__(self, name: str):  # encoding, isatty, fileno, ...: the stream's own
        return getattr(self.stream, name)

    def _muted(self, exc: Exception) -> bool:
        """Mute the stream if `exc` is its reader gone; whether it was."""
        if not reader_gone(exc, self.stream):
            return False
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.stream.fileno())
            finally:
                os.close(devnull)
            self.stream.flush()  # what the reader did not take, to os.devnull now
        except (OSError, ValueError, AttributeError):  # (io.UnsupportedOperation is both): no descriptor
            self._dropping = True
        self._gone()
        return True
