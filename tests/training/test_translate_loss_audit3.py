"""translate_loss, a mutation audit's gaps: sequence_mask's shape checks, and MaskedSoftmaxCELoss's
range checks and per-sequence mean, each against a value worked out by hand or torch's own loss."""

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.training.translate_loss import sequence_mask


def test_sequence_mask_refuses_a_single_row_and_lengths_of_another_shape():
    with pytest.raises(SeqlabError, match="batch, steps"):
        sequence_mask(torch.ones(3), torch.tensor([1, 2, 3]))  # one axis: no steps to mask
    with pytest.raises(SeqlabError, match="one length per sequence"):
        sequence_mask(torch.ones(2, 3), torch.tensor([[1], [2]]))  # (2, 1): two lengths, but not (2,)


def test_masked_ce_refuses_labels_of_other_steps_than_the_predictions():
    from seqlab.training.translate_loss import masked_ce

    with pytest.raises(SeqlabError, match="do not fit predictions"):
        masked_ce(torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.long), torch.tensor([3, 3]))


@pytest.mark.parametrize("kwargs", [{"size_average": True}, {"reduce": False}, {"reduction": "sum"}])
def test_masked_softmax_ce_loss_refuses_another_reduction(kwargs):
    from seqlab.training.translate_loss import MaskedSoftmaxCELoss

    with pytest.raises(SeqlabError, match="one loss per sequence"):
        MaskedSoftmaxCELoss(**kwargs)


def test_masked_softmax_ce_loss_refuses_fractional_lengths():
    from seqlab.training.translate_loss import MaskedSoftmaxCELoss

    pred, label = torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)
    with pytest.raises(SeqlabError, match="integer lengths"):
        MaskedSoftmaxCELoss()(pred, label, torch.tensor([1.5, 3.0]))


def test_an_ignore_index_outside_the_vocabulary_is_ignored_as_in_torch():
    from torch.nn import functional as F

    from seqlab.training.translate_loss import MaskedSoftmaxCELoss

    torch.manual_seed(0)
    pred = torch.randn(2, 3, 4)
    label = torch.tensor([[1, 7, 2], [3, 0, 7]])  # 7: no id of the 4, but the ignored one
    got = MaskedSoftmaxCELoss(ignore_index=7)(pred, label, torch.tensor([3, 2]))
    each = F.cross_entropy(pred.permute(0, 2, 1), label, ignore_index=7, reduction="none")  # (2, 3)
    # an ignored token adds 0 and still counts: row 0 sums 3 tokens over 3, row 1 its first 2 over 2
    torch.testing.assert_close(got, torch.stack([each[0].sum() / 3, each[1, :2].sum() / 2]))


def test_a_negative_label_is_refused_with_its_id():
    from seqlab.training.translate_loss import MaskedSoftmaxCELoss

    with pytest.raises(SeqlabError, match="label id -1 is out of range for predictions over 4 tokens"):
        MaskedSoftmaxCELoss()(torch.zeros(1, 2, 4), torch.tensor([[0, -1]]), torch.tensor([2]))


@pytest.mark.parametrize("length", [4, -1])
def test_a_valid_length_outside_0_to_the_steps_is_refused(length):
    from seqlab.training.translate_loss import MaskedSoftmaxCELoss

    pred, label = torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)  # 3 steps: lengths 0..3
    with pytest.raises(SeqlabError, match=rf"valid lengths must be in 0\.\.3 .*got \[{length}\]"):
        MaskedSoftmaxCELoss()(pred, label, torch.tensor([3, length]))
