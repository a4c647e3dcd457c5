"""Device fast paths (accel.py): an unavailable one falls back with exactly one warning.

No GPU is needed: the CUDA decisions look at the device's type, and each failure is
simulated (a compiler that raises, no bf16 support, an optimiser without a fused kernel).
"""

import warnings

import pytest
import torch

from seqlab.models import accel


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(accel, "_warned", set())


def _caught(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = fn()
    return out, [x for x in w if "seqlab:" in str(x.message)]


def test_compile_failure_at_first_call_falls_back_with_one_warning(monkeypatch):
    def broken_compile(fn, **kw):
        def run(*a, **k):
            raise RuntimeError("simulated inductor failure")
        return run
    monkeypatch.setattr(torch, "compile", broken_compile)
    f = accel.Compiled(lambda x: x * 2 + 1, "cuda")
    assert f.compiled
    x = torch.arange(4.0)
    (y1, y2), w = _caught(lambda: (f(x), f(x)))
    torch.testing.assert_close(y1, x * 2 + 1)
    torch.testing.assert_close(y2, x * 2 + 1)
    assert len(w) == 1 and "torch.compile failed" in str(w[0].message)
    assert not f.compiled  # fell back for good


def test_compile_unavailable_falls_back_with_one_warning(monkeypatch):
    def no_compile(fn, **kw):
        raise RuntimeError("simulated: no compiler on this platform")
    monkeypatch.setattr(torch, "compile", no_compile)
    (f, g), w = _caught(lambda: (accel.Compiled(abs, "cuda"), accel.Compiled(abs, "cuda")))
    assert not f.compiled and not g.compiled and f(-3) == 3
    assert len(w) == 1


def test_compile_is_not_used_on_cpu_or_when_turned_off(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda *a, **k: pytest.fail("compile must not be called"))
    (f, g), w = _caught(lambda: (accel.Compiled(abs, "cpu"), accel.Compiled(abs, "cuda", enabled=False)))
    assert not f.compiled and not g.compiled and w == []


def test_compile_on_cpu_only_when_asked(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: (lambda *a: fn(*a) + 1))
    f = accel.Compiled(abs, "cpu", cpu=True)
    assert f.compiled and f(-3) == 4  # went through the (stand-in) compiler
    assert not accel.Compiled(abs, "cpu", enabled=False, cpu=True).compiled


@pytest.mark.parametrize("has_cuda", [False, True])  # no GPU; a pre-Ampere GPU (a V100/T4 only emulates bf16)
def test_autocast_without_bf16_support_is_a_noop_with_one_warning(monkeypatch, has_cuda):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: has_cuda)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: (7, 0))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # (says yes on a V100)

    def use_twice():
        for _ in range(2):
            with accel.autocast("cuda"):
                y = torch.ones(2, 2) @ torch.ones(2, 2)
        return y
    y, w = _caught(use_twice)
    assert y.dtype == torch.float32 and len(w) == 1 and "bf16" in str(w[0].message)


def test_autocast_off_on_cpu_and_when_disabled():
    (a, b), w = _caught(lambda: (accel.autocast("cpu"), accel.autocast("cuda", enabled=False)))
    assert w == []
    with a:
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


class _NoFusedSGD(torch.optim.SGD):
    def __init__(self, params, fused=None, **kw):
        if fused:
            raise RuntimeError("simulated: no fused kernel")
        super().__init__(params, **kw)


def test_fused_optimizer_unavailable_keeps_the_original_with_one_warning():
    p = [torch.nn.Parameter(torch.ones(3))]
    opt = _NoFusedSGD(p, lr=0.5)
    (a, b), w = _caught(lambda: (accel.fuse_optimizer(opt, "cuda"), accel.fuse_optimizer(opt, "cuda")))
    assert a is opt and b is opt and len(w) == 1


def test_fused_optimizer_keeps_groups_and_settings(monkeypatch):
    # the rebuilt optimiser has the same parameter groups and hyper-parameters, plus fused=True
    seen = {}

    class RecordingAdam(torch.optim.Adam):
        def __init__(self, params, **kw):
            seen.update(kw)
            super().__init__(params, **{k: v for k, v in kw.items() if k != "fused"})

    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = RecordingAdam([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=0.01, weight_decay=0.5)
    new, w = _caught(lambda: accel.fuse_optimizer(opt, "cuda"))
    assert w == [] and new is not opt and seen["fused"] is True and seen["weight_decay"] == 0.5
    assert [g["lr"] for g in new.param_groups] == [0.01, 0.1]
    assert new.param_groups[1]["params"][0] is b
    assert accel.fuse_optimizer(opt, "cpu") is opt


@pytest.mark.skipif(tuple(map(int, torch.__version__.split(".")[:2])) < (2, 4),
                    reason="fused optimisers for CPU tensors (the stand-in for CUDA here) came in torch 2.4")
@pytest.mark.parametrize("make", [lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: torch.optim.Adam(p, lr=0.01),
                                  lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)],
                         ids=["sgd", "adam", "adamw"])
def test_fused_optimizer_of_each_torch_optimiser(make):
    # torch's own classes, fused (CPU kernels stand in for CUDA's): AdamW fell back with "no fused
    # AdamW here" (its defaults hold decoupled_weight_decay, which its __init__ refuses)
    p = [torch.nn.Parameter(torch.ones(3))]
    opt = make(p)
    new, w = _caught(lambda: accel.fuse_optimizer(opt, "cuda"))
    assert w == [] and new is not opt and new.defaults["fused"] is True
    assert {k: v for k, v in new.defaults.items() if k != "fused"} == \
        {k: v for k, v in opt.defaults.items() if k != "fused"}


def test_compiled_passes_a_callers_bad_input_on_and_stays_compiled(monkeypatch):
    from seqlab.errors import SeqlabError

    def refuse(x):
        raise SeqlabError("the state has the wrong shape")
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: (lambda *a, **k: fn(*a, **k)))
    f = accel.Compiled(refuse, "cuda")
    (err, w) = _caught(lambda: pytest.raises(SeqlabError, f, 1))
    assert "wrong shape" in str(err.value) and w == [] and f.compiled  # (it turned compiling off for good)


@pytest.mark.slow
@pytest.mark.parametrize("fast", [False, True], ids=["fast-off", "fast-on"])
def test_scratch_lm_compiles_to_the_eager_numbers(fast):
    # Training compiles on CUDA only, but dynamo's graph capture is the same on every device, so
    # the CPU's inductor checks that the scratch models stay compilable (no error, no silent
    # change of numbers) where no GPU is lent. Needs a C++ compiler for the CPU kernels. Under
    # compile both run the plain loop (fast_cells.recurrence stands aside); with fast=True the
    # eager numbers it must match are the fast path's.
    import shutil

    from seqlab.models.lm import ModelConfig, build_lm

    if not (shutil.which("g++") or shutil.which("c++")):
        pytest.skip("torch.compile on a CPU needs a C++ compiler")
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="lstm", impl="scratch", hidden=16, layers=1, fast=fast), 11)
    X = torch.randint(0, 11, (3, 5))

    def loss_and_grads(forward):
        net.zero_grad()
        logits, _ = forward(X)
        loss = logits.logsumexp(-1).mean()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in net.parameters()]

    want = loss_and_grads(net.forward)
    got = loss_and_grads(torch.compile(net.forward))
    torch.testing.assert_close(got[0], want[0], rtol=1e-5, atol=1e-6)
    for g, w in zip(got[1], want[1]):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)
