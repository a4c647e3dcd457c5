"""Metrics: perplexity, and the per-epoch `metrics.jsonl` log every training run writes."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Callable

from seqlab.errors import SeqlabError
from seqlab.fileio import atomic_write_bytes, to_json


def perplexity(loss_sum: float, n_tokens: int) -> float:
    """exp(mean cross-entropy) over every predicted token; `loss_sum` is a sum in nats."""
    if n_tokens <= 0:
        raise SeqlabError(f"perplexity needs n_tokens >= 1 (the number of predicted tokens loss_sum adds up), got "
                          f"{n_tokens!r}: the perplexity of no predicted tokens is undefined")
    return perplexity_of_mean(loss_sum / n_tokens)


def perplexity_of_mean(mean: float) -> float:
    """exp of a mean cross-entropy in nats: inf past exp(700) (where exp overflows; JSON null), NaN kept."""
    if math.isnan(mean):  # a NaN loss stays visible (inf would read as "diverged", not "broken")
        return float("nan")
    return math.exp(mean) if mean < 700 else float("inf")


KEPT = "checkpoints already written are kept"


def _cannot_write(path: Path, exc: OSError) -> SeqlabError:
    return SeqlabError(f"cannot write {str(path)!r}: {exc.strerror or exc}; {KEPT} (free the space or fix "
                       "the permissions, then --resume)")


class MetricsLog:
    """Append-only JSON-lines log: one object per epoch, flushed as it is written.

    A resumed run keeps the records up to the checkpoint's epoch and appends after them (a last
    line cut short by a kill or a full disk is dropped with a note: it is after the checkpoint's
    epoch, whose line was written before its checkpoint). A file that cannot be written is a
    SeqlabError that says the checkpoints are kept.
    """

    def __init__(self, path: str | Path, *, keep_until_epoch: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records = (read_metrics(self.path, note=_note) if keep_until_epoch is not None and self.path.exists()
                   else [])
        records = [r for r in records if keep_until_epoch is not None and r.get("epoch", 0) <= keep_until_epoch]
        try:  # the kept lines: the old file stays whole until the new one is; else a new, empty log
            if records:
                atomic_write_bytes(self.path, "".join(to_json(r) + "\n" for r in records).encode("utf-8"))
            else:
                self.path.write_bytes(b"")
        except OSError as exc:
            raise _cannot_write(self.path, exc) from None
        self.records: list[dict[str, Any]] = records

    def write(self, **record: Any) -> None:
        try:
            with open(self.path, "a", encoding="utf-8", newline="\n") as fh:  # LF on Windows too, as on --resume
                fh.write(to_json(record) + "\n")
                fh.flush()
        except OSError as exc:
            raise _cannot_write(self.path, exc) from None
        self.records.append(record)


def _note(line: str) -> None:
    print(f"seqlab: note: {line}", file=sys.stderr)


def read_metrics(path: str | Path, *, note: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl. Its last line, if not a JSON object (cut short by a kill or a
    full disk), is dropped (`note` is told); any other such line is a SeqlabError naming it."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [(n, line) for n, line in enumerate(fh, 1) if line.strip()]
    except UnicodeDecodeError as exc:
        raise SeqlabError(f"{str(path)!r} is not a metrics.jsonl (not UTF-8 text: {exc.reason}); move it away "
                          "or start a new run with --overwrite") from None
    except OSError as exc:
        raise SeqlabError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    records = []
    for i, (n, line) in enumerate(lines):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        elif i == len(lines) - 1:
            if note is not None:
                note(f"{str(path)!r}: its last line ({n}) is cut short (an interrupted write?) and is dropped; "
                     "the epochs after the checkpoint's are written again")
        else:
            raise SeqlabError(f"{str(path)!r} line {n} is not a JSON object of an epoch's metrics: "
                              f"{line.strip()[:60]!r}; fix or remove that line (or start a new run with --overwrite)")
    return records
