"""lm_records, a mutation audit's gaps: the epoch best.safetensors holds (from a header or from
metrics.jsonl), the loss it is chosen on, the log's lines, and the perplexity plot's series."""

import math

from seqlab.training import lm_records
from seqlab.training.lm_records import baseline_line, chosen_of, chosen_of_records, epoch_line, selection_loss


def test_chosen_of_takes_an_int_epoch_and_a_number_ppl_only():
    assert chosen_of({"best_epoch": 3, "best_valid_ppl": 12.5}) == {"best_epoch": 3, "best_valid_ppl": 12.5}
    assert chosen_of({"best_epoch": True, "best_valid_ppl": 12.5}) == {"best_epoch": None, "best_valid_ppl": None}
    assert chosen_of({"best_epoch": 3, "best_valid_ppl": "12.5"}) == {"best_epoch": 3, "best_valid_ppl": None}


def test_the_chosen_epoch_is_the_first_of_lowest_selection_loss():
    records = [{"epoch": 1, "valid_loss": 2.0, "valid_ppl": math.exp(2.0)},
               {"epoch": 2, "valid_loss": 1.0, "valid_ppl": math.exp(1.0)},
               {"epoch": 3, "valid_loss": 1.0, "valid_ppl": 99.0},  # as low, later: not chosen
               {"epoch": 4, "valid_loss": None, "train_loss": 0.5, "valid_ppl": None}]  # train loss counts
    assert chosen_of_records(records[:3]) == {"best_epoch": 2, "best_valid_ppl": math.exp(1.0)}
    assert chosen_of_records(records) == {"best_epoch": 4, "best_valid_ppl": None}
    assert chosen_of_records([{"epoch": 1, "train_loss": None}]) == {"best_epoch": None, "best_valid_ppl": None}
    assert chosen_of_records([{"epoch": 1, "valid_loss": "n/a"}, *records[:1]])["best_epoch"] == 1  # text: skipped


def test_selection_loss_is_valid_loss_even_when_zero_else_train_loss():
    assert selection_loss({"valid_loss": 0.0, "train_loss": 3.0}) == 0.0
    assert selection_loss({"valid_loss": None, "train_loss": 3.0}) == 3.0


def test_epoch_line_reads_as_written():
    line = epoch_line({"epoch": 2, "train_ppl": 12.34567, "valid_ppl": None, "tokens_per_sec": 12345.6, "lr": 1e-4})
    assert line == "epoch 2: train ppl 12.346, valid ppl n/a, 12,346 tokens/sec, lr 0.0001"
    assert "valid ppl 7.000," in epoch_line({"epoch": 1, "train_ppl": 1, "valid_ppl": 7, "tokens_per_sec": 1, "lr": 1})


def test_baseline_line_warns_of_a_small_split_only():
    base = {"uniform": 10000.0, "unigram": 500.25, "unigram_k": 0.5, "bigram": 200.5, "bigram_k": 0.01}
    small = baseline_line({**base, "tokens": 999})
    assert "uniform 10,000, unigram 500.250 (add-0.5), bigram 200.500 (add-0.01;" in small
    assert small.endswith("read these loosely")
    assert "loosely" not in baseline_line({**base, "tokens": 1000})


def test_the_plot_draws_train_and_valid_ppl_at_their_epochs(monkeypatch, tmp_path):
    drawn = {}
    monkeypatch.setattr("seqlab.plotting.plot_curves",
                        lambda path, epochs, series, **kw: drawn.update(epochs=epochs, series=series, **kw))
    records = [{"epoch": 1, "train_ppl": 50.0, "valid_ppl": None, "train_loss": 3.9},
               {"epoch": 2, "train_ppl": 20.0, "valid_ppl": 30.0, "train_loss": 3.0}]
    lm_records.plot_perplexity(tmp_path, records)
    assert drawn["epochs"] == [1, 2] and drawn["series"] == {"train": [50.0, 20.0], "valid": [30.0]}
    assert drawn["xs"] == {"valid": [2]}  # valid's one point at epoch 2, not 1
    assert drawn["logy"] is True and drawn["ylabel"] == "perplexity"
