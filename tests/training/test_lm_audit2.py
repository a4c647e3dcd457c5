"""Mutation audit (2) of the LM model, data, training and evaluation code: each test pins a behaviour
that a small plausible change survived, against a hand computation or a trusted twin."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.lm import RegularizedRNNModel, RNNModel
from seqlab.training.lm_regularized import expected_batches, train_epoch_regularized

CPU = torch.device("cpu")


def _plain(seed=0):
    torch.manual_seed(seed)
    return RNNModel(nn.LSTM(5, 6), 9, embed_size=5, dropout=0.5).double()


def _awd(seed=0):
    torch.manual_seed(seed)
    return RegularizedRNNModel("lstm", "fused", 9, 5, 6, 1, dropout_output=0.5).double()


def _plain_last_layer(net, X):
    """(raw, dropped) last-layer outputs (T, B, H) of the plain model, in its own RNG order."""
    raw, _ = net.rnn(net.drop(net.embedding(X.T)), net.begin_state(X.shape[0]))
    return raw, net.drop(raw)


def _awd_last_layer(net, X):
    """... of the one-layer AWD model: embedding -> layer -> locked dropout on the output."""
    raw, _ = net.rnns[0](net.embedding(X.T), net.begin_state(X.shape[0])[0])
    return raw, net.lock_out(raw)


# seqlab.models.lm: the last-layer outputs a model keeps for AR/TAR, and the plain dropout of a tied model

@pytest.mark.parametrize("make, last_layer", [(_plain, _plain_last_layer), (_awd, _awd_last_layer)],
                         ids=["plain", "awd"])
def test_keep_outputs_holds_the_raw_and_the_dropped_last_layer_outputs(make, last_layer):
    # AR reads the dropped outputs, TAR the raw ones: with dropout on they differ, and each must be
    # the one the model computed from the same random draws
    net = make()
    X = torch.randint(0, 9, (2, 5), generator=torch.Generator().manual_seed(3))
    net.keep_outputs = True
    torch.manual_seed(4)
    net(X, net.begin_state(2))
    torch.manual_seed(4)
    raw, dropped = last_layer(net, X)
    torch.testing.assert_close(net.outputs[0], raw)
    torch.testing.assert_close(net.outputs[1], dropped)
    assert not torch.allclose(raw, dropped)


def test_a_tied_model_with_a_smaller_last_layer_drops_out_where_the_plain_model_does():
    # without the AWD options, `dropout` is the plain model's (a fresh mask per element): on the
    # embedding output, between the layers and on the last output -- by hand, in the same RNG order
    import torch.nn.functional as F

    torch.manual_seed(0)
    net = RegularizedRNNModel("lstm", "fused", 9, 4, 6, 2, tie_weights=True, dropout=0.5).double()
    net.train()
    X = torch.randint(0, 9, (3, 5), generator=torch.Generator().manual_seed(1))
    state = net.begin_state(3)
    torch.manual_seed(2)
    logits, _ = net(X, state)
    torch.manual_seed(2)
    H = F.dropout(net.embedding(X.T), 0.5, training=True)  # (T, B, E)
    for rnn, s in zip(net.rnns, state):
        H = F.dropout(rnn(H, s)[0], 0.5, training=True)
    torch.testing.assert_close(logits, net.linear(H.reshape(-1, H.shape[-1])))


@pytest.mark.parametrize("make, last_layer", [(_plain, _plain_last_layer), (_awd, _awd_last_layer)],
                         ids=["plain", "awd"])
@pytest.mark.parametrize("alpha, beta", [(2.0, 0.0), (0.0, 1.5), (2.0, 1.5)])
def test_ar_reads_the_dropped_outputs_and_tar_the_raw_ones_with_dropout_on(make, last_layer, alpha, beta):
    # AWD-LSTM (Merity et al. 2017, sec. 4.6): AR = alpha * mean(dropped_h^2), TAR = beta *
    # mean((raw_h_t - raw_h_{t-1})^2). With dropout 0 the two tensors are equal, so the step is
    # checked here with dropout on, against one SGD step by hand from the same RNG state; TAR alone
    # (alpha 0) must count as well.
    X = torch.randint(0, 9, (3, 7), generator=torch.Generator().manual_seed(1))
    Y = torch.randint(0, 9, (3, 7), generator=torch.Generator().manual_seed(2))
    lr = 0.1
    net, ref = make(), make()
    torch.manual_seed(7)
    raw, dropped = last_layer(ref, X)
    ce = F.cross_entropy(ref.linear(dropped.reshape(-1, dropped.shape[-1])), Y.T.reshape(-1))
    assert not torch.allclose(raw, dropped)  # the dropout is on: the choice of tensor matters
    penalty = alpha * dropped.pow(2).mean() + beta * (raw[1:] - raw[:-1]).pow(2).mean()
    (ce + penalty).backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= lr * p.grad
    torch.manual_seed(7)
    loss_sum, n, _ = train_epoch_regularized(net, [(X, Y)], torch.optim.SGD(net.parameters(), lr=lr), CPU,
                                             clip=1e9, carry_state=True, bptt=7, ar_alpha=alpha, tar_beta=beta)
    assert n == 21 and loss_sum / n == pytest.approx(ce.item(), rel=1e-6)
    for p, q in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n_tokens, batch_size, bptt", [(41, 4, 3), (40, 4, 3), (44, 4, 3), (100, 3, 11),
                                                        (7, 1, 6), (8, 2, 2)])
def test_expected_batches_counts_the_windows_of_a_fixed_bptt_over_the_batchified_targets(n_tokens, batch_size,
                                                                                        bptt):
    # the cosine's length for variable BPTT: the windows of length bptt over the (N // B, B) stream,
    # whose last row has no target -- a plain loop as AWD-LSTM's `while i < len(train_data) - 1`
    rows, i, windows = n_tokens // batch_size, 0, 0
    while i < rows - 1:
        i += bptt
        windows += 1
    assert expected_batches(n_tokens, batch_size, bptt) == max(1, windows)


def test_a_split_shorter_than_the_batch_is_scored_in_one_token_rows_each_from_a_cold_state():
    # 5 tokens, 4 predictions, eval batch 10: the stream is cut into min(10, 4) = 4 rows of one
    # token each, every row starting from zeros (as every row of a longer split does) -- a plain
    # loop of cold one-token predictions. Read as one row of 4 the sum is another.
    from seqlab.training.lm_eval import evaluate_lm

    torch.manual_seed(0)
    net = RNNModel(nn.GRU(7, 5), 7).double()
    stream = torch.tensor([3, 1, 4, 1, 5])
    with torch.no_grad():
        cold = sum(F.cross_entropy(net(stream[None, t:t + 1], net.begin_state(1))[0], stream[t + 1:t + 2],
                                   reduction="sum").item() for t in range(4))
        one_row = F.cross_entropy(net(stream[None, :-1], net.begin_state(1))[0], stream[1:], reduction="sum").item()
    assert cold != pytest.approx(one_row, rel=1e-6)
    loss, n = evaluate_lm(net, stream, batch_size=10, num_steps=3)
    assert n == 4 and loss == pytest.approx(cold, rel=1e-12)


def test_the_unk_notes_come_only_over_their_thresholds_not_at_them():
    # unk_note's rule: "over UNK_WARN" of the scored targets outside the vocabulary, "over
    # UNSEEN_WARN" unseen <unk> where training had none; a share exactly at a threshold is not warned
    from seqlab.training.lm_data import UNK_WARN, UNSEEN_WARN, unk_note

    assert UNK_WARN == 1 / 20 and UNSEEN_WARN == 1 / 200  # (1 target in 20, 1 in 200: exact below)
    assert unk_note(1 / 20, 1 / 20, 0.01, 100) is None
    assert unk_note(2 / 39, 2 / 39, 0.01, 100).startswith("5.1% of the held-out tokens are <unk>")
    assert unk_note(1 / 200, 0.0, 0.0, 100) is None
    assert unk_note(2 / 399, 0.0, 0.0, 100).startswith("the training tokens hold no <unk>")


def test_a_word_cut_by_the_cap_at_exactly_min_freq_is_the_caps_doing():
    # --min-freq 2 keeps words seen twice or more; --max-vocab 4 then cuts "on" (seen twice): only a
    # larger cap keeps it, a lower --min-freq would change nothing for it
    from seqlab.data.vocab import Vocab
    from seqlab.training.lm_data import vocab_advice

    words = ["the"] * 6 + ["cat"] * 4 + ["sat"] * 3 + ["mat"] * 3 + ["on"] * 2 + ["yak"]
    vocab = Vocab(words, min_freq=2, max_size=4)
    assert "on" not in vocab and "mat" in vocab
    assert vocab_advice(vocab, {"min_freq": 2, "max_size": 4}).startswith("a larger --max-vocab (now 4) keeps more")


def test_max_tokens_zero_is_refused_not_read_as_the_whole_corpus(tmp_path):
    # -1 (or none) means every training token; 0 keeps none, which load_lm_corpus refuses
    from seqlab.errors import SeqlabError
    from seqlab.training.lm import DataConfig, LMConfig
    from seqlab.training.lm_data import load_corpus

    path = tmp_path / "t.txt"
    path.write_text("the cat sat on the mat\n" * 40)
    with pytest.raises(SeqlabError, match="max_tokens must be positive"):
        load_corpus(LMConfig(data=DataConfig(data=str(path), level="word", max_tokens=0)))
    assert len(load_corpus(LMConfig(data=DataConfig(data=str(path), level="word", max_tokens=-1))).train) > 100


def _tiny_fit(tmp_path, monkeypatch, valid_losses, epochs=None, resume=False, **train):
    """fit_lm on a tiny periodic text with the validation losses scripted; returns (result, log lines)."""
    import seqlab.training.lm as lm
    from seqlab.config import RunConfig
    from seqlab.data.corpora import LMCorpus
    from seqlab.data.vocab import Vocab
    from seqlab.models.lm import ModelConfig

    text = "abcab " * 60
    vocab = Vocab(list(text))
    ids = vocab.encode(list(text))
    scripted = iter(valid_losses)
    monkeypatch.setattr(lm, "evaluate_lm", lambda *a, **k: (next(scripted) * 10, 10))
    torch.manual_seed(0)
    cfg = lm.LMConfig(model=ModelConfig(cell="rnn", hidden=8, embed=4),
                      train=lm.TrainConfig(batch_size=4, num_steps=8, epochs=epochs or len(valid_losses), **train),
                      run=RunConfig(out=str(tmp_path), resume=resume))
    logs = []
    result = lm.fit_lm(cfg, LMCorpus("tiny", "char", vocab, ids[:300], ids[300:]), CPU, log=logs.append)
    return result, logs


def test_nt_asgd_starts_averaging_on_a_validation_stall_while_the_training_loss_still_falls(tmp_path, monkeypatch):
    # AWD-LSTM's check: average once val_loss > min(val losses more than nonmono checks ago); with
    # nonmono 1 and validation losses 1, 2, 3 that is at epoch 3 (3 > min([1])), whatever the training
    # loss does (it falls here: a trigger read from it never fires)
    from seqlab.training.checkpoint import load_checkpoint
    from seqlab.training.metrics import read_metrics

    _, logs = _tiny_fit(tmp_path, monkeypatch, [1.0, 2.0, 3.0], lr=0.5, optimizer="nt-asgd", nonmono=1,
                        schedule="none")
    train = [r["train_loss"] for r in read_metrics(tmp_path / "metrics.jsonl")]
    assert train[2] < train[1] < train[0]
    said = [line for line in logs if line.startswith("nt-asgd:")]
    assert len(said) == 1 and said[0].startswith("nt-asgd: validation loss 3.0000 is no better than 1 checks ago")
    assert logs.index(said[0]) == next(i for i, line in enumerate(logs) if line.startswith("epoch 3")) + 1
    ntasgd = load_checkpoint(tmp_path, "last").meta["ntasgd"]
    assert ntasgd["triggered"] and ntasgd["history"] == [1.0, 2.0, 3.0]


def test_a_later_epoch_that_only_ties_the_best_validation_loss_leaves_best_on_the_first(tmp_path, monkeypatch):
    # validation losses 2.0, 1.0, 1.0: epoch 3 does not improve on epoch 2, so best.safetensors (and
    # best_epoch) stay at epoch 2 -- a tie is no improvement, as for the plateau and NT-ASGD checks
    from seqlab.training.checkpoint import load_checkpoint

    result, _ = _tiny_fit(tmp_path, monkeypatch, [2.0, 1.0, 1.0], lr=0.5)
    assert result["best_epoch"] == 2 and load_checkpoint(tmp_path, "best").meta["epoch"] == 2


def test_a_resumed_nt_asgd_run_goes_on_averaging_as_the_run_without_the_stop(tmp_path, monkeypatch):
    # validation losses 1..5 with nonmono 1: averaging from epoch 3. Stopped after epoch 4 and resumed,
    # epoch 5 must go on with the averaged SGD and its average, so that the weights the run serves
    # (the average) are those of the run that never stopped
    from seqlab.training.lm import model_from_checkpoint

    opts = dict(lr=0.5, optimizer="nt-asgd", nonmono=1, schedule="none")
    _tiny_fit(tmp_path / "a", monkeypatch, [1.0, 2.0, 3.0, 4.0, 5.0], **opts)
    _tiny_fit(tmp_path / "b", monkeypatch, [1.0, 2.0, 3.0, 4.0], **opts)
    _, logs = _tiny_fit(tmp_path / "b", monkeypatch, [5.0], epochs=5, resume=True, **opts)
    assert not any(line.startswith("nt-asgd:") for line in logs)  # (it had started before the stop)
    a, _ = model_from_checkpoint(tmp_path / "a" / "last.safetensors")
    b, _ = model_from_checkpoint(tmp_path / "b" / "last.safetensors")
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_variable_batches_rows_are_contiguous_text_and_the_targets_the_next_tokens():
    # the stream cut into B rows of L = N // B tokens (row b = stream[b*L:(b+1)*L]); each window is
    # (B, T) with X[b] = row b's tokens i..i+T and Y[b] the same shifted by one, windows back to back
    import random

    from seqlab.training.lm_regularized import variable_batches

    stream = torch.arange(203)
    B, L = 4, 203 // 4
    i, lengths = 0, []
    for X, Y, T in variable_batches(stream, B, 7, random.Random(3), sd=3.0):
        assert X.shape == Y.shape == (B, T)
        for b in range(B):
            assert X[b].tolist() == list(range(b * L + i, b * L + i + T))
            assert Y[b].tolist() == list(range(b * L + i + 1, b * L + i + T + 1))
        i += T
        lengths.append(T)
    assert i == L - 1 and len(set(lengths)) > 1  # every target once, in windows of varying length


def test_a_variable_bptt_epoch_without_a_window_says_the_split_is_too_short_not_non_finite(tmp_path):
    # 5 training tokens in 4 rows: 1 token a row, nothing to predict within a row, so variable BPTT has no
    # window. It was reported as "every step of epoch 1 was non-finite ... rerun with a lower --lr";
    # the plain loop's message says what is wrong (as train_epoch does for an empty iterator)
    from seqlab.config import RunConfig
    from seqlab.data.corpora import LMCorpus
    from seqlab.data.vocab import Vocab
    from seqlab.errors import SeqlabError
    from seqlab.models.lm import ModelConfig
    from seqlab.training.lm import LMConfig, TrainConfig, fit_lm, train_epoch

    net = RNNModel(nn.GRU(7, 5), 7)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for loop in (train_epoch, lambda *a, **k: train_epoch_regularized(*a, bptt=4, **k)):
        with pytest.raises(SeqlabError, match="yielded no batches: the training split is shorter than one batch"):
            loop(net, [], opt, CPU, clip=1.0, carry_state=True)
    vocab = Vocab(list("abcab"))
    corpus = LMCorpus("tiny", "char", vocab, torch.as_tensor(vocab.encode(list("abcab"))),
                      torch.as_tensor(vocab.encode(list("abcab"))))
    cfg = LMConfig(model=ModelConfig(cell="rnn", hidden=8, embed=4),
                   train=TrainConfig(batch_size=4, num_steps=1, epochs=1, lr=0.5, variable_bptt=True),
                   run=RunConfig(out=str(tmp_path)))
    with pytest.raises(SeqlabError, match="yielded no batches") as err:
        fit_lm(cfg, corpus, CPU, log=lambda *_: None)
    assert "non-finite" not in str(err.value) and "\n" not in str(err.value)


def test_the_epoch_perplexities_are_exp_of_the_mean_token_losses(tmp_path, monkeypatch):
    # perplexity = exp(sum of token losses / tokens), over the same tokens as the logged mean loss
    import math

    result, _ = _tiny_fit(tmp_path, monkeypatch, [1.25], lr=0.5)
    assert result["train_ppl"] == pytest.approx(math.exp(result["train_loss"]), rel=1e-12)
    assert result["valid_ppl"] == pytest.approx(math.exp(1.25), rel=1e-12)


def test_the_switch_to_averaged_sgd_keeps_the_runs_weight_decay():
    # NT-ASGD: the averaged SGD that takes over steps as the SGD before it, L2 included (AWD-LSTM's
    # ASGD(..., weight_decay=args.wdecay)): p <- p - lr * (g + wd * p)
    from seqlab.training.lm_regularized import start_averaging
    from seqlab.training.schedules import NTASGDTrigger

    w = nn.Parameter(torch.tensor([2.0, -1.0], dtype=torch.float64))
    net = nn.Module()
    net.w = w
    trigger = NTASGDTrigger(nonmono=1)
    sgd = torch.optim.SGD([w], lr=0.5, weight_decay=0.1)
    for loss in (1.0, 2.0):
        assert start_averaging(net, sgd, trigger, loss, 0.1, log=lambda *_: None) is sgd
    asgd = start_averaging(net, sgd, trigger, 3.0, 0.1, log=lambda *_: None)
    assert isinstance(asgd, torch.optim.ASGD)
    w.grad = torch.tensor([0.4, 0.2], dtype=torch.float64)
    asgd.step()
    torch.testing.assert_close(w.detach(), torch.tensor([2.0 - 0.5 * (0.4 + 0.2), -1.0 - 0.5 * (0.2 - 0.1)],
                                                        dtype=torch.float64))
