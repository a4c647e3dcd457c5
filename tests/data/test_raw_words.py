"""The raw-word fast path (seqlab.data.token_ids: numpy over UTF-8 bytes) against the plain one: str.split(),
one dict, and `Vocab` built from the token list, on texts made to break it."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data import corpora, token_ids
from seqlab.data.corpora import EOS, encode_text, load_lm_corpus
from seqlab.data.vocab import Vocab

# str.split() cuts on all of these; bytes.split() only on the first six.
ASCII_SPACE = [" ", "\t", "\n", "\r", "\x0b", "\x0c"]
STR_ONLY_SPACE = ["\x1c", "\x1f", "\x85", "\xa0", "\u2009", "\u3000"]
# words around the 8- and 16-byte key edges, sharing prefixes; multi-byte UTF-8; NUL; <eos>
EDGE_WORDS = ["a", "a\x00", "ab" * 4, "ab" * 4 + "c", "telecommunicatio", "telecommunication",
              "telecommunications", "é" * 8, "é" * 9, "日本語", "\U0001F600x", EOS, "<unk>", "\x01"]


def plain_ids(text: str) -> tuple[list[int], list[str]]:
    """The trusted twin: the whole text through str.split() and one dict."""
    if not text.endswith("\n"):
        text += "\n"
    index: dict[str, int] = {}
    ids = [index.setdefault(w, len(index)) for w in text.replace("\n", f" {EOS} ").split()]
    return ids, list(index)


def texts(spaces: list[str]) -> st.SearchStrategy[str]:
    word = st.one_of(st.sampled_from(EDGE_WORDS), st.text(alphabet="abé日\x00", min_size=1, max_size=20))
    return st.lists(st.tuples(word, st.sampled_from(spaces)), max_size=40).map(
        lambda pairs: "".join(w + s for w, s in pairs))


def fast_ids(text: str) -> tuple[list[int], list[str]] | None:
    got = token_ids.index_raw_words(text)
    return None if got is None else (got[0].tolist(), got[1])


@settings(max_examples=300, deadline=None)
@given(texts(ASCII_SPACE), st.sampled_from([1, 7, 64, 1 << 20]))
def test_fast_path_equals_plain_split_in_any_blocks(text, block):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(token_ids, "BLOCK", block)  # words meet again across block edges
        assert fast_ids(text) == plain_ids(text)


@settings(max_examples=200, deadline=None)
@given(texts(ASCII_SPACE + STR_ONLY_SPACE))
def test_str_only_whitespace_falls_back_and_results_never_differ(text):
    got = fast_ids(text)
    has_str_only_space = any(c in text for c in STR_ONLY_SPACE)
    assert got is None if has_str_only_space else got == plain_ids(text)
    ids, tokens = corpora.index_text(text, "word", "raw")
    assert (ids.tolist(), tokens) == plain_ids(text)


def test_other_space_is_all_that_str_split_cuts_on_but_the_ascii_space():
    every_char = "".join(map(chr, range(0x110000)))  # lone surrogates too
    other_space = [c for c in every_char if "a" + c + "b" != "".join(("a" + c + "b").split()) and c != " "]
    assert token_ids._OTHER_SPACE.findall(every_char) == other_space  # 28: \t..\r, \x1c..\x1f, \x85, \xa0, U+1680, ...


def test_equal_hashes_for_all_words_change_no_id(monkeypatch):
    monkeypatch.setattr(token_ids, "_MIX", (np.uint64(0),) * 3)  # every hash equal
    text = "the cat\nthe hat the\n" + " ".join(EDGE_WORDS) + " " + " ".join(reversed(EDGE_WORDS))
    assert fast_ids(text) == plain_ids(text)


def test_surrogates_and_a_missing_final_newline_round_trip():
    text = "a \ud800b a\n\ud800b"  # lone surrogates survive encode/decode (surrogatepass)
    assert fast_ids(text) == plain_ids(text) == ([0, 1, 0, 2, 1, 2], ["a", "\ud800b", EOS])


def reference_vocab(text: str, **options) -> tuple[torch.Tensor, Vocab]:
    """The book's way: the token list, `Vocab(tokens)`, and `vocab[token]` for each."""
    ids, words = plain_ids(text)
    tokens = [words[i] for i in ids]
    vocab = Vocab(tokens, **options)
    return torch.tensor(vocab[tokens], dtype=torch.int64), vocab


