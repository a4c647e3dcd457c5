"""What seqlab writes as JSON is standard JSON: a perplexity past exp(700) or a NaN is null, never
Python's `Infinity`/`NaN`, which other parsers (JavaScript's JSON.parse, jq) refuse."""

import json
import math

import pytest

from seqlab.fileio import to_json
from seqlab.training.metrics import MetricsLog, perplexity


def strict_loads(text):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_become_null_at_any_depth():
    obj = {"ppl": float("inf"), "loss": float("nan"), "k": {"1": [1.5, float("-inf")]}, "n": 3, "s": "inf"}
    assert strict_loads(to_json(obj)) == {"ppl": None, "loss": None, "k": {"1": [1.5, None]}, "n": 3, "s": "inf"}
    assert strict_loads(to_json({"a": 0.1})) == {"a": 0.1}


def test_numpy_scalars_are_written_as_their_values():
    # numpy's scalars are what its reductions give (np.mean of losses, np.argmax): all but np.float64
    # were a TypeError ("Object of type float32 is not JSON serializable")
    import numpy as np

    obj = {"f32": np.float32(0.5), "f64": np.float64(0.25), "i": np.int64(-3), "u": np.uint64(2**64 - 1),
           "b": np.bool_(False), "nan": np.float32("nan"), "inf": np.float16("inf"), "list": [np.int8(7)],
           np.int64(4): "key", np.float32(0.5): "key"}
    text = to_json(obj)
    assert text == ('{"f32": 0.5, "f64": 0.25, "i": -3, "u": 18446744073709551615, "b": false, "nan": null, '
                    '"inf": null, "list": [7], "4": "key", "0.5": "key"}')
    assert strict_loads(text)["b"] is False


def test_non_finite_keys_are_named_as_javascript_names_them():
    # json.dumps refused them (allow_nan=False); JSON.stringify({[NaN]: 1}) is '{"NaN":1}'
    obj = {math.nan: 1, math.inf: 2, -math.inf: 3, 1.5: 4}
    assert to_json(obj) == '{"NaN": 1, "Infinity": 2, "-Infinity": 3, "1.5": 4}'


def test_metrics_lines_stay_parseable_when_a_run_diverges(tmp_path):
    log = MetricsLog(tmp_path / "metrics.jsonl")
    log.write(epoch=1, train_loss=4e30, train_ppl=perplexity(4e30, 1), valid_loss=3.0, valid_ppl=math.exp(3.0))
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    record = strict_loads(lines[0])  # json.dumps wrote "train_ppl": Infinity
    assert record["train_ppl"] is None and record["train_loss"] == 4e30
    assert record["valid_ppl"] == pytest.approx(math.exp(3.0))
    resumed = MetricsLog(tmp_path / "metrics.jsonl", keep_until_epoch=1)  # rewritten on --resume: still JSON
    assert resumed.records[0]["train_ppl"] is None
    strict_loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])
