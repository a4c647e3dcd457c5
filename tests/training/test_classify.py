"""Classification training on a tiny synthetic idx data set: learning, metrics, checkpoints, resume."""

import numpy as np
import pytest

from seqlab import SeqlabError
from seqlab.config import replace
from seqlab.data.mnist import write_idx
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.classify import ClassifyConfig, _lr_at, train_classifier
from seqlab.training.metrics import read_metrics


def make_digits(root, n_train=300, n_test=100, seed=0):
    """Noisy images whose label is which pair of columns is bright (every row shows it)."""
    rng = np.random.default_rng(seed)
    for name, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
        for i, y in enumerate(labels):
            images[i, :, 2 * y + 4: 2 * y + 6] = 250
        write_idx(root / f"{name}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{name}-labels-idx1-ubyte.gz", labels)
    return root


def tiny_config(root, out, **changes):
    cfg = replace(ClassifyConfig(), data_dir=str(root), valid_size=50, hidden=16, layers=1, epochs=6,
                  lr=0.02, batch_size=25, out=str(out), eval_batch_size=64)
    return replace(cfg, **changes)


def quiet(*a, **k):
    pass


def test_learns_the_synthetic_task_and_logs_spec_keys(tmp_path):
    root = make_digits(tmp_path)
    result = train_classifier(tiny_config(root, tmp_path / "run"), device="cpu", show_progress=False, log=quiet)
    records = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert {"epoch", "train_loss", "valid_loss", "tokens_per_sec", "lr", "wall_s", "valid_accuracy",
            "test_accuracy"} <= set(records[0])
    assert len(records) == 6 and records[-1]["valid_accuracy"] >= 0.9 and result["test_accuracy"] >= 0.9
    # tokens/s counts sequence steps: 28 per image in rows mode
    assert records[0]["tokens_per_sec"] == pytest.approx(28 * records[0]["images_per_sec"])
    best = load_checkpoint(tmp_path / "run", "best").meta
    assert best["valid_accuracy"] == max(r["valid_accuracy"] for r in records)
    assert (tmp_path / "run" / "accuracy.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_matches_an_uninterrupted_run(tmp_path):
    root = make_digits(tmp_path)
    train_classifier(tiny_config(root, tmp_path / "a", epochs=3), device="cpu", show_progress=False, log=quiet)
    a = read_metrics(tmp_path / "a" / "metrics.jsonl")
    # the same run stopped after epoch 1, then resumed to 3
    d = tmp_path / "d"
    train_classifier(tiny_config(root, d, epochs=1), device="cpu", show_progress=False, log=quiet)
    logs = []
    train_classifier(tiny_config(root, d, epochs=3, resume=True), device="cpu", show_progress=False,
                     log=lambda *a, **k: logs.append(" ".join(map(str, a))))
    b = read_metrics(d / "metrics.jsonl")
    assert [r["epoch"] for r in b] == [1, 2, 3]
    # the cosine is re-drawn over 3 epochs: epoch 2 trains at 0.02 * 0.525, and the run says so (it was silent)
    assert b[1]["lr"] == pytest.approx(0.02 * 0.525)
    assert ("the cosine schedule now spans 3 epochs instead of 1: the learning rate goes from 0.02 to 0.0105 "
            "where the run resumes after epoch 1") in logs
    # epoch 1 ran with epochs=1 (its cosine lr is the full lr either way); epochs 2-3 continue exactly
    for ra, rb in zip(a, b):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-5)
        assert ra["valid_accuracy"] == rb["valid_accuracy"]


def test_pixel_mode_and_seed_style_sgd(tmp_path):
    root = make_digits(tmp_path, n_train=60, n_test=20)
    cfg = tiny_config(root, tmp_path / "p", mode="pixels", epochs=1, valid_size=0, optimizer="sgd",
                      momentum=0.5, lr=0.01, clip=0.0, schedule="none")
    result = train_classifier(cfg, device="cpu", show_progress=False, log=quiet)
    r = read_metrics(tmp_path / "p" / "metrics.jsonl")[0]
    assert r["tokens_per_sec"] == pytest.approx(784 * r["images_per_sec"]) and r["lr"] == 0.01
    assert r["valid_accuracy"] == r["test_accuracy"] == result["test_accuracy"]  # valid_size 0: test validates
    # the checkpoint of a pixels run loads as a 1-feature model and scores what was recorded
    import torch

    from seqlab.training.classify import evaluate_accuracy, model_from_checkpoint
    from seqlab.training.classify_images import load_splits

    net, loaded = model_from_checkpoint(load_checkpoint(tmp_path / "p", "best"), torch.device("cpu"))
    assert loaded.data.mode == "pixels"
    x, y = load_splits(loaded.data).valid
    assert evaluate_accuracy(net, x, y, torch.device("cpu"))["accuracy"] == r["valid_accuracy"]


