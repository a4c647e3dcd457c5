"""Reading and tokenising text."""

from __future__ import annotations

import contextlib
import gc
import io
import re
from pathlib import Path
from typing import Iterator, Literal

from seqlab.errors import SeqlabError

_NON_LETTERS = re.compile("[^A-Za-z]+")
TokenLevel = Literal["word", "char"]


def read_text(path: str | Path, *, lines: bool = False) -> str:
    """A whole UTF-8 text file; empty, binary and non-UTF-8 files are clear errors. Line ends are
    read as Python's text mode (and the book's `open(...).readlines()`) reads them: \\r\\n and \\r
    become \\n, so a Windows file gives the same tokens (no '\\r' character in a char model).

    `lines`: a file of one text per line, each answered by one output line (`seqlab translate`,
    `classify --file`): only \\n and \\r\\n end a line, as standard input's lines are read (a lone
    \\r is a character of its line), and a file of blank lines is read, not refused."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc.start) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        text = text if lines else text.replace("\r", "\n")
    if not text or (text.isspace() and not lines):  # (not text.strip(): it would copy the text)
        raise _empty(path, lines)
    return text


def read_text_utf8(path: str | Path) -> bytes:
    """`read_text(path)` as UTF-8 bytes (`read_text(path).encode()`), refused alike, without ever
    holding the whole decoded str: a str of a file with one character past U+00FF takes 2 or 4
    bytes a character, and beside the file's bytes it tripled the LM loader's peak (WikiText-2 x50:
    540 MB of bytes, a 1.08 GB str). For the raw-word indexer, which cuts words in the bytes; a
    tokenizer of str reads `TextBlocks` (this decodes every block to check it, and drops it)."""
    raw = _read_bytes(path)
    for _ in _checked_parts(raw, path):
        pass
    if raw.startswith("\ufeff".encode()):
        raw = raw[3:]
    if b"\r" in raw:  # a \r byte is only ever the character (UTF-8 continuation bytes are >= 0x80)
        raw = raw.replace(b"\r\n", b"\n")
        raw = raw.replace(b"\r", b"\n")
    return raw


class TextBlocks:
    """`read_text(path)`'s text as line-aligned str blocks, each decoded as it is iterated: once, the
    decoding being the check (read_text_utf8's bytes were decoded to check them, and a tokenizer of
    str decoded them again). The same refusals as read_text, word for word: a missing, binary or
    UTF-16 file when this is made; a bad byte (its offset in the file) when its block is reached;
    an empty or blank text after the last block. Never the whole text as one str (see read_text_utf8)."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.raw = _read_bytes(path)  # the file's bytes as they are (its byte order mark, its \r\n)

    def __iter__(self) -> Iterator[str]:
        for part in _checked_parts(self.raw, self.path):
            # line ends as read_text reads them; a block ends at a \n, never between a \r\n's two characters
            yield part.replace("\r\n", "\n").replace("\r", "\n") if "\r" in part else part


def _checked_parts(raw: bytes, path: str | Path) -> Iterator[str]:
    """The text of `raw` (a file's bytes) decoded a line-aligned block at a time, less its byte order
    mark; refused as read_text refuses it. A block ends at a newline, never inside a character, so a
    bad byte is found at the offset a whole decode gives."""
    from seqlab.data.token_ids import blocks

    start, blank = 0, True
    for block in blocks(raw):
        try:
            part = block.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(path, start + exc.start) from None
        if start == 0 and part.startswith("\ufeff"):
            part = part[1:]
        blank = blank and (not part or part.isspace())  # (read_text's test, by parts)
        start += len(block)
        yield part
    if blank:
        raise _empty(path, lines=False)


def _read_bytes(path: str | Path) -> bytes:
    """A file's bytes, refused when missing, a folder, unreadable, UTF-16/32 or binary (NUL)."""
    path = Path(path).expanduser()  # (~ as the CLI and pandas' readers read it)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SeqlabError(f"text file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise SeqlabError(f"{str(path)!r} is a folder, not a text file") from None
    except OSError as exc:
        raise SeqlabError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    # the whole file (a NUL anywhere, not only near the start: it would be read as a character);
    # `in` on bytes is a memchr, cheap beside the decode
    refuse_wide_or_binary(repr(str(path)), raw)
    return raw


