"""Running under `torchrun`: process group from the environment, DDP, rank-0-only output.

    torchrun --nproc_per_node=N -m seqlab train lm ...      # one machine, N processes
    torchrun --nnodes=M --node_rank=R --rdzv_backend=c10d --rdzv_endpoint=HOST:PORT \\
             --nproc_per_node=N -m seqlab train lm ...      # M machines

Every trainer (`seqlab train lm|translate|forecast|classify`) runs this way: it starts with
`join` (batch size checked, process group joined, rank 0 alone logs), each rank
reads the same global batches and trains on its share (`shard_columns` for LM rows,
`shard_rows` otherwise), the loss is scaled so that DDP's gradient average is the global
batch mean (`ddp_loss`), sums are reduced (`all_reduce_sum`), decisions come from rank 0's
figures (`from_main`), and rank 0 alone writes (`metrics_log`).

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT; without them everything
here is a no-op and training runs as one process. The backend is NCCL on CUDA, gloo on
the CPU. Collective operations time out (SEQLAB_DIST_TIMEOUT seconds, default 300) so
that when one rank dies the others stop with a message instead of hanging.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn

from seqlab.errors import SeqlabError


@dataclass(frozen=True)
class Dist:
    """Where this process stands in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only rank 0 writes logs, plots and checkpoints."""
        return self.rank == 0


def from_env() -> Dist:
    """Read torchrun's variables (no process group is started)."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise SeqlabError("RANK / WORLD_SIZE / LOCAL_RANK must be integers (they are set by torchrun)") from None
    return Dist(rank, world, local)


# A gloo group beside the training group (NCCL on CUDA) for the flags every rank checks at every step
# (a stop signal, translate's time limit): reduced on the host, they never wait for the GPU, where a
# flag reduced on the GPU and read back (.item()) waited for the step's kernels at every step.
_host_group: list = []


def setup(device: torch.device) -> tuple[Dist, torch.device]:
    """Join the process group torchrun describes (if any); returns this rank's device.

    On CUDA each process takes the GPU of its LOCAL_RANK.
    """
    info = from_env()
    if not info.enabled:
        return info, device
    if device.type == "cuda":
        if info.local_rank >= torch.cuda.device_count():
            raise SeqlabError(f"LOCAL_RANK {info.local_rank} but this machine has {torch.cuda.device_count()} "
                              "GPU(s): lower --nproc_per_node")
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        timeout = datetime.timedelta(seconds=float(os.environ.get("SEQLAB_DIST_TIMEOUT", "300")))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timeout)
        _host_group[:] = [dist.new_group(backend="gloo", timeout=timeout)]
    return info, device



def join(global_batch: int, device: torch.device, log: Callable = print) -> tuple[Dist, torch.device, Callable]:
    """How every trainer starts: check that the world size divides `global_batch` (before
    joining, so a bad launch fails at once on every rank), join the process group (`setup`),
    and return this rank's place, its device, and `log` on rank 0 (a no-op on the others)."""
    local_batch_size(global_batch, from_env())
    info, device = setup(device)
    return info, device, log if info.is_main else _silent


def _silent(*args, **kwargs) -> None:
    """The `log` of a rank other than 0: only rank 0 prints."""


def cleanup(failed: bool = False) -> None:
    """Leave the process group. After a run that went well the ranks first wait for each other:
    torch 2.2's gloo backend hangs the rank that tears down last (its worker threads wait for a
    peer already gone). After a failure a rank may be gone for good, so none waits; nor does a rank
    whose peer failed after the last collective (the wait fails at once: it is let go)."""
    if dist.is_available() and dist.is_initialized():
        if not failed:
            try:
                nccl = _host_group and dist.get_backend() == "nccl"
                dist.barrier(group=_host_group[0] if nccl else None)  # (NCCL's barrier would use the GPU)
            except RuntimeError:
                pass  # another rank failed and left: its own error says why
        _host_group.clear()
        dist.destroy_process_group()


