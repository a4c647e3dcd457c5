"""seqlab as a Python library, without the CLI: what a user's own script relies on.

Each test is a case a review of the library found broken: batches that no seed fixed, a trainer
that ignored its seed, a run that recorded other data than it trained on, "cpu" refused where a
torch.device was expected, an attention model that could not be copied, decoding with dropout on.
"""

import copy
import json
import random

import pytest
import torch

from seqlab.cli import main
from seqlab.config import RunConfig
from seqlab.data.corpora import load_lm_corpus
from seqlab.data.sampling import LMBatches
from seqlab.errors import SeqlabError
from seqlab.generation.translate import beam_search, decode
from seqlab.models.lm import ModelConfig, build_lm
from seqlab.models.seq2seq import build_seq2seq
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.lm import DataConfig, LMConfig, TrainConfig, evaluate_lm, fit_lm, train_epoch
from seqlab.training.translate import evaluate_loss, train_epoch as translate_epoch

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU

QUIET = dict(log=lambda *_: None)


def _first_batches(seed, epochs=4):
    random.seed(seed)
    batches = LMBatches(torch.arange(2000), batch_size=4, num_steps=35)
    return [next(iter(batches))[0][0, 0].item() for _ in range(epochs)]  # each epoch's random offset


def test_lm_batches_follow_random_seed_by_default():
    # without rng= the batches drew their offsets from a generator seeded by the OS: random.seed fixed nothing
    assert _first_batches(3) == _first_batches(3)
    assert any(_first_batches(s) != _first_batches(3) for s in (4, 5, 6))
    mine = random.Random(0)
    assert LMBatches(torch.arange(2000), 4, 35, rng=mine).rng is mine


def _config(out, **data):
    return LMConfig(data=DataConfig(**data), model=ModelConfig(cell="gru", hidden=16, embed=8),
                    train=TrainConfig(batch_size=8, num_steps=10, epochs=1, lr=0.01, optimizer="adam"),
                    run=RunConfig(out=str(out), seed=5))


@pytest.fixture(scope="module")
def book_chars():
    return load_lm_corpus("timemachine", level="char", max_tokens=3000)


def test_fit_lm_seeds_itself_and_records_the_corpus_it_trained_on(tmp_path, book_chars, capsys):
    torch.manual_seed(123)  # whatever the global state: the config's seed decides
    a = fit_lm(_config(tmp_path / "a"), book_chars, "cpu", **QUIET)  # a device as a string, as elsewhere
    torch.manual_seed(456)
    b = fit_lm(_config(tmp_path / "b"), book_chars, **QUIET)  # the config's device (auto: the CPU here)
    assert a["train_loss"] == b["train_loss"] and a["valid_loss"] == b["valid_loss"]
    # cfg.data left empty: filled in from the corpus, so that `seqlab evaluate` reads the same held-out text
    saved = load_checkpoint(tmp_path / "a", "best").meta["config"]["data"]
    assert (saved["dataset"], saved["level"], saved["max_tokens"]) == ("timemachine", "char", 3000)  # how, too
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(tmp_path / "a")]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == pytest.approx(a["valid_loss"], rel=1e-6)


def test_fit_lm_refuses_a_config_that_names_other_data(tmp_path, book_chars):
    with pytest.raises(SeqlabError, match="tinyshakespeare, char level.*is not the corpus given"):
        fit_lm(_config(tmp_path / "x", dataset="tinyshakespeare"), book_chars, "cpu", **QUIET)
    with pytest.raises(SeqlabError, match="word level"):
        fit_lm(_config(tmp_path / "y", dataset="timemachine", level="word"), book_chars, "cpu", **QUIET)
    # the same text built otherwise: a resume would have read all 170k characters where the run trained on 3,000
    with pytest.raises(SeqlabError, match="max_tokens None where the corpus was built with 3000"):
        fit_lm(_config(tmp_path / "z", dataset="timemachine"), book_chars, "cpu", **QUIET)
    assert not any((tmp_path / d).exists() for d in "xyz")  # refused before writing anything


def test_fit_lm_loads_the_corpus_its_config_names(tmp_path, book_chars):
    cfg = _config(tmp_path / "c", dataset="timemachine", max_tokens=3000)
    assert fit_lm(cfg, **QUIET)["train_loss"] == fit_lm(_config(tmp_path / "d"), book_chars, **QUIET)["train_loss"]


