"""Mutation audit of token_ids.py: what the earlier tests left open (words that differ only in
trailing NUL bytes under one hash, a hash table of words that fills a power of two, and bytes holding
an encoded lone surrogate on the plain path)."""

import numpy as np

from seqlab.data import token_ids
from seqlab.data.corpora import index_text
from seqlab.data.vocab import EOS


def plain_ids(text: str) -> tuple[list[int], list[str]]:
    """The trusted twin: str.split() and one dict."""
    index: dict[str, int] = {}
    ids = [index.setdefault(w, len(index)) for w in text.rstrip("\n").replace("\n", f" {EOS} ").split() + [EOS]]
    return ids, list(index)


def test_the_first_word_of_a_hash_group_and_one_with_a_trailing_nul_get_two_ids(monkeypatch):
    # "a" and "a\x00" have the same 16-byte key bytes and differ in length only
    monkeypatch.setattr(token_ids, "_MIX", (np.uint64(0),) * 3)  # every hash equal: one group
    text = "a a\x00 a\na\x00\n"
    ids, words = token_ids.index_raw_words(text)
    assert (ids.tolist(), words) == plain_ids(text) == ([0, 1, 0, 2, 1, 2], ["a", "a\x00", EOS])


def test_the_word_table_stays_at_most_half_full_and_finds_every_word():
    # 65,536 words: as many as the table's first size, which a full table could not probe past
    words = [f"w{i}".encode() for i in range(1 << 16)]
    data = b" ".join(words)
    keys = token_ids._word_keys(data, *token_ids._word_bounds(data))
    hashes = token_ids._hash(*keys)
    table = token_ids._SeenWords()
    table.add(keys, hashes, np.arange(len(words), dtype=np.int32))
    assert len(table) == len(words) and 2 * len(table) <= len(table.slots)
    assert table.ids_of(keys, hashes).tolist() == list(range(len(words)))
    other = b"x1 w65536"  # never added
    other_keys = token_ids._word_keys(other, *token_ids._word_bounds(other))
    assert table.ids_of(other_keys, token_ids._hash(*other_keys)).tolist() == [-1, -1]


def test_bytes_with_an_encoded_lone_surrogate_read_as_the_str_they_encode():
    # U+00A0 sends the bytes to the plain path, which decodes them as the fast path encodes a str
    text = "a \udcff b\xa0c \udcff\n"
    got_ids, got_words = index_text(text.encode("utf-8", "surrogatepass"), "word", "raw")
    assert (got_ids.tolist(), got_words) == plain_ids(text) == ([0, 1, 2, 3, 1, 4], ["a", "\udcff", "b", "c", EOS])
