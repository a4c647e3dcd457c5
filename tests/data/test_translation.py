"""fra-eng pipeline: SPEC §8 reference values, the book's preprocessing, splits, sentence checks."""

import pytest
import torch

from seqlab.data.translation import (batches, build_array_nmt, build_vocabs, encode_source, load_data_nmt,
                                     preprocess_nmt, read_data_nmt, tokenize_nmt, truncate_pad)
from seqlab.data.translation_splits import load_translation, split_pairs
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError


def book_preprocess(text):  # the book's 9.5 code, character by character
    def no_space(char, prev_char):
        return char in set(",.!?") and prev_char != " "
    text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
    out = [" " + char if i > 0 and no_space(char, text[i - 1]) else char for i, char in enumerate(text)]
    return "".join(out)


@pytest.fixture(scope="module")
def raw(data_dir):
    return read_data_nmt()


@pytest.fixture(scope="module")
def full(raw):
    return tokenize_nmt(preprocess_nmt(raw))


def test_preprocess_equals_book_code(raw):
    sample = raw[:200_000] + raw[-50_000:]
    assert preprocess_nmt(sample) == book_preprocess(sample)
    tricky = "Wait!\u202fNo...\xa0Hi,you?\n.Start"
    assert preprocess_nmt(tricky) == book_preprocess(tricky) == "wait ! no . . . hi ,you ?\n .start"


def test_spec_reference_values(full):
    source, target = full
    assert len(source) == len(target) == 167_130
    assert source[0] == ["go", "."] and target[0] == ["va", "!"]
    src_vocab, tgt_vocab = build_vocabs(source, target)
    assert (len(src_vocab), len(tgt_vocab)) == (10012, 17851)
    assert truncate_pad(src_vocab[source[0]], 10, src_vocab["<pad>"]) == [47, 4, 1, 1, 1, 1, 1, 1, 1, 1]
    assert src_vocab.to_tokens([1, 2, 3]) == ["<pad>", "<bos>", "<eos>"]


def test_load_data_nmt_600_examples(data_dir):
    torch.manual_seed(0)
    train_iter, src_vocab, tgt_vocab = load_data_nmt(batch_size=2, num_steps=8)
    assert (len(src_vocab), len(tgt_vocab)) == (184, 201)
    X, X_valid_len, Y, Y_valid_len = next(iter(train_iter))
    assert X.shape == Y.shape == (2, 8) and X.dtype == torch.long
    for row, n in zip(X, X_valid_len):
        assert (row[:n] != 1).all() and (row[n:] == 1).all()
    assert len(train_iter.dataset) == 601  # the book's `i > num_examples` keeps lines 0..600


