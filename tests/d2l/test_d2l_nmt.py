"""The book's 9.5-9.7 code, run through `from seqlab import d2l` (a few epochs)."""

import pytest
import torch

from seqlab import d2l

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: one thread is faster on a shared CPU



def test_book_names_exist():
    for name in ["read_data_nmt", "preprocess_nmt", "tokenize_nmt", "truncate_pad", "build_array_nmt",
                 "load_data_nmt", "Encoder", "Decoder", "EncoderDecoder", "Seq2SeqEncoder", "Seq2SeqDecoder",
                 "MaskedSoftmaxCELoss", "train_seq2seq", "predict_seq2seq", "bleu", "sequence_mask"]:
        assert hasattr(d2l, name), name


def test_book_9_7_shapes_and_loss():
    encoder = d2l.Seq2SeqEncoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2)
    encoder.eval()
    X = torch.zeros((4, 7), dtype=torch.long)
    output, state = encoder(X)
    assert output.shape == (7, 4, 16) and state.shape == (2, 4, 16)
    decoder = d2l.Seq2SeqDecoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2)
    decoder.eval()
    state = decoder.init_state(encoder(X))
    output, state = decoder(X, state)
    assert output.shape == (4, 7, 10) and state.shape == (2, 4, 16)
    loss = d2l.MaskedSoftmaxCELoss()
    assert loss(torch.ones(3, 4, 10), torch.ones((3, 4), dtype=torch.long), torch.tensor([4, 2, 0])).tolist() == \
        pytest.approx([2.3026, 2.3026, 0.0], abs=1e-4)  # the book prints [2.3026, 1.1513, 0.0]: SPEC §13


def test_book_9_7_training_and_prediction(data_dir, capsys):
    torch.manual_seed(0)
    embed_size, num_hiddens, num_layers, dropout = 32, 32, 2, 0.1
    batch_size, num_steps = 64, 10
    lr, num_epochs, device = 0.005, 12, d2l.try_gpu()

    train_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(batch_size, num_steps)
    encoder = d2l.Seq2SeqEncoder(len(src_vocab), embed_size, num_hiddens, num_layers, dropout)
    decoder = d2l.Seq2SeqDecoder(len(tgt_vocab), embed_size, num_hiddens, num_layers, dropout)
    net = d2l.EncoderDecoder(encoder, decoder)
    losses = d2l.train_seq2seq(net, train_iter, lr, num_epochs, tgt_vocab, device)
    printed = capsys.readouterr().out
    assert printed.startswith("loss ") and "tokens/sec on" in printed
    assert losses[-1] < losses[0] - 1.0  # per real token, in nats

    engs = ['go .', "i lost .", 'he\'s calm .', 'i\'m home .']
    fras = ['va !', 'j\'ai perdu .', 'il est calme .', 'je suis chez moi .']
    for eng, fra in zip(engs, fras):
        translation, attention_weight_seq = d2l.predict_seq2seq(net, eng, src_vocab, tgt_vocab, num_steps, device)
        score = d2l.bleu(translation, fra, k=2)  # never ZeroDivisionError, even for one-word output
        assert isinstance(translation, str) and 0.0 <= score <= 1.0 and attention_weight_seq == []
        assert len(translation.split()) <= num_steps


def test_train_seq2seq_draws_the_books_live_loss_curve_in_a_notebook(data_dir, monkeypatch, capsys):
    import seqlab.d2l.nmt as d2l_nmt

    points = []

    class Recorder:
        def __init__(self, **kw):
            assert kw == dict(xlabel="epoch", ylabel="loss", xlim=[10, 20])

        def add(self, x, y):
            points.append((x, y))
    monkeypatch.setattr(d2l_nmt, "_in_notebook", lambda: True)
    monkeypatch.setattr(d2l_nmt, "Animator", Recorder)
    torch.manual_seed(0)
    train_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(64, 10, num_examples=128)
    net = d2l.EncoderDecoder(d2l.Seq2SeqEncoder(len(src_vocab), 8, 8, 1), d2l.Seq2SeqDecoder(len(tgt_vocab), 8, 8, 1))
    losses = d2l.train_seq2seq(net, train_iter, 0.005, 20, tgt_vocab, "cpu")
    assert points == [(10, (losses[9],)), (20, (losses[19],))]
    assert capsys.readouterr().out.startswith(f"loss {losses[-1]:.3f}, ")


