"""`detokenize`: the inverse of the book's preprocessing, for reading translations."""

import pytest

from seqlab.data.detok import capitalize_first, detokenize
from seqlab.data.translation import preprocess_nmt, read_data_nmt
from seqlab.data.translation_splits import read_pairs


@pytest.mark.parametrize("text, plain, french", [
    ("je suis calme .", "Je suis calme.", "Je suis calme."),
    ("va !", "Va!", "Va !"),
    ("qui ?", "Qui?", "Qui ?"),
    ("oui , je sais .", "Oui, je sais.", "Oui, je sais."),
    ("attends . . .", "Attends...", "Attends..."),  # "..." was split into ". . ." mark by mark
    ("quoi ? !", "Quoi?!", "Quoi ?!"),  # French writes ?! tight (fra.txt: "ça ?!"): one space, before the first
    # « » ; : were never touched by preprocessing: their spaces are the data's
    ("« qui est là ? » , a-t-il dit .", "« Qui est là? », a-t-il dit.", "« Qui est là ? », a-t-il dit."),
    ("note : c'est ça ; voilà .", "Note : c'est ça ; voilà.", "Note : c'est ça ; voilà."),
    ("l'homme court .", "L'homme court.", "L'homme court."),
    ("3 chats dorment .", "3 chats dorment.", "3 chats dorment."),  # a digit first: nothing to capitalise
    ("<unk> est là .", "<unk> est là.", "<unk> est là."),  # an unknown first word, not "<Unk>"
    # nor when a mark is joined to it (a tiny model's favourite output, "<unk> .")
    ("<unk> .", "<unk>.", "<unk>."),
    ("<unk> , je sais .", "<unk>, je sais.", "<unk>, je sais."),
    ("<unk>-t-il ?", "<unk>-t-il?", "<unk>-t-il ?"),
    ('" <unk> " , dit-il .', '" <unk> ", dit-il.', '" <unk> ", dit-il.'),
    ("a  .", "A  .", "A  ."),  # a space after a space was not inserted (preprocessing inserts after a non-space)
    (". va", ". Va", ". Va"),  # nor one at the start
    ("", "", ""),
])
def test_worked_examples(text, plain, french):
    assert detokenize(text) == plain
    assert detokenize(text, french=True) == french
    assert preprocess_nmt(plain) == preprocess_nmt(french) == text  # and back


def test_capitalize_is_optional_and_leaves_letters_lower_case_cannot_give_back():
    assert detokenize("je suis calme .", capitalize=False) == "je suis calme."
    assert capitalize_first("ßtraße") == "ßtraße"  # "ß".upper() is "SS": lower-casing it would not give "ß"
    assert capitalize_first("éric est là") == "Éric est là"
    assert capitalize_first("« bonjour »") == "« Bonjour »"


def test_round_trip_on_the_first_2000_fra_eng_pairs(data_dir):
    source, target = read_pairs(num_examples=1999)  # the book's num_examples: lines 0..1999
    assert len(source) == 2000
    sides = [" ".join(s) for s in source] + [" ".join(t) for t in target]  # each side as preprocessing wrote it
    for french in (False, True):
        back = [preprocess_nmt(detokenize(x, french=french)) for x in sides]
        assert back == sides
    assert all(detokenize(x) != x for x in sides)  # every one changes (its first letter, at least)
    # and every " ." goes (2,828 sides hold one); french=True keeps the 817 " !"
    assert sum(" ." in x for x in sides) == 2828 and not any(" ." in detokenize(x) for x in sides)
    assert sum(" !" in detokenize(x, french=True) for x in sides) == sum(" !" in x for x in sides) == 817


def test_detokenize_gives_back_the_raw_text_where_only_the_first_letter_was_a_capital(data_dir):
    # what preprocessing lost (other capitals, which spaces were the data's) cannot come back; the rest does
    lines = [line.split("\t") for line in read_data_nmt().split("\n")[:2000]]
    english = [en for en, _ in lines if en == capitalize_first(en.lower())]
    assert len(english) == 1891 and all(detokenize(preprocess_nmt(en)) == en for en in english)
    # French, with its no-break spaces as the spaces preprocessing makes them: "Va !" comes back with french=True
    french = [fr.replace("\u202f", " ").replace("\xa0", " ") for _, fr in lines]
    french = [fr for fr in french if fr == capitalize_first(fr.lower())]
    back = sum(detokenize(preprocess_nmt(fr), french=True) == fr for fr in french)
    assert (back, len(french)) == (1927, 1941)  # the 14 others: a thin space (U+2009) before "!", or "aller!"


def test_a_bracketed_word_with_spaces_is_text_not_a_control_token():
    # a control token (<unk>, <eos>) holds no space: "< bonjour >" is text whose first letter is capitalised
    assert capitalize_first("< bonjour > dit-il") == "< Bonjour > dit-il"
    assert capitalize_first("<unk> dit-il") == "<unk> dit-il"
