"""Labelled text for classification: reading CSV/TSV files, splitting, encoding, padded batches, the
errors (each a SeqlabError naming what to fix), and a model that padding does not change."""

import numpy as np
import pytest
import torch

from seqlab import SeqlabError
from seqlab.data.labelled_rows import read_rows
from seqlab.data.labelled_text import (PAD, EncodedTexts, encode, heldout_rows, label_order, load_labelled_text,
                                       split_files, text_tokens)
from seqlab.data.vocab import Vocab
from seqlab.models.classifier import TextClassifier


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_quoting_extra_columns_blank_lines_and_line_numbers(tmp_path):
    f = write(tmp_path / "d.csv", 'id,text,label\r\n1,"great, really",pos\r\n\r\n2,"a ""fine""\nday", neg \r\n'
                                  '3,plain words,pos\n')
    rows = read_rows(f)
    assert rows.labels == ["pos", "neg", "pos"]  # stripped
    assert rows.texts == ["great, really", 'a "fine"\nday', "plain words"]
    assert rows.lines == [2, 4, 6]  # the line each row starts on; the blank line 3 skipped


def test_tsv_reads_csv_quoting_as_pandas_writes_it_and_txt_reads_quotes_as_they_are(tmp_path):
    # pandas' df.to_csv("x.tsv", sep="\t") quotes a field holding a quote, a tab or a line break,
    # doubling its inner quotes; a quote later in a field is an ordinary character
    tsv = write(tmp_path / "d.tsv", 'label\ttext\npos\t"He said ""great""\tand left"\nneg\t"two\nlines"\n'
                                    'pos\tit\'s 5" wide, "ok"\n')
    rows = read_rows(tsv)
    assert rows.texts == ['He said "great"\tand left', "two\nlines", 'it\'s 5" wide, "ok"']
    assert rows.labels == ["pos", "neg", "pos"] and rows.lines == [2, 3, 5]
    txt = read_rows(write(tmp_path / "d.txt", 'label\ttext\nyes\t"quoted" words, commas\nno\t"x""\n'))
    assert txt.texts == ['"quoted" words, commas', '"x""'] and txt.labels == ["yes", "no"]
    with pytest.raises(SeqlabError, match=r"line 3: text after the closing quote .*save the file tab-separated as "
                                          r"\.txt"):
        read_rows(write(tmp_path / "e.tsv", 'label\ttext\nyes\tfine\nno\t"quoted" words\n'))


def test_other_column_names(tmp_path):
    f = write(tmp_path / "d.csv", "sentiment,review\n1,nice\n0,awful\n")
    rows = read_rows(f, label_column="sentiment", text_column="review")
    assert rows.labels == ["1", "0"] and rows.texts == ["nice", "awful"]


@pytest.mark.parametrize("content, name, match", [
    ("label,body\na,b\n", "d.csv",
     r"no column 'text' \(its columns: 'label', 'body'\): name the column with --text-column"),
    ("sentiment,text\na,b\n", "d.csv", r"no column 'label' .*--label-column"),
    ("label\ttext\na\tb\n", "d.csv", "is the file tab-separated"),
    ("label;text\na;b\n", "d.csv",
     r"is the file semicolon-separated\? save it with commas \(\.csv\) or tabs \(\.tsv\)"),
    ('label,text\na,b\nb,"open\nc,d\nd,e\n', "d.csv", "line 3: a quoted field opened here is never closed"),
    ('label\ttext\na\tb\n\nb\t"open\nc\td\n', "d.tsv", "line 4: a quoted field opened here is never closed.*\\.txt"),
    ("label,text\na,b,c\n", "d.csv", r"line 2 has 3 fields where the header has 2 \(an unquoted comma"),
    ("label\ttext\na\tb\tc\n", "d.tsv", "line 2 has 3 fields .*an unquoted tab in a text[?] write such texts in "
                                       "double quotes"),
    ("label\ttext\na\tb\tc\n", "d.txt", "line 2 has 3 fields .*a tab inside a text[?] replace it with a space"),
    ("label,text\na,ok\nb,   \n", "d.csv", r"line 3: empty text"),
    ("label,text\n,ok\n", "d.csv", "line 2: empty label"),
    ("label,text,text\na,b,c\n", "d.csv", "2 columns named 'text'"),
    ("label,text\n", "d.csv", "no rows"),
    ("label,text\na,b\n", "d.json", r"must be \.csv .* or \.tsv/\.txt"),
])
def test_bad_files_name_what_to_fix(tmp_path, content, name, match):
    with pytest.raises(SeqlabError, match=match):
        read_rows(write(tmp_path / name, content))


