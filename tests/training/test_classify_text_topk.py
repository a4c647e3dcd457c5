"""The K most probable labels: TextPredictor.top_k and `seqlab classify --top-k K` (texts and MNIST
--images), and every label's probability in label order (`--all-labels`), checked against the
softmax of the model's logits computed here."""

import csv
import io
import random

import pytest
import torch

from seqlab import SeqlabError
from seqlab.cli import main
from seqlab.data.labelled_text import PAD
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.classify import model_from_checkpoint
from seqlab.training.classify_text import TextPredictor, top_k

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster, and shares a busy CPU

TEXTS = ["a good film", "the bad plot", "so so really", "good bad", "meh"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 3-label text run (one epoch: top-k is about the model's probabilities, not its skill)."""
    root = tmp_path_factory.mktemp("topk")
    rng = random.Random(0)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["label", "text"])
    for _ in range(120):
        label = rng.choice(["pos", "neg", "meh"])
        word = {"pos": "good", "neg": "bad", "meh": "so"}[label]
        w.writerow([label, f"the {word} film {rng.choice(['really', 'plot', 'a'])}"])
    (root / "d.csv").write_text(buf.getvalue())
    out = root / "run"
    assert main(["train", "classify", "--data", str(root / "d.csv"), "--embed", "8", "--hidden", "8", "--layers",
                 "1", "--epochs", "1", "--lr", "0.01", "--no-progress", "--out", str(out)]) == 0
    return out


def direct_probs(run, texts):
    """Each text's softmax of the logits of the checkpoint's network, run here on the padded batch."""
    ckpt = load_checkpoint(run, "best")
    net, _ = model_from_checkpoint(ckpt, torch.device("cpu"))
    predictor = TextPredictor.from_checkpoint(ckpt)
    tokens, lengths = predictor.encode(texts).padded(torch.arange(len(texts)), predictor.vocab[PAD])
    with torch.no_grad():
        return net(tokens, lengths).softmax(1), ckpt.meta["classes"]  # (N, C)


def test_the_librarys_top_k_is_the_softmax_sorted(run):
    probs, classes = direct_probs(run, TEXTS)
    predictor = TextPredictor.from_checkpoint(run)
    for k in (1, 2, 3):
        got = predictor.top_k(TEXTS, k)
        assert len(got) == len(TEXTS) and all(len(row) == k for row in got)
        for row, p in zip(got, probs.tolist()):
            want = sorted(zip(classes, p), key=lambda lp: -lp[1])[:k]
            assert [label for label, _ in row] == [label for label, _ in want]
            assert [q for _, q in row] == pytest.approx([q for _, q in want], abs=1e-6)
    assert [row[0][0] for row in predictor.top_k(TEXTS, 1)] == predictor.predict(TEXTS)
    assert sum(q for _, q in predictor.top_k(["good"], 3)[0]) == pytest.approx(1.0)
    with pytest.raises(SeqlabError, match="k must be between 1 and this model's 3 labels, got 4"):
        predictor.top_k(TEXTS, 4)
    for k in (0, 2.0, True):  # not a count (2.0 raised a TypeError in torch.topk; True was read as 1)
        with pytest.raises(SeqlabError, match=r"k must be a positive integer \(at most this model's 3 labels\)"):
            predictor.top_k(TEXTS, k)


def test_ties_keep_label_order():
    probs = torch.tensor([[0.25, 0.5, 0.25], [1 / 3, 1 / 3, 1 / 3]])
    values, columns = top_k(probs, 3)
    assert columns.tolist() == [[1, 0, 2], [0, 1, 2]] and values[0].tolist() == [0.5, 0.25, 0.25]
    assert columns[:, 0].tolist() == probs.argmax(1).tolist()


def test_classify_top_k_prints_label_probability_pairs_best_first(run, tmp_path, capsys):
    probs, classes = direct_probs(run, TEXTS)
    f = tmp_path / "texts.txt"
    f.write_text("\n".join(TEXTS[1:3]) + "\n\n" + "\n".join(TEXTS[3:]) + "\n")  # a blank line in the middle
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(run), "--text", TEXTS[0], "--file", str(f), "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[3] == "" and len(lines) == 6  # the blank line stays blank
    for line, p in zip(lines[:3] + lines[4:], probs.tolist()):
        fields = line.split("\t")
        assert len(fields) == 4
        want = sorted(zip(classes, p), key=lambda lp: -lp[1])[:2]
        assert fields[0::2] == [label for label, _ in want]
        assert [float(q) for q in fields[1::2]] == pytest.approx([q for _, q in want], abs=5e-5)  # 4 decimals
    # --probs is --top-k 1
    assert main(["classify", "--checkpoint", str(run), "--text", TEXTS[0], "--file", str(f), "--probs"]) == 0
    probs_out = capsys.readouterr().out
    assert main(["classify", "--checkpoint", str(run), "--text", TEXTS[0], "--file", str(f), "--top-k", "1"]) == 0
    assert capsys.readouterr().out == probs_out
    assert [line.split("\t")[:2] for line in probs_out.splitlines()] == [line.split("\t")[:2] if line else [""]
                                                                         for line in lines]


@pytest.mark.parametrize("k, message", [
    ("4", "--top-k 4 is more than the model's 3 labels ('meh', 'neg', 'pos'): give --top-k 3 or less"),
    ("0", "--top-k must be at least 1, got 0"),
])
def test_classify_refuses_a_k_out_of_range(run, capsys, k, message):
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(run), "--text", "good", "--top-k", k]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"seqlab: error: {message}\n"


