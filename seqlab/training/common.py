"""Small helpers shared by every training loop: clipping, state detaching, optimisers, warnings."""

from __future__ import annotations

import os
import sys
from typing import Iterable

import torch
from torch import nn

from seqlab.errors import SeqlabError, check_positive_int
from seqlab.torch_compat import autocast_enabled, functorch_wrapped, recorded_by_tracer, tracing

State = torch.Tensor | tuple | list | None


def warn(text: str) -> None:
    """Say `text` on stderr as `seqlab: warning: text`, as every seqlab command says its warnings
    (evaluate's, translate's): stdout keeps a run's progress and results. From rank 0 alone under
    torchrun (each rank reads the same data: one warning, not one per rank)."""
    from seqlab.training.distributed import is_main_process

    if is_main_process():
        print(f"seqlab: warning: {text}", file=sys.stderr)


def lm_loss_sum(logits: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy of a language model's batch: the one training loss of both LM loops.

    logits are time-major (T*B, V), so the targets are Y (B, T) transposed.
    """
    return nn.functional.cross_entropy(logits, Y.T.reshape(-1).long(), reduction="sum")


def lm_batch_loss(net: nn.Module, model: nn.Module, X: torch.Tensor, Y: torch.Tensor, state):
    """(summed cross-entropy, state) of one LM batch, X and Y (B, T).

    seqlab's LMs (`takes_targets`) compute it themselves, `forward(X, state, targets=Y)`: their
    output layer and loss run as one step on the CPU (seqlab.models.fused_loss). Any other
    model: its logits and `lm_loss_sum`. `net` is what is called (DDP-wrapped under torchrun),
    `model` the LM inside it.
    """
    if getattr(model, "takes_targets", False):
        return net(X, state, targets=Y)
    logits, state = net(X, state)
    return lm_loss_sum(logits, Y), state


def _params(net: nn.Module | Iterable[torch.Tensor]) -> list[torch.Tensor]:
    if isinstance(net, nn.Module):
        params = net.parameters()
    elif hasattr(net, "params"):  # the book's RNNModelScratch keeps a list of tensors
        params = net.params
    else:
        params = net
    return [p for p in params if p.requires_grad and p.grad is not None]


def grad_clipping(net: nn.Module | Iterable[torch.Tensor], theta: float, *, book_order: bool = False
                  ) -> torch.Tensor:
    """Clip gradients by their global norm: g <- min(1, theta / ||g||) g.

    Returns the norm before clipping, as a tensor (no host sync: the scaling is
    computed on the device, as the book's formula asks, without a Python `if`).
    `book_order`: the norm summed as the book's 8.5 code sums it, sqrt(sum of each gradient's sum
    of squares), and scaled by its theta / norm, so that the result equals the book's to the bit
    (seqlab.d2l's; the default takes the norm of the per-tensor norms, which differs in the last bits).
    """
    if not theta > 0:  # also NaN; theta < 0 would flip the gradients, 0 zero them
        raise SeqlabError(f"the clipping threshold theta must be > 0 (the largest gradient norm kept), "
                          f"got {theta}")
    params = _params(net)
    if not params:
        return torch.zeros(())
    if book_order:
        norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
        scale = torch.where(norm > theta, theta / norm, torch.ones_like(norm))
    else:
        norm = _global_norm(params)
        scale = torch.clamp(theta / (norm + 1e-12), max=1.0)
    for p in params:
        p.grad.mul_(scale)
    return norm


def clip_gradients(net: nn.Module | Iterable[torch.Tensor], clip: float) -> torch.Tensor:
    """A training step's --clip: grad_clipping at `clip` > 0; 0 turns clipping off (every task's --clip,
    as pytorch/examples' word LM reads it), the gradients left as they are. Returns their global norm
    before any clipping (for the step guard) either way."""
    return grad_norm(net) if clip == 0 else grad_clipping(net, clip)


def grad_norm(net: nn.Module | Iterable[torch.Tensor]) -> torch.Tensor:
    """Global L2 norm of the gradients (a 0-d tensor; no host sync), for the step guard of a loop
    that does not clip."""
    params = _params(net)
    return _global_norm(params) if params else torch.zeros(())


def _global_norm(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))


def map_state(state: State, fn) -> State:
    """`state` (a tensor, or a tuple/list/NamedTuple of them, nested) with `fn` applied to each tensor;
    anything else (None) as it is."""
    if isinstance(state, torch.Tensor):
        return fn(state)
    if isinstance(state, (tuple, list)):
        parts = [map_state(s, fn) for s in state]
        return type(state)(*parts) if hasattr(state, "_fields") else type(state)(parts)  # a NamedTuple takes fields
    return state


def detach_state(state: State) -> State:
    """Cut the graph behind a carried hidden state (a tensor, or a tuple such as LSTM's (h, c))."""
    return map_state(state, torch.Tensor.detach)


def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """The book's minibatch SGD: p <- p - lr * grad / batch_size."""
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad / batch_size
            p.grad.zero_()


# torch.optim.AdamW's own default: decoupled decay is what a user picks adamw for (at 0 it is Adam)
ADAMW_WEIGHT_DECAY = 0.01


def resolved_weight_decay(optimizer: str, weight_decay: float | None) -> float:
    """The decay an optimiser named `optimizer` applies for a config's `weight_decay` (None: its default)."""
    if weight_decay is None:
        return ADAMW_WEIGHT_DECAY if optimizer == "adamw" else 0.0
    return weight_decay


def make_optimizer(name: str, params: Iterable[torch.Tensor], lr: float, *, weight_decay: float | None = None,
                   momentum: float = 0.0) -> torch.optim.Optimizer:
    """sgd | adam | adamw, by name. weight_decay None: the optimiser's default (adamw 0.01, as torch's; else 0)."""
    weight_decay = resolved_weight_decay(name, weight_decay)
    # the optimisers multiply float32 weights by these: above float32's largest number torch
    # fails deep inside its step ("cannot be converted to type float without overflow")
    top = torch.finfo(torch.float32).max
    if not 0 < lr <= top:  # NaN too: it passed `lr <= 0` and trained to NaN weights
        raise SeqlabError(f"learning rate must be a finite number > 0 and at most {top:.4g}, got {lr}")
    for name_, value in (("weight_decay", weight_decay), ("momentum", momentum)):
        if not 0 <= value <= top:
            raise SeqlabError(f"{name_} must be a finite number >= 0 (0 turns it off) and at most {top:.4g}, "
                              f"got {value}")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise SeqlabError(f"unknown optimizer {name!r}: use sgd, adam or adamw")


def model_device(net) -> torch.device:
    """The device of the model's first parameter: an nn.Module's (a DDP wrapper's are its model's),
    or the `params` list of the book's plain-class RNNModelScratch (8.5); the CPU for none."""
    return _params_device(net) or torch.device("cpu")


def _params_device(net) -> torch.device | None:
    params = net.parameters() if isinstance(net, nn.Module) else getattr(net, "params", None) or ()
    return next((p.device for p in params), None)


def device_for(net: nn.Module, device) -> torch.device:
    """The device a library call runs on: `device` as resolve_device reads it ("cpu", "cuda:0", a
    torch.device), or None for the device the model's parameters are on (`model_device`). A
    device other than the one the model's parameters are on is refused (torch would fail inside
    the first layer): move the model there first, `net.to(device)`."""
    from seqlab.runtime import resolve_device, same_device

    if device is None:
        return model_device(net)
    device = resolve_device(device)
    held = _params_device(net)
    if held is not None and not same_device(held, device):
        raise SeqlabError(f"the model is on {held} but device={str(device)!r} was asked for: move it there "
                          f"first (net.to({str(device)!r})), or leave device out to run where the model is")
    return device


def no_batches(fix: str = "lower batch_size or num_steps") -> SeqlabError:
    """The error of a training epoch whose batches were none: said by the loop itself, since its caller
    reads no tokens trained as every step skipped (non-finite)."""
    return SeqlabError(f"the data iterator yielded no batches: the training split is shorter than one batch ({fix})")


def check_count(value, name: str) -> int:
    """errors.check_positive_int (a bool or 2.5 refused too), letting a size under torch.compile
    through: a SymInt is compared symbolically and stays one; and one under jit.trace, where a
    size read off the input (`X.shape[1]`) is a 0-dim tensor that the trace keeps dynamic."""
    if isinstance(value, torch.SymInt):
        return value if value >= 1 else check_positive_int(name, int(value))
    if isinstance(value, torch.Tensor) and recorded_by_tracer():
        return value
    return check_positive_int(name, value)


def physical_memory() -> int | None:
    """This machine's memory in bytes, None where the OS does not say (Windows)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_stack_fits(layers: int, hidden: int) -> None:
    """Refuse a recurrent stack that could not fit in this machine's memory, before it is built:
    torch builds the layers one by one, so --layers 2**31 of a small size ran for hours before
    running out. The bound is low on purpose (per layer: its hidden-to-hidden weights, one
    gate's, and ~1 KB of module objects): a stack it refuses would not fit."""
    need = int(layers) * (4 * int(hidden) * (int(hidden) + 1) + 1024)  # (Python ints: numpy's would wrap)
    refuse_past_memory(need, f"--layers {layers:,} of --hidden {hidden:,}", "for the layers alone",
                       "reduce --layers (a few layers is usual) or --hidden")


def refuse_past_memory(need_bytes: int, what: str, counted: str, fix: str) -> None:
    """Refuse `what` (the options asked, "--steps 14,564") when it needs more than this machine's
    memory (`need_bytes`, a bound low on purpose: `counted` says what it counts), before any work
    that would run for hours and then run out; nothing is refused where the memory is not known."""
    memory = physical_memory()
    if memory is not None and need_bytes > memory:
        raise SeqlabError(f"{what} would need more than {_gib(need_bytes)} GiB {counted}, past this machine's "
                          f"{_gib(memory)} GiB of memory: {fix}")


def _gib(size: int) -> str:
    """`size` bytes in GiB for a message: two significant digits below 10 (0.00098, 3.2: a 1 MiB
    test machine or a half-GiB stack reads as more than 0), whole ones with commas above (1,024)."""
    gib = size / 2**30
    return f"{gib:,.0f}" if gib >= 10 else f"{gib:.2g}"


def check_token_batch(X: torch.Tensor, vocab_size: int | None, *, what: str = "token ids") -> None:
    """Refuse what a language model cannot read, with a message instead of a deep torch error:
    a (batch, time) integer tensor with at least one time step and ids in [0, vocab_size)
    (the range is not checked when `vocab_size` is None). Not under jit.trace/fx (`recorded_by_tracer`)."""
    if recorded_by_tracer():
        return
    if not isinstance(X, torch.Tensor):
        raise SeqlabError(f"{what} must be a torch.Tensor of shape (batch, time), got {type(X).__name__}")
    if X.dtype.is_floating_point or X.dtype.is_complex or X.dtype == torch.bool:
        raise SeqlabError(f"{what} must be integers (torch.long), got {X.dtype}: pass token indices, "
                          "e.g. vocab[tokens], not features")
    if X.dim() != 2:
        raise SeqlabError(f"{what} must have shape (batch, time), got {tuple(X.shape)}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise SeqlabError(f"{what} of shape {tuple(X.shape)} are empty: a batch needs at least one row and "
                          "one time step")
    bad = None if vocab_size is None else out_of_range_id(X, vocab_size)
    if bad is not None:
        raise SeqlabError(f"token id {bad} is out of range for a vocabulary of {vocab_size} tokens "
                          f"(ids 0..{vocab_size - 1}): the data and the model use different vocabularies")


def ids_readable_here(X: torch.Tensor) -> bool:
    """Whether a model may read its token ids' values: on the CPU, outside torch.compile/export,
    jit.trace and fx (see `check_model_input` for why not on CUDA), and not ids a torch.func
    transform wraps (vmap refuses to read a batched tensor's values: per-sample gradients over ids)."""
    return X.device.type == "cpu" and not tracing() and not functorch_wrapped(X)


def out_of_range_id(X: torch.Tensor, size: int) -> int | None:
    """An id of `X` outside 0..size-1 (the smallest if one is negative, else the largest), or None.
    Reads X's values on the host."""
    lo, hi = int(X.min()), int(X.max())
    return lo if lo < 0 else hi if hi >= size else None


def check_model_input(X: torch.Tensor, vocab_size: int, what: str = "token ids") -> None:
    """`check_token_batch` at the top of a model's forward: the id range is checked on the CPU only.

    On the CPU a min/max costs a few microseconds. On CUDA it would be a host sync per batch,
    and `torch._assert_async` fails as a device-side assert that poisons the CUDA context
    instead of raising a readable error, so the range is left to the data paths there: training
    builds the model from the data's vocabulary, and generation checks the prefix and that the
    model and vocabulary sizes agree. Skipped inside torch.compile too (a graph break).
    """
    on_cpu = torch.is_tensor(X) and ids_readable_here(X)
    check_token_batch(X, vocab_size if on_cpu else None, what=what)  # a non-tensor: refused there


def check_targets(targets: torch.Tensor, inputs: torch.Tensor, vocab_size: int, inputs_name: str) -> None:
    """The training targets of a model's `forward(..., targets=Y)`: token ids as its inputs are
    (`check_model_input`: the range on the CPU only), of the inputs' (B, T) shape."""
    if recorded_by_tracer():
        return
    check_model_input(targets, vocab_size, what="the targets")
    if targets.shape != inputs.shape:
        raise SeqlabError(f"the targets must have {inputs_name} shape (B, T) = {tuple(inputs.shape)}, "
                          f"got {tuple(targets.shape)}")


def _shape_text(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ")"


def _describe(expected) -> str:
    if not isinstance(expected[0], (tuple, list)):
        return f"one tensor of shape {_shape_text(expected)}"
    if len(expected) == 2 and not isinstance(expected[0][0], (tuple, list)):
        return "a pair of 2 tensors (h, c), an LSTM's hidden state and memory cell"
    return f"a {type(expected).__name__} of {len(expected)} entries (one per layer)"


def check_state(state: State, expected, batch_size: int, dtype: torch.dtype | None = None) -> None:
    """Refuse a recurrent state that `begin_state(batch_size)` would not have made.

    `expected` mirrors the state's structure with shapes instead of tensors: a shape (a tuple
    of ints), or a tuple/list of such (an LSTM's (h, c), or one entry per layer). A tensor's
    batch is its second-to-last dimension and its hidden size its last ((L, B, H) or (B, H)).
    `dtype`: the one every tensor must have (a fused layer's weights' dtype: torch's kernels
    fail on another one deep inside), except under autocast, which casts both. Shapes and dtypes
    only: no host sync. Not under jit.trace/fx (`recorded_by_tracer`).
    """
    if recorded_by_tracer():
        return
    if not _same_shapes(state, expected):  # the common case stays a few shape comparisons
        _explain_state(state, expected, batch_size)
    if dtype is not None:
        for t in _tensors(state):  # (a loop, not next() over a generator: a graph break in older dynamo)
            if t.dtype != dtype and not autocast_enabled(t.device.type):
                raise SeqlabError(f"the state is {t.dtype} but the model's weights are {dtype}: start from "
                                  f"net.begin_state({batch_size}), or cast each of its tensors with .to({dtype})")


def _tensors(state) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    return [t for s in state for t in _tensors(s)]


def _same_shapes(state, expected) -> bool:
    if isinstance(expected[0], (tuple, list)):
        return (isinstance(state, (tuple, list)) and len(state) == len(expected)
                and all(map(_same_shapes, state, expected)))
    return isinstance(state, torch.Tensor) and state.shape == tuple(expected)


def _explain_state(state, expected, batch_size: int) -> None:
    """Raise the SeqlabError that says how `state` differs from `expected` (see check_state)."""
    fix = f"start from net.begin_state({batch_size}) (the input's batch size)"
    if isinstance(expected[0], (tuple, list)):  # a pair (h, c), or one entry per layer
        if not isinstance(state, (tuple, list)) or len(state) != len(expected):
            got = (f"a {type(state).__name__} of {len(state)} entries" if isinstance(state, (tuple, list))
                   else f"a {type(state).__name__}")
            raise SeqlabError(f"the state is {got} but this model's state is {_describe(expected)}: {fix}")
        for s, e in zip(state, expected):
            check_state(s, e, batch_size)
        return
    if not isinstance(state, torch.Tensor):
        raise SeqlabError(f"the state is a {type(state).__name__} but this model's state is "
                          f"{_describe(expected)}: {fix}")
    got = tuple(state.shape)
    if got == tuple(expected):
        return
    problems = []
    if len(got) == len(expected):
        if got[-2] != expected[-2]:
            problems.append(f"the state has batch {got[-2]} but the input has batch {expected[-2]}")
        if got[-1] != expected[-1]:
            problems.append(f"the state has hidden size {got[-1]} but the model's is {expected[-1]}")
    if not problems:  # another rank or number of layers
        problems.append(f"the state has shape {_shape_text(got)} but the model expects {_shape_text(expected)}")
    raise SeqlabError("; ".join(problems) + f": {fix}")
