"""Encoder/decoder shapes (the book's 9.7 checks), bidirectional state, attention masking,
and step-by-step decoding equal to one teacher-forced call (the book's context defect)."""

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.models.attention import AdditiveAttention, Seq2SeqAttentionDecoder, masked_softmax
from seqlab.models.seq2seq import Seq2SeqDecoder, Seq2SeqEncoder, build_seq2seq


def test_book_shapes():
    encoder = Seq2SeqEncoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2).eval()
    X = torch.zeros((4, 7), dtype=torch.long)
    output, state = encoder(X)
    assert output.shape == (7, 4, 16) and state.shape == (2, 4, 16)
    decoder = Seq2SeqDecoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2).eval()
    out, state = decoder(X, decoder.init_state(encoder(X)))
    assert out.shape == (4, 7, 10) and state.shape == (2, 4, 16)


def test_bidirectional_encoder_joins_directions_per_layer():
    torch.manual_seed(0)
    enc = Seq2SeqEncoder(10, 8, 16, num_layers=2, bidirectional=True).eval()
    X = torch.randint(0, 10, (3, 5))
    output, state = enc(X)
    assert output.shape == (5, 3, 16) and state.shape == (2, 3, 16)
    # top layer: forward half = forward output at the last step, backward half = backward output at step 0
    assert torch.allclose(state[-1, :, :8], output[-1, :, :8]) and torch.allclose(state[-1, :, 8:], output[0, :, 8:])
    with pytest.raises(SeqlabError, match="even"):
        Seq2SeqEncoder(10, 8, 15, 1, bidirectional=True)


def test_masked_softmax_ignores_padding():
    scores = torch.rand(2, 2, 4)
    p = masked_softmax(scores, torch.tensor([2, 3]))
    assert torch.all(p[0, :, 2:] == 0) and torch.all(p[1, :, 3:] == 0)
    assert torch.allclose(p.sum(-1), torch.ones(2, 2))


def test_additive_attention_book_example():
    queries, keys = torch.normal(0, 1, (2, 1, 20)), torch.ones((2, 10, 2))
    values = torch.arange(40, dtype=torch.float32).reshape(1, 10, 4).repeat(2, 1, 1)
    attention = AdditiveAttention(key_size=2, query_size=20, num_hiddens=8, dropout=0.1).eval()
    out = attention(queries, keys, values, torch.tensor([2, 6]))
    # equal keys -> uniform weights over the valid ones: the mean of the first 2 / 6 value rows
    assert torch.allclose(out[0, 0], values[0, :2].mean(0)) and torch.allclose(out[1, 0], values[1, :6].mean(0))


@pytest.mark.parametrize("attention", [False, True])
def test_step_by_step_decoding_equals_teacher_forced_call(attention):
    torch.manual_seed(0)
    model = build_seq2seq(11, 13, embed=6, hidden=10, layers=2, dropout=0.0, attention=attention).eval()
    src, src_len = torch.randint(0, 11, (3, 5)), torch.tensor([5, 2, 4])
    tgt_in = torch.randint(0, 13, (3, 6))
    whole, _ = model(src, tgt_in, src_len)  # (B, T, V)
    state = model.decoder.init_state(model.encoder(src, src_len), src_len)
    steps = []
    for t in range(6):
        logits, state = model.decoder(tgt_in[:, t:t + 1], state)
        steps.append(logits)
    # the book's Seq2SeqDecoder fails this: its context is the decoder's own state after step 1
    assert torch.allclose(torch.cat(steps, dim=1), whole, atol=1e-5)


def test_attention_decoder_gives_padding_no_weight():
    torch.manual_seed(0)
    model = build_seq2seq(11, 13, embed=6, hidden=10, layers=1, attention=True).eval()
    src = torch.tensor([[4, 5, 3, 1, 1], [4, 5, 6, 7, 3]])
    model(src, torch.tensor([[2, 6, 7], [2, 8, 9]]), torch.tensor([3, 5]))
    weights = model.decoder.attention_weights
    assert isinstance(model.decoder, Seq2SeqAttentionDecoder) and len(weights) == 3
    for w in weights:  # (B, 1, S) per output step
        assert torch.all(w[0, :, 3:] == 0) and torch.all(w[1] > 0)
        assert torch.allclose(w.sum(-1), torch.ones(2, 1))


