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
