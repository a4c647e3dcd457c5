"""Generation: the book's predict_ch8 loop, greedy, temperature, top-k, seeds, bad input."""

import collections

import pytest
import torch
from torch import nn

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.generation.sampling import generate, generate_ids, next_token, predict_ch8
from seqlab.models.lm import RNNModel


def _model(V, seed=0):
    torch.manual_seed(seed)
    return RNNModel(nn.LSTM(V, 16), V)


def _book_predict_ch8(prefix, num_preds, net, vocab, device):
    """The book's code, verbatim apart from names."""
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]
    get_input = lambda: torch.tensor([outputs[-1]], device=device).reshape((1, 1))  # noqa: E731
    for y in prefix[1:]:
        _, state = net(get_input(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join([vocab.idx_to_token[i] for i in outputs])


def test_predict_ch8_equals_the_books_loop():
    vocab = Vocab(list("the time traveller for so it will be convenient"))
    net = _model(len(vocab))
    ours = predict_ch8("time traveller", 30, net, vocab, "cpu")
    assert ours == _book_predict_ch8("time traveller", 30, net, vocab, "cpu")
    assert ours.startswith("time traveller") and len(ours) == len("time traveller") + 30


def test_temperature_and_top_k():
    logits = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.0])
    gen = torch.Generator().manual_seed(0)
    counts = collections.Counter(next_token(logits, 1.0, 2, gen) for _ in range(4000))
    assert set(counts) == {0, 1}  # top-2 only
    p0 = torch.softmax(torch.tensor([2.0, 1.0]), 0)[0].item()  # 0.731
    assert abs(counts[0] / 4000 - p0) < 0.03
    # T -> 0 is greedy; huge logits do not overflow (seed 004's exp(logits) would be inf)
    assert all(next_token(logits, 1e-4, None, gen) == 0 for _ in range(50))
    assert next_token(torch.tensor([1000.0, 999.0, -1000.0]), 1.0, None, gen) in (0, 1)
    hot = collections.Counter(next_token(logits, 100.0, None, gen) for _ in range(3000))
    assert len(hot) == 5  # high temperature: close to uniform


def test_sampling_is_reproducible_with_a_seed():
    vocab = Vocab(list("abcdefgh "))
    net = _model(len(vocab))
    a = generate(net, vocab, list("abc"), 40, temperature=1.0, seed=7)
    b = generate(net, vocab, list("abc"), 40, temperature=1.0, seed=7)
    c = generate(net, vocab, list("abc"), 40, temperature=1.0, seed=8)
    assert a == b and a != c and a[:3] == list("abc")
    greedy = generate_ids(net, [1, 2], 10)
    assert greedy == generate_ids(net, [1, 2], 10, top_k=1, seed=3)  # top-1 sampling is greedy


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0.0}, "temperature must be > 0"),
    ({"temperature": -1.0}, "temperature must be > 0"),
    ({"top_k": 0}, "top-k must be a positive"),
])
def test_bad_sampling_options(kwargs, message):
    vocab = Vocab(list("abc"))
    with pytest.raises(SeqlabError, match=message):
        generate(_model(len(vocab)), vocab, ["a"], 3, **kwargs)


def test_prefix_outside_vocabulary_names_the_characters():
    vocab = Vocab(list("time traveller"))
    with pytest.raises(SeqlabError, match=r"'T', 'X'.*lower-case"):
        generate(_model(len(vocab)), vocab, list("Time TraXeller"), 3)
    with pytest.raises(SeqlabError, match="prefix is empty"):
        generate(_model(len(vocab)), vocab, [], 3)
