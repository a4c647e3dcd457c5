"""benchmarks/quality_lm.py builds every recipe it can be pointed at, full size and --quick.

The GPU session runs it with device time that is hard to come by: a recipe that fails to build
there (a reduction that does not fit the config) costs a whole device call.
"""

import importlib.util
from pathlib import Path

import pytest

from seqlab.models.lm import build_lm

ROOT = Path(__file__).resolve().parents[2]
PLAIN = {"ptb": "configs/ptb_lstm.toml", "wikitext-2": "configs/wikitext2_lstm.toml",
         "tinyshakespeare": "configs/tinyshakespeare_lstm.toml", "timemachine": "configs/timemachine_lstm.toml"}


@pytest.fixture(scope="module")
def q():
    """benchmarks/quality_lm.py, loaded once for all cases."""
    spec = importlib.util.spec_from_file_location("quality_lm", ROOT / "benchmarks" / "quality_lm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("dataset", sorted(PLAIN))
@pytest.mark.parametrize("kind", ["awd", "plain"])
@pytest.mark.parametrize("quick", [False, True])
def test_recipe_builds_with_and_without_quick(q, dataset, kind, quick, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the recipes name their configs relative to the repository
    config = q.RECIPES[dataset] if kind == "awd" else PLAIN[dataset]
    overrides = q.overrides_for(dataset, config, quick, ["epochs=1"])
    cfg = q.make_config(config, str(tmp_path / "run"), "cpu", overrides)
    assert cfg.train.epochs == 1
    if quick:  # the reductions that every model has always apply
        assert {k: getattr(cfg.model, k) for k in ("hidden", "layers") if k in q.QUICK[dataset]} == \
            {k: v for k, v in q.QUICK[dataset].items() if k in ("hidden", "layers")}
    net = build_lm(cfg.model, 50)
    assert sum(p.numel() for p in net.parameters()) > 0
