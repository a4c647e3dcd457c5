"""The LMs through PyTorch's deploy tools: torch.func.functional_call and load_state_dict(assign=True)
on the book's RNNModelScratch, dynamic int8 quantization, the legacy ONNX exporter's positional call."""

import copy
import warnings

import pytest
import torch
from torch import nn
from torch.func import functional_call

from seqlab.generation.sampling import generate_ids
from seqlab.models.cells_book import get_lstm_params, get_params, init_lstm_state, init_rnn_state, lstm, rnn
from seqlab.models.lm import ModelConfig, RNNModelScratch, build_lm

V = 13


def _scratch(seed=0, lstm_cell=False):
    torch.manual_seed(seed)
    if lstm_cell:
        return RNNModelScratch(V, 8, "cpu", get_lstm_params, init_lstm_state, lstm)
    return RNNModelScratch(V, 8, "cpu", get_params, init_rnn_state, rnn)


def _ids(B=2, T=5, seed=1):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


# --- the book's RNNModelScratch reads its weights through the module ---

def test_book_scratch_forward_runs_on_functional_call_weights():
    # was: forward read a list kept from __init__, so the zero weights were ignored (|logit| 1e-3)
    net = _scratch()
    X = _ids()
    zeros = {name: torch.zeros_like(p) for name, p in net.named_parameters()}
    out, (H,) = functional_call(net, zeros, (X, net.begin_state(2)))
    assert torch.equal(out, torch.zeros(5 * 2, V)) and torch.equal(H, torch.zeros(2, 8))
    assert net(X)[0].abs().max() > 0  # the module's own weights are back after the call


def test_book_scratch_load_state_dict_assign_takes_effect():
    src, dst = _scratch(0), _scratch(1)
    X = _ids()
    dst.load_state_dict(copy.deepcopy(src.state_dict()), assign=True)
    torch.testing.assert_close(dst(X)[0], src(X)[0])  # was: dst's old outputs, silently


def test_book_scratch_params_are_the_registered_parameters_in_the_books_order():
    net = _scratch(lstm_cell=True)
    assert len(net.params) == 14  # (W_x*, W_h*, b_*) x 4 gates, W_hq, b_q
    assert all(a is b for a, b in zip(net.params, net.parameters()))
    W_xi = net.params[0]
    with torch.no_grad():  # the book's sgd(net.params, ...) updates the model in place
        for p in net.params:
            p -= 1.0
    assert net.params[0] is W_xi and torch.equal(net._plist[0], W_xi)
    net.params = [p.detach() * 0 for p in net.params]  # (the book's plain attribute could be assigned)
    assert all(isinstance(p, nn.Parameter) and not p.any() for p in net.parameters())
    assert not net(_ids())[0].any()


@pytest.mark.parametrize("lstm_cell", [False, True], ids=["rnn", "lstm"])
def test_book_scratch_in_float64(lstm_cell):
    # was: begin_state's float32 zeros, and forward failed in the first matmul
    net = _scratch(lstm_cell=lstm_cell)
    X = _ids()
    want, _ = net(X)
    double = copy.deepcopy(net).double()
    assert all(s.dtype == torch.float64 for s in double.begin_state(2))
    got, state = double(X)
    assert got.dtype == torch.float64 and all(s.dtype == torch.float64 for s in state)
    torch.testing.assert_close(got.float(), want, rtol=1e-5, atol=1e-5)
    got2, _ = double(X, double.begin_state(batch_size=2, device="cpu"))
    torch.testing.assert_close(got2, got)


# --- dynamic int8 quantization (the PyTorch tutorial's deploy step for an LSTM LM) ---

_CONFIGS = {
    "embedding": ModelConfig(cell="lstm", hidden=16, embed=8),
    "one-hot": ModelConfig(cell="lstm", hidden=16, layers=2),
    "regularized": ModelConfig(cell="lstm", hidden=16, embed=8, dropout_input=0.1),
    "tied": ModelConfig(cell="lstm", hidden=16, embed=16, tie_weights=True),
}


def _quantized(net):
    with warnings.catch_warnings():  # (torch.ao.quantization's deprecation notices)
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(net), {nn.LSTM, nn.Linear}, dtype=torch.qint8)


