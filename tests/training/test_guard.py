"""Stop signals become a flag; non-finite losses stop with advice or are skipped."""

import math
import os
import signal

import pytest
import torch

from seqlab.training.guard import NonFiniteLoss, StepGuard, StopSignals, check_finite, interrupted_message


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
    with pytest.raises(NonFiniteLoss, match=r"epoch 3 step 17.*Lower the learning rate \(now 0.5\).*--clip"):
        check_finite(torch.tensor(value), where="epoch 3 step 17", lr=0.5)
    assert check_finite(value, where="x", skip=True) is False
    assert check_finite(torch.tensor(2.5), where="x") is True


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
