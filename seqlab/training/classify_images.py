"""MNIST read as sequences, as the training loop of classify.py reads its data (classify_text.py
is the labelled-text twin): the splits, and each split as `ImageSequences`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seqlab.data.mnist import as_sequences, load_mnist, normalize
from seqlab.errors import SeqlabError
from seqlab.training.classify import ClassifyConfig, ClassifyData, RunData, build_model, evaluate_accuracy


@dataclass
class Splits:
    """Normalised sequences (N, T, D) and labels (N,) of each split."""

    train: tuple[torch.Tensor, torch.Tensor]
    valid: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    valid_is_test: bool


def load_splits(d: ClassifyData) -> Splits:
    images, labels = load_mnist("train", d.data_dir, d.train_limit or None)
    test_images, test_labels = load_mnist("test", d.data_dir, d.test_limit or None)
    if d.valid_size >= len(images):
        raise SeqlabError(f"--valid-size {d.valid_size} leaves no training images (there are {len(images)})")

    def prep(x: torch.Tensor) -> torch.Tensor:
        return as_sequences(normalize(x), d.mode)

    test = (prep(test_images), test_labels)
    if d.valid_size == 0:
        return Splits((prep(images), labels), test, test, True)
    cut = len(images) - d.valid_size
    return Splits((prep(images[:cut]), labels[:cut]), (prep(images[cut:]), labels[cut:]), test, False)


class ImageSequences:
    """MNIST images read as sequences, as the training loop reads a split (classify_text.TextBatches
    is the text twin): x (N, T, D) normalised, y (N,)."""

    unit = "images"

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    @property
    def device(self) -> torch.device:
        return self.x.device

    def epoch_order(self, batch_size: int) -> torch.Tensor:
        """An epoch's example order (N,): its batches are consecutive `batch_size` slices."""
        return torch.randperm(len(self))

    def to(self, device: torch.device) -> "ImageSequences":
        return ImageSequences(self.x.to(device), self.y.to(device))  # once: each batch is then a gather there

    def batch(self, idx: torch.Tensor, device: torch.device) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, int]:
        """The model's inputs and the labels of the examples `idx`, and their sequence steps."""
        return (self.x[idx].to(device),), self.y[idx].to(device), len(idx) * self.x.shape[1]  # (B, T, D), (B,)

    def evaluate(self, net: nn.Module, device: torch.device, batch_size: int) -> dict:
        return evaluate_accuracy(net, self.x, self.y, device, batch_size)


def mnist_data(cfg: ClassifyConfig) -> RunData:
    """MNIST's splits as the training loop reads them, and the model for its rows or pixels."""
    splits = load_splits(cfg.data)
    x_train = splits.train[0]
    return RunData(ImageSequences(*splits.train), ImageSequences(*splits.valid), ImageSequences(*splits.test),
                   splits.valid_is_test, build_model(cfg, x_train.shape[-1]))
