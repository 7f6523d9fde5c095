"""The error type for bad user input.

Anything a user can get wrong (an unknown game or env id, a malformed config value, an
illegal move, a checkpoint from another architecture) raises `RlkitError` with a message
that says what was wrong and what would be right. The CLI prints that message on one
line and exits with status 2; it never shows a traceback for these.
"""

__all__ = ["RlkitError", "RlkitWarning"]


class RlkitError(ValueError):
    """A user-facing error whose message names the bad value and the valid choices."""


class RlkitWarning(UserWarning):
    """A legal but probably unintended request (e.g. a budget that ends before exploration does);
    the CLI prints it as one ``rlkit: warning:`` line."""
