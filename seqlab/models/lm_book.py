"""The book's functional language model (8.5), `RNNModelScratch(vocab_size, num_hiddens, device,
get_params, init_state, forward_fn)`: parameters made by `get_params` as a list of tensors, one-hot
inputs, the recurrence `forward_fn(X, state, params)`. Its `begin_state` takes every argument form
of the book's two models (`_state_args`, which RNNModel's uses too)."""

from __future__ import annotations

import operator
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.training.common import check_count, check_model_input, check_state, map_state

_UNSET = object()  # begin_state's arguments that were not given


def _state_args(first, device, batch_size):
    """(batch_size, device) of a begin_state call. The book defines RNNModel.begin_state(device,
    batch_size=1) but RNNModelScratch.begin_state(batch_size, device): every form of either is
    accepted, (B, device), (device, B), (device, batch_size=B) and keywords; a size given twice is
    an error."""
    if isinstance(first, (torch.device, str)):  # the book's RNNModel form: (device, batch_size=1)
        # (a numpy or tensor integer is a size too: dropped, it made a state for a batch of 1)
        first, device = (_UNSET if device is None else _as_size(device)), first
    if first is not _UNSET and batch_size is not _UNSET:
        raise SeqlabError(f"begin_state got the batch size twice ({first!r} and batch_size={batch_size!r}): "
                          "give it once")
    size = batch_size if first is _UNSET else first
    return (1 if size is _UNSET else size), device


def _as_size(value):
    """The batch size given after a device: an integer (Python, numpy, a one-element tensor)."""
    try:
        if not isinstance(value, bool):  # (operator.index refuses a float, a str, a device; a bool it takes)
            return operator.index(value)
    except TypeError:
        pass
    raise SeqlabError(f"begin_state(device, batch_size): batch_size must be a whole number, got {value!r}")


class RNNModelScratch(nn.Module):
    """The book's RNN from scratch: `forward_fn(one_hot(X.T), state, params)`.

    The tensors `get_params` made are registered as this module's parameters (optimisers,
    `state_dict` and checkpoints see them); `net.params` is the list of them in `get_params`'
    order (the book clips and updates `net.params`), read at each use from the registered
    parameters, so that forward runs on whatever replaced them: `torch.func.functional_call`'s
    weights, `load_state_dict(..., assign=True)`'s, `.double()`'s. The state `init_state` makes
    is given the parameters' dtype (the book's makes float32 zeros).
    """

    def __init__(self, vocab_size: int, num_hiddens: int, device, get_params: Callable, init_state: Callable,
                 forward_fn: Callable):
        super().__init__()
        self.vocab_size = check_count(vocab_size, "vocab_size")
        self.num_hiddens = check_count(num_hiddens, "num_hiddens")
        self._state_shapes_by_batch: dict = {}
        self._plist = nn.ParameterList([nn.Parameter(p.detach()) for p in get_params(vocab_size, num_hiddens,
                                                                                        device)])
        self.init_state, self.forward_fn = init_state, forward_fn

    @property
    def params(self) -> list[torch.Tensor]:
        # (not a list kept from __init__: functional_call and load_state_dict(assign=True) swap the
        # registered tensors, and a kept list would go on feeding forward the old ones, silently)
        return list(self._plist)

    @params.setter
    def params(self, tensors) -> None:  # the book's plain attribute could be set: these become the parameters
        tensors = list(tensors)
        if len(tensors) != len(self._plist):
            raise SeqlabError(f"params must be {len(self._plist)} tensors (get_params' list), got {len(tensors)}")
        for k, t in enumerate(tensors):
            self._plist[k] = t  # (a tensor that is not a Parameter becomes one)

    def forward(self, X: torch.Tensor, state=None):
        check_model_input(X, self.vocab_size)
        params = self.params
        if state is None:
            state = self.begin_state(X.shape[0], X.device)
        shapes = self._state_shapes(X.shape[0])
        if shapes is not None:  # a wrong batch would broadcast into wrong logits, silently
            check_state(state, shapes, X.shape[0])
        X = F.one_hot(X.T.long(), self.vocab_size).to(params[0].dtype)  # (T, B, V)
        return self.forward_fn(X, state, params)  # (T*B, V), state

    def _state_shapes(self, batch_size: int):
        # init_state is the caller's function (the book's returns a tuple of (B, H) zeros): ask it
        # once per batch size for meta tensors (shapes, no memory); None if it cannot make them
        if batch_size not in self._state_shapes_by_batch:
            try:
                meta = self.init_state(batch_size, self.num_hiddens, torch.device("meta"))
                shapes = _shapes_of(meta)
            except Exception:  # noqa: BLE001 (someone's init_state that needs a real device: no check)
                shapes = None
            self._state_shapes_by_batch[batch_size] = shapes
        return self._state_shapes_by_batch[batch_size]

    def begin_state(self, size_or_device=_UNSET, /, device=None, batch_size=_UNSET):
        batch_size, device = _state_args(size_or_device, device, batch_size)
        first = self._plist[0]
        state = self.init_state(check_count(batch_size, "batch_size"), self.num_hiddens, device or first.device)
        return _to_dtype(state, first.dtype)


def _shapes_of(state):
    """`state`'s structure with each tensor's shape in its place."""
    return map_state(state, lambda t: tuple(t.shape))


def _to_dtype(state, dtype: torch.dtype):
    """`state` (a tensor, or a tuple/list/NamedTuple of them) with its floating tensors in `dtype`."""
    return map_state(state, lambda t: t.to(dtype) if t.is_floating_point() else t)
