"""The configuration of a language model (`seqlab train lm`'s model options) and the rules on it
that need no model: which class a config builds (`is_regularized`, `tied_last_layer`), the
tying settings no model can have (`check_tying`) and those only a new one is refused
(`check_new_tying`). `seqlab.models.lm.build_lm` builds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seqlab.errors import SeqlabError


@dataclass
class ModelConfig:
    """The model of `seqlab train lm`."""

    cell: Literal["rnn", "gru", "lstm", "peephole"] = "lstm"  # the recurrent cell
    impl: Literal["scratch", "fused"] = "fused"  # scratch: the book's readable cells; fused: nn.RNN/GRU/LSTM
    hidden: int = 256  # hidden units per layer
    layers: int = 1  # stacked recurrent layers
    bidirectional: bool = False  # also run right to left (not for generation)
    embed: int = 0  # 0: one-hot input (the book's char models); >0: an embedding of this size
    dropout: float = 0.0  # dropout on the embedding, between layers and on the output
    tie_weights: bool = False  # share the embedding and output weights; the last layer then has --embed units, the others --hidden (AWD-LSTM); with --layers 1 set embed = hidden, with --bidirectional embed = 2 x hidden
    nonlinearity: Literal["tanh", "relu"] = "tanh"  # rnn cell only
    fast: bool = True  # scratch cells: id lookup + hand-written BPTT; output layer + loss fused on the CPU (exact); --no-fast: the plain paths
    init_range: float = 0.0  # > 0: embedding and output weights U(-r, r), output bias 0 (pytorch/examples: 0.1)
    # AWD-LSTM regularisers (any of them > 0 selects RegularizedRNNModel; needs --embed)
    dropout_input: float = 0.0  # locked dropout on the embedding output (AWD dropouti)
    dropout_hidden: float = 0.0  # locked dropout between layers (AWD dropouth)
    dropout_output: float = 0.0  # locked dropout on the last layer's output (AWD dropout)
    dropout_embed: float = 0.0  # embedding dropout: whole word types (AWD dropoute)
    weight_drop: float = 0.0  # DropConnect on hidden-to-hidden weights (AWD wdrop)


ONE_HOT_LIMIT = 5000  # one-hot inputs beyond this many tokens are refused (word LMs: use --embed)


def is_regularized(config: ModelConfig) -> bool:
    return any(getattr(config, k) > 0 for k in ("dropout_input", "dropout_hidden", "dropout_output",
                                                  "dropout_embed", "weight_drop"))


def tied_last_layer(config: ModelConfig) -> bool:
    """Tied weights with embed != hidden: the last layer has the embedding's size (AWD-LSTM's rule),
    which the plain model's single multi-layer module cannot hold (RegularizedRNNModel then)."""
    return config.tie_weights and 0 < config.embed != config.hidden and not config.bidirectional


def check_tying(config: ModelConfig) -> None:
    """Tying settings no model can have (whatever a run trained before could hold passes)."""
    if not config.tie_weights:
        return
    if config.embed <= 0:
        raise SeqlabError(f"--tie-weights makes the output layer the embedding, and the input is one-hot: "
                          f"give an embedding, e.g. --embed {config.hidden}")
    both = 2 * config.hidden
    if config.bidirectional and not is_regularized(config) and config.embed != both:
        # the output layer reads both directions' last layer: 2 x hidden features
        other = f" (or --hidden {config.embed // 2})" if config.embed % 2 == 0 else ""
        raise SeqlabError(f"--tie-weights with --bidirectional needs --embed equal to the output of both "
                          f"directions, 2 x --hidden = {both}; got --embed {config.embed}: set --embed {both}{other}")


def check_new_tying(config: ModelConfig) -> None:
    """Tying settings a new model is refused, which runs trained before the check may hold (their
    --hidden went unused; `build_lm(..., trained=True)` still builds them): one tied layer of another
    size than --hidden."""
    m = config
    if m.tie_weights and m.layers == 1 and not m.bidirectional and 0 < m.embed != m.hidden:
        # the last (here the only) layer of a tied model has the embedding's size
        raise SeqlabError(f"--hidden {m.hidden} is unused with --layers 1 and --tie-weights: the one layer has "
                          f"--embed ({m.embed}) units; set --hidden {m.embed} (or --embed {m.hidden})")