def wrap(model: nn.Module, info: Dist, device: torch.device) -> nn.Module:
    """The model in PyTorch's DistributedDataParallel when there are several ranks."""
    if not info.enabled:
        return model
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def local_batch_size(global_batch: int, info: Dist) -> int:
    """Each rank's share of a global batch; the world size must divide it."""
    if global_batch % info.world_size:
        raise SeqlabError(f"batch size {global_batch} is not divisible by the world size {info.world_size}: "
                          f"use a batch size that is a multiple of {info.world_size}")
    return global_batch // info.world_size


def shard_columns(batch: torch.Tensor, info: Dist) -> torch.Tensor:
    """This rank's contiguous block of rows of a (B, ...) batch.

    For sequential LM sampling row b of batch i+1 continues row b of batch i, so a rank
    that always owns the same rows can carry its hidden state across batches.
    """
    if not info.enabled:
        return batch
    per = local_batch_size(batch.shape[0], info)
    return batch[info.rank * per: (info.rank + 1) * per]


def shard_rows(batch: tuple[torch.Tensor, ...], info: Dist) -> tuple[torch.Tensor, ...] | None:
    """This rank's share of every tensor of a global batch (rows split as `tensor_split` does).

    Every rank draws the same global batches (same seed, same order) and keeps a disjoint
    share of each; a last batch may split unevenly (see `ddp_loss`). None when the batch has
    fewer rows than there are ranks: every rank then skips it (a rank cannot run on no rows).
    """
    if not info.enabled:
        return tuple(batch)
    if batch[0].shape[0] < info.world_size:
        return None
    return tuple(t.tensor_split(info.world_size)[info.rank] for t in batch)


def ddp_loss(local_sum: torch.Tensor, global_count: float, info: Dist) -> torch.Tensor:
    """The loss this rank backpropagates: its share's sum scaled so that DDP's gradient average
    over the ranks is the gradient of (the whole global batch's sum) / `global_count`, i.e. what
    one process computes on the whole batch, however unevenly the batch was split.

        grad = 1/W * sum_r grad(sum_r * W / N) = grad(sum over the global batch) / N
    """
    return local_sum * info.world_size / global_count  # one process: exactly sum / count


def all_reduce_sum(values: list[float], device: torch.device, info: Dist) -> list[float]:
    """Sum plain numbers (loss sums, token counts) over all ranks."""
    if not info.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def broadcast_flag(flag: bool, device: torch.device, info: Dist) -> bool:
    """True on every rank if it is true on any (e.g. a stop signal seen by one rank)."""
    if not info.enabled:
        return flag
    return bool(_max_over_ranks(1.0 if flag else 0.0, device))


def _max_over_ranks(value: float, device: torch.device) -> float:
    # on the host, reduced by gloo; on the device where the caller, not `setup`, made the group
    t = torch.tensor([value], device="cpu" if _host_group else device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=_host_group[0] if _host_group else None)
    return float(t.item())


def from_main(value, info: Dist):
    """Rank 0's `value` (plain data) on every rank. Every rank computes its own copy of an
    evaluation; decisions taken from it (best checkpoint, lr on a plateau, NT-ASGD) must still
    be the same everywhere, so all take rank 0's figures."""
    if not info.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class _MemoryLog:
    """What a non-zero rank keeps instead of metrics.jsonl: the records, in memory only."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def write(self, **record) -> None:
        self.records.append(record)


def metrics_log(path, info: Dist, *, keep_until_epoch: int | None = None):
    """A MetricsLog on rank 0; an in-memory stand-in on the other ranks (only rank 0 writes)."""
    from seqlab.training.metrics import MetricsLog

    return MetricsLog(path, keep_until_epoch=keep_until_epoch) if info.is_main else _MemoryLog()


def stop_requested(stop, device: torch.device, info: Dist) -> bool:
    """Whether any rank saw SIGINT/SIGTERM (every rank must leave the loop at the same step).

    The signal's number is reduced, not a flag: a rank that learns of the stop from another before
    torchrun's copy of the signal reaches it takes that signal (`stop.join`), so that every rank names
    the same one (said once: `said_by_main`) and exits with the same code."""
    flag = stop is not None and stop.requested
    if not info.enabled:
        return flag
    signum = int(_max_over_ranks(float(stop.signum or 0) if flag else 0.0, device))
    if signum and stop is not None:  # (a loop given no StopSignals, train_epoch's stop=None, only leaves)
        stop.join(signum)
    return bool(signum)


def collective_failure(exc: BaseException) -> SeqlabError:
    """A timed-out or broken collective (another rank died) as a one-line error."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return SeqlabError(f"a distributed operation failed, most likely because another rank died or hung "
                       f"({first}); check the other ranks' output, then rerun with --resume "
                       "(timeout: SEQLAB_DIST_TIMEOUT seconds)")