def test_not_utf8_is_refused_by_the_text_readers_checks(tmp_path):
    with pytest.raises(SeqlabError, match="not UTF-8"):
        read_rows(write(tmp_path / "d.csv", "label,text\npos,caf\u00e9\n", encoding="latin-1"))
    with pytest.raises(SeqlabError, match="UTF-16"):
        read_rows(write(tmp_path / "e.csv", "label,text\npos,cafe\n", encoding="utf-16"))


def test_heldout_rows_are_a_fixed_tenth_of_each_label_in_file_order():
    labels = ["a"] * 120 + ["b"] * 80  # sorted by label
    train, valid = heldout_rows(labels)
    assert len(valid) == 20 and len(train) == 180
    assert sorted(np.concatenate([train, valid]).tolist()) == list(range(200))
    assert (np.diff(valid) > 0).all() and (np.diff(train) > 0).all()  # each split in file order
    held = [labels[i] for i in valid]
    assert held.count("a") == 12 and held.count("b") == 8  # in proportion
    assert min(i for i in valid if i < 120) < 60 < max(i for i in valid if i < 120)  # spread over each label's rows
    again = heldout_rows(labels)
    assert np.array_equal(again[1], valid)  # the same rows every time (not the run's seed)
    assert len(heldout_rows(labels, 0.25)[1]) == 50
    assert len(heldout_rows(["a", "a"])[1]) == 1 and len(heldout_rows(["a"] * 7 + ["b"] * 7)[1]) == 2
    assert heldout_rows(["x", "a", "a", "y"])[1].tolist() in ([1], [2])  # a small file: one row of its commonest label
    with pytest.raises(SeqlabError, match="every label has one row"):
        heldout_rows(["a", "b"])
    for bad in (0.0, 1.0, 1.5, -0.1, float("nan")):
        with pytest.raises(SeqlabError, match="valid_fraction must be between 0 and 1"):
            heldout_rows(labels, bad)


def test_a_file_sorted_by_label_gets_both_labels_in_each_split(tmp_path):
    lines = ["label,text"] + [f"neg,bad {i}" for i in range(50)] + [f"pos,good {i}" for i in range(50)]
    data = load_labelled_text(write(tmp_path / "sorted.csv", "\n".join(lines)), min_freq=1)
    assert data.classes == ["neg", "pos"]
    assert set(data.valid.labels.tolist()) == {0, 1} and len(data.valid) == 10 and data.test is None


def test_vocabulary_from_the_training_split_lower_cased_labels_sorted(tmp_path):
    folder = tmp_path / "splits"
    folder.mkdir()
    write(folder / "train.csv", "label,text\nz,Good GOOD film\na,bad film\nz,good\n")
    write(folder / "valid.tsv", "label\ttext\na\tunseen film\n")
    write(folder / "test.txt", "label\ttext\nz\tgood good good good good\n")
    assert set(split_files(folder)) == {"train", "valid", "test"}
    data = load_labelled_text(folder, min_freq=1, max_len=3)
    assert data.classes == ["a", "z"]  # sorted label strings
    assert data.vocab.idx_to_token[:2] == ["<unk>", PAD]
    assert set(data.vocab.idx_to_token[2:]) == {"good", "film", "bad"}  # lower-cased; training words only
    valid_tokens = data.vocab.to_tokens(data.valid.ids.tolist())
    assert valid_tokens == ["<unk>", "film"] and data.valid.labels.tolist() == [0]
    assert data.test.lengths.tolist() == [3] and data.test.cut == 1 and data.train.cut == 0  # max_len 3
    assert data.source["files"].keys() == {"train.csv", "valid.tsv", "test.txt"}
    cased = load_labelled_text(folder, min_freq=1, lowercase=False)
    assert {"Good", "GOOD", "good"} <= set(cased.vocab.idx_to_token)
    chars = load_labelled_text(folder, level="char", min_freq=1)
    assert chars.train.lengths.tolist() == [len("good good film"), len("bad film"), len("good")]
    rare = load_labelled_text(folder, min_freq=2)  # 'bad' once: <unk>
    assert "bad" not in rare.vocab and "good" in rare.vocab


