"""The book's names for text (see seqlab.d2l)."""

__all__: list[str] = []
