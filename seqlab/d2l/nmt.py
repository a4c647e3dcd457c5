"""The book's names for machine translation (9.5-9.7, and 10.4's attention decoder).

Differences from d2l 0.17, each a fix of a reported defect (see SPEC §13):
- `MaskedSoftmaxCELoss` averages each sequence over its real tokens, not its padded
  length (so a valid length outside 0..num_steps is an error, not a wrong average);
  `train_seq2seq` prints the per-token loss over real tokens.
- `Seq2SeqDecoder` keeps the encoder's context fixed while decoding step by step
  (the book's takes it from the decoder's own state during prediction); its state
  is a `Seq2SeqState` whose `.shape` is the hidden state's, so `state.shape` still prints. A
  subclass that writes its own `forward(X, state)` (9.7's exercises) gets the book's state instead:
  `init_state` returns the encoder's state unchanged (an LSTM's (h, c) too).
- `bleu` returns 0 instead of raising ZeroDivisionError for predictions shorter than k.
- `sequence_mask` returns a masked copy and leaves its input as it was (the book's also masks
  the input in place; every cell of the book uses the returned value).
- `predict_seq2seq` encodes the sentence with `encode_source`: it is preprocessed like the
  training data ("Go." works), and an empty sentence, one of unknown words only, or one with
  no room left for <eos> in `num_steps` is an error (the book cuts such a sentence silently,
  dropping its <eos>). Bad arguments are errors that say what to fix (seqlab.errors.SeqlabError).
"""

from __future__ import annotations

import torch

from seqlab.d2l.common import Accumulator, Animator, QuietList, Timer, _in_notebook, check_reiterable
from seqlab.data.translation import (BOS, EOS, build_array_nmt, check_positive_int, encode_source, load_data_nmt,
                                     preprocess_nmt, read_data_nmt, special_id, tokenize_nmt, truncate_pad)
from seqlab.errors import SeqlabError
from seqlab.models.attention import AdditiveAttention, Seq2SeqAttentionDecoder, masked_softmax
from seqlab.models.seq2seq import Decoder, Encoder, EncoderDecoder, Seq2SeqDecoder, Seq2SeqEncoder, init_seq2seq
from seqlab.training.bleu import bleu
from seqlab.training.translate import train_epoch
from seqlab.training.translate_loss import MaskedSoftmaxCELoss, sequence_mask

AttentionDecoder = Decoder  # the book's 10.4 base class: a Decoder with `attention_weights`

__all__ = ["read_data_nmt", "preprocess_nmt", "tokenize_nmt", "truncate_pad", "build_array_nmt", "load_data_nmt",
           "Encoder", "Decoder", "EncoderDecoder", "Seq2SeqEncoder", "Seq2SeqDecoder", "sequence_mask",
           "MaskedSoftmaxCELoss", "train_seq2seq", "predict_seq2seq", "bleu", "masked_softmax",
           "AdditiveAttention", "AttentionDecoder", "Seq2SeqAttentionDecoder"]


def train_seq2seq(net, data_iter, lr, num_epochs, tgt_vocab, device):
    """The book's training loop (Xavier init, Adam, teacher forcing, clipping at 1).

    Prints the final per-token loss and tokens/sec as the book does, and in a notebook draws its
    live loss curve (every tenth epoch); returns the loss of every epoch, a list a notebook does not
    show as the cell's Out[] (the book returns nothing). The loss minimised and printed is the mean
    over the batch's real target tokens (seqlab's translate trainer); the book's printed figure is
    about num_steps times smaller (its per-sequence losses are averaged over the padded length
    before it divides by the tokens: 0.159 from d2l 0.17.6, 1.525 here, after 20 epochs of 9.7). The
    book backpropagates the *sum* of its per-sequence losses, averaged over the padded length
    (SPEC §13): a gradient about tokens / T times larger (37x on a 64 x 10 batch), which its clip
    at norm 1 then cuts at every step; here the clip bites only on a large step. Adam divides a
    constant scale out: what differs is that the book's clip gives every step's gradient the same norm.
    """
    check_positive_int("num_epochs", num_epochs)
    check_reiterable(data_iter, "data_iter", num_epochs, "the DataLoader of load_data_nmt")
    bos = special_id(tgt_vocab, BOS)  # a vocabulary without it would train with <unk> as <bos>
    device = torch.device(device)
    net.apply(init_seq2seq)
    net.to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    losses, metric, timer = [], Accumulator(2), Timer()
    # the book's live loss curve, in a notebook (elsewhere a figure would only pile up unseen)
    animator = Animator(xlabel="epoch", ylabel="loss", xlim=[10, num_epochs]) if _in_notebook() else None
    for epoch in range(num_epochs):
        timer.start()
        r = train_epoch(net, data_iter, optimizer, bos=bos, clip=1.0, device=device)
        timer.stop()
        if r["tokens"] == 0:
            raise SeqlabError("data_iter gave no target tokens (no batches, or every valid length 0): nothing to "
                              "train on. A generator is used up after one epoch: pass a DataLoader or a list")
        metric = Accumulator(2)
        metric.add(r["loss_sum"], r["tokens"])
        losses.append(metric[0] / metric[1])
        if animator is not None and (epoch + 1) % 10 == 0:
            animator.add(epoch + 1, (losses[-1],))
    print(f"loss {losses[-1]:.3f}, {metric[1] / timer.times[-1]:.1f} tokens/sec on {device}")
    return QuietList(losses)  # (the book returns None: a notebook shows no Out[] for it)


@torch.no_grad()
def predict_seq2seq(net, src_sentence, src_vocab, tgt_vocab, num_steps, device, save_attention_weights=False):
    """The book's greedy prediction of one sentence (e.g. "go ." or "Go.").

    Returns (translation, attention weights per step, or [] unless asked for).
    """
    net.eval()
    device = torch.device(device)
    src_tokens, valid_len = encode_source(src_sentence, src_vocab, num_steps)  # + <eos>, padded
    bos, eos = special_id(tgt_vocab, BOS), special_id(tgt_vocab, EOS)
    enc_valid_len = torch.tensor([valid_len], device=device)
    enc_X = torch.tensor([src_tokens], dtype=torch.long, device=device)  # (1, T)
    enc_outputs = net.encoder(enc_X, enc_valid_len)
    dec_state = net.decoder.init_state(enc_outputs, enc_valid_len)
    dec_X = torch.tensor([[bos]], dtype=torch.long, device=device)  # (1, 1)
    output_seq, attention_weight_seq = [], []
    for _ in range(num_steps):
        Y, dec_state = net.decoder(dec_X, dec_state)
        dec_X = Y.argmax(dim=2)
        pred = int(dec_X.squeeze(dim=0).type(torch.int32).item())
        if save_attention_weights:
            attention_weight_seq.append(net.decoder.attention_weights)
        if pred == eos:
            break
        output_seq.append(pred)
    return " ".join(tgt_vocab.to_tokens(output_seq)), attention_weight_seq
