"""Chapter 8's exercises done the book's way through `from seqlab import d2l` (an embedding in a
subclass of RNNModel or in RNNModelScratch's params, a word-level model, a random initial state),
against the book's own code run the same way (book_lm.py): the same weights, perplexities, samples
and random numbers."""

import copy
import pickle
import random
import warnings

import pytest
import torch
from torch import nn

from seqlab import d2l
from seqlab.errors import SeqlabError

from book_lm import (BookRNNModel, BookRNNModelScratch, book_sgd, book_train_ch8, book_train_epoch_ch8,  # tests/d2l
                     get_params, init_rnn_state, rnn)
from reference_decode import book_predict_ch8  # tests/generation, on the test path


def _weights(net):
    if hasattr(net, "params"):  # the scratch model's list, in get_params' order (and what was added)
        return {str(k): p.detach().clone() for k, p in enumerate(net.params)}
    return {name: p.detach().clone() for name, p in net.named_parameters()}


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- 8.6 exercise: replace one-hot by an embedding, in a subclass of the book's RNNModel -----------
def _embedding_subclass(base):
    class RNNModelEmb(base):  # as a student writes it over the book's class
        def __init__(self, rnn_layer, vocab_size, embed_size, **kwargs):
            super().__init__(rnn_layer, vocab_size, **kwargs)
            self.embedding = nn.Embedding(vocab_size, embed_size)

        def forward(self, inputs, state):
            X = self.embedding(inputs.T.long())
            Y, state = self.rnn(X, state)
            return self.linear(Y.reshape((-1, Y.shape[-1]))), state
    return RNNModelEmb


def test_a_subclass_of_rnnmodel_with_its_own_embedding_trains_as_the_books():
    # was: RNNModel's __init__ refused the layer (16 inputs, "one-hot of 28") before the subclass set
    # up the embedding its own forward reads
    runs = []
    for base in (BookRNNModel, d2l.RNNModel):
        random.seed(0)
        torch.manual_seed(0)
        train_iter, vocab = d2l.load_data_time_machine(16, 10, max_tokens=1500)
        net = _embedding_subclass(base)(nn.GRU(16, 32), len(vocab), 16)
        if base is BookRNNModel:
            ppl = book_train_ch8(net, train_iter, 1, 3, "cpu")
        else:
            ppl, _ = d2l.train_ch8(net, train_iter, vocab, 1, 3, "cpu", verbose=False)
        runs.append((net, ppl, _weights(net)))
    (book, book_ppl, book_w), (ours, ppl, w) = runs
    assert _same_weights(book_w, w) and "embedding.weight" in w
    assert ppl == pytest.approx(book_ppl, rel=1e-6)
    assert d2l.predict_ch8("time traveller", 10, ours, vocab, "cpu") == book_predict_ch8(
        "time traveller", 10, book, vocab, "cpu")


def test_a_layer_of_another_input_size_is_refused_naming_embed_size():
    X = torch.zeros((2, 3), dtype=torch.long)
    with pytest.raises(SeqlabError, match=r"reads 16 features but the input is one-hot of 28 .*: pass embed_size=16"):
        d2l.RNNModel(nn.GRU(16, 32), 28)
    with pytest.raises(SeqlabError, match=r"is an embedding of 8: pass embed_size=16"):
        d2l.RNNModel(nn.GRU(16, 32), 28, embed_size=8)
    net = d2l.RNNModel(nn.GRU(16, 32), 28, embed_size=16)  # the way out the message names
    assert net(X, net.begin_state(2))[0].shape == (3 * 2, 28)

    class Named(d2l.RNNModel):  # keeps RNNModel's forward, so its one-hot input: told at the first call
        pass
    net = Named(nn.GRU(16, 32), 28)
    with pytest.raises(SeqlabError, match="pass embed_size=16"):
        net(X, net.begin_state(2))


# --- 8.5 exercise: an embedding matrix added to RNNModelScratch's list of parameters ----------------
def _scratch(base, exercise):
    if exercise == "plain":
        return lambda vocab_size, num_hiddens, device: base(vocab_size, num_hiddens, device, get_params,
                                                            init_rnn_state, rnn)

    class Emb(base):  # as a student writes it over the book's class (whose params is a plain list)
        def __init__(self, vocab_size, num_hiddens, device):
            super().__init__(vocab_size, num_hiddens, device, get_params, init_rnn_state, rnn)
            self.E = (torch.randn(vocab_size, vocab_size) * 0.01).requires_grad_(True)
            self.params.append(self.E)

        def __call__(self, X, state):
            return self.forward_fn(self.E[X.T.long()], state, self.params[:5])
    return Emb


