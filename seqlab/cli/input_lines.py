"""What a command that reads texts line by line reads (`seqlab translate`, `seqlab classify`): its
texts given as arguments, then the lines of --file or of standard input, as (where, text) pairs
(`where` names the line in warnings), taken --batch-size at a time. A line of standard input that
is not UTF-8 is an `Unreadable` text, which says why; the other lines are read."""

from __future__ import annotations

from typing import Iterator


def input_lines(arguments: list[tuple[str, str]], source: str | None, task: str) -> Iterator[tuple[str, str]]:
    """(where, text) of each of `arguments`, then of each line of `source`: a UTF-8 text file, or
    standard input ("-", read as it comes); None: the arguments alone. A missing file, or an empty
    standard input with no arguments ("nothing to `task`"), fails here, before a model is loaded."""
    import itertools

    from seqlab.data.text import read_text
    from seqlab.errors import SeqlabError

    if source == "-":
        rest = _stdin_lines()
        first = next(rest, None)  # an empty input fails before the model is loaded
        if first is None and not arguments:
            raise SeqlabError(f"nothing to {task}: standard input is empty")
        rest = itertools.chain([first] if first is not None else [], rest)
    elif source is not None:
        rows = read_text(source, lines=True).split("\n")
        if rows[-1] == "":  # the last line's newline
            rows.pop()
        rest = ((f"{source} line {n}", line) for n, line in enumerate(rows, start=1))
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
        yield f"standard input line {n}", raw.rstrip("\r\n")


class Unreadable(str):
    """A line of standard input that could not be decoded (an empty text), and why (`reason`)."""

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