class session:
    """`with session(): fit(...)` in a CLI command: a failed collective (a rank died, a
    timeout) becomes a one-line SeqlabError, and the process group is always torn down."""

    def __enter__(self) -> "session":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc is not None and isinstance(exc, RuntimeError) and dist.is_available() and dist.is_initialized():
                raise collective_failure(exc) from None
        finally:
            cleanup(failed=exc is not None)
        return False


def is_main_process() -> bool:
    """Rank 0, or a plain single-process run (for printing results once)."""
    return from_env().is_main


# How long a rank other than its machine's first that stops on bad input (or a signal, or out of memory)
# waits to read that rank's line (`said_by_main`): the ranks read the same flags and files and stop at the
# same step, so the first stops alike within a moment; a rank whose failure is its own says it this much later.
SAME_ERROR_WAIT_S = 5.0


def said_by_main(message: str) -> bool:
    """Whether this process may leave unsaid the line `message` it stops on (a bad-input error, a stop by
    SIGINT/SIGTERM, running out of memory), because its machine's first rank (LOCAL_RANK 0; rank 0 on one
    machine) says the same: under torchrun every rank checks the same flags and files (`--batch-size 31`
    on 2 ranks before joining; after it, a resume's refusals, as a second --resume-from best), gets the
    signal torchrun forwards and stops at the same step (the flag is reduced), and runs the same sizes,
    so each printed the same line. One line per machine, not one per job: each node's torchrun has its
    own terminal or log, and a node whose ranks all kept silent would show nothing of why they stopped.
    The ranks compare through torchrun's own key-value store (the agent's, at MASTER_ADDR:MASTER_PORT),
    not the process group: before joining there is none, and after it the ranks that did not fail wait
    in a collective (and the failed one has left the group); after a signal, torchrun's agent keeps its
    store while it waits for the ranks to end. Each rank puts its message there; a machine's first rank
    always says its own; another rank keeps silent only when that rank's message is the same. A message
    of its own (a GPU only this rank lacks, a file missing on this node, a collective that failed because
    another rank left, a signal sent to this rank alone) is said by the rank that has it, after at most
    SAME_ERROR_WAIT_S seconds, so no rank waits on another for longer. Not under torchrun, or without
    torchrun's store: False, every rank says its own."""
    try:
        info = from_env()
    except SeqlabError:
        return False
    if not info.enabled or os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True":
        return False
    wait = datetime.timedelta(seconds=SAME_ERROR_WAIT_S)
    try:
        store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                              timeout=wait)
        # (apart from the keys the process group uses, and per restart of the job: --max-restarts)
        store = dist.PrefixStore(f"seqlab/last-line/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}/", store)
        node = os.environ.get("GROUP_RANK", "0")  # (torchrun's number of this machine)
        store.set(f"{node}/{info.local_rank}", message)
        if info.local_rank == 0:
            return False
        first = f"{node}/0"
        store.wait([first], wait)  # raises when that rank has not failed by then (it may be training)
        return store.get(first).decode("utf-8", "replace") == message
    except Exception:  # noqa: BLE001 (no store, a timeout, the agent gone: the rank says its error itself)
        return False
