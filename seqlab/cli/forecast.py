"""CLI for the forecast task (not yet implemented)."""


def register(commands, train) -> None:
    """Add this task's sub-commands to `seqlab` and `seqlab train`."""
