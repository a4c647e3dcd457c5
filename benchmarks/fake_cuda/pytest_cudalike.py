"""pytest plugin: each test (its fixtures too) runs inside cudalike.cuda_like() (a 'cuda' device with
real values on the CPU), so the gpu-marked tests run here:

    PYTHONPATH=$PWD:benchmarks/fake_cuda python -m pytest -p pytest_cudalike -m gpu tests/...

CUDALIKE_ALL=1: every device seqlab resolves ("cpu" and "auto" too, e.g. a CLI test's --device cpu)
is cuda, so the CPU tests run their commands on the device (many then fail only because they
expect the CPU: read the failures for device errors).
"""
import contextlib
import os
import sys
from unittest import mock

import pytest
import torch

import cudalike

torch.cuda.is_available = lambda: True  # read by skipif marks as the test modules are imported


def _all_on_cuda(stack):
    import seqlab.runtime
    import seqlab.training.forecast

    resolve, forecast = seqlab.runtime.resolve_device, seqlab.training.forecast.forecast_device

    def on_cuda(name="auto"):
        if name in (None, "auto", "cpu") or str(name) == "cpu":
            return torch.device("cuda", 0)
        return resolve(name)

    for mod in [m for n, m in sys.modules.items() if n.startswith("seqlab") and m is not None]:
        for attr, real in (("resolve_device", resolve), ("forecast_device", forecast)):
            if getattr(mod, attr, None) is real:
                stack.enter_context(mock.patch.object(mod, attr, on_cuda))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    item._cudalike = contextlib.ExitStack()
    item._cudalike.enter_context(cudalike.cuda_like())
    if os.environ.get("CUDALIKE_ALL") == "1":
        _all_on_cuda(item._cudalike)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield
    item._cudalike.close()
    if cudalike.SYNCS and os.environ.get("CUDALIKE_SYNCS") == "1":
        print(f"\n{item.nodeid}: {len(cudalike.SYNCS)} host reads; first ones:",
              *[f"  {w} ({k})" for w, k in cudalike.SYNCS[:8]], sep="\n")
