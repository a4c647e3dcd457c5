"""`seqlab train classify`, `seqlab classify`, and `seqlab evaluate` for classify checkpoints: MNIST
read as sequences, or labelled text (--data FILE)."""

from __future__ import annotations

import argparse
from pathlib import Path

from seqlab.fileio import to_json


def register(commands, train) -> None:
    """Add this task's sub-commands to `seqlab` and `seqlab train`."""
    from seqlab.cli import DEVICE_HELP, add_no_progress
    from seqlab.config import add_config_args, user_path
    from seqlab.training.classify import ClassifyConfig

    p = train.add_parser("classify", help="sequence classification: row/pixel MNIST, or your labelled text",
                         description="Train an LSTM (or GRU) -> last hidden state -> linear classifier on MNIST "
                                     "read as sequences (--dataset mnist --mode rows: 28x28, pixels: 784x1), or "
                                     "on labelled text (--data FILE: embedding -> LSTM/GRU -> the state at each "
                                     "text's last token -> linear). Writes metrics.jsonl, best/last checkpoints "
                                     "and accuracy.png to --out. The training defaults (--lr 0.002, --epochs 15, "
                                     "--layers 2) are the MNIST recipe's; for text try --lr 0.01, at which a text "
                                     "classifier often learns in far fewer epochs than at 0.002.",
                         epilog=TEXT_FORMAT)
    add_config_args(p, ClassifyConfig)
    add_no_progress(p)
    p.set_defaults(func=run_train)

    c = commands.add_parser("classify", help="classify texts or idx images with a classify checkpoint",
                            description="A text classifier (trained with --data): one output line per text of "
                                        "--text (repeatable), then per line of --file (- reads standard input), "
                                        "in order: the predicted label, or the --top-k best, or (--all-labels) "
                                        "every label's probability. A blank line of "
                                        "--file or standard input gives a blank output line (as `seqlab "
                                        "translate`); a blank --text, or a line of standard input that is not "
                                        "UTF-8, gives a blank output line and a warning that names it, and the "
                                        "exit status is then 2. An MNIST classifier: without --images, accuracy "
                                        "on the MNIST test set; with --images FILE (idx, .gz or raw), one "
                                        "predicted digit per image, and the accuracy when --labels is given too.")
    c.add_argument("--checkpoint", required=True, type=user_path, metavar="DIR",
                   help="a run's --out folder or a .safetensors file")
    c.add_argument("--which", choices=("best", "last"), default=None,
                   help="best: the run's best epoch, of highest validation accuracy (or macro-F1, for a run "
                        "trained with --select macro_f1) (default); last: the final epoch (with a run folder; a "
                        ".safetensors file given to --checkpoint is itself the choice)")
    c.add_argument("--images", type=user_path, metavar="FILE", help="an idx3 images file to classify")
    c.add_argument("--labels", type=user_path, metavar="FILE", help="its idx1 labels file (optional)")
    c.add_argument("--text", action="append", metavar="TEXT", help="a text to classify (repeatable)")
    c.add_argument("--file", type=user_path, metavar="FILE",
                   help="texts to classify, one plain text per line (- reads standard input); to score a "
                        "labelled .csv/.tsv file, use seqlab evaluate --data FILE")
    c.add_argument("--probs", action="store_true",
                   help="print the predicted label's probability after it (LABEL<tab>PROBABILITY; the "
                        "model's softmax, not a calibrated confidence): --top-k 1")
    c.add_argument("--top-k", type=int, default=None, dest="top_k", metavar="K",
                   help="print the K most probable labels of each text (or image) with their probabilities, "
                        "best first: LABEL<tab>PROB<tab>LABEL<tab>PROB... (equal probabilities in label order; "
                        "K from 1 to the model's number of labels)")
    c.add_argument("--all-labels", action="store_true", dest="all_labels",
                   help="print every label's probability, in the model's label order (that of seqlab evaluate's "
                        "per-label figures), not ranked: LABEL<tab>PROB<tab>LABEL<tab>PROB... (scikit-learn's "
                        "predict_proba)")
    c.add_argument("--device", default="auto", help=DEVICE_HELP)
    c.add_argument("--batch-size", type=int, default=1000, dest="batch_size",
                   help="texts or images classified together; each batch of texts is printed as soon as it is "
                        "done (default: 1000)")
    c.set_defaults(func=run_classify)


