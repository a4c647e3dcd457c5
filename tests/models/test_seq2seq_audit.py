"""Mutation-audit tests of seq2seq.py: behaviour the other seq2seq tests left open (an empty source
in a packed batch, the book's bare-tensor state, fast=False, the book's initialisation, dropout
with one layer), each against a twin written out here."""

import warnings

import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import SeqlabError
from seqlab.models import fused_loss
from seqlab.models.seq2seq import Seq2SeqDecoder, Seq2SeqEncoder, build_seq2seq, init_seq2seq


def test_a_packed_source_of_length_zero_reads_its_first_pad_token_only():
    # pack_padded_sequence refuses a length of 0; the encoder reads one step for such a source
    torch.manual_seed(0)
    enc = Seq2SeqEncoder(10, 4, 6, num_layers=2, pack=True).eval()
    X = torch.tensor([[1, 1, 1, 1], [4, 5, 6, 7]])
    output, state = enc(X, torch.tensor([0, 4]))
    h = torch.zeros(2, 1, 6)
    _, h = enc.rnn(enc.embedding(X[:1, :1]).permute(1, 0, 2), h)  # the GRU over the first pad, by hand
    torch.testing.assert_close(state[:, :1], h)
    assert output.shape == (4, 2, 6) and torch.all(output[1:, 0] == 0)


def test_a_bare_tensor_state_takes_its_context_from_the_top_layer():
    # the book passes the encoder's (L, B, H) state itself: the context is its last layer, state[-1]
    torch.manual_seed(0)
    dec = Seq2SeqDecoder(9, 5, 6, num_layers=2).eval()
    hidden, y0 = torch.randn(2, 3, 6), torch.tensor([[2], [5], [8]])
    x = torch.cat([dec.embedding(y0[:, 0]), hidden[-1]], dim=-1).unsqueeze(0)  # (1, B, E + H)
    out, _ = dec.rnn(x, hidden)
    got, _ = dec(y0, hidden)
    torch.testing.assert_close(got[:, 0], dec.dense(out[0]))


def test_fast_false_takes_the_plain_loss_which_has_second_order_gradients(monkeypatch):
    monkeypatch.setattr(fused_loss, "MIN_VOCAB", 1)  # a tiny vocabulary on the fused path all the same
    torch.manual_seed(0)
    model = build_seq2seq(7, 6, embed=3, hidden=4, layers=1, fast=False)
    src, tgt, labels = torch.randint(0, 7, (2, 3)), torch.randint(0, 6, (2, 4)), torch.randint(0, 6, (2, 4))
    loss, _ = model(src, tgt, targets=labels)
    logits, _ = model(src, tgt)
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(-1, 6), labels.reshape(-1),
                                                     reduction="none").reshape(2, 4))
    weight = model.decoder.dense.weight
    g, = torch.autograd.grad(loss.sum(), weight, create_graph=True)  # the fused loss refuses this
    assert g.requires_grad


def test_init_seq2seq_gives_every_gru_and_linear_weight_the_xavier_range():
    # the book's init: Xavier-uniform, bound sqrt(6 / (fan_in + fan_out)), for the output layer and the
    # GRU's input AND recurrent weights; PyTorch's defaults draw within 1 / sqrt(fan_in), below
    # Xavier's bound for these shapes
    torch.manual_seed(0)
    H, V = 64, 300
    model = build_seq2seq(7, V, embed=H, hidden=H, layers=1)
    model.apply(init_seq2seq)
    rnns = (model.encoder.rnn, model.decoder.rnn)
    weights = [(f"{name} of a GRU", getattr(rnn, name)) for rnn in rnns for name in ("weight_ih_l0", "weight_hh_l0")]
    for name, w in weights + [("the output layer's weight", model.decoder.dense.weight)]:
        bound = (6 / (w.shape[0] + w.shape[1])) ** 0.5
        assert w.abs().max() <= bound and w.abs().max() > w.shape[1] ** -0.5, name


def test_dropout_with_one_layer_builds_without_torchs_warning():
    # dropout acts between GRU layers only: with one it is left out, not handed to nn.GRU to warn about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_seq2seq(7, 6, embed=3, hidden=4, layers=1, dropout=0.2)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
def test_token_ids_of_any_integer_dtype_give_the_int64_logits(dtype):
    torch.manual_seed(0)
    model = build_seq2seq(7, 6, embed=3, hidden=4, layers=1).eval()
    src, tgt = torch.randint(0, 7, (2, 3)), torch.randint(0, 6, (2, 4))
    want, _ = model(src, tgt)
    got, _ = model(src.to(dtype), tgt.to(dtype))
    torch.testing.assert_close(got, want)


def test_a_source_id_past_the_vocabulary_is_a_seqlab_error_naming_the_source():
    model = build_seq2seq(7, 6, embed=3, hidden=4, layers=1)
    with pytest.raises(SeqlabError, match="token id 7 in the source is out of range for its vocabulary of 7"):
        model(torch.tensor([[1, 7]]), torch.tensor([[1, 2]]))


def test_transposed_targets_are_refused_not_read_in_another_order():
    # (T, B) targets have the (B, T) ones' T * B entries: without the shape check the loss silently
    # pairs each output with another position's label
    model = build_seq2seq(7, 6, embed=3, hidden=4, layers=1)
    src, tgt = torch.randint(0, 7, (2, 3)), torch.randint(0, 6, (2, 4))
    want = r"targets must have the decoder input's shape \(B, T\) = \(2, 4\), got \(4, 2\)"
    with pytest.raises(SeqlabError, match=want):
        model(src, tgt, targets=torch.randint(0, 6, (4, 2)))


def test_reorder_state_of_the_books_bare_state_moves_batch_rows():
    # a subclass with its own forward keeps the book's (L, B, H) state: row i of the result is row index[i]
    dec = Seq2SeqDecoder(9, 5, 6, num_layers=2)
    state, index = torch.randn(2, 3, 6), torch.tensor([2, 2, 0])
    torch.testing.assert_close(dec.reorder_state(state, index), state[:, [2, 2, 0]])


def test_a_packed_encoder_given_no_lengths_reads_every_step():
    # EncoderDecoder hands the encoder its *args: net(src, tgt, None) is the book's call without lengths
    torch.manual_seed(0)
    enc = Seq2SeqEncoder(10, 4, 6, num_layers=1, pack=True).eval()
    X = torch.randint(0, 10, (2, 5))
    plain = Seq2SeqEncoder(10, 4, 6, num_layers=1).eval()
    plain.load_state_dict(enc.state_dict())
    for got, want in zip(enc(X, None), plain(X)):
        torch.testing.assert_close(got, want)
