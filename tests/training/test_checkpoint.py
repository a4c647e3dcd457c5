"""Checkpoints: safetensors + JSON, atomic, checksummed, never unpickled."""

import os
import pickle
from pathlib import Path

import pytest
import torch
from torch import nn

from seqlab import SeqlabError
from seqlab import fileio
from seqlab.training.checkpoint import expect_task, load_checkpoint, save_checkpoint


def trained_pair():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(5, 4)).sum().backward()
        opt.step()
    return net, opt


def test_round_trip_restores_model_and_optimizer(tmp_path):
    net, opt = trained_pair()
    save_checkpoint(tmp_path / "last.safetensors", model=net, optimizer=opt,
                    meta={"task": "lm", "epoch": 3, "vocab": {"idx_to_token": ["<unk>", "a"]}},
                    extra={"state": torch.arange(3)})
    ck = load_checkpoint(tmp_path, "last")
    assert ck.meta["task"] == "lm" and ck.meta["epoch"] == 3 and ck.meta["format_version"] == 1
    twin = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    twin.load_state_dict(ck.model)
    twin_opt = torch.optim.Adam(twin.parameters(), lr=0.01)
    twin_opt.load_state_dict(ck.optimizer)
    x = torch.randn(2, 4)
    for a, b in ((net, opt), (twin, twin_opt)):  # one more identical step on both
        b.zero_grad()
        a(x).pow(2).sum().backward()
        b.step()
    for p, q in zip(net.parameters(), twin.parameters()):
        assert torch.equal(p, q)
    assert torch.equal(ck.extra["state"], torch.arange(3))


def test_tied_weights_are_saved(tmp_path):
    emb = nn.Embedding(5, 3)
    head = nn.Linear(3, 5)
    head.weight = emb.weight
    net = nn.ModuleDict({"emb": emb, "head": head})
    save_checkpoint(tmp_path / "a.safetensors", model=net, meta={"task": "lm"})
    assert torch.equal(load_checkpoint(tmp_path / "a.safetensors").model["head.weight"], emb.weight)


def test_metadata_is_standard_json_and_keeps_non_finite_floats(tmp_path):
    # a run's best loss before its first epoch is inf, a diverged one nan: json.dumps wrote bare
    # Infinity / NaN into the header, which other JSON parsers refuse
    import json
    import math

    from safetensors import safe_open

    import numpy as np

    meta = {"task": "lm", "best_valid_loss": math.inf, "history": [1.5, math.nan, -math.inf],
            "vocab": {"idx_to_token": ["inf", "nan", "$float"]}, "nested": {"x": {"$float": 1}},
            "own": [{"$float": "1e3"}, {"$float": "inf"}, {"$float": {"$escaped": 2}}, {"$float": "price"}],
            "numpy": np.float64("-inf")}
    save_checkpoint(tmp_path / "last.safetensors", model=nn.Linear(2, 2), meta=meta)
    with safe_open(tmp_path / "last.safetensors", framework="pt") as f:
        text = f.metadata()["seqlab"]

    def refuse(name):
        raise ValueError(f"not standard JSON: {name}")
    json.loads(text, parse_constant=refuse)  # strict
    back = load_checkpoint(tmp_path, "last").meta
    assert back["best_valid_loss"] == math.inf and back["history"][2] == -math.inf
    assert back["history"][0] == 1.5 and math.isnan(back["history"][1])
    assert back["vocab"] == meta["vocab"] and back["nested"] == meta["nested"]  # strings and ints untouched
    assert back["own"] == meta["own"]  # a caller's own {"$float": ...} dicts read back as themselves
    assert back["numpy"] == -math.inf  # (numpy 2's repr of it is 'np.float64(-inf)')


def test_a_checkpoint_with_bare_infinity_still_loads(tmp_path, monkeypatch):
    import json
    import math

    from seqlab.training import checkpoint

    from types import SimpleNamespace

    # written as before: json.dumps with its bare Infinity
    monkeypatch.setattr(checkpoint, "tag_nonfinite", lambda v: v)
    monkeypatch.setattr(checkpoint, "json", SimpleNamespace(dumps=lambda obj, allow_nan: json.dumps(obj)))
    save_checkpoint(tmp_path / "last.safetensors", model=nn.Linear(2, 2), meta={"task": "lm", "best": math.inf})
    monkeypatch.undo()
    from safetensors import safe_open

    with safe_open(tmp_path / "last.safetensors", framework="pt") as f:
        assert '"best": Infinity' in f.metadata()["seqlab"]
    assert load_checkpoint(tmp_path, "last").meta["best"] == math.inf


