"""Token streams as dense ids in first-seen order, a block of text at a time: the shared pieces
of `seqlab.data.corpora`'s encoders, and its fast path for raw words (numpy over UTF-8 bytes)."""

from __future__ import annotations

import collections
from typing import AnyStr, Iterator

import numpy as np

from seqlab.data.vocab import EOS

BLOCK = 1 << 20  # characters per encoding block: bounds peak memory on large corpora


def blocks(text: AnyStr) -> Iterator[AnyStr]:
    """Consecutive pieces of `text` (str or bytes), each ending at a newline (or the end)."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    start = 0
    while start < len(text):
        end = text.find(newline, start + BLOCK)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def first_seen_index() -> collections.defaultdict:
    """A dict that numbers each new key 0, 1, 2, ...: `map(index.__getitem__, keys)` gives
    ids in first-seen order at C speed."""
    index: collections.defaultdict = collections.defaultdict()
    index.default_factory = index.__len__
    return index


def concat_ids(parts: list[np.ndarray]) -> np.ndarray:
    """The id arrays of the blocks, one after the other (int32; empty for no blocks)."""
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


# --- raw words, fast: numpy over the UTF-8 bytes ---------------------------------------
# One dict look-up per word is the floor of a pure-Python tokenizer (WikiText-2: 2.1 M
# words, 33 k distinct). Here numpy cuts a block of bytes into words and groups equal words
# with one sort (by a hash, then checked byte for byte); the dict sees each distinct word
# once, and each word of over 16 bytes (6 in 100,000 in WikiText-2), and numpy spreads
# the ids over the block. Same ids and words as the plain path, always.
_LOW_BYTES = np.array([(1 << 8 * k) - 1 for k in range(9)], dtype=np.uint64)  # [k]: mask of k bytes
_MIX = tuple(np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9))  # hash


def index_raw_words(text: str) -> tuple[np.ndarray, list[str]] | None:
    """`corpora._index_tokens` of raw words, on the UTF-8 bytes of `text`. None when `text` holds
    whitespace that str.split() cuts on and bytes.split() does not (U+00A0, U+2009, \\x1c,
    ...): the caller then takes the plain path."""
    data = text.encode("utf-8", "surrogatepass")  # surrogatepass: any str round-trips
    if not data.endswith(b"\n"):
        data += b"\n"  # the last line ends with <eos> whether or not the file ends in a newline
    indexer = _RawWordIndexer()
    parts = [indexer.block_ids(block.replace(b"\n", f" {EOS} ".encode())) for block in blocks(data)]
    # Words hold no ASCII space: one decode for all. bytes.split() and str.split() cut
    # `text` alike iff no word holds str-only whitespace (it can only sit inside a word).
    joined = b" ".join(indexer.index).decode("utf-8", "surrogatepass")
    words = joined.split(" ")
    if joined.split() != words:
        return None
    return concat_ids(parts), words


class _RawWordIndexer:
    """Raw words (bytes) -> dense ids in first-seen order, one block of text at a time.

    One sort matches each word of a block to the first equal word among the words seen
    in earlier blocks (kept as numpy keys, with their ids) and this block's: the dict
    only sees words never seen before, and words of over 16 bytes.
    """

    def __init__(self) -> None:
        self.index = first_seen_index()  # every word's id, by its bytes
        self.seen_keys = (np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.intp))
        self.seen_ids = np.zeros(0, dtype=np.int32)

    def block_ids(self, data: bytes) -> np.ndarray:
        """Ids (int32) of the words of `data`, cut as `data.split()` cuts them."""
        starts, ends = _word_bounds(data)
        keys = _word_keys(data, starts, ends)
        n_seen, n = len(self.seen_ids), len(starts)
        #   [ seen words | this block's words ] -> for each of this block's, the first equal word
        first = _first_equal(*(np.concatenate(pair) for pair in zip(self.seen_keys, keys)))[n_seen:]
        new = np.flatnonzero(first == np.arange(n_seen, n_seen + n))  # matched to no earlier word
        words = [data[s:e] for s, e in zip(starts[new].tolist(), ends[new].tolist())]
        ids = np.concatenate([self.seen_ids, np.zeros(n, dtype=np.int32)])
        ids[n_seen + new] = np.fromiter(map(self.index.__getitem__, words), dtype=np.int32, count=len(words))
        new = new[keys[2][new] <= 16]  # longer words are never matched: no use keeping them
        self.seen_keys = tuple(np.concatenate([seen, key[new]]) for seen, key in zip(self.seen_keys, keys))
        self.seen_ids = np.concatenate([self.seen_ids, ids[n_seen + new]])
        return ids[first]


def _word_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the words of `data`, as `data.split()` cuts them."""
    byte = np.frombuffer(data, dtype=np.uint8)
    space = (byte == 32) | ((byte >= 9) & (byte <= 13))  # exactly what bytes.split() cuts on
    edges = np.flatnonzero(np.diff(space, prepend=True, append=True))  # space <-> word flips
    return edges[0::2], edges[1::2]


def _word_keys(data: bytes, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each word's first 16 bytes as two little-endian integers, cut to its length, and its
    length: (lo, hi, length) is the word itself for a word of up to 16 bytes.

        data   ...| t h e _ q u i c k ...     window[s] = data[s:s+8] as one integer
        "the": lo = "the\\0\\0\\0\\0\\0", hi = 0, length 3
    """
    lengths = ends - starts
    window = np.ndarray(len(data) + 8, dtype="<u8", buffer=data + bytes(16), strides=1)
    lo = window[starts] & _LOW_BYTES[np.minimum(lengths, 8)]
    hi = np.zeros(len(starts), dtype=np.uint64)
    over8 = np.flatnonzero(lengths > 8)
    hi[over8] = window[starts[over8] + 8] & _LOW_BYTES[np.minimum(lengths[over8] - 8, 8)]
    return lo, hi, lengths


def _first_equal(lo: np.ndarray, hi: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """For each word (keys of `_word_keys`), the index of the first word equal to it; a word
    of over 16 bytes is its own first (its bytes are not compared)."""
    n = len(lengths)
    first = _first_of_equal_hashes(lo * _MIX[0] ^ hi * _MIX[1] ^ lengths.astype(np.uint64) * _MIX[2])
    long = np.flatnonzero(lengths > 16)
    first[long] = long
    if not ((lo[first] == lo) & (hi[first] == hi) & (lengths[first] == lengths)).all():
        return np.arange(n)  # two different words share a hash (rare): the dict sees every word
    return first


def _first_of_equal_hashes(hashes: np.ndarray) -> np.ndarray:
    """For each of `hashes` (uint64), the index of the first one with the same top bits.

    One sort of (hash, index) pairs packed into one integer each, the hash's top bits
    above the index: equal hashes sort together and in order, the first one first.
    """
    n = len(hashes)
    index_mask = np.uint64((1 << max(n - 1, 1).bit_length()) - 1)
    packed = hashes & ~index_mask
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    index = (packed & index_mask).view(np.intp)  # < 2**63: the same bits as an intp
    group_start = np.empty(n, dtype=bool)
    group_start[:1] = True
    np.greater(packed[1:] ^ packed[:-1], index_mask, out=group_start[1:])  # top bits differ
    first = np.empty(n, dtype=np.intp)
    first[index] = index[group_start][np.cumsum(group_start) - 1]
    return first
