"""Bad input to the Python API found by a review of it (2026-11-30): scratch layers and cells, the
seq2seq models, the masked loss, n-gram perplexity, vocabularies and states. Each was a deep torch
error, a silently wrong result or a crash; each is now one clear SeqlabError or the right result."""

import pytest
import torch
from torch import nn

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.models.cells import make_cell
from seqlab.models.lm import ModelConfig, build_lm
from seqlab.models.recurrent import ScratchRNN
from seqlab.models.seq2seq import Seq2SeqState, build_seq2seq
from seqlab.models.attention import AttentionState
from seqlab.training.common import detach_state
from seqlab.training.translate_loss import MaskedSoftmaxCELoss

FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("fast", [True, False])
def test_a_state_of_another_batch_or_depth_is_refused(mode, fast):
    layer = ScratchRNN(mode, 4, 5, 2)
    layer.fast = fast
    X = torch.randn(3, 2, 4)
    for bad in (torch.zeros(2, 1, 5), torch.zeros(7, 2, 5)):  # batch 1 for 2 sequences (the GRU dropped one); 7 layers
        state = (bad, bad) if mode == "lstm" else bad
        with pytest.raises(SeqlabError, match="state"):
            layer(X, state)
    cell = make_cell(mode, 4, 5)
    with pytest.raises(SeqlabError, match="state"):
        cell(X, (torch.zeros(1, 5),) * 2 if mode == "lstm" else torch.zeros(1, 5))


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_unbatched_sequences_are_read_as_nn_reads_them(mode):
    # (T, D) floats: one sequence, state without a batch dimension; it was read as a batch of D
    torch.manual_seed(0)
    fused = FUSED[mode](4, 5, 2, bidirectional=True).double()
    scratch = ScratchRNN.from_fused(fused)
    X = torch.randn(6, 4, dtype=torch.float64)
    h0 = torch.randn(4, 5, dtype=torch.float64)
    state = (h0, h0 / 2) if mode == "lstm" else h0
    want, want_state = fused(X, state)
    got, got_state = scratch(X, state)
    assert got.shape == (6, 10)
    torch.testing.assert_close(got, want)
    for g, w in zip(got_state if mode == "lstm" else [got_state], want_state if mode == "lstm" else [want_state]):
        torch.testing.assert_close(g, w)
    got0, _ = scratch(X)  # no state: zeros, as nn
    torch.testing.assert_close(got0, fused(X)[0])


@pytest.mark.parametrize("X, message", [
    (torch.randn(3, 2, 6), "6 features per step but the layer reads 4"),
    (torch.randn(0, 2, 4), "empty"),
    (torch.randn(3, 2, 4, dtype=torch.float64), "float64 but the layer's weights are torch.float32"),
    (torch.tensor([[1, 2], [3, 4]]), "token id 4 is out of range"),
    (torch.ones(3, 2, 4, 1), "time-major features"),
    ([[0.0] * 4] * 3, "must be a torch.Tensor"),
])
def test_what_a_scratch_layer_cannot_read_is_named(X, message):
    for module in (ScratchRNN("lstm", 4, 5), make_cell("gru", 4, 5)):
        with pytest.raises(SeqlabError, match=message):
            module(X)


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_scratch_layers_run_under_cpu_autocast(mode):
    # the dtype check leaves autocast alone, and the fast recurrence casts to float32 under a CPU
    # autocast too (it mixed bf16 and float32 in one product: a RuntimeError from torch)
    torch.manual_seed(0)
    layer = ScratchRNN(mode, 4, 5)
    X = torch.randn(3, 2, 4)
    outs = []
    for fast in (True, False):
        layer.fast = fast
        layer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            Y, _ = layer(X.bfloat16())
        Y.float().sum().backward()
        outs.append((Y.float(), layer.cells[0].W_h.grad.clone()))
    (fast_Y, fast_g), (plain_Y, plain_g) = outs
    torch.testing.assert_close(fast_Y, plain_Y, atol=3e-2, rtol=3e-2)  # bf16 projections in both
    torch.testing.assert_close(fast_g, plain_g, atol=5e-2, rtol=5e-2)


