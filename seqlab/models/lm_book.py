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

# torch.save(net.params, f), the book's list of tensors saved as 5.5 saves [x, y], pickles a plain list
# (_ParamsList.__reduce_ex__), which pickle can only write as a call of builtins.list: a list subclass
# is never written as a bare list. torch.load's default, weights_only=True since torch 2.6, refuses that
# global unless it is on torch's safe list; list(...) of the tensors the file holds runs no code of the
# file's choosing. (torch < 2.4 has no safe list, and loads it by default.)
if hasattr(torch.serialization, "add_safe_globals"):
    torch.serialization.add_safe_globals([list])


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

    The book's `params` is a plain list its exercises add to (`self.params.append(self.E)`, an
    embedding matrix for an overridden `__call__`): `append`/`extend`/`+=` on `net.params`, and
    `net.params[k] = t`, change the registered parameters, so that train_ch8, grad_clipping and
    `sgd(net.params, ...)` train the tensor as the book's list does. An added tensor stays the very
    object the caller holds (it becomes an `nn.Parameter` in place), so `self.E` is what is trained.
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
        return _ParamsList(self)

    @params.setter
    def params(self, tensors) -> None:  # the book's plain attribute could be set: these become the parameters
        tensors = list(tensors)
        n = len(self._plist)
        if len(tensors) < n:
            raise SeqlabError(f"params must be at least the {n} tensors of get_params' list, got {len(tensors)}: "
                              "the model's parameters cannot be taken away")
        for k, t in enumerate(tensors[:n]):
            self._plist[k] = t  # (a tensor that is not a Parameter becomes one)
        self.params.extend(tensors[n:])  # (net.params = net.params + [E]: as net.params.append(E))

    def forward(self, X: torch.Tensor, state=None):
        check_model_input(X, self.vocab_size)
        params = list(self._plist)
        if state is None:
            state = self.begin_state(X.shape[0], X.device)
        shapes = self._state_shapes(X.shape[0])
        if shapes is not None:  # a wrong batch would broadcast into wrong logits, silently
            check_state(state, shapes, X.shape[0])
        X = F.one_hot(X.T.long(), self.vocab_size).to(params[0].dtype)  # (T, B, V)
        return self.forward_fn(X, state, params)  # (T*B, V), state

    def _state_shapes(self, batch_size: int):
        # init_state is the caller's function (the book's returns a tuple of (B, H) zeros): the shapes
        # of what begin_state made for this batch size, else (a state made elsewhere, or for another
        # batch) ask it once for meta tensors (shapes, no memory); None if it cannot make them
        if batch_size not in self._state_shapes_by_batch:
            # with torch's random numbers put back: an init_state that ignores `device` draws its
            # torch.randn on the CPU, and the book's seeded numbers would move on by one draw
            cuda = [self._plist[0].device.index or 0] if self._plist[0].is_cuda else []
            with torch.random.fork_rng(devices=cuda):
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
        batch_size = check_count(batch_size, "batch_size")
        state = self.init_state(batch_size, self.num_hiddens, device or first.device)
        # (forward's check then need not call init_state again: see _state_shapes)
        if type(batch_size) is int and batch_size not in self._state_shapes_by_batch:  # (not a traced size)
            try:
                self._state_shapes_by_batch[batch_size] = _shapes_of(state)
            except Exception:  # noqa: BLE001 (a state of another make: the probe decides)
                pass
        return _to_dtype(state, first.dtype)


def _as_param(t) -> nn.Parameter:
    """A tensor added to `net.params` as a parameter: the same object (so that the caller's `self.E`
    is the tensor trained), made an nn.Parameter in place -- as torch's own lazy parameters become
    one (`UninitializedParameter.materialize`). Only a leaf that requires grad can be: another gets
    no .grad (the book's sgd and grad_clipping then fail on `None`)."""
    if isinstance(t, nn.Parameter):
        return t
    if not isinstance(t, torch.Tensor):
        raise SeqlabError(f"net.params holds tensors, got a {type(t).__name__}")
    if not (t.is_leaf and t.requires_grad):
        how = ("it is computed from another tensor (not a leaf), so autograd keeps no .grad for it"
               if t.requires_grad else "it does not require grad, so nothing trains it")
        raise SeqlabError(f"a tensor added to net.params must be one that training can update, but {how}: "
                          "make it with (torch.randn(...) * 0.01).requires_grad_(True), or nn.Parameter(...)")
    t.__class__ = nn.Parameter
    return t


class _ParamsList(list):
    """`net.params` of RNNModelScratch: a list of the registered parameters whose changes are the
    model's, as the book's plain list's are (see the class). It can grow and have entries replaced;
    taking one out or reordering is refused (forward_fn unpacks get_params' tensors by position)."""

    def __init__(self, net: RNNModelScratch):
        super().__init__(net._plist)
        self._net = net

    def append(self, t) -> None:
        t = _as_param(t)
        self._net._plist.append(t)
        super().append(t)

    def extend(self, tensors) -> None:
        for t in list(tensors):
            self.append(t)

    def __iadd__(self, tensors):
        self.extend(tensors)
        return self

    def __setitem__(self, k, t) -> None:
        if isinstance(k, slice):
            self._refuse("a slice assignment")
        k = operator.index(k)
        k = k + len(self) if k < 0 else k
        if not 0 <= k < len(self):
            raise IndexError("list assignment index out of range")
        self._net._plist[k] = t  # (as the setter: a tensor that is not a Parameter becomes one)
        super().__setitem__(k, self._net._plist[k])

    def __reduce_ex__(self, protocol):
        # copied or pickled (copy.deepcopy(net.params), torch.save(net.params, f)): a plain list of the
        # tensors, as the book's, not this view with the whole model behind it
        return (list, (list(self),))

    def _refuse(self, what: str):
        raise SeqlabError(f"net.params cannot take {what}: its tensors are the model's registered parameters, "
                          "in get_params' order; add one with net.params.append(t), replace one with "
                          "net.params[k] = t")

    def insert(self, *_):
        self._refuse("an insert")

    def pop(self, *_):
        self._refuse("a pop")

    def remove(self, *_):
        self._refuse("a removal")

    def clear(self):
        self._refuse("a clear")

    def __delitem__(self, _):
        self._refuse("a del")

    def sort(self, *_, **__):
        self._refuse("a sort")

    def reverse(self):
        self._refuse("a reverse")

    def __imul__(self, _):
        self._refuse("a *=")


def _shapes_of(state):
    """`state`'s structure with each tensor's shape in its place."""
    return map_state(state, lambda t: tuple(t.shape))


def _to_dtype(state, dtype: torch.dtype):
    """`state` (a tensor, or a tuple/list/NamedTuple of them) with its floating tensors in `dtype`."""
    return map_state(state, lambda t: t.to(dtype) if t.is_floating_point() else t)
