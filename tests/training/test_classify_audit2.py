"""Second mutation audit of sequence classification (models/classifier.py, training/classify.py,
training/classify_text.py): the tests that killed mutants the other tests let through, each against a
trusted twin (torch's own nn.LSTM and dropout, a plain loop, the definitions written out here)."""

import pytest
import torch
from torch import nn

import seqlab.models.classifier as classifier_module
from seqlab import SeqlabError
from seqlab.config import to_dict
from seqlab.data.labelled_text import PAD, encode
from seqlab.data.vocab import Vocab
from seqlab.models.classifier import SequenceClassifier, TextClassifier
from seqlab.training.checkpoint import save_epoch
from seqlab.training.classify import ClassifierModel, ClassifyConfig, ClassifyData, evaluate_accuracy
from seqlab.training.classify_text import TextBatches, TextPredictor, class_report, text_data, top_k
from seqlab.training.metrics import read_metrics

pytestmark = pytest.mark.usefixtures("one_thread")


def traced(net, *args):
    """`net(*args)` down the tracer's path (no packing), run eagerly by making `tracing()` say True."""
    real = classifier_module.tracing
    classifier_module.tracing = lambda: True
    try:
        return net(*args)
    finally:
        classifier_module.tracing = real


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_tracers_bidirectional_path_drops_nothing_in_eval_mode(cell):
    # a deep bidirectional model built with dropout, in eval mode: the tracer's layer-by-layer
    # recurrence gives the packed run's logits (its dropout between layers follows the mode, as nn.LSTM's)
    torch.manual_seed(0)
    net = TextClassifier(9, 3, embed=4, hidden=5, layers=2, cell=cell, dropout=0.5,
                         bidirectional=True).double().eval()
    tokens, lengths = torch.randint(0, 9, (3, 6)), torch.tensor([6, 2, 4])
    with torch.no_grad():
        torch.testing.assert_close(traced(net, tokens, lengths), net(tokens, lengths), rtol=1e-10, atol=1e-10)


def test_dropout_acts_on_the_embeddings_and_on_the_classified_state():
    # train mode, one layer (no dropout between layers): the twin draws the embeddings' mask, runs
    # torch's nn.LSTM on the packed batch, then draws the classified state's mask, from the same seed
    torch.manual_seed(0)
    net = TextClassifier(9, 3, embed=4, hidden=5, layers=1, dropout=0.5).double().train()
    tokens, lengths = torch.randint(0, 9, (3, 6)), torch.tensor([6, 2, 4])
    torch.manual_seed(7)
    got = net(tokens, lengths)
    torch.manual_seed(7)
    emb = nn.functional.dropout(net.embedding(tokens), 0.5, True)
    packed = nn.utils.rnn.pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
    _, (h_n, _) = net.rnn(packed)
    want = net.fc(nn.functional.dropout(h_n[-1], 0.5, True))
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_a_sequence_classifier_refuses_sequences_without_a_step():
    # (B, 0, D): a SeqlabError saying the input is empty, not nn.LSTM's "Expected sequence length ..."
    net = SequenceClassifier(4, 3, hidden=5, layers=1)
    with pytest.raises(SeqlabError, match=r"the input of shape \(2, 0, 4\) is empty: it needs at least one sequence "
                                          "and one time step"):
        net(torch.randn(2, 0, 4))


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_evaluate_accuracy_is_a_plain_loop_over_every_example(batch_size):
    # 7 examples: batches of 2 and 3 end in a batch of one; each example scored alone is the twin
    torch.manual_seed(0)
    net = SequenceClassifier(3, 4, hidden=6, layers=1).eval()
    x, y = torch.randn(7, 5, 3), torch.tensor([0, 1, 2, 3, 0, 1, 2])
    with torch.no_grad():
        logits = [net(x[i:i + 1])[0] for i in range(7)]
    want_loss = sum(float(nn.functional.cross_entropy(z[None], y[i:i + 1])) for i, z in enumerate(logits)) / 7
    want_accuracy = sum(int(z.argmax()) == int(y[i]) for i, z in enumerate(logits)) / 7
    got = evaluate_accuracy(net, x, y, torch.device("cpu"), batch_size=batch_size)
    assert got["count"] == 7
    assert got["accuracy"] == pytest.approx(want_accuracy) and got["loss"] == pytest.approx(want_loss, rel=1e-5)


def char_predictor(max_len=400):
    """A char-level TextPredictor over a vocabulary of a, b, c (an untrained model: encoding is the point)."""
    vocab = Vocab([list("abc")], reserved_tokens=[PAD])
    torch.manual_seed(0)
    net = TextClassifier(len(vocab), 2, embed=4, hidden=5).eval()
    return TextPredictor(net, vocab, ["neg", "pos"], ClassifyData(data="d.csv", level="char", max_len=max_len))


