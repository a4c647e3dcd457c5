"""The speed benchmark runs end to end (one quick round, one model): slow, needs d2l 0.17.6 and the data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_train_speed_quick(tmp_path, data_dir):
    pytest.importorskip("d2l")
    out = tmp_path / "speed.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEQLAB_DATA": str(data_dir)}
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_speed.py"), "--quick", "--threads", "1",
                    "--only", "gru-scratch", "--json", str(out)], check=True, env=env, cwd=ROOT, timeout=600)
    best = json.loads(out.read_text())["best"]["gru-scratch"]
    assert set(best) == {"anchor", "ours", "nofast", "fused", "roof"}
    assert all(v > 0 for v in best.values())
