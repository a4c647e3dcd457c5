"""metrics.jsonl's line ends: LF on every system, for the lines appended as for those a --resume rewrites."""

import _pyio
import os

from seqlab.training import metrics
from seqlab.training.metrics import MetricsLog, read_metrics


def test_appended_and_rewritten_lines_both_end_in_lf_also_on_windows(tmp_path, monkeypatch):
    # Python's own io, which translates a text-mode "\n" to os.linesep as the C io does on Windows
    # (the C io's choice is made when Python is built: os.linesep does not move it)
    monkeypatch.setattr(os, "linesep", "\r\n")
    monkeypatch.setattr(metrics, "open", _pyio.open, raising=False)
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path)
    log.write(epoch=1, train_loss=2.0)
    log.write(epoch=2, train_loss=1.5)
    resumed = MetricsLog(path, keep_until_epoch=1)  # rewritten as bytes: LF
    resumed.write(epoch=2, train_loss=1.4)
    data = path.read_bytes()
    assert b"\r" not in data and data.count(b"\n") == 2
    assert [r["train_loss"] for r in read_metrics(path)] == [2.0, 1.4]
