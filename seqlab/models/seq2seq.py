"""Encoder-decoder interfaces and the GRU sequence-to-sequence model of the book (9.6-9.7).

Layouts: token batches are (B, T) as the data gives them; recurrent layers run in
(T, B, H) as the book explains. A decoder's `forward(X, state)` takes (B, T) inputs
and returns (B, T, V) logits and the new state, so the same call serves teacher
forcing (the whole target at once) and decoding (T = 1, step by step).

One fix over the book (d2l 0.17's `Seq2SeqDecoder`): the book's decoder takes its
context from `state[-1]`, the *decoder's current* top-layer state. In training the
whole target runs in one call, so the context is the encoder's final state; in
prediction (one step per call) it silently becomes the decoder's previous state, so
the model is decoded differently from how it was trained. Here the decoder state
carries the encoder context separately (`Seq2SeqState`), fixed for the whole output.
A subclass that writes its own `forward(X, state)` (the book's exercises: an LSTM, another
output layer) was written against the book's state, so for it the inherited `init_state`
returns the encoder's state unchanged, as the book's does, and training hands it no `targets=`.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, NamedTuple

import torch
from torch import nn

from seqlab.errors import SeqlabError, check_positive_int
from seqlab.models.fused_loss import output_losses
from seqlab.torch_compat import recorded_by_tracer
from seqlab.training.common import check_stack_fits, check_targets, ids_readable_here, out_of_range_id

ID_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def check_tokens(X: Any, what: str, vocab_size: int | None = None) -> None:
    """`X` must be a (B, T) tensor of integer token ids with T >= 1, and below `vocab_size` when given;
    the range is read on the CPU only (on CUDA it would be a host sync per batch, see
    training.common.check_model_input). Not under jit.trace/fx (`recorded_by_tracer`)."""
    if recorded_by_tracer():
        return
    if not torch.is_tensor(X):
        raise SeqlabError(f"{what} must be a tensor of token ids, not {type(X).__name__}")
    if X.dim() != 2:
        hint = ": add the batch dimension with .unsqueeze(0)" if X.dim() == 1 else ""
        raise SeqlabError(f"{what} must be a (batch, steps) tensor of token ids, not of shape {tuple(X.shape)}{hint}")
    if X.dtype not in ID_DTYPES:
        raise SeqlabError(f"{what} must hold integer token ids, not {X.dtype}")
    if X.shape[1] == 0:
        raise SeqlabError(f"{what} has no steps (shape {tuple(X.shape)}): give at least one token per sequence")
    bad = out_of_range_id(X, vocab_size) if vocab_size is not None and X.numel() and ids_readable_here(X) else None
    if bad is not None:
        raise SeqlabError(f"token id {bad} in {what} is out of range for its vocabulary of {vocab_size} tokens "
                          f"(ids 0..{vocab_size - 1}): the data and the model use different vocabularies (are the "
                          "source and target vocabulary sizes swapped?)")


class Encoder(nn.Module):
    """The encoder interface: `forward(X, *args) -> enc_outputs`."""

    def forward(self, X, *args):
        raise NotImplementedError


class Decoder(nn.Module):
    """The decoder interface.

    `init_state(enc_outputs, *args) -> state`; `forward(X, state) -> (logits, state)`;
    `reorder_state(state, index) -> state` keeps/duplicates batch rows (beam search).
    seqlab's decoders (`takes_targets`) also take `forward(X, state, targets=Y)` (B, T) and
    return the per-token cross-entropy (B, T) instead of the logits (`output_token_losses`).
    """

    takes_targets = False
    fused_loss = True  # with targets: the output layer + CE in one step where it pays (fused_loss.py)

    def init_state(self, enc_outputs, *args):
        raise NotImplementedError

    def forward(self, X, state):
        raise NotImplementedError

    def reorder_state(self, state, index: torch.Tensor):
        raise NotImplementedError(no_reorder_state(self))


@functools.cache
def forward_takes_targets(cls: type) -> bool:
    """Whether a class's forward has a `targets` parameter (read once per class, not per batch)."""
    return "targets" in inspect.signature(cls.forward).parameters


