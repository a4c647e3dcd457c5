"""Decoding functions over a model and its state (kept apart from the model classes): text from a
language model (sampling), and translations from an encoder-decoder (greedy and beam search)."""

from seqlab.generation.prefix import check_prefix
from seqlab.generation.sampling import (choose, generate, generate_batch, generate_ids, generate_stream, next_token,
                                       predict_ch8, warm_up)
from seqlab.generation.translate import beam_search, decode, decode_n_best, greedy_decode

__all__ = ["check_prefix", "choose", "generate", "generate_batch", "generate_ids", "generate_stream", "next_token",
           "predict_ch8", "warm_up", "beam_search", "decode", "decode_n_best", "greedy_decode"]
