"""Property tests (hypothesis) of the small layers: masked_softmax (the softmax of each row's first
valid_len scores, zero weight after them, uniform for a length of 0), the fused output-layer loss vs
F.cross_entropy(F.linear(...)) (values and gradients, the reused buffer included), locked dropout
(one mask for all steps, kept units scaled by 1/(1-p), identity in eval), embedding dropout (whole
word types) and the n-gram counts vs counting by hand."""

import collections
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from seqlab.models.attention import masked_softmax
from seqlab.models.fused_loss import linear_cross_entropy
from seqlab.models.ngram import NGramLM
from seqlab.models.regularization import LockedDropout, embedding_dropout

pytestmark = pytest.mark.usefixtures("one_thread")

fast = settings(max_examples=60, deadline=None, database=None)


@fast
@given(B=st.integers(1, 3), Q=st.integers(1, 3), K=st.integers(1, 5), per_query=st.booleans(),
       dtype=st.sampled_from([torch.float32, torch.float64, torch.float16, torch.bfloat16]),
       scale=st.sampled_from([1.0, 30.0, 1e4]), data=st.data())
def test_masked_softmax_is_the_softmax_of_the_valid_scores(B, Q, K, per_query, dtype, scale, data):
    gen = torch.Generator().manual_seed(data.draw(st.integers(0, 2**31 - 1)))
    X = (torch.randn(B, Q, K, generator=gen, dtype=torch.float64) * scale).to(dtype)
    shape = (B, Q) if per_query else (B,)
    lens = torch.tensor(data.draw(st.lists(st.integers(0, K + 1), min_size=math.prod(shape),
                                           max_size=math.prod(shape)))).view(shape)
    W = masked_softmax(X, lens)
    assert W.shape == X.shape and W.dtype == dtype
    for b in range(B):
        for q in range(Q):
            n = int(lens[b, q] if per_query else lens[b])
            row = W[b, q].double()
            if n == 0:  # the book's uniform row
                torch.testing.assert_close(row, torch.full((K,), 1 / K, dtype=torch.float64), rtol=0, atol=1e-2)
                continue
            n = min(n, K)
            assert not row[n:].any()  # exactly zero weight after the valid length
            want = torch.softmax(X[b, q, :n].double(), dim=-1)
            tol = 1e-6 if dtype in (torch.float32, torch.float64) else 1e-2
            torch.testing.assert_close(row[:n], want, rtol=0, atol=tol)


@fast
@given(N=st.integers(1, 6), H=st.integers(1, 5), V=st.integers(1, 7), bias=st.booleans(), twice=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_fused_loss_is_cross_entropy_of_the_linear_layer(N, H, V, bias, twice, seed):
    gen = torch.Generator().manual_seed(seed)
    lin = nn.Linear(H, V, bias=bias)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(V, H, generator=gen) * 3)
        if bias:
            lin.bias.copy_(torch.randn(V, generator=gen) * 3)
    params = [lin.weight] + ([lin.bias] if bias else [])
    for rows in ([N, N + 2] if twice else [N]):  # the buffer reused by a second, larger call
        h = torch.randn(rows, H, generator=gen, requires_grad=True)
        y = torch.randint(0, V, (rows,), generator=gen)
        g = torch.randn(rows, generator=gen)
        ours = linear_cross_entropy(h, lin.weight, lin.bias, y)
        theirs = F.cross_entropy(F.linear(h, lin.weight, lin.bias), y, reduction="none")
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
        d_ours = torch.autograd.grad((ours * g).sum(), [h, *params])
        d_theirs = torch.autograd.grad((theirs * g).sum(), [h, *params])
        for a, b in zip(d_ours, d_theirs):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@fast
@given(N=st.integers(1, 5), H=st.integers(1, 4), V=st.integers(2, 6), seed=st.integers(0, 2**31 - 1))
def test_two_fused_losses_alive_at_once_keep_their_own_buffers(N, H, V, seed):
    gen = torch.Generator().manual_seed(seed)
    lin = nn.Linear(H, V)
    h1, h2 = torch.randn(N, H, generator=gen), torch.randn(N, H, generator=gen)
    y1, y2 = torch.randint(0, V, (N,), generator=gen), torch.randint(0, V, (N,), generator=gen)
    l1 = linear_cross_entropy(h1, lin.weight, lin.bias, y1)  # (the first holds the buffer ...)
    l2 = linear_cross_entropy(h2, lin.weight, lin.bias, y2)  # (... the second a fresh tensor)
    (l1.sum() + l2.sum()).backward()
    got = lin.weight.grad.clone()
    lin.weight.grad = None
    lin.bias.grad = None
    (F.cross_entropy(lin(h1), y1, reduction="sum") + F.cross_entropy(lin(h2), y2, reduction="sum")).backward()
    torch.testing.assert_close(got, lin.weight.grad, rtol=1e-4, atol=1e-5)


@fast
@given(T=st.integers(1, 5), B=st.integers(1, 4), H=st.integers(1, 6), p=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
       time_dim=st.sampled_from([0, 1]), seed=st.integers(0, 2**31 - 1))
