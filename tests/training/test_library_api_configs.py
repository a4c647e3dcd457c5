"""seqlab as a library: configs built in Python, corpora built in memory, checkpoints and devices
given as a script would give them. Each test is a finding of a review of the library API."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlab.cli import main
from seqlab.cli.translate import TranslateConfig
from seqlab.config import RunConfig, validated
from seqlab.data.corpora import LMCorpus
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.generation.sampling import generate
from seqlab.models.lm import ModelConfig
from seqlab.runtime import same_device
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.classify import ClassifyConfig, model_from_checkpoint as classifier_from_checkpoint
from seqlab.training.forecast import ForecastConfig, from_checkpoint as forecaster_from_checkpoint
from seqlab.training.lm import LMConfig, TrainConfig, fit_lm, model_from_checkpoint, vocab_from_checkpoint
from seqlab.training.translate import fit as fit_translator, load_translator

pytestmark = pytest.mark.usefixtures("one_thread")

QUIET = dict(log=lambda *_: None)
WORDS = "i like cats . we like dogs . cats like fish . dogs like us . ".split() * 40


def _word_corpus():
    vocab = Vocab(WORDS)
    ids = vocab.encode(WORDS)
    return LMCorpus("mine", "word", vocab, ids[:500], ids[500:])


def _config(out, **train):
    train = {"batch_size": 4, "num_steps": 5, "epochs": 1, **train}
    return LMConfig(model=ModelConfig(cell="gru", hidden=8, embed=4), train=TrainConfig(**train),
                    run=RunConfig(out=out))


@pytest.mark.parametrize("train, message", [
    ({"schedule": "linear"}, "config key 'schedule': 'linear' is not one of none, plateau, cosine, step"),
    ({"lr": "0.1"}, "config key 'lr': '0.1' is not a valid float"),
    ({"epochs": 1.5}, "config key 'epochs': 1.5 is not a valid int"),
])
def test_fit_lm_refuses_a_config_its_checkpoints_could_not_be_loaded_with(tmp_path, train, message):
    # it trained (an unknown schedule as none; a str lr failed inside the trainer with a TypeError) and
    # wrote checkpoints that model_from_checkpoint then called corrupted
    with pytest.raises(SeqlabError, match=message):
        fit_lm(_config(str(tmp_path / "run"), **train), _word_corpus(), "cpu", **QUIET)
    assert not (tmp_path / "run").exists()


def test_fit_lm_takes_numpy_numbers_and_a_path(tmp_path):
    # np.float32 lr trained an epoch, then failed to write its JSON (no checkpoint); a Path --out is natural
    cfg = _config(tmp_path / "run", lr=np.float32(0.5), batch_size=np.int64(4))
    record = fit_lm(cfg, _word_corpus(), "cpu", **QUIET)
    saved = load_checkpoint(tmp_path / "run").meta["config"]
    assert saved["train"]["lr"] == 0.5 and saved["train"]["batch_size"] == 4 and record["epoch"] == 1
    assert validated(cfg).run.out == str(tmp_path / "run")


def test_a_word_corpus_built_in_memory_keeps_its_level(tmp_path, capsys):
    # the config's default level (char) was recorded: generate split "i like" into characters
    fit_lm(_config(str(tmp_path / "run")), _word_corpus(), "cpu", **QUIET)
    net, cfg = model_from_checkpoint(tmp_path / "run")  # a run folder, the device "cpu" by default
    assert cfg.data.level == "word" and cfg.data.dataset is None and cfg.data.data is None
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(tmp_path / "run"), "--prefix", "i like", "--num-tokens", "3"]) == 0
    words = capsys.readouterr().out.split()
    assert words[:2] == ["i", "like"] and len(words) == 5
    # evaluate said "give exactly one of --dataset NAME or --data FILE" (evaluate has no --dataset)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run")]) == 2
    assert "trained on a corpus built in Python" in capsys.readouterr().err
    text = tmp_path / "other.txt"
    text.write_text(" ".join(WORDS[:200]) + "\n")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--data", str(text)]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] > 0


def test_loaders_take_a_run_folder_and_check_which(tmp_path):
    fit_lm(_config(str(tmp_path / "lm")), _word_corpus(), "cpu", **QUIET)
    with pytest.raises(SeqlabError, match="which='final': a run folder holds the checkpoints best and last"):
        load_checkpoint(tmp_path / "lm", "final")  # returned best
    for loader in (load_translator, classifier_from_checkpoint):  # 'str' object has no attribute 'meta'
        with pytest.raises(SeqlabError, match="holds a language model"):
            loader(str(tmp_path / "lm"))
    with pytest.raises(SeqlabError, match="holds a language model"):
        forecaster_from_checkpoint(tmp_path / "lm")
    with pytest.raises(SeqlabError, match="expected a checkpoint .* got int"):
        model_from_checkpoint(3)


@pytest.mark.parametrize("device, message", [("gpu", "unknown device 'gpu'"),
                                             ("cuda", "this machine has no CUDA GPU")])
def test_generate_and_loaders_name_a_device_they_cannot_use(tmp_path, device, message):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("the machine has a GPU")
    fit_lm(_config(str(tmp_path / "lm")), _word_corpus(), "cpu", **QUIET)
    net, _ = model_from_checkpoint(tmp_path / "lm")
    vocab = Vocab.from_dict(load_checkpoint(tmp_path / "lm").meta["vocab"])
    with pytest.raises(SeqlabError, match=message):  # AssertionError: Torch not compiled with CUDA enabled
        generate(net, vocab, ["i"], 3, level="word", device=device)
    with pytest.raises(SeqlabError, match=message):
        model_from_checkpoint(tmp_path / "lm", device)


def test_generate_refuses_a_device_the_model_is_not_on(tmp_path):
    fit_lm(_config(str(tmp_path / "lm")), _word_corpus(), "cpu", **QUIET)
    net, _ = model_from_checkpoint(tmp_path / "lm")
    vocab = Vocab.from_dict(load_checkpoint(tmp_path / "lm").meta["vocab"])
    assert generate(net, vocab, ["i"], 3, level="word", device="cpu")[0] == "i"
    with pytest.raises(SeqlabError, match="the model is on meta but device='cpu'"):
        generate(net.to("meta"), vocab, ["i"], 3, level="word", device="cpu")  # ids were moved, the model not


def test_same_device_reads_cuda_as_the_current_gpu():
    assert same_device(torch.device("cpu"), torch.device("cpu"))
    assert same_device(torch.device("cuda"), torch.device("cuda:0")) == (
        not torch.cuda.is_available() or torch.cuda.current_device() == 0)
    assert not same_device(torch.device("cuda:0"), torch.device("cuda:1"))
    assert not same_device(torch.device("cpu"), torch.device("meta"))


@pytest.mark.parametrize("cls", [TranslateConfig, ClassifyConfig, ForecastConfig])
def test_every_trainer_checks_its_config_before_writing(tmp_path, cls):
    from seqlab.training.classify import train_classifier
    from seqlab.training.forecast import train_forecaster

    cfg = cls(run=RunConfig(out=str(tmp_path / "run")))
    cfg.train.epochs = 1.5  # (a float from a script's arithmetic)
    trainer = {TranslateConfig: lambda c: fit_translator(c, **QUIET),
               ClassifyConfig: lambda c: train_classifier(c, device=torch.device("cpu"), **QUIET),
               ForecastConfig: lambda c: train_forecaster(c, **QUIET)}[cls]
    with pytest.raises(SeqlabError, match="config key 'epochs': 1.5 is not a valid int"):
        trainer(cfg)
    assert not Path(tmp_path / "run").exists()


def test_a_run_that_recorded_another_level_for_its_corpus_in_memory_resumes(tmp_path):
    # runs before the corpus's level was recorded saved the default 'char' for a word corpus built in
    # Python; a resume was refused ("trained with level 'char'; now level 'word'") whatever it set
    word = _word_corpus()
    as_before = LMCorpus("mine", "char", word.vocab, word.train, word.valid)
    fit_lm(_config(str(tmp_path / "run")), as_before, "cpu", **QUIET)
    cfg = _config(str(tmp_path / "run"))
    cfg.train.epochs, cfg.run.resume = 2, True
    assert fit_lm(cfg, word, "cpu", **QUIET)["epoch"] == 2
    assert load_checkpoint(tmp_path / "run", "last").meta["config"]["data"]["level"] == "char"  # its own record


def test_a_corpus_of_an_unknown_level_is_refused_before_writing(tmp_path):
    # 'words' was recorded unchecked: the run trained and its checkpoints were refused as corrupted
    word = _word_corpus()
    odd = LMCorpus("mine", "words", word.vocab, word.train, word.valid)
    with pytest.raises(SeqlabError, match="config key 'level': 'words' is not one of char, word"):
        fit_lm(_config(str(tmp_path / "run")), odd, "cpu", **QUIET)
    assert not (tmp_path / "run").exists()


def test_vocab_from_checkpoint_gives_the_runs_vocabulary_as_generate_reads_it(tmp_path, capsys):
    # model_from_checkpoint built the Vocab and dropped it: a script could not encode or decode
    corpus = _word_corpus()
    fit_lm(_config(str(tmp_path / "lm")), corpus, "cpu", **QUIET)
    net, _ = model_from_checkpoint(tmp_path / "lm")
    vocab = vocab_from_checkpoint(tmp_path / "lm")
    assert vocab.idx_to_token == corpus.vocab.idx_to_token  # the one it trained with
    assert vocab_from_checkpoint(load_checkpoint(tmp_path / "lm")).idx_to_token == vocab.idx_to_token
    ours = generate(net, vocab, ["i", "like"], 4, level="word")
    capsys.readouterr()
    assert main(["generate", "--checkpoint", str(tmp_path / "lm"), "--prefix", "i like", "--num-tokens", "4"]) == 0
    assert " ".join(ours) == capsys.readouterr().out.strip()  # greedy: what the CLI prints
    ckpt = load_checkpoint(tmp_path / "lm")
    ckpt.meta["task"] = "forecast"
    with pytest.raises(SeqlabError, match="holds a forecasting model, not a language model"):
        vocab_from_checkpoint(ckpt)
    ckpt.meta["task"], ckpt.meta["vocab"] = "lm", {"idx_to_token": ["a", "b"]}
    with pytest.raises(SeqlabError, match="corrupted or not a seqlab checkpoint: its vocabulary: .*index 0 must be"):
        vocab_from_checkpoint(ckpt)