def test_regularised_lm_obeys_fast_false():
    net = build_lm(ModelConfig(cell="lstm", impl="scratch", hidden=6, embed=4, layers=2, dropout_output=0.2,
                               fast=False), 20)
    assert [r.fast for r in net.rnns] == [False, False]  # was [True, True]
    net = build_lm(ModelConfig(cell="lstm", impl="scratch", hidden=6, embed=4, layers=2, dropout_output=0.2), 20)
    assert [r.fast for r in net.rnns] == [True, True]


@pytest.mark.parametrize("attention", [False, True])
def test_seq2seq_token_ids_outside_the_vocabularies_are_named(attention):
    model = build_seq2seq(10, 12, embed=4, hidden=6, layers=2, attention=attention)
    src, tgt = torch.randint(0, 10, (3, 5)), torch.randint(0, 12, (3, 4))
    model(src, tgt)  # in range: runs
    with pytest.raises(SeqlabError, match="token id 1[0-9] in the source is out of range for its vocabulary of 10"):
        model(src + 10, tgt)
    with pytest.raises(SeqlabError, match="in the decoder input is out of range for its vocabulary of 12"):
        model(src, tgt + 12)


def test_packed_source_lengths_outside_the_padded_length_are_refused():
    model = build_seq2seq(10, 12, embed=4, hidden=6, layers=1, pack=True)
    src = torch.randint(0, 10, (2, 5))
    with pytest.raises(SeqlabError, match="within 0..5"):
        model.encoder(src, torch.tensor([6, 2]))  # was clamped to 5 silently


def test_masked_loss_names_a_label_outside_the_predictions():
    loss = MaskedSoftmaxCELoss()
    pred, label = torch.zeros(2, 3, 12), torch.ones(2, 3, dtype=torch.long)
    assert loss(pred, label, torch.tensor([3, 1])).shape == (2,)
    with pytest.raises(SeqlabError, match="label id 12 is out of range for predictions over 12"):
        loss(pred, label * 12, torch.tensor([3, 1]))


def test_ngram_perplexity_of_nothing_to_predict_is_an_error_not_nan():
    from seqlab.models.ngram import NGramLM
    stream = torch.tensor([0, 1, 2, 1, 0, 2, 1])
    bigram = NGramLM(3, 2).fit(stream)
    assert bigram.perplexity(stream[:2]) > 1
    for short in (stream[:1], stream[:0]):
        with pytest.raises(SeqlabError, match="nothing to predict"):
            bigram.perplexity(short)
    with pytest.raises(SeqlabError, match="nothing to predict"):
        NGramLM(3, 1).fit(stream).perplexity(stream[:0])


def test_detach_state_keeps_named_states():
    h = torch.randn(2, 3, 4, requires_grad=True) * 2
    s = detach_state(Seq2SeqState(h, h[-1]))  # a NamedTuple: was a TypeError
    assert isinstance(s, Seq2SeqState) and not s.hidden.requires_grad and torch.equal(s.context, h[-1].detach())
    a = detach_state(AttentionState(h, h, h, None))
    assert isinstance(a, AttentionState) and a.enc_valid_lens is None and not a.keys.requires_grad
    pair = detach_state((h, h))
    assert isinstance(pair, tuple) and not pair[0].requires_grad


def test_a_reserved_token_listed_twice_gets_one_id_and_the_vocabulary_reloads(tmp_path):
    v = Vocab(["a", "b", "a"], reserved_tokens=["<pad>", "<bos>", "<pad>"])
    assert v.idx_to_token == ["<unk>", "<pad>", "<bos>", "a", "b"] and v["<pad>"] == 1
    v.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json") == v  # was "a token appears twice"
    assert hash(Vocab(["a", "b", "a"], reserved_tokens=["<pad>", "<bos>"])) == hash(v)  # hashable, as the book's
    assert {v: 1}[Vocab(["a", "b", "a"], reserved_tokens=["<pad>", "<bos>"])] == 1


def test_models_of_runs_trained_before_the_new_run_checks_still_build():
    # --nonlinearity relu with a GRU was ignored before; a new run refuses it (lm_regularized.check_new_run)
    # but such a run's checkpoint must still load, generate and evaluate
    net = build_lm(ModelConfig(cell="gru", nonlinearity="relu", hidden=8), 10)
    assert net(torch.zeros(2, 3, dtype=torch.long))[0].shape == (6, 10)
