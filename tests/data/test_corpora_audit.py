"""Mutation audit of corpora.py: what the earlier tests left open (a held-out split file of one token,
built_with for the whole corpus, a "<unk>" written as a text's first token, `--data ..`'s name, and
book-style words reserving no <eos>)."""

import pytest

from seqlab import SeqlabError
from seqlab.data.corpora import EOS, UNK, data_name, encode_text, encode_with_vocab, load_lm_corpus
from seqlab.data.text import book_lines, tokenize


def test_a_held_out_split_file_of_one_token_is_refused(tmp_path):
    (tmp_path / "train.txt").write_text("abcabc\n")
    (tmp_path / "valid.txt").write_text("a")  # one character, no newline: nothing to predict
    with pytest.raises(SeqlabError, match=r"valid\.txt' holds 1 char token\(s\): a held-out split needs at least 2"):
        load_lm_corpus(data=tmp_path, level="char")


def test_the_whole_corpus_is_built_with_max_tokens_none(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("the cat sat on the mat\n" * 5)
    assert load_lm_corpus(data=f, level="word", max_tokens=-1).built_with["max_tokens"] is None
    assert load_lm_corpus(data=f, level="word", max_tokens=7).built_with["max_tokens"] == 7


def test_a_written_unk_as_the_first_token_is_no_target():
    text = f"{UNK} a b\n{UNK} c {UNK}\n"
    tokens = text.replace("\n", f" {EOS} ").split()
    twin = sum(1 for tok in tokens[1:] if tok == UNK)  # the targets: every token after the first
    _, vocab = encode_text("a b c\n", "word")
    assert encode_with_vocab(text, "word", "raw", vocab).written_unk == twin == 2


def test_data_dot_dot_is_named_for_the_folder_it_resolves_to(tmp_path):
    (tmp_path / "proj" / "sub").mkdir(parents=True)
    assert data_name(tmp_path / "proj" / "sub" / "..") == (tmp_path / "proj").resolve().name == "proj"


def test_book_style_words_reserve_no_eos(tmp_path):
    f = tmp_path / "t.txt"
    text = "The Time Traveller, for so\nit will be convenient to speak of him!\n" * 10
    f.write_text(text)
    corpus = load_lm_corpus(data=f, level="word", style="book")
    words = [w for line in tokenize(book_lines(text), "word") for w in line]
    assert EOS not in corpus.vocab.token_to_idx and EOS not in words
    assert set(corpus.vocab.idx_to_token) <= set(words) | {UNK}
