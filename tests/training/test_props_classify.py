"""Property tests (hypothesis) of the classification metrics: class_report's precision, recall, F1 and
macro F1 against their definitions (scikit-learn's: F1 = 2PR / (P + R), 0 where undefined, over the
labels among the true ones or the predictions); balanced class weights make every present label weigh
n / k in all; top_k is the stable descending sort (its first column argmax's)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.training.classify_text import balanced_class_weights, class_report, top_k

checks = settings(max_examples=100, deadline=None, database=None)
pairs = st.integers(1, 5).flatmap(lambda C: st.tuples(st.just(C), st.lists(
    st.tuples(st.integers(0, C - 1), st.integers(0, C - 1)), min_size=1, max_size=20)))


@checks
@given(pairs)
def test_class_report_is_precision_recall_and_f1_by_definition(case):
    C, items = case
    labels = torch.tensor([t for t, _ in items])
    pred = torch.tensor([p for _, p in items])
    classes = [f"c{j}" for j in range(C)]
    report = class_report(pred, labels, classes)
    seen = sorted({t for t, _ in items} | {p for _, p in items})
    assert list(report["per_class"]) == [classes[j] for j in seen]
    f1s = []
    for j in seen:
        tp = sum(1 for t, p in items if t == j and p == j)
        n_pred, n_true = sum(1 for _, p in items if p == j), sum(1 for t, _ in items if t == j)
        P = tp / n_pred if n_pred else 0.0
        R = tp / n_true if n_true else 0.0
        F = 2 * P * R / (P + R) if P + R else 0.0
        got = report["per_class"][classes[j]]
        assert got["precision"] == pytest.approx(P) and got["recall"] == pytest.approx(R)
        assert got["f1"] == pytest.approx(F) and got["support"] == n_true
        f1s.append(F)
    assert report["macro_f1"] == pytest.approx(sum(f1s) / len(f1s))


@checks
@given(pairs)
def test_balanced_weights_make_each_present_label_weigh_n_over_k(case):
    C, items = case
    labels = torch.tensor([t for t, _ in items])
    w = balanced_class_weights(labels, C)
    assert w.shape == (C,) and w.dtype == torch.float32
    present = sorted(set(labels.tolist()))
    n, k = len(labels), len(present)
    for j in range(C):
        total = float(w[j]) * int((labels == j).sum())
        assert total == pytest.approx(n / k if j in present else 0.0, rel=1e-6)
        if j not in present:
            assert w[j] == 0
    assert float(w[labels].sum()) == pytest.approx(n, rel=1e-6)


@checks
@given(st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**31 - 1), st.data())
def test_top_k_is_the_stable_descending_order(N, C, seed, data):
    k = data.draw(st.integers(1, C))
    gen = torch.Generator().manual_seed(seed)
    probs = torch.randint(0, 4, (N, C), generator=gen).float()  # ties
    values, columns = top_k(probs, k)
    assert values.shape == columns.shape == (N, k)
    assert torch.equal(values, probs.gather(1, columns))
    for row, cols, vals in zip(probs.tolist(), columns.tolist(), values.tolist()):
        want = sorted(range(C), key=lambda c: (-row[c], c))[:k]  # best first, ties in column order
        assert cols == want
    assert torch.equal(columns[:, 0], probs.argmax(dim=1))