def test_cosine_schedule():
    cfg = replace(ClassifyConfig(), lr=0.1, epochs=5).train
    lrs = [_lr_at(cfg, e) for e in range(5)]
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] == pytest.approx(0.005) and lrs == sorted(lrs, reverse=True)


@pytest.mark.parametrize("changes, message", [
    (dict(valid_size=300), "leaves no training images"),
    (dict(epochs=0), "--epochs must be positive"),
    (dict(train_limit=-1), "--train-limit must be >= 0"),
    (dict(clip=-1.0), "--clip must be >= 0"),
])
def test_bad_options(tmp_path, changes, message):
    root = make_digits(tmp_path, n_train=300, n_test=10)
    with pytest.raises(SeqlabError, match=message):
        train_classifier(tiny_config(root, tmp_path / "x", **changes), device="cpu", log=quiet)


def test_ready_configs_hold_the_seeds_recipe():
    from pathlib import Path

    from seqlab.config import build_config

    root = Path(__file__).resolve().parents[2] / "configs"
    seed = build_config(ClassifyConfig, {"config": str(root / "mnist_rows_seed.toml")})
    assert (seed.model.hidden, seed.model.layers, seed.train.optimizer, seed.train.lr, seed.train.momentum,
            seed.train.batch_size, seed.train.epochs, seed.data.mode) == (10, 2, "sgd", 0.01, 0.5, 64, 20, "rows")
    assert seed.train.clip == 0 and seed.train.schedule == "none" and seed.data.valid_size == 0
    strong = build_config(ClassifyConfig, {"config": str(root / "mnist_rows_strong.toml")})
    assert strong.model.hidden == 128 and strong.data.valid_size == 5000


def test_accuracy_is_measured_in_eval_mode_and_restores_the_mode():
    import torch

    from seqlab.models.classifier import SequenceClassifier
    from seqlab.training.classify import evaluate_accuracy

    torch.manual_seed(0)
    net = SequenceClassifier(5, 3, hidden=16, layers=3, dropout=0.5)
    x, y = torch.randn(64, 6, 5), torch.randint(0, 3, (64,))
    net.train()
    cpu = torch.device("cpu")
    a, b = evaluate_accuracy(net, x, y, cpu), evaluate_accuracy(net, x, y, cpu)
    assert net.training
    net.eval()
    assert a == b == evaluate_accuracy(net, x, y, cpu)
    assert evaluate_accuracy(net, x, y, cpu, batch_size=5) == pytest.approx(a)  # a last batch of 4
    for bad in (0, -1, 2.5):  # range() raised on 0; -1 read nothing and scored accuracy 0.0
        with pytest.raises(SeqlabError, match=f"batch_size must be a positive integer, got {bad}"):
            evaluate_accuracy(net, x, y, cpu, batch_size=bad)


def test_progress_bar_on_off_and_auto(capsys):
    # enabled=False (--no-progress) prints nothing; True draws the bar; None: only on a terminal
    # (pytest's captured stderr is not one)
    from seqlab.training.progress import progress

    for enabled, drawn in ((False, False), (True, True), (None, False)):
        assert list(progress(range(3), desc="epoch 1/1", enabled=enabled, leave=True)) == [0, 1, 2]
        assert ("epoch 1/1" in capsys.readouterr().err) is drawn, enabled


def test_validation_split_is_the_last_training_images(tmp_path):
    # --valid-size 50 of 300 training images: the first 250 train, the last 50 validate, the test
    # set stays whole; all normalised with the MNIST constants
    import torch

    from seqlab.data.mnist import load_mnist, normalize
    from seqlab.training.classify_images import load_splits

    root = make_digits(tmp_path, n_train=300, n_test=30)
    images, labels = load_mnist("train", root)
    s = load_splits(tiny_config(root, tmp_path / "x").data)
    assert not s.valid_is_test
    assert torch.equal(s.train[1], labels[:250]) and torch.equal(s.valid[1], labels[250:])
    assert torch.equal(s.train[0], normalize(images[:250])) and torch.equal(s.valid[0], normalize(images[250:]))
    assert s.test[0].shape == (30, 28, 28) and torch.equal(s.test[1], load_mnist("test", root)[1])


