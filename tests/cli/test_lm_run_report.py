"""What `seqlab train lm` says about its run: the model's shape (tied weights: AWD-LSTM's rule on
every model), the best epoch in its result line (also after --resume), the splits it read and
their sizes, and the settings it refuses or caps instead of reading them silently."""

import json
import shutil

import pytest

from checkpoint_edit import edit_meta  # tests/reliability, on the test path
from seqlab.cli import main
from seqlab.data.corpora import load_lm_corpus
from seqlab.data.sampling import LMBatches
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.metrics import read_metrics


def _train(data, out, *extra):
    return main(["train", "lm", "--data", str(data), "--level", "char", "--cell", "lstm", "--impl", "fused",
                 "--embed", "8", "--hidden", "8", "--batch-size", "4", "--num-steps", "10", "--epochs", "2",
                 "--lr", "0.01", "--optimizer", "adam", "--device", "cpu", "--seed", "0", "--out", str(out), *extra])


def _one_line_error(capsys, message):
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def _lm_line(printed):
    return next(line for line in printed.splitlines() if line.startswith("lm: "))


def test_tied_weights_give_the_last_layer_the_embedding_size_and_the_log_shows_it(text, tmp_path, capsys):
    # without any AWD option, as with them (configs/ptb_awd.toml's 1150/1150/400)
    assert _train(text, tmp_path / "plain", "--layers", "2", "--hidden", "16", "--tie-weights", "--epochs", "1") == 0
    plain = _lm_line(capsys.readouterr().out)
    assert _train(text, tmp_path / "awd", "--layers", "2", "--hidden", "16", "--tie-weights", "--weight-drop",
                  "0.1", "--epochs", "1") == 0
    awd = _lm_line(capsys.readouterr().out)
    for line in (plain, awd):
        assert line.startswith("lm: lstm/fused, 2 layers 16/8, embedding 8 tied to the output, "), line
    assert main(["generate", "--checkpoint", str(tmp_path / "plain"), "--prefix", "the", "--num-tokens", "5"]) == 0
    assert capsys.readouterr().out.startswith("the")


@pytest.mark.parametrize("awd", [[], ["--dropout-output", "0.2"]])
def test_one_tied_layer_of_another_size_than_hidden_is_refused(text, tmp_path, capsys, awd):
    # the one layer would have --embed units: --hidden would be unused (it was, with the AWD options)
    assert _train(text, tmp_path / "r", "--hidden", "16", "--tie-weights", *awd) == 2
    _one_line_error(capsys, "--hidden 16 is unused with --layers 1 and --tie-weights: the one layer has "
                            "--embed (8) units; set --hidden 8 (or --embed 16)")
    assert not (tmp_path / "r").exists()


