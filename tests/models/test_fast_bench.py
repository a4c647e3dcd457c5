"""The speed benchmark runs end to end (one quick round, one model): slow, needs d2l 0.17.6 and the data;
its --products forces each step-product kernel."""

import importlib.util
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


@pytest.mark.parametrize("name", ["auto", "onednn", "mkl-packed", "addmm"])
def test_train_speed_products_force_each_kernel(name, monkeypatch):
    import torch

    from seqlab.models import step_products

    spec = importlib.util.spec_from_file_location("train_speed", ROOT / "benchmarks" / "train_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.PRODUCTS == ("auto", "onednn", "mkl-packed", "addmm")
    for switch in ("ONEDNN", "MKL_PACKED"):  # (put back after the test)
        monkeypatch.setattr(step_products, switch, getattr(step_products, switch))
    w = torch.zeros(3, 4)
    before = step_products._use_onednn(w), step_products._use_mkl_packed(w)
    bench.force_products(name)
    onednn, mkl = step_products._use_onednn(w), step_products._use_mkl_packed(w)
    if name == "auto":
        assert (onednn, mkl) == before
    else:
        assert onednn == (name == "onednn" and step_products._onednn_works())
        assert step_products.MKL_PACKED == (name == "mkl-packed") and step_products.ONEDNN == (name == "onednn")
        assert mkl == (name == "mkl-packed" and step_products._mkl_packed_works())


@pytest.mark.parametrize("argv, bad", [
    (["train_speed.py", "--only", "gru-scratch,lstm-scatch"], "lstm-scatch"),
    (["ab_recurrence.py", "a.py", "b.py", "--only", "rnn,lsmt"], "lsmt"),
])
def test_a_misspelt_only_name_stops_before_any_timing(argv, bad, monkeypatch, capsys):
    # a misspelt name used to drop its row silently (train_speed) or fail after the first cell's timing
    # (ab_recurrence): on a lent GPU's few minutes, a lost figure
    import runpy

    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(ROOT / "benchmarks" / argv[0]), run_name="__main__")
    err = capsys.readouterr().err
    assert stop.value.code == 2
    assert "unknown" in err and bad in err and "choose from" in err
