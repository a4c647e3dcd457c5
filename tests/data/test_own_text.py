"""A user's own text as a language-model corpus: <unk> shares, text written without spaces, and a
--data folder of train/valid/test files."""

import collections
from pathlib import Path

import pytest

from seqlab.data import user_files
from seqlab.data.corpora import EOS, load_lm_corpus
from seqlab.data.stats import describe
from seqlab.data.text import unsegmented_note
from seqlab.errors import SeqlabError

ZH = "学而时习之，不亦说乎？有朋自远方来，不亦乐乎？\n温故而知新，可以为师矣。三人行，必有我师焉。\n"
EN = "the time traveller for so it will be convenient to speak of him was expounding a recondite matter\n"


def _share(words, of):
    targets = words[1:]
    return sum(w in of for w in targets) / len(targets)


def test_unk_rate_is_the_share_of_unk_targets_of_each_split(tmp_path):
    # 45 lines "a b c d" then 5 lines "a x y z", the held-out 10%: the vocabulary (from training) has
    # no x, y, z; with max_size 2 it keeps the two most frequent words (a, then b by first sight)
    path = tmp_path / "t.txt"
    path.write_text("a b c d\n" * 45 + "a x y z\n" * 5)
    lm = load_lm_corpus(data=path, level="word", max_size=2)
    words = ("a b c d <eos> " * 45 + "a x y z <eos> " * 5).split()
    train, valid = words[:-25], words[-25:]
    assert len(lm.valid) == 25
    assert lm.vocab.idx_to_token[:4] == ["<unk>", EOS, "a", "b"] and len(lm.vocab) == 4
    assert lm.unk_rate("train") == pytest.approx(_share(train, {"c", "d"}))
    assert lm.unk_rate("valid") == pytest.approx(_share(valid, {"c", "d", "x", "y", "z"}))
    assert lm.oov_rate("valid") == lm.unk_rate("valid")  # none is written "<unk>" in the text
    full = load_lm_corpus(data=path, level="word")  # no cap: training has no <unk>
    assert full.unk_rate("train") == 0 and full.unk_rate("valid") == pytest.approx(_share(valid, {"x", "y", "z"}))


def test_a_word_written_unk_in_the_text_is_unk_but_not_out_of_vocabulary(tmp_path):
    # PTB and WikiText-2 write <unk> for their rare words: the stream holds them (unk_rate), the
    # warning about the vocabulary only counts the words it lacks (oov_rate)
    path = tmp_path / "t.txt"
    path.write_text("a <unk> b\n" * 45 + "a <unk> q\n" * 5)
    lm = load_lm_corpus(data=path, level="word")
    words = ("a <unk> b <eos> " * 45 + "a <unk> q <eos> " * 5).split()
    valid = words[-round(len(words) * 0.1):]
    assert lm.unk_rate("valid") == pytest.approx(_share(valid, {"<unk>", "q"}))
    assert lm.oov_rate("valid") == pytest.approx(_share(valid, {"q"}))
    assert lm.written_unk["train"] > 0 and lm.unk_rate("train") > 0


def test_registered_word_corpora_report_the_unk_their_text_holds(data_dir):
    lm = load_lm_corpus("ptb", level="word")
    for split in ("train", "valid", "test"):
        words = (data_dir / "ptb" / f"{split}.txt").read_text(encoding="utf-8").replace("\n", f" {EOS} ").split()
        assert lm.unk_rate(split) == pytest.approx(_share(words, {"<unk>"}), abs=1e-12)
        assert lm.oov_rate(split) == pytest.approx(0, abs=1e-12)  # PTB's vocabulary is its 10k words
    assert round(lm.unk_rate("valid"), 4) == 0.0472 and round(lm.unk_rate("test"), 4) == 0.0582
    assert (len(lm.train), len(lm.valid), len(lm.test), len(lm.vocab)) == (929589, 73760, 82430, 10000)


