"""Recurrent models: scratch cells, fused wrappers, language models, counting baselines."""

from seqlab.models.cells import GRUCell, LSTMCell, PeepholeLSTMCell, RNNCell, make_cell
from seqlab.models.lm import ModelConfig, RNNModel, RNNModelScratch, build_lm
from seqlab.models.ngram import NGramLM
from seqlab.models.recurrent import ScratchRNN, make_rnn_layer

__all__ = ["GRUCell", "LSTMCell", "PeepholeLSTMCell", "RNNCell", "make_cell", "ModelConfig", "RNNModel",
           "RNNModelScratch", "build_lm", "NGramLM", "ScratchRNN", "make_rnn_layer"]
