"""The fast recurrences (fast_cells.py) against the plain autograd loop, in float64.

Each case copies one model, runs it with `fast` on and off on the same inputs and
initial state, and compares outputs, final state and the gradients of the inputs, the
initial state and every parameter, under a loss that weights every output differently
and also reads the final state (so the dh_T / dc_T paths of the backward are exercised).
"""

import copy

import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import SeqlabError
from seqlab.models.cells import GRUCell, LSTMCell, PeepholeLSTMCell, RNNCell
from seqlab.models.fast_cells import lstm_cell_states
from seqlab.models.lm import ModelConfig, build_lm
from seqlab.models.recurrent import ScratchRNN

T, B, D, H = 6, 3, 5, 4
TOL = dict(rtol=1e-10, atol=1e-12)


def _as_tuple(s):
    return s if isinstance(s, tuple) else (s,)


def _run(net, X, state):
    X = X.clone().requires_grad_()
    state = tuple(s.clone().requires_grad_() for s in _as_tuple(state))
    y, s = net(X, state if len(state) == 2 else state[0])
    w = torch.linspace(-1, 2, y.numel(), dtype=torch.float64, device=y.device).view_as(y)
    loss = (y * w).sum() + sum(((k + 1.5) * t ** 2).sum() for k, t in enumerate(_as_tuple(s)))
    loss.backward()
    return y, _as_tuple(s), X.grad, [t.grad for t in state], {n: p.grad for n, p in net.named_parameters()}


CELLS = [
    ("rnn-tanh", lambda: RNNCell(D, H, dtype=torch.float64)),
    ("rnn-relu", lambda: RNNCell(D, H, nonlinearity="relu", dtype=torch.float64)),
    ("gru", lambda: GRUCell(D, H, dtype=torch.float64)),
    ("lstm", lambda: LSTMCell(D, H, dtype=torch.float64)),
]


def _plain_and_fast(make):
    """One cell twice (the same weights): the plain loop and the fast path; and an input."""
    torch.manual_seed(0)
    plain = make()
    plain.fast = False
    fast = copy.deepcopy(plain)
    fast.fast = True
    return plain, fast, torch.randn(T, B, D, dtype=torch.float64)


def _check_fast_equals_plain(make, device="cpu"):
    plain, fast, X = _plain_and_fast(make)
    plain, fast, X = plain.to(device), fast.to(device), X.to(device)
    g = torch.Generator().manual_seed(3)
    state = torch.randn(B, H, dtype=torch.float64, generator=g).to(device)
    if plain.has_cell:
        state = (state, torch.randn(B, H, dtype=torch.float64, generator=g).to(device))
    got, want = _run(fast, X, state), _run(plain, X, state)
    torch.testing.assert_close(got[0], want[0], **TOL)  # outputs
    for a, b in zip(got[1], want[1]):  # final state
        torch.testing.assert_close(a, b, **TOL)
    torch.testing.assert_close(got[2], want[2], **TOL)  # d inputs
    for a, b in zip(got[3], want[3]):  # d initial state
        torch.testing.assert_close(a, b, **TOL)
    assert got[4].keys() == want[4].keys()
    for k in want[4]:  # d every weight
        torch.testing.assert_close(got[4][k], want[4][k], **TOL, msg=f"gradient of {k}")


@pytest.mark.parametrize("name, make", CELLS, ids=[c[0] for c in CELLS])
def test_fast_recurrence_equals_plain_loop(name, make):
    _check_fast_equals_plain(make)


def test_lstm_cell_states_are_the_plain_loops_with_their_gradients():
    # the packed layer reads each row's final cell state from every step's (lstm_cell_states): those
    # states and the gradient through them (weighted per place, so a step off or a lost dC_t tells)
    plain, fast, X = _plain_and_fast(lambda: LSTMCell(D, H, dtype=torch.float64))
    g = torch.Generator().manual_seed(3)
    state = tuple(torch.randn(B, H, dtype=torch.float64, generator=g) for _ in range(2))
    results = []
    for cell in (plain, fast):
        x, s = X.clone().requires_grad_(), tuple(t.clone().requires_grad_() for t in state)
        if cell is plain:  # step by step: every step's cell state
            ys, cs, running = [], [], s
            for xw in cell.project(x).unbind(0):
                h, running = cell.recur(xw, running)
                ys.append(h)
                cs.append(running[1])
            Y, Cs = torch.stack(ys), torch.stack(cs)
        else:
            Y, Cs = lstm_cell_states(cell, cell.project(x), s)
        w = torch.linspace(-1, 2, Cs.numel(), dtype=torch.float64).view_as(Cs)
        ((Cs * w).sum() + (Y * w.flip(0)).sum()).backward()
        results.append((Y.detach(), Cs.detach(), x.grad, *(t.grad for t in s), cell.W_x.grad, cell.W_h.grad, cell.b.grad))
    for got, want in zip(results[1], results[0]):
        torch.testing.assert_close(got, want, **TOL)


