"""The book's own classes, as a reader types them (8.2's Vocab, 9.6's EncoderDecoder, 9.7's
MaskedSoftmaxCELoss), given to the functions of `from seqlab import d2l`."""

import collections
import contextlib
import signal

import pytest
import torch
from torch import nn

from d2l_0176 import BookEncoderDecoder  # tests/d2l: 9.6 as printed
from seqlab import d2l
from seqlab.errors import SeqlabError

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU

RESERVED = ["<pad>", "<bos>", "<eos>"]


# --- d2l 0.17.6, 8.2, as printed -------------------------------------------------------------
def count_corpus(tokens):
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    return collections.Counter(tokens)


class BookVocab:
    """Vocabulary for text (no __contains__: `t in vocab` tries vocab[0], vocab[1], ... for ever)."""

    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        if tokens is None:
            tokens = []
        if reserved_tokens is None:
            reserved_tokens = []
        counter = count_corpus(tokens)
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ['<unk>'] + reserved_tokens
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[index] for index in indices]

    @property
    def unk(self):
        return 0

    @property
    def token_freqs(self):
        return self._token_freqs


@contextlib.contextmanager
def within(seconds):
    """Fail instead of hanging (the project has no pytest-timeout): with the book's Vocab, `in vocab`
    looped for ever in Python code, which the alarm interrupts."""
    def hung(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_predict_and_train_ch8_take_the_books_own_vocab(capsys):
    vocab = BookVocab(d2l.tokenize(d2l.read_time_machine(), "char"))
    train_iter, ours = d2l.load_data_time_machine(8, 10, max_tokens=1000)
    assert vocab.idx_to_token == ours.idx_to_token
    torch.manual_seed(0)
    net = d2l.RNNModel(nn.GRU(len(vocab), 16), len(vocab))
    with within(60):
        text = d2l.predict_ch8("time traveller", 10, net, vocab, "cpu")
        assert text == d2l.predict_ch8("time traveller", 10, net, ours, "cpu") and len(text) == 24
        with pytest.raises(SeqlabError, match="'T'.*lower-case"):  # the hint as with seqlab's Vocab
            d2l.predict_ch8("Time traveller", 10, net, vocab, "cpu")
        d2l.train_ch8(net, train_iter, vocab, 1, 1, "cpu")  # predicts at its end
    assert capsys.readouterr().out.splitlines()[-1].startswith("traveller")


def _train_and_translate(make_vocab):
    src = [["go", "."], ["hi", "."], ["run", "!"], ["who", "?"]]
    tgt = [["va", "!"], ["salut", "!"], ["cours", "!"], ["qui", "?"]]
    src_vocab, tgt_vocab = make_vocab(src, reserved_tokens=RESERVED), make_vocab(tgt, reserved_tokens=RESERVED)
    src_array, src_len = d2l.build_array_nmt(src, src_vocab, 5)
    tgt_array, tgt_len = d2l.build_array_nmt(tgt, tgt_vocab, 5)
    torch.manual_seed(0)
    data_iter = d2l.load_array((src_array, src_len, tgt_array, tgt_len), 2)
    net = d2l.EncoderDecoder(d2l.Seq2SeqEncoder(len(src_vocab), 8, 8, 1), d2l.Seq2SeqDecoder(len(tgt_vocab), 8, 8, 1))
    losses = d2l.train_seq2seq(net, data_iter, 0.01, 3, tgt_vocab, "cpu")
    translation, _ = d2l.predict_seq2seq(net, "go .", src_vocab, tgt_vocab, 5, "cpu")
    return src_array.tolist(), tgt_len.tolist(), losses, translation


def test_nmt_functions_take_the_books_own_vocab(capsys):
    with within(60):
        book = _train_and_translate(BookVocab)
    assert book == _train_and_translate(d2l.Vocab)  # the same ids, so the same run
    assert book[0][0] == [5, 4, 3, 1, 1]  # go . <eos> <pad> <pad> ("." is the commoner: id 4)


def test_train_seq2seq_trains_the_books_own_encoder_decoder_as_seqlabs(data_dir, capsys):
    # it passed targets= (seqlab's fast path, for seqlab's decoders) to the reader's class:
    # TypeError: forward() got an unexpected keyword argument 'targets'
    train_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(64, 10, num_examples=256)
    runs = []
    for wrapper in (BookEncoderDecoder, d2l.EncoderDecoder):
        torch.manual_seed(0)
        net = wrapper(d2l.Seq2SeqEncoder(len(src_vocab), 16, 16, 2, 0.1),
                      d2l.Seq2SeqDecoder(len(tgt_vocab), 16, 16, 2, 0.1))
        losses = d2l.train_seq2seq(net, train_iter, 0.005, 1, tgt_vocab, "cpu")
        runs.append((losses, net.state_dict()))
    (book_losses, book_weights), (losses, weights) = runs
    assert book_losses == pytest.approx(losses, rel=1e-5)
    for name, w in weights.items():
        torch.testing.assert_close(book_weights[name], w, rtol=1e-4, atol=1e-6)


# --- d2l 0.17.6, 9.7, as printed (the mean over the padded length: SPEC §13) -----------------------
class BookMaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    def forward(self, pred, label, valid_len):
        weights = torch.ones_like(label)
        weights = d2l.sequence_mask(weights, valid_len)
        self.reduction = 'none'
        unweighted_loss = super(BookMaskedSoftmaxCELoss, self).forward(pred.permute(0, 2, 1), label)
        weighted_loss = (unweighted_loss * weights).mean(dim=1)
        return weighted_loss


def test_masked_softmax_ce_loss_is_a_cross_entropy_loss_as_the_books():
    loss = d2l.MaskedSoftmaxCELoss()
    assert isinstance(loss, nn.CrossEntropyLoss)
    assert loss(torch.ones(3, 4, 10), torch.ones((3, 4), dtype=torch.long), torch.tensor([4, 2, 0])).tolist() == \
        pytest.approx([2.3026, 2.3026, 0.0], abs=1e-4)  # the book prints [2.3026, 1.1513, 0.0]: SPEC §13
    torch.manual_seed(0)
    pred, label, valid = torch.randn(3, 4, 10), torch.randint(0, 10, (3, 4)), torch.tensor([4, 2, 1])
    for kwargs in (dict(label_smoothing=0.1), dict(weight=torch.rand(10)), dict(ignore_index=label[0, 0].item())):
        ours = d2l.MaskedSoftmaxCELoss(**kwargs)(pred, label, valid)
        book = BookMaskedSoftmaxCELoss(**kwargs)(pred, label, valid)
        torch.testing.assert_close(ours, book * 4 / valid)  # each sequence over its real tokens
    with pytest.raises(SeqlabError, match="one loss per sequence"):
        d2l.MaskedSoftmaxCELoss(reduction="sum")


def test_masked_softmax_takes_the_books_parameter_names():
    X, valid_lens = torch.rand(2, 2, 4), torch.tensor([2, 3])
    torch.testing.assert_close(d2l.masked_softmax(X=X, valid_lens=valid_lens), d2l.masked_softmax(X, valid_lens))
