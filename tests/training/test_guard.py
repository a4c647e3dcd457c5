"""Stop signals become a flag; non-finite losses stop with advice or are skipped."""

import math
import os
import signal

import pytest
import torch

from seqlab.training.guard import (NonFiniteLoss, StepGuard, StopSignals, all_skipped, check_finite, interrupted,
                                   nonfinite_advice)


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
        check_finite(torch.tensor(value), epoch=3, step=17, lr=0.5, clip=1.0)
    assert str(err.value) == (f"the loss became {value} at epoch 3 step 17; the checkpoint of epoch 2 "
                              "(last.safetensors) is kept: continue from it with the same command plus --resume "
                              "(not --overwrite) and a lower --lr (now 0.5), a smaller --clip (now 1) or "
                              "--skip-nonfinite to skip such steps")
    assert check_finite(value, epoch=1, skip=True) is False
    assert check_finite(torch.tensor(2.5), epoch=1) is True


def test_non_finite_advice_fits_the_epoch_the_schedule_and_the_task():
    # in epoch 1 no checkpoint exists yet: --resume would fail, so the advice is to rerun
    with pytest.raises(NonFiniteLoss, match=r"at epoch 1; no epoch had finished, so there is no checkpoint: rerun "
                                            r"the same command with a lower --lr, a smaller --clip \(now 0.25\) or "):
        check_finite(float("nan"), epoch=1, clip=0.25)
    # a schedule had moved the rate: --lr is the run's (what --resume scales), the rate is shown too;
    # forecasting has no --clip; classification's --clip 0 is clipping off
    assert nonfinite_advice(4, 20.0, rate=2.5).endswith(
        "--resume (not --overwrite) and a lower --lr (the run's is 20, which its schedule had brought to 2.5 "
        "here) or --skip-nonfinite to skip such steps")
    assert "a lower --lr (now 0.01), --clip 1 to clip gradients (now off) or" in nonfinite_advice(2, 0.01, clip=0.0)
    assert str(all_skipped(2, 0.1, rate=0.1)) == (
        "every step of epoch 2 was non-finite and skipped; the checkpoint of epoch 1 (last.safetensors) is kept: "
        "continue from it with the same command plus --resume (not --overwrite) and a lower --lr (now 0.1)")


def test_guard_advice_names_the_runs_lr_and_the_scheduled_rate():
    guard = StepGuard(skip=False, eager=True, epoch=2, lr=20.0, clip=0.25)
    with pytest.raises(NonFiniteLoss, match=r"epoch 2 step 5; .*the run's is 20, which its schedule had brought "
                                            r"to 5 here\), a smaller --clip \(now 0.25\) or --skip-nonfinite"):
        guard.ok(5, torch.tensor(float("inf")), torch.tensor(1.0), rate=5.0)
    lazy = StepGuard(skip=False, eager=False, epoch=3, lr=1.0)
    lazy.ok(1, torch.tensor(float("nan")), rate=0.5)
    with pytest.raises(NonFiniteLoss, match=r"epoch 3 step 1; .*\(the run's is 1, which its schedule had brought "
                                            r"to 0.5 here\) or --skip-nonfinite"):
        lazy.finish()


def test_lazy_guard_names_the_first_bad_step_by_loss_or_gradient_norm():
    # the sync-free path (CUDA): every step proceeds, the first bad one is kept on the device and
    # named at the end of the epoch; a non-finite gradient norm counts as much as a non-finite loss
    guard = StepGuard(skip=False, eager=False, epoch=2)
    losses = [1.0, 0.9, 0.8, float("nan"), 0.7]
    norms = [1.0, 1.0, float("inf"), 1.0, 1.0]
    assert all(guard.ok(step, torch.tensor(l), torch.tensor(n), rate=0.1)
               for step, (l, n) in enumerate(zip(losses, norms), start=1))
    with pytest.raises(NonFiniteLoss, match=r"at epoch 2 step 3;"):
        guard.finish(0.1)
    clean = StepGuard(skip=False, eager=False, epoch=1)
    assert all(clean.ok(s, torch.tensor(1.0), torch.tensor(2.0)) for s in range(1, 4))
    clean.finish()  # nothing non-finite: no error


def interrupted_message(stop, epoch, out):
    """The message of a run that was neither resumed nor an --overwrite."""
    from types import SimpleNamespace

    return str(interrupted(stop, epoch, SimpleNamespace(out=out, resume=False, overwrite=False)))


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


class FakeClock:
    """StopSignals' clock: `sleep` moves it on (and runs `on_sleep`, as a signal coming meanwhile)."""

    def __init__(self, on_sleep=None) -> None:
        self.now, self.sleeps, self.on_sleep = 100.0, 0, on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s
        self.sleeps += 1
        if self.on_sleep:
            self.on_sleep()


def test_a_stop_joined_from_another_rank_takes_its_own_copy_of_the_signal_as_the_same_request(monkeypatch):
    # under torchrun the agent signals the ranks in turn: a rank may leave the loop on another's signal
    # (the reduced flag: `join`) before its own copy comes; that copy is not "asked twice", and a handler
    # must still be there for it, or a Ctrl-C would end the rank as `seqlab: interrupted`
    from seqlab.training import guard

    clock = FakeClock(on_sleep=lambda: os.kill(os.getpid(), signal.SIGINT))  # the copy comes during the wait
    monkeypatch.setattr(guard, "time", clock)
    before = signal.getsignal(signal.SIGINT)
    with StopSignals() as stop:
        stop.join(signal.SIGINT)
        assert stop.requested and stop.name == "SIGINT" and stop.received is None
    assert clock.sleeps == 1 and stop.received == signal.SIGINT  # absorbed before the handlers went
    assert signal.getsignal(signal.SIGINT) == before
    # the copy during the run, then another Ctrl-C: asked twice
    with pytest.raises(KeyboardInterrupt):
        with StopSignals() as stop:
            stop.join(signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.name == "SIGINT"
            os.kill(os.getpid(), signal.SIGINT)


def test_a_joined_stop_whose_copy_never_comes_waits_a_bounded_time(monkeypatch):
    # `kill -INT <one rank>`: no copy comes to the others; they leave after FORWARDED_WAIT_S
    from seqlab.training import guard

    clock = FakeClock()
    monkeypatch.setattr(guard, "time", clock)
    with StopSignals() as stop:
        stop.join(signal.SIGTERM)
        stop.join(signal.SIGINT)  # (a rank's first signal stays the one the run names)
    assert stop.name == "SIGTERM" and stop.received is None
    assert clock.now == pytest.approx(100.0 + StopSignals.FORWARDED_WAIT_S, abs=0.02)
    # a signal of its own: no wait
    clock.now = 0.0
    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        stop.join(signal.SIGINT)
    assert stop.name == "SIGTERM" and clock.now == 0.0
