"""Decoding functions over a model and its state (kept apart from the model classes)."""

from seqlab.generation.sampling import (check_prefix, choose, generate, generate_batch, generate_ids, next_token,
                                        predict_ch8, warm_up)

__all__ = ["check_prefix", "choose", "generate", "generate_batch", "generate_ids", "next_token", "predict_ch8",
           "warm_up"]
