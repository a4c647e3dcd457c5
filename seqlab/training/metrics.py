"""Metrics: perplexity, and the per-epoch `metrics.jsonl` log every training run writes."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from seqlab.fileio import to_json


def perplexity(loss_sum: float, n_tokens: int) -> float:
    """exp(mean cross-entropy) over every predicted token; `loss_sum` is a sum in nats."""
    if n_tokens <= 0:
        raise ValueError("perplexity of zero predicted tokens is undefined")
    mean = loss_sum / n_tokens
    if math.isnan(mean):  # a NaN loss stays visible (inf would read as "diverged", not "broken")
        return float("nan")
    return math.exp(mean) if mean < 700 else float("inf")


class MetricsLog:
    """Append-only JSON-lines log: one object per epoch, flushed as it is written.

    A resumed run keeps the records up to the checkpoint's epoch and appends after them.
    """

    def __init__(self, path: str | Path, *, keep_until_epoch: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records = read_metrics(self.path) if keep_until_epoch is not None and self.path.exists() else []
        records = [r for r in records if keep_until_epoch is not None and r.get("epoch", 0) <= keep_until_epoch]
        with open(self.path, "w", encoding="utf-8") as fh:
            for r in records:
                fh.write(to_json(r) + "\n")
        self.records: list[dict[str, Any]] = records

    def write(self, **record: Any) -> None:
        self.records.append(record)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(to_json(record) + "\n")
            fh.flush()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