@pytest.mark.parametrize("text, warned", [
    (ZH * 3, True),                                        # lines of Chinese: each line one "word"
    ("学而 时 习 之 ， 不 亦 说 乎 ？\n" * 5, False),       # segmented (jieba-style): short words
    ("床前明月光\n疑是地上霜\n" * 5, True),                   # five-character lines: short, but Chinese
    (EN * 3, False),
    ("Donaudampfschifffahrtsgesellschaft und der Kapitän\n" * 3, False),  # one long German word
    ("x" * 200 + "\n", True),                              # one 200-character "word"
])
def test_text_without_spaces_is_noticed_by_a_simple_rule(text, warned):
    note = unsegmented_note(collections.Counter(text.split()).items())
    assert (note is not None) == warned
    if warned:
        assert "--level char" in note and "average" in note


def test_unsegmented_note_leaves_out_line_ends_and_characters(tmp_path):
    path = tmp_path / "zh.txt"
    path.write_text(ZH * 10)
    word = load_lm_corpus(data=path, level="word")
    assert "18 words (mostly Chinese/Japanese characters) average 22.5 characters" in \
        unsegmented_note(word.vocab.token_freqs, skip=(EOS,))
    char = load_lm_corpus(data=path, level="char")
    assert unsegmented_note(char.vocab.token_freqs) is None  # characters are one character long


def test_describe_warns_about_text_without_spaces(capsys, tmp_path):
    out = describe(ZH.split() * 4)
    assert "--level char" in out["warning"] and capsys.readouterr().err == ""  # the library says it, prints nothing
    assert describe(EN.split() * 4)["warning"] is None and describe(list(ZH))["warning"] is None
    from seqlab.cli import main

    text = tmp_path / "zh.txt"
    text.write_text(ZH * 4, encoding="utf-8")
    assert main(["stats", "--data", str(text), "--level", "word"]) == 0  # the command line shows it on stderr
    assert capsys.readouterr().err.startswith("seqlab: warning: this text looks written without spaces")


def _splits(folder, test=True, **texts):
    folder.mkdir()
    texts = {"train": "a b c d e\n" * 30, "valid": "a b x\n" * 5, **({"test": "e d y y\n" * 5} if test else {}),
             **texts}
    for split, text in texts.items():
        (folder / f"{split}.txt").write_text(text)
    return folder


def test_a_folder_of_splits_is_read_as_its_three_files(tmp_path):
    folder = _splits(tmp_path / "mine")
    lm = load_lm_corpus(data=folder, level="word")
    assert lm.name == "mine" and lm.vocab.idx_to_token[:2] == ["<unk>", EOS]
    assert sorted(lm.vocab.idx_to_token[2:]) == ["a", "b", "c", "d", "e"]  # from train.txt only
    assert lm.vocab.to_tokens(lm.valid[:4].tolist()) == ["a", "b", "<unk>", EOS]
    assert (len(lm.train), len(lm.valid), len(lm.test)) == (30 * 6, 5 * 4, 5 * 5)
    assert lm.unk_rate("train") == 0 and lm.unk_rate("test") == pytest.approx(10 / 24)
    assert lm.source["path"] == str(folder.resolve())
    assert set(lm.source["files"]) == {"train.txt", "valid.txt", "test.txt"}
    assert lm.source["files"]["valid.txt"] == user_files.sha256_of(folder / "valid.txt")
    assert len(load_lm_corpus(data=folder, level="word", max_tokens=7).train) == 7
    # without test.txt: no test split (evaluate then scores valid)
    no_test = load_lm_corpus(data=_splits(tmp_path / "two", test=False), level="char")
    assert no_test.test is None and set(no_test.source["files"]) == {"train.txt", "valid.txt"}


def test_a_folder_without_its_split_files_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SeqlabError, match="'.*empty' is a folder without train.txt and valid.txt: --data takes"):
        load_lm_corpus(data=tmp_path / "empty", level="char")
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "train.txt").write_text("some text\n")
    (folder / "notes.txt").write_text("other\n")
    with pytest.raises(SeqlabError, match="without valid.txt: .*; it holds notes.txt, train.txt$"):
        load_lm_corpus(data=folder, level="char")
    with pytest.raises(SeqlabError, match="valid.txt' holds 1 char token"):
        load_lm_corpus(data=_splits(tmp_path / "short", valid="a"), level="char")
    (folder / "valid.txt").mkdir()  # a folder where a split file should be is named as such
    with pytest.raises(SeqlabError, match=r"one/valid.txt' is a folder, not a text file: a --data folder holds"):
        load_lm_corpus(data=folder, level="char")