TEXT_FORMAT = (
    "Labelled text (--data): a .csv file (comma-separated) or a .tsv file (tab-separated), both with CSV quoting "
    "as pandas writes them (a field that starts with a double quote may hold commas, tabs and line breaks, its "
    "inner quotes doubled; a quote later in a field is an ordinary character), or a .txt file (tab-separated, "
    "no quoting, one row per line), whose header row names a 'label' and a 'text' column (--label-column, "
    "--text-column: other names; other columns are ignored). Or a folder of train.EXT and valid.EXT and "
    "optionally test.EXT files of that format. A single file holds out a fixed pseudo-random --valid-fraction "
    "(10%) of each label's rows for validation (stratified: the same rows on every run, whatever --seed; a file "
    "sorted by label splits as a shuffled one does; a label's only row, or every row of a label too small to "
    "hold one out, trains, and the log counts such labels). The texts are lower-cased (--no-lowercase) and cut "
    "into words, each punctuation mark a token of its own (great! -> great !; --no-split-punct: split on "
    "whitespace only), or into characters (--level char); the vocabulary comes from the training texts "
    "(--min-freq, --max-vocab); texts over --max-len tokens keep their first --max-len. Labels are strings, "
    "ordered numerically when all are integers (1, 2, ..., 10). Best = the epoch of highest valid_accuracy "
    "(--select macro_f1: of highest valid_macro_f1, which metrics.jsonl logs beside it; the result line gives "
    "best_epoch, its best_epoch_valid_accuracy, and the highest best_valid_accuracy and best_valid_macro_f1 of "
    "any epoch); --class-weights "
    "balanced weighs the training loss toward rare labels (train_loss and valid_loss stay the plain mean "
    "cross-entropy, comparable across runs with and without weights); --bucket batches texts of similar length "
    "(faster on large sets; on small ones it can cost accuracy, and the log says so). "
    "`seqlab evaluate` scores the test file (else valid), or a labelled file (--data FILE), with per-label "
    "precision/recall/F1; `seqlab classify --checkpoint DIR --text TEXT` predicts. E.g. seqlab train classify "
    "--data reviews.csv --lr 0.01 --hidden 128 --layers 1 --bidirectional --epochs 10 --out runs/reviews")
MNIST_ONLY = ("mode", "data_dir", "train_limit", "test_limit", "valid_size")
TEXT_ONLY = ("valid_fraction", "level", "split_punct", "label_column", "text_column", "lowercase", "min_freq",
             "max_vocab", "max_len", "embed", "bidirectional", "class_weights", "select", "bucket")


def _check_data(cfg, given: set[str]) -> None:
    """Refuse settings of the other kind of data than `cfg`'s (MNIST, or labelled text with --data)
    rather than ignore them (`given`: the leaves the command sets, train_config's). (train_classifier
    sets a text run's dataset to none.)"""
    from seqlab.errors import SeqlabError

    text = cfg.data.data is not None

    def flags(keys):
        return ", ".join("--" + k.replace("_", "-") for k in keys)
    wrong = [k for k in (MNIST_ONLY if text else TEXT_ONLY) if k in given]
    if wrong:
        kind = ("MNIST (--dataset mnist), not labelled text (--data)" if text
                else "labelled text (--data FILE), not MNIST")
        raise SeqlabError(f"{flags(wrong)} {'is' if len(wrong) == 1 else 'are'} for {kind}")
    if text and cfg.data.dataset is not None and "dataset" in given:
        raise SeqlabError(f"give --dataset {cfg.data.dataset} or --data FILE, not both")
    if text and "valid_fraction" in given and Path(cfg.data.data).is_dir():
        raise SeqlabError(f"--valid-fraction holds out rows of a single --data file; {cfg.data.data!r} is a folder, "
                          "whose valid file is the validation split: leave --valid-fraction out")


