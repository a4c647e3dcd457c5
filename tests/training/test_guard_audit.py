"""Mutation-audit additions for seqlab.training.guard: what the existing tests let through."""

import os
import signal

from seqlab.training.guard import StopSignals


def test_a_copy_of_another_signal_after_a_join_keeps_the_first_as_the_runs(monkeypatch):
    # another rank's SIGTERM stopped this one (join); a SIGINT of its own that comes after is received,
    # not a second request, and the run still names (and exits for) the first signal, as every rank does
    from seqlab.training import guard

    monkeypatch.setattr(StopSignals, "FORWARDED_WAIT_S", 0.0)
    with StopSignals() as stop:
        stop.join(signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.received == signal.SIGINT
    assert stop.name == "SIGTERM" and stop.signum == signal.SIGTERM
    assert guard.interrupted(stop, 1, _Run()).exit_code == 128 + signal.SIGTERM


class _Run:
    out, resume, overwrite = "runs/x", False, False


def test_stop_signals_in_a_worker_thread_set_no_handlers_and_do_not_wait(monkeypatch):
    # training called from a thread (a notebook's or a GUI's): signal.signal works in the main thread
    # only, so no handler is set there, and a joined stop does not wait for a copy no handler could take
    import threading

    from seqlab.training import guard

    slept = []

    class Clock:  # sleep moves it on: a wait ends after FORWARDED_WAIT_S of it
        now = 0.0

        def monotonic(self):
            return self.now

        def sleep(self, s):
            slept.append(s)
            self.now += s

    monkeypatch.setattr(guard, "time", Clock())
    before = signal.getsignal(signal.SIGTERM)
    seen = []

    def work():
        try:
            with StopSignals() as stop:
                seen.append(signal.getsignal(signal.SIGTERM))
                stop.join(signal.SIGTERM)
            seen.append(stop.name)
        except BaseException as exc:  # (shown in the assertion below)
            seen.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert seen == [before, "SIGTERM"] and slept == []


def test_skipping_guard_counts_each_skipped_step_once():
    # skipped_steps in metrics.jsonl (and forecast's every-step-skipped error) is this count: a step whose
    # loss or gradient norm (or both) is non-finite, counted as a plain loop counts it
    import math

    import torch

    from seqlab.training.guard import StepGuard

    nan, inf = float("nan"), float("inf")
    steps = [(1.0, 1.0), (nan, 1.0), (1.0, inf), (nan, nan), (0.5, None), (inf, None), (0.2, 2.0)]
    guard = StepGuard(skip=True, eager=False, epoch=1)
    kept = [guard.ok(s, torch.tensor(loss), None if norm is None else torch.tensor(norm))
            for s, (loss, norm) in enumerate(steps, start=1)]
    bad = [not math.isfinite(loss) or (norm is not None and not math.isfinite(norm)) for loss, norm in steps]
    assert kept == [not b for b in bad] and guard.skipped == sum(bad) == 4


def test_lazy_guard_finish_names_the_rate_it_is_given():
    # the trainers pass finish() the rate they report for the epoch; the steps' own rate is the fallback
    import pytest
    import torch

    from seqlab.training.guard import NonFiniteLoss, StepGuard

    guard = StepGuard(skip=False, eager=False, epoch=2, lr=1.0)
    guard.ok(1, torch.tensor(float("nan")), rate=0.5)
    guard.ok(2, torch.tensor(1.0), rate=0.125)
    with pytest.raises(NonFiniteLoss, match=r"step 1; .*the run's is 1, which its schedule had brought to 0\.25 here"):
        guard.finish(0.25)


def test_resumed_note_says_one_epoch_or_a_range_left():
    from seqlab.training.guard import resumed_note

    assert resumed_note("r", 4, 5) == "resuming 'r' after epoch 4: epoch 5 to train"
    assert resumed_note("r", 3, 5) == "resuming 'r' after epoch 3: epochs 4-5 to train"
    assert resumed_note("r", 5, 5).startswith("the run in 'r' has trained 5 epochs and --epochs is 5: nothing to train")


def test_the_advice_names_a_scheduled_rate_a_little_off_the_runs_lr():
    # within float noise of --lr it is the run's rate ("now"); 5% off it, a schedule moved it: both named
    from seqlab.training.guard import nonfinite_advice

    assert "a lower --lr (now 1) or" in nonfinite_advice(2, 1.0, rate=1.0 + 1e-9)
    assert "a lower --lr (the run's is 1, which its schedule had brought to 0.95 here)" in nonfinite_advice(
        2, 1.0, rate=0.95)
