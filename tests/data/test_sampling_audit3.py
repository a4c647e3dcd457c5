"""Minibatch sampling edges a hand mutation audit (session 31) found unpinned: each test here failed with one
small change to sampling.py that every other sampling test passed."""

import random

import pytest
import torch

from seqlab import SeqlabError
from seqlab.data.sampling import variable_bptt


class _Draws(random.Random):
    """A generator whose gauss() gives the listed draws in turn (random() 0: always the full-bptt mean)."""

    def __init__(self, draws):
        super().__init__(0)
        self.draws = list(draws)

    def random(self):
        return 0.0

    def gauss(self, mu, sigma):
        return self.draws.pop(0)


def test_variable_bptt_rounds_each_draw_to_the_nearest_length():
    # 7.6 -> 8, 6.4 -> 6, 9.5 -> 10 (Python rounds half to even), then the 26 - 1 - 24 = 1 target left;
    # AWD-LSTM's int() would give 7, 6, 9: half a token shorter on average, as the docstring says seqlab is not
    batched = torch.arange(26).view(-1, 1)
    windows = list(variable_bptt(batched, 8, _Draws([7.6, 6.4, 9.5, 8.0]), min_len=1))
    assert [n for _, _, n in windows] == [8, 6, 10, 1]
    X, Y, _ = windows[1]
    assert X.flatten().tolist() == list(range(8, 14)) and Y.flatten().tolist() == list(range(9, 15))


@pytest.mark.parametrize("bptt", [0, -3])
def test_variable_bptt_refuses_a_bptt_that_is_not_positive(bptt):
    with pytest.raises(SeqlabError, match="bptt must be positive"):
        variable_bptt(torch.arange(200).view(-1, 2), bptt, random.Random(0))