def test_the_predictor_strips_each_text_as_the_training_rows_were():
    # a training row's text is read stripped (labelled_rows): " ab \n" was trained on as a, b
    predictor = char_predictor()
    ids = [predictor.vocab[c] for c in "ab"]
    for text in ["ab", " ab ", "\tab\n", "  ab  "]:
        encoded = predictor.encode([text])
        assert encoded.ids.tolist() == ids and encoded.lengths.tolist() == [2]
    torch.testing.assert_close(predictor.predict_proba([" ab "]), predictor.predict_proba(["ab"]))


def test_the_predictor_keeps_the_first_max_len_tokens():
    predictor = char_predictor(max_len=3)
    encoded = predictor.encode(["abcab", "ab", "abc"])
    assert encoded.lengths.tolist() == [3, 2, 3] and encoded.cut == 1
    assert encoded.ids.tolist() == [predictor.vocab[c] for c in "abc" + "ab" + "abc"]


def test_a_batch_counts_its_real_tokens_not_its_padding():
    # tokens_per_sec counts each text's tokens: lengths 3, 1, 2 padded to (3, 3) are 6 tokens, not 9
    vocab = Vocab([list("abc")], reserved_tokens=[PAD])
    texts = encode([list("abc"), list("a"), list("bc")], [0, 1, 0], vocab, max_len=10)
    (tokens, lengths), labels, n_tokens = TextBatches(texts, vocab[PAD]).batch(torch.arange(3), torch.device("cpu"))
    assert tokens.shape == (3, 3) and lengths.tolist() == [3, 1, 2] and labels.tolist() == [0, 1, 0]
    assert n_tokens == 6


def test_the_majority_baseline_is_the_validation_splits(tmp_path):
    # a folder of splits whose commonest label differs: training 'a' 6 of 8, validation 'b' 3 of 4
    (tmp_path / "train.csv").write_text("label,text\n" + "a,x y\n" * 6 + "b,y z\n" * 2)
    (tmp_path / "valid.csv").write_text("label,text\n" + "a,x y\n" + "b,y z\n" * 3)
    cfg = ClassifyConfig(data=ClassifyData(data=str(tmp_path), dataset=None, min_freq=1),
                         model=ClassifierModel(embed=4, hidden=4, layers=1))
    lines = []
    data = text_data(cfg, lines.append)
    assert data.result == {"valid_majority_accuracy": 0.75, "majority_label": "b"}
    assert any("always predicting 'b', the commonest validation label, scores 0.750" in line for line in lines)


def test_the_report_of_no_texts_has_a_macro_f1_of_zero():
    # scikit-learn's f1_score(average="macro", zero_division=0) of nothing: no label, 0.0
    none = torch.zeros(0, dtype=torch.long)
    assert class_report(none, none, ["a", "b"]) == {"per_class": {}, "macro_f1": 0.0}


def test_top_k_refuses_a_k_of_zero():
    with pytest.raises(SeqlabError, match="k must be between 1 and the 3 labels, got 0"):
        top_k(torch.tensor([[0.2, 0.3, 0.5]]), 0)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_tracers_path_reads_step_0_for_a_length_0(bidirectional):
    # an exported model given a length 0 (which eager mode refuses) reads the text's first step, as
    # for a length 1, instead of failing on an index -1
    torch.manual_seed(0)
    net = TextClassifier(9, 3, embed=4, hidden=5, bidirectional=bidirectional).double().eval()
    tokens = torch.randint(0, 9, (2, 4))
    with torch.no_grad():
        got = traced(net, tokens, torch.tensor([0, 3]))
        torch.testing.assert_close(got, traced(net, tokens, torch.tensor([1, 3])))


def test_top_k_keeps_tied_labels_in_label_order_among_many_labels():
    # 40 labels of 3 distinct probabilities: an unstable sort (torch's default, and torch.topk) puts
    # the ties of a row of more than 16 in another order on the CPU; the twin is Python's stable sort
    gen = torch.Generator().manual_seed(0)
    probs = torch.randint(0, 3, (4, 40), generator=gen).double()
    values, columns = top_k(probs, 40)
    for row, cols in zip(probs.tolist(), columns.tolist()):
        assert cols == sorted(range(40), key=lambda c: -row[c])  # (sorted is stable: ties by column)
    assert torch.equal(values, probs.gather(1, columns))


