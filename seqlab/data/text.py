"""Reading and tokenising text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from seqlab.errors import SeqlabError

_NON_LETTERS = re.compile("[^A-Za-z]+")
TokenLevel = Literal["word", "char"]


def read_text(path: str | Path) -> str:
    """A whole UTF-8 text file; empty, binary and non-UTF-8 files are clear errors. Line ends are
    read as Python's text mode (and the book's `open(...).readlines()`) reads them: \\r\\n and \\r
    become \\n, so a Windows file gives the same tokens (no '\\r' character in a char model)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SeqlabError(f"text file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise SeqlabError(f"{str(path)!r} is a folder, not a text file") from None
    except OSError as exc:
        raise SeqlabError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    if b"\x00" in raw[:65536]:
        raise SeqlabError(f"{str(path)!r} looks binary (it holds NUL bytes): give a plain UTF-8 text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SeqlabError(f"{str(path)!r} is not UTF-8 text (bad byte at offset {exc.start}): "
                          "convert it, e.g. `iconv -f latin1 -t utf-8`") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text or text.isspace():  # (not text.strip(): it would copy the text)
        raise SeqlabError(f"{str(path)!r} is empty: a corpus needs some text")
    return text


def preprocess_line(line: str) -> str:
    """The book's cleaning: runs of non-letters become one space; strip; lower-case."""
    return _NON_LETTERS.sub(" ", line).strip().lower()


def book_lines(text: str) -> list[str]:
    """Lines of `text` cleaned as the book does (see `preprocess_line`)."""
    return [preprocess_line(line) for line in text.splitlines()]


def tokenize(lines: list[str], token: str = "word") -> list[list[str]]:
    """Split each line into words (`str.split`) or characters."""
    if token == "word":
        return [line.split() for line in lines]
    if token == "char":
        return [list(line) for line in lines]
    raise SeqlabError(f"unknown token type {token!r}: use 'word' or 'char'")
