"""Forecasters run on the device they are given (SPEC intro and §12: `train forecast --device`).

This machine (and CI) has no GPU, so the device plumbing is checked on the CPU: a torch function
mode marks every tensor that came out of a `.to(<a device>)` call (the mark follows it through
slicing, unfold, cat, ...), and hooks on the model's modules record whether each input they are
given carries the mark. A batch or a series that reached the model without being sent to the
device would arrive unmarked, as every one did when forecasters always ran on the CPU. Which
device the CLI asks for is checked with CUDA faked as available and the trainer/loader stubbed.
"""

import json

import pytest
import torch
from torch.overrides import TorchFunctionMode

import seqlab.training.forecast as forecast
from seqlab import SeqlabError
from seqlab.cli import main
from seqlab.config import replace
from seqlab.training.forecast import ForecastConfig, forecast_device, train_forecaster
from seqlab.training.metrics import read_metrics


class Moved(torch.Tensor):
    """A tensor that went through `.to(device)` (or was computed from one that did)."""


def _names_device(args, kwargs) -> bool:
    if "device" in kwargs:
        return True
    return any(isinstance(a, (torch.device, str)) for a in args[1:])


class MarkMoves(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if (func is torch.Tensor.to and _names_device(args, kwargs) and type(out) is torch.Tensor
                and not isinstance(args[0], torch.nn.Parameter)):  # (Module.to moves the parameters)
            out = out.as_subclass(Moved)
        return out


class Spy:
    """Records, for every call of every module of the nets it watches, whether each tensor input was moved."""

    def __init__(self):
        self.seen: list[bool] = []
        self.moved_to: list = []  # the devices each watched net's .to was called with

    def watch(self, net):
        for module in net.modules():
            module.register_forward_pre_hook(self._hook)
        to = net.to

        def spied_to(*args, **kwargs):
            self.moved_to.append(args[0] if args else kwargs.get("device"))
            return to(*args, **kwargs)

        net.to = spied_to
        return net

    def _hook(self, module, inputs):
        self.seen += [isinstance(x, Moved) for x in inputs if isinstance(x, torch.Tensor)]


@pytest.fixture
def spy(monkeypatch):
    spy = Spy()
    build = forecast.build_model
    monkeypatch.setattr(forecast, "build_model", lambda cfg: spy.watch(build(cfg)))
    return spy


def quiet(*a, **k):
    pass


SMALL = dict(length=200, n_train=120, epochs=2, hidden=6)


@pytest.mark.parametrize("model, rollout", [("mlp", 1), ("gru", 1), ("lstm", 3)])
def test_training_puts_the_model_and_every_batch_on_the_device(tmp_path, spy, model, rollout):
    cfg = replace(ForecastConfig(), model=model, rollout=rollout, out=str(tmp_path), **SMALL)
    with MarkMoves():
        train_forecaster(cfg, device=torch.device("cpu"), log=quiet)
    assert spy.moved_to and all(torch.device(d) == torch.device("cpu") for d in spy.moved_to)
    # the training batches, the evaluation batches, and the series the report and plots read
    assert len(spy.seen) > 50 and all(spy.seen), f"{spy.seen.count(False)} of {len(spy.seen)} inputs not moved"


def test_evaluate_puts_the_loaded_model_and_the_series_on_the_device(tmp_path, spy, capsys):
    train_forecaster(replace(ForecastConfig(), out=str(tmp_path), **SMALL), log=quiet)
    spy.seen.clear(), spy.moved_to.clear()  # (what training saw and did)
    with MarkMoves():
        assert main(["evaluate", "--checkpoint", str(tmp_path), "--device", "cpu"]) == 0
    assert spy.moved_to and spy.seen and all(spy.seen)
    assert "mse" in json.loads(capsys.readouterr().out)


def test_auto_is_the_cpu_and_a_named_device_is_read_as_every_task_reads_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert forecast_device("auto") == forecast_device(None) == torch.device("cpu")
    assert forecast_device("cuda") == torch.device("cuda") and forecast_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(SeqlabError, match="cuda:1 is not available: this machine has 1 GPU"):
        forecast_device("cuda:1")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a GPU")
@pytest.mark.parametrize("argv", [["train", "forecast", "--epochs", "1"], ["evaluate", "--checkpoint"]])
def test_cuda_without_a_gpu_is_a_one_line_error(tmp_path, capsys, argv):
    if argv[0] == "evaluate":
        train_forecaster(replace(ForecastConfig(), out=str(tmp_path / "run"), **SMALL), log=quiet)
        argv = [*argv, str(tmp_path / "run")]
    else:
        argv = [*argv, "--out", str(tmp_path / "run")]
    assert main([*argv, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "this machine has no CUDA GPU" in err and "Traceback" not in err


@pytest.mark.parametrize("asked, used", [("cuda", "cuda"), ("cuda:0", "cuda:0"), ("auto", "cpu"), ("cpu", "cpu")])
def test_train_forecast_trains_on_the_device_asked_for(tmp_path, monkeypatch, capsys, asked, used):
    # a GPU is faked: the trainer is stubbed, so nothing is put on it
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    got = []

    def stub(cfg, *, device=None, **kwargs):
        got.append(device)
        raise SeqlabError("the trainer was reached")

    monkeypatch.setattr(forecast, "train_forecaster", stub)
    assert main(["train", "forecast", "--device", asked, "--out", str(tmp_path / "run")]) == 2
    # (not refused before: "forecast models are tiny and train on the CPU")
    assert "the trainer was reached" in capsys.readouterr().err and got == [torch.device(used)]


@pytest.mark.parametrize("asked, used", [("cuda", "cuda"), ("auto", "cpu")])
def test_evaluate_loads_a_forecaster_on_the_device_asked_for(tmp_path, monkeypatch, capsys, asked, used):
    train_forecaster(replace(ForecastConfig(), out=str(tmp_path), **SMALL), log=quiet)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    got, load = [], forecast.from_checkpoint

    def spied(ckpt, device=None):
        got.append(forecast_device(device))
        return load(ckpt, "cpu")  # (no GPU to load it on)

    monkeypatch.setattr(forecast, "from_checkpoint", spied)
    assert main(["evaluate", "--checkpoint", str(tmp_path), "--device", asked]) == 0
    assert got == [torch.device(used)]


def test_cpu_results_do_not_depend_on_how_the_cpu_is_named(tmp_path):
    runs = {}
    for name, device in (("default", None), ("cpu", "cpu"), ("device", torch.device("cpu"))):
        train_forecaster(replace(ForecastConfig(), model="gru", out=str(tmp_path / name), **SMALL), device=device,
                         log=quiet)
        runs[name] = [(r["train_loss"], r["valid_loss"]) for r in read_metrics(tmp_path / name / "metrics.jsonl")]
    assert runs["default"] == runs["cpu"] == runs["device"]
