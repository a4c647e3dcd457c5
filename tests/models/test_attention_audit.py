"""Mutation-audit tests of attention.py: what the other attention tests left open (dropout on the
attention weights, the weights kept without a graph and per call, one-layer dropout, the GRU input's
layout), each against a twin written out here."""

import copy
import warnings

import torch
import torch.nn.functional as F

from seqlab.models.attention import AdditiveAttention, masked_softmax
from seqlab.models.seq2seq import build_seq2seq


def _book_weights(att, queries, keys, valid_lens):
    """The book's a = masked_softmax(w_v^T tanh(W_q q + W_k k_j)), masked by hand: (B, Q, K)."""
    scores = att.w_v(torch.tanh(att.W_q(queries)[:, :, None, :] + att.W_k(keys)[:, None, :, :])).squeeze(-1)
    keep = torch.arange(keys.shape[1])[None, None, :] < valid_lens[:, None, None]
    return torch.softmax(scores.masked_fill(~keep, float("-inf")), dim=-1)


def test_training_drops_out_attention_weights_as_the_book_does():
    # the book's AdditiveAttention returns bmm(dropout(weights), values): in training the weights,
    # not the output, are dropped (and the kept ones scaled by 1 / (1 - p))
    torch.manual_seed(0)
    att = AdditiveAttention(key_size=3, query_size=4, num_hiddens=5, dropout=0.5).train()
    q, k, v, lens = torch.randn(2, 2, 4), torch.randn(2, 6, 3), torch.randn(2, 6, 7), torch.tensor([4, 6])
    weights = _book_weights(att, q, k, lens).detach()
    torch.manual_seed(1)
    got = att(q, k, v, lens)
    torch.manual_seed(1)  # the same draw of the dropout mask
    torch.testing.assert_close(got, torch.bmm(F.dropout(weights, 0.5, training=True), v))
    torch.testing.assert_close(att.attention_weights, weights)  # kept before the dropout


def test_a_model_that_ran_forward_can_still_be_copied():
    # the kept attention weights hold no graph: deepcopy (EMA weights, best-model snapshots) works
    torch.manual_seed(0)
    model = build_seq2seq(11, 13, embed=6, hidden=10, layers=1, attention=True)
    model(torch.randint(0, 11, (2, 5)), torch.randint(0, 13, (2, 3)), torch.tensor([5, 3]))
    assert all(w.grad_fn is None for w in model.decoder.attention_weights)
    twin = copy.deepcopy(model)
    assert len(twin.decoder.attention_weights) == 3


def test_attention_weights_are_those_of_the_last_call_only():
    torch.manual_seed(0)
    model = build_seq2seq(11, 13, embed=6, hidden=10, layers=1, attention=True).eval()
    src, lens = torch.randint(0, 11, (2, 5)), torch.tensor([5, 3])
    model(src, torch.randint(0, 13, (2, 4)), lens)
    model(src, torch.randint(0, 13, (2, 2)), lens)
    assert len(model.decoder.attention_weights) == 2


def test_dropout_with_one_layer_builds_without_torchs_warning():
    # dropout acts between GRU layers only: with one it is left out, not handed to nn.GRU to warn about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_seq2seq(7, 6, embed=3, hidden=4, layers=1, dropout=0.2, attention=True)


def test_first_step_logits_by_hand_with_the_context_before_the_embedding():
    # the book's 10.4: GRU input = [context ; embedding(y)] (context first), the query the encoder's
    # final top-layer state; embed == hidden so a swapped layout would still run
    torch.manual_seed(0)
    model = build_seq2seq(11, 13, embed=8, hidden=8, layers=2, attention=True).eval()
    dec = model.decoder
    src, lens, y0 = torch.randint(0, 11, (2, 5)), torch.tensor([5, 2]), torch.tensor([[3], [7]])
    enc_outputs, enc_state = model.encoder(src, lens)
    keys = enc_outputs.permute(1, 0, 2)  # (B, S, H)
    a = _book_weights(dec.attention, enc_state[-1][:, None, :], keys, lens)  # (B, 1, S)
    context = torch.bmm(a, keys)[:, 0]  # (B, H)
    out, _ = dec.rnn(torch.cat([context, dec.embedding(y0[:, 0])], dim=-1)[None], enc_state)
    got, _ = model(src, y0, lens)
    torch.testing.assert_close(got[:, 0], dec.dense(out[0]))


def test_masked_softmax_without_lengths_is_the_softmax_over_keys():
    # (B, Q, K) scores with Q > 1: each query's weights over its keys sum to 1
    scores = torch.randn(2, 3, 4)
    torch.testing.assert_close(masked_softmax(scores, None), torch.softmax(scores, dim=-1))
    torch.testing.assert_close(masked_softmax(scores, None).sum(-1), torch.ones(2, 3))


def test_lengths_as_a_list_mask_as_the_tensor_does():
    torch.manual_seed(0)
    model = build_seq2seq(11, 13, embed=6, hidden=10, layers=1, attention=True).eval()
    src, tgt = torch.randint(0, 11, (2, 5)), torch.randint(0, 13, (2, 3))
    want, _ = model(src, tgt, torch.tensor([5, 2]))
    got, _ = model(src, tgt, [5, 2])
    torch.testing.assert_close(got, want)
    assert torch.all(model.decoder.attention_weights[0][1, :, 2:] == 0)
