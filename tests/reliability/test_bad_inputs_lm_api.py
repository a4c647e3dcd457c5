"""Bad input to the language-model API (models, generation, training helpers, the d2l names):
each gives a SeqlabError that says what was wrong, never a deep torch error or a silent
wrong result. One test (or parametrised group) per finding of the review."""

import math

import pytest
import torch
from torch import nn

from seqlab import d2l
from seqlab.data.corpora import LMCorpus
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.generation.sampling import generate, generate_batch, predict_ch8
from seqlab.models.lm import ModelConfig, RNNModel, build_lm
from seqlab.models.recurrent import ScratchRNN
from seqlab.config import RunConfig
from seqlab.training.lm import LMConfig, TrainConfig, fit_lm, train_epoch
from seqlab.training.lm_eval import evaluate_lm
from seqlab.training.metrics import perplexity

V = 10
TEXT = "the time machine by h g wells "
CHARS = Vocab(list(TEXT))
WORDS = Vocab(TEXT.split())


def scratch_book(vocab_size=V, hidden=8):
    return d2l.RNNModelScratch(vocab_size, hidden, "cpu", d2l.get_params, d2l.init_rnn_state, d2l.rnn)


# every LM variant: one-hot fused, embedding, fast scratch, plain scratch, AWD, the book's functional model
MODELS = {
    "one-hot lstm": lambda: RNNModel(nn.LSTM(V, 8), V),
    "embedding gru": lambda: build_lm(ModelConfig(cell="gru", hidden=8, embed=6), V),
    "fast scratch lstm": lambda: build_lm(ModelConfig(cell="lstm", impl="scratch", hidden=8), V),
    "plain scratch lstm": lambda: build_lm(ModelConfig(cell="lstm", impl="scratch", hidden=8, fast=False), V),
    "regularized lstm": lambda: build_lm(ModelConfig(cell="lstm", hidden=8, embed=6, dropout_input=0.1), V),
    "book scratch rnn": scratch_book,
}


# --- 1. token ids outside the vocabulary --------------------------------------------------------
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("bad", [12, V, -1])
def test_token_ids_out_of_range_are_refused(name, bad):
    net = MODELS[name]()
    with pytest.raises(SeqlabError, match=f"token id {bad} is out of range for a vocabulary of {V}"):
        net(torch.tensor([[1, bad]]), net.begin_state(1))
    net(torch.tensor([[1, V - 1]]), net.begin_state(1))  # the last id is fine


@pytest.mark.parametrize("cfg", [ModelConfig(cell="lstm", hidden=8, embed=6),
                                 ModelConfig(cell="gru", impl="scratch", hidden=8, embed=6),
                                 ModelConfig(cell="lstm", hidden=8, embed=6, dropout_input=0.1)],
                         ids=["fused", "scratch", "regularized"])
def test_off_the_cpu_the_checks_read_no_values(cfg):
    # the meta device (shapes, no data) stands in for CUDA: reading a value there (a host sync on
    # CUDA) would fail, so the range check is skipped and the shape checks still run
    net = build_lm(cfg, V).to("meta")
    X = torch.full((2, 3), V + 2, device="meta")
    assert net(X, net.begin_state(2, "meta"))[0].shape == (6, V)
    with pytest.raises(SeqlabError, match="state has batch 3 but the input has batch 2"):
        net(X, net.begin_state(3, "meta"))


# --- 2. model and vocabulary of different sizes in generation --------------------------------------
@pytest.mark.parametrize("extra", [5, -3])
@pytest.mark.parametrize("make", [lambda n: d2l.RNNModel(nn.GRU(n, 8), vocab_size=n),
                                  lambda n: scratch_book(n)], ids=["RNNModel", "RNNModelScratch"])
