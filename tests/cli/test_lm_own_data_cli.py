"""`seqlab train lm / evaluate / generate / stats` on a user's own text: the <unk> shares and their
warnings, text written without spaces, a --data folder of splits, and generate's options."""

import json

import pytest

from seqlab.cli import main
from seqlab.training.metrics import read_metrics

# 45 lines of a small English text, then 5 lines with words training never sees (the held-out 10%)
EN = "the cat sat on the mat and the dog ran to the cat\n"
UNSEEN = "the emu ate a fig by the yak\n"


def _train(data, out, *extra, level="word"):
    return main(["train", "lm", "--data", str(data), "--level", level, "--cell", "gru", "--impl", "fused",
                 "--embed", "8", "--hidden", "8", "--batch-size", "2", "--num-steps", "5", "--epochs", "1",
                 "--lr", "0.01", "--optimizer", "adam", "--device", "cpu", "--seed", "0", "--out", str(out), *extra])


def _one_line_error(capsys, message):
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def _warnings(captured) -> list[str]:
    """A training run's warnings: on stderr, each a `seqlab: warning: ` line (as evaluate's), none on
    stdout (its progress and results: `warning: ...` lines were printed there)."""
    assert "warning:" not in captured.out
    return [line.removeprefix("seqlab: ") for line in captured.err.splitlines() if line.startswith("seqlab: warning: ")]


