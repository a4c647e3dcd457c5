"""Class weights for imbalanced labelled text (--class-weights balanced), and choosing the best epoch by
macro-F1 (--select macro_f1): the weighted loss by hand and against torch's, the weights as
scikit-learn's 'balanced', a 95%/5% data set whose rare label the weights find, what the result line,
the checkpoints and resume keep."""

import csv
import io
import json
import math
import random

import pytest
import torch
from torch import nn

from seqlab import SeqlabError
from seqlab.cli import main
from seqlab.config import replace
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.classify import ClassifyConfig, loss_sum, loss_sums, train_classifier
from seqlab.training.classify_text import balanced_class_weights
from seqlab.training.metrics import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster, and shares a busy CPU

FILLER = "the a movie film was is plot actor really quite very and it this story".split()


def quiet(*a, **k):
    pass


def imbalanced(n_ham, n_spam, seed):
    """(label, text) rows: the word 'offer' is in 60% of the spam texts and 10% of the ham texts. At 95% ham
    a spam text with 'offer' is still more likely ham (0.05 x 0.6 < 0.95 x 0.1): the plain loss's best model
    says ham to every text; with the labels weighed equally it says spam to 'offer'."""
    rng = random.Random(seed)
    rows = []
    for label, n, p in (("ham", n_ham, 0.1), ("spam", n_spam, 0.6)):
        for _ in range(n):
            words = [rng.choice(FILLER) for _ in range(rng.randint(2, 8))]
            if rng.random() < p:
                words.insert(rng.randint(0, len(words)), "offer")
            rows.append((label, " ".join(words)))
    rng.shuffle(rows)
    return rows


def write_csv(path, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["label", "text"])
    w.writerows(rows)
    path.write_text(buf.getvalue())
    return path


@pytest.fixture(scope="module")
def spam(tmp_path_factory):
    root = tmp_path_factory.mktemp("spam")
    write_csv(root / "train.csv", imbalanced(760, 40, 0))  # 95% / 5%
    write_csv(root / "valid.csv", imbalanced(200, 50, 1))  # enough spam to measure its recall
    return root


def config(data, out, **changes):
    cfg = replace(ClassifyConfig(), data=str(data), embed=8, hidden=8, layers=1, epochs=3, lr=0.05, batch_size=50,
                  min_freq=1, seed=0, out=str(out))
    return replace(cfg, **changes)


def test_the_weighted_loss_is_each_terms_weight_times_its_cross_entropy():
    logits = torch.tensor([[2.0, 0.0], [0.5, 1.5], [1.0, -1.0]])
    labels = torch.tensor([0, 1, 1])
    weight = torch.tensor([0.6, 3.0])

    def ce(row, label):  # -log softmax(row)[label]
        return -(row[label] - math.log(sum(math.exp(v) for v in row)))

    rows = logits.tolist()
    by_hand = 0.6 * ce(rows[0], 0) + 3.0 * ce(rows[1], 1) + 3.0 * ce(rows[2], 1)
    assert loss_sum(logits, labels, weight).item() == pytest.approx(by_hand, rel=1e-6)
    assert loss_sum(logits, labels).item() == pytest.approx(ce(rows[0], 0) + ce(rows[1], 1) + ce(rows[2], 1),
                                                            rel=1e-6)
    assert torch.equal(loss_sum(logits, labels, torch.ones(2)), loss_sum(logits, labels))


def test_one_cross_entropy_gives_torchs_weighted_loss_and_its_gradients():
    torch.manual_seed(0)
    logits = torch.randn(37, 5, requires_grad=True)
    labels = torch.randint(0, 5, (37,))
    weight = torch.rand(5) + 0.1
    objective, plain = loss_sums(logits, labels, weight)
    (grad,) = torch.autograd.grad(objective, logits)
    for reduction, scale in (("sum", 1.0), ("mean", weight[labels].sum())):  # torch's weighted mean: / sum w[y]
        want = nn.functional.cross_entropy(logits, labels, weight=weight, reduction=reduction)
        (want_grad,) = torch.autograd.grad(want, logits)
        assert (objective / scale).item() == pytest.approx(want.item(), rel=1e-6)
        assert torch.allclose(grad / scale, want_grad, rtol=0, atol=1e-6)
    assert plain.item() == pytest.approx(nn.functional.cross_entropy(logits, labels, reduction="sum").item(), rel=1e-6)
    unweighted, same = loss_sums(logits, labels)
    assert unweighted is same and torch.equal(unweighted, plain)


def old_loss_sums(logits, labels, weight=None):
    """The training step's losses as they were computed before loss_sums: two cross-entropies."""
    plain = nn.functional.cross_entropy(logits, labels, reduction="sum")
    return (plain if weight is None else nn.functional.cross_entropy(logits, labels, weight=weight,
                                                                      reduction="sum")), plain


