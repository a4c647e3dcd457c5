"""`seqlab train classify`, `seqlab classify`, and `seqlab evaluate` for classify checkpoints."""

from __future__ import annotations

import argparse

from seqlab.fileio import to_json


def register(commands, train) -> None:
    """Add this task's sub-commands to `seqlab` and `seqlab train`."""
    from seqlab.config import add_config_args
    from seqlab.training.classify import ClassifyConfig

    p = train.add_parser("classify", help="sequence classification (row/pixel MNIST with an LSTM)",
                         description="Train an LSTM -> last hidden state -> linear classifier on MNIST read "
                                     "as sequences (rows: 28x28, pixels: 784x1). Writes metrics.jsonl, "
                                     "best/last checkpoints and accuracy.png to --out.")
    add_config_args(p, ClassifyConfig)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_train)

    c = commands.add_parser("classify", help="test accuracy of a classify checkpoint, or classify idx files",
                            description="Without --images: accuracy on the MNIST test set. With --images "
                                        "FILE (idx, .gz or raw): one predicted label per line, and the "
                                        "accuracy when --labels is given too.")
    c.add_argument("--checkpoint", required=True, metavar="DIR")
    c.add_argument("--which", choices=("best", "last"), default="best",
                   help="best: the epoch of highest validation accuracy (default); last: the final epoch")
    c.add_argument("--images", metavar="FILE", help="an idx3 images file to classify")
    c.add_argument("--labels", metavar="FILE", help="its idx1 labels file (optional)")
    c.add_argument("--device", default="auto")
    c.add_argument("--batch-size", type=int, default=1000, dest="batch_size")
    c.set_defaults(func=run_classify)


def run_train(args: argparse.Namespace) -> int:
    from seqlab.cli import check_out, train_config
    from seqlab.runtime import resolve_device
    from seqlab.training.classify import ClassifyConfig, train_classifier

    no_progress = args.__dict__.pop("no_progress", False)
    cfg = train_config(ClassifyConfig, args)
    check_out(cfg.run.out)
    device = resolve_device(cfg.run.device)
    from seqlab.training import distributed

    with distributed.session():  # under torchrun: a dead rank gives a message, not a hang
        result = train_classifier(cfg, device=device, show_progress=False if no_progress else None)
    if distributed.is_main_process():
        print(to_json(result))
    return 0


def _load(args):
    from seqlab.runtime import resolve_device
    from seqlab.training.checkpoint import expect_task, load_checkpoint
    from seqlab.training.classify import model_from_checkpoint

    ckpt = load_checkpoint(args.checkpoint, getattr(args, "which", "best"))
    expect_task(ckpt, "classify")
    device = resolve_device(args.device)
    net, cfg = model_from_checkpoint(ckpt, device)
    return net, cfg, device


def evaluate(args: argparse.Namespace, ckpt) -> dict:
    """Accuracy on the test split (or the validation split with --split valid)."""
    from seqlab.cli import eval_batch_size, pick_split
    from seqlab.runtime import resolve_device
    from seqlab.training.classify import evaluate_accuracy, load_splits, model_from_checkpoint

    device = resolve_device(args.device)
    net, cfg = model_from_checkpoint(ckpt, device)
    # valid_size = 0: the run validated on the test set, so it has no valid split of its own
    have = ["test"] if cfg.data.valid_size == 0 else ["valid", "test"]
    split = pick_split(args.split, have, "this run", " (it was trained with valid_size = 0, validating on the "
                                                     "test set)" if cfg.data.valid_size == 0 else "")
    splits = load_splits(cfg.data)
    x, y = splits.test if split == "test" else splits.valid
    result = evaluate_accuracy(net, x, y, device, eval_batch_size(args, ckpt, cfg.train.eval_batch_size))
    return {"accuracy": result["accuracy"], "loss": result["loss"], "tokens": result["count"], "split": split,
            "mode": cfg.data.mode, "epoch": ckpt.meta.get("epoch")}


def run_classify(args: argparse.Namespace) -> int:
    import torch

    from seqlab.data.mnist import as_sequences, load_mnist, normalize, read_idx
    from seqlab.errors import SeqlabError

    if args.batch_size <= 0:
        raise SeqlabError(f"--batch-size must be positive, got {args.batch_size}")
    if args.labels and not args.images:
        raise SeqlabError("--labels needs --images (the images file those labels belong to)")
    net, cfg, device = _load(args)
    if args.images:
        images = read_idx(args.images, "images")
        if tuple(images.shape[1:]) != (28, 28):
            raise SeqlabError(f"{args.images!r} holds {tuple(images.shape[1:])} images; this model reads 28x28")
        labels = read_idx(args.labels, "labels").long() if args.labels else None
        if labels is not None and len(labels) != len(images):
            raise SeqlabError(f"{len(images)} images but {len(labels)} labels")
    else:
        images, labels = load_mnist("test", cfg.data.data_dir, cfg.data.test_limit or None)  # evaluate's test set
    x = as_sequences(normalize(images), cfg.data.mode)
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), args.batch_size):
            preds.append(net(x[i:i + args.batch_size].to(device)).argmax(1).cpu())
    pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    if args.images:
        for p in pred.tolist():
            print(p)
    if labels is not None:
        acc = (pred == labels).float().mean().item() if len(labels) else float("nan")
        summary = {"accuracy": acc, "tokens": len(labels)}
        if args.images:
            import sys

            print(to_json(summary), file=sys.stderr)
        else:
            print(to_json(summary))
    return 0
