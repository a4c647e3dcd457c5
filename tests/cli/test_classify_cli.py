"""`seqlab train classify`, `seqlab classify`, `seqlab evaluate` on classify runs; bad input exits 2."""

import gzip
import json
import shutil

import numpy as np
import pytest

from seqlab.cli import main
from seqlab.data.mnist import write_idx


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(1)
    for name, n in (("train", 200), ("t10k", 60)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
        for i, y in enumerate(labels):
            images[i, :, 2 * y + 4: 2 * y + 6] = 250
        write_idx(root / f"{name}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{name}-labels-idx1-ubyte.gz", labels)
    return root


@pytest.fixture(scope="module")
def run_dir(digits):
    out = digits / "run"
    assert main(["train", "classify", "--dataset", "mnist", "--mode", "rows", "--data-dir", str(digits),
                 "--hidden", "16", "--layers", "1", "--optimizer", "adam", "--lr", "0.02", "--batch-size", "20",
                 "--epochs", "4", "--valid-size", "40", "--seed", "1", "--out", str(out), "--no-progress"]) == 0
    return out


def test_train_writes_metrics_and_checkpoints(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 4 and "valid_accuracy" in json.loads(lines[0])
    assert (run_dir / "best.safetensors").is_file() and (run_dir / "last.safetensors").is_file()


def test_evaluate_and_classify_agree(run_dir, digits, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(run_dir)]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["tokens"] == 60 and ev["split"] == "test" and ev["accuracy"] > 0.5
    assert main(["evaluate", "--checkpoint", str(run_dir), "--split", "valid"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == 40
    assert main(["classify", "--checkpoint", str(run_dir)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tokens"] == 60 and summary["accuracy"] == pytest.approx(ev["accuracy"])  # the 60 test images
    images, labels = digits / "t10k-images-idx3-ubyte.gz", digits / "t10k-labels-idx1-ubyte.gz"
    assert main(["classify", "--checkpoint", str(run_dir), "--images", str(images), "--labels", str(labels)]) == 0
    captured = capsys.readouterr()
    preds = [int(p) for p in captured.out.split()]
    truth = list(gzip.decompress(labels.read_bytes())[8:])
    assert len(preds) == 60 and np.mean(np.array(preds) == np.array(truth)) == pytest.approx(ev["accuracy"])
    assert json.loads(captured.err)["accuracy"] == pytest.approx(ev["accuracy"])


def test_classify_scores_the_test_set_evaluate_scores(digits, tmp_path, capsys):
    # a run trained with --test-limit: `seqlab classify` (no --images) scored all 60 test images while
    # `seqlab evaluate` scored the run's first 25, both printing only an accuracy and a count
    out = tmp_path / "limited"
    assert main(["train", "classify", "--dataset", "mnist", "--mode", "rows", "--data-dir", str(digits),
                 "--hidden", "8", "--layers", "1", "--batch-size", "50", "--epochs", "1", "--valid-size", "40",
                 "--test-limit", "25", "--seed", "1", "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out)]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert main(["classify", "--checkpoint", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert ev["tokens"] == summary["tokens"] == 25 and summary["accuracy"] == pytest.approx(ev["accuracy"])


def test_config_file_and_resume(run_dir, digits, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\ndata_dir = "{digits}"\nvalid_size = 0\nmode = "pixels"\ntrain_limit = 40\n'
                   '[model]\nhidden = 4\nlayers = 1\n[train]\nepochs = 1\nbatch_size = 20\n')
    out = tmp_path / "r"
    assert main(["train", "classify", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    assert main(["train", "classify", "--config", str(cfg), "--epochs", "2", "--resume", "--out", str(out),
                 "--no-progress"]) == 0
    assert "after epoch 1: epoch 2 to train" in capsys.readouterr().out
    # asked for fewer epochs than the run has: nothing to train, and it says so (it was silent)
    assert main(["train", "classify", "--config", str(cfg), "--epochs", "1", "--resume", "--out", str(out),
                 "--no-progress"]) == 0
    assert "has trained 2 epochs and --epochs is 1: nothing to train" in capsys.readouterr().out
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2] and records[0]["tokens_per_sec"] > 0


def test_bad_input_exits_2(digits, run_dir, tmp_path, capsys):
    bad = tmp_path / "bad"
    shutil.copytree(digits, bad, ignore=shutil.ignore_patterns("run"))
    # labels file given where images are expected: wrong magic number
    shutil.copy(bad / "train-labels-idx1-ubyte.gz", bad / "train-images-idx3-ubyte.gz")
    cut = tmp_path / "cut"
    shutil.copytree(digits, cut, ignore=shutil.ignore_patterns("run"))
    blob = (cut / "t10k-images-idx3-ubyte.gz").read_bytes()
    (cut / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(gzip.decompress(blob)[:-5]))
    cases = [
        (["train", "classify", "--data-dir", str(bad), "--out", str(tmp_path / "o")], "magic number 2049"),
        (["train", "classify", "--data-dir", str(cut), "--out", str(tmp_path / "o")], "is truncated"),
        (["train", "classify", "--data-dir", str(digits), "--valid-size", "500", "--out", str(tmp_path / "o")],
         "leaves no training images"),
        (["classify", "--checkpoint", str(run_dir), "--labels", "x"], "--labels needs --images"),
        (["classify", "--checkpoint", str(run_dir), "--images", str(bad / "train-images-idx3-ubyte.gz")],
         "magic number 2049"),
        (["evaluate", "--checkpoint", str(tmp_path / "nothing")], "not found"),
    ]
    for argv, message in cases:
        assert main(argv + (["--no-progress"] if argv[0] == "train" else [])) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["train", "classify", "--mode", "columns"])
    assert exc.value.code == 2