def test_the_logged_losses_are_those_of_two_cross_entropies(spam, tmp_path, monkeypatch):
    import seqlab.training.classify as tc

    def run(out):
        train_classifier(config(spam, out, epochs=2, class_weights="balanced"), device="cpu", show_progress=False,
                         log=quiet)
        return read_metrics(out / "metrics.jsonl")

    now = run(tmp_path / "now")
    monkeypatch.setattr(tc, "loss_sums", old_loss_sums)
    before = run(tmp_path / "before")
    for key in ("train_loss", "valid_loss", "train_accuracy", "valid_accuracy", "valid_macro_f1"):
        assert [r[key] for r in now] == pytest.approx([r[key] for r in before], rel=1e-6), key


def test_the_trainer_steps_on_the_weighted_sum_over_the_batch_size(spam, tmp_path, monkeypatch):
    # (not over the weights' sum, as F.cross_entropy's weighted mean: see classify.loss_sum)
    import seqlab.training.classify as tc

    calls, stepped = [], []
    real_sums, real_ddp = tc.loss_sums, tc.D.ddp_loss

    def recording_sums(logits, labels, weight=None):
        if torch.is_grad_enabled():  # (evaluation's loss_sum calls it too)
            calls.append((logits.detach().clone(), labels.clone(), weight))
        return real_sums(logits, labels, weight)

    def recording_ddp(local_sum, global_count, info):
        stepped.append((real_ddp(local_sum, global_count, info).item(), global_count))
        return real_ddp(local_sum, global_count, info)

    monkeypatch.setattr(tc, "loss_sums", recording_sums)
    monkeypatch.setattr(tc.D, "ddp_loss", recording_ddp)
    train_classifier(config(spam, tmp_path / "r", epochs=1, class_weights="balanced"), device="cpu",
                     show_progress=False, log=quiet)
    assert len(stepped) == len(calls) == 16  # 800 texts / 50: one cross-entropy a step
    logits, labels, weight = calls[0]
    assert weight.tolist() == pytest.approx([800 / 1520, 800 / 80])
    ce = -logits.log_softmax(1)[torch.arange(len(labels)), labels]  # (B,)
    by_hand = sum(weight[y].item() * c for y, c in zip(labels.tolist(), ce.tolist())) / len(labels)
    assert stepped[0] == (pytest.approx(by_hand, rel=1e-5), 50)


def test_balanced_weights_are_scikit_learns():
    labels = torch.tensor([0] * 6 + [1] * 3 + [3] * 1)  # label 2 absent
    w = balanced_class_weights(labels, 4)
    # n / (k * n_c): 10 / (3 * 6), 10 / (3 * 3), -, 10 / (3 * 1)
    assert w.tolist() == pytest.approx([10 / 18, 10 / 9, 0.0, 10 / 3])
    assert w.dtype == torch.float32
    # each present label weighs n / k in all
    assert (w * torch.bincount(labels, minlength=4)).tolist() == pytest.approx([10 / 3, 10 / 3, 0, 10 / 3])


def test_balanced_weights_find_the_rare_label(spam, tmp_path):
    from seqlab.training.classify_text import TextPredictor

    recall, results = {}, {}
    for weights in ("none", "balanced"):
        out = tmp_path / weights
        results[weights] = train_classifier(config(spam, out, class_weights=weights, select="macro_f1"),
                                            device="cpu", show_progress=False, log=quiet)
        predictor = TextPredictor.from_checkpoint(out)
        texts = [text for label, text in imbalanced(200, 50, 1) if label == "spam"]
        recall[weights] = sum(p == "spam" for p in predictor.predict(texts)) / len(texts)
    assert recall["none"] <= 0.1 and recall["balanced"] >= recall["none"] + 0.3, recall
    # the checkpoint records the setting and what the weights came to (760 / (2 x 760), 800 / (2 x 40))
    meta = load_checkpoint(tmp_path / "balanced", "best").meta
    assert meta["config"]["train"]["class_weights"] == "balanced"
    assert meta["class_weights"] == pytest.approx([800 / 1520, 800 / 80])
    assert "class_weights" not in load_checkpoint(tmp_path / "none", "best").meta
    # valid_loss is the plain mean cross-entropy (what evaluate reports), weighted or not
    records = read_metrics(tmp_path / "balanced" / "metrics.jsonl")
    best = results["balanced"]["best_epoch"]
    assert results["balanced"]["best_valid_macro_f1"] == max(r["valid_macro_f1"] for r in records)
    assert records[best - 1]["valid_macro_f1"] == results["balanced"]["best_valid_macro_f1"]
    assert results["balanced"]["best_epoch_valid_accuracy"] == records[best - 1]["valid_accuracy"]
    assert results["balanced"]["best_valid_accuracy"] == max(r["valid_accuracy"] for r in records)
    assert meta["epoch"] == best and meta["best_valid_macro_f1"] == results["balanced"]["best_valid_macro_f1"]


