"""Text classification on two small synthetic sets, as a practitioner's review ran them (2026-12-01):

    python benchmarks/classify_small_sets.py [--out DIR]

1. Length bucketing on a small set whose text length goes with the label (1,500 ham/spam texts: ham
   3-40 words, spam 20-80, a cue word in 70% of them): best valid accuracy with --bucket and
   without, seeds 1 and 2 (4 epochs, embed 16, hidden 32, 1 layer, batch 32, lr 0.01).
2. Class weights on a 95/5 label split (2,000 texts, a few noisy signal words each): the rare
   label's recall and macro-F1 on the validation split (`seqlab evaluate --split valid`), without
   weights and with --class-weights balanced --select macro_f1 (5 epochs, the same model).

Prints one JSON object per run. CPU, a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import tempfile
from pathlib import Path


def spam_set(path: Path) -> None:
    rng = random.Random(1)
    neutral = [f"w{i}" for i in range(300)]
    lines = ["label\ttext"]
    for _ in range(1500):
        label = rng.choice(["ham", "spam"])
        n = rng.randint(3, 40) if label == "ham" else rng.randint(20, 80)  # length goes with the label
        words = [rng.choice(neutral) for _ in range(n)]
        if rng.random() < 0.7:
            words[rng.randrange(n)] = rng.choice(["free", "win", "offer"] if label == "spam" else
                                                 ["meet", "lunch", "thanks"])
        lines.append(f"{label}\t{' '.join(words)}")
    path.write_text("\n".join(lines) + "\n")


def imbalanced_set(path: Path) -> None:
    rng = random.Random(0)
    neutral = [f"w{i}" for i in range(200)]
    pos, neg = ["good", "great", "fine", "lovely", "superb"], ["bad", "awful", "dull", "poor", "boring"]
    lines = ["label\ttext"]
    for _ in range(2000):
        label = "neg" if rng.random() < 0.05 else "pos"
        n = rng.choice([rng.randint(3, 8), rng.randint(40, 120)])
        words = [rng.choice(neutral) for _ in range(n)]
        own, other = (pos, neg) if label == "pos" else (neg, pos)
        for _ in range(max(1, n // 15)):
            words[rng.randrange(n)] = rng.choice(own if rng.random() < 0.8 else other)
        lines.append(f"{label}\t{' '.join(words)}")
    path.write_text("\n".join(lines) + "\n")


def run(argv: list[str]) -> str:
    from seqlab.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == 0, argv
    return out.getvalue()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=None, help="folder for the data and runs (default: a temporary one)")
    args = p.parse_args()
    root = Path(args.out or tempfile.mkdtemp(prefix="classify_small_"))
    root.mkdir(parents=True, exist_ok=True)
    model = ["--lr", "0.01", "--embed", "16", "--hidden", "32", "--layers", "1", "--batch-size", "32",
             "--device", "cpu", "--no-progress"]
    spam, imb = root / "spam.tsv", root / "imb.tsv"
    spam_set(spam)
    imbalanced_set(imb)
    for seed in (1, 2):
        for bucket in ("--bucket", "--no-bucket"):
            out = root / f"spam_{seed}{bucket}"
            run(["train", "classify", "--data", str(spam), "--epochs", "4", "--seed", str(seed), bucket, *model,
                 "--out", str(out), "--overwrite"])
            records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
            print(json.dumps({"set": "spam", "seed": seed, "bucket": bucket == "--bucket",
                              "best_valid_accuracy": max(r["valid_accuracy"] for r in records)}))
    for weights in ([], ["--class-weights", "balanced", "--select", "macro_f1"]):
        out = root / f"imb_{'balanced' if weights else 'none'}"
        run(["train", "classify", "--data", str(imb), "--epochs", "5", *weights, *model, "--out", str(out),
             "--overwrite"])
        result = json.loads(run(["evaluate", "--checkpoint", str(out), "--split", "valid", "--device", "cpu"]))
        rare = result["per_class"].get("neg", {})
        print(json.dumps({"set": "95/5", "class_weights": "balanced" if weights else "none",
                          "neg_recall": rare.get("recall"), "neg_precision": rare.get("precision"),
                          "macro_f1": result["macro_f1"], "accuracy": result["accuracy"]}))


if __name__ == "__main__":
    main()
