"""seqlab.d2l.common, a mutation audit's gaps: the book's device helpers on a machine without a GPU."""

import torch

from seqlab import d2l


def test_without_gpus_the_device_lists_hold_the_cpu():
    if torch.cuda.device_count():
        assert d2l.try_all_gpus() == [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    else:
        assert d2l.try_all_gpus() == [torch.device("cpu")] and d2l.try_gpu(0) == torch.device("cpu")
