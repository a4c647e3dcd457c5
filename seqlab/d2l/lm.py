"""The book's names for lm (see seqlab.d2l)."""

__all__: list[str] = []