def run_train(args: argparse.Namespace) -> int:
    from seqlab.cli import check_out, show_progress, train_config
    from seqlab.runtime import resolve_device
    from seqlab.training.classify import ClassifyConfig, train_classifier

    bar = show_progress(args)
    cfg, notes, given = train_config(ClassifyConfig, args)
    _check_data(cfg, given)
    check_out(cfg.run.out)
    device = resolve_device(cfg.run.device)
    from seqlab.training import distributed

    with distributed.session():  # under torchrun: a dead rank gives a message, not a hang
        result = train_classifier(cfg, device=device, show_progress=bar, notes=notes)
    if distributed.is_main_process():
        print(to_json(result))
    return 0


def _run_config(ckpt):
    from seqlab.training.checkpoint import task_config
    from seqlab.training.classify import ClassifyConfig

    return task_config(ckpt, ClassifyConfig, "classify")  # checks the metadata and the config's types


def evaluate(args: argparse.Namespace, ckpt) -> dict:
    """Accuracy on the test split (or the validation split with --split valid); text runs also on a
    labelled file (--data FILE)."""
    from seqlab.cli import eval_batch_size, pick_split
    from seqlab.errors import SeqlabError
    from seqlab.runtime import resolve_device
    from seqlab.training.classify import evaluate_accuracy, model_from_checkpoint
    from seqlab.training.classify_images import load_splits

    cfg = _run_config(ckpt)
    if cfg.data.data is None and args.data is not None:
        raise SeqlabError(f"--data scores a labelled text file with a text classifier; {str(ckpt.path)!r} holds an "
                          f"MNIST classifier ({cfg.data.mode} mode): leave --data out to evaluate it on MNIST, or use "
                          "seqlab classify --images FILE --labels FILE")
    device = resolve_device(args.device)
    if cfg.data.data is not None:
        return _evaluate_text(args, ckpt, cfg, device)
    net, cfg = model_from_checkpoint(ckpt, device)
    # valid_size = 0: the run validated on the test set, so it has no valid split of its own
    have = ["test"] if cfg.data.valid_size == 0 else ["valid", "test"]
    split = pick_split(args.split, have, "this run", " (it was trained with valid_size = 0, validating on the "
                                                     "test set)" if cfg.data.valid_size == 0 else "")
    splits = load_splits(cfg.data)
    x, y = splits.test if split == "test" else splits.valid
    if not len(y):  # an accuracy over no image is no figure (it printed 0.0); (a valid split has valid_size > 0)
        raise SeqlabError(f"{_empty_test_set(cfg)} holds no examples: there is no accuracy to compute")
    result = evaluate_accuracy(net, x, y, device, eval_batch_size(args, ckpt, cfg.train.eval_batch_size))
    return {"accuracy": result["accuracy"], "loss": result["loss"], "tokens": result["count"], "split": split,
            "mode": cfg.data.mode, "epoch": ckpt.meta.get("epoch")}


