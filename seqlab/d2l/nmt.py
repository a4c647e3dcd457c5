"""The book's names for nmt (see seqlab.d2l)."""

__all__: list[str] = []
