"""Warm-up + cosine, the NT-ASGD trigger, and averaged weights."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab import SeqlabError
from seqlab.training.schedules import (NTASGDTrigger, averaged_sgd, rescale_lr, restore_weights, scaled_step,
                                       swap_in_average, warmup_cosine)


def test_warmup_then_cosine_to_the_floor():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = warmup_cosine(opt, warmup_steps=4, total_steps=14, min_ratio=0.1)
    lrs = []
    for _ in range(16):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert lrs[9] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # half-way: 0.55
    assert lrs[14] == pytest.approx(0.1) and lrs[15] == pytest.approx(0.1)
    with pytest.raises(SeqlabError):
        warmup_cosine(opt, 5, 3)


def _lrs(warmup, total, min_ratio, steps):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, warmup_steps=warmup, total_steps=total, min_ratio=min_ratio)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_a_warmup_as_long_as_the_run_ends_at_the_floor_too():
    # warm-up = total (train lm caps --warmup-steps at the run's steps): step T went back to the full
    # rate (1.0) and only the step after it to the floor; past T is the floor, as for any shorter warm-up
    assert _lrs(4, 4, 0.1, 7) == pytest.approx([0.25, 0.5, 0.75, 1.0, 0.1, 0.1, 0.1])


def _nanogpt_lr(it, warmup, total, min_ratio):
    """nanoGPT's get_lr (learning rate 1, min_lr = min_ratio), with seqlab's warm-up of (it + 1) / warmup; from
    it = total on, the floor (nanoGPT's value there, without its 0 / 0 when warm-up = total)."""
    if it < warmup:
        return (it + 1) / warmup
    if it >= total:
        return min_ratio
    decay_ratio = (it - warmup) / (total - warmup)
    return min_ratio + 0.5 * (1.0 + math.cos(math.pi * decay_ratio)) * (1 - min_ratio)


@settings(max_examples=60, deadline=None, database=None)
@given(st.integers(1, 40).flatmap(lambda total: st.tuples(st.integers(0, total), st.just(total))),
       st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_warmup_cosine_is_nanogpts_schedule_at_every_step(warmup_total, min_ratio):
    warmup, total = warmup_total
    want = [_nanogpt_lr(it, warmup, total, min_ratio) for it in range(total + 5)]
    assert _lrs(warmup, total, min_ratio, total + 5) == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_nt_asgd_triggers_once_when_no_improvement_over_nonmono_checks():
    trig = NTASGDTrigger(nonmono=2)
    losses = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.05, 2.0]
    fired = [trig.update(v) for v in losses]
    # at 3.2 (index 4): history [5,4,3,3.5], min of all but the last 2 = 4.0 -> 3.2 < 4 no
    # at 3.1 (index 5): min([5,4,3]) = 3 -> 3.1 > 3 fires
    assert fired == [False, False, False, False, False, True, False, False]
    clone = NTASGDTrigger()
    clone.load_state_dict(trig.state_dict())
    assert clone.triggered and clone.history == losses


def test_ntasgd_a_tie_with_the_old_best_does_not_trigger():
    # AWD-LSTM's test is strict (val_loss > min(best_val_loss[:-nonmono])): equalling the best
    # of the older checks is no stall
    trig = NTASGDTrigger(nonmono=1)
    assert [trig.update(v) for v in (2.0, 3.0, 2.0)] == [False, False, False]  # 2.0 ties min([2.0])
    assert trig.update(2.0 + 1e-9) is True


def test_asgd_average_swaps_in_and_out():
    p = torch.nn.Parameter(torch.tensor([0.0]))
    opt = averaged_sgd([p], lr=1.0)
    for target in (1.0, 3.0, 5.0, 8.0):  # with lr 1 and grad p - target, each step lands on target
        p.grad = p.detach() - target
        opt.step()
    assert p.item() == pytest.approx(8.0)
    saved = swap_in_average(opt)
    # torch's ASGD with t0=0 starts averaging at its second step: mean(3, 5, 8)
    assert p.item() == pytest.approx(16.0 / 3)
    restore_weights(saved)
    assert p.item() == pytest.approx(8.0)


def _resumed(make_scheduler, steps_before: int, lr: float, new_lr: float | None):
    """A schedule run `steps_before` steps, saved, rebuilt as --resume does, optionally rescaled
    to `new_lr`; returns the learning rates of its next 6 steps and the rescale note."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    for _ in range(steps_before):
        opt.step()
        sched.step(1.0) if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau) else sched.step()
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    opt = torch.optim.SGD([p], lr=new_lr or lr)  # the resumed run builds both from its own config
    sched = make_scheduler(opt)
    opt.load_state_dict(opt_state)
    sched.load_state_dict(sched_state)
    note = rescale_lr(opt, sched, lr, new_lr) if new_lr else None
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(1.0) if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau) else sched.step()
    return lrs, note


@pytest.mark.parametrize("kind", ["cosine", "plateau", "step"])
def test_rescale_lr_keeps_the_schedule_at_the_new_scale(kind):
    # resumed with --lr 0.25 instead of 2.0: every later rate is the unchanged run's / 8, the
    # schedule's course kept (cosine: LambdaLR recomputes from base_lrs each step, so scaling only
    # the optimiser's rate would be undone at the next step; plateau: a decay already applied stays)
    make = {"cosine": lambda o: warmup_cosine(o, warmup_steps=2, total_steps=12, min_ratio=0.1),
            "plateau": lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=0),
            "step": lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.7 ** e)}[kind]
    same, _ = _resumed(make, 4, 2.0, None)
    lower, note = _resumed(make, 4, 2.0, 0.25)
    assert lower == pytest.approx([x / 8 for x in same], rel=1e-12)
    assert len(set(same)) > 1  # the schedule moves over these steps (plateau: a decay per step)
    assert note == f"--lr 0.25 instead of the run's 2: the learning rate goes from {same[0]:.4g} to " \
                   f"{same[0] / 8:.4g} and keeps its schedule at the new scale"
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    assert rescale_lr(opt, None, 0.5, 0.5) is None and opt.param_groups[0]["lr"] == 0.5


def test_rescale_lr_of_averaged_sgd_changes_its_steps():
    # NT-ASGD resumed after the switch: torch's ASGD takes its step size from the group's lr
    p = torch.nn.Parameter(torch.ones(3))
    opt = averaged_sgd([p], lr=1.0)
    p.grad = torch.ones(3)
    opt.step()
    state = opt.state_dict()
    q = torch.nn.Parameter(p.detach().clone())
    resumed = averaged_sgd([q], lr=0.1)
    resumed.load_state_dict(state)
    rescale_lr(resumed, None, 1.0, 0.1)
    q.grad = torch.ones(3)
    resumed.step()
    assert torch.allclose(q.detach(), p.detach() - 0.1)


@pytest.mark.parametrize("make", [lambda ps: torch.optim.SGD(ps, lr=0.5), lambda ps: averaged_sgd(ps, lr=0.5)],
                         ids=["sgd", "asgd"])
def test_scaled_step_moves_by_this_steps_rate(make):
    # variable BPTT: each step at lr * seq_len / bptt, then a plateau decay halves the rate. torch's
    # ASGD steps with the rate of its *previous* step (its eta): plain step() would move by
    # 0.25, 0.25, 1.0, 0.25, 0.75 here instead of 0.25, 1.0, 0.25, 0.75, 0.25
    p = torch.nn.Parameter(torch.zeros(1))
    opt = make([p])
    moves = []
    for scale in (0.5, 2.0, 0.5, 1.5, "decay", 1.0):
        if scale == "decay":
            opt.param_groups[0]["lr"] = 0.25
            continue
        before = p.item()
        p.grad = torch.ones(1)  # a step moves p by -rate
        scaled_step(opt, scale)
        moves.append(before - p.item())
        assert opt.param_groups[0]["lr"] in (0.5, 0.25)  # the group's rate itself is restored
    assert moves == pytest.approx([0.25, 1.0, 0.25, 0.75, 0.25], rel=1e-6)


def test_scaled_step_at_scale_one_is_torchs_own_asgd_step():
    # with a decaying eta (lambd > 0) and a constant rate, the eta set here is the one torch derives
    ps = [torch.nn.Parameter(torch.linspace(-1, 1, 5)) for _ in range(2)]
    opts = [torch.optim.ASGD([p], lr=0.3, lambd=0.2, alpha=0.75, t0=1) for p in ps]
    for step in range(6):
        for p in ps:
            p.grad = torch.sin(p.detach() * (step + 1))
        opts[0].step()
        scaled_step(opts[1], 1.0)
        assert torch.allclose(ps[0], ps[1], rtol=1e-6, atol=1e-7)  # (torch rounds its eta in float64)
    assert torch.allclose(opts[0].state[ps[0]]["ax"], opts[1].state[ps[1]]["ax"], rtol=1e-6, atol=1e-7)


def test_averaged_sgd_keeps_its_step_counters_on_the_gpu(monkeypatch):
    # capturable on CUDA: torch's ASGD otherwise reads every parameter's step counter back to the host
    # at every step. A parameter that reports a CUDA device stands in for one here
    import seqlab.training.schedules as schedules

    class OnCuda(torch.nn.Parameter):
        @property
        def device(self):
            return torch.device("cuda")

    built = []
    monkeypatch.setattr(schedules.torch.optim, "ASGD", lambda params, **kw: built.append(kw))
    averaged_sgd(iter([torch.nn.Parameter(torch.ones(2))]), lr=1.0)
    averaged_sgd(iter([OnCuda(torch.ones(2))]), lr=1.0)
    assert [kw["capturable"] for kw in built] == [False, True]
    assert built[1]["lambd"] == 0.0 and built[1]["t0"] == 0 and built[1]["lr"] == 1.0
