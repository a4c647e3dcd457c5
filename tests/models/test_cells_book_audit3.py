"""The book's functional cells audit (round 3): get_params / init_state against the book's own code
(d2l 0.17.6, 8.5 / 9.1 / 9.2, as printed), seeded alike -- the same numbers, shapes and order, each a
leaf that trains -- and the zero states."""

import pytest
import torch

from seqlab.models import cells_book
import book_lm  # tests/d2l, on pyproject's pythonpath


def _normal(shape):  # the book's normal(shape)
    return torch.randn(size=shape) * 0.01


def book_gru_params(vocab_size, num_hiddens):  # 9.1
    def three():
        return (_normal((vocab_size, num_hiddens)), _normal((num_hiddens, num_hiddens)), torch.zeros(num_hiddens))
    W_xz, W_hz, b_z = three()  # update gate
    W_xr, W_hr, b_r = three()  # reset gate
    W_xh, W_hh, b_h = three()  # candidate hidden state
    W_hq, b_q = _normal((num_hiddens, vocab_size)), torch.zeros(vocab_size)
    return [W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q]


def book_lstm_params(vocab_size, num_hiddens):  # 9.2
    def three():
        return (_normal((vocab_size, num_hiddens)), _normal((num_hiddens, num_hiddens)), torch.zeros(num_hiddens))
    W_xi, W_hi, b_i = three()  # input gate
    W_xf, W_hf, b_f = three()  # forget gate
    W_xo, W_ho, b_o = three()  # output gate
    W_xc, W_hc, b_c = three()  # candidate memory cell
    W_hq, b_q = _normal((num_hiddens, vocab_size)), torch.zeros(vocab_size)
    return [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q]


@pytest.mark.parametrize("ours,book", [
    (cells_book.get_params, lambda v, h: book_lm.get_params(v, h, "cpu")),
    (cells_book.get_gru_params, book_gru_params),
    (cells_book.get_lstm_params, book_lstm_params),
], ids=["rnn", "gru", "lstm"])
def test_get_params_draws_the_books_numbers_and_every_one_trains(ours, book):
    torch.manual_seed(5)
    params = ours(7, 3, "cpu")
    torch.manual_seed(5)
    expected = book(7, 3)
    assert len(params) == len(expected)
    for p, e in zip(params, expected):
        torch.testing.assert_close(p, e, rtol=0, atol=0)
        assert p.requires_grad and p.is_leaf


def test_the_initial_states_are_zeros_of_batch_by_hidden():
    assert len(cells_book.init_rnn_state(2, 3, "cpu")) == 1
    assert torch.equal(cells_book.init_rnn_state(2, 3, "cpu")[0], torch.zeros(2, 3))
    assert torch.equal(cells_book.init_gru_state(2, 3, "cpu")[0], torch.zeros(2, 3))
    H, C = cells_book.init_lstm_state(2, 3, "cpu")
    assert torch.equal(H, torch.zeros(2, 3)) and torch.equal(C, torch.zeros(2, 3))


@pytest.mark.parametrize("mode", ["rnn", "gru", "lstm"])
def test_backprop_through_time_matches_the_numerical_gradient(mode):
    # gradcheck's twin is a finite difference: a state detached between steps (BPTT cut short)
    # gives the same forward but another gradient
    make, forward, n_state = {"rnn": (cells_book.get_params, cells_book.rnn, 1),
                              "gru": (cells_book.get_gru_params, cells_book.gru, 1),
                              "lstm": (cells_book.get_lstm_params, cells_book.lstm, 2)}[mode]
    torch.manual_seed(6)
    V, H, T, B = 3, 2, 4, 2
    params = [(torch.randn_like(p, dtype=torch.float64) * 0.8).requires_grad_(True) for p in make(V, H, "cpu")]
    state = [torch.randn(B, H, dtype=torch.float64, requires_grad=True) for _ in range(n_state)]
    X = torch.nn.functional.one_hot(torch.randint(0, V, (T, B)), V).double()

    def run(*tensors):
        logits, new = forward(X, tuple(tensors[:n_state]), list(tensors[n_state:]))
        return logits, *new

    assert torch.autograd.gradcheck(run, (*state, *params))
