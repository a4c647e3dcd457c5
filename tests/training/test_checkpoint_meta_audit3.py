"""checkpoint_meta, a mutation audit's gaps: the non-finite floats' tags through tuples, a tag it does
not know read as plain data, the epoch of a header, and the run's settings --resume keeps."""

import json
import math

import pytest
import torch
from safetensors.torch import save_file

from seqlab.training.checkpoint_meta import peek_epoch, peek_meta, read_meta, tag_nonfinite


def test_a_tuples_non_finite_floats_are_tagged_and_read_back():
    tagged = tag_nonfinite({"span": (1.0, math.inf), "deep": [(-math.inf,)]})
    text = json.dumps(tagged, allow_nan=False)  # standard JSON: no bare Infinity
    assert read_meta(text) == {"span": [1.0, math.inf], "deep": [[-math.inf]]}  # (JSON has no tuples)


def test_a_float_tag_it_does_not_know_is_plain_data():
    # {"$float": "big"} is no tag of seqlab's (inf, -inf, nan): read as the dict it is, not a KeyError
    text = '{"a": {"$float": "big"}, "b": {"$float": 3}, "c": {"$float": {"x": 1}}}'
    assert read_meta(text) == {"a": {"$float": "big"}, "b": {"$float": 3}, "c": {"$float": {"x": 1}}}


@pytest.mark.parametrize("header, epoch", [
    (None, None),  # a safetensors file with no metadata at all
    ({"other": "x"}, None),  # metadata, but no seqlab entry
    ({"seqlab": "[1, 2]"}, None),  # seqlab's entry, but not an object
    ({"seqlab": '{"epoch": true}'}, None),  # a boolean is no epoch
    ({"seqlab": '{"epoch": 2.0}'}, None),  # nor a float
    ({"seqlab": '{"epoch": 3}'}, 3),
])
def test_the_epoch_of_a_header_is_an_int_or_none(tmp_path, header, epoch):
    path = tmp_path / "x.safetensors"
    save_file({"w": torch.zeros(2)}, path, metadata=header)
    assert peek_epoch(path) == epoch
    meta = peek_meta(path)
    assert meta is None or isinstance(meta, dict)
