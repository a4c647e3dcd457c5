"""seqlab: recurrent sequence models — text, vocabularies, samplers, RNN/GRU/LSTM,
language models, generation, translation, forecasting and classification.

`from seqlab import d2l` gives the names of *Dive into Deep Learning* (chapters 8-9)
over this implementation.
"""

from seqlab.errors import SeqlabError

__version__ = "0.1.0"
__all__ = ["SeqlabError", "__version__"]