@pytest.mark.gpu
@pytest.mark.parametrize("name, make", CELLS, ids=[c[0] for c in CELLS])
def test_fast_recurrence_equals_plain_loop_on_cuda(name, make):
    # the CUDA branches of fast_cells (addmm on a non-contiguous W_h^T, tanh kept as tanh)
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    _check_fast_equals_plain(make, "cuda")


def test_fast_path_is_really_taken_and_can_be_turned_off(monkeypatch):
    # A test of the switch, not of the maths: with fast on, the plain per-step `recur` is never called.
    cell = LSTMCell(D, H, dtype=torch.float64)
    calls = []
    monkeypatch.setattr(LSTMCell, "recur", lambda self, xw, s: calls.append(1) or (s[0], s))
    cell(torch.randn(T, B, D, dtype=torch.float64))
    assert calls == []
    cell.fast = False
    cell(torch.randn(T, B, D, dtype=torch.float64))
    assert len(calls) == T


def test_cells_without_a_fast_path_run_the_plain_loop():
    # the book's reset-before GRU and the peephole LSTM: fast is on but the result is the plain loop's
    torch.manual_seed(0)
    for make in (lambda: GRUCell(D, H, reset_after=False, dtype=torch.float64),
                 lambda: PeepholeLSTMCell(D, H, dtype=torch.float64)):
        cell = make()
        X = torch.randn(T, B, D, dtype=torch.float64)
        y_fast, _ = cell(X)
        cell.fast = False
        y_plain, _ = cell(X)
        torch.testing.assert_close(y_fast, y_plain, rtol=0, atol=0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_deep_bidirectional_stack_fast_equals_plain(cell):
    torch.manual_seed(0)
    plain = ScratchRNN(cell, D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    plain.fast = False
    fast = copy.deepcopy(plain)
    fast.fast = True
    assert fast.fast and not plain.fast
    X = torch.randn(T, B, D, dtype=torch.float64)
    state = plain.begin_state(B)
    got, want = _run(fast, X, state), _run(plain, X, state)
    torch.testing.assert_close(got[0], want[0], **TOL)
    torch.testing.assert_close(got[2], want[2], **TOL)
    for k in want[4]:
        torch.testing.assert_close(got[4][k], want[4][k], **TOL, msg=f"gradient of {k}")


def test_token_ids_are_the_one_hot_input():
    # project(ids) == one_hot(ids) @ W_x + b, values and gradients (the embedding-lookup fast path)
    torch.manual_seed(0)
    V = 7
    cell = LSTMCell(V, H, dtype=torch.float64)
    ids = torch.randint(0, V, (T, B))
    a = cell.project(ids)
    b = cell.project(F.one_hot(ids, V).double())
    torch.testing.assert_close(a, b, rtol=0, atol=1e-15)
    (a * torch.arange(a.numel(), dtype=torch.float64).view_as(a)).sum().backward()
    ga = cell.W_x.grad.clone()
    cell.W_x.grad = None
    (b * torch.arange(b.numel(), dtype=torch.float64).view_as(b)).sum().backward()
    torch.testing.assert_close(ga, cell.W_x.grad, **TOL)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "peephole"])
def test_language_model_fast_equals_no_fast(cell):
    # the whole LM (ids -> lookup -> fast recurrence -> logits) vs --no-fast (one-hot, plain loop)
    torch.manual_seed(0)
    V = 11
    fast = build_lm(ModelConfig(cell=cell, impl="scratch", hidden=H, layers=2), V).double()
    plain = build_lm(ModelConfig(cell=cell, impl="scratch", hidden=H, layers=2, fast=False), V).double()
    plain.load_state_dict(fast.state_dict())
    assert fast.rnn.fast and not plain.rnn.fast
    X = torch.randint(0, V, (B, T))
    Y = torch.randint(0, V, (B, T))
    for net in (fast, plain):
        logits, _ = net(X, net.begin_state(B))
        F.cross_entropy(logits, Y.T.reshape(-1)).backward()
    torch.testing.assert_close(fast(X, fast.begin_state(B))[0], plain(X, plain.begin_state(B))[0], **TOL)
    for (n, p), q in zip(fast.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, **TOL, msg=f"gradient of {n}")


