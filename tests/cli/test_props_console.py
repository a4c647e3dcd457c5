"""Property tests (hypothesis) of the CLI's streams (seqlab.cli.console): whatever text a command prints,
to a pipe or file in any encoding (cp1252, ascii, utf-8, strict or not) it goes out as UTF-8 that reads back
as the text (an undecodable byte kept as a surrogate goes out as that byte; a UTF-8 stream whose error
handler is not strict is left as it is, by design: PYTHONIOENCODING=utf-8:replace, or stderr's
backslashreplace, writes such a byte as its handler says); to a terminal it is the text in
the terminal's encoding with "?" for what that lacks; nothing raises, and each stream gets its encoding and
error handler back."""

import codecs
import io
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.cli import console


class Terminal(io.TextIOWrapper):
    def isatty(self):
        return True


ENCODINGS = st.sampled_from(["cp1252", "ascii", "utf-8", "latin-1", "utf_8"])
ERRORS = st.sampled_from(["strict", "replace", "backslashreplace"])
# any text, with the surrogates python keeps undecodable bytes as (a file name from the command line)
texts = st.lists(st.text(st.one_of(st.characters(blacklist_categories=("Cs",)),
                                   st.sampled_from([chr(c) for c in range(0xDC80, 0xDD00)])), max_size=12),
                 max_size=4)


def run(texts, out, err):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdout", out)
        mp.setattr(sys, "stderr", err)
        with console.console_streams():
            for text in texts:
                print(text)
                print(text, file=sys.stderr)
        out.flush()
        err.flush()


@settings(max_examples=150, deadline=None)
@given(texts, ENCODINGS, ERRORS, ENCODINGS, ERRORS)
def test_redirected_output_is_the_text_in_utf8_and_the_streams_are_given_back(texts, enc, errors, enc2, errors2):
    out = io.TextIOWrapper(io.BytesIO(), encoding=enc, errors=errors)
    err = io.TextIOWrapper(io.BytesIO(), encoding=enc2, errors=errors2)
    run(texts, out, err)
    want = "".join(t + "\n" for t in texts)
    for s, e in ((out, errors), (err, errors2)):
        handler = "surrogateescape" if s.errors == "strict" or codecs.lookup(s.encoding).name != "utf-8" else e
        assert s.buffer.getvalue() == want.encode("utf-8", handler)
    assert (out.encoding, out.errors, err.encoding, err.errors) == (enc, errors, enc2, errors2)


@settings(max_examples=150, deadline=None)
@given(texts, ENCODINGS, ERRORS)
def test_a_terminal_shows_the_text_in_its_encoding_with_a_question_mark_for_what_it_lacks(texts, enc, errors):
    out = Terminal(io.BytesIO(), encoding=enc, errors=errors)
    err = Terminal(io.BytesIO(), encoding=enc, errors=errors)
    run(texts, out, err)
    for s in (out, err):
        handler = "replace" if errors == "strict" else errors
        assert s.buffer.getvalue() == "".join(t + "\n" for t in texts).encode(enc, handler)
    assert (out.encoding, out.errors, err.errors) == (enc, errors, errors)
