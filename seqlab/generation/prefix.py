"""A generation prefix checked against the model's vocabulary (`check_prefix`, for sampling.py's
`generate` and `seqlab generate --prefix`): a token the vocabulary lacks is an error that says
what to type instead, in the vocabulary's letter case, in the corpus's spelling of punctuation
and numbers (PTB's and WikiText's tokenized words: `game ,`, `do n't`, `well @-@ known`, N),
as <unk>, or in the vocabulary's Unicode normal form."""

from __future__ import annotations

import re
import unicodedata
from typing import Hashable, Sequence

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError


def check_prefix(tokens: Sequence[Hashable], vocab: Vocab, level: str = "char") -> list[int]:
    """Indices of the prefix tokens; a token outside the vocabulary is a clear error.

    At level "word" the prefix is a list of words: a string is refused rather than read as
    characters (the word tokenizer of the corpus, not `str.split`, decides what a word is).
    """
    if level == "word" and isinstance(tokens, str):
        raise SeqlabError(f"at level 'word' the prefix is a list of words, got the string {tokens!r}: "
                          f"pass e.g. {tokens!r}.split()")
    if len(tokens) == 0:
        raise SeqlabError("the prefix is empty: give at least one token to start from")
    # membership through token_to_idx, which seqlab's and the book's Vocab both have: the book's has no
    # __contains__, so `t in vocab` would try vocab[0], vocab[1], ... for ever (each index reads as <unk>)
    known = getattr(vocab, "token_to_idx", None)
    if known is None:
        raise SeqlabError(f"the vocabulary must map tokens to ids in `token_to_idx`, as seqlab's and the book's "
                          f"Vocab do: a {type(vocab).__name__} has none")
    missing = sorted({t for t in tokens if t not in known}, key=str)
    if missing:
        what = "characters" if level == "char" else "words"
        shown = ", ".join(repr(t) for t in missing[:20])
        hints_vocab = vocab
        if not isinstance(vocab, Vocab):  # the hints ask `t in vocab`: ask a seqlab Vocab of the same tokens
            try:
                hints_vocab = Vocab.from_dict({"idx_to_token": list(vocab.idx_to_token),
                                               "token_freqs": list(getattr(vocab, "token_freqs", []))})
            except (SeqlabError, AttributeError, TypeError):  # (no idx_to_token, or index 0 is not <unk>)
                hints_vocab = None
        hint = "" if hints_vocab is None else _missing_hint(missing, tokens, hints_vocab, level)
        raise SeqlabError(f"the prefix has {what} not in the model's vocabulary: {shown}{hint}")
    return [known[t] for t in tokens]