def _scripted_run(tmp_path, monkeypatch, valid, test, calls=None):
    """A 4-epoch run whose validation and test accuracies are `valid` and `test`, epoch by epoch."""
    import seqlab.training.classify_images as tc  # (ImageSequences.evaluate calls its evaluate_accuracy)

    valid, test = iter(valid), iter(test)

    def scripted(net, x, y, device, batch_size=1000):
        if calls is not None:
            calls.append(len(x))
        acc = next(valid) if len(x) == 50 else next(test)
        return {"loss": 1 - acc, "accuracy": acc, "count": len(x)}

    monkeypatch.setattr(tc, "evaluate_accuracy", scripted)
    root = make_digits(tmp_path, n_train=100, n_test=20)
    return train_classifier(tiny_config(root, tmp_path / "run", epochs=4), device="cpu", show_progress=False,
                            log=quiet)


def test_best_checkpoint_is_the_epoch_of_highest_validation_accuracy(tmp_path, monkeypatch):
    # scripted evaluations: validation peaks at epoch 2 (0.9), then a worse epoch 3 and a partial
    # recovery at epoch 4; the test set (never used to choose) peaks at epoch 3
    calls = []
    result = _scripted_run(tmp_path, monkeypatch, valid=[0.5, 0.9, 0.6, 0.7], test=[0.9, 0.1, 0.95, 0.2],
                           calls=calls)
    assert calls == [50, 20] * 4  # valid (50 held out), then test, every epoch
    best = load_checkpoint(tmp_path / "run", "best").meta
    assert best["epoch"] == 2 and best["valid_accuracy"] == 0.9 and best["test_accuracy"] == 0.1
    assert result["best_valid_accuracy"] == 0.9 and load_checkpoint(tmp_path / "run", "last").meta["epoch"] == 4
    # the result's test accuracy is the shipped (best) checkpoint's, the last epoch's beside it (it gave epoch
    # 4's 0.2 next to epoch 2's 0.9: a test figure that belonged to no checkpoint evaluate uses)
    assert (result["best_epoch"], result["test_accuracy"], result["last_test_accuracy"]) == (2, 0.1, 0.2)


def test_a_tie_in_validation_accuracy_keeps_the_first_epoch_and_the_result_says_so(tmp_path, monkeypatch):
    result = _scripted_run(tmp_path, monkeypatch, valid=[0.5, 0.9, 0.9, 0.9], test=[0.3, 0.4, 0.6, 0.7])  # 2-4 tie
    shipped = load_checkpoint(tmp_path / "run", "best").meta
    assert shipped["epoch"] == 2 and shipped["test_accuracy"] == 0.4
    assert (result["best_epoch"], result["test_accuracy"], result["last_test_accuracy"]) == (2, 0.4, 0.7)


def test_stop_signal_ends_the_run_keeping_the_last_finished_epoch(tmp_path):
    import os
    import signal

    from seqlab.training.guard import TrainingInterrupted

    root = make_digits(tmp_path, n_train=100, n_test=20)

    def log(line):  # SIGTERM right after epoch 1 is logged (its checkpoints are saved before)
        if line.startswith("epoch 1:"):
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted, match="SIGTERM during epoch 2; the checkpoint of epoch 1"):
        train_classifier(tiny_config(root, tmp_path / "run", epochs=4), device="cpu", show_progress=False, log=log)
    assert load_checkpoint(tmp_path / "run", "last").meta["epoch"] == 1
    assert len(read_metrics(tmp_path / "run" / "metrics.jsonl")) == 1


def test_a_bad_step_recorded_on_the_device_stops_the_epoch_before_any_save(tmp_path, monkeypatch):
    # off the CPU the guard records a non-finite step on the device (no read per step) and the epoch's
    # end must say it: the trainer never called guard.finish (its guard was always eager). A lazy
    # guard on the CPU stands in for the GPU's
    import seqlab.training.classify as classify
    from seqlab.training.guard import NonFiniteLoss, StepGuard

    import torch

    monkeypatch.setattr(classify, "StepGuard", lambda **kw: StepGuard(**{**kw, "eager": False}))
    real, calls = classify.loss_sums, []

    def nan_at_step_3(*a):
        calls.append(1)
        objective, plain = real(*a)
        return objective * (float("nan") if len(calls) == 3 and torch.is_grad_enabled() else 1.0), plain
    monkeypatch.setattr(classify, "loss_sums", nan_at_step_3)
    root = make_digits(tmp_path, n_train=300, n_test=10)
    out = tmp_path / "run"
    with pytest.raises(NonFiniteLoss, match="non-finite at epoch 1 step 3;"):
        train_classifier(tiny_config(root, out), device="cpu", log=quiet)
    assert not (out / "last.safetensors").exists() and not (out / "best.safetensors").exists()
