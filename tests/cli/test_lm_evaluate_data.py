"""`seqlab evaluate --data FILE` for language models: a text file scored as the run's training text
was read (level, line ends, the Time Machine's cleaning) with the run's vocabulary; its figures are
the held-out split's when it holds the same text. And a --data folder given as '.'."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.cli import main
from seqlab.data import token_ids
from seqlab.data.corpora import load_lm_corpus
from seqlab.data.vocab import Vocab
from seqlab.training.lm_data import pair_file_note

EN = "the cat sat on the mat and the dog ran to the cat\n"
CHAR_TEXT = "the time traveller for so it will be convenient to speak of him\n" * 8  # 512 characters


def _train(data, out, *extra, level):
    return main(["train", "lm", "--data", str(data), "--level", level, "--cell", "gru", "--impl", "fused",
                 "--embed", "8", "--hidden", "8", "--batch-size", "2", "--num-steps", "5", "--epochs", "1",
                 "--lr", "0.01", "--optimizer", "adam", "--device", "cpu", "--seed", "0", "--out", str(out), *extra])


def _evaluate(capsys, run, *extra) -> tuple[dict, str]:
    assert main(["evaluate", "--checkpoint", str(run), *extra]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def _one_line_error(capsys, message):
    err = capsys.readouterr().err
    assert err.startswith("seqlab: error: ") and message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def _figures(result: dict) -> dict:
    return {k: result[k] for k in ("ppl", "loss", "tokens", "unk_rate", "epoch", "checkpoint")}


@pytest.fixture(scope="module")
def word_run(tmp_path_factory, one_thread):
    """A word model of a folder of splits; valid.txt has Windows line ends, no final newline and three
    words training never saw (emu, ate, fig)."""
    root = tmp_path_factory.mktemp("word")
    (root / "mine").mkdir()
    (root / "mine" / "train.txt").write_text(EN * 40)
    (root / "mine" / "valid.txt").write_bytes(b"the cat ran to the dog\r\n" * 6 + b"the emu ate the fig")
    (root / "mine" / "test.txt").write_text("the dog sat on a mat\n" * 6)
    assert _train(root / "mine", root / "run", level="word") == 0
    return root


@pytest.fixture(scope="module")
def char_run(tmp_path_factory, one_thread):
    """A char model of one text file, whose last 10% of characters (51) is the held-out split."""
    root = tmp_path_factory.mktemp("char")
    (root / "tiny.txt").write_text(CHAR_TEXT)
    assert _train(root / "tiny.txt", root / "run", level="char") == 0
    return root


def test_a_word_file_scores_as_the_split_holding_the_same_text(word_run, capsys):
    run, folder = word_run / "run", word_run / "mine"
    for extra in ([], ["--batch-size", "3"]):  # the run's eval batch (10), and another
        split, split_err = _evaluate(capsys, run, "--split", "valid", *extra)
        data, data_err = _evaluate(capsys, run, "--data", str(folder / "valid.txt"), *extra)
        assert split["split"] == "valid" and data["split"] == "data" and data["data"] == str(folder / "valid.txt")
        assert _figures(data) == _figures(split)
    # 6 lines of 6 words and one of 5, each with its <eos> (the last one's too): 48 tokens, 47
    # predicted, 3 of them (emu, ate, fig) <unk>
    assert data["tokens"] == 47 and data["unk_rate"] == pytest.approx(3 / 47, abs=1e-6)
    # training never had <unk>: both warn, the file's warning names it
    assert "6.4% of the held-out ones" in split_err
    assert f"6.4% of the tokens of {str(folder / 'valid.txt')!r} are <unk> (never seen in training)" in data_err
    assert data_err.count("\n") == 1 and data_err.startswith("seqlab: warning: ")
    # the default split (test) likewise; the training figures are the checkpoint's either way
    default, _ = _evaluate(capsys, run)
    data, _ = _evaluate(capsys, run, "--data", str(folder / "test.txt"))
    assert _figures(data) == _figures(default) and data["train_ppl"] == default["train_ppl"]


def test_a_word_file_of_known_words_and_unseen_ones(word_run, tmp_path, capsys):
    path = tmp_path / "new.txt"
    path.write_text("the emu ate a yak\nthe cat\n")  # the emu ate a yak <eos> the cat <eos>: 8 predicted
    result, err = _evaluate(capsys, word_run / "run", "--data", str(path))
    assert result["tokens"] == 8 and result["unk_rate"] == pytest.approx(4 / 8, abs=1e-6)  # emu, ate, a, yak
    assert "50.0% of the tokens of" in err and str(path) in err
    path.write_text("the cat sat on the mat\n")
    result, err = _evaluate(capsys, word_run / "run", "--data", str(path))
    assert result["tokens"] == 6 and result["unk_rate"] == 0 and err == ""


def test_a_char_file_scores_as_the_held_out_tail_and_counts_its_characters(char_run, tmp_path, capsys):
    run = char_run / "run"
    tail = tmp_path / "tail.txt"
    tail.write_text(CHAR_TEXT[-51:])  # the held-out 10% of 512 characters
    split, _ = _evaluate(capsys, run, "--split", "valid")
    data, _ = _evaluate(capsys, run, "--data", str(tail))
    assert split["tokens"] == 50 and _figures(data) == _figures(split)
    # \r\n is read as one "\n", as training reads it; every character after the first is predicted
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"the time\r\nmachine")  # 16 characters
    result, err = _evaluate(capsys, run, "--data", str(path))
    assert result["tokens"] == 15 and result["unk_rate"] == 0 and err == ""
    path.write_text("the quiz!")  # q, u, z and ! are not in the training text
    result, err = _evaluate(capsys, run, "--data", str(path))
    assert result["tokens"] == 8 and result["unk_rate"] == pytest.approx(4 / 8, abs=1e-6)
    assert "never learned to predict <unk>" in err and str(path) in err


def test_a_time_machine_model_reads_a_file_with_the_books_cleaning(tmp_path, capsys, one_thread):
    # the book's Time Machine keeps letters and spaces, lower-cased, lines joined with nothing between
    assert main(["train", "lm", "--dataset", "timemachine", "--level", "char", "--max-tokens", "2000",
                 "--cell", "gru", "--impl", "fused", "--hidden", "8", "--batch-size", "4", "--num-steps", "8",
                 "--epochs", "1", "--device", "cpu", "--seed", "0", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    raw, clean = tmp_path / "raw.txt", tmp_path / "clean.txt"
    raw.write_text("The Time-Traveller!\n\nSPOKE, 1895.\n")
    clean.write_text("the time traveller" + "spoke")  # 23 characters
    first, _ = _evaluate(capsys, tmp_path / "run", "--data", str(raw))
    second, _ = _evaluate(capsys, tmp_path / "run", "--data", str(clean))
    assert first["tokens"] == second["tokens"] == 22 and first["unk_rate"] == 0
    assert first["ppl"] == second["ppl"]


def test_bad_files_and_options_are_one_line_errors(word_run, char_run, tmp_path, capsys):
    run = word_run / "run"
    cases = {"missing.txt": (None, "not found"),
             "folder": ("mkdir", "is a folder, not a text file"),
             "empty.txt": (b"", "is empty"),
             "blank.txt": (b" \n\n", "is empty"),
             "binary.txt": (b"the cat\x00\x01\x02", "looks binary"),
             "utf16.txt": ("the cat sat\n".encode("utf-16"), "looks like UTF-16 text, not UTF-8"),
             "latin1.txt": ("the caf\xe9\n".encode("latin-1"), "is not UTF-8 text"),
             "unknown.txt": (b"emu yak gnu\nfig\n", "none of the 6 word tokens of")}
    for name, (body, message) in cases.items():
        path = tmp_path / name
        if body == "mkdir":
            path.mkdir()
        elif body is not None:
            path.write_bytes(body)
        assert main(["evaluate", "--checkpoint", str(run), "--data", str(path)]) == 2, name
        _one_line_error(capsys, message)
    # one character: nothing to predict
    (tmp_path / "one.txt").write_text("t")
    assert main(["evaluate", "--checkpoint", str(char_run / "run"), "--data", str(tmp_path / "one.txt")]) == 2
    _one_line_error(capsys, "holds 1 char token(s) as this model reads it: scoring needs at least 2")
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(word_run / "mine" / "valid.txt"),
                 "--split", "valid"]) == 2
    _one_line_error(capsys, "--split names the run's own held-out part; --data scores a file: give one")
    assert main(["train", "forecast", "--hidden", "4", "--epochs", "1", "--out", str(tmp_path / "sine")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "sine"), "--data", str(tmp_path / "one.txt")]) == 2
    _one_line_error(capsys, "holds a forecasting model: leave --data out")


def test_a_data_folder_given_as_dot_is_named_by_the_folder(tmp_path, capsys, monkeypatch, one_thread):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "train.txt").write_text(EN * 20)
    (folder / "valid.txt").write_text("the cat ran to the dog\n" * 3)
    monkeypatch.chdir(folder)
    assert load_lm_corpus(data=".", level="word").name == "mine"
    assert load_lm_corpus(data="../mine/.", level="word").name == "mine"
    assert _train(".", tmp_path / "run", level="word") == 0
    with open("valid.txt", "a") as fh:
        fh.write("the end\n")
    assert _train(".", tmp_path / "run", "--epochs", "2", "--resume", level="word") == 2
    _one_line_error(capsys, "--resume: the run's --data mine has changed since the run started")


@pytest.fixture(scope="module")
def ptb_run(tmp_path_factory, one_thread):
    """A word model of PTB-style splits: "<unk>" written in the text for rare words (in training too)."""
    root = tmp_path_factory.mktemp("ptb_style")
    (root / "mine").mkdir()
    (root / "mine" / "train.txt").write_text("the cat sat on the <unk> mat\n" * 40)
    # 6 lines of 5 words and <eos>: 35 targets, 6 of them a written "<unk>" and 6 the unseen "emu"
    (root / "mine" / "valid.txt").write_text("the <unk> sat on emu\n" * 6)
    assert _train(root / "mine", root / "run", level="word") == 0
    return root


def test_the_unk_warning_gives_the_unk_rate_when_written_unk_make_it_differ(ptb_run, capsys):
    run, valid = ptb_run / "run", ptb_run / "mine" / "valid.txt"
    split, split_err = _evaluate(capsys, run, "--split", "valid")
    data, data_err = _evaluate(capsys, run, "--data", str(valid))
    assert split["unk_rate"] == data["unk_rate"] == pytest.approx(12 / 35, abs=1e-6)  # 34.3%: written ones too
    # the warning's share (the vocabulary's doing, 17.1%) and the JSON's unk_rate (34.3%), both said
    assert ("17.1% of the held-out tokens are <unk> because the 7-token vocabulary lacks them (unk_rate 34.3% "
            "counts the <unk> written in the text too)") in split_err
    assert (f"17.1% of the tokens of {str(valid)!r} are <unk> because the 7-token vocabulary lacks them "
            "(unk_rate 34.3% counts the <unk> written in the text too)") in data_err
    assert data_err.count("\n") == split_err.count("\n") == 1
    # --min-freq 0 kept every training word: the unseen emu is no option's doing, and none is advised
    for err in (split_err, data_err):
        assert err.rstrip().endswith("the vocabulary holds every word of the training text, so these are words the "
                                     "training text never had: more (or more varied) training text is the fix, not "
                                     "--max-vocab or --min-freq"), err


def test_text_in_the_other_case_is_said_instead_of_vocabulary_advice(word_run, tmp_path, capsys):
    run, path = word_run / "run", tmp_path / "upper.txt"
    path.write_text("The Cat sat on the mat and The Dog ran\n")  # 10 targets (the first The is none), 3 <unk>
    result, err = _evaluate(capsys, run, "--data", str(path))
    assert result["unk_rate"] == pytest.approx(3 / 10, abs=1e-6)
    assert ("100.0% of the <unk> tokens are in the vocabulary in lower case (the run's text was lower-case): "
            "lower-case this file (e.g. tr A-Z a-z)") in err
    assert "--min-freq" not in err and err.count("\n") == 1
    # a file of upper-case words only: none is in the vocabulary; the refusal says why
    path.write_text("THE CAT SAT ON THE MAT\n")
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(path)]) == 2
    _one_line_error(capsys, "is in the model's 11-token vocabulary (each would be <unk>, and its perplexity would "
                            "say nothing): 100.0% of the <unk> tokens are in the vocabulary in lower case (the "
                            "run's text was lower-case): lower-case this file (e.g. tr A-Z a-z)")
    # words the vocabulary lacks in any case: the vocabulary advice, as before
    path.write_text("the emu ate a yak\nthe cat\n")
    _, err = _evaluate(capsys, run, "--data", str(path))
    assert "lower case" not in err and "--min-freq 2" in err


def test_other_case_needs_over_half_of_the_unk_and_sees_either_case():
    from seqlab.training.lm_data import other_case

    lower = Vocab(["the", "cat", "Sat"])
    assert other_case({"THE": 2, "CAT": 1}, 3, lower) == (
        "100.0% of the <unk> tokens are in the vocabulary in lower case: lower-case this file (e.g. tr A-Z a-z)")
    assert other_case({"THE": 1, "emu": 1}, 2, lower) is None  # half is not over half
    assert other_case({"THE": 1}, 3, lower) is None  # written "<unk>" count among the <unk> tokens
    upper = Vocab(["THE", "CAT"])
    assert other_case({"the": 3, "emu": 1}, 4, upper) == (
        "75.0% of the <unk> tokens are in the vocabulary in upper case (the run's text was upper-case): "
        "upper-case this file (e.g. tr a-z A-Z)")


def test_the_vocabulary_advice_names_only_the_option_that_left_training_words_out():
    # "a larger --max-vocab or a lower --min-freq keeps more words" was said when neither was set:
    # every training word in the vocabulary, the <unk> were words training never had
    from seqlab.training.lm_data import unk_note, vocab_advice

    words = ["the"] * 6 + ["cat"] * 4 + ["sat"] * 3 + ["mat"] * 3 + ["on"] * 2 + ["yak"]
    for min_freq in (0, 1):
        advice = vocab_advice(Vocab(words, min_freq=min_freq), {"min_freq": min_freq, "max_size": None})
        assert advice.startswith("the vocabulary holds every word of the training text") and "fix, not" in advice
        assert vocab_advice(Vocab(words, min_freq=min_freq)) == advice  # the same read back from the counts
    assert vocab_advice(Vocab(words, min_freq=3), {"min_freq": 3, "max_size": None}) == (
        "a lower --min-freq (now 3) keeps more of the training text's words (2 of its 6 distinct words are "
        "outside the vocabulary)")
    assert vocab_advice(Vocab(words, max_size=2), {"min_freq": 0, "max_size": 2}).startswith(
        "a larger --max-vocab (now 2) keeps more of the training text's words (4 of its 6")
    # a cap among words above --min-freq: raising the cap keeps more, lowering --min-freq alone does not
    assert vocab_advice(Vocab(words, min_freq=2, max_size=3), {"min_freq": 2, "max_size": 3}).startswith(
        "a larger --max-vocab (now 3) keeps")
    # both bind (the cap reached exactly where --min-freq cuts): both are needed
    assert vocab_advice(Vocab(words, min_freq=3, max_size=4), {"min_freq": 3, "max_size": 4}).startswith(
        "a lower --min-freq (now 3) and a larger --max-vocab (now 4) keep more")
    # review r-docs, finding 2: at --min-freq 2 "a lower --min-freq" means 1, where the training text holds no
    # <unk> and the other note (unseen <unk>) sends the user back to 2; the advice says so
    advice = vocab_advice(Vocab(words, min_freq=2), {"min_freq": 2, "max_size": None})
    assert advice.startswith("a lower --min-freq (now 2) keeps more of the training text's words (1 of its 6")
    assert advice.endswith("; at 1 the training text holds no <unk> for the model to learn unseen words from (the "
                           "other warning), so where both come up more training text is the fix")
    assert unk_note(0.3, 0.3, 0.0, 6).endswith("--min-freq 2 makes the tokens seen once in training <unk>, so that "
                                               "the model learns where unseen ones go")  # (that other warning)
    # read back without the options: a cut between words of one count (sat | mat) is only a cap's
    assert vocab_advice(Vocab(words, max_size=3)).startswith("a larger --max-vocab keeps more")
    assert vocab_advice(Vocab(words, min_freq=3)).startswith("a larger --max-vocab or a lower --min-freq keeps more")
    note = unk_note(0.2, 0.2, 0.1, 6, keep=vocab_advice(Vocab(words)))
    assert "understates" in note and note.endswith("not --max-vocab or --min-freq")

def test_a_pair_file_given_to_a_language_model_is_said_to_be_one(word_run, tmp_path, capsys):
    path = tmp_path / "pairs.txt"
    path.write_text("the cat\tthe dog\n\nthe mat\tthe cat ran\n")  # every non-blank line holds a tab
    result, err = _evaluate(capsys, word_run / "run", "--data", str(path))
    assert result["split"] == "data" and result["tokens"] > 0
    assert (f"seqlab: warning: every line of {str(path)!r} holds a tab: it looks like a tab-separated "
            "`source<TAB>target` pair file (for translation checkpoints)") in err
    path.write_text("the cat\tthe dog\nthe mat\n")  # not every line: plain text with a tab in it
    _, err = _evaluate(capsys, word_run / "run", "--data", str(path))
    assert "pair file" not in err


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from(list("ab \t\n\r\x0b\x0c\x1c\x85\u2028\u3000")), max_size=30),
       st.sampled_from([1, 1 << 20]))
def test_the_pair_file_check_is_every_non_blank_line_holding_a_tab(text, block):
    # the docstring's definition, line by line (a whitespace-only line is blank, a lone \r or \u2028 is no line end)
    lines = [line for line in text.split("\n") if line.strip()]
    want = bool(lines) and all("\t" in line for line in lines)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(token_ids, "BLOCK", block)  # a line at a time, or the whole text
        # the text, or its UTF-8 bytes (as evaluate --data reads a file: read_text_utf8)
        assert (pair_file_note(text, "f") is not None) == (pair_file_note(text.encode(), "f") is not None) == want


def test_a_folder_of_text_files_names_one_of_them(word_run, capsys):
    folder = word_run / "mine"
    assert main(["evaluate", "--checkpoint", str(word_run / "run"), "--data", str(folder)]) == 2
    _one_line_error(capsys, f"{str(folder)!r} is a folder, not a text file: give a file in it, e.g. "
                            f"{str(folder / 'test.txt')!r}")


def test_a_run_trained_on_windows_finds_its_relative_data_path_here(char_run, tmp_path, monkeypatch, capsys):
    # its checkpoints hold --data as typed there, data\tiny.txt, and the absolute C:\... path: here the first
    # is one odd file name, so `evaluate` said the data was "not there any more"
    from checkpoint_edit import edit_meta  # tests/reliability, on the test path

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "tiny.txt").write_text(CHAR_TEXT)
    (project / "run").mkdir()
    expected, _ = _evaluate(capsys, char_run / "run")

    def windows(meta):
        meta["config"]["data"]["data"] = r"data\tiny.txt"
        meta["data_file"]["path"] = r"C:\Users\me\project\data\tiny.txt"

    edit_meta(char_run / "run" / "best.safetensors", windows, project / "run" / "best.safetensors")
    monkeypatch.chdir(project)
    result, _ = _evaluate(capsys, project / "run" / "best.safetensors")
    assert {k: result[k] for k in ("ppl", "loss", "tokens")} == {k: expected[k] for k in ("ppl", "loss", "tokens")}


def test_a_saved_vocabulary_keeps_the_most_frequent_left_out_counts_and_the_number_of_all(monkeypatch):
    # every counted word went into each checkpoint's header: 3M word types made 57 MB headers (25 s per
    # save), 6M a header safetensors refuses (the run died after its first epoch); now the vocabulary's
    # own counts, the SAVED_LEFT_OUT most frequent of the others, and how many others there are
    from seqlab.data import vocab as vocab_module
    from seqlab.training.lm_data import vocab_advice

    monkeypatch.setattr(vocab_module, "SAVED_LEFT_OUT", 3)
    words = ["the"] * 9 + ["cat"] * 8 + ["sat"] * 7 + ["a"] * 6 + ["b"] * 5 + ["c"] * 4 + ["d"] * 3 + ["e"] * 2
    vocab = Vocab(words, max_size=2)  # keeps the, cat; leaves out sat, a, b, c, d, e
    saved = vocab.to_dict()
    assert saved["token_freqs"] == [["the", 9], ["cat", 8], ["sat", 7], ["a", 6], ["b", 5]]
    assert saved["unsaved_left_out"] == 3
    back = Vocab.from_dict(saved)
    assert back == vocab and back.left_out == vocab.left_out == 6
    assert back.to_dict() == saved  # saved again, nothing lost or counted twice
    assert vocab_advice(back) == vocab_advice(vocab) == (
        "a larger --max-vocab or a lower --min-freq keeps more of the training text's words (6 of its 8 distinct "
        "words are outside the vocabulary)")
    assert "unsaved_left_out" not in Vocab(words).to_dict()  # all kept: the table as before


def test_evaluate_of_a_folder_run_reads_only_its_held_out_files(tmp_path, capsys, monkeypatch):
    # it indexed the whole training split (WikiText-103's 100M tokens to score 245k); the figures and
    # the <unk> warning (from the run's recorded training share) are those of the split read with it
    from seqlab.data import corpora

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "train.txt").write_text(EN * 30)
    (folder / "valid.txt").write_text("the cat sat on a mat\n" * 3)
    (folder / "test.txt").write_text("the emu ran to the yak\n" * 3)  # <unk> words training never had
    assert _train(folder, tmp_path / "run", level="word") == 0
    capsys.readouterr()
    read = []
    real = corpora.read_text_utf8  # (the loader's reader)
    monkeypatch.setattr(corpora, "read_text_utf8", lambda path: read.append(path.name) or real(path))
    result, err = _evaluate(capsys, tmp_path / "run")
    assert read == ["valid.txt", "test.txt"]
    vocab = Vocab.from_dict(json.loads(json.dumps(load_lm_corpus(data=folder, level="word").vocab.to_dict())))
    whole = load_lm_corpus(data=folder, level="word", vocab=vocab)  # every split read, as before
    assert result["tokens"] == len(whole.test) - 1 and result["unk_rate"] == round(whole.unk_rate("test"), 6)
    from seqlab.training.lm_data import unk_warning

    assert err == f"seqlab: warning: {unk_warning(whole, 'test')}\n"  # (the training share read from the split)


def test_held_out_only_without_a_vocabulary_is_refused(tmp_path):
    from seqlab import SeqlabError

    folder = tmp_path / "d"
    folder.mkdir()
    for split in ("train", "valid"):
        (folder / f"{split}.txt").write_text(EN * 3)
    with pytest.raises(SeqlabError, match=r"held_out_only needs the vocabulary the held-out splits are read with "
                                          r"\(vocab=\)"):
        load_lm_corpus(data=folder, level="word", held_out_only=True)
    vocab = load_lm_corpus(data=folder, level="word").vocab
    corpus = load_lm_corpus(data=folder, level="word", vocab=vocab, held_out_only=True)
    assert len(corpus.train) == 0 and len(corpus.valid) == len(EN.split()) * 3 + 3  # words and line ends
