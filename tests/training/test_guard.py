"""Stop signals become a flag; non-finite losses stop with advice or are skipped."""

import math
import os
import signal

import pytest
import torch

from seqlab.training.guard import (NonFiniteLoss, StepGuard, StopSignals, all_skipped, check_finite,
                                   interrupted_message, nonfinite_advice)


def test_sigterm_sets_the_flag_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested and stop.name == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):  # a second signal stops at once
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) == before


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -math.inf])
def test_non_finite_names_the_step_and_suggests_a_fix(value):
    with pytest.raises(NonFiniteLoss) as err:
        check_finite(torch.tensor(value), epoch=3, step=17, lr=0.5)
    assert str(err.value) == (f"the loss became {value} at epoch 3 step 17; the checkpoint of epoch 2 "
                              "(last.safetensors) is kept: continue from it with the same command, --resume and a "
                              "lower --lr (now 0.5), a smaller --clip or --skip-nonfinite to skip such steps")
    assert check_finite(value, epoch=1, skip=True) is False
    assert check_finite(torch.tensor(2.5), epoch=1) is True


def test_non_finite_advice_fits_the_epoch_and_the_task():
    # in epoch 1 no checkpoint exists yet: --resume would fail, so the advice is to rerun;
    # forecasting has no --clip; with --skip-nonfinite on already, it is not offered again
    with pytest.raises(NonFiniteLoss, match=r"at epoch 1; no epoch had finished, so there is no checkpoint: rerun "
                                            r"the same command with a lower --lr, a smaller --clip or --skip"):
        check_finite(float("nan"), epoch=1)
    assert nonfinite_advice(4, 0.01, clip=False).endswith("--resume and a lower --lr (now 0.01) or --skip-nonfinite "
                                                          "to skip such steps")
    assert str(all_skipped(2, 0.1, clip=False)) == ("every step of epoch 2 was non-finite and skipped; the checkpoint "
                                                    "of epoch 1 (last.safetensors) is kept: continue from it with the "
                                                    "same command, --resume and a lower --lr (now 0.1)")


def test_lazy_guard_names_the_first_bad_step_by_loss_or_gradient_norm():
    # the sync-free path (CUDA): every step proceeds, the first bad one is kept on the device and
    # named at the end of the epoch; a non-finite gradient norm counts as much as a non-finite loss
    guard = StepGuard(skip=False, eager=False, epoch=2)
    losses = [1.0, 0.9, 0.8, float("nan"), 0.7]
    norms = [1.0, 1.0, float("inf"), 1.0, 1.0]
    assert all(guard.ok(step, torch.tensor(l), torch.tensor(n), lr=0.1)
               for step, (l, n) in enumerate(zip(losses, norms), start=1))
    with pytest.raises(NonFiniteLoss, match=r"at epoch 2 step 3;"):
        guard.finish(0.1)
    clean = StepGuard(skip=False, eager=False, epoch=1)
    assert all(clean.ok(s, torch.tensor(1.0), torch.tensor(2.0)) for s in range(1, 4))
    clean.finish()  # nothing non-finite: no error


def test_interrupted_message_names_the_last_finished_epoch():
    # checkpoints are written at epoch ends: stopped during epoch 3, epoch 2's is the one kept;
    # stopped during epoch 1, there is none and --resume would fail
    stop = StopSignals()
    stop.signum = signal.SIGTERM
    msg = interrupted_message(stop, 3, "runs/x")
    assert msg.startswith("stopped by SIGTERM during epoch 3;")
    assert "checkpoint of epoch 2 (last.safetensors) is kept in runs/x" in msg and "--resume (epoch 3 restarts" in msg
    first = interrupted_message(stop, 1, "runs/x")
    assert "no epoch had finished" in first and "without --resume" in first and "checkpoint of epoch" not in first
    assert interrupted_message(StopSignals(), 2, "o").startswith("stopped by a signal during epoch 2;")
