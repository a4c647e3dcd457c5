"""Vocabulary edges a hand mutation audit (session 31) found unpinned: each test here failed with one small
change to vocab.py that every other vocabulary test passed."""

from seqlab.data.vocab import Vocab


def test_vocabularies_are_equal_only_with_the_same_tokens_in_the_same_order():
    # equal size is not enough: ids of one would read as other tokens in the other
    assert Vocab(list("aab")) == Vocab(list("aabb"))  # same tokens, same order (counts differ)
    assert Vocab(list("aab")) != Vocab(list("aac"))  # same size, another token
    assert Vocab(list("aab")) != Vocab(list("abb"))  # same tokens, another order
    assert Vocab(list("ab")) != ["<unk>", "a", "b"]  # not a vocabulary