def _evaluate_text(args: argparse.Namespace, ckpt, cfg, device) -> dict:
    """A text run's accuracy, loss and per-label figures on its test file, else its validation split
    (--split to choose), or on a labelled file (--data) read as its training files were."""
    from seqlab.cli import eval_batch_size, pick_split
    from seqlab.data.labelled_text import PAD, encode_file, split_files
    from seqlab.data.user_files import run_data_file
    from seqlab.training.classify_text import TextBatches, load_text, text_model

    net, vocab, classes = text_model(ckpt, cfg, device)
    d = cfg.data
    if args.data is not None:
        texts = encode_file(args.data, vocab, classes, level=d.level, label_column=d.label_column,
                            text_column=d.text_column, lowercase=d.lowercase, split_punct=d.split_punct,
                            max_len=d.max_len)
        split = "data"
    else:
        path = run_data_file(d.data, ckpt.meta.get("data_file"), Path(ckpt.path).parent, split_files)
        data = load_text(d, path, vocab, classes)
        have = ["valid"] if data.test is None else ["valid", "test"]
        split = pick_split(args.split, have, "this run", " (its --data has no test file)" if data.test is None else "")
        texts = data.test if split == "test" else data.valid
    result = TextBatches(texts, vocab[PAD]).report(net, device, eval_batch_size(args, ckpt, cfg.train.eval_batch_size),
                                                    classes)
    _warn_majority(result, texts.labels, classes)
    return {"accuracy": result["accuracy"], "loss": result["loss"], "tokens": result["count"], "split": split,
            **({"data": args.data} if args.data is not None else {}), "level": d.level,
            "epoch": ckpt.meta.get("epoch"), "per_class": result["per_class"], "macro_f1": result["macro_f1"]}


def _warn_majority(result: dict, labels, classes: list[str]) -> None:
    """A warning on stderr when the accuracy is that of always predicting the commonest label (within 0.005)."""
    import sys

    from seqlab.data.labelled_text import majority_share

    top, share = majority_share(labels, len(classes))
    if result["count"] and result["accuracy"] < 1.0 and abs(result["accuracy"] - share) <= 0.005:
        counts = labels.bincount(minlength=len(classes))
        tied = [classes[j] for j in range(len(classes)) if counts[j] == counts[top]]
        figures = f"; macro_f1 {result['macro_f1']:.4f} and per_class show how each label fares"
        if len(tied) == 1:
            print(f"seqlab: warning: the model predicts the commonest label: its accuracy {result['accuracy']:.4f} is "
                  f"within 0.005 of always predicting {classes[top]!r} ({share:.4f}){figures}", file=sys.stderr)
            return
        # several labels tied as the commonest: name the one it always predicts, if it does
        per = result.get("per_class") or {}
        always = [c for c, v in per.items() if v["recall"] == 1.0
                  and all(w["recall"] == 0.0 for d, w in per.items() if d != c)]
        what = (f"the model predicts {always[0]!r} for every text" if always else
                "the model does no better than always predicting one label")
        print(f"seqlab: warning: {what}: its accuracy {result['accuracy']:.4f} is within 0.005 of always predicting "
              f"any of the {len(tied)} labels tied as the commonest ({', '.join(map(repr, tied[:5]))}"
              f"{', ...' if len(tied) > 5 else ''}: {share:.4f} each){figures}", file=sys.stderr)


def _empty_test_set(cfg) -> str:
    """Names the MNIST test set of a run that read it empty: "the MNIST test set '.../t10k-images-idx3-ubyte.gz'"."""
    from seqlab.data.mnist import split_paths

    return f"the MNIST test set {str(split_paths('test', cfg.data.data_dir)[0])!r}"


