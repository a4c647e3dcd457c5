"""Mutation audit of `train translate`: the best epoch when valid losses tie or come back down, the
metadata a resumed run reads its best loss from, the figures of each epoch's record, and what
`bleu_on` and `translate_pairs` score and decode."""

import json
import math
from types import SimpleNamespace

import pytest
import torch

import seqlab.training.translate as tr
from seqlab.cli.translate import TranslateConfig
from seqlab.config import replace
from seqlab.data.vocab import Vocab
from seqlab.models.seq2seq import Decoder, Encoder, EncoderDecoder
from seqlab.training.checkpoint import load_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")


def _pairs(path, n=20):
    path.write_text("".join(f"w{i % 7} x{i % 3} .\tv{i % 7} y{i % 3} !\n" for i in range(n)), encoding="utf-8")
    return path


def test_best_epoch_is_the_first_lowest_valid_loss_and_each_record_its_own_figures(tmp_path, monkeypatch):
    # held-out losses per token 3, 1, 2, then 1 again: lower than the last epoch's, but a tie with the
    # best, which stays at epoch 2
    script = iter([3.0, 1.0, 2.0, 1.0])
    monkeypatch.setattr(tr, "evaluate_loss", lambda *a, **k: {"loss_sum": 10 * next(script), "tokens": 10})
    cfg = replace(TranslateConfig(), data=str(_pairs(tmp_path / "pairs.txt")), num_steps=5, embed=4, hidden=4,
                  layers=1, dropout=0.0, epochs=4, batch_size=16, bleu_every=3, bleu_sentences=4, valid_frac=0.2,
                  test_frac=0.0, min_freq=1, device="cpu", out=str(tmp_path / "run"))
    record = tr.fit(cfg, log=lambda *a: None)
    assert record["best_epoch"] == 2
    best, last = load_checkpoint(tmp_path / "run", "best"), load_checkpoint(tmp_path / "run", "last")
    assert (best.meta["epoch"], best.meta["valid_loss"], best.meta["best_valid_loss"]) == (2, 1.0, 1.0)
    assert (last.meta["epoch"], last.meta["best_epoch"], last.meta["best_valid_loss"]) == (4, 2, 1.0)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["valid_loss"] for r in records] == [3.0, 1.0, 2.0, 1.0]
    assert [r["valid_ppl"] for r in records] == pytest.approx([math.exp(v) for v in (3.0, 1.0, 2.0, 1.0)])
    assert all(r["train_ppl"] == pytest.approx(math.exp(r["train_loss"])) for r in records)
    # --bleu-every 3 over 4 epochs: epoch 3, and the last one
    assert [r["epoch"] for r in records if r["valid_bleu"] is not None] == [3, 4]


def test_the_epoch_of_best_safetensors_from_a_runs_metrics_is_the_first_lowest():
    records = [{"epoch": 1, "valid_loss": 2.0}, {"epoch": 2, "valid_loss": 1.0}, {"epoch": 3, "valid_loss": 1.0},
               {"epoch": 4, "valid_loss": None}]
    assert tr._first_lowest(records) == 2


def test_bleu_on_scores_the_translations_against_the_targets(monkeypatch):
    pairs = [(["go", "there", "now", "."], ["va", "la", "maintenant", "."]),
             (["i", "am", "calm", "."], ["je", "suis", "calme", "."])]
    monkeypatch.setattr(tr, "translate_pairs", lambda model, pairs, data, **k: [list(p[1]) for p in pairs])
    result = tr.bleu_on(None, pairs, None)
    assert result["bleu"] == pytest.approx(100.0)
    assert (result["tokens"], result["sentences"]) == (8, 2)


class _NoEncoder(Encoder):
    def forward(self, X, *args):
        return X


class _AlwaysX(Decoder):
    """Writes token `x` after every token: a translation that never ends."""

    def __init__(self, vocab_size, x):
        super().__init__()
        self.logits = torch.full((vocab_size,), -5.0)
        self.logits[x] = 5.0

    def init_state(self, enc_outputs, *args):
        return torch.zeros(enc_outputs.shape[0], 1)

    def forward(self, X, state):
        return self.logits.expand(*X.shape, -1), state

    def reorder_state(self, state, index):
        return state.index_select(0, index)


def test_translations_run_to_num_steps_by_default_as_seqlab_translate_does():
    reserved = ["<pad>", "<bos>", "<eos>"]
    src, tgt = Vocab([["a"]], reserved_tokens=reserved), Vocab([["x"]], reserved_tokens=reserved)
    model = EncoderDecoder(_NoEncoder(), _AlwaysX(len(tgt), tgt["x"]))
    data = SimpleNamespace(src_vocab=src, tgt_vocab=tgt, num_steps=5)
    for beam in (1, 2):
        assert tr.translate_pairs(model, [(["a"], ["x"])], data, beam_size=beam) == [["x"] * 5]
        assert tr.translate_pairs(model, [(["a"], ["x"])], data, beam_size=beam, max_len=3) == [["x"] * 3]


def test_a_held_out_loss_past_exps_range_is_an_infinite_perplexity_written_as_null(tmp_path, monkeypatch):
    # as a language model's (metrics.perplexity); it was exp(700), 1.01e304, a finite figure
    script = iter([800.0, 1.0])
    monkeypatch.setattr(tr, "evaluate_loss", lambda *a, **k: {"loss_sum": 10 * next(script), "tokens": 10})
    cfg = replace(TranslateConfig(), data=str(_pairs(tmp_path / "pairs.txt")), num_steps=5, embed=4, hidden=4,
                  layers=1, dropout=0.0, epochs=2, batch_size=16, bleu_every=0, valid_frac=0.2, test_frac=0.0,
                  min_freq=1, device="cpu", out=str(tmp_path / "run"))
    tr.fit(cfg, log=lambda *a: None)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["valid_ppl"] for r in records] == [None, pytest.approx(math.e)]