def test_attention_decoder_weights_through_predict(data_dir):
    torch.manual_seed(0)
    train_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(64, 10)
    encoder = d2l.Seq2SeqEncoder(len(src_vocab), 16, 16, 1)
    decoder = d2l.Seq2SeqAttentionDecoder(len(tgt_vocab), 16, 16, 1)
    net = d2l.EncoderDecoder(encoder, decoder)
    d2l.train_seq2seq(net, train_iter, 0.005, 2, tgt_vocab, "cpu")
    translation, weights = d2l.predict_seq2seq(net, "go .", src_vocab, tgt_vocab, 10, "cpu", True)
    assert 1 <= len(weights) <= 10 and weights[0][0].shape == (1, 1, 10)
    assert torch.all(weights[0][0][..., 3:] == 0)  # "go . <eos>" then padding: no weight on padding


@pytest.mark.slow
def test_book_9_7_full_run_memorises_its_training_sentences(data_dir):
    """The book's 300-epoch run (about 2 minutes on one CPU thread): its table's training sentences."""
    torch.manual_seed(0)
    train_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(64, 10)
    encoder = d2l.Seq2SeqEncoder(len(src_vocab), 32, 32, 2, 0.1)
    decoder = d2l.Seq2SeqDecoder(len(tgt_vocab), 32, 32, 2, 0.1)
    net = d2l.EncoderDecoder(encoder, decoder)
    losses = d2l.train_seq2seq(net, train_iter, 0.005, 300, tgt_vocab, "cpu")
    assert losses[-1] < 0.35  # per real token (the book's printed figure is over padded length)
    exact = 0
    for eng, fra in [("go .", "va !"), ("i lost .", "j'ai perdu ."), ("i'm home .", "je suis chez moi .")]:
        translation, _ = d2l.predict_seq2seq(net, eng, src_vocab, tgt_vocab, 10, "cpu")
        exact += d2l.bleu(translation, fra, k=2) == 1.0
    assert exact >= 2


class _RecordingEncoder(torch.nn.Module):
    def forward(self, X, valid_len):
        self.seen = (X.tolist(), valid_len.tolist())
        return None


class _ScriptedDecoder(torch.nn.Module):
    """Emits `script[t]` at step t whatever its input (the state counts the steps)."""

    def __init__(self, script, vocab_size):
        super().__init__()
        self.script, self.vocab_size, self.attention_weights = script, vocab_size, None

    def init_state(self, enc_outputs, enc_valid_len):
        return 0

    def forward(self, X, step):
        Y = torch.zeros(1, 1, self.vocab_size)
        Y[0, 0, self.script[step]] = 1.0
        return Y, step + 1


def test_predict_seq2seq_follows_the_books_loop():
    # the book: src_vocab[src_sentence.lower().split(' ')] + [<eos>], padded to num_steps with the
    # unpadded length as valid length; greedy until <eos>, which is not part of the output
    src_vocab = d2l.Vocab([["go", "."]], reserved_tokens=["<pad>", "<bos>", "<eos>"])  # go 4, . 5
    tgt_vocab = d2l.Vocab([["va", "!"]], reserved_tokens=["<pad>", "<bos>", "<eos>"])  # va 4, ! 5
    encoder = _RecordingEncoder()
    net = d2l.EncoderDecoder(encoder, _ScriptedDecoder([4, 5, 3, 4, 4, 4], len(tgt_vocab)))
    translation, weights = d2l.predict_seq2seq(net, "Go .", src_vocab, tgt_vocab, 5, "cpu")
    assert translation == "va !" and weights == []
    assert encoder.seen == ([[4, 5, 3, 1, 1]], [3])
    net = d2l.EncoderDecoder(encoder, _ScriptedDecoder([4] * 6, len(tgt_vocab)))  # never <eos>
    assert d2l.predict_seq2seq(net, "go .", src_vocab, tgt_vocab, 5, "cpu")[0] == "va va va va va"
