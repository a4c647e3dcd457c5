"""Mutation audit of mnist.py: what the earlier tests left open (a .gz whose deflate data is damaged,
the tensors' memory, a folder that is not there, a .gz beside its gunzipped twin, a non-square image
size, a path through a file, and a raw file that starts with gzip's first byte only)."""

import gzip
import struct
import warnings

import numpy as np
import pytest

from seqlab import SeqlabError
from seqlab.data.mnist import SPLIT_FILES, load_mnist, read_idx, write_idx


def images(n, value, rows=28, cols=28):
    return np.full((n, rows, cols), value, dtype=np.uint8)


def test_a_gz_file_with_damaged_deflate_data_is_a_one_line_error(tmp_path):
    blob = bytearray(gzip.compress(struct.pack(">iiii", 2051, 1, 28, 28) + bytes(784)))
    blob[10] = 0xFF  # the first deflate byte: block type 3, which does not exist (zlib.error, not an OSError)
    (tmp_path / "x.gz").write_bytes(bytes(blob))
    with pytest.raises(SeqlabError, match="is a truncated or corrupted .gz file; download it again"):
        read_idx(tmp_path / "x.gz", "images")


def test_read_tensors_are_writable_and_their_own(tmp_path):
    f = write_idx(tmp_path / "x.gz", images(2, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns of a tensor over a read-only buffer
        t = read_idx(f, "images")
        t.add_(1)
    assert int(t.sum()) == 2 * 784 * 8


def test_a_folder_that_is_not_there_is_not_called_a_file(tmp_path):
    with pytest.raises(SeqlabError, match=r"MNIST file .*nope.*train-images-idx3-ubyte\.gz' not found$"):
        load_mnist("train", tmp_path / "nope")


def test_a_gz_file_is_read_before_its_gunzipped_twin(tmp_path):
    images_gz, labels_gz = SPLIT_FILES["train"]
    write_idx(tmp_path / images_gz, images(3, 1))
    write_idx(tmp_path / labels_gz, np.array([1, 2, 3]))
    write_idx(tmp_path / images_gz.removesuffix(".gz"), images(3, 9), compress=False)  # another file
    got, labels = load_mnist("train", tmp_path)
    assert int(got.max()) == 1 and labels.tolist() == [1, 2, 3]


def test_a_non_square_size_is_named_rows_by_columns(tmp_path):
    images_gz, labels_gz = SPLIT_FILES["test"]
    write_idx(tmp_path / images_gz, images(2, 0, rows=14, cols=20))
    write_idx(tmp_path / labels_gz, np.array([0, 1]))
    with pytest.raises(SeqlabError, match="holds 14x20 images; seqlab's MNIST models read 28x28 digits"):
        load_mnist("test", tmp_path)


def test_a_path_through_a_file_is_not_found(tmp_path):
    (tmp_path / "mnist").write_text("not a folder")
    with pytest.raises(SeqlabError, match=r"not found \('.*mnist' is not a folder\)$"):
        read_idx(tmp_path / "mnist" / "x.gz", "labels")


def test_a_raw_file_starting_with_gzips_first_byte_only_is_no_idx_file(tmp_path):
    (tmp_path / "x").write_bytes(b"\x1f\x00\x08\x03" + bytes(12))  # magic 0x1f000803
    with pytest.raises(SeqlabError, match=r"has magic number \d+ \(not an IDX file\)"):
        read_idx(tmp_path / "x", "images")
