"""torchrun plumbing on CPU with gloo: two real processes."""

import os
import signal

import pytest
import torch
import torch.multiprocessing as mp

from seqlab import SeqlabError
from seqlab.training import distributed as D
from seqlab.training.guard import StopSignals

from ddp_harness import free_port


def _join(rank: int, port: int):
    """In a spawned worker: rank `rank` of 2 on the CPU (gloo)."""
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port), SEQLAB_DIST_TIMEOUT="60")
    return D.setup(torch.device("cpu"))


def _run_two(worker) -> list:
    """Run `worker(rank, port, queue)` in 2 spawned processes; what each put, by rank."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=worker, args=(r, port, out)) for r in range(2)]
    for p in procs:
        p.start()
    results = sorted((out.get(timeout=120) for _ in procs), key=lambda r: r[0])
    for p in procs:
        p.join(timeout=60)
    return results


def dist_backend(groups):
    return torch.distributed.get_backend(groups[0]) if groups else None


def _plumbing(rank, info, device):
    """What rank `rank` gets from the collectives (in a spawned worker, its group joined)."""
    sums = D.all_reduce_sum([rank + 1.0, 10.0], device, info)
    rows = D.shard_columns(torch.arange(8).view(4, 2), info)
    flag = D.broadcast_flag(rank == 1, device, info)
    net = D.wrap(torch.nn.Linear(2, 1), info, device)
    torch.manual_seed(rank)  # different data per rank; DDP averages the gradients
    net(torch.randn(3, 2)).sum().backward()
    # a signal seen by rank 1 alone stops every rank, for that signal (rank 0 names it too, before
    # torchrun's copy reaches it); only rank 0 keeps the caller's log
    signals = StopSignals()
    if rank == 1:
        signals.signum = signal.SIGTERM  # as its handler sets it
    stop = D.stop_requested(signals, device, info)
    # a loop given no StopSignals (train_epoch's stop=None, from Python) still learns of another's stop
    stop_without_signals = D.stop_requested(None if rank == 0 else signals, device, info)
    _, _, log = D.join(4, device, log=print)
    return (rank, sums, rows.tolist(), flag, net.module.weight.grad.tolist(), info.is_main, (stop, signals.name),
            log is print, stop_without_signals, dist_backend(D._host_group))


def _uneven(rank, info, device):
    x, y = _batch()
    xs, ys = D.shard_rows((x, y), info)  # 5 rows: 3 on rank 0, 2 on rank 1
    net = _net()
    ddp = D.wrap(net, info, device)
    local_sum = ((ddp(xs) - ys) ** 2).sum()
    D.ddp_loss(local_sum, len(x), info).backward()
    skipped = D.shard_rows((x[:1],), info)
    return (rank, len(xs), [p.grad.tolist() for p in net.parameters()], skipped, D.from_main({"rank": rank}, info))


def _worker(rank, port, out):
    info, device = _join(rank, port)
    try:
        out.put((rank, _plumbing(rank, info, device), _uneven(rank, info, device)))
    finally:
        D.cleanup()


@pytest.fixture(scope="module")
def two_ranks():
    """(the plumbing's results, the uneven shares' results), by rank: one pair of spawned processes for both
    tests (CI time: a pair takes about 4 s to start)."""
    results = _run_two(_worker)
    return [r[1] for r in results], [r[2] for r in results]


def test_two_gloo_processes_reduce_shard_and_average(two_ranks):
    results = two_ranks[0]
    assert [r[1] for r in results] == [[3.0, 20.0], [3.0, 20.0]]
    assert results[0][2] == [[0, 1], [2, 3]] and results[1][2] == [[4, 5], [6, 7]]
    assert results[0][3] is True and results[1][3] is True
    assert results[0][4] == results[1][4]  # gradients averaged across ranks
    assert [r[5] for r in results] == [True, False]
    assert [r[6] for r in results] == [(True, "SIGTERM"), (True, "SIGTERM")]
    assert [r[7] for r in results] == [True, False]
    assert [r[8] for r in results] == [True, True]
    # the per-step flags went through the host's gloo group (on CUDA: never waiting for the GPU)
    assert [r[9] for r in results] == ["gloo", "gloo"]


def _batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(5, 3, generator=g), torch.randn(5, 1, generator=g)


def _net():
    torch.manual_seed(1)
    return torch.nn.Linear(3, 1)


def test_uneven_shares_give_the_gradient_of_the_whole_batch_mean(two_ranks):
    x, y = _batch()
    net = _net()
    ((net(x) - y) ** 2).mean().backward()  # the plain path: one process, the whole batch
    want = [p.grad for p in net.parameters()]
    results = two_ranks[1]
    assert [r[1] for r in results] == [3, 2]
    for _, _, grads, skipped, main in results:
        for g, w in zip(grads, want):
            torch.testing.assert_close(torch.tensor(g), w)
        assert skipped is None  # 1 row for 2 ranks: every rank skips that batch
        assert main == {"rank": 0}  # rank 0's value on every rank


def test_single_process_is_a_no_op_and_batch_must_divide(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info, device = D.setup(torch.device("cpu"))
    assert not info.enabled and info.is_main
    assert D.all_reduce_sum([1.5], device, info) == [1.5]
    batch = (torch.arange(3), torch.arange(3))
    assert D.shard_rows(batch, info) == batch and D.from_main(7, info) == 7
    assert D.ddp_loss(torch.tensor(6.0), 3, info).item() == 2.0  # the plain mean
    with pytest.raises(SeqlabError, match="batch size 30 is not divisible by the world size 4"):
        D.local_batch_size(30, D.Dist(0, 4, 0))


def test_from_env_reads_torchrun_variables(monkeypatch):
    # 2 machines x 2 processes: the second process of the second machine is global rank 3 but
    # local rank 1; only global rank 0 is main (it alone writes)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    info = D.from_env()
    assert info == D.Dist(rank=3, world_size=4, local_rank=1) and info.enabled and not info.is_main
    monkeypatch.setenv("RANK", "0")
    assert D.from_env().is_main and D.local_batch_size(32, D.from_env()) == 8
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(SeqlabError, match="must be integers"):
        D.from_env()


def _peer_failed_worker(rank, port, out):
    info, device = _join(rank, port)
    D.all_reduce_sum([1.0], device, info)  # both ranks got this far
    if rank == 0:  # failed after the last collective (e.g. its checkpoint write): leaves at once
        D.cleanup(failed=True)
        out.put((rank, "left"))
        return
    try:
        D.cleanup()  # waited in the barrier for a peer already gone: RuntimeError, a traceback
        out.put((rank, "clean"))
    except Exception as exc:  # noqa: BLE001
        out.put((rank, f"{type(exc).__name__}: {exc}"))


def test_a_rank_whose_peer_failed_leaves_without_an_error():
    assert _run_two(_peer_failed_worker) == [(0, "left"), (1, "clean")]
