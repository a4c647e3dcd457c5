"""A text file read for a tokenizer of str (characters, the book's cleaning): `text.TextBlocks`, each
block decoded once, where the file's bytes were decoded once to check them (`read_text_utf8`) and
again to tokenize them. Same tokens and same refusals as `read_text`."""

import pytest

from seqlab import SeqlabError
from seqlab.cli import main
from seqlab.data import token_ids
from seqlab.data.corpora import load_lm_corpus
from seqlab.data.text import TextBlocks, read_text
from seqlab.training.lm_data import pair_file_note

# a byte order mark, 2-, 3- and 4-byte characters, \r\n and a lone \r: 8 characters a copy once read
LINE = "\ufeffhé😀\r\n日本\rx\n"


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(token_ids, "BLOCK", 4)  # a line or two a block: many blocks


def test_a_char_corpus_reads_the_characters_of_its_text(tmp_path, small_blocks):
    path = tmp_path / "t.txt"
    path.write_bytes(LINE.encode() + LINE[1:].encode() * 4)  # (one byte order mark, at the start)
    corpus = load_lm_corpus(data=path, level="char")
    chars = corpus.vocab.to_tokens(corpus.train.tolist() + corpus.valid.tolist())
    assert chars == list("hé😀\n日本\nx\n" * 5)  # no mark, \r\n and \r read as \n
    assert "".join(TextBlocks(path)) == read_text(path)


@pytest.mark.parametrize("data, offset", [
    ("é日本\n".encode() * 3 + b"ab\xff\n", 29),  # 3 x (2 + 3 + 3 + 1) + 2 bytes before it
    (b"\xef\xbb\xbf" + "é\r\n".encode() * 2 + b"\xc3(\n", 11),  # the mark and each \r count: offsets in the file
    (b"ab\n\xe2\x82\ncd\n", 3),  # a character cut short by a newline, in a block of its own
])
def test_a_bad_byte_is_refused_at_its_offset_in_the_file(tmp_path, small_blocks, data, offset):
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    want = f"{str(path)!r} is not UTF-8 text (bad byte at offset {offset}): convert it, e.g. `iconv -f latin1 -t utf-8`"
    for read in (read_text, lambda p: "".join(TextBlocks(p)), lambda p: load_lm_corpus(data=p, level="char")):
        with pytest.raises(SeqlabError) as e:
            read(path)
        assert str(e.value) == want


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b" \n\t\r\n" + "\u3000\n".encode() * 3])
def test_an_empty_or_blank_text_is_refused(tmp_path, small_blocks, data):
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    with pytest.raises(SeqlabError) as e:
        load_lm_corpus(data=path, level="char")
    assert str(e.value) == f"{str(path)!r} is empty: a corpus needs some text"


def test_missing_and_binary_files_are_refused_when_read(tmp_path):
    with pytest.raises(SeqlabError, match="not found"):
        TextBlocks(tmp_path / "nowhere.txt")  # (at once, not when the blocks are first asked for)
    (tmp_path / "b.txt").write_bytes(b"ab\x00c")
    with pytest.raises(SeqlabError, match=r"looks binary \(it holds NUL bytes, the first at offset 2\)"):
        TextBlocks(tmp_path / "b.txt")


@pytest.mark.parametrize("level, style", [("char", "raw"), ("char", "book"), ("word", "book"), ("word", "raw")])
def test_each_byte_of_the_file_is_decoded_once(tmp_path, monkeypatch, small_blocks, level, style):
    # the char path decoded every block twice: to check it, then to tokenize it (raw words never decode
    # the blocks but to check them: their words are cut in the bytes)
    decoded = []

    class Counted(bytes):
        def decode(self, *args, **kwargs):
            decoded.append(len(self))
            return super().decode(*args, **kwargs)

    blocks = token_ids.blocks
    monkeypatch.setattr(token_ids, "blocks", lambda text: (Counted(b) if isinstance(b, bytes) else b
                                                           for b in blocks(text)))
    path = tmp_path / "t.txt"
    path.write_bytes(LINE.encode() * 30)  # (the book reads h and x of each: 60 tokens)
    load_lm_corpus(data=path, level=level, style=style)
    assert sum(decoded) == path.stat().st_size
    decoded.clear()
    assert main(["stats", "--data", str(path), "--level", level, "--style", style, "--json"]) == 0
    assert sum(decoded) == path.stat().st_size


def test_the_pair_file_check_reads_the_blocks_as_the_bytes(tmp_path, small_blocks):
    for text, pairs in (("a\tb\r\nc\td\n", True), ("a\tb\rc\n", False), ("\ufeffa\tb\n\n", True), ("ab\n", False)):
        path = tmp_path / "p.txt"
        path.write_text(text, encoding="utf-8", newline="")
        assert (pair_file_note(TextBlocks(path), "p") is not None) == pairs