def test_a_folder_of_another_layouts_split_files_is_told_what_they_need_to_be_named(tmp_path):
    # WikiText's own archive (wiki.train.tokens, ...), a subfolder beside: what the folder holds, and the
    # name each split file needs
    folder = tmp_path / "wikitext-2"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        (folder / f"wiki.{split}.tokens").write_text(" = Valkyria Chronicles = \n")
    (folder / "latest").mkdir()  # (a folder, and "test" only inside a word: no name suggested for it)
    with pytest.raises(SeqlabError, match=r"without train.txt and valid.txt: --data takes .*; it holds latest/, "
                                          r"wiki.test.tokens, wiki.train.tokens, wiki.valid.tokens: rename \(or link\) "
                                          r"wiki.train.tokens to train.txt, wiki.valid.tokens to valid.txt, "
                                          r"wiki.test.tokens to test.txt$"):
        load_lm_corpus(data=folder, level="word")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SeqlabError, match=r"optionally test.txt \(pytorch/examples' layout\); it is empty$"):
        load_lm_corpus(data=tmp_path / "empty", level="word")


def test_a_folder_of_hugging_face_or_mikolov_char_split_names_is_told_the_names_it_needs(tmp_path):
    # Hugging Face's validation.txt (or val.txt, dev.txt) got no name suggested; Mikolov's char files did
    hf = tmp_path / "hf"
    hf.mkdir()
    for name in ("train.txt", "validation.txt", "test.txt"):
        (hf / name).write_text("some text\n")
    with pytest.raises(SeqlabError, match=r"'.*hf' is a folder without valid.txt: --data takes .*; it holds test.txt, "
                                          r"train.txt, validation.txt: rename \(or link\) validation.txt to valid.txt$"):
        load_lm_corpus(data=hf, level="char")
    (hf / "validation.txt").rename(hf / "dev.txt")
    (hf / "eval.txt").write_text("x\n")  # ("val" inside a word: not the valid split)
    with pytest.raises(SeqlabError, match=r"rename \(or link\) dev.txt to valid.txt$"):
        load_lm_corpus(data=hf, level="char")
    chars = tmp_path / "ptb-char"
    chars.mkdir()
    for split in ("train", "valid", "test"):
        (chars / f"ptb.char.{split}.txt").write_text("a e r _ b a n k n o t e\n")
    with pytest.raises(SeqlabError, match=r"rename \(or link\) ptb.char.train.txt to train.txt, ptb.char.valid.txt to "
                                          r"valid.txt, ptb.char.test.txt to test.txt \(their characters stand apart, "
                                          r"'_' for a space: read them with --level word\)$"):
        load_lm_corpus(data=chars, level="word")