@pytest.fixture
def text(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text(EN * 45 + UNSEEN * 5)
    return path


def test_unk_shares_are_reported_and_a_capped_vocabulary_warned_about(text, tmp_path, capsys):
    # --max-vocab 3 keeps the, cat, and one more word: most targets are <unk>, whose perplexity is low
    out = tmp_path / "run"
    assert _train(text, out, "--max-vocab", "3") == 0
    captured = capsys.readouterr()
    printed = captured.out
    rows = read_metrics(out / "metrics.jsonl")
    train_rate, valid_rate = rows[0]["train_unk_rate"], rows[0]["valid_unk_rate"]
    assert 0.4 < train_rate < valid_rate < 1
    lm_line = next(line for line in printed.splitlines() if line.startswith("lm: "))
    assert f"<unk> {train_rate:.1%} of training, {valid_rate:.1%} of held-out" in lm_line
    [warning] = _warnings(captured)
    assert warning.startswith(f"warning: {valid_rate:.1%} of the held-out tokens are <unk>")
    # --max-vocab capped it (the default --min-freq 0 dropped nothing): only --max-vocab is advised
    assert "understates the cost of rare words" in warning and "a larger --max-vocab (now 3) keeps" in warning
    assert "--min-freq" not in warning
    assert json.loads(printed.splitlines()[-1])["valid_unk_rate"] == valid_rate
    assert main(["evaluate", "--checkpoint", str(out)]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["unk_rate"] == valid_rate and result["train_unk_rate"] == train_rate
    assert captured.err.startswith("seqlab: warning: ") and "understates" in captured.err
    assert "a larger --max-vocab keeps" in captured.err and "--min-freq" not in captured.err  # (a cut in a tie)
    assert captured.err.count("\n") == 1


def test_held_out_unk_that_training_never_had_are_warned_about(text, tmp_path, capsys):
    # the default --min-freq 0 keeps every training word: <unk> is never a training target, so the
    # held-out words training never saw each cost about the model's worst loss
    assert _train(text, tmp_path / "run") == 0
    captured = capsys.readouterr()
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    # held out: the last 68 of 675 tokens; 67 targets, 30 of them emu, ate, a, fig, by, yak
    assert rows[0]["train_unk_rate"] == 0 and rows[0]["valid_unk_rate"] == pytest.approx(30 / 67, abs=1e-6)
    [warning] = _warnings(captured)
    assert "the training tokens hold no <unk>" in warning and "44.8% of the held-out ones" in warning
    assert "--min-freq 2" in warning and "understates" not in warning
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run")]) == 0
    assert "never learned to predict <unk>" in capsys.readouterr().err
    # text whose held-out part holds only training words: no warning, <unk> 0.0%
    plain = tmp_path / "plain.txt"
    plain.write_text(EN * 50)
    assert _train(plain, tmp_path / "plain") == 0
    captured = capsys.readouterr()
    assert _warnings(captured) == [] and "<unk> 0.0% of training, 0.0% of held-out" in captured.out


def test_a_registered_corpus_reports_its_unk_with_its_figures_unchanged(tmp_path, capsys, data_dir):
    # PTB writes <unk> for its rare words: reported (4.8% of training), no warning (its vocabulary lacks none)
    assert main(["train", "lm", "--dataset", "ptb", "--level", "word", "--embed", "8", "--hidden", "8",
                 "--batch-size", "4", "--num-steps", "5", "--epochs", "1", "--max-tokens", "2000", "--device", "cpu",
                 "--out", str(tmp_path / "ptb")]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "vocab 10000, 2,000 training tokens, 73,760 held-out (valid), 82,430 test, <unk>" in printed
    assert "4.7% of held-out" in printed
    assert _warnings(captured) == []
    assert read_metrics(tmp_path / "ptb" / "metrics.jsonl")[0]["valid_unk_rate"] == pytest.approx(3485 / 73759, abs=1e-6)


ZH = ("学而时习之，不亦说乎？有朋自远方来，不亦乐乎？\n温故而知新，可以为师矣。三人行，必有我师焉。\n"
      "己所不欲，勿施于人。工欲善其事，必先利其器。\n") * 20


def test_word_level_on_text_without_spaces_points_to_char_level(tmp_path, capsys):
    zh, en = tmp_path / "zh.txt", tmp_path / "en.txt"
    zh.write_text(ZH)
    en.write_text(EN * 50)
    assert _train(zh, tmp_path / "zh") == 0
    [warning] = _warnings(capsys.readouterr())
    assert "looks written without spaces between words" in warning and "use --level char" in warning
    assert _train(zh, tmp_path / "zh_char", level="char") == 0
    assert _warnings(capsys.readouterr()) == []
    # seqlab stats: on stderr (its output is the tables, or JSON), the JSON holds it too
    assert main(["stats", "--data", str(zh), "--level", "word"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("seqlab: warning: this text looks written without spaces") and err.count("\n") == 1
    assert main(["stats", "--data", str(zh), "--level", "word", "--json"]) == 0
    assert "--level char" in json.loads(capsys.readouterr().out)["warning"]
    for args in (["--data", str(en), "--level", "word"], ["--data", str(zh), "--level", "char"]):
        assert main(["stats", *args, "--json"]) == 0
        captured = capsys.readouterr()
        assert captured.err == "" and json.loads(captured.out)["warning"] is None


def _splits(folder, **texts):
    folder.mkdir()
    texts = {"train": EN * 40, "valid": "the cat ran to the dog\n" * 5, "test": "the dog sat on a mat\n" * 6, **texts}
    for split, body in texts.items():
        if body is not None:
            (folder / f"{split}.txt").write_text(body)
    return folder


def test_a_folder_of_splits_trains_and_evaluates_on_its_test_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _splits(tmp_path / "mine")
    assert _train("mine", tmp_path / "run") == 0
    rows = read_metrics(tmp_path / "run" / "metrics.jsonl")
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", "run"]) == 0
    test = json.loads(capsys.readouterr().out)
    assert test["split"] == "test" and test["tokens"] == 6 * 7 - 1 and test["unk_rate"] == pytest.approx(6 / 41, abs=1e-6)
    assert main(["evaluate", "--checkpoint", "run", "--split", "valid"]) == 0
    valid = json.loads(capsys.readouterr().out)
    assert valid["tokens"] == 5 * 7 - 1 and valid["ppl"] == pytest.approx(rows[-1]["valid_ppl"])
    # an edited split file: evaluate and --resume refuse it
    with open(tmp_path / "mine" / "valid.txt", "a") as fh:
        fh.write("the end\n")
    assert main(["evaluate", "--checkpoint", "run"]) == 2
    _one_line_error(capsys, "has changed since the run was trained (valid.txt differs)")
    assert _train("mine", tmp_path / "run", "--epochs", "2", "--resume") == 2
    _one_line_error(capsys, "--resume: the run's --data mine has changed since the run started (valid.txt differs)")


def test_a_folder_without_test_txt_has_no_test_split_and_one_without_valid_txt_is_refused(tmp_path, capsys):
    assert _train(_splits(tmp_path / "two", test=None), tmp_path / "run") == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run")]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == "valid"
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--split", "test"]) == 2
    _one_line_error(capsys, "has no test split")
    assert _train(_splits(tmp_path / "bad", valid=None), tmp_path / "bad_run") == 2
    _one_line_error(capsys, "is a folder without valid.txt: --data takes a text file")
    assert not (tmp_path / "bad_run").exists()


def test_resume_refuses_an_edited_text_file_and_goes_on_from_the_same_one(text, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(text, out) == 0
    assert _train(text, out, "--epochs", "2", "--resume") == 0
    with open(text, "a") as fh:
        fh.write("the cat\n")  # the same words: the vocabulary alone would not notice
    capsys.readouterr()  # (the runs' warnings on stderr)
    assert _train(text, out, "--epochs", "3", "--resume") == 2
    _one_line_error(capsys, "has changed since the run started (its sha256 differs)")


def test_generate_refuses_identical_greedy_samples_and_reads_a_line_break_as_eos(text, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(text, out, "--epochs", "3") == 0
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--num-samples", "3"]) == 2
    _one_line_error(capsys, "--num-samples 3 without --temperature, --top-k or --top-p would print 3 identical")
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--num-samples", "2", "--top-k", "3",
                 "--seed", "1"]) == 0
    assert capsys.readouterr().out.count("--- sample ") == 2
    # a line break in a word-level prefix is the line end training read (<eos>), not a space
    printed = {}
    for prefix in ("the cat\nthe", "the cat <eos> the"):
        assert main(["generate", "--checkpoint", str(out), "--prefix", prefix, "--num-tokens", "6"]) == 0
        printed[prefix] = capsys.readouterr().out
    assert printed["the cat\nthe"] == printed["the cat <eos> the"]  # the same ids: the same continuation
    assert printed["the cat\nthe"].startswith("the cat\nthe")
