"""Property tests (hypothesis) of `corpora.index_text` and `encode_text` at every level and style against
plain references: str.split() (with or without an <eos> per line), list(text), the book's cleaning, and
`Vocab` built from the token list; in blocks of any size."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.data import token_ids
from seqlab.data.corpora import EOS, encode_text, index_text
from seqlab.data.text import book_lines, preprocess_line
from seqlab.data.vocab import Vocab

PIECES = ["a", "b", "The", "é", "日本", "x1", EOS, "<unk>", " ", "  ", "\t", "\n", "\n\n", "\x0c", "\x1c", "\xa0",
          "\u2028", "\x85", ".", "'"]
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def reference_tokens(text: str, level: str, style: str, line_ends: bool) -> list[str]:
    if style == "book":  # the book's readlines() lines, cleaned, concatenated with nothing between
        lines = [preprocess_line(line) for line in text.split("\n")]
        return [t for line in lines for t in (line.split() if level == "word" else line)]
    if level == "char":
        return list(text)
    if not line_ends:
        return text.split()
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # (the last line ends with <eos> whether or not the text ends in a newline)
    return [t for line in lines for t in line.split() + [EOS]]


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from([("word", "raw", True), ("word", "raw", False), ("char", "raw", True),
                               ("word", "book", True), ("char", "book", True)]), st.sampled_from([3, 1 << 20]),
       st.booleans())
@example("a b\nc", ("word", "raw", False), 1 << 20, False)  # the fast path kept an <eos> no id referred to
@example("é\n日本 a", ("word", "raw", True), 3, True)  # bytes: the last line's <eos> in the last block
def test_index_text_gives_the_reference_tokens_in_first_seen_order(text, how, block, as_bytes):
    level, style, line_ends = how
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(token_ids, "BLOCK", block)  # lines meet again across block edges
        # the text, or its UTF-8 bytes as read_text_utf8 gives them (the LM loader's input)
        ids, tokens = index_text(text.encode() if as_bytes else text, level, style, line_ends=line_ends)
    want = reference_tokens(text, level, style, line_ends)
    assert [tokens[i] for i in ids.tolist()] == want
    assert tokens == list(dict.fromkeys(want))  # numbered in first-seen order, and no token the stream lacks


@settings(max_examples=200, deadline=None)
@given(texts, st.sampled_from([("word", "raw"), ("char", "raw"), ("word", "book"), ("char", "book")]),
       st.integers(0, 3), st.one_of(st.none(), st.integers(1, 5)),
       st.sampled_from([None, [EOS], ["<pad>", "a"]]))
@example("a\x0ca", ("char", "book"), 0, None, None)  # a form feed is not a line end for the book's readlines()
def test_encode_text_equals_vocab_of_the_token_list(text, how, min_freq, max_size, reserved):
    level, style = how
    ids, vocab = encode_text(text, level, style, min_freq=min_freq, max_size=max_size, reserved_tokens=reserved)
    tokens = reference_tokens(text, level, style, True)
    want = Vocab(tokens, min_freq=min_freq, max_size=max_size, reserved_tokens=reserved)
    assert vocab.idx_to_token == want.idx_to_token and vocab.token_freqs == want.token_freqs
    assert ids.tolist() == [want.token_to_idx.get(t, 0) for t in tokens]


def test_book_lines_end_where_the_books_readlines_ends_them():
    assert book_lines("a\x0cb\u2028c\x85d\n") == ["a b c d"]  # (splitlines() made four lines of them)
    assert book_lines("one\r\ntwo\rthree\n\nfour") == ["one", "two", "three", "", "four"]
    assert book_lines("") == [] and book_lines("x\n") == ["x"]
    ids, tokens = index_text("a\x0ca", "char", "book")
    assert [tokens[i] for i in ids.tolist()] == ["a", " ", "a"]
