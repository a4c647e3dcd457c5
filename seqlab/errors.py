"""The one exception type for bad input.

Everything a user can get wrong (a missing file, a bad option, a corpus too short
for one batch) raises `SeqlabError` with a message that says what was wrong and how
to fix it. The CLI prints that message on one line and exits with code 2; anything
else is a bug and exits with code 1. `is_int` and `check_positive_int` are the checks
of sizes, counts and ids that the modules share.
"""

import numbers


class SeqlabError(ValueError):
    """Bad input: the message says what was wrong and how to fix it."""


def is_int(value) -> bool:
    """An integer (Python's or numpy's), not a bool: what a size, a count or a token id may be."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(name: str, value, what: str = "") -> int:
    """`value` as an int if it is an integer >= 1 (see is_int); else a SeqlabError naming `name`."""
    if not is_int(value) or value < 1:
        raise SeqlabError(f"{name} must be a positive integer{what}, got {value!r}")
    return int(value)
