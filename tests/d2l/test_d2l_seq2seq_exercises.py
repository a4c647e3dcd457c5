"""9.7's exercises done the book's way: subclasses of d2l.Seq2SeqDecoder that retype forward(X, state)
(an LSTM, another output layer), and a decoder of another size than its encoder that maps the state
in its own init_state. Each trains and predicts here as the same code does over the book's classes
(written out: the twin), and runs its forward as d2l 0.17.6 itself does where that is installed."""

import pytest
import torch
from torch import nn

from d2l_0176 import BookEncoderDecoder, book_seq2seq_decoder, import_real_d2l
from seqlab import d2l
from seqlab.errors import SeqlabError
from seqlab.generation.translate import beam_search
from seqlab.models.seq2seq import Seq2SeqState

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU

BookDecoder = book_seq2seq_decoder(d2l.Decoder)  # the notebook's class, over seqlab's d2l.Decoder


# --- the readers' classes, each over the base classes it is given --------------------------------
def dropout_head(base):
    """Exercise 6 (another output layer): the book's forward retyped, with dropout before `dense`."""
    class Dec(base):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.drop = nn.Dropout(0.2)

        def forward(self, X, state):
            X = self.embedding(X).permute(1, 0, 2)
            context = state[-1].repeat(X.shape[0], 1, 1)
            output, state = self.rnn(torch.cat((X, context), 2), state)
            return self.dense(self.drop(output)).permute(1, 0, 2), state
    return Dec


