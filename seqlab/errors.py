"""The one exception type for bad input.

Everything a user can get wrong (a missing file, a bad option, a corpus too short
for one batch) raises `SeqlabError` with a message that says what was wrong and how
to fix it. The CLI prints that message on one line and exits with code 2; anything
else is a bug and exits with code 1.
"""


class SeqlabError(ValueError):
    """Bad input: the message says what was wrong and how to fix it."""