def _mnist_probs(out, images) -> torch.Tensor:
    """The tiny MNIST run's softmax over its 6 images (6, 10), computed directly from the network."""
    from seqlab.data.mnist import as_sequences, normalize, read_idx

    net, cfg = model_from_checkpoint(load_checkpoint(out, "best"), torch.device("cpu"))
    with torch.no_grad():
        return net(as_sequences(normalize(read_idx(images, "images")), cfg.data.mode)).softmax(1)


def test_mnist_images_top_k(tiny_mnist_run, capsys):
    out, images = tiny_mnist_run
    probs = _mnist_probs(out, images)
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(out), "--images", str(images), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    for line, p in zip(lines, probs):
        fields = line.split("\t")
        values, digits = p.sort(descending=True, stable=True)
        assert fields[0::2] == [str(d) for d in digits[:3].tolist()]
        assert [float(q) for q in fields[1::2]] == pytest.approx(values[:3].tolist(), abs=5e-5)
    assert main(["classify", "--checkpoint", str(out), "--images", str(images), "--top-k", "11"]) == 2
    assert "--top-k 11 is more than the model's 10 labels ('0', '1', '2', '3', '4', ...)" in capsys.readouterr().err
    assert main(["classify", "--checkpoint", str(out), "--top-k", "2"]) == 2
    assert "--top-k prints each image's most probable digits: give --images FILE" in capsys.readouterr().err


def test_all_labels_prints_every_labels_probability_in_label_order(run, tmp_path, capsys):
    probs, classes = direct_probs(run, TEXTS)
    predictor = TextPredictor.from_checkpoint(run)
    api = predictor.predict_proba(TEXTS)  # (5, 3): the library's twin, column j is labels[j]
    assert predictor.labels == classes == ["meh", "neg", "pos"]  # the checkpoint's order (evaluate's per_class)
    assert api.sum(1).tolist() == pytest.approx([1.0] * len(TEXTS), abs=1e-6)
    assert torch.allclose(api, probs, rtol=0, atol=1e-6)
    f = tmp_path / "texts.txt"
    f.write_text("\n".join(TEXTS[1:3]) + "\n\n" + "\n".join(TEXTS[3:]) + "\n")  # a blank line in the middle
    argv = ["classify", "--checkpoint", str(run), "--text", TEXTS[0], "--file", str(f)]
    capsys.readouterr()
    assert main([*argv, "--all-labels"]) == 0
    lines = capsys.readouterr().out.splitlines()
    want = ["\t".join(f"{c}\t{q:.4f}" for c, q in zip(classes, row)) for row in api.tolist()]
    assert lines == want[:3] + [""] + want[3:]  # the blank line stays blank
    for line in lines[:3] + lines[4:]:
        fields = line.split("\t")
        assert fields[0::2] == classes
        assert sum(map(float, fields[1::2])) == pytest.approx(1.0, abs=len(classes) * 5e-5)  # 4 decimals each
    # --top-k 3 prints the same pairs, ranked
    assert main([*argv, "--top-k", "3"]) == 0
    ranked = capsys.readouterr().out.splitlines()
    as_dict = [dict(zip(line.split("\t")[0::2], line.split("\t")[1::2])) for line in ranked]
    assert ["\t".join(f"{c}\t{d[c]}" for c in classes) if d else "" for d in as_dict] == lines


@pytest.mark.parametrize("other, message", [
    (["--top-k", "2"], "give --all-labels (every label's probability, in label order) or --top-k 2 (the 2 most "
                       "probable, ranked), not both"),
    (["--probs"], "give --all-labels (every label's probability, in label order) or --probs (the predicted label's "
                  "probability), not both"),
])
def test_all_labels_refuses_top_k_and_probs(run, capsys, other, message):
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(run), "--text", "good", "--all-labels", *other]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"seqlab: error: {message}\n"


def test_mnist_images_all_labels(tiny_mnist_run, capsys):
    out, images = tiny_mnist_run
    probs = _mnist_probs(out, images)
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(out), "--images", str(images), "--all-labels"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    for line, p in zip(lines, probs.tolist()):
        fields = line.split("\t")
        assert fields[0::2] == [str(d) for d in range(10)]
        assert [float(q) for q in fields[1::2]] == pytest.approx(p, abs=5e-5)
    assert main(["classify", "--checkpoint", str(out), "--all-labels"]) == 2
    assert "--all-labels prints each image's probability of each digit: give --images FILE" in capsys.readouterr().err