def _not_utf8(path: str | Path, offset: int) -> SeqlabError:
    return SeqlabError(f"{str(Path(path).expanduser())!r} is not UTF-8 text (bad byte at offset {offset}): "
                       "convert it, e.g. `iconv -f latin1 -t utf-8`")


def _empty(path: str | Path, lines: bool) -> SeqlabError:
    return SeqlabError(f"{str(Path(path).expanduser())!r} is empty: " + ("give one text per line" if lines else
                                                                          "a corpus needs some text"))


def refuse_wide_or_binary(name: str, raw: bytes) -> None:
    """Refuse bytes (a file's, or its head) that are UTF-16/32 text or hold a NUL, naming the file as `name`."""
    wide = utf16_encoding(raw)
    if wide:
        raise SeqlabError(f"{name} looks like {wide[:6].upper()} text, not UTF-8: convert it, e.g. "
                          f"`iconv -f {wide} -t utf-8 FILE > FILE8`")
    if b"\x00" in raw:
        raise SeqlabError(f"{name} looks binary (it holds NUL bytes, the first at offset {raw.index(0):,}): "
                          "give a plain UTF-8 text file")


def utf16_encoding(raw: bytes) -> str | None:
    """The iconv name of the UTF-16 flavour `raw` looks like (a byte order mark, or a NUL as every
    other byte of its start, as ASCII text in UTF-16 is), or "utf-32" for a UTF-32 byte order mark
    (whose first two bytes are UTF-16's), else None."""
    if raw[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "utf-32"
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "utf-16"
    head = raw[:4096]
    if len(head) < 4 or b"\x00" not in head:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
        return "utf-16le"  # 'a' is 61 00
    if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
        return "utf-16be"  # 'a' is 00 61
    return None


def preprocess_line(line: str) -> str:
    """The book's cleaning: runs of non-letters become one space; strip; lower-case."""
    return _NON_LETTERS.sub(" ", line).strip().lower()


def book_lines(text: str) -> list[str]:
    """Lines of `text` cleaned as the book does (see `preprocess_line`), cut where the book's
    `readlines()` cuts them: at \n, \r\n and \r only. (str.splitlines() also cuts at \f, \v, \x1c,
    \x85, U+2028, ...: the characters of the lines each side of one were then joined with no space
    between, where the book's cleaning makes it one.)"""
    return [preprocess_line(line) for line in io.StringIO(text, newline=None)]


def tokenize(lines: list[str], token: str = "word") -> list[list[str]]:
    """Split each line into words (`str.split`) or characters."""
    if token == "word":
        return [line.split() for line in lines]
    if token == "char":
        return [list(line) for line in lines]
    raise SeqlabError(f"unknown token type {token!r}: use 'word' or 'char'")


# --- text without spaces between words -----------------------------------------------------
# Chinese and Japanese are written without spaces, so whitespace "words" are whole phrases or
# lines. The rule (documented in the README): at the word level, the text looks unsegmented when
# its words average more than 12 characters (English averages 4-5, German 6), or more than 4 when
# most of its characters are Han or kana (text segmented by jieba or MeCab averages under 2).
LONG_WORD = 12
LONG_CJK_WORD = 4
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def unsegmented_note(freqs, skip: tuple = ()) -> str | None:
    """A warning when word tokens look like text written without spaces (see LONG_WORD), else None.

    `freqs`: (word, count) pairs, e.g. a vocabulary's `token_freqs`; words in `skip` (the "<eos>"
    line ends) and tokens that are not strings are left out."""
    words = chars = cjk = 0
    for token, count in freqs:
        if not isinstance(token, str) or token in skip:
            continue
        words += count
        chars += count * len(token)
        cjk += count * len(_CJK.findall(token))
    if not words:
        return None
    mean, mostly_cjk = chars / words, cjk > chars / 2
    if mean <= (LONG_CJK_WORD if mostly_cjk else LONG_WORD):
        return None
    script = " (mostly Chinese/Japanese characters)" if mostly_cjk else ""
    return (f"this text looks written without spaces between words: its {words:,} word{'s' * (words != 1)}{script} "
            f"average {mean:.1f} characters, each a phrase or a whole line, so the vocabulary is of phrases and "
            "most of them are rare: use --level char (as nanoGPT does for such text), or segment the text first "
            "(jieba, MeCab, sentencepiece)")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of short-lived token strings
    exist: they hold no cycles, and every collection would walk them all (it costs
    more than half of the encoding time on WikiText-2)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