def test_evaluate_reports_the_unweighted_loss_logged_as_valid_loss(spam, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "classify", "--data", str(spam), "--embed", "8", "--hidden", "8", "--layers", "1",
                 "--epochs", "1", "--lr", "0.05", "--min-freq", "1", "--class-weights", "balanced", "--no-progress",
                 "--out", str(out)]) == 0
    assert "class weights (balanced, in the training loss only): 'ham' 0.526, 'spam' 10" in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint", str(out), "--split", "valid"]) == 0
    ev = json.loads(capsys.readouterr().out)
    (record,) = read_metrics(out / "metrics.jsonl")
    assert ev["loss"] == pytest.approx(record["valid_loss"], rel=1e-6)
    assert ev["macro_f1"] == pytest.approx(record["valid_macro_f1"])


def test_a_resume_keeps_the_weights_and_the_selection(spam, tmp_path, capsys):
    args = ["train", "classify", "--data", str(spam), "--embed", "8", "--hidden", "8", "--layers", "1", "--lr",
            "0.05", "--min-freq", "1", "--no-progress", "--out", str(tmp_path / "r")]
    assert main([*args, "--epochs", "1", "--class-weights", "balanced", "--select", "macro_f1"]) == 0
    capsys.readouterr()
    assert main([*args, "--epochs", "2", "--resume"]) == 2  # the flags left out: refused, naming them
    err = capsys.readouterr().err
    assert "class_weights 'balanced', select 'macro_f1'; now class_weights 'none', select 'accuracy'" in err
    assert main([*args, "--epochs", "2", "--resume", "--class-weights", "balanced", "--select", "macro_f1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    records = read_metrics(tmp_path / "r" / "metrics.jsonl")
    assert [r["epoch"] for r in records] == [1, 2]
    assert result["best_valid_macro_f1"] == max(r["valid_macro_f1"] for r in records)


def test_the_weights_and_the_selection_are_for_text(tmp_path, capsys):
    assert main(["train", "classify", "--dataset", "mnist", "--class-weights", "balanced",
                 "--out", str(tmp_path / "m")]) == 2
    assert "--class-weights is for labelled text (--data FILE), not MNIST" in capsys.readouterr().err
    with pytest.raises(SeqlabError, match="--class-weights and --select macro_f1 are for labelled text"):
        train_classifier(replace(ClassifyConfig(), select="macro_f1", out=str(tmp_path / "l")), device="cpu",
                         show_progress=False, log=quiet)


@pytest.mark.parametrize("select, best_epoch, chosen_accuracy", [("accuracy", 1, 0.9), ("macro_f1", 2, 0.8)])
def test_the_result_names_the_selected_epochs_figures(spam, tmp_path, monkeypatch, select, best_epoch,
                                                      chosen_accuracy):
    # epoch 1 has the highest accuracy, epoch 2 the highest macro-F1: best_valid_X is the highest X of any
    # epoch (best_valid_accuracy named the macro-F1 epoch's accuracy), best_epoch_valid_accuracy the
    # chosen epoch's; the same keys whatever --select
    import seqlab.training.classify_text as ct

    script, real = iter([(0.9, 0.5), (0.8, 0.7), (0.85, 0.6)]), ct.TextBatches.evaluate

    def scripted(self, *a):
        acc, f1 = next(script)  # (the valid split: this data set has no test file)
        return {**real(self, *a), "accuracy": acc, "macro_f1": f1}

    monkeypatch.setattr(ct.TextBatches, "evaluate", scripted)
    result = train_classifier(config(spam, tmp_path / "r", select=select), device="cpu", show_progress=False,
                              log=quiet)
    chosen = {k: v for k, v in result.items() if k.startswith("best_")}
    assert chosen == {"best_epoch": best_epoch, "best_valid_accuracy": 0.9, "best_valid_macro_f1": 0.7,
                      "best_epoch_valid_accuracy": chosen_accuracy}
    records = read_metrics(tmp_path / "r" / "metrics.jsonl")
    assert [(r["valid_accuracy"], r["valid_macro_f1"]) for r in records] == [(0.9, 0.5), (0.8, 0.7), (0.85, 0.6)]
    assert result["train_accuracy"] == records[best_epoch - 1]["train_accuracy"]
    assert load_checkpoint(tmp_path / "r", "best").meta["epoch"] == best_epoch