def test_numeric_labels_keep_their_training_order_in_the_predictor(tmp_path):
    # labels 1, 2, 10 are ids 0, 1, 2 in training (numeric order, label_order); the checkpoint's
    # predictor must read its columns in that order, not in the string order 1, 10, 2
    rows = [("1", "a b"), ("2", "b c"), ("10", "c a")] * 6
    (tmp_path / "d.csv").write_text("label,text\n" + "".join(f"{label},{text}\n" for label, text in rows))
    cfg = ClassifyConfig(data=ClassifyData(data=str(tmp_path / "d.csv"), dataset=None, min_freq=1),
                         model=ClassifierModel(embed=4, hidden=4, layers=1))
    data = text_data(cfg, lambda line: None)  # the run's model and metadata, as train_classifier saves them
    assert data.meta["classes"] == ["1", "2", "10"]
    save_epoch(tmp_path / "run", is_best=True, model=data.net, meta={"task": "classify", "config": to_dict(cfg),
               "epoch": 1, **data.meta}, optimizer=torch.optim.SGD(data.net.parameters(), lr=0.1))
    predictor = TextPredictor.from_checkpoint(tmp_path / "run")
    assert predictor.labels == ["1", "2", "10"]
    texts = ["a b", "b c", "c a"]
    with torch.no_grad():
        tokens, lengths = predictor.encode(texts).padded(torch.arange(3), predictor.vocab[PAD])
        want = data.net.eval()(tokens, lengths).argmax(1).tolist()
    assert predictor.predict(texts) == [["1", "2", "10"][j] for j in want]


def test_no_majority_warning_for_a_perfect_model_or_an_empty_set(capsys):
    from seqlab.cli.classify import _warn_majority

    # a test file of one label scored perfectly is "always predicting" it, and rightly so: no warning
    _warn_majority({"accuracy": 1.0, "count": 4, "macro_f1": 1.0}, torch.zeros(4, dtype=torch.long), ["a", "b"])
    # nothing scored (accuracy 0 of 0 texts) says nothing of the model either
    _warn_majority({"accuracy": 0.0, "count": 0, "macro_f1": 0.0}, torch.zeros(0, dtype=torch.long), ["a", "b"])
    assert capsys.readouterr().err == ""
    _warn_majority({"accuracy": 0.75, "count": 4, "macro_f1": 0.43}, torch.tensor([0, 0, 0, 1]), ["a", "b"])
    assert capsys.readouterr().err.startswith("seqlab: warning: the model predicts the commonest label: its accuracy "
                                              "0.7500 is within 0.005 of always predicting 'a' (0.7500)")


def test_report_scores_in_eval_mode_and_gives_the_mode_back():
    # a model with dropout, left in train mode: report() is the eval-mode model's figures (a plain
    # loop over the texts here), every time, and the model is in train mode again after it
    vocab = Vocab([list("abc")], reserved_tokens=[PAD])
    texts = encode([list("abc"), list("a"), list("bca"), list("cc")], [0, 1, 1, 0], vocab, max_len=10)
    torch.manual_seed(0)
    net = TextClassifier(len(vocab), 2, embed=6, hidden=6, dropout=0.6).train()
    with torch.no_grad():
        net.eval()
        logits = [net(texts.ids[texts.offsets[i]:texts.offsets[i + 1]][None])[0] for i in range(4)]
        net.train()
    labels = texts.labels.tolist()
    want_loss = sum(float(nn.functional.cross_entropy(z[None], torch.tensor([y]))) for z, y in zip(logits, labels)) / 4
    want_accuracy = sum(int(z.argmax()) == y for z, y in zip(logits, labels)) / 4
    batches = TextBatches(texts, vocab[PAD])
    for _ in range(2):
        got = batches.report(net, torch.device("cpu"), batch_size=3)
        assert got["accuracy"] == want_accuracy and got["loss"] == pytest.approx(want_loss, rel=1e-5)
        assert net.training


def test_train_loss_is_the_mean_cross_entropy_of_the_epochs_texts(tmp_path, monkeypatch):
    # metrics.jsonl's train_loss: the sum of every step's plain cross-entropies over the number of
    # texts (not of tokens, which tokens_per_sec counts); the twin sums the steps' own losses
    import seqlab.training.classify as tc

    rows = [("pos", "a good b"), ("neg", "a bad c d")] * 10
    (tmp_path / "d.csv").write_text("label,text\n" + "".join(f"{label},{text}\n" for label, text in rows))
    sums, real = [], tc.loss_sums

    def recording(logits, labels, weight=None):
        objective, plain = real(logits, labels, weight)
        if torch.is_grad_enabled():  # (a training step's, not evaluation's)
            sums.append((plain.item(), len(labels)))
        return objective, plain

    monkeypatch.setattr(tc, "loss_sums", recording)
    cfg = ClassifyConfig(data=ClassifyData(data=str(tmp_path / "d.csv"), dataset=None, min_freq=1),
                         model=ClassifierModel(embed=4, hidden=4, layers=1))
    cfg.train.epochs, cfg.train.batch_size, cfg.run.out = 1, 6, str(tmp_path / "run")
    tc.train_classifier(cfg, device="cpu", show_progress=False, log=lambda line: None)
    record = read_metrics(tmp_path / "run" / "metrics.jsonl")[0]
    n = sum(k for _, k in sums)
    assert n == 18 and len(sums) == 3  # 18 training texts (2 held out), batches of 6
    assert record["train_loss"] == pytest.approx(sum(s for s, _ in sums) / n, rel=1e-6)