def test_fast_path_under_no_grad_matches_and_keeps_no_graph():
    torch.manual_seed(0)
    cell = GRUCell(D, H, dtype=torch.float64)
    X = torch.randn(T, B, D, dtype=torch.float64)
    with torch.no_grad():
        y, h = cell(X)
    assert not y.requires_grad
    cell.fast = False
    with torch.no_grad():
        y2, h2 = cell(X)
    torch.testing.assert_close(y, y2, **TOL)
    torch.testing.assert_close(h, h2, **TOL)


@pytest.mark.parametrize("name, make", CELLS, ids=[c[0] for c in CELLS])
def test_float32_cpu_products_agree_with_float64_plain_loop(name, make, monkeypatch):
    # float32 on the CPU takes step_products' oneDNN or MKL packed-weight products (float64 above never
    # does): compare each, and addmm's, with the float64 plain loop at float32 accuracy.
    from seqlab.models import step_products

    torch.manual_seed(0)
    ref = make()
    ref.fast = False
    f32 = copy.deepcopy(ref).float()
    f32.fast = True
    X = torch.randn(T, B, D, dtype=torch.float64)
    state = torch.randn(B, H, dtype=torch.float64)
    if ref.has_cell:
        state = (state, torch.randn(B, H, dtype=torch.float64))
    want = _run(ref, X, state)
    for onednn, mkl in ((True, False), (False, True), (False, False)):
        if mkl and not step_products._mkl_packed_works():
            continue  # (a build without MKL: its fallback is the addmm case)
        monkeypatch.setattr(step_products, "ONEDNN", onednn)
        monkeypatch.setattr(step_products, "MKL_PACKED", mkl)
        got = _run(f32, X.float(), tuple(s.float() for s in _as_tuple(state)))
        tol = dict(rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(got[0].double(), want[0], **tol)
        torch.testing.assert_close(got[2].double(), want[2], **tol)
        for k in want[4]:
            torch.testing.assert_close(got[4][k].double(), want[4][k], **tol, msg=f"gradient of {k}")
        f32.zero_grad()


@pytest.mark.parametrize("capability, vendor, expected", [
    ("AVX512", "AuthenticAMD", True), ("AVX512_VNNI", "AuthenticAMD", True), ("AVX2", "AuthenticAMD", False),
    ("DEFAULT", "AuthenticAMD", False), ("AVX512", "GenuineIntel", False), ("AVX512", "", False)])
def test_onednn_products_by_default_only_on_avx512_amd(capability, vendor, expected, monkeypatch):
    # oneDNN's step products are twice MKL's speed on an AMD CPU with AVX-512, slower with AVX2 alone,
    # and slower on an Intel CPU with AVX-512, where MKL has its own fast paths (benchmarks/RESULTS.md)
    from seqlab.models import step_products

    if not step_products._onednn_works():
        pytest.skip("this PyTorch build has no oneDNN linear kernel")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(step_products, "cpu_vendor", lambda: vendor)
    monkeypatch.setattr(step_products, "_ONEDNN_PAYS", step_products._onednn_pays())  # read once at import
    w = torch.zeros(3, 4)
    assert step_products._use_onednn(w) is expected
    monkeypatch.setattr(step_products, "ONEDNN", True)  # forced on, whatever the CPU
    assert step_products._use_onednn(w)
    monkeypatch.setattr(step_products, "ONEDNN", False)
    assert not step_products._use_onednn(w)
    assert not step_products._use_onednn(w.double())


@pytest.mark.parametrize("capability, vendor, expected", [
    ("AVX512", "GenuineIntel", True), ("AVX512_VNNI", "GenuineIntel", True), ("AVX2", "GenuineIntel", False),
    ("AVX512", "AuthenticAMD", False), ("AVX512", "", False)])
def test_mkl_packed_products_by_default_only_on_avx512_intel(capability, vendor, expected, monkeypatch):
    # MKL's packed-weight sgemm beats addmm on an Intel CPU with AVX-512 (benchmarks/RESULTS.md); the
    # step products take it there, unless oneDNN's are forced, and never for float64 or under a tracer
    from seqlab.models import step_products

    if not step_products._mkl_packed_works():
        pytest.skip("this PyTorch build has no MKL packed-weight linear kernel")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(step_products, "cpu_vendor", lambda: vendor)
    monkeypatch.setattr(step_products, "_MKL_PACKED_PAYS", step_products._mkl_packed_pays())  # read once at import
    w = torch.zeros(3, 4)
    assert step_products._use_mkl_packed(w) is expected
    monkeypatch.setattr(step_products, "MKL_PACKED", True)
    assert step_products._use_mkl_packed(w) and not step_products._use_mkl_packed(w.double())
    monkeypatch.setattr(step_products, "MKL_PACKED", False)
    assert not step_products._use_mkl_packed(w)


def test_cpu_vendor_reads_linux_cpuinfo_and_windows_processor_text(tmp_path, monkeypatch):
    from seqlab.models import step_products

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\n")
    real_open = open
    monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(info if path == "/proc/cpuinfo" else path,
                                                                         *a, **k))
    assert step_products.cpu_vendor() == "AuthenticAMD"
    info.unlink()  # no /proc (Windows, macOS): the processor's text
    monkeypatch.setattr(step_products.platform, "processor",
                        lambda: "Intel64 Family 6 Model 143 Stepping 8, GenuineIntel")
    assert step_products.cpu_vendor() == "GenuineIntel"
    monkeypatch.setattr(step_products.platform, "processor", lambda: "arm")
    assert step_products.cpu_vendor() == ""