def test_train_and_evaluate_take_the_models_device_by_default(book_chars):
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="lstm", hidden=8, embed=4), len(book_chars.vocab))
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    batches = LMBatches(book_chars.train, 4, 10, rng=random.Random(0))
    loss, n, _ = train_epoch(net, batches, opt, "cpu", clip=1.0, carry_state=True)  # was AttributeError: str
    assert n == len(batches) * 40 and loss > 0
    assert evaluate_lm(net, book_chars.valid) == evaluate_lm(net, book_chars.valid, device="cpu")
    from seqlab.training.common import device_for

    assert device_for(net, "cpu") == torch.device("cpu")
    assert device_for(net.to("meta"), None) == torch.device("meta")  # None: the parameters' device, not "cpu"
    with pytest.raises(SeqlabError, match="the model is on meta but device='cpu' was asked for: move it there"):
        device_for(net, "cpu")  # (torch failed inside the first layer, or returned meta tensors)


def _nmt(attention, dropout=0.0):
    torch.manual_seed(0)
    return build_seq2seq(12, 14, embed=6, hidden=8, layers=2, dropout=dropout, attention=attention)


def _pairs(n=6, S=5):
    g = torch.Generator().manual_seed(1)
    X, Y = torch.randint(3, 12, (n, S), generator=g), torch.randint(3, 14, (n, S), generator=g)
    return X, torch.full((n,), S), Y, torch.full((n,), S)


@pytest.mark.parametrize("attention", [False, True])
def test_seq2seq_models_can_be_deep_copied_after_a_training_step(attention):
    # the attention decoder kept its last weights with their graph: copy.deepcopy refused the model
    # (keep-the-best copies, EMA) and the graph stayed alive between steps
    model = _nmt(attention)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    translate_epoch(model, [_pairs()], opt, bos=1, clip=1.0, device="cpu")
    twin = copy.deepcopy(model)
    X, X_len, Y, Y_len = _pairs()
    assert evaluate_loss(twin, [(X, X_len, Y, Y_len)], bos=1) == evaluate_loss(model, [(X, X_len, Y, Y_len)], bos=1)
    if attention:
        weights = model.decoder.attention_weights
        assert len(weights) == Y.shape[1] and not any(w.requires_grad for w in weights)
        assert torch.allclose(weights[0].sum(-1), torch.ones(6, 1))


def test_attention_model_takes_valid_lengths_as_a_list():
    X, _, Y, _ = _pairs()
    model = _nmt(True).eval()
    lengths = [5, 4, 3, 5, 2, 1]
    out_list, _ = model(X, Y, lengths)
    out_tensor, _ = model(X, Y, torch.tensor(lengths))
    assert torch.equal(out_list, out_tensor)


@pytest.mark.parametrize("attention", [False, True])
def test_decoding_runs_in_eval_mode_and_gives_the_modes_back(attention):
    model = _nmt(attention, dropout=0.5)  # dropout on: decoding in train mode varied from call to call
    X, X_len, _, _ = _pairs()
    model.train()
    model.encoder.eval()  # mixed modes come back as they were
    runs = [[h.tokens for h in decode(model, X, X_len, 1, 2, beam_size=k, max_len=6)] for k in (1, 1, 3, 3)]
    assert model.training and not model.encoder.training and model.decoder.training
    reference = copy.deepcopy(model).eval()
    assert runs[0] == runs[1] == [h.tokens for h in decode(reference, X, X_len, 1, 2, max_len=6)]
    assert runs[2] == runs[3] == [b[0].tokens for b in beam_search(reference, X, X_len, 1, 2, 3, 6)]


def test_generate_refuses_a_string_prefix_for_a_word_model():
    # a one-letter word read as a character went through silently ('a' is a word and a letter)
    from seqlab.data.vocab import Vocab
    from seqlab.generation.sampling import generate

    vocab = Vocab("a cat sat on a mat".split(), reserved_tokens=["<eos>"])
    torch.manual_seed(0)
    net = build_lm(ModelConfig(cell="gru", hidden=8, embed=4), len(vocab))
    with pytest.raises(SeqlabError, match="vocabulary holds words.*level='word'"):
        generate(net, vocab, "a", 3)
    assert generate(net, vocab, ["a"], 3, level="word")[0] == "a"
    chars = Vocab(list("a cat"), reserved_tokens=["<eos>"])  # specials do not make a vocabulary one of words
    net = build_lm(ModelConfig(cell="gru", hidden=8, embed=4), len(chars))
    assert generate(net, chars, "a", 3)[0] == "a"


