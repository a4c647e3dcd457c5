"""The book's names for timeseries (see seqlab.d2l)."""

__all__: list[str] = []
