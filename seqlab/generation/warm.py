"""Running a language model over prompts for generation (sampling.generate_batch): in calls of at most
WARM_UP_CHUNK ids that keep only the last step's logits, each call's logits checked for the layout generation
reads, and the states of prompts warmed up apart joined into one batch. A state is a tensor, or tuples and
lists of them (nested), each tensor with one batch dimension, found by comparing the model's begin_state for
one and two rows."""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError
from seqlab.training.common import map_state

# How many prefix ids one warm-up call reads, over all its rows: the call's logits, (ids, V), are
# then the most memory a prompt costs, whatever its length (the whole prompt in one call kept
# 133 KB per word of a 33k-word vocabulary, per sample: 13 GB for a 100k-word prompt)
WARM_UP_CHUNK = 512


def feed(net, X: torch.Tensor, state, chunk: int = WARM_UP_CHUNK):
    """Run ids X (B, T) through the model in calls of at most `chunk` ids (at least one step each),
    carrying the state; returns (the logits after each row's last id (B, V), state). Only one call's
    logits are alive at a time."""
    rows, T = X.shape
    step = max(1, chunk // rows)
    for start in range(0, T, step):
        part = X[:, start:start + step]
        logits, state = net(part, state)
        check_logits_layout(logits, part.shape[1], rows, probe=lambda: _one_row_shape(net, part))
        # time-major: the last step's rows, copied so that the call's logits can go
        last = logits.reshape(part.shape[1], rows, -1)[-1].clone()
        del logits  # (not alive through the next call)
    return last, state


def _one_row_shape(net, X: torch.Tensor) -> tuple[int, ...]:
    """The shape of the model's logits for the first row of ids X (B, T), its first two steps, from a
    fresh state: (1, 2, V) batch-major, (2, 1, V) time-major."""
    with torch.no_grad():
        logits, _ = net(X[:1, :2], net.begin_state(batch_size=1, device=X.device))
    return tuple(logits.shape) if isinstance(logits, torch.Tensor) else ()


def check_logits_layout(logits, steps: int, rows: int, probe=None) -> None:
    """The logits of a model's call on (rows, steps) ids in a layout generation reads: time-major,
    (steps*rows, V) with row t*rows + b for step t of sequence b, or (steps, rows, V) (an nn.GRU at its
    default batch_first=False and a Linear; read by reshaping). Checked once per call: a user's model
    may return the batch-major (rows, steps, V) of nn.GRU(batch_first=True), which read as time-major
    mixed the rows and failed inside torch; it is refused, saying to transpose. With one row or one
    step both orders are the same and read right. When steps == rows the two 3-D layouts cannot be
    told apart by this call's shape: `probe` (feed's), the logits' shape for one row and two steps,
    tells them apart; without one, (T, B, V), time-major, is read, the order seqlab's models use."""
    tensor = isinstance(logits, torch.Tensor) and logits.dim() >= 1
    if tensor and logits.shape[:-1].numel() == steps * rows and (
            logits.dim() <= 2 or steps == 1 or rows == 1 or tuple(logits.shape[:2]) == (steps, rows)):
        if not (logits.dim() == 3 and steps == rows > 1 and probe is not None and probe()[:2] == (1, 2)):
            return
    got = f"shape {tuple(logits.shape)}" if isinstance(logits, torch.Tensor) else f"a {type(logits).__name__}"
    said = (f"the model's forward on ids of shape (B, T) = ({rows}, {steps}) returned logits of {got}; generation "
            f"reads seqlab's time-major layout, (T*B, V) = ({steps * rows}, V) with row t*B + b for step t of "
            f"sequence b, or (T, B, V) = ({steps}, {rows}, V)")
    if tensor and logits.dim() == 3 and tuple(logits.shape[:2]) == (rows, steps):
        raise SeqlabError(f"{said}: this is batch-major (B, T, V), as batch_first=True layers give; return "
                          "logits.transpose(0, 1).reshape(-1, V) from the model's forward")
    raise SeqlabError(said)


def state_tensors(state) -> list[torch.Tensor] | None:
    """The state's tensors in map_state's order; None if it holds anything but tensors, tuples,
    lists and None (a dict: map_state would not reach its tensors)."""
    found: list[torch.Tensor] = []

    def walk(s) -> bool:
        if isinstance(s, torch.Tensor):
            found.append(s)
            return True
        if isinstance(s, (tuple, list)):
            return all(walk(x) for x in s)
        return s is None

    return found if walk(state) else None


def state_shapes(state):
    """The state's structure with each tensor's shape in its place (None for an unreadable state)."""
    return map_state(state, lambda t: tuple(t.shape)) if state_tensors(state) is not None else None


def batch_dims(net, device) -> list[int] | None:
    """The batch dimension of each state tensor (in map_state's order): the one dimension in which
    begin_state(batch_size=1) has 1 where batch_size=2 has 2. None if a tensor has no such one
    dimension, the two states differ in structure, or there are no tensors."""
    one, two = net.begin_state(batch_size=1, device=device), net.begin_state(batch_size=2, device=device)
    a, b = state_tensors(one), state_tensors(two)
    if not a or b is None or len(a) != len(b) or map_state(one, lambda t: 0) != map_state(two, lambda t: 0):
        return None
    dims = []
    for x, y in zip(a, b):
        differ = [d for d in range(x.dim()) if x.dim() == y.dim() and x.shape[d] != y.shape[d]]
        if x.dim() != y.dim() or len(differ) != 1 or (x.shape[differ[0]], y.shape[differ[0]]) != (1, 2):
            return None
        dims.append(differ[0])
    return dims


def join_states(states: list, dims: list[int], index: torch.Tensor):
    """One state of len(index) rows, row r being row index[r] of the states' rows placed one after
    another (`dims`: each tensor's batch dimension, in map_state's order), shaped as states[0]."""
    parts = [state_tensors(s) for s in states]
    joined = iter([torch.cat([p[k] for p in parts], dim=d).index_select(d, index) for k, d in enumerate(dims)])
    return map_state(states[0], lambda _: next(joined))
