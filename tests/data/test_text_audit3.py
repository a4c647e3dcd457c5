"""Text reading edges a hand mutation audit (session 31) found unpinned: each test here failed with one small
change to text.py that every other text test passed."""

import gc

import pytest

from seqlab.data.text import LONG_WORD, gc_paused, read_text, unsegmented_note, utf16_encoding
from seqlab.errors import SeqlabError


def test_nul_bytes_in_both_halves_of_each_pair_are_binary_not_utf16(tmp_path):
    # UTF-16LE ASCII is c 00 c 00 ...: NULs at the odd offsets only. NULs everywhere, or at random, is binary
    assert utf16_encoding("abc".encode("utf-16-le") * 4) == "utf-16le"
    assert utf16_encoding("abc".encode("utf-16-be") * 4) == "utf-16be"
    assert utf16_encoding(b"\x00" * 64) is None
    assert utf16_encoding(b"a\x00\x00\x00" * 16) is None  # every odd byte NUL, but half the even ones too
    path = tmp_path / "zeros.bin"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(SeqlabError, match="looks binary"):
        read_text(path)


def test_a_head_shorter_than_four_bytes_is_never_called_utf16():
    # two bytes are too few to tell UTF-16 text from a NUL in a binary file: "a\x00" is binary
    assert utf16_encoding(b"a\x00") is None and utf16_encoding(b"a\x00b") is None
    assert utf16_encoding(b"a\x00b\x00") == "utf-16le"


def test_the_unsegmented_note_starts_past_the_mean_word_length_not_at_it():
    # words of exactly LONG_WORD characters on average are words; one character more on average is phrases
    at = [("a" * LONG_WORD, 3)]
    assert unsegmented_note(at) is None
    assert unsegmented_note([("a" * LONG_WORD, 1), ("a" * (LONG_WORD + 1), 1)]) is not None  # mean 12.5
    cjk = [("学而时习", 2)]  # mostly Han, 4 characters: still words (LONG_CJK_WORD 4); 5 is not
    assert unsegmented_note(cjk) is None and unsegmented_note([("学而时习之", 2)]) is not None


def test_gc_paused_leaves_a_collector_the_caller_disabled_disabled():
    was = gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the caller's choice, not switched on behind its back
        gc.enable()
        with gc_paused():
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
