"""MNIST from its IDX files (`.gz` or raw), without torchvision.

The IDX format (LeCun's): a big-endian header, then the data as unsigned bytes.

    images (magic 2051 = 0x00000803):  n, rows, cols  | n*rows*cols bytes, row-major
    labels (magic 2049 = 0x00000801):  n              | n bytes, each 0..9

A file whose magic number is wrong, whose header gives a negative size, or that ends
before the header says it should, is refused with a `SeqlabError` naming the file; so
are images other than 28x28 (`load_mnist`). In a folder given as `root`, a file may also
have its standard name without `.gz` (as `gunzip` leaves it).

Two ways to read an image as a sequence (seed 003):

    rows:   (N, 28, 28)   28 time steps of 28 pixels (one image row per step)
    pixels: (N, 784, 1)   784 time steps of 1 pixel (row-major scan), the hard case
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from seqlab.errors import SeqlabError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
ROWS, COLS = 28, 28  # the size of an MNIST image
MEAN, STD = 0.1307, 0.3081  # the usual MNIST normalisation (seed 003)
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
Mode = Literal["rows", "pixels"]


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SeqlabError(f"MNIST file {str(path)!r} not found") from None
    except IsADirectoryError:
        raise SeqlabError(f"{str(path)!r} is a folder, not an MNIST (IDX) file") from None
    except NotADirectoryError:  # a file where a folder of the path should be
        raise SeqlabError(f"MNIST file {str(path)!r} not found ({str(path.parent)!r} is not a folder)") from None
    except OSError as exc:
        raise SeqlabError(f"cannot read MNIST file {str(path)!r}: {exc.strerror or exc}") from None
    if raw[:2] != b"\x1f\x8b":  # not gzip: a raw IDX file
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error):
        raise SeqlabError(f"MNIST file {str(path)!r} is a truncated or corrupted .gz file; "
                          "download it again") from None


def read_idx(path: str | Path, kind: Literal["images", "labels"]) -> torch.Tensor:
    """One IDX file as a uint8 tensor: images (N, rows, cols) or labels (N,)."""
    path = Path(path).expanduser()
    blob = _read_bytes(path)
    magic_expected, ndim = (IMAGES_MAGIC, 3) if kind == "images" else (LABELS_MAGIC, 1)
    header_len = 4 + 4 * ndim
    if len(blob) < 4:
        raise SeqlabError(f"MNIST file {str(path)!r} is truncated: {len(blob)} bytes, no IDX header")
    magic = struct.unpack(">i", blob[:4])[0]
    if magic != magic_expected:
        other = {IMAGES_MAGIC: "an images file", LABELS_MAGIC: "a labels file"}.get(magic, "not an IDX file")
        raise SeqlabError(f"MNIST file {str(path)!r} has magic number {magic} ({other}); "
                          f"expected {magic_expected} for {kind}: check which file was given")
    if len(blob) < header_len:
        raise SeqlabError(f"MNIST file {str(path)!r} is truncated inside its header")
    dims = struct.unpack(f">{ndim}i", blob[4:header_len])
    if min(dims) < 0:
        raise SeqlabError(f"MNIST file {str(path)!r} has a negative size in its header {tuple(dims)}: "
                          "the file is corrupted; download it again")
    count = math.prod(dims)  # Python ints: np.prod would wrap around past 2**63
    if len(blob) - header_len < count:
        raise SeqlabError(f"MNIST file {str(path)!r} is truncated: its header promises {count:,} bytes "
                          f"of {kind} {tuple(dims)}, the file holds {len(blob) - header_len:,}")
    data = np.frombuffer(blob, dtype=np.uint8, count=count, offset=header_len).reshape(dims)
    if kind == "labels" and data.size and data.max() > 9:
        raise SeqlabError(f"MNIST file {str(path)!r} holds label {int(data.max())}; labels must be 0..9")
    return torch.from_numpy(data.copy())


def write_idx(path: str | Path, array: np.ndarray | torch.Tensor, *, compress: bool = True) -> Path:
    """Write uint8 images (N, R, C) or labels (N,) as an IDX file (for tests and small fixtures)."""
    arr = np.asarray(array, dtype=np.uint8)
    magic = IMAGES_MAGIC if arr.ndim == 3 else LABELS_MAGIC
    blob = struct.pack(f">i{arr.ndim}i", magic, *arr.shape) + arr.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(blob) if compress else blob)
    return path


def split_paths(split: str, root: str | Path | None = None) -> tuple[Path, Path]:
    """The images and labels files of `split` (train|test): from `root`, else the data registry."""
    if split not in SPLIT_FILES:
        raise SeqlabError(f"unknown MNIST split {split!r}: use train or test")
    names = SPLIT_FILES[split]
    if root is not None:
        root = Path(root)
        try:
            if not root.is_dir() and root.exists():
                raise SeqlabError(f"{str(root)!r} is a file, not a folder: give the folder that holds the MNIST files "
                                  f"({', '.join(names)})")
        except OSError as exc:
            raise SeqlabError(f"cannot read the MNIST folder {str(root)!r}: {exc.strerror or exc}") from None
        return tuple(_existing_name(root, n) for n in names)  # type: ignore[return-value]
    from seqlab.data.corpora import dataset_file

    return dataset_file("mnist", names[0]), dataset_file("mnist", names[1])


def _existing_name(root: Path, name: str) -> Path:
    """root/name, or root/name without its .gz when only that (the uncompressed file, as
    `gunzip` leaves it) is there: both are read alike."""
    path = root / name
    raw = root / name.removesuffix(".gz")
    if not os.path.lexists(path) and os.path.lexists(raw):
        return raw
    return path


def load_mnist(split: str = "train", root: str | Path | None = None,
               limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 (N, 28, 28), labels int64 (N,)) of one split; `limit` keeps the first N."""
    images_path, labels_path = split_paths(split, root)
    images = read_idx(images_path, "images")
    labels = read_idx(labels_path, "labels").long()
    if tuple(images.shape[1:]) != (ROWS, COLS):
        # a model trained on other sizes would load, but read no MNIST digit (nor its own test split)
        raise SeqlabError(f"MNIST file {str(images_path)!r} holds {images.shape[1]}x{images.shape[2]} images; "
                          f"seqlab's MNIST models read {ROWS}x{COLS} digits: resize the images first")
    if len(images) != len(labels):
        raise SeqlabError(f"MNIST {split}: {len(images):,} images but {len(labels):,} labels "
                          f"({images_path.name}, {labels_path.name})")
    if limit:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 (x / 255 - 0.1307) / 0.3081, as torchvision's ToTensor + Normalize."""
    return (images.float() / 255.0 - MEAN) / STD


def as_sequences(images: torch.Tensor, mode: Mode) -> torch.Tensor:
    """Images (N, R, C) -> sequences (N, T, D): rows (N, R, C) or pixels (N, R*C, 1)."""
    if mode == "rows":
        return images
    if mode == "pixels":
        return images.reshape(images.shape[0], -1, 1)  # (N, R*C, 1), row-major scan
    raise SeqlabError(f"unknown sequence mode {mode!r}: use rows or pixels")
