"""pytest plugin: each test (its fixtures too) runs inside cudalike.cuda_like() (a 'cuda' device with
real values on the CPU), so the gpu-marked tests run here:

    PYTHONPATH=$PWD:benchmarks/fake_cuda python -m pytest -p pytest_cudalike -m gpu tests/...
"""
import contextlib

import pytest
import torch

import cudalike

torch.cuda.is_available = lambda: True  # read by skipif marks as the test modules are imported


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    item._cudalike = contextlib.ExitStack()
    item._cudalike.enter_context(cudalike.cuda_like())
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    yield
    item._cudalike.close()
    if cudalike.SYNCS:
        print(f"\n{item.nodeid}: {len(cudalike.SYNCS)} host reads; first ones:",
              *[f"  {w} ({k})" for w, k in cudalike.SYNCS[:8]], sep="\n")
