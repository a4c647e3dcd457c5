"""SPEC §1 reference values, reproduced exactly, and the vocabulary's contract."""

import collections

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seqlab import SeqlabError
from seqlab.data.corpora import load_corpus_time_machine, read_time_machine
from seqlab.data.text import preprocess_line, read_text, tokenize
from seqlab.data.vocab import Vocab, count_corpus


def test_read_time_machine_reference():
    lines = read_time_machine()
    assert len(lines) == 3221
    assert lines[0] == "the time machine by h g wells"
    assert lines[10] == "twinkled and his usually pale face was flushed and animated the"


def test_word_vocab_reference():
    tokens = tokenize(read_time_machine(), "word")
    vocab = Vocab(tokens)
    assert vocab.idx_to_token[:10] == ["<unk>", "the", "i", "and", "of", "a", "to", "was", "in", "that"]
    assert vocab[tokens[0]] == [1, 19, 50, 40, 2183, 2184, 400]
    assert vocab[tokens[10]] == [2186, 3, 25, 1044, 362, 113, 7, 1421, 3, 1045, 1]
    assert len(vocab) == 4580


def test_char_corpus_reference():
    corpus, vocab = load_corpus_time_machine()
    assert (len(corpus), len(vocab)) == (170580, 28)
    corpus10k, _ = load_corpus_time_machine(10000)
    assert corpus10k == corpus[:10000]


def test_tokenize_unknown_type_raises():
    # d2l 0.17.6 prints "ERROR: unknown token type" and returns None (SPEC §13).
    with pytest.raises(ValueError, match="unknown token type 'bogus'"):
        tokenize(["a b"], "bogus")


def test_tokenize_word_and_char():
    assert tokenize(["ab c", ""], "word") == [["ab", "c"], []]
    assert tokenize(["ab c"], "char") == [["a", "b", " ", "c"]]


def test_preprocess_line_matches_book_regex():
    assert preprocess_line("  The Time-Machine, by H. G. Wells [1898]\n") == "the time machine by h g wells"


def test_vocab_ordering_reserved_min_freq_and_ties():
    tokens = ["b", "a", "c", "a", "b", "d", "a"]  # a:3, b:2, c:1, d:1 (c seen before d)
    vocab = Vocab(tokens, reserved_tokens=["<pad>", "<bos>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "<bos>", "a", "b", "c", "d"]
    assert Vocab(tokens, min_freq=2).idx_to_token == ["<unk>", "a", "b"]
    assert Vocab(tokens, max_size=1).idx_to_token == ["<unk>", "a"]
    assert vocab["zzz"] == vocab.unk == 0
    assert vocab[["a", ("b", "zzz")]] == [3, [4, 0]]
    assert vocab.to_tokens([3, 4]) == ["a", "b"] and vocab.to_tokens(5) == "c"


def test_vocab_unk_in_corpus_keeps_index_zero():
    # PTB writes unknown words as "<unk>": they must share index 0, not get a second id.
    vocab = Vocab(["<unk>", "<unk>", "x"])
    assert vocab.idx_to_token == ["<unk>", "x"] and vocab["<unk>"] == 0


def test_vocab_of_tuples_json_roundtrip(tmp_path):
    bigrams = [("of", "the"), ("in", "the"), ("of", "the")]
    vocab = Vocab(bigrams)
    assert vocab.token_freqs[0] == (("of", "the"), 2)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    again = Vocab.load(path)
    assert again == vocab and again.token_freqs == vocab.token_freqs
    assert again.token_to_idx[("of", "the")] == 1


def test_vocab_load_rejects_garbage(tmp_path):
    bad = tmp_path / "v.json"
    bad.write_text('{"idx_to_token": ["a", "b"]}')
    with pytest.raises(SeqlabError, match="index 0"):
        Vocab.load(bad)
    bad.write_text("not json")
    with pytest.raises(SeqlabError, match="not valid JSON"):
        Vocab.load(bad)


def test_count_corpus_1d_and_2d():
    assert count_corpus(["a", "b", "a"]) == collections.Counter(a=2, b=1)
    assert count_corpus([["a", "b"], ["a"]]) == collections.Counter(a=2, b=1)
    assert count_corpus([]) == collections.Counter()


@given(st.lists(st.text(alphabet="abcde", min_size=1, max_size=3), max_size=60))
def test_vocab_roundtrip_property(tokens):
    vocab = Vocab(tokens)
    assert vocab.to_tokens(vocab[tokens]) == tokens  # every seen token round-trips
    freqs = [f for _, f in vocab.token_freqs]
    assert freqs == sorted(freqs, reverse=True)
    assert Vocab.from_dict(vocab.to_dict()) == vocab


@given(st.lists(st.text(min_size=0, max_size=20), max_size=10))
def test_tokenize_char_roundtrip_property(lines):
    assert ["".join(t) for t in tokenize(lines, "char")] == lines
    assert [" ".join(t) for t in tokenize(lines, "word")] == [" ".join(line.split()) for line in lines]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"), (b"   \n\n", "empty"), (b"abc\x00def", "binary"), (b"caf\xe9 au lait", "not UTF-8"),
])
def test_read_text_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(SeqlabError, match=message):
        read_text(path)


