"""Mutation-audit tests of seq2seq.py: behaviour the other seq2seq tests left open (an empty source
in a packed batch, the book's bare-tensor state, fast=False, the book's initialisation, dropout
with one layer), each against a twin written out here."""

import warnings

import torch
import torch.nn.functional as F

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


def test_init_seq2seq_gives_every_gru_weight_the_xavier_range():
    # the book's init: Xavier-uniform, bound sqrt(6 / (fan_in + fan_out)), for the GRU's input AND
    # recurrent weights; PyTorch's default draws within 1 / sqrt(H), below Xavier's bound here
    torch.manual_seed(0)
    H = 64
    model = build_seq2seq(7, 6, embed=H, hidden=H, layers=1)
    model.apply(init_seq2seq)
    for rnn in (model.encoder.rnn, model.decoder.rnn):
        for name in ("weight_ih_l0", "weight_hh_l0"):
            w = getattr(rnn, name)
            bound = (6 / (w.shape[0] + w.shape[1])) ** 0.5
            assert w.abs().max() <= bound and w.abs().max() > H ** -0.5, name


def test_dropout_with_one_layer_builds_without_torchs_warning():
    # dropout acts between GRU layers only: with one it is left out, not handed to nn.GRU to warn about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_seq2seq(7, 6, embed=3, hidden=4, layers=1, dropout=0.2)
