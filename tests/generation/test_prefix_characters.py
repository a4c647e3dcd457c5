"""A character-level prefix with characters the model lacks says what to type: the book's Time Machine
text is a space and a-z only, and `seqlab generate --prefix "time traveller!"` was refused naming '!'
and nothing else (a word-level model already said "this corpus has no '!': leave it out")."""

import pytest

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.generation.prefix import check_prefix

BOOK_TEXT = "the time traveller for so it will be convenient to speak of him"


def _refusal(vocab, text):
    with pytest.raises(SeqlabError) as e:
        check_prefix(list(text), vocab, "char")
    return str(e.value)


def test_a_character_the_model_lacks_is_named_with_the_characters_it_has():
    vocab = Vocab(list(BOOK_TEXT))
    # the corpus's characters, written out by hand: a space, then its letters in order
    assert "".join(sorted(set(BOOK_TEXT))) == " abcefhiklmnoprstvw"
    assert _refusal(vocab, "time traveller!") == (
        "the prefix has characters not in the model's vocabulary: '!' "
        "(the model's 19 characters are ' abcefhiklmnoprstvw': leave out '!' or type one of those)")


def test_a_capital_gets_the_case_hint_and_only_the_other_characters_are_named():
    vocab = Vocab(list(BOOK_TEXT))
    message = _refusal(vocab, "Time Traveller!?")
    # 'T' has its lower case in the vocabulary: the case hint covers it; '!' and '?' have none
    assert "this vocabulary is lower-case: try a lower-case prefix" in message
    assert message.endswith("leave out '!', '?' or type one of those)")


def test_a_large_character_set_is_not_listed():
    text = "".join(chr(0x4E00 + i) for i in range(101))  # CJK characters, more than the 100 listed
    message = _refusal(Vocab(list(text)), "\u9fa5")
    assert message.endswith("(the model knows only the characters of its training text: leave out '\u9fa5')")


def test_a_list_of_words_for_a_character_model_is_told_to_give_a_string():
    # generate(net, vocab, "time traveller".split(), ...) with the default level='char': every letter of
    # 'time' is in the vocabulary, and the refusal said "the same text in Unicode form NFC fits it"
    vocab = Vocab(list(BOOK_TEXT))
    with pytest.raises(SeqlabError) as e:
        check_prefix(["time", "traveller"], vocab, "char")
    assert "Unicode form" not in str(e.value)
    assert str(e.value).endswith("(a character-level model reads one character a token, and 'time' is 4: give the "
                                 "prefix as a string, e.g. 'time traveller', or list('time traveller'))")