def test_read_text_missing_and_folder(tmp_path):
    with pytest.raises(SeqlabError, match="not found"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(SeqlabError, match="folder"):
        read_text(tmp_path)


def test_read_text_drops_a_utf8_byte_order_mark(tmp_path):
    # Notepad and Excel write "\ufeff" first; it is not text and must not become part of
    # the first word (or a character of the vocabulary).
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffThe Time\nmachine\n".encode("utf-8"))
    assert read_text(path) == "The Time\nmachine\n"


def test_vocab_load_rejects_a_token_listed_twice(tmp_path):
    # two indices for one token: vocab[token] and to_tokens would disagree
    bad = tmp_path / "v.json"
    bad.write_text('{"idx_to_token": ["<unk>", "a", "a"]}')
    with pytest.raises(SeqlabError, match="appears twice"):
        Vocab.load(bad)


def test_vocab_to_tokens_and_encode_on_tensors():
    import torch

    vocab = Vocab(["b", "a", "c", "a", "b", "d", "a"], reserved_tokens=["<pad>", "<bos>"])  # a=3 b=4 c=5 d=6
    assert vocab.to_tokens(torch.tensor([3, 4])) == ["a", "b"]  # e.g. an argmax over logits
    assert vocab.to_tokens(torch.tensor(5)) == "c"
    ids = vocab.encode(["b", "zzz", "a", "<bos>"])
    assert ids.dtype == torch.int64 and ids.tolist() == vocab[["b", "zzz", "a", "<bos>"]] == [4, 0, 3, 2]


def test_windows_line_ends_read_as_python_text_mode_reads_them(tmp_path):
    from seqlab.data.text import read_text
    unix, windows, mac = tmp_path / "u.txt", tmp_path / "w.txt", tmp_path / "m.txt"
    unix.write_bytes(b"the time\nmachine\n")
    windows.write_bytes(b"the time\r\nmachine\r\n")
    mac.write_bytes(b"the time\rmachine\r")
    assert read_text(windows) == read_text(mac) == read_text(unix) == open(windows, encoding="utf-8").read()


def test_resuming_a_run_whose_vocabulary_kept_windows_carriage_returns_says_why_it_cannot():
    from types import SimpleNamespace

    from seqlab.data.vocab import Vocab
    from seqlab.errors import SeqlabError
    from seqlab.training.lm import check_compatible
    old = Vocab(list("ab\r\n"))  # a run trained before \r\n was read as \n
    corpus = SimpleNamespace(vocab=Vocab(list("ab\n")))
    ckpt = SimpleNamespace(meta={"vocab": old.to_dict()}, path="run/last.safetensors")
    with pytest.raises(SeqlabError, match=r"reads \\r\\n as \\n"):
        check_compatible(ckpt, corpus)


def test_a_nul_byte_anywhere_is_binary(tmp_path):
    # only the first 64 KiB were looked at: a later NUL was read as a character
    f = tmp_path / "late.txt"
    f.write_bytes(b"the quick brown fox\n" * 5000 + b"abc\x00def\n")
    with pytest.raises(SeqlabError, match="looks binary .*the first at offset 100,003"):
        read_text(f)


@pytest.mark.parametrize("data, flavour", [
    ("the quick brown fox\n".encode("utf-16"), "utf-16"),  # with its byte order mark (FF FE)
    (b"\xfe\xff" + "the fox\n".encode("utf-16-be"), "utf-16"),
    ("the quick brown fox\n".encode("utf-16-be"), "utf-16be"),  # no mark: a NUL before every letter
    ("the quick brown fox\n".encode("utf-16-le"), "utf-16le"),
], ids=["BOM FF FE", "BOM FE FF", "big-endian, no BOM", "little-endian, no BOM"])
def test_utf16_text_is_named_with_the_conversion(tmp_path, data, flavour):
    f = tmp_path / "u16.txt"
    f.write_bytes(data)
    with pytest.raises(SeqlabError, match="looks like UTF-16 text, not UTF-8") as info:
        read_text(f)
    assert f"iconv -f {flavour} -t utf-8 FILE > FILE8" in str(info.value) and "binary" not in str(info.value)


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be"])
def test_utf32_text_is_not_called_utf16(tmp_path, encoding):
    # its byte order mark starts with UTF-16's: "convert from utf-16" gave text seqlab then called binary
    f = tmp_path / "u32.txt"
    bom = "\ufeff" if encoding == "utf-32-be" else ""  # ("utf-32" writes its own)
    f.write_bytes((bom + "the fox\n").encode(encoding))
    with pytest.raises(SeqlabError, match="looks like UTF-32 text, not UTF-8") as info:
        read_text(f)
    assert "iconv -f utf-32 -t utf-8" in str(info.value)


def test_max_size_errors_name_the_command_line_flag():
    for size in (0, 2.5):
        with pytest.raises(SeqlabError, match="--max-vocab"):
            Vocab(["a"], max_size=size)


LINES = ["the cat sat on the mat", "the dog sat", "a cat and a dog"]


def test_vocab_takes_any_iterable_of_tokens_or_lines_as_a_list_of_them():
    # Vocab(generator) was "TypeError: object of type 'generator' has no len()"; torchtext's
    # build_vocab_from_iterator takes one
    as_list = Vocab([line.split() for line in LINES], min_freq=1, reserved_tokens=["<pad>"])
    from_gen = Vocab((line.split() for line in LINES), min_freq=1, reserved_tokens=["<pad>"])
    assert from_gen.idx_to_token == as_list.idx_to_token and from_gen.token_freqs == as_list.token_freqs
    flat = " ".join(LINES).split()
    assert Vocab(iter(flat)).idx_to_token == Vocab(flat).idx_to_token
    assert Vocab(map(str.lower, ["A", "b", "a"])).idx_to_token == Vocab(["a", "b", "a"]).idx_to_token
    assert count_corpus(t for t in "abca") == collections.Counter("abca")
    assert Vocab(x for x in []).idx_to_token == ["<unk>"]


def test_encode_reads_lines_as_vocab_does_one_stream_as_the_books_corpus():
    # vocab.encode(tokenize(lines)) was "TypeError: unhashable type: 'list'"
    lines = tokenize(LINES + ["an unseen word"], "word")
    vocab = Vocab(lines[:3])
    book = [vocab[token] for line in lines for token in line]  # the book's load_corpus_time_machine
    assert vocab.encode(lines).tolist() == book
    assert vocab.encode(iter(lines)).tolist() == book
    assert vocab.encode([t for line in lines for t in line]).tolist() == book
    assert vocab.encode([]).tolist() == vocab.encode(iter([])).tolist() == []
    for mixed in ([["the", "cat"], "dog"], ["the", ["cat"]], [["the", ["cat"]]]):
        with pytest.raises(SeqlabError, match="tokens, or lines .* not a mix"):
            vocab.encode(mixed)


def test_a_tensor_where_tokens_belong_is_refused_naming_to_tokens():
    # tensors hash by identity: vocab[torch.tensor(1)] was <unk> (0), silently
    import torch

    vocab = Vocab(tokenize(LINES, "word"))
    ids = torch.tensor([1, 2])
    for call in (lambda: vocab[torch.tensor(1)], lambda: vocab[ids], lambda: vocab[[ids[0], ids[1]]],
                 lambda: vocab.encode(ids), lambda: vocab.encode([ids[0]])):
        with pytest.raises(SeqlabError, match=r"not a tensor.*vocab\.to_tokens\(ids\).*ids\.tolist\(\)"):
            call()
    # review r-diff, finding 6: a tensor after the first token (encode's miss path, as vocab[...]'s), and the
    # constructor, which built a vocabulary of tensor objects (each its own token: Vocab(tensor([1, 2, 1])) had 4)
    tokens = [vocab.idx_to_token[1], vocab.idx_to_token[2]]
    for call in (lambda: vocab.encode([tokens[0], ids[1]]), lambda: vocab.encode([[tokens[0]], [ids[1]]]),
                 lambda: Vocab(ids), lambda: Vocab(list(torch.tensor([[1, 2], [1, 1]]))), lambda: Vocab([[ids[0]]]),
                 lambda: count_corpus(ids)):
        with pytest.raises(SeqlabError, match=r"not a tensor.*ids\.tolist\(\)"):
            call()
    built = Vocab(torch.tensor([1, 2, 1, 1]).tolist())  # the advice: its values as tokens, as the book's counts
    assert built.idx_to_token == ["<unk>", 1, 2] and built.token_freqs == [(1, 3), (2, 1)]
    assert vocab.to_tokens(ids) == tokens
    assert vocab[vocab.to_tokens(ids)] == [1, 2] and vocab["zzz"] == 0 and vocab[("the", "zzz")] == [vocab["the"], 0]


def test_holds_words_tells_a_vocabulary_of_words_from_one_of_characters():
    from types import SimpleNamespace

    from seqlab.data.vocab import holds_words

    chars = tokenize(read_time_machine()[:20], "char")
    assert not holds_words(Vocab(chars))  # 'a'..'z', ' ' and <unk>
    assert not holds_words(Vocab(chars, reserved_tokens=["<pad>", "<bos>", "<eos>"]))  # specials are not words
    assert not holds_words(Vocab([["a", "i"]]))  # one-letter words only: a str prefix still reads the same
    assert not holds_words(Vocab([("t", "h"), ("h", "e")]))  # bigrams (tuples), as the book's 8.3
    assert holds_words(Vocab(tokenize(read_time_machine()[:20], "word")))
    assert holds_words(Vocab([["<unk>", "<>", "ab"]]))  # (a two-letter word)
    # a token that only starts or ends with an angle bracket is no <...> special: words (code, markup)
    assert holds_words(Vocab([["a", "<="]])) and holds_words(Vocab([["a", "i>"]]))
    # the book's own Vocab class (train_ch8 takes it): only idx_to_token is read
    assert holds_words(SimpleNamespace(idx_to_token=["<unk>", "time", "traveller"]))
    assert not holds_words(SimpleNamespace(idx_to_token=["<unk>", "t", "i"]))


def test_a_bigram_is_looked_up_whole_and_other_tuples_element_wise():
    # the twin is the vocabulary's own token_to_idx; the book's Vocab read ('of', 'the') element-wise
    # as two <unk>s ([0, 0]) while `in`, encode and to_tokens treated it as the token it is
    bigrams = [("of", "the"), ("in", "the"), ("of", "the"), ("the", "time")]
    bv = Vocab(bigrams)
    of_the, in_the = bv.token_to_idx[("of", "the")], bv.token_to_idx[("in", "the")]
    assert bv[("of", "the")] == of_the == 1
    assert bv[[("of", "the"), ("in", "the")]] == [of_the, in_the]
    assert bv[(("of", "the"), ("in", "the"))] == [of_the, in_the]  # a tuple of bigrams: element-wise
    assert bv[("no", "such")] == bv.unk == bv.encode([("no", "such")]).item()  # an unknown bigram: <unk>
    assert bv[[("of", "the"), ("no", "such")]] == [of_the, bv.unk]  # not a ragged [1, [0, 0]]
    assert bv.to_tokens(bv[("the", "time")]) == ("the", "time")
    words = Vocab("the time machine the".split())
    assert words[("the", "time")] == [words["the"], words["time"]]  # a word vocabulary: unchanged
    assert words[(["the"], "time")] == [[words["the"]], words["time"]]  # unhashable: element-wise
