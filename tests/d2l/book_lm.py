"""The book's own language-model code (d2l 0.17.6, sections 8.5 and 8.6, as printed), the twin that
`seqlab.d2l`'s models and loops are checked against in tests/d2l/test_d2l_lm_exercises.py.

Verbatim apart from names and the d2l helpers it calls (Timer, Accumulator, the live plot, which
change no number): 8.5's `get_params`/`init_rnn_state`/`rnn`, `d2l.sgd`, `d2l.grad_clipping`,
`RNNModelScratch` (a plain class: `params` is a list), `RNNModel` (one-hot input only),
`train_epoch_ch8` and `train_ch8`'s loop."""

import math

import torch
from torch import nn
from torch.nn import functional as F


def get_params(vocab_size, num_hiddens, device):  # 8.5
    num_inputs = num_outputs = vocab_size

    def normal(shape):
        return torch.randn(size=shape, device=device) * 0.01

    W_xh = normal((num_inputs, num_hiddens))
    W_hh = normal((num_hiddens, num_hiddens))
    b_h = torch.zeros(num_hiddens, device=device)
    W_hq = normal((num_hiddens, num_outputs))
    b_q = torch.zeros(num_outputs, device=device)
    params = [W_xh, W_hh, b_h, W_hq, b_q]
    for param in params:
        param.requires_grad_(True)
    return params


def init_rnn_state(batch_size, num_hiddens, device):  # 8.5
    return (torch.zeros((batch_size, num_hiddens), device=device), )


def rnn(inputs, state, params):  # 8.5
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    outputs = []
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        Y = torch.mm(H, W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)


def book_sgd(params, lr, batch_size):  # 3.2
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def book_grad_clipping(net, theta):  # 8.5
    if isinstance(net, nn.Module):
        params = [p for p in net.parameters() if p.requires_grad]
    else:
        params = net.params
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


class BookRNNModelScratch:  # 8.5
    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)


class BookRNNModel(nn.Module):  # 8.6
    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super(BookRNNModel, self).__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        if not self.rnn.bidirectional:
            self.num_directions = 1
            self.linear = nn.Linear(self.num_hiddens, self.vocab_size)
        else:
            self.num_directions = 2
            self.linear = nn.Linear(self.num_hiddens * 2, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size)
        X = X.to(torch.float32)
        Y, state = self.rnn(X, state)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, device, batch_size=1):
        if not isinstance(self.rnn, nn.LSTM):
            return torch.zeros((self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens),
                               device=device)
        else:
            return (torch.zeros((self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens),
                                device=device),
                    torch.zeros((self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens),
                                device=device))


def book_train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):  # 8.5
    state = None
    metric = [0.0, 0.0]  # Sum of training loss, no. of tokens (d2l.Accumulator: float() of each)
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            if isinstance(net, nn.Module) and not isinstance(state, tuple):
                state.detach_()
            else:
                for s in state:
                    s.detach_()
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()  # noqa: E741
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            book_grad_clipping(net, 1)
            updater.step()
        else:
            l.backward()
            book_grad_clipping(net, 1)
            updater(batch_size=1)
        metric[0] += float((l * y.numel()).detach())  # (the same float, without torch's warning)
        metric[1] += float(y.numel())
    return math.exp(metric[0] / metric[1])


def book_train_ch8(net, train_iter, lr, num_epochs, device, use_random_iter=False):  # 8.5, its loop
    """The perplexity of the last epoch (the book prints it, and samples, which change no weight)."""
    loss = nn.CrossEntropyLoss()
    if isinstance(net, nn.Module):
        updater = torch.optim.SGD(net.parameters(), lr)
    else:
        updater = lambda batch_size: book_sgd(net.params, lr, batch_size)  # noqa: E731
    for epoch in range(num_epochs):
        ppl = book_train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter)
    return ppl