@pytest.mark.parametrize("exercise", ["plain", "embedding"])
def test_train_ch8_then_a_students_own_loop_train_params_as_the_books(exercise):
    # embedding, was: net.params was a new list at each read, so the append went nowhere and E was
    # never trained (its gradient piled up). Both, was: train_ch8 stepped the scratch model with an
    # optimizer, which left the last batch's gradients in place, and 8.5's own loop with
    # sgd(net.params, ...) then added them into its first step (the book's sgd leaves zeros)
    runs = []
    for base in (BookRNNModelScratch, d2l.RNNModelScratch):
        random.seed(0)
        torch.manual_seed(0)
        train_iter, vocab = d2l.load_data_time_machine(16, 10, max_tokens=1500)
        net = _scratch(base, exercise)(len(vocab), 32, "cpu")
        start = _weights(net)
        if base is BookRNNModelScratch:
            ppl = book_train_ch8(net, train_iter, 1, 3, "cpu")
            updater = lambda batch_size: book_sgd(net.params, 1, batch_size)  # noqa: E731
            own = book_train_epoch_ch8(net, train_iter, nn.CrossEntropyLoss(), updater, "cpu", False)
        else:
            ppl, _ = d2l.train_ch8(net, train_iter, vocab, 1, 3, "cpu", verbose=False)
            trained = _weights(net)
            updater = lambda batch_size: d2l.sgd(net.params, 1, batch_size)  # noqa: E731
            own, _ = d2l.train_epoch_ch8(net, train_iter, nn.CrossEntropyLoss(), updater, "cpu", False)
        runs.append((start, ppl, own, _weights(net), net))
    (book_start, book_ppl, book_own, book_w, book), (start, ppl, own, w, ours) = runs
    assert _same_weights(book_start, start) and len(w) == (6 if exercise == "embedding" else 5)
    assert ppl == pytest.approx(book_ppl, rel=1e-6) and own == pytest.approx(book_own, rel=1e-6)
    assert _same_weights(book_w, w)
    if exercise == "embedding":
        assert ours.params[5] is ours.E and not torch.equal(trained["5"], start["5"])  # trained by train_ch8
        assert not torch.equal(w["5"], trained["5"])  # ... and by the student's loop


def test_params_takes_what_the_books_list_takes_and_refuses_what_training_could_not_update():
    net = d2l.RNNModelScratch(28, 8, "cpu", get_params, init_rnn_state, rnn)
    with pytest.raises(SeqlabError, match=r"does not require grad.*requires_grad_\(True\)"):
        net.params.append(torch.randn(28, 28))  # (the book's sgd then failed on its .grad, None)
    with pytest.raises(SeqlabError, match="not a leaf"):
        net.params.append(torch.randn(28, 28, requires_grad=True) * 0.01)
    with pytest.raises(SeqlabError, match=r"net.params.append\(t\)"):
        net.params.pop()
    E, F = torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)
    net.params = net.params + [E]  # the plain attribute's other ways to grow
    net.params += [F]
    assert [p is q for p, q in zip(net.params[5:], (E, F))] == [True, True] and len(net.params) == 7
    assert [p for p in net.parameters() if p is E or p is F] == [E, F]
    for copied in (copy.deepcopy(net.params), pickle.loads(pickle.dumps(net.params))):  # the book's list, not
        assert type(copied) is list and all(torch.equal(a, b) for a, b in zip(copied, net.params))  # the model
    assert len(net.params) == 7


def test_net_params_saved_as_the_book_saves_a_list_load_with_torch_loads_default(tmp_path):
    # 5.5 saves tensors as torch.save([x, y], 'x-files'); the book's RNNModelScratch has no state_dict,
    # so its parameters are saved as net.params. torch.load's default (weights_only=True, torch >= 2.6)
    # refused the file: "Unsupported global: GLOBAL list", the reader had to save list(net.params)
    net = d2l.RNNModelScratch(28, 8, "cpu", get_params, init_rnn_state, rnn)
    torch.save(net.params, tmp_path / "rnn.params")
    loaded = torch.load(tmp_path / "rnn.params")
    strict = torch.load(tmp_path / "rnn.params", weights_only=True) if hasattr(
        torch.serialization, "add_safe_globals") else loaded  # (torch < 2.4 has no safe list to load it by)
    for got in (loaded, strict):
        assert type(got) is list and len(got) == 5 and all(torch.equal(a, b) for a, b in zip(got, net.params))
    clone = d2l.RNNModelScratch(28, 8, "cpu", get_params, init_rnn_state, rnn)  # other random weights
    clone.params = loaded  # (the book's plain attribute, set: the loaded weights become clone's)
    X = torch.randint(0, 28, (2, 5))
    assert torch.equal(clone(X, clone.begin_state(2, "cpu"))[0], net(X, net.begin_state(2, "cpu"))[0])


# --- 8.3/8.5 exercise: a word-level model, trained with the book's train_ch8 --------------------------
def _words(vocab_min_freq=3, num_tokens=1600):
    lines = d2l.read_time_machine()
    tokens = d2l.tokenize(lines, "word")
    vocab = d2l.Vocab(tokens, min_freq=vocab_min_freq)
    corpus = [vocab[t] for line in tokens for t in line][:num_tokens]

    class Loader:  # the student's own, as the exercise has them write
        def __iter__(self):
            return d2l.seq_data_iter_sequential(corpus, 16, 10)
    return Loader(), vocab