def decoder_takes_targets(decoder: nn.Module) -> bool:
    """Whether `decoder` computes the per-token loss itself (`forward(X, state, targets=Y)`): the
    `takes_targets` flag of seqlab's decoders *and* a forward that has the parameter. A reader's
    subclass of d2l.Seq2SeqDecoder inherits the flag but often retypes forward(X, state) as the
    book's; the flag alone would hand it a `targets=` it does not take."""
    return bool(getattr(decoder, "takes_targets", False)) and forward_takes_targets(type(decoder))


def no_reorder_state(decoder) -> str:
    """What beam search says of a decoder without `reorder_state`."""
    return (f"beam search needs the decoder's reorder_state(state, index), which {type(decoder).__name__} does not "
            "define: it keeps beam-size candidates per source as batch rows and after each step calls it with "
            "index (int64 row numbers) to return the state whose batch row i is the old state's row index[i] "
            "(e.g. h.index_select(1, index) for an nn.GRU's (layers, B, H) state, applied to every tensor of "
            "the state); add it, or decode greedily (greedy_decode, or decode with beam_size=1)")


class EncoderDecoder(nn.Module):
    """`forward(enc_X, dec_X, *args)`: encode, initialise the decoder, decode (teacher forcing)."""

    def __init__(self, encoder: Encoder, decoder: Decoder, **kwargs):
        super().__init__(**kwargs)
        enc, dec = _state_shape(encoder), _state_shape(decoder)
        # checked only where seqlab's own code hands the encoder's state over unchanged: a decoder
        # with its own init_state may map it to its size (9.7's exercise 3), an encoder with its own
        # forward may return any state; a mismatch there surfaces at the first forward, as in the book
        if (enc is not None and dec is not None and enc != dec and _seqlab_method(decoder, "init_state")
                and _seqlab_method(encoder, "forward")):
            raise SeqlabError(f"the encoder has {enc[0]} layer(s) of {enc[1]} hidden units but the decoder {dec[0]} "
                              f"of {dec[1]}: the decoder starts from the encoder's final state, so give both the "
                              "same num_layers and num_hiddens")
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, enc_X, dec_X, *args, targets: torch.Tensor | None = None):
        if (not recorded_by_tracer() and torch.is_tensor(enc_X) and torch.is_tensor(dec_X)
                and enc_X.shape[:1] != dec_X.shape[:1]):
            raise SeqlabError(f"the source batch has shape {tuple(enc_X.shape)} and the target batch "
                              f"{tuple(dec_X.shape)}: they differ in batch size (the first dimension)")
        enc_outputs = self.encoder(enc_X, *args)
        dec_state = self.decoder.init_state(enc_outputs, *args)
        if targets is not None:  # the training loss: per-token CE (B, T) instead of the logits
            if not decoder_takes_targets(self.decoder):
                raise SeqlabError(f"{type(self.decoder).__name__}.forward(X, state) takes no targets=: call the "
                                  "model without it and compute the loss from the logits it returns (masked_ce)")
            return self.decoder(dec_X, dec_state, targets=targets)
        return self.decoder(dec_X, dec_state)