def test_locked_dropout_drops_the_same_units_at_every_step(T, B, H, p, time_dim, seed):
    torch.manual_seed(seed)
    drop = LockedDropout(p, time_dim=time_dim)
    x = torch.rand((T, B, H) if time_dim == 0 else (B, T, H), dtype=torch.float64) + 0.5  # never 0
    y = drop.train()(x)
    kept = (y != 0).movedim(time_dim, 0)  # (T, B, H)
    assert torch.equal(kept, kept[:1].expand_as(kept))  # one mask for all steps
    torch.testing.assert_close(y[y != 0], x[y != 0] / (1 - p), rtol=1e-12, atol=0)  # the kept ones scaled
    if p == 0:
        assert kept.all()
    assert torch.equal(drop.eval()(x), x)


@fast
@given(V=st.integers(1, 6), E=st.integers(1, 4), p=st.sampled_from([0.0, 0.3, 0.7]),
       words=st.lists(st.integers(0, 5), min_size=1, max_size=12), seed=st.integers(0, 2**31 - 1),
       padding=st.booleans())
def test_embedding_dropout_drops_whole_word_types(V, E, p, words, seed, padding):
    torch.manual_seed(seed)
    embed = nn.Embedding(V, E, padding_idx=0 if padding else None)
    with torch.no_grad():
        embed.weight.copy_(torch.rand(V, E) + 0.5)  # no zero entry
    ids = torch.tensor([w % V for w in words]).view(1, -1)
    out = embedding_dropout(embed, ids, p)[0]
    scale = {}
    for w, row in zip(ids[0].tolist(), out):
        s = (row / embed.weight[w]).detach()
        assert torch.allclose(s, s[0].expand_as(s), rtol=1e-6, atol=0)  # a whole row: dropped or kept
        assert s[0].item() == pytest.approx(0.0) or s[0].item() == pytest.approx(1 / (1 - p))
        assert scale.setdefault(w, s[0].item()) == pytest.approx(s[0].item())  # the same at each occurrence
    assert torch.equal(embedding_dropout(embed, ids, p, training=False), embed(ids))


streams = st.lists(st.lists(st.integers(0, 4), max_size=10), min_size=1, max_size=3)


@fast
@given(streams, st.lists(st.integers(0, 4), min_size=2, max_size=10), st.sampled_from([1, 2]),
       st.sampled_from([0.1, 1.0, 2.5]))
@example([[0]], [1, 1], 2, 1.0)  # a one-token stream adds no pair and no context count
def test_ngram_perplexity_is_counting_by_hand(fits, held_out, order, k):
    V = 5
    lm = NGramLM(V, order=order, k=k)
    uni, bi, ctx = collections.Counter(), collections.Counter(), collections.Counter()
    for s in fits:
        lm.fit(torch.tensor(s, dtype=torch.long))
        uni.update(s)
        bi.update(zip(s, s[1:]))
        ctx.update(s[:-1])
    N = sum(uni.values())
    if order == 1:
        nll = [-math.log((uni[w] + k) / (N + k * V)) for w in held_out]
    else:
        nll = [-math.log((bi[u, w] + k) / (ctx[u] + k * V)) for u, w in zip(held_out, held_out[1:])]
    assert lm.perplexity(torch.tensor(held_out)) == pytest.approx(math.exp(sum(nll) / len(nll)), rel=1e-9)
    # a distribution: each context's probabilities over the vocabulary sum to 1
    for u in range(V):
        nxt = torch.arange(V)
        stream = torch.stack([torch.full((V,), u), nxt], 1).view(-1)  # u v u v ...: read pairs (u, v)
        lp = lm.log_probs(stream)
        probs = lp[::2] if order == 2 else lp[1::2]  # bigram: (u, v) pairs; unigram: each v
        assert probs.exp().sum().item() == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=25, deadline=None, database=None)
@given(mode=st.sampled_from(["rnn", "gru", "lstm"]), D=st.integers(1, 3), H=st.integers(1, 4), L=st.integers(1, 2),
       p=st.sampled_from([0.2, 0.5]), T=st.integers(1, 4), B=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_weight_drop_runs_the_layer_on_its_dropped_recurrent_weights(mode, D, H, L, p, T, B, seed):
    import copy

    from seqlab.models.regularization import WeightDrop

    torch.manual_seed(seed)
    layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[mode](D, H, L).double()
    wd = WeightDrop(layer, p).train()
    X = torch.randn(T, B, D, dtype=torch.float64)
    torch.manual_seed(seed + 1)
    Y, _ = wd(X)
    # a copy whose weight_hh_l* are the dropped ones (the masks drawn in the same order from the same seed)
    twin = copy.deepcopy(layer)
    torch.manual_seed(seed + 1)
    with torch.no_grad():
        for name in wd.names:
            getattr(twin, name).copy_(F.dropout(getattr(layer, name), p, training=True))
    torch.testing.assert_close(Y, twin(X)[0], rtol=1e-12, atol=1e-12)
    # the gradient reaches the wrapped layer's own weights, zero where a weight was dropped
    Y.sum().backward()
    for name in wd.names:
        dropped = getattr(twin, name) == 0
        assert getattr(layer, name).grad is not None
        assert not getattr(layer, name).grad[dropped & (getattr(layer, name) != 0)].any()
    assert torch.equal(wd.eval()(X)[0], layer(X)[0])  # eval: the layer as it is