def _missing_hint(missing: list, tokens: Sequence[Hashable], vocab: Vocab, level: str) -> str:
    """What to type instead, as " (...)", or "": the lower-case words, the corpus's way of writing
    punctuation and numbers (`_corpus_spelling`), <unk> for a word the model cannot know, the
    Unicode form."""
    words = [t for t in missing if isinstance(t, str) and len(t) > 1]
    if level == "char" and words:  # (["time", "traveller"]: its letters fit, so the Unicode-form hint said they did)
        text = ("" if any(isinstance(t, str) and t.isspace() for t in tokens) else " ").join(map(str, tokens))
        return (f" (a character-level model reads one character a token, and {words[0]!r} is {len(words[0])}: "
                f"give the prefix as a string, e.g. {text!r}, or list({text!r}))")
    hints, left = [], [t for t in missing if isinstance(t, str)]
    cased = {t: next((v for v in _cases(t) if v in vocab), None) for t in left}  # 'GAME' -> 'Game'
    lower_case = any(v is not None and v == t.lower() for t, v in cased.items())
    left = [t for t in left if cased[t] is None]
    spelt = {}
    for t in left if level == "word" else ():  # as typed, else in another case ('Yesterday,' -> yesterday ,)
        spelt[t] = _corpus_spelling(t, vocab)
        for v in _cases(t) if spelt[t] is None else ():
            spelt[t] = _corpus_spelling(v, vocab)
            if spelt[t] is not None:
                lower_case = lower_case or v == t.lower()
                break
    if lower_case and _all_lower(vocab):
        hints.append("this vocabulary is lower-case: try a lower-case prefix")
    elif any(v is not None for v in cased.values()):  # (a cased corpus: WikiText's 'Game', 'Valkyria')
        hints.append("in the vocabulary's letter case: " + ", ".join(
            f"{v!r} for {t!r}" for t, v in cased.items() if v is not None))
    if level == "word":
        found = {t: s for t, s in spelt.items() if s}  # word -> (the corpus's words, the marks it lacks)
        numbers = {t: words for t, (words, _) in found.items() if NUMBER_WORD in words and _NUMBER.search(t)}
        if numbers:  # ('1990' -> N, '$5' -> $ N)
            hints.append(f"this corpus writes numbers as {NUMBER_WORD}: type " + ", ".join(
                f"{' '.join(words)!r} for {t!r}" for t, words in list(numbers.items())[:8]))
        split = [words for t, (words, absent) in found.items() if not absent and t not in numbers]
        if split:
            at = sorted({w for words in split for w in words if len(w) == 3 and w[0] == "@" == w[-1]})
            inside = f" (and {' '.join(w[1] for w in at)} inside a word as {' '.join(at)})" if at else ""
            hints.append(f"this corpus writes punctuation as separate words{inside}: "
                         + ", ".join(repr(" ".join(words)) for words in split[:8]))
        absent = sorted({c for _, marks in filter(None, spelt.values()) for c in marks})
        if absent:
            them = "it" if len(absent) == 1 else "them"
            hints.append(f"this corpus has no {', '.join(map(repr, absent))}: leave {them} out")
        left = [t for t in left if not spelt[t]]
        if left and _learned_unk(vocab):
            hints.append("the model read its training text's rare words as <unk>: type <unk> in place of "
                         + ", ".join(repr(t) for t in left[:8]))
    normal_form = "" if hints else _normal_form_hint(tokens, vocab, level)
    if normal_form:
        return normal_form
    if level == "char" and left:  # ('!' for the book's Time Machine, whose text is letters and spaces)
        hints.append(_characters_hint(left, vocab))
    return f" ({'; '.join(hints)})" if hints else ""


# A char vocabulary of at most this many characters is listed in full when a prefix has others
LISTED_CHARACTERS = 100


def _characters_hint(left: list, vocab: Vocab) -> str:
    """What to do with characters no letter case or Unicode form fits: leave them out, or type one of
    the model's characters instead, listed when there are few (the book's Time Machine: a space and
    a-z, so "time traveller!" was refused naming '!' and nothing else)."""
    them = ", ".join(repr(t) for t in left[:20])
    chars = sorted(t for t in vocab.idx_to_token if isinstance(t, str) and len(t) == 1)
    if 0 < len(chars) <= LISTED_CHARACTERS:
        return f"the model's {len(chars)} characters are {''.join(chars)!r}: leave out {them} or type one of those"
    return f"the model knows only the characters of its training text: leave out {them}"


def _cases(word: str) -> list[str]:
    """The other letter cases a typed word may have in a corpus: lower, Capitalised, UPPER."""
    return [v for v in dict.fromkeys((word.lower(), word.capitalize(), word.upper())) if v != word]


def _all_lower(vocab: Vocab) -> bool:
    return not any(isinstance(t, str) and t != t.lower() for t in vocab.idx_to_token)


_CONTRACTIONS = ("n't", "'s", "'re", "'ve", "'ll", "'d", "'m", "'t")  # endings PTB / WikiText write apart
_PUNCT = "\"'.,;:!?()[]{}«»“”‘’-…$%"
NUMBER_WORD = "N"  # PTB's word for every number ('in N the', '$ N billion')
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")  # 1990, 1,000, 3.5


def _numbers_are_n(vocab: Vocab) -> bool:
    """Whether the corpus writes each number as N: N is one of its words and no number is (PTB;
    WikiText has both N and the numbers)."""
    return NUMBER_WORD in vocab and not any(isinstance(t, str) and _NUMBER.fullmatch(t) for t in vocab.idx_to_token)


