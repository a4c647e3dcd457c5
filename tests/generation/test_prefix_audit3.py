"""Prefix hints a hand mutation audit (session 31) found unpinned: each test here failed with one small change to
prefix.py that every other generation test passed. The expected hints are worked out by hand from the rules in
prefix.py's docstrings (PTB / WikiText spelling, <unk>, Unicode forms)."""

import pytest

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.generation.prefix import check_prefix


def _refusal(vocab, tokens, level="word"):
    with pytest.raises(SeqlabError) as e:
        check_prefix(tokens, vocab, level)
    return str(e.value)


def test_a_string_at_the_word_level_is_refused_not_read_as_characters():
    vocab = Vocab(list("the time"))  # a vocabulary of characters: read as characters, "the" would pass
    assert "at level 'word' the prefix is a list of words, got the string 'the'" in _refusal(vocab, "the")
    with pytest.raises(SeqlabError, match="the prefix is empty"):
        check_prefix([], vocab, "char")


def test_a_word_with_n_in_it_is_not_told_that_numbers_are_written_n():
    # 'N,' is PTB's N with a comma: punctuation to split off, not a number
    ptb = Vocab("in N the , <unk>".split())
    message = _refusal(ptb, ["N,"])
    assert message.endswith("(this corpus writes punctuation as separate words: 'N ,')")
    assert "writes numbers" not in message


def test_a_mark_the_corpus_writes_as_a_word_of_its_own_is_split_off():
    # '@' is a word of the corpus (one character: not WikiText's @-@), '...' one word, '%' one word
    vocab = Vocab("the @ , end ... in N % ? ! <unk>".split())
    assert _refusal(vocab, ["@,"]).endswith("(this corpus writes punctuation as separate words: '@ ,')")
    assert _refusal(vocab, ["end..."]).endswith("(this corpus writes punctuation as separate words: 'end ...')")
    assert _refusal(vocab, ["?!"]).endswith("(this corpus writes punctuation as separate words: '? !')")
    # a corpus with a '%' word writes 20% as N %, not as PTB's N N
    assert _refusal(vocab, ["20%"]).endswith("(this corpus writes numbers as N: type 'N %' for '20%')")


def test_one_mark_the_corpus_lacks_is_it_several_are_them():
    ptb = Vocab("the game was <unk>".split())
    assert _refusal(ptb, ["game,"]).endswith("(this corpus has no ',': leave it out)")
    assert _refusal(ptb, ["game,!"]).endswith("(this corpus has no '!', ',': leave them out)")


def test_an_ending_is_split_off_only_where_the_corpus_has_it():
    # 'do' is a word but "n't" is not: "do n't" would be refused again; the word is one the model lacks
    vocab = Vocab("do the <unk>".split())
    message = _refusal(vocab, ["don't"])
    assert "do n't" not in message and message.endswith("type <unk> in place of \"don't\")")


def test_wikitexts_decimal_point_inside_a_number_is_at_dot_at():
    wiki = Vocab("3 @.@ 5 the <unk>".split())
    assert _refusal(wiki, ["3.5"]).endswith(
        "(this corpus writes punctuation as separate words (and . inside a word as @.@): '3 @.@ 5')")


def test_a_word_level_prefix_gets_no_unicode_form_hint():
    # every character of 'ba' is a word of this vocabulary: the normal-form check is of characters, for level char
    vocab = Vocab("a b ab".split())
    assert _refusal(vocab, ["ba"]).endswith("not in the model's vocabulary: 'ba'")



def test_the_refusal_names_every_missing_token_up_to_twenty_and_says_words_at_the_word_level():
    vocab = Vocab(list("abc"))
    assert _refusal(vocab, list("zyxw"), "char").startswith(
        "the prefix has characters not in the model's vocabulary: 'w', 'x', 'y', 'z'")
    assert _refusal(Vocab("the cat".split()), ["dog"]).startswith("the prefix has words not in the model's vocabulary")


def test_a_part_of_a_hyphenated_word_is_split_again():
    # WikiText's '3.5-fold': - first (3.5 and fold), then the . inside 3.5
    wiki = Vocab("3 @.@ 5 @-@ fold the <unk>".split())
    assert "'3 @.@ 5 @-@ fold'" in _refusal(wiki, ["3.5-fold"])


def test_only_the_words_found_in_another_case_are_named_in_the_case_hint():
    wiki = Vocab("The Game <unk>".split())
    message = _refusal(wiki, ["GAME", "zzz"])
    assert "in the vocabulary's letter case: 'Game' for 'GAME';" in message and "None" not in message