class Seq2SeqEncoder(Encoder):
    """Embedding + multi-layer GRU; returns (outputs (T, B, H), state (L, B, H)).

    `bidirectional=True` runs H/2 units each way and joins the two directions of every
    layer, so outputs and state keep the shapes above (and any decoder fits either).

    `pack=True` reads each source only up to its valid length (when `forward` is given
    one): the state is that after the last real token, and outputs past it are zero. The
    book's encoder (`pack=False`, the default) runs the GRU over the padding too.
    """

    def __init__(self, vocab_size: int, embed_size: int, num_hiddens: int, num_layers: int,
                 dropout: float = 0.0, bidirectional: bool = False, pack: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.pack = pack
        if bidirectional and num_hiddens % 2:
            raise SeqlabError(f"a bidirectional encoder splits num_hiddens between two directions: "
                              f"use an even number, not {num_hiddens}")
        self.num_hiddens, self.num_layers, self.bidirectional = num_hiddens, num_layers, bidirectional
        self.embedding = nn.Embedding(vocab_size, embed_size)
        per_dir = num_hiddens // 2 if bidirectional else num_hiddens
        self.rnn = nn.GRU(embed_size, per_dir, num_layers, dropout=dropout if num_layers > 1 else 0.0,
                          bidirectional=bidirectional)

    def forward(self, X: torch.Tensor, *args) -> tuple[torch.Tensor, torch.Tensor]:
        check_tokens(X, "the source", self.embedding.num_embeddings)
        B, T = X.shape
        X = self.embedding(X.long()).permute(1, 0, 2)  # (B, T) -> (T, B, E)
        if self.pack and args and args[0] is not None:
            lengths = torch.as_tensor(args[0])
            if lengths.shape != (B,):
                raise SeqlabError(f"the source valid lengths must hold one length per source: shape ({B},), "
                                  f"not {tuple(lengths.shape)}")
            lengths = lengths.to("cpu", torch.int64)
            if bool((lengths < 0).any() or (lengths > T).any()):
                raise SeqlabError(f"the source valid lengths must be within 0..{T} (the padded length), "
                                  f"got {lengths.tolist()}")
            lengths = lengths.clamp(min=1)  # packing needs one step: an empty source reads its first pad
            packed = nn.utils.rnn.pack_padded_sequence(X, lengths, enforce_sorted=False)
            output, state = self.rnn(packed)
            output, _ = nn.utils.rnn.pad_packed_sequence(output, total_length=T)  # (T, B, H)
        else:
            output, state = self.rnn(X)  # (T, B, H), (L * dirs, B, H / dirs)
        if self.bidirectional:
            L, B = self.num_layers, state.shape[1]
            # (L * 2, B, H/2) -> (L, 2, B, H/2) -> (L, B, H): [forward ; backward] per layer
            state = state.reshape(L, 2, B, -1).permute(0, 2, 1, 3).reshape(L, B, -1)
        return output, state


class Seq2SeqState(NamedTuple):
    """Decoder state: the GRU's hidden (L, B, H) and the fixed encoder context (B, H)."""

    hidden: torch.Tensor
    context: torch.Tensor

    @property
    def shape(self) -> torch.Size:  # the book prints `state.shape` after one decoder call
        return self.hidden.shape


class Seq2SeqDecoder(Decoder):
    """GRU decoder whose initial state is the encoder's final state, with that state's
    top layer (the context) concatenated to the embedding of every input token."""

    def __init__(self, vocab_size: int, embed_size: int, num_hiddens: int, num_layers: int,
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs: tuple[torch.Tensor, torch.Tensor], *args) -> Any:
        hidden = enc_outputs[1]  # (L, B, H)
        if not _seqlab_method(self, "forward"):
            # a subclass with its own forward was written against the book's init_state, which returns
            # the encoder's state unchanged: an nn.LSTM's (h, c) is read as state[0][-1], a GRU's
            # (L, B, H) as state[-1]; a Seq2SeqState would hand it (hidden, context) instead
            return hidden
        if not torch.is_tensor(hidden):
            raise _not_a_gru_state(f"the encoder's is a {type(hidden).__name__}")
        return Seq2SeqState(hidden, hidden[-1])

    takes_targets = True

    def forward(self, X: torch.Tensor, state: Any, *, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, Seq2SeqState]:
        if isinstance(state, tuple) and not isinstance(state, Seq2SeqState):
            # (hidden, context): jit.trace hands a NamedTuple in as a tuple; an nn.LSTM's (h, c) is no such pair
            if not recorded_by_tracer() and (len(state) != 2 or not all(torch.is_tensor(t) for t in state)
                                             or state[1].dim() != 2):
                raise _not_a_gru_state("the state given is a tuple of another kind")
            state = Seq2SeqState(*state)
        elif not isinstance(state, Seq2SeqState):  # a bare (L, B, H) tensor, as the book passes
            state = Seq2SeqState(state, state[-1])
        check_tokens(X, "the decoder input", self.embedding.num_embeddings)
        inputs = X
        X = self.embedding(X.long()).permute(1, 0, 2)  # (T, B, E)
        context = state.context.unsqueeze(0).expand(X.shape[0], -1, -1)  # (T, B, H)
        output, hidden = self.rnn(torch.cat((X, context), dim=2), state.hidden)  # (T, B, H)
        return output_token_losses(self, output, inputs, targets), Seq2SeqState(hidden, state.context)

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        if isinstance(state, Seq2SeqState):
            return Seq2SeqState(state.hidden.index_select(1, index), state.context.index_select(0, index))
        # the book's layout (a subclass with its own forward): (L, B, H), or an nn.LSTM's (h, c) of those
        if isinstance(state, (tuple, list)):
            return type(state)(s.index_select(1, index) for s in state)
        return state.index_select(1, index)


def output_token_losses(decoder: Decoder, output: torch.Tensor, inputs: torch.Tensor,
                        targets: torch.Tensor | None) -> torch.Tensor:
    """A decoder's output layer over its top-layer outputs (T, B, H): the logits (B, T, V), or with
    targets (B, T) their per-token cross-entropy (B, T), unmasked (the loop masks the padding)."""
    if targets is None:
        return decoder.dense(output).permute(1, 0, 2)  # (B, T, V)
    check_targets(targets, inputs, decoder.dense.out_features, "the decoder input's")
    T, B, H = output.shape
    ce = output_losses(output.reshape(T * B, H), decoder.dense, targets.T, fused=decoder.fused_loss)
    return ce.reshape(T, B).T  # (B, T)


def _not_a_gru_state(what: str) -> SeqlabError:
    return SeqlabError(f"Seq2SeqDecoder's forward reads a GRU's (layers, batch, hiddens) state, and {what} (an "
                       "nn.LSTM's (h, c)?): keep nn.GRU in encoder and decoder, or give your decoder subclass its own "
                       "forward(X, state) that reads it, as the book's LSTM exercise does (context = state[0][-1])")


def _seqlab_method(module: nn.Module, name: str) -> bool:
    """Whether `module`'s method `name` is seqlab's own, not one a subclass (a reader's) defines."""
    return getattr(getattr(type(module), name, None), "__module__", "").startswith("seqlab.")


def _state_shape(module: nn.Module) -> tuple[int, int] | None:
    """(layers, hidden units) of the state a seqlab encoder hands over or a GRU decoder starts from."""
    if isinstance(module, Seq2SeqEncoder):
        return module.num_layers, module.num_hiddens
    rnn = getattr(module, "rnn", None)
    if isinstance(module, Decoder) and isinstance(rnn, nn.RNNBase):
        return rnn.num_layers, rnn.hidden_size
    return None


def build_seq2seq(src_vocab_size: int, tgt_vocab_size: int, *, embed: int, hidden: int, layers: int,
                  dropout: float = 0.0, attention: bool = False, bidirectional: bool = False,
                  pack: bool = False, fast: bool = True) -> EncoderDecoder:
    """The model a config describes (plain GRU decoder, or the additive-attention one).
    `fast`: the training loss's output layer + CE in one step on the CPU (exact)."""
    check_positive_int("src_vocab_size", src_vocab_size)
    check_positive_int("tgt_vocab_size", tgt_vocab_size)
    for name, value in (("embed", embed), ("hidden", hidden), ("layers", layers)):
        check_positive_int(f"--{name}", value)
    check_stack_fits(layers, hidden)
    if not 0 <= dropout < 1:
        raise SeqlabError(f"--dropout must be in [0, 1), got {dropout}")
    encoder = Seq2SeqEncoder(src_vocab_size, embed, hidden, layers, dropout, bidirectional, pack)
    if attention:
        from seqlab.models.attention import Seq2SeqAttentionDecoder

        decoder: Decoder = Seq2SeqAttentionDecoder(tgt_vocab_size, embed, hidden, layers, dropout)
    else:
        decoder = Seq2SeqDecoder(tgt_vocab_size, embed, hidden, layers, dropout)
    decoder.fused_loss = fast
    return EncoderDecoder(encoder, decoder)


def init_seq2seq(module: nn.Module) -> None:
    """The book's initialisation: Xavier-uniform for linear layers and GRU weight matrices."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
    if isinstance(module, nn.GRU):
        for name, param in module.named_parameters():
            if "weight" in name:
                nn.init.xavier_uniform_(param)
