"""SPEC §4: `train lm` reports the counting baselines it has to beat (uniform, add-k unigram and
bigram, fitted on the training split) on the valid split's tokens, as its own valid_ppl counts
them: in its opening lines and in report.json."""

import collections
import json
import math

import pytest
import torch

from seqlab.cli import main
from seqlab.data.corpora import LMCorpus
from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.models.ngram import NGramLM, heldout_baselines
from seqlab.training.lm import DataConfig, LMConfig, ModelConfig, RunConfig, TrainConfig, fit_lm


def test_baselines_by_hand():
    # V = 3; train 0 1 0 1 2: counts 0:2 1:2 2:1 (N = 5); pairs (0,1) x2, (1,0), (1,2); contexts 0:2 1:2.
    # valid 0 1 2: the model predicts 1 (after 0) and 2 (after 1), as evaluate_lm scores it
    train, valid = torch.tensor([0, 1, 0, 1, 2]), torch.tensor([0, 1, 2])
    b = heldout_baselines(train, valid, 3, ks=(1.0,))
    # unigram add-1: p(1) = (2+1)/(5+3) = 3/8, p(2) = (1+1)/8; bigram: p(1|0) = (2+1)/(2+3), p(2|1) = (1+1)/(2+3)
    assert b["tokens"] == 2 and b["uniform"] == 3.0
    assert b["unigram"] == pytest.approx(math.sqrt(32 / 3)) and b["unigram_k"] == 1.0
    assert b["bigram"] == pytest.approx(5 / math.sqrt(6)) and b["bigram_k"] == 1.0
    # k = 0.1: unigram 5.3 / sqrt(2.1 * 1.1) = 3.49 (worse than add-1's 3.27), bigram 2.3 / sqrt(2.1 * 1.1)
    # = 1.51 (better than 2.04): each keeps its own best k
    b = heldout_baselines(train, valid, 3, ks=(1.0, 0.1))
    assert (b["unigram_k"], b["bigram_k"]) == (1.0, 0.1)
    assert b["unigram"] == pytest.approx(math.sqrt(32 / 3)) and b["bigram"] == pytest.approx(2.3 / math.sqrt(2.31))


def test_a_word_vocabulary_is_counted_without_a_vocab_squared_table():
    # a dense bigram table of V = 10**6 would be 8 TB of float64 (WikiText-2's 33,278 words: 8.7 GB)
    V = 10**6
    lm = NGramLM(V, 2, k=1.0).fit(torch.tensor([5, 999_999, 5, 7]))
    # contexts 5 (twice) and 999999 (once): p(999999 | 5) = p(7 | 5) = (1 + 1) / (2 + V), p(5 | 999999) =
    # (1 + 1) / (1 + V); p(3 | 7): 7 is never a context, so 1 / V
    assert torch.exp(lm.log_probs(torch.tensor([5, 999_999, 5, 7, 3]))).tolist() == pytest.approx(
        [2 / (2 + V), 2 / (1 + V), 2 / (2 + V), 1 / V])


def _twin(train: list[int], valid: list[int], V: int, ks=(1.0, 0.1, 0.01, 0.001)) -> dict:
    """The baselines counted with Counters, each k picked as the best on `valid`."""
    uni, pairs = collections.Counter(train), collections.Counter(zip(train, train[1:]))
    ctx = collections.Counter(train[:-1])

    def ppl(probs):
        return math.exp(-sum(math.log(p) for p in probs) / len(probs))

    unigram = {k: ppl([(uni[w] + k) / (len(train) + k * V) for w in valid[1:]]) for k in ks}
    bigram = {k: ppl([(pairs[u, w] + k) / (ctx[u] + k * V) for u, w in zip(valid, valid[1:])]) for k in ks}
    ku, kb = min(unigram, key=unigram.get), min(bigram, key=bigram.get)
    return {"uniform": V, "tokens": len(valid) - 1, "unigram": unigram[ku], "unigram_k": ku, "bigram": bigram[kb],
            "bigram_k": kb}


def test_fit_lm_says_the_baselines_first_and_keeps_them_in_report_json(tmp_path):
    text = "abcab abd ba " * 30
    vocab = Vocab(list(text))
    ids = vocab.encode(list(text))
    corpus = LMCorpus("tiny", "char", vocab, ids[:300], ids[300:])
    cfg = LMConfig(data=DataConfig(), model=ModelConfig(cell="gru", impl="scratch", hidden=8, embed=4),
                   train=TrainConfig(batch_size=4, num_steps=8, epochs=1, lr=0.1), run=RunConfig(out=str(tmp_path)))
    logged = []
    fit_lm(cfg, corpus, torch.device("cpu"), log=logged.append)
    want = _twin(ids[:300].tolist(), ids[300:].tolist(), len(vocab))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["baseline"] == pytest.approx(want) and report["best_epoch"] == 1
    line = next(i for i, line in enumerate(logged) if line.startswith("counting baselines"))
    assert line < next(i for i, line in enumerate(logged) if line.startswith("epoch 1:"))
    assert (f"over the same {len(ids) - 301:,} predictions as the model's: uniform {len(vocab)}, unigram "
            f"{want['unigram']:.3f} (add-{want['unigram_k']:g}), bigram {want['bigram']:.3f}") in logged[line]


