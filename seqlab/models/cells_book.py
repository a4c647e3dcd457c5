"""The book's recurrent cells in its functional form (sections 8.5, 9.1, 9.2): `get_params`,
`init_rnn_state`, `rnn` and their GRU / LSTM twins, which `RNNModelScratch` (lm_book.py) runs.
Parameters are a plain list of tensors; `inputs` is one-hot (T, B, V); the result is the output
logits of every step stacked time-major, (T*B, V), and the new state tuple. seqlab's own cells,
modules with fast paths, are in cells.py."""

from __future__ import annotations

import torch


def _normal(shape, device) -> torch.Tensor:
    return torch.randn(size=shape, device=device) * 0.01


def _finish(params: list[torch.Tensor]) -> list[torch.Tensor]:
    for p in params:
        p.requires_grad_(True)
    return params


def get_params(vocab_size: int, num_hiddens: int, device) -> list[torch.Tensor]:
    """RNN: [W_xh (V, H), W_hh (H, H), b_h (H), W_hq (H, V), b_q (V)]."""
    num_inputs = num_outputs = vocab_size
    return _finish([_normal((num_inputs, num_hiddens), device), _normal((num_hiddens, num_hiddens), device),
                    torch.zeros(num_hiddens, device=device), _normal((num_hiddens, num_outputs), device),
                    torch.zeros(num_outputs, device=device)])


def get_gru_params(vocab_size: int, num_hiddens: int, device) -> list[torch.Tensor]:
    """GRU: (W_xz, W_hz, b_z), (W_xr, W_hr, b_r), (W_xh, W_hh, b_h), W_hq, b_q."""
    def three():
        return (_normal((vocab_size, num_hiddens), device), _normal((num_hiddens, num_hiddens), device),
                torch.zeros(num_hiddens, device=device))
    return _finish([*three(), *three(), *three(), _normal((num_hiddens, vocab_size), device),
                    torch.zeros(vocab_size, device=device)])


def get_lstm_params(vocab_size: int, num_hiddens: int, device) -> list[torch.Tensor]:
    """LSTM: input, forget, output gates and candidate cell (W_x*, W_h*, b_*) each, W_hq, b_q."""
    def three():
        return (_normal((vocab_size, num_hiddens), device), _normal((num_hiddens, num_hiddens), device),
                torch.zeros(num_hiddens, device=device))
    return _finish([*three(), *three(), *three(), *three(), _normal((num_hiddens, vocab_size), device),
                    torch.zeros(vocab_size, device=device)])


def init_rnn_state(batch_size: int, num_hiddens: int, device) -> tuple[torch.Tensor]:
    return (torch.zeros((batch_size, num_hiddens), device=device),)


init_gru_state = init_rnn_state


def init_lstm_state(batch_size: int, num_hiddens: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.zeros((batch_size, num_hiddens), device=device),
            torch.zeros((batch_size, num_hiddens), device=device))


def _readout(hs: list[torch.Tensor], W_hq: torch.Tensor, b_q: torch.Tensor) -> torch.Tensor:
    # All steps' outputs in one product: (T*B, H) @ (H, V) -> (T*B, V), time-major.
    return torch.addmm(b_q, torch.cat(hs, dim=0), W_hq)


def rnn(inputs: torch.Tensor, state: tuple, params: list[torch.Tensor]):
    """H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h); Y_t = H_t W_hq + b_q."""
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    XW = inputs @ W_xh + b_h  # (T, B, H): every step's input term at once
    hs = []
    for xw in XW:
        H = torch.tanh(xw + H @ W_hh)
        hs.append(H)
    return _readout(hs, W_hq, b_q), (H,)


def gru(inputs: torch.Tensor, state: tuple, params: list[torch.Tensor]):
    """The book's GRU (reset before the recurrent product)."""
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    hs = []
    for X in inputs:
        Z = torch.sigmoid(X @ W_xz + H @ W_hz + b_z)
        R = torch.sigmoid(X @ W_xr + H @ W_hr + b_r)
        H_tilda = torch.tanh(X @ W_xh + (R * H) @ W_hh + b_h)
        H = Z * H + (1 - Z) * H_tilda
        hs.append(H)
    return _readout(hs, W_hq, b_q), (H,)


def lstm(inputs: torch.Tensor, state: tuple, params: list[torch.Tensor]):
    """The book's LSTM."""
    (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q) = params
    H, C = state
    hs = []
    for X in inputs:
        I = torch.sigmoid(X @ W_xi + H @ W_hi + b_i)  # noqa: E741
        F = torch.sigmoid(X @ W_xf + H @ W_hf + b_f)
        O = torch.sigmoid(X @ W_xo + H @ W_ho + b_o)  # noqa: E741
        C_tilda = torch.tanh(X @ W_xc + H @ W_hc + b_c)
        C = F * C + I * C_tilda
        H = O * torch.tanh(C)
        hs.append(H)
    return _readout(hs, W_hq, b_q), (H, C)
