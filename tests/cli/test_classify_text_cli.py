"""`seqlab train classify --data FILE` on labelled text, `seqlab evaluate` and `seqlab classify --text/--file`
on its checkpoints, resume, and bad input (exit 2, one line)."""

import csv
import io
import json
import random

import pytest

from seqlab.cli import main
from seqlab.data.labelled_text import heldout_rows
from seqlab.training.metrics import read_metrics

FILLER = "the a movie film was is plot actor really quite very and it this story".split()
SMALL = ["--embed", "16", "--hidden", "24", "--layers", "1", "--lr", "0.01", "--batch-size", "32", "--seed", "1",
         "--no-progress"]


def reviews(n, seed):
    """(label, text) pairs: 'pos' texts hold the word 'good', 'neg' texts 'bad', among filler words."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        pos = rng.random() < 0.5
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 14))]
        words.insert(rng.randint(0, len(words)), "Good" if pos and rng.random() < 0.3 else "good" if pos else "bad")
        rows.append(("pos" if pos else "neg", " ".join(words)))
    return rows


def write_csv(path, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "label", "text"])
    w.writerows((i, label, text) for i, (label, text) in enumerate(rows))
    path.write_text(buf.getvalue())
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("texts")
    write_csv(root / "one.csv", reviews(300, 0))
    folder = root / "splits"
    folder.mkdir()
    write_csv(folder / "train.csv", reviews(300, 1))
    write_csv(folder / "valid.csv", reviews(40, 2))
    write_csv(folder / "test.csv", reviews(50, 3))
    return root


@pytest.fixture(scope="module")
def run(data):
    out = data / "run"
    assert main(["train", "classify", "--data", str(data / "one.csv"), *SMALL, "--epochs", "4",
                 "--out", str(out)]) == 0
    return out


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def test_learns_the_synthetic_task_and_logs_the_spec_keys(run):
    records = read_metrics(run / "metrics.jsonl")
    assert len(records) == 4
    assert {"epoch", "train_loss", "valid_loss", "tokens_per_sec", "lr", "wall_s", "valid_accuracy",
            "train_accuracy", "texts_per_sec"} <= set(records[0])
    assert "test_accuracy" not in records[0]  # one file: no test split
    assert max(r["valid_accuracy"] for r in records) >= 0.95
    assert (run / "best.safetensors").is_file() and (run / "accuracy.png").is_file()


def test_train_prints_the_data_notes_and_a_json_result(data, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "classify", "--data", str(data / "one.csv"), *SMALL, "--epochs", "1", "--max-len", "8",
                 "--max-vocab", "10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # review r-docs, finding 3: the cap's 10 words were logged as "12 words" (<unk> and <pad> counted in)
    assert "vocabulary: 10 words of the training texts + <unk> and <pad> (min_freq 2, max_vocab 10)" in printed
    assert ("270 train, 30 valid texts; 30 of the 300 rows held out for validation: a fixed pseudo-random 10% of "
            "each label's rows") in printed
    assert "2 labels (training texts: 'neg' " in printed and "always predicting" in printed
    assert "texts longer than --max-len 8 words keep their first 8:" in printed
    result = last_json(printed)
    assert result["epochs"] == 1 and 0 <= result["train_accuracy"] <= 1 and result["test_accuracy"] is None


def test_evaluate_and_classify_agree(data, tmp_path, capsys):
    # a folder with a test file: evaluate scores it; classify --file on its texts gives the same accuracy
    out = tmp_path / "folder"
    assert main(["train", "classify", "--data", str(data / "splits"), *SMALL, "--epochs", "5", "--bidirectional",
                 "--cell", "gru", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out)]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["split"] == "test" and ev["tokens"] == 50 and ev["accuracy"] >= 0.9
    test = list(csv.reader(io.StringIO((data / "splits" / "test.csv").read_text())))[1:]
    lines = tmp_path / "texts.txt"
    lines.write_text("".join(text + "\n" for _, _, text in test))
    assert main(["classify", "--checkpoint", str(out), "--file", str(lines)]) == 0
    preds = capsys.readouterr().out.splitlines()
    assert len(preds) == 50 and set(preds) <= {"pos", "neg"}
    accuracy = sum(p == label for p, (_, label, _) in zip(preds, test)) / 50
    assert accuracy == pytest.approx(ev["accuracy"])
    assert main(["evaluate", "--checkpoint", str(out), "--split", "valid"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == 40
    # --data: a labelled file read as the training files were; the test file gives the test split's figures
    assert main(["evaluate", "--checkpoint", str(out), "--data", str(data / "splits" / "test.csv")]) == 0
    on_file = json.loads(capsys.readouterr().out)
    assert on_file["split"] == "data" and on_file["data"] == str(data / "splits" / "test.csv")
    assert {k: v for k, v in on_file.items() if k not in ("split", "data")} == {k: v for k, v in ev.items()
                                                                                 if k != "split"}
    assert set(ev["per_class"]) == {"neg", "pos"} and 0 < ev["macro_f1"] <= 1
    assert sum(v["support"] for v in ev["per_class"].values()) == 50
    # the library's predictor is what classify prints
    from seqlab.training.classify_text import TextPredictor

    predictor = TextPredictor.from_checkpoint(out)
    assert predictor.labels == ["neg", "pos"] and predictor.predict([t for _, _, t in test]) == preds
    assert predictor.predict_proba([test[0][2], "good"]).shape == (2, 2)
    # --text (repeatable) first, then the file's lines; --probs adds the probability
    assert main(["classify", "--checkpoint", str(out), "--text", test[0][2], "--text", "good good",
                 "--file", str(lines), "--probs"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 52 and [r[0] for r in rows[2:]] == preds and rows[0][0] == preds[0]
    assert rows[1][0] == "pos" and all(0.5 <= float(r[1]) <= 1 for r in rows)


def test_classify_reads_standard_input_and_marks_empty_lines(run, tmp_path, capsys, monkeypatch):
    # one rule with `seqlab translate`: a blank line of the input gives a blank output line, and is
    # no failure; a line that is not UTF-8 is (a warning naming it, exit 2)
    stdin = b"\xef\xbb\xbfa good film\r\n\nthe bad plot\ncaf\xe9 good\n"  # a BOM, \r\n, a latin-1 line
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    assert main(["classify", "--checkpoint", str(run), "--file", "-"]) == 2  # the latin-1 line: exit 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["pos", "", "neg", ""]
    assert "line 2" not in captured.err and "empty" not in captured.err
    assert captured.err.startswith("seqlab: warning: standard input line 4: not UTF-8 text")
    assert len(captured.err.splitlines()) == 1
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"\n a good film\n  \t\nthe bad plot\n\n")))
    assert main(["classify", "--checkpoint", str(run), "--file", "-", "--top-k", "2"]) == 0  # blank lines only
    captured = capsys.readouterr()
    rows = captured.out.split("\n")
    assert rows[0] == rows[2] == rows[4] == rows[5] == "" and len(rows) == 6  # five lines, each ended
    assert rows[1].split("\t")[0] == "pos" and rows[3].split("\t")[0] == "neg" and captured.err == ""
    f = tmp_path / "texts.txt"
    f.write_text("a good film\n\n")
    assert main(["classify", "--checkpoint", str(run), "--file", str(f)]) == 0
    assert capsys.readouterr().out == "pos\n\n"
    # a blank --text was asked for: a warning naming it, a blank line, exit 2; the others are classified
    assert main(["classify", "--checkpoint", str(run), "--text", "the bad plot", "--text", " ", "--file", str(f)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "neg\n\npos\n\n"
    assert captured.err == "seqlab: warning: --text 2: an empty text, nothing to classify\n"


def test_classify_refuses_an_empty_standard_input_and_says_where_a_bad_byte_is(run, capsys, monkeypatch):
    # as translate reads its input (cli.input_lines): an empty stdin exited 0 silently, and a bad
    # byte was "not UTF-8 text" with no offset nor a way to convert it
    def stdin(data: bytes):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))

    capsys.readouterr()
    stdin(b"")
    assert main(["classify", "--checkpoint", str(run), "--file", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "seqlab: error: nothing to classify: standard input is empty\n"
    stdin(b"")
    assert main(["classify", "--checkpoint", str(run), "--text", "a good film", "--file", "-"]) == 0
    assert capsys.readouterr().out == "pos\n"  # the --text alone
    stdin(b"a good film\ncaf\xe9 good\n")
    assert main(["classify", "--checkpoint", str(run), "--file", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["pos", ""]
    assert ("seqlab: warning: standard input line 2: not UTF-8 text (bad byte at offset 3 of the line): convert "
            "the input, e.g. `iconv -f latin1 -t utf-8`") in captured.err
    stdin("a good film\n".encode("utf-16"))
    assert main(["classify", "--checkpoint", str(run), "--file", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "looks like UTF-16, not UTF-8: convert it, e.g. `iconv -f utf-16" in captured.err


def test_the_librarys_model_from_checkpoint_loads_a_text_run(run):
    # it imported classify_text.text_config, which no longer exists: every text checkpoint raised ImportError
    import torch

    from seqlab.data.labelled_text import PAD
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.classify import model_from_checkpoint
    from seqlab.training.classify_text import TextPredictor

    ckpt = load_checkpoint(run, "best")
    net, cfg = model_from_checkpoint(ckpt, torch.device("cpu"))
    assert cfg.data.data is not None and cfg.data.dataset is None and not net.training
    predictor = TextPredictor.from_checkpoint(ckpt)
    tokens, lengths = predictor.encode(["a good film, really"]).padded(torch.arange(1), predictor.vocab[PAD])
    with torch.no_grad():
        logits, want = net(tokens, lengths), predictor.net(tokens, lengths)  # (1, 2)
    assert logits.shape == (1, 2) and torch.equal(logits, want)
    assert torch.allclose(logits.softmax(1), predictor.predict_proba(["a good film, really"]))


def test_evaluate_data_refuses_a_folder_naming_a_file_to_give(run, data, tmp_path, capsys):
    # it gave training's folder message ("--data takes ... or a folder of ..."): evaluate scores one file
    capsys.readouterr()
    splits = data / "splits"
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(splits)]) == 2
    assert capsys.readouterr().err == (f"seqlab: error: '{splits}' is a folder: give one labelled text file "
                                       f"(e.g. {splits / 'test.csv'})\n")
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"'{tmp_path}' is a folder: give one labelled text file (e.g. {tmp_path / 'test.csv'})" in err
    assert "without train" not in err and len(err.splitlines()) == 1


def test_evaluate_matches_the_runs_validation_accuracy(run, data, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(run)]) == 0
    ev = json.loads(capsys.readouterr().out)
    best = max(r["valid_accuracy"] for r in read_metrics(run / "metrics.jsonl"))
    assert ev["split"] == "valid" and ev["tokens"] == 30 and ev["accuracy"] == pytest.approx(best)
    assert len(heldout_rows([label for label, _ in reviews(300, 0)])[1]) == 30
    assert main(["evaluate", "--checkpoint", str(run), "--split", "test"]) == 2
    assert "no test split (its --data has no test file)" in capsys.readouterr().err


def test_resume_matches_an_uninterrupted_run(data, tmp_path):
    args = ["train", "classify", "--data", str(data / "one.csv"), *SMALL, "--schedule", "none", "--dropout", "0.2"]
    assert main([*args, "--epochs", "3", "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--epochs", "1", "--out", str(tmp_path / "b")]) == 0
    assert main([*args, "--epochs", "3", "--out", str(tmp_path / "b"), "--resume"]) == 0
    a, b = read_metrics(tmp_path / "a" / "metrics.jsonl"), read_metrics(tmp_path / "b" / "metrics.jsonl")
    assert [r["epoch"] for r in b] == [1, 2, 3]
    for x, y in zip(a, b):
        assert x["train_loss"] == pytest.approx(y["train_loss"], rel=1e-5)
        assert x["valid_accuracy"] == y["valid_accuracy"]


def test_resume_and_evaluate_refuse_a_changed_file(data, tmp_path, capsys):
    f = write_csv(tmp_path / "d.csv", reviews(100, 5))
    args = ["train", "classify", "--data", str(f), *SMALL, "--epochs", "1", "--out", str(tmp_path / "r")]
    assert main(args) == 0
    write_csv(f, reviews(100, 6))
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "r")]) == 2
    assert "has changed since the run was trained" in capsys.readouterr().err
    assert main([*args[:-4], "--epochs", "2", "--out", str(tmp_path / "r"), "--resume"]) == 2
    assert "--resume: the run's --data" in capsys.readouterr().err


def test_checkpoints_refuse_the_other_kind_of_input(run, tiny_mnist_run, tmp_path, capsys):
    mnist, images = tiny_mnist_run
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(mnist), "--text", "a good film"]) == 2
    err = capsys.readouterr().err
    assert "holds an MNIST classifier (rows mode), which reads images, not text" in err and len(err.splitlines()) == 1
    images = str(images)
    assert main(["classify", "--checkpoint", str(mnist), "--images", images]) == 0
    plain = capsys.readouterr().out.split()
    assert main(["classify", "--checkpoint", str(mnist), "--images", images, "--probs"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [r[0] for r in rows] == plain and len(plain) == 6 and all(0.1 <= float(r[1]) <= 1 for r in rows)
    assert main(["classify", "--checkpoint", str(run), "--images", images]) == 2
    assert "holds a text classifier (labels 'neg', 'pos'), which reads text, not images" in capsys.readouterr().err
    assert main(["classify", "--checkpoint", str(run)]) == 2
    assert "nothing to classify: give --text" in capsys.readouterr().err
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("label,text\npos,a good film\n")
    assert main(["evaluate", "--checkpoint", str(mnist), "--data", str(labelled)]) == 2
    err = capsys.readouterr().err
    assert "--data scores a labelled text file with a text classifier; " in err and "holds an MNIST classifier" in err
    assert len(err.splitlines()) == 1
    assert main(["classify", "--checkpoint", str(run), "--file", str(labelled)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"seqlab: error: --file reads one plain text per line; to score a labelled file use seqlab "
                           f"evaluate --checkpoint DIR --data {labelled}")


def test_evaluate_data_refuses_a_label_the_run_never_saw(run, tmp_path, capsys):
    f = tmp_path / "other.tsv"
    f.write_text("label\ttext\npos\ta good film\n\nmeh\tso so\n")
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"label 'meh' ('{f}' line 4) is not among the run's labels ('neg', 'pos')" in err
    assert len(err.splitlines()) == 1


def test_punctuation_is_cut_off_words_at_training_and_prediction(run, data, tmp_path, capsys):
    from seqlab.training.classify_text import TextPredictor

    predictor = TextPredictor.from_checkpoint(run)
    (bang, mark), (plain,) = predictor.encode(["Good!"]).ids.tolist(), predictor.encode(["good"]).ids.tolist()
    assert bang == plain != predictor.vocab.unk and mark == predictor.vocab.unk  # (no "!" in the training texts)
    assert main(["classify", "--checkpoint", str(run), "--text", "good!", "--text", "Bad.", "--text", "good"]) == 0
    assert capsys.readouterr().out.split() == ["pos", "neg", "pos"]
    # --no-split-punct: whitespace words, as the checkpoint records and prediction repeats
    out = tmp_path / "ws"
    assert main(["train", "classify", "--data", str(data / "one.csv"), *SMALL, "--epochs", "1", "--no-split-punct",
                 "--out", str(out)]) == 0
    ws = TextPredictor.from_checkpoint(out)
    assert ws.data.split_punct is False and ws.encode(["good!"]).ids.tolist() == [ws.vocab.unk]


def test_rare_labels_train_and_integer_labels_are_ordered_numerically(tmp_path, capsys):
    # 18 labels 1..18: four rare ones (1, 2, 3 and 8 rows) and 14 of 10 to 36 rows, shuffled
    rng = random.Random(0)
    sizes = dict(zip(range(1, 19), [1, 2, 3, 8] + list(range(10, 38, 2))))
    rows = [(str(label), f"w{label} {rng.choice(FILLER)}") for label, n in sizes.items() for _ in range(n)]
    rng.shuffle(rows)
    f = write_csv(tmp_path / "stars.csv", rows)
    out = tmp_path / "r"
    assert main(["train", "classify", "--data", str(f), *SMALL, "--epochs", "1", "--min-freq", "1",
                 "--out", str(out)]) == 0
    assert "3 of the 18 labels have too few rows to hold any out ('1' 1, '2' 2, '3' 3 rows)" in capsys.readouterr().out
    from seqlab.training.checkpoint import load_checkpoint

    assert load_checkpoint(out, "best").meta["classes"] == [str(k) for k in range(1, 19)]
    assert main(["train", "classify", "--data", str(f), "--valid-fraction", "1", "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err
    assert "--valid-fraction must be between 0 and 1 (exclusive), got 1.0" in err and len(err.splitlines()) == 1


def test_per_class_figures_match_a_worked_example():
    import torch

    from seqlab.training.classify_text import class_report

    classes = ["a", "b", "c", "d", "e"]  # 'e' neither true nor predicted: left out, as scikit-learn does
    true = ["a", "a", "a", "a", "b", "b", "c", "c", "c", "c"]
    pred = ["a", "a", "b", "d", "b", "c", "c", "c", "a", "b"]
    ids = {c: i for i, c in enumerate(classes)}
    report = class_report(torch.tensor([ids[p] for p in pred]), torch.tensor([ids[t] for t in true]), classes)
    # confusion (rows true, columns predicted)   a  b  c  d
    #                                        a   2  1  0  1
    #                                        b   0  1  1  0
    #                                        c   1  1  2  0
    expected = {"a": (2 / 3, 2 / 4, 4 / 7, 4), "b": (1 / 3, 1 / 2, 2 / 5, 2), "c": (2 / 3, 2 / 4, 4 / 7, 4),
                "d": (0.0, 0.0, 0.0, 0)}  # d: predicted once, never right, no examples (zero_division 0)
    assert list(report["per_class"]) == ["a", "b", "c", "d"]
    for label, (p, r, f1, n) in expected.items():
        got = report["per_class"][label]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx((p, r, f1, n))
    assert report["macro_f1"] == pytest.approx((4 / 7 + 2 / 5 + 4 / 7 + 0) / 4)
    try:
        from sklearn.metrics import classification_report
    except ImportError:
        return
    sk = classification_report(true, pred, output_dict=True, zero_division=0)
    for label, got in report["per_class"].items():
        assert [got[k] for k in ("precision", "recall", "f1", "support")] == pytest.approx(
            [sk[label][k] for k in ("precision", "recall", "f1-score", "support")])
    assert report["macro_f1"] == pytest.approx(sk["macro avg"]["f1-score"])


def test_a_model_no_better_than_the_commonest_label_is_warned_about(capsys):
    import torch

    from seqlab.cli.classify import _warn_majority

    labels = torch.tensor([0] * 95 + [1] * 5)
    _warn_majority({"accuracy": 0.95, "count": 100, "macro_f1": 0.487}, labels, ["ham", "spam"])
    err = capsys.readouterr().err
    assert err.startswith("seqlab: warning: the model predicts the commonest label: its accuracy 0.9500 is within "
                          "0.005 of always predicting 'ham' (0.9500)")
    _warn_majority({"accuracy": 0.97, "count": 100, "macro_f1": 0.8}, labels, ["ham", "spam"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("content, extra, match", [
    ("label,body\npos,a\n", [], r"no column 'text' \(its columns: 'label', 'body'\)"),
    ("label,text\npos,a\nneg,\n", [], "line 3: empty text"),
    ("label,text\n" + "pos,a\n" * 20, [], r"one label only \('pos'\)"),
    ("label,text\npos,a\n", ["--mode", "pixels"], r"--mode is for MNIST \(--dataset mnist\), not labelled text"),
    ("label,text\npos,a\n", ["--dataset", "mnist"], "give --dataset mnist or --data FILE, not both"),
    ("label,text\npos,a\n", ["--max-len", "0"], "--max-len must be positive"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, content, extra, match):
    f = tmp_path / "d.csv"
    f.write_text(content)
    assert main(["train", "classify", "--data", str(f), *SMALL, "--epochs", "1", "--out", str(tmp_path / "r"),
                 *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert __import__("re").search(match, err), err


def test_not_utf8_and_text_options_without_data(tmp_path, capsys):
    f = tmp_path / "d.csv"
    f.write_bytes("label,text\npos,caf\u00e9\nneg,b\n".encode("latin-1"))
    assert main(["train", "classify", "--data", str(f), "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err
    assert main(["train", "classify", "--dataset", "mnist", "--level", "char", "--out", str(tmp_path / "m")]) == 2
    assert "--level is for labelled text (--data FILE), not MNIST" in capsys.readouterr().err


def test_help_documents_the_format(capsys):
    with pytest.raises(SystemExit):
        main(["train", "classify", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "header row names a 'label' and a 'text' column" in text and "(10%) of each label's rows" in text
    assert "a file sorted by label is fine" not in text and "for text try --lr 0.01" in text
    for flag in ("--epochs EPOCHS", "--batch-size BATCH_SIZE", "--eval-batch-size EVAL_BATCH_SIZE"):
        helped = text.split(flag)[-1].split("(default")[0]  # (the last mention: the option's own help)
        assert "examples" in helped and "images" not in helped


def test_the_library_takes_a_config_naming_a_file(data, tmp_path):
    # ClassifyConfig's dataset defaults to mnist: a config with `data` set trains on the text, and its
    # checkpoints record dataset none
    from seqlab.config import replace
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.classify import ClassifyConfig, train_classifier

    cfg = replace(ClassifyConfig(), data=str(data / "one.csv"), embed=8, hidden=8, layers=1, epochs=1,
                  out=str(tmp_path / "lib"))
    result = train_classifier(cfg, device="cpu", show_progress=False, log=lambda *a: None)
    assert result["epochs"] == 1 and result["majority_label"] in ("pos", "neg")
    meta = load_checkpoint(tmp_path / "lib", "last").meta
    assert meta["config"]["data"]["dataset"] is None and meta["classes"] == ["neg", "pos"]
    assert meta["vocab"]["idx_to_token"][:2] == ["<unk>", "<pad>"]


def test_a_file_gives_one_output_line_per_line_as_standard_input_does(run, tmp_path, capsys, monkeypatch):
    # a lone \r is a character of its line (stdin's lines end at \n only: a file's did not), and a file of
    # blank lines is read (blank in, blank out), not refused as "empty"
    for data, want in ((b"a good\rfilm\nthe bad plot\r\n", 2), (b"\n\n\n", 3), (b"  \n\t\n", 2)):
        path = tmp_path / "in.txt"
        path.write_bytes(data)
        capsys.readouterr()
        assert main(["classify", "--checkpoint", str(run), "--file", str(path)]) == 0
        from_file = capsys.readouterr().out.splitlines()
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
        assert main(["classify", "--checkpoint", str(run), "--file", "-"]) == 0
        assert from_file == capsys.readouterr().out.splitlines() and len(from_file) == want
    assert from_file == ["", ""]
    (tmp_path / "empty.txt").write_bytes(b"")
    assert main(["classify", "--checkpoint", str(run), "--file", str(tmp_path / "empty.txt")]) == 2
    assert "is empty: give one text per line" in capsys.readouterr().err


def test_evaluate_data_without_the_runs_columns_says_to_rename_them(run, tmp_path, capsys):
    # evaluate has no --label-column: it said "name the column with --label-column", which argparse refuses
    f = tmp_path / "other.csv"
    f.write_text("sentiment,text\npos,a good film\n")
    assert main(["evaluate", "--checkpoint", str(run), "--data", str(f)]) == 2
    err = capsys.readouterr().err
    assert "no column 'label'" in err and "--label-column" not in err
    assert "its labels from column 'label' and its texts from column 'text'" in err
    assert len(err.splitlines()) == 1


def test_a_tie_for_the_commonest_label_names_the_label_predicted(capsys):
    import torch

    from seqlab.cli.classify import _warn_majority

    labels = torch.tensor([0] * 15 + [1] * 15)  # a tie: neither label is the commonest
    per_class = {"neg": {"recall": 0.0}, "pos": {"recall": 1.0}}  # it always predicts 'pos'
    _warn_majority({"accuracy": 0.5, "count": 30, "macro_f1": 0.333, "per_class": per_class}, labels, ["neg", "pos"])
    err = capsys.readouterr().err
    assert "commonest label:" not in err and "'neg' (0.5000)" not in err
    assert err.startswith("seqlab: warning: the model predicts 'pos' for every text: its accuracy 0.5000 is within "
                          "0.005 of always predicting any of the 2 labels tied as the commonest ('neg', 'pos': "
                          "0.5000 each)")
    mixed = {"neg": {"recall": 0.5}, "pos": {"recall": 0.5}}
    _warn_majority({"accuracy": 0.5, "count": 30, "macro_f1": 0.5, "per_class": mixed}, labels, ["neg", "pos"])
    assert capsys.readouterr().err.startswith("seqlab: warning: the model does no better than always predicting "
                                              "one label: ")


def test_a_text_of_unknown_words_only_gets_a_note(run, capsys):
    # (translate notes or refuses such a line; classify labelled it without a word)
    assert main(["classify", "--checkpoint", str(run), "--text", "zzyzx qwxv", "--text", "a good film zzyzx"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert captured.err == ("seqlab: note: --text 1: every word is unknown to the model (none is in its vocabulary): "
                            "its label says nothing of the text\n")
