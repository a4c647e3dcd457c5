"""CLI for the translate task (not yet implemented)."""


def register(commands, train) -> None:
    """Add this task's sub-commands to `seqlab` and `seqlab train`."""