@pytest.mark.parametrize("options", [
    {}, {"min_freq": 2}, {"max_size": 3}, {"reserved_tokens": [EOS, "<pad>"]},
    {"min_freq": 2, "max_size": 2, "reserved_tokens": ["<unk>", "b"]},
])
def test_vocabulary_and_ids_equal_the_token_list_construction(options):
    # ties at every count (c/d twice, e/f/g once, <unk> in the text), seen in a known order
    text = "d c b a <unk> a\nb a c d\ng f e a b\n"
    ids, vocab = encode_text(text, "word", "raw", **options)
    want_ids, want = reference_vocab(text, **options)
    assert vocab.idx_to_token == want.idx_to_token and vocab.token_freqs == want.token_freqs
    assert torch.equal(ids, want_ids)


def test_held_out_words_do_not_enter_the_vocabulary(tmp_path):
    text = "x y x y x\n" * 9 + "only_in_valid z z\n"
    (tmp_path / "t.txt").write_text(text)
    lm = load_lm_corpus(data=tmp_path / "t.txt", level="word")
    ids, words = plain_ids(text)
    tokens = [words[i] for i in ids]
    n_valid = round(len(tokens) * 0.1)
    want = Vocab(tokens[:-n_valid], reserved_tokens=[EOS])
    assert lm.vocab.idx_to_token == want.idx_to_token and lm.vocab.token_freqs == want.token_freqs
    assert lm.train.tolist() + lm.valid.tolist() == want[tokens]
    assert "only_in_valid" not in lm.vocab and lm.valid.tolist().count(0) == 3


def spy_on_the_dict(monkeypatch) -> list[bytes]:
    """Every word the fast path looks up in its dict, in order (the dict made after this call)."""
    looked_up = []

    class Spy(dict):
        def __missing__(self, key):
            self[key] = value = len(self)
            return value

        def __getitem__(self, key):
            looked_up.append(key)
            return super().__getitem__(key)

    monkeypatch.setattr(token_ids, "first_seen_index", Spy)
    return looked_up


@pytest.mark.parametrize("block", [1 << 20, 64])
def test_the_dict_sees_each_distinct_word_once(monkeypatch, block):
    looked_up = spy_on_the_dict(monkeypatch)
    monkeypatch.setattr(token_ids, "BLOCK", block)  # one block, or one per few lines
    long_word = "x" * 17  # over 16 bytes: never grouped, the dict sees each one
    # equal words followed by different bytes (keys must stop at the word's end)
    text = ("the cat sat on the mat\nababababc the ababababd cat ababababc on\n" + long_word + "\n") * 50
    assert fast_ids(text) == plain_ids(text)
    distinct = set(plain_ids(text)[1]) - {long_word}
    assert sorted(looked_up) == sorted([w.encode() for w in distinct] + [long_word.encode()] * 50)


# Two words whose hashes agree, and the factor of the hash (index into `token_ids._MIX`, value) that makes them
COLLISIONS = {
    # lo * (m << 8) only sees the first 7 bytes: words that differ in the 8th alone share every bit of the hash
    "whole hash": (0, int(token_ids._MIX[0]) << 8 & (1 << 64) - 1, "pairingx", "pairingy"),
    # hi * 1: the hashes differ in bit 0 only, where the sort of `_first_of_equal_hashes` puts the word's index
    "truncated hash": (1, 1, "collide_x", "collide_y"),
}


def collide(monkeypatch, name: str) -> tuple[str, str]:
    """Make the two words of COLLISIONS[name] collide; all others keep their well-mixed hashes."""
    i, factor, *pair = COLLISIONS[name]
    mix = list(token_ids._MIX)
    mix[i] = np.uint64(factor)
    monkeypatch.setattr(token_ids, "_MIX", tuple(mix))
    return pair


