"""MNIST idx reader: synthetic idx files in tmp_path, bad files, and a slice of the real data."""

import gzip
import struct

import numpy as np
import pytest
import torch

from seqlab import SeqlabError
from seqlab.data.mnist import as_sequences, load_mnist, normalize, read_idx, write_idx


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    return tmp_path, images, labels


def test_roundtrip_gz_and_raw(tiny, tmp_path):
    root, images, labels = tiny
    x, y = load_mnist("test", root)
    assert x.dtype == torch.uint8 and x.shape == (5, 28, 28) and np.array_equal(x.numpy(), images)
    assert y.dtype == torch.int64 and y.tolist() == [3, 1, 4, 1, 5]
    raw = write_idx(tmp_path / "raw-idx", labels, compress=False)
    assert raw.read_bytes()[:8] == struct.pack(">ii", 2049, 5)  # big-endian magic, count
    assert read_idx(raw, "labels").tolist() == [3, 1, 4, 1, 5]
    assert load_mnist("test", root, limit=2)[1].tolist() == [3, 1]


def test_normalisation_and_sequence_modes():
    img = torch.zeros(2, 28, 28, dtype=torch.uint8)
    img[0, 1, 2] = 255
    x = normalize(img)
    assert abs(x[1, 0, 0].item() - (-0.1307 / 0.3081)) < 1e-6
    assert abs(x[0, 1, 2].item() - (1 - 0.1307) / 0.3081) < 1e-6
    assert as_sequences(x, "rows").shape == (2, 28, 28)
    pixels = as_sequences(x, "pixels")
    assert pixels.shape == (2, 784, 1) and pixels[0, 28 + 2, 0] == x[0, 1, 2]  # row-major scan
    with pytest.raises(SeqlabError, match="rows or pixels"):
        as_sequences(x, "columns")


def test_wrong_magic_names_the_file(tiny):
    root, _, _ = tiny
    with pytest.raises(SeqlabError, match=r"magic number 2049 \(a labels file\); expected 2051"):
        read_idx(root / "t10k-labels-idx1-ubyte.gz", "images")
    bogus = root / "bogus.gz"
    bogus.write_bytes(gzip.compress(b"\x00\x00\x00\x07" + b"\x00" * 20))
    with pytest.raises(SeqlabError, match="not an IDX file"):
        read_idx(bogus, "labels")


def test_truncated_files(tiny):
    root, _, _ = tiny
    path = root / "t10k-images-idx3-ubyte.gz"
    blob = gzip.decompress(path.read_bytes())
    short = root / "short-images"
    short.write_bytes(blob[:-100])  # raw file missing its last 100 pixels
    with pytest.raises(SeqlabError, match="is truncated: its header promises 3,920 bytes"):
        read_idx(short, "images")
    cut_gz = root / "cut.gz"
    cut_gz.write_bytes(path.read_bytes()[:200])  # a .gz cut short
    with pytest.raises(SeqlabError, match="truncated or corrupted .gz"):
        read_idx(cut_gz, "images")
    header_only = root / "h"
    header_only.write_bytes(struct.pack(">ii", 2051, 5))
    with pytest.raises(SeqlabError, match="inside its header"):
        read_idx(header_only, "images")


def test_mismatched_counts_and_missing_files(tiny):
    root, images, _ = tiny
    write_idx(root / "t10k-labels-idx1-ubyte.gz", np.array([1, 2], dtype=np.uint8))
    with pytest.raises(SeqlabError, match="5 images but 2 labels"):
        load_mnist("test", root)
    with pytest.raises(SeqlabError, match="not found"):
        load_mnist("train", root)
    with pytest.raises(SeqlabError, match="train or test"):
        load_mnist("valid", root)


def test_real_mnist_slice(data_dir):
    x, y = load_mnist("test", limit=100)
    assert x.shape == (100, 28, 28) and y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    train_x, train_y = load_mnist("train", limit=10)
    assert train_y.tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    # the whole training set's mean/std are the constants seed 003 normalises with
    full = read_idx(data_dir / "mnist" / "train-images-idx3-ubyte.gz", "images").float() / 255
    assert abs(full.mean().item() - 0.1307) < 1e-4 and abs(full.std().item() - 0.3081) < 1e-4