def test_the_baselines_score_the_tokens_evaluate_scores(tmp_path, capsys):
    text, out = tmp_path / "tiny.txt", tmp_path / "run"
    text.write_text("the time traveller for so it will be convenient to speak of him\n" * 12)
    assert main(["train", "lm", "--data", str(text), "--level", "char", "--hidden", "8", "--embed", "4", "--epochs",
                 "1", "--batch-size", "4", "--num-steps", "10", "--device", "cpu", "--out", str(out)]) == 0
    assert "counting baselines, fitted on the training split" in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint", str(out), "--split", "valid"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert json.loads((out / "report.json").read_text())["baseline"]["tokens"] == evaluated["tokens"] > 0


def test_the_baseline_line_says_when_the_split_is_too_small_for_its_k():
    from seqlab.training.lm_records import SMALL_SPLIT, baseline_line

    small = heldout_baselines(torch.tensor([0, 1, 0, 1, 2] * 20), torch.tensor([0, 1, 2]), 3)
    assert small["tokens"] == 2 < SMALL_SPLIT and "read these loosely" in baseline_line(small)
    large = heldout_baselines(torch.tensor([0, 1, 0, 1, 2] * 20), torch.tensor([0, 1, 2] * 400), 3)
    assert large["tokens"] == 1199 >= SMALL_SPLIT and "loosely" not in baseline_line(large)


@pytest.mark.parametrize("heldout", [torch.tensor([1]), torch.tensor([[0, 1], [1, 2]])])
def test_a_heldout_split_that_makes_no_prediction_is_refused_naming_its_shape(heldout):
    with pytest.raises(SeqlabError, match=r"needs a held-out split of at least two tokens, got \("):
        heldout_baselines(torch.tensor([0, 1, 2, 1]), heldout, 3)


def test_the_baseline_line_names_each_models_own_k_and_a_split_of_1000_is_not_small():
    from seqlab.training.lm_records import baseline_line

    line = baseline_line({"tokens": 1000, "uniform": 3.0, "unigram": 2.5, "unigram_k": 1.0, "bigram": 1.5,
                          "bigram_k": 0.01})
    assert "uniform 3, unigram 2.500 (add-1), bigram 1.500 (add-0.01;" in line
    assert "loosely" not in line  # "under 1000" predictions is what a small split is (SMALL_SPLIT)
    assert "loosely" in baseline_line({"tokens": 999, "uniform": 3.0, "unigram": 2.5, "unigram_k": 1.0,
                                       "bigram": 1.5, "bigram_k": 0.01})


def test_the_sparse_bigram_counts_as_a_counter_does():
    # streams fitted one after the other add up (no pair across them), a pair past every pair seen
    # (the code u * V + w above the largest kept) and a model fitted on one token (no pair at all)
    # are counted as collections.Counter counts them: p(w | u) = (count(u, w) + k) / (count(u) + k V)
    V, k = 4, 0.5
    streams = [[0, 1, 0, 1], [1, 0, 2], [2, 2, 0]]
    lm = NGramLM(V, 2, k)
    for s in streams:
        lm.fit(torch.tensor(s))
    pairs = collections.Counter(p for s in streams for p in zip(s, s[1:]))
    ctx = collections.Counter(u for s in streams for u in s[:-1])
    scored = [0, 1, 3, 3, 2, 2, 0, 2, 1]  # (3, 3): never seen, after every code kept
    want = [(pairs[u, w] + k) / (ctx[u] + k * V) for u, w in zip(scored, scored[1:])]
    assert torch.exp(lm.log_probs(torch.tensor(scored))).tolist() == pytest.approx(want)
    alone = NGramLM(V, 2, k).fit(torch.tensor([3]))
    assert torch.exp(alone.log_probs(torch.tensor(scored))).tolist() == pytest.approx([1 / V] * 8)


def test_a_report_json_that_cannot_be_written_is_a_one_line_error_keeping_the_checkpoints(tmp_path, capsys):
    from seqlab.training.checkpoint import load_checkpoint

    text, out = tmp_path / "tiny.txt", tmp_path / "run"
    text.write_text("the time traveller for so it will be convenient to speak of him\n" * 12)
    (out / "report.json").mkdir(parents=True)  # (a folder in its place: root may write any file)
    assert main(["train", "lm", "--data", str(text), "--level", "char", "--hidden", "8", "--embed", "4", "--epochs",
                 "1", "--batch-size", "4", "--num-steps", "10", "--device", "cpu", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"seqlab: error: cannot write {str(out / 'report.json')!r}" in err
    assert "checkpoints are kept" in err and "Traceback" not in err
    assert load_checkpoint(out, "last").meta["epoch"] == 1
