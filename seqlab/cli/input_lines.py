"""What a command that reads texts line by line reads (`seqlab translate`, `seqlab classify`): its
texts given as arguments, then the lines of --file or of standard input, as (where, text) pairs
(`where` names the line in warnings), taken --batch-size at a time. Both are read line by line as
the batches take them (a file of several GB is never held whole). A line that is not UTF-8 is an
`Unreadable` text, which says why; the other lines are read."""

from __future__ import annotations

from typing import Iterator


def input_lines(arguments: list[tuple[str, str]], source: str | None, task: str) -> Iterator[tuple[str, str]]:
    """(where, text) of each of `arguments`, then of each line of `source`: a UTF-8 text file, or
    standard input ("-"), each read as it comes; None: the arguments alone. A missing, unreadable,
    UTF-16 or binary file, an empty one, or an empty standard input with no arguments ("nothing to
    `task`"), fails here, before a model is loaded."""
    import itertools

    from seqlab.errors import SeqlabError

    if source == "-":
        rest = _stdin_lines()
        first = next(rest, None)  # an empty input fails before the model is loaded
        if first is None and not arguments:
            raise SeqlabError(f"nothing to {task}: standard input is empty")
        rest = itertools.chain([first] if first is not None else [], rest)
    elif source is not None:
        rest = _file_lines(source)
    else:
        rest = iter(())
    return itertools.chain(arguments, rest)


def stdin_has_input() -> bool:
    """Standard input is a pipe or a file (not a terminal; not closed, nor replaced by one that
    cannot be read, as under a test runner)."""
    import sys

    stdin = sys.stdin
    try:
        return stdin is not None and not stdin.isatty() and stdin.readable()
    except (OSError, ValueError):  # closed
        return False


def _stdin_lines():
    """(where, text) for each line of standard input, read as it comes: UTF-8, without a byte order
    mark, \\r\\n read as \\n."""
    import sys

    from seqlab.data.text import utf16_encoding
    from seqlab.errors import SeqlabError

    stream = getattr(sys.stdin, "buffer", None) or sys.stdin
    for n, raw in enumerate(stream, start=1):
        wide = utf16_encoding(raw) if n == 1 and isinstance(raw, bytes) else None
        if wide:  # every line would decode wrong, and a UTF-16 newline splits lines unevenly: one error
            raise SeqlabError(f"standard input looks like {wide.upper()}, not UTF-8: convert it, e.g. "
                              f"`iconv -f {wide} -t utf-8`")
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:  # this line is warned about; the others are read
                yield f"standard input line {n}", Unreadable(
                    f"not UTF-8 text (bad byte at offset {exc.start} of the line): convert the input, e.g. "
                    "`iconv -f latin1 -t utf-8`")
                continue
        if n == 1 and raw.startswith("\ufeff"):
            raw = raw[1:]
        # one line end off, as a file's lines (a \r before it is a character of the line there too)
        yield f"standard input line {n}", raw[:-2] if raw.endswith("\r\n") else raw.removesuffix("\n")


_HEAD = 4096  # the bytes read_text looked at for UTF-16 (seqlab.data.text.utf16_encoding)


def _file_lines(source: str):
    """(where, text) for each line of the text file `source`, read as it comes (a FIFO too), as
    read_text(source, lines=True) read the whole file: without a byte order mark, only \\n and \\r\\n
    ending a line (a lone \\r is a character of its line). What it refused, in its words, fails here
    before the first line is taken: a missing, unreadable or folder path, UTF-16/32 or a NUL byte in
    the first 4 KB, an empty file. A line further on that is not UTF-8 or holds a NUL (which
    read_text found before the first batch) is an `Unreadable` text, as on standard input: warned
    about by line, the other lines read."""
    from pathlib import Path

    from seqlab.data.text import refuse_wide_or_binary
    from seqlab.errors import SeqlabError

    path = Path(source).expanduser()  # (~ as read_text reads it)
    name = repr(str(path))
    try:
        stream = open(path, "rb", buffering=1 << 16)  # (a buffer of at least _HEAD: peek gives the head)
    except OSError as exc:
        raise _cannot_read(name, exc) from None
    try:
        refuse_wide_or_binary(name, stream.peek(_HEAD)[:_HEAD])
        first = stream.readline()
        if first in (b"", b"\xef\xbb\xbf"):  # (a line without \n is the file's last)
            raise SeqlabError(f"{name} is empty: give one text per line")
    except OSError as exc:  # (reading a folder fails here on some systems)
        stream.close()
        raise _cannot_read(name, exc) from None
    except BaseException:
        stream.close()
        raise
    return _read_lines(stream, first, source)


def _cannot_read(name: str, exc: OSError):
    """read_text's words for a path it could not read."""
    from seqlab.errors import SeqlabError

    if isinstance(exc, FileNotFoundError):
        return SeqlabError(f"text file {name} not found")
    if isinstance(exc, IsADirectoryError):
        return SeqlabError(f"{name} is a folder, not a text file")
    return SeqlabError(f"cannot read {name}: {exc.strerror}")


def _read_lines(stream, first: bytes, source: str):
    import itertools

    with stream:
        end = 0  # the file offset after the line
        for n, raw in enumerate(itertools.chain([first], stream), start=1):
            start, end = end, end + len(raw)
            where = f"{source} line {n}"
            line = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw.endswith(b"\n") else raw
            if b"\x00" in line:
                yield where, Unreadable(f"holds a NUL byte (at offset {start + line.index(0):,} of the file), "
                                        "not text: give a plain UTF-8 text file")
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield where, Unreadable(f"not UTF-8 text (bad byte at offset {exc.start} of the line, "
                                        f"{start + exc.start:,} of the file): convert the file, e.g. "
                                        "`iconv -f latin1 -t utf-8 FILE > FILE8`")
                continue
            yield where, text[1:] if n == 1 and text.startswith("\ufeff") else text


class Unreadable(str):
    """A line of standard input or of a file that could not be decoded (an empty text), and why (`reason`)."""

    def __new__(cls, reason: str):
        line = super().__new__(cls, "")
        line.reason = reason
        return line


def chunks(items, size: int):
    """Lists of `size` items of an iterator, the last one shorter; read as they are taken."""
    import itertools
    import sys

    size = min(size, sys.maxsize)  # (islice takes no more: --batch-size 2**64 is all of them at once)
    while chunk := list(itertools.islice(items, size)):
        yield chunk
