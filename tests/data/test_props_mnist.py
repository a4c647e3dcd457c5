"""Property test (hypothesis) of `read_idx` on damaged files: any IDX file (raw or gzip), cut anywhere, with
bytes added, or its gzip stream cut, reads back as written when whole, and is otherwise either read (the
header's count of bytes is there) or refused with a SeqlabError: never another exception."""

import gzip

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data.mnist import read_idx, write_idx
from seqlab.errors import SeqlabError


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(["images", "labels"]), st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(0, 5)),
       st.integers(0, 2**32), st.booleans(), st.binary(max_size=8), st.data())
def test_a_damaged_idx_file_is_read_whole_or_refused(tmp_path_factory, kind, shape, seed, compress, junk, data):
    folder = tmp_path_factory.mktemp("idx")
    array = np.random.default_rng(seed).integers(0, 10, size=shape if kind == "images" else shape[:1], dtype=np.uint8)
    whole = write_idx(folder / "whole", array, compress=False).read_bytes()
    cut = data.draw(st.integers(0, len(whole)))
    for blob in (whole, whole[:cut], whole + junk, whole[:cut] + junk):
        stored = gzip.compress(blob) if compress else blob
        if compress and data.draw(st.booleans()):
            stored = stored[:data.draw(st.integers(0, len(stored)))]  # a download cut short
        (folder / "f").write_bytes(stored)
        try:
            got = read_idx(folder / "f", kind)
        except SeqlabError:
            assert blob[:len(whole)] != whole or stored != (gzip.compress(blob) if compress else blob)
            continue
        if blob[:len(whole)] == whole:
            assert np.array_equal(got.numpy(), array)
