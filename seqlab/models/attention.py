"""Additive (Bahdanau) attention and the GRU decoder that attends over the encoder outputs.

At each output step the decoder's previous top-layer state is the query; the
encoder outputs are keys and values; padded source positions get no weight:

    score(q, k_j) = w_v^T tanh(W_q q + W_k k_j)      a = masked_softmax(scores)
    context = sum_j a_j v_j;  GRU input = [context ; embedding(y_{t-1})]
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.models.seq2seq import Decoder, check_tokens, output_token_losses
from seqlab.torch_compat import recorded_by_tracer


def masked_softmax(X: torch.Tensor, valid_lens: torch.Tensor | None) -> torch.Tensor:
    """Softmax over the last axis of (B, Q, K) scores `X` (the book's name), keys at or past the valid
    length excluded; `valid_lens` is (B,), one per batch row, or (B, Q), one per query, as in the book.

    Masked scores get the dtype's lowest finite value (the book's -1e6, which float16 cannot hold):
    they get zero weight, and a row with valid length 0 is uniform as in the book (with -inf it
    would be NaN). seqlab's decoding functions refuse a valid length of 0.
    """
    if valid_lens is None:
        return torch.softmax(X, dim=-1)
    if not recorded_by_tracer() and (X.dim() != 3 or valid_lens.shape not in (X.shape[:1], X.shape[:2])):
        raise SeqlabError(f"valid_lens of shape {tuple(valid_lens.shape)} do not fit scores of shape "
                          f"{tuple(X.shape)}: scores must be (batch, queries, keys) and valid_lens "
                          "(batch,) or (batch, queries)")
    lens = valid_lens[:, None, None] if valid_lens.dim() == 1 else valid_lens[:, :, None]  # (B, 1 or Q, 1)
    keep = torch.arange(X.shape[-1], device=X.device) < lens  # (B, 1 or Q, K)
    return torch.softmax(X.masked_fill(~keep, torch.finfo(X.dtype).min), dim=-1)


class AdditiveAttention(nn.Module):
    """Bahdanau attention. `forward(queries (B, Q, Dq), keys (B, K, Dk), values (B, K, Dv),
    valid_lens (B,)) -> (B, Q, Dv)`; the last weights (B, Q, K) stay in `attention_weights`."""

    def __init__(self, key_size: int, query_size: int, num_hiddens: int, dropout: float = 0.0):
        super().__init__()
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.attention_weights: torch.Tensor | None = None

    def forward(self, queries, keys, values, valid_lens=None, projected_keys=None):
        # projected_keys: W_k(keys), computed once per sentence by the decoder.
        k = self.W_k(keys) if projected_keys is None else projected_keys  # (B, K, A)
        features = torch.tanh(self.W_q(queries).unsqueeze(2) + k.unsqueeze(1))  # (B, Q, K, A)
        scores = self.w_v(features).squeeze(-1)  # (B, Q, K)
        weights = masked_softmax(scores, valid_lens)
        # kept for inspection without the graph: the module stays copyable (copy.deepcopy refuses a
        # non-leaf tensor) and the last batch's graph is not held alive between steps
        self.attention_weights = weights.detach()
        return torch.bmm(self.dropout(weights), values)  # (B, Q, Dv)


class AttentionState(NamedTuple):
    """enc_outputs (B, S, H), their key projection (B, S, H), hidden (L, B, H), valid lengths (B,)."""

    enc_outputs: torch.Tensor
    keys: torch.Tensor
    hidden: torch.Tensor
    enc_valid_lens: torch.Tensor


class Seq2SeqAttentionDecoder(Decoder):
    """GRU decoder with additive attention over the encoder outputs (the book's 10.4)."""

    def __init__(self, vocab_size: int, embed_size: int, num_hiddens: int, num_layers: int,
                 dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.attention = AdditiveAttention(num_hiddens, num_hiddens, num_hiddens, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.dense = nn.Linear(num_hiddens, vocab_size)
        self._attention_weights: list[torch.Tensor] = []

    def init_state(self, enc_outputs, enc_valid_lens=None, *args) -> AttentionState:
        outputs, hidden = enc_outputs  # (S, B, H), (L, B, H)
        outputs = outputs.permute(1, 0, 2)  # (B, S, H)
        if enc_valid_lens is None:
            enc_valid_lens = torch.full((outputs.shape[0],), outputs.shape[1], device=outputs.device)
        elif torch.is_tensor(enc_valid_lens):  # (.to, not as_tensor: jit.trace warns that as_tensor's
            enc_valid_lens = enc_valid_lens.to(outputs.device)  # result is a constant of the trace)
        else:  # a list of lengths too, as the plain decoder takes
            enc_valid_lens = torch.as_tensor(enc_valid_lens, device=outputs.device)
        # would broadcast silently (1 length) or fail in bmm (not checked under jit.trace/fx: recorded_by_tracer)
        if not recorded_by_tracer() and enc_valid_lens.shape != outputs.shape[:1]:
            raise SeqlabError(f"enc_valid_lens must hold one length per source: shape ({outputs.shape[0]},), "
                              f"not {tuple(enc_valid_lens.shape)}")
        return AttentionState(outputs, self.attention.W_k(outputs), hidden, enc_valid_lens)

    takes_targets = True

    def forward(self, X: torch.Tensor, state: AttentionState, *, targets: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, AttentionState]:
        enc_outputs, keys, hidden, valid_lens = state
        check_tokens(X, "the decoder input", self.embedding.num_embeddings)
        inputs = X
        X = self.embedding(X.long()).permute(1, 0, 2)  # (T, B, E)
        outputs, self._attention_weights = [], []
        for x in X:  # x: (B, E); the query needs the previous step's state, so one step at a time
            query = hidden[-1].unsqueeze(1)  # (B, 1, H)
            context = self.attention(query, enc_outputs, enc_outputs, valid_lens, projected_keys=keys)  # (B, 1, H)
            step_in = torch.cat((context, x.unsqueeze(1)), dim=-1).permute(1, 0, 2)  # (1, B, H + E)
            out, hidden = self.rnn(step_in, hidden)  # (1, B, H)
            outputs.append(out)
            self._attention_weights.append(self.attention.attention_weights)
        result = output_token_losses(self, torch.cat(outputs, dim=0), inputs, targets)  # logits (B, T, V) or CE
        return result, AttentionState(enc_outputs, keys, hidden, valid_lens)

    @property
    def attention_weights(self) -> list[torch.Tensor]:
        """The (B, 1, S) weights of each step of the last forward call."""
        return self._attention_weights

    def reorder_state(self, state: AttentionState, index: torch.Tensor) -> AttentionState:
        return AttentionState(state.enc_outputs.index_select(0, index), state.keys.index_select(0, index),
                              state.hidden.index_select(1, index), state.enc_valid_lens.index_select(0, index))
