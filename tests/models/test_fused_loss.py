"""The output layer + cross-entropy in one autograd step, against its twin F.cross_entropy(F.linear(...))."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models import fused_loss
from seqlab.models.fused_loss import MIN_VOCAB, linear_cross_entropy, output_losses, use_fused_loss
from seqlab.models.lm import ModelConfig, build_lm


def _grads(loss_fn, h, W, b, y, g):
    leaves = [t for t in (h, W, b) if t is not None]
    losses = loss_fn(h, W, b, y)
    grads = torch.autograd.grad((losses * g).sum(), leaves)
    return losses.detach(), grads


def _twin(h, W, b, y):
    return F.cross_entropy(F.linear(h, W, b), y, reduction="none")


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("scale", [1.0, 60.0])  # 60: logits in the hundreds, where a naive exp overflows
def test_losses_and_gradients_match_cross_entropy_of_the_linear_layer(with_bias, scale):
    torch.manual_seed(0)
    N, H, V = 37, 12, 501
    h = (torch.randn(N, H) * scale).requires_grad_()
    W = torch.randn(V, H).requires_grad_()
    b = torch.randn(V).requires_grad_() if with_bias else None
    y = torch.randint(0, V, (N,))
    y[:3] = y[3]  # repeated targets in one batch
    g = torch.rand(N) + 0.5  # an upstream gradient that differs per row
    ref_loss, ref_grads = _grads(_twin, h, W, b, y, g)
    loss, grads = _grads(linear_cross_entropy, h, W, b, y, g)
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=1e-4 * scale)
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * scale)


def test_a_second_backward_through_the_reused_buffer_is_refused_with_the_way_out():
    h, W = torch.randn(4, 3, requires_grad=True), torch.randn(7, 3, requires_grad=True)
    loss = linear_cross_entropy(h, W, None, torch.tensor([0, 1, 2, 6])).sum()
    loss.backward(retain_graph=True)
    with pytest.raises(SeqlabError, match="once only.*--no-fast"):
        loss.backward()


def test_second_order_gradients_are_refused_with_the_way_out_and_exact_on_the_plain_path():
    # The hand-written backward is first order: under create_graph=True it used to return a gradient
    # whose graph misses the softmax (its buffer is no function of the weights), silently wrong.
    torch.manual_seed(0)
    h = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    W = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 6])
    loss = linear_cross_entropy(h, W, None, y).sum()
    with pytest.raises(SeqlabError, match=r"second-order.*create_graph=True.*net\.fused_loss = False.*--no-fast"):
        torch.autograd.grad(loss, h, create_graph=True)
    # the plain path (what fused_loss = False / fast=False runs) gives the exact gradient penalty
    linear = nn.Linear(3, 7, bias=False).double()
    with torch.no_grad():
        linear.weight.copy_(W)

    def penalty_grad(loss_fn, weight):
        g, = torch.autograd.grad(loss_fn().sum(), h, create_graph=True)
        return torch.autograd.grad(g.pow(2).sum(), weight)[0]

    got = penalty_grad(lambda: output_losses(h, linear, y, fused=False), linear.weight)
    torch.testing.assert_close(got, penalty_grad(lambda: _twin(h, W, None, y), W))


def test_used_only_for_float32_training_on_the_cpu_over_a_word_vocabulary():
    h, W = torch.randn(2, 3), torch.randn(MIN_VOCAB, 3)
    assert use_fused_loss(h, W)
    assert not use_fused_loss(h, W[:MIN_VOCAB - 1])  # characters: slower than the plain path
    assert not use_fused_loss(h.double(), W.double())
    with torch.no_grad():  # evaluation keeps the logits path
        assert not use_fused_loss(h, W)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not use_fused_loss(h, W)


def _fused_step_in(loss):
    """Whether the fused Function is in loss's graph (loss = its rows' sum)."""
    return any("LinearCrossEntropy" in type(fn).__name__ for fn, _ in loss.grad_fn.next_functions if fn)


def test_output_losses_are_the_cross_entropy_either_way():
    torch.manual_seed(1)
    V = MIN_VOCAB + 7
    linear, h, y = nn.Linear(6, V), torch.randn(9, 6), torch.randint(0, V, (9,))
    want = F.cross_entropy(linear(h), y, reduction="none")
    for fused in (True, False):
        losses = output_losses(h, linear, y, fused=fused)
        assert _fused_step_in(losses.sum()) == fused
        torch.testing.assert_close(losses, want)


@pytest.fixture
def any_vocabulary(monkeypatch):
    monkeypatch.setattr(fused_loss, "MIN_VOCAB", 1)  # small models, the fused path all the same


def _model_and_batch(**model):
    torch.manual_seed(2)
    net = build_lm(ModelConfig(**model), vocab_size=300)
    X, Y = torch.randint(0, 300, (4, 9)), torch.randint(0, 300, (4, 9))
    return net, X, Y


@pytest.mark.parametrize("model", [
    dict(cell="lstm", hidden=16, layers=2, embed=8),                                   # plain, untied
    dict(cell="gru", hidden=16, embed=16, tie_weights=True),                           # plain, tied
    dict(cell="lstm", impl="scratch", hidden=16, embed=8),                             # scratch cells
    dict(cell="lstm", hidden=16, layers=2, embed=8, tie_weights=True, dropout_embed=0.0,
         weight_drop=0.0, dropout_output=0.0, dropout_input=1e-9),                     # AWD model, tied
], ids=["lstm", "gru-tied", "scratch", "awd-tied"])
def test_models_targets_give_the_summed_loss_and_gradients_of_their_logits(model, any_vocabulary):
    net, X, Y = _model_and_batch(**model)
    net.eval()  # no dropout: the two passes see the same network
    logits, state = net(X, net.begin_state(4))
    ref = F.cross_entropy(logits, Y.T.reshape(-1), reduction="sum")
    ref_grads = torch.autograd.grad(ref, list(net.parameters()))
    for fused in (True, False):
        net.fused_loss = fused
        loss, state2 = net(X, net.begin_state(4), targets=Y)
        assert _fused_step_in(loss) == fused
        grads = torch.autograd.grad(loss, list(net.parameters()))
        torch.testing.assert_close(loss, ref)
        for got, want in zip(grads, ref_grads):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(state2, state)


def test_build_lm_turns_the_fused_loss_off_with_fast_false():
    assert build_lm(ModelConfig(embed=8, hidden=8), 50).fused_loss
    assert not build_lm(ModelConfig(embed=8, hidden=8, fast=False), 50).fused_loss


def test_targets_of_another_shape_or_out_of_range_are_refused():
    net, X, Y = _model_and_batch(cell="lstm", hidden=8, embed=8)
    with pytest.raises(SeqlabError, match=r"targets must have the inputs' shape \(B, T\) = \(4, 9\), got \(9, 4\)"):
        net(X, targets=Y.T)
    Y[1, 2] = 300
    with pytest.raises(SeqlabError, match="300"):
        net(X, targets=Y)
    with pytest.raises(SeqlabError, match="the targets must be a torch.Tensor"):  # was an AttributeError
        net(X, targets=Y.tolist())
    with pytest.raises(SeqlabError, match="token ids must be a torch.Tensor"):  # the inputs too
        net(X.tolist())


def test_two_live_graphs_get_two_buffers_so_accumulated_gradients_stay_right():
    # the (N, V) buffer is reused across steps; a second forward before the first backward
    # (gradient accumulation) must not overwrite the first graph's buffer
    torch.manual_seed(3)
    W = torch.randn(50, 6, requires_grad=True)
    h1, h2 = torch.randn(8, 6, requires_grad=True), torch.randn(8, 6, requires_grad=True)
    y1, y2 = torch.randint(0, 50, (8,)), torch.randint(0, 50, (8,))
    want = torch.autograd.grad(_twin(h1, W, None, y1).sum() + 2 * _twin(h2, W, None, y2).sum(), [h1, h2, W])
    got = torch.autograd.grad(linear_cross_entropy(h1, W, None, y1).sum()
                              + 2 * linear_cross_entropy(h2, W, None, y2).sum(), [h1, h2, W])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w)


def test_successive_steps_reuse_one_buffer():
    from seqlab.models import fused_loss

    W = torch.randn(30, 4, requires_grad=True)
    h, y = torch.randn(5, 4, requires_grad=True), torch.randint(0, 30, (5,))
    linear_cross_entropy(h, W, None, y).sum().backward()
    first = fused_loss._WORKSPACES[W].buffer.data_ptr()
    linear_cross_entropy(h, W, None, y).sum()  # a graph dropped without backward frees it too
    linear_cross_entropy(h, W, None, y).sum().backward()
    assert fused_loss._WORKSPACES[W].buffer.data_ptr() == first


def test_the_plain_path_keeps_a_float64_models_precision_and_lifts_half_precision_logits():
    torch.manual_seed(4)
    linear, h, y = nn.Linear(5, 11).double(), torch.randn(6, 5, dtype=torch.float64), torch.randint(0, 11, (6,))
    assert output_losses(h, linear, y).dtype == torch.float64
    torch.testing.assert_close(output_losses(h, linear, y), F.cross_entropy(linear(h), y, reduction="none"),
                               rtol=1e-12, atol=1e-12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert output_losses(h.float(), linear.float(), y).dtype == torch.float32
