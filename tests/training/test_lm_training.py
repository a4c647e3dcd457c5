"""LM training pieces: stateful evaluation, state carrying vs re-initialising, learning."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqlab.data.corpora import LMCorpus
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.models.lm import ModelConfig, RNNModel, build_lm
from seqlab.models.ngram import NGramLM, uniform_perplexity
from seqlab.training.lm import DataConfig, LMConfig, TrainConfig, fit_lm, train_epoch
from seqlab.training.lm_eval import evaluate_lm
from seqlab.config import RunConfig
from seqlab.data.sampling import LMBatches
from seqlab.training.metrics import read_metrics


def _net(V=7, H=5, seed=0):
    torch.manual_seed(seed)
    return RNNModel(nn.GRU(V, H), V).double()


@pytest.mark.parametrize("n, batch_size", [(50, 1), (50, 4), (51, 7), (12, 11), (2, 3)])
def test_evaluate_scores_every_token_after_the_first_like_one_long_pass(n, batch_size):
    # Reference: one pass over the whole stream with batch 1 (every token after the first
    # predicted from all the text before it). With batch 1 the window size must not matter.
    torch.manual_seed(1)
    net = _net()
    stream = torch.randint(0, 7, (n,))
    with torch.no_grad():
        logits, _ = net(stream[None, :-1], net.begin_state(1))
        ref = F.cross_entropy(logits.double(), stream[1:], reduction="sum").item()
    loss1, n1 = evaluate_lm(net, stream, 1, 3)
    assert n1 == n - 1 and loss1 == pytest.approx(ref, rel=1e-12)
    # With several rows each row starts cold, so the sum differs, but the count is exact.
    loss_b, nb = evaluate_lm(net, stream, batch_size, 4)
    assert nb == n - 1
    if batch_size == 1:
        assert loss_b == pytest.approx(ref, rel=1e-12)


def test_evaluate_rows_continue_each_other():
    # With B rows of length L, row b+1's first input is row b's last target: the union of
    # targets is exactly stream[1:B*L+1]; checked by a model that only sees the input.
    V = 5
    stream = torch.arange(21) % V
    class Bigram(nn.Module):  # logits = one-hot of (x + 1) % V * 50: predicts the next perfectly
        def forward(self, X, state):
            return F.one_hot((X.T.reshape(-1) + 1) % V, V).double() * 50, state
        def begin_state(self, batch_size=1, device=None):
            return torch.zeros(1, batch_size, 1)
        def parameters(self):
            return iter([torch.zeros(1)])
    loss, n = evaluate_lm(Bigram(), stream, 3, 4)
    assert n == 20 and loss < 1e-12  # every target is the successor of its input


def test_sequential_carries_state_random_reinitialises():
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 3)
        def begin_state(self, batch_size=1, device=None):
            seen.append("init")
            return torch.zeros(batch_size, 1)
        def forward(self, X, state):
            seen.append("carried" if state.grad_fn is None and state.abs().sum() > 0 else "fresh")
            state = state + X[:, :1].double().float()  # grows; has a graph
            out = self.lin(state).repeat(X.shape[1], 1)  # (T*B, 3)
            return out, state
    corpus = torch.randint(1, 3, (200,))
    batches = LMBatches(corpus, 2, 5, "sequential")
    opt = torch.optim.SGD(Spy().parameters(), 0.1)
    net = Spy()
    opt = torch.optim.SGD(net.parameters(), 0.1)
    train_epoch(net, batches, opt, torch.device("cpu"), clip=1.0, carry_state=True)
    assert seen.count("init") == 1 and seen.count("carried") == len(seen) - 2
    seen.clear()
    train_epoch(net, LMBatches(corpus, 2, 5, "random"), opt, torch.device("cpu"), clip=1.0, carry_state=False)
    assert seen.count("init") == seen.count("fresh") == len(seen) // 2


def test_ngram_baselines():
    vocab_size = 4
    stream = torch.tensor([1, 2, 3, 1, 2, 3, 1, 2, 3, 1])
    bigram = NGramLM(vocab_size, order=2, k=1.0).fit(stream)
    # by hand: stream[:-1] has 1 three times (positions 0, 3, 6), each followed by 2, so with k = 1
    # and V = 4, p(2|1) = (count(1, 2) + 1) / (count(1) + 4) = (3 + 1) / (3 + 4)
    assert math.exp(bigram.log_probs(torch.tensor([1, 2]))[0]) == pytest.approx((3 + 1) / (3 + 4))
    uni = NGramLM(vocab_size, order=1, k=1.0).fit(stream)
    assert math.exp(uni.log_probs(torch.tensor([1]))[0]) == pytest.approx((4 + 1) / (10 + 4))
    assert uniform_perplexity(28) == 28.0
    assert bigram.perplexity(stream) < uni.perplexity(stream) < vocab_size + 1


def test_ngram_fit_adds_streams_and_stays_a_distribution():
    # fit(a).fit(b): the counts of both streams, no pair across the two. By hand, V = 3, k = 1:
    # a = 0 1 0 1 0 has context 0 twice (both -> 1); b = 2 2 2 has none, so p(1|0) = (2+1)/(2+3)
    a, b = torch.tensor([0, 1, 0, 1, 0]), torch.tensor([2, 2, 2])
    two = NGramLM(3, order=2, k=1.0).fit(a).fit(b)
    assert math.exp(two.log_probs(torch.tensor([0, 1]))[0]) == pytest.approx(3 / 5)
    assert math.exp(two.log_probs(torch.tensor([2, 2]))[0]) == pytest.approx((2 + 1) / (2 + 3))
    for u in range(3):  # each p(. | u) sums to 1
        total = sum(math.exp(two.log_probs(torch.tensor([u, w]))[0]) for w in range(3))
        assert total == pytest.approx(1.0)
    # nothing fitted: every token 1/V, as the uniform baseline
    assert NGramLM(5, order=2).perplexity(torch.tensor([0, 3, 1, 4])) == pytest.approx(uniform_perplexity(5))
    with pytest.raises(SeqlabError, match="token id 7 is out of range"):
        NGramLM(5).fit(torch.tensor([1, 7]))


def _tiny_corpus():
    text = "abcab " * 60
    vocab = Vocab(list(text))
    ids = vocab.encode(list(text))
    return LMCorpus("tiny", "char", vocab, ids[:300], ids[300:])


def test_fit_learns_a_periodic_text_and_beats_the_bigram(tmp_path):
    torch.manual_seed(0)
    corpus = _tiny_corpus()
    cfg = LMConfig(data=DataConfig(), model=ModelConfig(cell="lstm", impl="scratch", hidden=16, embed=8),
                   train=TrainConfig(batch_size=4, num_steps=8, epochs=12, lr=0.02, optimizer="adam"),
                   run=RunConfig(out=str(tmp_path)))
    record = fit_lm(cfg, corpus, torch.device("cpu"), log=lambda *_: None)
    bigram = NGramLM(len(corpus.vocab), 2, k=0.1).fit(corpus.train).perplexity(corpus.valid)
    # "abcab " needs two characters of context after 'b' ('ab' -> c or ' '): a bigram can't
    assert record["valid_ppl"] < 1.2 < bigram
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == list(range(1, 13))
    for key in ("epoch", "train_loss", "valid_loss", "train_ppl", "valid_ppl", "tokens_per_sec", "lr", "wall_s"):
        assert key in rows[-1]
    assert rows[-1]["valid_ppl"] == pytest.approx(math.exp(rows[-1]["valid_loss"]))
    assert (tmp_path / "perplexity.png").read_bytes()[:4] == b"\x89PNG"


def test_lr_decays_on_validation_plateau(tmp_path):
    torch.manual_seed(0)
    corpus = _tiny_corpus()
    # lr 50 with SGD diverges/plateaus at once: the validation loss stops improving
    cfg = LMConfig(model=ModelConfig(cell="gru", hidden=8, embed=4),
                   train=TrainConfig(batch_size=4, num_steps=8, epochs=5, lr=50.0, lr_decay=0.25),
                   run=RunConfig(out=str(tmp_path)))
    fit_lm(cfg, corpus, torch.device("cpu"), log=lambda *_: None)
    rows = read_metrics(tmp_path / "metrics.jsonl")
    best, lr = math.inf, 50.0
    for row in rows:
        assert row["lr"] == pytest.approx(lr)
        if row["valid_loss"] < best * (1 - 1e-4):  # an improvement (PyTorch's default threshold)
            best = row["valid_loss"]
        else:
            lr *= 0.25
    assert rows[-1]["lr"] < 50.0


def test_resume_continues_bit_for_bit(tmp_path):
    corpus = _tiny_corpus()
    def cfg(out, epochs, resume=False):
        return LMConfig(model=ModelConfig(cell="gru", impl="scratch", hidden=8, embed=4, dropout=0.1),
                        train=TrainConfig(batch_size=4, num_steps=8, epochs=epochs, lr=0.01, optimizer="adamw",
                                          sampling="random"),
                        run=RunConfig(out=str(out), resume=resume))
    torch.manual_seed(0)
    fit_lm(cfg(tmp_path / "a", 4), corpus, torch.device("cpu"), log=lambda *_: None)
    torch.manual_seed(0)
    fit_lm(cfg(tmp_path / "b", 2), corpus, torch.device("cpu"), log=lambda *_: None)
    torch.manual_seed(123)  # resume must restore every generator itself
    fit_lm(cfg(tmp_path / "b", 4, resume=True), corpus, torch.device("cpu"), log=lambda *_: None)
    a = read_metrics(tmp_path / "a" / "metrics.jsonl")
    b = read_metrics(tmp_path / "b" / "metrics.jsonl")
    assert [r["epoch"] for r in b] == [1, 2, 3, 4]
    for ra, rb in zip(a, b):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-6)
        assert ra["valid_loss"] == pytest.approx(rb["valid_loss"], rel=1e-6)


def test_weight_tying_shares_the_embedding():
    net = build_lm(ModelConfig(cell="lstm", hidden=6, embed=6, tie_weights=True), 9)
    assert net.linear.weight is net.embedding.weight
    logits, (h, c) = net(torch.randint(0, 9, (2, 3)), net.begin_state(2))
    assert logits.shape == (3 * 2, 9) and h.shape == c.shape == (1, 2, 6)


@pytest.mark.parametrize("kind", ["fused", "book-scratch"])
def test_evaluate_leftover_tokens_continue_the_last_row(kind):
    # N = 24 tokens, 23 predictions, 4 rows of 5 and 3 left over. Reference: each row on its
    # own with batch 1, the last row run on through the leftover tokens.
    from seqlab.models.cells_book import get_gru_params, gru, init_gru_state
    from seqlab.models.lm import RNNModelScratch
    torch.manual_seed(0)
    V = 6
    if kind == "fused":
        net = RNNModel(nn.LSTM(V, 5, num_layers=2), V).double()
    else:
        net = RNNModelScratch(V, 5, "cpu", get_gru_params, init_gru_state, gru).double()
        net.params = list(net._plist)
    stream = torch.randint(0, V, (24,))
    B, L = 4, 5
    ref = 0.0
    with torch.no_grad():
        for b in range(B):
            end = (b + 1) * L if b < B - 1 else 23
            state = net.begin_state(batch_size=1, device="cpu")
            if isinstance(state, tuple):
                state = tuple(s.double() for s in state)
            logits, _ = net(stream[None, b * L:end], state)
            ref += F.cross_entropy(logits, stream[b * L + 1:end + 1], reduction="sum").item()
    if kind == "book-scratch":  # the book's init_state makes float32 zeros: cast via a wrapper
        init = net.init_state
        net.init_state = lambda *a: tuple(s.double() for s in init(*a))
    loss, n = evaluate_lm(net, stream, B, 2)
    assert n == 23 and loss == pytest.approx(ref, rel=1e-10)


def test_nonfinite_loss_stops_before_saving(tmp_path):
    from seqlab.training.guard import NonFiniteLoss
    corpus = _tiny_corpus()
    torch.manual_seed(0)
    cfg = LMConfig(model=ModelConfig(cell="rnn", hidden=8, embed=4),
                   train=TrainConfig(batch_size=4, num_steps=8, epochs=2, lr=0.1),
                   run=RunConfig(out=str(tmp_path)))
    fit_lm(cfg, corpus, torch.device("cpu"), log=lambda *_: None)
    before = (tmp_path / "last.safetensors").read_bytes()
    import seqlab.training.lm as lm
    real = lm.train_epoch
    lm.train_epoch = lambda *a, **k: (float("nan"), 10, 1.0)
    try:
        with pytest.raises(NonFiniteLoss, match="epoch 3"):
            fit_lm(LMConfig(model=cfg.model, train=TrainConfig(batch_size=4, num_steps=8, epochs=3, lr=0.1),
                            run=RunConfig(out=str(tmp_path), resume=True)), corpus, torch.device("cpu"),
                   log=lambda *_: None)
    finally:
        lm.train_epoch = real
    assert (tmp_path / "last.safetensors").read_bytes() == before  # the last good checkpoint is kept


def test_stop_signal_keeps_the_previous_epoch(tmp_path):
    import signal
    import seqlab.training.lm as lm
    from seqlab.training.guard import TrainingInterrupted
    corpus = _tiny_corpus()
    cfg = LMConfig(model=ModelConfig(cell="gru", hidden=8, embed=4),
                   train=TrainConfig(batch_size=4, num_steps=8, epochs=3, lr=0.1), run=RunConfig(out=str(tmp_path)))
    real, calls = lm.train_epoch, []

    def interrupted_in_epoch_2(*args, stop=None, **kwargs):
        calls.append(1)
        result = real(*args, stop=stop, **kwargs)
        if len(calls) == 2:
            stop.signum = signal.SIGTERM  # as the handler would set it
        return result
    lm.train_epoch = interrupted_in_epoch_2
    try:
        with pytest.raises(TrainingInterrupted, match="SIGTERM during epoch 2.*--resume"):
            fit_lm(cfg, corpus, torch.device("cpu"), log=lambda *_: None)
    finally:
        lm.train_epoch = real
    assert [r["epoch"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1]
    from seqlab.training.checkpoint import load_checkpoint
    assert load_checkpoint(tmp_path, "last").meta["epoch"] == 1


def test_one_hot_word_vocabulary_is_refused_with_a_hint():
    from seqlab.errors import SeqlabError
    with pytest.raises(SeqlabError, match="--embed"):
        build_lm(ModelConfig(cell="lstm", hidden=8), 33278)
    assert build_lm(ModelConfig(cell="lstm", hidden=8, embed=4), 33278).embedding.num_embeddings == 33278


def test_evaluate_always_predicts_n_minus_1_tokens_property():
    from hypothesis import given, settings, strategies as st
    net = _net()

    @settings(max_examples=40, deadline=None)
    @given(n=st.integers(2, 120), batch_size=st.integers(1, 40), num_steps=st.integers(1, 50))
    def check(n, batch_size, num_steps):
        stream = torch.arange(n) % 7
        loss, count = evaluate_lm(net, stream, batch_size, num_steps)
        assert count == n - 1 and math.isfinite(loss) and loss > 0
    check()


def test_evaluation_runs_in_eval_mode_and_restores_the_mode():
    # dropout left on during evaluation would make a held-out perplexity noisy and too high
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="lstm", hidden=32, layers=2, embed=8, dropout=0.5), 12)
    stream = torch.randint(0, 12, (400,))
    net.train()
    a, b = evaluate_lm(net, stream, 4, 7), evaluate_lm(net, stream, 4, 7)
    assert net.training
    net.eval()
    assert a == b == evaluate_lm(net, stream, 4, 7)


def test_a_rejected_held_out_split_leaves_the_model_in_training_mode():
    # the check raised after net.eval() and left a training model with its dropout off
    net = build_lm(ModelConfig(cell="gru", hidden=16, embed=8, dropout=0.5), 12)
    net.train()
    with pytest.raises(SeqlabError, match="nothing to predict"):
        evaluate_lm(net, torch.tensor([3]), 4, 7)
    with pytest.raises(SeqlabError, match="out of range"):
        evaluate_lm(net, torch.tensor([3, 99, 4]), 4, 7)
    assert all(m.training for m in net.modules())


@pytest.mark.parametrize("loop", ["plain", "regularized"])
def test_a_skipped_step_counts_no_tokens_and_restarts_the_carried_state(loop, monkeypatch):
    # lr 0: the weights never move, so every kept step's loss can be recomputed by hand. Step 2's
    # loss is poisoned (NaN) and skipped: the epoch's sum and count are those of steps 1 and 3, and
    # step 3 starts from a fresh state (the state after a skipped step is not trusted).
    from seqlab.training import common
    from seqlab.training.guard import StepGuard
    from seqlab.training.lm_regularized import train_epoch_regularized

    net = _net()
    g = torch.Generator().manual_seed(3)
    batches = [(torch.randint(0, 7, (2, 4), generator=g), torch.randint(0, 7, (2, 4), generator=g)) for _ in range(3)]
    with torch.no_grad():
        def fresh(X, Y):
            logits, _ = net(X, net.begin_state(2))
            return F.cross_entropy(logits, Y.T.reshape(-1), reduction="sum").item()
        expected = fresh(*batches[0]) + fresh(*batches[2])
    real, calls = common.lm_batch_loss, []

    def poisoned(*args):
        calls.append(1)
        loss, state = real(*args)
        return (loss * float("nan") if len(calls) == 2 else loss), state
    monkeypatch.setattr(common, "lm_batch_loss", poisoned)
    guard = StepGuard(skip=True, eager=True, epoch=1)
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    if loop == "plain":
        loss_sum, n, _ = train_epoch(net, batches, opt, torch.device("cpu"), clip=1.0, carry_state=True, guard=guard)
    else:
        loss_sum, n, _ = train_epoch_regularized(net, batches, opt, torch.device("cpu"), clip=1.0, carry_state=True,
                                                 bptt=4, guard=guard)
    assert guard.skipped == 1 and n == 2 * 2 * 4
    assert loss_sum == pytest.approx(expected, rel=1e-6)


def test_train_epoch_step_is_sgd_on_the_mean_token_loss():
    # The book's update: l.mean().backward(); p -= lr * grad, the mean over all B*T tokens of the batch
    # (not over the B rows). One batch of B = 3 rows, T = 5 steps; clipping off.
    X, Y = torch.randint(0, 7, (3, 5)), torch.randint(0, 7, (3, 5))
    net, ref, lr = _net(), _net(), 0.5
    logits, _ = ref(X, ref.begin_state(3))
    F.cross_entropy(logits, Y.T.reshape(-1)).backward()  # reduction="mean": over the 15 tokens
    with torch.no_grad():
        for p in ref.parameters():
            p -= lr * p.grad
    loss_sum, n, _ = train_epoch(net, [(X, Y)], torch.optim.SGD(net.parameters(), lr=lr), torch.device("cpu"),
                                 clip=1e9, carry_state=True)
    assert n == 15
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def test_train_epoch_over_a_word_vocabulary_trains_the_same_with_the_fused_output_loss():
    # V >= MIN_VOCAB: the fused output layer + loss on the CPU; --no-fast's logits path is its twin
    from seqlab.models.fused_loss import MIN_VOCAB

    V, g = MIN_VOCAB + 50, torch.Generator().manual_seed(0)
    batches = [(torch.randint(0, V, (3, 6), generator=g), torch.randint(0, V, (3, 6), generator=g))
               for _ in range(3)]
    nets = []
    for fast in (True, False):
        torch.manual_seed(0)
        net = build_lm(ModelConfig(cell="lstm", hidden=12, embed=12, tie_weights=True, fast=fast), V)
        loss_sum, n, _ = train_epoch(net, batches, torch.optim.SGD(net.parameters(), lr=1.0),
                                     torch.device("cpu"), clip=0.5, carry_state=True)
        nets.append((net, loss_sum, n))
    (fused, loss_f, n_f), (plain, loss_p, n_p) = nets
    assert n_f == n_p == 54 and loss_f == pytest.approx(loss_p, rel=1e-5)
    for p, q in zip(fused.parameters(), plain.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)


def test_best_checkpoint_is_the_epoch_of_the_lowest_validation_loss(tmp_path, monkeypatch):
    # validation losses scripted as 3.0, 1.0, 2.0, 1.5: best.safetensors must hold epoch 2 (not the last,
    # nor the one of the lowest training loss), and every checkpoint records 1.0 as the best so far.
    # lr_decay 1.0 (the default) turns the plateau decay off: epochs 3-4 do not improve, the lr stays
    import seqlab.training.lm as lm
    from seqlab.training.checkpoint import load_checkpoint

    scripted = iter([3.0, 1.0, 2.0, 1.5])
    monkeypatch.setattr(lm, "evaluate_lm", lambda *a, **k: (next(scripted) * 10, 10))
    torch.manual_seed(0)
    cfg = LMConfig(model=ModelConfig(cell="rnn", hidden=8, embed=4),
                   train=TrainConfig(batch_size=4, num_steps=8, epochs=4, lr=0.5), run=RunConfig(out=str(tmp_path)))
    fit_lm(cfg, _tiny_corpus(), torch.device("cpu"), log=lambda *_: None)
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["valid_loss"] for r in rows] == [3.0, 1.0, 2.0, 1.5]
    assert [r["valid_ppl"] for r in rows] == pytest.approx([math.exp(v) for v in (3.0, 1.0, 2.0, 1.5)])
    assert [r["lr"] for r in rows] == [0.5] * 4
    best, last = load_checkpoint(tmp_path, "best"), load_checkpoint(tmp_path, "last")
    assert best.meta["epoch"] == 2 and last.meta["epoch"] == 4
    assert best.meta["best_valid_loss"] == last.meta["best_valid_loss"] == 1.0


def test_resumed_run_keeps_counting_wall_time_from_the_first_start(tmp_path):
    # wall_s is the time since the run began: a resumed run goes on from the last kept record's wall_s
    # (set to 1000 s here by hand), it does not start again from 0
    import json

    def cfg(epochs, resume=False):
        return LMConfig(model=ModelConfig(cell="rnn", hidden=8, embed=4),
                        train=TrainConfig(batch_size=4, num_steps=8, epochs=epochs, lr=0.5),
                        run=RunConfig(out=str(tmp_path), resume=resume))
    torch.manual_seed(0)
    fit_lm(cfg(2), _tiny_corpus(), torch.device("cpu"), log=lambda *_: None)
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert 0 < rows[0]["wall_s"] < rows[1]["wall_s"] < 1000
    rows[1]["wall_s"] = 1000.0
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    fit_lm(cfg(3, resume=True), _tiny_corpus(), torch.device("cpu"), log=lambda *_: None)
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2, 3] and 1000.0 < rows[2]["wall_s"] < 1000.0 + 600


@pytest.mark.parametrize("loop", ["plain", "regularized"])
def test_a_stop_request_ends_the_epoch_after_the_current_step(loop):
    # SIGTERM/SIGINT arrive between steps: the step in progress finishes, no further batch is read
    import signal
    from seqlab.training.guard import StopSignals
    from seqlab.training.lm_regularized import train_epoch_regularized

    net = _net()
    batches = [(torch.randint(0, 7, (2, 4)), torch.randint(0, 7, (2, 4))) for _ in range(5)]
    stop = StopSignals()
    stop.signum = signal.SIGTERM  # as the handler sets it, here already during the first step
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    if loop == "plain":
        _, n, _ = train_epoch(net, batches, opt, torch.device("cpu"), clip=1.0, carry_state=True, stop=stop)
    else:
        _, n, _ = train_epoch_regularized(net, batches, opt, torch.device("cpu"), clip=1.0, carry_state=True, bptt=4,
                                          stop=stop)
    assert n == 2 * 4  # one batch of B = 2 rows, T = 4 steps


@pytest.mark.parametrize("loop", ["plain", "regularized"])
@pytest.mark.parametrize("carry", [True, False])
def test_both_loops_carry_the_state_across_sequential_batches_only_when_asked(loop, carry):
    # lr 0: the weights stay, so the epoch's loss sum can be recomputed. Carried, windows X1, X2 of the
    # same rows score as ONE pass over X1 X2 (row b of X2 continues row b of X1); not carried, each
    # window starts from zeros.
    from seqlab.training.lm_regularized import train_epoch_regularized

    net = _net()
    g = torch.Generator().manual_seed(5)
    X, Y = torch.randint(0, 7, (2, 8), generator=g), torch.randint(0, 7, (2, 8), generator=g)
    batches = [(X[:, :4], Y[:, :4]), (X[:, 4:], Y[:, 4:])]

    def scored(X, Y):
        logits, _ = net(X, net.begin_state(2))
        return F.cross_entropy(logits, Y.T.reshape(-1), reduction="sum").item()
    with torch.no_grad():
        expected = scored(X, Y) if carry else sum(scored(x, y) for x, y in batches)
        assert expected != pytest.approx(scored(X, Y) if not carry else sum(scored(x, y) for x, y in batches))
    opt = torch.optim.SGD(net.parameters(), lr=0.0)
    if loop == "plain":
        loss_sum, n, _ = train_epoch(net, batches, opt, torch.device("cpu"), clip=1.0, carry_state=carry)
    else:
        loss_sum, n, _ = train_epoch_regularized(net, batches, opt, torch.device("cpu"), clip=1.0, carry_state=carry,
                                                 bptt=4)
    assert n == 16 and loss_sum == pytest.approx(expected, rel=1e-6)
