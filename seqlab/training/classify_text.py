"""Text classification's side of `seqlab train classify --data FILE`: the labelled text a config names
(seqlab.data.labelled_text) as the training loop in classify.py reads it (length-bucketed batches;
the loss's class weights), the model, evaluation (per-label figures too) and prediction
(`TextPredictor`, `top_k`), and what the checkpoints keep beside the weights (the vocabulary, the
labels, the data's fingerprint)."""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from seqlab.data.bucketing import BUCKET_POOL, bucket_order
from seqlab.data.labelled_text import (PAD, EncodedTexts, LabelledText, encode, load_labelled_text,
                                       majority_share, text_tokens)
from seqlab.data.text import unsegmented_note
from seqlab.data.vocab import UNK, Vocab
from seqlab.errors import SeqlabError, check_positive_int
from seqlab.models.classifier import TextClassifier
from seqlab.runtime import eval_mode
from seqlab.training.checkpoint import bad_checkpoint, check_vocab_fits, load_weights, task_config
from seqlab.training.classify import ClassifyConfig, ClassifyData, RunData, loss_sum
from seqlab.training.common import warn


class TextBatches:
    """A split of encoded texts as the training loop reads it (classify_images.ImageSequences' twin).
    `classes`: evaluate() adds macro_f1 and per_class; `bucket`: epoch_order() batches texts of
    similar length together (data.bucketing.bucket_order)."""

    unit = "texts"

    def __init__(self, texts: EncodedTexts, pad_id: int, classes: list[str] | None = None, bucket: bool = False):
        self.texts, self.pad_id, self.classes, self.bucket = texts, pad_id, classes, bucket

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def to(self, device: torch.device) -> "TextBatches":
        return self  # the texts stay on the CPU: each batch is padded there to its longest text, then sent

    def epoch_order(self, batch_size: int) -> torch.Tensor:
        """An epoch's text order (N,), drawn from torch's global generator (a resumed run draws what
        the uninterrupted one did): its batches are consecutive `batch_size` slices, length-bucketed
        or not (see `bucket`)."""
        if self.bucket:
            return bucket_order(self.texts.lengths, batch_size)
        return torch.randperm(len(self))

    def batch(self, idx: torch.Tensor, device: torch.device) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, int]:
        """((ids (B, T) on `device`, lengths (B,) on the CPU, as packing wants them), labels (B,), tokens)."""
        tokens, lengths = self.texts.padded(idx, self.pad_id)
        return (tokens.to(device), lengths), self.texts.labels[idx].to(device), int(lengths.sum())

    def logits(self, net: nn.Module, device: torch.device,
               batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(logits (B, C), labels (B,)) of consecutive batches of the texts, in order, without gradients."""
        batch_size = check_positive_int("batch_size", batch_size)
        with torch.no_grad(), eval_mode(net):
            for start in range(0, len(self), batch_size):
                inputs, labels, _ = self.batch(torch.arange(start, min(start + batch_size, len(self))), device)
                yield net(*inputs), labels

    def evaluate(self, net: nn.Module, device: torch.device, batch_size: int) -> dict:
        """Mean cross-entropy, accuracy and count (as classify.evaluate_accuracy); with the
        split's `classes`, macro_f1 and per_class too."""
        return self.report(net, device, batch_size, self.classes)

    def report(self, net: nn.Module, device: torch.device, batch_size: int, classes: list[str] | None = None) -> dict:
        """evaluate()'s figures; with `classes`, per_class and macro_f1 (class_report) beside them."""
        total, preds = 0.0, []
        for logits, labels in self.logits(net, device, batch_size):
            total += loss_sum(logits, labels).item()
            preds.append(logits.argmax(dim=1).cpu())
        pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
        n, labels = len(self), self.texts.labels
        result = {"loss": total / max(n, 1), "accuracy": (pred == labels).sum().item() / max(n, 1), "count": n}
        return result if classes is None else {**result, **class_report(pred, labels, classes)}


def class_report(pred: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> dict:
    """Each label's precision, recall, F1 and support, and the macro-averaged F1, as scikit-learn's
    classification_report computes them (zero_division=0): over the labels that occur among the
    true labels (N,) or the predictions (N,) (label ids), in label order.

        confusion[true, predicted]    precision = tp / (its column's sum)   (0 when nothing is predicted)
                                      recall    = tp / (its row's sum)      (0 when there is no example)
                                      f1        = 2 tp / (row + column)
    """
    c = len(classes)
    confusion = torch.bincount(labels * c + pred, minlength=c * c).reshape(c, c)  # (C, C): [true, predicted]
    tp, support, predicted = confusion.diag().tolist(), confusion.sum(1).tolist(), confusion.sum(0).tolist()
    per_class = {}
    for j, label in enumerate(classes):
        if support[j] or predicted[j]:
            per_class[label] = {"precision": tp[j] / predicted[j] if predicted[j] else 0.0,
                                "recall": tp[j] / support[j] if support[j] else 0.0,
                                "f1": 2 * tp[j] / (support[j] + predicted[j]), "support": support[j]}
    f1 = [v["f1"] for v in per_class.values()]
    return {"per_class": per_class, "macro_f1": sum(f1) / len(f1) if f1 else 0.0}


def balanced_class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Each label's weight (C,) float32, scikit-learn's compute_class_weight("balanced"): n / (k x n_c)
    for the n labels (N,) (the training split's label ids), k the labels among them and n_c each
    one's count; 0 for a label absent from them. A label's examples then weigh as much in all as
    any other label's: n_c x w_c = n / k."""
    counts = torch.bincount(labels, minlength=num_classes).double()  # (C,)
    present = int((counts > 0).sum())
    weights = torch.where(counts > 0, len(labels) / (present * counts.clamp(min=1)), torch.zeros_like(counts))
    return weights.float()


def top_k(probs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The `k` highest probabilities of each row of `probs` (N, C) and their columns, both (N, k),
    best first; equal probabilities in column order (a stable sort, so column 0 of the result is
    argmax's column)."""
    if not 1 <= k <= probs.shape[1]:
        raise SeqlabError(f"k must be between 1 and the {probs.shape[1]} labels, got {k}")
    values, columns = probs.sort(dim=1, descending=True, stable=True)
    return values[:, :k], columns[:, :k]


def load_text(d: ClassifyData, path: str | None = None, vocab: Vocab | None = None,
              classes: list[str] | None = None) -> LabelledText:
    """The labelled text `d` names (at `path`, where the run's data was found again)."""
    return load_labelled_text(path or d.data, level=d.level, label_column=d.label_column, text_column=d.text_column,
                              lowercase=d.lowercase, split_punct=d.split_punct, min_freq=d.min_freq,
                              max_vocab=d.max_vocab, max_len=d.max_len, valid_fraction=d.valid_fraction, vocab=vocab,
                              classes=classes)


def build_text_model(cfg: ClassifyConfig, vocab_size: int, num_classes: int) -> TextClassifier:
    m = cfg.model
    return TextClassifier(vocab_size, num_classes, embed=m.embed, hidden=m.hidden, layers=m.layers, cell=m.cell,
                          dropout=m.dropout, bidirectional=m.bidirectional)


def text_data(cfg: ClassifyConfig, log) -> RunData:
    """The run's splits and model, the training loss's class weights (cfg.train.class_weights),
    and the notes on its data in the log."""
    data = load_text(cfg.data)
    check_vocab_fits(data.vocab)
    majority = majority_share(data.valid.labels, len(data.classes))
    for note in data_notes(data, cfg.data, majority):
        log(note)
    if cfg.data.level == "word":  # words that look like whole phrases: stderr, as all warnings
        note = unsegmented_note(data.vocab.token_freqs)
        if note:
            warn(note)
    top, share = majority
    meta = {"vocab": data.vocab.to_dict(), "classes": data.classes, "data_file": data.source}
    weights = None
    if cfg.train.class_weights == "balanced":
        weights = balanced_class_weights(data.train.labels, len(data.classes))
        meta["class_weights"] = weights.tolist()  # (what the config's 'balanced' came to; resume recomputes it)
        shown = ", ".join(f"{c!r} {w:.3g}" for c, w in zip(data.classes[:8], meta["class_weights"]))
        log(f"class weights (balanced, in the training loss only): {shown}{', ...' if len(data.classes) > 8 else ''}")

    def check_resume(ckpt) -> None:
        from seqlab.data.user_files import same_data

        differs = same_data(ckpt.meta.get("data_file"), data.source)
        if differs or ckpt.meta.get("classes") != data.classes or ckpt.meta.get("vocab", {}).get("idx_to_token") \
                != data.vocab.to_dict()["idx_to_token"]:
            raise SeqlabError(f"--resume: the run's --data {cfg.data.data} has changed since the run started "
                              f"({differs or 'other labels or vocabulary'}): its saved state would go on training on "
                              "other texts; restore it, or start a new run (another --out, or --overwrite)")

    if cfg.train.bucket and len(data.train) < 4 * BUCKET_POOL * cfg.train.batch_size:
        pools = -(-len(data.train) // (BUCKET_POOL * cfg.train.batch_size))
        log(f"note: --bucket: the {len(data.train):,} training texts make {pools} pool{'s' * (pools != 1)} of "
            f"{BUCKET_POOL} batches: each epoch's batches are then much the same texts, sorted by length (one label "
            "each where length goes with the label), which can cost accuracy; bucketing pays on larger sets")
    test = None if data.test is None else TextBatches(data.test, data.pad_id)
    return RunData(TextBatches(data.train, data.pad_id, bucket=cfg.train.bucket),
                   TextBatches(data.valid, data.pad_id, data.classes), test, False,
                   build_text_model(cfg, len(data.vocab), len(data.classes)), meta, check_resume,
                   {"valid_majority_accuracy": share, "majority_label": data.classes[top]}, weights)


def data_notes(data: LabelledText, d: ClassifyData, majority: tuple[int, float]) -> list[str]:
    """What the training log says about the texts: sizes, labels, vocabulary, <unk>, cut texts.
    `majority`: the validation split's commonest label id and its share (majority_share)."""
    splits = [(s, getattr(data, s)) for s in ("train", "valid", "test") if getattr(data, s) is not None]
    counts = torch.bincount(data.train.labels, minlength=len(data.classes)).tolist()
    labels = ", ".join(f"{c!r} {n:,}" for c, n in zip(data.classes[:8], counts))
    unk = (data.valid.ids == data.vocab[UNK]).float().mean().item() if len(data.valid.ids) else 0.0
    top, share = majority
    notes = [f"{data.name}: {', '.join(f'{len(t):,} {s}' for s, t in splits)} texts; {data.heldout}",
             f"{len(data.classes)} labels (training texts: {labels}{', ...' if len(data.classes) > 8 else ''}); "
             f"always predicting {data.classes[top]!r}, the commonest validation label, scores {share:.3f} on the "
             "validation texts",
             f"vocabulary: {len(data.vocab) - 2:,} {d.level}s of the training texts + <unk> and <pad> (min_freq "
             f"{d.min_freq}{'' if d.max_vocab is None else f', max_vocab {d.max_vocab}'}); {unk:.1%} of the validation tokens "
             "are <unk>"]
    cut = [f"{t.cut:,} of {len(t):,} {s}" for s, t in splits if t.cut]
    if cut:
        notes.append(f"texts longer than --max-len {d.max_len} {d.level}s keep their first {d.max_len}: "
                     f"{', '.join(cut)} texts were cut")
    return notes


def text_model(ckpt, cfg: ClassifyConfig, device: torch.device) -> tuple[TextClassifier, Vocab, list[str]]:
    """A text run's checkpoint as its model (on `device`, in eval mode), vocabulary and labels."""
    classes = ckpt.meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise bad_checkpoint(ckpt, "its metadata has no list of labels ('classes') for its text classifier")
    try:
        vocab = Vocab.from_dict(ckpt.meta.get("vocab"))
    except (SeqlabError, AttributeError, TypeError):
        raise bad_checkpoint(ckpt, "its metadata has no vocabulary ('vocab') for its text classifier") from None
    net = build_text_model(cfg, len(vocab), len(classes))
    load_weights(net, ckpt)
    return net.to(device).eval(), vocab, classes


class TextPredictor:
    """A text classifier's checkpoint, ready to label raw texts: each text is stripped, tokenised,
    cut to max_len and encoded exactly as the run's training texts were (its level, lower-casing,
    punctuation splitting and vocabulary). `seqlab classify` predicts through it.

        from seqlab.training.checkpoint import load_checkpoint
        from seqlab.training.classify_text import TextPredictor

        predictor = TextPredictor.from_checkpoint(load_checkpoint("runs/reviews", "best"), "cpu")
        predictor.labels                            # ['neg', 'pos']: the columns of predict_proba
        predictor.predict(["a fine film", "dull"])  # ['pos', 'neg']
        predictor.predict_proba(["a fine film"])    # tensor (1, 2) on the CPU, rows summing to 1
        predictor.top_k(["a fine film"], 2)         # [[('pos', 0.97), ('neg', 0.03)]]: best first
    """

    def __init__(self, net: TextClassifier, vocab: Vocab, labels: list[str], data: ClassifyData,
                 device: torch.device | str = "cpu", batch_size: int = 1000):
        self.net, self.vocab, self.labels, self.data = net, vocab, list(labels), data
        self.device, self.batch_size = torch.device(device), check_positive_int("batch_size", batch_size)

    @classmethod
    def from_checkpoint(cls, ckpt, device: torch.device | str = "cpu", batch_size: int = 1000) -> "TextPredictor":
        """`ckpt`: a loaded checkpoint (training.checkpoint.load_checkpoint), or a run folder or
        checkpoint file (its best.safetensors)."""
        from seqlab.runtime import resolve_device
        from seqlab.training.checkpoint import as_checkpoint

        ckpt, device = as_checkpoint(ckpt), resolve_device(device)
        cfg = task_config(ckpt, ClassifyConfig, "classify")  # checks the metadata and the config's types
        if cfg.data.data is None:
            raise SeqlabError(f"checkpoint {str(ckpt.path)!r} holds an MNIST classifier, not a text classifier "
                              "(trained with --data): load it with seqlab.training.classify.model_from_checkpoint")
        net, vocab, labels = text_model(ckpt, cfg, device)
        return cls(net, vocab, labels, cfg.data, device, batch_size)

    def encode(self, texts: list[str]) -> EncodedTexts:
        """The texts' token ids (their labels 0: unknown); `.cut` counts those longer than max_len.
        An empty text (or one of whitespace only) is an error naming its index."""
        if isinstance(texts, str):
            raise SeqlabError("give a list of texts (a single text: [text])")
        d = self.data
        tokens = text_tokens([t.strip() for t in texts], d.level, d.lowercase, d.split_punct)
        empty = next((i for i, t in enumerate(tokens) if not t), None)
        if empty is not None:
            raise SeqlabError(f"text {empty} is empty: nothing to classify")
        return encode(tokens, [0] * len(tokens), self.vocab, d.max_len)

    def proba(self, texts: EncodedTexts) -> torch.Tensor:
        """Class probabilities (N, C) of encoded texts, on the CPU."""
        batches = TextBatches(texts, self.vocab[PAD]).logits(self.net, self.device, self.batch_size)
        probs = [logits.softmax(dim=1).cpu() for logits, _ in batches]
        return torch.cat(probs) if probs else torch.zeros(0, len(self.labels))

    def predict_proba(self, texts: list[str]) -> torch.Tensor:
        """Class probabilities (N, C) of raw texts, on the CPU; column j is `labels[j]`."""
        return self.proba(self.encode(texts))

    def predict(self, texts: list[str]) -> list[str]:
        """The predicted label of each raw text."""
        return [self.labels[i] for i in self.predict_proba(texts).argmax(dim=1).tolist()]

    def top_k(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        """The `k` most probable labels of each raw text with their probabilities, best first (equal
        ones in label order): k at least 1, at most len(labels)."""
        k = check_positive_int("k", k, f" (at most this model's {len(self.labels)} labels)")  # (2.0, True: refused)
        if k > len(self.labels):
            raise SeqlabError(f"k must be between 1 and this model's {len(self.labels)} labels, got {k}")
        values, columns = top_k(self.predict_proba(texts), k)
        return [[(self.labels[j], p) for j, p in zip(cs, ps)] for cs, ps in zip(columns.tolist(), values.tolist())]
