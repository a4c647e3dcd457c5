"""Token streams as dense ids in first-seen order, a block of text at a time: the shared pieces
of `seqlab.data.corpora`'s encoders, and its fast path for raw words (numpy over UTF-8 bytes)."""

from __future__ import annotations

import collections
import itertools
import re
from typing import AnyStr, Iterable, Iterator

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


def str_blocks(text: str | bytes | Iterable[str]) -> Iterator[str]:
    """`blocks` of `text` as str: UTF-8 bytes (`text.read_text_utf8`'s) decoded a block at a time;
    str blocks (`text.TextBlocks`, decoded as they come) as they are."""
    if not isinstance(text, (str, bytes)):
        yield from text
        return
    for block in blocks(text):
        yield block if isinstance(block, str) else block.decode("utf-8", "surrogatepass")


def first_seen_index() -> collections.defaultdict:
    """A dict that numbers each new key 0, 1, 2, ...: `map(index.__getitem__, keys)` gives
    ids in first-seen order at C speed."""
    index: collections.defaultdict = collections.defaultdict()
    index.default_factory = index.__len__
    return index


def concat_ids(parts: Iterable[np.ndarray]) -> np.ndarray:
    """The id arrays of the blocks, one after the other (int32; empty for no blocks), each copied
    in as it comes: the blocks' arrays are never all held beside the result (np.concatenate of a
    list held both: 2 x 418 MB for WikiText-2 x50's 104 M words, and the freed small arrays stayed
    in the process). The result grows in place (`resize`: realloc, which remaps a large array's
    pages rather than copying them, so growing by an eighth costs no copies), and is cut to its
    length at the end. (resize zero-fills what it adds: doubling could touch 2x the ids' memory.)"""
    out, n = np.empty(1 << 16, dtype=np.int32), 0
    for part in parts:
        if n + len(part) > len(out):
            out.resize(len(out) + len(out) // 8 + len(part), refcheck=False)  # (no view of `out` exists)
        out[n:n + len(part)] = part
        n += len(part)
    out.resize(n, refcheck=False)
    return out


def id_counts(ids: np.ndarray, n: int) -> np.ndarray:
    """How many times each of the ids 0..n-1 occurs in `ids` (int64, length n): np.bincount, a
    slice at a time (bincount copies its input to int64 first: 835 MB for 104 M int32 ids)."""
    counts = np.zeros(n, dtype=np.int64)
    for start in range(0, len(ids), 1 << 22):
        counts += np.bincount(ids[start:start + (1 << 22)], minlength=n)
    return counts


# --- raw words, fast: numpy over the UTF-8 bytes ---------------------------------------
# One dict look-up per word is the floor of a pure-Python tokenizer (WikiText-2: 2.1 M
# words, 33 k distinct). Here numpy cuts a block of bytes into words, groups equal words
# with one sort (by a hash, then checked byte for byte) and looks each group up among the
# words of earlier blocks (a hash table in numpy arrays, checked byte for byte); the dict
# sees each distinct word once, and each word of over 16 bytes (6 in 100,000 in
# WikiText-2), and numpy spreads the ids over the block. Hashes only decide where to look:
# two words with one hash cost a few more comparisons, never a different id. Same ids and
# words as the plain path, always.
_LOW_BYTES = np.array([(1 << 8 * k) - 1 for k in range(9)], dtype=np.uint64)  # [k]: mask of k bytes
_MIX = tuple(np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9))  # hash
_OTHER_SPACE = re.compile(r"[^\S ]")  # whitespace but " " (re's \s is str.isspace(), what str.split() cuts on)


