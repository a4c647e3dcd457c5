"""Property tests (hypothesis) of the training metrics and schedules:

- `evaluate_lm` scores each token after the first exactly once, as the documented segments give it
  (B rows of L tokens each read from a fresh state, the last one going on to the end), whatever the
  batch size and window, against each segment run whole by the model;
- perplexity is exp(mean loss), and the uniform model's perplexity is the vocabulary size;
- warm-up + cosine rises to 1 over the warm-up, never rises after, stays in (0, 1] and ends at the floor;
  `rescale_lr` mid-run gives the unchanged run's rates times the scale (cosine, plateau, exponential).
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from seqlab.models.lm import RNNModel
from seqlab.training.lm_eval import evaluate_lm
from seqlab.training.metrics import perplexity
from seqlab.training.schedules import rescale_lr, warmup_cosine

pytestmark = pytest.mark.usefixtures("one_thread")

V = 5


def _net(seed):
    torch.manual_seed(seed)
    return RNNModel(nn.GRU(V, 4), V).double().eval()


@settings(max_examples=40, deadline=None, database=None)
@given(N=st.integers(2, 25), batch_size=st.integers(1, 6), num_steps=st.integers(1, 7), seed=st.integers(0, 2**31 - 1))
def test_evaluate_lm_scores_each_token_once_as_its_segment_reads_it(N, batch_size, num_steps, seed):
    net = _net(seed)
    gen = torch.Generator().manual_seed(seed)
    stream = torch.randint(0, V, (N,), generator=gen)
    loss_sum, n = evaluate_lm(net, stream, batch_size, num_steps)
    assert n == N - 1
    B = min(batch_size, N - 1)
    L = (N - 1) // B
    starts = [b * L for b in range(B)] + [N - 1]  # the last segment goes on to the end
    want = 0.0
    with torch.no_grad():
        for a, z in zip(starts, starts[1:]):
            logits, _ = net(stream[a:z][None], net.begin_state(1, "cpu"))  # (z - a, V)
            want += F.cross_entropy(logits, stream[a + 1:z + 1], reduction="sum").item()
    assert loss_sum == pytest.approx(want, rel=1e-10, abs=1e-10)


@given(st.floats(0, 1e4), st.integers(1, 10**6))
def test_perplexity_is_exp_of_the_mean_loss(loss_sum, n):
    mean = loss_sum / n
    assert perplexity(loss_sum, n) == (pytest.approx(math.exp(mean), rel=1e-12) if mean < 700 else math.inf)


@given(st.integers(1, 50), st.integers(1, 20))
def test_a_uniform_model_has_the_vocabulary_size_as_perplexity(V_, n):
    assert perplexity(n * math.log(V_), n) == pytest.approx(V_, rel=1e-12)


def _factors(warmup, total, min_ratio, extra=3):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = warmup_cosine(opt, warmup, total, min_ratio)
    out = []
    for _ in range(total + extra):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@settings(max_examples=50, deadline=None, database=None)
@given(st.integers(1, 30).flatmap(lambda total: st.tuples(st.integers(0, total - 1), st.just(total))),
       st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_warmup_cosine_rises_then_never_rises_and_ends_at_the_floor(warmup_total, min_ratio):
    warmup, total = warmup_total
    f = _factors(warmup, total, min_ratio)
    assert all(0 < x <= 1 + 1e-15 for x in f[:total]) and all(x >= min_ratio - 1e-15 for x in f[warmup:])
    if warmup:
        assert all(a < b for a, b in zip(f[:warmup], f[1:warmup])) and f[warmup - 1] == pytest.approx(1.0)
    assert all(b <= a + 1e-15 for a, b in zip(f[warmup:], f[warmup + 1:]))
    assert f[warmup] == pytest.approx(1.0)
    assert f[total:] == pytest.approx([min_ratio] * (len(f) - total))


def _run(make, steps, lr, scale_at, new_lr, losses):
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    lrs = []
    for i in range(steps):
        if i == scale_at and new_lr is not None:
            rescale_lr(opt, sched, lr, new_lr)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(losses[i])
        else:
            sched.step()
    return lrs


@settings(max_examples=60, deadline=None, database=None)
@given(kind=st.sampled_from(["cosine", "plateau", "exponential"]), steps=st.integers(2, 12), data=st.data(),
       lr=st.sampled_from([0.5, 2.0]), new_lr=st.sampled_from([0.1, 0.25, 4.0]))
def test_rescaling_mid_run_scales_every_later_rate(kind, steps, data, lr, new_lr):
    at = data.draw(st.integers(0, steps - 1))
    losses = data.draw(st.lists(st.sampled_from([1.0, 2.0, 3.0]), min_size=steps, max_size=steps))
    make = {"cosine": lambda o: warmup_cosine(o, warmup_steps=min(2, steps), total_steps=steps, min_ratio=0.1),
            "plateau": lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=0, min_lr=0.05),
            "exponential": lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.7)}[kind]
    same = _run(make, steps, lr, at, None, losses)
    scaled = _run(make, steps, lr, at, new_lr, losses)
    assert scaled[:at] == same[:at]
    assert scaled[at:] == pytest.approx([x * new_lr / lr for x in same[at:]], rel=1e-9)


@settings(max_examples=60, deadline=None, database=None)
@given(shapes=st.lists(st.lists(st.integers(1, 3), min_size=0, max_size=2), min_size=1, max_size=4),
       scale=st.sampled_from([0.0, 1e-3, 1.0, 1e3]), theta=st.sampled_from([0.01, 1.0, 5.0]),
       seed=st.integers(0, 2**31 - 1))
def test_grad_clipping_is_torchs_clip_grad_norm(shapes, scale, theta, seed):
    from seqlab.training.common import grad_clipping

    gen = torch.Generator().manual_seed(seed)
    ours = [nn.Parameter(torch.zeros(s, dtype=torch.float64)) for s in shapes]
    theirs = [nn.Parameter(torch.zeros(s, dtype=torch.float64)) for s in shapes]
    for a, b in zip(ours, theirs):
        a.grad = torch.randn(a.shape, dtype=torch.float64, generator=gen) * scale
        b.grad = a.grad.clone()
    norm = grad_clipping(ours, theta)
    want = torch.nn.utils.clip_grad_norm_(theirs, theta)
    assert float(norm) == pytest.approx(float(want), rel=1e-12, abs=1e-300)
    for a, b in zip(ours, theirs):  # (torch divides by norm + 1e-6, seqlab by norm + 1e-12)
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-12)
    total = math.sqrt(sum(float((a.grad ** 2).sum()) for a in ours))
    assert total <= theta * (1 + 1e-9)  # the book's formula: min(1, theta / ||g||) g


@settings(max_examples=60, deadline=None, database=None)
@given(B=st.integers(1, 4), T=st.integers(1, 5), V=st.integers(2, 5), seed=st.integers(0, 2**31 - 1),
       weighted=st.booleans(), ignore=st.booleans(), smoothing=st.sampled_from([0.0, 0.1]), data=st.data())
def test_masked_loss_is_the_mean_over_real_tokens_of_torchs_token_losses(B, T, V, seed, weighted, ignore, smoothing,
                                                                        data):
    from seqlab.training.translate_loss import MaskedSoftmaxCELoss, book_masked_ce

    gen = torch.Generator().manual_seed(seed)
    pred = torch.randn(B, T, V, generator=gen, dtype=torch.float64)
    label = torch.randint(0, V, (B, T), generator=gen)
    lens = torch.tensor(data.draw(st.lists(st.integers(0, T), min_size=B, max_size=B)))
    weight = torch.rand(V, generator=gen, dtype=torch.float64) + 0.5 if weighted else None
    ignore_index = 1 if ignore else -100
    loss = MaskedSoftmaxCELoss(weight, ignore_index=ignore_index, label_smoothing=smoothing)(pred, label, lens)
    token = nn.CrossEntropyLoss(weight, ignore_index=ignore_index, reduction="none",
                                label_smoothing=smoothing)(pred.permute(0, 2, 1), label)  # (B, T)
    for b in range(B):
        n = int(lens[b])
        want = token[b, :n].sum() / n if n else torch.zeros((), dtype=torch.float64)
        torch.testing.assert_close(loss[b], want, rtol=1e-12, atol=1e-12)
    if not weighted and not ignore and smoothing == 0:  # the book's: the same sums over the padded length
        book = book_masked_ce(pred, label, lens)
        torch.testing.assert_close(loss * lens / T, book, rtol=1e-12, atol=1e-12)


records = st.lists(st.fixed_dictionaries({"train_loss": st.floats(allow_nan=True), "note": st.text(max_size=5)}),
                   max_size=6)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=records, keep=st.one_of(st.none(), st.integers(0, 7)), cut=st.integers(0, 30), more=records)
def test_a_resumed_metrics_log_keeps_the_epochs_up_to_the_checkpoints_then_appends(tmp_path, recs, keep, cut, more):
    from seqlab.training.metrics import MetricsLog, read_metrics

    path = tmp_path / "metrics.jsonl"
    path.unlink(missing_ok=True)  # (tmp_path is shared by the examples)
    log = MetricsLog(path)
    for epoch, r in enumerate(recs, start=1):
        log.write(epoch=epoch, **r)
    if cut:  # a last line cut short by a kill (never a whole object: the cut keeps no closing brace)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f'{{"epoch": {len(recs) + 1}, "train_loss": 1.5, "note": "xyz"}}'[:cut % 40 or 1])
    notes = []
    resumed = MetricsLog(path, keep_until_epoch=keep) if keep is not None else MetricsLog(path)
    for epoch, r in enumerate(more, start=(keep or 0) + 1):
        resumed.write(epoch=epoch, **r)
    want = [{"epoch": e, **r} for e, r in enumerate(recs, start=1) if keep is not None and e <= keep]
    want += [{"epoch": e, **r} for e, r in enumerate(more, start=(keep or 0) + 1)]
    got = read_metrics(path, note=notes.append)
    assert not notes  # the cut line is gone from the rewritten file
    assert [r["epoch"] for r in got] == [r["epoch"] for r in want]
    for g, w in zip(got, want):  # NaN and inf are written as null (standard JSON)
        lost = w["train_loss"] != w["train_loss"] or abs(w["train_loss"]) == math.inf
        assert g["train_loss"] is None if lost else g["train_loss"] == w["train_loss"]
        assert g["note"] == w["note"]
    assert [r["epoch"] for r in resumed.records] == [r["epoch"] for r in want]