def test_train_ch8_on_a_word_vocabulary_samples_the_words_and_finishes(capsys):
    # was: its own sample, predict_ch8("time traveller"), raised at epoch 10 (characters not in a
    # vocabulary of words) and stopped the training; the book's read each character as a token
    train_iter, vocab = _words()
    random.seed(0)
    torch.manual_seed(0)
    book = BookRNNModel(nn.GRU(len(vocab), 32), len(vocab))
    book_ppl = book_train_ch8(book, train_iter, 1, 10, "cpu")
    random.seed(0)
    torch.manual_seed(0)
    net = d2l.RNNModel(nn.GRU(len(vocab), 32), len(vocab))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the vocabulary has both words: nothing is left out
        ppl, _ = d2l.train_ch8(net, train_iter, vocab, 1, 10, "cpu")
    out = capsys.readouterr().out.splitlines()
    # (not equal to the last bit: clipping's norm is summed in another order than the book's, and
    # the gradients of this larger model reach the threshold)
    assert ppl == pytest.approx(book_ppl, rel=1e-4)
    sample = book_predict_ch8(["time", "traveller"], 50, net, vocab, "cpu")  # the book's predict, on words
    assert out[0] == out[2] == sample and sample.startswith("timetraveller")
    assert out[1].startswith(f"perplexity {book_ppl:.1f}, ") and out[1].endswith(" tokens/sec on cpu")
    assert out[3] == book_predict_ch8(["traveller"], 50, net, vocab, "cpu") and len(out) == 4


@pytest.mark.parametrize("tokens", [list("abcab" * 40), "the cat sat on the mat".split() * 20],
                         ids=["characters", "words"])
def test_train_ch8_leaves_out_a_sample_the_vocabulary_cannot_spell_with_one_warning(tokens, capsys):
    # was: SeqlabError from train_ch8's own sample at epoch 10 (or at the end of a shorter run)
    vocab = d2l.Vocab([tokens])
    batches = list(d2l.seq_data_iter_sequential(vocab[tokens], 4, 5))
    torch.manual_seed(0)
    net = d2l.RNNModel(nn.GRU(len(vocab), 8), len(vocab))
    with pytest.warns(UserWarning, match="left out") as caught:
        ppl, _ = d2l.train_ch8(net, batches, vocab, 1, 10, "cpu")
    told = [str(w.message) for w in caught if "left out" in str(w.message)]
    assert len(told) == 1
    assert ("words 'time', 'traveller'" if tokens[0] == "the" else "characters 't', 'i', 'm', 'e', ' ', 'r'") in told[0]
    out = capsys.readouterr().out.splitlines()  # the book's summary line, and no sample
    assert len(out) == 1 and out[0].startswith(f"perplexity {ppl:.1f}, ")


def test_train_ch8_refuses_a_vocabulary_of_another_size_before_training():
    # was: refused by the first sample, after 10 epochs of training (or after all of a shorter run)
    _, vocab = d2l.load_data_time_machine(4, 5, max_tokens=200)
    net = d2l.RNNModel(nn.GRU(10, 8), 10)  # made for another vocabulary
    before = _weights(net)
    batches = list(d2l.seq_data_iter_sequential(list(range(10)) * 20, 4, 5))
    with pytest.raises(SeqlabError, match=f"predicts 10 tokens but the vocabulary has {len(vocab)}"):
        d2l.train_ch8(net, batches, vocab, 1, 10, "cpu")
    assert _same_weights(before, _weights(net))


# --- 8.5 exercise: a random initial state, from an init_state that ignores `device` ----------------
def init_random_state(batch_size, num_hiddens, device):  # as students write it: `device` unused
    return (torch.randn((batch_size, num_hiddens)) * 0.01,)


@pytest.mark.parametrize("state_from", ["begin_state", "init_state"])
def test_the_state_check_leaves_torchs_random_numbers_as_the_books(state_from):
    # was: forward's shape check called init_state on the meta device once per batch size, and this
    # one drew its torch.randn on the CPU: every later seeded number differed from the book's
    runs = []
    for cls in (BookRNNModelScratch, d2l.RNNModelScratch):
        torch.manual_seed(0)
        net = cls(28, 8, "cpu", get_params, init_random_state, rnn)
        state = net.begin_state(2, "cpu") if state_from == "begin_state" else init_random_state(2, 8, "cpu")
        Y, _ = net(torch.zeros((2, 3), dtype=torch.long), state)
        runs.append((Y.detach(), torch.rand(3)))
    assert torch.equal(runs[0][0], runs[1][0]) and torch.equal(runs[0][1], runs[1][1])