def test_label_out_of_range_is_refused(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.array([3, 10, 1], dtype=np.uint8))
    with pytest.raises(SeqlabError, match="holds label 10; labels must be 0..9"):
        read_idx(path, "labels")


# --- files the reader used to take wrongly (data review) ------------------------------------------

def _split(root, name, images, labels, compress=True):
    suffix = ".gz" if compress else ""
    write_idx(root / f"{name}-images-idx3-ubyte{suffix}", images, compress=compress)
    write_idx(root / f"{name}-labels-idx1-ubyte{suffix}", labels, compress=compress)


def test_images_that_are_not_28x28_are_refused_at_load(tmp_path):
    # 14x14 trained, then gave a checkpoint that reads no MNIST digit; 28x28 train with 14x14 test
    # crashed with a RuntimeError at the first evaluation
    _split(tmp_path, "train", np.zeros((6, 28, 28), np.uint8), np.zeros(6, np.uint8))
    _split(tmp_path, "t10k", np.zeros((4, 14, 14), np.uint8), np.zeros(4, np.uint8))
    assert load_mnist("train", tmp_path)[0].shape == (6, 28, 28)
    with pytest.raises(SeqlabError, match="t10k-images-idx3-ubyte.gz' holds 14x14 images; .* read 28x28"):
        load_mnist("test", tmp_path)


def _header(path, dims, payload=b""):
    path.write_bytes(struct.pack(f">i{len(dims)}i", 2051, *dims) + payload)
    return path


def test_negative_and_overflowing_header_sizes_are_refused(tmp_path):
    with pytest.raises(SeqlabError, match=r"negative size in its header \(-1, 28, 28\)"):
        read_idx(_header(tmp_path / "neg", (-1, 28, 28), bytes(5 * 784)), "images")  # was read as 5 images
    # 2**21 * 2**21 * 2**22 = 2**64: np.prod wrapped to 0, past the truncation check, into a reshape crash
    with pytest.raises(SeqlabError, match="is truncated: its header promises 18,446,744,073,709,551,616 bytes"):
        read_idx(_header(tmp_path / "big", (2 ** 21, 2 ** 21, 2 ** 22)), "images")


def test_unreadable_files_and_folders_are_one_line_errors(tiny, tmp_path, monkeypatch):
    root, _, _ = tiny
    with pytest.raises(SeqlabError, match="is a folder, not an MNIST"):
        read_idx(root, "images")
    afile = root / "t10k-images-idx3-ubyte.gz"
    with pytest.raises(SeqlabError, match="is a file, not a folder"):
        load_mnist("test", afile)
    real = type(afile).read_bytes

    def denied(self):  # as chmod 000 does for a user other than root
        if self.name == afile.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(type(afile), "read_bytes", denied)
    with pytest.raises(SeqlabError, match="cannot read MNIST file .*t10k-images-idx3-ubyte.gz': Permission denied"):
        load_mnist("test", root)


def test_unreadable_folder_is_a_one_line_error(tmp_path, monkeypatch):
    from pathlib import Path

    locked = tmp_path / "locked"
    locked.mkdir()
    real = Path.is_dir

    def denied(self):  # a folder on the way without search permission
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "is_dir", denied)
    with pytest.raises(SeqlabError, match="cannot read the MNIST folder .*locked': Permission denied"):
        load_mnist("test", locked)


def test_uncompressed_files_with_the_standard_names_are_read(tmp_path):
    images = np.full((3, 28, 28), 7, np.uint8)
    _split(tmp_path, "t10k", images, np.array([1, 2, 3], np.uint8), compress=False)  # as gunzip leaves them
    x, y = load_mnist("test", tmp_path)
    assert np.array_equal(x.numpy(), images) and y.tolist() == [1, 2, 3]