def test_build_array_appends_eos_pads_and_truncates():
    vocab = Vocab([["a", "b"], ["a", "b"]], min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    array, valid = build_array_nmt([["a"], ["a", "b", "a", "b"], ["zzz"]], vocab, 3)
    a, b = vocab["a"], vocab["b"]
    assert array.tolist() == [[a, 3, 1], [a, b, a], [0, 3, 1]] and valid.tolist() == [2, 3, 2]


def test_split_is_deterministic_grouped_and_disjoint():
    source = [[f"s{i % 40}"] for i in range(200)]  # 40 distinct sources, 5 translations each
    target = [[f"t{i}"] for i in range(200)]
    a = split_pairs(source, target, 0.1, 0.2, seed=3)
    b = split_pairs(source, target, 0.1, 0.2, seed=3)
    c = split_pairs(source, target, 0.1, 0.2, seed=4)
    assert a == b and a != c
    sets = {k: {tuple(p[0]) for p in v} for k, v in a.items()}
    assert not (sets["train"] & sets["test"]) and not (sets["train"] & sets["valid"]) and not (sets["valid"] & sets["test"])
    assert (len(sets["test"]), len(sets["valid"]), len(sets["train"])) == (8, 4, 28)
    assert sum(len(v) for v in a.values()) == 200
    with pytest.raises(SeqlabError, match="valid_frac"):
        split_pairs(source, target, 0.5, 0.5)


def test_encode_source_checks():
    vocab = Vocab([["go", "."], ["go", "."]], min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    ids, n = encode_source("Go.", vocab, 5)
    assert ids == [vocab["go"], vocab["."], 3, 1, 1] and n == 3
    with pytest.raises(SeqlabError, match="empty sentence"):
        encode_source("   ", vocab, 5)
    with pytest.raises(SeqlabError, match="unknown"):
        encode_source("xyzzy plugh", vocab, 5)
    with pytest.raises(SeqlabError, match="num_steps"):
        encode_source("go go go go go", vocab, 5)


def test_load_data_nmt_shuffles_like_the_books_load_array(data_dir):
    # the book: load_array((src, src_len, tgt, tgt_len), batch_size), i.e. is_train=True, shuffled
    torch.manual_seed(0)
    train_iter, src_vocab, _ = load_data_nmt(batch_size=601, num_steps=8)
    X = next(iter(train_iter))[0]
    source, _ = tokenize_nmt(preprocess_nmt(read_data_nmt()), 600)
    in_file_order, _ = build_array_nmt(source, src_vocab, 8)
    assert sorted(X.tolist()) == sorted(in_file_order.tolist())  # every pair once
    assert not torch.equal(X, in_file_order)


def test_load_translation_vocabularies_come_from_the_training_split(tmp_path):
    # each source has its own word: a held-out source's word must be unknown to the model
    f = tmp_path / "pairs.txt"
    f.write_text("".join(f"w{i} common .\tm{i} commun !\n" for i in range(60)))
    data = load_translation(data=f, valid_frac=0.2, test_frac=0.2, min_freq=1)
    train_words = {p[0][0] for p in data.splits["train"]}
    held_out = {p[0][0] for s in ("valid", "test") for p in data.splits[s]}
    assert len(held_out) == 24 and not held_out & set(data.src_vocab.idx_to_token)
    assert train_words <= set(data.src_vocab.idx_to_token)
    assert not {p[1][0] for s in ("valid", "test") for p in data.splits[s]} & set(data.tgt_vocab.idx_to_token)
    with pytest.raises(SeqlabError, match="at least 2"):
        load_translation(data=f, num_steps=1)  # no room for a word and <eos>


def test_batches_keep_the_last_partial_batch():
    a, b = torch.arange(5), torch.arange(5) * 10
    assert [x.tolist() for x, _ in batches([a, b], 2)] == [[0, 1], [2, 3], [4]]
    shuffled = list(batches([a, b], 2, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert sorted(torch.cat([x for x, _ in shuffled]).tolist()) == [0, 1, 2, 3, 4]
    assert all(torch.equal(y, x * 10) for x, y in shuffled)  # rows stay aligned


@pytest.mark.parametrize("batch_size, arrays, message", [
    (0, [torch.arange(5)], "batch_size must be a positive integer"),  # was range()'s ValueError
    (-2, [torch.arange(5)], "batch_size must be a positive integer"),  # was no batch at all, silently
    (2.5, [torch.arange(5)], "batch_size must be a positive integer"),
    (2, [torch.arange(5), torch.arange(4)], "aligned tensors.*first dimensions 5, 4"),  # was an IndexError
    (2, [torch.arange(4), torch.arange(5)], "aligned tensors.*first dimensions 4, 5"),  # was the 5th row dropped
    (2, [], "at least one tensor"),
])
def test_batches_refuses_a_bad_size_and_unaligned_tensors_at_the_call(batch_size, arrays, message):
    with pytest.raises(SeqlabError, match=message):
        batches(arrays, batch_size)


def test_build_array_refuses_a_string_where_a_list_of_tokens_belongs():
    vocab = Vocab([["a", "b"], ["a", "b"]], min_freq=2, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    with pytest.raises(SeqlabError, match=r"lines of tokens .*got the string 'a b'.*'a b'\.split\(\)"):
        build_array_nmt(["a b"], vocab, 4)  # was the characters 'a', ' ', 'b' (two <unk>s)
    with pytest.raises(SeqlabError, match="got the string 'b a'"):
        build_array_nmt([["a"], "b a"], vocab, 4)
    assert build_array_nmt([("a", "b")], vocab, 4)[1].tolist() == [3]  # a tuple of tokens is a line


@pytest.mark.parametrize("lines, message", [
    (["go .\tva !", "run !", "hi .\tsalut !"], "line 2 has 1 tab-separated field, not 2"),
    (["go .\tva !\tCC-BY 2.0 (France) Attribution: tatoeba.org"], r"line 1 has 3 .*cut -f1,2"),
])
def test_a_pair_file_line_that_is_not_source_tab_target_is_named(tmp_path, lines, message):
    # such lines were dropped without a word (a manythings.org file: every line, "holds no pairs")
    from seqlab.data.translation_splits import load_translation
    path = tmp_path / "pairs.txt"
    path.write_text("\n".join(lines * 20) + "\n\n", encoding="utf-8")
    with pytest.raises(SeqlabError, match=message):
        load_translation(data=path, min_freq=1)
    # a run trained before this check (its bad lines skipped) is still read so for evaluate / --resume
    if any(line.count("\t") == 1 for line in lines):
        lenient = load_translation(data=path, min_freq=1, valid_frac=0.0, test_frac=0.0, strict=False)
        assert len(lenient.splits["train"]) == 40  # the 20 lines without a tab skipped
    path.write_text("\n".join(["go .\tva !", "hi .\tsalut !"] * 20) + "\n\n", encoding="utf-8")  # blank lines: fine
    assert len(load_translation(data=path, min_freq=1, valid_frac=0.0, test_frac=0.0).splits["train"]) == 40


# --- a user's pair file (data review) -------------------------------------------------------------

GOOD_PAIRS = "".join(f"go {i} .\tva {i} !\n" for i in range(20))


@pytest.mark.parametrize("line, side", [("\tbonjour !", "source side"), ("hello .\t", "target side"),
                                        ("   \t  ", "source and target sides")])
def test_a_pair_with_an_empty_side_is_refused_naming_its_line(tmp_path, line, side):
    f = tmp_path / "pairs.txt"
    f.write_text(GOOD_PAIRS + line + "\n" + GOOD_PAIRS, encoding="utf-8")
    with pytest.raises(SeqlabError, match=f"line 21 has an empty {side}"):
        load_translation(data=f, valid_frac=0.0, test_frac=0.0, min_freq=1)
    # strict=False reads a file as runs trained before the check did (the line is kept)
    data = load_translation(data=f, valid_frac=0.0, test_frac=0.0, min_freq=1, strict=False)
    assert len(data.splits["train"]) == 41


def test_double_spaces_in_a_users_file_make_no_empty_tokens(tmp_path):
    f = tmp_path / "pairs.txt"
    f.write_text(GOOD_PAIRS + "i  see  it .\tje  le vois .\n", encoding="utf-8")
    data = load_translation(data=f, valid_frac=0.0, test_frac=0.0, min_freq=1)
    assert data.splits["train"][-1] == (["i", "see", "it", "."], ["je", "le", "vois", "."])
    assert "" not in data.src_vocab and "" not in data.tgt_vocab
    # as encode_source reads a sentence typed at translation time
    assert encode_source("i  see", data.src_vocab, 10)[1] == 3
    # the book's split keeps them (fra.txt's 17 such lines are in its 17,851 French tokens)
    assert tokenize_nmt("a  b\tc\n")[0] == [["a", "", "b"]]
    assert tokenize_nmt("a  b\tc\n", drop_empty=True)[0] == [["a", "b"]]


def test_valid_length_counts_positions_even_with_a_pad_word():
    vocab = Vocab([["the", "<pad>", "token", "."]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    lines = [["the", "<pad>", "token", "."], ["the"], ["the"] * 12]
    _, valid_len = build_array_nmt(lines, vocab, 8)
    assert valid_len.tolist() == [5, 2, 8]  # min(len(line) + 1, num_steps); it was 4 for the first
    assert valid_len.dtype == torch.int64  # the book's: torch sums its int32 mask into int64


def test_valid_length_is_the_books_count_on_fra_eng(full):
    source, target = full
    src_vocab, _ = build_vocabs(source[:2000], target[:2000])
    array, valid_len = build_array_nmt(source[:2000], src_vocab, 10)
    book = (array != src_vocab["<pad>"]).type(torch.int32).sum(1)  # the book's
    assert torch.equal(valid_len, book) and valid_len.dtype == book.dtype  # (torch.equal ignores dtypes)


def test_control_tokens_written_as_words_are_unknown_words(tmp_path):
    f = tmp_path / "pairs.txt"
    f.write_text(GOOD_PAIRS + "the <pad> token .\tle <pad> jeton .\n<eos> end .\t<bos> fin .\n", encoding="utf-8")
    data = load_translation(data=f, valid_frac=0.0, test_frac=0.0, min_freq=1)
    assert data.splits["train"][-2:] == [(["the", "<unk>", "token", "."], ["le", "<unk>", "jeton", "."]),
                                         (["<unk>", "end", "."], ["<unk>", "fin", "."])]
    src, src_len, tgt, _ = data.arrays("train")
    assert src[-1, 0].item() == data.src_vocab.unk and src_len[-2:].tolist() == [5, 4]
    assert tgt[-1, 0].item() == data.tgt_vocab.unk
    ids, n = encode_source("<eos> go", data.src_vocab, 10)
    assert ids[0] == data.src_vocab.unk and n == 3


def test_read_source_reads_a_word_in_the_vocabularys_unicode_form():
    # "désolé" typed decomposed (e + U+0301, as macOS gives it) was read as <unk> without a word
    import unicodedata

    from seqlab.data.translation import in_vocab_form, read_source

    composed = unicodedata.normalize("NFC", "je suis désolé .")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    vocab = Vocab([composed.split()], min_freq=1, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    line = read_source(decomposed, vocab, 8)
    assert line.ids == read_source(composed, vocab, 8).ids and line.unknown == []
    # and the other way round: a vocabulary in NFD, the sentence typed composed
    nfd_vocab = Vocab([decomposed.split()], min_freq=1, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    assert read_source(composed, nfd_vocab, 8).unknown == []
    assert in_vocab_form(["désolé", "zzz"], vocab) == ["désolé", "zzz"]
    # the d2l layer's predict_seq2seq reads the words as typed, as before
    assert encode_source(decomposed, vocab, 8)[0][2] == vocab.unk


def test_read_source_names_the_unknown_words():
    from seqlab.data.translation import read_source

    vocab = Vocab([["go", "."]], min_freq=1, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    line = read_source("Go xylophone <eos>.", vocab, 8)
    assert line.unknown == ["xylophone", "<eos>"] and line.length == 5
    assert (line.ids, line.length) == encode_source("Go xylophone <eos>.", vocab, 8)


def test_cut_counts_count_the_sides_build_array_nmt_cuts():
    from seqlab.data.translation_splits import cut_counts

    pairs = [(["a"] * n, ["b"] * m) for n, m in [(1, 1), (3, 1), (1, 3), (4, 4), (2, 2)]]
    # num_steps 3: a side of 3 or more tokens loses its <eos>
    counts = cut_counts(pairs, 3)
    assert (counts["pairs"], counts["source"], counts["target"], counts["either"]) == (5, 2, 2, 3)
    assert counts["fits_99"] == 5  # the longest side, 4 tokens, and its <eos>
    src, _ = build_array_nmt([p[0] for p in pairs], Vocab([["a"]], reserved_tokens=["<pad>", "<bos>", "<eos>"]), 3)
    eos = 3
    assert sum(eos not in row for row in src.tolist()) == counts["source"]


# --- the arrays against the plain pipeline they replace -------------------------------------------

def _reference_arrays(lines, vocab, num_steps):
    # build_array_nmt as it was: a vocab[...] call per line, then truncate or pad the row
    pad, eos = vocab["<pad>"], vocab["<eos>"]
    rows = [truncate_pad(vocab[list(line)] + [eos], num_steps, pad) for line in lines]
    valid = [min(len(line) + 1, num_steps) for line in lines]
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), num_steps), torch.tensor(valid, dtype=torch.int64)


def _reference_translation(path, num_steps, valid_frac, test_frac, seed, min_freq):
    # load_translation as it was: split_pairs copying every line, each source through in_vocab_form
    from seqlab.data.translation import in_vocab_form
    from seqlab.data.translation_splits import read_pairs

    source, target = read_pairs(path)
    groups = {}
    for i, src in enumerate(source):
        groups.setdefault(tuple(src), []).append(i)
    keys = list(groups)
    order = torch.randperm(len(keys), generator=torch.Generator().manual_seed(seed)).tolist()
    n_test, n_valid = round(len(keys) * test_frac), round(len(keys) * valid_frac)
    which = {keys[k]: "test" if r < n_test else "valid" if r < n_test + n_valid else "train"
             for r, k in enumerate(order)}
    splits = {"train": [], "valid": [], "test": []}
    for src, tgt in zip(source, target):
        splits[which[tuple(src)]].append((list(src), list(tgt)))
    train = splits["train"]
    src_vocab = Vocab([p[0] for p in train], min_freq=min_freq, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    tgt_vocab = Vocab([p[1] for p in train], min_freq=min_freq, reserved_tokens=["<pad>", "<bos>", "<eos>"])
    splits = {k: [(in_vocab_form(s, src_vocab), t) for s, t in v] for k, v in splits.items()}
    return splits, src_vocab, tgt_vocab


@pytest.mark.parametrize("num_steps", [2, 4, 6, 30])
def test_load_translation_and_arrays_equal_the_plain_pipeline(tmp_path, num_steps):
    # rare words (<unk> at min_freq 2), lines shorter than, as long as and longer than num_steps
    # (padding, truncation, a lost <eos>), a source with several translations, control tokens and
    # double spaces written in the file, a word typed in the other Unicode normal form
    import random
    import unicodedata

    rng = random.Random(num_steps)
    common = ["go", "run", "the", "cat", ".", "!", "?", ",", "désolé", "à"]
    lines = []
    for i in range(300):
        words = [rng.choice(common) if rng.random() < 0.8 else f"rare{i}_{j}" for j in range(rng.randint(1, 9))]
        french = [rng.choice(common) + "e" if rng.random() < 0.8 else f"rar{i}_{j}" for j in range(rng.randint(1, 9))]
        lines.append(" ".join(words) + "\t" + " ".join(french))
    lines += ["go .\tva !", "go .\tmarche .", "go .\ten route !", "the <pad>  cat .\tle <eos> chat .",
              unicodedata.normalize("NFD", "désolé !") + "\tpardon !"]
    path = tmp_path / "pairs.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = dict(valid_frac=0.2, test_frac=0.1, split_seed=3, min_freq=2)
    data = load_translation(data=path, num_steps=num_steps, **options)
    splits, src_vocab, tgt_vocab = _reference_translation(path, num_steps, 0.2, 0.1, 3, 2)
    assert data.splits == splits
    assert all(type(s) is list and type(t) is list for pairs in data.splits.values() for s, t in pairs)
    for ours, theirs in ((data.src_vocab, src_vocab), (data.tgt_vocab, tgt_vocab)):
        assert ours.idx_to_token == theirs.idx_to_token and ours.token_freqs == theirs.token_freqs
    for split in ("train", "valid", "test"):
        got = data.arrays(split)
        expected = (*_reference_arrays([p[0] for p in splits[split]], src_vocab, num_steps),
                    *_reference_arrays([p[1] for p in splits[split]], tgt_vocab, num_steps))
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype == torch.int64 and a.shape == b.shape and torch.equal(a, b)
    src, _, tgt, _ = data.arrays("train")
    assert (src == 0).any() and (tgt == 0).any()  # <unk>: the rare words, seen once
    assert ((src == 1).any() and (tgt == 1).any()) == (num_steps > 2)  # <pad>, after a line of a word


def test_build_array_nmt_equals_the_plain_code_on_edge_lines():
    from itertools import product

    vocab = Vocab([["a", "b", "c"]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    lines = [[], ["a"], ("a", "b"), ["zzz", "a", "q"], ["<pad>", "<eos>"]] + [list(w) for w in product("abx", repeat=4)]
    for num_steps in (1, 2, 3, 4, 5, 9):
        for got, expected in zip(build_array_nmt(lines, vocab, num_steps), _reference_arrays(lines, vocab, num_steps)):
            assert got.dtype == expected.dtype and torch.equal(got, expected)
    for got, expected in zip(build_array_nmt([], vocab, 3), _reference_arrays([], vocab, 3)):
        assert got.shape == expected.shape and got.dtype == expected.dtype


def test_split_pairs_and_sources_in_vocab_form_give_lists():
    from seqlab.data.translation_splits import sources_in_vocab_form

    source = [("a", "b"), ["c"], ("a", "b")]
    target = [["x"], ("y",), ["z"]]
    split = split_pairs(source, target, 0.0, 0.0)
    assert split["train"] == [(["a", "b"], ["x"]), (["c"], ["y"]), (["a", "b"], ["z"])]
    assert split["train"][1][0] is source[1] and split["train"][0][1] is target[0]  # lists kept, not copied
    vocab = Vocab([["a", "b"]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    read = sources_in_vocab_form([(("a", "b"), ("x",)), (["a", "q"], ["y"])], vocab)
    assert read == [(["a", "b"], ("x",)), (["a", "q"], ["y"])] and type(read[0][0]) is list  # sources as lists
