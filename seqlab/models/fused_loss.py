"""The output layer and its cross-entropy as one autograd step, for large vocabularies.

A word LM's training step spends most of its time in the (N, H) x (H, V) output layer and
in what `F.cross_entropy` does with its (N, V) logits: a log-softmax written to a new
(N, V) tensor, then in backward an (N, V) buffer of zeros for the NLL gradient, its
scatter, and the log-softmax backward reading two (N, V) tensors to write a third.
Here one buffer serves for everything, and is kept from step to step (`_Workspace`):

    forward   z = h W^T + b                          (N, V)  the kept buffer
              e = exp(z - max z) in place, s = sum e  lse = max z + log s
              loss_i = lse_i - z_i[y_i]              (N,)
    backward  p = e * (g / s) in place               = softmax(z) * g
              p[i, y_i] -= g_i                       = d loss / d z
              dh = p W,  dW = p^T h,  db = sum_i p   (the same three products as autograd's)

The gradient is the same as autograd's through `F.cross_entropy(F.linear(h, W, b), y)` up
to float rounding (tests/models/test_fused_loss.py checks it against that twin). On the
2-core CPU (benchmarks/RESULTS.md) a whole WikiText-2 training step runs 1.50x (2x200 LSTM)
and 1.20x (2x650) the same step through the logits and `F.cross_entropy`.

Used by the LMs' `forward(X, state, targets=Y)` and the translation decoders'
`forward(X, state, targets=Y)` on the CPU in float32 for word-level
vocabularies (`use_fused_loss`; a character model's 28-66 logits gain nothing from it).
On CUDA the training step runs under bf16 autocast, where `F.cross_entropy` keeps its
float32 softmax; this path is not used there until a GPU measurement says it pays.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F
from torch.utils.weak import WeakIdKeyDictionary

from seqlab.errors import SeqlabError
from seqlab.models.fast_cells import first_order_only
from seqlab.torch_compat import autocast_enabled, plain_autograd_only


class _Workspace:
    """The (N, V) buffer of one output layer, reused by its successive training steps.

    A fresh 93 MB tensor (WikiText-2, batch 20 x 35) costs ~30 ms of page faults per step on the
    CPU, a tenth of the step. The buffer is lent to one forward at a time: while the tensor lent
    is alive (its backward has not run, e.g. gradients accumulated over two forwards) the next
    forward gets a fresh tensor, so nothing is ever overwritten under a live graph.
    """

    def __init__(self):
        self.buffer: torch.Tensor | None = None
        self.lent: weakref.ref | None = None

    def take(self, rows: int, cols: int, like: torch.Tensor) -> torch.Tensor:
        busy = self.lent is not None and self.lent() is not None
        if busy:
            return like.new_empty(rows, cols)
        if (self.buffer is None or self.buffer.numel() < rows * cols or self.buffer.dtype != like.dtype
                or self.buffer.device != like.device):
            self.buffer = like.new_empty(rows * cols)
        view = self.buffer[:rows * cols].view(rows, cols)
        self.lent = weakref.ref(view)
        return view


_WORKSPACES = WeakIdKeyDictionary()  # output weight -> its _Workspace, dropped with the weight


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, targets):
        workspace = _WORKSPACES.setdefault(weight, _Workspace())
        z = workspace.take(hidden.shape[0], weight.shape[0], hidden)  # (N, V)
        torch.mm(hidden, weight.t(), out=z)  # addmm's bias copy costs more than the add_ below
        if bias is not None:
            z.add_(bias)
        target_logit = z.gather(1, targets[:, None]).squeeze(1)  # (N,)
        m = z.amax(1, keepdim=True)  # (N, 1)
        e = z.sub_(m).exp_()  # (N, V): z's buffer now holds exp(z - m)
        s = e.sum(1)  # (N,)
        loss = m.squeeze(1) + s.log() - target_logit
        ctx.save_for_backward(hidden, weight, targets, s)
        ctx.e, ctx.has_bias = e, bias is not None
        return loss

    @staticmethod
    @first_order_only(  # (p below is a buffer, not a function of the weights)
        "the fused output-layer loss", "net.fused_loss = False (or build the model with fast=False: "
        "ModelConfig(fast=False), build_seq2seq(..., fast=False), --no-fast)",
        "the plain logits + F.cross_entropy give")
    def backward(ctx, grad):
        if ctx.e is None:
            raise SeqlabError("the fused output-layer loss reuses its buffer in backward, so it can be "
                              "differentiated once only: for retain_graph=True build the model with "
                              "fast=False (--no-fast)")
        hidden, weight, targets, s = ctx.saved_tensors
        p, ctx.e = ctx.e, None
        p.mul_((grad / s)[:, None])  # softmax(z) * g
        rows = torch.arange(p.shape[0], device=p.device)
        p[rows, targets] -= grad
        d_hidden = torch.mm(p, weight) if ctx.needs_input_grad[0] else None
        d_weight = torch.mm(p.t(), hidden) if ctx.needs_input_grad[1] else None
        d_bias = p.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return d_hidden, d_weight, d_bias, None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                         targets: torch.Tensor) -> torch.Tensor:
    """Per-row losses `F.cross_entropy(F.linear(hidden, weight, bias), targets, reduction="none")`.

    hidden (N, H), weight (V, H), bias (V,) or None, targets (N,) ids; returns (N,).
    """
    return _LinearCrossEntropy.apply(hidden, weight, bias, targets.long())


# Output layer + loss, forward and backward, 2-core CPU (benchmarks/fused_loss_speed.py, RESULTS.md):
# the fused step is 0.88x / 0.96x the plain one at V = 28 / 66 (a few small kernels more), ~1.0x at
# 256, 1.16x at 1,000, ~1.0-1.1x at 4,000-10,000 (below ~32 MB of logits glibc reuses freed memory
# and the plain path's extra passes cost less), 1.59x at 33,278 (WikiText-2).
MIN_VOCAB = 1000


def use_fused_loss(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> bool:
    """The fused loss where it is measured to pay: float32 on the CPU, a word-level vocabulary
    (>= MIN_VOCAB), with a gradient to take. Not under torch.compile (inductor fuses F.cross_entropy
    itself), torch.jit.trace (it records the Function as a Python call, which torch.jit.save cannot
    write, and the vocabulary's size compared here gave a TracerWarning), a torch.func transform
    (grad, vmap: it refuses an autograd.Function without setup_context) or forward-mode AD's dual
    tensors (the Function has no jvp)."""
    if plain_autograd_only(hidden, weight, bias):
        return False
    return (weight.shape[0] >= MIN_VOCAB and hidden.device.type == "cpu"
            and hidden.dtype == weight.dtype == torch.float32
            and torch.is_grad_enabled() and not autocast_enabled("cpu"))


def output_losses(hidden: torch.Tensor, linear: torch.nn.Linear, targets: torch.Tensor, *,
                  fused: bool = True) -> torch.Tensor:
    """Per-row cross-entropy (N,) of `linear(hidden)` against `targets`: the models' training loss.

    hidden (N, H) rows in the order of targets (N,). `fused`: the one-step path above where
    `use_fused_loss` allows it; otherwise the logits and `F.cross_entropy` (in float32 when the
    logits come out of bf16/fp16 autocast, in float64 for a float64 model).
    """
    targets = targets.reshape(-1).long()
    if fused and use_fused_loss(hidden, linear.weight, linear.bias):
        return linear_cross_entropy(hidden, linear.weight, linear.bias, targets)
    logits = linear(hidden)
    if logits.dtype in (torch.bfloat16, torch.float16):  # autocast's: the softmax in float32
        logits = logits.float()  # (float64 models keep theirs)
    return F.cross_entropy(logits, targets, reduction="none")