def test_the_result_line_names_the_epoch_best_holds_also_after_a_resume(text, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(text, out, "--epochs", "3") == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = read_metrics(out / "metrics.jsonl")
    best = load_checkpoint(out, "best").meta["epoch"]
    assert result["epoch"] == 3 and result["best_epoch"] == best
    assert result["best_valid_ppl"] == rows[best - 1]["valid_ppl"] == min(r["valid_ppl"] for r in rows)
    # a resumed run whose best epoch is from before the resume: no later epoch beats a recorded best
    # loss of 0 (best.safetensors then stays that epoch's); also from a checkpoint saved before
    # checkpoints kept best_epoch (it is read from metrics.jsonl then)
    older = tmp_path / "older"
    shutil.copytree(out, older)
    edit_meta(out / "last.safetensors", lambda m: m.update(best_valid_loss=0.0))
    edit_meta(older / "last.safetensors", lambda m: [m.update(best_valid_loss=0.0), m.pop("best_epoch"),
                                                      m.pop("best_valid_ppl")])
    for run in (out, older):
        assert _train(text, run, "--epochs", "5", "--resume") == 0
        resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert resumed["epoch"] == 5 and load_checkpoint(run, "best").meta["epoch"] == best
        assert (resumed["best_epoch"], resumed["best_valid_ppl"]) == (best, rows[best - 1]["valid_ppl"])


def test_the_start_line_gives_the_held_out_size_and_a_folder_the_files_it_read(text, tmp_path, capsys):
    corpus = load_lm_corpus(data=text, level="char")
    assert _train(text, tmp_path / "file", "--epochs", "1") == 0
    line = _lm_line(capsys.readouterr().out)
    assert f", {len(corpus.train):,} training tokens, {len(corpus.valid):,} held-out (valid), <unk> " in line
    folder = tmp_path / "splits"
    folder.mkdir()
    for split, repeat in (("train", 10), ("valid", 3), ("test", 2)):
        (folder / f"{split}.txt").write_text(text.read_text()[:65] * repeat)
    (folder / "corpus.bin").write_bytes(b"\0\1")
    (folder / "old").mkdir()
    corpus = load_lm_corpus(data=folder, level="char")
    assert _train(folder, tmp_path / "folder", "--epochs", "1") == 0
    printed = capsys.readouterr().out
    assert (f", {len(corpus.train):,} training tokens, {len(corpus.valid):,} held-out (valid), "
            f"{len(corpus.test):,} test, <unk> ") in _lm_line(printed)
    [note] = [line for line in printed.splitlines() if line.startswith("data: ")]
    assert note.startswith(f"data: read train.txt, valid.txt, test.txt of the folder {str(folder.resolve())!r}; "
                           "not read: corpus.bin, old/ (a folder's splits are")


def test_max_tokens_below_minus_one_is_refused_and_minus_one_reads_all(text, tmp_path, capsys):
    assert _train(text, tmp_path / "neg", "--max-tokens", "-5") == 2
    _one_line_error(capsys, "--max-tokens -5: give a positive number of training tokens to keep, or -1 (or none)")
    assert _train(text, tmp_path / "all", "--max-tokens", "-1", "--epochs", "1") == 0
    corpus = load_lm_corpus(data=text, level="char")
    assert f", {len(corpus.train):,} training tokens, " in _lm_line(capsys.readouterr().out)


def test_max_tokens_cuts_the_training_split_only_and_the_start_and_the_help_say_so(text, tmp_path, capsys):
    # the held-out 77 tokens stayed whole, with nothing said; and the help spoke of "training tokens"
    assert _train(text, tmp_path / "cut", "--max-tokens", "300", "--epochs", "1") == 0
    printed = capsys.readouterr().out
    assert ", 300 training tokens, 77 held-out (valid), <unk> " in _lm_line(printed)
    assert "\ndata: --max-tokens keeps the first 300 training tokens (valid whole)\n" in printed
    assert _train(text, tmp_path / "all", "--max-tokens", "5000", "--epochs", "1") == 0  # more than there are
    assert "--max-tokens" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "lm", "--help"])
    helped = "".join(capsys.readouterr().out.split())  # (argparse wraps lines, at a hyphen too)
    assert "".join("keep the first N tokens of the training split only (the book uses 10000; valid, test and the "
                   "vocabulary come from the whole splits); none or -1: all of them".split()) in helped


