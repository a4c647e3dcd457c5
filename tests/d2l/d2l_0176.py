"""The real d2l 0.17.6 (`from d2l import torch`), where it is installed, as a twin for the tests, and the
book's 9.7 `Seq2SeqDecoder`, written out from the notebook (0.17.6's torch.py does not hold it), and its
9.6 `EncoderDecoder` as printed.

Importing d2l's torch.py needs torchvision, pandas and requests, which none of the code compared here
touches: an empty stand-in is put in for each one missing, only while d2l is imported."""

import importlib
import importlib.util
import sys
import types

import pytest
import torch
from torch import nn


def import_real_d2l():
    """d2l 0.17.6's torch module, or a pytest skip where d2l (or what it imports) is not installed."""
    if importlib.util.find_spec("d2l") is None:
        pytest.skip("d2l (the book's package) is not installed: nothing to compare with")
    added = []
    for name in ("torchvision", "pandas", "requests"):
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
            added.append(name)
    if "torchvision" in added:  # `from torchvision import transforms`
        for sub in ("transforms", "datasets"):
            sys.modules[f"torchvision.{sub}"] = module = types.ModuleType(f"torchvision.{sub}")
            setattr(sys.modules["torchvision"], sub, module)
            added.append(f"torchvision.{sub}")
    try:
        from d2l import torch as book
    except ImportError as exc:
        pytest.skip(f"d2l 0.17.6 cannot be imported here ({exc})")
    finally:
        for name in added:
            sys.modules.pop(name, None)
    return book


def book_seq2seq_decoder(base):
    """The book's 9.7 decoder (the notebook's cell, verbatim) over the `Decoder` class `base`."""

    class Seq2SeqDecoder(base):
        """The RNN decoder for sequence to sequence learning."""
        def __init__(self, vocab_size, embed_size, num_hiddens, num_layers,
                     dropout=0, **kwargs):
            super(Seq2SeqDecoder, self).__init__(**kwargs)
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers,
                              dropout=dropout)
            self.dense = nn.Linear(num_hiddens, vocab_size)

        def init_state(self, enc_outputs, *args):
            return enc_outputs[1]

        def forward(self, X, state):
            # The output `X` shape: (`num_steps`, `batch_size`, `embed_size`)
            X = self.embedding(X).permute(1, 0, 2)
            # Broadcast `context` so it has the same `num_steps` as `X`
            context = state[-1].repeat(X.shape[0], 1, 1)
            X_and_context = torch.cat((X, context), 2)
            output, state = self.rnn(X_and_context, state)
            output = self.dense(output).permute(1, 0, 2)
            # `output` shape: (`batch_size`, `num_steps`, `vocab_size`)
            # `state` shape: (`num_layers`, `batch_size`, `num_hiddens`)
            return output, state

    return Seq2SeqDecoder


class BookEncoderDecoder(nn.Module):  # d2l 0.17.6, 9.6, as printed
    """The base class for the encoder-decoder architecture."""

    def __init__(self, encoder, decoder, **kwargs):
        super(BookEncoderDecoder, self).__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, enc_X, dec_X, *args):
        enc_outputs = self.encoder(enc_X, *args)
        dec_state = self.decoder.init_state(enc_outputs, *args)
        return self.decoder(dec_X, dec_state)
