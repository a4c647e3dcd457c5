"""torch_compat, a mutation audit's gap: a device that has no autocast is not under one."""

from seqlab import torch_compat


def test_a_device_without_autocast_reads_as_not_enabled():
    assert torch_compat.autocast_enabled("meta") is False
