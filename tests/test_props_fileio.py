"""Property tests (hypothesis) of seqlab.fileio: an atomic write reads back as written, and one that fails at
any step (data that is not bytes, a refused fsync or rename, an interrupt) leaves the old file as it was and no
temporary file behind; `to_json` is standard JSON (what json.loads reads with NaN/Infinity refused) equal to
python's own json of the object with every NaN or infinite float read back as null; numpy scalars and NaN or
infinite keys too, as numpy's `tolist` gives their values and JSON.stringify names the keys."""

import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab import fileio

FIXTURE = [HealthCheck.function_scoped_fixture]


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=4), st.sampled_from(["m.jsonl", "best.safetensors",
                                                                                   "日本 語.txt", ".hidden"]))
def test_each_write_reads_back_as_written_and_leaves_one_file(tmp_path_factory, blobs, name):
    folder = tmp_path_factory.mktemp("w") / "out"  # (made by the first write)
    for blob in blobs:
        assert fileio.atomic_write_bytes(folder / name, blob) == folder / name
        assert (folder / name).read_bytes() == blob
        assert os.listdir(folder) == [name]


class Boom(BaseException):
    """Raised midway: also a KeyboardInterrupt-like BaseException must clean up."""


def failing(step, monkeypatch):
    def boom(*args, **kwargs):
        raise {"fsync": OSError(28, "No space left on device"), "replace": PermissionError(13, "Permission denied"),
               "interrupt": Boom()}[step]
    if step == "fsync":
        monkeypatch.setattr(fileio.os, "fsync", boom)
    elif step in ("replace", "interrupt"):
        monkeypatch.setattr(fileio.os, "replace", boom)
    monkeypatch.setattr(fileio.time, "sleep", lambda s: None)


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(st.binary(max_size=100), st.sampled_from(["not bytes", "fsync", "replace", "interrupt"]), st.booleans())
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, old, step, windows):
    folder = tmp_path / "f"
    folder.mkdir(exist_ok=True)
    path = folder / "last.safetensors"
    path.write_bytes(old)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fileio, "WINDOWS", windows)
        failing(step, mp)
        with pytest.raises((TypeError, OSError, Boom)):
            fileio.atomic_write_bytes(path, {"not": "bytes"} if step == "not bytes" else b"new" + old)
    assert path.read_bytes() == old
    assert os.listdir(folder) == ["last.safetensors"]


floats = st.floats(allow_nan=True, allow_infinity=True)
json_like = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), floats, st.text(max_size=4)),
                         lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                                                 st.dictionaries(st.text(max_size=4), inner, max_size=4)),
                         max_leaves=12)


def refuse(constant):
    raise ValueError(f"not standard JSON: {constant}")


def same(a, b) -> bool:
    """Equal, with -0.0 and 0.0 told apart."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


@settings(max_examples=300, deadline=None)
@given(json_like, st.sampled_from([{}, {"indent": 1}, {"ensure_ascii": False}, {"sort_keys": True}]))
def test_to_json_is_standard_json_with_every_overflowed_figure_null(obj, kwargs):
    text = fileio.to_json(obj, **kwargs)
    got = json.loads(text, parse_constant=refuse)
    want = json.loads(json.dumps(obj), parse_constant=lambda constant: None)  # NaN, Infinity, -Infinity: null
    assert same(got, want)


# numpy's scalars (a reduction's or an index's result), and keys json.dumps refuses: NaN/inf floats, numpy's
numpy_scalars = st.one_of(st.floats(width=32, allow_nan=True).map(np.float32), floats.map(np.float64),
                          st.floats(width=16, allow_nan=True).map(np.float16),
                          st.integers(-2**63, 2**63 - 1).map(np.int64), st.integers(0, 255).map(np.uint8),
                          st.booleans().map(np.bool_))
keys = st.one_of(st.text(max_size=4), st.integers(-5, 5), floats, numpy_scalars)
with_numpy = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), floats, st.text(max_size=4),
                                    numpy_scalars),
                          lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
STRINGIFY = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}  # JavaScript's String(x) of a key


def plain(obj):
    """The object as plain Python data, by numpy's own conversion (tolist), non-finite keys named as
    JSON.stringify names them."""
    if isinstance(obj, np.generic):
        obj = obj.tolist()
    if isinstance(obj, dict):
        return {STRINGIFY.get(repr(k), k): plain(v) for k, v in ((plain(k), v) for k, v in obj.items())}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


@settings(max_examples=300, deadline=None)
@given(with_numpy, st.sampled_from([{}, {"sort_keys": False}, {"ensure_ascii": False}]))
def test_to_json_writes_numpy_scalars_as_their_values_and_names_non_finite_keys(obj, kwargs):
    # np.float32, np.int64 and np.bool_ (values or keys) and NaN/inf keys were a TypeError or ValueError
    got = json.loads(fileio.to_json(obj, **kwargs), parse_constant=refuse)
    want = json.loads(json.dumps(plain(obj)), parse_constant=lambda constant: None)
    assert same(got, want)
