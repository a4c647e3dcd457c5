"""`seqlab train lm`, `seqlab generate`, `seqlab evaluate` on a tiny text (few steps)."""

import json

import pytest
import torch

from seqlab.cli import main
from seqlab.training.checkpoint import load_checkpoint, save_checkpoint
from seqlab.training.metrics import read_metrics


def _train(text, out, *extra):
    argv = ["train", "lm", "--data", str(text), "--level", "char", "--cell", "lstm", "--impl", "scratch",
            "--hidden", "16", "--layers", "1", "--batch-size", "4", "--num-steps", "10", "--epochs", "2",
            "--lr", "0.01", "--optimizer", "adam", "--sampling", "sequential", "--device", "cpu",
            "--seed", "0", "--out", str(out), *extra]
    return main(argv)


def test_train_evaluate_generate(text, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(text, out) == 0
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2]
    # the last line printed is the last epoch's summary as JSON: the same figures as its metrics record,
    # and the epoch best.safetensors holds with its validation perplexity
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    best = load_checkpoint(out, "best").meta["epoch"]
    assert summary == {**{k: rows[-1][k] for k in ("epoch", "train_ppl", "valid_ppl", "valid_unk_rate",
                                                   "tokens_per_sec", "wall_s")},
                       "best_epoch": best, "best_valid_ppl": rows[best - 1]["valid_ppl"]}
    assert {"epoch", "train_loss", "valid_loss", "train_ppl", "valid_ppl", "tokens_per_sec", "lr",
            "wall_s", "train_unk_rate", "valid_unk_rate"} <= set(rows[0])
    for name in ("best.safetensors", "last.safetensors", "perplexity.png"):
        assert (out / name).is_file()
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out), "--split", "valid"]) == 0
    result = json.loads(capsys.readouterr().out)
    n_valid = round(len(text.read_text()) * 0.1)  # the held-out last 10% of characters
    assert result["tokens"] == n_valid - 1 and result["split"] == "valid"
    best = min(r["valid_loss"] for r in rows)
    assert result["loss"] == pytest.approx(best, rel=1e-9) and result["ppl"] == pytest.approx(2.718281828 ** best)
    # the dispatcher's default split is test; a --data file has only valid
    assert main(["evaluate", "--checkpoint", str(out), "--batch-size", "1"]) == 0
    one_row = json.loads(capsys.readouterr().out)
    assert one_row["tokens"] == n_valid - 1
    # --batch-size 1: the held-out text is read as ONE sequence, i.e. one forward pass over all of it
    from seqlab.training.lm import load_corpus
    from seqlab.data.vocab import Vocab
    from seqlab.training.lm import model_from_checkpoint

    ckpt = load_checkpoint(out)
    net, cfg = model_from_checkpoint(ckpt, torch.device("cpu"))
    stream = load_corpus(cfg, vocab=Vocab.from_dict(ckpt.meta["vocab"])).split("valid")
    with torch.no_grad():
        logits, _ = net(stream[None, :-1], None)
    whole = torch.nn.functional.cross_entropy(logits, stream[1:]).item()
    assert one_row["loss"] == pytest.approx(whole, rel=1e-5) and one_row["loss"] != pytest.approx(best, rel=1e-5)
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the time", "--num-tokens", "20"]) == 0
    greedy = capsys.readouterr().out.rstrip("\n")
    assert greedy.startswith("the time") and len(greedy) == len("the time") + 20
    runs = []
    for seed in (1, 1, 2):
        assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--num-tokens", "30",
                     "--temperature", "1.5", "--top-k", "5", "--seed", str(seed)]) == 0
        runs.append(capsys.readouterr().out)
    assert runs[0] == runs[1] != runs[2]
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--num-tokens", "30", "--temperature",
                 "1.5", "--top-k", "5", "--seed", "1", "--num-samples", "3"]) == 0
    parts = capsys.readouterr().out.split("--- sample ")  # generated text may hold line breaks
    assert [p[:5] for p in parts[1:]] == ["1 ---", "2 ---", "3 ---"] and parts[0] == ""
    samples = [p[len("1 ---\n"):-1] for p in parts[1:]]
    assert all(s.startswith("the") and len(s) == 33 for s in samples) and len(set(samples)) == 3