@pytest.mark.parametrize("name, make", CELLS, ids=[c[0] for c in CELLS])
def test_detached_initial_state_skips_its_gradient_product(name, make, monkeypatch):
    # A carried state is detached, so the backward needs no dh_0 = dGates_0 @ W_h^T: it runs T - 1
    # step products, not T, and every other gradient equals the plain loop's.
    from seqlab.models import fast_cells

    calls = {"n": 0}
    real = fast_cells._stepper

    def counting(*args, **kwargs):
        f = real(*args, **kwargs)

        def g(*args, **kwargs):
            calls["n"] += 1
            return f(*args, **kwargs)
        return g

    plain, fast, X = _plain_and_fast(make)
    state = plain.begin_state(B, dtype=torch.float64)  # zeros, no grad: what training passes
    grads = []
    for net in (plain, fast):
        x = X.clone().requires_grad_()
        y, _ = net(x, state)
        w = torch.linspace(-1, 2, y.numel(), dtype=torch.float64).view_as(y)
        monkeypatch.setattr(fast_cells, "_stepper", counting)
        (y * w).sum().backward()
        monkeypatch.setattr(fast_cells, "_stepper", real)
        grads.append([x.grad, *(p.grad for p in net.parameters())])
    assert calls["n"] == T - 1
    for a, b in zip(*grads):
        torch.testing.assert_close(b, a, **TOL)


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 3e-7), (torch.float64, 1e-15)])
def test_cpu_tanh_as_doubled_sigmoid_is_tanh_to_rounding(dtype, tol):
    # On a CPU the fast RNN computes tanh(p) as 2 sigmoid(2p) - 1 (half the cost); it must stay
    # tanh up to rounding across the whole range: tiny, ordinary, saturated and infinite p.
    from seqlab.models.fast_cells import _RNNRecurrence

    p = torch.tensor([0.0, 1e-30, -1e-8, 1e-4, -0.3, 0.5, 2.0, -7.0, 9.0, 20.0, -45.0, 1e4, 3e38,
                      float("inf"), float("-inf")], dtype=dtype)
    XW = p.view(-1, 1, 1)  # T steps, batch 1, one unit; W_h = 0: the pre-activation is XW itself
    Y, _ = _RNNRecurrence.apply(XW, torch.zeros(1, 1, dtype=dtype), torch.zeros(1, 1, dtype=dtype), False)
    torch.testing.assert_close(Y.flatten(), torch.tanh(p), rtol=0, atol=tol)