@pytest.mark.parametrize("flag", ["foreach", "fused"])
def test_resume_steps_the_way_this_command_builds_the_optimiser(flag):
    # load_state_dict put back the run's fused / foreach: a CUDA run's fused=True resumed on the CPU
    # (no CPU kernel before torch 2.4) or with --no-fast; a CPU run resumed on CUDA lost fused
    from types import SimpleNamespace

    from seqlab.training.checkpoint_resume import load_optimizer

    if flag == "fused" and tuple(map(int, torch.__version__.split(".")[:2])) < (2, 4):
        pytest.skip("fused Adam for CPU tensors came in torch 2.4")
    net, opt = trained_pair()
    for saved, now in ((True, False), (False, True)):
        run = torch.optim.Adam(net.parameters(), lr=0.01, **{flag: saved})
        net(torch.randn(2, 4)).sum().backward()
        run.step()
        resumed = torch.optim.Adam(net.parameters(), lr=0.01, **{flag: now})
        load_optimizer(SimpleNamespace(optimizer=run.state_dict(), meta={}), resumed, 0.01, 0.01, print)
        assert resumed.param_groups[0][flag] is now
        assert torch.equal(resumed.state[net[0].weight]["exp_avg"], run.state[net[0].weight]["exp_avg"])
        resumed.step()  # and it steps


def test_crash_during_write_keeps_the_old_file(tmp_path, monkeypatch):
    net, _ = trained_pair()
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model=net, meta={"task": "lm", "epoch": 1})
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", crash)  # the rename in atomic_write_bytes, under save_checkpoint
    with pytest.raises(SeqlabError, match="cannot write checkpoint .*disk full.*previous checkpoint"):
        save_checkpoint(path, model=net, meta={"task": "lm", "epoch": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.safetensors"]  # no temporary left behind


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_damaged_file_is_a_clear_error_naming_it(tmp_path, damage):
    net, _ = trained_pair()
    path = save_checkpoint(tmp_path / "best.safetensors", model=net, meta={"task": "lm"})
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "flip":
        blob[-3] ^= 0xFF  # inside the last tensor's bytes
    elif damage == "garbage":
        blob = bytearray(os.urandom(300))
    else:
        blob = bytearray()
    path.write_bytes(bytes(blob))
    with pytest.raises(SeqlabError, match="best.safetensors"):
        load_checkpoint(path)


class Payload:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["SEQLAB_PWNED"]),))