def test_a_runs_folder_is_found_again_by_its_own_split_files(tmp_path, monkeypatch):
    # user_files.run_data_file with labelled text's split files (.csv/.tsv/.txt), as evaluate reads a run's
    from seqlab.data.user_files import run_data_file

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    write(folder / "train.csv", "label,text\npos,good\nneg,bad\n")
    write(folder / "valid.tsv", "label\ttext\npos\tgood\n")
    write(folder / "test.txt", "label\ttext\nneg\tbad\n")
    kept = load_labelled_text("mine", min_freq=1).source
    assert run_data_file("mine", kept, None, split_files) == str(folder.resolve())
    (tmp_path / "project").mkdir()
    folder.rename(tmp_path / "project" / "mine")  # moved: the path as typed, from the run's folder's parent
    assert run_data_file("mine", kept, tmp_path / "project" / "run", split_files) == str(tmp_path / "project" / "mine")
    (tmp_path / "project" / "mine").rename(folder)
    write(folder / "test.txt", "label\ttext\nneg\tbad bad\n")
    with pytest.raises(SeqlabError, match=r"has changed since the run was trained \(test.txt differs\)"):
        run_data_file("mine", kept, None, split_files)
    write(folder / "test.txt", "label\ttext\nneg\tbad\n")
    write(folder / "train.tsv", "label\ttext\npos\tgood\n")
    with pytest.raises(SeqlabError, match=r"holds train.csv and train.tsv: keep one train file\)"):
        run_data_file("mine", kept, None, split_files)
    folder.rename(tmp_path / "gone")
    with pytest.raises(SeqlabError, match="the run's text folder of splits .* is not there any more"):
        run_data_file("mine", kept, None, split_files)


@pytest.mark.parametrize("files, match", [
    ({"train.csv": "label,text\npos,a\nneg,b\n", "valid.csv": "label,text\nmeh,c\n"},
     r"label 'meh' \(.*valid.csv' line 2, valid split\) is not among the training split's labels \('neg', 'pos'\)"),
    ({"train.csv": "label,text\npos,a\nneg,b\n", "valid.csv": "label,text\npos,c\n", "test.csv": "label,text\nx,y\n"},
     r"label 'x' .*test split"),
    ({"train.csv": "label,text\npos,a\npos,b\n", "valid.csv": "label,text\npos,c\n"}, r"one label only \('pos'\)"),
    ({"train.csv": "label,text\npos,a\n"}, "without valid files"),
    ({"train.csv": "label,text\npos,a\n", "train.tsv": "", "valid.csv": "label,text\npos,c\n"},
     "holds train.csv and train.tsv: keep one train file"),
])
def test_split_errors_name_the_label_or_file(tmp_path, files, match):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(SeqlabError, match=match):
        load_labelled_text(tmp_path, min_freq=1)


def test_the_holdout_is_stratified_so_rare_labels_train(tmp_path):
    # 18 labels: four rare ones (1, 2, 3 and 8 rows) beside 14 of 10 to 36 rows, shuffled. An
    # unstratified 10% could hold out a rare label's only rows (training then refused) or none of a label
    import random

    rng = random.Random(0)
    sizes = {f"l{k}": n for k, n in enumerate([1, 2, 3, 8] + list(range(10, 38, 2)))}
    rows = [(label, f"word{k} {label} filler") for label, n in sizes.items() for k in range(n)]
    rng.shuffle(rows)
    f = write(tmp_path / "d.csv", "label,text\n" + "".join(f"{a},{b}\n" for a, b in rows))
    data = load_labelled_text(f, min_freq=1)
    assert len(data.classes) == 18
    train = [data.classes[i] for i in data.train.labels.tolist()]
    valid = [data.classes[i] for i in data.valid.labels.tolist()]
    assert set(valid) <= set(train) and set(train) == set(sizes)
    for label, n in sizes.items():
        if n >= 10:
            assert valid.count(label) == round(0.1 * n), label
    assert valid.count("l3") == 1  # 8 rows: round(0.8)
    assert "3 of the 18 labels have too few rows to hold any out ('l0' 1, 'l1' 2, 'l2' 3 rows)" in data.heldout
    assert len(load_labelled_text(f, min_freq=1, valid_fraction=0.5).valid) == sum(min(round(n / 2), n - 1)
                                                                                  for n in sizes.values())


