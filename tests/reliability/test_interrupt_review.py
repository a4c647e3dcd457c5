"""A new user's review of interrupting runs: the message after interrupting an --overwrite
contradicted itself, and SIGTERM exited 130 (SIGINT's code) instead of 143."""

import signal
from types import SimpleNamespace

import pytest

from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.guard import StopSignals
from seqlab.training.metrics import read_metrics
from seqlab.training.run_folder import ASIDE
from run_review import argv as _argv, make_inputs, run as _run  # tests/reliability, on the test path

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("fx"))


def test_interrupting_an_overwrite_says_the_old_run_is_back_not_that_there_is_none(fx, tmp_path, capsys,
                                                                                       monkeypatch):
    # it said "no epoch had finished, so there is no checkpoint in runs/int: rerun the same command
    # without --resume; --overwrite: ... the run it was to replace (last.safetensors, epoch 1) is put back there"
    out = tmp_path / "run"
    _run(_argv("lm", fx, out, "--epochs", "1"), capsys)
    with monkeypatch.context() as m:
        m.setattr(StopSignals, "requested", property(lambda self: True))
        m.setattr(StopSignals, "name", property(lambda self: "SIGINT"))
        said = _run(_argv("lm", fx, out, "--epochs", "3", "--overwrite", "--seed", "4"), capsys, code=130)
    assert said.err == (f"seqlab: stopped by SIGINT during epoch 1; --overwrite: the new run in {out} stopped before "
                        "its first checkpoint, so the run it was to replace (last.safetensors, epoch 1) is put back "
                        "there; rerun the same command (with --overwrite) to start the new run again\n")
    assert load_checkpoint(out, "last").meta["config"]["run"]["seed"] == 0 and not (out / ASIDE).exists()


def _messages(tmp_path):
    from seqlab.training.guard import interrupted

    stop = StopSignals()
    stop.signum = signal.SIGINT
    aside = tmp_path / "aside"
    (aside / ASIDE).mkdir(parents=True)
    (aside / ASIDE / "MOVED").write_text("last.safetensors, epoch 60")

    def said(epoch, out=tmp_path / "new", resume=False, overwrite=False):
        return str(interrupted(stop, epoch, SimpleNamespace(out=out, resume=resume, overwrite=overwrite)))
    return said, aside


def test_every_interrupt_message_says_what_is_kept_and_a_command_that_works(tmp_path):
    said, aside = _messages(tmp_path)
    new = tmp_path / "new"
    # a new run: no checkpoint during epoch 1; later, --resume continues it
    assert said(1) == (f"stopped by SIGINT during epoch 1; no epoch had finished, so there is no checkpoint in {new}: "
                       "rerun the same command without --resume")
    assert said(3).endswith(f"the checkpoint of epoch 2 (last.safetensors) is kept in {new}: continue with the same "
                            "command and --resume (epoch 3 restarts from its beginning)")
    # a resumed run: its command has --resume already
    assert "continue with the same command (epoch 3 restarts" in said(3, resume=True)
    # an --overwrite past its first checkpoint: the same command with --overwrite would replace the
    # run just saved, and --resume with --overwrite is refused: --resume in its place
    assert "continue with the same command with --resume in place of --overwrite" in said(3, overwrite=True)
    # during its first epoch, with the old run aside (it comes back): not "there is no checkpoint"
    assert said(1, aside, overwrite=True) == ("stopped by SIGINT during epoch 1; rerun the same command (with "
                                              "--overwrite) to start the new run again")
    # an --overwrite of an empty folder had nothing to put aside: as a new run
    assert "no epoch had finished, so there is no checkpoint in" in said(1, overwrite=True)


def test_the_advice_after_an_overwrites_later_epoch_works(fx, tmp_path, capsys, monkeypatch):
    from seqlab.training import lm

    real = lm._epoch

    def sigterm_in_epoch_2(cfg, net, corpus, batches, optimizer, scheduler, metrics, device, epoch, stop, *rest):
        if epoch == 2:
            stop.signum = signal.SIGTERM
        return real(cfg, net, corpus, batches, optimizer, scheduler, metrics, device, epoch, stop, *rest)

    out = tmp_path / "run"
    _run(_argv("lm", fx, out, "--epochs", "1"), capsys)
    with monkeypatch.context() as m:
        m.setattr(lm, "_epoch", sigterm_in_epoch_2)
        said = _run(_argv("lm", fx, out, "--epochs", "3", "--overwrite", "--seed", "4"), capsys, code=143)
    assert said.err.startswith("seqlab: stopped by SIGTERM during epoch 2; the checkpoint of epoch 1")
    assert "--resume in place of --overwrite" in said.err
    _run(_argv("lm", fx, out, "--epochs", "3", "--resume", "--seed", "4"), capsys)  # what it says works
    assert [r["epoch"] for r in read_metrics(out / "metrics.jsonl")] == [1, 2, 3]


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigterm_exits_143_and_sigint_130(sig, code, fx, tmp_path, capsys, monkeypatch):
    # 128 + the signal's number, as a shell reports a process that signal ended (SIGTERM gave 130)
    from seqlab.training import lm

    real = lm._epoch

    def signalled_in_epoch_2(cfg, net, corpus, batches, optimizer, scheduler, metrics, device, epoch, stop, *rest):
        if epoch == 2:
            stop.signum = sig
        return real(cfg, net, corpus, batches, optimizer, scheduler, metrics, device, epoch, stop, *rest)

    monkeypatch.setattr(lm, "_epoch", signalled_in_epoch_2)
    out = tmp_path / "run"
    said = _run(_argv("lm", fx, out, "--epochs", "3"), capsys, code=code)
    assert f"stopped by {sig.name} during epoch 2" in said.err
    assert load_checkpoint(out, "last").meta["epoch"] == 1  # the checkpoint kept is the same either way


def test_a_second_signal_stops_at_once_with_its_exit_code(fx, tmp_path, capsys, monkeypatch):
    from seqlab.training.guard import StoppedAtOnce

    stop = StopSignals()
    stop._handle(signal.SIGTERM, None)
    with pytest.raises(StoppedAtOnce) as caught:
        stop._handle(signal.SIGTERM, None)
    assert caught.value.signum == signal.SIGTERM and isinstance(caught.value, KeyboardInterrupt)
    from seqlab.training import lm

    def second_sigterm(*args, **kwargs):
        raise StoppedAtOnce(signal.SIGTERM)

    monkeypatch.setattr(lm, "_epoch", second_sigterm)
    said = _run(_argv("lm", fx, tmp_path / "run", "--epochs", "1"), capsys, code=143)
    assert said.err == "seqlab: interrupted\n"