def index_raw_words(text: str | bytes) -> tuple[np.ndarray, list[str]] | None:
    """`corpora.index_text` of raw words, on the UTF-8 bytes of `text` (a str, or those bytes). None
    when `text` holds whitespace that str.split() cuts on and bytes.split() does not (U+00A0,
    U+2009, \\x1c, ...): the caller then takes the plain path."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")  # (any str round-trips)
    eos = f" {EOS} ".encode()
    indexer = _RawWordIndexer()
    # the last line ends with <eos> whether or not the file ends in a newline (every block but the
    # last ends in one): added to its block, not to a copy of the whole text; an empty text is one line
    ids = concat_ids(indexer.block_ids(block.replace(b"\n", eos) + (b"" if block.endswith(b"\n") else eos))
                     for block in blocks(data or b"\n"))
    # Words hold no ASCII space: one decode for all, joined 65,536 at a time (b" ".join holds
    # an 80-byte buffer per item: ~0.5 GB for 6 M words at once).
    keys = iter(indexer.index)
    joined = b" ".join([b" ".join(itertools.islice(keys, 1 << 16)) for _ in range(0, len(indexer.index), 1 << 16)])
    joined = joined.decode("utf-8", "surrogatepass")
    del indexer, keys  # the dict and the table go before the words are made: a lower peak
    # bytes.split() and str.split() cut `text` alike iff no word holds str-only whitespace (it
    # can only sit inside a word): iff `joined` holds no whitespace but the " " between words.
    if _OTHER_SPACE.search(joined):
        return None
    return ids, joined.split(" ")


class _RawWordIndexer:
    """Raw words (bytes) -> dense ids in first-seen order, one block of text at a time.

    A block's words are grouped with one sort of the block (`_first_equal`), and the first
    word of each group is looked up among the words of earlier blocks (`_SeenWords`, a hash
    table): a block costs the same however many words came before it. The dict only sees
    words never seen before, and words of over 16 bytes.
    """

    def __init__(self) -> None:
        self.index = first_seen_index()  # every word's id, by its bytes
        self.seen = _SeenWords()  # the words of up to 16 bytes in the index, by key

    def block_ids(self, data: bytes) -> np.ndarray:
        """Ids (int32) of the words of `data`, cut as `data.split()` cuts them."""
        starts, ends = _word_bounds(data)
        keys = _word_keys(data, starts, ends)
        hashes = _hash(*keys)
        first = _first_equal(*keys, hashes)
        heads = np.flatnonzero(first == np.arange(len(first)))  # the first word of each group
        head_keys, head_hashes = tuple(key[heads] for key in keys), hashes[heads]
        head_ids = self.seen.ids_of(head_keys, head_hashes)
        missing = np.flatnonzero(head_ids < 0)  # in text order: new words get ids in first-seen order
        words = [data[s:e] for s, e in zip(starts[heads[missing]].tolist(), ends[heads[missing]].tolist())]
        n_before = len(self.index)
        head_ids[missing] = np.fromiter(map(self.index.__getitem__, words), dtype=np.int32, count=len(words))
        # the words new to the dict, each once (the groups are exact), but for those of over 16
        # bytes: their keys are not the words
        new = missing[(head_ids[missing] >= n_before) & (head_keys[2][missing] <= 16)]
        self.seen.add(tuple(key[new] for key in head_keys), head_hashes[new], head_ids[new])
        ids = np.empty(len(first), dtype=np.int32)
        ids[heads] = head_ids
        return ids[first]


class _SeenWords:
    """Words of up to 16 bytes -> their ids, by key (`_word_keys`): an open-addressing hash table
    in numpy (linear probing, at most half full), read and filled a block of words at a time.
    A look-up costs the same however many words the table holds, and equal hashes only make
    the probes longer: the keys, not the hashes, decide.

        slots   [ -1 | 7 | -1 | 3 | 12 | 4 | -1 | ... ]   a word's id, or -1: empty
        a word's slots: the top bits of its hash, then the next ones, up to its own or an empty one
    """

    def __init__(self) -> None:
        self.slots = np.full(1 << 16, -1, dtype=np.int32)
        self.keys_by_id = (np.zeros(0, np.uint64), np.zeros(0, np.uint64), np.zeros(0, np.uint8))  # length <= 16
        self.size = 0  # words in the table

    def __len__(self) -> int:
        return self.size

    def ids_of(self, keys: tuple[np.ndarray, ...], hashes: np.ndarray) -> np.ndarray:
        """The id (int32) of each word (`keys`, `hashes`); -1 for a word not in the table (as
        every word of over 16 bytes: no length in the table is over 16)."""
        ids = np.full(len(hashes), -1, dtype=np.int32)
        todo, slot = np.arange(len(hashes)), self._home(hashes)
        while len(todo):
            held = self.slots[slot]
            full = np.flatnonzero(held >= 0)
            same = np.ones(len(full), dtype=bool)
            for key, by_id in zip(keys, self.keys_by_id):
                same &= by_id[held[full]] == key[todo[full]]
            ids[todo[full[same]]] = held[full[same]]
            on = full[~same]  # another word there: probe the next slot (an empty one ends the search)
            todo, slot = todo[on], (slot[on] + 1) & (len(self.slots) - 1)
        return ids

    def add(self, keys: tuple[np.ndarray, ...], hashes: np.ndarray, ids: np.ndarray) -> None:
        """Put words that are not in the table (each once) into it, with their ids."""
        size = self.size + len(ids)
        if 2 * size > len(self.slots):  # keep it at most half full (short probes): double it, or more
            held = self.slots[self.slots >= 0]
            self.slots = np.full(1 << (2 * size).bit_length(), -1, dtype=np.int32)
            self._place(_hash(*(by_id[held] for by_id in self.keys_by_id)), held)
        end = int(ids.max(initial=-1)) + 1
        if len(self.keys_by_id[0]) < end:  # grow by doubling: each key is copied O(1) times
            grown = max(end, 2 * len(self.keys_by_id[0]))
            self.keys_by_id = tuple(np.concatenate([by_id, np.zeros(grown - len(by_id), by_id.dtype)])
                                    for by_id in self.keys_by_id)
        for key, by_id in zip(keys, self.keys_by_id):
            by_id[ids] = key
        self._place(hashes, ids)
        self.size = size

    def _place(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        """Write `ids` into the table: each into the first slot of its probe sequence left empty."""
        todo, slot = np.arange(len(ids)), self._home(hashes)
        while len(todo):
            empty = np.flatnonzero(self.slots[slot] < 0)
            self.slots[slot[empty]] = ids[todo[empty]]
            # of the words that reach the same empty slot one write stays (whichever), the others probe on
            on = self.slots[slot] != ids[todo]
            todo, slot = todo[on], (slot[on] + 1) & (len(self.slots) - 1)

    def _home(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's first slot: its top bits (the best mixed ones), as many as len(slots) = 2**bits."""
        bits = len(self.slots).bit_length() - 1
        return (hashes >> np.uint64(64 - bits)).astype(np.intp)


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


