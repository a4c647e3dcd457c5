"""Text classification on real text: the mood of an English sentence of fra-eng without its final mark.

    SEQLAB_DATA=../shared/data python benchmarks/classify_sentence_mood.py [--out DIR] [--epochs 4]

No labelled text set ships with the data, so this one is derived from the English side of fra-eng
(the Tatoeba sentences of the translation chapter): each distinct sentence ending in '?', '!' or
'.' is labelled question, exclamation or statement, and that last mark is cut off, so the model
must tell the mood from the words ("do you like it" vs "you like it"). A text found with two
marks ("Go." and "Go!") is dropped. Splits by a hash of the text (80/10/10: the same split on
every run). The set is imbalanced (about 86% statements, 0.5% exclamations), so macro-F1 is
the figure to read; accuracy is beside the 0.86 of always answering "statement".

Trains two seqlab text classifiers through the CLI (word level, a 1-layer bidirectional LSTM):
plain, and with --class-weights balanced --select macro_f1; scores each on the test split with
`seqlab evaluate` (and on valid, and on train through --data), beside two baselines on the same test split: the
commonest label, and multinomial naive Bayes over the same word tokens (add-one smoothing).
Prints one JSON object per model. CPU: a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import tempfile
import zlib
from collections import Counter
from pathlib import Path

MOODS = {"?": "question", "!": "exclamation", ".": "statement"}


def mood_set(root: Path) -> dict[str, int]:
    """Write root/{train,valid,test}.txt (label<TAB>text); return the rows per split."""
    from seqlab.data.translation import read_data_nmt

    seen: dict[str, set[str]] = {}
    for line in read_data_nmt().splitlines():
        english = line.split("\t")[0].strip()
        if len(english) > 1 and english[-1] in MOODS:
            seen.setdefault(english[:-1].rstrip(), set()).add(MOODS[english[-1]])
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for text, labels in seen.items():
        if len(labels) == 1 and text:
            bucket = zlib.crc32(text.encode()) % 10
            split = "test" if bucket == 0 else "valid" if bucket == 1 else "train"
            rows[split].append(f"{labels.pop()}\t{text}")
    for split, lines in rows.items():
        (root / f"{split}.txt").write_text("label\ttext\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return {split: len(lines) for split, lines in rows.items()}


def read_split(path: Path) -> list[tuple[str, list[str]]]:
    from seqlab.data.labelled_text import WORD

    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        label, text = line.split("\t", 1)
        rows.append((label, WORD.findall(text.lower())))  # the classifier's own word tokens
    return rows


def scores(gold: list[str], pred: list[str]) -> dict:
    """Accuracy, macro-F1 and each label's recall, as `seqlab evaluate` computes them."""
    labels = sorted(set(gold))
    f1s, recall = [], {}
    for c in labels:
        tp = sum(g == p == c for g, p in zip(gold, pred))
        n_pred, n_gold = sum(p == c for p in pred), sum(g == c for g in gold)
        prec, rec = (tp / n_pred if n_pred else 0.0), tp / n_gold
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        recall[c] = round(rec, 4)
    return {"accuracy": round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 4),
            "macro_f1": round(sum(f1s) / len(f1s), 4), "recall": recall}


def naive_bayes(train, test) -> list[str]:
    """Multinomial naive Bayes with add-one smoothing over the training vocabulary."""
    prior, counts = Counter(), {}
    for label, words in train:
        prior[label] += 1
        counts.setdefault(label, Counter()).update(words)
    vocab = set().union(*counts.values())
    log_prior = {c: math.log(n / len(train)) for c, n in prior.items()}
    totals = {c: sum(w.values()) + len(vocab) for c, w in counts.items()}
    return [max(prior, key=lambda c: log_prior[c] + sum(math.log((counts[c][w] + 1) / totals[c])
                                                          for w in words if w in vocab))
            for _, words in test]


def run(argv: list[str]) -> str:
    from seqlab.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    if code != 0:
        raise SystemExit(f"seqlab {' '.join(argv)} exited {code}:\n{err.getvalue()[-2000:]}")
    return out.getvalue()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=None, help="folder for the data and runs (default: a temporary one)")
    p.add_argument("--epochs", type=int, default=4)
    args = p.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="classify_mood_"))
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"rows": mood_set(data)}))
    train, test = read_split(data / "train.txt"), read_split(data / "test.txt")
    gold = [label for label, _ in test]
    commonest = Counter(label for label, _ in train).most_common(1)[0][0]
    print(json.dumps({"model": "commonest label", "test": scores(gold, [commonest] * len(gold))}))
    print(json.dumps({"model": "naive Bayes (words, add-one)", "test": scores(gold, naive_bayes(train, test))}))
    model = ["--level", "word", "--embed", "64", "--hidden", "128", "--layers", "1", "--bidirectional",
             "--lr", "0.005", "--optimizer", "adam", "--batch-size", "128", "--epochs", str(args.epochs),
             "--device", "cpu", "--no-progress", "--seed", "0"]
    for name, extra in (("lstm", []), ("lstm, balanced weights, select macro_f1",
                                       ["--class-weights", "balanced", "--select", "macro_f1"])):
        out = root / ("plain" if not extra else "balanced")
        result = json.loads(run(["train", "classify", "--data", str(data), *model, *extra, "--out", str(out),
                                 "--overwrite"]).splitlines()[-1])
        figures = {}
        for split in ("train", "valid", "test"):
            where = ["--data", str(data / "train.txt")] if split == "train" else ["--split", split]
            e = json.loads(run(["evaluate", "--checkpoint", str(out), *where, "--device", "cpu"]))
            figures[split] = {"accuracy": round(e["accuracy"], 4), "macro_f1": round(e["macro_f1"], 4),
                              "recall": {c: round(v["recall"], 4) for c, v in e["per_class"].items()}}
        records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        print(json.dumps({"model": name, "best_epoch": result["best_epoch"], **figures,
                          "wall_s": round(records[-1]["wall_s"], 1)}))


if __name__ == "__main__":
    main()