def run_classify(args: argparse.Namespace) -> int:
    import torch

    from seqlab.data.mnist import as_sequences, load_mnist, normalize, read_idx
    from seqlab.errors import SeqlabError
    from seqlab.runtime import resolve_device
    from seqlab.cli import checkpoint_which
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.classify import NUM_CLASSES, model_from_checkpoint

    if args.batch_size <= 0:
        raise SeqlabError(f"--batch-size must be positive, got {args.batch_size}")
    if args.top_k is not None and args.top_k < 1:
        raise SeqlabError(f"--top-k must be at least 1, got {args.top_k}")
    if args.all_labels and (args.top_k is not None or args.probs):
        other = (f"--top-k {args.top_k} (the {args.top_k} most probable, ranked)" if args.top_k is not None
                 else "--probs (the predicted label's probability)")
        raise SeqlabError(f"give --all-labels (every label's probability, in label order) or {other}, not both")
    ckpt = load_checkpoint(args.checkpoint, checkpoint_which(args))
    cfg = _run_config(ckpt)
    if cfg.data.data is not None:
        return _classify_texts(args, ckpt, cfg)
    if args.text or args.file:
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} holds an MNIST classifier ({cfg.data.mode} mode), which "
                          "reads images, not text: give --images FILE (idx), or nothing to score the MNIST test set; "
                          "--text and --file are for text classifiers (trained with --data)")
    if args.labels and not args.images:
        raise SeqlabError("--labels needs --images (the images file those labels belong to)")
    if (args.top_k is not None or args.all_labels) and not args.images:
        what = "--top-k prints each image's most probable digits" if args.top_k is not None else \
            "--all-labels prints each image's probability of each digit"
        raise SeqlabError(f"{what}: give --images FILE (without it, classify prints the MNIST test set's accuracy)")
    k = _k(args, [str(d) for d in range(NUM_CLASSES)])
    device = resolve_device(args.device)
    net, cfg = model_from_checkpoint(ckpt, device)
    if args.images:
        images = read_idx(args.images, "images")
        if tuple(images.shape[1:]) != (28, 28):
            raise SeqlabError(f"{args.images!r} holds {tuple(images.shape[1:])} images; this model reads 28x28")
        labels = read_idx(args.labels, "labels").long() if args.labels else None
        if labels is not None and len(labels) != len(images):
            raise SeqlabError(f"{len(images)} images but {len(labels)} labels")
    else:
        images, labels = load_mnist("test", cfg.data.data_dir, cfg.data.test_limit or None)  # evaluate's test set
    if labels is not None and not len(labels):  # an accuracy over no image is no figure (it printed null)
        what = f"--images {str(args.images)!r} and --labels {str(args.labels)!r} hold" if args.images else \
            f"{_empty_test_set(cfg)} holds"
        raise SeqlabError(f"{what} no examples: there is no accuracy to compute; give a test set of "
                          "at least one image and its label")
    x = as_sequences(normalize(images), cfg.data.mode)
    logits = []
    with torch.no_grad():
        for i in range(0, len(x), args.batch_size):
            logits.append(net(x[i:i + args.batch_size].to(device)).cpu())
    logits = torch.cat(logits) if logits else torch.zeros(0, NUM_CLASSES)  # (N, 10)
    pred = logits.argmax(1)
    if args.images:
        for line in _label_lines(logits.softmax(1), k, [str(d) for d in range(NUM_CLASSES)], args.all_labels):
            print(line)
    if labels is not None:
        # the count ratio in Python ints, as evaluate's: a float32 mean printed 0.7907999753952026 for 0.7908
        acc = int((pred == labels).sum()) / len(labels)
        summary = {"accuracy": acc, "tokens": len(labels)}
        if args.images:
            import sys

            print(to_json(summary), file=sys.stderr)
        else:
            print(to_json(summary))
    return 0


def _k(args: argparse.Namespace, labels: list[str]) -> int | None:
    """How many labels to print per line with their probabilities (--top-k, --probs: 1); None: the label alone."""
    from seqlab.errors import SeqlabError

    if args.top_k is not None and args.top_k > len(labels):
        shown = ", ".join(map(repr, labels[:5])) + (", ..." if len(labels) > 5 else "")
        raise SeqlabError(f"--top-k {args.top_k} is more than the model's {len(labels)} labels ({shown}): give "
                          f"--top-k {len(labels)} or less")
    return args.top_k if args.top_k is not None else 1 if args.probs else None


