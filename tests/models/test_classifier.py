"""Sequence classifier: seed 003's LstmModel, exactly, and the pixel/GRU variants."""

import pytest
import torch

from seqlab import SeqlabError
from seqlab.models.classifier import SequenceClassifier


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
