"""Sequence classifier: seed 003's LstmModel, exactly, and the pixel/GRU variants."""

import pytest
import torch

from seqlab import SeqlabError
from seqlab.models.classifier import SequenceClassifier, TextClassifier


class SeedLstmModel(torch.nn.Module):
    """Seed 003's model, verbatim."""

    def __init__(self, input_size, output_size, hidden_size, n_layer=2):
        super(SeedLstmModel, self).__init__()
        self.n_layer = n_layer
        self.hidden_size = hidden_size
        self.lstm = torch.nn.LSTM(input_size, hidden_size, n_layer, batch_first=True)
        self.fc = torch.nn.Linear(hidden_size, output_size)

    def forward(self, x):
        out, (hn, cn) = self.lstm(x)
        x = hn[-1, :, :]
        x = self.fc(x)
        return x


def test_same_init_and_outputs_as_the_seeds_model():
    torch.manual_seed(3)
    seed = SeedLstmModel(28, 10, 10)
    torch.manual_seed(3)
    ours = SequenceClassifier(28, 10, hidden=10, layers=2)
    assert list(ours.state_dict()) == ["rnn." + k[len("lstm."):] if k.startswith("lstm.") else k
                                       for k in seed.state_dict()]
    for a, b in zip(seed.state_dict().values(), ours.state_dict().values()):
        torch.testing.assert_close(a, b)
    x = torch.randn(4, 28, 28)
    torch.testing.assert_close(ours(x), seed(x))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_uses_the_last_hidden_state_of_the_top_layer(cell):
    torch.manual_seed(0)
    net = SequenceClassifier(1, 10, hidden=6, layers=2, cell=cell)
    x = torch.randn(3, 784, 1)  # pixel mode
    out, _ = net.rnn(x)
    torch.testing.assert_close(net(x), net.fc(out[:, -1]))  # top layer's output at the last step
    assert net(x).shape == (3, 10)


def test_dropout_between_layers_is_the_lstms():
    # --dropout is nn.LSTM's dropout between the stacked layers: the same masks as the seed's
    # model built with it, drawn from the same RNG stream; none in eval
    torch.manual_seed(3)
    seed = SeedLstmModel(28, 10, 10)
    seed.lstm.dropout = 0.5
    torch.manual_seed(3)
    ours = SequenceClassifier(28, 10, hidden=10, layers=2, dropout=0.5)
    x = torch.randn(4, 28, 28)
    torch.manual_seed(1)
    want = seed(x)
    torch.manual_seed(1)
    torch.testing.assert_close(ours(x), want)
    assert not torch.allclose(want, ours.eval()(x))


def test_bad_options():
    with pytest.raises(SeqlabError, match="use lstm or gru"):
        SequenceClassifier(28, 10, cell="rnn")
    with pytest.raises(SeqlabError, match="must be positive"):
        SequenceClassifier(28, 10, hidden=0)
    with pytest.raises(SeqlabError, match="dropout"):
        SequenceClassifier(28, 10, dropout=1.5)


def test_sequence_classifier_refuses_what_it_cannot_read():
    net = SequenceClassifier(4, 3, hidden=5, layers=1)
    with pytest.raises(SeqlabError, match=r"num_classes must be a positive integer, got 0"):
        SequenceClassifier(4, 0)
    with pytest.raises(SeqlabError, match=r"\(B, T, D\), got shape \(6, 4\): one sequence is x\[None\]"):
        net(torch.randn(6, 4))  # was nn.LSTM's unbatched reading: logits of shape (3,), silently
    with pytest.raises(SeqlabError, match="5 features per step but the classifier reads 4"):
        net(torch.randn(2, 6, 5))
    with pytest.raises(SeqlabError, match="float features"):
        net(torch.ones(2, 6, 4, dtype=torch.long))
    with pytest.raises(SeqlabError, match="empty"):
        net(torch.randn(0, 6, 4))
    assert net(torch.randn(2, 6, 4)).shape == (2, 3)


def test_text_classifier_refuses_bad_tokens_and_lengths_and_takes_a_list_of_lengths():
    torch.manual_seed(0)
    net = TextClassifier(20, 3, embed=5, hidden=6)
    tokens = torch.tensor([[3, 4, 5, 0], [1, 2, 3, 4]])
    for lengths, message in [
        (torch.tensor([3]), r"one entry per text, shape \(2,\), got \(1,\)"),  # was logits (1, 3), silently
        (torch.tensor([0, 4]), "a length of 0 is out of range: each text has 1..4 tokens"),
        (torch.tensor([3, 5]), "a length of 5 is out of range"),
        (torch.tensor([3.0, 4.0]), "integers"),
        ([3, 4.5], "integers"),
    ]:
        with pytest.raises(SeqlabError, match=message):
            net(tokens, lengths)
    for bad, message in [(tokens.float(), "must be integers"), (tokens + 15, "token id 20 is out of range"),
                         (tokens[0], r"shape \(batch, time\)"), (tokens[:0], "empty")]:
        with pytest.raises(SeqlabError, match=message):
            net(bad)
    want = net(tokens, torch.tensor([3, 4]))
    assert want.shape == (2, 3)
    torch.testing.assert_close(net(tokens, [3, 4]), want)  # was AttributeError: 'list' has no 'cpu'
    torch.testing.assert_close(net(tokens, (3, 4)), want)
    torch.testing.assert_close(net(tokens), net(tokens, [4, 4]))