def test_resume_appends_epochs(text, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(text, out) == 0
    assert _train(text, out, "--epochs", "3", "--resume") == 0
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert load_checkpoint(out, "last").meta["epoch"] == 3


def test_config_file_and_flag_override(text, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\ndataset = "ptb"\n[model]\ncell = "gru"\nimpl = "fused"\nhidden = 12\n[train]\nepochs = 1\nbatch_size = 2\n')
    out = tmp_path / "run"
    assert main(["train", "lm", "--config", str(cfg), "--data", str(text), "--hidden", "8", "--out", str(out),
                 "--device", "cpu"]) == 0
    meta = load_checkpoint(out).meta
    assert meta["config"]["model"]["cell"] == "gru" and meta["config"]["model"]["hidden"] == 8
    assert meta["config"]["train"]["batch_size"] == 2
    assert meta["config"]["data"]["dataset"] is None  # --data replaced the file's dataset


def _one_line_error(capsys, message):
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_input_exits_2(text, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(text, tmp_path / "empty", "--resume") == 2
    _one_line_error(capsys, "no checkpoint")
    assert _train(text, out) == 0
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(out), "--prefix", "The Time", "--num-tokens", "5"]) == 2
    _one_line_error(capsys, "'T'")
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--temperature", "-1"]) == 2
    _one_line_error(capsys, "temperature must be > 0")
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--temperature", "0"]) == 2
    _one_line_error(capsys, "temperature must be > 0")
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--top-k", "0"]) == 2
    _one_line_error(capsys, "top-k must be a positive")
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--top-p", "0"]) == 2
    _one_line_error(capsys, "top-p must be in (0, 1]")
    nucleus = []
    for _ in range(2):
        assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--num-tokens", "30", "--top-p", "0.9",
                     "--seed", "4"]) == 0
        nucleus.append(capsys.readouterr().out)
    assert nucleus[0] == nucleus[1] and nucleus[0].startswith("the") and len(nucleus[0]) == 34
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the", "--num-samples", "0"]) == 2
    _one_line_error(capsys, "number of samples must be at least 1")
    # a checkpoint of another kind of model
    other = tmp_path / "other"
    save_checkpoint(other / "best.safetensors", model={"w": torch.zeros(2)}, meta={"task": "forecast"})
    assert main(["generate", "--checkpoint", str(other), "--prefix", "the"]) == 2
    _one_line_error(capsys, "holds a forecasting model, not a language model")
    # resume with another model or another vocabulary
    assert _train(text, out, "--hidden", "32", "--epochs", "3", "--resume") == 2
    _one_line_error(capsys, "different model")
    other_text = tmp_path / "other.txt"
    other_text.write_text("zyxwvu qrstu " * 80)
    assert _train(other_text, out, "--epochs", "3", "--resume") == 2
    _one_line_error(capsys, "another vocabulary")
    assert _train(text, tmp_path / "p", "--impl", "fused", "--cell", "peephole") == 2
    _one_line_error(capsys, "peephole LSTM has no fused")
    assert _train(text, tmp_path / "t", "--tie-weights") == 2
    _one_line_error(capsys, "--tie-weights makes the output layer the embedding, and the input is one-hot: give an "
                            "embedding, e.g. --embed 16")
    assert _train(text, tmp_path / "b", "--batch-size", "400") == 2
    _one_line_error(capsys, "too short for one batch")


def test_word_level_generate_prints_line_breaks_for_eos(tmp_path, capsys):
    text = tmp_path / "w.txt"
    text.write_text("the cat sat\nthe dog ran\n" * 40)
    out = tmp_path / "run"
    assert main(["train", "lm", "--data", str(text), "--level", "word", "--embed", "8", "--hidden", "8",
                 "--batch-size", "2", "--num-steps", "4", "--epochs", "2", "--lr", "0.02", "--optimizer", "adam",
                 "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the cat", "--num-tokens", "12"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("the cat") and "<eos>" not in printed
    assert len(printed.split()) == 2 + 12 - printed.count("\n") + 1  # every <eos> became a line break
    assert main(["generate", "--checkpoint", str(out), "--prefix", "the bird"]) == 2
    assert "words not in the model's vocabulary: 'bird'" in capsys.readouterr().err


@pytest.mark.parametrize("tokens, text", [
    (["a", "<eos>", "<eos>", "<eos>", "b"], "a\n\n\nb"),  # a run of three kept one literal <eos>
    (["<eos>", "a", "b", "<eos>"], "\na b\n"),
    (["<eos>", "<eos>"], "\n\n"),
    (["a", "b"], "a b"),
])
def test_word_text_makes_every_eos_a_line_break(tokens, text):
    from seqlab.cli.lm import word_text

    assert word_text(tokens) == text


def test_evaluate_reads_the_runs_data_file_from_anywhere_and_notices_a_change(text, tmp_path, capsys, monkeypatch):
    # --data as typed (relative) was read again from the folder evaluate ran in: "not found" from
    # elsewhere, and a file edited since training gave a perplexity of other text without a word
    (tmp_path / "work").mkdir()
    text.rename(tmp_path / "work" / "tiny.txt")  # (none left in tmp_path, where evaluate runs below)
    monkeypatch.chdir(tmp_path / "work")
    assert _train("tiny.txt", tmp_path / "run") == 0
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ppl"] == pytest.approx(read_metrics(tmp_path / "run" / "metrics.jsonl")[-1]["valid_ppl"])
    # the project moved (its absolute path is gone): the typed path from here, same bytes, is the file
    (tmp_path / "work").rename(tmp_path / "moved")
    monkeypatch.chdir(tmp_path / "moved")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["ppl"] == pytest.approx(result["ppl"])
    (tmp_path / "moved").rename(tmp_path / "work")
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "work" / "tiny.txt", "a") as fh:
        fh.write("and more text\n")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--device", "cpu"]) == 2
    assert "has changed since the run was trained" in capsys.readouterr().err
    (tmp_path / "work" / "tiny.txt").rename(tmp_path / "work" / "moved.txt")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--device", "cpu"]) == 2
    assert "is not there any more" in capsys.readouterr().err