def test_generation_refuses_a_model_of_another_vocabulary(make, extra):
    net = make(len(CHARS) + extra)
    msg = f"the model predicts {len(CHARS) + extra} tokens but the vocabulary has {len(CHARS)}"
    with pytest.raises(SeqlabError, match=msg):
        d2l.predict_ch8("time", 5, net, CHARS, "cpu")
    with pytest.raises(SeqlabError, match=msg):
        generate(net, CHARS, "time", 5)


def test_generation_with_the_right_vocabulary_still_works():
    net = d2l.RNNModel(nn.GRU(len(CHARS), 8), vocab_size=len(CHARS))
    assert d2l.predict_ch8("time", 5, net, CHARS, "cpu").startswith("time")  # (a generated <unk> is 5 chars)
    assert len(generate(net, CHARS, "time", 5)) == 9
    assert len(generate(net, CHARS, "time", 3, temperature=1.0, top_k=2, seed=0)) == 7


# --- 3. a state of the wrong shape ----------------------------------------------------------------
SCRATCH_LSTMS = {
    "fast scratch": lambda: build_lm(ModelConfig(cell="lstm", impl="scratch", hidden=8), V),
    "plain scratch": lambda: build_lm(ModelConfig(cell="lstm", impl="scratch", hidden=8, fast=False), V),
    "fused": lambda: build_lm(ModelConfig(cell="lstm", impl="fused", hidden=8), V),
}


@pytest.mark.parametrize("name", SCRATCH_LSTMS)
def test_state_of_another_batch_size_is_refused(name):
    net = SCRATCH_LSTMS[name]()
    X = torch.randint(0, V, (2, 5))
    with pytest.raises(SeqlabError, match=r"state has batch 3 but the input has batch 2.*begin_state"):
        net(X, net.begin_state(3))


@pytest.mark.parametrize("name", SCRATCH_LSTMS)
def test_state_of_another_hidden_size_is_refused(name):
    net = SCRATCH_LSTMS[name]()
    h = torch.zeros(1, 2, 9)
    with pytest.raises(SeqlabError, match="state has hidden size 9 but the model's is 8"):
        net(torch.randint(0, V, (2, 5)), (h, h.clone()))


@pytest.mark.parametrize("name", SCRATCH_LSTMS)
def test_lstm_given_only_h_is_refused(name):
    net = SCRATCH_LSTMS[name]()
    h, _ = net.begin_state(2)
    with pytest.raises(SeqlabError, match=r"a pair of 2 tensors.*\(h, c\)"):
        net(torch.randint(0, V, (2, 5)), h)


def test_book_scratch_model_refuses_a_state_of_another_batch_size():
    # before: broadcasting gave (6, 28) logits for a (1, 2) input, silently
    net = d2l.RNNModelScratch(28, 8, "cpu", d2l.get_params, d2l.init_rnn_state, d2l.rnn)
    with pytest.raises(SeqlabError, match="state has batch 3 but the input has batch 1"):
        net(torch.tensor([[1, 2]]), net.begin_state(3, "cpu"))
    assert net(torch.tensor([[1, 2]]), net.begin_state(1, "cpu"))[0].shape == (2, 28)


def test_regularized_model_refuses_a_state_of_another_batch_size():
    net = MODELS["regularized lstm"]()
    with pytest.raises(SeqlabError, match="state has batch 4 but the input has batch 2"):
        net(torch.randint(0, V, (2, 3)), net.begin_state(4))
    with pytest.raises(SeqlabError, match=r"the state is a list of 2 entries but this model's state is a list of 1 entries \(one per layer\)"):
        net(torch.randint(0, V, (2, 3)), net.begin_state(2) * 2)


# --- 4. a batch-first layer -------------------------------------------------------------------------
def test_batch_first_layer_is_refused():
    with pytest.raises(SeqlabError, match="batch_first"):
        RNNModel(nn.GRU(6, 4, batch_first=True), 6)