@pytest.mark.parametrize("name", list(_CONFIGS))
def test_dynamically_quantized_lm_runs_and_stays_close(name):
    # was: AttributeError ('function' object has no attribute 'device'/'dtype'): a quantized
    # Linear's .weight is a method; begin_state, forward(X, state) and generation all read it
    torch.manual_seed(0)
    net = build_lm(_CONFIGS[name], V).eval()
    q = _quantized(net)
    assert not isinstance(q.linear, nn.Linear)  # (it was quantized)
    X, Y = _ids(seed=1), _ids(seed=2)
    state = q.begin_state(2)
    assert all(t.dtype == torch.float32 for t in (state if isinstance(state, tuple) else state[0]))
    with torch.no_grad():
        want, _ = net(X, net.begin_state(2))
        got, _ = q(X, state)
        loss, _ = q(X, q.begin_state(2), targets=Y)  # a quantized model's perplexity (the fused step skipped)
        want_loss, _ = net(X, net.begin_state(2), targets=Y)
    torch.testing.assert_close(got, want, rtol=0, atol=0.05)  # int8 weights' error
    torch.testing.assert_close(loss, want_loss, rtol=0.02, atol=0)
    ids = generate_ids(q, [1, 2, 3], 6)
    assert len(ids) == 9 and all(0 <= i < V for i in ids)


def test_float_like_buffer_follows_the_weights_and_stays_out_of_checkpoints():
    torch.manual_seed(0)
    for config in (_CONFIGS["one-hot"], _CONFIGS["regularized"]):
        net = build_lm(config, V).eval()
        keys = list(net.state_dict())
        assert not any("float_like" in k for k in keys)
        fresh = build_lm(config, V)
        fresh.load_state_dict(net.state_dict())  # strict: the keys of existing checkpoints
        double = copy.deepcopy(net).double()
        state = double.begin_state(2)
        assert (state[0] if isinstance(state, tuple) else state[0][0]).dtype == torch.float64
        torch.testing.assert_close(double(_ids(), state)[0].float(), net(_ids())[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["one-hot", "regularized"])
def test_the_state_follows_weights_swapped_in_without_moving_the_buffer(name):
    # load_state_dict(assign=True) and functional_call replace the weights, not the _float_like
    # buffer: the state and one-hot input must take the weights' dtype (read from the buffer alone,
    # a float64 state_dict assigned in gave "RNN input dtype (torch.float32) does not match ...")
    torch.manual_seed(0)
    net = build_lm(_CONFIGS[name], V).eval()
    want = net(_ids())[0]
    double = {k: v.double() for k, v in net.state_dict().items()}
    net.load_state_dict(double, assign=True)
    got, _ = net(_ids(), net.begin_state(2))
    assert got.dtype == torch.float64
    torch.testing.assert_close(got.float(), want, rtol=1e-4, atol=1e-5)


def test_book_scratch_begin_state_keeps_a_namedtuple_state():
    # an init_state returning a NamedTuple came back as S(h=<generator>) (one field) or a TypeError
    from typing import NamedTuple

    class S(NamedTuple):
        h: torch.Tensor
        c: torch.Tensor

    def init_state(batch_size, num_hiddens, device):
        return S(torch.zeros(batch_size, num_hiddens, device=device), torch.zeros(batch_size, num_hiddens, device=device))

    def cell(inputs, state, params):
        outputs, (h, c) = lstm(inputs, tuple(state), params)
        return outputs, S(h, c)

    torch.manual_seed(0)
    net = RNNModelScratch(V, 8, "cpu", get_lstm_params, init_state, cell).double()
    state = net.begin_state(2)
    assert isinstance(state, S) and state.h.dtype == torch.float64 and state.c.shape == (2, 8)
    assert net(_ids(), state)[0].shape == (2 * 5, V)


# --- targets positional-or-keyword (the legacy ONNX exporter passes defaults positionally) ---

@pytest.mark.parametrize("name", ["embedding", "regularized"])
def test_targets_may_come_third_positionally(name):
    torch.manual_seed(0)
    net = build_lm(_CONFIGS[name], V).eval()
    X, Y = _ids(seed=1), _ids(seed=2)
    want, _ = net(X, net.begin_state(2), targets=Y)
    got, _ = net(X, net.begin_state(2), Y)  # was TypeError: takes from 2 to 3 positional arguments
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    got, _ = net(X, None, Y)
    torch.testing.assert_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["embedding", "one-hot", "regularized"])
def test_legacy_onnx_export(name, tmp_path):
    pytest.importorskip("onnx")  # (not a seqlab dependency: the test runs where it is installed)
    torch.manual_seed(0)
    net = build_lm(_CONFIGS[name], V).eval()
    X, state = _ids(), net.begin_state(2)
    path = tmp_path / "lm.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (X, state), str(path), dynamo=False)  # was TypeError (targets keyword-only)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path))
    flat = [X] + [t for s in (state if isinstance(state, list) else [state]) for t in s]
    got = session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(), flat)})[0]
    with torch.no_grad():
        want = net(X, state)[0].numpy()
    assert abs(got - want).max() < 1e-5
