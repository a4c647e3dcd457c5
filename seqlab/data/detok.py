"""Undo the book's preprocessing (`seqlab.data.translation.preprocess_nmt`) for reading a translation.

What preprocessing did, and what `detokenize` does about it:

    preprocessing                              detokenize
    nbsp / narrow nbsp -> space                (kept as a space: the two cannot be told apart)
    lower case                                 capitalise the sentence's first letter (capitalize=True)
    a space inserted before , . ! ?            that space removed: "je suis calme ." -> "Je suis calme."
      when it followed a non-space               (french=True: removed before , . only)
    « » ; : and every other mark untouched     untouched: their spacing is the data's own

The space before , . ! ? is removed where it follows a non-space, the exact inverse of the insertion,
so `preprocess_nmt(detokenize(x)) == x` for every preprocessed x (tests/data/test_detok.py checks
fra-eng's). Preprocessing also kept the spaces that were already there, and French writes one
before ! ? ; : (fra.txt: "Va !"): the tokenised text cannot say which was which. `french=True` keeps
the space before ! and ? (as fra.txt writes them) and removes it before , and . only; the round trip
holds either way, as preprocessing leaves a space before a mark alone.

    >>> detokenize("je suis calme .")
    'Je suis calme.'
    >>> detokenize("va !"), detokenize("va !", french=True)
    ('Va!', 'Va !')
    >>> detokenize("« qui est là ? » , a-t-il dit .", french=True)
    '« Qui est là ? », a-t-il dit.'
"""

from __future__ import annotations

import re

# a space that preprocessing could have inserted: before the mark, after a non-space (the look-behind
# reads the tokenised text, as preprocessing's read the raw one; position 0 never matches)
_INSERTED = re.compile(r"(?<=[^ ]) ([,.!?])")
_INSERTED_FR = re.compile(r"(?<=[^ ]) ([,.])")
# a token the model writes that is not text (<unk>): no letter of it is the sentence's first
_CONTROL = re.compile(r"<[^<>\s]+>")
# French writes ?! and !? tight; preprocessing put a space before the second mark, which French
# spacing (before ! and ?) would otherwise keep
_MARKS_FR = re.compile(r"(?<=[!?]) (?=[!?])")


def detokenize(text: str, *, french: bool = False, capitalize: bool = True) -> str:
    """`text` (tokenised as the book's preprocessing writes it) for reading: the space preprocessing
    put before , . ! ? removed (`french`: before , . only, French keeping one before ! ?), and with
    `capitalize` the first letter of the sentence upper case. See the module's table."""
    text = (_INSERTED_FR if french else _INSERTED).sub(r"\1", text)
    if french:
        text = _MARKS_FR.sub("", text)
    return capitalize_first(text) if capitalize else text


def capitalize_first(text: str) -> str:
    """`text` with its first letter upper case: the text's first letter or digit, wherever it stands
    ("« bonjour »" -> "« Bonjour »", "l'homme" -> "L'homme"). Nothing when that is a digit ("3 chats")
    or inside a control token ("<unk>, je sais": an unknown first word, not "<Unk>"), or when
    lower-casing the capital would not give the letter back ("ß" -> "SS"; "ⓐσ" -> "ⓐΣ", which
    str.lower() writes "ⓐς", a final sigma after the cased ⓐ), so that preprocessing's lower case
    undoes it exactly."""
    i = next((j for j, c in enumerate(text) if c.isalnum()), None)
    if i is None or any(m.start() < i < m.end() for m in _CONTROL.finditer(text)):
        return text
    c = text[i]
    if c.isalpha() and c.upper().lower() == c:
        out = text[:i] + c.upper() + text[i + 1:]
        # (lower() of a capital sigma depends on its neighbours: only the whole text says)
        return out if c != "σ" or out.lower() == text.lower() else text
    return text