def test_recurrent_forecaster_refuses_a_single_window_clearly():
    from seqlab.models.forecaster import RNNForecaster

    net = RNNForecaster("gru", 4)
    assert net(torch.randn(3, 5)).shape == (3, 1)
    with pytest.raises(SeqlabError, match=r"\(B, tau\).*x\[None\]"):  # was an IndexError inside the model
        net(torch.randn(5))


def test_a_checkpoint_without_a_task_is_named_so(tmp_path):
    from seqlab.training.checkpoint import expect_task, save_checkpoint

    save_checkpoint(tmp_path / "m.safetensors", model=torch.nn.Linear(2, 2), meta={"epoch": 1})
    with pytest.raises(SeqlabError, match="holds a model of no known kind .*, not a language model"):
        expect_task(load_checkpoint(tmp_path / "m.safetensors"), "lm")


def test_forecast_predictions_run_in_the_models_precision_and_report_keeps_its_mode():
    # a float64 series (numpy's default) met a float32 model inside nn.Linear: a dtype traceback;
    # report() left the model in eval mode
    from seqlab.models.forecaster import build_forecaster
    from seqlab.training.forecast import Series, multistep, one_step, report

    x = torch.sin(torch.arange(120, dtype=torch.float64) * 0.1)
    series = Series(x, tau=4, n_train=80)
    torch.manual_seed(0)
    net = build_forecaster("mlp", 4, 8)
    low = one_step(net, series)
    assert low.dtype == torch.float32 and multistep(net, series, 84, 10).shape == (10,)  # the model's precision
    twin = copy.deepcopy(net).double()
    assert torch.allclose(one_step(twin, series).float(), low, atol=1e-5)
    assert one_step(twin, Series(x.float(), tau=4, n_train=80)).dtype == torch.float64  # a float32 series too
    net.train()
    out = report(net, series)
    assert net.training and out["one_step_mse"] > 0 and out["one_step_naive_mse"] > 0


def test_a_run_saved_before_corpora_recorded_their_build_options_resumes(tmp_path, book_chars, monkeypatch):
    # runs made by fit_lm before today recorded cfg.data without max_tokens/min_freq/max_vocab (or empty):
    # filling those in from the corpus on --resume made check_resume_config refuse every way to resume them
    import dataclasses

    import seqlab.training.lm as lm

    def as_before(cfg, corpus, resumed=None):  # what fit_lm recorded then: the data set and level only
        return dataclasses.replace(cfg, data=DataConfig(dataset=corpus.name, level=corpus.level))

    with monkeypatch.context() as m:
        m.setattr(lm, "data_config_for", as_before)
        m.setattr(lm, "DATA_RECORDED", "no_such_key")
        fit_lm(_config(tmp_path / "old"), book_chars, "cpu", **QUIET)
    old = load_checkpoint(tmp_path / "old", "last").meta
    assert "data_recorded" not in old and old["config"]["data"]["max_tokens"] is None
    again = dataclasses.replace(_config(tmp_path / "old"), train=TrainConfig(batch_size=8, num_steps=10, epochs=2,
                                                                              lr=0.01, optimizer="adam"))
    resumed = dataclasses.replace(again, run=RunConfig(out=str(tmp_path / "old"), seed=5, resume=True))
    assert fit_lm(resumed, book_chars, "cpu", **QUIET)["epoch"] == 2  # an empty cfg.data takes the run's record
    named = dataclasses.replace(resumed, data=DataConfig(dataset="timemachine"),
                                train=dataclasses.replace(resumed.train, epochs=3))
    assert fit_lm(named, book_chars, "cpu", **QUIET)["epoch"] == 3  # or names its data set, as recorded
    assert load_checkpoint(tmp_path / "old", "last").meta["data_recorded"] is False  # still the old record
