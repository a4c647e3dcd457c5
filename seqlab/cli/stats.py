"""seqlab stats (placeholder)."""


def register(commands, train) -> None:
    pass