def lstm_subclasses(Seq2SeqEncoder, Seq2SeqDecoder):
    """Exercise 'replace the GRU by an LSTM', by subclassing the book's encoder and decoder."""
    class Enc(Seq2SeqEncoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
            super().__init__(vocab_size, embed_size, num_hiddens, num_layers, dropout, **kwargs)
            self.rnn = nn.LSTM(embed_size, num_hiddens, num_layers, dropout=dropout)

    class Dec(Seq2SeqDecoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
            super().__init__(vocab_size, embed_size, num_hiddens, num_layers, dropout, **kwargs)
            self.rnn = nn.LSTM(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)

        def forward(self, X, state):
            X = self.embedding(X).permute(1, 0, 2)
            context = state[0][-1].repeat(X.shape[0], 1, 1)
            output, state = self.rnn(torch.cat((X, context), 2), state)
            return self.dense(output).permute(1, 0, 2), state
    return Enc, Dec


def lstm_own_classes(Encoder, Decoder):
    """The same LSTM model written on d2l.Encoder / d2l.Decoder directly (the twin of the above)."""
    class Enc(Encoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
            super().__init__(**kwargs)
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.LSTM(embed_size, num_hiddens, num_layers, dropout=dropout)

        def forward(self, X, *args):
            output, state = self.rnn(self.embedding(X).permute(1, 0, 2))
            return output, state

    class Dec(Decoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
            super().__init__(**kwargs)
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.LSTM(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
            self.dense = nn.Linear(num_hiddens, vocab_size)

        def init_state(self, enc_outputs, *args):
            return enc_outputs[1]

        def forward(self, X, state):
            X = self.embedding(X).permute(1, 0, 2)
            context = state[0][-1].repeat(X.shape[0], 1, 1)
            output, state = self.rnn(torch.cat((X, context), 2), state)
            return self.dense(output).permute(1, 0, 2), state

        def reorder_state(self, state, index):  # for beam search: written out for the (h, c) pair
            return tuple(s.index_select(1, index) for s in state)
    return Enc, Dec


def projecting(base):
    """Exercise 3: a decoder of its own size, fed by the encoder's state through a projection."""
    class Dec(base):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, enc_hiddens, **kw):
            super().__init__(vocab_size, embed_size, num_hiddens, num_layers, **kw)
            self.proj = nn.Linear(enc_hiddens, num_hiddens)

        def init_state(self, enc_outputs, *args):
            h = torch.tanh(self.proj(enc_outputs[1][-1]))  # (B, num_hiddens)
            return h.unsqueeze(0).repeat(self.rnn.num_layers, 1, 1)
    return Dec


# --- running them -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nmt(data_dir):
    return d2l.load_data_nmt(64, 10, num_examples=192)


def _train(net, nmt, seed=1):
    train_iter, src_vocab, tgt_vocab = nmt
    torch.manual_seed(seed)
    losses = d2l.train_seq2seq(net, train_iter, 0.005, 1, tgt_vocab, "cpu")
    return losses, [d2l.predict_seq2seq(net, s, src_vocab, tgt_vocab, 10, "cpu")[0] for s in ("go .", "i lost .")]


def _assert_same_run(a, b, net_a, net_b, rtol=0.0, atol=0.0):
    assert a[0] == pytest.approx(b[0], rel=rtol or 1e-12)
    assert a[1] == b[1]
    wa, wb = net_a.state_dict(), net_b.state_dict()
    assert wa.keys() == wb.keys()
    for name in wa:
        torch.testing.assert_close(wa[name], wb[name], rtol=rtol, atol=atol)


def test_a_subclass_retyping_the_books_forward_trains_as_the_books_decoder(nmt, capsys):
    # train_seq2seq handed it targets= (the inherited takes_targets flag):
    # TypeError: Dec.forward() got an unexpected keyword argument 'targets'
    _, src_vocab, tgt_vocab = nmt
    runs = []
    for base in (d2l.Seq2SeqDecoder, BookDecoder):
        torch.manual_seed(0)
        net = d2l.EncoderDecoder(d2l.Seq2SeqEncoder(len(src_vocab), 16, 16, 2),
                                 dropout_head(base)(len(tgt_vocab), 16, 16, 2))
        runs.append((net, _train(net, nmt)))
    (ours, ours_run), (book, book_run) = runs
    _assert_same_run(ours_run, book_run, ours, book)
    X, Y = torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3, dtype=torch.long)
    with pytest.raises(SeqlabError, match="takes no targets=: call the model without it"):
        ours(X, Y, targets=Y)  # the loss from the decoder asked of one that does not compute it


def test_the_lstm_subclass_gets_the_books_state_and_trains_as_its_twin(nmt, capsys):
    # the inherited init_state wrapped the LSTM's (h, c) as Seq2SeqState((h, c), c): state[0][-1] read c,
    # (layers, batch, hiddens), and torch.cat failed ("Expected size 10 but got size 20")
    _, src_vocab, tgt_vocab = nmt
    Enc, Dec = lstm_subclasses(d2l.Seq2SeqEncoder, d2l.Seq2SeqDecoder)
    torch.manual_seed(0)
    ours = d2l.EncoderDecoder(Enc(len(src_vocab), 16, 16, 2, 0.1), Dec(len(tgt_vocab), 16, 16, 2, 0.1))
    enc_outputs = ours.encoder(torch.zeros(3, 5, dtype=torch.long))
    assert ours.decoder.init_state(enc_outputs) is enc_outputs[1]  # the book's `return enc_outputs[1]`
    TwinEnc, TwinDec = lstm_own_classes(d2l.Encoder, d2l.Decoder)
    twin = d2l.EncoderDecoder(TwinEnc(len(src_vocab), 16, 16, 2, 0.1), TwinDec(len(tgt_vocab), 16, 16, 2, 0.1))
    twin.load_state_dict(ours.state_dict())
    _assert_same_run(_train(ours, nmt), _train(twin, nmt), ours, twin)
    # beam search reorders the state in the book's layout, as the twin's hand-written reorder_state
    src, src_len = torch.tensor([[5, 4, 3, 1], [6, 7, 4, 3]]), torch.tensor([3, 4])
    bos, eos = tgt_vocab["<bos>"], tgt_vocab["<eos>"]
    got, want = (beam_search(m, src, src_len, bos, eos, 3, 6) for m in (ours, twin))
    assert [[(h.tokens, h.score) for h in hs] for hs in got] == [[(h.tokens, h.score) for h in hs] for hs in want]


@pytest.mark.parametrize("base", [d2l.Seq2SeqDecoder, BookDecoder], ids=["Seq2SeqDecoder", "the book's class"])
def test_a_decoder_that_maps_the_state_to_its_own_size_is_accepted(base, nmt, capsys):
    # EncoderDecoder refused it: "the encoder has 2 layer(s) of 16 hidden units but the decoder 1 of 24"
    _, src_vocab, tgt_vocab = nmt
    runs = []
    for wrapper in (d2l.EncoderDecoder, BookEncoderDecoder):
        torch.manual_seed(0)
        net = wrapper(d2l.Seq2SeqEncoder(len(src_vocab), 16, 16, 2), projecting(base)(len(tgt_vocab), 16, 24, 1, 16))
        runs.append((net, _train(net, nmt)))
    (ours, ours_run), (book, book_run) = runs
    # seqlab's decoder computes its loss fused when EncoderDecoder passes targets= (the book's does not)
    _assert_same_run(ours_run, book_run, ours, book, rtol=1e-4, atol=1e-6)


def test_a_real_size_mismatch_is_still_told_at_construction():
    with pytest.raises(SeqlabError, match="give both the same num_layers and num_hiddens"):
        d2l.EncoderDecoder(d2l.Seq2SeqEncoder(10, 4, 16, 2), dropout_head(d2l.Seq2SeqDecoder)(10, 4, 24, 1))


def test_an_lstm_state_in_seqlabs_own_forward_is_told_what_to_do():
    # (a torch RuntimeError from inside its forward before; the book's forward fails there too)
    class Dec(d2l.Seq2SeqDecoder):
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, **kwargs):
            super().__init__(vocab_size, embed_size, num_hiddens, num_layers, **kwargs)
            self.rnn = nn.LSTM(embed_size + num_hiddens, num_hiddens, num_layers)
    Enc, _ = lstm_subclasses(d2l.Seq2SeqEncoder, d2l.Seq2SeqDecoder)
    net = d2l.EncoderDecoder(Enc(10, 4, 8, 2), Dec(10, 4, 8, 2))
    X = torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(SeqlabError, match="its own forward.X, state. that reads it"):
        net(X, X)
    with pytest.raises(SeqlabError, match="reads a GRU's"):
        net.decoder(X, net.encoder(X)[1])


# --- d2l 0.17.6 itself: the same classes over its base classes give the same outputs ------------------
def _exercise_models(name, m, DecBase, V_src=13, V_tgt=11):
    """(encoder, decoder) of one exercise over the module `m`'s encoder and the decoder class `DecBase`."""
    if name == "lstm":
        Enc, Dec = lstm_subclasses(m.Seq2SeqEncoder, DecBase)
        return Enc(V_src, 6, 8, 2), Dec(V_tgt, 6, 8, 2)
    dec = dropout_head(DecBase)(V_tgt, 6, 8, 2) if name == "dropout head" else projecting(DecBase)(V_tgt, 6, 12, 1, 8)
    return m.Seq2SeqEncoder(V_src, 6, 8, 2), dec


def test_the_exercises_forward_as_in_d2l_0176():
    book = import_real_d2l()
    BookDec = book_seq2seq_decoder(book.Decoder)
    torch.manual_seed(0)
    X, dec_X, X_len = torch.randint(0, 13, (4, 5)), torch.randint(0, 11, (4, 3)), torch.tensor([5, 2, 3, 1])
    for name in ("dropout head", "lstm", "projection"):
        ours = d2l.EncoderDecoder(*_exercise_models(name, d2l, d2l.Seq2SeqDecoder)).eval()
        theirs = book.EncoderDecoder(*_exercise_models(name, book, BookDec)).eval()
        theirs.load_state_dict(ours.state_dict())
        with torch.no_grad():
            (Y, state), (Y_book, state_book) = ours(X, dec_X, X_len), theirs(X, dec_X, X_len)
        torch.testing.assert_close(Y, Y_book, rtol=0, atol=0, msg=name)
        hidden = state.hidden if isinstance(state, Seq2SeqState) else state  # seqlab's own forward: + the context
        torch.testing.assert_close(hidden, state_book, rtol=0, atol=0, msg=name)
