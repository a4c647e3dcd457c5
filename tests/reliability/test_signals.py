"""SIGINT/SIGTERM: the run stops between steps, exits 128 + the signal (130 / 143) saying how to
resume, keeps a valid checkpoint, and the resumed run ends bitwise-equal to one never interrupted."""

import signal

import pytest

from seqlab.training.checkpoint import load_checkpoint

import kill_resume as kr


# in the slow set (CI time: a run in a process of its own, three times); the fast set sends a real
# SIGTERM to training in test_forecast's and test_classify's stop tests, and checks the LM's stop and
# its exit codes in process (test_lm_training, test_interrupt_review)
@pytest.mark.slow
@pytest.mark.parametrize("task,sig", [("lm", signal.SIGTERM), ("translate", signal.SIGINT)])
def test_signal_saves_exits_128_plus_it_and_resumes_exactly(task, sig, tmp_path):
    fx = kr.make_fixtures(tmp_path / "fx")
    args = kr.argv(task, fx, tmp_path / "run")
    args[args.index("--epochs") + 1] = "60"  # long enough to be caught mid-run
    for attempt in range(3):
        rc, err = kr.run_signalled(args, 0.6 + attempt, sig)
        if rc is not None:
            break
    assert rc == 128 + sig, err  # SIGTERM: 143 (it gave SIGINT's 130)
    assert "Traceback" not in err
    assert f"stopped by {signal.Signals(sig).name}" in err
    last = tmp_path / "run" / "last.safetensors"
    epochs = load_checkpoint(last).meta["epoch"] if last.exists() else 0
    if epochs:
        assert "--resume" in err and f"checkpoint of epoch {epochs} " in err
    else:
        assert "without --resume" in err
    # two epochs past the stop are enough to compare (the 60 were only there to be caught mid-run):
    # neither trainer's schedule here reads the number of epochs, which --resume may change
    args[args.index("--epochs") + 1] = str(epochs + 2)
    rc, _, err = kr.run(args + (["--resume"] if epochs else []))
    assert rc == 0, err
    ref = tmp_path / "ref"
    rc, _, err = kr.run(_with_out(args, ref))
    assert rc == 0, err
    assert load_checkpoint(ref / "last.safetensors").meta["epoch"] == epochs + 2
    assert kr.bitwise_equal(kr.final_tensors(tmp_path / "run"), kr.final_tensors(ref))


def _with_out(args, out):
    args = list(args)
    args[args.index("--out") + 1] = str(out)
    return args
