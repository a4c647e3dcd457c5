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
