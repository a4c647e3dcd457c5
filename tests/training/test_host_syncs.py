"""Issue 7: no host sync per training step. On a GPU, `torch.cuda.set_sync_debug_mode("warn")` warns
at every operation that waits for the device; an epoch of 12 steps must wait no more often than one
of 4 (what is left are the reads at the epoch's end). The same scenarios run on the CPU too, where
nothing is counted, so that they stay runnable where no GPU is lent."""

import warnings

import pytest
import torch

from seqlab.data.translation import batches as pair_batches
from seqlab.models.lm import ModelConfig, build_lm
from seqlab.models.seq2seq import build_seq2seq, init_seq2seq
from seqlab.training import translate
from seqlab.training.guard import StepGuard
from seqlab.training.lm import train_epoch as lm_epoch
from seqlab.training.lm_regularized import train_epoch_regularized

V, B, T = 30, 4, 8


def _lm_batches(device, n, seq_len=None):
    g = torch.Generator().manual_seed(0)
    data = torch.randint(0, V, (n, B, T + 1), generator=g).to(device)
    return [(d[:, :-1], d[:, 1:]) if seq_len is None else (d[:, :-1], d[:, 1:], seq_len) for d in data]


def _lm(device, cell, impl):
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell=cell, impl=impl, hidden=16, embed=8), V).to(device)
    return net, torch.optim.SGD(net.parameters(), lr=0.1)


def lm_plain(device, steps, cell="lstm", impl="fused"):
    net, opt = _lm(device, cell, impl)
    guard = StepGuard(skip=False, eager=device.type == "cpu", epoch=1, lr=0.1, clip=1.0)
    lm_epoch(net, _lm_batches(device, steps), opt, device, clip=1.0, carry_state=True, guard=guard)
    guard.finish()


def lm_recipe(device, steps):  # AR/TAR and variable-BPTT windows: the regularised loop
    net, opt = _lm(device, "lstm", "fused")
    guard = StepGuard(skip=False, eager=device.type == "cpu", epoch=1, lr=0.1, clip=1.0)
    train_epoch_regularized(net, _lm_batches(device, steps, seq_len=T), opt, device, clip=1.0, carry_state=True,
                            bptt=T, ar_alpha=1.0, tar_beta=1.0, guard=guard)
    guard.finish()


def nmt(device, steps):
    g = torch.Generator().manual_seed(0)
    n = steps * B
    lens = torch.randint(2, T, (n,), generator=g)
    src = torch.randint(4, V, (n, T), generator=g)
    arrays = (src, lens, src.flip(1), lens)  # on the host, as the trainer's batches are
    torch.manual_seed(0)
    model = build_seq2seq(V, V, embed=8, hidden=16, layers=1).to(device)
    model.apply(init_seq2seq)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    guard = StepGuard(skip=False, eager=device.type == "cpu", epoch=1, lr=0.01, clip=1.0)
    translate.train_epoch(model, pair_batches(arrays, B), opt, bos=2, clip=1.0, device=device, guard=guard)
    guard.finish()


SCENARIOS = {"lm-fused-lstm": lm_plain, "lm-scratch-gru": lambda d, s: lm_plain(d, s, "gru", "scratch"),
             "lm-recipe": lm_recipe, "translate": nmt}


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_scenario_runs_on_the_cpu(name):
    SCENARIOS[name](torch.device("cpu"), 2)


def _syncs(fn) -> int:
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


@pytest.mark.gpu
@pytest.mark.parametrize("name", SCENARIOS)
def test_no_host_sync_per_step_on_the_gpu(name):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cuda = torch.device("cuda")
    SCENARIOS[name](cuda, 2)  # warm-up: first-call set-up (cuBLAS handles, ...) is not a step's
    short, long = _syncs(lambda: SCENARIOS[name](cuda, 4)), _syncs(lambda: SCENARIOS[name](cuda, 12))
    print(f"{name}: {short} syncs in 4 steps, {long} in 12")
    assert long <= short, f"{name}: {short} syncs in 4 steps but {long} in 12: a sync per step"