# --- 5. held-out evaluation arguments -------------------------------------------------------------
@pytest.mark.parametrize("kwargs, fragment", [
    ({"num_steps": -5}, "num_steps must be a positive integer, got -5"),
    ({"num_steps": 0}, "num_steps must be a positive integer, got 0"),
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ({"batch_size": -2}, "batch_size must be a positive integer, got -2"),
])
def test_evaluate_ppl_bad_arguments(kwargs, fragment):
    net = scratch_book(28)
    with pytest.raises(SeqlabError, match=fragment):
        d2l.evaluate_ppl(net, list(range(20)), "cpu", **kwargs)


@pytest.mark.parametrize("corpus", [[], torch.tensor([], dtype=torch.long)])
def test_evaluate_ppl_on_an_empty_corpus(corpus):
    with pytest.raises(SeqlabError, match="held-out token ids are empty"):
        d2l.evaluate_ppl(scratch_book(28), corpus, "cpu")


@pytest.mark.parametrize("eval_batch_size", [0, -4])
def test_fit_lm_refuses_a_bad_eval_batch_size_before_training(tmp_path, eval_batch_size):
    ids = CHARS.encode(list(TEXT * 10))
    corpus = LMCorpus("tiny", "char", CHARS, ids[:250], ids[250:])
    cfg = LMConfig(model=ModelConfig(hidden=8), run=RunConfig(out=str(tmp_path / "run")),
                   train=TrainConfig(batch_size=2, num_steps=5, epochs=1, eval_batch_size=eval_batch_size))
    with pytest.raises(SeqlabError, match="eval_batch_size must be a positive integer"):
        fit_lm(cfg, corpus, torch.device("cpu"), log=lambda *_: None)
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


# --- 6. gradient clipping threshold -----------------------------------------------------------------
@pytest.mark.parametrize("theta", [-1, 0, float("nan")])
def test_grad_clipping_refuses_a_non_positive_theta(theta):
    net = nn.Linear(3, 2)
    net(torch.randn(4, 3)).sum().backward()
    before = [p.grad.clone() for p in net.parameters()]
    with pytest.raises(SeqlabError, match="theta must be > 0"):
        d2l.grad_clipping(net, theta)
    assert all(torch.equal(p.grad, g) for p, g in zip(net.parameters(), before))  # untouched


# --- 7. training loops on empty input ---------------------------------------------------------------
def test_train_ch8_on_no_batches():
    net = d2l.RNNModel(nn.GRU(len(CHARS), 8), vocab_size=len(CHARS))
    with pytest.raises(SeqlabError, match="the data iterator yielded no batches"):
        d2l.train_ch8(net, [], CHARS, 1, 1, "cpu", plot_path=None, verbose=False)


@pytest.mark.parametrize("num_epochs", [0, -1, 1.5, True])
def test_train_ch8_needs_at_least_one_epoch(num_epochs):
    net = d2l.RNNModel(nn.GRU(len(CHARS), 8), vocab_size=len(CHARS))
    batches = [(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))]
    with pytest.raises(SeqlabError, match="num_epochs must be a positive integer"):
        d2l.train_ch8(net, batches, CHARS, 1, num_epochs, "cpu", plot_path=None, verbose=False)


def test_train_epoch_on_no_batches():
    net = build_lm(ModelConfig(hidden=8), V)
    opt = torch.optim.SGD(net.parameters(), 0.1)
    with pytest.raises(SeqlabError, match="yielded no batches"):
        train_epoch(net, [], opt, torch.device("cpu"), clip=1.0, carry_state=True)


# --- 8. constructors and begin_state ------------------------------------------------------------------
def test_scratch_rnn_constructor_sizes():
    with pytest.raises(SeqlabError, match="hidden_size must be a positive integer, got 0"):
        ScratchRNN("lstm", 10, 0)
    with pytest.raises(SeqlabError, match="num_layers must be a positive integer, got 0"):
        ScratchRNN("lstm", 10, 4, 0)
    with pytest.raises(SeqlabError, match="input_size must be a positive integer, got 0"):
        ScratchRNN("gru", 0, 4)