def _hash(lo: np.ndarray, hi: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word's key (`_word_keys`); its top bits are the best mixed."""
    return lo * _MIX[0] ^ hi * _MIX[1] ^ lengths.astype(np.uint64) * _MIX[2]


def _first_equal(lo: np.ndarray, hi: np.ndarray, lengths: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """For each word (keys of `_word_keys`, and their `_hash`), the index of the first word
    equal to it; a word of over 16 bytes is its own first (its bytes are not compared)."""
    first = _first_of_equal_hashes(hashes)
    long = np.flatnonzero(lengths > 16)
    first[long] = long
    # A word unlike the first of its group shares a truncated hash with a different word (rare).
    # Every word equal to it is unlike that first too: grouping those few by their bytes finds its first.
    odd = np.flatnonzero((lo[first] != lo) | (hi[first] != hi) | (lengths[first] != lengths))
    first[odd] = odd[_first_of_equal_keys(lo[odd], hi[odd], lengths[odd])]
    return first


def _first_of_equal_keys(lo: np.ndarray, hi: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """For each word (keys of up to 16 bytes), the index of the first equal one: a sort by all
    of the key (slower than `_first_of_equal_hashes`: for the few words a hash leaves apart)."""
    order = np.lexsort((lengths, hi, lo))  # equal words together, in order (lexsort is stable)
    lo, hi, lengths = lo[order], hi[order], lengths[order]
    group_start = np.ones(len(order), dtype=bool)
    group_start[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1]) | (lengths[1:] != lengths[:-1])
    first = np.empty(len(order), dtype=np.intp)
    first[order] = order[group_start][np.cumsum(group_start) - 1]
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
