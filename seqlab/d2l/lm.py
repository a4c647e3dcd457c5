"""The book's names for recurrent language models (chapters 8.5-8.6, 9.1-9.3).

Same signatures and semantics as the book, over seqlab's implementation:
- `RNNModelScratch`, `RNNModel`: seqlab.models.lm (one interface: X (B, T) -> logits (T*B, V)).
- `get_params`, `init_rnn_state`, `rnn` (and the GRU/LSTM twins): seqlab.models.cells_book.
- `predict_ch8`: warm up on the prefix, then greedy (seqlab.generation.sampling).
- `grad_clipping(net, theta)`: g <- min(1, theta/||g||) g over all parameters, the norm summed in
  the book's order (its results to the bit).
- `train_epoch_ch8`, `train_ch8`: the book's loops. `train_ch8` prints what the book's
  prints (a continuation of "time traveller" every 10 epochs; then the perplexity, tokens/sec
  and device, and two continuations), draws its live perplexity curve in a notebook
  (`Animator`; elsewhere no figure is made, and `plot_path` saves the curve as a PNG), and
  returns (perplexity, tokens/sec) of the last epoch (the book returns nothing). With a
  vocabulary of words its samples start from the words "time traveller" (the book's spelt the
  characters as tokens, printing <unk>s); one the vocabulary cannot spell is left out with a
  warning, and training goes on.
- `predict_ch8` runs the model in eval mode (the book's leaves it in training mode, so a
  model with dropout predicted with dropout on), and a prefix character outside the
  vocabulary is an error naming it (the book read it as <unk>: 'Time' became '<unk>ime').
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from seqlab.d2l.common import Animator, QuietTuple, _in_notebook, check_reiterable
from seqlab.data.vocab import holds_words
from seqlab.generation.sampling import check_vocab_size, predict_ch8
from seqlab.models.cells_book import (get_gru_params, get_lstm_params, get_params, gru, init_gru_state,
                                      init_lstm_state, init_rnn_state, lstm, rnn)
from seqlab.models.lm import RNNModel, RNNModelScratch
from seqlab.errors import SeqlabError
from seqlab.training.common import check_count, map_state, sgd
from seqlab.training.common import grad_clipping as _grad_clipping
from seqlab.training.lm_eval import evaluate_lm
from seqlab.training.metrics import perplexity_of_mean

__all__ = ["RNNModelScratch", "RNNModel", "get_params", "get_gru_params", "get_lstm_params", "init_rnn_state",
           "init_gru_state", "init_lstm_state", "rnn", "gru", "lstm", "grad_clipping", "predict_ch8",
           "train_epoch_ch8", "train_ch8", "evaluate_ppl"]


def grad_clipping(net, theta):
    """The book's 8.5 gradient clipping, equal to it to the bit (the norm in its summation order); on
    the device, without the book's host sync for `if norm > theta`. Returns the norm before clipping."""
    return _grad_clipping(net, theta, book_order=True)


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """One epoch (the book's 8.5): returns (perplexity, tokens/sec)."""
    import time

    state, t0 = None, time.perf_counter()
    total, count = 0.0, 0
    for X, Y in train_iter:
        if state is None or use_random_iter:
            # random sampling: the batches are unrelated, start from zeros
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            # sequential: keep the state, cut the graph behind it (in place, as the book does);
            # through any nesting: seqlab's AWD/tied LMs carry a list of per-layer (h, c) pairs
            map_state(state, torch.Tensor.detach_)
        y = Y.T.reshape(-1)  # time-major, like the logits
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()  # noqa: E741
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            grad_clipping(net, 1)
            updater.step()
        else:
            l.backward()
            grad_clipping(net, 1)
            updater(batch_size=1)  # the mean is already taken
        total += float(l.detach()) * y.numel()
        count += y.numel()
    if count == 0:
        raise SeqlabError("the data iterator yielded no batches: the corpus is shorter than one batch "
                          "(lower batch_size or num_steps)")
    return perplexity_of_mean(total / count), count / (time.perf_counter() - t0)


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False, *,
              plot_path: str | None = None, verbose: bool = True):
    """The book's training function (see the module's docstring); `plot_path` also saves the
    perplexity curve as a PNG, `verbose=False` prints nothing. Returns the last epoch's (perplexity,
    tokens/sec), a tuple a notebook does not show as the cell's Out[] (the book returns None)."""
    check_count(num_epochs, "num_epochs")
    check_reiterable(train_iter, "train_iter", num_epochs, "the SeqDataLoader of load_data_time_machine")
    loss = nn.CrossEntropyLoss()
    if isinstance(net, nn.Module) and not isinstance(net, RNNModelScratch):
        updater = torch.optim.SGD(net.parameters(), lr)
    else:
        # the book's RNNModelScratch is no nn.Module: its train_ch8 steps with sgd over net.params,
        # which reads the list at each step and leaves the gradients zero, so that a student's own
        # loop after it (8.5's, sgd(net.params, ...) again) starts from none, as in the book (an
        # optimizer's zero_grad comes before each step and left the last batch's, which that loop
        # then added in). (A tensor no loss reaches has no .grad: left alone, where the book's failed.)
        def updater(batch_size):
            sgd([p for p in net.params if p.grad is not None], lr, batch_size)

    samples = _sample_prefixes(vocab) if verbose else {}
    if verbose:
        check_vocab_size(net, vocab)  # (now, not at the first sample, after 10 epochs of training)

    def predict(prefix):
        if samples[prefix] is None:  # (a vocabulary without its tokens: warned once, below)
            return None
        return predict_ch8(samples[prefix], 50, net, vocab, device)

    def show(prefix):
        text = predict(prefix)
        if text is not None:
            print(text)

    live = verbose and _in_notebook()  # (outside a notebook a figure would only pile up unseen)
    animator = Animator(xlabel="epoch", ylabel="perplexity", legend=["train"], xlim=[10, num_epochs]) if live else None
    epochs, ppls = [], []
    ppl = speed = float("nan")
    for epoch in range(num_epochs):
        ppl, speed = train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter)
        if (epoch + 1) % 10 == 0:
            if verbose:
                show("time traveller")
            if animator is not None:
                animator.add(epoch + 1, [ppl])
        if (epoch + 1) % 10 == 0 or epoch + 1 == num_epochs:
            epochs.append(epoch + 1)
            ppls.append(ppl)
    if verbose:
        print(f"perplexity {ppl:.1f}, {speed:.1f} tokens/sec on {device}")
        show("time traveller")
        show("traveller")
    if plot_path and epochs:
        from seqlab.plotting import plot_curves

        plot_curves(plot_path, epochs, {"train": ppls}, xlabel="epoch", ylabel="perplexity")
    return QuietTuple((ppl, speed))  # (the book returns None: a notebook shows no Out[] for either)