@pytest.mark.parametrize("kwargs, message", [
    (dict(embed=0, hidden=4, layers=1), "--embed must be a positive integer, got 0"),
    (dict(embed=4, hidden=4, layers=0), "--layers must be a positive integer, got 0"),
    (dict(embed=4, hidden=4, layers=1, dropout=1.0), "--dropout must be in"),
])
def test_bad_model_settings(kwargs, message):
    with pytest.raises(SeqlabError, match=message):
        build_seq2seq(5, 5, **kwargs)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_encoder_reads_each_source_only_to_its_length(bidirectional):
    torch.manual_seed(0)
    enc = Seq2SeqEncoder(10, 6, 8, num_layers=2, bidirectional=bidirectional, pack=True).eval()
    X = torch.tensor([[4, 5, 3, 1, 1, 1], [6, 7, 8, 9, 5, 3]])
    lengths = torch.tensor([3, 6])
    output, state = enc(X, lengths)
    alone_out, alone_state = enc(X[:1, :3])  # the first source without its padding (no lengths: no packing)
    assert torch.allclose(state[:, :1], alone_state, atol=1e-6)
    assert torch.allclose(output[:3, :1], alone_out, atol=1e-6) and torch.all(output[3:, 0] == 0)
    unpacked = Seq2SeqEncoder(10, 6, 8, num_layers=2, bidirectional=bidirectional)
    unpacked.load_state_dict(enc.state_dict())
    assert not torch.allclose(unpacked.eval()(X, lengths)[1][:, :1], alone_state, atol=1e-4)  # the book's reads pads


def test_decoder_first_step_by_hand_uses_the_top_layer_as_context():
    # the book's 9.7: the context is the encoder's final state of the LAST layer, fed with every
    # embedding; the first GRU step starts from the whole encoder state. Written out with the
    # decoder's own submodules, one step, 2 layers (bottom and top layers differ).
    torch.manual_seed(0)
    enc = Seq2SeqEncoder(7, 4, 6, num_layers=2).eval()
    dec = Seq2SeqDecoder(9, 5, 6, num_layers=2).eval()
    src, y0 = torch.randint(0, 7, (3, 4)), torch.tensor([[2], [5], [8]])
    enc_out = enc(src)
    hidden = enc_out[1]  # (2, 3, 6)
    x = torch.cat([dec.embedding(y0[:, 0]), hidden[-1]], dim=-1).unsqueeze(0)  # (1, B, E + H)
    out, _ = dec.rnn(x, hidden)
    want = dec.dense(out[0])  # (B, V)
    got, _ = dec(y0, dec.init_state(enc_out))
    torch.testing.assert_close(got[:, 0], want)


def test_attention_query_is_the_top_layer_state_by_hand():
    # score(q, k_j) = w_v^T tanh(W_q q + W_k k_j), q = the decoder's previous TOP-layer state
    # (at step 1 the encoder's final top-layer state), padded keys masked out
    torch.manual_seed(0)
    model = build_seq2seq(11, 13, embed=6, hidden=10, layers=2, attention=True).eval()
    src, src_len = torch.randint(0, 11, (2, 5)), torch.tensor([5, 3])
    enc_outputs, enc_state = model.encoder(src, src_len)
    att = model.decoder.attention
    keys = enc_outputs.permute(1, 0, 2)  # (B, S, H)
    scores = att.w_v(torch.tanh(att.W_q(enc_state[-1])[:, None, :] + att.W_k(keys))).squeeze(-1)  # (B, S)
    scores[1, 3:] = float("-inf")
    want = torch.softmax(scores, dim=-1)
    model(src, torch.tensor([[2], [2]]), src_len)
    torch.testing.assert_close(model.decoder.attention_weights[0][:, 0], want)


def test_attention_without_valid_lengths_attends_to_every_source_position():
    # no lengths given (the book's `net(X, dec_X)`): every source position is a real key
    torch.manual_seed(0)
    model = build_seq2seq(11, 13, embed=6, hidden=10, layers=1, attention=True).eval()
    src, tgt = torch.randint(0, 11, (2, 5)), torch.randint(0, 13, (2, 3))
    unmasked, _ = model(src, tgt)
    full, _ = model(src, tgt, torch.tensor([5, 5]))
    torch.testing.assert_close(unmasked, full)
    assert all(torch.all(w > 0) for w in model.decoder.attention_weights)
