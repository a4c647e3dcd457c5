"""Recurrent models: scratch cells, fused wrappers, language models, counting baselines, and the
encoder-decoder translators."""

from seqlab.models.cells import GRUCell, LSTMCell, PeepholeLSTMCell, RNNCell, make_cell
from seqlab.models.lm import ModelConfig, RNNModel, RNNModelScratch, build_lm
from seqlab.models.ngram import NGramLM
from seqlab.models.recurrent import ScratchRNN, make_rnn_layer
from seqlab.models.seq2seq import EncoderDecoder, build_seq2seq

__all__ = ["GRUCell", "LSTMCell", "PeepholeLSTMCell", "RNNCell", "make_cell", "ModelConfig", "RNNModel",
           "RNNModelScratch", "build_lm", "NGramLM", "ScratchRNN", "make_rnn_layer", "EncoderDecoder",
           "build_seq2seq"]