def test_bf16_cpu_rnn_keeps_tanh_near_zero():
    # 2 sigmoid(2p) - 1 in bf16 would round every |p| < 2e-3 to a multiple of 2^-8: bf16 keeps tanh.
    from seqlab.models.fast_cells import _RNNRecurrence

    p = torch.tensor([1e-3, -4e-4, 2e-5, 0.01], dtype=torch.bfloat16)
    z = torch.zeros(1, 1, dtype=torch.bfloat16)
    Y, _ = _RNNRecurrence.apply(p.view(-1, 1, 1), z, z, False)
    assert torch.equal(Y.flatten(), torch.tanh(p))


@pytest.mark.parametrize("name, make", CELLS, ids=[c[0] for c in CELLS])
def test_second_order_gradients_through_the_fast_path_are_refused_with_the_way_out(name, make):
    # The hand-written backward is first order: under create_graph=True its result used to miss the
    # recurrence (W_h's second-order gradient None, W_x's wrong), silently.
    torch.manual_seed(0)
    cell = make()
    X = torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    y, _ = cell(X)
    with pytest.raises(SeqlabError, match=r"second-order.*create_graph=True.*net\.fast = False"):
        torch.autograd.grad(y.pow(2).sum(), X, create_graph=True)
    y, _ = ScratchRNN(name.split("-")[0], D, H, dtype=torch.float64)(X)  # the stack too
    with pytest.raises(SeqlabError, match="second-order"):
        torch.autograd.grad(y.pow(2).sum(), X, create_graph=True)
    y, _ = cell(X)  # first-order gradients are unchanged
    torch.autograd.grad(y.pow(2).sum(), X)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_second_order_gradients_with_fast_off_equal_the_fused_layers(cell):
    # The plain autograd loop (fast = False) gives exact higher-order gradients: a gradient penalty's
    # gradient equals nn.RNN/GRU/LSTM's, weight by weight (float64), and gradgradcheck passes.
    torch.manual_seed(0)
    fused = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](3, H).double()
    scratch = ScratchRNN.from_fused(fused)
    scratch.fast = False
    X = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)

    def penalty_grads(net, weights):
        y, _ = net(X)
        g, = torch.autograd.grad(y.pow(2).sum(), X, create_graph=True)
        return torch.autograd.grad(g.pow(2).sum(), weights)

    c = scratch.cells[0]
    got = penalty_grads(scratch, [c.W_x, c.W_h])
    want = penalty_grads(fused, [fused.weight_ih_l0, fused.weight_hh_l0])
    torch.testing.assert_close(got[0], want[0].T, **TOL)
    torch.testing.assert_close(got[1], want[1].T, **TOL)
    assert torch.autograd.gradgradcheck(lambda x: scratch(x)[0], (X[:2, :1].detach().requires_grad_(),))


@pytest.mark.parametrize("extra", [{}, {"dropout_output": 0.1, "layers": 2}], ids=["RNNModel", "Regularized"])
def test_net_fast_false_on_a_built_language_model_turns_off_both_fast_paths(extra):
    # review r-docs, finding 1: README's `net.fast = False` set a plain attribute on the model and changed
    # nothing (its scratch layers stayed fast, the fused loss on): a second-order gradient was still
    # refused. Now it switches both, and the gradient penalty equals a model built with fast=False.
    torch.manual_seed(0)
    config = dict(cell="lstm", impl="scratch", hidden=6, embed=6, **extra)
    net, twin = build_lm(ModelConfig(**config), 12).double(), build_lm(ModelConfig(fast=False, **config), 12).double()
    twin.load_state_dict(net.state_dict())
    assert net.fast and not twin.fast
    X, Y = torch.randint(0, 12, (3, 5)), torch.randint(0, 12, (3, 5))

    def penalty_grads(model):
        model.eval()
        loss, _ = model(X, None, Y)
        params = [p for p in model.parameters()]
        grads = torch.autograd.grad(loss, params, create_graph=True)
        return torch.autograd.grad(sum(g.pow(2).sum() for g in grads), params)

    with pytest.raises(SeqlabError, match="second-order"):
        penalty_grads(net)
    net.fast = False
    layers = [m for m in net.modules() if isinstance(m, ScratchRNN)]
    assert layers and not any(m.fast for m in layers) and net.fused_loss is False and net.fast is False
    for got, want in zip(penalty_grads(net), penalty_grads(twin)):
        torch.testing.assert_close(got, want, **TOL)
    net.fast = True  # and back on
    assert all(m.fast for m in layers) and net.fused_loss is True