def _corpus_spelling(word: str, vocab: Vocab) -> tuple[list[str], str] | None:
    """How a tokenized corpus (PTB, WikiText) writes `word`, when `word` is none of its words: the
    words, and the punctuation marks at its edges the corpus has none of (to leave out). Punctuation
    split off ('game,' -> game ,), an ending ("don't" -> do n't, or don 't), WikiText's @-@ for a
    hyphen inside a word ('well-known' -> well @-@ known; @,@ and @.@ in numbers), PTB's N for a
    number ('1,000' -> N, '$5' -> $ N, '20%' -> N N). None when the
    word's letters are not the corpus's words either way. A typographic apostrophe (don’t) is
    read as the corpora's '."""
    word = word.replace("\u2019", "'")
    lead = len(word) - len(word.lstrip(_PUNCT))
    trail = len(word) - len(word.rstrip(_PUNCT))
    if lead == len(word):  # punctuation alone ('?!', '...')
        return _split_punct(word, vocab)
    core, tail = word[lead:len(word) - trail], word[len(word) - trail:]
    middle = _split_core(core, vocab)
    if middle is None:
        return None
    if "%" in tail and "%" not in vocab and _NUMBER.fullmatch(core) and middle == [NUMBER_WORD]:
        middle, tail = [NUMBER_WORD, NUMBER_WORD], tail.replace("%", "", 1)  # PTB: 'rose N N' for 'rose 20%'
    (before, absent_before), (after, absent_after) = (_split_punct(word[:lead], vocab), _split_punct(tail, vocab))
    return [*before, *middle, *after], absent_before + absent_after


def _split_punct(run: str, vocab: Vocab) -> tuple[list[str], str]:
    """A run of punctuation as the vocabulary's words (whole: '...', else one word a mark), and the
    marks the vocabulary lacks."""
    if not run or run in vocab:
        return [run] if run else [], ""
    return [c for c in run if c in vocab], "".join(c for c in run if c not in vocab)


def _split_core(core: str, vocab: Vocab) -> list[str] | None:
    """A word with its outer punctuation off, as the vocabulary's words: itself, an ending split
    off, or its parts around - , . written @-@ @,@ @.@ (each part split again)."""
    if core in vocab:
        return [core]
    if _NUMBER.fullmatch(core) and _numbers_are_n(vocab):
        return [NUMBER_WORD]
    for ending in _CONTRACTIONS:
        stem = core[:-len(ending)]
        if core.endswith(ending) and stem and stem in vocab and ending in vocab:
            return [stem, ending]
    for mark in "-,.":
        if mark in core and f"@{mark}@" in vocab:
            parts = [_split_core(p, vocab) if p else None for p in core.split(mark)]
            if None not in parts:
                return [w for i, p in enumerate(parts) for w in ([f"@{mark}@"] if i else []) + p]
    return None


def _learned_unk(vocab: Vocab) -> bool:
    """Whether <unk> was a word of the training text (PTB and WikiText write one for each rare word),
    or the vocabulary left training words out (--min-freq, --max-vocab): the model then learned
    where an unknown word goes, and <unk> in a prefix stands for one."""
    unk = vocab.to_tokens(vocab.unk)
    return any(t == unk or t not in vocab for t, _ in vocab.token_freqs)


def _normal_form_hint(tokens: Sequence[Hashable], vocab: Vocab, level: str) -> str:
    """Where the prefix fits the vocabulary once Unicode-normalised ('é' typed as one code point, the
    corpus writing e + a combining accent, or the reverse), say which form the model reads."""
    if level != "char" or not all(isinstance(t, str) for t in tokens):
        return ""
    for form in ("NFC", "NFD"):
        if all(c in vocab for c in unicodedata.normalize(form, "".join(tokens))):
            return (f" (the same text in Unicode form {form} fits it: the corpus writes accents that way; "
                    f"normalise the prefix, e.g. unicodedata.normalize({form!r}, prefix))")
    return ""
