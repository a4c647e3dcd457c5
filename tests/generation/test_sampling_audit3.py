"""Generation edges a hand mutation audit (session 31) found unpinned: each test here failed with one small change
to sampling.py that every other generation test passed."""

import pytest
import torch
from torch import nn

from seqlab.data.vocab import Vocab
from seqlab.errors import SeqlabError
from seqlab.generation.sampling import generate, generate_batch, row_uniforms
from seqlab.models.lm import RNNModel


class _NaNAfter(nn.Module):
    """A user's LM over V ids that predicts id + 1 (mod V) for each input id, with NaN logits after the input
    `bad` only: one step of a generation sees non-finite logits, the steps after it finite ones again. Its
    state is a (1, B, 1) step counter, or a flat (2B,) one (no dimension of it is the batch's: lock step)."""

    def __init__(self, V=5, bad=2, flat=False):
        super().__init__()
        self.V, self.bad, self.flat = V, bad, flat

    def begin_state(self, batch_size=1, device=None):
        return torch.zeros(2 * batch_size) if self.flat else torch.zeros(1, batch_size, 1)

    def forward(self, X, state):  # X (B, T) -> logits (T*B, V), time-major
        ids = X.t().reshape(-1)
        logits = torch.nn.functional.one_hot((ids + 1) % self.V, self.V).double() * 10
        logits[ids == self.bad] = float("nan")
        return logits, state + X.shape[1]


@pytest.mark.parametrize("flat", [False, True], ids=["joined", "lock step"])
def test_non_finite_logits_at_any_step_are_refused_not_only_at_the_last(flat):
    # prefix [1] -> 2 (finite), then the logits after 2 are NaN (one step), then finite again: refused
    # though the step before each host copy saw finite logits
    net = _NaNAfter(flat=flat)
    ok = generate_batch(_NaNAfter(bad=99, flat=flat), [[1], [0, 1]], 6)
    assert ok == [[1, 2, 3, 4, 0, 1, 2], [0, 1, 2, 3, 4, 0, 1, 2]]  # the twin: no NaN, id + 1 each step
    with pytest.raises(SeqlabError, match="the model's output is not finite"):
        generate_batch(net, [[1], [0, 1]], 6)


def test_each_prefix_draws_its_own_numbers_not_the_same_as_another_prefixs_sample():
    # sample s of prefix p is seeded from (seed, p, s): two prefixes' first samples must not share draws
    u = row_uniforms(2, 2, 16, 7, "cpu")  # rows: (p0, s0), (p0, s1), (p1, s0), (p1, s1)
    assert len({tuple(row.tolist()) for row in u}) == 4
    assert torch.equal(u[:2], row_uniforms(1, 2, 16, 7, "cpu"))  # prefix 0's rows, whatever follows them
    torch.manual_seed(0)
    net = RNNModel(nn.GRU(6, 8), 6)
    twice = generate_batch(net, [[1, 2], [1, 2]], 30, temperature=1.0, seed=3)
    assert twice[0] != twice[1]  # the same prompt twice: two samples, not one text written twice


def test_a_str_prefix_at_the_char_level_is_refused_for_a_vocabulary_of_words():
    # 'a' and 'i' are words here: read as characters, "a" would pass check_prefix and generate silently
    vocab = Vocab("a cat and i saw a dog".split())
    torch.manual_seed(0)
    net = RNNModel(nn.GRU(len(vocab), 8), len(vocab))
    with pytest.raises(SeqlabError, match="this model's vocabulary holds words.*pass level='word'"):
        generate(net, vocab, "a", 3)
    assert generate(net, vocab, ["a"], 3, level="word")[0] == "a"