def _label_lines(probs, k: int | None, labels: list[str], all_labels: bool = False) -> list[str]:
    """One output line per row of `probs` (N, C): the predicted label, or (k) the k best
    LABEL<tab>PROB, best first, or (all_labels) every LABEL<tab>PROB in label order (probs' columns)."""
    import torch

    from seqlab.training.classify_text import top_k

    if all_labels:
        values, columns = probs, torch.arange(probs.shape[1]).expand_as(probs)  # (N, C) each
    elif k is None:
        return [labels[j] for j in probs.argmax(1).tolist()]
    else:
        values, columns = top_k(probs, k)  # (N, k) each
    return ["\t".join(f"{labels[j]}\t{p:.4f}" for j, p in zip(cs, ps))
            for cs, ps in zip(columns.tolist(), values.tolist())]


def _classify_texts(args: argparse.Namespace, ckpt, cfg) -> int:
    """One output line per text (--text, then the lines of --file), printed a batch at a time: its
    label (or --top-k labels); blank for a blank line (and, with a warning and exit status 2, for a
    blank --text or an undecodable line of standard input)."""
    import sys

    from seqlab.cli.input_lines import Unreadable, chunks, input_lines
    from seqlab.errors import SeqlabError
    from seqlab.runtime import resolve_device
    from seqlab.training.classify_text import TextPredictor

    if args.images or args.labels:
        raise SeqlabError(f"checkpoint {str(ckpt.path)!r} holds a text classifier (labels "
                          f"{', '.join(map(repr, ckpt.meta.get('classes', [])[:5]))}), which reads text, not "
                          "images: give --text TEXT or --file FILE (one text per line; - reads standard input)")
    if not args.text and not args.file:
        raise SeqlabError("nothing to classify: give --text TEXT (repeatable) or --file FILE (one text per line; "
                          "- reads standard input)")
    if args.file and args.file != "-" and Path(args.file).suffix.lower() in (".csv", ".tsv"):
        raise SeqlabError(f"--file reads one plain text per line; to score a labelled file use seqlab evaluate "
                          f"--checkpoint DIR --data {args.file}")
    items = [(f"--text {n}", t) for n, t in enumerate(args.text or [], start=1)]
    asked = {where for where, _ in items}  # a blank --text was asked for: a failure; a blank line is not
    # read as they come from standard input: each batch is printed before the next is read
    lines = input_lines(items, args.file, "classify")  # a missing --file, or nothing on stdin, fails here
    predictor = TextPredictor.from_checkpoint(ckpt, resolve_device(args.device), args.batch_size)
    k = _k(args, predictor.labels)
    d, failed, cut = cfg.data, 0, 0
    for chunk in chunks(lines, args.batch_size):
        ok = []
        for i, (where, text) in enumerate(chunk):
            if isinstance(text, Unreadable) or (where in asked and not text.strip()):
                why = text.reason if isinstance(text, Unreadable) else "an empty text, nothing to classify"
                print(f"seqlab: warning: {where}: {why}", file=sys.stderr)
                failed += 1
            elif text.strip():
                ok.append(i)
        texts = predictor.encode([chunk[i][1] for i in ok])
        bounds = texts.offsets.tolist()
        for j, i in enumerate(ok):  # a text of unknown words only: the label is the model's guess from nothing
            if not (texts.ids[bounds[j]:bounds[j + 1]] != predictor.vocab.unk).any():
                print(f"seqlab: note: {chunk[i][0]}: every {d.level} is unknown to the model (none is in its "
                      "vocabulary): its label says nothing of the text", file=sys.stderr)
        answers = dict(zip(ok, _label_lines(predictor.proba(texts), k, predictor.labels, args.all_labels)))
        print("\n".join(answers.get(i, "") for i in range(len(chunk))), flush=True)
        cut += texts.cut
    if cut:
        print(f"seqlab: note: {cut} text{'s' * (cut != 1)} longer than the model's max_len of {d.max_len} {d.level}s "
              f"{'were' if cut != 1 else 'was'} read up to it", file=sys.stderr)
    return 2 if failed else 0