def test_integer_labels_are_ordered_numerically():
    assert label_order(["10", "2", "1", "9"]) == ["1", "2", "9", "10"]
    assert label_order(["-1", "+1", "0"]) == ["-1", "0", "+1"]
    assert label_order(["10", "2", "two"]) == ["10", "2", "two"]  # not all integers: sorted strings
    assert label_order(["1.5", "10"]) == ["1.5", "10"]


def test_word_tokens_split_punctuation_marks_off_unless_told_not_to():
    texts = ["Great!", "great.  Don't (café), naïve—really?"]
    assert text_tokens(texts, "word") == [["great", "!"], ["great", ".", "don", "'", "t", "(", "café", ")", ",",
                                                             "naïve", "—", "really", "?"]]
    assert text_tokens(texts, "word", split_punct=False) == [["great!"],
                                                             ["great.", "don't", "(café),", "naïve—really?"]]
    assert text_tokens(["Ab!"], "char") == [["a", "b", "!"]] == text_tokens(["Ab!"], "char", split_punct=False)


def test_a_vocabulary_option_that_keeps_no_word_is_refused(tmp_path):
    f = write(tmp_path / "d.csv", "label,text\n" + "".join(f"{i % 2},w{i}\n" for i in range(20)))
    with pytest.raises(SeqlabError, match="leave no word .*--min-freq"):
        load_labelled_text(f, min_freq=2)


def test_padded_batches():
    vocab = Vocab([["a", "b", "c"]], reserved_tokens=[PAD])
    texts = encode([["a", "b", "c"], ["b"], ["c", "a"]], [0, 1, 0], vocab, max_len=10)
    assert texts.offsets.tolist() == [0, 3, 4, 6] and texts.lengths.tolist() == [3, 1, 2]
    tokens, lengths = texts.padded(torch.tensor([1, 2]), pad_id=1)
    assert tokens.tolist() == [vocab[["b", PAD]], vocab[["c", "a"]]] and lengths.tolist() == [1, 2]
    tokens, _ = texts.padded(torch.tensor([2, 0]), pad_id=1)
    assert tokens.tolist() == [vocab[["c", "a", PAD]], vocab[["a", "b", "c"]]]
    assert isinstance(texts, EncodedTexts) and len(texts) == 3


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", True), ("lstm", True)])
def test_padding_does_not_change_a_texts_logits(cell, bidirectional):
    # the same text alone, and padded beside a longer one (first or second in the batch): the
    # classified state is the one after its own last token, whatever follows
    torch.manual_seed(0)
    net = TextClassifier(20, 3, embed=8, hidden=12, layers=2, cell=cell, bidirectional=bidirectional).eval()
    short, long = torch.tensor([4, 5, 6]), torch.tensor([7, 8, 9, 10, 11, 12, 13, 14])
    alone = net(short[None], torch.tensor([3]))
    batch = torch.full((2, 8), 1)
    batch[0, :3], batch[1] = short, long
    together = net(batch, torch.tensor([3, 8]))
    torch.testing.assert_close(together[0], alone[0], atol=1e-6, rtol=1e-5)
    flipped = net(batch.flip(0), torch.tensor([8, 3]))
    torch.testing.assert_close(flipped[1], alone[0], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(flipped[0], net(long[None], torch.tensor([8]))[0], atol=1e-6, rtol=1e-5)
    # reading the padded row to its end (what an unpacked recurrence does) gives other logits
    padded_to_the_end = net(batch[:1], torch.tensor([8]))
    assert not torch.allclose(padded_to_the_end, alone, atol=1e-4)


def test_model_shapes_and_bad_options():
    net = TextClassifier(30, 4, embed=6, hidden=5, layers=1, bidirectional=True)
    assert net(torch.randint(0, 30, (3, 7)), torch.tensor([7, 2, 5])).shape == (3, 4)
    tokens = torch.randint(0, 30, (3, 7))  # lengths left out: no padding, every text 7 tokens long
    torch.testing.assert_close(net(tokens), net(tokens, torch.tensor([7, 7, 7])))
    assert net.fc.in_features == 10
    with pytest.raises(SeqlabError, match="use lstm or gru"):
        TextClassifier(30, 4, cell="rnn")
    with pytest.raises(SeqlabError, match="must be positive"):
        TextClassifier(30, 4, embed=0)
    with pytest.raises(SeqlabError, match="dropout"):
        TextClassifier(30, 4, dropout=1.0)
