"""Mutation-audit additions for seqlab.training.schedules: what the existing tests let through."""

import math

import pytest
import torch

from seqlab import SeqlabError
from seqlab.training.schedules import NTASGDTrigger, warmup_cosine


def test_warmup_cosine_by_default_ends_at_a_tenth_of_the_rate():
    # nanoGPT's floor (min_lr = learning_rate / 10), which LMConfig's min_lr_ratio default says too;
    # cosine from lr 2 over 4 steps without warm-up: 2 * (0.1 + 0.9 * (1 + cos(pi * s / 4)) / 2)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2.0)
    sched = warmup_cosine(opt, warmup_steps=0, total_steps=4)
    lrs = []
    for _ in range(6):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    want = [2 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * s / 4))) for s in range(4)] + [0.2, 0.2]
    assert lrs == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("nonmono", [0, -1])
def test_nt_asgd_trigger_refuses_no_checks_to_wait(nonmono):
    # nonmono 0 would compare with min(history[:-0]) = min([]): a ValueError at the second check
    with pytest.raises(SeqlabError, match=f"nonmono must be >= 1, got {nonmono}"):
        NTASGDTrigger(nonmono)


def test_rescale_lr_puts_initial_lr_where_a_run_started_at_the_new_rate_has_it():
    # torch's schedulers built with last_epoch >= 0 (a resume without the schedule's state) take their
    # base rates from each group's initial_lr: after --lr 0.25 instead of 2.0 it is the new run's 0.25
    from seqlab.training.schedules import rescale_lr

    def run(lr):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
        sched = warmup_cosine(opt, warmup_steps=2, total_steps=12)
        for _ in range(4):
            opt.step()
            sched.step()
        return opt, sched

    opt, sched = run(2.0)
    rescale_lr(opt, sched, 2.0, 0.25)
    fresh, _ = run(0.25)
    assert opt.param_groups[0]["initial_lr"] == fresh.param_groups[0]["initial_lr"] == 0.25
    again = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.5, last_epoch=4)  # rebuilt from initial_lr
    assert again.base_lrs == pytest.approx([0.25])