def test_stats_train_lm_and_evaluate_say_what_their_split_counts_count(tmp_path, capsys):
    # PTB's valid split was 70,390 tokens in stats, 73,760 in train lm's start line and 73,759 in
    # evaluate, none saying what it counted: words; with an <eos> per line; predictions
    folder = tmp_path / "words"
    folder.mkdir()
    (folder / "train.txt").write_text("the cat sat on the mat\nthe dog sat\n" * 20)
    (folder / "valid.txt").write_text("the cat sat\non the mat\n")  # 6 words, 2 line ends
    assert main(["stats", "--data", str(folder / "valid.txt")]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"{folder / 'valid.txt'} (word level, raw text): 6 tokens, 5 types",
        "(tokens without <eos>: train lm and evaluate read 8, with an <eos> at each line end)"]
    assert main(["train", "lm", "--data", str(folder), "--level", "word", "--embed", "4", "--hidden", "8",
                 "--batch-size", "2", "--num-steps", "5", "--epochs", "1", "--device", "cpu",
                 "--out", str(tmp_path / "run")]) == 0
    printed = capsys.readouterr().out
    assert ", 220 training tokens, 8 held-out (valid), <unk> " in _lm_line(printed)  # (9 words, 2 <eos>: x 20)
    assert ("\ndata: the counts include an <eos> at each line end (seqlab stats counts the words alone), and a split "
            "of N tokens is N - 1 predictions (evaluate's \"tokens\")\n") in printed
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--split", "valid"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == 7
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    helped = "".join(capsys.readouterr().out.split())  # (argparse wraps lines, at a hyphen too)
    assert "".join("`tokens`, the number of predictions it averages over (a language model predicts every token of "
                   "the split after its first, <eos> included: one fewer than the split's tokens in train lm's start "
                   "line)".split()) in helped


def test_a_cosine_warm_up_longer_than_the_run_is_capped_with_a_note(text, tmp_path, capsys):
    batches = len(LMBatches(load_lm_corpus(data=text, level="char").train, 4, 10))  # per epoch, as _train's
    assert _train(text, tmp_path / "long", "--schedule", "cosine", "--warmup-steps", "1000") == 0
    [note] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: --warmup-steps")]
    assert note.startswith(f"note: --warmup-steps 1,000 is more than the run's {2 * batches} steps (2 epochs x "
                           f"{batches} batches): the warm-up uses {2 * batches}, so the learning rate rises for "
                           "the whole run and never decays")
    rows = read_metrics(tmp_path / "long" / "metrics.jsonl")
    assert rows[0]["lr"] < rows[1]["lr"] < 0.01  # still warming up at the last epoch
    assert _train(text, tmp_path / "short", "--schedule", "cosine", "--warmup-steps", str(2 * batches)) == 0
    assert "note: --warmup-steps" not in capsys.readouterr().out


def test_help_says_what_tying_does_and_what_max_tokens_minus_one_means(capsys):
    with pytest.raises(SystemExit):
        main(["train", "lm", "--help"])
    helped = "".join(capsys.readouterr().out.split())  # (argparse wraps lines, at a hyphen too)

    def said(text):
        return "".join(text.split()) in helped
    assert not said("(needs embed == hidden)")
    assert said("the last layer then has --embed units, the others --hidden (AWD-LSTM); with --layers 1 set embed = "
                "hidden, with --bidirectional embed = 2 x hidden")
    assert said("none or -1: all of them")


def test_evaluate_scores_an_averaging_nt_asgd_runs_last_checkpoint_with_its_averaged_weights(tmp_path, capsys):
    # last.safetensors keeps the raw SGD weights (a resume goes on from them): evaluate --which last
    # scored those (845 where the log said 685); the run evaluated, and reported, their average
    out = tmp_path / "nt"
    assert main(["train", "lm", "--dataset", "timemachine", "--level", "word", "--max-tokens", "3000", "--embed", "16",
                 "--hidden", "16", "--tie-weights", "--optimizer", "nt-asgd", "--nonmono", "1", "--lr", "30",
                 "--epochs", "6", "--batch-size", "8", "--num-steps", "10", "--device", "cpu",
                 "--out", str(out)]) == 0
    assert load_checkpoint(out, "last").meta["ntasgd"]["triggered"]  # averaging began before the end
    records = read_metrics(out / "metrics.jsonl")
    for which, record in (("last", records[-1]), ("best", min(records, key=lambda r: r["valid_loss"]))):
        capsys.readouterr()
        assert main(["evaluate", "--checkpoint", str(out), "--split", "valid", "--which", which]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["epoch"] == record["epoch"] and result["loss"] == pytest.approx(record["valid_loss"], rel=1e-9)