def assert_collide(collision: str, *pair: str) -> None:
    """The two words' hashes agree as COLLISIONS says (else a test of collisions proves nothing)."""
    data = " ".join(pair).encode()
    a, b = token_ids._hash(*token_ids._word_keys(data, *token_ids._word_bounds(data))).tolist()
    if collision == "whole hash":
        assert a == b
    else:
        assert a != b and a >> 1 == b >> 1


@pytest.mark.parametrize("block", [1 << 20, 64])
@pytest.mark.parametrize("collision", COLLISIONS)
def test_colliding_hashes_cost_only_the_colliding_words(monkeypatch, collision, block):
    a, b = collide(monkeypatch, collision)
    looked_up = spy_on_the_dict(monkeypatch)
    monkeypatch.setattr(token_ids, "BLOCK", block)  # one block, or the pair in many blocks
    others = [f"w{i}" for i in range(200)]
    text = "".join(f"{others[i]} the {a} cat {others[7 * i % 200]} {b if i % 2 else a}\n" for i in range(200))
    assert fast_ids(text) == plain_ids(text)
    # the dict still sees each distinct word once (the old fast path sent every word there from the collision on)
    assert sorted(looked_up) == sorted(w.encode() for w in plain_ids(text)[1])
    assert_collide(collision, a, b)


def test_a_collision_leaves_later_blocks_and_the_seen_words_alone(monkeypatch):
    a, b = collide(monkeypatch, "whole hash")
    looked_up = spy_on_the_dict(monkeypatch)
    indexer = token_ids._RawWordIndexer()
    assert indexer.block_ids(f"{a} the cat sat".encode()).tolist() == [0, 1, 2, 3]
    assert indexer.block_ids(f"on the mat {b}".encode()).tolist() == [4, 1, 5, 6]  # b: a's hash, a new word
    del looked_up[:]
    for _ in range(3):
        assert indexer.block_ids(f"the cat {b} sat on {a} the mat".encode()).tolist() == [1, 2, 6, 3, 4, 0, 1, 5]
        assert looked_up == []  # all seen before: no word goes to the dict, in this block or any later one
        assert len(indexer.seen) == len(indexer.index) == 7  # each word once, and only the words


def test_many_words_past_the_first_table_and_in_long_probe_chains(monkeypatch):
    collide(monkeypatch, "whole hash")  # words that differ only in their 8th byte share a hash: 8 by 8 here
    looked_up = spy_on_the_dict(monkeypatch)
    monkeypatch.setattr(token_ids, "BLOCK", 1 << 16)
    words = [f"{i // 8:07d}{'abcdefgh'[i % 8]}" for i in range(40_000)]  # more than fill the first table
    order = np.random.default_rng(0).permutation(2 * len(words)) % len(words)  # each word twice
    text = "\n".join(" ".join(words[i] for i in line) for line in np.split(order, 8000))
    assert fast_ids(text) == plain_ids(text)
    assert sorted(looked_up) == sorted(w.encode() for w in plain_ids(text)[1])
    assert_collide("whole hash", *words[:2])


def test_concat_ids_and_id_counts_equal_numpys_own():
    # the id arrays of a text's blocks are copied into one array grown in place (not held in a list
    # beside np.concatenate's copy), and counted a slice at a time (np.bincount copies to int64 first)
    rng = np.random.default_rng(0)
    parts = [rng.integers(0, 1000, size=n, dtype=np.int32) for n in rng.integers(0, 30_000, size=60)]
    ids = token_ids.concat_ids(iter(parts))  # (past the first 65,536 ids: it grows, many times)
    assert ids.dtype == np.int32 and np.array_equal(ids, np.concatenate(parts)) and len(ids) > 500_000
    assert token_ids.concat_ids(iter([])).dtype == np.int32 and len(token_ids.concat_ids(iter([]))) == 0
    many = np.tile(ids, 9)  # over 4M ids: more than one slice
    assert np.array_equal(token_ids.id_counts(many, 1200), np.bincount(many, minlength=1200))
    assert np.array_equal(token_ids.id_counts(many[:0], 3), [0, 0, 0])
