"""Property tests (hypothesis) of `detokenize`: the module promises `preprocess_nmt(detokenize(x)) == x`
for every preprocessed x, with or without `french` and `capitalize`; checked on raw texts made of the
characters preprocessing and capitalising treat specially (marks, no-break spaces, cased letters whose
case changes are not one-to-one, control tokens)."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from seqlab.data.detok import capitalize_first, detokenize
from seqlab.data.translation import preprocess_nmt

PIECES = list("aAbzéÉ1 ,.!?;:'«»<>-") + [
    "\xa0", "\u202f",  # no-break spaces (preprocessing makes them spaces)
    "σ", "Σ", "ς",  # sigma: str.lower() writes a capital one as ς at a word's end
    "ⓐ", "Ⓐ", "\u0345",  # cased but not letters: they count as a word before a final sigma
    "ß", "İ", "ǅ", "ﬀ", "ŉ", "ʰ", "ª",  # upper() is several letters, or lower() does not give them back
    "<unk>", "<pad>", "  ",
]
raw_texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


@settings(max_examples=600, deadline=None)
@given(raw_texts, st.booleans(), st.booleans())
@example("ⓐσ", False, True)  # σ capitalised after ⓐ: "ⓐΣ".lower() is "ⓐς", not the "ⓐσ" it came from
def test_preprocessing_undoes_detokenize(raw, french, capitalize):
    x = preprocess_nmt(raw)
    assert preprocess_nmt(detokenize(x, french=french, capitalize=capitalize)) == x


@settings(max_examples=300, deadline=None)
@given(raw_texts)
@example("ⓐσ")
def test_capitalize_first_changes_at_most_one_letter_and_only_its_case(raw):
    text = preprocess_nmt(raw)
    out = capitalize_first(text)
    assert len(out) == len(text)
    changed = [i for i, (a, b) in enumerate(zip(text, out)) if a != b]
    assert len(changed) <= 1
    assert out.lower() == text  # (text is lower case: preprocessed)
    if changed:
        i = changed[0]
        assert out[i] == text[i].upper() and not any(c.isalnum() for c in text[:i])


def test_a_sigma_after_a_cased_symbol_stays_lower_case():
    assert capitalize_first("ⓐσ") == "ⓐσ"
    assert capitalize_first("σοφία") == "Σοφία"  # a sigma that starts the text: lower() gives σ back
