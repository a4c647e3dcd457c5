"""Mutation-audit additions for seqlab.runtime: what the existing tests let through."""

import pytest
import torch

from seqlab import SeqlabError
from seqlab.runtime import resolve_device, same_device


def test_cpu_zero_is_the_cpu_and_another_cpu_index_is_unknown():
    assert resolve_device("cpu:0") == torch.device("cpu", 0)
    with pytest.raises(SeqlabError, match="unknown device 'cpu:1'"):
        resolve_device("cpu:1")


def test_a_gpu_index_must_be_below_the_gpu_count(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(SeqlabError, match=r"^cuda:2 is not available: this machine has 2 GPUs \(cuda:0 to cuda:1\)$"):
        resolve_device("cuda:2")


def test_the_cpu_is_not_the_first_gpu():
    assert not same_device(torch.device("cpu"), torch.device("cuda", 0))
    assert same_device(torch.device("cpu"), torch.device("cpu", 0))
