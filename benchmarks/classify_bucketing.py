"""Length bucketing of a text classifier's training batches: tokens/s with and without.

    python benchmarks/classify_bucketing.py [--texts 2000] [--rounds 3] [--device cpu|cuda] [--threads N]

One synthetic labelled-text set, texts of uniformly 5 to 400 words (a 2,000-word vocabulary,
two labels), trained for one epoch by `seqlab.training.classify.train_classifier`, bucketed
(--bucket) and not, interleaved: each round runs both, the order alternating, so a
slow stretch of the machine hits both. tokens_per_sec is metrics.jsonl's: the texts' own tokens
(not the padding) over the epoch's training seconds (evaluation and checkpoints not counted).
Prints each round's figures and padding share, and the median of the paired ratios.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import tempfile
from pathlib import Path


def write_texts(folder: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(2000)]
    for split, count in (("train", n), ("valid", max(n // 20, 10))):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["label", "text"])
        for _ in range(count):
            label = rng.choice(["pos", "neg"])
            words = rng.choices(vocab, k=rng.randint(5, 400))
            words[rng.randrange(len(words))] = "good" if label == "pos" else "bad"
            w.writerow([label, " ".join(words)])
        (folder / f"{split}.csv").write_text(buf.getvalue())


def padding_share(folder: Path, batch_size: int, bucket: bool) -> float:
    """Pad tokens / all tokens of one epoch's batches, as the trainer draws them (seed 0)."""
    import torch

    from seqlab.data.bucketing import bucket_order
    from seqlab.data.labelled_text import load_labelled_text

    lengths = load_labelled_text(folder, min_freq=1).train.lengths
    torch.manual_seed(0)
    order = bucket_order(lengths, batch_size) if bucket else torch.randperm(len(lengths))
    pad = real = 0
    for start in range(0, len(order), batch_size):
        b = lengths[order[start:start + batch_size]]
        pad += int(b.max()) * len(b) - int(b.sum())
        real += int(b.sum())
    return pad / (pad + real)


def one_epoch(folder: Path, out: Path, bucket: bool, args) -> float:
    from seqlab.config import replace
    from seqlab.training.classify import ClassifyConfig, train_classifier
    from seqlab.training.metrics import read_metrics

    cfg = replace(ClassifyConfig(), data=str(folder), embed=args.hidden, hidden=args.hidden, layers=1, epochs=1,
                  lr=0.01, batch_size=args.batch_size, min_freq=1, bucket=bucket, seed=0, device=args.device,
                  out=str(out), overwrite=True)
    train_classifier(cfg, device=args.device, show_progress=False, log=lambda *a, **k: None)
    return read_metrics(out / "metrics.jsonl")[-1]["tokens_per_sec"]


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--texts", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=64, help="embedding and LSTM size")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_texts(folder, args.texts)
        print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} CPU threads; "
              f"{args.texts} texts of 5-400 words, batch {args.batch_size}, LSTM {args.hidden}, one epoch per run")
        print(f"padding share of the epoch's tokens: bucketed {padding_share(folder, args.batch_size, True):.3f}, "
              f"plain {padding_share(folder, args.batch_size, False):.3f}")
        one_epoch(folder, folder / "warm", True, args)  # warm-up: imports, allocator, kernels
        ratios = []
        for r in range(args.rounds):
            sides = (True, False) if r % 2 == 0 else (False, True)
            speed = {bucket: one_epoch(folder, folder / f"run{int(bucket)}", bucket, args) for bucket in sides}
            ratios.append(speed[True] / speed[False])
            print(f"round {r + 1}: bucketed {speed[True]:,.0f} tokens/s, plain {speed[False]:,.0f} tokens/s, "
                  f"ratio {ratios[-1]:.2f}")
        print(f"median ratio bucketed/plain {statistics.median(ratios):.2f} (rounds: "
              f"{', '.join(f'{x:.2f}' for x in ratios)})")


if __name__ == "__main__":
    main()
