"""`seqlab classify`'s accuracy is the count ratio, as `seqlab evaluate`'s (a new-user review: classify printed
{"accuracy": 0.7907999753952026} where evaluate printed 0.7908: a float32 mean)."""

import json

import numpy as np

from seqlab.cli import main
from seqlab.data.mnist import write_idx


def test_classify_accuracy_is_correct_over_total(tiny_mnist_run, tmp_path, capsys):
    out, _ = tiny_mnist_run
    images = tmp_path / "seven-images-idx3-ubyte"
    write_idx(images, np.random.default_rng(3).integers(0, 255, (7, 28, 28)).astype(np.uint8))
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(out), "--images", str(images)]) == 0
    predicted = [int(line) for line in capsys.readouterr().out.split()]
    assert len(predicted) == 7
    # labels that agree with the first 3 predictions only: 3 of 7 right, a ratio float32 cannot hold
    labels = tmp_path / "seven-labels-idx1-ubyte"
    write_idx(labels, np.array([p if i < 3 else (p + 1) % 10 for i, p in enumerate(predicted)], dtype=np.uint8))
    assert main(["classify", "--checkpoint", str(out), "--images", str(images), "--labels", str(labels)]) == 0
    summary = json.loads(capsys.readouterr().err)
    assert summary == {"accuracy": 3 / 7, "tokens": 7}  # 0.42857142857142855, not float32's 0.4285714328289032


def test_classify_and_evaluate_print_the_same_test_set_accuracy(tiny_mnist_run, capsys):
    out, _ = tiny_mnist_run
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(out)]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--checkpoint", str(out), "--split", "test"]) == 0
    theirs = json.loads(capsys.readouterr().out)
    assert ours["tokens"] == theirs["tokens"] == 6
    assert ours["accuracy"] == theirs["accuracy"] and ours["accuracy"] * 6 == round(ours["accuracy"] * 6)