def test_pickle_payload_is_refused_and_not_executed(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("SEQLAB_PWNED", str(marker))
    evil = tmp_path / "best.safetensors"
    evil.write_bytes(pickle.dumps({"model": Payload()}))
    torch.save({"model": Payload()}, tmp_path / "last.safetensors")
    for name in ("best", "last"):
        with pytest.raises(SeqlabError, match="corrupted or truncated"):
            load_checkpoint(tmp_path, name)
    assert not marker.exists()



def test_a_file_that_is_no_safetensors_is_not_a_checkpoint_not_a_damaged_one(tmp_path, capsys):
    # `evaluate --checkpoint shk.txt` said "corrupted or truncated ... use the other of best/last, or
    # retrain", as if a run's checkpoint were damaged
    from seqlab.cli import main

    text, empty, pt = tmp_path / "shk.txt", tmp_path / "notes.md", tmp_path / "model.pt"
    text.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n")
    empty.write_bytes(b"")
    torch.save({"w": torch.ones(2)}, pt)  # a torch.save zip: not a checkpoint here either
    for path in (text, empty, pt):
        with pytest.raises(SeqlabError, match=f"^{str(path)!r} is not a checkpoint: give a training run's --out "
                                              "folder or its best.safetensors$"):
            load_checkpoint(path)
    assert main(["evaluate", "--checkpoint", str(text)]) == 2
    err = capsys.readouterr().err
    assert "is not a checkpoint" in err and "corrupted" not in err and err.count("\n") == 1
    # a checkpoint under another name still loads; a damaged .safetensors is still called damaged
    save_checkpoint(tmp_path / "best.safetensors", model={"w": torch.ones(1)}, meta={"task": "lm"})
    renamed = tmp_path / "run1.ckpt"
    renamed.write_bytes((tmp_path / "best.safetensors").read_bytes())
    assert load_checkpoint(renamed).meta["task"] == "lm"
    (tmp_path / "best.safetensors").write_bytes(text.read_bytes())
    with pytest.raises(SeqlabError, match="corrupted or truncated"):
        load_checkpoint(tmp_path / "best.safetensors")

def test_missing_and_wrong_task(tmp_path):
    with pytest.raises(SeqlabError, match="no checkpoint in"):
        load_checkpoint(tmp_path)
    with pytest.raises(SeqlabError, match="not found"):
        load_checkpoint(tmp_path / "nope")
    save_checkpoint(tmp_path / "best.safetensors", model={"w": torch.ones(1)}, meta={"task": "lm"})
    with pytest.raises(SeqlabError, match="holds a language model, not a translation model"):
        expect_task(load_checkpoint(tmp_path), "translate")


def test_newer_format_and_non_json_meta(tmp_path):
    with pytest.raises(TypeError, match="plain JSON"):
        save_checkpoint(tmp_path / "x.safetensors", model={"w": torch.ones(1)}, meta={"f": object()})
    path = save_checkpoint(tmp_path / "x.safetensors", model={"w": torch.ones(1)}, meta={"task": "lm"})
    blob = path.read_bytes().replace(b'\\"format_version\\": 1', b'\\"format_version\\": 9')
    path.write_bytes(blob)
    with pytest.raises(SeqlabError, match="newer than this seqlab"):
        load_checkpoint(path)


def test_run_folder_gives_the_checkpoint_asked_for_then_the_other(tmp_path):
    save_checkpoint(tmp_path / "best.safetensors", model={"w": torch.ones(1)}, meta={"task": "lm", "epoch": 1})
    save_checkpoint(tmp_path / "last.safetensors", model={"w": torch.zeros(1)}, meta={"task": "lm", "epoch": 2})
    assert load_checkpoint(tmp_path).meta["epoch"] == 1  # default: best
    assert load_checkpoint(tmp_path, "best").meta["epoch"] == 1
    assert load_checkpoint(tmp_path, "last").meta["epoch"] == 2
    assert load_checkpoint(tmp_path, "last").path.name == "last.safetensors"
    (tmp_path / "best.safetensors").unlink()  # e.g. only last written so far: best falls back to it
    assert load_checkpoint(tmp_path, "best").meta["epoch"] == 2


def test_metadata_over_the_header_limit_is_refused_before_training_and_on_save(tmp_path, monkeypatch, capsys):
    # safetensors refuses a header over 100 MB: a corpus of 6M word types ran its first epoch, then
    # died on the save with a SafetensorError traceback (exit 1), the epoch lost
    from seqlab.cli import main
    from seqlab.training import checkpoint

    monkeypatch.setattr(checkpoint, "META_LIMIT", 2000)
    path = save_checkpoint(tmp_path / "c.safetensors", model=nn.Linear(2, 2), meta={"task": "x", "words": ["w"]})
    with pytest.raises(SeqlabError, match=r"cannot write checkpoint .*over the 0 MB a checkpoint's header holds, "
                                          r"the vocabulary most of it: keep fewer tokens \(--max-vocab, --min-freq\)"):
        save_checkpoint(path, model=nn.Linear(2, 2), meta={"task": "x", "words": ["word"] * 1000})
    assert load_checkpoint(path).meta["words"] == ["w"]  # the file before is kept
    corpus = tmp_path / "words.txt"
    corpus.write_text(" ".join(f"w{i}" for i in range(400)) + "\n")
    code = main(["train", "lm", "--data", str(corpus), "--level", "word", "--hidden", "4", "--embed", "4",
                 "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "the run's checkpoints could not be written: its metadata would be" in err
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # refused before the first epoch
