"""Text classification's side of `seqlab train classify --data FILE`: the labelled text a config names
(seqlab.data.labelled_text) as the training loop in classify.py reads it, the model, evaluation and
prediction, and what the checkpoints keep beside the weights (the vocabulary, the labels, the data's
fingerprint)."""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from seqlab.data.labelled_text import EncodedTexts, LabelledText, load_labelled_text, majority_share
from seqlab.data.vocab import UNK, Vocab
from seqlab.errors import SeqlabError, check_positive_int
from seqlab.models.classifier import TextClassifier
from seqlab.runtime import eval_mode
from seqlab.training.checkpoint import bad_checkpoint, load_weights
from seqlab.training.classify import ClassifyConfig, ClassifyData, RunData, _loss_sum


class TextBatches:
    """A split of encoded texts as the training loop reads it (classify.ImageSequences' twin)."""

    unit = "texts"

    def __init__(self, texts: EncodedTexts, pad_id: int):
        self.texts, self.pad_id = texts, pad_id

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def to(self, device: torch.device) -> "TextBatches":
        return self  # the texts stay on the CPU: each batch is padded there to its longest text, then sent

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
        """Mean cross-entropy, accuracy and count (as classify.evaluate_accuracy)."""
        loss_sum, correct = 0.0, 0
        for logits, labels in self.logits(net, device, batch_size):
            loss_sum += _loss_sum(logits, labels).item()
            correct += (logits.argmax(dim=1) == labels).sum().item()
        n = len(self)
        return {"loss": loss_sum / max(n, 1), "accuracy": correct / max(n, 1), "count": n}


def load_text(d: ClassifyData, path: str | None = None, vocab: Vocab | None = None,
              classes: list[str] | None = None) -> LabelledText:
    """The labelled text `d` names (at `path`, where the run's data was found again)."""
    return load_labelled_text(path or d.data, level=d.level, label_column=d.label_column, text_column=d.text_column,
                              lowercase=d.lowercase, min_freq=d.min_freq, max_vocab=d.max_vocab, max_len=d.max_len,
                              vocab=vocab, classes=classes)


def build_text_model(cfg: ClassifyConfig, vocab_size: int, num_classes: int) -> TextClassifier:
    m = cfg.model
    return TextClassifier(vocab_size, num_classes, embed=m.embed, hidden=m.hidden, layers=m.layers, cell=m.cell,
                          dropout=m.dropout, bidirectional=m.bidirectional)


def text_data(cfg: ClassifyConfig, log) -> RunData:
    """The run's splits and model, and the notes on its data in the log."""
    data = load_text(cfg.data)
    for note in data_notes(data, cfg.data):
        log(note)
    top, share = majority_share(data.valid.labels, len(data.classes))
    meta = {"vocab": data.vocab.to_dict(), "classes": data.classes, "data_file": data.source}

    def check_resume(ckpt) -> None:
        from seqlab.data.registry import same_data

        differs = same_data(ckpt.meta.get("data_file"), data.source)
        if differs or ckpt.meta.get("classes") != data.classes or ckpt.meta.get("vocab", {}).get("idx_to_token") \
                != data.vocab.to_dict()["idx_to_token"]:
            raise SeqlabError(f"--resume: the run's --data {cfg.data.data} has changed since the run started "
                              f"({differs or 'other labels or vocabulary'}): its saved state would go on training on "
                              "other texts; restore it, or start a new run (another --out, or --overwrite)")

    test = None if data.test is None else TextBatches(data.test, data.pad_id)
    return RunData(TextBatches(data.train, data.pad_id), TextBatches(data.valid, data.pad_id), test, False,
                   build_text_model(cfg, len(data.vocab), len(data.classes)), meta, check_resume,
                   {"valid_majority_accuracy": share, "majority_label": data.classes[top]})


def data_notes(data: LabelledText, d: ClassifyData) -> list[str]:
    """What the training log says about the texts: sizes, labels, vocabulary, <unk>, cut texts."""
    from seqlab.data.text import unsegmented_note

    splits = [(s, getattr(data, s)) for s in ("train", "valid", "test") if getattr(data, s) is not None]
    counts = torch.bincount(data.train.labels, minlength=len(data.classes)).tolist()
    labels = ", ".join(f"{c!r} {n:,}" for c, n in zip(data.classes[:8], counts))
    unk = (data.valid.ids == data.vocab[UNK]).float().mean().item() if len(data.valid.ids) else 0.0
    top, share = majority_share(data.valid.labels, len(data.classes))
    notes = [f"{data.name}: {', '.join(f'{len(t):,} {s}' for s, t in splits)} texts; {data.heldout}",
             f"{len(data.classes)} labels (training texts: {labels}{', ...' if len(data.classes) > 8 else ''}); "
             f"always predicting {data.classes[top]!r} scores {share:.3f} on the validation texts",
             f"vocabulary: {len(data.vocab):,} {d.level}s of the training texts (min_freq {d.min_freq}"
             f"{'' if d.max_vocab is None else f', max_vocab {d.max_vocab}'}); {unk:.1%} of the validation tokens "
             "are <unk>"]
    cut = [f"{t.cut:,} of {len(t):,} {s}" for s, t in splits if t.cut]
    if cut:
        notes.append(f"texts longer than --max-len {d.max_len} {d.level}s keep their first {d.max_len}: "
                     f"{', '.join(cut)} texts were cut")
    if d.level == "word":
        notes.append(unsegmented_note(data.vocab.token_freqs))
    return [n for n in notes if n]


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


def predict(net: nn.Module, texts: EncodedTexts, pad_id: int, device: torch.device, batch_size: int) -> torch.Tensor:
    """Class probabilities (N, C) of `texts`, on the CPU."""
    probs = [logits.softmax(dim=1).cpu() for logits, _ in TextBatches(texts, pad_id).logits(net, device, batch_size)]
    return torch.cat(probs) if probs else torch.zeros(0, len(net.fc.bias))
