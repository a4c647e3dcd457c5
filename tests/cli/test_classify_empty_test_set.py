"""An MNIST test set of no examples is bad input (exit 2, one line saying so), not an accuracy: `seqlab
classify --images F --labels L` on files of 0 images and 0 labels printed {"accuracy": null} (a NaN), and
`seqlab evaluate` on an empty t10k split printed {"accuracy": 0.0, "tokens": 0}."""

import numpy as np

from seqlab.cli import main
from seqlab.data.mnist import write_idx


def _one_line_error(capsys) -> str:
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("seqlab: error: ") and "Traceback" not in err, err
    assert out == ""  # no JSON with an accuracy
    return err


def test_classify_refuses_images_and_labels_of_no_example(tiny_mnist_run, tmp_path, capsys):
    out, _ = tiny_mnist_run
    images, labels = tmp_path / "none-images-idx3-ubyte", tmp_path / "none-labels-idx1-ubyte"
    write_idx(images, np.zeros((0, 28, 28), np.uint8))
    write_idx(labels, np.zeros((0,), np.uint8))
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(out), "--images", str(images), "--labels", str(labels)]) == 2
    err = _one_line_error(capsys)
    assert "hold no examples" in err and str(images) in err and str(labels) in err
    # without --labels there is no accuracy to give: no line per image, as for any file
    assert main(["classify", "--checkpoint", str(out), "--images", str(images)]) == 0
    assert capsys.readouterr().out == ""


def test_classify_and_evaluate_refuse_an_empty_mnist_test_set(tiny_mnist_run, capsys):
    out, t10k_images = tiny_mnist_run
    write_idx(t10k_images, np.zeros((0, 28, 28), np.uint8))
    write_idx(t10k_images.parent / "t10k-labels-idx1-ubyte.gz", np.zeros((0,), np.uint8))
    capsys.readouterr()
    assert main(["classify", "--checkpoint", str(out)]) == 2
    assert "holds no examples" in _one_line_error(capsys)
    assert main(["evaluate", "--checkpoint", str(out), "--split", "test"]) == 2
    err = _one_line_error(capsys)
    assert "holds no examples" in err and "t10k-images" in err
