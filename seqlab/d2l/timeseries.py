"""The book's names for sequence models / time series (seed 002; see seqlab.d2l).

`load_array` and `plot` live in `seqlab.d2l.common`; this adds `evaluate_loss`.
"""

from seqlab.training.forecast import evaluate_loss

__all__: list[str] = ["evaluate_loss"]
