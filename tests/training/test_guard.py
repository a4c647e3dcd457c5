"""Stop signals become a flag; non-finite losses stop with advice or are skipped."""

import math
import os
import signal

import pytest
import torch

from seqlab.training.guard import NonFiniteLoss, StopSignals, check_finite


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