def test_book_scratch_model_needs_hidden_units():
    with pytest.raises(SeqlabError, match="num_hiddens must be a positive integer, got 0"):
        scratch_book(28, hidden=0)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("batch", [-1, 0])
def test_begin_state_needs_a_positive_batch(name, batch):
    with pytest.raises(SeqlabError, match=f"batch_size must be a positive integer, got {batch}"):
        MODELS[name]().begin_state(batch)


def test_scratch_rnn_begin_state_needs_a_positive_batch():
    with pytest.raises(SeqlabError, match="batch_size must be a positive integer, got -1"):
        ScratchRNN("gru", 3, 4).begin_state(-1)


# --- 9. generation arguments ----------------------------------------------------------------------------
def test_word_level_prefix_given_as_one_string():
    net = d2l.RNNModel(nn.GRU(len(WORDS), 8), vocab_size=len(WORDS))
    with pytest.raises(SeqlabError, match=r"a list of words.*\.split\(\)"):
        generate(net, WORDS, "the time", 3, level="word")
    assert generate(net, WORDS, "the time".split(), 3, level="word")[:2] == ["the", "time"]


@pytest.mark.parametrize("num_preds", [2.5, True, "3"])
def test_predict_ch8_needs_an_integer_count(num_preds):
    net = d2l.RNNModel(nn.GRU(len(CHARS), 8), vocab_size=len(CHARS))
    with pytest.raises(SeqlabError, match=r"number of tokens to generate must be >= 0 \(an integer\)"):
        predict_ch8("time", num_preds, net, CHARS, "cpu")


@pytest.mark.parametrize("top_k", [2.5, True])
def test_top_k_must_be_an_integer(top_k):
    net = d2l.RNNModel(nn.GRU(len(CHARS), 8), vocab_size=len(CHARS))
    with pytest.raises(SeqlabError, match="top-k must be a positive integer"):
        generate(net, CHARS, "time", 3, top_k=top_k)


def test_num_samples_must_be_an_integer():
    net = d2l.RNNModel(nn.GRU(len(CHARS), 8), vocab_size=len(CHARS))
    with pytest.raises(SeqlabError, match=r"number of samples must be at least 1 \(an integer\)"):
        generate_batch(net, [[1, 2]], 3, num_samples=1.5)


# --- 10. perplexity of a NaN loss -------------------------------------------------------------------------
def test_perplexity_keeps_nan():
    assert math.isnan(perplexity(float("nan"), 5))
    assert perplexity(1e6, 5) == float("inf") and perplexity(0.0, 5) == 1.0


def test_evaluate_lm_still_scores_a_good_stream():
    net = scratch_book(V)
    loss_sum, n = evaluate_lm(net, torch.arange(V), batch_size=2, num_steps=3)
    assert n == V - 1 and math.isfinite(loss_sum)


# --- a state of another dtype than a fused layer's weights (torch: "get_mkldnn_dtype: unsupported") ---
@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16])
def test_a_fused_model_names_a_state_of_another_dtype(dtype):
    net = MODELS["one-hot lstm"]()
    state = tuple(s.to(dtype) for s in net.begin_state(2))
    with pytest.raises(SeqlabError, match=f"the state is {dtype} but the model's weights are torch.float32"):
        net(torch.tensor([[1, 2], [3, 4]]), state)
    wide = RNNModel(nn.LSTM(V, 8), V).double()  # a float64 model takes its own float64 state
    assert wide(torch.tensor([[1, 2]]), wide.begin_state(1))[0].dtype == torch.float64


@pytest.mark.parametrize("min_freq", ["2", None, True])
def test_vocab_refuses_a_min_freq_that_is_not_a_number(min_freq):
    with pytest.raises(SeqlabError, match="min_freq must be a number"):
        Vocab(list(TEXT), min_freq)  # TypeError: '<' not supported between 'int' and 'str'
