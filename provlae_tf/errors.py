"""Errors that reach the user as one clear line instead of a traceback."""


class UserError(Exception):
    """Bad input (a flag, a file, a run directory): the message says what was
    expected and what to do. ``main`` prints it and exits non-zero."""


class TrainingDiverged(UserError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class Interrupted(UserError):
    """Training stopped on request (Ctrl-C, SIGTERM) after saving a checkpoint."""