def _sample_prefixes(vocab) -> dict:
    """train_ch8's progress samples, "time traveller" and "traveller", in the vocabulary's tokens:
    their characters (the book's character-level model), or their words where the vocabulary holds
    words (the book's exercise of a word-level model: the book read each character as a token,
    printing <unk>s). A sample the vocabulary cannot spell is left out with one warning: a progress
    print must not stop the training it reports on (predict_ch8 refuses such a prefix)."""
    words = holds_words(vocab)
    known = getattr(vocab, "token_to_idx", {})
    samples, lacking = {}, []
    for text in ("time traveller", "traveller"):
        tokens = text.split() if words else text
        missing = [t for t in dict.fromkeys(tokens) if t not in known]
        samples[text] = None if missing else tokens
        lacking += [t for t in missing if t not in lacking]
    if lacking:
        what = "words" if words else "characters"
        warnings.warn(f"train_ch8 prints samples that continue 'time traveller', but this vocabulary lacks the "
                      f"{what} {', '.join(map(repr, lacking))}: those samples are left out (training goes on); "
                      "call d2l.predict_ch8 with a prefix in the vocabulary's tokens"
                      + (", a list of words" if words else ""), UserWarning, stacklevel=3)
    return samples


def evaluate_ppl(net, corpus, device, batch_size: int = 1, num_steps: int = 35) -> float:
    """Held-out perplexity (not in the book): every token of `corpus` after its first, statefully."""
    stream = corpus if isinstance(corpus, torch.Tensor) else torch.as_tensor(list(corpus))
    loss_sum, n = evaluate_lm(net, stream, batch_size, num_steps, device)
    return perplexity_of_mean(loss_sum / n)