def test_run_data_file_finds_a_moved_folder_of_splits_and_refuses_an_edited_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = _splits(tmp_path / "mine")
    kept = load_lm_corpus(data="mine", level="word").source
    assert user_files.run_data_file("mine", kept) == str(folder.resolve())
    (tmp_path / "project").mkdir()
    folder.rename(tmp_path / "project" / "mine")  # moved: the path as typed, from the run's folder's parent
    assert user_files.run_data_file("mine", kept, tmp_path / "project" / "run") == str(tmp_path / "project" / "mine")
    (tmp_path / "project" / "mine").rename(folder)
    with open(folder / "test.txt", "a") as fh:
        fh.write("more\n")
    with pytest.raises(SeqlabError, match=r"has changed since the run was trained \(test.txt differs\)"):
        user_files.run_data_file("mine", kept)
    (folder / "test.txt").unlink()
    with pytest.raises(SeqlabError, match=r"\(test.txt is missing\)"):
        user_files.run_data_file("mine", kept)
    folder.rename(tmp_path / "gone")
    with pytest.raises(SeqlabError, match="the run's text folder of splits .* is not there any more"):
        user_files.run_data_file("mine", kept)
    assert user_files.same_data(kept, {"path": "x", "sha256": "0"}) == "it was a folder of splits, now a text file"


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_a_run_folder_named_as_its_moved_data_is_not_taken_for_the_data(tmp_path, monkeypatch, kind):
    # --data d4 --out runs/d4, then d4 moved away: runs/ + d4 (the path as typed, from the run folder's
    # parent) is the run folder itself, which was blamed as the data "changed since the run was trained"
    monkeypatch.chdir(tmp_path)
    if kind == "folder":
        _splits(tmp_path / "d4")
        kept = user_files.file_fingerprint("d4", ["train.txt", "valid.txt", "test.txt"])
    else:
        (tmp_path / "d4").write_text(EN * 20)
        kept = user_files.file_fingerprint("d4")
    run = tmp_path / "runs" / "d4"
    run.mkdir(parents=True)
    (run / "best.safetensors").write_bytes(b"")
    (tmp_path / "d4").rename(tmp_path / "elsewhere")
    for folder in (run, "runs/d4", "runs/d4/."):
        with pytest.raises(SeqlabError, match=f"the run's text {kind} .*'{tmp_path / 'd4'}' \\(its --data d4\\) "
                                              "is not there any more"):
            user_files.run_data_file("d4", kept, folder)
    # --data . --out run inside it, the folder moved: run/. is the run folder again, its parent the data
    (tmp_path / "elsewhere").rename(tmp_path / "d4")
    if kind == "folder":
        monkeypatch.chdir(tmp_path / "d4")
        dot = user_files.file_fingerprint(".", ["train.txt", "valid.txt", "test.txt"])
        (tmp_path / "d4" / "run").mkdir()
        monkeypatch.chdir(tmp_path)
        (tmp_path / "d4").rename(tmp_path / "moved")
        assert user_files.run_data_file(".", dot, tmp_path / "moved" / "run") == str(tmp_path / "moved")


def test_a_run_written_into_its_own_data_folder_still_finds_it(tmp_path, monkeypatch):
    # --data same --out same: the folder is the run's and its data; the guard against taking the run
    # folder for moved data refused even the recorded path ("not there any more", though it was)
    monkeypatch.chdir(tmp_path)
    _splits(tmp_path / "same")
    kept = user_files.file_fingerprint("same", ["train.txt", "valid.txt", "test.txt"])
    (tmp_path / "same" / "best.safetensors").write_bytes(b"")
    assert user_files.run_data_file("same", kept, tmp_path / "same") == str(tmp_path / "same")
    assert user_files.run_data_file("same", kept, "same") == str(tmp_path / "same")


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_relative_data_path_typed_on_windows_is_found_here(tmp_path, monkeypatch, kind):
    # a run trained on Windows with --data data\corpus.txt, evaluated here: 'data\corpus.txt' is one odd
    # file name on Linux and macOS, so the data was "not there any more"
    project = tmp_path / "project"
    data = project / "data" / "corpus"
    data.parent.mkdir(parents=True)
    if kind == "folder":
        kept = dict(user_files.file_fingerprint(_splits(data), ["train.txt", "valid.txt", "test.txt"]))
    else:
        data.write_text(EN * 20)
        kept = dict(user_files.file_fingerprint(data))
    kept["path"] = r"C:\Users\me\project\data\corpus"  # where the Windows run had it
    monkeypatch.chdir(project)
    assert user_files.run_data_file(r"data\corpus", kept) == str(Path("data") / "corpus")
    monkeypatch.chdir(tmp_path)  # from elsewhere: the path as typed, from the run folder's parent
    assert user_files.run_data_file(r"data\corpus", kept, project / "run") == str(data)
    with pytest.raises(SeqlabError, match="is not there any more"):
        user_files.run_data_file(r"other\corpus", kept, project / "run")
    if kind == "file":
        data.write_text(EN * 21)
        with pytest.raises(SeqlabError, match=r"'.*corpus' has changed since the run was trained"):
            user_files.run_data_file(r"data\corpus", kept, project / "run")
