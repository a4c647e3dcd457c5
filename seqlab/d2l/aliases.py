"""The book's framework-neutral tensor names (`d2l.zeros`, `d2l.reshape`, `d2l.numpy`, ...).

The book writes its shared cells once for MXNet, PyTorch and TensorFlow through these names (8.1:
`features = d2l.zeros((T - tau, tau))`; 8.3: `yield d2l.tensor(X), d2l.tensor(Y)`); for PyTorch its
`d2l/torch.py` (0.17.6) binds them to torch at module level. Here they are the same bindings, same
list, same semantics, with one difference: `numpy` also copies a CUDA tensor to the CPU (the book's
`x.detach().numpy()` raises on one).
"""

import torch

__all__ = ["ones", "zeros", "tensor", "arange", "meshgrid", "sin", "sinh", "cos", "cosh", "tanh", "linspace", "exp",
           "log", "normal", "rand", "matmul", "int32", "float32", "concat", "stack", "abs", "eye", "numpy", "size",
           "reshape", "to", "reduce_sum", "argmax", "astype", "transpose"]

ones = torch.ones
zeros = torch.zeros
tensor = torch.tensor
arange = torch.arange
meshgrid = torch.meshgrid
sin = torch.sin
sinh = torch.sinh
cos = torch.cos
cosh = torch.cosh
tanh = torch.tanh
linspace = torch.linspace
exp = torch.exp
log = torch.log
normal = torch.normal
rand = torch.rand
matmul = torch.matmul
int32 = torch.int32
float32 = torch.float32
concat = torch.cat
stack = torch.stack
abs = torch.abs  # the book's name; shadows the builtin only inside this module
eye = torch.eye


def numpy(x: torch.Tensor, *args, **kwargs):
    """A NumPy array of `x`'s values, also when `x` requires grad or is on a GPU."""
    return x.detach().cpu().numpy(*args, **kwargs)


def size(x: torch.Tensor, *args, **kwargs) -> int:
    """The number of elements of `x` (`x.numel()`)."""
    return x.numel(*args, **kwargs)


def reshape(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return x.reshape(*args, **kwargs)


def to(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return x.to(*args, **kwargs)


def reduce_sum(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """`x.sum(...)`: over all elements, or along the given axis (`d2l.reduce_sum(x, 1)`, `axis=1`)."""
    return x.sum(*args, **kwargs)


def argmax(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return x.argmax(*args, **kwargs)


def astype(x: torch.Tensor, *args, **kwargs):
    """`x.type(dtype)`: `x` converted to `dtype` (`d2l.astype(mask, d2l.int32)`)."""
    return x.type(*args, **kwargs)


def transpose(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """`x.t()`: the transpose of a matrix (a tensor of at most 2 dimensions, like the book's)."""
    return x.t(*args, **kwargs)
