"""What `seqlab translate` reads: its SENTENCE arguments, then the lines of --file or of standard
input, as (where, text) pairs (`where` names the line in warnings), taken --batch-size at a time."""

from __future__ import annotations

import argparse


def input_lines(args: argparse.Namespace):
    """(iterator of (where, text), single): the SENTENCE arguments, then the lines of --file (or
    of standard input: --file -, or neither given and stdin not a terminal). `single`: one
    argument and nothing else, whose failure is an error rather than a warning."""
    import itertools

    from seqlab.data.text import read_text
    from seqlab.errors import SeqlabError

    sentences = list(args.sentences)
    arguments = [(f"argument {n}" if len(sentences) > 1 or args.file else "", s)
                 for n, s in enumerate(sentences, start=1)]
    source = args.file
    if source is None and not sentences and _stdin_has_input():
        source = "-"
    if source is None:
        if not sentences:
            raise SeqlabError("nothing to translate: give sentences as arguments, --file FILE, or lines on "
                              "standard input (--file -)")
        return iter(arguments), len(sentences) == 1
    if source == "-":
        rest = _stdin_lines()
        first = next(rest, None)  # an empty input fails before the model is loaded
        if first is None and not sentences:
            raise SeqlabError("nothing to translate: standard input is empty")
        rest = itertools.chain([first] if first is not None else [], rest)
    else:
        text = read_text(source)
        rows = text.split("\n")
        if rows[-1] == "":  # the last line's newline
            rows.pop()
        rest = ((f"{source} line {n}", line) for n, line in enumerate(rows, start=1))
    return itertools.chain(arguments, rest), False


def _stdin_has_input() -> bool:
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
            except UnicodeDecodeError as exc:  # this line is warned about; the others are translated
                yield f"standard input line {n}", Unreadable(
                    f"not UTF-8 text (bad byte at offset {exc.start} of the line): convert the input, e.g. "
                    "`iconv -f latin1 -t utf-8`")
                continue
        if n == 1 and raw.startswith("\ufeff"):
            raw = raw[1:]
        yield f"standard input line {n}", raw.rstrip("\r\n")


class Unreadable(str):
    """A line of standard input that could not be decoded, and why."""

    def __new__(cls, reason: str):
        line = super().__new__(cls, "")
        line.reason = reason
        return line


def chunks(items, size: int):
    """Lists of `size` items of an iterator, the last one shorter; read as they are taken."""
    import itertools

    while chunk := list(itertools.islice(items, size)):
        yield chunk
