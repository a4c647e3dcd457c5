"""seqlab.d2l.common, a mutation audit's gaps: the book's device helpers on a machine without a GPU."""

import torch

from seqlab import d2l


def test_without_gpus_the_device_lists_hold_the_cpu():
    if torch.cuda.device_count():
        assert d2l.try_all_gpus() == [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    else:
        assert d2l.try_all_gpus() == [torch.device("cpu")] and d2l.try_gpu(0) == torch.device("cpu")


def test_timer_records_each_interval_and_sums_them(monkeypatch):
    from seqlab.d2l import common

    clock = iter([10.0, 12.0, 12.5, 15.5])  # start 10, stop 12 (2 s); start 12.5, stop 15.5 (3 s)
    monkeypatch.setattr(common.time, "perf_counter", lambda: next(clock))
    timer = d2l.Timer()
    assert timer.stop() == 2.0
    timer.start()
    assert timer.stop() == 3.0
    assert (timer.times, timer.sum(), timer.avg(), timer.cumsum()) == ([2.0, 3.0], 5.0, 2.5, [2.0, 5.0])


def test_accumulator_adds_per_slot_and_resets_to_zeros():
    metric = d2l.Accumulator(2)
    metric.add(1.5, torch.tensor(2.0, requires_grad=True) * 2)
    metric.add(0.5, 1)
    assert (metric[0], metric[1]) == (2.0, 5.0)
    metric.reset()
    assert metric.data == [0.0, 0.0]
